"""The recorder: a session sink that writes everything a live session sees into a session folder.

Layout of ``DIR`` (see :mod:`breathsync.io.session_folder`)::

    session.json        participants, sources, devices, settings, start/end (UTC), version, "files"
    <label>.csv         raw samples of each participant as the source delivered them (recording format)
    <label>_live.csv    live pipeline output: time, wave, phase_rad, rate_bpm, quality (20 Hz grid)
    <label>_ble.csv     a Bluetooth device's notifications as they came: time, connection, stream, hex
                        (``breathsync decode --capture`` decodes them again); only for a ``ble:`` source
    pairs.csv           per snapshot: time + per pair plv, null_plv, sync_score, in_sync, rel_phase_rad, lag_s,
                        window_end_s (the session time the window ends at)
    events.csv          time, kind, participants, text

Breathing is health data: the folder is made 0o700 and every file 0o600. Crash safety: every file is handed
to the operating system at least once a second of wall time (so ``kill -9`` loses at most the last second,
and the files stay readable: a cut-off last line is dropped by the reader); ``session.json`` is replaced
atomically. A write error (a full disk) stops the recording, never silently: :class:`RecorderError`.

Part of a session: the dashboard turns recording on and off during a session (``open(info, from_s=...)``,
``close(info, stopped=...)``). Such a folder says what it holds: ``part_of_session`` (in words),
``recorded_from_s`` and ``recorded_to_s`` (session times; the files keep the session's time base, whose
time 0 is ``start_utc``), ``recording_start_utc`` (``end_utc`` is when the recording ended), ``duration_s``
(the time it holds), ``session_duration_s`` (null when the session went on after it) and, when it stopped
before the session ended, ``recording_stopped`` (how). It has no ``summary`` (the session's covers time it
does not hold; ``summary_note`` says so and that ``analyze`` scores what it holds), and the sources' counters
(``dropped``, ``dropped_by``, ``reconnections``, ``packets_not_captured``) count what happened while it
recorded. events.csv begins with a ``recording_started`` event (a recording turned on during the session)
and ends with a ``recording_stopped`` event (one turned off while the session went on). A device's
notifications that still hold when the recording begins (its battery level) open its capture, at the
recording's start, with a ``# carried:`` line saying when they came.

Two streams in one raw file: a source with :attr:`~breathsync.sources.base.Source.extra_columns` (a chest
accelerometer with the same person's heart beats, ``rr_ms``) delivers rows of two streams whose times
interleave out of order (a beat arrives up to a second or two after the accelerometer samples of its
time), and a recording's time never goes backwards. Such a participant's rows are held in a reorder buffer
for :data:`REORDER_S` of recording time (or until the source has been quiet that long in wall time) and
written sorted by time; everything held is written at close. So ``kill -9`` loses at most the last
``REORDER_S`` + 1 s (about 3 s) of THAT participant's raw file, still the last second of every other file.
A row that comes later still (older than a row already written) is dropped and counted: ``late_rows`` in
session.json, and a warning. Other sources' rows are written as they come (a row older than the last one
written is dropped and counted the same way).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from breathsync.dsp._types import FloatArray
from breathsync.errors import InputError, RecordingError
from breathsync.io.capture import (
    CAPTURE_CARRIED,
    CAPTURE_COLUMNS,
    CAPTURE_HOLDS,
    CAPTURE_SUFFIX,
    carried_text,
)
from breathsync.io.csvfile import DERIVED_FROM, RecordingWriter, replace_file
from breathsync.io.session_folder import SESSION_FILE, SESSION_FORMAT, source_without_paths
from breathsync.session_types import Event, PairView, SessionInfo, Snapshot, clock_text
from breathsync.sources.base import SIGNAL_COLUMNS, Packet, SampleChunk

if TYPE_CHECKING:
    from devices import Profile

__all__ = ["LIVE_COLUMNS", "PAIR_FIELDS", "Recorder", "RecorderError", "device_unit", "device_units"]

FOLDER_MODE = 0o700
FILE_MODE = 0o600
#: Columns of ``<label>_live.csv`` (after time).
LIVE_COLUMNS = ("wave", "phase_rad", "rate_bpm", "quality")
#: Per-pair columns of ``pairs.csv``, each named ``<a>-<b>_<field>``.
#: ``window_end_s``: the session time of the end of the window the row's values describe (the pair's latest
#: window end on analyze's 0.1-s grid; ``time`` is when the snapshot was published): what ``analyze``'s pair series' ``t_s`` is.
PAIR_FIELDS = ("plv", "null_plv", "sync_score", "in_sync", "rel_phase_rad", "lag_s", "window_end_s")
FLUSH_INTERVAL_S = 1.0
#: Recording seconds that the rows of a two-stream participant (see the module) are held to be written in
#: time order: a beat's time is at most about 1.5 s older than the accelerometer sample that arrived with it
#: (BeatClock's ``max_latency_s``).
REORDER_S = 2.0
#: Wall-time seconds an event may wait, held for the pairs' judgments before it (_write_events), before it is
#: written anyway: what a crash or kill -9 can lose of the events (a pair whose partner dropped out for
#: minutes held every later event until it came back).
HOLD_WALL_S = 5.0
QUALITY_CODES = "0 ok, 1 warmup, 2 gap, 3 flat, 4 no_breathing"

_UNITS = {"rr": "rr_ms: milliseconds", "acc": "acc_x/acc_y/acc_z: milli-g", "rr_ms": "rr_ms: milliseconds"}
#: Units of columns a source gives beside its signal, whatever the signal: a simulator's ``true_phase``, the
#: phase it breathed at, wrapped to [0, 2 pi), 0 = inhale onset (breathsync/sources/sim.py; the same words as
#: ``breathsync simulate``'s files).
_COLUMN_UNITS = {"true_phase": "true_phase: radians, 0 = inhale onset"}
#: A source description's counters (a Bluetooth device's, a capture replay's) that a recording of part of a
#: session counts from its own start: what happened while it recorded.
COUNTERS = ("dropped", "notifications", "reconnections", "packets_not_captured")
COUNTERS_BY = ("dropped_by",)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.\-]+")
_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_RESERVED = {"session", "pairs", "events"}


def file_stem(label: str) -> str:
    """The stem a participant's files get from its label, before the recorder makes it unique: what is not
    ASCII letters, digits, ".", "-" or "_" becomes "_", and "._-" go from the ends ("CONé" -> "CON")."""
    return _SAFE_NAME.sub("_", label).strip("._-") or "participant"


WriterFactory = Callable[[str, Sequence[str], Mapping[str, str]], RecordingWriter]


def _device_profile(source: Any, signal: str) -> Profile | None:
    """The profile in ``devices/`` of the known Bluetooth device ``source`` names, when it gives ``signal``;
    None for a source naming no known device (a replay of a file, a simulator) or giving another signal."""
    if not isinstance(source, dict) or not isinstance(source.get("device"), str):
        return None
    import devices  # the registry of device profiles (only devices/ knows the products)

    profile = devices.PROFILES.get(source["device"])
    if profile is None or profile.signal != signal or profile.signal_stream not in profile.streams:
        return None
    return profile


def device_units(source: Any, signal: str) -> dict[str, str]:
    """The unit of each column a known Bluetooth device fills (``{"resp": "newtons"}`` for a GDX-RB belt; a
    Polar H10's ``acc_x``/``acc_y``/``acc_z`` and the ``rr_ms`` beside them), as its profile in ``devices/``
    declares them (``StreamSpec.units``, :attr:`devices.Profile.units`), never from a column's name. Empty
    when ``source`` names no known device (a replay of a file, a simulator) or the device gives another
    signal."""
    profile = _device_profile(source, signal)
    return dict(profile.units) if profile is not None else {}


def device_unit(source: Any, signal: str) -> str | None:
    """The ``# unit:`` text of the breathing signal a known Bluetooth device gives (``"resp: newtons"`` for a
    GDX-RB belt): the unit its profile's signal stream declares for each of the signal's columns
    (``StreamSpec.units``; :func:`device_units`). None when ``source`` names no known device (a replay, a
    simulator), the device gives another signal, or the profile declares no unit for one of its columns.
    """
    profile = _device_profile(source, signal)
    if profile is None:
        return None
    spec = profile.streams[profile.signal_stream]
    by_unit: dict[str, list[str]] = {}
    for mine in spec.signal_columns:
        unit = spec.units.get(mine)
        if unit is None:
            return None
        by_unit.setdefault(unit, []).append(mine)
    return "; ".join(f"{'/'.join(cols)}: {unit}" for unit, cols in by_unit.items()) or None


def prepare_folder(path: str | os.PathLike[str]) -> None:
    """Create an empty, owner-only recording folder, or say in one line why it cannot be (InputError).

    Called before a session starts (a clear error at start, exit code 2), and by :meth:`Recorder.open`."""
    folder = Path(path)
    try:
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{path} exists and is not a folder: choose a new folder for --record")
        if folder.is_dir():
            if any(folder.iterdir()):
                raise InputError(f"{path} is not empty: choose a new folder")
            with contextlib.suppress(OSError):
                os.chmod(folder, FOLDER_MODE)
        else:
            folder.mkdir(parents=True, mode=FOLDER_MODE)
            os.chmod(folder, FOLDER_MODE)  # whatever the umask
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(f"{path}: the recording folder is not writable")
    except OSError as exc:
        raise InputError(f"{path}: cannot create the recording folder: {_reason(exc)}") from None


class RecorderError(Exception):
    """The recording stopped (a write failed, e.g. the disk is full); the message is one line for an alarm."""


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecordingError):
        return exc.problem
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


class Recorder:
    """A :class:`~breathsync.session_types.Sink` writing a session folder.

    Parameters
    ----------
    path : str or os.PathLike
        The folder to create (parents too); it must not exist or be empty.
    writer_factory : callable, optional
        ``(path, columns, meta) -> RecordingWriter`` for the CSV files (tests inject failing writers).
    clock : callable
        Wall-clock seconds (monotonic) for the flush interval.

    Attributes
    ----------
    error : str or None
        Why the recording stopped (one line), None while it is fine.
    error_t_s : float
        The session time of the last snapshot recorded before it stopped (NaN: before the first one); what
        was written up to then stays readable.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        writer_factory: WriterFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = str(path)
        self.error: str | None = None
        self.error_t_s = math.nan
        self._factory: WriterFactory = writer_factory or _default_writer
        self._clock = clock
        self._info: SessionInfo | None = None
        self._opened = False
        self._closed = False
        self._files: dict[str, dict[str, Any]] = {}  # file name -> what it holds (session.json "files")
        self._names: dict[str, str] = {}  # label -> file stem
        self._participants: dict[str, dict[str, Any]] = {}
        self._raw: dict[str, RecordingWriter] = {}
        self._live: dict[str, RecordingWriter] = {}
        self._raw_last: dict[str, float] = {}
        self._held: dict[str, _Held] = {}  # two-stream participants: rows waiting to be written in order
        self._late: dict[str, int] = {}  # rows not recorded: older than a row already written
        self._live_last: dict[str, float] = {}
        self._pairs: RecordingWriter | None = None
        self._pair_keys: list[tuple[str, str]] = []
        self._pairs_last = -math.inf
        self._events_fh: IO[str] | None = None
        self._events: Any = None  # csv writer
        self._events_held: list[Event] = []  # stamped after the pairs' last judged window end (_write_events)
        self._captures: dict[str, tuple[IO[str], Any]] = {}  # label -> (file, csv writer) of <stem>_ble.csv
        self._warnings: list[str] = []
        self._dropped_columns: dict[str, set[str]] = {}
        self._last_flush = 0.0
        self._last_t = math.nan
        self._part: _Part | None = None  # a recording of part of the session (see the module)
        self._gone = False  # the folder or a file of it was deleted or replaced (_check_folder)
        self._in_place = False  # session.json's end was written (or tried) in place (_write_session_json)
        self._session_json_damaged = False  # ... stopped half-way, and the one before could not be put back
        self._folder_id: tuple[int, int] | None = None  # its (st_dev, st_ino) as it was made
        # How far each pair has judged (_write_events), and when each held event came (time.monotonic()).
        self._pair_ends: dict[tuple[str, str], float] = {}
        self._held_since: list[float] = []
        self.rows = 0  # raw sample rows written, all participants

    # ------------------------------------------------------------------------------ Sink
    def open(
        self,
        info: SessionInfo,
        *,
        from_s: float | None = None,
        sources: Mapping[str, Any] | None = None,
        carried: Mapping[str, Sequence[Packet]] | None = None,
    ) -> None:
        """Create the folder and session.json; InputError (one line) when that is impossible.

        Parameters
        ----------
        info : SessionInfo
            The session's description (the session keeps it up to date).
        from_s : float, optional
            The session time this recording begins at, for one turned on while the session runs: the
            folder then says it holds part of the session (see the module). None: it begins with the session.
        sources : mapping, optional
            With ``from_s``: each participant's source description as it is now (label -> ``describe()``),
            whose counters (:data:`COUNTERS`) the recording counts from.
        carried : mapping, optional
            With ``from_s``: each participant's last notification of each stream so far (label -> packets);
            those that still hold (a device's battery level) open the participant's capture.
        """
        if self._opened:
            return
        made = not os.path.lexists(self.path)
        prepare_folder(self.path)
        with contextlib.suppress(_CannotTell):  # (then the folder's own identity is not checked)
            self._folder_id = _identity(self.path)
        self._info = info
        for p in info.participants:
            label = str(p.get("label", ""))
            if label:
                self._participants[label] = p
                self._stem(label)
        if from_s is not None:
            start = max(0.0, float(from_s)) if math.isfinite(from_s) else 0.0
            then = (
                dict(sources)
                if sources is not None
                else {k: p.get("source") for k, p in self._participants.items()}
            )
            self._part = _Part(
                from_s=start,
                start_utc=_utc_now(),
                at_start={k: dict(v) for k, v in then.items() if isinstance(v, dict)},
                carried={k: list(v) for k, v in (carried or {}).items()},
            )
            # Held with the session's events, so that it takes its place in time order (_write_events).
            self._held_since.append(time.monotonic())
            self._events_held.append(
                Event(
                    start,
                    "recording_started",
                    f"recording started at {_clock(start)} of the session, which had begun before: "
                    "what came before is not in this recording",
                )
            )
        try:
            self._write_session_json()
            self._open_events()
        except OSError as exc:
            # Nothing is left behind (a session.json and an empty events.csv made a retry into the same
            # folder "not empty").
            self._remove_started(made)
            # (Another reason says what to do itself: "is session.json open in another program? ...")
            advice = ": free some space, or record elsewhere" if _disk_full(exc) else ""
            raise InputError(
                f"{self.path}: cannot write the recording folder: {_reason(exc)}{advice}"
            ) from None
        self._opened = True
        self._last_flush = self._clock()

    def _remove_started(self, made: bool) -> None:
        """Remove what a failed :meth:`open` made: its files, and the folder when it made it."""
        if self._events_fh is not None:
            with contextlib.suppress(OSError, ValueError):
                self._events_fh.close()
            self._events_fh, self._events = None, None
        for name in (SESSION_FILE, "events.csv"):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.path, name))
        if made:
            with contextlib.suppress(OSError):
                os.rmdir(self.path)  # only if empty: nothing of anyone else's goes
        self._files.clear()

    def on_chunk(self, label: str, chunk: SampleChunk) -> None:
        """Write a participant's raw samples (a two-stream participant's after :data:`REORDER_S`)."""
        if not self._writing() or len(chunk) == 0:
            return
        writer = self._raw.get(label)
        stem = self._stem(label)
        try:
            if writer is None:
                writer = self._open_raw(label, stem, chunk)
                # What the participant's source turned out to be (a BLE device is known after its scan: the
                # session has updated its description): said now, not only at the end, which a crash or a
                # kill never reaches (session.json kept "resp" and no device for a Polar H10). Not worth the
                # recording if it cannot be done now (a viewer holding it open): the end's write says so.
                with contextlib.suppress(OSError, InputError):
                    self._write_session_json(wait=False)
            t = np.asarray(chunk.t, dtype=np.float64).reshape(-1)
            cols = {
                c: np.asarray(v, dtype=np.float64) for c, v in chunk.columns.items() if c in writer.columns
            }
            if any(v.shape != t.shape for v in cols.values()):
                raise ValueError(
                    f"columns of {sorted({v.size for v in cols.values()})} values for {t.size} times"
                )
            extra = set(chunk.columns) - set(writer.columns)
            if extra:
                self._note_dropped(label, extra)
            ok = np.isfinite(t)
            late = ok & (t < self._raw_last.get(label, -math.inf))  # never backwards
            if late.any():
                self._count_late(label, int(late.sum()))
            keep = ok & ~late
            if not keep.all():
                t = t[keep]
                cols = {c: v[keep] for c, v in cols.items()}
            held = self._held.get(label)
            if held is None:
                self._write_raw(label, writer, t, cols)
            elif t.size:
                held.add(t, cols, self._clock())
                self._release(label, held.newest - REORDER_S)
        except (OSError, RecordingError) as exc:
            self._fail(exc, stem + ".csv")
        except (ValueError, IndexError) as exc:  # a malformed chunk (a source's bug): skip it, keep recording
            self._warn(f"{label}: a chunk was not recorded ({exc})")
        self._maybe_flush()

    def on_packets(self, label: str, packets: Sequence[Packet]) -> None:
        """Write a device's notifications, as they came, to ``<stem>_ble.csv`` (the capture)."""
        if not self._writing() or not packets:
            return
        name = self._stem(label) + CAPTURE_SUFFIX
        try:
            entry = self._captures.get(label)
            if entry is None:
                entry = self._open_capture(label, name, packets[0].t)
            entry[1].writerows((f"{pk.t:.6f}", pk.connection, pk.stream, pk.data.hex()) for pk in packets)
        except OSError as exc:
            self._fail(exc, name)
        self._maybe_flush()

    def _open_capture(self, label: str, name: str, first_t: float) -> tuple[IO[str], Any]:
        source = self._participants.get(label, {}).get("source")
        device = source.get("device") if isinstance(source, dict) else None
        # A recording turned on during the session: what the device said before that still holds (its
        # battery level, read as it connected), first, at the recording's start (rows are in time order).
        carried: list[Packet] = []
        at = first_t
        if self._part is not None:
            lasting = _lasting_streams(source)
            carried = [pk for pk in self._part.carried.pop(label, ()) if pk.stream in lasting]
            at = min(self._part.from_s, first_t)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)  # (see _open_events)
        fd = os.open(os.path.join(self.path, name), flags, FILE_MODE)
        fh = os.fdopen(fd, "w", encoding="utf-8", newline="")
        fh.write(f"# participant: {' '.join(label.split())}\n")  # (labels of a live session are one word)
        if isinstance(device, str):
            fh.write(f"# device: {device}\n")  # a profile's name: lower-case words joined by "-"
        fh.write(f"# holds: {CAPTURE_HOLDS}\n")
        if carried:
            said = [(pk.stream, pk.connection, pk.t) for pk in carried]
            fh.write(f"# {CAPTURE_CARRIED}: {carried_text(said, at)}\n")
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CAPTURE_COLUMNS)
        writer.writerows((f"{at:.6f}", pk.connection, pk.stream, pk.data.hex()) for pk in carried)
        self._captures[label] = (fh, writer)
        self._files[name] = {"kind": "capture", "participant": label, "holds": CAPTURE_HOLDS}
        return fh, writer

    def _write_raw(
        self, label: str, writer: RecordingWriter, t: FloatArray, cols: dict[str, FloatArray]
    ) -> None:
        writer.append(t, cols)
        if t.size:
            self._raw_last[label] = float(t[-1])
            self.rows += int(t.size)

    def _release(self, label: str, upto: float) -> None:
        """Write a two-stream participant's held rows up to time ``upto``, in time order."""
        t, cols = self._held[label].take(upto)
        if t.size:
            self._write_raw(label, self._raw[label], t, cols)

    def _count_late(self, label: str, n: int) -> None:
        self._late[label] = self._late.get(label, 0) + n
        self._warn(
            f"{label}: rows older than rows already written were not recorded (their number: late_rows)"
        )

    def on_snapshot(self, snap: Snapshot) -> None:
        """Write the new live samples of each participant, the pairs' synchrony and the new events."""
        if not self._writing():
            return
        self._last_t = snap.t_s
        name = ""
        try:
            for p in snap.participants:
                if p.new_t.size == 0:
                    continue
                name = self._stem(p.label) + "_live.csv"
                self._write_live(p.label, p.new_t, p.new_wave, p.new_phase, p.new_rate, p.new_quality)
            if snap.pairs:
                name = "pairs.csv"
                self._write_pairs(snap.t_s, snap.pairs)
            if (snap.events or self._events_held) and self._events is not None:
                name = "events.csv"
                self._write_events(snap)
        except (OSError, RecordingError) as exc:
            self._fail(exc, name)
        except (ValueError, IndexError) as exc:  # malformed arrays in a snapshot: skip them, keep recording
            self._warn(f"{name}: a snapshot was not fully recorded ({exc})")
        self._maybe_flush()

    def _write_events(self, snap: Snapshot) -> None:
        """The snapshot's events, in time order. The pairs' events are judged at window ends, which trail
        the samples (by the pipelines' delay, and at a high --speed by however far the samples got ahead of
        the scoring), while a source's or a signal's event is stamped at its samples' time: written as they
        came, a fast replay's events.csv had "the heart's rhythm confirms ..." at 68.5 s before "in sync" at
        45 s. An event later than what every pair has judged waits for it: held in memory for about a second
        at 1x, for a pair one of whom has no signal until its lost sync is judged (2-3 s after the last
        sample), and never more than :data:`HOLD_WALL_S` of wall time (what a kill -9 can lose); all are
        written with the final snapshot, or at close."""
        wall = time.monotonic()
        self._events_held.extend(snap.events)
        self._held_since.extend([wall] * len(snap.events))
        # How far each pair has been judged (less one step of the 10-Hz judging grid past its window end: a
        # pair is judged up to the last grid point before its end). While one of a pair has no signal its
        # view names no window, but the pair has judged up to its lost sync (judged_s); with neither, the
        # last window end given holds: released on a NaN, the events held were written before the pair
        # judged the windows that ended in a dropout ("source_back" at 103.0 s, then "lost sync" at 98.6 s).
        for pv in snap.pairs:
            key = (pv.a, pv.b)
            if math.isfinite(pv.window_end_s):
                self._pair_ends[key] = pv.window_end_s - 0.1
            elif pv.judged_s == math.inf:  # a source of the two is over: nothing more to judge
                self._pair_ends.pop(key, None)
            elif math.isfinite(pv.judged_s):
                self._pair_ends[key] = max(self._pair_ends.get(key, -math.inf), pv.judged_s)
        ends = [self._pair_ends[(pv.a, pv.b)] for pv in snap.pairs if (pv.a, pv.b) in self._pair_ends]
        upto = math.inf if snap.final or not ends else min(ends)
        keep = [
            e.t_s > upto and wall - since < HOLD_WALL_S
            for e, since in zip(self._events_held, self._held_since, strict=True)
        ]
        ready = [e for e, k in zip(self._events_held, keep, strict=True) if not k]
        self._events_held = [e for e, k in zip(self._events_held, keep, strict=True) if k]
        self._held_since = [w for w, k in zip(self._held_since, keep, strict=True) if k]
        self._event_rows(ready)

    def _event_rows(self, events: Sequence[Event]) -> None:
        """Write events.csv rows for these events, in time order."""
        for ev in sorted(events, key=lambda e: e.t_s):
            self._events.writerow([f"{ev.t_s:.3f}", ev.kind, ";".join(ev.participants), ev.text])

    def close(
        self, info: SessionInfo, *, stopped: str | None = None, sources: Mapping[str, Any] | None = None
    ) -> None:
        """Write the end of session.json, flush and close every file; idempotent.

        ``stopped``: how the recording stopped while the session goes on ("stopped from the dashboard"):
        events.csv ends with a ``recording_stopped`` event saying so, and session.json says the folder holds
        part of the session (see the module). ``sources``: each participant's source description now (label
        -> ``describe()``), for its counters at the recording's end (default: ``info``'s).

        Raises RecorderError when the last data cannot be written (and the recording had been fine so far).
        """
        if self._closed or not self._opened:
            self._closed = True
            return
        self._closed = True
        first_error = self.error
        if stopped is not None:
            if self._part is None:  # a recording begun with the session
                self._part = _Part(from_s=0.0, start_utc=info.start_utc)
            self._part.stopped = stopped
        if self._part is not None and sources is not None:
            self._part.at_end = {k: dict(v) for k, v in sources.items() if isinstance(v, dict)}
        ending = list(self._events_held)
        if stopped is not None:
            to_s = self._recorded_to_s()
            ending.sort(key=lambda e: e.t_s)  # the stop last, whatever the held events' times
            ending.append(
                Event(
                    max([to_s, *(e.t_s for e in ending)]),
                    "recording_stopped",
                    f"recording {stopped} at {_clock(to_s)} of the session, which went on: what came after "
                    "is not in this recording",
                )
            )
        if self.error is not None and stopped is None and not self._gone:
            # Stopped by a write error: events.csv still gets what it held and says so at its end, if the
            # disk takes it (a full one may still take these few lines into its last block).
            ending.sort(key=lambda e: e.t_s)
            to_s = self._recorded_to_s()
            why = self.error.removeprefix("recording stopped: ")
            ending.append(
                Event(
                    max([to_s, *(e.t_s for e in ending)]),
                    "recording_stopped",
                    f"recording stopped at {_clock(to_s)} of the session: {why}: what came after is not in "
                    "this recording",
                )
            )
            stopped_by_error = True
        else:
            stopped_by_error = False
        if (self.error is None or stopped_by_error) and ending and self._events is not None:
            with contextlib.suppress(OSError, ValueError):  # (a failure shows in the file's own close below)
                last = stopped is not None or stopped_by_error
                self._event_rows(ending[:-1] if last else ending)
                if last:  # (_event_rows sorts: the stop is written after the rest)
                    self._event_rows(ending[-1:])
                if stopped_by_error and self._events_fh is not None:
                    self._events_fh.flush()
            self._events_held, self._held_since = [], []
        if self.error is None:
            for label in self._held:
                try:
                    self._release(label, math.inf)
                except (OSError, RecordingError, ValueError) as exc:
                    self.error = f"recording stopped: {_reason(exc)} (writing {os.path.join(self.path, self._stem(label) + '.csv')})"
                    self.error_t_s = self._last_t
                    break
        for name, close in self._closers():
            try:
                close()
            except (OSError, ValueError) as exc:
                if self.error is None:
                    self.error = (
                        f"recording stopped: {_reason(exc)} (writing {os.path.join(self.path, name)})"
                    )
                    self.error_t_s = self._last_t
        self._info = info
        if self._gone:
            # The folder or a file of it was deleted or replaced (_check_folder): nothing is written where
            # the folder was (a folder made again there would get a session.json of files it does not have).
            pass
        else:
            try:
                self._write_session_json(final=True)
            except OSError as exc:
                if self.error is None:
                    # Every file was written and closed: only session.json's end is missing, not the data
                    # (said so when neither a new file nor the file itself took it: a folder made read-only;
                    # a file another program holds says what to do itself).
                    complete = (
                        ": everything was recorded, but session.json was left damaged by its rewrite: restore "
                        "it from a backup, or analyse the participants' CSV files directly"
                        if self._session_json_damaged
                        else ": everything was recorded, only the end of session.json (end_utc, summary) could "
                        "not be written"
                        if self._in_place
                        else ""
                    )
                    self.error = (
                        f"recording stopped: {_reason(exc)} (writing {os.path.join(self.path, SESSION_FILE)})"
                        f"{complete}"
                    )
                    self.error_t_s = self._last_t
        if self.error is not None and first_error is None:
            raise RecorderError(self.error)

    # ------------------------------------------------------------------------------ files
    def _writing(self) -> bool:
        if not self._opened:
            raise RuntimeError("Recorder.open() first")
        return self.error is None and not self._closed

    def _stem(self, label: str) -> str:
        """A safe, unique file stem for a participant label."""
        stem = self._names.get(label)
        if stem is not None:
            return stem
        base = file_stem(label)
        if base.lower() in _RESERVED or base.lower().endswith(("_live", "_ble")):
            base = "participant_" + base
        stem, k = base, 2
        taken = {s.lower() for s in self._names.values()}
        while stem.lower() in taken:
            stem, k = f"{base}_{k}", k + 1
        self._names[label] = stem
        self._files[stem + ".csv"] = {"kind": "raw", "participant": label, "holds": "raw samples"}
        self._files[stem + "_live.csv"] = {
            "kind": "live",
            "participant": label,
            "holds": f"live pipeline output on its grid: wave, phase_rad, rate_bpm, quality ({QUALITY_CODES})",
        }
        return stem

    def _open_raw(self, label: str, stem: str, chunk: SampleChunk) -> RecordingWriter:
        p = self._participants.get(label, {})
        signal = str(p.get("signal", ""))
        meta: dict[str, str] = {"participant": label}
        source = source_without_paths(p.get("source"))
        if source is not None:
            meta["source"] = _source_text(source)
        if signal:
            meta["signal"] = signal
        derived = source.get("derived_from") if isinstance(source, dict) else None
        if signal == "resp" and derived in DERIVED_FROM:
            # A waveform derived elsewhere (a partner's breathsync publishing breathing from heart beats or an
            # accelerometer, joined through lsl: or replayed from XDF): analyze reads it as such, not as a belt.
            meta["derived_from"] = str(derived)
        declared = source.get("unit") if isinstance(source, dict) else None
        # What the source declares, else what its device's profile does (a belt: newtons), else the format's.
        unit = p.get("unit") or declared or device_unit(source, signal) or _UNITS.get(signal)
        if unit:
            meta["unit"] = str(unit)
        if p.get("invert"):
            meta["invert"] = "true"
        columns = [c for c in chunk.columns if c != "time" and _COLUMN_NAME.match(c)]
        bad = set(chunk.columns) - set(columns)
        if bad:
            self._note_dropped(label, bad)
        # Columns the source said it carries beside its signal: in the header with the signal's, whatever
        # chunk came first (a beat's).
        declared_extra = [str(c) for c in p.get("extra_columns") or () if _COLUMN_NAME.match(str(c))]
        if declared_extra:
            first = [*SIGNAL_COLUMNS.get(signal, ()), *columns, *declared_extra]
            columns = list(dict.fromkeys(first))
        # "# unit:" names the extra columns too ("...; rr_ms: milliseconds"), and a simulator's true phase
        # (radians; a replayed ``simulate`` file declares it itself and keeps its own words).
        text = str(meta.get("unit", ""))
        named = {n.strip() for part in text.split(";") for n in part.partition(":")[0].split("/")}
        # An extra column's unit: as the device's profile declares it (a Polar H10's rr_ms), else the format's.
        dev = device_units(source, signal)
        more = [
            f"{c}: {dev[c]}" if c in dev else _UNITS[c]
            for c in declared_extra
            if c not in named and (c in dev or c in _UNITS)
        ]
        more += [_COLUMN_UNITS[c] for c in columns if c in _COLUMN_UNITS and c not in named]
        if more:
            meta["unit"] = "; ".join([text, *more] if text else more)
        writer = self._factory(os.path.join(self.path, stem + ".csv"), columns, meta)
        self._raw[label] = writer
        if declared_extra:
            self._held[label] = _Held()
        return writer

    def _write_live(
        self,
        label: str,
        t: FloatArray,
        wave: FloatArray,
        phase: FloatArray,
        rate: FloatArray,
        quality: FloatArray,
    ) -> None:
        writer = self._live.get(label)
        if writer is None:
            meta = {
                "participant": label,
                "holds": "live pipeline output (what the live view showed)",
                "quality": QUALITY_CODES,
                "unit": "phase_rad: radians, 0 = inhale onset; rate_bpm: breaths per minute",
            }
            writer = self._factory(
                os.path.join(self.path, self._stem(label) + "_live.csv"), LIVE_COLUMNS, meta
            )
            self._live[label] = writer
        last = self._live_last.get(label, -math.inf)
        tt = np.asarray(t, dtype=np.float64)
        keep = np.isfinite(tt) & (tt > last)  # only new samples: never a duplicate
        if not keep.any():
            return
        cols = {"wave": wave, "phase_rad": phase, "rate_bpm": rate, "quality": quality}
        writer.append(tt[keep], {c: np.asarray(v, dtype=np.float64)[keep] for c, v in cols.items()})
        self._live_last[label] = float(tt[keep][-1])

    def _write_pairs(self, t_s: float, pairs: Sequence[PairView]) -> None:
        if not math.isfinite(t_s) or t_s <= self._pairs_last:  # one row per moment
            return
        if self._pairs is None:
            self._pair_keys = [(pv.a, pv.b) for pv in pairs]
            columns = [
                f"{_col_label(a)}-{_col_label(b)}_{f}" for a, b in self._pair_keys for f in PAIR_FIELDS
            ]
            meta = {
                "holds": "live pair synchrony, one row per snapshot; columns <a>-<b>_<field>",
                "pairs": " ".join(f"{a}-{b}" for a, b in self._pair_keys),
                "unit": "rel_phase_rad: radians, > 0 = a ahead; lag_s: seconds; in_sync: 0/1, empty where plv is unknown",
                "window": "window_end_s: session time (s) of the end of the window the row describes; time is "
                "when the snapshot was published",
            }
            self._pairs = self._factory(os.path.join(self.path, "pairs.csv"), columns, meta)
        by_key = {(pv.a, pv.b): pv for pv in pairs}
        row: dict[str, list[float]] = {}
        for a, b in self._pair_keys:
            pv = by_key.get((a, b))
            prefix = f"{_col_label(a)}-{_col_label(b)}_"
            values = (
                [
                    pv.plv,
                    pv.null_plv,
                    pv.sync_score,
                    pv.in_sync_value,
                    pv.rel_phase_rad,
                    pv.lag_s,
                    pv.window_end_s,
                ]
                if pv is not None
                else [math.nan] * len(PAIR_FIELDS)
            )
            for f, v in zip(PAIR_FIELDS, values, strict=True):
                row[prefix + f] = [v]
        self._pairs.append([t_s], row)
        self._pairs_last = t_s

    def _open_events(self) -> None:
        # O_BINARY (Windows): a text-mode descriptor would write the csv module's "\n" as "\r\n".
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(os.path.join(self.path, "events.csv"), flags, FILE_MODE)
        self._events_fh = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self._events = csv.writer(self._events_fh, lineterminator="\n")
        self._events.writerow(["time", "kind", "participants", "text"])
        self._events_fh.flush()
        self._files["events.csv"] = {
            "kind": "events",
            "holds": "session events: time (s), kind, participants (';'-separated), text",
        }
        self._files["pairs.csv"] = {
            "kind": "pairs",
            "holds": "live pair synchrony per snapshot: <a>-<b>_" + ", _".join(PAIR_FIELDS),
        }

    def _writers(self) -> list[tuple[str, Callable[[], None], Callable[[], None]]]:
        """Every open file: (name, flush, close)."""
        out: list[tuple[str, Callable[[], None], Callable[[], None]]] = []
        for label, w in self._raw.items():
            out.append((self._stem(label) + ".csv", w.flush, w.close))
        for label, w in self._live.items():
            out.append((self._stem(label) + "_live.csv", w.flush, w.close))
        if self._pairs is not None:
            out.append(("pairs.csv", self._pairs.flush, self._pairs.close))
        if self._events_fh is not None:
            fh = self._events_fh
            out.append(("events.csv", fh.flush, fh.close))
        for label, (cfh, _w) in self._captures.items():
            out.append((self._stem(label) + CAPTURE_SUFFIX, cfh.flush, cfh.close))
        return out

    def _closers(self) -> list[tuple[str, Callable[[], None]]]:
        return [(name, close) for name, _flush, close in self._writers()]

    def _maybe_flush(self, force: bool = False) -> None:
        if self.error is not None:
            return
        now = self._clock()
        if not force and now - self._last_flush < FLUSH_INTERVAL_S:
            return
        for label, held in self._held.items():
            # A source quiet for REORDER_S (a link lost, the end of a file): what it gave is complete.
            if held.rows and now - held.last_in_wall >= REORDER_S:
                try:
                    self._release(label, math.inf)
                except (OSError, RecordingError) as exc:
                    self._fail(exc, self._stem(label) + ".csv")
        self._last_flush = now
        gone = self._check_folder()
        if gone is not None:
            self.error = f"recording stopped: {gone}"
            self.error_t_s = self._last_t
            raise RecorderError(self.error)
        for name, flush, _close in self._writers():
            try:
                flush()
            except OSError as exc:
                self._fail(exc, name)

    def _open_fds(self) -> list[tuple[str, int]]:
        """Every open file's name and descriptor (a test's writer without one is left out)."""
        files: list[tuple[str, Any]] = [
            (self._stem(label) + ".csv", getattr(w, "_fh", None)) for label, w in self._raw.items()
        ]
        files += [
            (self._stem(label) + "_live.csv", getattr(w, "_fh", None)) for label, w in self._live.items()
        ]
        if self._pairs is not None:
            files.append(("pairs.csv", getattr(self._pairs, "_fh", None)))
        files.append(("events.csv", self._events_fh))
        files += [(self._stem(label) + CAPTURE_SUFFIX, fh) for label, (fh, _w) in self._captures.items()]
        out = []
        for name, fh in files:
            with contextlib.suppress(AttributeError, OSError, ValueError):
                out.append((name, int(fh.fileno())))
        return out

    def _check_folder(self) -> str | None:
        """What happened to the folder or its files during the session, in words, when they are no longer
        where they were made; None while they are. Deleted: the open files still take writes, into files
        no longer in any folder, and all of it goes when they are closed: said now, not "stays readable" at
        the end. Moved or renamed: its files are all still linked, in its new place (then :attr:`path` is
        that place, where the system says it: Linux). Replaced (``rm -rf DIR && mkdir DIR``, a file deleted
        or written anew): what the old files held is gone. The (st_dev, st_ino) comparisons are skipped where
        the file system gives no inode numbers (0: some on Windows), and the whole check when a path cannot
        be looked at (:class:`_CannotTell`: a network file system's moment)."""
        try:
            return self._folder_change()
        except _CannotTell:
            return None

    def _folder_change(self) -> str | None:
        here = _identity(self.path)
        was = self._folder_id
        if here is None or (was is not None and was[1] and here != was):
            fds = self._open_fds()
            if not fds or any(_nlink(fd) == 0 for _n, fd in fds):
                self._gone = True  # nothing more is written where it was
                deleted = REMADE_WORDS if here is not None else "was deleted"
                return f"the folder {self.path} {deleted} during the session"
            # Every file still linked: the folder is elsewhere now (another may have been made in its place).
            old, there = self.path, _folder_of(fds[0][1])
            if (
                there is not None
                and os.path.abspath(there) == os.path.abspath(old)
                and _identity(there) == was
            ):
                return None  # where it was after all (a moment when it could not be looked at)
            said = f"the folder {old} {MOVED_WORDS} during the session"
            if there is not None and _identity(there) == was:
                # Its session.json gets its end there, and the end of the command names it ("stays
                # readable in" the new place).
                self.path = there
                return f"{said} (to {there})"
            self._gone = True  # nothing more is written at its old place
            return f"{said}: what was recorded until then is where it was moved"
        for name, fd in self._open_fds():
            try:
                mine = os.fstat(fd)
            except OSError:
                continue
            if not mine.st_ino:
                continue
            path = os.path.join(self.path, name)
            now = _identity(path)
            if now == (mine.st_dev, mine.st_ino):
                continue
            if mine.st_nlink == 0 or now is None:
                return f"{path} was deleted during the session: {FILE_LOST_WORDS}"
            return f"{path} was replaced during the session: {FILE_LOST_WORDS}"
        return None

    def flush(self) -> None:
        """Hand everything written so far to the operating system now."""
        if self._opened and not self._closed:
            self._maybe_flush(force=True)

    def _fail(self, exc: BaseException, name: str) -> None:
        """Stop writing, remember why, and raise RecorderError (once)."""
        where = os.path.join(self.path, name) if name else self.path
        self.error = f"recording stopped: {_reason(exc)} (writing {where})"
        self.error_t_s = self._last_t
        # What was written before stays readable: hand the other files' buffers to the OS.
        for other, flush, _close in self._writers():
            if other != name:
                with contextlib.suppress(OSError, ValueError):
                    flush()
        raise RecorderError(self.error) from exc

    def _warn(self, text: str) -> None:
        if text not in self._warnings and len(self._warnings) < 100:
            self._warnings.append(text)

    def _note_dropped(self, label: str, columns: set[str]) -> None:
        seen = self._dropped_columns.setdefault(label, set())
        new = columns - seen
        if new:
            seen |= new
            self._warnings.append(
                f"{label}: column(s) {', '.join(sorted(new))} not recorded (not in the file's header)"
            )

    # ------------------------------------------------------------------------------ session.json
    def _recorded_to_s(self) -> float:
        """The session time the recording holds up to: its last snapshot's (its start before one came)."""
        start = self._part.from_s if self._part is not None else 0.0
        return max(start, self._last_t) if math.isfinite(self._last_t) else start

    def _session_dict(self, final: bool) -> dict[str, Any]:
        info = self._info
        assert info is not None
        part = self._part
        extra = dict(info.extra)
        summary = extra.pop("summary", None)
        end_utc = extra.pop("end_utc", None)
        duration = extra.pop("duration_s", None)
        fault = extra.pop("internal_error", None)  # the session ended on a bug: what it was
        participants = [dict(p) for p in info.participants]
        for p in participants:
            if part is not None:
                label = str(p.get("label"))
                now = (part.at_end or {}).get(label, p.get("source")) if final else p.get("source")
                if isinstance(now, dict):
                    p["source"] = _recount(now, part.at_start.get(label))
            if "source" in p:
                p["source"] = source_without_paths(p["source"])
        d: dict[str, Any] = {
            "format": SESSION_FORMAT,
            "format_version": 1,
            "software": "breathsync",
            "software_version": info.software_version,
            "start_utc": info.start_utc,
            "end_utc": None,
            "duration_s": None,
        }
        if part is not None:
            d["recording_start_utc"] = part.start_utc
            d["recorded_from_s"] = round(part.from_s, 3)
            d["recorded_to_s"] = None
            d["session_duration_s"] = None
            if part.stopped is not None:
                d["recording_stopped"] = part.stopped
            d["part_of_session"] = None
        d |= {
            "participants": participants,
            "sources": {str(p.get("label")): _source_text(p.get("source")) for p in participants},
            "devices": {
                str(p.get("label")): p["device"] for p in participants if p.get("device") is not None
            },
            "settings": info.settings,
            # At the end, only the files there are: a participant whose source gave no sample has none.
            "files": {
                name: what
                for name, what in self._files.items()
                if not final or os.path.exists(os.path.join(self.path, name))
            },
        }
        if extra:
            d["extra"] = extra
        if final and part is not None:
            to_s = self._recorded_to_s()
            ended = part.stopped is None  # with the session: its end, its duration
            d["end_utc"] = (end_utc if ended else None) or _utc_now()
            d["recorded_to_s"] = round(to_s, 3)
            d["duration_s"] = round(d["recorded_to_s"] - d["recorded_from_s"], 3)  # (what they say)
            d["session_duration_s"] = duration if ended else None
            whole = f"0-{duration:.1f} s" if isinstance(duration, int | float) else "all of its time"
            d["summary_note"] = (
                f"no summary: the session's covers {whole}, this folder {part.from_s:.1f}-{to_s:.1f} s"
                if ended
                else "no summary: the session went on after this recording stopped, and its summary covers "
                "time this folder does not hold"
            ) + "; breathsync analyze of this folder scores what it holds"
            if ended and fault is not None:
                d["internal_error"] = fault
        elif final:
            d["end_utc"] = end_utc or _utc_now()
            if duration is None and math.isfinite(self._last_t):
                duration = round(self._last_t, 3)
            d["duration_s"] = duration
            if summary is not None:
                d["summary"] = summary
            if fault is not None:
                d["internal_error"] = fault
        if part is not None:
            d["part_of_session"] = _part_text(part, d["recorded_to_s"], d["session_duration_s"])
        if final and part is None and self.error is not None:
            # Stopped by a write error: the session time its files hold up to (about: the last snapshot
            # recorded before the error), for a session that went on after it.
            d["recorded_to_s"] = round(self._recorded_to_s(), 3)
        if final:
            quiet = [lab for lab in self._names if lab not in self._raw]
            if quiet:
                d["no_samples"] = quiet
            d["rows"] = self.rows
        if self._late:
            d["late_rows"] = dict(self._late)
        if self._warnings:
            d["warnings"] = list(self._warnings)
        if self.error is not None:
            d["recording_error"] = self.error
        return d

    def _session_text(self, final: bool, *, compact: bool = False) -> str:
        d = _finite(self._session_dict(final))
        if compact:
            return json.dumps(d, separators=(",", ":"), default=_json_default, allow_nan=False)
        return json.dumps(d, indent=2, default=_json_default, allow_nan=False)

    def _write_session_json(self, final: bool = False, *, wait: bool = True) -> None:
        """Replace session.json atomically. ``wait=False``: one try at the replace, not a second of them while
        another program holds the file (Windows): mid-session, the session's loop does not wait on it.

        At the end (``final``), when the new file cannot be made or written (a full disk has no block for it;
        a folder made read-only takes no new file), session.json is rewritten in place: the file itself is
        still writable and its blocks are allocated, so it still gets its end (end_utc, the error). OSError
        when that fails too, and when another program holds session.json (Windows): not written into while
        it does."""
        text = self._session_text(final)
        try:
            tmp = self._stage_session_json(text)
        except OSError as exc:
            if not final:
                raise
            self._in_place = True
            self._rewrite_session_json(exc)
            return
        self._replace_session_json(tmp, final=final, wait=wait)

    def _rewrite_session_json(self, exc: OSError) -> None:
        """Rewrite session.json in place, its end in it, after ``exc`` kept it from being replaced (see
        :meth:`_write_session_json`); ``exc`` again when that cannot be done. The indented text is tried,
        then the same on one line (which fits the blocks a full disk's file already has more often); a write
        that stops half-way (a full disk, a copy-on-write file system that needs new blocks even for these)
        is undone, the file before put back: a half-written session.json is no JSON at all. Only when that
        too fails and the file is not what it was is it said damaged."""
        path = os.path.join(self.path, SESSION_FILE)
        self._warn(
            f"session.json was rewritten in place at the end: the folder took no new file ({_reason(exc)})"
        )
        try:
            fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))  # no O_CREAT: the file that is there
        except OSError:
            raise exc from None
        try:
            try:
                old = _read_all(fd, os.fstat(fd).st_size)
            except OSError:
                raise exc from None
            for text in (self._session_text(True), self._session_text(True, compact=True)):
                data = (text + "\n").encode("utf-8")
                try:
                    _write_all(fd, data, 0)
                    os.ftruncate(fd, len(data))
                    os.fsync(fd)
                    return
                except OSError:
                    try:
                        _write_all(fd, old, 0)
                        os.ftruncate(fd, len(old))
                        os.fsync(fd)
                    except OSError:
                        if not _holds(fd, old):
                            self._session_json_damaged = True
                            raise exc from None
            raise exc
        finally:
            os.close(fd)

    def _stage_session_json(self, text: str) -> str:
        """The new session.json, written in full to a temporary file beside it: its path."""
        fd, tmp = tempfile.mkstemp(prefix=".session-", suffix=".tmp", dir=self.path)
        try:
            # newline="\n": by default a text file ends its lines with "\r\n" on Windows.
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                # Not on Windows before Python 3.13 (AttributeError: no --record started); mkstemp makes 0o600.
                if hasattr(os, "fchmod"):
                    os.fchmod(fh.fileno(), FILE_MODE)
                fh.write(text + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return tmp

    def _replace_session_json(self, tmp: str, *, final: bool, wait: bool) -> None:
        try:
            # A program holding session.json open (Windows: a virus scanner, an indexer, a viewer) keeps it from
            # being replaced: at the start, the session does not begin; at the end, the file keeps its start.
            then = "keep it closed while a session records" if final else "close it and run again"
            if wait:
                replace_file(tmp, os.path.join(self.path, SESSION_FILE), advice=then)
            else:
                os.replace(tmp, os.path.join(self.path, SESSION_FILE))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path)


