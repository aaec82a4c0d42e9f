"""BleSource's notifications -> chunks, byte by byte, on a fake session clock (no D-Bus): the Polar H10's RR
intervals beside its accelerometer in the chunk contract of ``Source.extra_columns``.

Byte vectors: ../shared/notes/ble.md section 1 (Heart Rate Measurement, ``18 AA BB 01 CC 01`` from the
blevalueparser tests: RR 0x01CC = 449.2 ms) and section 2 (ACC frame type 1 from the polar-ble-sdk tests:
(-9, -1, 999) and (-8, -2, 997) mG, device time 2.0 s on the last sample). The two-RR notifications are
built from the section 1 layout: flags 0x10 (RR present), HR uint8, then RR uint16 LE in 1/1024 s.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import devices
from breathsync.sources.base import SampleChunk, SessionClock
from breathsync.sources.ble import BleSource

ACC_FRAME = bytes.fromhex("02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 F8 FF FE FF E5 03")
HRM_EE_RR = bytes.fromhex("18 AA BB 01 CC 01")  # HR 170, EE 443 kJ, RR [449.2 ms]
HRM_TWO_RR = bytes.fromhex("10 3C CC 01 CC 01")  # HR 60, RR [449.2, 449.2] ms
RR_MS = 460 * 1000 / 1024
ACC = ("acc_x", "acc_y", "acc_z")


def _connected(profile: str, now: list[float]) -> BleSource:
    """A BleSource as after start(): the profile's decoders, on a session clock driven by ``now[0]``."""
    src = BleSource("test")
    src.profile = devices.get_profile(profile)
    src.signal = src.profile.signal
    src.extra_columns = src.profile.extra_columns
    src._decoders = {name: spec.decoder() for name, spec in src.profile.streams.items()}
    clock = SessionClock(time_fn=lambda: now[0])
    clock.start()
    now[0] += 10.0  # session time 10 s
    src._clock = clock
    return src


def _chunks(src: BleSource) -> list[SampleChunk]:
    out = []
    while not src._queue.empty():
        ch = src._queue.get_nowait()
        assert ch is not None
        out.append(ch)
    return out


def test_h10_rr_beats_come_beside_acc_samples_even_when_older() -> None:
    now = [1000.0]
    src = _connected("polar-h10", now)
    assert src.signal == "acc" and src.extra_columns == ("rr_ms",)
    src._on_data("pmd", ACC_FRAME)  # arrives at 10.0: its samples end at 10.0
    now[0] += 0.3
    src._on_data("hrm", HRM_TWO_RR)  # at 10.3: beats at 9.85 (older than the newest ACC) and 10.3
    now[0] += 0.1
    src._on_data("hrm", HRM_EE_RR)  # at 10.4
    acc_c, beat_c, beat_c2 = _chunks(src)
    assert src.dropped == 0
    # Every chunk carries acc_x/y/z and rr_ms, in that order.
    for ch in (acc_c, beat_c, beat_c2):
        assert list(ch.columns) == [*ACC, "rr_ms"]
        assert all(v.shape == ch.t.shape for v in ch.columns.values())
    # The accelerometer rows: the frame's samples, no beat.
    np.testing.assert_array_equal(
        np.stack([acc_c.columns[c] for c in ACC], 1), [[-9, -1, 999], [-8, -2, 997]]
    )
    assert np.isnan(acc_c.columns["rr_ms"]).all()
    assert acc_c.t[-1] == pytest.approx(10.0) and np.diff(acc_c.t)[0] == pytest.approx(0.02)
    # The beats: RR in ms at beat times (BeatClock), no accelerometer values; the first beat is older
    # than the newest accelerometer sample and is kept all the same (its own stream's last time).
    np.testing.assert_allclose(beat_c.columns["rr_ms"], [RR_MS, RR_MS])
    assert all(np.isnan(beat_c.columns[c]).all() for c in ACC)
    np.testing.assert_allclose(beat_c.t, [10.3 - RR_MS / 1000, 10.3], atol=1e-9)
    assert beat_c.t[0] < acc_c.t[-1]
    np.testing.assert_allclose(beat_c2.columns["rr_ms"], [RR_MS])
    assert beat_c2.t[0] > beat_c.t[-1]


def test_each_stream_has_its_own_last_time() -> None:
    """An ACC frame whose samples are older than the last beat still arrives (and an ACC sample never goes
    backwards in its own stream)."""
    now = [0.0]
    src = _connected("polar-h10", now)
    src._on_data("hrm", HRM_EE_RR)  # a beat at 10.0
    now[0] += 0.001
    src._on_data("pmd", ACC_FRAME)  # samples at 9.981 and 10.001
    now[0] += 0.5
    src._on_data("pmd", ACC_FRAME)  # the same frame again: device time did not advance
    beat, acc = _chunks(src)
    assert beat.t[0] == pytest.approx(10.0) and np.isfinite(beat.columns["rr_ms"]).all()
    assert acc.t[0] < beat.t[0] < acc.t[-1]
    assert not np.isfinite(acc.columns["rr_ms"]).any()


def test_an_rr_interval_of_zero_is_no_beat_and_breaks_nothing() -> None:
    """``10 3C 00 00 CC 01``: RR [0, 449.2] ms. BeatClock times only the positive interval; the chunk must
    hold that one beat (the chunk's columns were one row longer than its times, an IndexError)."""
    now = [0.0]
    for profile in ("heart-rate", "polar-h10"):
        src = _connected(profile, now)
        src._on_data("hrm", bytes.fromhex("10 3C 00 00 CC 01"))
        (ch,) = _chunks(src)
        assert len(ch) == 1 and ch.columns["rr_ms"].tolist() == pytest.approx([RR_MS])
        assert set(ch.columns) == ({"rr_ms"} if profile == "heart-rate" else {*ACC, "rr_ms"})
        # Dropped as out of range (under 200 ms) and counted, as the README says (it went uncounted).
        assert src.dropped == 1 and src.dropped_by == {"out of range": 1}


def test_an_rr_interval_a_decoder_lets_through_is_counted_by_the_source() -> None:
    """A decoder that breaks the convention (RR 0 as a sample) still has its non-beat counted, not lost."""

    class Lenient:
        def feed(self, data: bytes) -> list[devices.Decoded]:
            return [devices.Decoded("hrm", {"rr_ms": np.array([0.0, RR_MS, float("nan")])})]

    now = [0.0]
    src = _connected("heart-rate", now)
    src._decoders["hrm"] = Lenient()
    src._on_data("hrm", b"")
    (ch,) = _chunks(src)
    assert ch.columns["rr_ms"].tolist() == pytest.approx([RR_MS])
    assert src.dropped == 1 and src.dropped_by == {"out of range": 1}
    assert "0, nan" in src._last_drop["hrm"]


def test_the_generic_strap_is_unchanged() -> None:
    now = [0.0]
    src = _connected("heart-rate", now)
    assert src.signal == "rr" and src.extra_columns == ()
    src._on_data("hrm", HRM_TWO_RR)
    (ch,) = _chunks(src)
    assert list(ch.columns) == ["rr_ms"] and len(ch) == 2


def test_stop_ends_the_stream_after_the_queued_chunks() -> None:
    now = [0.0]
    src = _connected("polar-h10", now)
    src._on_data("hrm", HRM_EE_RR)

    async def main() -> list[SampleChunk]:
        await src.stop()
        return [ch async for ch in src.stream()]

    got = asyncio.run(main())
    assert len(got) == 1 and np.isfinite(got[0].columns["rr_ms"]).all()
