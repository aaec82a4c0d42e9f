"""Polar H10: the PMD (Polar Measurement Data) service: control point commands and replies, data frames.

Facts: Polar's polar-ble-sdk, ``technical_documentation/online_measurement.pdf`` and the SDK's Android
unit tests, as summarised with test vectors in ../shared/notes/ble.md section 2. The control point status
codes and the byte sizes of setting fields are those the SDK names (PmdControlPointResponse,
PmdSetting); the code here is written from those facts.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace

import numpy as np

from devices._base import (
    Decoded,
    DecodeError,
    FixedController,
    FloatArray,
    Profile,
    StreamSpec,
    Subscribe,
    Write,
    dropped,
    need,
    out_of_range,
)
from devices.battery import BATTERY_STREAM
from devices.heart_rate import HEART_RATE_MEASUREMENT, HRM_STREAM, NO_RR_BESIDE, HrmDecoder

PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: Seconds from the Unix epoch to the Polar epoch (2000-01-01T00:00:00 UTC).
POLAR_EPOCH_UNIX_S = 946684800

ECG = 0x00
ACC = 0x02
MEASUREMENT_NAMES = {ECG: "ecg", ACC: "acc"}

OP_GET_SETTINGS = 0x01
OP_START = 0x02
OP_STOP = 0x03
REPLY = 0xF0

# Setting types and the byte size of one value of each (PmdSetting in the SDK).
SETTING_SAMPLE_RATE = 0x00
SETTING_RESOLUTION = 0x01
SETTING_RANGE = 0x02
SETTING_SIZES = {0x00: 2, 0x01: 2, 0x02: 2, 0x03: 4, 0x04: 1, 0x05: 4}
SETTING_NAMES = {
    0x00: "sample_rate_hz",
    0x01: "resolution_bits",
    0x02: "range_g",
    0x03: "range_milliunit",
    0x04: "channels",
    0x05: "factor",
}

ACC_RATES_HZ = (25, 50, 100, 200)
ACC_RANGES_G = (2, 4, 8)
#: An ACC frame with a sample beyond the range it was started with (+-2/4/8 G, ble.md section 2) times this
#: margin is dropped. The margin is ours (not documented): room for a sensor's full-scale tolerance, so that
#: only what the accelerometer cannot measure is refused. ECG frames are not range-checked (no documented
#: limit; ECG is not a breathing signal here).
ACC_RANGE_MARGIN = 1.25
ECG_RATE_HZ = 130

#: Control point status codes (0 = success).
STATUS_MESSAGES = {
    0: "success",
    1: "invalid op code",
    2: "invalid measurement type",
    3: "not supported",
    4: "invalid length",
    5: "invalid parameter",
    6: "already in that state",
    7: "invalid resolution",
    8: "invalid sample rate",
    9: "invalid range",
    10: "invalid MTU",
    11: "invalid number of channels",
    12: "invalid state",
    13: "device is in its charger",
}


# ---------------------------------------------------------------------------------------------- commands


def _settings_bytes(settings: list[tuple[int, int]]) -> bytes:
    out = b""
    for kind, value in settings:
        out += bytes([kind, 1]) + int(value).to_bytes(SETTING_SIZES[kind], "little")
    return out


def get_settings_command(measurement: int) -> bytes:
    """Ask which settings a measurement supports (``01 <type>``)."""
    return bytes([OP_GET_SETTINGS, measurement])


def start_acc_command(rate_hz: int = 50, range_g: int = 8, resolution_bits: int = 16) -> bytes:
    """Start the accelerometer: ``02 02 00 01 <rate u16> 01 01 <resolution u16> 02 01 <range u16>``."""
    if rate_hz not in ACC_RATES_HZ:
        raise ValueError(f"ACC rate must be one of {ACC_RATES_HZ} Hz, got {rate_hz}")
    if range_g not in ACC_RANGES_G:
        raise ValueError(f"ACC range must be one of {ACC_RANGES_G} G, got {range_g}")
    body = _settings_bytes(
        [(SETTING_SAMPLE_RATE, rate_hz), (SETTING_RESOLUTION, resolution_bits), (SETTING_RANGE, range_g)]
    )
    return bytes([OP_START, ACC]) + body


def start_ecg_command() -> bytes:
    """Start ECG at 130 Hz, 14 bit: ``02 00 00 01 82 00 01 01 0E 00``."""
    body = _settings_bytes([(SETTING_SAMPLE_RATE, ECG_RATE_HZ), (SETTING_RESOLUTION, 14)])
    return bytes([OP_START, ECG]) + body


def stop_command(measurement: int) -> bytes:
    """Stop a measurement: ``03 <type>``."""
    return bytes([OP_STOP, measurement])


# -------------------------------------------------------------------------------------- control replies


@dataclass(frozen=True)
class ControlReply:
    """A control point indication: ``F0 <op> <measurement> <status> [<more> <settings...>]``."""

    op: int
    measurement: int
    status: int
    more: bool = False
    settings: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Success; a stop answered "already in that state" (6) counts too: the measurement is off."""
        return self.status == 0 or (self.op == OP_STOP and self.status == 6)

    @property
    def error(self) -> str | None:
        """None on success, else a readable message naming the command and the status."""
        if self.ok:
            return None
        op = {OP_GET_SETTINGS: "get settings", OP_START: "start", OP_STOP: "stop"}.get(
            self.op, f"op {self.op}"
        )
        what = MEASUREMENT_NAMES.get(self.measurement, f"measurement type {self.measurement}")
        msg = STATUS_MESSAGES.get(self.status, "unknown error")
        return f"Polar PMD {op} {what} failed: {msg} (status {self.status})"


