"""Polar H10 PMD: commands, control point replies, data frames and per-sample times (ble.md section 2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import DecodeError, Subscribe, Write, get_profile
from devices.polar_pmd import (
    ACC,
    ECG,
    PMD_CONTROL,
    PMD_DATA,
    PmdDataDecoder,
    encode_frame,
    get_settings_command,
    parse_control_reply,
    parse_frame,
    start_acc_command,
    start_ecg_command,
    stop_command,
)


def h(s: str) -> bytes:
    return bytes.fromhex(s)


SDK_ACC = h("02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 F8 FF FE FF E5 03")
PDF_ACC = h("02 EA 54 A2 42 8B 45 52 08 01 45 FF E4 FF B5 03 45 FF E4 FF B8 03")
SDK_ECG = h("00 00 94 35 77 00 00 00 00 00 02 80 FF 02 80 00")
SDK_DELTA = h("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08")


def test_commands() -> None:
    assert get_settings_command(ACC) == h("01 02")
    assert get_settings_command(ECG) == h("01 00")
    assert start_acc_command(200, 8) == h("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")
    for rate, code in ((25, "19 00"), (50, "32 00"), (100, "64 00")):
        for rng, rcode in ((2, "02 00"), (4, "04 00"), (8, "08 00")):
            assert start_acc_command(rate, rng) == h(f"02 02 00 01 {code} 01 01 10 00 02 01 {rcode}")
    assert start_ecg_command() == h("02 00 00 01 82 00 01 01 0E 00")
    assert stop_command(ACC) == h("03 02") and stop_command(ECG) == h("03 00")
    with pytest.raises(ValueError, match="rate"):
        start_acc_command(60)


def test_start_reply_ok_and_errors() -> None:
    r = parse_control_reply(h("F0 02 02 00 00"))
    assert r.ok and r.error is None and (r.op, r.measurement) == (2, ACC)
    bad = parse_control_reply(h("F0 02 02 06 00"))
    assert not bad.ok and bad.error == "Polar PMD start acc failed: already in that state (status 6)"
    # Stopping what is not running leaves it off: not a failure (the start steps stop first).
    off = parse_control_reply(h("F0 03 02 06 00"))
    assert off.ok and off.error is None
    assert "in its charger" in (parse_control_reply(h("F0 02 00 0D")).error or "")
    assert "unknown error (status 200)" in (parse_control_reply(h("F0 03 02 C8")).error or "")


def test_get_settings_reply() -> None:
    # ACC: rates 25/50/100/200 Hz, 16 bit, ranges 2/4/8 G (ble.md); laid out as <type> <count> <values>.
    r = parse_control_reply(
        h("F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00")
    )
    assert r.settings == {"sample_rate_hz": [25, 50, 100, 200], "resolution_bits": [16], "range_g": [2, 4, 8]}
    r = parse_control_reply(h("F0 01 00 00 00 00 01 82 00 01 01 0E 00"))
    assert r.settings == {"sample_rate_hz": [130], "resolution_bits": [14]}


@pytest.mark.parametrize(
    ("hexs", "msg"),
    [
        ("F0 02", "truncated"),
        ("E0 02 02 00", "must start with F0"),
        ("F0 01 02 00 00 09 01 00", "unknown setting"),
    ],
)
def test_bad_replies(hexs: str, msg: str) -> None:
    with pytest.raises(DecodeError, match=msg):
        parse_control_reply(h(hexs))


def test_sdk_acc_frame() -> None:
    f = parse_frame(SDK_ACC)
    assert f.timestamp_ns == 2_000_000_000 and not f.compressed
    assert f.samples.tolist() == [[-9, -1, 999], [-8, -2, 997]]


def test_pdf_acc_frame() -> None:
    f = parse_frame(PDF_ACC)
    assert f.timestamp_ns == 599618164814402794
    # The PDF prints x = -184: the bytes 45 FF say -187 (the misprint noted in ble.md).
    assert f.samples[0].tolist() == [-187, -28, 949]
    assert f.samples[1].tolist() == [-187, -28, 952]


def test_sdk_ecg_frame() -> None:
    f = parse_frame(SDK_ECG)
    assert f.measurement == ECG and f.samples[:, 0].tolist() == [-32766, 32770]


def test_sdk_delta_compressed_acc_frame() -> None:
    f = parse_frame(SDK_DELTA)
    assert f.compressed and f.timestamp_ns == 101
    assert f.samples.tolist() == [[-15, 20, 1008], [-20, 17, 1008]]


def test_per_sample_times() -> None:
    d = PmdDataDecoder({ACC: 50.0})
    (a,) = d.feed(SDK_ACC)
    assert a.device_t_s is not None
    # First frame: spacing 1/rate, the last sample carries the frame timestamp.
    assert a.device_t_s.tolist() == pytest.approx([2.0 - 0.02, 2.0])
    # Next frame: spacing = (this ts - previous ts) / n.
    nxt = encode_frame(ACC, 2_000_000_000 + 2 * 19_000_000, np.array([[1, 2, 3], [4, 5, 6]]))
    (b,) = d.feed(nxt)
    assert b.device_t_s is not None
    assert b.device_t_s.tolist() == pytest.approx([2.019, 2.038])
    # A lost frame (gap of 6 samples for 2) does not stretch the samples: back to 1/rate.
    far = encode_frame(ACC, 2_038_000_000 + 6 * 20_000_000, np.array([[1, 2, 3], [4, 5, 6]]))
    (c,) = d.feed(far)
    assert c.device_t_s is not None and np.diff(c.device_t_s) == pytest.approx([0.02])
    assert c.records()[-1]["timestamp_ns"] == 2_158_000_000


def test_stream_filters_measurement_type() -> None:
    acc = get_profile("polar-h10").stream("acc").decoder()
    with pytest.raises(DecodeError, match="expected a acc frame"):
        acc.feed(SDK_ECG)
    (e,) = get_profile("polar-h10").stream("pmd").decoder().feed(SDK_ECG)
    assert e.kind == "ecg" and e.columns["ecg_uv"].tolist() == [-32766, 32770]


@pytest.mark.parametrize(
    ("hexs", "msg"),
    [
        ("02 00 94 35", "truncated PMD data frame header"),
        ("02 00 94 35 77 00 00 00 00 01", "not a multiple of 6"),
        ("02 00 94 35 77 00 00 00 00 01 F7 FF FF", "not a multiple of 6"),
        ("00 00 94 35 77 00 00 00 00 00 02 80", "not a multiple of 3"),
        ("05 00 94 35 77 00 00 00 00 01 00", "unsupported"),
        ("00 00 94 35 77 00 00 00 00 80 00 00 00", "unsupported delta-compressed ecg"),
        ("02 65 00 00 00 00 00 00 00 81 F1 FF 14", "reference sample"),
        ("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06", "block header"),
        ("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F", "truncated PMD delta block"),
        ("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 40 01 00", "over 32"),
    ],
)
def test_malformed_frames(hexs: str, msg: str) -> None:
    with pytest.raises(DecodeError, match=msg):
        parse_frame(h(hexs))


def test_delta_encoder_round_trip_several_blocks() -> None:
    rng = np.random.default_rng(3)
    s = np.cumsum(rng.integers(-300, 300, size=(37, 3)), axis=0) + np.array([0, 0, 1000])
    s[20:] += rng.integers(-3, 3, size=(17, 3))  # later blocks need fewer bits
    data = encode_frame(ACC, 123456789, s, compressed=True, block=8)
    assert len(data) < len(encode_frame(ACC, 123456789, s))
    assert parse_frame(data).samples.tolist() == s.tolist()


def test_profile_start_and_stop_steps() -> None:
    p = get_profile("polar-h10")
    steps = p.controller().start_steps()
    subs = [s for s in steps if isinstance(s, Subscribe)]
    writes = [s for s in steps if isinstance(s, Write)]
    # Indications on the control point are enabled before any command is written.
    assert steps.index(subs[-1]) < steps.index(writes[0])
    assert {s.characteristic for s in subs} >= {PMD_CONTROL, PMD_DATA}
    # A strap left streaming refuses a start (status 6): stop ACC first, then start it.
    assert [w.data for w in writes] == [h("03 02"), start_acc_command(50, 8)]
    assert all(w.reply == "control" for w in writes)
    assert [w.data for w in p.controller().stop_steps() if isinstance(w, Write)] == [h("03 02")]
    assert p.matches("Polar H10 1A2B3C4D") and not p.matches("Polar OH1 1234")


def test_a_delta_block_must_hold_its_samples() -> None:
    """A block of 0-bit deltas holds no bytes, so its count was free: the audit's 210-byte frame of such
    blocks gave 25501 samples and device times down to -510 s. Width 0 and count 0 are malformed frames."""
    head = "02 0000000000000000 81 000000000000"
    with pytest.raises(DecodeError, match="byte 16: bit width 0"):
        parse_frame(h(head + "00FF" * 100))
    with pytest.raises(DecodeError, match="byte 16: sample count 0"):
        parse_frame(h(head + "0100" * 100))
    # After a valid block (the SDK vector's), the next block is checked too.
    with pytest.raises(DecodeError, match="byte 21: bit width 0"):
        parse_frame(SDK_DELTA + h("00 05"))
    dec = get_profile("polar-h10").stream("acc").decoder()
    with pytest.raises(DecodeError):
        dec.feed(h(head + "00FF" * 100))


def _block(width: int, count: int) -> bytes:
    return bytes([width, count]) + bytes((width * count * 3 + 7) // 8)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.builds(_block, st.integers(0, 4), st.integers(0, 40)), min_size=1, max_size=6))
def test_a_delta_frame_holds_at_most_8_samples_per_3_bytes(blocks: list[bytes]) -> None:
    """At least one bit per delta, three deltas per sample: a frame's samples are bounded by its bytes."""
    body = b"".join(blocks)
    try:
        f = parse_frame(h("02 0000000000000000 81 000000000000") + body)
    except DecodeError:
        return
    assert f.samples.shape[0] <= 1 + len(body) * 8 // 3
