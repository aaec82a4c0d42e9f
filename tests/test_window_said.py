"""The window is said: analyze's pair line gives it ("in 30-s windows"), and a recorded session's raw files
given one by one, scored with another window than the session's (session.json), get one warning saying how
to score them as the session did (a session recorded with --window 20 gave 46% as a folder and 49% as its
A.csv B.csv, and neither said which window it used)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_session_folder

from breathsync.cli import main

SAID = "recorded with a 20-s window, and are scored here with 30-s windows: add --window 20, or analyze the folder"


def _session(tmp_path: Path) -> Path:
    return make_session_folder(tmp_path / "w20", {"settings": {"window_s": 20.0}})


def _analyze(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert main(["analyze", *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_the_pair_line_gives_the_window(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = _session(tmp_path)
    pair = next(ln for ln in _analyze(capsys, str(s)) if ln.startswith("A-B:"))
    assert " scored in 20-s windows, mean PLV " in pair
    pair = next(ln for ln in _analyze(capsys, str(s), "--window", "40") if ln.startswith("A-B:"))
    assert " scored in 40-s windows, mean PLV " in pair


def test_a_sessions_files_scored_with_another_window_are_warned_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = _session(tmp_path)
    out = tmp_path / "r.json"
    lines = _analyze(capsys, str(s / "A.csv"), str(s / "B.csv"), "--json", str(out))
    said = [ln for ln in lines if "recorded with a 20-s window" in ln]
    assert said == [
        f"warning: A.csv, B.csv are from the session {s}, {SAID}, to score them as the session did"
    ]
    assert " scored in 30-s windows, " in next(ln for ln in lines if ln.startswith("A-B:"))
    assert said[0].removeprefix("warning: ") in json.loads(out.read_text(encoding="utf-8"))["warnings"]
    one = [ln for ln in _analyze(capsys, str(s / "A.csv")) if "20-s window" in ln]
    assert one == [
        f"warning: A.csv is from the session {s}, recorded with a 20-s window, and is scored here with 30-s "
        "windows: add --window 20, or analyze the folder, to score it as the session did"
    ]


def test_no_warning_when_the_window_is_the_sessions_or_chosen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = _session(tmp_path)
    files = [str(s / "A.csv"), str(s / "B.csv")]
    for args in ([str(s)], [*files, "--window", "20"], [*files, "--window", "30"]):
        assert not any("-s window, and" in ln for ln in _analyze(capsys, *args)), args
    plain = make_session_folder(tmp_path / "w30", {"settings": {"window_s": 30.0}})
    assert not any(
        "-s window, and" in ln for ln in _analyze(capsys, str(plain / "A.csv"), str(plain / "B.csv"))
    )


def test_the_report_notes_it(tmp_path: Path) -> None:
    s = _session(tmp_path)
    out = tmp_path / "r.html"
    assert main(["report", str(s / "A.csv"), str(s / "B.csv"), "--out", str(out)]) == 0
    assert SAID in out.read_text(encoding="utf-8")


def test_a_result_without_its_window_is_still_summarised() -> None:
    """A result made by hand (a view's test, an older JSON) without "window_s": the line without the words."""
    from breathsync.analysis import summary_text

    summary = {"mean_plv": 0.9, "mean_relative_phase_rad": -0.3, "leader": "B", "lead_s": 0.31}
    pair = {
        "a": "A",
        "b": "B",
        "plv": [0.9],
        "null_plv": [0.3],
        "summary": {**summary, "time_in_sync_frac": 1.0},
    }
    pair["summary"]["scored_s"] = 0.1
    line = summary_text({"participants": [], "pairs": [pair], "warnings": []})
    assert line.startswith("A-B: in sync 100% of the 0:00 scored, mean PLV 0.90 (chance level 0.30)")
