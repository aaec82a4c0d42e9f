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

Layout written (one subject per participant, datatype ``beh``, task ``breathsync``; ``[ses-<label>]``
with ``session_label``)::

    OUT/dataset_description.json  participants.tsv  participants.json  README  [sessions.json]
    OUT/sub-<label>/[ses-<label>/]beh/<stem>_recording-raw_physio.tsv.gz + .json
                                      <stem>_recording-live_physio.tsv.gz + .json
                                      <stem>_recording-live_physioevents.tsv.gz + .json
    OUT/sub-<label>/sub-<label>_sessions.tsv                      (with a session label)
    OUT/derivatives/breathsync/dataset_description.json  README   (when the session recorded pairs.csv)
    OUT/derivatives/breathsync/sub-<label>/[ses-<label>/]beh/<stem>_desc-pairsync_beh.tsv + .json

where ``<stem>`` is ``sub-<label>[_ses-<label>]_task-breathsync``.

Sessions (BIDS 1.11.1, "Sessions"; appendix "Entities", ``ses``): a study's sessions reuse participant labels
(A and B in every dyad), so each is exported with its own session label into one dataset; only the same
subject and session twice is refused, and a subject's data is all in ``ses-`` folders or in none.
participants.tsv keeps one row per subject (a value that differs between its sessions reads "mixed");
``sub-<label>_sessions.tsv`` has the per-session values (``acq_time``, signal, source, simulated).
``simulated`` says whether a participant is breathsync's simulated breather, so analyses can leave it out.

Pair synchrony (the session's ``pairs.csv``: live PLV, chance level, sync score, in sync, relative phase,
lag, window end) is a derivative (BIDS "Derived data": its own dataset_description.json, DatasetType
"derivative", GeneratedBy breathsync and its version). BIDS has no entity for a measure of two subjects
(no dyad entity), so each subject's file holds its rows with every partner (``partner_id``), placed as
derivatives are, in the subject's (and session's) folder: a pair is in both subjects' files, the signed
figures (relative phase, lag) from each one's point of view. ``desc-pairsync`` with the ``beh`` suffix
(tabular behavioural data, with a header) is a name the official validator accepts in a derivative
dataset; a table of all pairs at the derivative's top level is not (bids-validator 3 reports NOT_INCLUDED
there, and ignores a derivative's .bidsignore when validating recursively).

Column names: BIDS's column naming recommendation (names that MAY be used) is ``respiratory`` for breathing
and ``cardiac`` for pulse measurements
(:data:`_BIDS_COLUMN`); the raw files use them for the recording's ``resp`` and ``ecg``. Units are those the
recording declares (its ``# unit:`` line), else those of the Bluetooth device session.json names (a GDX-RB
belt: newtons, as its profile declares: :func:`breathsync.recorder.device_units`), else the format's, except an
accelerometer's milli-g (or g), which is converted to m/s^2: BIDS reads "mg" as a milligram. A known Bluetooth device gives
``Manufacturer`` and ``ManufacturersModelName``; otherwise they are left out (the source kind, "sim" or
"replay", is in ``breathsyncSourceKind``).

