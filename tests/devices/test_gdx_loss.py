"""A lost or garbled GDX-RB notification costs its own packet, never the belt's time base.

The belt's packets carry no time: its clock is the count of its samples (devices/gdx.py, "Time"). A lost
piece of one packet used to swallow the next packet too and leave both uncounted, so every later sample was
placed 0.29 s early for the rest of the session (at 15/min, 26 degrees of relative phase). Packets are
built byte by byte from the layout in ../shared/notes/ble.md section 3 (``encode_measurement``) and cut into
20-byte notifications; each test loses or garbles one piece and checks that the samples after it stay near
their true times (as the BLE source maps them: ``ClockMapper`` fed each packet's last sample and arrival)
and that the loss is counted, not silently shifted.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from breathsync.dsp.clock import ClockMapper
from devices import DROPPED, DecodeError
from devices.gdx import (
    BANGLEAPPS_PACKET,
    RUN_SPACING_S,
    GdxResponseDecoder,
    checksum,
    declared_samples,
    encode_measurement,
    parse_measurement,
    split_chunks,
)

PERIOD_S = 0.1
PER_PACKET = 3  # 3 samples x 2 sensors: 33 bytes, two notifications (20 + 13 bytes)
PACKETS = 400
HIT = 200  # the packet that loses or garbles a piece
T0 = 1.0  # host time of sample 0
BOUND_S = 0.06  # the simulated delivery delays are 5-50 ms: a sample placed within this is placed right


def packet(p: int) -> bytes:
    """Packet p: samples 3p..3p+2, force k/100 N (so each sample says which it is), the belt's rate 15/min."""
    k = np.arange(p * PER_PACKET, (p + 1) * PER_PACKET)
    return encode_measurement(np.column_stack([k / 100.0, np.full(k.size, 15.0)]), [1, 2], counter=p)


@dataclass
class Belt:
    """What a BLE source does with the belt's notifications: decode, map device time to host time by the
    packet's last sample and its arrival, keep times increasing, count what it drops."""

    decoder: GdxResponseDecoder = field(default_factory=lambda: GdxResponseDecoder(period_s=PERIOD_S))
    mapper: ClockMapper = field(default_factory=ClockMapper)
    t: list[float] = field(default_factory=list)
    k: list[int] = field(default_factory=list)
    device_t: list[float] = field(default_factory=list)
    malformed: int = 0
    dropped_by: dict[str, int] = field(default_factory=dict)

    def notify(self, data: bytes, arrival: float) -> None:
        try:
            records = self.decoder.feed(data)
        except DecodeError:
            self.malformed += 1
            return
        for rec in records:
            if rec.kind == DROPPED:
                why = str(rec.info["drop"])
                self.dropped_by[why] = self.dropped_by.get(why, 0) + 1
                continue
            if rec.kind != "measurement":
                continue
            assert rec.device_t_s is not None
            x = rec.device_t_s
            self.mapper.update(x[-1], arrival)
            t = self.mapper.to_host(x)
            keep = t > (self.t[-1] if self.t else -np.inf)
            self.t += t[keep].tolist()
            self.k += np.round(rec.columns["force_n"][keep] * 100).astype(int).tolist()
            self.device_t += x[keep].tolist()

    @property
    def errors(self) -> np.ndarray:
        """Mapped time minus true time of each sample that came through."""
        return np.array(self.t) - (T0 + np.array(self.k) * PERIOD_S)


def stream(damage: Callable[[list[bytes]], list[bytes]] | None = None, seed: int = 0) -> Belt:
    """PACKETS packets in 20-byte notifications, each arriving 5-50 ms after its last sample; ``damage``
    changes the notifications of packet HIT."""
    rng = np.random.default_rng(seed)
    belt = Belt()
    for p in range(PACKETS):
        chunks = split_chunks(packet(p))
        if p == HIT and damage is not None:
            chunks = damage(chunks)
        arrival = T0 + ((p + 1) * PER_PACKET - 1) * PERIOD_S + rng.uniform(0.005, 0.05)
        for c in chunks:
            belt.notify(c, arrival)
    return belt


def garble(i: int) -> Callable[[list[bytes]], list[bytes]]:
    """Flip bit 6 of byte ``i`` of the packet (counted across its notifications)."""

    def f(chunks: list[bytes]) -> list[bytes]:
        b = bytearray(b"".join(chunks))
        b[i] ^= 0x40
        return split_chunks(bytes(b))

    return f


def after_hit(belt: Belt) -> np.ndarray:
    k = np.array(belt.k)
    return belt.errors[k >= (HIT + 1) * PER_PACKET]


def test_undamaged_stream_is_placed_within_the_delivery_delay() -> None:
    belt = stream()
    assert len(belt.t) == PACKETS * PER_PACKET and belt.malformed == 0 and not belt.dropped_by
    assert np.abs(belt.errors).max() < BOUND_S


