"""A device profile's ``settings`` are recorded in session.json (README, "Adding a device"): the source's
description carries them. Before, describe() left them out: no ``acc_rate_hz`` in any session.json."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import posix_only
from fakebluez import FakeBlueZ, FakePolarH10, private_bus

import devices
from breathsync.cli import main

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


def test_the_profile_settings_are_in_session_json(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        bz.add_device(FakePolarH10())
        code = main(["run", "-p", "A=ble:Polar H10", "--duration", "3", "--quiet", "--record", str(rec)])
    assert code == 0
    source = json.loads((rec / "session.json").read_text(encoding="utf-8"))["participants"][0]["source"]
    assert source["device"] == "polar-h10"
    assert source["settings"] == devices.get_profile("polar-h10").settings
    assert source["settings"] == {"acc_rate_hz": 50, "acc_range_g": 8, "ecg": False}
