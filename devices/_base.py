"""What every device profile is made of: decoded records, the decode error, start/stop steps, streams.

Pure data and pure functions: no asyncio, no bleak, no Qt. The BLE source (breathsync/sources) executes
the steps a profile gives it and feeds each notification to the stream's decoder. What a device module
needs from here is exported by :mod:`devices` (``from devices import FixedController, dropped, ...``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class DecodeError(ValueError):
    """Malformed, truncated or unsupported bytes; the message says what was wrong (one line).

    Every decoder in :mod:`devices` raises this and only this on bad input: a live source drops the
    notification and counts it, ``breathsync decode`` prints the message and exits with code 2. Bytes that
    decode but must not be used (a bad checksum, an impossible value) are a :data:`DROPPED` record instead,
    so that the packets around them still decode.
    """


def need(data: bytes, n: int, what: str) -> None:
    """Raise :class:`DecodeError` unless ``data`` holds at least ``n`` bytes for ``what``."""
    if len(data) < n:
        raise DecodeError(f"truncated {what}: {len(data)} bytes, need at least {n}")


@dataclass(frozen=True)
class Decoded:
    """What one notification (or one reassembled packet) decodes to.

    Attributes
    ----------
    kind:
        What the bytes were: "hrm", "acc", "ecg", "control", "measurement", "response", ..., or
        :data:`DROPPED` for a packet that must not be used (see :func:`dropped`).
    columns:
        One float array per sample column (all the same length; may be empty), named by the project's
        conventions: ``rr_ms``, ``acc_x``/``acc_y``/``acc_z`` (milli-g), ``ecg_uv``, ``force_n``,
        ``belt_rate_bpm``.
    device_t_s:
        Per-sample time on the DEVICE's clock in seconds (Polar: seconds since 2000-01-01 UTC as the
        strap counts them; GDX: sample index x period), or None when the device gives no time (map it to
        the host time base with :mod:`breathsync.dsp.clock`).
    info:
        Per-notification facts (JSON-able): heart rate, sensor contact, status, the raw frame timestamp.
    """

    kind: str
    columns: dict[str, FloatArray] = field(default_factory=dict)
    device_t_s: FloatArray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return next((int(v.size) for v in self.columns.values()), 0)

    def records(self) -> list[dict[str, Any]]:
        """JSON-able records: one per sample (with ``device_t_s`` when known), or the info alone.

        Floats that are not finite become None (JSON has no NaN).
        """
        n = len(self)
        if n == 0 or self.kind == "hrm":
            rec: dict[str, Any] = {"kind": self.kind, **self.info}
            for k, v in self.columns.items():
                rec[k] = [_json_float(x) for x in v.tolist()]
            return [rec]
        out = []
        for i in range(n):
            r: dict[str, Any] = {"kind": self.kind}
            if self.device_t_s is not None:
                r["device_t_s"] = _json_float(round(float(self.device_t_s[i]), 9))
            for k, v in self.columns.items():
                r[k] = _json_float(float(v[i]))
            out.append(r)
        out[-1].update(self.info)
        return out


def _json_float(x: float) -> float | None:
    return x if np.isfinite(x) else None


#: The kind of a record standing for a packet that decoded but must not be used (a bad checksum, a value
#: outside what the device can measure). The live source drops it and counts it (``dropped``);
#: ``breathsync decode`` prints it, with why, so the diagnostic still shows the packet.
DROPPED = "dropped"


def dropped(why: str, reason: str, packet: bytes, decoded: Decoded | None = None) -> Decoded:
    """A :data:`DROPPED` record for ``packet``: ``why`` a short category ("bad checksum", "out of range"),
    ``reason`` the one-line explanation; ``decoded`` what the packet would have given (its values are kept
    in ``info``, as lists, for the diagnostic; the record itself has no samples)."""
    info: dict[str, Any] = {"drop": why, "reason": reason, "packet_hex": bytes(packet).hex()}
    if decoded is not None:
        info["would_be"] = decoded.kind
        info.update(decoded.info)
        for k, v in decoded.columns.items():
            info[k] = [_json_float(x) for x in v.tolist()]
    return Decoded(DROPPED, {}, None, info)


def out_of_range(columns: dict[str, FloatArray], limits: dict[str, tuple[float, float]]) -> str | None:
    """None when every value of the limited columns lies within its (low, high) limits, else a phrase naming
    the first column and value outside. NaN passes: devices send it for "no value yet" (the GDX-RB's own
    rate); infinities do not."""
    for name, (lo, hi) in limits.items():
        v = columns.get(name)
        if v is None or v.size == 0:
            continue
        bad = (v < lo) | (v > hi)
        if bad.any():
            return f"{name} = {float(v[bad][0]):g} is outside {lo:g}..{hi:g}"
    return None


class StreamDecoder(Protocol):
    """The decoder of one subscribed characteristic; may keep state between notifications.

    A decoder may also have a ``problem`` attribute (str): what is wrong with the device's signal, judged
    over its notifications, in one line for the wearer ("no skin contact: ..."), "" while nothing is. The
    BLE source reads it after each notification (:class:`devices.heart_rate.HrmDecoder` has one).
    """

    def feed(self, data: bytes) -> list[Decoded]:
        """Decode one notification; [] while a packet is still incomplete. Raises :class:`DecodeError`."""
        ...


@dataclass(frozen=True)
class Subscribe:
    """Enable notifications (or indications) on ``characteristic``; feed them to stream ``stream``."""

    characteristic: str
    stream: str


@dataclass(frozen=True)
class Write:
    """Write ``data`` to ``characteristic``.

    ``response``: a write with response (True) or without (False). ``chunk``: write in pieces of at most
    that many bytes (None: in one piece). ``reply``: the name of the stream on which the device answers
    (the source waits for the next record there; a record whose ``info["ok"]`` is False failed, with
    ``info["error"]`` saying why), or None. ``what``: a short name for messages ("start ACC").
    """

    characteristic: str
    data: bytes
    response: bool = True
    reply: str | None = None
    what: str = ""
    chunk: int | None = None


Step = Subscribe | Write


@dataclass(frozen=True)
class StreamSpec:
    """One named stream of a device: which characteristic carries it and how to decode it.

    ``decoder()`` makes a fresh stateful decoder (one per connection). ``signal`` is the breathing signal
    this stream feeds ("resp", "rr", "acc" as in ``breathsync.sources.base.SIGNAL_COLUMNS``) or None, and
    ``signal_columns`` maps each of that signal's column names to the decoded column that fills it.

    ``units``: the unit of each of ``signal_columns``' columns, by the same name (``{"resp": "newtons"}``), as
    a recording's ``# unit:`` line writes it: a BIDS (CMIXF-12) symbol ("N", "mm", "uV") or a spelling the BIDS
    export turns into one ("newtons", "milli-g", "milliseconds", "arbitrary units"). The recorder, the BIDS
    export and the LSL outlet take a device's units from here, never from a column's name; every signal
    column needs one (tests/devices/test_profiles.py checks it).
    """

    name: str
    characteristic: str
    decoder: Callable[[], StreamDecoder]
    description: str
    signal: str | None = None
    signal_columns: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for column, unit in self.units.items():
            if column not in self.signal_columns:
                raise ValueError(f"stream {self.name!r}: a unit for {column!r}, which is not a signal column")
            # A recording's "# unit:" line holds it: "resp: newtons; rr_ms: milliseconds".
            if not unit or unit != unit.strip() or any(c in unit for c in ";,\n\r"):
                raise ValueError(
                    f"stream {self.name!r}: unit {unit!r} of {column!r}: one unit, without ';' or ','"
                )


class Controller(Protocol):
    """Per-connection command state (e.g. the GDX rolling counter): what to do to start and to stop."""

    def start_steps(self) -> list[Step]: ...

    def stop_steps(self) -> list[Step]: ...


@dataclass(frozen=True)
class Profile:
    """Everything specific to one kind of wearable.

    Recognition in a scan: any of ``service_uuids`` advertised, or the advertised name starting with one
    of ``name_prefixes`` (see :meth:`matches`). ``controller()`` gives a fresh per-connection
    :class:`Controller` (start and stop steps, in order); ``streams`` the decoders by stream name;
    ``signal`` / ``signal_stream`` which breathing signal the device gives and from which stream.

    ``extra_streams``: streams whose signal columns the device delivers BESIDE its breathing signal, in
    the same participant's samples (the Polar H10's RR intervals, from its Heart Rate Measurement, next
    to its accelerometer: the heart's respiratory sinus arrhythmia tells inhale from exhale, which the
    accelerometer's axis cannot). Each names a stream of ``streams`` with ``signal_columns`` (and a
    ``signal`` saying how it is timed: "rr" for beats without a device time); their columns are
    :attr:`extra_columns`.

    ``maker`` / ``model``: the equipment's maker and model when the profile is one product (a generic
    profile, such as any heart-rate strap, leaves them empty); exports name them (BIDS ``Manufacturer``,
    ``ManufacturersModelName``).

    ``battery_stream``: a stream of ``streams`` giving the battery level (records with
    ``info["battery_pct"]``), read by the BLE source after each connection and followed when its
    characteristic notifies, where the device has it: the standard Battery Service
    (:data:`devices.battery.BATTERY_STREAM`). Not a start step: a device without it has no battery
    level, which is no error. None: the profile reads none.
    """

    name: str
    title: str
    service_uuids: tuple[str, ...]
    name_prefixes: tuple[str, ...]
    streams: dict[str, StreamSpec]
    controller: Callable[[], Controller]
    signal: str
    signal_stream: str
    breathing: str
    settings: dict[str, Any] = field(default_factory=dict)
    name_required: bool = False
    extra_streams: tuple[str, ...] = ()
    maker: str = ""
    model: str = ""
    battery_stream: str | None = None
    #: Advertised names that rule an advertised service out: another product of a family sharing the
    #: service (a Polar Verity Sense or OH1 has the H10's raw-data service; it gives no breathing).
    name_excludes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.battery_stream is not None and self.battery_stream not in self.streams:
            raise ValueError(f"{self.name}: battery stream {self.battery_stream!r} is not one of the streams")
        main = (
            set(self.streams[self.signal_stream].signal_columns)
            if self.signal_stream in self.streams
            else set()
        )
        seen: set[str] = set()
        for name in self.extra_streams:
            spec = self.streams.get(name)
            if spec is None or name == self.signal_stream or not spec.signal_columns:
                raise ValueError(
                    f"{self.name}: extra stream {name!r} must be another stream with signal columns"
                )
            cols = set(spec.signal_columns)
            if cols & (main | seen):
                raise ValueError(
                    f"{self.name}: extra stream {name!r} repeats columns {sorted(cols & (main | seen))}"
                )
            seen |= cols

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """The columns the extra streams add to the breathing signal's (e.g. ``("rr_ms",)``), in order."""
        return tuple(c for name in self.extra_streams for c in self.streams[name].signal_columns)

    @property
    def units(self) -> dict[str, str]:
        """The declared unit (:attr:`StreamSpec.units`) of each column the device fills: its breathing
        signal's, then its extra streams' (``{"acc_x": "milli-g", ..., "rr_ms": "milliseconds"}``). A column
        whose stream declares no unit is left out."""
        names = (self.signal_stream, *self.extra_streams) if self.signal_stream in self.streams else ()
        specs = [self.streams[name] for name in names]
        return {c: spec.units[c] for spec in specs for c in spec.signal_columns if c in spec.units}

    def matches(self, name: str | None, service_uuids: list[str] | tuple[str, ...] = ()) -> bool:
        """Whether an advertisement (name, advertised service UUIDs) is this kind of device.

        A name prefix always suffices; an advertised service suffices unless ``name_required`` (a service
        shared by a whole product family, e.g. every Vernier Go Direct sensor), or unless the name is that
        of another product of the family (``name_excludes``).
        """
        if name and any(str(name).startswith(p) for p in self.name_prefixes):
            return True
        if self.name_required or (name and any(str(name).startswith(p) for p in self.name_excludes)):
            return False
        adv = {full_uuid(u) for u in service_uuids}
        return any(full_uuid(u) in adv for u in self.service_uuids)

    def stream(self, name: str) -> StreamSpec:
        """The stream called ``name``; :class:`KeyError` with the known names otherwise."""
        try:
            return self.streams[name]
        except KeyError:
            known = ", ".join(self.streams)
            raise KeyError(f"{self.name} has no stream {name!r} (known: {known})") from None


def full_uuid(u: str) -> str:
    """128-bit lower-case form of a UUID; 16-bit short forms ("180d", "0x180D") use the SIG base."""
    s = u.strip().lower()
    if s.startswith("0x"):
        s = s[2:]
    if len(s) == 4:
        return f"0000{s}-0000-1000-8000-00805f9b34fb"
    return s


@dataclass
class FixedController:
    """A controller whose steps never change (no per-connection command state)."""

    start: list[Step]
    stop: list[Step]

    def start_steps(self) -> list[Step]:
        return list(self.start)

    def stop_steps(self) -> list[Step]:
        return list(self.stop)
