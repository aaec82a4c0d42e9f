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
on its bytes shows the mismatches). One measurement packet a real belt sent is quoted in a comment of the
BangleApps client (espruino/BangleApps, apps/vernierrespirate/app.js): ``20 19 CF D8 06 06 00 02 FC ...``
(:data:`BANGLEAPPS_PACKET`); its checksum byte D8 does match, and its length byte 0x19 = 25 = 9 + 4 x 2
samples x 2 sensors.

Time. A measurement packet carries no time, so the belt's clock is its sample count: sample k of a run is at
``k x period``. What is known: the layout above, and that the length byte counts the whole packet (ble.md
section 3; the BangleApps packet). What is NOT known: how the belt steps byte 2 of its measurements. ble.md
names it a counter, and says of the packets the HOST sends that their counter starts at FF and is
decremented before each use, but not what the belt does with the byte in what it sends, and godirect-py
(godirect/device.py, ``_GDX_handle_measurement``) does not read it; so nothing here depends on it. Instead:

- A float32 measurement's length byte must equal ``9 + 4 x count x sensors`` of its own header, checked as
  soon as its first 9 bytes are in: a garbled header is refused at once instead of making the reassembly wait
  for bytes that belong to the packets behind it.
- A notification that begins with a whole, consistent measurement header while a packet is still incomplete
  means the rest of that packet was lost (a lost notification): it is dropped ("incomplete"), and when its
  header was in, its samples still count, so the packets after it keep their time (``samples_lost`` counts
  them). A chunk in the middle of a packet that starts like such a header by chance (20 and 06 at the right
  places and a length byte matching the count and mask) is about one in 16 million: accepted.
- A loss whose size is unknown (bytes that start no packet, a garbled header, a packet cut short before its
  header was in, a measurement of a kind this decoder does not read) breaks the count: the next measurement
  starts a new RUN, :data:`RUN_SPACING_S` later on the device clock. That jump is far beyond anything a
  device clock mapper can take for delivery delay (breathsync.dsp.clock.ClockMapper starts again on a point
  more than 2 s early), so the next packet's samples are placed again from their arrival times rather than
  shifted by the uncounted samples for the rest of the session (``clock_breaks`` counts the runs started).
  godirect-py names other measurement types that it skips (0x0C start time, 0x0D dropped, 0x0E period); their
  layouts are not known here, so one of those also starts a new run: the worst it costs is that the next
  samples are placed by their arrival.
- Not covered: a packet lost whole in one notification leaves no trace in the bytes (no counter is relied
  on), so its samples cannot be counted here.
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
from devices.battery import BATTERY_STREAM

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


#: A measurement packet as a real GDX-RB sent it, quoted in a comment of espruino/BangleApps,
#: apps/vernierrespirate/app.js (there as decimal bytes): two samples of force and rate, checksum D8.
BANGLEAPPS_PACKET = bytes.fromhex(
    "20 19 CF D8 06 06 00 02 FC 80 8A 07 BF 00 00 C0 7F 80 31 08 BF 00 00 C0 7F"
)

#: Bytes of a measurement packet before its values (ble.md section 3).
MEASUREMENT_HEADER_BYTES = 9

RUN_SPACING_S = 1.0e6
"""Device time from one run of the sample clock to the next (module docstring, "Time"): a run starts after a
loss of unknown size. Far beyond any real gap, so a clock mapper can never take it for delivery delay."""


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


@dataclass(frozen=True)
class Measurement:
    """A measurement packet: ``values`` (samples, sensors) for ``sensors`` in mask order."""

    counter: int
    value_type: int
    mask: int
    sensors: list[int]
    values: np.ndarray
    checksum_ok: bool


def declared_samples(header: bytes | bytearray) -> int | None:
    """The sample count of a float32 measurement packet whose first 9 bytes are ``header``, after checking
    its length byte against ``9 + 4 x count x sensors``; None when the bytes are not (yet) such a header
    (fewer than 9, another start byte or value type). Raises :class:`DecodeError` on a header that
    contradicts itself (a garbled byte)."""
    if len(header) < MEASUREMENT_HEADER_BYTES or header[0] != MEASUREMENT_START or header[4] != VALUE_FLOAT32:
        return None
    count = header[7]
    sensors = bin(int.from_bytes(header[5:7], "little")).count("1")
    if count and not sensors:
        raise DecodeError("GDX measurement: samples but an empty sensor mask")
    size = MEASUREMENT_HEADER_BYTES + 4 * count * sensors
    if header[1] != size:
        raise DecodeError(
            f"GDX measurement: length byte {header[1]} does not match its {count} samples x {sensors} sensors "
            f"({size} bytes): a garbled header"
        )
    return count


def _is_measurement_header(data: bytes) -> bool:
    """Whether ``data`` begins with a whole float32 measurement header that agrees with itself."""
    try:
        return declared_samples(data) is not None
    except DecodeError:
        return False


