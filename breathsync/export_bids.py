"""Export a recorded session folder as BIDS physiological recordings.

Facts from the BIDS specification (1.11.1, "Physiological and other continuous recordings", and the schema
that the official validator, bids-validator 3.0.2, checks):
- continuous data: ``<matches>[_recording-<label>]_physio.tsv.gz``, gzip-compressed TSV *without* a header
  line, with a ``_physio.json`` sidecar whose REQUIRED fields are ``SamplingFrequency``, ``StartTime`` and
  ``Columns``;
- time series with different sampling frequencies MUST be split into files told apart by ``recording-<label>``;
- ``PhysioType`` is RECOMMENDED in a physio sidecar (``"generic"`` for anything but eye tracking);
- discontinuous data: ``<matches>[_recording-<label>]_physioevents.tsv.gz`` (no header) whose first column
  is ``onset``, on the timeline of the matching ``_physio.tsv.gz``, then ``duration`` (RECOMMENDED),
  ``trial_type``, ``message``; its sidecar REQUIRES ``Columns`` and ``OnsetSource``, the name of the physio
  file's column that holds that timeline;
- gzip headers SHOULD carry no file name and a zero modification time (the validator warns otherwise);
- a dataset has ``dataset_description.json`` (``Name``, ``BIDSVersion`` REQUIRED) and SHOULD have a
  ``README`` and ``participants.tsv``. Labels are alphanumeric.

Layout written (one subject per participant, datatype ``beh``, task ``breathsync``)::

    OUT/dataset_description.json  participants.tsv  participants.json  README
    OUT/sub-<label>/beh/sub-<label>_task-breathsync_recording-raw_physio.tsv.gz + .json
                        sub-<label>_task-breathsync_recording-live_physio.tsv.gz + .json
                        sub-<label>_task-breathsync_recording-live_physioevents.tsv.gz + .json

``recording-raw`` holds the samples as the source delivered them (on a uniform grid: when the timestamps
are not uniform they are interpolated onto one, and the sidecar says so; RR intervals, which come at beat
times, become the RR-derived breathing waveform at 4 Hz; a chest accelerometer's heart beats, interleaved
with its samples as a Polar H10 gives them, become the interpolated RR tachogram beside the accelerometer's
columns, on the accelerometer's grid: the accelerometer rows alone set its sampling frequency).
``recording-live`` holds what the live view showed (20 Hz: session time, waveform, phase, rate, quality). ``StartTime`` is seconds from the session start
(session time 0); the live file's ``timestamp`` column is that session time, and event onsets are on it.

All or nothing: everything is checked and written into a temporary folder next to ``OUT`` first, and moved
into place only when all of it is there, so a damaged session (or a full disk) leaves ``OUT`` as it was. A
damaged file gives one line naming it (:class:`~breathsync.errors.InputError`); the last row of
``events.csv`` or of a ``<label>_live.csv`` cut mid-write (what a killed recorder leaves) is dropped.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from breathsync import __version__
from breathsync.dsp._types import FloatArray
from breathsync.errors import InputError, RecordingError
from breathsync.io.csvfile import Recording, is_number, read_recording
from breathsync.io.session_folder import (
    SESSION_FILE,
    FolderParticipant,
    SessionFolder,
    json_type,
    read_session_folder,
    read_text_file,
    source_without_paths,
)

BIDS_VERSION = "1.11.1"
TASK = "breathsync"
LIVE_FS_HZ = 20.0

_README = """\
Breathing recordings exported by breathsync (breathing-synchrony biofeedback), one subject per
participant of a session, datatype beh, task breathsync.

Per subject:
- *_recording-raw_physio.tsv.gz: the samples as the participant's source delivered them (a belt's
  waveform, a chest accelerometer, or the breathing waveform derived from RR intervals); the JSON
  sidecar names the columns, their units and any resampling.
- *_recording-live_physio.tsv.gz: what breathsync's live pipeline showed during the session, at 20 Hz:
  session time (timestamp), the causally filtered waveform, the breathing phase (0 = inhale onset,
  pi = end of inhale), the breathing rate and the signal state.
