"""Bluetooth that cannot be used: one line that says what is wrong and what to do."""

from __future__ import annotations

import pytest
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakDBusError

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


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (BleakDBusError("org.freedesktop.DBus.Error.AccessDenied", []), "member"),
        (BleakDBusError("org.bluez.Error.NotPermitted", []), "member"),
        (PermissionError(13, "Permission denied"), "member"),
        (
            BleakBluetoothNotAvailableError("no", BleakBluetoothNotAvailableReason.DENIED_BY_USER),
            "privacy settings",
        ),
        (
            BleakBluetoothNotAvailableError("no", BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM),
            "administrator",
        ),
        (
            BleakBluetoothNotAvailableError("no", BleakBluetoothNotAvailableReason.DENIED_BY_UNKNOWN),
            "privacy settings",
        ),
    ],
)
def test_permission_denied_says_what_to_do(error: BaseException, says: str) -> None:
    text = str(bluetooth_error(error, "ble:AA"))
    assert text.startswith("ble:AA: ") and "\n" not in text
    assert says in text
