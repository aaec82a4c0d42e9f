"""Dashboard drawing cost, offscreen: frames per second with 2 and with 8 participants, and the session's
snapshot rate with and without the dashboard drawing.

    python benchmarks/bench_dashboard.py [--seconds 10]

Participants are simulated breathers (100 Hz belts, 0.1-s chunks; one steady, the others following it) at
speed 1, so snapshots come as they would from wearables: each belt's chunks at its own moment within the
0.1 s (``--aligned``: all at once, as simulated sources on one clock deliver them, which the session
coalesces into 10 snapshots a second; which of the two a run got used to depend on chance). For each group
size, ``--seconds`` of wall time each:

1. no window: the session alone, snapshots per second (a subscriber that does nothing);
2. the dashboard as it runs (one 30 Hz redraw timer): frames drawn per second, snapshots per second, and the
   process's CPU time over wall time (share of one core, session thread included; the session thread's own
   share beside it);
3. drawing flat out (a redraw and a full repaint of the window after every event-loop pass): the frame rate
   the machine can sustain while the session runs, and the snapshot rate meanwhile.

Before measuring, 50 s of session time (speed 5) fill the trace buffers (45-s trace window). Not a test:
the figures go in the README.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import AsyncIterator
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import table
from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QApplication

from breathsync.live import ParticipantArg, build_session
from breathsync.session import Session, SessionConfig
from breathsync.ui.window import DashboardWindow


def participants(n: int) -> list[ParticipantArg]:
    out = [ParticipantArg("A", "sim:steady,rate=12,seed=1,fs=100")]
    for i in range(1, n):
        out.append(
            ParticipantArg(
                chr(65 + i), f"sim:follow,rate={11 + i % 4},coupling=1,seed={i + 1},partner=A,fs=100"
            )
        )
    return out


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def thread_cpu(ident: int | None) -> float:
    """CPU time of one thread (the session's), where the platform tells it (else NaN)."""
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(ident or 0))
    except (AttributeError, OSError):
        return float("nan")


def stagger(session: Session, aligned: bool) -> Session:
    """Each source's chunks delivered at its own moment within its 0.1-s chunk (belt i of n: i/n of the way),
    as wearables deliver them; simulated sources on one clock otherwise deliver theirs all at once."""
    if aligned:
        return session
    parts = session._parts  # a benchmark's peek: the sources as the session reads them
    for i, p in enumerate(parts):
        src = p.source
        delay = 0.1 * i / len(parts)

        def delayed(inner: Any = src.stream, delay: float = delay) -> AsyncIterator[Any]:
            async def gen() -> AsyncIterator[Any]:
                async for chunk in inner():
                    await asyncio.sleep(delay)
                    yield chunk

            return gen()

        src.stream = delayed  # type: ignore[method-assign]
    return session


def measure(
    app: QApplication, settings: QSettings, n: int, seconds: float, aligned: bool = False
) -> dict[str, float]:
    parts = participants(n)
    res: dict[str, float] = {}
    # 1. The session alone, through the same runner the dashboard uses, with no window.
    w = DashboardWindow(settings, participants=parts, speed=1.0, config=SessionConfig(phase="free"))
    w.timer.stop()
    w.runner.snapshot.disconnect()
    count = [0]
    w.runner.snapshot.connect(lambda _s: count.__setitem__(0, count[0] + 1))
    w.start_session(stagger(build_session(parts, speed=1.0, config=SessionConfig(phase="free")), aligned))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.005)
    res["snap_alone"] = count[0] / (time.perf_counter() - t0)
    w.stop_session()
    w.runner.wait(10)
    app.processEvents()
    w.deleteLater()
    app.processEvents()

    # 2. and 3. The dashboard, shown.
    w = DashboardWindow(settings, participants=parts, speed=5.0, config=SessionConfig(phase="free"))
    w.show()
    w.start_session(build_session(parts, speed=5.0, config=SessionConfig(phase="free")))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 10.0:  # fill the buffers: 50 s of session time
        app.processEvents()
        time.sleep(0.005)
    w.stop_session()
    w.runner.wait(10)
    app.processEvents()
    # The traces scroll only once a whole trace window (45 s) has passed; before, they grow from session time
    # 0 on a fixed axis, which is cheaper to draw: measure the scrolling dashboard, its window filled first.
    w.start_session(stagger(build_session(parts, speed=1.0, config=SessionConfig(phase="free")), aligned))
    snaps = [0]
    w.runner.snapshot.connect(lambda _s: snaps.__setitem__(0, snaps[0] + 1))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < w.span.value() + 1.0:
        app.processEvents()
        time.sleep(0.005)
    session_thread = w.runner._thread.ident if w.runner._thread is not None else None
    f0, s0, c0, t0 = w.frames, snaps[0], cpu(), time.perf_counter()
    q0 = thread_cpu(session_thread)
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.002)
    dt = time.perf_counter() - t0
    res["fps_timer"] = (w.frames - f0) / dt
    res["snap_timer"] = (snaps[0] - s0) / dt
    res["cpu_timer"] = (cpu() - c0) / dt
    res["cpu_session"] = (thread_cpu(session_thread) - q0) / dt
    w.timer.stop()
    f0, s0, t0 = w.frames, snaps[0], time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        w._dirty = True
        w.redraw()
        w.repaint()
        app.processEvents()
    dt = time.perf_counter() - t0
    res["fps_max"] = (w.frames - f0) / dt
    res["snap_max"] = (snaps[0] - s0) / dt
    w.stop_session()
    w.runner.wait(10)
    app.processEvents()
    w.close()
    w.deleteLater()
    app.processEvents()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="wall seconds per measurement")
    ap.add_argument("--aligned", action="store_true", help="every belt's chunks at the same moment")
    ap.add_argument("--participants", type=int, nargs="+", default=[2, 8], help="group sizes (2-8)")
    args = ap.parse_args()
    app = QApplication([])
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(os.path.join(tmp, "bench.ini"), QSettings.Format.IniFormat)
        rows = []
        for n in args.participants:
            r = measure(app, settings, n, args.seconds, args.aligned)
            rows.append(
                [
                    str(n),
                    f"{r['fps_max']:.0f}",
                    f"{r['fps_timer']:.1f}",
                    f"{100 * r['cpu_timer']:.0f}%",
                    f"{100 * r['cpu_session']:.1f}%",
                    f"{r['snap_alone']:.1f}",
                    f"{r['snap_timer']:.1f}",
                    f"{r['snap_max']:.1f}",
                ]
            )
    print(
        table(
            rows,
            [
                "participants",
                "max fps (flat out)",
                "fps (30 Hz timer)",
                "CPU (timer)",
                "of it the session thread",
                "snapshots/s alone",
                "snapshots/s, timer",
                "snapshots/s, flat out",
            ],
        )
    )


if __name__ == "__main__":
    main()
