"""Packets that decode but must not be used: a bad checksum, a value outside what the device can measure.

Each becomes one ``DROPPED`` record (what it would have given kept in ``info`` for ``breathsync decode``); the
packets around it still decode. The audit's vector: a GDX-RB measurement with a bad checksum and a force of
1e6 N that a fake belt sent 50 s into a session, and that was recorded.
"""

from __future__ import annotations

import numpy as np
import pytest

from devices import DROPPED, get_profile
from devices.gdx import (
    CHECKSUM_EVIDENCE,
    FORCE_LIMITS_N,
    GdxResponseDecoder,
    build_packet,
    checksum,
    encode_measurement,
)
from devices.heart_rate import RR_LIMITS_MS, encode_hrm
from devices.polar_pmd import ACC, ACC_RANGE_MARGIN, ECG, PmdDataDecoder, encode_frame, polar_h10_profile

AUDIT = bytes.fromhex("201107660606000100002474490000c07f")  # checksum byte 66, the bytes sum to 65


def _with_checksum(p: bytes) -> bytes:
    return p[:3] + bytes([checksum(p)]) + p[4:]


def _using_checksums() -> GdxResponseDecoder:
    """A decoder that has seen this belt's packets match the checksum (so it drops those that fail it)."""
    d = GdxResponseDecoder()
    for k in range(CHECKSUM_EVIDENCE):
        (first,) = d.feed(encode_measurement([[1.0 + k, 12.0]], [1, 2]))
        assert first.kind == "measurement" and d.checksum_seen == (k == CHECKSUM_EVIDENCE - 1)
    return d


def test_the_audits_packet_is_dropped_with_its_reason_and_values() -> None:
    (rec,) = _using_checksums().feed(AUDIT)
    assert rec.kind == DROPPED and len(rec) == 0  # no samples: nothing can reach the pipeline
    assert rec.info["drop"] == "bad checksum" and rec.info["would_be"] == "measurement"
    assert "byte 3 is 66" in rec.info["reason"] and "sum to 65" in rec.info["reason"]
    assert rec.info["packet_hex"] == AUDIT.hex() and rec.info["force_n"] == [1e6]
    assert rec.info["belt_rate_bpm"] == [None]  # NaN shown as null (JSON)
    (js,) = rec.records()
    assert js["kind"] == DROPPED and js["force_n"] == [1e6]


def test_the_same_force_with_a_good_checksum_is_dropped_as_out_of_range() -> None:
    (rec,) = GdxResponseDecoder().feed(_with_checksum(AUDIT))
    assert rec.kind == DROPPED and rec.info["drop"] == "out of range"
    assert "force_n = 1e+06 is outside -50..100" in rec.info["reason"]


@pytest.mark.parametrize("force", [FORCE_LIMITS_N[0], 0.0, 2.5, 49.99, FORCE_LIMITS_N[1], float("nan")])
def test_forces_a_belt_can_give_are_kept(force: float) -> None:
    (rec,) = GdxResponseDecoder().feed(encode_measurement([[force, 12.0]], [1, 2]))
    assert rec.kind == "measurement"
    np.testing.assert_array_equal(rec.columns["force_n"], [np.float32(force)])


@pytest.mark.parametrize("force", [-50.5, 100.5, float("inf"), -float("inf"), 3.4e38])
def test_forces_no_belt_gives_are_dropped(force: float) -> None:
    (rec,) = GdxResponseDecoder().feed(encode_measurement([[1.0, 12.0], [force, 12.0]], [1, 2]))
    assert rec.kind == DROPPED and rec.info["drop"] == "out of range"


