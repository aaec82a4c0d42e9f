"""Device layer figures: time-base mapping error under drift, offset and jitter; decode cost per notification.

    python benchmarks/bench_devices.py [--seeds 10] [--calls 20000]

1. Mapping (breathsync.dsp.clock.ClockMapper): a Polar-like stream (a 36-sample ACC frame every 0.72 s,
   device clock counting from 7e8 s, 20 ppm drift, 0.6 s offset) delivered with random delays; each frame's
   samples are mapped with the estimate available when the frame arrives (causal). Error = max |mapped -
   true host time| over the frames arriving within 5 s of 10 s, 60 s and 10 min; median and worst over the
   seeds. For comparison, a least-squares line through all arrivals so far. Jitter models (all in seconds):
   exponential mean 30 ms; gamma(3, 12 ms) + a fixed 7.5 ms floor (a connection interval: the floor is not
   observable and passes straight into the error); exponential mean 80 ms; each with stalls (2% of
   notifications start a 100-300 ms stall that holds back the ones behind it).
2. Beat times (breathsync.dsp.clock.BeatClock): a strap notifying once a second with the RR intervals since
   its last notification, exponential 30 ms jitter with stalls; error of the beat times.
3. Decode cost: the stream decoder of each device on a typical notification, median and 99th percentile
   per call, alone and with the clock mapping of its samples.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import table

from breathsync.dsp.clock import BeatClock, ClockMapper
from devices import get_profile
from devices.gdx import encode_measurement, split_chunks
from devices.heart_rate import encode_hrm
from devices.polar_pmd import ACC, ECG, encode_frame

DRIFT = 20e-6
OFFSET = 0.6
T0 = 7.0e8
FRAME_S = 0.72


def delays(rng: np.random.Generator, n: int, model: str, period_s: float = FRAME_S) -> np.ndarray:
    if model == "exp 30 ms":
        d = rng.exponential(0.03, n)
    elif model == "gamma + 7.5 ms floor":
        d = rng.gamma(3.0, 0.012, n) + 0.0075
    elif model == "exp 80 ms":
        d = rng.exponential(0.08, n)
    else:
        raise ValueError(model)
    i = 0
    while i < n:
        if rng.random() < 0.02:
            stall = rng.uniform(0.1, 0.3)
            k = i
            while k < n and (k - i) * period_s < stall:
                d[k] = max(d[k], stall - (k - i) * period_s)
                k += 1
            i = k
        else:
            i += 1
    return d


def mapping_errors(
    model: str, seed: int, duration_s: float = 620.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = T0 + np.arange(FRAME_S, duration_s, FRAME_S)
    true = OFFSET + (1 + DRIFT) * (x - T0)
    arr = true + delays(rng, x.size, model)
    m = ClockMapper()
    k = np.arange(36)
    err = np.empty(x.size)
    err_ls = np.full(x.size, np.nan)
    for i in range(x.size):
        m.update(x[i], arr[i])
        samples = x[i] - k / 50.0
        truth = true[i] - (1 + DRIFT) * k / 50.0
        err[i] = np.max(np.abs(m.to_host(samples) - truth))
        if i >= 1:
            b, a = np.polyfit(x[: i + 1] - T0, arr[: i + 1], 1)
            err_ls[i] = np.max(np.abs(a + b * (samples - T0) - truth))
    return x - T0, err, err_ls


def beat_errors(seed: int, duration_s: float = 620.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(duration_s / 0.6)
    rr = 0.85 + 0.06 * np.sin(2 * np.pi * 0.25 * np.arange(n) * 0.85) + 0.02 * rng.standard_normal(n)
    t_b = np.cumsum(rr)
    t_note = np.arange(1.0 + rng.uniform(0, 1), t_b[-1], 1.0)
    d = delays(rng, t_note.size, "exp 30 ms", 1.0)
    bc = BeatClock()
    last = 0
    ts, errs = [], []
    for k, tn in enumerate(t_note):
        j = int(np.searchsorted(t_b, tn, side="right"))
        idx = np.arange(last, j)
        last = j
        if idx.size == 0:
            continue
        host = OFFSET + (1 + DRIFT) * tn + d[k]
        got = bc.update(np.round(rr[idx] * 1024) / 1024 * 1000, host)
        ts.append(host)
        errs.append(np.max(np.abs(got - (OFFSET + (1 + DRIFT) * t_b[idx]))))
    return np.asarray(ts), np.asarray(errs)


def at(t: np.ndarray, err: np.ndarray, when: float) -> float:
    sel = np.abs(t - when) <= 5.0
    return float(np.nanmax(err[sel])) * 1000


def bench_mapping(seeds: int) -> None:
    rows = []
    for model in ("exp 30 ms", "gamma + 7.5 ms floor", "exp 80 ms"):
        res = {w: [] for w in (10.0, 60.0, 600.0)}
        res_ls = {w: [] for w in (10.0, 60.0, 600.0)}
        for seed in range(seeds):
            t, e, els = mapping_errors(model, seed)
            for w in res:
                res[w].append(at(t, e, w))
                res_ls[w].append(at(t, els, w))
        rows.append(
            [model + " + stalls"]
            + [f"{np.median(res[w]):.1f} / {max(res[w]):.1f}" for w in res]
            + [f"{np.median(res_ls[w]):.1f}" for w in (60.0, 600.0)]
        )
    print(
        f"Device-time -> host-time mapping error, ms (median / worst of {seeds} seeds); 20 ppm, 0.6 s offset"
    )
    print(table(rows, ["jitter", "at 10 s", "at 60 s", "at 10 min", "least-sq 60 s", "least-sq 10 min"]))
    rows = []
    res = {w: [] for w in (10.0, 60.0, 600.0)}
    for seed in range(seeds):
        t, e = beat_errors(seed)
        for w in res:
            res[w].append(at(t, e, w))
    rows.append(
        ["1 Hz strap, exp 30 ms + stalls"] + [f"{np.median(res[w]):.1f} / {max(res[w]):.1f}" for w in res]
    )
    print()
    print("Beat times from RR sums and arrivals (BeatClock), ms (median / worst)")
    print(table(rows, ["strap", "at 10 s", "at 60 s", "at 10 min"]))


def bench_decode(calls: int) -> None:
    rng = np.random.default_rng(0)
    acc = np.cumsum(rng.integers(-20, 20, size=(36, 3)), axis=0) + np.array([0, 0, 1000])
    ecg = rng.integers(-2000, 2000, size=73)
    gdx = encode_measurement(np.array([[1.5, 14.0]]), [1, 2])
    cases = [
        ("heart-rate", "hrm", [encode_hrm(62, [968.0, 1002.0])], None),
        ("polar-h10", "acc", [encode_frame(ACC, 10**12, acc)], 36),
        ("polar-h10", "acc", [encode_frame(ACC, 10**12, acc, compressed=True, block=12)], 36),
        ("polar-h10", "ecg", [encode_frame(ECG, 10**12, ecg)], 73),
        ("gdx-rb", "measurement", split_chunks(gdx), 1),
    ]
    rows = []
    for dev, stream, chunks, _ in cases:
        dec = get_profile(dev).stream(stream).decoder()
        mapper = ClockMapper()
        beats = BeatClock()
        t_dec = np.empty(calls)
        t_all = np.empty(calls)
        for i in range(calls):
            t0 = time.perf_counter_ns()
            out = [d for c in chunks for d in dec.feed(c)]
            t1 = time.perf_counter_ns()
            for d in out:
                if d.device_t_s is not None:
                    mapper.update(d.device_t_s[-1] + i, 0.6 + i)  # a new arrival each call
                    mapper.to_host(d.device_t_s + i)
                elif "rr_ms" in d.columns:
                    beats.update(d.columns["rr_ms"], 0.6 + i)
            t2 = time.perf_counter_ns()
            t_dec[i] = (t1 - t0) / 1e3
            t_all[i] = (t2 - t0) / 1e3
        nbytes = sum(len(c) for c in chunks)
        label = f"{dev} {stream}" + (" (delta)" if chunks[0][9:10] == b"\x81" and dev == "polar-h10" else "")
        rows.append(
            [
                label,
                f"{nbytes} B in {len(chunks)}",
                f"{np.median(t_dec):.1f}",
                f"{np.percentile(t_dec, 99):.1f}",
                f"{np.median(t_all):.1f}",
                f"{np.percentile(t_all, 99):.1f}",
            ]
        )
    print()
    print(f"Decode cost per notification, microseconds ({calls} calls)")
    print(table(rows, ["stream", "bytes", "decode median", "decode p99", "+clock median", "+clock p99"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--calls", type=int, default=20000)
    a = ap.parse_args()
    bench_mapping(a.seeds)
    bench_decode(a.calls)


if __name__ == "__main__":
    main()
