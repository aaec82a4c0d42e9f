"""Why a start or a reconnection attempt failed, in words: not bleak's raw text, not "failed" twice.

Through bleak's real BlueZ backend against the fake BlueZ. Before: a device BlueZ had forgotten read
"attempt 1 failed: device 'dev_C0_FF_EE_00_00_01' not found" (a plain BleakError the out-of-range wording
did not cover), and a strap in its charger "start ACC failed: Polar PMD start acc failed: device is in its
charger (status 13)".
"""

from __future__ import annotations

import asyncio

import pytest
from conftest import posix_only
from fakebluez import FakeBlueZ, FakeHeartRateStrap, FakePolarH10, private_bus
from streaming import until

from breathsync.sources.base import SessionClock, SourceError
from breathsync.sources.ble import BleSource

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


def test_a_device_bluez_forgot_reads_as_not_found() -> None:
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap("C0:FF:EE:00:00:01", "HRM-Pro 1234"))

        async def main() -> str:
            clock = SessionClock()
            clock.start()
            src = BleSource("C0:FF:EE:00:00:01", timeout_s=5)
            await src.start(clock)
            try:
                await asyncio.to_thread(bz.drop_link, strap)
                await asyncio.to_thread(bz.forget, strap)
                assert await until(lambda: "attempt 1 failed" in src.status_reason, 10.0), src.status_reason
                return src.status_reason
            finally:
                await src.stop()

        detail = asyncio.run(main())
    assert (
        "attempt 1 failed: device not found (out of range, switched off or connected to another app?)"
        in detail
    )
    assert "dev_" not in detail and "'" not in detail, detail


def test_a_start_refused_says_failed_once() -> None:
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        h10.in_charger = True

        async def main() -> None:
            clock = SessionClock()
            clock.start()
            src = BleSource("Polar H10", timeout_s=5)
            try:
                await src.start(clock)
            finally:
                await src.stop()

        with pytest.raises(SourceError) as e:
            asyncio.run(main())
    assert str(e.value) == "ble:Polar H10: start ACC failed: device is in its charger (status 13)"
