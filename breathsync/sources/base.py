"""The one interface behind which every producer of a participant's samples sits.

CSV replay, the simulated partner, and later BLE wearables and LSL inlets all implement :class:`Source`;
the session cannot tell them apart, and tests swap one for another.

Time: every source stamps its samples in **session seconds** from the :class:`SessionClock` it is given
(monotonic host time since the session started, :data:`HOST_CLOCK`, times ``speed`` for replayed and
simulated sources, which is how ``--speed`` makes fast runs possible). Real devices use speed 1.
"""

from __future__ import annotations

import abc
import asyncio
import bisect
import enum
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from breathsync.dsp._types import FloatArray
from breathsync.dsp.rr import MAX_GAP_S
from breathsync.errors import InputError


class SourceStatus(enum.Enum):
    """What a source is doing; visible to the session and the views."""

    STARTING = "starting"
    STREAMING = "streaming"
    NO_SIGNAL = "no signal"
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    FAILED = "failed"


#: "No signal" for breathing derived from heart beats only after this long without a beat (s): a heart-rate
#: strap's beats are up to 1.5 s apart (40/min) and one missed beat makes that 3 s, which is not a lost strap
#: (the session's ``_Participant.no_signal_s``; an ``lsl:`` stream of RR intervals too).
RR_NO_SIGNAL_S = 3.5
#: Beyond :data:`breathsync.dsp.rr.MAX_GAP_S` (s) between accepted beats a waveform another breathsync derived
#: from heart beats has a gap; until then its samples come only as beats are accepted (a missed beat, its
#: double-length interval dropped as an artefact, leaves three beat intervals without any: 2.4 s at 75
#: beats/min, 3.6 s at 50), which is no lost partner. Half a second on top covers the publisher's snapshots
#: and the network: "no signal" after this long (4.5 s; an lsl: source's, or a replay of its recording's, in
#: a session).
DERIVED_RR_NO_SIGNAL_S = MAX_GAP_S + 0.5
#: Which breathing signal a source's chunks carry: the column names the session reads.
SIGNAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "resp": ("resp",),
    "rr": ("rr_ms",),
    "acc": ("acc_x", "acc_y", "acc_z"),
}


@dataclass(frozen=True)
class SampleChunk:
    """Timestamped samples: ``t`` in session seconds (increasing; with :attr:`Source.extra_columns`,
    increasing within each of the two streams) and one array per column."""

    t: FloatArray
    columns: dict[str, FloatArray]

    def __len__(self) -> int:
        return int(self.t.size)


@dataclass(frozen=True)
class Packet:
    """One notification as a device sent it, before decoding: what a recording's capture holds (a device's
    bytes kept, so that decoding can be checked again later, e.g. with ``breathsync decode --capture``)."""

    t: float  # arrival, session seconds
    connection: int  # the connection it came on (1, 2, ...): its decoders started afresh
    stream: str  # the device profile's name of the stream
    data: bytes


#: Packets a capturing source holds for the session to take (:meth:`Source.take_packets`, at every
#: snapshot: at least 10 a second). Beyond it (a session that stopped taking them) the newest are not kept,
#: and counted: ``packets_not_captured``.
MAX_HELD_PACKETS = 100_000


# The fastest replay/simulation speed offered: measured on a 2-core machine, simulated sources at 1000x fell
# behind the session clock (a 600-s session then recorded 443 s, before sessions waited for paced sources:
# see Source.paced); at 300 they kept up.
MAX_SPEED = 300.0


#: The host clock session time is read from: monotonic, and fine-grained on every OS. ``time.monotonic``
#: advances in 15.6 ms steps on Windows before Python 3.13 (cpython gh-88494), which quantised the arrival
#: times a device's samples are mapped onto; ``perf_counter`` is the same clock as ``monotonic`` on Linux
#: and macOS, and QueryPerformanceCounter on Windows (what LSL's ``local_clock``, C++'s steady_clock, reads
#: there too). Nothing compares session time with another host clock: sources stamp with ``now()``.
HOST_CLOCK: Callable[[], float] = time.perf_counter


