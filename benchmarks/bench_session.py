"""Cost of a live session: CPU, latency from a chunk's arrival to the snapshot that includes it, and memory
over a long run.

    python benchmarks/bench_session.py [--seconds 30] [--long-hours 2]

1. Eight participants, each a 100 Hz belt signal delivered in 0.1-s chunks (an in-memory source paced by the
   real clock, speed 1, as a wearable would deliver it), for ``--seconds`` of wall time: the process's CPU
   time over wall time (share of one core, which includes the sources' own pacing), snapshots per second,
   and the arrival -> published-snapshot latency (median, 99th percentile). Nothing draws.
2. A two-hour session of two simulated breathers (a steady one and a follower) at speed 300: resident memory
   after 15 min, half way and at the end of the session time; bounded buffers mean no growth.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

import numpy as np
from _common import table

from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.session_types import Snapshot
from breathsync.sources.base import PhaseProbe, SessionClock
from breathsync.sources.memory import MemorySource
from breathsync.sources.sim import SimSource
from breathsync.synth import simulate_group


def eight_people(seconds: float) -> list[list[str]]:
    dur = seconds + 5
    rates = [12, 13, 14, 15, 12.5, 13.5, 14.5, 16]
    g = simulate_group(dur, fs_hz=100.0, rates_bpm=rates, seed=0)
    specs = [
        ParticipantSpec(chr(65 + i), MemorySource(g.t, {"resp": g.resp[i]}, name=f"p{i}"))
        for i in range(len(rates))
    ]
    session = Session(specs, SessionClock(1.0), SessionConfig())
    t0, c0 = time.perf_counter(), time.process_time()
    asyncio.run(session.run(seconds))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    lat = np.array(session.stats.latencies_s) * 1000
    return [
        ["participants", "8 x 100 Hz, 0.1-s chunks, 28 pairs + group order"],
        ["wall time", f"{wall:.1f} s"],
        ["CPU (share of one core)", f"{100 * cpu / wall:.1f}%"],
        ["snapshots per second", f"{session.stats.snapshots / wall:.1f}"],
        ["chunk -> snapshot latency, median", f"{np.median(lat):.1f} ms"],
        ["chunk -> snapshot latency, 99th percentile", f"{np.percentile(lat, 99):.1f} ms"],
    ]


def _rss_mb() -> float:
    """Current resident memory (Linux /proc; elsewhere the peak)."""
    try:
        with open("/proc/self/statm", encoding="utf-8") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Memory:
    def __init__(self, marks: list[float]) -> None:
        self.marks = list(marks)
        self.rows: list[tuple[float, float, float]] = []

    def open(self, info: object) -> None: ...

    def on_chunk(self, label: str, chunk: object) -> None: ...

    def on_snapshot(self, snap: Snapshot) -> None:
        if self.marks and snap.t_s >= self.marks[0]:
            self.marks.pop(0)
            self.rows.append((snap.t_s, _rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))

    def close(self, info: object) -> None: ...


def long_run(hours: float) -> list[list[str]]:
    dur = hours * 3600
    probes = {"A": PhaseProbe(), "B": PhaseProbe()}
    a = SimSource(mode="steady", rate_bpm=12.0, seed=1)
    b = SimSource(mode="follow", rate_bpm=13.0, coupling=0.5, seed=2, probe=probes["A"])
    session = Session(
        [ParticipantSpec("A", a), ParticipantSpec("B", b)],
        SessionClock(300.0),
        SessionConfig(),
        probes=probes,
    )
    mem = _Memory([900.0, dur / 2, dur - 60])
    session.add_sink(mem)
    t0 = time.perf_counter()
    asyncio.run(session.run(dur))
    wall = time.perf_counter() - t0
    rows = [[f"{t / 60:.0f} min", f"{rss:.1f} MB", f"{peak:.1f} MB"] for t, rss, peak in mem.rows]
    rows.append(["(wall time)", f"{wall:.0f} s", ""])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--long-hours", type=float, default=2.0)
    args = ap.parse_args()
    print("1. Eight participants, real time")
    print(table(eight_people(args.seconds), ["what", "value"]))
    print(f"\n2. {args.long_hours:g} h of two simulated breathers at speed 300: memory")
    print(table(long_run(args.long_hours), ["session time", "resident memory", "peak resident memory"]))


if __name__ == "__main__":
    main()
