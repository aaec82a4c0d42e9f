"""bleak's real BlueZ backend against the fake BlueZ: scan, connect, notify, link loss."""

from __future__ import annotations

import asyncio

from bleak import BleakClient, BleakScanner
from conftest import posix_only
from fakebluez import FakeBlueZ, FakeHeartRateStrap, private_bus

import devices

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")

HRM = devices.get_profile("heart-rate").stream("hrm")


def test_bleak_scans_connects_and_receives_notifications() -> None:
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap())

        async def main() -> tuple[list[str], list[bytes], bool]:
            found = await BleakScanner.discover(timeout=1.0, return_adv=True)
            names = [adv.local_name or d.name or "" for d, adv in found.values()]
            dev = next(d for d, _ in found.values() if d.address == strap.address)
            got: list[bytes] = []
            lost = asyncio.Event()
            client = BleakClient(dev, disconnected_callback=lambda _c: lost.set())
            await client.connect(timeout=5.0)
            await client.start_notify(HRM.characteristic, lambda _c, data: got.append(bytes(data)))
            for _ in range(100):
                if len(got) >= 2:
                    break
                await asyncio.sleep(0.05)
            await asyncio.to_thread(bz.drop_link, strap)
            await asyncio.wait_for(lost.wait(), 5.0)
            return names, got, client.is_connected

        names, got, connected = asyncio.run(main())
    assert "FakeHR 0001" in names
    assert len(got) >= 2
    decoded = HRM.decoder().feed(got[0])[0]
    assert decoded.info["contact"] is True and decoded.columns["rr_ms"].size == 1
    assert not connected
