"""``breathsync report``: a self-contained HTML page about one session (pictures embedded as inline SVG: no
plotting library, no network, one file to keep or send)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from breathsync import __version__
from breathsync.analysis import (
    PairResult,
    Participant,
    _group_json,
    analyse_together,
    cap_figures,
    chance_cap_text,
    group_text,
    has_relative_phase,
    lead_note,
    leader_text,
    no_leader_text,
    percent_text,
    rate_summary,
    rate_text,
    read_inputs,
    resolve_window_s,
    session_notes,
    session_sources,
    signal_text,
)
from breathsync.dsp._types import FloatArray
from breathsync.errors import output_errors
from breathsync.io.csvfile import Recording, write_private_text
from breathsync.session_types import clock_text, degrees_text

W, H, PAD = 860, 170, 42
COLOURS = ["#1f5fa8", "#c4572a", "#2e8b57", "#7b4fa0", "#8a6d1f", "#2a8c8c", "#a83262", "#555555"]
IN_SYNC_FILL = "#9fd4a8"


def _thin(t: FloatArray, y: FloatArray, n_max: int = 1500) -> tuple[FloatArray, FloatArray]:
    if t.size <= n_max:
        return t, y
    step = math.ceil(t.size / n_max)
    return t[::step], y[::step]


def _path(t: FloatArray, y: FloatArray, x0: float, x1: float, y0: float, y1: float) -> str:
    """SVG path data; NaN breaks the line (gaps drawn as gaps)."""
    sx = (W - 2 * PAD) / (x1 - x0 if x1 > x0 else 1.0)
    sy = (H - 2 * PAD) / (y1 - y0 if y1 > y0 else 1.0)
    out: list[str] = []
    pen = False
    for a, b in zip(t.tolist(), y.tolist(), strict=True):
        if not (math.isfinite(a) and math.isfinite(b)):
            pen = False
            continue
        px = PAD + (a - x0) * sx
        py = H - PAD - (b - y0) * sy
        out.append(f"{'L' if pen else 'M'}{px:.1f},{py:.1f}")
        pen = True
    return "".join(out)


def _axes(
    x0: float, x1: float, y0: float, y1: float, ylabel: str, yticks: Sequence[float] | None = None
) -> str:
    parts = [
        f'<rect x="{PAD}" y="{PAD / 2}" width="{W - 2 * PAD}" height="{H - 1.5 * PAD}" fill="none" stroke="#bbb"/>'
    ]
    span = x1 - x0
    step = next(s for s in (10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 1e9) if span / s <= 10)
    t = math.ceil(x0 / step) * step
    while t <= x1:
        px = PAD + (t - x0) / (span or 1) * (W - 2 * PAD)
        label = f"{int(t // 60)}:{int(t % 60):02d}"
        parts.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{H - PAD}" y2="{H - PAD + 4}" stroke="#888"/>')
        parts.append(
            f'<text x="{px:.1f}" y="{H - PAD + 16}" font-size="11" text-anchor="middle">{label}</text>'
        )
        t += step
    for v in yticks if yticks is not None else (y0, y1):
        py = H - PAD - (v - y0) / ((y1 - y0) or 1) * (H - 2 * PAD)
        parts.append(f'<text x="{PAD - 5}" y="{py + 4:.1f}" font-size="11" text-anchor="end">{v:g}</text>')
        parts.append(f'<line x1="{PAD}" x2="{W - PAD}" y1="{py:.1f}" y2="{py:.1f}" stroke="#eee"/>')
    parts.append(
        f'<text x="12" y="{H / 2}" font-size="11" transform="rotate(-90 12 {H / 2})" '
        f'text-anchor="middle">{html.escape(ylabel)}</text>'
    )
    return "".join(parts)


def _svg(body: str, height: int = H) -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" role="img">{body}</svg>'


def _legend(labels: Sequence[str]) -> str:
    return "".join(
        f'<span class="key"><span style="background:{COLOURS[i % len(COLOURS)]}"></span>{html.escape(lab)}</span>'
        for i, lab in enumerate(labels)
    )


def breathing_svg(parts: Sequence[Participant], x0: float, x1: float) -> str:
    """Each person's clean breathing waveform, normalised and stacked."""
    body = []
    n = len(parts)
    for i, p in enumerate(parts):
        t, y = _thin(p.offline.t, p.offline.clean)
        ok = np.isfinite(y)
        scale = float(np.nanpercentile(np.abs(y[ok]), 95)) if ok.any() else 1.0
        yy = y / (scale or 1.0) * 0.45 + (n - 1 - i)  # one lane per person
        d = _path(t, yy, x0, x1, -0.6, n - 0.4)
        body.append(f'<path d="{d}" fill="none" stroke="{COLOURS[i % len(COLOURS)]}" stroke-width="1"/>')
    return _svg(_axes(x0, x1, -0.6, n - 0.4, "breathing (per person)", yticks=[]) + "".join(body))


