"""Vernier Go Direct Respiration Belt (GDX-RB): command packets, response reassembly, measurements.

Facts: ../shared/notes/ble.md section 3, gathered from Vernier's godirect-py (GPL: read for facts only, no
code taken) and a public GDX-RB client in espruino/BangleApps. Spoken directly here because the vendor
library is synchronous and fails inside a running asyncio loop.

Not documented there, so chosen here and marked as such: the stop command is sent without payload (Vernier's
older Skip/GoIO command tables list STOP_MEASUREMENTS without parameters); measurement packets are assumed to
come through the same length-prefixed reassembly as command responses; packets the belt sends are assumed to
carry the same checksum as the commands sent to it, and one whose checksum fails is DROPPED (a corrupted packet
once carried a force of 1e6 N into a session) once three packets in a row from the same belt have matched it. Vernier's own
libraries (godirect-py, godirect-js) compute that checksum for the packets they send and do not check the ones
they receive, so this assumption is untested on a real belt: a belt whose packets never match it is read as
before, its forces guarded by the range check alone, rather than every packet dropped (``breathsync decode``
on its bytes shows the mismatches).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from devices._base import (
    Decoded,
    DecodeError,
    Profile,
    Step,
    StreamSpec,
    Subscribe,
    Write,
    dropped,
    need,
    out_of_range,
)

GDX_SERVICE = "d91714ef-28b9-4f91-ba16-f0d9a604f112"
GDX_COMMAND = "f4bf14a6-c7d5-4b6d-8aa8-df1a7c83adcb"
GDX_RESPONSE = "b41e6675-a329-40e0-aa01-44d2f444babe"

#: Largest write and largest notification chunk on this link.
CHUNK_BYTES = 20

COMMAND_START = 0x58
MEASUREMENT_START = 0x20

CMD_STATUS = 0x10
CMD_START = 0x18
CMD_STOP = 0x19
CMD_INIT = 0x1A
CMD_SET_PERIOD = 0x1B
CMD_SENSOR_INFO = 0x50
CMD_AVAILABLE_MASK = 0x51
CMD_DEVICE_INFO = 0x55
CMD_DEFAULT_MASK = 0x56

#: The init payload exactly as the vendor library sends it (ble.md's init vector).
INIT_PAYLOAD = bytes.fromhex("A5 4A 06 49 07 48 08 47 09 46 0A 45 0B 44 0C 43 0D 42 0E 41")

VALUE_FLOAT32 = 6

#: Sensor number -> decoded column name (sensor n is bit n of the mask).
SENSOR_COLUMNS = {1: "force_n", 2: "belt_rate_bpm"}
#: Force and the belt's own respiration rate.
DEFAULT_SENSOR_MASK = (1 << 1) | (1 << 2)

#: Force values (N) kept; a packet with a force outside is dropped. Vernier's GDX-RB user manual
#: (vernier.com/manuals/gdx-rb, "Specifications") rates the force sensor 0 to 50 N; not in ble.md. The
#: limits are generous on purpose (ours): a belt zeroed under tension reads below 0 on the exhale and a load
#: cell reads somewhat past its rating, so only what no belt can report (e.g. 1e6 N) is refused. The belt's
#: own rate (sensor 2) feeds nothing and is not checked.
FORCE_LIMITS_N = (-50.0, 100.0)


CHECKSUM_EVIDENCE = 3
"""Packets in a row whose checksum byte matches before a belt is taken to use the checksum (and a mismatch
drops a packet): one match is no evidence, as a belt that fills the byte otherwise matches by chance about
once in 256 packets (with the byte 0, a varying force matched at packet 46 and then 2940 of 3000 packets
were dropped); three in a row by chance is about one in 17 million."""


def checksum(packet: bytes) -> int:
    """Sum of all bytes with the checksum byte (index 3) taken as 0, & 0xFF."""
    return (sum(packet) - packet[3]) & 0xFF if len(packet) > 3 else sum(packet) & 0xFF


def build_packet(command: int, payload: bytes, counter: int) -> bytes:
    """``58 <length> <counter> <checksum> <command> <payload...>``; length counts the whole packet."""
    n = 5 + len(payload)
    if n > 255:
        raise ValueError(f"GDX packet too long ({n} bytes)")
    p = bytearray([COMMAND_START, n, counter & 0xFF, 0, command]) + payload
    p[3] = checksum(bytes(p))
    return bytes(p)


def sensor_mask(sensors: list[int] | tuple[int, ...]) -> int:
    """Bit mask of sensor numbers (sensor n = bit n)."""
    m = 0
    for s in sensors:
        if not 0 <= s < 32:
            raise ValueError(f"GDX sensor number must be 0..31, got {s}")
        m |= 1 << s
    return m


def sensors_in_mask(mask: int) -> list[int]:
    """Sensor numbers of a mask, in mask (ascending bit) order."""
    return [i for i in range(32) if mask >> i & 1]


@dataclass
class GdxCommands:
    """Command packets with the rolling counter (starts at 0xFF, decremented before each use)."""

    counter: int = 0xFF

    def packet(self, command: int, payload: bytes = b"") -> bytes:
        self.counter = (self.counter - 1) & 0xFF
        return build_packet(command, payload, self.counter)

    def init(self) -> bytes:
        return self.packet(CMD_INIT, INIT_PAYLOAD)

    def set_period(self, period_us: int) -> bytes:
        """``1B FF 00 <period us u32 LE> 00 00 00 00``."""
        if not 0 < period_us < 1 << 32:
            raise ValueError(f"GDX period must be a positive number of microseconds, got {period_us}")
        return self.packet(CMD_SET_PERIOD, b"\xff\x00" + period_us.to_bytes(4, "little") + bytes(4))

    def start(self, mask: int) -> bytes:
        """``18 FF 01 <sensor mask u32 LE> 00 x8``."""
        return self.packet(CMD_START, b"\xff\x01" + mask.to_bytes(4, "little") + bytes(8))

    def stop(self) -> bytes:
        return self.packet(CMD_STOP)

    def status(self) -> bytes:
        return self.packet(CMD_STATUS)

    def available_sensors(self) -> bytes:
        return self.packet(CMD_AVAILABLE_MASK)

    def default_sensors(self) -> bytes:
        return self.packet(CMD_DEFAULT_MASK)

    def device_info(self) -> bytes:
        return self.packet(CMD_DEVICE_INFO)

    def sensor_info(self, sensor: int) -> bytes:
        return self.packet(CMD_SENSOR_INFO, bytes([sensor]))


@dataclass(frozen=True)
class Measurement:
    """A measurement packet: ``values`` (samples, sensors) for ``sensors`` in mask order."""

    counter: int
    value_type: int
    mask: int
    sensors: list[int]
    values: np.ndarray
    checksum_ok: bool


def parse_measurement(packet: bytes) -> Measurement:
    """``20 <len> <counter> <checksum> <value type> <mask u16> <count> <byte> <float32 values...>``.

    Values from byte 9, float32 LE, interleaved per sample over the enabled sensors in mask order.
    """
    packet = bytes(packet)
    need(packet, 9, "GDX measurement packet")
    if packet[0] != MEASUREMENT_START:
        raise DecodeError(f"GDX measurement packet must start with 20, got {packet[0]:02X}")
    vtype = packet[4]
    if vtype != VALUE_FLOAT32:
        raise DecodeError(f"GDX measurement: unsupported value type {vtype} (only 6 = float32)")
    mask = int.from_bytes(packet[5:7], "little")
    count = packet[7]
    sensors = sensors_in_mask(mask)
    if count and not sensors:
        raise DecodeError("GDX measurement: samples but an empty sensor mask")
    n = count * len(sensors)
    need(packet, 9 + 4 * n, f"GDX measurement ({count} samples x {len(sensors)} sensors)")
    values = np.frombuffer(packet[9 : 9 + 4 * n], dtype="<f4").astype(np.float64).reshape(count, len(sensors))
    ok = checksum(packet) == packet[3]
    return Measurement(packet[2], vtype, mask, sensors, values, ok)


def encode_measurement(values: np.ndarray, sensors: list[int], counter: int = 0) -> bytes:
    """Build a measurement packet from the documented layout (tests and fake belts; byte 8 = 0)."""
    v = np.asarray(values, dtype="<f4").reshape(-1, len(sensors))
    mask = sensor_mask(sensors)
    body = bytes([VALUE_FLOAT32]) + mask.to_bytes(2, "little") + bytes([v.shape[0], 0]) + v.tobytes()
    if 4 + len(body) > 255:  # the length byte counts the whole packet
        raise ValueError(f"{v.shape[0]} samples x {len(sensors)} sensors do not fit one packet (255 bytes)")
    p = bytearray([MEASUREMENT_START, 4 + len(body), counter & 0xFF, 0]) + body
    p[3] = checksum(bytes(p))
    return bytes(p)


def split_chunks(packet: bytes, size: int = CHUNK_BYTES) -> list[bytes]:
    """Cut a packet into link-sized chunks (writes and notifications are at most 20 bytes)."""
    return [packet[i : i + size] for i in range(0, len(packet), size)]


@dataclass
class GdxResponseDecoder:
    """Stream decoder for the response characteristic: reassembles chunks until the buffer holds byte[1]
    bytes, then decodes measurement (0x20) and command-response (0x58) packets.

    Device time: sample k of the stream (counted from the first measurement) is at ``k * period_s``.
    After an error the buffer is dropped, so the next packet start resynchronises.
    """

    period_s: float = 0.1
    _buf: bytearray = field(default_factory=bytearray)
    _samples: int = 0
    checksum_seen: bool = False  # CHECKSUM_EVIDENCE packets in a row from this belt matched: it uses it
    _matched_in_a_row: int = 0

    def feed(self, data: bytes) -> list[Decoded]:
        data = bytes(data)
        if not data:
            raise DecodeError("GDX: empty notification")
        if not self._buf and data[0] not in (COMMAND_START, MEASUREMENT_START):
            raise DecodeError(f"GDX: {data[0]:02X} is not the start of a packet (58 or 20); chunk dropped")
        self._buf += data
        out: list[Decoded] = []
        try:
            while len(self._buf) >= 2:
                length = self._buf[1]
                if length < 5:
                    raise DecodeError(f"GDX: packet length {length} is too short")
                if len(self._buf) < length:
                    break
                packet = bytes(self._buf[:length])
                del self._buf[:length]
                out.append(self._decode(packet))
                if self._buf and self._buf[0] not in (COMMAND_START, MEASUREMENT_START):
                    raise DecodeError(f"GDX: {self._buf[0]:02X} after a packet is not a packet start")
        except DecodeError:
            self._buf.clear()
            raise
        return out

    @property
    def pending(self) -> int:
        """Bytes waiting for the rest of their packet."""
        return len(self._buf)

    def _decode(self, packet: bytes) -> Decoded:
        """One whole packet; an impossible force makes it a DROPPED record, and so does a bad checksum
        once packets from this belt have matched it (:attr:`checksum_seen`): until then a mismatch may be
        the belt's own way of filling that byte (untested on hardware, module docstring), and dropping
        every packet would make the belt unusable, so the range check alone guards its values."""
        good_sum = checksum(packet) == packet[3]
        self._matched_in_a_row = self._matched_in_a_row + 1 if good_sum else 0
        self.checksum_seen = self.checksum_seen or self._matched_in_a_row >= CHECKSUM_EVIDENCE
        enforce = self.checksum_seen
        if packet[0] == MEASUREMENT_START:
            m = parse_measurement(packet)
            cols = {
                SENSOR_COLUMNS.get(s, f"sensor_{s}"): m.values[:, i].copy() for i, s in enumerate(m.sensors)
            }
            n = m.values.shape[0]
            t = (self._samples + np.arange(n, dtype=np.float64)) * self.period_s
            # A dropped packet's samples were taken all the same: the next packet's come after them.
            self._samples += n
            rec = Decoded("measurement", cols, t, {"counter": m.counter, "sensor_mask": m.mask})
            if not m.checksum_ok and enforce:
                return dropped("bad checksum", _checksum_text(packet), packet, rec)
            bad = out_of_range(cols, {"force_n": FORCE_LIMITS_N})
            if bad is not None:
                return dropped("out of range", f"GDX measurement: {bad} N", packet, rec)
            return rec
        info: dict[str, Any] = {"command": packet[4], "counter": packet[2], "payload_hex": packet[5:].hex()}
        rec = Decoded("response", {}, None, info)
        if not good_sum and enforce:
            return dropped("bad checksum", _checksum_text(packet), packet, rec)
        return rec


def _checksum_text(packet: bytes) -> str:
    return (
        f"GDX: bad checksum: byte 3 is {packet[3]:02X}, the other bytes sum to {checksum(packet):02X} "
        "(mod 256): a corrupted packet, dropped"
    )


@dataclass
class GdxController:
    """Per-connection GDX commands (the rolling counter belongs to the connection)."""

    period_us: int
    mask: int
    commands: GdxCommands = field(default_factory=GdxCommands)

    def _write(self, packet: bytes, what: str) -> Write:
        return Write(GDX_COMMAND, packet, response=False, reply="response", what=what, chunk=CHUNK_BYTES)

    def start_steps(self) -> list[Step]:
        c = self.commands
        return [
            Subscribe(GDX_RESPONSE, "response"),
            self._write(c.init(), "init"),
            self._write(c.set_period(self.period_us), "set period"),
            self._write(c.start(self.mask), "start"),
        ]

    def stop_steps(self) -> list[Step]:
        return [self._write(self.commands.stop(), "stop")]


def gdx_rb_profile(period_ms: float = 100.0, sensors: tuple[int, ...] = (1, 2)) -> Profile:
    """Vernier GDX-RB: sensor 1 (force, N) is the breathing waveform; sensor 2 the belt's own rate."""
    period_us = round(period_ms * 1000)
    mask = sensor_mask(sensors)
    period_s = period_us / 1e6
    stream = StreamSpec(
        "response",
        GDX_RESPONSE,
        lambda: GdxResponseDecoder(period_s=period_s),
        "GDX responses (58 ...) and measurements (20 ...): force_n, belt_rate_bpm",
        signal="resp",
        signal_columns={"resp": "force_n"},
    )
    return Profile(
        name="gdx-rb",
        title="Vernier Go Direct Respiration Belt (GDX-RB)",
        service_uuids=(GDX_SERVICE,),
        name_prefixes=("GDX-RB",),
        name_required=True,
        streams={"response": stream, "measurement": stream},
        controller=lambda: GdxController(period_us, mask),
        signal="resp",
        signal_stream="response",
        breathing="belt force in newtons: the breathing waveform itself",
        settings={"period_ms": period_ms, "sensors": list(sensors)},
        maker="Vernier",
        model="Go Direct Respiration Belt (GDX-RB)",
    )
