"""The standard Battery Service, end to end through bleak's real BlueZ backend against the fake BlueZ.

A fake strap with the service: its level is read after connecting and followed by notification, reaches the
session's snapshots (what the dashboard's battery column shows) and, under 15%, one ``battery_low`` event in
events.csv. A device without the service (the fake GDX-RB) simply has no level: no error, nothing dropped.
Before, no source ever set ``battery_pct``: the dashboard said "n/a" for every device.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import threading
from pathlib import Path
from typing import Any

from conftest import posix_only, run_collecting
from fakebluez import FakeBlueZ, FakeGdxRb, FakeHeartRateStrap, FakePolarH10, private_bus, wait_for
from streaming import start_streaming, until

from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock, SourceStatus
from breathsync.sources.ble import BleSource

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


def test_the_battery_level_is_read_after_connecting_and_followed() -> None:
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap(battery=87))
        seen: dict[str, object] = {}

        async def main() -> BleSource:
            src = BleSource("FakeHR", timeout_s=5)
            _clock, got, task = await start_streaming(src)
            seen["read"] = await until(lambda: src.battery_pct == 87.0)
            seen["subscribed"] = await until(lambda: strap.start_notify_calls.get(strap.battery_uuid, 0) == 1)
            await asyncio.to_thread(bz.call, lambda: strap.set_battery(42))
            seen["notified"] = await until(lambda: src.battery_pct == 42.0)
            seen["samples"] = await until(lambda: len(got) > 0)
            await src.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 5.0)
            return src

        src = asyncio.run(main())
        reads = strap.reads.get(strap.battery_uuid, 0)
    assert seen == {"read": True, "subscribed": True, "notified": True, "samples": True}
    assert reads == 1  # read once on the connection; the change came as a notification
    assert src.dropped == 0 and src.status is SourceStatus.STREAMING


def test_a_device_without_the_battery_service_has_none_and_no_error() -> None:
    with private_bus(), FakeBlueZ() as bz:
        belt = bz.add_device(FakeGdxRb())
        strap = bz.add_device(FakeHeartRateStrap("C0:FF:EE:00:00:02", "FakeHR 0002", battery=None))

        async def main(target: str) -> tuple[BleSource, int]:
            src = BleSource(target, timeout_s=5)
            _clock, got, task = await start_streaming(src)
            await until(lambda: len(got) >= 3)
            await asyncio.sleep(0.3)  # time for a battery read, were there anything to read
            n = len(got)
            await src.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 5.0)
            return src, n

        results = [asyncio.run(main(target)) for target in ("GDX-RB", "FakeHR 0002")]
        assert not belt.reads and not strap.reads
    for src, n in results:
        assert n >= 3 and src.battery_pct is None and src.dropped == 0
        assert src.status is SourceStatus.STREAMING and src.status_reason == ""


def test_a_low_battery_reaches_the_snapshots_and_one_event(tmp_path: Path) -> None:
    """A Polar H10 at 12%, then 9%: the snapshots show the level (the dashboard's battery column draws it),
    and events.csv holds one battery_low event saying what to do."""
    rec = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10(battery=12))
        shown: list[float | None] = []  # the levels the snapshots showed, as they are published

        class Watch:
            def open(self, info: object) -> None: ...
            def on_chunk(self, label: str, chunk: object) -> None: ...
            def on_snapshot(self, snap: Any) -> None:
                shown.append(snap.participant("A").battery_pct)

            def close(self, info: object) -> None: ...

        def lower() -> None:
            # Once a snapshot has shown the level read (on a busy machine the notification could otherwise
            # overtake it before any snapshot).
            if wait_for(lambda: h10.start_notify_calls.get(h10.battery_uuid, 0) == 1 and 12.0 in shown, 15.0):
                bz.call(lambda: h10.set_battery(9))

        threading.Thread(target=lower, daemon=True).start()
        session = Session(
            [ParticipantSpec("A", BleSource("Polar H10", timeout_s=5))], SessionClock(), SessionConfig()
        )
        session.add_sink(Recorder(rec))
        session.add_sink(Watch())
        snaps = run_collecting(session, 5.0)
    levels = [s.participant("A").battery_pct for s in snaps]
    assert levels[0] is None and levels[-1] == 9.0 and 12.0 in levels
    events = [e for s in snaps for e in s.events if e.kind == "battery_low"]
    assert len(events) == 1 and events[0].participants == ("A",)
    assert events[0].text.startswith("A: battery low (12%): charge the device or change its coin cell")
    with open(rec / "events.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] == "battery_low"]
    assert [r["text"] for r in rows] == [events[0].text]
