"""Time and peak memory of ``read_recording`` on long recordings, each read in a fresh Python process.

    python benchmarks/bench_read.py [--hours H] [--repeat N] [--against DIR ...] [--analyze]

Three files are written to a temporary folder: one hour of ``time,resp`` at 100 Hz and at 1 kHz
(``np.savetxt``, ``%.3f,%.5f``) and one hour of ``time,acc_x,acc_y,acc_z`` at 200 Hz (integer milli-G,
as a chest strap sends them). Each is read by a fresh interpreter that reports the wall time of the call
and its peak resident memory (``VmHWM`` on Linux, else ``ru_maxrss``); the peak of an interpreter that
only imports the reader is subtracted, so "peak MB" is what reading costs. "x output" is that peak over
the size of the arrays returned (float64 time and columns); "B/row" is it per data row. Time is the best
of N runs, memory the largest.

``--analyze`` measures instead what ``breathsync analyze A.csv B.csv --json out.json`` costs on two people's
recordings of H hours at 1 kHz (two seeded breathers at different rates, ``%.3f,%.5f``): the wall time of
the command and the peak resident memory of its whole process (not less the import: it is what the
machine must have), each command in a fresh interpreter.

``--against DIR`` measures the reader of another checkout too (its ``breathsync`` package is imported
from DIR), e.g. the code before a change::

    git worktree add /tmp/wt_old HEAD~1
    python benchmarks/bench_read.py --against /tmp/wt_old
    git worktree remove /tmp/wt_old
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import REPO, table

# The end of each child's script: its own peak resident memory added to ``out``, which is printed as JSON.
REPORT_PEAK = r"""
try:  # Linux: this process's own peak (ru_maxrss can carry the parent's over the exec)
    with open("/proc/self/status") as fh:
        peak = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak *= 1 if sys.platform == "darwin" else 1024
out["peak_bytes"] = peak
print(json.dumps(out))
"""

# Run in a fresh interpreter: read one file (or none: the import baseline) and report.
CHILD = (
    r"""
import json, resource, sys, time
from breathsync.io import csvfile
out = {"module": csvfile.__file__}
if sys.argv[1]:
    t0 = time.perf_counter()
    rec = csvfile.read_recording(sys.argv[1])
    out["seconds"] = time.perf_counter() - t0
    out["rows"] = len(rec)
    out["output_bytes"] = rec.time.nbytes + sum(c.nbytes for c in rec.columns.values())
"""
    + REPORT_PEAK
)

# Run in a fresh interpreter: the analyze command on the files given, then its wall time and its peak.
CHILD_ANALYZE = (
    r"""
import json, resource, sys, time
from breathsync import cli
t0 = time.perf_counter()
rc = cli.main(["analyze", *sys.argv[1:]])
out = {"module": cli.__file__, "rc": rc, "seconds": time.perf_counter() - t0}
"""
    + REPORT_PEAK
)


def write_pair(folder: Path, hours: float) -> list[Path]:
    """Two people's belts at 1 kHz: different rates, phases and noise (not copies of each other)."""
    fs = 1000
    t = np.arange(int(hours * 3600 * fs)) / fs
    paths = []
    for who, bpm, seed in (("A", 14.0, 1), ("B", 16.5, 2)):
        rng = np.random.default_rng(seed)
        resp = np.sin(2 * np.pi * bpm / 60 * t + rng.uniform(0, 2 * np.pi)) + 0.05 * rng.standard_normal(
            t.size
        )
        path = folder / f"{who}.csv"
        header = f"# participant: {who}\n# sampling_rate_hz: {fs}\ntime,resp"
        np.savetxt(path, np.column_stack([t, resp]), fmt="%.3f,%.5f", header=header, comments="")
        paths.append(path)
    return paths


