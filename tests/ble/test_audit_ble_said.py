"""What a Bluetooth device does wrong is said, not only counted (the BLE audit), through bleak's real BlueZ
backend against the fake BlueZ.

- Malformed notifications: 17 of 70 from a strap were dropped with nothing in the terminal, the dashboard,
  events.csv or the summary (only session.json's ``dropped_by``). Now the status detail says how many of how
  many and why, and the session makes it a ``source_detail`` event (rate-limited).
- A device that connects and never sends: "no signal" for the whole session without a reason, ending on
  "no samples from ble in 0:20 (streaming)". Now, after a while without a notification, the source is "no
  signal" saying that it is connected and subscribed but nothing came; its first notification brings it back.
- Reconnecting: the detail said "trying again every 0.5 s" of waits doubling to 8 s. Now it says the next
  wait.

The tests wait for states, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import pytest
from conftest import posix_only
from fakebluez import FakeBlueZ, FakeChar, FakeHeartRateStrap, private_bus
from streaming import start_streaming, until

from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.session_types import Event, Snapshot
from breathsync.sources import ble
from breathsync.sources.base import SessionClock, SourceStatus
from breathsync.sources.ble import BleSource

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")

MALFORMED = "heart rate measurement: odd number of RR bytes (1)"  # the fake's garbage, decoded


class _Mute(FakeHeartRateStrap):
    """A strap that connects and accepts the subscription, then sends nothing until :meth:`speak`."""

    def on_notify_started(self, char: FakeChar) -> None:
        pass

    def speak(self) -> None:  # (the fake's loop: call it through FakeBlueZ.call)
        super().on_notify_started(self.char(self.hrm_uuid))


def test_malformed_notifications_are_said_in_the_detail() -> None:
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap())
        strap.garbage_every = 2

        async def main() -> tuple[str, int, int]:
            src = BleSource("FakeHR", timeout_s=5)
            _clock, _got, task = await start_streaming(src)
            ok = await until(lambda: src.dropped >= 2 and f"{src.dropped} of" in src.status_reason, 30.0)
            detail, dropped, notes = src.status_reason, src.dropped, src.notifications
            await src.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 5.0)
            assert ok, (src.dropped, src.status_reason)
            return detail, dropped, notes

        detail, dropped, notes = asyncio.run(main())
    assert re.fullmatch(
        rf"FakeHR 0001: {dropped} of \d+ notifications dropped: {dropped} malformed \({re.escape(MALFORMED)}\)",
        detail,
    ), detail
    total = int(detail.split(" of ")[1].split()[0])
    assert dropped < total <= notes


def test_the_session_makes_the_drops_an_event() -> None:
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap())
        strap.garbage_every = 2

        async def main() -> list[Event]:
            session = Session(
                [ParticipantSpec("B", BleSource("FakeHR", timeout_s=5))], SessionClock(), SessionConfig()
            )
            events: list[Event] = []

            class Sink:
                def open(self, info: Any) -> None: ...
                def on_chunk(self, label: str, chunk: Any) -> None: ...
                def close(self, info: Any) -> None: ...

                def on_snapshot(self, snap: Snapshot) -> None:
                    events.extend(snap.events)
                    if any(e.kind == "source_detail" for e in events):
                        session.request_stop()

            session.add_sink(Sink())
            await asyncio.wait_for(session.run(None), 60.0)
            return events

        events = asyncio.run(main())
    detail = [e for e in events if e.kind == "source_detail"]
    assert len(detail) == 1 and detail[0].participants == ("B",)
    assert re.fullmatch(
        rf"B: FakeHR 0001: (\d+) of \d+ notifications dropped: \1 malformed \({re.escape(MALFORMED)}\)",
        detail[0].text,
    ), detail[0].text


def test_a_device_that_sends_nothing_says_so_and_comes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ble, "_SILENT_S", 0.5)  # (10 s in use)
    statuses: list[tuple[SourceStatus, str]] = []
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(_Mute("C0:FF:EE:00:00:09", "MuteHR 0009"))

        async def main() -> tuple[str, int]:
            src = BleSource("MuteHR", timeout_s=5)
            src.on_status(lambda s, r: statuses.append((s, r)))
            _clock, got, task = await start_streaming(src)
            ok = await until(lambda: src.status is SourceStatus.NO_SIGNAL, 30.0)
            reason = src.status_reason
            await asyncio.to_thread(bz.call, strap.speak)
            back = await until(lambda: src.status is SourceStatus.STREAMING and bool(got), 30.0)
            await src.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 5.0)
            assert ok and back, (src.status, src.status_reason)
            return reason, len(got)

        reason, chunks = asyncio.run(main())
    assert re.fullmatch(
        r"MuteHR 0009: connected and subscribed at 0:0\d, but no notification has come since: is the strap worn, "
        r"with its electrodes moistened\?",
        reason,
    ), reason
    assert chunks > 0
    assert [s for s, _ in statuses] == [
        SourceStatus.STREAMING,
        SourceStatus.NO_SIGNAL,
        SourceStatus.STREAMING,
    ]


def test_a_device_that_sends_is_never_called_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ble, "_SILENT_S", 1000.0)
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap())

        async def main() -> list[SourceStatus]:
            src = BleSource("FakeHR", timeout_s=5)
            seen: list[SourceStatus] = []
            src.on_status(lambda s, r: seen.append(s))
            _clock, got, task = await start_streaming(src)
            assert await until(lambda: len(got) >= 2, 30.0)
            # The watch's look, once notifications have come (without waiting its time).
            monkeypatch.setattr(ble, "_SILENT_S", 0.0)
            await src._silence_after(src._client)
            await src.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 5.0)
            return seen

        seen = asyncio.run(main())
        assert strap.sent >= 2
    assert seen == [SourceStatus.STREAMING]


def test_the_reconnection_says_the_next_wait() -> None:
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap())

        async def main() -> list[str]:
            src = BleSource("FakeHR", timeout_s=5)
            _clock, _got, task = await start_streaming(src)
            await asyncio.to_thread(bz.drop_link, strap)  # out of reach: every attempt fails
            said: list[str] = []

            def seen() -> bool:
                if src.status_reason not in said and "failed" in src.status_reason:
                    said.append(src.status_reason)
                return any("attempt 4 failed" in s for s in said)

            ok = await until(seen, 60.0, step_s=0.02)
            await src.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 5.0)
            assert ok, said
            return said

        said = asyncio.run(main())
    waits = {
        int(m[1]): m[2]
        for s in said
        if (m := re.search(r"attempt (\d+) failed: .*; trying again in (\S+) s$", s))
    }
    assert "every" not in " ".join(said)
    # The waits double: after attempt n the next is _BACKOFF_S[n] (0.5, 1, 2, ...), as the loop sleeps.
    for n, wait in waits.items():
        assert float(wait) == ble._BACKOFF_S[min(n, len(ble._BACKOFF_S) - 1)]
    assert waits.get(4) == "4"
