"""Lab exports that do not name the breathing column ``resp``: ``--column`` (analyze, report, batch) and
``replay:FILE,column=NAME``; a file holding two people's belts (one acquisition system) is two participants."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import breathing, run_breathsync

from breathsync.analysis import analyse_files
from breathsync.cli import main
from breathsync.errors import InputError
from breathsync.io.csvfile import RecordingError, read_recording
from breathsync.report import build_report
from breathsync.sources.replay import parse_replay_spec

LAG_S = 0.8  # B breathes this long after A


def _lab_file(path: Path, header: str = "time,RSP_A,RSP_B,EDA") -> Path:
    """Two belts and a skin-conductance channel on one time column, as a lab system exports them."""
    t, a, _ = breathing(duration_s=180.0, fs_hz=25.0, rate_bpm=12.0, seed=1)
    _, b, _ = breathing(duration_s=180.0, fs_hz=25.0, rate_bpm=12.0, seed=2, t0=-LAG_S)
    lines = [header] + [f"{x:.2f},{y:.4f},{z:.4f},2.5" for x, y, z in zip(t, a, b, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_reader_takes_the_named_column_as_the_breathing_waveform(tmp_path: Path) -> None:
    path = _lab_file(tmp_path / "lab.csv")
    rec = read_recording(path, resp_column="RSP_B")
    assert rec.signal_kind() == "resp"
    np.testing.assert_array_equal(rec.columns["resp"], rec.columns["RSP_B"])
    other = rec.with_resp("RSP_A")
    np.testing.assert_array_equal(other.columns["resp"], rec.columns["RSP_A"])
    assert other.time is rec.time  # a view, not a copy
    with pytest.raises(RecordingError) as e:
        read_recording(path)  # without it: no breathing column, as before
    assert "no breathing signal column" in str(e.value)


@pytest.mark.parametrize(
    ("column", "header", "says"),
    [
        (
            "RSP_C",
            "time,RSP_A,RSP_B,EDA",
            "breathing column 'RSP_C' is not in the header: name one of 'RSP_A'",
        ),
        ("rsp_a", "time,RSP_A,RSP_B,EDA", "breathing column 'rsp_a' is not in the header"),
        ("RSP_B", "time,RSP_A,RSP_B,EDA", None),
    ],
)
def test_a_column_that_is_not_there_is_one_line(
    tmp_path: Path, column: str, header: str, says: str | None
) -> None:
    path = _lab_file(tmp_path / "lab.csv", header)
    if says is None:
        read_recording(path, resp_column=column)
        return
    with pytest.raises(RecordingError) as e:
        read_recording(path, resp_column=column)
    assert says in str(e.value) and "\n" not in str(e.value) and str(e.value).startswith(f"{path}:1:")


def test_an_empty_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lab.csv"
    path.write_text("time,RSP,EDA\n" + "".join(f"{k / 25:.2f},,1\n" for k in range(3000)))
    with pytest.raises(RecordingError, match="breathing column 'RSP' holds no numbers"):
        read_recording(path, resp_column="RSP")


def test_a_time_column_named_otherwise_gets_a_hint(tmp_path: Path) -> None:
    path = _lab_file(tmp_path / "lab.csv", "Time (s),RSP_A,RSP_B,EDA")
    with pytest.raises(RecordingError) as e:
        read_recording(path, resp_column="RSP_A")
    assert "if 'Time (s)' is the time in seconds, rename it 'time'" in str(e.value)


def test_two_belts_in_one_file_are_two_participants(tmp_path: Path) -> None:
    path = _lab_file(tmp_path / "lab.csv")
    res = analyse_files([str(path)], columns=["RSP_A", "RSP_B"])
    assert [p["label"] for p in res["participants"]] == ["RSP_A", "RSP_B"]
    assert all(p["signal"] == "resp" and p["breaths"] >= 30 for p in res["participants"])
    (pair,) = res["pairs"]
    assert (pair["a"], pair["b"]) == ("RSP_A", "RSP_B")
    assert pair["summary"]["leader"] == "RSP_A" and pair["summary"]["lead_s"] == pytest.approx(LAG_S, abs=0.2)
    # One column: the file is one participant, labelled as usual.
    one = analyse_files([str(path)], columns=["RSP_B"])
    assert [p["label"] for p in one["participants"]] == ["A"]


def test_the_command_line_takes_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _lab_file(tmp_path / "lab.csv")
    out = tmp_path / "out.json"
    assert main(["analyze", str(path), "--column", "RSP_A", "--column", "RSP_B", "--json", str(out)]) == 0
    assert "RSP_A-RSP_B: in sync" in capsys.readouterr().out
    assert len(json.loads(out.read_text())["pairs"]) == 1
    r = run_breathsync("analyze", str(path), "--column", "RSP_X", timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1
    assert "breathing column 'RSP_X' is not in the header" in r.stderr
    r = run_breathsync("analyze", str(path), "--column", "time", timeout=60)
    assert r.returncode == 2 and "'time' is the time column" in r.stderr and len(r.stderr.splitlines()) == 1


def test_report_and_batch_take_column(tmp_path: Path) -> None:
    path = _lab_file(tmp_path / "lab.csv")
    page = build_report([str(path)], columns=["RSP_A", "RSP_B"])
    assert "RSP_A – RSP_B" in page
    summary = tmp_path / "study.csv"
    assert (
        main(["analyze", str(path), "--column", "RSP_A", "--column", "RSP_B", "--batch", str(summary)]) == 0
    )
    rows = summary.read_text().splitlines()
    assert len(rows) == 2 and "RSP_A" in rows[1] and "RSP_B" in rows[1]


def test_replay_plays_the_named_column(tmp_path: Path) -> None:
    path = _lab_file(tmp_path / "lab.csv")
    src = parse_replay_spec(f"{path},column=RSP_B")
    rec = src.load()
    np.testing.assert_array_equal(rec.columns["resp"], rec.columns["RSP_B"])
    assert src.describe()["column"] == "RSP_B"
    out = tmp_path / "rec"
    args = ["run", "-p", f"A=replay:{path},column=RSP_A", "-p", f"B=replay:{path},column=RSP_B"]
    assert main([*args, "--record", str(out), "--duration", "60", "--speed", "60", "--quiet"]) == 0
    a = read_recording(out / "A.csv")
    assert a.meta["source"] == "replay:lab.csv,column=RSP_A"
    assert "RSP_A" not in a.columns and "RSP_B" in a.columns  # the picked column plays as resp only
    for bad, says in (
        (f"{path},column=", "column= needs"),
        (f"{path},column=time", "column= needs"),
        (f"{out},column=RSP_A", "column= applies to a file"),
    ):
        with pytest.raises(InputError, match=says):
            parse_replay_spec(bad)