- *_recording-live_physioevents.tsv.gz: the session's events (in sync, lost sync, goal reached, source
  lost, ...), with onsets on the live file's timestamp column.

Times are seconds from the session's start (StartTime in each sidecar). Before sharing, fill in the
Authors and License fields of dataset_description.json, and describe the study here.
"""
#: Raw samples further apart than this many median steps (and MIN_GAP_S) are a gap, not jitter.
GAP_STEPS = 5
MIN_GAP_S = 0.5
#: Beats further apart than this (s) are a gap in an accelerometer's RR tachogram (no heart beats that slowly).
MAX_BEAT_GAP_S = 3.0
#: Largest interpolation grid (samples) for non-uniform raw timestamps: about 400 MB per column.
MAX_GRID = 50_000_000
EVENTS_HEADER = ("time", "kind", "participants", "text")

#: Units of the columns the recording format defines (README, "Recording format").
_UNITS = {"resp": "arbitrary", "acc_x": "mg", "acc_y": "mg", "acc_z": "mg", "rr_ms": "ms"}
#: Columns whose unit the format leaves to the file (its ``# unit:`` line); BIDS's value when none is given.
_UNKNOWN_UNIT = {"ecg": "n/a"}
_DESCRIPTIONS = {
    "resp": "breathing waveform (respiration belt or derived), rising on inhale",
    "acc_x": "chest accelerometer, x axis",
    "acc_y": "chest accelerometer, y axis",
    "acc_z": "chest accelerometer, z axis",
    "rr_ms": "RR interval tachogram: each heart beat's RR interval, linearly interpolated between beats",
    "true_phase": "simulated breather's true breathing phase (0 = inhale onset, pi = end of inhale)",
    "ecg": "electrocardiogram",
}


def bids_label(label: str) -> str:
    """A BIDS label (letters and digits only) for a participant label."""
    out = re.sub(r"[^A-Za-z0-9]", "", label)
    if not out:
        raise InputError(
            f"participant label {label!r} has no ASCII letter or digit (a-z, A-Z, 0-9), which a BIDS subject label needs: "
            'rename the participant in session.json ("participants" and "files")'
        )
    return out


# ---------------------------------------------------------------------------------- reading
_DROP_HINT = 'remove this participant from session.json ("participants") to export the others'


def declared_units(unit_meta: str | None) -> dict[str, str]:
    """The units a recording's ``# unit:`` line declares, by column: ``"resp: arbitrary units, rising on
    inhale; ecg: mV"`` gives ``{"resp": "arbitrary units", "ecg": "mV"}`` (the text before the first comma;
    ``acc_x/acc_y/acc_z: milli-g`` names several columns)."""
    out: dict[str, str] = {}
    for part in (unit_meta or "").split(";"):
        names, colon, text = part.partition(":")
        unit = text.split(",")[0].strip()
        if not colon or not unit:
            continue
        for name in names.split("/"):
            if name.strip():
                out[name.strip()] = unit
    return out


def _column_units(names: list[str], declared: dict[str, str]) -> dict[str, str]:
    """The BIDS "Units" of each exported raw column: the format's unit for the columns it defines, else the
    one the recording declares, else "n/a" (unknown) for an ECG and "arbitrary" for any other column."""
    return {n: _UNITS.get(n) or declared.get(n) or _UNKNOWN_UNIT.get(n, "arbitrary") for n in names}


def _raw_series(
    rec: Recording, rec_path: str, signal: str
) -> tuple[FloatArray, dict[str, FloatArray], float, str]:
    """(t, columns, fs, note) of a participant's raw samples (``rec``, read from ``rec_path``) on a uniform
    grid."""
    kind = rec.signal_kind()
    if kind == "rr" or (signal == "rr" and kind != "resp" and rec.has_values("rr_ms")):
        from breathsync.dsp.rr import RESAMPLE_FS_HZ, rr_to_resp_offline

        rr = rec.columns["rr_ms"]
        ok = np.isfinite(rr)
        t, y = rr_to_resp_offline(rec.time[ok], rr[ok])
        # Too few beats: no grid at all (one beat), or a grid on which the filter gives no value (a few
        # seconds of beats); a physio file whose resp column is all n/a would be an empty export.
        if not np.isfinite(y).any():
            n = int(ok.sum())
            raise InputError(
                f"{rec_path}: cannot export: {n} heart beat{'' if n == 1 else 's'}, too few for an "
                f"RR-derived breathing waveform; {_DROP_HINT}"
            )
        tach = np.interp(t, rec.time[ok], rr[ok])
        note = (
            f"RR intervals arrive at beat times; exported as the RR-derived breathing waveform and the "
            f"interpolated RR tachogram on a {RESAMPLE_FS_HZ:g} Hz grid (breathsync.dsp.rr)"
        )
        return t, {"resp": y, "rr_ms": tach}, float(RESAMPLE_FS_HZ), note
    if kind == "acc" and rec.beat_rows().any():
        return _acc_with_beats(rec, rec_path)
    cols = {k: v for k, v in rec.columns.items() if np.isfinite(v).any()}
    return _on_grid(rec.time, cols, rec_path)


def _acc_with_beats(rec: Recording, rec_path: str) -> tuple[FloatArray, dict[str, FloatArray], float, str]:
    """A chest accelerometer with the same person's heart beats (a Polar H10: beat rows with ``rr_ms``
    interleaved with the accelerometer rows): the accelerometer's rows on their own grid, and the beats as
    an RR export has them, the interpolated RR tachogram, on that grid (n/a before the first beat, after the
    last and across a gap between beats over MAX_BEAT_GAP_S)."""
    rows = rec.acc_rows()
    beats = rec.beat_rows()
    cols = {k: v[rows] for k, v in rec.columns.items() if k != "rr_ms" and np.isfinite(v[rows]).any()}
    t, out, fs, note = _on_grid(rec.time[rows], cols, rec_path)
    bt, rr = rec.time[beats], rec.columns["rr_ms"][beats]
    tach = np.interp(t, bt, rr)
    j = np.clip(np.searchsorted(bt, t, side="right"), 1, max(bt.size - 1, 1))
    gap = (bt[j] - bt[j - 1] > MAX_BEAT_GAP_S) & (t > bt[j - 1]) & (t < bt[j]) if bt.size > 1 else False
    tach[(t < bt[0]) | (t > bt[-1]) | gap] = np.nan
    out["rr_ms"] = tach
    said = (
        f"rr_ms: the {int(beats.sum())} heart beats' RR intervals (at beat times in the recording) as the "
        f"interpolated RR tachogram on the accelerometer's grid (n/a before the first beat, after the last "
        f"and across gaps between beats over {MAX_BEAT_GAP_S:g} s)"
    )
    return t, out, fs, "; ".join(x for x in (note, said) if x)


def _on_grid(
    time: FloatArray, cols: dict[str, FloatArray], rec_path: str
) -> tuple[FloatArray, dict[str, FloatArray], float, str]:
    """(t, columns, fs, note) of samples at ``time`` on a uniform grid (as they are when uniform)."""
    steps = np.diff(time)
    positive = steps[steps > 0]
    if positive.size == 0:
        what = "one sample" if time.size == 1 else f"{time.size} samples, all at {time[0]:g} s"
        raise InputError(
            f"{rec_path}: cannot export: {what}: a physio file needs at least two sample times for its "
            f"sampling frequency; {_DROP_HINT}"
        )
    step = float(np.median(positive))
    fs = 1.0 / step
    if steps.size == positive.size and bool(np.all(np.abs(steps - step) <= 0.01 * step)):
        return time, cols, fs, ""
    # Not uniform: onto a grid at the median rate (equal times: the last sample of each time is kept).
    last = np.concatenate([steps > 0, [True]])
    tu = time[last]
    n = math.floor((tu[-1] - tu[0]) * fs) + 1
    if n > MAX_GRID:
        span = float(tu[-1] - tu[0])
        raise InputError(
            f"{rec_path}: cannot export: its timestamps would need a grid of {n} samples at {fs:.6g} Hz "
            f"(rows a median of {step:.3g} s apart over {span:.0f} s): check the time column"
        )
    grid = tu[0] + np.arange(n) / fs
    # Jitter is interpolated; a gap (the source lost, a hole in the file) is not: grid points between two
    # samples more than GAP_STEPS steps (at least MIN_GAP_S) apart are n/a.
    max_step = max(GAP_STEPS * step, MIN_GAP_S)
    j = np.clip(np.searchsorted(tu, grid, side="right"), 1, tu.size - 1)
    in_gap = ((tu[j] - tu[j - 1]) > max_step) & (grid - tu[j - 1] > 1e-9) & (tu[j] - grid > 1e-9)
    out = {}
    for k, v in cols.items():
        vu = v[last]
        ok = np.isfinite(vu)
        out[k] = np.interp(grid, tu[ok], vu[ok]) if ok.any() else np.full(grid.size, np.nan)
        out[k][in_gap] = np.nan
    note = f"timestamps were not uniform (arrival jitter); linearly interpolated onto a {fs:.6g} Hz grid"
    if in_gap.any():
        note += f"; n/a across {int(np.sum(np.diff(tu) > max_step))} gap(s) longer than {max_step:.3g} s"
    return grid, out, fs, note


def _read_raw(rec_path: str) -> Recording:
    try:
        return read_recording(rec_path)
    except RecordingError as e:
        where = f"{e.path}:{e.line}" if e.line is not None else e.path
        raise InputError(f"{where}: cannot export: {e.problem}") from None


def _read_live(path: str) -> tuple[FloatArray, dict[str, FloatArray]]:
    """A ``<label>_live.csv``: time and the live columns. RecordingError (one line) when it is damaged.

    A final line cut mid-write (no newline, does not parse) is dropped, as :func:`read_recording` does.
    """
    hint = "move the file out of the session folder to export without the live recording"
    text = read_text_file(path, "live recording", hint)
    ends_with_newline = text.endswith("\n")
    lines = text.split("\n")
    last_no = max((i for i, ln in enumerate(lines, 1) if ln.strip()), default=0)
    header: list[str] | None = None
    rows: list[list[float]] = []
    prev_t = -math.inf
    for no, line in enumerate(lines, 1):
        s = line.strip()
        if not s or (header is None and s.startswith("#")):
            continue
        cut = no == last_no and not ends_with_newline  # a writer killed mid-row
        if header is None:
            names = [c.strip() for c in s.split(",")]
            if cut or names[0] != "time" or len(names) < 2 or not all(names) or len(set(names)) < len(names):
                raise RecordingError(
                    path, f"no live-recording header (time,wave,...): the file is damaged; {hint}", line=no
                )
            header = names
            continue
        cells = s.split(",")
        problem = ""
        if len(cells) != len(header):
            problem = f"row has {len(cells)} cells but the header has {len(header)}"
        else:
            try:
                values = [float(c) if c.strip() else math.nan for c in cells]
            except ValueError:
                bad = next(c for c in cells if c.strip() and not is_number(c))
                problem = f"non-numeric cell {bad.strip()[:40]!r}"
            else:
                if not math.isfinite(values[0]):
                    problem = "the time cell is empty or not a finite number"
                elif values[0] < prev_t:
                    problem = f"time goes backwards ({prev_t:g} s then {values[0]:g} s)"
        if problem:
            if cut:
                break
            raise RecordingError(path, f"{problem}: the live recording is damaged; {hint}", line=no)
        rows.append(values)
        prev_t = values[0]
    if header is None:
        raise RecordingError(
            path,
            f"no header row (the file is empty or cut inside its '#' lines): the file is damaged; {hint}",
        )
    if not rows:
        return np.empty(0), {h: np.empty(0) for h in header[1:]}
    data = np.asarray(rows, dtype=np.float64)
    return data[:, 0], {h: data[:, i + 1] for i, h in enumerate(header[1:])}


@dataclass(frozen=True)
class _Event:
    time: float
    kind: str
    participants: tuple[str, ...]
    text: str


def _read_events(path: Path) -> list[_Event]:
    """``events.csv``: the session events. RecordingError (one line) when it is damaged.

    Missing, empty or cut inside its header: no events. A final row cut mid-write is dropped.
    """
    name = str(path)
    if not path.exists():
        return []
    hint = "move events.csv out of the session folder to export without the events"
    text = read_text_file(name, "events file", hint)
    if not text.strip():
        return []
    ends_with_newline = text.endswith("\n")
    n_lines = text.count("\n") + (0 if ends_with_newline else 1)
    reader = csv.reader(io.StringIO(text))
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as e:
        if ends_with_newline or reader.line_num < n_lines:
            raise RecordingError(name, f"not a CSV file ({e}): {hint}", line=reader.line_num) from None
        # A quoted text cut at the end of the file: drop that row.
    rows = [(no, r) for no, r in rows if any(c.strip() for c in r)]
    if not rows:
        return []
    header_no, header = rows[0]
    header = [c.strip() for c in header]
    if "time" not in header:
        if len(rows) == 1 and not ends_with_newline and ",".join(EVENTS_HEADER).startswith(",".join(header)):
            return []  # cut inside the header
        raise RecordingError(
            name, f"not a breathsync events file (the header has no 'time' column): {hint}", line=header_no
        )
    col = {h: i for i, h in enumerate(header)}
    events: list[_Event] = []
    for k, (no, row) in enumerate(rows[1:], 2):
        cut = k == len(rows) and not ends_with_newline
        problem = ""
        if len(row) != len(header):
            problem = f"row has {len(row)} cells but the header has {len(header)}"
        else:
            cell = row[col["time"]].strip()
            try:
                t = float(cell)
            except ValueError:
                t = math.nan
            if not math.isfinite(t):
                problem = f"time {cell[:40]!r} is not a number of seconds"
        if problem:
            if cut:
                break
            raise RecordingError(name, f"{problem}: the events file is damaged; {hint}", line=no)
        cells = {h: row[i] for h, i in col.items()}
        who = tuple(p for p in cells.get("participants", "").split(";") if p)
        events.append(_Event(t, cells.get("kind", ""), who, cells.get("text", "")))
    return events


# ---------------------------------------------------------------------------------- writing
def _write_tsv_gz(path: Path, rows: np.ndarray) -> None:
    text = "\n".join(
        "\t".join("n/a" if not math.isfinite(v) else f"{v:.9g}" for v in r) for r in rows.tolist()
    )
    _write_text_gz(path, text + ("\n" if text else ""))


def _write_text_gz(path: Path, text: str) -> None:
    # No file name and a zero time in the gzip header: BIDS asks for it, and the same session exports
    # to the same bytes.
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as fh:
        fh.write(text.encode("utf-8"))
    os.chmod(path, 0o600)


def _json_safe(obj: Any) -> Any:
    """JSON from session.json made safe to write: non-finite numbers (NaN, Infinity) become null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    return obj