@dataclass
class _Part:
    """A recording of part of a session (see the module): where it began, how it ended, the counters."""

    from_s: float  # the session time it began at (0: with the session)
    start_utc: str  # when it began
    #: Each participant's source description as the recording began (its counters so far), and as it ended.
    at_start: dict[str, dict[str, Any]] = field(default_factory=dict)
    at_end: dict[str, dict[str, Any]] | None = None
    #: Each participant's last notification of each stream before the recording began (see _open_capture).
    carried: dict[str, list[Packet]] = field(default_factory=dict)
    stopped: str | None = None  # how it stopped before the session ended


def _clock(t_s: float) -> str:
    """A session time as ``m:ss (60.2 s)``, both rounded alike (299.96 s read "4:59 (300.0 s)")."""
    t = round(t_s, 1)
    return f"{clock_text(t + 1e-9)} ({t:.1f} s)"


def _part_text(part: _Part, to_s: float | None, session_s: float | None) -> str:
    """session.json's ``part_of_session``: what of the session the folder holds, in words."""
    began = "with the session" if part.from_s <= 0 else f"at {_clock(part.from_s)} of the session"
    if to_s is None:  # still recording
        return f"this folder holds the session from {_clock(part.from_s)} on: the recording began {began}"
    if part.stopped is not None:
        end = f"was {part.stopped} at {_clock(to_s)} while the session went on"
    else:
        total = f" at {_clock(session_s)}" if isinstance(session_s, int | float) else ""
        end = f"ran until the session ended{total}"
    return (
        f"this folder holds {part.from_s:.1f}-{to_s:.1f} s of a longer session: the recording began {began} "
        f"and {end}; its times are the session's, counted from start_utc"
    )


