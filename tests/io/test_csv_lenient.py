"""Common exports the reader refused: missing values spelled NA, N/A, n/a or #N/A (R's write.csv, Excel, BIDS);
pandas' index column (an empty first header name) and trailing empty columns (``time,resp,,``); a time column
named ``Time``, ``time_s`` or ``Time (s)``; a text column breathsync does not read (an event marker), which
refused the whole file ("non-numeric cell 'start' in column 'event'", with no advice)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import breathing, reading_error

from breathsync.cli import main
from breathsync.io import read_recording


def _belt(n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    t, y, _ = breathing(duration_s=n / 25.0, fs_hz=25.0)
    return t, y


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("na", ["NA", "N/A", "n/a", "#N/A", '"NA"', " NA "])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_missing_value_spellings_read_as_empty_cells(tmp_path: Path, na: str, delimiter: str) -> None:
    t, y = _belt()
    rows = [f"{a:.2f}{delimiter}{na if k in (5, 700) else f'{b:.4f}'}{delimiter}{na}"
            for k, (a, b) in enumerate(zip(t, y, strict=True))]  # fmt: skip
    rec = read_recording(_write(tmp_path / "na.csv", f"time{delimiter}resp{delimiter}ecg", rows))
    resp = rec.columns["resp"]
    assert np.flatnonzero(np.isnan(resp)).tolist() == [5, 700] and len(rec) == t.size
    np.testing.assert_allclose(resp[:5], np.round(y[:5], 4))
    assert np.isnan(rec.columns["ecg"]).all() and rec.notes == ()


def test_a_missing_time_is_still_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "na.csv", "time,resp", ["0,1", "NA,2", "0.08,3"])
    message = reading_error(path)
    assert f"{path}:3:" in message and "every row needs a time in seconds" in message


def test_a_word_that_merely_starts_like_na_is_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "nax.csv", "time,resp", ["0,1", "0.04,NAX"])
    assert "non-numeric cell 'NAX' in column 'resp'" in reading_error(path)


def test_pandas_index_and_trailing_empty_columns_are_left_out(tmp_path: Path) -> None:
    t, y = _belt()
    pairs = list(zip(t, y, strict=True))
    index = _write(
        tmp_path / "index.csv", ",time,resp", [f"{k},{a:.2f},{b:.4f}" for k, (a, b) in enumerate(pairs)]
    )
    trailing = _write(tmp_path / "trailing.csv", "time,resp,,", [f"{a:.2f},{b:.4f},," for a, b in pairs])
    middle = _write(tmp_path / "middle.csv", "time,,resp", [f"{a:.2f},,{b:.4f}" for a, b in pairs])
    for path in (index, trailing, middle):
        rec = read_recording(path)
        assert list(rec.columns) == ["resp"] and len(rec) == t.size and rec.notes == (), path
        np.testing.assert_allclose(rec.time, np.round(t, 2))


@pytest.mark.parametrize(
    ("header", "rows", "said"),
    [
        (",time,resp", ["0.5,0,1", "1.5,0.04,2"], "column 1 has no name in the header but holds numbers"),
        ("time,,resp", ["0,7,1", "0.04,8,2"], "column 2 has no name in the header but holds numbers"),
        ("time,resp,", ["0,1,x", "0.04,2,"], "column 3 has no name in the header but holds text ('x')"),
    ],
)
def test_an_unnamed_column_that_holds_something_is_refused(
    tmp_path: Path, header: str, rows: list[str], said: str
) -> None:
    message = reading_error(_write(tmp_path / "unnamed.csv", header, rows))
    assert said in message and message.endswith("or delete the column")


@pytest.mark.parametrize("name", ["Time", "TIME", "time_s", "Time (s)", "time (s)", "time [s]", "Time_sec"])
def test_a_time_column_that_says_seconds_is_the_time(tmp_path: Path, name: str) -> None:
    rec = read_recording(_write(tmp_path / "t.csv", f"{name},resp", ["0,1", "0.04,2", "0.08,1"]))
    assert rec.time.tolist() == [0.0, 0.04, 0.08] and list(rec.columns) == ["resp"]


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("time_ms,resp", "'time_ms' looks like a time in milliseconds"),
        ("Time (ms),resp", "'Time (ms)' looks like a time in milliseconds"),
        ("t,time_ms,resp", "'time_ms' looks like a time in milliseconds"),
        ("Time,time_s,resp", "columns 'Time' and 'time_s' both look like the time in seconds"),
    ],
)
def test_other_time_names_are_still_refused(tmp_path: Path, header: str, said: str) -> None:
    cells = header.count(",")
    rows = [",".join(["0"] * cells + ["1"]), ",".join(["40"] * cells + ["2"])]
    assert said in reading_error(_write(tmp_path / "t.csv", header, rows))


def test_a_text_column_not_read_is_left_out_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t, y = _belt()
    marks = {10: "start", 900: "eyes closed"}
    rows = [f"{a:.2f},{b:.4f},{marks.get(k, '')},{k % 7}" for k, (a, b) in enumerate(zip(t, y, strict=True))]
    path = _write(tmp_path / "events.csv", "time,resp,event,count", rows)
    rec = read_recording(path)
    assert list(rec.columns) == ["resp", "count"] and len(rec) == t.size
    assert rec.notes == ("column 'event' holds text ('start' at line 12), not numbers: it is ignored",)
    assert main(["analyze", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "warning: A: column 'event' holds text ('start' at line 12), not numbers: it is ignored" in out
    assert err == ""


def test_text_in_every_row_of_a_long_file(tmp_path: Path) -> None:
    """A comment on every row (and several chunks of the file): read, the comment left out."""
    t, y, _ = breathing(duration_s=1200.0, fs_hz=50.0)
    rows = [f"{a:.2f},{b:.4f},ok" for a, b in zip(t, y, strict=True)]
    rec = read_recording(_write(tmp_path / "big.csv", "time,resp,comment", rows))
    assert len(rec) == t.size and list(rec.columns) == ["resp"]
    np.testing.assert_allclose(rec.columns["resp"], np.round(y, 4))
    assert rec.notes == ("column 'comment' holds text ('ok' at line 2), not numbers: it is ignored",)


@pytest.mark.parametrize(
    ("header", "row", "said"),
    [
        (
            "time,resp,event",
            "0.04,start,",
            "non-numeric cell 'start' in column 'resp': breathsync reads this",
        ),
        (
            "time,resp,event",
            "start,1,",
            "non-numeric cell 'start' in column 'time': write the time in seconds",
        ),
        (
            "time,RSP,event",
            "0.04,start,",
            "non-numeric cell 'start' in column 'RSP': breathsync reads",
        ),  # read with --column RSP
    ],
)
def test_text_in_a_column_read_is_refused_with_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str, row: str, said: str
) -> None:
    path = _write(tmp_path / "bad.csv", header, ["0,1,", row, "0.08,1,x"])
    column = ["--column", "RSP"] if "RSP" in header else []
    assert main(["analyze", str(path), *column]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and f"{path}:3: {said}" in err