class SessionClock:
    """Session time: seconds since :meth:`start`, scaled by ``speed``.

    ``now()`` is what every source stamps its samples with; ``sleep_until(t)`` waits until session time
    ``t``. It reads :data:`HOST_CLOCK`; a test can pass ``time_fn`` to drive it from a fake clock.
    """

    def __init__(self, speed: float = 1.0, time_fn: Callable[[], float] | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)
        self._time_fn = time_fn if time_fn is not None else HOST_CLOCK
        self._t0: float | None = None

    def start(self) -> None:
        if self._t0 is None:
            self._t0 = self._time_fn()

    @property
    def started(self) -> bool:
        return self._t0 is not None

    def now(self) -> float:
        if self._t0 is None:
            return 0.0
        return (self._time_fn() - self._t0) * self.speed

    def wall_delay(self, t_session: float) -> float:
        """Wall-clock seconds until session time ``t_session`` (<= 0 when already past)."""
        return (t_session - self.now()) / self.speed

    async def sleep_until(self, t_session: float) -> None:
        import asyncio

        # Always yield to the loop, even when already late: a source catching up must not starve the
        # session's other tasks.
        await asyncio.sleep(max(self.wall_delay(t_session), 0.0))


def split_spec(text: str, missing: str, kind: str | None = None) -> tuple[str, list[tuple[str, str, str]]]:
    """A source spec ``HEAD[,key=value...]`` (the text after ``kind:``) as (head, [(key, "=", value), ...]).

    Commas separate the parts; a double-quoted stretch is taken as it is, commas, ``=`` and spaces included,
    and loses its quotes (``column="Resp, Belt A"``, ``"lab, day 2.csv",loop``); ``""`` inside quotes is
    one ``"``. Spaces around a part (outside quotes) are dropped; a flag such as ``loop`` comes back as
    ``("loop", "", "")``.

    Raises
    ------
    InputError
        One line, naming ``kind`` (default: the first word of ``missing``): ``missing`` for an empty head;
        an unterminated quote; an empty option (two commas in a row); a key given twice.
    """
    where = kind or (missing.split(" ", 1)[0] if missing else "spec")
    parts: list[tuple[str, str, str]] = []
    chars: list[str] = []  # the current part, quotes removed
    quoted: list[bool] = []  # per char: from inside quotes (kept as it is: not stripped, not a separator)
    eq_at: int | None = None  # the current part's first "=" outside quotes
    in_quote = False
    i, n = 0, len(text)

    def finish() -> None:
        lo, hi = 0, len(chars)
        while lo < hi and not quoted[lo] and chars[lo].isspace():
            lo += 1
        while hi > lo and not quoted[hi - 1] and chars[hi - 1].isspace():
            hi -= 1
        if eq_at is None or not parts:  # the head is never key=value: an "=" in it is part of it
            parts.append(("".join(chars[lo:hi]), "", ""))
            return
        key = "".join(chars[lo:eq_at]).strip() if eq_at >= lo else ""
        value_start = eq_at + 1
        while value_start < hi and not quoted[value_start] and chars[value_start].isspace():
            value_start += 1
        parts.append((key, "=", "".join(chars[value_start:hi])))

    while i < n:
        c = text[i]
        if in_quote:
            if c == '"' and i + 1 < n and text[i + 1] == '"':
                chars.append('"')
                quoted.append(True)
                i += 2
                continue
            if c == '"':
                in_quote = False
            else:
                chars.append(c)
                quoted.append(True)
        elif c == '"':
            in_quote = True
        elif c == ",":
            finish()
            chars, quoted, eq_at = [], [], None
        else:
            if c == "=" and eq_at is None:
                eq_at = len(chars)
            chars.append(c)
            quoted.append(False)
        i += 1
    if in_quote:
        raise InputError(
            f'{where}: unterminated quote in {text!r}: close it with a second " '
            '(a value with commas goes in double quotes, e.g. column="Resp, Belt A")'
        )
    finish()
    head, options = parts[0][0], parts[1:]
    if not head:
        raise InputError(missing)
    seen: set[str] = set()
    for key, eq, _value in options:
        if not key and not eq:
            raise InputError(
                f"{where}: an empty option in {text!r} (two commas in a row, or one at the end?)"
            )
        if key in seen:
            raise InputError(f"{where}: {key}{eq} is given twice in {text!r}: give it once")
        seen.add(key)
    return head, options