Privacy: a Bluetooth address and a device's serial number identify one device, and through it its wearer,
in a dataset meant to be shared, so they stay in the session folder (its session.json is the owner's) and
are left out of the export (:func:`shared_source`, :class:`Redactor`): a Bluetooth source's ``address``,
its ``target`` (what was typed after ``ble:``, an address or a name) and its advertised ``name`` are
dropped from ``breathsyncSource``, which keeps the name without its serial as ``advertised_model``; any
Bluetooth address, and the serials and addresses of the session's devices, are replaced in the event
messages and in every text of ``breathsyncSource`` ("[address]", "[serial]"). The maker and model come
from the device's profile (``Manufacturer``, ``ManufacturersModelName``).

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from breathsync import __version__
from breathsync.dsp._types import FloatArray
from breathsync.errors import InputError, RecordingError
from breathsync.io.csvfile import Recording, is_number, read_recording, replace_file
from breathsync.io.session_folder import (
    SESSION_FILE,
    FolderParticipant,
    SessionFolder,
    folder_unreadable,
    json_type,
    read_session_folder,
    read_text_file,
    source_without_paths,
)
from breathsync.recorder import device_units

BIDS_VERSION = "1.11.1"
TASK = "breathsync"
LIVE_FS_HZ = 20.0

_README = """\
Breathing recordings exported by breathsync (breathing-synchrony biofeedback), one subject per
participant of a session, datatype beh, task breathsync; each session of a study in its own ses- folder
when exported with a session label.

Per subject (and session):
- *_recording-raw_physio.tsv.gz: the samples as the participant's source delivered them (a belt's
  waveform in the respiratory column, a chest accelerometer, or the breathing waveform derived from RR
  intervals; an ECG in the cardiac column); the JSON sidecar names the columns, their units and any
  resampling.
- *_recording-live_physio.tsv.gz: what breathsync's live pipeline showed during the session, at 20 Hz:
  session time (timestamp), the causally filtered waveform, the breathing phase (0 = inhale onset,
  pi = end of inhale), the breathing rate and the signal state.
- *_recording-live_physioevents.tsv.gz: the session's events (in sync, lost sync, goal reached, source
  lost, ...), with onsets on the live file's timestamp column.

participants.tsv says which participants were breathsync's simulated breathers (simulated = yes): leave
them out of analyses of people. derivatives/breathsync holds each pair's live synchrony (PLV, chance
level, sync score, in sync, relative phase, lag).

Times are seconds from the session's start (StartTime in each sidecar). Before sharing, fill in the
Authors and License fields of dataset_description.json, and describe the study here.
"""
_DERIVATIVE_README = """\
Live breathing synchrony of each pair of participants, as breathsync computed and showed it during the
sessions of the raw dataset two folders up (same subjects, sessions and task).

sub-<label>/[ses-<label>/]beh/*_desc-pairsync_beh.tsv: the live view's windows as it published them, one row
per partner (partner_id) and window end the session scored (window_end_s): PLV, chance level, sync score, in
sync, relative phase and lag over the window ending at window_end_s. The session scores a window every 0.1 s
and each refresh of the view publishes the latest one, so the rows are as far apart as the view was
refreshed: their spacing depends on the session's speed (about 0.1 s at 1x; a fast replay's rows can be
seconds apart) and is not regular. `breathsync analyze` on the session folder gives the full series, a
window ending every 0.1 s. The JSON sidecar describes each column and its units. BIDS has no entity for a
measure of two subjects, so each pair is in both subjects' files, the relative phase and lag from each
one's point of view (> 0: this subject breathes first). For one row per pair, keep the rows whose
partner_id sorts after the file's subject.
"""
#: Raw samples further apart than this many median steps (and MIN_GAP_S) are a gap, not jitter.
GAP_STEPS = 5
MIN_GAP_S = 0.5
#: Beats further apart than this (s) are a gap in an accelerometer's RR tachogram (no heart beats that slowly).
MAX_BEAT_GAP_S = 3.0
#: Largest interpolation grid (samples) for non-uniform raw timestamps: about 400 MB per column.
MAX_GRID = 50_000_000
EVENTS_HEADER = ("time", "kind", "participants", "text")

#: Units of the columns the recording format defines (README, "Recording format"), when a recording's
#: ``# unit:`` line does not say otherwise.
_UNITS = {"resp": "arbitrary", "acc_x": "mg", "acc_y": "mg", "acc_z": "mg", "rr_ms": "ms"}
#: Columns whose unit the format leaves to the file (its ``# unit:`` line); BIDS's value when none is given.
_UNKNOWN_UNIT = {"ecg": "n/a"}
#: Spellings of units in ``# unit:`` lines (the recorder's own included: "arbitrary units", "milli-g",
#: "milliseconds") and the symbol the export writes. BIDS appendix "Units": SI symbols in CMIXF-12 are
#: RECOMMENDED ("uV", not "microV"); "arbitrary" is the value this export has always used for arbitrary
#: units. Any other text is passed on as the file declares it.
_UNIT_SYMBOLS = {
    "arbitrary": "arbitrary",
    "arbitrary unit": "arbitrary",
    "arbitrary units": "arbitrary",
    "a.u.": "arbitrary",
    "au": "arbitrary",
    "milli-g": "mg",
    "millig": "mg",
    "millisecond": "ms",
    "milliseconds": "ms",
    "second": "s",
    "seconds": "s",
    "volt": "V",
    "volts": "V",
    "millivolt": "mV",
    "millivolts": "mV",
    "microvolt": "uV",
    "microvolts": "uV",
    "radian": "rad",
    "radians": "rad",
    "newton": "N",
    "newtons": "N",
}
#: Column names in the exported physio files, where BIDS recommends one. BIDS 1.11.1, "Physiological and
#: other continuous recordings", "General column naming recommendation" (schema rules/tabular_data/
#: physio.yaml, PhysioColumns: cardiac, respiratory, trigger; the text says these names MAY be used):
#: breathing measurements in ``respiratory``, pulse measurements (an ECG) in ``cardiac``. Other columns keep
#: the recording format's names.
_BIDS_COLUMN = {"resp": "respiratory", "ecg": "cardiac"}
#: The resp column's words for a waveform derived before it was recorded (Recording.derived_from).
_DERIVED_ELSEWHERE = {
    "rr": "not a belt: derived from heart beats (RR intervals) by the breathsync that published it over Lab "
    "Streaming Layer, live: its samples are stamped at the times they describe, with the phase shift of the "
    "live band-pass, which depends on the breathing rate (0.29 s behind at 15 breaths/min, 0.80 s ahead at 6)",
    "acc": "not a belt: derived from a chest accelerometer by the breathsync that published it over Lab "
    "Streaming Layer, live, which set which way is inhale",
}
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


def bids_unit(unit: str) -> str:
    """The BIDS "Units" value of a unit as a recording's ``# unit:`` line (or a device profile,
    ``StreamSpec.units``) spells it: the CMIXF symbol of a spelling :data:`_UNIT_SYMBOLS` knows ("newtons" ->
    "N", "milli-g" -> "mg"), else the text as it is (a symbol already: "mV", "mm")."""
    return _UNIT_SYMBOLS.get(unit.lower(), unit)


def _column_units(
    names: list[str], declared: dict[str, str], derived: tuple[str, ...] = ()
) -> dict[str, str]:
    """The BIDS "Units" of each exported raw column (by its recording name): the unit the recording declares
    (its ``# unit:`` line, as a CMIXF symbol where :data:`_UNIT_SYMBOLS` knows the spelling), else the
    format's, else "n/a" (unknown) for an ECG and "arbitrary" for any other column. A column in ``derived``
    (the RR-derived breathing waveform) is not the file's column of that name: "arbitrary"."""
    out = {}
    for n in names:
        unit = None if n in derived else declared.get(n)
        if unit is not None:
            out[n] = bids_unit(unit)
        else:
            out[n] = _UNITS.get(n) or _UNKNOWN_UNIT.get(n, "arbitrary")
    return out


#: Standard acceleration of gravity, m/s^2 (3rd CGPM, 1901; ISO 80000-3): the "g" of accelerometers.
STANDARD_GRAVITY = 9.80665
#: Accelerometer units in g (the recording format's "mg"), as factors to m/s^2.
_G_UNITS = {"mg": STANDARD_GRAVITY / 1000.0, "g": STANDARD_GRAVITY}


def _acceleration_in_si(cols: dict[str, FloatArray], units: dict[str, str]) -> str:
    """Accelerometer columns in milli-g (or g) converted in place to m/s^2, their units set to "m/s^2";
    the note saying so, or "". BIDS reads units as SI symbols (appendix "Units"), where "mg" is a milligram
    and "g" a gram: an acceleration in g has no BIDS spelling, m/s^2 has (the unit of motion's ACCEL
    channels)."""
    done = []
    for n in [n for n in cols if n.startswith("acc_")]:
        factor = _G_UNITS.get(units.get(n, ""))
        if factor is not None:
            done.append(f"{n} from {units[n]}")
            cols[n] = cols[n] * factor
            units[n] = "m/s^2"
    if not done:
        return ""
    return f"acceleration converted to m/s^2 ({', '.join(done)}; standard gravity {STANDARD_GRAVITY} m/s^2)"


def _bids_columns(names: list[str]) -> dict[str, str]:
    """The exported name of each raw column: :data:`_BIDS_COLUMN`'s, unless the file already has a column
    of that name (names in a physio file MUST be unique)."""
    return {n: n if _BIDS_COLUMN.get(n, n) in names else _BIDS_COLUMN.get(n, n) for n in names}


def _rr_derived(rec: Recording, signal: str) -> bool:
    """Whether a participant's raw export is the RR-derived breathing waveform (its ``resp`` is derived from
    the heart beats, not the file's own ``resp``)."""
    kind = rec.signal_kind()
    return kind == "rr" or (signal == "rr" and kind != "resp" and rec.has_values("rr_ms"))


def _raw_series(
    rec: Recording, rec_path: str, signal: str
) -> tuple[FloatArray, dict[str, FloatArray], float, str]:
    """(t, columns, fs, note) of a participant's raw samples (``rec``, read from ``rec_path``) on a uniform
    grid."""
    kind = rec.signal_kind()
    if _rr_derived(rec, signal):
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
        tach = _tachogram(t, rec.time[ok], rr[ok])
        note = (
            f"RR intervals arrive at beat times; exported as the RR-derived breathing waveform and the "
            f"interpolated RR tachogram on a {RESAMPLE_FS_HZ:g} Hz grid (breathsync.dsp.rr; the tachogram n/a "
            f"before the first beat, after the last and across gaps between beats over {MAX_BEAT_GAP_S:g} s)"
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
    out["rr_ms"] = _tachogram(t, rec.time[beats], rec.columns["rr_ms"][beats])
    said = (
        f"rr_ms: the {int(beats.sum())} heart beats' RR intervals (at beat times in the recording) as the "
        f"interpolated RR tachogram on the accelerometer's grid (n/a before the first beat, after the last "
        f"and across gaps between beats over {MAX_BEAT_GAP_S:g} s)"
    )
    return t, out, fs, "; ".join(x for x in (note, said) if x)


def _tachogram(t: FloatArray, bt: FloatArray, rr: FloatArray) -> FloatArray:
    """The RR intervals ``rr`` of the beats at ``bt`` linearly interpolated at ``t``: n/a before the first
    beat, after the last and across a gap between beats over MAX_BEAT_GAP_S (no interval is known there)."""
    tach = np.interp(t, bt, rr)
    j = np.clip(np.searchsorted(bt, t, side="right"), 1, max(bt.size - 1, 1))
    gap = (bt[j] - bt[j - 1] > MAX_BEAT_GAP_S) & (t > bt[j - 1]) & (t < bt[j]) if bt.size > 1 else False
    tach[(t < bt[0]) | (t > bt[-1]) | gap] = np.nan
    return tach


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
    gaps = np.diff(tu) > max_step
    n_gaps = int(np.sum(gaps))
    across = f"n/a across {n_gaps} gap(s) longer than {max_step:.3g} s"
    # Uniform but for its gaps (a belt that dropped out, a hole in the file): not "arrival jitter", which
    # the note said of a 25-Hz file with one 20-s gap whose values were all kept as they were.
    if n_gaps and bool(np.all(np.abs(np.diff(tu)[~gaps] - step) <= 0.01 * step)):
        k = (tu - tu[0]) * fs
        on_grid = bool(np.all(np.abs(k - np.round(k)) <= 0.01))
        moved = "" if on_grid else "; samples after a gap off the grid linearly interpolated onto it"
        return grid, out, fs, f"samples uniform at {fs:.6g} Hz but for {n_gaps} gap(s): {across}{moved}"
    note = f"timestamps were not uniform (arrival jitter); linearly interpolated onto a {fs:.6g} Hz grid"
    if in_gap.any():
        note += f"; {across}"
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
    return _read_table(path, "live recording", "live-recording header (time,wave,...)", hint)


def _read_table(
    path: str, what: str, header_name: str, hint: str, *, empty_ok: bool = False
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """A numeric CSV the recorder writes (``#`` lines, a header starting with ``time``, numbers, empty =
    unknown): time and the other columns. RecordingError (one line) naming ``what`` when it is damaged; a
    final line cut mid-write is dropped. ``empty_ok``: a file without a header (empty, or cut before or
    inside it) or with only ``time`` is no data, not damage (the recorder writes ``pairs.csv``'s header
    with the first snapshot)."""
    text = read_text_file(path, what, hint)
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
            if cut and empty_ok:
                break
            if (
                cut
                or names[0] != "time"
                or len(names) < (1 if empty_ok else 2)
                or not all(names)
                or len(set(names)) < len(names)
            ):
                raise RecordingError(path, f"no {header_name}: the file is damaged; {hint}", line=no)
            header = names
            continue
        cells = s.split(",")
        problem = ""
        if len(cells) != len(header):
            problem = (
                f"row has {len(cells)} cell{'' if len(cells) == 1 else 's'} but the header has {len(header)}"
            )
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
            raise RecordingError(path, f"{problem}: the {what} is damaged; {hint}", line=no)
        rows.append(values)
        prev_t = values[0]
    if header is None:
        if empty_ok:
            return np.empty(0), {}
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
            problem = (
                f"row has {len(row)} cell{'' if len(row) == 1 else 's'} but the header has {len(header)}"
            )
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
    path.write_text(
        json.dumps(_json_safe(obj), indent=2, allow_nan=False) + "\n", encoding="utf-8", newline="\n"
    )
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
    """Each participant and its BIDS subject label; InputError when two labels give the same subject, or
    subjects that differ only in case (``A`` and ``a``: on macOS's and Windows's case-insensitive file
    systems sub-A and sub-a are one folder, and one participant's files would replace the other's)."""
    seen: dict[str, tuple[str, str]] = {}
    out = []
    for fp in folder.participants:
        sub = bids_label(fp.label)
        if sub.casefold() in seen:
            other, other_sub = seen[sub.casefold()]
            same = (
                f"the same BIDS subject sub-{sub} (BIDS labels keep only letters and digits)"
                if other_sub == sub
                else f"BIDS subjects sub-{other_sub} and sub-{sub}, which differ only in case (one folder on "
                "macOS and Windows)"
            )
            raise InputError(
                f"{folder.path}: participants {other!r} and {fp.label!r} map to {same}: nothing was written; "
                'rename one of them in session.json ("participants" and "files") and export again'
            )
        seen[sub.casefold()] = (fp.label, sub)
        out.append((fp, sub))
    return out


# ---------------------------------------------------------------------------------- export
_LABEL = re.compile(r"^[A-Za-z0-9]+$")


def _session_entity(label: str | None) -> str | None:
    """The BIDS session label asked for (None: no session level); InputError when it is not one. BIDS 1.11.1,
    appendix "Entities", ``ses-<label>``: a label is alphanumeric."""
    if label is None:
        return None
    if not _LABEL.match(label) or len(label) > 64:
        fixed = re.sub(r"[^A-Za-z0-9]", "", label.removeprefix("ses-"))[:64] or "1"
        raise InputError(
            f"session label {label!r}: a BIDS session label has letters and digits only (a-z, A-Z, 0-9), at "
            "most 64, without the 'ses-' the folder names get: "
            f"give one such as {fixed!r}"
        )
    return label


def _subject_dir(sub: str, ses: str | None) -> str:
    return f"sub-{sub}" + (f"/ses-{ses}" if ses else "")


def _stem(sub: str, ses: str | None) -> str:
    return f"sub-{sub}" + (f"_ses-{ses}" if ses else "") + f"_task-{TASK}"


def _check_not_there(out: Path, subjects: list[tuple[FolderParticipant, str]], ses: str | None) -> None:
    """InputError when a subject of this session is already in ``out`` with the same session (or both
    without one), or with the other layout: a subject's data is all in ``ses-`` folders or none is."""
    try:
        there = {d.name for d in out.iterdir() if d.name.startswith("sub-")} if out.is_dir() else set()
    except OSError as e:
        raise InputError(f"{out}: cannot read the folder ({e.strerror or e})") from None
    for _, sub in subjects:
        clash = sorted(n for n in there if n.casefold() == f"sub-{sub}".casefold() and n != f"sub-{sub}")
        if clash:
            raise InputError(
                f"{out}: sub-{sub} differs from the dataset's {clash[0]} only in case, and on macOS and Windows "
                "the two are one folder: give the participant the same label as there (in session.json), "
                "or export to a new folder"
            )
        raw = out / _subject_dir(sub, ses) / "beh" / f"{_stem(sub, ses)}_recording-raw_physio.tsv.gz"
        if raw.exists():
            if ses:
                raise InputError(
                    f"{out}: sub-{sub} ses-{ses} is already there: give this session another session "
                    "label, or export it to a new folder"
                )
            raise InputError(
                f"{out}: sub-{sub} is already there: give each session its own session label (--session), "
                "or export each session to its own folder"
            )
        folder = out / f"sub-{sub}"
        if not folder.is_dir():
            continue
        try:
            inside = [d for d in folder.iterdir() if d.is_dir()]
        except OSError as e:
            raise InputError(f"{folder}: cannot read the folder ({e.strerror or e})") from None
        sessions = [d for d in inside if d.name.startswith("ses-")]
        if ses and len(sessions) < len(inside):
            raise InputError(
                f"{out}: sub-{sub} is there without a session label, and BIDS keeps a subject's data either "
                "all in session folders or in none: export this session to a new folder (with each earlier "
                "session exported again with its own session label)"
            )
        if not ses and sessions:
            raise InputError(
                f"{out}: sub-{sub} is there in session folders ({sessions[0].name}, ...): give this session "
                "a session label too (--session)"
            )


def export_bids(
    session_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    session_label: str | None = None,
) -> list[Path]:
    """Write the BIDS dataset for a recorded session; returns the files written.

    ``session_label``: the BIDS session (``ses-<label>``) this recording is, so that a study's sessions are
    one dataset. A label is a subject, one person: the same label in another session is the same person. All or nothing: on any
    error (InputError, one line) ``out_dir`` is left as it was.
    """
    if os.path.isfile(session_dir):
        raise InputError(
            f"{session_dir}: is a file, not a session folder: export takes a folder written by "
            "'breathsync run --record DIR' (analyze and report also read single CSV files)"
        )
    why = folder_unreadable(os.fspath(session_dir)) if os.path.isdir(session_dir) else None
    if why is not None:
        raise InputError(f"{session_dir}: {why}")
    if os.path.isdir(session_dir) and not os.path.isfile(os.path.join(session_dir, SESSION_FILE)):
        raise InputError(
            f"{session_dir}: not a breathsync session folder (no session.json): export takes a folder "
            "written by 'breathsync run --record DIR' (analyze and report also read CSV files)"
        )
    ses = _session_entity(session_label)
    folder = read_session_folder(session_dir)
    out = Path(out_dir)
    adding = _check_target(out)
    entries = _entries(folder)
    subjects = _subjects(folder)
    _check_not_there(out, subjects, ses)
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
        rel, merged = _write_dataset(stage, out, folder, entries, subjects, events, adding, ses)
        return _move_into_place(stage, out, rel, merged)
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


#: A Bluetooth device address (``A0:9E:1A:00:00:10``), and the UUID macOS gives a device in its place.
_BT_ADDRESS = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}(?![0-9A-Fa-f])")
_UUID_ADDRESS = re.compile(
    r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f])"
)
#: What a Bluetooth source's description holds that identifies the one device: its address, the ``ble:``
#: target typed (an address or the start of a name) and its advertised name, which ends in its serial.
_DEVICE_IDENTIFIERS = ("address", "target", "name")