def _recount(now: dict[str, Any], then: dict[str, Any] | None) -> dict[str, Any]:
    """A source description whose counters (:data:`COUNTERS`, :data:`COUNTERS_BY`) count from ``then`` (the
    description as a recording began; None: they count from 0): what happened while it recorded."""
    out = dict(now)
    if not then:
        return out
    for key in COUNTERS:
        value, before = out.get(key), then.get(key)
        if isinstance(value, int | float) and isinstance(before, int | float):
            out[key] = max(0, value - before)
    for key in COUNTERS_BY:
        value, before = out.get(key), then.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            counted = {
                k: v - before.get(k, 0)
                for k, v in value.items()
                if isinstance(v, int | float) and isinstance(before.get(k, 0), int | float)
            }
            out[key] = {k: v for k, v in counted.items() if v > 0}
            if not out[key]:
                del out[key]
    return out


def _lasting_streams(source: Any) -> set[str]:
    """The streams of a participant's device whose last notification still holds later (its battery
    level), from its profile in ``devices/``; none for a source that names no known device."""
    if not isinstance(source, dict) or not isinstance(source.get("device"), str):
        return set()
    import devices

    profile = devices.PROFILES.get(source["device"])
    return {profile.battery_stream} if profile is not None and profile.battery_stream else set()