def spec_seconds(kind: str, key: str, value: str, most: float) -> float:
    """A number of seconds in (0, ``most``] from a spec option, or a one-line InputError (``inf``, ``nan``
    and absurd values such as ``1e300`` are mistakes, not settings)."""
    if not value.strip():
        raise InputError(f"{kind}: {key}= needs a number of seconds (at most {most:g})")
    try:
        v = float(value)
    except ValueError:
        raise InputError(f"{kind}: {key}={value!r} is not a number of seconds") from None
    if not v > 0:
        raise InputError(f"{kind}: {key} must be positive (a number of seconds, at most {most:g})")
    if not (math.isfinite(v) and v <= most):
        raise InputError(f"{kind}: {key}={value} is too long: give at most {most:g} seconds")
    return v


def real_time_error(where: str, what: str, speed: float) -> str | None:
    """The one rule for sources that run in real time (``lsl:``, ``ble:``): None when ``speed`` suits them,
    else why not (``where``: the source spec, ``what``: what it is, e.g. "a live stream"). Checked when the
    session is built from the specs (:func:`breathsync.live.build_session`) and again by the source's start."""
    if speed == 1.0:
        return None
    return f"{where}: {what} runs in real time; leave --speed at 1"


class SourceError(InputError):
    """A source cannot start or goes wrong; the message is one line for the user (before a session starts
    the command line reports it like any bad input, exit code 2)."""


