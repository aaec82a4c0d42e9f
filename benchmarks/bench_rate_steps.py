"""Step response of the live rate (and the live phase around it), and the rate's jitter on real breathing.

    python benchmarks/bench_rate_steps.py [--seeds N] [--diffusion D ...] [--steady] [--real] [--no-steps]

Simulated leaders (breathsync.sources.sim ``lead``): a rate r0 for 120 s, then a change to r1 over ``ramp``
s (0: a step), then 120 s more. Per run: the settling time (from the change's start until the live rate is
within 1/min, resp. 10%, of r1 and stays there for 15 s, per seed; and the same for the mean of the seeds'
live rates staying there to the run's end: the simulated breather's own wander takes a single run's
40-s rate out of a 1/min band now and then; NaN/no rate counts as outside), the
overshoot beyond r1 (the largest excursion past r1 in the change's direction after the change), the mean
|live rate - the simulated natural rate| from the change to 60 s after its end, and the live phase's mean
circular error against the true phase in the 60 s before the change and from the change to 60 s after
its end.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from _common import REPO, SHARED_DATA
from reference import REF_SETTLED_S, reference_onsets, reference_rate, reference_rate_windowed

from breathsync.dsp.pipeline import RespPipeline
from breathsync.io.csvfile import read_recording
from breathsync.sources.sim import SimSource

PAIRS = ((12.0, 8.0), (12.0, 16.0), (15.0, 6.0), (6.0, 12.0))
RAMPS = (0.0, 10.0, 30.0, 60.0)
AFTER = 120.0
TAIL = 120.0


def run(
    r0: float, r1: float, ramp: float, seed: int, diffusion: float
) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """One simulated leader: (its figures, the grid times from its start, the live rate)."""
    dur = AFTER + ramp + TAIL
    src = SimSource(
        "lead",
        rate_bpm=r0,
        to_bpm=r1,
        ramp_s=ramp,
        after_s=AFTER,
        seed=seed,
        fs_hz=25.0,
        duration_s=dur,
        diffusion=diffusion,
    )
    ch = src.generate_until(dur + 1.0)
    t, y = ch.t, ch.columns["resp"]
    true = np.unwrap(ch.columns["true_phase"])
    out = RespPipeline().process(t, y)
    rt = out.t - t[0]
    rate = out.rate_bpm
    after = rt >= AFTER
    res: dict[str, float] = {}
    for name, tol in (("s1", 1.0), ("s10", 0.1 * r1)):
        res[name] = settle(rt, rate, r1, tol, HOLD_S)
    sign = 1.0 if r1 > r0 else -1.0
    post = after & np.isfinite(rate)
    res["over"] = float(max(0.0, np.max(sign * (rate[post] - r1))))
    natural = np.array([src.rate_at(x) for x in rt])
    win = (rt >= AFTER) & (rt <= AFTER + ramp + 60.0) & np.isfinite(rate)
    res["track"] = float(np.mean(np.abs(rate[win] - natural[win])))
    pre = (rt >= AFTER - 60.0) & (rt < AFTER) & np.isfinite(rate)
    res["pre_rate"] = float(np.mean(np.abs(rate[pre] - r0)))
    tp = np.interp(out.t, t, true)
    err = np.degrees(np.abs(np.angle(np.exp(1j * (out.phase - tp)))))
    ok = np.isfinite(out.phase)
    res["ph_pre"] = float(np.mean(err[ok & (rt >= AFTER - 60.0) & (rt < AFTER)]))
    res["ph_post"] = float(np.mean(err[ok & (rt >= AFTER) & (rt <= AFTER + ramp + 60.0)]))
    res["cov_post"] = float(np.mean(ok[(rt >= AFTER) & (rt <= AFTER + ramp + 60.0)]))
    return res, rt, rate


HOLD_S = 15.0


def settle(rt: np.ndarray, rate: np.ndarray, r1: float, tol: float, hold: float | None) -> float:
    """Seconds from the change until the rate is within ``tol`` of ``r1`` and stays there for ``hold`` s
    (None: to the end); NaN (no rate) is outside. inf: never."""
    after = rt >= AFTER
    inb = np.abs(rate - r1) <= tol
    if hold is None:
        bad = after & ~inb
        if bad[-1]:
            return math.inf
        return 0.0 if not bad.any() else float(rt[np.flatnonzero(bad)[-1]] + 0.05 - AFTER)
    n = round(hold * 20.0)
    idx = np.flatnonzero(after)
    x = inb[idx].astype(int)
    c = np.concatenate(([0], np.cumsum(x)))
    runs = c[n:] - c[:-n]
    ok = np.flatnonzero(runs == n)
    return math.inf if ok.size == 0 else float(rt[idx[ok[0]]] - AFTER)


def fmt(x: float) -> str:
    return "miss" if math.isinf(x) else f"{x:.1f}"


def steps(seeds: list[int], diffusions: list[float]) -> None:
    for d in diffusions:
        print(f"\n## diffusion {d} rad^2/s, seeds {seeds[0]}-{seeds[-1]}")
        print(
            "change | ramp s | in 1/min for 15 s: median (max) | in 10% for 15 s: median (max) | "
            "seed-mean curve settled 1/min / 10% | its overshoot | overshoot per seed med | "
            "track MAE | pre-change rate MAE | phase MAE pre / post (cov)"
        )
        allrows = []
        for r0, r1 in PAIRS:
            for ramp in RAMPS:
                runs = [run(r0, r1, ramp, s, d) for s in seeds]
                rs = [r[0] for r in runs]
                n = min(r[2].size for r in runs)
                mean_curve = np.mean([r[2][:n] for r in runs], axis=0)
                rt = runs[0][1][:n]
                e1 = settle(rt, mean_curve, r1, 1.0, None)
                e10 = settle(rt, mean_curve, r1, 0.1 * r1, None)
                post = rt >= AFTER
                sign = 1.0 if r1 > r0 else -1.0
                eover = max(0.0, float(np.nanmax(sign * (mean_curve[post] - r1))))
                for r in rs:
                    r["e1"], r["e10"] = e1, e10
                allrows += rs
                g = {k: np.array([r[k] for r in rs]) for k in rs[0]}
                print(
                    f"{r0:g}->{r1:g} | {ramp:g} | {fmt(np.median(g['s1']))} ({fmt(g['s1'].max())}) | "
                    f"{fmt(np.median(g['s10']))} ({fmt(g['s10'].max())}) | {fmt(e1)} / {fmt(e10)} | "
                    f"{eover:.2f} | {np.median(g['over']):.2f} | {g['track'].mean():.2f} | "
                    f"{g['pre_rate'].mean():.2f} | "
                    f"{g['ph_pre'].mean():.1f} / {g['ph_post'].mean():.1f} ({g['cov_post'].mean():.2f})",
                    flush=True,
                )
        g = {k: np.array([r[k] for r in allrows]) for k in allrows[0]}

        def fin(x: np.ndarray) -> np.ndarray:
            return np.where(np.isinf(x), 999.0, x)

        print(
            f"ALL | in 1/min for 15 s: median {np.median(fin(g['s1'])):.1f} s, mean {np.mean(fin(g['s1'])):.1f}, "
            f"never {int(np.isinf(g['s1']).sum())}/{g['s1'].size}; 10%: median {np.median(fin(g['s10'])):.1f}; "
            f"seed-mean settled 1/min: mean {np.mean(fin(g['e1'])):.1f} 10% {np.mean(fin(g['e10'])):.1f}; "
            f"track {g['track'].mean():.2f}; pre-change rate MAE {g['pre_rate'].mean():.2f}; phase pre "
            f"{g['ph_pre'].mean():.2f} post {g['ph_post'].mean():.2f}"
        )


def steady(seeds: list[int], diffusions: list[float]) -> None:
    """Stationary simulated breathers: the live rate's error against the natural rate, from 60 s on."""
    print(
        "\n## steady simulated breathers (600 s, from 60 s): rate MAE vs natural, share > 1/min off, "
        "share > 2/min off"
    )
    for d in diffusions:
        for r in (6.0, 12.0, 16.0):
            m, f1, f2 = [], [], []
            for s in seeds:
                src = SimSource("steady", rate_bpm=r, seed=100 + s, fs_hz=25.0, duration_s=600.0, diffusion=d)
                ch = src.generate_until(601.0)
                out = RespPipeline().process(ch.t, ch.columns["resp"])
                sel = (out.t - ch.t[0] >= 60.0) & np.isfinite(out.rate_bpm)
                e = np.abs(out.rate_bpm[sel] - r)
                m.append(e.mean())
                f1.append(np.mean(e > 1.0))
                f2.append(np.mean(e > 2.0))
            print(f"D={d} {r:g}/min | {np.mean(m):.2f} | {100 * np.mean(f1):.1f}% | {100 * np.mean(f2):.1f}%")


