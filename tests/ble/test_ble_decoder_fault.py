"""A decoder that raises anything but DecodeError has a bug: the BLE source fails, saying so, instead of
counting the notification as a dropped (bad) packet, which made a decoder bug look like a noisy device."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from conftest import posix_only
from fakebluez import FakeBlueZ, FakeHeartRateStrap, private_bus

import devices
from breathsync.cli import main
from breathsync.sources.base import SessionClock
from breathsync.sources.ble import BleSource, DecoderFault
from devices.heart_rate import HrmDecoder, encode_hrm

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


class Buggy:
    def feed(self, data: bytes) -> list[devices.Decoded]:
        raise ZeroDivisionError("division by zero")


def test_a_decoder_bug_fails_the_source_and_is_not_a_dropped_packet() -> None:
    src = BleSource("test")
    src.profile = devices.get_profile("heart-rate")
    src.signal = "rr"
    src._decoders = {"hrm": Buggy()}
    clock = SessionClock()
    clock.start()
    src._clock = clock
    src._on_data("hrm", encode_hrm(60, [1000.0]))
    src._on_data("hrm", encode_hrm(60, [1000.0]))  # after the failure: not decoded at all
    assert src.dropped == 0 and src.dropped_by == {}

    async def drain() -> None:
        async for _ in src.stream():
            pass

    with pytest.raises(DecoderFault) as info:
        asyncio.run(drain())
    msg = str(info.value)
    assert "internal error of the heart-rate 'hrm' decoder (ZeroDivisionError: division by zero)" in msg
    assert "not bad bytes" in msg and "\n" not in msg
    assert isinstance(info.value.__cause__, ZeroDivisionError)  # the traceback of the bug is kept


def test_bad_bytes_are_still_dropped_and_counted() -> None:
    src = BleSource("test")
    src.profile = devices.get_profile("heart-rate")
    src._decoders = {"hrm": HrmDecoder()}
    src._on_data("hrm", bytes([0x10, 60, 0x01]))  # odd RR bytes: DecodeError
    assert src.dropped == 1 and src.dropped_by == {"malformed": 1} and src._failure is None


def test_a_session_ends_on_the_decoder_bug_and_raises_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end (bleak's BlueZ backend, a fake strap): the third notification hits the bug. It is a bug, not
    bad input: the session ends, its recording is closed with a session_end event saying why, the strap is
    released, and the error goes on with its traceback (exit 1), not "the source failed" and exit 2."""
    calls = [0]
    feed = HrmDecoder.feed

    def buggy(self: HrmDecoder, data: bytes) -> Any:
        calls[0] += 1
        if calls[0] == 3:
            raise IndexError("index 7 is out of bounds")
        return feed(self, data)

    monkeypatch.setattr(HrmDecoder, "feed", buggy)
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap())
        with pytest.raises(DecoderFault) as info:
            main(
                ["run", "-p", "A=ble:FakeHR", "--duration", "20", "--quiet", "--record", str(tmp_path / "r")]
            )
        assert not strap.connected
    assert "internal error of the heart-rate 'hrm' decoder (IndexError: index 7 is out of bounds)" in str(
        info.value
    )
    events = (tmp_path / "r" / "events.csv").read_text(encoding="utf-8")
    assert "session_end" in events and "internal error" in events


def test_a_bug_in_a_reply_decoder_fails_the_start_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Polar H10's start waits for the control point's reply: a bug decoding it is that error, not
    "no reply to stop ACC" after the reply timeout; the strap is disconnected."""
    from fakebluez import FakePolarH10

    from devices.polar_pmd import PmdControlDecoder

    def buggy(self: PmdControlDecoder, data: bytes) -> Any:
        raise KeyError("op")

    monkeypatch.setattr(PmdControlDecoder, "feed", buggy)
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakePolarH10())

        async def start() -> None:
            clock = SessionClock()
            clock.start()
            await BleSource("Polar H10", timeout_s=5).start(clock)

        # The decoder's error itself, not the reply timeout's "no reply to ..." (no timing assertion: the
        # suite has none; the message tells the two apart).
        with pytest.raises(DecoderFault, match="internal error of the polar-h10 'control' decoder"):
            asyncio.run(start())
        assert not strap.connected