def parse_settings(data: bytes) -> dict[str, list[float]]:
    """Setting fields ``<type> <count> <count values>``; sizes per type (unknown type: DecodeError)."""
    out: dict[str, list[float]] = {}
    pos = 0
    while pos < len(data):
        need(data, pos + 2, "PMD settings field")
        kind, count = data[pos], data[pos + 1]
        size = SETTING_SIZES.get(kind)
        if size is None:
            raise DecodeError(f"PMD settings: unknown setting type {kind:#04x} at byte {pos}")
        pos += 2
        need(data, pos + size * count, "PMD settings values")
        values: list[float] = []
        for _ in range(count):
            raw = data[pos : pos + size]
            values.append(struct.unpack("<f", raw)[0] if kind == 0x05 else int.from_bytes(raw, "little"))
            pos += size
        out.setdefault(SETTING_NAMES[kind], []).extend(values)
    return out


def parse_control_reply(data: bytes) -> ControlReply:
    """Decode a control point indication; an error status is a valid reply (see ``ControlReply.error``)."""
    data = bytes(data)
    need(data, 4, "PMD control point reply")
    if data[0] != REPLY:
        raise DecodeError(f"PMD control point reply must start with F0, got {data[0]:02X}")
    more = len(data) > 4 and data[4] != 0
    settings = parse_settings(data[5:]) if data[1] == OP_GET_SETTINGS and data[3] == 0 else {}
    return ControlReply(op=data[1], measurement=data[2], status=data[3], more=more, settings=settings)


# ------------------------------------------------------------------------------------------- data frames


@dataclass(frozen=True)
class PmdFrame:
    """One PMD data frame: ``samples`` (n, channels) in the unit of the measurement (mG, uV)."""

    measurement: int
    timestamp_ns: int
    frame_type: int
    compressed: bool
    samples: np.ndarray


def _signed(v: int, bits: int) -> int:
    return v - (1 << bits) if bits and v & (1 << (bits - 1)) else v


