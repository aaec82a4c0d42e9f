"""How far a heart-rate strap's lost notifications move the beat times the RR-derived breathing is built on.

    python benchmarks/bench_rr_clock.py [--seeds 12] [--seconds 900]

A simulated strap: a heart whose RR interval is modulated by breathing (sine RSA at 6-20 breaths/min, plus a
slow wander of the mean), 50-100 beats/min, beat times quantised to 1/1024 s on the strap's clock; a
notification every second carrying the RR intervals of the beats since the one before, reaching the host
10-80 ms after it was sent (5% of them 100-300 ms more), and a share of them lost (0, 0.5, 2, 5%). The host
side is what breathsync's BLE source does with a heart-rate strap's RR intervals: the device clock
(:class:`breathsync.dsp.clock.BeatClock`) turns them into beat times, and the live RR pipeline
(:class:`breathsync.dsp.rr.RRRespiration`) rebuilds the beat times its breathing waveform is built on. Scored
after the first 60 s: |rebuilt - true beat time|, mean, 95th percentile and the share over 0.15 s, for the
BeatClock's times (what reaches the RR pipeline) and for the RR pipeline's own. Run it on an older tree
(``PYTHONPATH=OLD_TREE``) for the figures before a change.
"""

from __future__ import annotations

import argparse

import numpy as np

from breathsync.dsp.clock import BeatClock
from breathsync.dsp.rr import RRRespiration

LOSSES = (0.0, 0.005, 0.02, 0.05)
SCORED_FROM_S = 60.0


def true_beats(
    rng: np.random.Generator, dur: float, hr_bpm: float, br_bpm: float, rsa_ms: float
) -> np.ndarray:
    """Beat times (s) of a heart whose RR shortens on inhale, with a slow wander of its mean (4%, 30 s)."""
    rr0, f, ph0 = 60000.0 / hr_bpm, br_bpm / 60.0, rng.uniform(0, 2 * np.pi)
    t, out, wander = rng.uniform(0.3, 1.0), [], 0.0
    while t < dur:
        wander += -wander * (rr0 / 1000) / 30.0 + 0.04 * rr0 * np.sqrt(2 * (rr0 / 1000) / 30.0) * rng.normal()
        rr = rr0 + wander - rsa_ms * np.sin(2 * np.pi * f * (t + rr0 / 2000.0) + ph0) + rng.normal(0, 8)
        t += rr / 1000.0
        out.append(t)
    return np.asarray(out)


def notifications(
    rng: np.random.Generator, beats: np.ndarray, loss: float
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """(host arrival, RR ms, true beat times) of each notification that arrived."""
    q = np.round(beats * 1024.0)
    rr = np.diff(q) / 1024.0 * 1000.0
    tb = beats[1:]
    sends = np.arange(1.0, tb[-1] + 1.0, 1.0) + rng.uniform(0, 1.0)
    idx = np.searchsorted(tb, sends, side="right")
    out, prev, last = [], 0, -np.inf
    for k, send in enumerate(sends):
        lat = rng.uniform(0.010, 0.080) + (rng.uniform(0.1, 0.3) if rng.random() < 0.05 else 0.0)
        arrival = max(send + lat, last + 0.0075)
        last = arrival
        i = idx[k]
        rrs, trs = rr[prev:i], tb[prev:i]
        prev = i
        if rng.random() >= loss and rrs.size:
            out.append((arrival, rrs, trs))
    return out


def run(seed: int, loss: float, dur: float) -> tuple[np.ndarray, np.ndarray]:
    """Beat-time errors (s) after SCORED_FROM_S: of the BeatClock's times, and of the RR pipeline's."""
    rng = np.random.default_rng(seed)
    hr, br = rng.uniform(50, 100), rng.uniform(6, 20)
    rsa = rng.uniform(30, 80) * (1.5 if br < 9 else 1.0)
    clock, live = BeatClock(), RRRespiration()
    e_in, e_rr, last = [], [], -np.inf
    for arrival, rrs, trs in notifications(rng, true_beats(rng, dur, hr, br, rsa), loss):
        t = clock.update(rrs, arrival)
        keep = np.isfinite(t) & (t > last) & (t >= 0)  # as the BLE source passes them on
        if not keep.any():
            continue
        last = float(t[keep][-1])
        for tk, rk, true in zip(t[keep], rrs[keep], trs[keep], strict=True):
            live.process(np.array([tk]), np.array([rk]))
            rebuilt = live._clock.t if hasattr(live, "_clock") else live._beat_t  # (before: _beat_t)
            if true > SCORED_FROM_S:
                e_in.append(tk - true)
                e_rr.append(rebuilt - true)
    return np.asarray(e_in), np.asarray(e_rr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=900.0)
    args = ap.parse_args()
    print(f"{args.seeds} seeds x {args.seconds:g} s; |beat time error| after {SCORED_FROM_S:g} s")
    print("lost      BeatClock: mean / p95 / >0.15 s     RR pipeline: mean / p95 / >0.15 s")
    for loss in LOSSES:
        runs = [run(s, loss, args.seconds) for s in range(args.seeds)]
        cells = []
        for i in (0, 1):
            e = np.abs(np.concatenate([r[i] for r in runs]))
            cells.append(f"{e.mean():.3f} s / {np.percentile(e, 95):.3f} s / {100 * np.mean(e > 0.15):4.1f}%")
        print(f"{100 * loss:4.1f}%     {cells[0]}     {cells[1]}", flush=True)


if __name__ == "__main__":
    main()
