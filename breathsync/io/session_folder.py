"""Recorded session folders: what ``breathsync run --record DIR`` writes and what ``analyze`` and replay read.

Layout (written by :class:`breathsync.recorder.Recorder`)::

    DIR/session.json    participants, sources, settings, start/end time (UTC), version, "files"
    DIR/<label>.csv     raw samples of each participant, in the recording format (read_recording)
    DIR/<label>_live.csv    the live pipeline's output on its 20 Hz grid
    DIR/<label>_ble.csv     a Bluetooth participant's notifications as they came (breathsync.io.capture)
    DIR/pairs.csv       live pair synchrony, one row per snapshot
    DIR/events.csv      session events (time, kind, participants, text)

A folder of part of a session (recording turned on or off during it, from the dashboard) has
``recorded_from_s``, ``recorded_to_s`` and ``part_of_session`` in its session.json (:func:`is_part_of_session`).

``session.json`` maps each file to what it holds (``"files"``); the participants' raw files are found
through it, so labels that are not safe file names still work.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from breathsync.dsp.sync import WINDOW_MAX_S, WINDOW_MIN_S
from breathsync.errors import InputError, RecordingError
from breathsync.io.csvfile import EmptyRecordingError, open_input, read_recording

__all__ = [
    "SESSION_FILE",
    "FolderParticipant",
    "SessionFolder",
    "expand_recording_paths",
    "folder_unreadable",
    "is_part_of_session",
    "is_session_folder",
    "json_type",
    "left_out_notes",
    "read_session_folder",
    "source_without_paths",
    "window_notes",
]

SESSION_FILE = "session.json"
#: Value of session.json's "format" key.
SESSION_FORMAT = "breathsync-session"


@dataclass(frozen=True)
class FolderParticipant:
    """One participant of a recorded session: its label and its raw recording file."""

    label: str
    path: str  # the raw samples, a recording CSV
    live_path: str | None = None  # the live pipeline's output, when recorded


@dataclass(frozen=True)
class SessionFolder:
    """A recorded session folder: its participants (in session order) and the parsed session.json."""

    path: str
    info: dict[str, Any]
    participants: tuple[FolderParticipant, ...]
    #: Participants left out, as (label, why): a recording with a header and no samples (a session that ended
    #: in its first second), a participant whose source gave none ("no_samples"), or a recording never begun
    #: in a session that did not close (:func:`left_out_notes` says so).
    left_out: tuple[tuple[str, str], ...] = ()

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.participants]

    def participant(self, label: str | None = None) -> FolderParticipant:
        """The participant called ``label`` (the first one when None); InputError naming the ones there."""
        if label is None:
            return self.participants[0]
        for p in self.participants:
            if p.label == label:
                return p
        there = ", ".join(self.labels)
        for lab, why in self.left_out:
            if lab == label:
                raise InputError(
                    f"{self.path}: participant {label!r} recorded no samples ({why}): "
                    f"choose another with participant=LABEL (it has {there})"
                )
        raise InputError(
            f"{self.path}: no participant {label!r} in this session (it has {there}): "
            f"choose one with participant=LABEL"
        )


def is_session_folder(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a folder holding a session.json."""
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, SESSION_FILE))


def folder_unreadable(path: str) -> str | None:
    """Why the folder's files cannot be listed or reached (its permissions), or None when they can: a folder
    that cannot be read looks as if it held no session.json, and was reported as "not a session folder"."""
    try:
        with os.scandir(path) as it:
            next(it, None)
        os.stat(os.path.join(path, SESSION_FILE))
    except PermissionError as e:
        return f"cannot read the folder ({e.strerror}): check its permissions"
    except OSError:
        return None
    return None