class Source(abc.ABC):
    """A participant's sample producer.

    Life cycle: ``await start(clock)`` (raises :class:`SourceError` with a clear message when it cannot),
    then iterate ``stream()`` for :class:`SampleChunk` s until it ends, then ``await stop()`` (always safe,
    also after a failure). ``status`` and ``status_reason`` say what it is doing at any moment.
    """

    #: Which breathing signal the chunks carry: "resp", "rr" or "acc" (see :data:`SIGNAL_COLUMNS`).
    signal: str = "resp"
    #: What a "resp" waveform was derived from before it reached this source: "rr" (heart beats) or "acc" (a
    #: chest accelerometer), as a partner's breathsync publishing its derived breathing says (an ``lsl:``
    #: source, an XDF replay of its stream); "" for breathing measured as it is (a belt) or not said.
    derived_from: str = ""
    #: Columns the chunks carry beside the signal's, said up front (a recording's header has them from the
    #: first chunk, whatever arrives first). An "acc" source may give ``("rr_ms",)``: the heart beats of the
    #: same person (a Polar H10's RR intervals), which give the accelerometer's axis its sign. The chunk
    #: contract then: EVERY chunk carries the signal's columns and these, a row being an accelerometer
    #: sample (``rr_ms`` NaN) or a beat (``acc_x``/``acc_y``/``acc_z`` NaN; both only when a file has them
    #: on one line). Within each of the two streams times increase; across them they need not (a beat
    #: arrives up to a second or two after the accelerometer samples of its time).
    extra_columns: tuple[str, ...] = ()
    #: The samples are made (read from a file, simulated) as the session clock passes, rather than arriving
    #: from a device: at a high ``speed`` on a busy machine such a source can fall behind the clock, and a
    #: session with a duration runs on until it has caught up (a device's samples are simply not there).
    #: A paced source says how far it has got with :meth:`next_sample_s`.
    paced: bool = False
    #: The session sets it (before :meth:`start`) when a sink keeps the devices' bytes (a recording): a source
    #: that receives bytes from a device then holds each notification for :meth:`take_packets`.
    capture: bool = False

    def __init__(self) -> None:
        self.status = SourceStatus.STARTING
        self.status_reason = ""
        self._status_listeners: list[Callable[[SourceStatus, str], None]] = []
        self._packets: list[Packet] = []
        #: Notifications not held because :data:`MAX_HELD_PACKETS` were waiting (see there).
        self.packets_not_captured = 0

    def hold_packet(self, packet: Packet) -> None:
        """Keep a device's notification for :meth:`take_packets` (only while :attr:`capture` is on)."""
        if not self.capture:
            return
        if len(self._packets) >= MAX_HELD_PACKETS:
            self.packets_not_captured += 1
            return
        self._packets.append(packet)

    def take_packets(self) -> list[Packet]:
        """The notifications received since the last call, in arrival order (none from a source that reads
        no device: a file, a simulator, a stream)."""
        out, self._packets = self._packets, []
        return out

    def on_status(self, fn: Callable[[SourceStatus, str], None]) -> None:
        """Call ``fn(status, reason)`` whenever the status changes."""
        self._status_listeners.append(fn)

    def set_status(self, status: SourceStatus, reason: str = "") -> None:
        if status is self.status and reason == self.status_reason:
            return
        self.status = status
        self.status_reason = reason
        for fn in self._status_listeners:
            fn(status, reason)

    def set_detail(self, reason: str) -> None:
        """Change what ``status_reason`` says within the same status (a reconnection's attempts): the views
        read it with the next snapshot; listeners are not called, so the session's event log does not get
        one entry per attempt."""
        self.status_reason = reason

    @abc.abstractmethod
    async def start(self, clock: SessionClock) -> None:
        """Open the file / connect the device; raise :class:`SourceError` when that is impossible."""

    @abc.abstractmethod
    def stream(self) -> AsyncIterator[SampleChunk]:
        """The chunks, as they come; the iterator ends when the source ends."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop producing and release everything (idempotent)."""

    def describe(self) -> dict[str, Any]:
        """What this source is, for session.json and the views (kind, file, device, settings)."""
        return {"kind": type(self).__name__}

    def next_sample_s(self) -> float:
        """A paced source: the session time of the next sample it has still to give, ``inf`` when it has
        none left (a gap in a file is not falling behind). Others: ``inf``."""
        return math.inf


#: PhaseProbe.phase_at: an estimate this old (s) is read as it is; older, it is carried forward at the rate...
PROBE_FRESH_S = 0.5
#: ... for at most this long (s): beyond RR-derived breathing's lag (about 1-1.5 s, plus up to 1 s of BLE).
PROBE_CARRY_S = 3.0


