"""Wearable device profiles: the only place that knows BLE UUIDs and byte layouts.

Each supported wearable is a :class:`Profile`: how to recognise it in a scan, what to start and stop (a
list of subscribe/write steps), and per stream a pure, stateful decoder from notification bytes to
:class:`Decoded` records. Decoders raise :class:`DecodeError` (a ``ValueError``) and nothing else on bad
bytes. Nothing here does I/O: the BLE source in ``breathsync/sources`` executes the steps.

What a new device's module needs is exported here: the records and the error above, :class:`Profile`,
:class:`StreamSpec` (with the unit of each signal column, ``units``: recordings, BIDS and LSL take it
from there), the steps :class:`Subscribe` and :class:`Write`, :class:`FixedController` (steps that
never change), and the decoders' helpers :func:`need` (raise on too few bytes), :func:`out_of_range` and
:func:`dropped` (a :data:`DROPPED` record for bytes that decode but must not be used); beside them
``devices.battery.BATTERY_STREAM`` (the standard Battery Service).

>>> import devices
>>> devices.get_profile("heart-rate").stream("hrm").decoder().feed(bytes.fromhex("00 2A"))[0].info["hr_bpm"]
42
"""

from __future__ import annotations

from devices._base import (
    DROPPED,
    Controller,
    Decoded,
    DecodeError,
    FixedController,
    Profile,
    Step,
    StreamDecoder,
    StreamSpec,
    Subscribe,
    Write,
    dropped,
    full_uuid,
    need,
    out_of_range,
)
from devices.gdx import gdx_rb_profile
from devices.heart_rate import heart_rate_profile
from devices.polar_pmd import polar_h10_profile

__all__ = [
    "DROPPED",
    "PROFILES",
    "Controller",
    "DecodeError",
    "Decoded",
    "FixedController",
    "Profile",
    "Step",
    "StreamDecoder",
    "StreamSpec",
    "Subscribe",
    "Write",
    "dropped",
    "full_uuid",
    "gdx_rb_profile",
    "get_profile",
    "heart_rate_profile",
    "match_profile",
    "need",
    "out_of_range",
    "polar_h10_profile",
]

#: The supported devices with their default settings, by name. Most specific first: a Polar H10 also
#: advertises the Heart Rate Service, so :func:`match_profile` must try it before the generic strap.
PROFILES: dict[str, Profile] = {
    p.name: p for p in (polar_h10_profile(), gdx_rb_profile(), heart_rate_profile())
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; :class:`KeyError` with the known names otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown device {name!r} (known: {', '.join(sorted(PROFILES))})") from None


def match_profile(name: str | None, service_uuids: list[str] | tuple[str, ...] = ()) -> Profile | None:
    """The most specific profile matching an advertisement (name, advertised service UUIDs), or None."""
    return next((p for p in PROFILES.values() if p.matches(name, service_uuids)), None)
