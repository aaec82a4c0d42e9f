"""A start that fails or is interrupted leaves nothing behind: no reconnection, no strap left measuring.

Through bleak's real BlueZ backend against the fake BlueZ, with a Polar H10 whose control point replies come
late (the audit's case). Before: a link lost during the start started a reconnection that brought the
participant back as "streaming" after the session had marked it failed (its samples went into a queue nobody
read, exit code 0); the start said "no reply to stop ACC" although the link was what went; and a start
interrupted after its start command (Ctrl-C, a reply that never came) disconnected without stopping the
strap's accelerometer, on the first connection and on every reconnection.
"""

from __future__ import annotations

import asyncio
import csv
import json
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import posix_only
from fakebluez import FakeBlueZ, FakePolarH10, private_bus, wait_for
from streaming import until

import breathsync.sources.ble as ble
from breathsync.cli import main
from breathsync.session import ParticipantSpec, Session
from breathsync.session_types import Event, Snapshot
from breathsync.sources.base import SampleChunk, SessionClock, Source, SourceError, SourceStatus
from breathsync.sources.ble import BleSource
from breathsync.sources.sim import parse_sim_spec

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")

START_ACC, STOP_ACC = 0x02, 0x03


def _connections(events: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    """The device's event log cut into connections (each from its connect to its disconnect)."""
    out: list[list[tuple[Any, ...]]] = []
    for e in events:
        if e[0] == "connect":
            out.append([])
        if out:
            out[-1].append(e)
    return out


def _pmd_ops(conn: list[tuple[Any, ...]], h10: FakePolarH10) -> list[int]:
    """The PMD op codes written on one connection, in order."""
    return [e[2][0] for e in conn if e[0] == "write" and e[1] == h10.control_uuid]


def _stopped_after_start(conn: list[tuple[Any, ...]], h10: FakePolarH10) -> bool:
    """On a connection that wrote a start command: a stop command came after it, before the disconnect."""
    ops = _pmd_ops(conn, h10)
    if START_ACC not in ops:
        return True
    return STOP_ACC in ops[ops.index(START_ACC) :]


def test_a_link_lost_during_start_fails_the_start_saying_so_and_nothing_reconnects() -> None:
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        h10.reply_delay_s = 1.0  # the start waits for each reply: the link goes while it waits

        async def main_() -> tuple[str, BleSource]:
            clock = SessionClock()
            clock.start()
            src = BleSource("Polar H10", timeout_s=5)
            start = asyncio.create_task(src.start(clock))
            assert await until(lambda: bool(h10.commands), 10.0, step_s=0.02)  # the first command is written
            await asyncio.to_thread(bz.drop_link, h10)
            with pytest.raises(SourceError) as e:
                await start
            await asyncio.to_thread(bz.set_reachable, h10)  # back in range: nothing may connect to it now
            await asyncio.sleep(1.5)  # more than the first backoff waits (0.25 s, 0.5 s)
            status = src.status
            await src.stop()
            assert status is not SourceStatus.STREAMING
            return str(e.value), src

        text, src = asyncio.run(main_())
        assert h10.connects == 1 and not h10.connected
    assert text.startswith("ble:Polar H10: the link was lost during start (stop ACC)"), text
    assert "no reply" not in text and "\n" not in text
    assert src._reconnect_task is None and src.connections == 0


class _FailsThenComesBack(Source):
    """A source whose start fails but leaves something running that would bring it back to "streaming" and
    send samples (as a BLE source's reconnection did), unless it is stopped."""

    def __init__(self) -> None:
        super().__init__()
        self.stopped = False
        self.came_back = False
        self._queue: asyncio.Queue[SampleChunk | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self, clock: SessionClock) -> None:
        async def come_back() -> None:
            await asyncio.sleep(0.5)
            self.came_back = True
            self.set_status(SourceStatus.STREAMING, "reconnected")
            t = clock.now() + np.arange(10) * 0.02
            self._queue.put_nowait(SampleChunk(t, {"resp": np.sin(t)}))

        self._task = asyncio.create_task(come_back())
        raise SourceError("fake: the start failed")

    async def stream(self) -> AsyncIterator[SampleChunk]:
        while (chunk := await self._queue.get()) is not None:
            yield chunk

    async def stop(self) -> None:
        self.stopped = True
        if self._task is not None:
            self._task.cancel()
        self._queue.put_nowait(None)


class _Events:
    """A sink keeping the events of every snapshot."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def open(self, info: Any) -> None: ...

    def on_chunk(self, label: str, chunk: SampleChunk) -> None: ...

    def on_snapshot(self, snap: Snapshot) -> None:
        self.events.extend(snap.events)

    def close(self, info: Any) -> None: ...


def test_the_session_stops_a_source_whose_start_failed() -> None:
    failing = _FailsThenComesBack()
    # Two partners: the session goes on after A's failed start (a pair would end then, see
    # tests/test_session_start_failure.py), long enough for what A's start left running to come back.
    partners = [
        ParticipantSpec(label, parse_sim_spec(f"steady,seed={i}"), simulated=True)
        for i, label in enumerate(("B", "C"), 1)
    ]
    session = Session([ParticipantSpec("A", failing), *partners], SessionClock())
    sink = _Events()
    session.add_sink(sink)
    final = asyncio.run(session.run(duration_s=2.0))
    a = next(p for p in final.participants if p.label == "A")
    assert a.source_status == "failed" and a.status_reason == "fake: the start failed"
    # Stopped at its failure: what it left running never brought it back (before, it read "streaming" at the
    # end, with a source_back event and samples nobody asked for).
    assert failing.stopped and not failing.came_back
    kinds = [e.kind for e in sink.events if "A" in e.participants]
    assert "source_failed" in kinds and "source_back" not in kinds, kinds


def test_run_with_a_participant_whose_start_lost_the_link_exits_2_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The audit's case, through the command line: two partners keep the session going while the H10 comes
    back in range (one would end it, see tests/test_session_start_failure.py); the H10 participant stays
    failed (exit code 2) and nothing connects to the strap again."""
    out = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        h10.reply_delay_s = 0.5

        def drop_during_start() -> None:
            if wait_for(lambda: bool(h10.commands), 20.0):
                bz.drop_link(h10)
                time.sleep(0.5)
                bz.set_reachable(h10)

        dropper = threading.Thread(target=drop_during_start, daemon=True)
        dropper.start()
        code = main(
            [
                "run",
                "-p",
                "A=ble:Polar H10",
                "-p",
                "B=sim:steady",
                "-p",
                "C=sim:steady,seed=2",
                "--duration",
                "5",
                "--quiet",
                "--record",
                str(out),
            ]
        )
        dropper.join(5.0)
        assert h10.connects == 1 and not h10.connected
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "participant A: ble:Polar H10: the link was lost during start" in err, err
    info = json.loads((out / "session.json").read_text(encoding="utf-8"))
    assert info["summary"]["participants"]["A"]["final_status"] == "failed"
    with open(out / "events.csv", newline="", encoding="utf-8") as fh:
        kinds = [e["kind"] for e in csv.DictReader(fh) if e["text"].startswith("A:")]
    assert "source_failed" in kinds and "source_back" not in kinds, kinds


def test_a_start_interrupted_after_its_start_command_stops_the_strap() -> None:
    """Ctrl-C during the start (the session cancels the starting source): the accelerometer the start command
    turned on is stopped before the disconnect (ble.md section 2)."""
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        h10.reply_delay_s = 0.5  # the start ACC command acts at once; its reply is still to come

        async def main_() -> None:
            clock = SessionClock()
            clock.start()
            src = BleSource("Polar H10", timeout_s=5)
            start = asyncio.create_task(src.start(clock))
            assert await until(lambda: h10.acc_starts == 1, 10.0, step_s=0.02)
            start.cancel()
            with pytest.raises(asyncio.CancelledError):
                await start
            await src.stop()

        asyncio.run(main_())
        assert h10.acc_rate is None and h10.acc_stops == 1 and not h10.connected
    (conn,) = _connections(h10.events)
    assert _pmd_ops(conn, h10) == [STOP_ACC, START_ACC, STOP_ACC] and conn[-1] == ("disconnect",)


def test_a_start_whose_reply_never_comes_stops_the_strap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ble, "_REPLY_TIMEOUT_S", 0.5)
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        h10.unanswered_ops = {START_ACC}  # it starts measuring, but the reply is lost

        async def main_() -> str:
            clock = SessionClock()
            clock.start()
            src = BleSource("Polar H10", timeout_s=5)
            try:
                with pytest.raises(SourceError) as e:
                    await src.start(clock)
            finally:
                await src.stop()
            return str(e.value)

        text = asyncio.run(main_())
        assert h10.acc_rate is None and h10.acc_starts == 1 and h10.acc_stops == 1
    assert text == "ble:Polar H10: no reply to start ACC"
    assert all(_stopped_after_start(c, h10) for c in _connections(h10.events))