def _decode_deltas(data: bytes, reference: list[int], channels: int, offset: int = 0) -> list[list[int]]:
    """Reference sample then blocks ``[width][count]`` + count x channels deltas, LSB-first, byte-padded.

    ``offset``: where ``data`` starts in the frame (for messages)."""
    out = [reference]
    prev = list(reference)
    pos = 0
    while pos < len(data):
        need(data, pos + 2, "PMD delta block header")
        width, count = data[pos], data[pos + 1]
        pos += 2
        if width > 32:
            raise DecodeError(f"PMD delta block: bit width {width} is over 32")
        # A block's size is its deltas' bits (ble.md section 2: count x channels deltas of that width): a
        # width of 0 would make samples out of no bytes at all (a 210-byte frame of 0-bit blocks gave 25501
        # samples), and a count of 0 is a header with nothing behind it. Neither is a block: the frame is
        # malformed. With width >= 1 and count >= 1, the bytes bound the samples (at most 8 per 3 bytes).
        if width == 0:
            raise DecodeError(
                f"PMD delta block at byte {offset + pos - 2}: bit width 0 (a block of deltas has none)"
            )
        if count == 0:
            raise DecodeError(f"PMD delta block at byte {offset + pos - 2}: sample count 0 (an empty block)")
        nbits = width * count * channels
        nbytes = (nbits + 7) // 8
        need(data, pos + nbytes, "PMD delta block")
        bits = int.from_bytes(data[pos : pos + nbytes], "little")
        pos += nbytes
        mask = (1 << width) - 1
        k = 0
        for _ in range(count):
            cur = []
            for c in range(channels):
                cur.append(prev[c] + _signed((bits >> (k * width)) & mask, width))
                k += 1
            out.append(cur)
            prev = cur
    return out


def parse_frame(data: bytes) -> PmdFrame:
    """Decode a PMD data frame (ACC type 1, ECG type 0, delta-compressed ACC); DecodeError otherwise."""
    data = bytes(data)
    need(data, 10, "PMD data frame header")
    meas = data[0]
    ts = int.from_bytes(data[1:9], "little")
    ftype = data[9]
    compressed = bool(ftype & 0x80)
    ft = ftype & 0x7F
    body = data[10:]
    if meas == ACC and ft == 1:
        if compressed:
            need(body, 6, "PMD ACC reference sample")
            ref = list(struct.unpack("<3h", body[:6]))
            rows = _decode_deltas(body[6:], ref, 3, offset=16)
            samples = np.asarray(rows, dtype=np.float64)
        else:
            if not body or len(body) % 6:
                raise DecodeError(
                    f"PMD ACC frame: {len(body)} sample bytes is not a multiple of 6 (x, y, z int16)"
                )
            samples = np.frombuffer(body, dtype="<i2").reshape(-1, 3).astype(np.float64)
    elif meas == ECG and ft == 0 and not compressed:
        if not body or len(body) % 3:
            raise DecodeError(f"PMD ECG frame: {len(body)} sample bytes is not a multiple of 3 (int24)")
        raw = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3).astype(np.int64)
        v = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        samples = v.astype(np.float64).reshape(-1, 1)
    else:
        what = MEASUREMENT_NAMES.get(meas, f"measurement type {meas:#04x}")
        kind = "delta-compressed " if compressed else ""
        raise DecodeError(f"PMD data: unsupported {kind}{what} frame type {ft}")
    return PmdFrame(meas, ts, ftype, compressed, samples)


def encode_frame(
    measurement: int, timestamp_ns: int, samples: np.ndarray, compressed: bool = False, block: int = 8
) -> bytes:
    """Build a PMD data frame (for tests and fake straps): ACC (n, 3) int16 mG or ECG (n,) int24 uV.

    ``compressed`` (ACC only): first sample as reference, then blocks of up to ``block`` samples, each
    with the smallest bit width that holds its deltas.
    """
    s = np.asarray(samples, dtype=np.int64)
    head = bytes([measurement]) + int(timestamp_ns).to_bytes(8, "little")
    if measurement == ECG:
        if compressed:
            raise ValueError("delta-compressed ECG frames are not supported")
        body = b"".join(int(v & 0xFFFFFF).to_bytes(3, "little") for v in s.reshape(-1))
        return head + bytes([0x00]) + body
    s = s.reshape(-1, 3)
    if not compressed:
        return head + bytes([0x01]) + s.astype("<i2").tobytes()
    body = s[0].astype("<i2").tobytes()
    deltas = np.diff(s, axis=0)
    for i in range(0, len(deltas), block):
        d = deltas[i : i + block]
        width = max(max(int(abs(x)).bit_length() + 1 for x in d.reshape(-1)), 1)
        bits = 0
        for k, x in enumerate(d.reshape(-1).tolist()):
            bits |= (x & ((1 << width) - 1)) << (k * width)
        nbytes = (width * d.size + 7) // 8
        body += bytes([width, len(d)]) + bits.to_bytes(nbytes, "little")
    return head + bytes([0x81]) + body


