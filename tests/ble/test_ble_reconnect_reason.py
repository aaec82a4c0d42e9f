"""After a link loss, a device that cannot be reconnected: the status detail says why, attempt by attempt.

Through bleak's real BlueZ backend against the fake BlueZ. Before, the participant stayed on "reconnecting"
with the detail "link lost" however long it lasted and whatever the reason (the audit's case: a Polar H10
put in its charger, which refuses every start).
"""

from __future__ import annotations

import asyncio
import contextlib
import re

from conftest import posix_only
from fakebluez import FakeBlueZ, FakeHeartRateStrap, FakePolarH10, private_bus
from streaming import start_streaming

from breathsync.sources.base import SessionClock, SourceStatus
from breathsync.sources.ble import BleSource, _duration

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


async def _wait(cond: object, timeout_s: float) -> bool:
    for _ in range(int(timeout_s / 0.05)):
        if cond():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


def test_h10_in_its_charger_says_so_and_comes_back_when_taken_out() -> None:
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        statuses: list[tuple[SourceStatus, str]] = []
        seen: dict[str, str] = {}

        async def main() -> BleSource:
            src = BleSource("Polar H10", timeout_s=5)
            src.on_status(lambda s, r: statuses.append((s, r)))
            _clock, _got, task = await start_streaming(src)
            await asyncio.sleep(0.5)

            def to_charger() -> None:
                h10.in_charger = True

            await asyncio.to_thread(bz.call, to_charger)
            await asyncio.to_thread(bz.drop_link, h10, True)  # in reach, but every start is refused
            assert await _wait(lambda: "attempt 2 failed" in src.status_reason, 10.0), src.status_reason
            seen["detail"] = src.status_reason
            seen["status"] = src.status.value

            def out_of_charger() -> None:
                h10.in_charger = False

            await asyncio.to_thread(bz.call, out_of_charger)
            assert await _wait(lambda: src.status is SourceStatus.STREAMING, 15.0), src.status_reason
            await src.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 5.0)
            return src

        src = asyncio.run(main())
    assert seen["status"] == "reconnecting"
    detail = seen["detail"]
    assert re.search(r"^Polar H10 \S+: link lost \d+ s ago; attempt 2 failed: start ACC failed: ", detail)
    # The next wait (the waits double: it said "every 1 s").
    assert "in its charger (status 13)" in detail and detail.endswith("trying again in 1 s")
    assert "\n" not in detail and "ble:" not in detail
    # One status change per state, not one per attempt (the session logs an event for each change).
    assert [s for s, _ in statuses] == [
        SourceStatus.STREAMING,
        SourceStatus.RECONNECTING,
        SourceStatus.STREAMING,
    ]
    assert statuses[-1][1] == "reconnected" and src.last_reconnect_error is None
    assert h10.acc_starts == 2


def test_strap_out_of_range_says_not_found() -> None:
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap())

        async def main() -> tuple[str, str | None]:
            clock = SessionClock()
            clock.start()
            src = BleSource("FakeHR", timeout_s=5)
            await src.start(clock)
            await asyncio.to_thread(bz.drop_link, strap)  # out of reach: Connect fails
            ok = await _wait(lambda: "attempt 3 failed" in src.status_reason, 15.0)
            detail, last = src.status_reason, src.last_reconnect_error
            await src.stop()
            assert ok, detail
            return detail, last

        detail, last = asyncio.run(main())
    # (The fake goes on advertising a device out of reach, so the scan of attempt 3 still sees it.)
    assert re.search(r"attempt 3 failed: could not connect \(le-connection-abort-by-remote: ", detail)
    assert "out of range, switched off or connected to another app?" in detail
    assert last is not None and last in detail


def test_duration_text() -> None:
    assert [_duration(s) for s in (0.4, 45, 89, 150, 3600, 3900)] == [
        "0 s",
        "45 s",
        "89 s",
        "2 min",
        "1 h",
        "1 h 5 min",
    ]