def test_packets_around_a_dropped_one_decode_and_keep_their_device_times() -> None:
    good = encode_measurement([[1.0, 12.0], [1.5, 12.0]], [1, 2], counter=1)
    bad = bytearray(encode_measurement([[2.0, 12.0], [2.5, 12.0]], [1, 2], counter=2))
    bad[3] ^= 0x01  # one bit off in the checksum
    later = encode_measurement([[3.0, 12.0], [3.5, 12.0]], [1, 2], counter=3)
    d = _using_checksums()  # 3 packets (0.0-0.2 s) that matched
    d.period_s = 0.1
    out = d.feed(good + bytes(bad) + later)  # one notification holding three packets
    assert [r.kind for r in out] == ["measurement", DROPPED, "measurement"]
    assert out[0].device_t_s is not None and out[0].device_t_s.tolist() == pytest.approx([0.3, 0.4])
    # The dropped packet's samples were taken all the same: the next packet's come after them.
    assert out[2].device_t_s is not None and out[2].device_t_s.tolist() == pytest.approx([0.7, 0.8])
    assert out[2].columns["force_n"].tolist() == [3.0, 3.5]
    assert d.pending == 0


def test_a_command_response_with_a_bad_checksum_is_dropped() -> None:
    resp = bytearray(build_packet(0x1A, b"\x00", 0xFE))
    resp[3] = (resp[3] + 1) & 0xFF
    (rec,) = _using_checksums().feed(bytes(resp))
    assert rec.kind == DROPPED and rec.info["would_be"] == "response" and rec.info["command"] == 0x1A


def test_a_belt_whose_packets_never_match_the_checksum_is_still_read() -> None:
    """That belts fill the byte with this checksum is untested on hardware (Vernier's libraries never check
    it): until one packet has matched, a mismatch drops nothing, or such a belt would not even start (its
    reply to init dropped); its forces are still range-checked."""
    d = GdxResponseDecoder()
    resp = bytearray(build_packet(0x1A, b"\x00", 0xFE))
    resp[3] = (resp[3] + 1) & 0xFF
    meas = bytearray(encode_measurement([[2.0, 12.0]], [1, 2]))
    meas[3] = (meas[3] + 7) & 0xFF
    out = d.feed(bytes(resp)) + d.feed(bytes(meas)) + d.feed(AUDIT)
    assert [r.kind for r in out] == ["response", "measurement", DROPPED] and not d.checksum_seen
    assert out[1].columns["force_n"].tolist() == [2.0] and out[2].info["drop"] == "out of range"


def test_rr_intervals_outside_the_limits_are_dropped_and_the_others_kept() -> None:
    dec = get_profile("heart-rate").stream("hrm").decoder()
    lo, hi = RR_LIMITS_MS
    (rec,) = dec.feed(encode_hrm(60, [lo + 1, hi - 1]))
    assert rec.kind == "hrm" and len(rec) == 2
    rec, drop = dec.feed(encode_hrm(60, [1000.0, 60000.0, 500.0]))
    assert rec.kind == "hrm" and rec.columns["rr_ms"].tolist() == [1000.0, 500.0] and rec.info["hr_bpm"] == 60
    assert drop.kind == DROPPED and drop.info["drop"] == "out of range" and drop.info["rr_ms"] == [60000.0]
    assert "RR 60000 ms outside 200..6000" in drop.info["reason"]
    rec, drop = dec.feed(encode_hrm(60, [100.0]))  # the only interval: an HR-only record remains
    assert len(rec) == 0 and rec.info["hr_bpm"] == 60 and drop.kind == DROPPED
    (rec,) = dec.feed(encode_hrm(60, []))  # no RR at all: nothing to check
    assert rec.kind == "hrm"


def test_an_rr_interval_of_zero_is_dropped_and_adds_nothing_to_the_next() -> None:
    """``10 3C 00 00``: RR 0 ms is no beat; it was decoded as ``rr_ms [0.0]`` (a sample), which the live
    source then discarded uncounted. Now it is out of range like any interval under 200 ms."""
    dec = get_profile("heart-rate").stream("hrm").decoder()
    rec, drop = dec.feed(bytes.fromhex("10 3C 00 00"))
    assert len(rec) == 0 and drop.kind == DROPPED and drop.info["drop"] == "out of range"
    assert drop.info["rr_ms"] == [0.0] and "RR 0 ms outside 200..6000" in drop.info["reason"]
    (rec,) = dec.feed(encode_hrm(60, [1000.0]))
    assert rec.columns["rr_ms"].tolist() == [1000.0]
    rec, drop = dec.feed(encode_hrm(60, [750.0, 0.0, 1000.0]))  # exact in 1/1024 s
    assert rec.columns["rr_ms"].tolist() == [750.0, 1000.0] and drop.info["rr_ms"] == [0.0]


