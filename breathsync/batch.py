"""Batch analysis of a study: many sessions (folders written by ``--record``, or groups of CSV files joined
with ``+``), each analysed on its own; one summary row per pair; failures listed, never stopping the rest.

Every session is either analysed or failed, never both: a session is analysed when it gives at least one
pair to score (a row of the summary, and its JSON); a session that cannot be read, or that has no pair
(one participant, or recordings that overlap by less than one window), is a failure, listed with its
reason, with no row and no JSON. In an analysed session every pair has its row: a pair that cannot be
scored (three participants, one of whom was recorded apart from another: their recordings overlap by
less than one window) gets a row with the participants' figures, empty pair figures and a ``note`` saying
why, and is listed in :attr:`BatchResult.unscored`. Outputs are numbered by the session's position among the inputs
(``002_rec1.json`` is the second session given), so a file names its session whatever failed before it.
"""

from __future__ import annotations

import csv
import io
import math
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from breathsync.analysis import analyse_files
from breathsync.errors import InputError, output_errors
from breathsync.io.csvfile import write_private_text

SUMMARY_COLUMNS = [
    "session",
    "a",
    "b",
    "overlap_s",
    "window_s",
    "time_in_sync_frac",
    "scored_s",
    "mean_plv",
    "mean_sync_score",
    "mean_relative_phase_deg",
    "leader",
    "lead_s",
    "rate_a_bpm",
    "rate_b_bpm",
    "signal_a",
    "signal_b",
    "offline_time_in_sync_frac",
    "offline_mean_plv",
    "note",
    # Added later, so at the end (a study's scripts may read the columns by position): how far the chance
    # level was its cap of 0.9 (analysis.cap_figures).
    "chance_capped_frac",
    "chance_no_surrogate_frac",
    "offline_chance_capped_frac",
    "offline_surrogate_null_plv",
    # Added later still: the offline (zero-phase) relative phase and who led; a note beside a lead between
    # different sensors (analysis.lead_note); whether each is breathsync's simulated breather ("true",
    # "false", empty: unknown; analysis.simulated_by); the group's mean Kuramoto order (3+ participants:
    # the session's, on each of its rows).
    "offline_mean_relative_phase_deg",
    "offline_leader",
    "offline_lead_s",
    "lead_note",
    "simulated_a",
    "simulated_b",
    "group_mean_kuramoto_r",
    # And later: each belt's share held at the sensor's limit (analyze's clipped_frac; empty for breathing
    # derived from heart beats or an accelerometer), to screen a study's belts.
    "clipped_frac_a",
    "clipped_frac_b",
    # What a resp was derived from before it was recorded (analyze's derived_from: "rr", "acc"; empty for a
    # belt or a signal breathsync derived itself, which signal_a/signal_b name).
    "derived_from_a",
    "derived_from_b",
    # The group's chance level (3+ participants): the share of its scored windows whose Kuramoto order was
    # above it, and the mean level (analyze's group above_chance_s / scored_s and mean_null_r).
    "group_above_chance_frac",
    "group_mean_null_r",
]


#: A row's note for a pair whose breathing signals are one recording twice (analyze's warning says which).
IDENTICAL_NOTE = (
    "the two breathing signals are one recording (the same samples at the same times): their synchrony says "
    "nothing"
)


