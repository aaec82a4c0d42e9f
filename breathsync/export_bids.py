"""Export a recorded session folder as BIDS physiological recordings.

Facts from the BIDS specification (1.10, "Physiological and other continuous recordings"):
- continuous data: ``<matches>[_recording-<label>]_physio.tsv.gz``, gzip-compressed TSV *without* a header
  line, with a ``_physio.json`` sidecar whose REQUIRED fields are ``SamplingFrequency``, ``StartTime`` and
  ``Columns``;
- time series with different sampling frequencies MUST be split into files told apart by ``recording-<label>``;
- discontinuous data: ``<matches>[_recording-<label>]_physioevents.tsv.gz`` (no header) with a sidecar whose
  ``Columns`` are REQUIRED; with implicit indexing a ``foreign_index`` column gives the zero-based row of the
  matching ``_physio.tsv.gz``;
- a dataset has ``dataset_description.json`` (``Name``, ``BIDSVersion`` REQUIRED) and SHOULD have
  ``participants.tsv``. Labels are alphanumeric.

Layout written (one subject per participant, datatype ``beh``, task ``breathsync``)::

    OUT/dataset_description.json  participants.tsv  participants.json  README
    OUT/sub-<label>/beh/sub-<label>_task-breathsync_recording-raw_physio.tsv.gz + .json
                        sub-<label>_task-breathsync_recording-live_physio.tsv.gz + .json
                        sub-<label>_task-breathsync_recording-live_physioevents.tsv.gz + .json

``recording-raw`` holds the samples as the source delivered them (on a uniform grid: when the timestamps
are not uniform they are interpolated onto one, and the sidecar says so; RR intervals, which come at beat
times, become the RR-derived breathing waveform at 4 Hz). ``recording-live`` holds what the live view showed
(20 Hz: waveform, phase, rate, quality). ``StartTime`` is seconds from the session start (session time 0).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from breathsync import __version__
from breathsync.dsp._types import FloatArray
from breathsync.errors import InputError, RecordingError
from breathsync.io.csvfile import read_recording
from breathsync.io.session_folder import read_session_folder

BIDS_VERSION = "1.10.0"
TASK = "breathsync"

_UNITS = {"resp": "arbitrary", "acc_x": "mg", "acc_y": "mg", "acc_z": "mg", "rr_ms": "ms", "ecg": "uV"}
_DESCRIPTIONS = {
    "resp": "breathing waveform (respiration belt or derived), rising on inhale",
    "acc_x": "chest accelerometer, x axis",
    "acc_y": "chest accelerometer, y axis",
    "acc_z": "chest accelerometer, z axis",
    "true_phase": "simulated breather's true breathing phase (0 = inhale onset, pi = end of inhale)",
    "ecg": "electrocardiogram",
}


def bids_label(label: str) -> str:
    """A BIDS label (letters and digits only) for a participant label."""
    out = re.sub(r"[^A-Za-z0-9]", "", label)
    if not out:
        raise InputError(f"participant label {label!r} has no letter or digit for a BIDS subject label")
    return out


def _write_tsv_gz(path: Path, rows: np.ndarray) -> None:
    text = "\n".join(
        "\t".join("n/a" if not math.isfinite(v) else f"{v:.9g}" for v in r) for r in rows.tolist()
    )
    with gzip.open(path, "wt", encoding="utf-8", newline="\n") as fh:
        fh.write(text + ("\n" if text else ""))
    os.chmod(path, 0o600)


def _write_json(path: Path, obj: dict[str, Any]) -> None:
    path.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)


def _uniform(t: FloatArray) -> tuple[float, bool]:
    """(sampling frequency, whether the timestamps are uniform within 1% of a step)."""
    step = float(np.median(np.diff(t)))
    uniform = bool(np.all(np.abs(np.diff(t) - step) <= 0.01 * step))
    return 1.0 / step, uniform


def _raw_series(rec_path: str, signal: str) -> tuple[FloatArray, dict[str, FloatArray], float, str]:
    """(t, columns, fs, note) of a participant's raw samples on a uniform grid."""
    rec = read_recording(rec_path)
    if signal == "rr" or (rec.signal_kind() == "rr"):
        from breathsync.dsp.rr import RESAMPLE_FS_HZ, rr_to_resp_offline

        rr = rec.columns["rr_ms"]
        ok = np.isfinite(rr)
        t, y = rr_to_resp_offline(rec.time[ok], rr[ok])
        tach = np.interp(t, rec.time[ok], rr[ok])
        note = (
            f"RR intervals arrive at beat times; exported as the RR-derived breathing waveform and the "
            f"interpolated RR tachogram on a {RESAMPLE_FS_HZ:g} Hz grid (breathsync.dsp.rr)"
        )
        return t, {"resp": y, "rr_ms": tach}, float(RESAMPLE_FS_HZ), note
    cols = {k: v for k, v in rec.columns.items() if np.isfinite(v).any()}
    fs, uniform = _uniform(rec.time)
    if uniform:
        return rec.time, cols, fs, ""
    grid = rec.time[0] + np.arange(math.floor((rec.time[-1] - rec.time[0]) * fs) + 1) / fs
    out = {}
    for k, v in cols.items():
        ok = np.isfinite(v)
        out[k] = np.interp(grid, rec.time[ok], v[ok]) if ok.any() else np.full(grid.size, np.nan)
    note = f"timestamps were not uniform (arrival jitter); linearly interpolated onto a {fs:.6g} Hz grid"
    return grid, out, fs, note


