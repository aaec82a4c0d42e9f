"""Accuracy and cost of breathing waveforms derived from other signals (RR, ECG, accelerometer).

Usage::

    python benchmarks/bench_derived.py [ECG_BELT_CSV] [RR_CSV] [--seed N] [--no-neurokit]

Defaults: ../shared/data/nk_rest5_100hz.csv (columns time, ecg, resp: an ECG and a respiration belt)
and ../shared/data/polar_h10_rr.csv (columns time, rr_ms). Any CSV in those formats works; nothing
here is tuned to a particular file.

a. ECG -> R peaks (breathsync.dsp.ecg) -> RR -> RR-derived breathing, offline and live, against the
   belt: PLV of the derived phase against the belt's reference phase (60-s windows and the whole
   recording), mean lag (s) from the mean relative phase and the belt's breathing rate, breathing-rate
   error (breaths/min).
b. RR file alone: distribution of the derived breath-to-breath rate, artefact count, no crash.
c. Synthetic chest accelerometer built from the real belt (gravity 1000 mG with three abrupt posture
   changes, the belt's breathing as a tilt of the chest about a body-fixed axis, so that a posture
   change turns the direction it moves the reading in, 3 mG noise, 100 Hz, seeded):
   phase error of the derived waveform against the belt's reference phase, offline and live.
d. Gaps in a derived waveform, the live pipeline starting over after each (``resume_gap_s`` 0) against
   resuming the breathing it left (the default, as for a belt): the RR path with 5- and 8-s dropouts of
   the beats every 37 s (a strap's Bluetooth link), and the chest of c (seeds N, N+1, N+2, with its
   heart beats, as a Polar H10 sends them) at its posture changes, where the accelerometer has no
   output for about 3 s while gravity is re-estimated. For the 15 s after each gap: the share of it with
   a phase, the phase error there against the belt, and the seconds from the end of the gap to the first
   phase; also the phase error there where both runs have a phase (is the resumed phase worse?), and in
   the 30 s before each gap (how good the phase was before: a chest that was upside down before a posture
   change stays so after it when resumed).
Also the cost of the live paths per chunk.

What is scored: one span fixed relative to the recording, the same for every method: from ``SCORE_FROM_S``
(40 s) after the recording's first sample to 12 s before its last (reference.REF_SETTLED_S), the span
bench_accuracy scores a belt's live phase on (the benchmark protocol's 40-s warm-up, counted from the
start as the live estimators start from nothing). It covers the phase errors, PLV, lag and rate errors (a,
c), the gaps of d and their 15 s after, and the 60-s windows, laid from the span's start. 40 s: every
method here has its first output by then (measured on nk_rest5 and the ICU record: the RR paths' waveform
after 0.5-1 s and their live phase after 9 s; the accelerometer's live waveform after 21.5 s, where it
first has a sign, and its live phase after 30-33 s; the belt's own live phase after 9-11 s). The span used to
start 40 s after each method's own first output, so that a change in when a method starts moved its
figures (the accelerometer's output waiting 21.5 s for its first sign moved its phase errors with nothing
else changed); now a method is scored on what it gives inside the same span. How long each gave no output
from the recording's start is printed separately ("no output s"; a method whose first output comes after
the span's start is marked there with "!", and a line under the table says it is scored over less of the
recording). The 10-s stretches counted "upside down" are laid from the recording's start too, out of its whole
length.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from reference import (  # noqa: E402
    REF_SETTLED_S,
    circular_error_deg,
    reference_onsets,
    reference_phase,
    reference_rate,
)

from breathsync.analysis import acc_sign_summary  # noqa: E402
from breathsync.dsp.acc import AccRespiration, acc_to_resp_live, acc_to_resp_offline  # noqa: E402
from breathsync.dsp.ecg import ecg_rpeaks, rr_from_beats  # noqa: E402
from breathsync.dsp.pipeline import PipelineConfig, RespPipeline  # noqa: E402
from breathsync.dsp.rr import (  # noqa: E402
    INHERENT_LAG_S,
    RRRespiration,
    rr_artefacts,
    rr_to_resp_offline,
)
from breathsync.synth import chest_accelerometer  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data"
#: Scores start this long after the recording's first sample, for every method (see the docstring).
SCORE_FROM_S = 40.0
WINDOW_S = 60.0


def load_csv(path: Path) -> dict[str, np.ndarray]:
    """Columns of a data CSV (``#`` comment lines, then a header line)."""
    lines = [
        ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")
    ]
    names = [n.strip() for n in lines[0].split(",")]
    arr = np.loadtxt(lines[1:], delimiter=",", ndmin=2)
    return {n: arr[:, i] for i, n in enumerate(names)}


def phase_on(grid_t: np.ndarray, t: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Phase sampled at ``grid_t`` (circular interpolation); NaN outside ``t`` or where unknown."""
    ok = np.isfinite(phase)
    if np.sum(ok) < 2:
        return np.full(grid_t.shape, np.nan)
    z = np.exp(1j * phase[ok])
    re = np.interp(grid_t, t[ok], z.real, left=np.nan, right=np.nan)
    im = np.interp(grid_t, t[ok], z.imag, left=np.nan, right=np.nan)
    out = np.mod(np.angle(re + 1j * im), 2 * np.pi)
    # Unknown where the estimate itself is NaN (nearest sample) or more than 0.5 s from any sample.
    idx = np.clip(np.searchsorted(t, grid_t), 1, t.size - 1)
    near = np.where(np.abs(t[idx] - grid_t) < np.abs(t[idx - 1] - grid_t), idx, idx - 1)
    bad = ~np.isfinite(phase[near]) | (np.abs(t[near] - grid_t) > 0.5)
    out[bad] = np.nan
    return out


def waveform_phase(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offline reference phase of a derived waveform, NaN where the waveform was NaN."""
    ok = np.isfinite(y)
    gt, ph = reference_phase(t[ok], y[ok])
    known = np.isfinite(phase_on(gt, t, np.where(ok, 0.0, np.nan)))
    return gt, np.where(known, ph, np.nan)


def scored_span(t_rec: np.ndarray) -> tuple[float, float]:
    """The span scored, fixed relative to the recording (times ``t_rec``): from ``SCORE_FROM_S`` after its
    first sample to ``REF_SETTLED_S`` before its last, whenever a method's output starts."""
    return float(t_rec[0]) + SCORE_FROM_S, float(t_rec[-1]) - REF_SETTLED_S


def no_output_s(t0: float, tt: np.ndarray, yy: np.ndarray, score_from: float) -> str:
    """Seconds from the recording's start ``t0`` to a method's first output (its first finite value), "!"
    after it when that is later than the scored span's start ``score_from``; "never" without output."""
    k = np.flatnonzero(np.isfinite(yy))
    if k.size == 0:
        return "never!"
    first = float(tt[k[0]])
    return f"{first - t0:.1f}" + ("!" if first > score_from else "")


def late_note(rows: list[tuple[str, ...]], column: int) -> None:
    """One line when a method's first output came after the scored span's start (marked "!")."""
    late = [r[0] for r in rows if r[column].endswith("!")]
    if late:
        print(
            f"! first output after the scored span's start ({SCORE_FROM_S:g} s): {', '.join(late)}; scored "
            "from it on, over less of the recording than the others"
        )


def plv_stats(
    gt: np.ndarray, est: np.ndarray, ref: np.ndarray, rate_bpm: float, span: tuple[float, float]
) -> dict[str, float]:
    """PLV (whole, 60-s windows from the span's start), mean lag (s; positive = derived later), circular MAE
    (deg), over ``span`` (:func:`scored_span`)."""
    ok = np.isfinite(est) & np.isfinite(ref) & (gt >= span[0]) & (gt <= span[1])
    if np.sum(ok) < 10:
        nan = float("nan")
        return {"plv": nan, "plv60": nan, "plv60_min": nan, "lag_s": nan, "mae": nan}
    z = np.exp(1j * (est[ok] - ref[ok]))
    tt = gt[ok]
    wins = []
    for s in np.arange(span[0], span[1] - WINDOW_S + 1e-9, WINDOW_S):
        m = (tt >= s) & (tt < s + WINDOW_S)
        if np.sum(m) > 0.5 * WINDOW_S * 20:
            wins.append(abs(np.mean(z[m])))
    mean = np.mean(z)
    lag_s = -np.angle(mean) / (2 * np.pi * rate_bpm / 60.0)
    mae = float(np.mean(np.abs(circular_error_deg(est[ok], ref[ok]))))
    return {
        "plv": float(abs(mean)),
        "plv60": float(np.mean(wins)) if wins else float("nan"),
        "plv60_min": float(np.min(wins)) if wins else float("nan"),
        "lag_s": float(lag_s),
        "mae": mae,
    }


def rate_error(
    t: np.ndarray, y: np.ndarray, ref_onsets: np.ndarray, span: tuple[float, float]
) -> tuple[float, float]:
    """Rate errors (breaths/min) over ``span`` (:func:`scored_span`): breath by breath on a 1-s grid, and
    per 60-s window (median breath-to-breath rate of the window, derived vs belt)."""
    ok = np.isfinite(y)
    onsets = reference_onsets(t[ok], y[ok])
    grid = np.arange(span[0], span[1], 1.0)
    est = reference_rate(onsets, grid)
    ref = reference_rate(ref_onsets, grid)
    m = np.isfinite(est) & np.isfinite(ref)
    inst = float(np.mean(np.abs(est[m] - ref[m]))) if np.any(m) else float("nan")
    errs = []
    for s in np.arange(grid[0], grid[-1] - WINDOW_S + 1e-9, WINDOW_S):
        w = (grid >= s) & (grid < s + WINDOW_S) & m
        if np.sum(w) > 10:
            errs.append(abs(np.median(est[w]) - np.median(ref[w])))
    return inst, float(np.mean(errs)) if errs else float("nan")


def live_rr(bt: np.ndarray, rr: np.ndarray) -> tuple[np.ndarray, np.ndarray, RRRespiration, float]:
    """Live RR path beat by beat (one beat per call, as from a strap); returns cost per call (us)."""
    live = RRRespiration()
    ts, ys = [], []
    t0 = time.perf_counter()
    for k in range(bt.size):
        t, y = live.process(bt[k : k + 1], rr[k : k + 1])
        ts.append(t)
        ys.append(y)
    cost_us = (time.perf_counter() - t0) / max(bt.size, 1) * 1e6
    return np.concatenate(ts), np.concatenate(ys), live, cost_us


def pipeline_phase(
    t: np.ndarray, y: np.ndarray, resume_gap_s: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The live phase as a session gives it (the same pipeline for a belt and a derived waveform);
    ``resume_gap_s`` 0: the pipeline starts over after every gap instead of resuming (section d)."""
    pipe = RespPipeline() if resume_gap_s is None else RespPipeline(resume_gap_s=resume_gap_s)
    out = pipe.process(t, y)
    return np.asarray(out.t), np.asarray(out.phase)


def fmt(x: float, nd: int = 2) -> str:
    return "-" if not np.isfinite(x) else f"{x:.{nd}f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ecg_csv", nargs="?", type=Path, default=DATA / "nk_rest5_100hz.csv")
    ap.add_argument("rr_csv", nargs="?", type=Path, default=DATA / "polar_h10_rr.csv")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-neurokit", action="store_true", help="skip the NeuroKit2 beat count")
    args = ap.parse_args(argv)

    rows: list[tuple[str, ...]] = []
    # ---- a. ECG + belt -------------------------------------------------------------------------
    d = load_csv(args.ecg_csv)
    ecg_col = "ecg" if "ecg" in d else next((c for c in d if c.startswith("ecg")), "ecg")  # ICU: ecg_ii
    t, ecg, resp = d["time"], d[ecg_col], d["resp"]
    t0 = time.perf_counter()
    beats = ecg_rpeaks(t, ecg)
    ecg_ms = (time.perf_counter() - t0) * 1e3
    bt, rr = rr_from_beats(beats)
    nk_count = "-"
    if not args.no_neurokit:
        try:
            import neurokit2 as nk  # benchmark-only peer

            fs = 1.0 / np.median(np.diff(t))
            _, info = nk.ecg_peaks(ecg, sampling_rate=round(fs))
            nk_count = str(len(info["ECG_R_Peaks"]))
        except Exception as exc:  # optional peer: report and go on
            nk_count = f"n/a ({type(exc).__name__})"
    gt_ref, ph_ref = reference_phase(t, resp)
    belt_onsets = reference_onsets(t, resp)
    belt_rate = 60.0 / float(np.median(np.diff(belt_onsets)))
    span = scored_span(t)

    print(
        f"# a. {args.ecg_csv.name}: {t[-1] - t[0]:.0f} s, belt rate {belt_rate:.1f} breaths/min; scored "
        f"{span[0] - t[0]:.0f}-{span[1] - t[0]:.0f} s of the recording, for every method"
    )
    print(
        f"R peaks: {beats.size} (NeuroKit2: {nk_count}), median HR "
        f"{60.0 / np.median(np.diff(beats)):.1f} beats/min, {ecg_ms:.1f} ms; RR artefacts dropped "
        f"offline {int(np.sum(rr_artefacts(rr)))}, live {int(np.sum(rr_artefacts(rr, causal=True)))}"
    )
    variants: list[tuple[str, np.ndarray, np.ndarray]] = []
    to, yo = rr_to_resp_offline(bt, rr)
    variants.append(("RR offline (0.05-0.5 Hz)", to, yo))
    to2, yo2 = rr_to_resp_offline(bt, rr, band_hz=(0.1, 0.5))
    variants.append(("RR offline (0.1-0.5 Hz)", to2, yo2))
    tl, yl, _, rr_cost = live_rr(bt, rr)
    variants.append(("RR live, offline phase", tl, yl))
    hdr = ("derivation", "PLV", "PLV60 mean", "PLV60 min", "lag s", "MAE deg", "rate err",
           "rate err 60s", "no output s")  # fmt: skip
    rows = []
    for name, tt, yy in variants:
        gt, ph = waveform_phase(tt, yy)
        st = plv_stats(gt, ph, phase_on(gt, gt_ref, ph_ref), belt_rate, span)
        re, re60 = rate_error(tt, yy, belt_onsets, span)
        rows.append(
            (name, fmt(st["plv"]), fmt(st["plv60"]), fmt(st["plv60_min"]), fmt(st["lag_s"]),
             fmt(st["mae"], 1), fmt(re), fmt(re60), no_output_s(t[0], tt, yy, span[0]))
        )  # fmt: skip
    pp = pipeline_phase(tl, yl)
    st = plv_stats(pp[0], pp[1], phase_on(pp[0], gt_ref, ph_ref), belt_rate, span)
    rows.append(
        ("RR live, live phase (RespPipeline)", fmt(st["plv"]), fmt(st["plv60"]),
         fmt(st["plv60_min"]), fmt(st["lag_s"]), fmt(st["mae"], 1), "-", "-",
         no_output_s(t[0], pp[0], pp[1], span[0]))
    )  # fmt: skip
    print_table(hdr, rows)
    late_note(rows, -1)
    print(f"RR live inherent lag (computed): {INHERENT_LAG_S:.2f} s; cost {rr_cost:.1f} us per beat")

    # ---- b. RR file alone ----------------------------------------------------------------------
    r = load_csv(args.rr_csv)
    host, rr2 = r["time"], r["rr_ms"]
    print(f"\n# b. {args.rr_csv.name}: {host.size} beats, {host[-1] - host[0]:.0f} s")
    rows = []
    for name, (tt, yy), n_art in (
        ("offline", rr_to_resp_offline(host, rr2), int(np.sum(rr_artefacts(rr2)))),
        ("live", live_rr(host, rr2)[:2], int(np.sum(rr_artefacts(rr2, causal=True)))),
    ):
        ok = np.isfinite(yy)
        ons = reference_onsets(tt[ok], yy[ok])
        rate = 60.0 / np.diff(ons)
        p5, p50, p95 = np.percentile(rate, [5, 50, 95]) if rate.size else (np.nan,) * 3
        rows.append(
            (name, str(n_art), fmt(float(np.mean(ok)), 3), str(rate.size), fmt(p5, 1),
             fmt(p50, 1), fmt(p95, 1), fmt(float(np.mean((rate >= 4) & (rate <= 30))), 3),
             fmt(float(np.mean((rate >= 3) & (rate <= 30))), 3))
        )  # fmt: skip
    print_table(
        ("path", "artefacts", "finite", "breaths", "rate p5", "p50", "p95", "in 4-30", "in 3-30"),
        rows,
    )

    # ---- c. synthetic chest accelerometer ------------------------------------------------------
    ta, xyz, b = chest_accelerometer(t, resp, seed=args.seed)
    print(
        f"\n# c. synthetic chest ACC from the belt of {args.ecg_csv.name}: 100 Hz, 3 posture "
        f"changes, breathing a chest tilt of 15 mG per belt SD, 3 mG noise, seed {args.seed}"
    )
    gt_b, ph_b = reference_phase(ta, b)
    rows = []
    notes = []
    for cue, beats in (("", None), (" + RR sign", (bt, rr))):
        tao, yao = acc_to_resp_offline(ta, xyz, beats=beats)
        accl = AccRespiration(100.0)
        flips_at: list[float] = []
        t0 = time.perf_counter()
        if beats is None:
            chunk = 10  # 0.1 s per call
            ts, ys = [], []
            for i in range(0, ta.size, chunk):
                n_flips = accl.n_sign_flips
                tt, yy = accl.process(ta[i : i + chunk], xyz[i : i + chunk])
                ts.append(tt)
                ys.append(yy)
                if accl.n_sign_flips != n_flips:
                    flips_at.append(float(ta[i]))
            acc_cost = (time.perf_counter() - t0) / int(np.ceil(ta.size / chunk)) * 1e6
            tal, yal = np.concatenate(ts), np.concatenate(ys)
        else:
            # As a session gets a Polar H10: a second of accelerometer, then that second's beats.
            sign_log: list[tuple[float, str, int]] = []
            tal, yal = acc_to_resp_live(ta, xyz, beats, converter=accl, sign_log=sign_log)
            frac = acc_sign_summary(sign_log, has_beats=True)["basis_frac"]
            notes.append(
                "ACC live + RR sign: which way is inhale, share of the seconds: not yet set "
                f"{frac['none']:.0%}, a guess {frac['guess']:.0%}, confirmed by the heart {frac['heart']:.0%}"
            )
            acc_cost = (time.perf_counter() - t0) / (ta[-1] - ta[0]) * 1e6  # per second of signal
            # Where the output flipped: its sign against the no-RR run is not known, so from the belt.
        for name, tt, yy in ((f"ACC offline{cue}", tao, yao), (f"ACC live{cue}, offline phase", tal, yal)):
            gt, ph = waveform_phase(tt, yy)
            st = plv_stats(gt, ph, phase_on(gt, gt_b, ph_b), belt_rate, span)
            rows.append(
                (name, fmt(st["mae"], 1), fmt(st["plv"]), fmt(st["lag_s"]),
                 fmt(float(np.mean(np.isnan(yy))), 3), no_output_s(t[0], tt, yy, span[0]))
            )  # fmt: skip
        pp = pipeline_phase(tal, yal)
        st = plv_stats(pp[0], pp[1], phase_on(pp[0], gt_b, ph_b), belt_rate, span)
        rows.append(
            (f"ACC live{cue}, live phase (RespPipeline)", fmt(st["mae"], 1), fmt(st["plv"]),
             fmt(st["lag_s"]), fmt(float(np.mean(np.isnan(pp[1]))), 3),
             no_output_s(t[0], pp[0], pp[1], span[0]))
        )  # fmt: skip
        unit = "10-sample chunk" if beats is None else "second of signal"
        scale = 0.1 if beats is None else 1.0
        notes.append(
            f"ACC live{cue}: {accl.n_posture_changes} posture changes detected (3 simulated), "
            f"{accl.n_sign_flips} sign flips (last cue: {accl.sign_cue}); cost {acc_cost:.0f} us per "
            f"{unit} ({acc_cost / scale / 1e4:.2f} % of real time at 100 Hz)"
        )
        flipped = upside_down(tal, yal, gt_b, ph_b, t)
        where = ", ".join(f"{x:.0f}" for x in flipped[:12]) + (" ..." if len(flipped) > 12 else "")
        flip_text = (
            f"sign flips at {', '.join(f'{x:.1f} s' for x in flips_at) or 'none'}; " if beats is None else ""
        )
        notes.append(
            f"ACC live{cue}: {flip_text}upside down (10-s stretches over 90 deg from the belt) "
            f"{len(flipped) * 10 / 60:.1f} of {(t[-1] - t[0]) / 60:.1f} min"
            + (f" (stretches starting at {where} s)" if flipped else "")
        )
    pb = pipeline_phase(ta, b)
    st = plv_stats(pb[0], pb[1], phase_on(pb[0], gt_b, ph_b), belt_rate, span)
    rows.append(
        ("(belt itself, live phase: floor)", fmt(st["mae"], 1), fmt(st["plv"]),
         fmt(st["lag_s"]), fmt(float(np.mean(np.isnan(pb[1]))), 3), no_output_s(t[0], pb[0], pb[1], span[0]))
    )  # fmt: skip
    # unknown: NaN share of the waveform, or of the live phase for the RespPipeline rows (its warm-up too);
    # no output s: from the recording's start to the first output (scored from SCORE_FROM_S all the same)
    print_table(("derivation", "MAE deg", "PLV", "lag s", "unknown", "no output s"), rows)
    late_note(rows, -1)
    for line in notes:
        print(line)
    null_beats(t, bt, rr, ta, xyz, gt_b, ph_b, other=(host, rr2, args.rr_csv.name))
    derived_gaps(t, resp, bt, rr, args.seed)
    return 0


def derived_gaps(t: np.ndarray, resp: np.ndarray, bt: np.ndarray, rr: np.ndarray, seed: int) -> None:
    """Section d: starting over against resuming after the gaps of a derived waveform."""
    print(
        "\n# d. gaps in a derived waveform: the live pipeline starting over after each (resume_gap_s 0) "
        f"or resuming (default, {PipelineConfig().resume_gap_s:.0f} s); 15 s after each gap"
    )
    gt_ref, ph_ref = reference_phase(t, resp)
    span = scored_span(t)
    cases: list[tuple[str, list[tuple[np.ndarray, np.ndarray]]]] = []
    for drop in (5.0, 8.0):
        keep = np.ones(bt.size, dtype=bool)
        starts = np.arange(30.0, bt[-1], 37.0)
        for s0 in starts:
            keep &= ~((bt >= s0) & (bt < s0 + drop))
        tl, yl, _, _ = live_rr(bt[keep], rr[keep])
        cases.append((f"RR, {drop:.0f}-s beat dropouts every 37 s", [(tl, yl)]))
    runs = []
    for sd in (seed, seed + 1, seed + 2):
        ta, xyz, _ = chest_accelerometer(t, resp, seed=sd)
        runs.append(acc_to_resp_live(ta, xyz, (bt, rr), converter=AccRespiration(100.0)))
    cases.append((f"ACC + RR sign, posture changes (seeds {seed}-{seed + 2})", runs))
    rows = []
    for name, items in cases:
        res: dict[str, list[np.ndarray]] = {"start over": [], "resume": []}
        back: dict[str, list[float]] = {"start over": [], "resume": []}
        err_after: dict[str, list[np.ndarray]] = {"start over": [], "resume": []}
        both_err: dict[str, list[np.ndarray]] = {"start over": [], "resume": []}
        before: dict[str, list[np.ndarray]] = {"start over": [], "resume": []}
        n_gaps = 0
        for tt, yy in items:
            ph = {pol: pipeline_phase(tt, yy, 0.0 if pol == "start over" else None) for pol in res}
            pt = ph["resume"][0]
            ref = phase_on(pt, gt_ref, ph_ref)
            scored = np.isfinite(ref) & (pt >= span[0]) & (pt <= span[1])
            # a gap ends at the first sample of the waveform back after a stretch without it; those whose
            # 15 s after lie where phases are scored
            ends = tt[np.flatnonzero(np.diff(np.isnan(yy).astype(int)) == -1) + 1]
            ends = ends[(ends >= span[0]) & (ends <= span[1] - 15.0)]
            n_gaps += ends.size
            known_both = np.isfinite(ph["start over"][1]) & np.isfinite(ph["resume"][1])
            after, prior = np.zeros(pt.size, dtype=bool), np.zeros(pt.size, dtype=bool)
            for e in ends:
                after |= (pt >= e) & (pt < e + 15.0)
                prior |= (pt >= e - 33.0) & (pt < e - 3.0)  # 30 s before, the posture change's gap left out
            after &= scored
            prior &= scored
            for pol in res:
                est = ph[pol][1]
                err = np.abs(circular_error_deg(est, ref))
                res[pol].append(np.isfinite(est[after]))
                err_after[pol].append(err[after & np.isfinite(est)])
                both_err[pol].append(err[after & known_both])
                before[pol].append(err[prior & np.isfinite(est)])
                for e in ends:
                    k = np.flatnonzero((pt >= e) & np.isfinite(est))
                    back[pol].append(float(pt[k[0]] - e) if k.size else np.inf)
        for pol in res:
            cover = np.concatenate(res[pol])
            rows.append(
                (name if pol == "start over" else "", pol, str(n_gaps), f"{np.mean(cover):.0%}",
                 fmt(float(np.median(back[pol])), 1), fmt(float(np.mean(np.concatenate(err_after[pol]))), 1),
                 fmt(float(np.mean(np.concatenate(both_err[pol]))), 1),
                 fmt(float(np.mean(np.concatenate(before[pol]))), 1))
            )  # fmt: skip
    print_table(
        (
            "signal and gaps",
            "pipeline",
            "gaps",
            "phase 15 s after",
            "back after s (median)",
            "MAE deg there",
            "MAE where both",
            "MAE 30 s before",
        ),
        rows,
    )


def upside_down(
    t: np.ndarray, y: np.ndarray, gt_b: np.ndarray, ph_b: np.ndarray, t_rec: np.ndarray
) -> list[float]:
    """Starts of the 10-s stretches whose mean phase difference to the belt is over 90 deg, laid from the
    recording's start (times ``t_rec``), not from the first output: where it starts does not move them."""
    gt, ph = waveform_phase(t, y)
    d = np.exp(1j * (ph - phase_on(gt, gt_b, ph_b)))
    flipped = []
    for s0 in np.arange(t_rec[0], t_rec[-1] - 10.0, 10.0):
        w = (gt >= s0) & (gt < s0 + 10.0) & np.isfinite(d)
        if np.sum(w) > 100 and abs(np.angle(np.mean(d[w]))) > np.pi / 2:
            flipped.append(float(s0))
    return flipped


def null_beats(
    t: np.ndarray,
    bt: np.ndarray,
    rr: np.ndarray,
    ta: np.ndarray,
    xyz: np.ndarray,
    gt_b: np.ndarray,
    ph_b: np.ndarray,
    other: tuple[np.ndarray, np.ndarray, str] | None = None,
) -> None:
    """The accelerometer with heart beats that carry none of its breathing: the recording's own beats
    moved 60-200 s out of step (circularly), white-noise RR (800 +- 25 ms, seeds 0-3) and ``other``
    (another person's beats: times, RR ms, name; repeated to cover the recording). Any decision
    they make is a coin toss: how many the sign from the heart takes (the flips beyond the rise cue's), how
    long the output is upside down, and how much of the time they "confirm" the direction. A decision is a
    start of a "confirmed" stretch (the correlation held beyond the margin, the output turned over first
    when it was negative): with such beats each is a coin toss."""
    span = float(t[-1] - t[0])
    cases: list[tuple[str, np.ndarray, np.ndarray]] = []
    for shift in (60.0, 100.0, 150.0, 200.0):
        if shift < span / 2:
            moved = t[0] + np.mod(bt - t[0] + shift, span)
            order = np.argsort(moved)
            cases.append((f"own beats +{shift:.0f} s", moved[order], rr[order]))
    for seed in range(4):
        noise = 800.0 + 25.0 * np.random.default_rng(seed).normal(size=int(span / 0.8) + 10)
        beat_t = t[0] + np.cumsum(noise) / 1000.0
        keep = beat_t < t[-1]
        cases.append((f"white-noise RR, seed {seed}", beat_t[keep], noise[keep]))
    if other is not None:
        o_t, o_rr, o_name = other
        ok = np.isfinite(o_t) & np.isfinite(o_rr)
        o_t, o_rr = o_t[ok] - o_t[ok][0], o_rr[ok]
        if o_t.size > 1 and o_t[-1] > 0:
            reps = int(np.ceil(span / (o_t[-1] + 1.0)))
            beat_t = t[0] + np.concatenate([o_t + k * (o_t[-1] + 1.0) for k in range(reps)])
            beat_rr = np.tile(o_rr, reps)
            keep = beat_t < t[-1]
            cases.append((f"another person's RR ({o_name})", beat_t[keep], beat_rr[keep]))
    alone = AccRespiration(100.0)
    ya = alone.process(ta, xyz)[1]
    base_flips = alone.n_sign_flips
    base_up = len(upside_down(ta, ya, gt_b, ph_b, t)) * 10 / 60
    print(
        f"\n# c2. the same chest with beats that carry none of its breathing ({span / 60:.1f} min each; "
        f"without beats: {base_flips} flips, upside down {base_up:.1f} min)"
    )
    rows = []
    decisions = 0
    for name, b_t, b_rr in cases:
        conv = AccRespiration(100.0)
        log: list[tuple[float, str, int]] = []
        tl, yl = acc_to_resp_live(ta, xyz, (b_t, b_rr), converter=conv, sign_log=log)
        up = len(upside_down(tl, yl, gt_b, ph_b, t)) * 10 / 60
        heart = acc_sign_summary(log, has_beats=True)["basis_frac"]["heart"]
        n = sum(1 for (_, b, _), (_, b0, _) in zip(log[1:], log[:-1], strict=True) if b == "heart" != b0)
        decisions += n
        rows.append((name, str(n), str(conv.n_sign_flips), f"{up:.1f}", f"{heart:.0%}"))
    print_table(("beats", "decisions", "flips (all)", "upside down min", "confirmed"), rows)
    hours = len(cases) * span / 3600
    print(f"decisions by such beats: {decisions} in {hours * 60:.0f} min ({decisions / hours:.1f} per hour)")


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    raise SystemExit(main())