def rate_svg(parts: Sequence[Participant], x0: float, x1: float) -> str:
    body, hi = [], 10.0
    for p in parts:
        r = p.offline.rate_bpm
        if np.isfinite(r).any():
            hi = max(hi, float(np.nanpercentile(r, 99)))
    hi = math.ceil(hi / 5) * 5
    for i, p in enumerate(parts):
        t, r = _thin(p.offline.t, p.offline.rate_bpm)
        d = _path(t, r, x0, x1, 0, hi)
        body.append(f'<path d="{d}" fill="none" stroke="{COLOURS[i % len(COLOURS)]}" stroke-width="1.5"/>')
    return _svg(_axes(x0, x1, 0, hi, "breaths/min", yticks=[0, hi / 2, hi]) + "".join(body))


def sync_svg(pr: PairResult, x0: float, x1: float) -> str:
    ps = pr.live
    body = []
    sx = (W - 2 * PAD) / ((x1 - x0) or 1)
    ins = np.concatenate(([False], ps.in_sync, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(ins))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        xa = PAD + (ps.t[a] - x0) * sx
        xb = PAD + (ps.t[b - 1] - x0) * sx
        body.append(
            f'<rect x="{xa:.1f}" y="{PAD / 2}" width="{max(xb - xa, 1):.1f}" height="{H - 1.5 * PAD}" '
            f'fill="{IN_SYNC_FILL}" opacity="0.7"/>'
        )
    t, s = _thin(ps.t, ps.sync_score)
    body.append(f'<path d="{_path(t, s, x0, x1, 0, 1)}" fill="none" stroke="#222" stroke-width="1.5"/>')
    t, v = _thin(ps.t, ps.plv)
    body.append(
        f'<path d="{_path(t, v, x0, x1, 0, 1)}" fill="none" stroke="#1f5fa8" stroke-width="1" '
        f'stroke-dasharray="4 3"/>'
    )
    return _svg(_axes(x0, x1, 0, 1, "sync score / PLV", yticks=[0, 0.5, 1]) + "".join(body))


def polar_svg(pr: PairResult, bins: int = 24) -> str:
    """Polar histogram of the live relative phase (0 at the top = in phase; clockwise = A ahead)."""
    rel = pr.live.rel_phase_rad
    rel = rel[np.isfinite(rel)]
    size, c, r_max = 300, 150.0, 120.0
    counts, _ = np.histogram(np.mod(rel, 2 * np.pi), bins=bins, range=(0, 2 * np.pi))
    frac = counts / max(counts.sum(), 1)
    top = max(float(frac.max()), 1e-9)
    body = [
        f'<circle cx="{c}" cy="{c}" r="{r_max}" fill="none" stroke="#ccc"/>',
        f'<circle cx="{c}" cy="{c}" r="{r_max / 2}" fill="none" stroke="#eee"/>',
    ]
    for k in range(bins):
        a0, a1 = 2 * np.pi * k / bins, 2 * np.pi * (k + 1) / bins
        rr = r_max * frac[k] / top
        x0, y0 = c + rr * math.sin(a0), c - rr * math.cos(a0)
        x1, y1 = c + rr * math.sin(a1), c - rr * math.cos(a1)
        body.append(f'<path d="M{c},{c} L{x0:.1f},{y0:.1f} A{rr:.1f},{rr:.1f} 0 0 1 {x1:.1f},{y1:.1f} Z" '
                    f'fill="#1f5fa8" opacity="0.75"/>')  # fmt: skip
    for ang, lab in (
        (0, "0° in phase"),
        (90, f"+90° {pr.a.label} ahead"),
        (180, "180°"),
        (270, f"{pr.b.label} ahead"),
    ):
        a = math.radians(ang)
        x, y = c + (r_max + 14) * math.sin(a), c - (r_max + 14) * math.cos(a) + 4
        anchor = "middle" if ang in (0, 180) else ("start" if ang == 90 else "end")
        body.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" text-anchor="{anchor}">{html.escape(lab)}</text>'
        )
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 160}" height="{size}" viewBox="-80 0 {size + 160} {size}" role="img">{"".join(body)}</svg>'


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:920px;margin:2em auto;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:1.6em} table{border-collapse:collapse}
td,th{padding:.25em .8em;border-bottom:1px solid #ddd;text-align:left} .key{margin-right:1.2em}
.key span{display:inline-block;width:1.4em;height:.35em;vertical-align:middle;margin-right:.4em}
.note{color:#555;font-size:.9em} dt{font-weight:600;margin-top:.5em}
"""

DEFINITIONS = """
<dl>
<dt>Breathing phase</dt><dd>0 at each inhale onset, π at the end of the inhale. The live phase is what the
session showed; the offline phase (zero-phase band-pass 0.05-0.8 Hz and Hilbert transform) is the best
estimate after the fact.</dd>
<dt>PLV (phase locking value)</dt><dd>|mean of exp(i·(φA − φB))| over a window (default 30 s): 1 when the
relative phase stays constant, near 0 when it wanders.</dd>
<dt>Chance level</dt><dd>The PLV two unrelated people reach with their own rhythms: the 99th percentile of
PLVs against circularly time-shifted copies (shifts ≥ 20 s), capped at 0.9; the cap itself until there is
enough history for that (70 s: over one window two regular breathers at similar rates reach almost any PLV
by chance). The live figures use only the history up to each moment, recomputed every 5 s over the last
3 minutes, as the session did. When the chance level was the cap for most of the time scored, the summary
says so and why: too little history yet, or two breathers so regular that their surrogates lock as well as
they do (then the cap cannot tell chance from locking).</dd>
<dt>Sync score</dt><dd>(PLV − chance) / (1 − chance), clipped to 0-1.</dd>
<dt>In sync</dt><dd>PLV above the chance level and a mean relative phase within ±45° (a partner who follows
within an eighth of a cycle).</dd>
<dt>Who led</dt><dd>The person ahead in phase while the pair was locked (PLV above chance) within a quarter
cycle, and by how many seconds (the PLV-weighted mean relative phase of those windows at their mean rate);
nobody for partners half a cycle apart, for a lead that rounds to 0.00 s (in phase), or when the pair was
locked for less than one window.</dd>
<dt>Group order (3+ people)</dt><dd>The Kuramoto order R = |mean of exp(i·φk)| over the people at each
instant, averaged over the window: 1 when everyone is at the same point of their breath. People breathing
with no regard for each other reach about 0.5 (three) by chance, so R has a chance level, found as the
pair's is: the 99th percentile of R of time-shifted copies of the group (every two people shifted ≥ 20 s
apart), capped at 0.9, recomputed every 5 s over the last 3 minutes.</dd>
</dl>
"""


def _who(p: Participant) -> str:
    """A participant's label in the tables, marked when it is a simulated breather."""
    mark = " <span class='note'>(simulated)</span>" if p.simulated else ""
    return html.escape(p.label) + mark


def _time_span(parts: Sequence[Participant], recs: Sequence[Recording]) -> tuple[float, float]:
    """The span to draw: that of the breathing waveforms, else of the recordings (none gave a waveform)."""
    ts = [p.offline.t for p in parts if p.offline.t.size] or [r.time for r in recs if r.time.size]
    if not ts:
        return 0.0, 0.0
    return min(float(t[0]) for t in ts), max(float(t[-1]) for t in ts)


def _scored_s(pr: PairResult) -> float:
    """How long the pair was scored (windows with a PLV), on the step :meth:`breathsync.dsp.sync.PairSync.summary` counts
    ``locked_s`` on: the summary's ``time_in_sync_frac`` of this is the time in sync."""
    ps = pr.live
    if ps.t.size < 2:
        return 0.0
    return float(np.count_nonzero(np.isfinite(ps.plv))) * ps.step_s()


def build_report(
    paths: Sequence[str],
    *,
    window_s: float | None = None,
    title: str | None = None,
    columns: Sequence[str] = (),
    rate_hz: float | None = None,
) -> str:
    """The HTML page for a session folder (or recordings analysed together; ``columns`` and ``rate_hz`` (for
    files without a time column) as for :func:`breathsync.analysis.read_inputs`)."""
    recs, labels = read_inputs(paths, rate_hz=rate_hz, columns=columns)
    chosen = window_s is not None
    window_s = resolve_window_s(window_s, paths)
    res = analyse_together(recs, labels, window_s, sources=session_sources(paths))
    res.warnings[:0] = session_notes(paths, window_s, chosen=chosen)  # as analyze says them
    parts, pairs = res.parts, res.pairs
    x0, x1 = _time_span(parts, recs)
    name = title or ", ".join(Path(p).name for p in paths)
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>breathsync report: {html.escape(name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Breathing synchrony: {html.escape(name)}</h1>",
        f"<p class='note'>breathsync {__version__}, report made {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        # A recording's length to the nearest second, as analyze gives it ("300 s"); clock_text alone truncates
        # like a stopwatch, which put 4:59 here for 0 to 299.96 s (a 300-s recording's last sample).
        f"Duration {clock_text(round(x1 - x0))}; window {window_s:g} s.</p>",
        "<h2>Summary</h2><table><tr><th>pair</th><th>time in sync</th><th>mean PLV</th><th>chance level</th>"
        "<th>relative phase</th><th>who led</th></tr>",
    ]
    for pr in pairs:
        s = pr.live.summary(window_s)
        ok = np.isfinite(pr.live.plv)
        off = pr.offline.summary(window_s)
        rel = s["mean_relative_phase_rad"]
        first = {"a": pr.a.label, "b": pr.b.label}.get(str(s["leader"]))
        lead_s = s["lead_s"]
        # As analyze says it: the lead is from the windows where the pair was locked, the relative phase from all.
        led = html.escape(leader_text(first, lead_s if isinstance(lead_s, float) else None))
        if not led and s["mean_plv"] is not None:  # why there is none, as analyze says it
            locked, opposite, above, scored = (
                float(v) if isinstance(v, float) else None
                for v in (s["locked_s"], s["opposite_s"], s["above_chance_s"], s["scored_s"])
            )
            led = html.escape(no_leader_text(locked, window_s, opposite, above, scored))
        led = led or "—"
        # No relative phase when the pair was locked too briefly for it to mean anything, as analyze says it.
        above_s, scored_s = (
            v if isinstance(v, float) else None for v in (s["above_chance_s"], s["scored_s"])
        )
        shown = isinstance(rel, float) and has_relative_phase(above_s, window_s, scored_s)
        rel_cell = f"{degrees_text(float(rel))}°" if shown and rel is not None else "—"
        off_first = {"a": pr.a.label, "b": pr.b.label}.get(str(off["leader"]))
        off_lead = off["lead_s"] if isinstance(off["lead_s"], float) else None
        mixed = lead_note(
            pr.a.label,
            pr.a.signal,
            pr.b.label,
            pr.b.signal,
            off_first,
            off_lead,
            derived_a=pr.a.derived_from,
            derived_b=pr.b.derived_from,
        )
        if mixed and s["mean_plv"] is not None:  # as analyze says it beside the lead
            led += f"<br><span class='note'>{html.escape(mixed)}</span>"
        if s["mean_plv"] is None:  # no window was scored: nothing measured, which is not 'never in sync'
            in_sync_cell = plv_cell = chance_cell = "—"
        else:
            frac = s["time_in_sync_frac"]
            assert isinstance(frac, float)  # scored windows: a number
            # The share analyze prints (the summary's), of the time scored: the two cannot disagree.
            in_sync_cell = f"{clock_text(frac * _scored_s(pr))} ({percent_text(frac)})"
            plv_cell = f"{s['mean_plv']:.2f}"
            chance_cell = f"{float(np.nanmean(pr.live.null_plv[ok])):.2f}" if ok.any() else "—"
            cap = cap_figures(pr)
            cap_text = chance_cap_text(cap["chance_capped_frac"], cap["chance_no_surrogate_frac"], window_s)
            if cap_text:  # as analyze says it
                chance_cell += f" ({html.escape(cap_text)})"
        out.append(
            f"<tr><td>{_who(pr.a)} – {_who(pr.b)}</td>"
            f"<td>{in_sync_cell}</td><td>{plv_cell}</td><td>{chance_cell}</td>"
            f"<td>{rel_cell}</td><td>{led}</td></tr>"
        )
    out.append("</table><table style='margin-top:1em'><tr><th>person</th><th>signal</th><th>breaths</th>"
               "<th>rate (breaths/min)</th></tr>")  # fmt: skip
    for p in parts:
        ons = p.offline.onsets_s
        mean, sd = rate_summary(p)  # printed as analyze prints them
        rate = "—" if mean is None else rate_text(mean, sd, unit="")
        signal = html.escape(signal_text(p.signal, p.derived_from))
        out.append(f"<tr><td>{_who(p)}</td><td>{signal}</td><td>{ons.size}</td><td>{rate}</td></tr>")
    out.append("</table>")
    if any(p.simulated for p in parts):
        out.append(
            "<p class='note'>(simulated): breathsync's simulated breather (a <code>sim:</code> source, or a "
            "file with a simulator's <code>true_phase</code>), not a person.</p>"
        )
    if len(parts) >= 3:  # analyze's group line, from the same numbers
        out.append(f"<p>{html.escape(group_text(_group_json(parts, res.cfg)))}</p>")
    notes = [*res.warnings, *(f"{a}-{b}: not scored: {why}" for (a, b), why in res.unscored.items())]
    if notes:
        # The same notes as analyze's (a derived signal's limits, a suspected inverted belt, an accelerometer
        # whose breathing direction was seldom confirmed, ...) and the pairs it could not score (analyze
        # says so on their own lines).
        items = "".join(f"<li>{html.escape(w)}</li>" for w in notes)
        out.append(f"<p class='note'>Notes:</p><ul class='note'>{items}</ul>")
    for p in parts:
        if not np.isfinite(p.offline.clean).any():
            out.append(
                f"<p class='note'>{html.escape(p.label)}: no breathing waveform could be derived from this "
                "recording (too short, or no usable breathing signal).</p>"
            )
    out.append(f"<h2>Breathing over time</h2><p>{_legend(labels)}</p>{breathing_svg(parts, x0, x1)}")
    out.append(f"<h2>Breathing rates</h2><p>{_legend(labels)}</p>{rate_svg(parts, x0, x1)}")
    for pr in pairs:
        out.append(
            f"<h2>Synchrony {html.escape(pr.a.label)} – {html.escape(pr.b.label)}</h2>"
            f"<p class='note'>Solid: sync score (chance-corrected); dashed: PLV; green: in sync.</p>"
            f"{sync_svg(pr, x0, x1)}"
            f"<p class='note'>Relative phase over the session (share of the windows in each direction):</p>"
            f"{polar_svg(pr)}"
        )
    out.append(f"<h2>Definitions</h2>{DEFINITIONS}</body></html>")
    return "\n".join(out)


def write_report(
    paths: Sequence[str],
    out_file: str,
    *,
    window_s: float | None = None,
    columns: Sequence[str] = (),
    rate_hz: float | None = None,
) -> None:
    """Write the HTML report of ``paths`` (a session folder or recording CSVs) to ``out_file``, readable by
    its owner only and replaced at once (see :func:`build_report` for the options)."""
    page = build_report(paths, window_s=window_s, columns=columns, rate_hz=rate_hz)
    with output_errors(out_file, "the report"):
        write_private_text(out_file, page)