def read_text_file(path: str, what: str, hint: str, kind: str = "text file") -> str:
    """A text file of a session folder (newlines normalised). RecordingError, one line, when it cannot be
    read or is not UTF-8 text: ``what`` names the file's role, ``hint`` says what to do."""
    try:
        with open_input(path, f"the {what} as a regular file") as fh:  # a device or a silent pipe: refused
            raw = fh.read()
    except OSError as exc:
        raise RecordingError(path, f"cannot read the {what}: {exc.strerror or exc}") from None
    except RecordingError as exc:  # a folder in its place, a pipe: said with what to do
        raise RecordingError(path, f"{exc.problem}: {hint}", exc.line) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start : exc.start + 1].hex()
        raise RecordingError(
            path,
            f"not a {kind} (byte 0x{byte} is not UTF-8): the {what} is damaged; {hint}",
            line=raw.count(b"\n", 0, exc.start) + 1,
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_session_folder(path: str | os.PathLike[str]) -> SessionFolder:
    """Read a recorded session folder.

    Raises
    ------
    RecordingError
        Not a folder, no or unreadable session.json, not text, bad JSON, a field of the wrong type ("files",
        "no_samples"), or a participant's raw file missing; one line.
    """
    folder = str(path)
    if os.path.isfile(folder):
        raise RecordingError(
            folder, "is a file, not a session folder: give a folder written by 'breathsync run --record DIR'"
        )
    if not os.path.isdir(folder):
        raise RecordingError(folder, "not a session folder (no such folder)")
    sj = os.path.join(folder, SESSION_FILE)
    why = folder_unreadable(folder)
    if why is not None:
        raise RecordingError(folder, why)
    if not os.path.isfile(sj):
        raise RecordingError(
            folder,
            "not a breathsync session folder (no session.json): give recording CSV files, "
            "a folder written by --record, or one written by 'breathsync simulate'",
        )
    text = read_text_file(sj, "session description", _WHAT_TO_DO, kind="text (JSON) file")
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordingError(
            sj,
            # json's "Invalid control character at" names its place after "at": here, the column.
            f"bad JSON ({exc.msg.removesuffix(' at')}, column {exc.colno}): the session description is "
            f"damaged; {_WHAT_TO_DO}",
            exc.lineno,
        ) from None
    except RecursionError:
        raise RecordingError(
            sj, f"bad JSON (nested too deeply): the session description is damaged; {_WHAT_TO_DO}"
        ) from None
    except ValueError:  # e.g. an integer of more than sys.get_int_max_str_digits() digits
        raise RecordingError(
            sj,
            f"bad JSON (a number too long to read, over {sys.get_int_max_str_digits()} digits): "
            f"the session description is damaged; {_WHAT_TO_DO}",
        ) from None
    if not isinstance(info, dict) or not isinstance(info.get("participants"), list):
        raise RecordingError(sj, "not a breathsync session description (no participants list)")
    labels: list[str] = []
    for entry in info["participants"]:
        label = entry.get("label") if isinstance(entry, dict) else None
        if not isinstance(label, str) or not label:
            raise RecordingError(sj, "not a breathsync session description (a participant has no label)")
        if label in labels:
            raise RecordingError(
                sj,
                f"participant label {label!r} appears twice: the session description is damaged; {_WHAT_TO_DO}",
            )
        labels.append(label)
    _check_fields(sj, info)
    raw, live, quiet = _files_by_label(info)
    participants: list[FolderParticipant] = []
    left_out: list[tuple[str, str]] = []
    # The recorder writes "end_utc" null until the session closes: a crash or a kill leaves it so.
    unclosed = "end_utc" in info and info["end_utc"] is None
    during = "the recording" if is_part_of_session(info) else "the session"
    for label in labels:
        if label in quiet:  # the recorder closed without any sample from this participant
            left_out.append((label, f"none came from its source during {during}; events.csv says why"))
            continue
        raw_name = raw.get(label)
        if raw_name is None:  # no "files" entry: the recorder's name for a safe label
            raw_name = f"{label}.csv"
            if not _stays_in_folder(raw_name):
                raise RecordingError(
                    sj,
                    f'participant label {label!r} is not a file name and "files" names no recording '
                    f"for it: the session description is damaged; {_WHAT_TO_DO}",
                )
        raw_path = os.path.join(folder, raw_name)
        if os.path.exists(raw_path) and not os.path.isfile(raw_path):
            raise RecordingError(
                raw_path,
                f"not a regular file: session.json lists it as participant {label}'s recording; "
                "analyse the other files directly",
            )
        if not os.path.isfile(raw_path) and unclosed and not os.path.lexists(raw_path):
            # The session stopped without closing (a crash, a kill, a power cut) before this participant's
            # first sample: the recorder opens a raw file with its first sample. The others are analysed.
            left_out.append((label, f"{raw_name} was never begun, and the session did not close"))
            continue
        if not os.path.isfile(raw_path):
            raise RecordingError(
                raw_path,
                f"missing: session.json lists it as participant {label}'s recording; "
                "analyse the other files directly",
            )
        if _holds_no_samples(raw_path):
            left_out.append((label, f"{raw_name} holds only its header"))
            continue
        live_name = live.get(label)
        live_path = os.path.join(folder, live_name) if live_name else None
        if live_path is not None and not os.path.isfile(live_path):
            live_path = None
        participants.append(FolderParticipant(label, raw_path, live_path))
    if not participants:
        raise RecordingError(folder, "no participant recorded any samples in this session")
    return SessionFolder(folder, info, tuple(participants), tuple(left_out))


def is_part_of_session(info: dict[str, Any]) -> bool:
    """Whether a session.json describes a recording of part of a session (turned on after the session began
    or off before it ended, from the dashboard): it has ``recorded_from_s`` (and ``part_of_session``, in
    words), its files hold ``recorded_from_s`` to ``recorded_to_s`` of the session's time, and it has no
    ``summary`` (``summary_note`` says why). See :mod:`breathsync.recorder`."""
    return isinstance(info.get("recorded_from_s"), int | float) and not isinstance(
        info["recorded_from_s"], bool
    )


#: A participant's recording larger than this holds samples (its header and metadata are far smaller): it is
#: not read twice to find out.
_EMPTY_CHECK_BYTES = 1 << 16


def _holds_no_samples(path: str) -> bool:
    """Whether a session's raw recording has a header and no data rows (the recorder's file of a participant
    whose first sample never came: the session crashed or was stopped in its first second). Any other
    problem is left for the reader to name when the file is read."""
    try:
        if os.path.getsize(path) > _EMPTY_CHECK_BYTES:
            return False
        read_recording(path)
    except EmptyRecordingError:
        return True
    except (OSError, InputError):
        return False
    return False


def left_out_notes(paths: Sequence[str]) -> list[str]:
    """The participants the session folders among ``paths`` leave out (:attr:`SessionFolder.left_out`), one
    line each, for analyze's warnings; a folder that holds part of a session (:func:`is_part_of_session`)
    says so, with its own words (``part_of_session``): its figures are of that part only; and one whose
    session.json has no end (``end_utc`` null: the recorder never closed it) says that its end may be
    missing."""
    out = []
    for p in paths:
        if not os.path.isdir(p) or is_simulate_folder(p):
            continue
        folder = read_session_folder(p)
        if "end_utc" in folder.info and folder.info["end_utc"] is None:
            out.append(
                f"{p}: the recording did not close (a crash, a kill or a write failure): its last seconds "
                "may be missing, and session.json has no end (no end_utc, no summary)"
            )
        error = folder.info.get("recording_error")
        if isinstance(error, str) and error:
            # Stopped by a write error (a full disk): what it holds ends there (analyze said nothing of it).
            to_s = folder.info.get("recorded_to_s")
            at = (
                f" at {to_s:.0f} s of the session"
                if isinstance(to_s, (int, float)) and math.isfinite(to_s)
                else ""
            )
            out.append(
                f"{p}: the recording stopped{at}, on an error: {error.removeprefix('recording stopped: ')}"
            )
        if is_part_of_session(folder.info):
            part = folder.info.get("part_of_session")
            out.append(f"{p}: {part if isinstance(part, str) else 'part of a longer session'}")
        out += [f"{label}: recorded no samples ({why}): left out" for label, why in folder.left_out]
    return out


_WHAT_TO_DO = (
    "restore it from a backup or correct it (analyze and report also take the participants' CSV files in "
    "that folder directly)"
)


def json_type(value: Any) -> str:
    """How a JSON value is called in messages: "a number", "a string", "an object", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _check_fields(sj: str, info: dict[str, Any]) -> None:
    """The fields read here have the types the recorder writes; else one line naming the field."""

    def bad(field: str, value: Any, expected: str) -> RecordingError:
        return RecordingError(
            sj,
            f"{field} is {json_type(value)}, expected {expected}: the session description is damaged; "
            f"{_WHAT_TO_DO}",
        )

    files = info.get("files")
    if files is not None:
        if not isinstance(files, dict):
            raise bad('"files"', files, "an object (file name -> what it holds)")
        for name, what in files.items():
            if not isinstance(what, dict):
                raise bad(f'"files" entry {name!r}', what, "an object")
            for key in ("kind", "participant"):
                if what.get(key) is not None and not isinstance(what[key], str):
                    raise bad(f'"files" entry {name!r}: "{key}"', what[key], "a string")
    quiet = info.get("no_samples")
    if quiet is not None:
        if not isinstance(quiet, list):
            raise bad('"no_samples"', quiet, "a list of participant labels")
        for lab in quiet:
            if not isinstance(lab, str):
                raise bad('an entry of "no_samples"', lab, "a participant label (a string)")


def _files_by_label(info: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """From session.json's "files": raw and live file names by label, and labels without samples."""
    raw: dict[str, str] = {}
    live: dict[str, str] = {}
    files = info.get("files")
    if isinstance(files, dict):
        for name, what in files.items():
            if not isinstance(what, dict) or not isinstance(what.get("participant"), str):
                continue
            if not _stays_in_folder(name):
                continue  # never leave the folder
            if what.get("kind") == "raw":
                raw[what["participant"]] = name
            elif what.get("kind") == "live":
                live[what["participant"]] = name
    quiet = {lab for lab in info.get("no_samples") or [] if isinstance(lab, str)}
    return raw, live, quiet


def _stays_in_folder(name: str) -> bool:
    """True for a plain file name (no folder part, not "." or ".."): joined to the session folder, it
    names a file inside it."""
    return os.path.basename(name) == name and "/" not in name and name not in ("", ".", "..")


def recorded_window_s(paths: Sequence[str]) -> float | None:
    """The synchrony window of the first recorded session folder in ``paths`` (its session.json
    settings), so that analysing a session scores it as it was shown; None when there is none.

    A window outside what ``--window`` accepts (:data:`~breathsync.dsp.sync.WINDOW_MIN_S` to
    :data:`~breathsync.dsp.sync.WINDOW_MAX_S`) is a damaged session.json: RecordingError, one line.
    """
    for p in paths:
        if os.path.isdir(p) and not is_simulate_folder(p):
            settings = read_session_folder(p).info.get("settings")
            w = settings.get("window_s") if isinstance(settings, dict) else None
            if w is None:
                continue
            if not isinstance(w, int | float) or isinstance(w, bool):  # "x", true, [30]: not left unsaid
                raise RecordingError(
                    os.path.join(p, SESSION_FILE),
                    f'settings "window_s" is {json.dumps(w)[:40]}, not a number of seconds: the session '
                    "description is damaged; correct it, or give the window with --window S",
                )
            if not WINDOW_MIN_S <= w <= WINDOW_MAX_S:  # also NaN and infinities
                shown = f"{w:.6g}" if isinstance(w, float) or abs(w) < 10**15 else "a huge number"
                raise RecordingError(
                    os.path.join(p, SESSION_FILE),
                    f'settings "window_s" is {shown}, outside {WINDOW_MIN_S:g} to {WINDOW_MAX_S:g} s: the '
                    "session description is damaged; correct it, or give the window with --window S",
                )
            return float(w)
    return None


def _settings_window_s(info: dict[str, Any]) -> float | None:
    """The window a session.json's settings give (a number, else None; :func:`recorded_window_s` checks its
    range)."""
    settings = info.get("settings")
    w = settings.get("window_s") if isinstance(settings, dict) else None
    return float(w) if isinstance(w, int | float) and not isinstance(w, bool) else None


def window_notes(paths: Sequence[str], window_s: float) -> list[str]:
    """One line for each recorded session whose participants' raw recordings are among ``paths`` (given one by
    one, not as the folder) and whose window (session.json) is not ``window_s``, the one used: a session's
    A.csv and B.csv given one by one are scored with the default window, not the session's, so the figures
    differ from its pairs.csv and summary. Says how to score them as the session did. A session.json that
    cannot be read is no concern here (the files are read as they are)."""
    given: dict[str, list[str]] = {}  # session folder -> the files given from it
    for p in paths:
        folder = os.path.dirname(p) or "."
        if not os.path.isdir(p) and is_session_folder(folder):
            given.setdefault(folder, []).append(p)
    notes: list[str] = []
    for folder, items in given.items():
        try:
            session = read_session_folder(folder)
        except InputError:
            continue
        w = _settings_window_s(session.info)
        if w is None or w == window_s:
            continue
        raw = {file_identity(fp.path) for fp in session.participants}
        files = [os.path.basename(f) for f in items if file_identity(f) in raw]
        if not files:
            continue
        are = "is" if len(files) == 1 else "are"
        notes.append(
            f"{', '.join(files)} {are} from the session {folder}, recorded with a {w:g}-s window, and {are} "
            f"scored here with {window_s:g}-s windows: add --window {w:g}, or analyze the folder, to score "
            f"{'it' if len(files) == 1 else 'them'} as the session did"
        )
    return notes


#: Keys of a source description that hold a path on this computer (a replayed file, its session folder).
_PATH_KEYS = ("file", "folder")


def source_without_paths(source: Any) -> Any:
    """A participant's source description as a session folder and its exports keep it: a path
    (``"file"``, ``"folder"``) is reduced to its last part, the file's or folder's name, since the folders
    above it can name a person (``/home/<name>/...``). Nothing reads these paths back: a session's own
    files are found through session.json's "files"."""
    if not isinstance(source, dict):
        return source
    out = dict(source)
    for key in _PATH_KEYS:
        value = out.get(key)
        if isinstance(value, str):
            out[key] = re.split(r"[\\/]", value.rstrip("\\/"))[-1] or value
    return out


def file_identity(path: str) -> tuple[int, int] | str:
    """What makes two paths the same file: its device and inode (a symlink, another spelling, a hard link
    or a case-insensitive file system's other case are one file), else its real path (a file that cannot
    be examined: its reader says why; a file system that gives no inode numbers). A copy is another
    file."""
    try:
        st = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (st.st_dev, st.st_ino) if st.st_ino else os.path.realpath(path)


#: The files ``breathsync simulate --out DIR`` writes (and no session.json).
SIMULATE_FILES = ("A.csv", "B.csv")


def is_simulate_folder(path: str) -> bool:
    """Whether ``path`` is a folder written by ``breathsync simulate``: A.csv and B.csv, no session.json."""
    return not os.path.exists(os.path.join(path, SESSION_FILE)) and all(
        os.path.isfile(os.path.join(path, name)) for name in SIMULATE_FILES
    )


def expand_recording_paths(paths: Sequence[str]) -> tuple[list[str], list[str | None]]:
    """Replace each session folder in ``paths`` by its participants' raw files.

    Returns the file paths and, for each, the label the session gave it (None for a plain file).
    """
    folders = [p for p in paths if os.path.isdir(p)]
    if len(folders) > 1:
        # Each session has its own clock: pairing one session's people with another's compares times that
        # have nothing to do with each other.
        raise InputError(
            f"{folders[0]}, {folders[1]}: several session folders: give one at a time (each session's "
            "participants are paired with each other), or analyse a study with: breathsync analyze DIR ... --batch FILE.csv"
        )
    files: list[str] = []
    labels: list[str | None] = []
    for p in paths:
        if os.path.isdir(p) and is_simulate_folder(p):  # 'breathsync simulate --out DIR': its two files
            for name in SIMULATE_FILES:
                files.append(os.path.join(p, name))
                labels.append(None)
        elif os.path.isdir(p):
            folder = read_session_folder(p)
            for fp in folder.participants:
                files.append(fp.path)
                labels.append(fp.label)
        else:
            files.append(p)
            labels.append(None)
    return files, labels