@dataclass
class BatchResult:
    """What a batch gave: the summary's rows, the sessions that failed (in input order) and the analysed
    ones' results; every input is in exactly one of ``failed`` and ``results``."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (session, one-line reason)
    #: (session, traceback) of the failures that are breathsync's bugs, not the input's (also in ``failed``).
    internal: list[tuple[str, str]] = field(default_factory=list)
    #: (position among the inputs, from 0; session; its JSON result), for the analysed sessions.
    results: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    #: (session, "a-b", why) of each pair of an analysed session that has no figures (its row's note).
    unscored: list[tuple[str, str, str]] = field(default_factory=list)


def json_name(position: int, item: str) -> str:
    """The JSON file of the session at ``position`` (from 0) among the inputs: ``002_rec1.json``."""
    return f"{position + 1:03d}_{Path(_members(item)[0] if _members(item) else item).stem}.json"


def _members(item: str) -> list[str]:
    return [p for p in item.split("+") if p]


def _degrees(rel: float | None) -> float | None:
    return None if rel is None else round(math.degrees(rel), 1) + 0.0  # no -0.0


def _yes_no(value: bool | None) -> str | None:
    """A true/false cell: "true", "false", or empty (None: unknown)."""
    return None if value is None else ("true" if value else "false")


def _session_cells(res: dict[str, Any], a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The cells of a row that the participants and the session give (any pair's, scored or not)."""
    group = res.get("group") or {}
    return {
        "simulated_a": _yes_no(a.get("simulated")),
        "simulated_b": _yes_no(b.get("simulated")),
        "group_mean_kuramoto_r": group.get("mean_kuramoto_r"),
        "clipped_frac_a": a.get("clipped_frac"),
        "clipped_frac_b": b.get("clipped_frac"),
        "derived_from_a": a.get("derived_from"),
        "derived_from_b": b.get("derived_from"),
        "group_above_chance_frac": (
            round(group["above_chance_s"] / group["scored_s"], 4)
            if group.get("above_chance_s") is not None and group.get("scored_s")
            else None
        ),
        "group_mean_null_r": group.get("mean_null_r"),
    }


def _row(session: str, res: dict[str, Any], pair: dict[str, Any]) -> dict[str, Any]:
    parts = {p["label"]: p for p in res["participants"]}
    s, off = pair["summary"], pair["offline"]["summary"]
    a, b = parts[pair["a"]], parts[pair["b"]]
    rel = s["mean_relative_phase_rad"]
    return {
        "session": session,
        "a": pair["a"],
        "b": pair["b"],
        # How long the two were recorded together (the pair's scored span), and the window used.
        "overlap_s": round(pair["t_s"][-1] - pair["t_s"][0], 2) if pair["t_s"] else 0.0,
        "window_s": pair["window_s"],
        "time_in_sync_frac": s["time_in_sync_frac"],
        "scored_s": s["scored_s"],
        "mean_plv": s["mean_plv"],
        "mean_sync_score": s["mean_sync_score"],
        "mean_relative_phase_deg": _degrees(rel),
        "leader": s["leader"],
        "lead_s": s["lead_s"],
        "rate_a_bpm": a["rate_bpm_mean"],
        "rate_b_bpm": b["rate_bpm_mean"],
        "signal_a": a["signal"],
        "signal_b": b["signal"],
        "offline_time_in_sync_frac": off["time_in_sync_frac"],
        "offline_mean_plv": off["mean_plv"],
        "chance_capped_frac": s.get("chance_capped_frac"),
        "chance_no_surrogate_frac": s.get("chance_no_surrogate_frac"),
        "offline_chance_capped_frac": off.get("chance_capped_frac"),
        "offline_surrogate_null_plv": off.get("surrogate_null_plv"),
        "offline_mean_relative_phase_deg": _degrees(off.get("mean_relative_phase_rad")),
        "offline_leader": off.get("leader"),
        "offline_lead_s": off.get("lead_s"),
        "lead_note": s.get("lead_note"),
        **_session_cells(res, a, b),
        "note": "; ".join(
            n
            for n, why in (
                (
                    "no scored window: both phases known on too little of every window, or not at its end",
                    s["mean_plv"] is None,
                ),
                (IDENTICAL_NOTE, bool(pair.get("identical_signals"))),
            )
            if why
        ),
    }


