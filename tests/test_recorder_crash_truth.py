"""What a session folder says when a participant's source was known only once streaming (a BLE device), gave
no sample, or the session never closed (a crash, a kill):

- session.json is rewritten with a participant's description at its first sample: a session killed after it
  kept the description written before the scan ("resp", no device, for a Polar H10), and the BIDS export
  repeated it;
- the final session.json lists only files that are there: a strap that never sent a beat had A.csv and
  A_live.csv listed, neither written;
- analyze, report and export say who was left out, and why (they dropped such a participant without a word),
  and a session that did not close is still read when a participant's file was never begun (it was refused
  whole: "A.csv: missing").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from breathsync.analysis import analyse_files
from breathsync.cli import main
from breathsync.errors import InputError
from breathsync.io.session_folder import read_session_folder
from breathsync.recorder import Recorder
from breathsync.session_types import SessionInfo
from breathsync.sources.base import SampleChunk
from breathsync.sources.replay import parse_replay_spec


def _info() -> SessionInfo:
    return SessionInfo(
        participants=[
            {"label": lab, "source": {"kind": "ble", "target": "Polar"}, "signal": "resp", "invert": False}
            for lab in ("A", "B")
        ],
        settings={"phase": "match", "window_s": 30.0, "speed": 1.0},
        start_utc="2025-01-01T10:00:00.000+00:00",
        software_version="0.1.0",
    )


def _belt(t0: float = 0.0, n: int = 1500) -> SampleChunk:
    t = t0 + np.arange(n) * 0.04
    return SampleChunk(t, {"resp": np.sin(2 * np.pi * 0.25 * t)})


def _session_json(folder: Path) -> dict[str, object]:
    return json.loads((folder / "session.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_the_description_found_at_the_first_sample_is_in_session_json_before_the_end(tmp_path: Path) -> None:
    info = _info()
    rec = Recorder(tmp_path / "r")
    rec.open(info)
    # The session updates its description as the device is identified, before the sinks see a sample.
    a = info.participants[0]
    a["signal"] = "acc"
    a["source"] = {"kind": "ble", "target": "Polar", "device": "polar-h10", "name": "Polar H10 B5D3E12F"}
    t = np.arange(0.0, 2.0, 0.005)
    rec.on_chunk("A", SampleChunk(t, {c: np.zeros(t.size) for c in ("acc_x", "acc_y", "acc_z")}))
    # No close(): the process was killed here.
    (entry, _) = _session_json(tmp_path / "r")["participants"]  # type: ignore[misc]
    assert entry["signal"] == "acc" and entry["source"]["device"] == "polar-h10"


def test_a_participant_without_samples_has_no_files_listed_and_is_said_to_be_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "r"
    rec = Recorder(folder)
    rec.open(_info())
    rec.on_chunk("B", _belt())
    rec.close(_info())
    info = _session_json(folder)
    assert info["no_samples"] == ["A"]
    assert not [n for n, what in info["files"].items() if what.get("participant") == "A"]  # type: ignore[attr-defined]
    assert "B.csv" in info["files"]  # type: ignore[operator]
    note = (
        "A: recorded no samples (none came from its source during the session; events.csv says why): left out"
    )
    assert note in analyse_files([str(folder)])["warnings"]
    assert main(["export", str(folder), "--bids", str(tmp_path / "bids")]) == 0
    assert f"note: {note}" in capsys.readouterr().out.splitlines()
    with pytest.raises(InputError, match="participant 'A' recorded no samples \\(none came from its source"):
        parse_replay_spec(f"{folder},participant=A")


def test_a_session_that_never_closed_is_read_without_a_participant_whose_file_was_never_begun(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "r"
    rec = Recorder(folder)
    rec.open(_info())
    rec.on_chunk("B", _belt())
    rec.flush()
    # Killed here: session.json has end_utc null and lists A.csv, which was never begun.
    assert _session_json(folder)["end_utc"] is None and not (folder / "A.csv").exists()
    assert read_session_folder(folder).labels == ["B"]
    warnings = analyse_files([str(folder)])["warnings"]
    assert (
        "A: recorded no samples (A.csv was never begun, and the session did not close): left out" in warnings
    )
