"""Bluetooth that cannot be used: one line that says what is wrong and what to do."""

from __future__ import annotations

import pytest
from bleak.exc import BleakDBusError

from breathsync.sources.ble import bluetooth_error


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (
            FileNotFoundError(2, "No such file or directory"),
            "scan: no Bluetooth service (the system D-Bus or BlueZ is not running): start the system D-Bus and "
            "the bluetooth service, and check that Bluetooth is on",
        ),
        (
            ConnectionRefusedError(111, "Connection refused"),
            "scan: no Bluetooth service (the system D-Bus or BlueZ is not running): start the system D-Bus and "
            "the bluetooth service, and check that Bluetooth is on",
        ),
        (
            BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", []),
            "scan: the Bluetooth service (BlueZ) is not running: start the bluetooth service and check that "
            "Bluetooth is on",
        ),
    ],
)
def test_no_bluetooth_service_says_what_to_do(error: BaseException, says: str) -> None:
    assert str(bluetooth_error(error, "scan")) == says
