"""Devices that are not what a participant's spec needs: one line saying what was seen and what to do.

Through bleak's real BlueZ backend against the fake BlueZ. Before: a Polar H10 without the PMD service (old
firmware) gave "Characteristic fb005c81-... was not found!" (a raw UUID and nothing to do); a Go Direct sensor
breathsync does not read, given by its address, gave "no matching device found" although it was seen; names
were matched case-sensitively (`ble:"polar h10"` did not find "Polar H10 A1B2C3D4"); and "not found" did not
say what the scan did see.
"""

from __future__ import annotations

import asyncio

import pytest
from conftest import posix_only
from fakebluez import FakeBlueZ, FakeGdxRb, FakeHeartRateStrap, FakePolarH10, private_bus

from breathsync.cli import main
from breathsync.sources.base import SessionClock, SourceError
from breathsync.sources.ble import BleSource

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


async def _start(target: str, timeout_s: float = 3.0) -> BleSource:
    clock = SessionClock()
    clock.start()
    src = BleSource(target, timeout_s=timeout_s)
    try:
        await src.start(clock)
    finally:
        await src.stop()
    return src


def test_an_h10_without_raw_data_says_what_it_lacks_in_the_profiles_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10(name="Polar H10 OLDFW001", pmd=False))
        code = main(["run", "-p", "A=ble:Polar H10,timeout=3", "--duration", "5", "--quiet"])
        assert not h10.connected
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert (
        "participant A: ble:Polar H10: Polar H10 OLDFW001 lacks the chest accelerometer (PMD ACC) of a Polar "
        "H10 chest strap (no 'control' characteristic): it may be another model, or its firmware too old: "
        "update it with Polar Electro's app, then try again"
    ) in err
    assert "fb005c" not in err.lower() and "Characteristic" not in err


@pytest.mark.parametrize("target", ["D4:36:39:00:00:30", "d4:36:39:00:00:30", "GDX-FOR"])
def test_a_device_seen_but_not_supported_says_so(target: str) -> None:
    with private_bus(), FakeBlueZ() as bz:
        bz.add_device(FakeGdxRb("D4:36:39:00:00:30", "GDX-FOR 071001"))  # a force sensor, not the belt
        with pytest.raises(SourceError) as e:
            asyncio.run(_start(target, timeout_s=1.0))
    text = str(e.value)
    assert text.startswith(
        f"ble:{target}: GDX-FOR 071001 (D4:36:39:00:00:30) was seen, but it is not a device breathsync supports"
    ), text
    assert "Vernier Go Direct Respiration Belt (GDX-RB)" in text and "\n" not in text


@pytest.mark.parametrize("target", ["polar h10", "POLAR H10 a1b2"])
def test_a_name_matches_whatever_its_case(target: str) -> None:
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        src = asyncio.run(_start(target))
        assert h10.connects == 1 and not h10.connected
    assert src.found is not None and src.found.name == "Polar H10 A1B2C3D4"


def test_not_found_lists_the_devices_seen() -> None:
    with private_bus(), FakeBlueZ() as bz:
        bz.add_device(FakePolarH10())
        bz.add_device(FakeHeartRateStrap("C0:FF:EE:00:00:01", "HRM-Pro 1234"))
        with pytest.raises(SourceError) as e:
            asyncio.run(_start("Wahoo", timeout_s=1.0))
    text = str(e.value)
    assert text.startswith("ble:Wahoo: no matching device found within 1 s (") and "\n" not in text
    assert "many straps only switch on when worn" in text
    assert "Polar H10 A1B2C3D4 (A0:9E:1A:00:00:10)" in text and "HRM-Pro 1234 (C0:FF:EE:00:00:01)" in text


def test_not_found_with_nothing_seen_says_so() -> None:
    with private_bus(), FakeBlueZ(), pytest.raises(SourceError) as e:
        asyncio.run(_start("Wahoo", timeout_s=1.0))
    assert "no supported device was seen" in str(e.value)
