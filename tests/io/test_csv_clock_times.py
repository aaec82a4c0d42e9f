"""A time column of dates and clock times (2024-05-01 10:00:00.000, as a device export or a spreadsheet writes
when each sample was taken) is refused with a line saying to convert it to seconds (it said "non-numeric cell"
and nothing more)."""

from __future__ import annotations

from pathlib import Path

import pytest

from breathsync.cli import main
from breathsync.errors import RecordingError
from breathsync.io import read_recording

CONVERT = "breathsync wants seconds: convert the column to seconds (e.g. seconds since the first row)"


def _error(path: Path) -> str:
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("cells", "what"),
    [
        (["2024-05-01 10:00:00.000000", "2024-05-01 10:00:00.040000"], "a date and time"),
        (["2024-05-01T10:00:00Z", "2024-05-01T10:00:00.04Z"], "a date and time"),
        (["01.05.2024 10:00:00,000", "01.05.2024 10:00:00,040"], "a date and time"),
        (["10:00:00.000", "10:00:00.040"], "a clock time"),
        (["2024/05/01", "2024/05/01"], "a date"),
    ],
)
def test_a_time_column_of_dates_or_clock_times_says_to_convert_it(
    tmp_path: Path, cells: list[str], what: str
) -> None:
    path = tmp_path / "iso.csv"
    path.write_text(
        "time;resp\n" + "".join(f"{c};0.{i + 1}\n" for i, c in enumerate(cells)), encoding="utf-8"
    )
    message = _error(path)
    assert f"{path}:2: non-numeric cell '{cells[0]}' in column 'time': {what}, and {CONVERT}" in message


def test_analyze_says_it_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "iso_A.csv"
    path.write_text("time,resp\n2024-05-01 10:00:00.000,0.4\n2024-05-01 10:00:00.040,0.5\n", encoding="utf-8")
    assert main(["analyze", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and CONVERT in err


def test_other_text_keeps_the_plain_message(tmp_path: Path) -> None:
    """Text that is no date in the time column, and a date in another column: no word about seconds."""
    path = tmp_path / "text.csv"
    path.write_text("time,resp\n0.0,0.1\nabc,0.2\n", encoding="utf-8")
    message = _error(path)
    assert message.endswith("non-numeric cell 'abc' in column 'time': write the time in seconds, as a number")
    path.write_text("time,resp\n0.0,0.1\n0.04,2024-05-01\n", encoding="utf-8")
    message = _error(path)
    assert "non-numeric cell '2024-05-01' in column 'resp': breathsync reads this column's cells" in message
    assert "seconds" not in message
