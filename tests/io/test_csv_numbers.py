"""The reader's numbers: what a European export, a delimiter mix-up or a '_' digit separator is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from breathsync.cli import main
from breathsync.errors import RecordingError
from breathsync.io import read_recording


def _error(path: Path) -> RecordingError:
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert "units row" not in message
    return info.value


# ------------------------------------------------------------------------------------- misleading lines
def test_european_export_is_read_with_its_decimal_commas(tmp_path: Path) -> None:
    """';' between cells and ',' in the numbers: the first row was called a units row, then refused for its
    decimal commas; it is read now, with a note (tests/io/test_csv_decimal_comma.py)."""
    p = tmp_path / "eu.csv"
    p.write_text("# participant: A\ntime;resp\n0,00;0,25\n0,04;0,31\n", encoding="utf-8")
    rec = read_recording(p)
    assert rec.time.tolist() == [0.0, 0.04] and rec.columns["resp"].tolist() == [0.25, 0.31]
    assert any("numbers read with ',' as the decimal point" in n for n in rec.notes)


def test_decimal_comma_further_down_is_named_too(tmp_path: Path) -> None:
    p = tmp_path / "eu_tab.csv"
    p.write_text("time\tresp\n0.00\t0.25\n0.04\t0,31\n", encoding="utf-8")
    err = _error(p)
    assert err.line == 3 and "'0,31' has a decimal comma" in err.problem


@pytest.mark.parametrize(
    ("text", "header", "rows"),
    [
        ("time,resp\n0.00;0.25\n0.04;0.31\n", "','", "';'"),
        ("time;resp\n0.00,0.25\n0.04,0.31\n", "';'", "','"),
        ("time,resp,rr_ms\n0.00;0.25;\n0.04;0.31;812\n", "','", "';'"),
    ],
)
def test_header_and_rows_with_different_delimiters(tmp_path: Path, text: str, header: str, rows: str) -> None:
    p = tmp_path / "mixed.csv"
    p.write_text(text, encoding="utf-8")
    err = _error(p)
    assert err.line == 2
    assert f"the header is {header}-separated but this row is {rows}-separated" in err.problem
    assert "one delimiter" in err.problem


def test_comma_header_over_european_rows(tmp_path: Path) -> None:
    p = tmp_path / "mixed_eu.csv"
    p.write_text("time,resp\n0,00;0,25\n0,04;0,31\n", encoding="utf-8")
    err = _error(p)
    assert "';'-separated" in err.problem and "decimal point" in err.problem


@pytest.mark.parametrize("cell", ["1_0", "0.2_5", "1e1_0"])
def test_underscore_in_a_number_is_refused(tmp_path: Path, cell: str) -> None:
    """float() reads '1_0' as 10 (PEP 515); a CSV number has no digit separators."""
    p = tmp_path / "under.csv"
    p.write_text(f"time,resp\n0.00,0.5\n0.04,{cell}\n0.08,0.7\n", encoding="utf-8")
    err = _error(p)
    assert err.line == 3
    assert f"'{cell}'" in err.problem and "'_'" in err.problem and "'resp'" in err.problem


def test_other_scripts_digits_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "digits.csv"
    p.write_text("time,resp\n0.00,0.5\n0.04,\u0661\n", encoding="utf-8")  # ARABIC-INDIC DIGIT ONE
    assert _error(p).line == 3


def test_a_bad_number_exits_2_with_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "eu.csv"
    p.write_text("time;resp\n0.00;0,25\n0.04;0,31\n", encoding="utf-8")  # decimal points and commas
    assert main(["analyze", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1 and "decimal comma" in err


def test_a_row_short_of_a_huge_header_names_a_few_columns(tmp_path: Path) -> None:
    """A header of 100,000 columns over rows of two: the message quoted every name, 0.7 MB on one line."""
    p = tmp_path / "wide.csv"
    names = ["time", "resp", *(f"c{i}" for i in range(100_000)), "x" * 500]
    p.write_text(",".join(names) + "\n0,1\n", encoding="utf-8")
    err = _error(p)
    assert err.line == 2 and "row has 2 cells but the header has 100003" in err.problem
    assert "time,resp,c0," in err.problem and "(99991 more)" in err.problem and len(str(err)) < 400
    # A few columns are all named, as before; a name of hundreds of characters is cut short.
    q = tmp_path / "narrow.csv"
    q.write_text("time,resp," + "y" * 500 + "\n0,1\n", encoding="utf-8")
    err = _error(q)
    assert "time,resp,yyy" in err.problem and "more)" not in err.problem and len(str(err)) < 300
