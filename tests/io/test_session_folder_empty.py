"""A session that crashed in its first second leaves a participant's recording with its header and no rows:
the folder is read without that participant, with a warning, instead of being refused whole."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from conftest import make_session_folder

from breathsync.analysis import analyse_files
from breathsync.cli import main
from breathsync.errors import InputError, RecordingError
from breathsync.io import read_recording
from breathsync.io.session_folder import read_session_folder
from breathsync.sources.replay import parse_replay_spec

NOTE = "B: recorded no samples (B.csv holds only its header): left out"


def _crashed(tmp_path: Path) -> Path:
    folder = make_session_folder(tmp_path / "s")
    (folder / "B.csv").write_text(
        "# participant: B\n# signal: resp\ntime,resp,true_phase\n", encoding="utf-8"
    )
    return folder


def test_a_header_only_participant_is_left_out(tmp_path: Path) -> None:
    folder = read_session_folder(_crashed(tmp_path))
    assert folder.labels == ["A"]
    assert folder.left_out == (("B", "B.csv holds only its header"),)


def test_analyze_and_report_read_the_rest_and_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _crashed(tmp_path)
    result = analyse_files([str(folder)])
    assert [p["label"] for p in result["participants"]] == ["A"]
    assert result["warnings"][0] == NOTE
    out = tmp_path / "r.json"
    assert main(["analyze", str(folder), "--json", str(out)]) == 0
    assert NOTE in capsys.readouterr().out
    assert json.loads(out.read_text(encoding="utf-8"))["warnings"][0] == NOTE
    assert main(["report", str(folder), "--out", str(tmp_path / "r.html")]) == 0
    assert html.escape(NOTE) in (tmp_path / "r.html").read_text(encoding="utf-8")  # the report says so too
    assert main(["export", str(folder), "--bids", str(tmp_path / "bids")]) == 0
    assert not list((tmp_path / "bids").glob("sub-B*"))


def test_replaying_the_left_out_participant_says_why(tmp_path: Path) -> None:
    folder = _crashed(tmp_path)
    with pytest.raises(InputError) as info:
        parse_replay_spec(f"{folder},participant=B")
    assert "participant 'B' recorded no samples (B.csv holds only its header)" in str(info.value)
    assert parse_replay_spec(f"{folder},participant=A").participant == "A"


def test_a_folder_whose_participants_all_lack_samples_is_refused(tmp_path: Path) -> None:
    folder = _crashed(tmp_path)
    (folder / "A.csv").write_text("time,resp\n", encoding="utf-8")
    with pytest.raises(RecordingError, match="no participant recorded any samples"):
        read_session_folder(folder)


def test_a_damaged_participant_file_is_still_refused(tmp_path: Path) -> None:
    folder = make_session_folder(tmp_path / "s")
    (folder / "B.csv").write_text("time,resp\n0,1\n0.04,abc\n", encoding="utf-8")
    assert read_session_folder(folder).labels == ["A", "B"]  # not left out: the reader names its problem
    with pytest.raises(RecordingError, match="non-numeric cell 'abc'"):
        analyse_files([str(folder)])


def test_a_header_only_file_given_alone_is_still_refused(tmp_path: Path) -> None:
    folder = _crashed(tmp_path)
    with pytest.raises(RecordingError, match="no data rows after the header"):
        read_recording(folder / "B.csv")
