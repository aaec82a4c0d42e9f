"""macOS: bleak gives a device's address as the UUID CoreBluetooth assigns it on that Mac, never its Bluetooth
address. ``ble:<that UUID>`` (what ``breathsync scan`` prints there) was taken for a name prefix and never
matched ("no matching device found"), and the scan table's 17-character ADDRESS column was pushed out of line
by the 36-character UUIDs. No Bluetooth here: the scan is replaced by a fake that returns what bleak's
CoreBluetooth backend would."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

import devices
from breathsync.cli import main
from breathsync.sources import ble
from breathsync.sources.base import SessionClock, SourceError
from breathsync.sources.ble import BleSource, Found, is_address, parse_ble_spec

HR = devices.get_profile("heart-rate")
# Built at run time: tests/test_layers.py allows no UUID text outside devices/ (a BLE UUID would hide there).
MAC_UUID = str(uuid.UUID(int=0xB9EA523337EF4DD687A82A875E821C46)).upper()
OTHER_UUID = str(uuid.UUID(int=0x0123456789AB4CDE8F0123456789ABCD)).upper()


def _found(address: str, name: str = "Polar H10 1A2B3C", rssi: int | None = -60) -> Found:
    return Found(name, address, rssi, HR, device=object())


@pytest.mark.parametrize("target", [MAC_UUID, MAC_UUID.lower()])
@pytest.mark.parametrize("address", [MAC_UUID, MAC_UUID.lower()])
def test_a_uuid_address_matches_whatever_its_case(target: str, address: str) -> None:
    src = parse_ble_spec(f"{target},timeout=3")
    assert src.target == target and is_address(target)
    assert src._matches(_found(address))
    assert not src._matches(_found(OTHER_UUID))
    # An address is never a name prefix: a device whose name starts with the text does not match by it.
    assert not src._matches(_found(OTHER_UUID, name=target + " strap"))


def test_a_mac_address_and_a_name_prefix_still_match() -> None:
    mac = parse_ble_spec("c0:ff:ee:00:00:01")
    assert mac._matches(_found("C0:FF:EE:00:00:01"))
    assert not mac._matches(_found("C0:FF:EE:00:00:02"))
    name = parse_ble_spec("Polar H10")
    assert not is_address("Polar H10")
    assert name._matches(_found(MAC_UUID, name="Polar H10 1A2B3C"))
    assert not name._matches(_found(MAC_UUID, name="Wahoo TICKR"))
    # A name that merely looks like part of a UUID stays a name prefix.
    assert not is_address(MAC_UUID[:8]) and not is_address(MAC_UUID + "0")


def _fake_scan(monkeypatch: pytest.MonkeyPatch, seen: list[Found]) -> None:
    async def scan_unlocked(timeout_s: float, want: Any, where: str, unsupported: Any = None) -> list[Found]:
        return list(seen)

    async def connect(self: BleSource) -> None:  # no radio: connected at once
        self.connections += 1

    monkeypatch.setattr(ble, "_scan_unlocked", scan_unlocked)
    monkeypatch.setattr(BleSource, "_connect", connect)


def test_start_finds_the_device_by_the_uuid_scan_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    target = _found(MAC_UUID, name="Polar H10 1A2B3C", rssi=-70)
    _fake_scan(monkeypatch, [_found(OTHER_UUID, name="Polar H10 FFFFFF", rssi=-40), target])
    src = parse_ble_spec(MAC_UUID.lower())

    async def go() -> None:
        clock = SessionClock()
        clock.start()
        await src.start(clock)

    asyncio.run(go())
    assert src.found is target and src.connections == 1
    assert src.describe()["address"] == MAC_UUID


def test_a_bluetooth_address_where_uuids_are_seen_says_what_to_give(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_scan(monkeypatch, [_found(MAC_UUID)])
    src = parse_ble_spec("C0:FF:EE:00:00:01,timeout=1")

    async def go() -> None:
        clock = SessionClock()
        clock.start()
        await src.start(clock)

    with pytest.raises(SourceError) as e:
        asyncio.run(go())
    text = str(e.value)
    assert "no matching device found" in text and "\n" not in text
    assert "by a UUID, not by their Bluetooth address" in text and "`breathsync scan` prints" in text


def test_the_scan_table_lines_up_with_uuid_addresses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        _found(MAC_UUID, name="Polar H10 1A2B3C", rssi=-48),
        _found(OTHER_UUID, name="a name longer than twenty-four", rssi=None),
        _found("C0:FF:EE:00:00:01", name="HR", rssi=-100),
    ]

    async def scan(timeout_s: float = 5.0, want: Any = None, where: str = "scan") -> list[Found]:
        return rows

    monkeypatch.setattr(ble, "scan", scan)
    assert main(["scan", "--timeout", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, body = lines[0], lines[1:]
    assert len(body) == 3
    name_at, addr_at = header.index("NAME"), header.index("ADDRESS")
    rssi_end, prof_at = header.index("RSSI") + len("RSSI"), header.index("PROFILE")
    assert name_at == 0
    for f, line in zip(rows, body, strict=True):
        assert line[:addr_at].rstrip() == f.name  # the name fills its column and ends before ADDRESS
        assert line[addr_at:].split(" ", 1)[0] == f.address
        rssi = line[:rssi_end].rsplit(" ", 1)[-1]
        assert rssi == ("" if f.rssi is None else str(f.rssi))
        assert line[prof_at:] == f.profile.name
