"""Lab exports that do not name the breathing column ``resp``: ``--column`` (analyze, report, batch) and
``replay:FILE,column=NAME``; a file holding two people's belts (one acquisition system) is two participants."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import breathing, run_main, symlink_or_skip

from breathsync.analysis import analyse_files, read_inputs
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
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
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
    path.write_text("time,RSP,EDA\n" + "".join(f"{k / 25:.2f},,1\n" for k in range(3000)), encoding="utf-8")
    with pytest.raises(RecordingError, match="breathing column 'RSP' holds no numbers"):
        read_recording(path, resp_column="RSP")


def test_a_time_column_named_otherwise_gets_a_hint(tmp_path: Path) -> None:
    path = _lab_file(tmp_path / "lab.csv", "Timestamp,RSP_A,RSP_B,EDA")
    with pytest.raises(RecordingError) as e:
        read_recording(path, resp_column="RSP_A")
    assert "if 'Timestamp' is the time in seconds, rename it 'time'" in str(e.value)
    # A name that says seconds is the time column ('Time (s)' had the same hint).
    path = _lab_file(tmp_path / "lab.csv", "Time (s),RSP_A,RSP_B,EDA")
    assert read_recording(path, resp_column="RSP_A").time[1] == pytest.approx(0.04)


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
    assert len(json.loads(out.read_text(encoding="utf-8"))["pairs"]) == 1
    r = run_main("analyze", str(path), "--column", "RSP_X", timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1
    assert "breathing column 'RSP_X' is not in the header" in r.stderr
    r = run_main("analyze", str(path), "--column", "time", timeout=60)
    assert r.returncode == 2 and "'time' is the time column" in r.stderr and len(r.stderr.splitlines()) == 1


def test_report_and_batch_take_column(tmp_path: Path) -> None:
    path = _lab_file(tmp_path / "lab.csv")
    page = build_report([str(path)], columns=["RSP_A", "RSP_B"])
    assert "RSP_A – RSP_B" in page
    summary = tmp_path / "study.csv"
    assert (
        main(["analyze", str(path), "--column", "RSP_A", "--column", "RSP_B", "--batch", str(summary)]) == 0
    )
    rows = summary.read_text(encoding="utf-8").splitlines()
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
    assert "RSP_A" not in a.columns and "RSP_B" not in a.columns  # the picked column plays as resp only
    for bad, says in (
        (f"{path},column=", "column= needs"),
        (f"{path},column=time", "'time' is the time column"),
        (f"{out},column=RSP_A", "column= applies to a file"),
    ):
        with pytest.raises(InputError, match=says):
            parse_replay_spec(bad)


def test_a_replayed_column_brings_no_one_elses_breathing(tmp_path: Path) -> None:
    """With column=, only the picked column plays: the file's other columns may be other people's belts (A's
    raw file and A's BIDS export used to carry B's breathing, RSP_B)."""
    from breathsync.export_bids import export_bids

    path = _lab_file(tmp_path / "lab.csv")
    # units of both belts and the skin conductance, as a lab export declares them
    with path.open("r+", encoding="utf-8") as fh:
        text = fh.read()
        fh.seek(0)
        fh.write("# unit: RSP_A: V; RSP_B: mV; EDA: uS\n" + text)
    out = tmp_path / "rec"
    args = ["run", "-p", f"A=replay:{path},column=RSP_A", "-p", f"B=replay:{path},column=RSP_B"]
    assert main([*args, "--record", str(out), "--duration", "30", "--speed", "60", "--quiet"]) == 0
    for label, unit in (("A", "resp: V"), ("B", "resp: mV")):
        rec = read_recording(out / f"{label}.csv")
        assert list(rec.columns) == ["resp"], label
        assert rec.meta["unit"] == unit  # the picked column's unit, as resp's; not the others' names
    raw = read_recording(path, resp_column="RSP_A")
    a = read_recording(out / "A.csv")
    n = len(a)
    np.testing.assert_allclose(a.columns["resp"], raw.columns["RSP_A"][:n], atol=1e-9)
    export_bids(out, tmp_path / "bids")
    for label in ("A", "B"):
        side = json.loads(
            (
                tmp_path / f"bids/sub-{label}/beh/sub-{label}_task-breathsync_recording-raw_physio.json"
            ).read_text(encoding="utf-8")
        )
        assert side["Columns"] == ["respiratory"], (label, side["Columns"])
    # Without column= a file's other columns still play along (a simulated file's true_phase, say).
    plain = tmp_path / "plain.csv"
    plain.write_text(path.read_text(encoding="utf-8").replace("RSP_A", "resp"), encoding="utf-8")
    src = parse_replay_spec(str(plain))
    src.load()
    assert set(src._cols) == {"resp", "RSP_B", "EDA"}


# ---------------------------------------------------------------------------------- names that make no sense
@pytest.mark.parametrize("command", ["analyze", "report", "batch"])
def test_the_same_column_twice_is_refused(tmp_path: Path, command: str) -> None:
    """One belt named twice was analysed as a perfect pair with itself."""
    path = _lab_file(tmp_path / "lab.csv")
    extra = {
        "analyze": [],
        "report": ["--out", str(tmp_path / "r.html")],
        "batch": ["--batch", str(tmp_path / "s.csv")],
    }
    cmd = "report" if command == "report" else "analyze"
    r = run_main(cmd, str(path), "--column", "RSP_A", "--column", "RSP_A", *extra[command], timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert "--column RSP_A is given twice" in r.stderr
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "s.csv").exists()
    with pytest.raises(RecordingError, match=r"lab.csv:1: breathing column 'RSP_A' is named twice"):
        read_recording(path, resp_column="RSP_A", more_columns=["RSP_B", "RSP_A"])


@pytest.mark.parametrize("name", ["ecg", "rr_ms", "acc_x", "acc_y", "acc_z"])
def test_heart_and_accelerometer_columns_are_not_breathing_columns(tmp_path: Path, name: str) -> None:
    """--column ecg read a heart channel as a breathing waveform; breathsync reads these by their meaning."""
    path = _lab_file(tmp_path / "lab.csv", f"time,RSP_A,{name},EDA")
    r = run_main("analyze", str(path), "--column", name, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert f"'{name}' is a column breathsync already reads by its meaning" in r.stderr
    assert "leave out --column" in r.stderr
    with pytest.raises(
        InputError, match=f"column={name}: '{name}' is a column breathsync already reads"
    ) as e:
        parse_replay_spec(f"{path},column={name}")
    assert "leave out column=" in str(e.value)
    with pytest.raises(RecordingError, match="already reads by its meaning"):
        read_recording(path, resp_column=name)


def test_resp_may_be_named(tmp_path: Path) -> None:
    path = _lab_file(tmp_path / "lab.csv", "time,resp,RSP_B,EDA")
    res = analyse_files([str(path)], columns=["resp", "RSP_B"])
    assert [p["label"] for p in res["participants"]] == ["resp", "RSP_B"]
    assert parse_replay_spec(f"{path},column=resp").load().signal_kind() == "resp"


@pytest.mark.parametrize("order", [("RSP_A", "rsp_b"), ("rsp_b", "RSP_A")])
def test_every_column_is_checked_against_the_header(tmp_path: Path, order: tuple[str, str]) -> None:
    """The second --column was checked after the first had been renamed: no line number, and 'resp' (the
    alias, not in the file) among the names to pick from."""
    path = _lab_file(tmp_path / "lab.csv")
    r = run_main("analyze", str(path), "--column", order[0], "--column", order[1], timeout=60)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert (
        f"{path}:1: breathing column 'rsp_b' is not in the header: name one of 'RSP_A', 'RSP_B', 'EDA'"
        in r.stderr
    )
    assert "'resp'" not in r.stderr and "did you mean 'RSP_B'?" in r.stderr


def test_a_column_without_numbers_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "lab.csv"
    path.write_text(
        "# device: lab\ntime,RSP_A,RSP_B\n" + "".join(f"{k / 25:.2f},{k % 50},\n" for k in range(3000)),
        encoding="utf-8",
    )
    for columns in (["RSP_B", "RSP_A"], ["RSP_A", "RSP_B"]):
        with pytest.raises(RecordingError) as e:
            read_inputs([str(path)], columns=columns)
        assert str(e.value) == (
            f"{path}:2: breathing column 'RSP_B' holds no numbers: name the column that holds the breathing "
            "waveform"
        )


def test_a_quoted_header_name_may_hold_the_delimiter(tmp_path: Path) -> None:
    """Excel quotes a name with a comma in it; the header was split at that comma ("'Resp' appears twice")."""
    path = _lab_file(tmp_path / "lab.csv", '"time","Resp, Belt A","Resp, Belt B","EDA"')
    res = analyse_files([str(path)], columns=["Resp, Belt A", "Resp, Belt B"])
    assert [p["label"] for p in res["participants"]] == ["Resp, Belt A", "Resp, Belt B"]
    assert res["pairs"][0]["summary"]["leader"] == "Resp, Belt A"
    out = tmp_path / "out.json"
    r = run_main("analyze", str(path), "--column", "Resp, Belt B", "--json", str(out), timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["participants"][0]["column"] == "Resp, Belt B"


def test_the_json_says_which_column_was_read(tmp_path: Path) -> None:
    path = _lab_file(tmp_path / "lab.csv")
    res = analyse_files([str(path)], columns=["RSP_A", "RSP_B"])
    assert [p["column"] for p in res["participants"]] == ["RSP_A", "RSP_B"]
    assert analyse_files([str(path)], columns=["RSP_B"])["participants"][0]["column"] == "RSP_B"
    plain = tmp_path / "plain.csv"
    plain.write_text(path.read_text(encoding="utf-8").replace("RSP_A", "resp"), encoding="utf-8")
    assert "column" not in analyse_files([str(plain)])["participants"][0]  # only with --column


def test_the_same_recording_twice_is_refused(tmp_path: Path) -> None:
    """It would be a pair in perfect synchrony with itself (the audit's `analyze a.csv a.csv`)."""
    path = _lab_file(tmp_path / "lab.csv")
    link = tmp_path / "again.csv"
    symlink_or_skip(link, path)
    hard = tmp_path / "hard.csv"
    os.link(path, hard)  # a hard link has its own real path: the file's identity is its inode
    for args in ([str(path), str(path)], [str(path), str(link)], [str(path), str(hard)]):
        r = run_main("analyze", *args, "--column", "RSP_A", timeout=60)
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
        said = "is given twice" if args[0] == args[1] else f"{args[0]} and {args[1]} are the same file"
        assert said in r.stderr
    r = run_main("analyze", str(tmp_path / "gone.csv"), str(tmp_path / "gone.csv"), timeout=60)
    assert r.returncode == 2 and "given twice" not in r.stderr  # the reader says the file is missing
    with pytest.raises(InputError, match="is given twice"):
        build_report([str(path), str(path)], columns=["RSP_A"])
