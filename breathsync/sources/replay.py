"""Replay of a recording (one participant stream) at real-time pace, scaled by the session clock's speed.

A replayed sample recorded at ``t_rec`` is stamped ``t_rec - origin (+ loop offset)`` in session seconds and
delivered once the session clock has reached that time. ``origin`` is the recording's first time, or a common
origin set by :func:`align_replays` so that recordings of one session (one host time base) replay in lockstep.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

import numpy as np

from breathsync.dsp._types import FloatArray
from breathsync.errors import InputError, RecordingError
from breathsync.io.csvfile import (
    MAX_RATE_HZ,
    MIN_RATE_HZ,
    Recording,
    breathing_column_problem,
    read_recording,
)
from breathsync.io.session_folder import file_identity, read_session_folder
from breathsync.sources.base import (
    SIGNAL_COLUMNS,
    SampleChunk,
    SessionClock,
    Source,
    SourceError,
    SourceStatus,
    split_spec,
)

__all__ = ["ReplaySource", "align_replays", "check_replays_overlap", "parse_replay_spec"]

SPEC_SYNTAX = "replay:PATH[,loop][,participant=LABEL][,column=NAME][,rate=HZ]"


class ReplaySource(Source):
    """Plays one participant stream from a recording CSV file.

    Parameters
    ----------
    path : str
        The recording (a participant's CSV; for a session folder, :func:`parse_replay_spec` resolves the file).
    loop : bool
        Start again at the end, seamlessly: the times go on increasing (offset = duration + one median step).
    participant : str, optional
        The participant's label in its session folder, for :meth:`describe`.
    folder : str, optional
        The session folder the file belongs to, for :meth:`describe`.
    chunk_s : float
        About how much session time each chunk covers.
    column : str, optional
        The column that holds the breathing waveform, for a file that does not name it ``resp`` (a lab
        export; ``read_recording``'s ``resp_column``). Only that column plays (as ``resp``): the file's other
        columns may be other people's (two belts on one acquisition system).
    rate_hz : float, optional
        The sampling rate of a file without a time column (``read_recording``'s ``rate_hz``); a file with
        one refuses it, and so does a series of RR intervals (timed by their running sum).
    """

    paced = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        loop: bool = False,
        participant: str | None = None,
        folder: str | None = None,
        chunk_s: float = 0.1,
        column: str | None = None,
        rate_hz: float | None = None,
    ) -> None:
        super().__init__()
        self.column = column
        self.rate_hz = rate_hz
        if not chunk_s > 0:
            raise ValueError("chunk_s must be positive")
        self.path = str(path)
        self.loop = loop
        self.participant = participant
        self.folder = folder
        self.chunk_s = float(chunk_s)
        self.origin: float | None = None  # recording time that maps to session time 0
        self._rec: Recording | None = None
        self._signal: str | None = None
        self._derived_set: str | None = None  # derived_from as set, else the file's line:
        self._file_derived = ""  # read once with the file (a session asks at every chunk)
        self._extra: tuple[str, ...] = ()
        self._t: FloatArray = np.empty(0)
        self._cols: dict[str, FloatArray] = {}
        self._plays_ecg_beats = False  # an ECG recording, played as the RR intervals of its heart beats
        self._period = 0.0  # loop: duration + one median step
        self._clock: SessionClock | None = None
        self._stopped = False
        self._next_s = -math.inf  # session time of the next sample to give (next_sample_s)

    # ------------------------------------------------------------------------------ the recording
    @property
    def signal(self) -> str:
        """The recording's breathing signal (resp, then acc, then rr); "resp" while it cannot be read."""
        if self._signal is None:
            try:
                self.load()
            except SourceError:
                return "resp"
        return self._signal or "resp"

    @signal.setter
    def signal(self, value: str) -> None:
        self._signal = value

    @property
    def derived_from(self) -> str:
        """What the recording's ``resp`` was derived from before it was recorded, by its ``# derived_from:``
        line (:meth:`Recording.derived_from`: a partner's breathsync publishing breathing from heart beats or a
        chest accelerometer, recorded by a session that joined it): "rr", "acc", or "" (a belt's; a file that
        cannot be read)."""
        if self._derived_set is not None:
            return self._derived_set
        if self._rec is None:
            try:
                self.load()
            except SourceError:
                return ""
        return self._file_derived

    @derived_from.setter
    def derived_from(self, value: str) -> None:  # Source's attribute: set, it stands for the file's line
        self._derived_set = value

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """``("rr_ms",)`` for an accelerometer recording with heart beats (a Polar H10's: beat rows
        interleaved with the accelerometer rows), else ``()``; reads the file (``()`` while it cannot be read)."""
        if self._rec is None:
            try:
                self.load()
            except SourceError:
                return ()
        return self._extra

    @extra_columns.setter
    def extra_columns(self, value: tuple[str, ...]) -> None:
        self._extra = tuple(value)

    def stream_key(self) -> tuple[object, ...]:
        """What this replay plays, the same for two replays of the same stream however they name the file
        (:func:`~breathsync.io.session_folder.file_identity`): the file and the breathing column (reads
        the file)."""
        self.load()
        column = "" if self.column in (None, "resp") else str(self.column)
        return (file_identity(self.path), column)

    def stream_text(self) -> str:
        """What :meth:`stream_key` stands for, for a message: the file's real path, and the column."""
        return os.path.realpath(self.path) + (f", column {self.column}" if self.column else "")

    def load(self) -> Recording:
        """Read the recording (once); SourceError with one line when it cannot be used."""
        if self._rec is not None:
            return self._rec
        try:
            rec = read_recording(self.path, self.rate_hz, resp_column=self.column)
        except RecordingError as exc:
            raise SourceError(f"replay: {exc}") from None
        if self.rate_hz is not None and rec.time_from_rr:
            raise SourceError(
                f"replay: {self.path}: rate={self.rate_hz:g} is for a sampled signal without a time column, and "
                "this file is a series of RR intervals (each beat is timed by the running sum of the intervals; a "
                "series of beats has no sampling rate): leave rate= out"
            )
        if self.rate_hz is not None and not rec.time_from_rate:
            raise SourceError(
                f"replay: {self.path}: rate={self.rate_hz:g} is for a file without a time column, and this one "
                "has one (its times are used): leave rate= out"
            )
        kind = rec.signal_kind()
        if kind is None:  # read_recording already refuses these; kept for recordings built otherwise
            raise SourceError(f"replay: {self.path}: no breathing signal (resp, acc_x/acc_y/acc_z or rr_ms)")
        # The loop's period: the recording's span and one step of its signal (an accelerometer's own rows:
        # its beat rows, interleaved, would make the median step too short).
        steps = np.diff(rec.time[rec.acc_rows()] if kind == "acc" else rec.time)
        if steps.size and float(steps.max()) > MAX_REPLAY_GAP_S:
            # As between two replayed files (check_replays_overlap): played in real time (x --speed), the
            # session would show "no signal" that long.
            k = int(np.argmax(steps))
            t_at = rec.time[rec.acc_rows()] if kind == "acc" else rec.time
            raise SourceError(
                f"replay: {self.path}: no samples for {steps[k]:.0f} s (from {t_at[k]:g} s to {t_at[k + 1]:g} s of "
                f"its time column; a replay plays through at most {MAX_REPLAY_GAP_S:.0f} s without any): cut the "
                "file in two at the gap, or analyse it with `breathsync analyze`, which scores around gaps"
            )
        steps = steps[steps > 0]
        step = float(np.median(steps)) if steps.size else self.chunk_s
        self._period = float(rec.time[-1] - rec.time[0]) + step
        if kind == "ecg":
            # An ECG plays as its heart beats, each RR interval at the time of the beat that ends it, as
            # a heart-rate strap delivers them (the beats are found when the file is loaded).
            try:
                beat_t, rr_ms = rec.ecg_rr()
            except RecordingError as exc:
                raise SourceError(f"replay: {exc}") from None
            if beat_t.size == 0:
                raise SourceError(
                    f"replay: {self.path}: no heart beats found in its ECG (flat or too short?)"
                )
            self._t, self._cols, kind = beat_t, {"rr_ms": rr_ms}, "rr"
            self._plays_ecg_beats = True
        else:
            try:
                if kind == "acc":
                    rec.check_acc_rate()
                elif kind == "rr":  # as analyze refuses it: all 0, negative, not milliseconds
                    rec.check_rr_intervals()
            except RecordingError as exc:
                raise SourceError(f"replay: {exc}") from None
            wanted = list(SIGNAL_COLUMNS[kind])
            # The file's other columns play along (a recording of the replay keeps them), but not with
            # column=: such a file's other columns may be other people's (two belts on one acquisition
            # system), and the picked one plays as resp only.
            others = (
                [c for c in rec.columns if c not in wanted and rec.has_values(c)]
                if self.column is None
                else []
            )
            self._cols = {c: rec.columns[c] for c in wanted + others}
            self._t = rec.time
            if kind == "acc" and rec.beat_rows().any():
                # Beat rows interleaved with the accelerometer's (the chunk contract of
                # Source.extra_columns: every chunk carries both, each row is the one or the other).
                self._extra = ("rr_ms",)
        self._signal = kind
        self._rec = rec
        self._file_derived = rec.derived_from()[0]
        return rec

    @property
    def first_time(self) -> float:
        """The recording's first time (reads the file)."""
        return float(self.load().time[0])

    # ------------------------------------------------------------------------------ Source
    async def start(self, clock: SessionClock) -> None:
        self.load()
        if self.origin is None:
            self.origin = self.first_time
        self._clock = clock
        self._stopped = False
        self._next_s = self.first_time - self.origin
        self.set_status(SourceStatus.STREAMING)

    async def stream(self) -> AsyncIterator[SampleChunk]:
        if self._clock is None or self.origin is None:
            raise SourceError("replay: start() first")
        clock = self._clock
        t_rec = self._t
        n = int(t_rec.size)
        offset = -self.origin  # session time = recording time + offset
        i = 0  # next sample to deliver
        edge = -math.inf  # session time up to which samples have been delivered
        while not self._stopped:
            t_next = float(t_rec[i]) + offset
            # The next chunk boundary: ``chunk_s`` after the previous one, but no earlier than the next sample.
            target = max(edge + self.chunk_s, t_next)
            await clock.sleep_until(target)
            if self._stopped:
                break
            now = clock.now()
            if now < t_next:  # woke early (timer granularity): never run ahead of the clock
                continue
            j = int(np.searchsorted(t_rec, now - offset, side="right"))
            edge = now
            if j > i:
                sl = slice(i, j)
                self._next_s = float(t_rec[j]) + offset if j < n else math.inf
                # Session times to the microsecond, as the recorder writes them: otherwise a time that
                # floating point leaves 1e-13 s below a grid edge is binned differently when the
                # recording is analysed (up to 12 deg of phase for a file starting at 1000.5 s).
                t_out = np.round(t_rec[sl] + offset, 6)
                yield SampleChunk(t_out, {c: v[sl] for c, v in self._cols.items()})
                i = j
            if i >= n:
                if not self.loop:
                    self.set_status(SourceStatus.ENDED, "end of the recording")
                    return
                i = 0
                offset += self._period
                self._next_s = float(t_rec[0]) + offset
            await asyncio.sleep(0)  # let others run when catching up after a stall

    async def stop(self) -> None:
        self._stopped = True

    def next_sample_s(self) -> float:
        return self._next_s

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": "replay", "file": self.path, "signal": self.signal, "loop": self.loop}
        # The file's "# unit:" line, carried into a recording of the replay; not for an ECG, which plays as
        # the RR intervals found in it (the file's units are not those of what it plays).
        if self._rec is not None and self._rec.meta.get("unit") and not self._plays_ecg_beats:
            unit = (
                self._rec.meta["unit"]
                if self.column is None
                else _picked_unit(self._rec.meta["unit"], self.column)
            )
            if unit:
                d["unit"] = unit
        if self.column is not None:
            d["column"] = self.column
        if (
            self.derived_from
        ):  # as the lsl: source it was recorded from said it (a recording of the replay keeps it)
            d["derived_from"] = self.derived_from
        if self.rate_hz is not None:
            d["rate_hz"] = self.rate_hz
        if self.folder is not None:
            d["folder"] = self.folder
            d["participant"] = self.participant
        return d


def _spec_rate(value: str) -> float:
    """rate=HZ: a sampling rate in the range analyze's --rate takes, or a one-line InputError."""
    try:
        hz = float(value)
    except ValueError:
        hz = math.nan
    if not (math.isfinite(hz) and MIN_RATE_HZ <= hz <= MAX_RATE_HZ):
        raise InputError(
            f"replay: rate={value} is not a sampling rate: give the file's rate in Hz, {MIN_RATE_HZ:g} to "
            f"{MAX_RATE_HZ:g} (rate= is for a file without a time column): {SPEC_SYNTAX}"
        )
    return hz


def align_replays(sources: Sequence[Source]) -> float | None:
    """Give the replay sources among ``sources`` a common origin, the earliest first time among them, so that
    recordings on one host time base replay in lockstep (a file that starts later starts later).

    Reads the files; raises SourceError for one that cannot be used. Returns the origin (None: no replays).
    """
    replays = [s for s in sources if _is_replay(s)]
    if not replays:
        return None
    origin = min(float(getattr(r, "first_time")) for r in replays)  # noqa: B009 (a capture's is an attribute)
    for r in replays:
        r.origin = origin  # type: ignore[attr-defined]
    return origin


def _is_replay(src: Source) -> bool:
    """A recording played on its own times: a CSV or XDF replay, or a wearable's capture
    (:class:`~breathsync.sources.capture.CaptureSource`, which has ``first_time``, ``last_time`` and
    ``origin`` too)."""
    return isinstance(src, ReplaySource) or getattr(src, "spec_kind", None) == "replay"


def _span(src: Source) -> tuple[float, float]:
    """A replay's first and last times (the recording's)."""
    if isinstance(src, ReplaySource):
        rec = src.load()
        return float(rec.time[0]), float(rec.time[-1])
    return float(getattr(src, "first_time")), float(getattr(src, "last_time"))  # noqa: B009


MAX_REPLAY_GAP_S = 600.0
"""The longest stretch :func:`check_replays_overlap` lets pass with no replay playing: a pause between
recordings made in one sitting (a participant who left for a few minutes) plays through as a short "no
signal"; recordings whose times are hours, days or years apart are on another clock or from another day."""


def check_replays_overlap(named: Sequence[tuple[str, Source]]) -> None:
    """Refuse, before a session starts, replays whose times never meet: the replayed recordings (``named``:
    each participant's label and source) are played on their own times, in step (:func:`align_replays`), so
    one that starts long after all the others have ended would leave the session showing "no signal" until
    its time came, days or years away for a file on another clock. Participants whose recordings each
    overlap some other's (one leaves, another comes) are fine, and so is a gap of at most
    :data:`MAX_REPLAY_GAP_S`. A looping replay keeps the session playing through any gap, but is not let
    excuse a longer one: the later participant would still show "no signal" for that long (for ever, in
    practice, on another clock).

    Reads the files (SourceError for one that cannot be used); InputError, one line, naming the two
    participants around the gap."""
    spans: list[tuple[float, float, str, Any]] = []
    for label, src in named:
        if _is_replay(src):
            spans.append((*_span(src), label, src))
    spans.sort(key=lambda span: span[0])
    if len(spans) < 2:
        return
    last = spans[0]  # of the recordings started so far, the one that ends last
    for span in spans[1:]:
        gap = span[0] - last[1]
        if gap > MAX_REPLAY_GAP_S:
            looped = f" (looping {last[2]} does not fill it: {span[2]} would show no signal that long)"
            raise InputError(
                f"participants {last[2]} ({_span_text(last)}) and {span[2]} ({_span_text(span)}) were not "
                f"recorded at the same time: {span[2]}'s recording starts {duration_text(gap)} after "
                f"{last[2]}'s ends{looped if last[3].loop else ''}, and a session replays its files on their own times, in step; replay or "
                "analyse them separately, or shift one file's time column onto the other's"
            )
        if span[1] > last[1]:
            last = span


def _span_text(span: tuple[float, float, str, Any]) -> str:
    return f"{os.path.basename(span[3].path)}: {span[0]:.10g} to {span[1]:.10g} s"


def duration_text(seconds: float) -> str:
    """A gap for a message: in seconds, and in larger units when that helps (``1.7e+09 s, 54 years``)."""
    text = f"{seconds:.4g} s"
    for unit, size in (("years", 365.25 * 86400), ("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * size:
            return f"{text} ({seconds / size:.3g} {unit})"
    return text


def _picked_unit(unit_line: str, column: str) -> str:
    """The part of a ``# unit:`` line (``"RSP_A: V; RSP_B: V"``) that names ``column``, as ``resp``'s (a
    column= replay plays that column only, as resp); "" when the line does not name it."""
    for part in unit_line.split(";"):
        names, colon, text = part.partition(":")
        if colon and column in (n.strip() for n in names.split("/")) and text.strip():
            return f"resp: {text.strip()}"
    return ""


def parse_replay_spec(text: str, label: str | None = None) -> ReplaySource:
    """A replay source from the command-line text after ``replay:``:
    ``PATH[,loop][,participant=LABEL][,column=NAME][,rate=HZ]``.

    PATH is a recording CSV file or a recorded session folder. For a folder the participant defaults to
    ``label`` (the label given on the command line), else to the folder's first participant. A value or
    the path may be double-quoted to hold commas (:func:`~breathsync.sources.base.split_spec`):
    ``lab.csv,column="Resp, Belt A"``.

    Raises
    ------
    InputError
        Bad syntax, a bad session folder or a participant it does not have; one line.
    """
    spec = text.strip()
    options: list[tuple[str, str, str]]
    if os.path.exists(spec):  # a path that itself contains commas, unquoted and without options
        path, options = spec, []
    else:
        # Double quotes keep commas in a value or the path: column="Resp, Belt A", "lab, day 2.csv",loop.
        path, options = split_spec(spec, f"replay needs a file or a session folder: {SPEC_SYNTAX}")
    from breathsync.sources.xdf import is_xdf_path, xdf_source

    if is_xdf_path(path):  # a .xdf path with commas reaches here: the command line looks for .xdf in the
        return xdf_source(path, options, text, label)  # text before the first comma
    loop = False
    participant: str | None = None
    column: str | None = None
    rate_hz: float | None = None
    for key, eq, value in options:
        opt = key + eq + value
        if key == "loop" and not eq:
            loop = True
        elif key == "participant" and eq and value:
            participant = value
        elif key == "participant":
            raise InputError(f"replay: participant= needs a label: {SPEC_SYNTAX}")
        elif key == "column" and eq and value:
            name = value.strip('"').strip("'").strip()  # as the reader drops a header's quotes
            problem = breathing_column_problem(name, "column=")
            if problem is not None:
                raise InputError(f"replay: column={value}: {problem}")
            column = name
        elif key == "column":
            raise InputError(f"replay: column= needs the breathing waveform's column name: {SPEC_SYNTAX}")
        elif key == "rate":
            rate_hz = _spec_rate(value if eq else "")
        else:
            hint = ""
            k = options.index((key, eq, value))
            if not eq and k and options[k - 1][1]:  # the rest of a value cut at its comma
                pkey, _, pvalue = options[k - 1]
                # In a shell, the double quotes survive only inside single quotes.
                hint = f" (a value with a comma goes in double quotes, and in a shell those in single quotes: '{pkey}=\"{pvalue}, {key}\"')"
            raise InputError(f"replay: unknown option {opt!r} in {text!r}{hint}: {SPEC_SYNTAX}")
    if not os.path.isdir(path):
        if participant is not None:
            raise InputError(
                f"replay: participant={participant} applies to a session folder, and {path} is a file"
            )
        return ReplaySource(path, loop=loop, column=column, rate_hz=rate_hz)
    if column is not None:
        raise InputError(f"replay: column= applies to a file, and {path} is a session folder")
    if rate_hz is not None:
        raise InputError(
            f"replay: rate= applies to a file without a time column, and {path} is a session folder"
        )
    folder = read_session_folder(path)
    wanted = participant if participant is not None else label
    if wanted is not None and wanted not in folder.labels and participant is None:
        there = ", ".join(folder.labels)
        raise InputError(
            f"replay: {path} has no participant {wanted!r} (it has {there}): add ,participant=LABEL"
        )
    chosen = folder.participant(wanted)
    return ReplaySource(chosen.path, loop=loop, participant=chosen.label, folder=path)
