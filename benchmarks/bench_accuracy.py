"""Accuracy of the live pipeline against offline references, on real breathing recordings.

    python benchmarks/bench_accuracy.py [FILE.csv ...]

Any CSV in the project's format with a ``resp`` column works; the default is the real belt recordings in
../shared/data (or sample_signals/). For each file the live pipeline runs over the whole recording as one
stream, exactly as live. Phase and rate are scored every 0.25 s from 40 s of warm-up to 12 s before the
recording's end (where the zero-phase reference stops moving when more recording follows; the script prints
that measurement); breath onsets, which the live tracker gives from its first breath, from 14 s after the
start (the same measurement at the start) to 12 s before the end. All against references computed in
benchmarks/reference.py (not by the code under test):

- phase: circular mean absolute error and bias against the zero-phase band-pass + Hilbert phase, over the
  samples where the live pipeline gives a phase (coverage = that fraction);
- onsets: F1 at +-0.5 s against NeuroKit2-style troughs, against the project's offline onsets, and
  against NeuroKit2's own troughs (when installed);
  median confirmation latency (detected - onset);
- rate: mean absolute error against the reference's rate over the same trailing window the live display
  uses (60 / mean interval of the reference breaths of the last ``PipelineConfig.rate_window_s``: what the
  displayed number means), and, to show what a trailing window costs, against the reference's centred
  30-s rate (breaths within +-15 s, which no causal display can know) and against 60 / each breath's own
  interval (breath-to-breath variability is not predictable by a causal estimate).

Two columns measure the references rather than breathsync, so the goals can be read against them:
- "NK-style vs NeuroKit2": F1 of the reference troughs against NeuroKit2's own ``rsp_peaks`` troughs
  (when neurokit2, the ``bench`` extra, is installed): how far two offline trough detectors of the same
  recipe agree, the ceiling an onset F1 can be read against;
- "same, perfect onsets": the 30-s-rate error of the live rate rule fed the reference's own onsets the
  moment they happen (benchmarks/reference.py, ``reference_rate_causal``): the floor of a causal rate of
  this kind, set by the time a window takes to follow a change.

A small table says how much of the time each recording rises (benchmarks/reference.py, ``rise_fraction``):
the inhale/exhale asymmetry that the accelerometer's sign and the "looks inverted" warning rely on.

A dropout table leaves 3 or 8 s of samples out of the recording (one gap per run, every 37 s) and scores
the 15 s after each gap: how much of it has a phase, and its error, when the live pipeline starts over after
the gap and when it resumes the breathing it left (the default for belts, ``PipelineConfig.resume_gap_s``).

A further table scores the same way against the true phase and onsets of simulated breathers
(breathsync.synth defaults: 40/60 cycle, baseline drift, amplitude variation, noise, phase diffusion; with and
without an end-expiratory pause) at 6 to 24 breaths/min, where no reference has to be trusted.

The last table times the onsets of paced breathing exercises, whose inhale starts are known: box breathing
(in 4 s, hold 4, out 4, hold 4), 4-7-8, 3-0-4-3, and 6/min resonance breathing (5-5 and 4-6), each cycle's
length varied by 5% (three seeds, 400 s each, onsets from 60 s).

    python benchmarks/bench_accuracy.py --grid [--seeds 3-8]

prints, instead of the tables above, onset F1 against the true onsets over a grid of simulated breathers
(3 to 30/min, end-expiratory pauses 0-30%, inhale 40% and 33% of the cycle; seeds 3-8 by default: seeds 1-2
were used to choose the onset rule's changes of stop 35): about 4 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from _common import default_belt_files, table
from reference import (
    NK_BAND_HZ,
    REF_BAND_HZ,
    REF_SETTLED_S,
    REF_SETTLED_START_S,
    circular_error_deg,
    neurokit2_troughs,
    onset_f1,
    reference_end_drift,
    reference_onsets,
    reference_phase,
    reference_rate,
    reference_rate_causal,
    reference_rate_trailing,
    reference_rate_windowed,
    reference_start_drift,
    rise_fraction,
)

from breathsync.dsp.offline import offline_breathing
from breathsync.dsp.pipeline import PipelineConfig, RespPipeline
from breathsync.io.csvfile import read_recording
from breathsync.synth import BreathShape, simulate_group

WARMUP_S = 40.0
FLOOR_WINDOWS = (10.0, 15.0, 20.0, 25.0, 30.0, 40.0)


def read_resp(path: str) -> tuple[np.ndarray, np.ndarray]:
    rec = read_recording(path)
    return rec.time, rec.columns["resp"]


def score(path: str) -> dict[str, float]:
    t, y = read_resp(path)
    out = RespPipeline().process(t, y)
    gt, gph = reference_phase(t, y)
    ref = np.mod(np.interp(out.t, gt, np.unwrap(gph)), 2 * np.pi)
    t_min, t_max = t[0] + WARMUP_S, t[-1] - REF_SETTLED_S
    scored = (out.t >= t_min) & (out.t <= t_max) & (np.round(out.t * 4) == out.t * 4)
    have = scored & np.isfinite(out.phase)
    err = circular_error_deg(out.phase[have], ref[have])
    ons_ref = reference_onsets(t, y)
    ons_off = offline_breathing(t, y).onsets_s
    det = np.array([b.onset_s for b in out.breaths])
    lat = np.array([b.detected_s - b.onset_s for b in out.breaths])

    def span(x: np.ndarray) -> np.ndarray:
        """The onsets scored: those where the reference has settled at both ends."""
        return x[(x >= t[0] + REF_SETTLED_START_S) & (x <= t_max)]

    _, _, f1 = onset_f1(span(det), span(ons_ref))
    _, _, f1_off = onset_f1(span(det), span(ons_off))
    rate_tr = reference_rate_trailing(ons_ref, out.t, PipelineConfig().rate_window_s)
    roktr = have & np.isfinite(rate_tr) & np.isfinite(out.rate_bpm)
    rate_ref = reference_rate(ons_ref, out.t)
    rok = have & np.isfinite(rate_ref) & np.isfinite(out.rate_bpm)
    rate_30 = reference_rate_windowed(ons_ref, out.t, 30.0)
    rok30 = have & np.isfinite(rate_30) & np.isfinite(out.rate_bpm)
    floors = {
        w: np.abs(reference_rate_causal(ons_ref, out.t[rok30], w) - rate_30[rok30]) for w in FLOOR_WINDOWS
    }
    nk2 = neurokit2_troughs(t, y)
    f1_refs = math.nan if nk2 is None else onset_f1(span(ons_ref), span(nk2))[2]
    ons_nkband = reference_onsets(t, y, NK_BAND_HZ)
    f1_nkband = math.nan if nk2 is None else onset_f1(span(ons_nkband), span(nk2))[2]
    f1_nk2 = math.nan if nk2 is None else onset_f1(span(det), span(nk2))[2]
    rises = rise_fraction(t, y)
    return {
        "rises": f"{rises[0]:.2f} ({rises[1]:.2f}-{rises[2]:.2f})",
        "err": err,
        "mae": float(np.mean(np.abs(err))),
        "bias": float(np.degrees(np.angle(np.mean(np.exp(1j * np.radians(err)))))),
        "coverage": float(have.sum() / max(scored.sum(), 1)),
        "f1": f1,
        "n_onsets": int(span(ons_ref).size),
        "f1_off": f1_off,
        "latency": float(np.median(lat)) if lat.size else math.nan,
        "ratetr_abs": np.abs(out.rate_bpm[roktr] - rate_tr[roktr]),
        "rate_mae": float(np.mean(np.abs(out.rate_bpm[rok] - rate_ref[rok]))),
        "rate_abs": np.abs(out.rate_bpm[rok] - rate_ref[rok]),
        "rate30_mae": float(np.mean(np.abs(out.rate_bpm[rok30] - rate_30[rok30]))),
        "rate30_abs": np.abs(out.rate_bpm[rok30] - rate_30[rok30]),
        "floor_abs": floors[40.0],  # the live rule's own window (PipelineConfig.rate_window_s)
        "floors": floors,
        "f1_refs": f1_refs,
        "band_rows": [
            [f"{lo:g}-{hi:g} Hz", f"{f1:.2f}", f"{100 * np.mean(np.diff(span(ons)) < 1.5):.0f}%"]
            for (lo, hi), ons, f1 in ((REF_BAND_HZ, ons_ref, f1_refs), (NK_BAND_HZ, ons_nkband, f1_nkband))
        ],
        "f1_nk2": f1_nk2,
    }


def score_synthetic(rate_bpm: float, pause: float, seed: int = 0) -> dict[str, float]:
    """Live pipeline against the true phase and onsets of a simulated breather (600 s at 50 Hz)."""
    shape = BreathShape(pause_fraction=pause)
    g = simulate_group(600.0, fs_hz=50.0, rates_bpm=(rate_bpm,), shape=shape, seed=seed)
    out = RespPipeline().process(g.t, g.resp[0])
    true = np.mod(np.interp(out.t, g.t, g.unwrapped[0]), 2 * np.pi)
    scored = (out.t >= out.t[0] + WARMUP_S) & (np.round(out.t * 4) == out.t * 4)
    have = scored & np.isfinite(out.phase)
    err = circular_error_deg(out.phase[have], true[have])
    det = np.array([b.onset_s for b in out.breaths])
    ons = g.onsets[0]
    t_min = g.t[0] + WARMUP_S
    _, _, f1 = onset_f1(det[det >= t_min], ons[ons >= t_min])
    return {
        "mae": float(np.mean(np.abs(err))),
        "bias": float(np.degrees(np.angle(np.mean(np.exp(1j * np.radians(err)))))),
        "coverage": float(have.sum() / max(scored.sum(), 1)),
        "f1": f1,
    }


#: Paced breathing exercises: (name, inhale s, hold after inhale s, exhale s, hold after exhale s).
PACED_PATTERNS = (
    ("box 4-4-4-4", 4.0, 4.0, 4.0, 4.0),
    ("4-7-8", 4.0, 7.0, 8.0, 0.0),
    ("3-0-4-3", 3.0, 0.0, 4.0, 3.0),
    ("6/min 5-0-5-0", 5.0, 0.0, 5.0, 0.0),
    ("6/min 4-0-6-0", 4.0, 0.0, 6.0, 0.0),
)
PACED_JITTER = 0.05  # each cycle's length varies by this fraction (sd)


def paced_breathing(
    pattern: tuple[float, float, float, float], seed: int, duration_s: float = 400.0, fs_hz: float = 50.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, belt, inhale starts) of a paced exercise: raised-cosine inhale and exhale, flat holds, each cycle
    stretched by a random factor (sd ``PACED_JITTER``), belt noise 0.5% of the breath."""
    rng = np.random.default_rng(seed)
    t_in, hold_in, t_ex, hold_ex = pattern
    ts, ys, starts, t0 = [], [], [], 0.0
    while t0 < duration_s:
        f = 1.0 + PACED_JITTER * rng.standard_normal()
        a, b, c, d = t_in * f, hold_in * f, t_ex * f, hold_ex * f
        tt = np.arange(math.ceil(t0 * fs_hz) / fs_hz, t0 + a + b + c + d, 1.0 / fs_hz)
        x = tt - t0
        ys.append(
            np.where(
                x < a,
                0.5 * (1 - np.cos(np.pi * x / a)),
                np.where(
                    x < a + b, 1.0, np.where(x < a + b + c, 0.5 * (1 + np.cos(np.pi * (x - a - b) / c)), 0.0)
                ),
            )
        )
        ts.append(tt)
        starts.append(t0)
        t0 += a + b + c + d
    t, y = np.concatenate(ts), np.concatenate(ys)
    return t, y + 0.005 * rng.standard_normal(t.size), np.array(starts)