class PmdDataDecoder:
    """Stream decoder for the PMD data characteristic, with per-sample device times.

    The frame timestamp (ns since 2000-01-01 UTC on the strap's clock) belongs to the LAST sample; the
    spacing is (this timestamp - previous frame's timestamp) / n, or 1 / rate for the first frame, after a
    clock step backwards, or when the spacing is off by more than a factor 2 from 1 / rate (lost frames
    would otherwise stretch a frame's samples over the gap). ``only``: accept only that measurement type.
    An ACC frame with a sample beyond ``acc_range_g`` (the range it was started with, times
    :data:`ACC_RANGE_MARGIN`) is a DROPPED record; its timestamp still spaces the next frame.
    """

    def __init__(
        self, rates_hz: dict[int, float] | None = None, only: int | None = None, acc_range_g: int = 8
    ) -> None:
        self.rates_hz = {ACC: 50.0, ECG: float(ECG_RATE_HZ), **(rates_hz or {})}
        self.only = only
        limit_mg = acc_range_g * 1000.0 * ACC_RANGE_MARGIN
        self.acc_limits = {c: (-limit_mg, limit_mg) for c in ("acc_x", "acc_y", "acc_z")}
        self._prev_ts: dict[int, int] = {}

    def feed(self, data: bytes) -> list[Decoded]:
        if self.only is not None and len(data) >= 1 and data[0] != self.only:
            want = MEASUREMENT_NAMES[self.only]
            raise DecodeError(
                f"PMD data: expected a {want} frame (type {self.only:02X}), got type {data[0]:02X}"
            )
        f = parse_frame(data)
        n = f.samples.shape[0]
        nominal_ns = 1e9 / self.rates_hz.get(f.measurement, 1.0)
        prev = self._prev_ts.get(f.measurement)
        step = nominal_ns
        if prev is not None and f.timestamp_ns > prev:
            s = (f.timestamp_ns - prev) / n
            if 0.5 * nominal_ns <= s <= 2.0 * nominal_ns:
                step = s
        self._prev_ts[f.measurement] = f.timestamp_ns
        t: FloatArray = (f.timestamp_ns - step * np.arange(n - 1, -1, -1, dtype=np.float64)) / 1e9
        info = {"timestamp_ns": f.timestamp_ns, "frame_type": f.frame_type, "compressed": f.compressed}
        if f.measurement == ACC:
            cols = {"acc_x": f.samples[:, 0], "acc_y": f.samples[:, 1], "acc_z": f.samples[:, 2]}
            rec = Decoded("acc", cols, t, info)
            bad = out_of_range(cols, self.acc_limits)
            if bad is not None:
                return [dropped("out of range", f"PMD ACC frame: {bad} mG", data, rec)]
            return [rec]
        return [Decoded("ecg", {"ecg_uv": f.samples[:, 0]}, t, info)]


class PmdControlDecoder:
    """Stream decoder for control point indications: ``info`` has op, status, ok, error, settings."""

    def feed(self, data: bytes) -> list[Decoded]:
        r = parse_control_reply(data)
        info = {
            "op": r.op,
            "measurement": MEASUREMENT_NAMES.get(r.measurement, r.measurement),
            "status": r.status,
            "ok": r.ok,
            "error": r.error,
            "more": r.more,
            "settings": r.settings,
        }
        return [Decoded("control", {}, None, info)]