def parse_measurement(packet: bytes) -> Measurement:
    """``20 <len> <counter> <checksum> <value type> <mask u16> <count> <byte> <float32 values...>``.

    Values from byte 9, float32 LE, interleaved per sample over the enabled sensors in mask order; the length
    byte must count exactly those bytes (:func:`declared_samples`).
    """
    packet = bytes(packet)
    need(packet, MEASUREMENT_HEADER_BYTES, "GDX measurement packet")
    if packet[0] != MEASUREMENT_START:
        raise DecodeError(f"GDX measurement packet must start with 20, got {packet[0]:02X}")
    vtype = packet[4]
    if vtype != VALUE_FLOAT32:
        raise DecodeError(f"GDX measurement: unsupported value type {vtype} (only 6 = float32)")
    declared_samples(packet)
    mask = int.from_bytes(packet[5:7], "little")
    count = packet[7]
    sensors = sensors_in_mask(mask)
    n = count * len(sensors)
    need(packet, 9 + 4 * n, f"GDX measurement ({count} samples x {len(sensors)} sensors)")
    with np.errstate(invalid="ignore"):  # a signalling NaN from the belt is a NaN, said by no RuntimeWarning
        values = (
            np.frombuffer(packet[9 : 9 + 4 * n], dtype="<f4").astype(np.float64).reshape(count, len(sensors))
        )
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

    Device time: sample k of a run is at ``run x RUN_SPACING_S + k x period_s``; the first run starts with the
    first measurement, and a new one after a loss whose size is unknown (module docstring, "Time"). Samples of
    packets dropped or cut short whose header was in still count. After an error the buffer is dropped, so the
    next packet start resynchronises.
    """

    period_s: float = 0.1
    _buf: bytearray = field(default_factory=bytearray)
    _samples: int = 0  # samples of the current run so far: decoded, dropped, or lost with a known count
    _unknown_loss: bool = False  # bytes of unknown size were lost since the last measurement
    #: Samples of packets cut short (the rest of the packet lost) whose header said how many: lost, but
    #: their time is kept, so the samples after them keep theirs.
    samples_lost: int = 0
    #: Runs started after a loss of unknown size (the sample count no longer tells the time).
    clock_breaks: int = 0
    checksum_seen: bool = False  # CHECKSUM_EVIDENCE packets in a row from this belt matched: it uses it
    _matched_in_a_row: int = 0

    def feed(self, data: bytes) -> list[Decoded]:
        data = bytes(data)
        if not data:
            raise DecodeError("GDX: empty notification")
        out: list[Decoded] = []
        if self._buf and _is_measurement_header(data):
            out.append(self._cut_short())
        try:
            if not self._buf and data[0] not in (COMMAND_START, MEASUREMENT_START):
                raise DecodeError(
                    f"GDX: {data[0]:02X} is not the start of a packet (58 or 20); chunk dropped"
                )
            self._buf += data
            while len(self._buf) >= 2:
                length = self._buf[1]
                if length < 5:
                    raise DecodeError(f"GDX: packet length {length} is too short")
                # A garbled header is refused now, not once the bytes of the packets behind it have filled the
                # length it claims.
                declared_samples(self._buf)
                if len(self._buf) < length:
                    break
                packet = bytes(self._buf[:length])
                del self._buf[:length]
                out.append(self._decode(packet))
                if self._buf and self._buf[0] not in (COMMAND_START, MEASUREMENT_START):
                    raise DecodeError(f"GDX: {self._buf[0]:02X} after a packet is not a packet start")
        except DecodeError:
            self._buf.clear()
            self._unknown_loss = True
            raise
        return out

    @property
    def pending(self) -> int:
        """Bytes waiting for the rest of their packet."""
        return len(self._buf)

    def _times(self, n: int) -> np.ndarray:
        """Device times of the next ``n`` samples (a new run first, after a loss of unknown size)."""
        if self._unknown_loss:
            self._unknown_loss = False
            if self._samples:  # a run under way: its count no longer tells the time
                self.clock_breaks += 1
                self._samples = 0
        k = self._samples + np.arange(n, dtype=np.float64)
        self._samples += n
        out: np.ndarray = self.clock_breaks * RUN_SPACING_S + k * self.period_s
        return out

    def _cut_short(self) -> Decoded:
        """The incomplete packet in the buffer, whose rest was lost (a new packet has begun): DROPPED, its
        samples counted when its header was in, else a loss of unknown size."""
        packet = bytes(self._buf)
        self._buf.clear()
        of = f" of its {packet[1]}" if len(packet) > 1 else ""
        came = f"{len(packet)}{of} bytes came" if of or len(packet) != 1 else "1 byte came"
        what = f"GDX: packet cut short: {came} before the next packet began"
        info: dict[str, Any] = {}
        if packet[0] == MEASUREMENT_START:
            n = declared_samples(packet)  # checked when its header came in
            if n is None:
                self._unknown_loss = True
                what += "; its samples, how many unknown, are lost (the next are placed by their arrival)"
            else:
                self._times(n)
                self.samples_lost += n
                info["samples_lost"] = n
                what += f"; its {n} samples are lost, the next keep their time"
        return dropped("incomplete", what, packet, Decoded(_KIND[packet[0]], {}, None, info))

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
            # A dropped packet's samples were taken all the same: the next packet's come after them.
            t = self._times(m.values.shape[0])
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


_KIND = {MEASUREMENT_START: "measurement", COMMAND_START: "response"}


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
        # Sensor 1, force in newtons (../shared/notes/ble.md section 3).
        units={"resp": "newtons"},
    )
    return Profile(
        name="gdx-rb",
        title="Vernier Go Direct Respiration Belt (GDX-RB)",
        service_uuids=(GDX_SERVICE,),
        name_prefixes=("GDX-RB",),
        name_required=True,
        streams={"response": stream, "measurement": stream, "battery": BATTERY_STREAM},
        controller=lambda: GdxController(period_us, mask),
        signal="resp",
        signal_stream="response",
        breathing="belt force in newtons: the breathing waveform itself",
        settings={"period_ms": period_ms, "sensors": list(sensors)},
        maker="Vernier",
        model="Go Direct Respiration Belt (GDX-RB)",
        battery_stream="battery",
    )
