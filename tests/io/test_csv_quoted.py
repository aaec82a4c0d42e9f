"""Quoted cells that hold the delimiter ("note, with comma", as a spreadsheet writes a comment or an event
marker) split their row: "row has 4 cells but the header has 3". They are read by the rules of Python's csv
module (RFC 4180 quotes: the delimiter and doubled quotes inside quotes belong to the cell), also in long
files, whose rows with quotes take numpy's parser; a quoted cell left open on its line is one line saying so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import reading_error

from breathsync.io import read_recording

NOTE = '"note, with comma"'


def _rows(n: int, delimiter: str, note: str, every: int = 7) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``n`` rows of time, resp and a note column holding ``note`` every ``every`` rows (empty otherwise)."""
    t = np.arange(n) / 25.0
    y = np.round(np.sin(2 * np.pi * 0.25 * t), 4)
    rows = [
        delimiter.join([f"{a:.2f}", f"{b:.4f}", note if k % every == 3 else ""])
        for k, (a, b) in enumerate(zip(t, y, strict=True))
    ]
    return rows, t, y


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("delimiter", "note", "text"),
    [
        (",", NOTE, "note, with comma"),
        (";", '"note; with semicolon"', "note; with semicolon"),
        ("\t", '"note\twith tab"', "note\\twith tab"),
        (",", '"say ""hi"", then, go"', 'say "hi", then, go'),
        (",", ' "spaced, out" ', "spaced, out"),
    ],
)
def test_a_quoted_note_with_the_delimiter_is_one_cell(
    tmp_path: Path, delimiter: str, note: str, text: str
) -> None:
    rows, t, y = _rows(300, delimiter, note)
    path = _write(tmp_path / "notes.csv", delimiter.join(["time", "resp", "note"]), rows)
    rec = read_recording(path)
    assert list(rec.columns) == ["resp"]
    np.testing.assert_array_equal(rec.time, t)
    np.testing.assert_array_equal(rec.columns["resp"], y)
    (said,) = [n for n in rec.notes if "column 'note'" in n]
    assert said.startswith(f"column 'note' holds text ('{text}' at line 5)")


def test_a_long_file_with_quoted_notes_throughout_is_read_whole(tmp_path: Path) -> None:
    """Several of the reader's 1-MB pieces, a quoted note with commas in every 7th row: every row is read."""
    rows, t, y = _rows(200_000, ",", NOTE)
    path = _write(tmp_path / "long.csv", "time,resp,note", rows)
    assert path.stat().st_size > 3 << 20
    rec = read_recording(path)
    np.testing.assert_array_equal(rec.time, t)
    np.testing.assert_array_equal(rec.columns["resp"], y)


def test_a_bad_row_among_quoted_notes_is_still_refused(tmp_path: Path) -> None:
    rows, _, _ = _rows(200_000, ",", NOTE)
    rows[150_000] = rows[150_000] + "," + NOTE
    path = _write(tmp_path / "extra.csv", "time,resp,note", rows)
    message = reading_error(path)
    assert message.startswith(f"{path}:150002: row has 4 cells but the header has 3")
    rows[150_000] = ",".join(rows[150_000].split(",")[:2]) + ',"a note, open'
    message = reading_error(_write(tmp_path / "open.csv", "time,resp,note", rows))
    assert message.startswith(f"{tmp_path / 'open.csv'}:150002: a quoted cell is not closed on its line")


def test_a_quoted_number_with_a_decimal_comma_is_named_as_such(tmp_path: Path) -> None:
    """'"0,25"' (a European spreadsheet's number in quotes) split into two cells: 'row has 3 cells'."""
    path = _write(tmp_path / "comma.csv", "time,resp", ["0.00,0.5", '0.04,"0,25"', "0.08,0.7"])
    message = reading_error(path)
    assert message.startswith(f"{path}:3: the number '0,25' has a decimal comma")


def test_a_quoted_cell_left_open_is_one_line(tmp_path: Path) -> None:
    rows, _, _ = _rows(300, ",", "")
    rows[10] += '"a note over'  # row 10 is line 12; its note goes on to the next line
    rows.insert(11, 'two lines"')
    path = _write(tmp_path / "open.csv", "time,resp,note", rows)
    message = reading_error(path)
    assert message.startswith(f"{path}:12: a quoted cell is not closed on its line")
    assert "remove the line break from the cell" in message


def test_a_last_row_cut_inside_a_quoted_note_is_dropped(tmp_path: Path) -> None:
    """A writer killed in the middle of a note, as for any cut last row."""
    rows, t, _ = _rows(300, ",", NOTE)
    path = tmp_path / "cut.csv"
    path.write_text("time,resp,note\n" + "\n".join(rows) + '\n12.00,0.5,"a note, cut', encoding="utf-8")
    rec = read_recording(path)
    np.testing.assert_array_equal(rec.time, t)
