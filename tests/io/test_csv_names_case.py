"""Column names from other tools: the names breathsync reads (time, resp, rr_ms, acc_x/y/z, ecg) in any case,
a belt's or an ECG's with a unit ("RESP (mV)"), and "t" as the time when no other column looks like one. Before,
"Resp", "RESP", "RESP (mV)" and "t" were refused as "no breathing signal column" or "no 'time' column"; two
columns that read as one name are refused in one line (which one holds it is not said)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import reading_error

from breathsync.cli import main
from breathsync.io import read_recording
from breathsync.io.csvfile import breathing_column_problem


def _write(path: Path, header: str, n: int = 300) -> Path:
    """``header`` over ``n`` rows at 25 Hz: the time, then a breath-like ramp, then column index x 1000 (so
    that an accelerometer's or a heart's column holds numbers of its range)."""
    cols = header.count(",") + 1
    lines = [header]
    for k in range(n):
        cells = [f"{k / 25:.2f}", f"{(k % 100) / 100:.3f}"] + [str(800 + 10 * i) for i in range(2, cols)]
        lines.append(",".join(cells[:cols]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("header", "read_as"),
    [
        ("time,Resp", ["resp"]),
        ("time,RESP", ["resp"]),
        ("Time,RESP (mV)", ["resp"]),
        ("TIME,resp [a.u.],ECG (uV)", ["resp", "ecg"]),
        ("time,Resp,RR_MS", ["resp", "rr_ms"]),
        ("t,Resp", ["resp"]),
        ("T,resp,note", ["resp", "note"]),
        ("t (s),Resp,Acc_X,ACC_Y,acc_Z", ["resp", "acc_x", "acc_y", "acc_z"]),
    ],
)
def test_known_names_are_read_in_any_case(tmp_path: Path, header: str, read_as: list[str]) -> None:
    rec = read_recording(_write(tmp_path / "rec.csv", header))
    assert list(rec.columns) == read_as
    assert rec.time[:3].tolist() == [0.0, 0.04, 0.08]
    assert rec.signal_kind() == "resp" and rec.columns["resp"][1] == pytest.approx(0.01)


def test_an_ecg_alone_in_capitals_is_read_for_its_beats(tmp_path: Path) -> None:
    """'ECG' alone was 'no breathing signal column'; now it is the file's heart signal, as 'ecg' is."""
    rec = read_recording(_write(tmp_path / "ecg.csv", "Time (s),ECG"))
    assert rec.signal_kind() == "ecg"


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("time,resp,RESP", "columns 'resp' and 'RESP' are both read as 'resp'"),
        ("time,Resp,RESP (mV)", "columns 'Resp' and 'RESP (mV)' are both read as 'resp'"),
        ("time,ecg,ECG", "columns 'ecg' and 'ECG' are both read as 'ecg'"),
        ("time,Time,resp", "columns 'time' and 'Time' both look like the time in seconds"),
        ("t,T,resp", "columns 't' and 'T' both look like the time in seconds"),
    ],
)
def test_two_columns_read_as_one_name_are_refused(tmp_path: Path, header: str, said: str) -> None:
    path = _write(tmp_path / "two.csv", header)
    message = reading_error(path)
    assert (
        message.startswith(f"{path}:1: ") and said in message and "keep one, or rename the other" in message
    )


def test_t_is_not_the_time_beside_another_time_column(tmp_path: Path) -> None:
    # Beside 'time', "t" is some other column, kept under its own name.
    rec = read_recording(_write(tmp_path / "a.csv", "time,resp,t"))
    assert list(rec.columns) == ["resp", "t"] and rec.time[1] == pytest.approx(0.04)
    # Beside a time column in milliseconds, "t" does not hide it: the milliseconds are refused as before.
    message = reading_error(_write(tmp_path / "b.csv", "t,resp,time_ms"))
    assert "'time_ms' looks like a time in milliseconds" in message
    # Beside a "timestamp", which of the two is the time is not guessed.
    message = reading_error(_write(tmp_path / "c.csv", "t,resp,timestamp"))
    assert "if 't' or 'timestamp' is the time in seconds, rename it 'time'" in message
    # "t" with a unit that is not seconds is named as such.
    assert "'t (ms)' looks like a time in milliseconds" in reading_error(
        _write(tmp_path / "d.csv", "t (ms),resp")
    )


def test_a_breathing_column_named_in_another_case_keeps_its_name(tmp_path: Path) -> None:
    """--column RESP names the file's own column; a case variant of resp beside it is the file's resp."""
    path = _write(tmp_path / "lab.csv", "time,RESP,Resp_B")
    rec = read_recording(path, resp_column="RESP")
    assert rec.resp_column == "RESP" and list(rec.columns) == ["RESP", "Resp_B", "resp"]
    np.testing.assert_array_equal(rec.columns["resp"], rec.columns["RESP"])
    rec = read_recording(path, resp_column="Resp_B")
    assert list(rec.columns) == ["resp", "Resp_B"]  # RESP is read as the file's resp, then Resp_B replaces it
    np.testing.assert_array_equal(rec.columns["resp"], rec.columns["Resp_B"])


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("Time", "'Time' is the time column"),
        ("RR_MS", "'RR_MS' is a column breathsync already reads by its meaning (RR intervals"),
        ("ECG (mV)", "'ECG (mV)' is a column breathsync already reads by its meaning (an ECG"),
    ],
)
def test_column_refuses_the_case_variants_it_reads_by_meaning(name: str, said: str) -> None:
    problem = breathing_column_problem(name, "--column")
    assert problem is not None and said in problem
    assert breathing_column_problem("RESP (mV)", "--column") is None


def test_analyze_reads_them_and_refuses_a_doubled_name_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "two.csv", "T,resp,RESP (mV)")
    assert main(["analyze", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "are both read as 'resp'" in err and "Traceback" not in err