def test_every_reconnection_attempt_that_wrote_a_start_stops_before_disconnecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ble, "_REPLY_TIMEOUT_S", 0.5)
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())

        async def main_() -> str:
            clock = SessionClock()
            clock.start()
            src = BleSource("Polar H10", timeout_s=5)
            await src.start(clock)

            def unanswered(ops: set[int]) -> None:
                h10.unanswered_ops = ops

            await asyncio.to_thread(bz.call, lambda: unanswered({START_ACC}))
            await asyncio.to_thread(bz.drop_link, h10, True)  # in range: the attempts connect and start
            assert await until(lambda: "attempt 2 failed" in src.status_reason, 15.0, step_s=0.02), (
                src.status_reason
            )
            detail = src.status_reason
            await asyncio.to_thread(bz.call, lambda: unanswered(set()))
            assert await until(lambda: src.status is SourceStatus.STREAMING, 15.0, step_s=0.02), (
                src.status_reason
            )
            await src.stop()
            return detail

        detail = asyncio.run(main_())
        assert not h10.connected and h10.acc_rate is None
    assert "attempt 2 failed: no reply to start ACC" in detail
    conns = _connections(h10.events)
    assert len(conns) >= 4  # the first, two failed attempts, the reconnection
    # The first connection ended by the link loss (no stop possible); every other one stopped what it started.
    failed = conns[1:-1]
    assert failed and all(START_ACC in _pmd_ops(c, h10) for c in failed)
    assert all(_stopped_after_start(c, h10) for c in conns[1:]), [_pmd_ops(c, h10) for c in conns]
