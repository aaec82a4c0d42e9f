"""Speed of ``analyze``: a one-hour two-person recording at 100 Hz, live and offline paths, side by side
with NeuroKit2's ``rsp_process`` on the same data.

    python benchmarks/bench_speed.py [--repeat N]

The recording is built from the real belt of nk_rest5_100hz.csv (or any CSV given with --source) tiled to
one hour; B is A delayed by 0.7 s plus noise. Both are written as project CSVs to a temporary folder, and
the timed step is exactly what ``breathsync analyze A.csv B.csv`` does: read both files, run the live and
the offline pipeline for each, pair synchrony with surrogates, and the JSON text. NeuroKit2 is timed on the
same two signals (``rsp_process`` at 100 Hz, which is offline only). Wall-clock, best of N runs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import default_belt_files, table

from breathsync.analysis import analyse_files
from breathsync.io.csvfile import read_recording, write_recording


def build(source: str, folder: Path) -> list[str]:
    rec = read_recording(source)
    fs = 100.0
    y = rec.columns["resp"]
    ty = rec.time - rec.time[0]
    grid = np.arange(0, ty[-1], 1 / fs)
    base = np.interp(grid, ty, y)
    reps = int(np.ceil(3600 * fs / base.size))
    a = np.tile(base, reps)[: int(3600 * fs)]
    t = np.arange(a.size) / fs
    rng = np.random.default_rng(0)
    b = np.interp(t - 0.7, t, a) + 0.01 * np.std(a) * rng.standard_normal(a.size)
    paths = []
    for label, sig in (("A", a), ("B", b)):
        p = folder / f"{label}.csv"
        write_recording(p, t, {"resp": sig}, {"participant": label, "sampling_rate_hz": "100"})
        paths.append(str(p))
    return paths


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--source", default=str(default_belt_files()[0]))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        paths = build(args.source, Path(d))
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            res = analyse_files(paths)
            json.dumps(res, allow_nan=False)
            best = min(best, time.perf_counter() - t0)
        rows = [["breathsync analyze (read, live + offline, sync, JSON)", f"{best:.2f}"]]
        try:
            import warnings

            import neurokit2 as nk

            sigs = [read_recording(p).columns["resp"] for p in paths]
            nk_best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    for s in sigs:
                        nk.rsp_process(s, sampling_rate=100)
                nk_best = min(nk_best, time.perf_counter() - t0)
            rows.append([f"NeuroKit2 {nk.__version__} rsp_process x2 (offline only)", f"{nk_best:.2f}"])
        except ImportError:
            rows.append(["NeuroKit2 not installed (pip install -e '.[bench]')", "-"])
    print("one hour, two people, 100 Hz; best of", args.repeat)
    print(table(rows, ["what", "seconds"]))


if __name__ == "__main__":
    main()
