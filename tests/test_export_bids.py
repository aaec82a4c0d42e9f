"""BIDS export of a recorded session, checked against the specification's required fields."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from breathsync.export_bids import export_bids

NAME = re.compile(
    r"^sub-[A-Za-z0-9]+_task-[A-Za-z0-9]+(_recording-[A-Za-z0-9]+)?_(physio|physioevents)\.(tsv\.gz|json)$"
)


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rec = tmp_path_factory.mktemp("s") / "rec"
    r = subprocess.run(
        [
            sys.executable, "-m", "breathsync", "run",
            "-p", "A=sim:steady,rate=12,seed=1",
            "-p", "B=sim:follow,rate=13,coupling=1,seed=2",
            "-p", "C=replay:sample_signals/polar_h10_rr.csv",
            "--record", str(rec), "--duration", "90", "--speed", "60", "--quiet", "--phase", "match", "--goal", "10",
        ],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return rec


def test_bids_files_have_the_required_fields(session_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bids"
    written = export_bids(session_dir, out)
    desc = json.loads((out / "dataset_description.json").read_text())
    assert desc["Name"] and desc["BIDSVersion"]
    assert (out / "participants.tsv").read_text().splitlines()[0].split("\t")[0] == "participant_id"
    physio = [p for p in written if p.name.endswith("_physio.tsv.gz")]
    assert {p.parent.parent.name for p in physio} == {"sub-A", "sub-B", "sub-C"}
    for p in written:
        if p.parent.name == "beh":
            assert NAME.match(p.name), p.name
    for p in physio:
        side = json.loads(p.with_name(p.name.replace(".tsv.gz", ".json")).read_text())
        for key in ("SamplingFrequency", "StartTime", "Columns"):
            assert key in side, (p.name, key)
        assert side["SamplingFrequency"] > 0 and len(set(side["Columns"])) == len(side["Columns"])
        with gzip.open(p, "rt") as fh:
            rows = [ln.rstrip("\n").split("\t") for ln in fh]
        assert rows and all(len(r) == len(side["Columns"]) for r in rows)  # no header line, same width
        float(rows[0][0]) if rows[0][0] != "n/a" else None  # numeric from the first line: no header
    raw_a = json.loads((out / "sub-A/beh/sub-A_task-breathsync_recording-raw_physio.json").read_text())
    assert raw_a["SamplingFrequency"] == pytest.approx(25.0) and "resp" in raw_a["Columns"]
    raw_c = json.loads((out / "sub-C/beh/sub-C_task-breathsync_recording-raw_physio.json").read_text())
    assert raw_c["SamplingFrequency"] == pytest.approx(4.0) and "breathsyncProcessing" in raw_c


def test_events_index_into_the_live_recording(session_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bids"
    export_bids(session_dir, out)
    beh = out / "sub-B" / "beh"
    side = json.loads((beh / "sub-B_task-breathsync_recording-live_physioevents.json").read_text())
    assert side["Columns"][0] == "foreign_index"
    live_side = json.loads((beh / "sub-B_task-breathsync_recording-live_physio.json").read_text())
    with gzip.open(beh / "sub-B_task-breathsync_recording-live_physio.tsv.gz", "rt") as fh:
        n_live = sum(1 for _ in fh)
    with gzip.open(beh / "sub-B_task-breathsync_recording-live_physioevents.tsv.gz", "rt") as fh:
        ev = [ln.rstrip("\n").split("\t") for ln in fh if ln.strip()]
    assert ev, "the session had events (in sync, goal reached)"
    for idx, onset, _kind, _msg in ev:
        t = live_side["StartTime"] + int(idx) / live_side["SamplingFrequency"]
        assert abs(t - float(onset)) <= 0.05 and -5 <= int(idx) <= n_live + 40
    assert {"in_sync", "goal_reached"} & {e[2] for e in ev}


def test_export_command_and_its_errors(session_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    r = subprocess.run([sys.executable, "-m", "breathsync", "export", str(session_dir), "--bids", str(out)],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (out / "sub-A").is_dir()
    again = subprocess.run([sys.executable, "-m", "breathsync", "export", str(session_dir), "--bids", str(out)],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert again.returncode == 2 and "already there" in again.stderr and len(again.stderr.splitlines()) == 1
    bad = subprocess.run([sys.executable, "-m", "breathsync", "export", str(tmp_path), "--bids", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert np.isfinite(1.0)