def _write_json(path: Path, obj: dict[str, Any]) -> None:
    path.write_text(json.dumps(_json_safe(obj), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)


def _sidecar(p: Path) -> Path:
    return p.with_name(p.name.replace(".tsv.gz", ".json"))


# ---------------------------------------------------------------------------------- checks
def _check_target(out: Path) -> bool:
    """Whether ``out`` already holds a dataset (or is an empty folder); InputError when it cannot be used."""
    if not out.exists():
        return False
    if not out.is_dir():
        raise InputError(
            f"{out}: is a file, not a folder: give --bids a new folder (or an existing BIDS dataset to add to)"
        )
    try:
        empty = not any(out.iterdir())
    except OSError as e:
        raise InputError(f"{out}: cannot read the folder ({e.strerror or e})") from None
    if not empty and not (out / "dataset_description.json").exists():
        raise InputError(f"{out}: exists, is not empty and is not a BIDS dataset: choose a new folder")
    return True


def _entries(folder: SessionFolder) -> dict[str, dict[str, Any]]:
    """session.json's participant entries by label, with the fields export reads checked."""
    sj = os.path.join(folder.path, SESSION_FILE)

    def bad(field: str, value: Any, expected: str) -> InputError:
        return InputError(
            f"{sj}: {field} is {json_type(value)}, expected {expected}: the session description is damaged; "
            "restore it from a backup, or set that field to null"
        )

    info = folder.info
    for key in ("start_utc", "software_version"):
        if info.get(key) is not None and not isinstance(info[key], str):
            raise bad(f'"{key}"', info[key], "a string")
    entries: dict[str, dict[str, Any]] = {}
    for entry in info["participants"]:  # read_session_folder checked: objects with a string label
        label = entry["label"]
        if label not in folder.labels:
            continue
        src = entry.get("source")
        if src is not None and not isinstance(src, dict):
            raise bad(f'participant {label!r}: "source"', src, "an object (kind, ...)")
        if isinstance(src, dict) and src.get("kind") is not None and not isinstance(src["kind"], str):
            raise bad(f'participant {label!r}: "source" "kind"', src["kind"], "a string")
        if entry.get("signal") is not None and not isinstance(entry["signal"], str):
            raise bad(f'participant {label!r}: "signal"', entry["signal"], "a string")
        entries.setdefault(label, entry)
    return entries


def _subjects(folder: SessionFolder) -> list[tuple[FolderParticipant, str]]:
    """Each participant and its BIDS subject label; InputError when two labels give the same subject."""
    seen: dict[str, str] = {}
    out = []
    for fp in folder.participants:
        sub = bids_label(fp.label)
        if sub in seen:
            raise InputError(
                f"{folder.path}: participants {seen[sub]!r} and {fp.label!r} map to the same BIDS subject "
                f"sub-{sub} (BIDS labels keep only letters and digits): nothing was written; rename one of "
                'them in session.json ("participants" and "files") and export again'
            )
        seen[sub] = fp.label
        out.append((fp, sub))
    return out


# ---------------------------------------------------------------------------------- export
def export_bids(session_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the BIDS dataset for a recorded session; returns the files written.

    All or nothing: on any error (InputError, one line) ``out_dir`` is left as it was.
    """
    if os.path.isfile(session_dir):
        raise InputError(
            f"{session_dir}: is a file, not a session folder: export takes a folder written by "
            "'breathsync run --record DIR' (analyze and report also read single CSV files)"
        )
    folder = read_session_folder(session_dir)
    out = Path(out_dir)
    adding = _check_target(out)
    entries = _entries(folder)
    subjects = _subjects(folder)
    base = {sub: f"sub-{sub}/beh/sub-{sub}_task-{TASK}" for _, sub in subjects}
    for _, sub in subjects:
        if (out / f"{base[sub]}_recording-raw_physio.tsv.gz").exists():
            raise InputError(f"{out}: sub-{sub} is already there: export each session to its own folder")
    events = _read_events(Path(folder.path) / "events.csv")

    full = Path(os.path.abspath(out))
    parent = full.parent
    made = [d for d in (parent, *parent.parents) if not d.exists()]
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = _make_stage(full, adding)
    except OSError as e:
        _remove_empty_dirs(made)
        raise InputError(f"{out}: cannot create the folder ({e.strerror or e})") from None
    try:
        rel = _write_dataset(stage, out, folder, entries, subjects, events, adding)
        return _move_into_place(stage, out, rel)
    except OSError as e:
        raise InputError(
            f"{out}: cannot write the BIDS dataset ({e.strerror or e}): nothing was exported"
        ) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if not out.exists():
            _remove_empty_dirs(made)


def _make_stage(full: Path, adding: bool) -> Path:
    """The temporary folder to write into: beside ``full`` (the same file system, so moves are renames), or
    inside it when it exists and its parent folder cannot be written."""
    try:
        return Path(tempfile.mkdtemp(prefix=f".{full.name}.export-", dir=full.parent))
    except OSError:
        if not adding:
            raise
        return Path(tempfile.mkdtemp(prefix=".breathsync-export-", dir=full))


def _remove_empty_dirs(dirs: list[Path]) -> None:
    for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()


def _write_dataset(
    stage: Path,
    out: Path,
    folder: SessionFolder,
    entries: dict[str, dict[str, Any]],
    subjects: list[tuple[FolderParticipant, str]],
    events: list[_Event],
    adding: bool,
) -> list[str]:
    """Write the whole export into ``stage`` (laid out as ``out`` will be); returns the relative paths."""
    info = folder.info
    written: list[str] = []
    if not (adding and (out / "dataset_description.json").exists()):
        _write_json(
            stage / "dataset_description.json",
            {
                "Name": "breathsync sessions",
                "BIDSVersion": BIDS_VERSION,
                "DatasetType": "raw",
                "GeneratedBy": [{"Name": "breathsync", "Version": __version__}],
            },
        )
        written.append("dataset_description.json")
        (stage / "README").write_text(_README, encoding="utf-8")
        os.chmod(stage / "README", 0o600)
        written.append("README")
    part_rows = []
    for fp, sub in subjects:
        beh = stage / f"sub-{sub}" / "beh"
        beh.mkdir(parents=True)
        base = f"sub-{sub}_task-{TASK}"
        src = entries.get(fp.label, {})
        signal = src.get("signal") or ""
        source = source_without_paths(src.get("source"))  # older recordings kept the full path
        common = {
            "TaskName": TASK,
            "Manufacturer": (source or {}).get("kind") or "unknown",
            "SoftwareVersions": f"breathsync {info.get('software_version') or __version__}",
            "AcquisitionStartUTC": info.get("start_utc"),
            "breathsyncSource": source,
            "breathsyncParticipantLabel": fp.label,
        }
        rec = _read_raw(fp.path)
        t, cols, fs, note = _raw_series(rec, fp.path, signal)
        if src.get("invert") is True and "resp" in cols:
            # The session ran with --invert for this belt (it falls on inhale): the exported resp rises on
            # inhale, as its description says and as the session showed it.
            cols["resp"] = -cols["resp"]
            note = "; ".join(x for x in (note, "resp polarity flipped (the session ran with --invert)") if x)
        names = list(cols)
        raw_json: dict[str, Any] = {
            "SamplingFrequency": round(fs, 9),
            "StartTime": round(float(t[0]), 6) if t.size else 0.0,
            "Columns": names,
            "PhysioType": "generic",
            **common,
        }
        units = _column_units(names, declared_units(rec.meta.get("unit")))
        for n in names:
            raw_json[n] = {"Description": _DESCRIPTIONS.get(n, n), "Units": units[n]}
        if note:
            raw_json["breathsyncProcessing"] = note
        p = beh / f"{base}_recording-raw_physio.tsv.gz"
        _write_tsv_gz(p, np.column_stack([cols[n] for n in names]) if names else np.empty((0, 0)))
        _write_json(_sidecar(p), raw_json)
        written += [str(p.relative_to(stage)), str(_sidecar(p).relative_to(stage))]
        if fp.live_path and os.path.exists(fp.live_path):
            lt, lcols = _read_live(fp.live_path)
            if lt.size:
                written += _write_live(beh, base, lt, lcols, common, events, fp.label, stage)
        part_rows.append((f"sub-{sub}", fp.label, signal))
    ptsv = out / "participants.tsv"
    existing: dict[str, str] = {}
    if adding and ptsv.exists():
        try:
            lines = ptsv.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            why = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
            raise InputError(f"{ptsv}: cannot read it ({why}): fix or remove participants.tsv") from None
        for line in lines[1:]:
            if line.strip():
                existing[line.split("\t")[0]] = line
    for pid, lab, sig in part_rows:
        existing[pid] = f"{pid}\t{lab}\t{sig or 'n/a'}"
    (stage / "participants.tsv").write_text(
        "participant_id\tbreathsync_label\tsignal\n" + "\n".join(existing.values()) + "\n", encoding="utf-8"
    )
    os.chmod(stage / "participants.tsv", 0o600)
    _write_json(
        stage / "participants.json",
        {
            "breathsync_label": {"Description": "the participant's label in the breathsync session"},
            "signal": {
                "Description": "breathing signal: resp (belt), acc (chest accelerometer) or rr (heart beats)"
            },
        },
    )
    return [*written, "participants.tsv", "participants.json"]


def _write_live(
    beh: Path,
    base: str,
    lt: FloatArray,
    lcols: dict[str, FloatArray],
    common: dict[str, Any],
    events: list[_Event],
    label: str,
    stage: Path,
) -> list[str]:
    lcols = {"timestamp": lt, **lcols}
    lnames = list(lcols)
    live_json: dict[str, Any] = {
        "SamplingFrequency": LIVE_FS_HZ,
        "StartTime": round(float(lt[0]), 6),
        "Columns": lnames,
        "PhysioType": "generic",
        "Description": "what breathsync's live pipeline computed, as shown during the session",
        **common,
        "timestamp": {"Description": "session time of the row (0 = the session's start)", "Units": "s"},
        "wave": {"Description": "causally filtered breathing waveform", "Units": "arbitrary"},
        "phase_rad": {
            "Description": "live breathing phase: 0 = inhale onset, pi = end of inhale; n/a = unknown",
            "Units": "rad",
        },
        "rate_bpm": {"Description": "live breathing rate", "Units": "1/min"},
        "quality": {
            "Description": "signal state",
            "Levels": {"0": "ok", "1": "warm-up", "2": "gap", "3": "flat", "4": "no breathing"},
        },
    }
    lp = beh / f"{base}_recording-live_physio.tsv.gz"
    _write_tsv_gz(lp, np.column_stack([lcols[n] for n in lnames]))
    _write_json(_sidecar(lp), live_json)
    lines = []
    for ev in events:
        if ev.participants and label not in ev.participants:
            continue
        msg = ev.text.replace("\t", " ").replace("\n", " ")
        kind = ev.kind.replace("\t", " ").replace("\n", " ")
        lines.append(f"{ev.time:.3f}\t0\t{kind}\t{msg}")
    ep = beh / f"{base}_recording-live_physioevents.tsv.gz"
    _write_text_gz(ep, "\n".join(lines) + ("\n" if lines else ""))
    _write_json(
        _sidecar(ep),
        {
            "Columns": ["onset", "duration", "trial_type", "message"],
            "OnsetSource": "timestamp",
            "TaskName": TASK,
            "Description": "session events (in sync, lost sync, goal reached, source lost, ...)",
            "onset": {
                "Description": "session time of the event, on the live file's timestamp column",
                "Units": "s",
            },
            "duration": {"Description": "0: each event is an instant", "Units": "s"},
            "trial_type": {"Description": "event kind"},
            "message": {"Description": "the event in words"},
        },
    )
    return [str(p.relative_to(stage)) for p in (lp, _sidecar(lp), ep, _sidecar(ep))]


def _move_into_place(stage: Path, out: Path, rel: list[str]) -> list[Path]:
    """Move the staged export into ``out``: all of it or (on an error) none of it."""
    if not out.exists():
        os.rename(stage, out)  # one step: the dataset appears whole
        return [out / r for r in rel]
    top = {"dataset_description.json", "README", "participants.tsv", "participants.json"}
    subject_files = [r for r in rel if r not in top]
    for r in subject_files:
        if (out / r).exists():
            sub = Path(r).parts[0]
            raise InputError(f"{out}: {sub} is already there: export each session to its own folder")
    moved: list[Path] = []
    made: list[Path] = []
    try:
        for r in subject_files:
            dest = out / r
            for d in reversed(dest.parents):
                if not d.exists():
                    d.mkdir()
                    made.append(d)
            os.rename(stage / r, dest)
            moved.append(dest)
        # The dataset-wide files last, participants.tsv (which lists the new subjects) at the very end.
        for r in sorted((r for r in rel if r in top), key=lambda r: r == "participants.tsv"):
            new = not (out / r).exists()
            os.replace(stage / r, out / r)
            if new:
                moved.append(out / r)
    except BaseException:
        for m in moved:
            with contextlib.suppress(OSError):
                m.unlink()
        _remove_empty_dirs(made)
        raise
    return [out / r for r in rel]