def polar_h10_profile(acc_rate_hz: int = 50, acc_range_g: int = 8, ecg: bool = False) -> Profile:
    """Polar H10: chest accelerometer (PMD ACC) as the breathing waveform, plus HR/RR (and optional ECG).

    The RR intervals of the Heart Rate Measurement ("hrm") come beside the accelerometer as an extra
    stream (``rr_ms``): the accelerometer's breathing axis has no sign, the heart's respiratory sinus
    arrhythmia (faster on inhale) gives it.

    Start: HR notifications, control point indications BEFORE any command, data notifications, then stop
    and start ACC (and ECG: a strap left streaming refuses a start); each command waits for its F0 reply.
    Stop: stop each stream (a strap left streaming stays awake until its battery is empty).
    """
    start_acc = start_acc_command(acc_rate_hz, acc_range_g)
    rates = {ACC: float(acc_rate_hz)}
    start: list[Subscribe | Write] = [
        Subscribe(HEART_RATE_MEASUREMENT, "hrm"),
        Subscribe(PMD_CONTROL, "control"),
        Subscribe(PMD_DATA, "pmd"),
        # A strap left streaming (an app killed mid-session, a link loss) refuses a start with status 6:
        # stop first, so every connection starts with these settings.
        Write(PMD_CONTROL, stop_command(ACC), response=True, reply="control", what="stop ACC"),
        Write(PMD_CONTROL, start_acc, response=True, reply="control", what="start ACC"),
    ]
    stop: list[Subscribe | Write] = [
        Write(PMD_CONTROL, stop_command(ACC), response=True, reply="control", what="stop ACC")
    ]
    if ecg:
        start.append(Write(PMD_CONTROL, stop_command(ECG), response=True, reply="control", what="stop ECG"))
        start.append(
            Write(PMD_CONTROL, start_ecg_command(), response=True, reply="control", what="start ECG")
        )
        stop.append(Write(PMD_CONTROL, stop_command(ECG), response=True, reply="control", what="stop ECG"))
    acc_cols = {c: c for c in ("acc_x", "acc_y", "acc_z")}
    acc_units = dict.fromkeys(acc_cols, "milli-g")
    streams = {
        # The beats come beside the accelerometer's breathing: without them only its direction waits.
        "hrm": replace(HRM_STREAM, decoder=lambda: HrmDecoder(no_rr=NO_RR_BESIDE)),
        "control": StreamSpec(
            "control", PMD_CONTROL, PmdControlDecoder, "PMD control point replies (F0 ...)"
        ),
        "pmd": StreamSpec(
            "pmd",
            PMD_DATA,
            lambda: PmdDataDecoder(rates, acc_range_g=acc_range_g),
            "PMD data: any frame (ACC -> kind 'acc', ECG -> kind 'ecg')",
            signal="acc",
            signal_columns=acc_cols,
            units=acc_units,
        ),
        "acc": StreamSpec(
            "acc",
            PMD_DATA,
            lambda: PmdDataDecoder(rates, only=ACC, acc_range_g=acc_range_g),
            f"PMD ACC frames: x, y, z in milli-g at {acc_rate_hz} Hz",
            signal="acc",
            signal_columns=acc_cols,
            units=acc_units,
        ),
        "ecg": StreamSpec(
            "ecg",
            PMD_DATA,
            lambda: PmdDataDecoder(rates, only=ECG, acc_range_g=acc_range_g),
            "PMD ECG frames: microvolts at 130 Hz",
        ),
        "battery": BATTERY_STREAM,
    }
    return Profile(
        name="polar-h10",
        title="Polar H10 chest strap",
        service_uuids=(PMD_SERVICE,),
        name_prefixes=("Polar H10",),
        # Polar's other sensors with the raw-data service (Verity Sense, OH1: Polar's SDK documentation,
        # github.com/polarofficial/polar-ble-sdk, lists PMD for them) are no chest strap: an advertised
        # "Polar ..." name other than an H10's rules the service out; a nameless advertisement still matches.
        name_excludes=("Polar ",),
        streams=streams,
        controller=lambda: FixedController(start=start, stop=stop),
        signal="acc",
        signal_stream="pmd",
        breathing="chest accelerometer (PMD ACC): chest motion projected on its main axis",
        settings={"acc_rate_hz": acc_rate_hz, "acc_range_g": acc_range_g, "ecg": ecg},
        extra_streams=("hrm",),
        maker="Polar Electro",
        model="H10",
        battery_stream="battery",
    )