@pytest.mark.parametrize(("range_g", "kept"), [(2, False), (8, True)])
def test_acc_limit_follows_the_range_the_strap_was_started_with(range_g: int, kept: bool) -> None:
    # 3000 mG on z: impossible at +-2 G (a 2-G sensor saturates near 2000 mG), ordinary at +-8 G.
    profile = polar_h10_profile(acc_range_g=range_g)
    frame = encode_frame(ACC, 10**9, np.array([[0, 0, 1000], [0, 0, 3000]]))
    for stream in ("acc", "pmd"):
        (rec,) = profile.stream(stream).decoder().feed(frame)
        assert (rec.kind == "acc") is kept
        if not kept:
            assert "acc_z = 3000 is outside -2500..2500" in rec.info["reason"]


def test_acc_margin_and_the_next_frames_spacing() -> None:
    limit = 8000 * ACC_RANGE_MARGIN
    d = PmdDataDecoder({ACC: 50.0}, acc_range_g=8)
    first = d.feed(encode_frame(ACC, 10**9, np.array([[0, 0, int(limit)]] * 2)))
    assert first[0].kind == "acc"
    bad = d.feed(encode_frame(ACC, 10**9 + 40_000_000, np.array([[0, 0, int(limit) + 1]] * 2)))
    assert bad[0].kind == DROPPED
    # The dropped frame's timestamp still spaces the next one (20 ms per sample, not stretched over 80 ms).
    (nxt,) = d.feed(encode_frame(ACC, 10**9 + 80_000_000, np.array([[0, 0, 1000]] * 2)))
    assert nxt.device_t_s is not None and np.diff(nxt.device_t_s).tolist() == pytest.approx([0.02])


def test_ecg_is_not_range_checked() -> None:
    (rec,) = PmdDataDecoder(acc_range_g=2).feed(encode_frame(ECG, 5, np.array([-(2**23), 2**23 - 1])))
    assert rec.kind == "ecg"


def test_a_belt_that_zeroes_the_checksum_byte_is_not_taken_to_use_it_by_one_chance_match() -> None:
    """With byte 3 always 0, a varying force makes the bytes sum to 0 about once in 256 packets: one such
    match made every later packet 'bad checksum' (2940 of 3000 dropped)."""
    d = GdxResponseDecoder()
    kinds = []
    for k in range(3000):
        p = bytearray(encode_measurement([[5.0 + np.sin(k / 8.0), 12.0]], [1, 2]))
        p[3] = 0
        kinds += [r.kind for r in d.feed(bytes(p))]
    assert kinds.count("measurement") == 3000 and not d.checksum_seen


def test_an_extra_detection_keeps_the_straps_clock() -> None:
    """A double-counted R wave splits an 800-ms beat into 150 + 650 ms. Its 150 ms is added to the next
    interval (one beat of 800 ms, the truth), so the running sum, the strap's only clock, keeps its time:
    dropping it left the next two minutes of beats 139 ms early (under the clock's 0.3-s re-anchor)."""
    from breathsync.dsp.clock import BeatClock

    rr = np.full(400, 800.0)
    rr[100] = 150.0
    rr = np.insert(rr, 101, 650.0)
    beats = np.cumsum(rr) / 1000.0 + 100.0
    dec, clock = get_profile("heart-rate").stream("hrm").decoder(), BeatClock()
    rng = np.random.default_rng(1)
    got, want = [], []
    for i in range(0, rr.size, 1):  # one interval a notification, arriving 0-0.3 s after its beat
        (rec, *drop) = dec.feed(encode_hrm(70, [float(rr[i])]))
        if drop:
            assert drop[0].info["drop"] == "out of range" and rr[i] == 150.0
        t = clock.update(rec.columns["rr_ms"], beats[i] + rng.uniform(0.0, 0.3))
        got += list(t)
        want += [beats[i]] if rec.columns["rr_ms"].size else []
    err = np.abs(np.array(got) - np.array(want))
    assert rr[101] + 150.0 == 800.0 and len(got) == rr.size - 1
    assert np.median(err[102:220]) < 0.02
