"""Property tests: random bytes raise nothing but DecodeError; encode -> decode round trips."""

from __future__ import annotations

import contextlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import DROPPED, PROFILES, DecodeError
from devices.gdx import FORCE_LIMITS_N, GdxResponseDecoder, encode_measurement, split_chunks
from devices.heart_rate import decode_hrm, encode_hrm
from devices.polar_pmd import (
    ACC,
    ACC_RANGE_MARGIN,
    ECG,
    PmdDataDecoder,
    encode_frame,
    parse_control_reply,
    parse_frame,
)

STREAMS = [(p.name, s) for p in PROFILES.values() for s in p.streams]


def _feed_all(chunks: list[bytes], name: str, stream: str) -> None:
    dec = PROFILES[name].stream(stream).decoder()
    for c in chunks:
        try:
            for d in dec.feed(c):
                d.records()
        except DecodeError as e:
            assert str(e) and "\n" not in str(e)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=6), st.sampled_from(STREAMS))
def test_random_bytes_only_decode_error(chunks: list[bytes], which: tuple[str, str]) -> None:
    _feed_all(chunks, *which)


# Random bytes behind a valid header reach deeper into the decoders than fully random ones.
@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([b"\x02", b"\x00"]),
    st.binary(min_size=8, max_size=8),
    st.integers(0, 255),
    st.binary(max_size=60),
)
def test_random_pmd_bodies(meas: bytes, ts: bytes, ftype: int, body: bytes) -> None:
    _feed_all([meas + ts + bytes([ftype]) + body], "polar-h10", "pmd")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([0x20, 0x58]), st.integers(0, 255), st.binary(max_size=80))
def test_random_gdx_packets(start: int, length: int, body: bytes) -> None:
    data = bytes([start, length]) + body
    _feed_all(split_chunks(data), "gdx-rb", "response")


@given(st.binary(max_size=30))
def test_random_replies_and_hrm(data: bytes) -> None:
    for fn in (parse_control_reply, decode_hrm, parse_frame):
        with contextlib.suppress(DecodeError):
            fn(data)
    with contextlib.suppress(DecodeError):
        parse_control_reply(b"\xf0\x01\x02\x00\x00" + data)


acc_samples = st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=1, max_size=60).map(
    lambda rows: np.array(rows, dtype=np.int64)
)


@given(acc_samples, st.integers(0, 2**64 - 1))
def test_acc_round_trip(samples: np.ndarray, ts: int) -> None:
    f = parse_frame(encode_frame(ACC, ts, samples))
    assert f.timestamp_ns == ts and f.samples.tolist() == samples.tolist()


@given(acc_samples, st.integers(1, 20))
def test_delta_compressed_acc_round_trip(samples: np.ndarray, block: int) -> None:
    (d,) = PmdDataDecoder().feed(encode_frame(ACC, 10**12, samples, compressed=True, block=block))
    if np.abs(samples).max() > 8000 * ACC_RANGE_MARGIN:  # beyond the default 8 G range: dropped, values shown
        assert d.kind == DROPPED and d.info["drop"] == "out of range"
        assert [d.info[k] for k in ("acc_x", "acc_y", "acc_z")] == samples.T.tolist()
        return
    got = np.column_stack([d.columns["acc_x"], d.columns["acc_y"], d.columns["acc_z"]])
    assert got.tolist() == samples.tolist()
    assert d.device_t_s is not None and d.device_t_s[-1] == 1000.0


@given(st.lists(st.integers(-(2**23), 2**23 - 1), min_size=1, max_size=73))
def test_ecg_round_trip(uv: list[int]) -> None:
    assert parse_frame(encode_frame(ECG, 5, np.array(uv))).samples[:, 0].tolist() == uv


@given(
    st.integers(0, 65535),
    st.lists(st.floats(300, 2000), max_size=8),
    st.sampled_from([None, True, False]),
    st.one_of(st.none(), st.integers(0, 65535)),
)
def test_hrm_round_trip(hr: int, rr: list[float], contact: bool | None, energy: int | None) -> None:
    m = decode_hrm(encode_hrm(hr, rr, contact, energy))
    assert (m.hr_bpm, m.contact, m.energy_kj) == (hr, contact, energy)
    assert np.allclose(m.rr_ms, rr, atol=1000 / 1024 / 2 + 1e-9)


@given(
    # A packet's length byte limits it to 255 bytes: 30 samples of two float32 sensors.
    st.lists(st.tuples(st.floats(-100, 100, width=32), st.floats(0, 60, width=32)), min_size=1, max_size=30),
    st.integers(1, 20),
)
def test_gdx_measurement_round_trip(rows: list[tuple[float, float]], size: int) -> None:
    vals = np.array(rows, dtype=np.float32)
    dec = GdxResponseDecoder(period_s=0.05)
    out = [d for c in split_chunks(encode_measurement(vals, [1, 2]), size) for d in dec.feed(c)]
    assert len(out) == 1
    lo, hi = FORCE_LIMITS_N
    if not (lo <= vals[:, 0]).all() or not (vals[:, 0] <= hi).all():  # an impossible force: dropped, shown
        assert out[0].kind == DROPPED and out[0].info["force_n"] == vals[:, 0].astype(np.float64).tolist()
        return
    assert out[0].columns["force_n"].tolist() == vals[:, 0].astype(np.float64).tolist()
    assert out[0].columns["belt_rate_bpm"].tolist() == vals[:, 1].astype(np.float64).tolist()