def _read_live(path: str) -> tuple[FloatArray, dict[str, FloatArray]]:
    with open(path, encoding="utf-8") as fh:
        rows = [ln for ln in fh if not ln.startswith("#") and ln.strip()]
    header = rows[0].strip().split(",")
    data = np.array(
        [
            [float(c) if c else math.nan for c in r.strip().split(",")]
            for r in rows[1:]
            if r.count(",") == len(header) - 1
        ]
    )
    if data.size == 0:
        return np.empty(0), {h: np.empty(0) for h in header[1:]}
    return data[:, 0], {h: data[:, i + 1] for i, h in enumerate(header[1:])}


def _read_events(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r.get("time")]


def export_bids(session_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the BIDS dataset for a recorded session; returns the files written."""
    folder = read_session_folder(session_dir)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not (out / "dataset_description.json").exists():
        raise InputError(f"{out}: exists, is not empty and is not a BIDS dataset: choose a new folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{out}: cannot create the folder ({e.strerror})") from None
    info = folder.info
    written: list[Path] = []
    desc = out / "dataset_description.json"
    if not desc.exists():
        _write_json(
            desc,
            {
                "Name": "breathsync sessions",
                "BIDSVersion": BIDS_VERSION,
                "DatasetType": "raw",
                "GeneratedBy": [{"Name": "breathsync", "Version": __version__}],
            },
        )
        written.append(desc)
    sources = {p["label"]: p for p in info.get("participants", [])}
    events = _read_events(Path(folder.path) / "events.csv")
    part_rows = []
    for fp in folder.participants:
        sub = bids_label(fp.label)
        beh = out / f"sub-{sub}" / "beh"
        beh.mkdir(parents=True, exist_ok=True)
        base = f"sub-{sub}_task-{TASK}"
        if (beh / f"{base}_recording-raw_physio.tsv.gz").exists():
            raise InputError(f"{out}: sub-{sub} is already there: export each session to its own folder")
        src = sources.get(fp.label, {})
        signal = str(src.get("signal", ""))
        common = {
            "TaskName": TASK,
            "Manufacturer": str((src.get("source") or {}).get("kind", "unknown")),
            "SoftwareVersions": f"breathsync {info.get('software_version', __version__)}",
            "AcquisitionStartUTC": info.get("start_utc"),
            "breathsyncSource": src.get("source"),
            "breathsyncParticipantLabel": fp.label,
        }
        try:
            t, cols, fs, note = _raw_series(fp.path, signal)
        except RecordingError as e:
            raise InputError(f"{fp.path}: cannot export: {e.problem}") from None
        names = list(cols)
        raw_json: dict[str, Any] = {
            "SamplingFrequency": round(fs, 9),
            "StartTime": round(float(t[0]), 6) if t.size else 0.0,
            "Columns": names,
            **common,
        }
        for n in names:
            raw_json[n] = {"Description": _DESCRIPTIONS.get(n, n), "Units": _UNITS.get(n, "arbitrary")}
        if note:
            raw_json["breathsyncProcessing"] = note
        p = beh / f"{base}_recording-raw_physio.tsv.gz"
        _write_tsv_gz(p, np.column_stack([cols[n] for n in names]) if names else np.empty((0, 0)))
        _write_json(p.with_name(p.name.replace(".tsv.gz", ".json")), raw_json)
        written += [p, p.with_name(p.name.replace(".tsv.gz", ".json"))]
        if fp.live_path and os.path.exists(fp.live_path):
            lt, lcols = _read_live(fp.live_path)
            if lt.size:
                lnames = list(lcols)
                live_json: dict[str, Any] = {
                    "SamplingFrequency": 20.0,
                    "StartTime": round(float(lt[0]), 6),
                    "Columns": lnames,
                    "Description": "what breathsync's live pipeline computed, as shown during the session",
                    **common,
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
                _write_json(lp.with_name(lp.name.replace(".tsv.gz", ".json")), live_json)
                written += [lp, lp.with_name(lp.name.replace(".tsv.gz", ".json"))]
                mine = [
                    e for e in events if not e.get("participants") or fp.label in e["participants"].split(";")
                ]
                ep = beh / f"{base}_recording-live_physioevents.tsv.gz"
                lines = []
                for ev in mine:
                    et = float(ev["time"])
                    idx = round((et - float(lt[0])) * 20.0)
                    msg = ev.get("text", "").replace("\t", " ").replace("\n", " ")
                    lines.append(f"{idx}\t{et:.3f}\t{ev.get('kind', '')}\t{msg}")
                with gzip.open(ep, "wt", encoding="utf-8", newline="\n") as fh:
                    fh.write("\n".join(lines) + ("\n" if lines else ""))
                os.chmod(ep, 0o600)
                _write_json(
                    ep.with_name(ep.name.replace(".tsv.gz", ".json")),
                    {
                        "Columns": ["foreign_index", "onset", "trial_type", "message"],
                        "Description": "session events (in sync, lost sync, goal reached, source lost, ...)",
                        "foreign_index": {"Description": "zero-based row of the recording-live physio file"},
                        "onset": {"Description": "session time of the event", "Units": "s"},
                        "trial_type": {"Description": "event kind"},
                        "message": {"Description": "the event in words"},
                    },
                )
                written += [ep, ep.with_name(ep.name.replace(".tsv.gz", ".json"))]
        part_rows.append((f"sub-{sub}", fp.label, signal))
    ptsv = out / "participants.tsv"
    existing = {}
    if ptsv.exists():
        for line in ptsv.read_text(encoding="utf-8").splitlines()[1:]:
            cells = line.split("\t")
            existing[cells[0]] = line
    for pid, lab, sig in part_rows:
        existing[pid] = f"{pid}\t{lab}\t{sig or 'n/a'}"
    ptsv.write_text(
        "participant_id\tbreathsync_label\tsignal\n" + "\n".join(existing.values()) + "\n", encoding="utf-8"
    )
    os.chmod(ptsv, 0o600)
    _write_json(
        out / "participants.json",
        {
            "breathsync_label": {"Description": "the participant's label in the breathsync session"},
            "signal": {
                "Description": "breathing signal: resp (belt), acc (chest accelerometer) or rr (heart beats)"
            },
        },
    )
    written += [ptsv, out / "participants.json"]
    return written
