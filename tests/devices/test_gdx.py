"""Vernier GDX-RB: packets, counter, checksum, reassembly, measurements (ble.md section 3).

The init vector comes from ble.md; the measurement vectors are OUR OWN, built by hand from the layout
ble.md documents (no recorded belt bytes were available): `20 <len> <counter> <checksum> 06 <mask u16>
<count> 00 <float32 values>`.
"""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest

from devices import DecodeError, Subscribe, Write, get_profile
from devices.gdx import (
    GDX_COMMAND,
    GDX_RESPONSE,
    GdxCommands,
    GdxResponseDecoder,
    build_packet,
    checksum,
    encode_measurement,
    parse_measurement,
    sensors_in_mask,
    split_chunks,
)


def h(s: str) -> bytes:
    return bytes.fromhex(s)


INIT = h("58 19 FE 3F 1A A5 4A 06 49 07 48 08 47 09 46 0A 45 0B 44 0C 43 0D 42 0E 41")

# Hand-built: force 1.5 N and rate NaN (no rate yet), then force 2.25 N and rate 12.0 /min; mask 0x0006.
F = struct.pack("<4f", 1.5, float("nan"), 2.25, 12.0).hex()
OWN_MEASUREMENT = h("20 19 07 00 06 06 00 02 00" + F)
OWN_MEASUREMENT = OWN_MEASUREMENT[:3] + bytes([checksum(OWN_MEASUREMENT)]) + OWN_MEASUREMENT[4:]


def test_init_matches_vendor_vector() -> None:
    assert GdxCommands().init() == INIT


def test_counter_decrements_and_wraps() -> None:
    c = GdxCommands()
    counters = [c.packet(0x10)[2] for _ in range(3)]
    assert counters == [0xFE, 0xFD, 0xFC]
    c.counter = 0
    assert c.packet(0x10)[2] == 0xFF


def test_command_layouts() -> None:
    c = GdxCommands(counter=0x10)
    p = c.set_period(100_000)
    assert p[:5] == h("58 0F 0F") + bytes([p[3]]) + h("1B")
    assert p[5:] == h("FF 00 A0 86 01 00 00 00 00 00")
    s = c.start(0b110)
    assert s[4:] == h("18 FF 01 06 00 00 00") + bytes(8) and s[1] == len(s)
    assert c.stop()[4] == 0x19
    for pkt in (p, s):
        assert sum(pkt[:3] + pkt[4:]) & 0xFF == pkt[3]  # checksum computed with its own byte as 0


def test_own_measurement_vector() -> None:
    m = parse_measurement(OWN_MEASUREMENT)
    assert m.sensors == [1, 2] and m.checksum_ok
    assert m.values[:, 0].tolist() == [1.5, 2.25]
    assert np.isnan(m.values[0, 1]) and m.values[1, 1] == 12.0


def test_reassembly_from_20_byte_chunks() -> None:
    d = GdxResponseDecoder(period_s=0.1)
    a, b = split_chunks(OWN_MEASUREMENT)
    assert len(a) == 20 and d.feed(a) == [] and d.pending == 20
    (rec,) = d.feed(b)
    assert rec.kind == "measurement" and rec.columns["force_n"].tolist() == [1.5, 2.25]
    assert rec.device_t_s is not None and rec.device_t_s.tolist() == [0.0, 0.1]
    (rec2,) = d.feed(OWN_MEASUREMENT)  # sample clock goes on
    assert rec2.device_t_s is not None and rec2.device_t_s.tolist() == pytest.approx([0.2, 0.3])
    js = rec.records()
    assert js[0]["belt_rate_bpm"] is None and js[1]["belt_rate_bpm"] == 12.0


def test_two_packets_in_one_chunk_and_a_response() -> None:
    resp = build_packet(0x1A, b"\x00", 0xFE)
    d = GdxResponseDecoder()
    out = d.feed(resp + OWN_MEASUREMENT[:10])
    assert [o.kind for o in out] == ["response"] and out[0].info["command"] == 0x1A
    assert [o.kind for o in d.feed(OWN_MEASUREMENT[10:])] == ["measurement"]


def test_encode_round_trip_many_samples() -> None:
    vals = np.column_stack([np.linspace(0, 3, 12), np.full(12, 14.0)]).astype(np.float32)
    pkt = encode_measurement(vals, [1, 2], counter=9)
    d = GdxResponseDecoder()
    out = [r for c in split_chunks(pkt) for r in d.feed(c)]
    assert len(out) == 1 and np.allclose(out[0].columns["force_n"], vals[:, 0])


@pytest.mark.parametrize(
    ("chunks", "msg"),
    [
        (["21 05 00 00 00"], "not the start of a packet"),
        (["58 03 00 00"], "too short"),
        (["20 0A 00 00 05 02 00 01 00 00"], "unsupported value type"),
        (["20 0A 00 00 06 00 00 01 00 00"], "empty sensor mask"),
        # 1 sample x 1 sensor is 13 bytes: a length byte of 10 is a garbled header, refused at once.
        (["20 0A 00 00 06 02 00 01 00 00"], "length byte 10 does not match its 1 samples x 1 sensors"),
        (["58 05 00 00 1A 77"], "is not a packet start"),
        ([""], "empty"),
    ],
)
def test_malformed(chunks: list[str], msg: str) -> None:
    d = GdxResponseDecoder()
    with pytest.raises(DecodeError, match=msg):
        for c in chunks:
            d.feed(h(c))
    assert d.pending == 0  # resynchronised: the next packet decodes
    assert [o.kind for o in d.feed(OWN_MEASUREMENT)] == ["measurement"]


def test_profile() -> None:
    p = get_profile("gdx-rb")
    ctl = p.controller()
    steps = ctl.start_steps()
    assert steps[0] == Subscribe(GDX_RESPONSE, "response")
    writes = [s for s in steps if isinstance(s, Write)]
    assert [w.what for w in writes] == ["init", "set period", "start"]
    assert writes[0].data == INIT and all(w.characteristic == GDX_COMMAND and w.chunk == 20 for w in writes)
    assert sensors_in_mask(writes[2].data[7]) == [1, 2]
    (stop,) = ctl.stop_steps()
    assert isinstance(stop, Write) and stop.data[4] == 0x19 and stop.data[2] == 0xFB  # same counter
    assert p.matches("GDX-RB 0K1234") and not p.matches("GDX-HD 151000C1", [p.service_uuids[0]])


def test_a_signalling_nan_is_a_nan_without_a_warning() -> None:
    """A float32 signalling NaN (7F80 0001) from the belt printed numpy's "invalid value encountered in cast"
    on stderr, during a session and from `breathsync decode`: it is a NaN (an empty cell), said by nothing."""
    packet = h("20 11 FE BD 06 06 00 01 00 01 00 80 7F 00 00 40 41")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = parse_measurement(packet)
    assert np.isnan(m.values[0, 0]) and m.values[0, 1] == 12.0