class _Held:
    """A two-stream participant's rows waiting to be written in time order (the reorder buffer)."""

    def __init__(self) -> None:
        self._t: list[FloatArray] = []
        self._cols: list[dict[str, FloatArray]] = []
        self.rows = 0
        self.newest = -math.inf
        self.last_in_wall = -math.inf

    def add(self, t: FloatArray, cols: dict[str, FloatArray], wall: float) -> None:
        self._t.append(t)
        self._cols.append(cols)
        self.rows += int(t.size)
        self.newest = max(self.newest, float(t.max()))
        self.last_in_wall = wall

    def take(self, upto: float) -> tuple[FloatArray, dict[str, FloatArray]]:
        """The held rows with times up to ``upto``, sorted by time (rows of equal time in arrival order)."""
        if not self.rows:
            return np.empty(0), {}
        t = np.concatenate(self._t)
        names = {c for cols in self._cols for c in cols}
        cols = {
            c: np.concatenate(
                [
                    cs[c] if c in cs else np.full(ts.size, np.nan)
                    for ts, cs in zip(self._t, self._cols, strict=True)
                ]
            )
            for c in names
        }
        order = np.argsort(t, kind="stable")
        t = t[order]
        n = int(np.searchsorted(t, upto, side="right"))
        out = order[:n]
        rest = order[n:]
        self._t = [t[n:]] if rest.size else []
        self._cols = [{c: v[rest] for c, v in cols.items()}] if rest.size else []
        self.rows = int(rest.size)
        return t[:n], {c: v[out] for c, v in cols.items()}


