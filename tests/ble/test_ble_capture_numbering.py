"""A capture's ``connection`` column counts the connections that sent something, 1, 2, ...: it counted
connection attempts, so after one reconnection that took five tries a capture said 1, then 6, while
session.json said one reconnection (the README: "1, 2, ..."). And ``scan --timeout`` takes as long as a
participant's ``ble:...,timeout=``."""

from __future__ import annotations

import devices
from breathsync.sources.base import SessionClock
from breathsync.sources.ble import BleSource
from devices.heart_rate import encode_hrm


def test_failed_attempts_leave_no_hole_in_the_captures_connection_numbers() -> None:
    src = BleSource("test")
    src.profile = devices.get_profile("heart-rate")
    src.signal = "rr"
    src.capture = True
    clock = SessionClock()
    clock.start()
    src._clock = clock
    for attempt in (1, 6, 6, 7):  # attempts 2-5 failed before any notification
        src._attempt = attempt
        src._decoders = {"hrm": src.profile.streams["hrm"].decoder()}
        src._on_data("hrm", encode_hrm(60, [1000.0]))
    assert [p.connection for p in src.take_packets()] == [1, 2, 2, 3]


def test_scan_and_a_participants_ble_timeout_take_the_same_longest_time() -> None:
    """``scan --timeout`` stopped at 300 s while ``ble:...,timeout=`` took up to 600."""
    from breathsync.cli import SCAN_MAX_S, build_parser
    from breathsync.sources.ble import MAX_TIMEOUT_S

    assert SCAN_MAX_S == MAX_TIMEOUT_S
    assert build_parser().parse_args(["scan", "--timeout", f"{MAX_TIMEOUT_S:g}"]).timeout == MAX_TIMEOUT_S