def score_paced(pattern: tuple[float, float, float, float], seeds: tuple[int, ...] = (1, 2, 3)) -> list[str]:
    """Live onsets of a paced exercise against its inhale starts (from 60 s): rate, their median signed
    error (s), the share within +-0.5 s, and F1 at +-0.5 s."""
    errs, f1s = [], []
    for seed in seeds:
        t, y, truth = paced_breathing(pattern, seed)
        det = np.array([b.onset_s for b in RespPipeline().process(t, y).breaths])
        det, ref = det[det >= 60.0], truth[(truth >= 60.0) & (truth <= t[-1] - 12.0)]
        errs.append(det - truth[np.argmin(np.abs(det[:, None] - truth[None, :]), axis=1)])
        f1s.append(onset_f1(det[det <= t[-1] - 12.0], ref)[2])
    e = np.concatenate(errs)
    return [
        f"{60.0 / sum(pattern):.2g}/min",
        f"{np.median(e):+.2f}",
        f"{np.mean(np.abs(e) <= 0.5):.2f}",
        f"{np.mean(f1s):.2f}",
    ]


GRID_RATES = (3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0)
GRID_PAUSES = (0.0, 0.1, 0.2, 0.3)
GRID_INHALES = (0.4, 0.33)


def _grid_cell(args: tuple[float, float, float, int]) -> tuple[float, float, float, int, float, float]:
    rate, pause, inhale, seed = args
    shape = BreathShape(pause_fraction=pause, inhale_fraction=inhale)
    g = simulate_group(600.0, fs_hz=50.0, rates_bpm=(rate,), shape=shape, seed=seed)
    det = np.array([b.onset_s for b in RespPipeline().process(g.t, g.resp[0]).breaths])
    ons = g.onsets[0]
    t_min = g.t[0] + WARMUP_S
    det, ons = det[det >= t_min], ons[ons >= t_min]
    err = det - ons[np.argmin(np.abs(det[:, None] - ons[None, :]), axis=1)] if det.size and ons.size else det
    return rate, pause, inhale, seed, onset_f1(det, ons)[2], float(np.median(err)) if err.size else math.nan