def _is_serial(token: str) -> bool:
    """Whether a word of an advertised name is a unit's serial or ID rather than a model: 4 characters or more
    with a digit (``A1B2C3D4``, a Polar strap's device ID; ``0K1002R5``, a Vernier sensor's serial number:
    godirect-py, godirect/device.py, ``set_name_from_advertisement``: "BLE devices advertise their name,
    order code, and serial"), or 6 hexadecimal digits or more. Shorter words with digits are models
    (``H10``, ``OH1``, ``945``)."""
    return len(token) >= 4 and (
        any(c.isdigit() for c in token)
        or (len(token) >= 6 and all(c in "0123456789ABCDEFabcdef" for c in token))
    )


def _name_words(name: str) -> list[str]:
    return [w for w in re.split(r"[\s:]+", name.strip()) if w]


def _model_of_name(name: Any) -> str | None:
    """An advertised name without its serial (``"Polar H10 A1B2C3D4"`` -> ``"Polar H10"``); None when nothing
    is left."""
    if not isinstance(name, str):
        return None
    words = [w for w in _name_words(name) if not _is_serial(w)]
    return " ".join(words) or None


class Redactor:
    """Replaces, in any text, every Bluetooth address ("[address]") and the serials and addresses of the
    session's devices as session.json names them ("[serial]", "[address]"), e.g. in an event message
    ``B: source failed: ble:D4:36:39:00:00:20: no matching device found``."""

    def __init__(self, sources: list[Any]) -> None:
        words: dict[str, str] = {}
        for src in sources:
            if not isinstance(src, dict) or src.get("kind") != "ble":
                continue
            for key in _DEVICE_IDENTIFIERS:
                value = src.get(key)
                if not isinstance(value, str) or not value.strip():
                    continue
                if (
                    key == "address"
                    or _BT_ADDRESS.fullmatch(value.strip())
                    or _UUID_ADDRESS.fullmatch(value.strip())
                ):
                    words[value.strip().lower()] = "[address]"
                    continue
                for w in _name_words(value):
                    if _is_serial(w):
                        words[w.lower()] = "[serial]"
        # Longest first, as whole words: a serial inside another word is not it.
        self._words = sorted(words.items(), key=lambda kv: -len(kv[0]))
        self._patterns = [
            (re.compile(rf"(?<![0-9A-Za-z]){re.escape(w)}(?![0-9A-Za-z])", re.IGNORECASE), r)
            for w, r in self._words
        ]

    def text(self, value: str) -> str:
        for pattern, replacement in self._patterns:
            value = pattern.sub(replacement, value)
        value = _BT_ADDRESS.sub("[address]", value)
        return _UUID_ADDRESS.sub("[address]", value)

    def json(self, value: Any) -> Any:
        """``value`` with every text in it (keys too) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.json(v) for v in value]
        return value


def shared_source(source: Any, redactor: Redactor) -> Any:
    """A participant's source description as an export shares it (``breathsyncSource``), every text
    redacted; a Bluetooth source's without what identifies the one device (its address, the ``ble:`` target,
    its advertised name, kept without its serial as ``advertised_model``)."""
    if not isinstance(source, dict) or source.get("kind") != "ble":
        return redactor.json(source)
    out = {k: v for k, v in source.items() if k not in _DEVICE_IDENTIFIERS}
    model = _model_of_name(source.get("name"))
    if model:
        out["advertised_model"] = model
    return redactor.json(out)


def _device_fields(source: Any, device: Any) -> dict[str, str]:
    """Manufacturer and ManufacturersModelName (RECOMMENDED in a physio sidecar: the equipment's maker and
    model) when the session knows the device (a BLE source's profile, or session.json's "devices") and its
    profile in ``devices/`` is one product; else nothing: a generic heart-rate strap names no maker, and a
    source kind ("sim", "replay") is no manufacturer."""
    import devices  # the registry of device profiles (only devices/ knows the products)

    names = [device] if isinstance(device, str) else []
    if isinstance(source, dict) and isinstance(source.get("device"), str):
        names.insert(0, source["device"])
    for name in names:
        profile = devices.PROFILES.get(name)
        if profile is not None and profile.maker:
            fields = {"Manufacturer": profile.maker}
            if profile.model:
                fields["ManufacturersModelName"] = profile.model
            return fields
    return {}


def _simulated(kind: str | None, rec: Recording) -> str:
    """participants.tsv's ``simulated``: "yes" for breathsync's simulator (a ``sim:`` source, or a replayed
    file holding a simulator's ``true_phase``), "no" for a Bluetooth device on the session's computer,
    "n/a" when the session cannot tell (a replayed file, a stream from elsewhere)."""
    if kind == "sim" or "true_phase" in rec.columns:
        return "yes"
    if kind == "ble":
        return "no"
    return "n/a"


#: participants.tsv's columns after participant_id, and participants.json's description of each.
PARTICIPANT_COLUMNS: dict[str, dict[str, Any]] = {
    "breathsync_label": {"Description": "the participant's label in the breathsync session"},
    "signal": {
        "Description": "breathing signal: resp (belt), acc (chest accelerometer) or rr (heart beats); "
        "mixed: it differs between this subject's sessions (see its sessions.tsv)"
    },
    "source": {
        "Description": "where the session took the breathing from: ble (a Bluetooth device), sim "
        "(breathsync's simulated breather), replay (a recorded file played back), lsl (a Lab Streaming Layer "
        "stream); mixed: it differs between this subject's sessions"
    },
    "simulated": {
        "Description": "whether this participant is a simulated breather, not a person: leave 'yes' out "
        "of analyses of people",
        "Levels": {
            "yes": "breathsync's simulator (a sim: source, or a replayed file written by it)",
            "no": "a person, measured by a device on the session's computer",
            "n/a": "not known to the session (a replayed file or a stream from elsewhere)",
            "mixed": "differs between this subject's sessions (see its sessions.tsv)",
        },
    },
}
#: sub-<label>_sessions.tsv's columns after session_id (with a session label), described in sessions.json.
SESSION_COLUMNS: dict[str, dict[str, Any]] = {
    "acq_time": {"Description": "when the session started (UTC)"},
    "signal": PARTICIPANT_COLUMNS["signal"],
    "source": PARTICIPANT_COLUMNS["source"],
    "simulated": {
        "Description": PARTICIPANT_COLUMNS["simulated"]["Description"],
        "Levels": {k: v for k, v in PARTICIPANT_COLUMNS["simulated"]["Levels"].items() if k != "mixed"},
    },
}


def _write_dataset(
    stage: Path,
    out: Path,
    folder: SessionFolder,
    entries: dict[str, dict[str, Any]],
    subjects: list[tuple[FolderParticipant, str]],
    events: list[_Event],
    adding: bool,
    ses: str | None,
) -> tuple[list[str], set[str]]:
    """Write the whole export into ``stage`` (laid out as ``out`` will be); returns the relative paths and
    those of them that replace a file of ``out`` (tables that this export adds rows to)."""
    info = folder.info
    written: list[str] = []
    merged: set[str] = set()
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
        (stage / "README").write_text(_README, encoding="utf-8", newline="\n")
        os.chmod(stage / "README", 0o600)
        written.append("README")
    devices: dict[str, Any] = info["devices"] if isinstance(info.get("devices"), dict) else {}
    redactor = Redactor([e.get("source") for e in entries.values()])
    events = [
        _Event(ev.time, redactor.text(ev.kind), ev.participants, redactor.text(ev.text)) for ev in events
    ]
    part_rows: list[dict[str, str]] = []
    for fp, sub in subjects:
        beh = stage / _subject_dir(sub, ses) / "beh"
        beh.mkdir(parents=True)
        base = _stem(sub, ses)
        src = entries.get(fp.label, {})
        signal = src.get("signal") or ""
        source = source_without_paths(src.get("source"))  # older recordings kept the full path
        kind = (source or {}).get("kind")
        common = {
            "TaskName": TASK,
            **_device_fields(source, devices.get(fp.label)),
            "SoftwareVersions": f"breathsync {info.get('software_version') or __version__}",
            "AcquisitionStartUTC": info.get("start_utc"),
            "breathsyncSourceKind": kind,
            "breathsyncSource": shared_source(source, redactor),
            "breathsyncParticipantLabel": fp.label,
        }
        rec = _read_raw(fp.path)
        t, cols, fs, note = _raw_series(rec, fp.path, signal)
        if src.get("invert") is True and "resp" in cols:
            # The session ran with --invert for this belt (it falls on inhale): the exported breathing rises
            # on inhale, as its description says and as the session showed it.
            cols["resp"] = -cols["resp"]
            note = "; ".join(x for x in (note, "polarity flipped (the session ran with --invert)") if x)
        names = list(cols)
        exported = _bids_columns(names)
        raw_json: dict[str, Any] = {
            "SamplingFrequency": round(fs, 9),
            "StartTime": round(float(t[0]), 6) if t.size else 0.0,
            "Columns": [exported[n] for n in names],
            "PhysioType": "generic",
            **common,
        }
        derived = ("resp",) if _rr_derived(rec, signal) else ()
        # The file's "# unit:" line; for what it leaves out, the device's (a belt recorded before the recorder
        # wrote its newtons there).
        declared = {**device_units(source, signal), **declared_units(rec.meta.get("unit"))}
        units = _column_units(names, declared, derived)
        note = "; ".join(x for x in (note, _acceleration_in_si(cols, units)) if x)
        # A resp a partner's breathsync derived before it was recorded (the raw file's "# derived_from:" line:
        # joined through lsl: or replayed from XDF): a researcher must not take it for a belt.
        elsewhere = _DERIVED_ELSEWHERE.get(rec.derived_from()[0], "")
        for n in names:
            what = _DESCRIPTIONS.get(n, n)
            if n in derived:  # not a column of the recording: derived from its heart beats
                what += " (derived from the recording's rr_ms, see breathsyncProcessing)"
            elif n == "resp" and elsewhere:
                what += f" ({elsewhere})"
            elif exported[n] != n:
                what += f" (column {n} of the breathsync recording)"
            raw_json[exported[n]] = {"Description": what, "Units": units[n]}
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
        row = {
            "participant_id": f"sub-{sub}",
            "breathsync_label": fp.label,
            "signal": signal or "n/a",
            "source": kind or "n/a",
            "simulated": _simulated(kind, rec),
        }
        part_rows.append(row)
        if ses:
            rel = f"sub-{sub}/sub-{sub}_sessions.tsv"
            session_row = {
                "session_id": f"ses-{ses}",
                # The session's start, also for a folder of part of a session (the dashboard's Record turned
                # on mid-session): the physio files' StartTime is counted from it (AcquisitionStartUTC), so
                # recording_start_utc here would count the offset twice.
                "acq_time": _acq_time(info.get("start_utc")),
                **{k: row[k] for k in ("signal", "source", "simulated")},
            }
            _merge_table(out / rel, stage / rel, "session_id", [session_row], list(SESSION_COLUMNS), False)
            written.append(rel)
            if (out / rel).exists():
                merged.add(rel)
    _merge_table(
        out / "participants.tsv",
        stage / "participants.tsv",
        "participant_id",
        part_rows,
        list(PARTICIPANT_COLUMNS),
        True,
    )
    tables = [("participants.json", PARTICIPANT_COLUMNS)] + (
        [("sessions.json", SESSION_COLUMNS)] if ses else []
    )
    for name, described in tables:
        _merge_json(out / name, stage / name, described)
        written.append(name)
    written += _write_pair_sync(stage, folder, subjects, ses, out)
    merged |= {r for r in ("participants.tsv", "participants.json", "sessions.json") if (out / r).exists()}
    return [*written, "participants.tsv"], merged


def _acq_time(start_utc: Any) -> str:
    """sessions.tsv's acq_time of session.json's start_utc: BIDS 1.11.1, "Sessions file": ``acq_time`` in
    the datetime format ``YYYY-MM-DDThh:mm:ss[.000000][Z]``; "n/a" when unknown."""
    if not isinstance(start_utc, str):
        return "n/a"
    try:
        when = datetime.fromisoformat(start_utc)
    except ValueError:
        return "n/a"
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + ("Z" if when.tzinfo is not None else "")


def _read_tsv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A TSV file of the dataset (header and rows), or nothing when it is not there. InputError when it
    cannot be read."""
    if not path.exists():
        return [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise InputError(f"{path}: cannot read it ({why}): fix or remove {path.name}") from None
    if not lines:
        return [], []
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        if line.strip():
            cells = line.split("\t")
            rows.append({h: cells[i] if i < len(cells) else "n/a" for i, h in enumerate(header)})
    return header, rows


def _merge_table(
    old: Path, new: Path, key: str, rows: list[dict[str, str]], columns: list[str], mix: bool
) -> None:
    """Write ``new``: the table at ``old`` (when there is one) with ``rows`` added, one row per ``key``. A
    row whose key is already there is updated: with ``mix``, a cell that differs becomes "mixed" (a
    subject's row sums up all its sessions); the label it first had is kept. Columns of ``old`` that are not
    ``columns`` are kept ("n/a" in the new rows)."""
    header, existing = _read_tsv(old)
    if header and header[0] != key:
        raise InputError(f"{old}: its first column is {header[0]!r}, not {key}: fix or remove {old.name}")
    names = [key, *columns] + [h for h in header if h != key and h not in columns]
    by_key = {r[key]: r for r in existing}
    for row in rows:
        had = by_key.get(row[key])
        if had is None:
            by_key[row[key]] = dict(row)
            continue
        for c, v in row.items():
            if c not in had or not mix:  # a column the old table did not have, or a row replaced
                had[c] = v
            elif c != "breathsync_label" and had[c] != v:
                had[c] = "mixed"
    text = "\t".join(names) + "\n"
    for r in by_key.values():
        text += "\t".join(r.get(c, "n/a") or "n/a" for c in names) + "\n"
    new.parent.mkdir(parents=True, exist_ok=True)
    new.write_text(text, encoding="utf-8", newline="\n")
    os.chmod(new, 0o600)


def _merge_json(old: Path, new: Path, described: dict[str, Any]) -> None:
    """Write ``new``: the column descriptions at ``old`` (kept for columns this export does not write) with
    ``described``'s."""
    kept: dict[str, Any] = {}
    if old.exists():
        try:
            loaded = json.loads(old.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            raise InputError(f"{old}: cannot read it as JSON: fix or remove {old.name}") from None
        kept = loaded if isinstance(loaded, dict) else {}
    _write_json(new, {**kept, **described})


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


def _move_into_place(stage: Path, out: Path, rel: list[str], merged: set[str]) -> list[Path]:
    """Move the staged export into ``out``: all of it or (on an error) none of it. ``merged``: the files that
    replace one of ``out`` (tables with this export's rows added); no other file may be there already."""
    if not out.exists():
        os.rename(stage, out)  # one step: the dataset appears whole
        return [out / r for r in rel]
    new_files = [r for r in rel if r not in merged]
    for r in new_files:
        if (out / r).exists() and Path(r).parts[0].startswith("sub-"):
            raise InputError(
                f"{out}: {Path(r).parts[0]} is already there: give each session its own session label "
                "(--session), or export each session to its own folder"
            )
        if (out / r).exists():
            raise InputError(f"{out}: {r} is already there: export into a new folder")
    moved: list[Path] = []
    made: list[Path] = []
    replaced: list[tuple[Path, Path]] = []  # (the table as it was, where it is)
    try:
        for r in new_files:
            dest = out / r
            for d in reversed(dest.parents):
                if not d.exists():
                    d.mkdir()
                    made.append(d)
            os.rename(stage / r, dest)
            moved.append(dest)
        # The tables that list the new files last, participants.tsv (which lists the new subjects) at the
        # very end. Each one's earlier version is kept in the stage until all are in: when one cannot be
        # replaced (on Windows, participants.tsv open in a spreadsheet), those already replaced are put
        # back, so no table lists a session that was not exported.
        before = stage / ".before"
        for k, r in enumerate(sorted(merged, key=lambda r: (r == "participants.tsv", r))):
            kept = before / str(k)
            kept.parent.mkdir(exist_ok=True)
            shutil.copy2(out / r, kept)
            replace_file(stage / r, out / r)  # Windows: tried again while a program has it open
            replaced.append((kept, out / r))
    except BaseException:
        for kept, dest in reversed(replaced):
            with contextlib.suppress(OSError):
                replace_file(kept, dest)
        for m in moved:
            with contextlib.suppress(OSError):
                m.unlink()
        _remove_empty_dirs(made)
        raise
    return [out / r for r in rel]


# ---------------------------------------------------------------------------------- pair synchrony
DERIVATIVES = "derivatives/breathsync"
#: Columns of a subject's pair-synchrony file: its pairs' rows, from this subject's point of view.
PAIRSYNC_COLUMNS: dict[str, dict[str, Any]] = {
    "partner_id": {"Description": "the other participant of the pair (a subject of the raw dataset)"},
    "window_s": {"Description": "length of the window each row's figures are computed over", "Units": "s"},
    "time": {
        "Description": "session time the live view published the row's figures (first published, when "
        "published again unchanged; 0 = the session's start; the timeline of the recording-live physio "
        "files' timestamp column)",
        "Units": "s",
    },
    "window_end_s": {
        "Description": "session time of the end of the window the row describes (the pair's latest "
        "common sample's 0.1-s mark)",
        "Units": "s",
    },
    "plv": {
        "Description": "phase-locking value of the two breathing phases over the window, 0 to 1 "
        "(dimensionless); n/a when both phases are known on less than 80% of the window",
    },
    "null_plv": {
        "Description": "chance level of the PLV for these two breathers (dimensionless, 0 to 1): the 99th "
        "percentile of the PLVs of circularly time-shifted surrogates (each rhythm kept, the coupling "
        "destroyed), at most 0.9",
    },
    "sync_score": {
        "Description": "chance-corrected synchrony, (plv - null_plv) / (1 - null_plv) clipped to 0..1 "
        "(dimensionless)",
    },
    "in_sync": {
        "Description": "whether the pair was in sync: plv above null_plv and |rel_phase_rad| at most 45 "
        "degrees (pi/4)",
        "Levels": {"0": "not in sync", "1": "in sync"},
    },
    "rel_phase_rad": {
        "Description": "mean relative phase over the window (the PLV's angle), this subject's phase minus "
        "the partner's: > 0 means this subject breathes first",
        "Units": "rad",
    },
    "lag_s": {
        "Description": "the relative phase in seconds at the pair's mean breathing rate (> 0: this subject "
        "ahead)",
        "Units": "s",
    },
}
#: The pair-synchrony sidecar's description: what its rows are (one per window end, :func:`_distinct_windows`).
PAIRSYNC_DESCRIPTION = (
    "live breathing synchrony of this subject with each partner of the session, from the session folder's "
    "pairs.csv: the live view's windows as it published them, one row per partner and window end the "
    "session scored (window_end_s; a window published again unchanged is one row). The session scores a "
    "window every 0.1 s of session time and each refresh of the view publishes the latest one, so the rows "
    "are as far apart as the view was refreshed: their spacing in session time depends on the session's "
    "speed (about 0.1 s at 1x; a fast replay's rows can be seconds apart) and is not regular. `breathsync "
    "analyze` on the session folder gives the full series, a window ending every 0.1 s. Each pair is in "
    "both subjects' files, its signed figures from each one's point of view"
)
#: Fields whose sign says who is ahead: flipped in the second subject's file.
_SIGNED = ("rel_phase_rad", "lag_s")


def _read_pairs(
    folder: SessionFolder, subjects: list[tuple[FolderParticipant, str]]
) -> list[tuple[str, str, FloatArray, dict[str, FloatArray]]]:
    """The session's live pair synchrony (``pairs.csv``) of each pair of exported subjects: (subject a,
    subject b, time, {field: values}). Nothing when the session recorded none; InputError when damaged."""
    from breathsync.recorder import PAIR_FIELDS, _col_label

    path = os.path.join(folder.path, "pairs.csv")
    if not os.path.exists(path):
        return []
    hint = "move pairs.csv out of the session folder to export without the pair synchrony"
    t, cols = _read_table(
        path, "pair synchrony file", "pair-synchrony header (time,<a>-<b>_plv,...)", hint, empty_ok=True
    )
    if not t.size:
        return []
    sub_of = {fp.label: sub for fp, sub in subjects}
    labels = list(sub_of)
    out = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            for x, y in ((a, b), (b, a)):
                prefix = f"{_col_label(x)}-{_col_label(y)}_"
                if prefix + "plv" in cols:
                    nan = np.full(t.size, np.nan)
                    fields = {f: cols.get(prefix + f, nan) for f in PAIR_FIELDS}
                    out.append((sub_of[x], sub_of[y], t, fields))
                    break
    return out


def _distinct_windows(fields: dict[str, FloatArray]) -> list[int]:
    """The rows of one pair's ``pairs.csv`` columns to export: one per window the session scored. ``pairs.csv``
    has a row per published snapshot, and a snapshot published before the scoring reached a new window end
    (seen in a replay recorded at --speed 50) repeats the last one's window: a row repeating the previous
    kept row's window end and figures is left out (the first, when they were first published, is kept); a
    row with the same window end and other figures replaces it (the last published). A row whose window end
    is unknown (a recording from before ``window_end_s``, a pair not scored yet, a partner without a signal)
    is left out only when it repeats the previous one exactly. A row with the same window end as the one kept
    but no PLV where that one has one (an older recording's rows once a partner had no signal) is left out."""
    ends = fields["window_end_s"]
    figures = np.stack([v for f, v in fields.items() if f != "window_end_s"]) if len(fields) > 1 else None
    keep: list[int] = []
    for k in range(ends.size):
        if keep:
            j = keep[-1]
            same_end = ends[k] == ends[j] or (math.isnan(ends[k]) and math.isnan(ends[j]))
            if same_end:
                same = figures is None or bool(
                    np.all(
                        (figures[:, k] == figures[:, j]) | (np.isnan(figures[:, k]) & np.isnan(figures[:, j]))
                    )
                )
                if same:
                    continue
                if math.isfinite(ends[k]):
                    # A row of a recording from before this was mended: once one of the pair had no signal,
                    # the session gave the last window's end beside empty figures; that window's own kept.
                    plv = fields.get("plv")
                    if plv is not None and math.isnan(plv[k]) and not math.isnan(plv[j]):
                        continue
                    keep[-1] = k
                    continue
        keep.append(k)
    return keep


def _write_pair_sync(
    stage: Path,
    folder: SessionFolder,
    subjects: list[tuple[FolderParticipant, str]],
    ses: str | None,
    out: Path,
) -> list[str]:
    """The session's live pair synchrony as a derivative dataset (module docstring): each subject's pairs
    in ``derivatives/breathsync/sub-<label>/[ses-<label>/]beh/<stem>_desc-pairsync_beh.tsv``; returns the
    files written."""
    pairs = _read_pairs(folder, subjects)
    if not pairs:
        return []
    settings = folder.info.get("settings")
    window = settings.get("window_s") if isinstance(settings, dict) else None
    window_cell = _cell(float(window)) if isinstance(window, int | float) else "n/a"
    order = ["time", "window_end_s", "plv", "null_plv", "sync_score", "in_sync", "rel_phase_rad", "lag_s"]
    lines: dict[str, list[str]] = {}
    for sa, sb, t, fields in pairs:
        keep = _distinct_windows(fields)
        for me, partner, sign in ((sa, sb, 1.0), (sb, sa, -1.0)):
            values = {"time": t, **{f: sign * v if f in _SIGNED else v for f, v in fields.items()}}
            rows = lines.setdefault(me, [])
            for k in keep:
                cells = [f"sub-{partner}", window_cell]
                cells += [_cell(float(values[c][k]), c == "in_sync") for c in order]
                rows.append("\t".join(cells))
    deriv = stage / DERIVATIVES
    deriv.mkdir(parents=True)
    written = []
    if not (out / DERIVATIVES / "dataset_description.json").exists():
        # BIDS 1.11.1, "Derived data" / dataset_description.json: a derivative dataset's DatasetType is
        # "derivative" and GeneratedBy (the pipeline, with its version) is REQUIRED.
        _write_json(
            deriv / "dataset_description.json",
            {
                "Name": "breathsync live pair synchrony",
                "BIDSVersion": BIDS_VERSION,
                "DatasetType": "derivative",
                "GeneratedBy": [
                    {
                        "Name": "breathsync",
                        "Version": __version__,
                        "Description": "live breathing synchrony of each pair, as shown during the session",
                    }
                ],
            },
        )
        (deriv / "README").write_text(_DERIVATIVE_README, encoding="utf-8", newline="\n")
        os.chmod(deriv / "README", 0o600)
        written += [f"{DERIVATIVES}/dataset_description.json", f"{DERIVATIVES}/README"]
    header = "\t".join(PAIRSYNC_COLUMNS)
    for me, rows in lines.items():
        beh = deriv / _subject_dir(me, ses) / "beh"
        beh.mkdir(parents=True)
        p = beh / f"{_stem(me, ses)}_desc-pairsync_beh.tsv"
        p.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8", newline="\n")
        os.chmod(p, 0o600)
        _write_json(
            p.with_suffix(".json"),
            {
                "Description": PAIRSYNC_DESCRIPTION,
                **PAIRSYNC_COLUMNS,
            },
        )
        written += [str(p.relative_to(stage)), str(p.with_suffix(".json").relative_to(stage))]
    return written


def _cell(v: float, integer: bool = False) -> str:
    if not math.isfinite(v):
        return "n/a"
    v += 0.0  # no "-0" (a flipped zero)
    return str(round(v)) if integer else f"{v:.9g}"
