"""The standard Battery Service's Battery Level (0x2A19): one uint8, the charge left in percent, 0-100
(Bluetooth SIG, Battery Service specification and GATT Specification Supplement; 101-255 reserved)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

import devices
from breathsync.cli import main
from devices.battery import BATTERY_LEVEL, BatteryLevelDecoder, decode_battery_level


@pytest.mark.parametrize(("data", "pct"), [(b"\x57", 87), (b"\x00", 0), (b"\x64", 100), (b"\x0c", 12)])
def test_battery_level_vectors(data: bytes, pct: int) -> None:
    assert decode_battery_level(data) == pct
    (rec,) = BatteryLevelDecoder().feed(data)
    assert rec.kind == "battery" and rec.info == {"battery_pct": pct} and len(rec) == 0


@pytest.mark.parametrize(
    ("data", "says"), [(b"", "0 bytes, expected 1"), (b"\x57\x00", "2 bytes, expected 1")]
)
def test_malformed_battery_level_is_a_decode_error(data: bytes, says: str) -> None:
    with pytest.raises(devices.DecodeError, match=f"^battery level: {says}"):
        BatteryLevelDecoder().feed(data)


def test_a_reserved_level_is_dropped_never_a_level() -> None:
    (rec,) = BatteryLevelDecoder().feed(b"\xff")
    assert rec.kind == devices.DROPPED and "battery_pct" not in rec.info
    assert rec.info["drop"] == "out of range" and "255 is outside 0..100" in rec.info["reason"]


def test_every_built_in_profile_reads_the_standard_battery_service() -> None:
    """Where the device has it: a device without the service simply has no level (tests/ble)."""
    for p in devices.PROFILES.values():
        assert p.battery_stream is not None, p.name
        spec = p.stream(p.battery_stream)
        assert spec.characteristic == BATTERY_LEVEL and spec.signal is None and not spec.signal_columns
        # Not a start step: a device without the service must still start.
        assert all(s.characteristic != BATTERY_LEVEL for s in p.controller().start_steps())


def test_a_battery_stream_must_be_one_of_the_streams() -> None:
    hr = devices.get_profile("heart-rate")
    with pytest.raises(ValueError, match="battery stream 'bat' is not one of the streams"):
        replace(hr, battery_stream="bat")


def test_decode_prints_the_battery_level(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "polar-h10", "battery", "57"]) == 0
    assert [json.loads(x) for x in capsys.readouterr().out.splitlines()] == [
        {"kind": "battery", "battery_pct": 87}
    ]