def onset_grid(seeds: list[int]) -> None:
    """Onset F1 against the true onsets over the grid of simulated breathers (see the module docstring)."""
    from concurrent.futures import ProcessPoolExecutor

    cells = [(r, p, i, s) for r in GRID_RATES for p in GRID_PAUSES for i in GRID_INHALES for s in seeds]
    with ProcessPoolExecutor() as ex:
        res = list(ex.map(_grid_cell, cells, chunksize=2))
    rows = []
    for r in GRID_RATES:
        mine = [x for x in res if x[0] == r]
        rows.append(
            [f"{r:g}/min"]
            + [f"{np.mean([x[4] for x in mine if x[1] == p]):.2f}" for p in GRID_PAUSES]
            + [f"{np.mean([x[4] for x in mine]):.2f}", f"{np.nanmedian([x[5] for x in mine]):+.2f}"]
        )
    rows.append(["all"] + [""] * len(GRID_PAUSES) + [f"{np.mean([x[4] for x in res]):.2f}", ""])
    header = ["simulated breather"] + [f"F1, {100 * p:.0f}% pause" for p in GRID_PAUSES]
    print(table(rows, [*header, "F1, all", "median onset error s"]))
    print(
        f"(seeds {', '.join(map(str, seeds))}; inhale {' and '.join(f'{i:g}' for i in GRID_INHALES)} of the cycle)"
    )