def _unscored_row(session: str, res: dict[str, Any], a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The row of a pair the analysis could not score (its recordings overlap by less than a window): the
    participants' own figures, no pair figures, and why in ``note``."""
    row: dict[str, Any] = dict.fromkeys(SUMMARY_COLUMNS)
    overlap = _overlap_s(a, b)
    row.update(
        session=session,
        a=a["label"],
        b=b["label"],
        overlap_s=overlap,
        window_s=res["window_s"],
        rate_a_bpm=a["rate_bpm_mean"],
        rate_b_bpm=b["rate_bpm_mean"],
        signal_a=a["signal"],
        signal_b=b["signal"],
        **_session_cells(res, a, b),
        # analyze's words for it, as its JSON and summary say them
        note=next(
            (
                q["note"]
                for q in res["pairs"]
                if (q["a"], q["b"]) == (a["label"], b["label"]) and q.get("note")
            ),
            f"not scored: the recordings overlap by less than one {res['window_s']:g}-s window",
        ),
    )
    return row


def _overlap_s(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """How long two participants' live phase series overlap (s, at least 0); None when one has none."""
    ta, tb = a["phase_live"]["t_s"], b["phase_live"]["t_s"]
    if not ta or not tb:
        return None
    return round(max(0.0, min(ta[-1], tb[-1]) - max(ta[0], tb[0])), 2)


def analyse_batch(
    items: Sequence[str],
    *,
    window_s: float | None = None,
    rate_hz: float | None = None,
    invert: bool = False,
    columns: Sequence[str] = (),
    progress: Callable[[int, int, str], None] | None = None,
) -> BatchResult:
    """Analyse each item (a session folder, or ``A.csv+B.csv``) on its own; a session without a pair to
    score is a failure (module docstring)."""
    out = BatchResult()
    for i, item in enumerate(items):
        if progress is not None:
            progress(i, len(items), item)
        try:
            res = analyse_files(
                _members(item), window_s=window_s, rate_hz=rate_hz, invert=invert, columns=columns
            )
        except InputError as e:
            out.failed.append((item, str(e)))
            continue
        except OSError as e:  # the file system's (a disk error, a file gone meanwhile)
            out.failed.append((item, f"cannot read it: {e.strerror or e}"))
            continue
        except Exception as e:  # one broken session never stops a study, but a bug is not bad input
            out.failed.append((item, f"internal error ({type(e).__name__}: {e}): a bug in breathsync"))
            out.internal.append((item, traceback.format_exc()))
            continue
        scored = {(pr["a"], pr["b"]): pr for pr in res["pairs"] if not pr.get("note")}
        if not scored:
            out.failed.append((item, _no_pair_reason(res)))
            continue
        out.results.append((i, item, res))
        # Every pair of the session, in the analysis's order (each participant with each later one).
        parts = res["participants"]
        for j, pa in enumerate(parts):
            for pb in parts[j + 1 :]:
                pr = scored.get((pa["label"], pb["label"]))
                if pr is not None:
                    out.rows.append(_row(item, res, pr))
                    continue
                row = _unscored_row(item, res, pa, pb)
                out.rows.append(row)
                out.unscored.append((item, f"{pa['label']}-{pb['label']}", row["note"]))
    if progress is not None:
        progress(len(items), len(items), "")
    return out


def _no_pair_reason(res: dict[str, Any]) -> str:
    """Why an analysed session has no pair: one participant, or recordings that overlap too little."""
    n = len(res["participants"])
    if n < 2:
        return f"no pair to score: {'one participant' if n == 1 else 'no participant'} (a pair needs two)"
    return (
        f"no pair to score: the {n} recordings overlap by less than one {res['window_s']:g}-s window "
        "(are they from the same session?)"
    )


def summary_csv(rows: list[dict[str, Any]]) -> str:
    """The study's summary CSV, one row per pair, as text."""
    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r[k] is None else r[k]) for k in SUMMARY_COLUMNS})
    return text.getvalue()


def write_summary(path: str, rows: list[dict[str, Any]]) -> None:
    """The study's summary CSV (:func:`summary_csv`): written like every other output (atomically, readable
    by its owner only; a device or pipe such as /dev/stdout as it is)."""
    with output_errors(path, "the summary"):
        write_private_text(path, summary_csv(rows))


def progress_bar(out: TextIO | None = None) -> Callable[[int, int, str], None]:
    """A progress bar on a terminal (redrawn in place), or one line per session elsewhere."""
    stream = out or sys.stderr
    tty = stream.isatty()

    def show(done: int, total: int, item: str) -> None:
        if tty:
            n = round(30 * done / max(total, 1))
            stream.write(f"\r[{'#' * n}{'.' * (30 - n)}] {done}/{total} {Path(item).name[:40]:40s}")
            if done == total:
                stream.write("\n")
        elif item:
            stream.write(f"[{done + 1}/{total}] {item}\n")
        stream.flush()

    return show