def test_a_lost_second_piece_costs_its_packet_only_and_its_samples_keep_the_clock() -> None:
    """gdxloss2.py's case: the packet whose second notification is lost is dropped as cut short when the
    next packet begins; its 3 samples are counted lost and the next packet keeps its device time exactly."""
    belt = stream(lambda chunks: chunks[:1])
    assert np.abs(after_hit(belt)).max() < BOUND_S, after_hit(belt).max()
    lost = set(range(HIT * PER_PACKET, (HIT + 1) * PER_PACKET))
    assert set(range(PACKETS * PER_PACKET)) - set(belt.k) == lost  # the next packet was not swallowed
    assert belt.dropped_by == {"incomplete": 1} and belt.malformed == 0
    assert belt.decoder.samples_lost == PER_PACKET and belt.decoder.clock_breaks == 0
    np.testing.assert_allclose(belt.device_t, np.array(belt.k) * PERIOD_S, atol=1e-9)


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        (lambda chunks: chunks[1:], "first piece lost"),
        (garble(0), "start byte"),
        (garble(1), "length byte"),
        (garble(4), "value type"),
        (garble(7), "sample count"),
    ],
)
def test_a_loss_of_unknown_size_costs_its_packet_only_and_the_clock_starts_again(
    damage: Callable[[list[bytes]], list[bytes]], what: str
) -> None:
    """Without the packet's header, or with a header that contradicts itself, the decoder cannot know how
    many samples went: the next packet starts a new run of the sample clock, placed by its arrival, instead
    of every later sample being placed early by the samples that were never counted."""
    belt = stream(damage)
    err = after_hit(belt)
    assert np.abs(err).max() < BOUND_S, (what, err.max())
    lost = set(range(HIT * PER_PACKET, (HIT + 1) * PER_PACKET))
    assert set(range(PACKETS * PER_PACKET)) - set(belt.k) == lost, what  # no other packet swallowed
    assert belt.malformed >= 1, what  # counted
    assert belt.decoder.clock_breaks == 1, what
    after = np.array(belt.device_t)[np.array(belt.k) > HIT * PER_PACKET]
    assert after.min() >= RUN_SPACING_S  # the new run, far from the old one on the device clock


def test_a_garbled_value_drops_the_packet_and_keeps_the_clock() -> None:
    belt = stream(garble(25))  # a byte of the second notification: the checksum fails
    assert belt.dropped_by == {"bad checksum": 1} and belt.malformed == 0
    assert np.abs(after_hit(belt)).max() < BOUND_S
    assert belt.decoder.clock_breaks == 0
    np.testing.assert_allclose(belt.device_t, np.array(belt.k) * PERIOD_S, atol=1e-9)


def test_a_chunk_that_starts_with_20_by_chance_is_not_a_new_packet() -> None:
    """Only a whole header that agrees with itself ends the packet being reassembled: a middle notification
    whose first byte happens to be 20 is still the rest of its packet."""
    tiny = struct.unpack("<f", bytes([0, 0, 0, 0x20]))[0]  # value 3 ends at byte 20 of the packet, with 20
    vals = np.array([[1.0, 12.0], [tiny, 12.0], [1.2, 12.0], [1.3, 12.0], [1.4, 12.0]])
    pkt = encode_measurement(vals, [1, 2])
    chunks = split_chunks(pkt)
    assert chunks[1][0] == 0x20 and len(chunks) == 3
    d = GdxResponseDecoder()
    out = [r for c in chunks for r in d.feed(c)]
    assert [r.kind for r in out] == ["measurement"]
    np.testing.assert_allclose(out[0].columns["force_n"], vals[:, 0], rtol=1e-6)


def test_a_one_byte_piece_cut_short_is_an_unknown_loss() -> None:
    d = GdxResponseDecoder()
    d.feed(packet(0))
    assert d.feed(b"\x20") == [] and d.pending == 1
    (cut, rec) = d.feed(packet(1))
    assert cut.kind == DROPPED and cut.info["drop"] == "incomplete" and "1 byte came" in cut.info["reason"]
    assert rec.kind == "measurement" and d.clock_breaks == 1


def test_the_real_belt_packet_from_bangleapps() -> None:
    """A packet a GDX-RB sent (quoted in espruino/BangleApps, apps/vernierrespirate/app.js): its length byte
    is 9 + 4 x 2 samples x 2 sensors and its checksum byte matches, as the decoder expects."""
    assert declared_samples(BANGLEAPPS_PACKET) == 2 and len(BANGLEAPPS_PACKET) == BANGLEAPPS_PACKET[1]
    assert checksum(BANGLEAPPS_PACKET) == BANGLEAPPS_PACKET[3]
    m = parse_measurement(BANGLEAPPS_PACKET)
    assert m.sensors == [1, 2] and m.checksum_ok
    np.testing.assert_allclose(m.values[:, 0], [-0.52946, -0.53201], atol=1e-5)
    assert np.isnan(m.values[:, 1]).all()  # the belt's rate: none yet
    (rec,) = GdxResponseDecoder().feed(BANGLEAPPS_PACKET)
    assert rec.kind == "measurement" and rec.device_t_s is not None
    assert rec.device_t_s.tolist() == pytest.approx([0.0, 0.1])
