"""Standard Bluetooth Battery Service: the Battery Level of any wearable that has the service.

Facts: Bluetooth SIG, Battery Service specification (BAS 1.0/1.1) and GATT Specification Supplement,
"Battery Level" (org.bluetooth.characteristic.battery_level); UUIDs from the SIG's Assigned Numbers:
service 0x180F, characteristic Battery Level 0x2A19 (read, optionally notify). The value is one uint8, the
charge left in percent: 0 = fully discharged, 100 = fully charged; 101-255 are reserved. Many devices
never notify it (Polar's straps answer reads only), so the BLE source reads it after each connection and
follows notifications where the device offers them.

A profile names the stream in :attr:`devices.Profile.battery_stream`; a device without the service simply
has no battery level (no error).
"""

from __future__ import annotations

from devices._base import Decoded, DecodeError, StreamSpec, dropped

BATTERY_SERVICE = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"

#: The Battery Level's range (percent); other values are reserved by the specification.
BATTERY_LIMITS_PCT = (0, 100)


def decode_battery_level(data: bytes) -> int:
    """The percentage of a Battery Level (0x2A19) value; :class:`DecodeError` unless it is one byte."""
    data = bytes(data)
    if len(data) != 1:
        raise DecodeError(f"battery level: {len(data)} bytes, expected 1 (a uint8 percentage)")
    return data[0]


class BatteryLevelDecoder:
    """Stream decoder for 0x2A19 values (reads and notifications): a record without samples whose ``info``
    has ``battery_pct``; a reserved value (over 100) is a DROPPED record."""

    def feed(self, data: bytes) -> list[Decoded]:
        pct = decode_battery_level(data)
        lo, hi = BATTERY_LIMITS_PCT
        if not lo <= pct <= hi:
            why = f"battery level {pct} is outside {lo}..{hi} % (values above 100 are reserved)"
            return [dropped("out of range", why, data)]
        return [Decoded("battery", {}, None, {"battery_pct": pct})]


BATTERY_STREAM = StreamSpec(
    name="battery",
    characteristic=BATTERY_LEVEL,
    decoder=BatteryLevelDecoder,
    description="Battery Level (0x2A19, Battery Service): charge left in percent, where the device has it",
)