def real() -> None:
    files = [
        SHARED_DATA / n for n in ("nk_rest5_100hz.csv", "biosppy_resp_1000hz.csv", "icu_v102s_250hz.csv")
    ]
    systole = REPO / "benchmarks" / ".data" / "systole_task1_resp_1000hz.csv"  # fetch_systole.py
    files += [systole] if systole.exists() else []
    print("\n## real recordings, scored from 40 s to 12 s before the end where the live phase is known")
    print(
        "recording | live vs centred 30 | live vs per breath | jitter |d rate| per min | "
        "share > 2/min from centred 30"
    )
    for f in files:
        rec = read_recording(str(f))
        t, y = rec.time, rec.columns["resp"]
        out = RespPipeline().process(t, y)
        ons = reference_onsets(t, y)
        sc = (out.t >= t[0] + 40.0) & (out.t <= t[-1] - REF_SETTLED_S) & (np.round(out.t * 4) == out.t * 4)
        have = sc & np.isfinite(out.phase) & np.isfinite(out.rate_bpm)
        r30 = reference_rate_windowed(ons, out.t, 30.0)
        rpb = reference_rate(ons, out.t)
        ok30 = have & np.isfinite(r30)
        okpb = have & np.isfinite(rpb)
        e30 = np.abs(out.rate_bpm[ok30] - r30[ok30])
        epb = np.abs(out.rate_bpm[okpb] - rpb[okpb])
        # jitter: total variation of the live rate per minute, on a 1-s grid where known
        g = sc & (np.round(out.t) == out.t)
        rr = out.rate_bpm[g]
        dd = np.abs(np.diff(rr))
        tv = float(np.nansum(dd) / (np.isfinite(dd).sum() / 60.0))
        print(
            f"{f.stem} | {e30.mean():.2f} | {epb.mean():.2f} | {tv:.2f} | {100 * np.mean(e30 > 2.0):.1f}%",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--diffusion", type=float, nargs="*", default=[0.05, 0.2])
    ap.add_argument("--real", action="store_true")
    ap.add_argument("--no-steps", action="store_true")
    ap.add_argument("--steady", action="store_true")
    a = ap.parse_args()
    seeds = list(range(1, a.seeds + 1))
    if not a.no_steps:
        steps(seeds, a.diffusion)
    if a.steady:
        steady(seeds, a.diffusion)
    if a.real:
        real()


if __name__ == "__main__":
    main()