def _seed_list(text: str) -> list[int]:
    a, _, b = text.partition("-")
    return list(range(int(a), int(b or a) + 1))


GAP_LENGTHS_S = (3.0, 8.0)
GAP_EVERY_S = 37.0  # a gap starts every this many seconds, from 60 s to 60 s before the end, one per run
GAP_AFTER_S = 15.0  # scored: the seconds after each gap


def score_gaps(path: str) -> list[list[str]]:
    """A belt's dropout: the recording with ``gap`` seconds of samples left out (one gap per run, at
    each ``GAP_EVERY_S``), the live pipeline resuming after it (the default) or starting over
    (``resume_gap_s=0``); phase given and its error against the gapless reference over the
    ``GAP_AFTER_S`` after each gap."""
    t, y = read_resp(path)
    gt, gph = reference_phase(t, y)
    ref_unwrapped = np.unwrap(gph)
    rows: list[list[str]] = []
    if np.arange(t[0] + 60.0, t[-1] - 60.0, GAP_EVERY_S).size == 0:
        return rows  # too short for a gap with a minute on either side
    for gap in GAP_LENGTHS_S:
        cells = []
        for resume in (0.0, PipelineConfig().resume_gap_s):
            given, errs = [], []
            for g0 in np.arange(t[0] + 60.0, t[-1] - 60.0, GAP_EVERY_S):
                keep = (t < g0) | (t >= g0 + gap)
                out = RespPipeline(resume_gap_s=resume).process(t[keep], y[keep])
                ref = np.mod(np.interp(out.t, gt, ref_unwrapped), 2 * np.pi)
                after = (out.t >= g0 + gap) & (out.t < g0 + gap + GAP_AFTER_S)
                ok = after & np.isfinite(out.phase)
                given.append(ok.sum() / max(after.sum(), 1))
                errs.append(np.abs(circular_error_deg(out.phase[ok], ref[ok])))
            e = np.concatenate(errs)
            cells += [f"{100 * np.mean(given):.0f}%", f"{np.mean(e):.1f}" if e.size else "-"]
        rows.append([path.split("/")[-1], f"{gap:g} s", *cells])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--grid", action="store_true", help="onset F1 over a grid of simulated breathers, only")
    ap.add_argument("--seeds", type=_seed_list, default=_seed_list("3-8"), help="the grid's seeds (3-8)")
    args = ap.parse_args()
    if args.grid:
        onset_grid(args.seeds)
        return
    files = args.files or [str(p) for p in default_belt_files()]
    rows, errs, rates, rates30, ratestr, floors, drift, bands = [], [], [], [], [], [], [], []
    rises: list[list[str]] = []
    by_window: dict[float, list[np.ndarray]] = {w: [] for w in FLOOR_WINDOWS}
    for f in files:
        s = score(f)
        rises.append([f.split("/")[-1], s["rises"]])
        errs.append(s["err"])
        rates.append(s["rate_abs"])
        rates30.append(s["rate30_abs"])
        ratestr.append(s["ratetr_abs"])
        tr = read_resp(f)
        drift.append((reference_end_drift(*tr), reference_start_drift(*tr)))
        bands += [[f.split("/")[-1], *r] for r in s["band_rows"]]
        floors.append(s["floor_abs"])
        for w in FLOOR_WINDOWS:
            by_window[w].append(s["floors"][w])
        rows.append(
            [
                f.split("/")[-1],
                f"{s['mae']:.1f}",
                f"{s['bias']:+.1f}",
                f"{100 * s['coverage']:.0f}%",
                f"{s['f1']:.2f} ({s['n_onsets']})",
                f"{s['f1_off']:.2f}",
                "n/a" if math.isnan(s["f1_nk2"]) else f"{s['f1_nk2']:.2f}",
                "n/a" if math.isnan(s["f1_refs"]) else f"{s['f1_refs']:.2f}",
                f"{s['latency']:.2f}",
                f"{np.mean(s['ratetr_abs']):.2f}",
                f"{s['rate_mae']:.2f}",
                f"{s['rate30_mae']:.2f}",
                f"{np.mean(s['floor_abs']):.2f}",
            ]
        )
    allerr = np.concatenate(errs)
    pooled_bias = np.degrees(np.angle(np.mean(np.exp(1j * np.radians(allerr)))))
    rows.append(
        [
            "pooled",
            f"{np.mean(np.abs(allerr)):.2f}",
            f"{pooled_bias:+.1f}",
            "",
            "",
            "",
            "",
            "",
            "",
            f"{np.mean(np.concatenate(ratestr)):.2f}",
            f"{np.mean(np.concatenate(rates)):.2f}",
            f"{np.mean(np.concatenate(rates30)):.2f}",
            f"{np.mean(np.concatenate(floors)):.2f}",
        ]
    )
    header = [
        "recording",
        "phase MAE deg",
        "bias deg",
        "phase given",
        "onset F1 (NK-style) (breaths)",
        "onset F1 (offline)",
        "onset F1 (NeuroKit2)",
        "NK-style vs NeuroKit2",
        "latency s",
        "rate MAE /min (same window)",
        "per breath",
        "vs centred 30-s rate",
        "same, perfect onsets",
    ]
    print(table(rows, header))
    print()
    print(
        table(
            rises,
            ["recording", "rises: fraction of the time (lowest-highest minute)"],
        )
    )
    print(
        "(a signal rising on inhale with the inhale shorter than the exhale reads under 0.5: the cue the\n"
        " accelerometer's sign and the 'looks inverted' warning rely on)"
    )
    print()
    print(
        table(
            [[f"{w:g} s", f"{np.mean(np.concatenate(by_window[w])):.2f}"] for w in FLOOR_WINDOWS],
            ["live rate rule fed perfect onsets: window", "pooled MAE vs 30-s rate /min"],
        )
    )
    print()
    ends = [np.concatenate([e[k][0] for e in drift]) for k in (0, 1)]
    changes = [np.concatenate([e[k][1] for e in drift]) for k in (0, 1)]
    print(
        table(
            [
                [f"{lo:g}-{lo + 2:g} s"]
                + [f"{np.mean(c[(d >= lo) & (d < lo + 2)]):.1f}" for d, c in zip(ends, changes, strict=True)]
                for lo in range(0, 20, 2)
            ],
            ["reference cut short: distance from the cut", "end cut: change deg", "start cut: change deg"],
        )
    )
    print(
        f"(scores end {REF_SETTLED_S:g} s before each recording's end; onsets are scored from "
        f"{REF_SETTLED_START_S:g} s after its start, phase and rate from {WARMUP_S:g} s)"
    )
    print()
    print(
        table(
            bands,
            [
                "recording",
                "NK-style troughs: cleaning band",
                "F1 vs NeuroKit2",
                "intervals under 1.5 s (over 40/min)",
            ],
        )
    )
    print()
    gap_rows = [r for f in files for r in score_gaps(f)]
    print(
        table(
            gap_rows,
            [
                "recording",
                "dropout",
                f"starting over: phase given, {GAP_AFTER_S:g} s after",
                "its MAE deg",
                "resuming (default): phase given",
                "its MAE deg",
            ],
        )
    )
    print(f"(a dropout every {GAP_EVERY_S:g} s from 60 s on, one per run; MAE against the gapless reference)")
    print()
    srows = []
    for pause in (0.0, 0.2):
        for rate in (6.0, 10.0, 15.0, 24.0):
            r = score_synthetic(rate, pause)
            srows.append(
                [
                    f"{rate:g}/min" + (", 20% pause" if pause else ""),
                    f"{r['mae']:.1f}",
                    f"{r['bias']:+.1f}",
                    f"{100 * r['coverage']:.0f}%",
                    f"{r['f1']:.2f}",
                ]
            )
    print(
        table(
            srows, ["simulated breather (true phase)", "phase MAE deg", "bias deg", "phase given", "onset F1"]
        )
    )
    print()
    prows = [[name, *score_paced(pat)] for name, *pat in PACED_PATTERNS]
    print(
        table(
            prows,
            [
                "paced exercise (s: in-hold-out-hold)",
                "rate",
                "median onset error s",
                "within 0.5 s",
                "onset F1",
            ],
        )
    )
    print(f"(each cycle's length varied by {100 * PACED_JITTER:g}%; seeds 1-3, 400 s each, onsets from 60 s)")


if __name__ == "__main__":
    main()