@dataclass
class PhaseProbe:
    """What a simulated partner may read of another participant: the latest live phase.

    The session fills it (``update``); ``phase_at(t)`` gives the phase that participant had at session time
    ``t`` (the most recent estimate at or before ``t``), NaN when unknown.
    """

    history_s: float = 10.0
    #: Set by the session for a participant whose samples are made as the clock passes (a replayed file):
    #: the session time up to which :meth:`phase_at` is final (every sample before it has been processed),
    #: ``inf`` once nothing more is to come. A reader that must not run ahead of it (a simulated partner,
    #: which at a high ``--speed`` would otherwise read "unknown" where the file simply had not been played
    #: yet, and so behave differently at every speed) waits for it. None: never wait (a device's samples
    #: arrive when they arrive).
    final_until: Callable[[], float] | None = None
    _t: list[float] = field(default_factory=list)
    _ph: list[float] = field(default_factory=list)
    _rate: list[float] = field(default_factory=list)  # breaths/min, to carry a phase forward (phase_at)
    _avail: list[float] = field(default_factory=list)  # from when each estimate was known (update)
    _changed: asyncio.Event | None = None
    _read_s: float = math.inf  # the latest time read (phase_at): history from a second before it is kept

    def update(
        self,
        t: FloatArray,
        phase: FloatArray,
        rate_bpm: FloatArray | None = None,
        available_s: float = -math.inf,
    ) -> None:
        """New estimates: the phase at times ``t``, the live rate there (to carry it forward), and the session
        time from which they were known (breathing derived from heart beats is known about a second after the
        time it describes; ``-inf``: as soon as its time, a belt's). Known times never go back."""
        if t.size == 0:
            return
        self._t.extend(t.tolist())
        self._ph.extend(phase.tolist())
        self._rate.extend(rate_bpm.tolist() if rate_bpm is not None else [math.nan] * t.size)
        self._avail.extend([available_s] * t.size)
        # What the reader has still to read is kept: a replayed partner may run far ahead of a simulated
        # follower at a high --speed, and its phase must not be forgotten before the follower reads it. That
        # includes estimates up to PROBE_CARRY_S before the reader, which phase_at carries forward (a phase
        # from heart beats, known about a second late): with only the last second kept, a strap's follower
        # read "unknown" at 300x on a busy machine where at 30x it read the phase.
        keep_from = min(self._t[-1] - self.history_s, self._read_s - PROBE_CARRY_S - 1.0)
        k = bisect.bisect_left(self._t, keep_from)
        if k:
            del self._t[:k], self._ph[:k], self._rate[:k], self._avail[:k]
        self.advanced()

    def advanced(self) -> None:
        """Wake a reader waiting in :meth:`wait_update`: more of the participant's samples were processed
        (with or without a new phase: :meth:`known_until` may have moved), or their source ended."""
        if self._changed is not None:
            self._changed.set()

    def known_until(self) -> float:
        """The session time up to which the phase is final (see :attr:`final_until`); ``inf``: no waiting."""
        return math.inf if self.final_until is None else self.final_until()

    async def wait_update(self, timeout_s: float) -> None:
        """Return at the next :meth:`update`, or after ``timeout_s`` of wall time (a source that ended
        updates nothing more: the caller looks at :meth:`known_until` again)."""
        if self._changed is None:
            self._changed = asyncio.Event()
        self._changed.clear()
        # asyncio.wait, not wait_for: Python 3.11's wait_for loses a cancellation that arrives as the event
        # is set, and a simulated partner cancelled at the session's end then ran on for ever.
        waiter = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait((waiter,), timeout=timeout_s)
        finally:
            waiter.cancel()

    def phase_at(self, t: float) -> float:
        """The phase at ``t`` as known at ``t``: the newest estimate at or before ``t`` among those known by
        then (see :meth:`update`). Older than :data:`PROBE_FRESH_S` (a phase derived from heart beats, known
        about a second late; a short dropout), it is carried forward at the participant's rate, as a person
        would go on breathing with a partner they lost sight of for a moment, for up to
        :data:`PROBE_CARRY_S`; then, or without a rate, NaN: unknown. (Read only by time, a simulated partner
        of someone wearing a heart-rate strap found nothing fresher than 0.5 s at 1x and never followed.)"""
        self._read_s = t
        k = min(bisect.bisect_right(self._t, t), bisect.bisect_right(self._avail, t)) - 1
        if k < 0:
            return math.nan
        age = t - self._t[k]
        if age <= PROBE_FRESH_S:
            return self._ph[k]
        rate = self._rate[k]
        if age > PROBE_CARRY_S or not math.isfinite(rate) or not math.isfinite(self._ph[k]):
            return math.nan
        return (self._ph[k] + 2.0 * math.pi * rate / 60.0 * age) % (2.0 * math.pi)
