"""Text that is no recording CSV is named as what it is: UTF-16 without a byte-order mark, JSON (analyze's own
output); Excel's 'sep=,' first line is read as what it is, not as a header."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from breathsync.analysis import analyse_files
from breathsync.errors import RecordingError
from breathsync.io import read_recording
from sample_signals import sample_path

ROWS = "time,resp\n" + "".join(f"{i * 0.04:.2f},{(i % 25) / 25:.3f}\n" for i in range(500))


def _error(path: Path) -> RecordingError:
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    assert "\n" not in str(info.value)
    return info.value


@pytest.mark.parametrize(("codec", "order"), [("utf-16-le", "LE"), ("utf-16-be", "BE")])
def test_utf16_without_a_bom_is_named(tmp_path: Path, codec: str, order: str) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes(("# participant: A\n" + ROWS).encode(codec))
    err = _error(path)
    assert err.line == 1
    assert err.problem == f"UTF-16{order} text (without a byte-order mark): save the file as UTF-8 CSV"


def test_utf16_with_a_bom_keeps_its_message(tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes(ROWS.encode("utf-16"))
    assert _error(path).problem == "UTF-16 text: save the file as UTF-8 CSV"


def test_analyzes_own_json_output_is_named(tmp_path: Path) -> None:
    result = analyse_files([str(sample_path("pair_sync_A.csv")), str(sample_path("pair_sync_B.csv"))])
    path = tmp_path / "out.json"
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    err = _error(path)
    assert err.problem.startswith(
        "a JSON file (breathsync's own output, such as analyze --json), not a recording"
    )
    assert "is a number" not in str(err)


def test_other_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('\n  [{"time": 0, "resp": 1}]\n', encoding="utf-8")
    assert _error(path).problem.startswith("a JSON file, not a recording CSV")


@pytest.mark.parametrize(
    ("sep", "delimiter"), [("sep=,", ","), ("sep=;", ";"), ('"sep=,"', ","), ("SEP=\t", "\t")]
)
def test_excels_sep_line_is_accepted(tmp_path: Path, sep: str, delimiter: str) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (sep + "\r\n" + ROWS.replace(",", delimiter)).encode())
    rec = read_recording(path)
    assert len(rec) == 500 and list(rec.columns) == ["resp"]


def test_a_sep_line_after_the_header_is_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text("time,resp\nsep=,\n0,1\n", encoding="utf-8")
    assert _error(path).line == 2