def _default_writer(path: str, columns: Sequence[str], meta: Mapping[str, str]) -> RecordingWriter:
    return RecordingWriter(path, columns, meta)


def _source_text(source: Any) -> str:
    """A source in one short line, e.g. "sim:follow,rate=12", "replay:a.csv" or "lsl:belt-A" (an LSL
    stream's name, its "stream"; details: session.json)."""
    if not isinstance(source, dict):
        return " ".join(str(source).split())
    if source.get("spec"):
        text = str(source["spec"])
    else:
        kind = str(source.get("kind", "source"))
        what = next(
            (source[k] for k in ("file", "device", "address", "mode", "name", "stream") if source.get(k)),
            None,
        )
        text = f"{kind}:{what}" if what is not None else kind
        if source.get("participant"):
            text += f",participant={source['participant']}"
        if source.get("column"):
            text += f",column={source['column']}"
        if isinstance(source.get("rate_hz"), int | float):
            text += f",rate={source['rate_hz']:g}"
        if source.get("loop"):
            text += ",loop"
    return " ".join(text.split())


def _col_label(label: str) -> str:
    return _SAFE_NAME.sub("_", label) or "_"


def _finite(obj: Any) -> Any:
    """JSON-ready copy: NaN and infinities become null (JSON has no NaN)."""
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    return str(obj)