def analyze_rows(codes: list[Path], hours: float, repeat: int) -> list[list[str]]:
    rows = []
    with tempfile.TemporaryDirectory() as d:
        paths = write_pair(Path(d), hours)
        out = Path(d) / "out.json"
        for code in codes:
            env = dict(os.environ, PYTHONPATH=str(code))
            runs = []
            for _ in range(repeat):
                proc = subprocess.run(
                    [sys.executable, "-c", CHILD_ANALYZE, *map(str, paths), "--json", str(out)],
                    env=env,
                    cwd=tempfile.gettempdir(),
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                if runs[-1]["rc"] != 0:
                    raise SystemExit(f"analyze exited {runs[-1]['rc']}: {proc.stderr.strip()}")
            rows.append(
                [
                    " ".join(p.name for p in paths),
                    f"{sum(p.stat().st_size for p in paths) / 1e6:.0f}",
                    str(Path(str(runs[0]["module"])).parents[1]),
                    f"{min(float(r['seconds']) for r in runs):.1f}",
                    f"{max(float(r['peak_bytes']) for r in runs) / 1e9:.2f}",
                ]
            )
    return rows


def write_files(folder: Path, hours: float) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for fs in (100, 1000):
        t = np.arange(int(hours * 3600 * fs)) / fs
        resp = np.sin(2 * np.pi * 0.25 * t) + 0.05 * rng.standard_normal(t.size)
        path = folder / f"resp_{fs}hz.csv"
        header = f"# participant: A\n# sampling_rate_hz: {fs}\ntime,resp"
        np.savetxt(path, np.column_stack([t, resp]), fmt="%.3f,%.5f", header=header, comments="")
        paths.append(path)
    fs = 200
    t = np.arange(int(hours * 3600 * fs)) / fs
    acc = np.round(1000 * rng.standard_normal((t.size, 3)) + [0, 0, 1000])
    path = folder / f"acc_{fs}hz.csv"
    header = f"# participant: A\n# sampling_rate_hz: {fs}\ntime,acc_x,acc_y,acc_z"
    np.savetxt(path, np.column_stack([t, acc]), fmt="%.3f,%d,%d,%d", header=header, comments="")
    paths.append(path)
    return paths


def run_child(code: Path, path: Path | None) -> dict[str, float | str]:
    env = dict(os.environ, PYTHONPATH=str(code))
    # Run outside the repository, so that the current folder does not shadow PYTHONPATH.
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path or "")],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float | str] = json.loads(proc.stdout)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, default=1.0, help="length of each recording (default 1)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per file and reader (default 3)")
    ap.add_argument(
        "--against",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="another checkout to measure too",
    )
    ap.add_argument(
        "--analyze", action="store_true", help="measure `breathsync analyze` of two people's 1-kHz recordings"
    )
    args = ap.parse_args()
    codes = [REPO, *(p.resolve() for p in args.against)]
    if args.analyze:
        rows = analyze_rows(codes, args.hours, args.repeat)
        print(
            f"breathsync analyze A.csv B.csv --json, {args.hours:g} h at 1 kHz each; time best of {args.repeat}"
        )
        print(table(rows, ["files", "MB", "breathsync from", "seconds", "peak resident GB"]))
        return
    rows = []
    with tempfile.TemporaryDirectory() as d:
        paths = write_files(Path(d), args.hours)
        for code in codes:
            base = max(float(run_child(code, None)["peak_bytes"]) for _ in range(args.repeat))
            for path in paths:
                runs = [run_child(code, path) for _ in range(args.repeat)]
                seconds = min(float(r["seconds"]) for r in runs)
                peak = max(float(r["peak_bytes"]) for r in runs) - base
                n = int(runs[0]["rows"])
                output = float(runs[0]["output_bytes"])
                rows.append(
                    [
                        path.name,
                        f"{n:,}",
                        f"{path.stat().st_size / 1e6:.1f}",
                        str(Path(str(runs[0]["module"])).parents[2]),
                        f"{seconds:.2f}",
                        f"{peak / 1e6:.0f}",
                        f"{peak / output:.1f}",
                        f"{peak / n:.0f}",
                    ]
                )
    print(f"read_recording, {args.hours:g} h per file; time best of {args.repeat}, peak above the import")
    print(
        table(rows, ["file", "rows", "file MB", "breathsync from", "seconds", "peak MB", "x output", "B/row"])
    )


if __name__ == "__main__":
    main()