def _disk_full(exc: OSError) -> bool:
    """Whether a write failed for want of space (a full disk, a quota)."""
    return exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


#: The words of :meth:`Recorder._check_folder` that the end of a live command reads
#: (:func:`breathsync.live.report_end`): a folder deleted and made again, moved, or one file of it lost.
REMADE_WORDS = "was deleted (and made again)"
MOVED_WORDS = "was moved or renamed"
FILE_LOST_WORDS = "what it held is gone"


class _CannotTell(Exception):
    """A path could not be looked at (EIO or a timeout of a network file system, EACCES): neither there nor
    gone; the check of that moment is skipped (:meth:`Recorder._check_folder`)."""


def _identity(path: str) -> tuple[int, int] | None:
    """A path's (st_dev, st_ino) (st_ino is 0 on a file system without inode numbers); None when it names
    nothing. :class:`_CannotTell` when it cannot be looked at: one such moment of a network file system is
    no deleted folder (it stopped a recording, saying a file "was deleted")."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        raise _CannotTell(path) from None
    return (st.st_dev, st.st_ino)


def _read_all(fd: int, size: int) -> bytes:
    """The first ``size`` bytes of an open file, from its start."""
    os.lseek(fd, 0, os.SEEK_SET)
    out = bytearray()
    while len(out) < size:
        chunk = os.read(fd, size - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def _holds(fd: int, data: bytes) -> bool:
    """Whether an open file holds exactly ``data`` (False when it cannot be read)."""
    try:
        return os.fstat(fd).st_size == len(data) and _read_all(fd, len(data)) == data
    except OSError:
        return False


def _write_all(fd: int, data: bytes, offset: int) -> None:
    """Write all of ``data`` at ``offset`` of an open file."""
    os.lseek(fd, offset, os.SEEK_SET)
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _nlink(fd: int) -> int:
    """How many names an open file has (0: deleted while open); 1 when that cannot be told."""
    try:
        return os.fstat(fd).st_nlink
    except OSError:
        return 1


def _folder_of(fd: int) -> str | None:
    """The folder an open file is in now, where the system says (Linux's /proc); None elsewhere."""
    try:
        where = os.path.dirname(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None
    return where if os.path.isdir(where) else None


def _fsync_dir(path: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
