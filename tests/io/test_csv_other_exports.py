"""Files from other tools, and files put together by hand, that were steered the wrong way:

- RR intervals: a headerless list (Elite HRV's export) was told to "add a header ... e.g. time,resp"; a column
  "RR", "IBI" got "pass the sampling rate" (beats have none), and `--column RR` read beat intervals as a belt's
  waveform without a word. Names that say milliseconds ("RR-interval [ms]", Polar Sensor Logger's) are read as
  rr_ms; others are named with what to rename them.
- An accelerometer as "X [mg]" (Polar Sensor Logger) got "pass the sampling rate" only.
- A note above the header ("Device: Polar H10") was an "unknown delimiter in header".
- Time columns: "seconds", "elapsed_s" got no rename hint while "Timestamp" did; a "timestamp" of dates none.
- Two exports joined with cat: "non-numeric cell 'time' in column 'time'".
- "1,541" was called a decimal comma though it may be a thousands separator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import reading_error

from breathsync.cli import main
from breathsync.io import read_recording
from breathsync.io.csvfile import breathing_column_problem


def _rr(n: int = 200, seed: int = 0) -> np.ndarray:
    """Whole-millisecond RR intervals of a heart at 75/min, breathing at 12/min, with beat-to-beat noise."""
    rng = np.random.default_rng(seed)
    t, out = 0.0, []
    for _ in range(n):
        r = 800 + 50 * np.sin(2 * np.pi * 0.2 * t) + rng.normal(0, 10)
        out.append(round(r))
        t += r / 1000
    return np.array(out, float)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ RR intervals
def test_a_headerless_list_of_rr_intervals_is_told_to_add_rr_ms(tmp_path: Path) -> None:
    path = _write(tmp_path / "elite.txt", "".join(f"{r:.0f}\n" for r in _rr()))
    message = reading_error(path)
    assert f"{path}:1: no header row" in message
    assert "looks like a list of RR intervals in milliseconds" in message
    assert "add the header line rr_ms" in message and "e.g. time,resp" not in message


@pytest.mark.parametrize(
    "values",
    [
        # A belt in ADC counts at 25 Hz, whole numbers in a heart's range: a smooth curve.
        np.round(1000 + 300 * np.sin(2 * np.pi * 0.25 * np.arange(0, 60, 0.04))),
        np.sin(np.arange(0, 60, 0.04)),  # a belt in volts
        np.array([936.0, 1020.0, 990.0]),  # too few to tell
        _rr() / 1000,  # seconds: not said to be milliseconds
    ],
)
def test_other_headerless_files_keep_the_header_message(tmp_path: Path, values: np.ndarray) -> None:
    path = _write(tmp_path / "x.txt", "".join(f"{v:g}\n" for v in values))
    message = reading_error(path)
    assert "add a header naming the columns, e.g. time,resp" in message and "RR" not in message


@pytest.mark.parametrize(
    "header",
    ["Phone timestamp;RR-interval [ms]", "RR interval (ms)", "RR (ms)", "RRI [ms]", "IBI_ms"],
)
def test_beat_intervals_named_in_milliseconds_are_read_as_rr_ms(tmp_path: Path, header: str) -> None:
    rr = _rr()
    stamp = "2024-05-01T10:00:00.000;" if header.startswith("Phone") else ""
    path = _write(tmp_path / "rr.txt", header + "\n" + "".join(f"{stamp}{r:.0f}\n" for r in rr))
    rec = read_recording(path)
    assert rec.signal_kind() == "rr" and rec.time_from_rr
    np.testing.assert_allclose(rec.time, np.cumsum(rr) / 1000)
    # Now read by its meaning, it cannot be named as a breathing waveform.
    assert "already reads by its meaning" in (breathing_column_problem(header.split(";")[-1]) or "")


@pytest.mark.parametrize(
    ("scale", "said"), [(1000, "look like seconds, multiply them by 1000"), (1e6, "check")]
)
def test_intervals_in_seconds_under_a_name_that_says_ms_are_told_to_multiply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scale: float, said: str
) -> None:
    # "RR (ms)" holding 0.812 (seconds): "check that it is RR intervals in milliseconds" left users to guess.
    path = _write(tmp_path / "rr.csv", "RR (ms)\n" + "".join(f"{r / scale:.6g}\n" for r in _rr()))
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no heart-beat intervals between 300 and 2000 ms" in err, err
    assert said in err and ("look like seconds" in err) == (scale == 1000), err


@pytest.mark.parametrize(
    ("header", "scale", "said"),
    [
        ("RR", 1, "column 'RR' looks like RR intervals in milliseconds"),
        ("IBI", 1, "column 'IBI' looks like RR intervals in milliseconds"),
        ("RR interval", 1, "column 'RR interval' looks like RR intervals in milliseconds"),
        ("IBI (s)", 1000, "column 'IBI (s)' looks like RR intervals in seconds"),
        ("RR", 1000, "looks like RR intervals in seconds"),
    ],
)
def test_beat_intervals_under_other_names_are_named(
    tmp_path: Path, header: str, scale: int, said: str
) -> None:
    path = _write(tmp_path / "rr.csv", header + "\n" + "".join(f"{r / scale:g}\n" for r in _rr()))
    message = reading_error(path)
    assert said in message and "--rate" not in message and "pass the sampling rate" not in message
    assert (
        "multiply its values by 1000 and name the column 'rr_ms'"
        if scale == 1000
        else "name the column 'rr_ms'"
    ) in message
    # With a rate given, the same advice (not "use --column").
    message = reading_error(path, rate_hz=1.0)
    assert said in message and "--column" not in message


def test_beat_intervals_beside_a_time_column_are_named(tmp_path: Path) -> None:
    rr = _rr()
    t = np.cumsum(rr) / 1000
    path = _write(
        tmp_path / "beats.csv",
        "time,beat\n" + "".join(f"{a:.3f},{r:.0f}\n" for a, r in zip(t, rr, strict=True)),
    )
    message = reading_error(path)
    assert "no breathing signal column: column 'beat' looks like RR intervals in milliseconds" in message


def test_a_respiratory_rate_named_rr_is_not_called_beats(tmp_path: Path) -> None:
    """'RR' is also a respiratory rate (breaths/min): values of 10-20 are not said to be RR intervals."""
    path = _write(tmp_path / "rr.csv", "time,RR\n" + "".join(f"{k},{12 + k % 5}\n" for k in range(60)))
    message = reading_error(path)
    assert "RR intervals" not in message and "no breathing signal column" in message


def test_a_column_of_beats_named_as_the_breathing_waveform_is_warned_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "rr.csv", "RR\n" + "".join(f"{r:.0f}\n" for r in _rr()))
    assert main(["analyze", "--rate", "1", "--column", "RR", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "column 'RR', named with --column (in a replay: column=) as a breathing waveform, looks like RR intervals in milliseconds"
        in out
    )
    assert "name it 'rr_ms' in the header and leave out --column" in out


def test_a_belt_named_with_column_is_not_warned_of(tmp_path: Path) -> None:
    t = np.arange(0, 60, 0.04)
    belt = np.round(1000 + 300 * np.sin(2 * np.pi * 0.25 * t))  # whole ADC counts in a heart's range
    path = _write(
        tmp_path / "b.csv", "time,RSP\n" + "".join(f"{a:.2f},{v:.0f}\n" for a, v in zip(t, belt, strict=True))
    )
    assert not any("RR intervals" in n for n in read_recording(path, resp_column="RSP").notes)


# ------------------------------------------------------------------------------------------ accelerometer
def test_an_accelerometer_in_milli_g_is_told_what_to_rename(tmp_path: Path) -> None:
    rows = "".join(
        f"2024-05-01T10:00:00.{k:03d};{599626023839800192 + k * 5_000_000};{k % 7};-20;{990 + k % 5}\n"
        for k in range(100)
    )
    path = _write(tmp_path / "acc.txt", "Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]\n" + rows)
    message = reading_error(path)
    assert "'sensor timestamp [ns]' looks like a time in nanoseconds" in message
    assert "columns 'X [mg]', 'Y [mg]', 'Z [mg]' look like an accelerometer in milli-g" in message
    assert "name them acc_x, acc_y, acc_z" in message
    message = reading_error(path, rate_hz=200.0)
    assert (
        "no breathing signal column: columns 'X [mg]', 'Y [mg]', 'Z [mg]' look like an accelerometer"
        in message
    )


# ------------------------------------------------------------------------------------------ a note above the header
def test_a_note_above_the_header_is_named_as_one(tmp_path: Path) -> None:
    path = _write(tmp_path / "note.csv", "Device: Polar H10\ntime,resp\n0,1\n0.1,2\n")
    message = reading_error(path)
    assert f"{path}:1: the first line, 'Device: Polar H10', looks like a note, not a header" in message
    assert "line 2, 'time,resp', like the header" in message and "start each with '#'" in message
    assert "unknown delimiter" not in message


def test_a_note_with_a_comma_above_the_header_is_named_too(tmp_path: Path) -> None:
    path = _write(tmp_path / "note.csv", "Recorded with a Polar H10, firmware 3\ntime,resp\n0,1\n0.1,2\n")
    message = reading_error(path)
    assert f"{path}:2: this line looks like the header, and line 1 above it" in message
    assert "units row" not in message


def test_a_header_with_another_delimiter_keeps_its_message(tmp_path: Path) -> None:
    message = reading_error(_write(tmp_path / "x.csv", "time resp\n0 1\n0.1 2\n"))
    assert "unknown delimiter in header 'time resp'" in message


# ------------------------------------------------------------------------------------------ time columns
@pytest.mark.parametrize("header", ["seconds", "sec", "elapsed_s", "Elapsed (s)", "Timestamp"])
def test_time_names_get_the_same_rename_hint(tmp_path: Path, header: str) -> None:
    path = _write(
        tmp_path / "t.csv",
        f"{header},resp\n" + "".join(f"{k / 25},{np.sin(k / 10):.3f}\n" for k in range(100)),
    )
    message = reading_error(path)
    assert f"no 'time' column: if '{header}' is the time in seconds, rename it 'time'" in message


def test_a_timestamp_of_dates_gets_a_hint(tmp_path: Path) -> None:
    rows = "".join(f"2024-05-01 10:00:{k:02d},{k % 3}\n" for k in range(30))
    path = _write(tmp_path / "d.csv", "timestamp,resp\n" + rows)
    message = reading_error(path)
    assert "'timestamp' holds a date and time ('2024-05-01 10:00:00' at line 2), not seconds" in message
    assert "convert the column to seconds" in message and "name it 'time'" in message


# ------------------------------------------------------------------------------------------ joined files
def test_a_second_header_row_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "cat.csv", "time,resp\n0,1\n0.1,2\ntime,resp\n0.2,3\n")
    message = reading_error(path)
    assert f"{path}:4: a second header row" in message and "split the file" in message
    assert "non-numeric" not in message


def test_two_recordings_joined_are_named(tmp_path: Path) -> None:
    one = "# participant: A\ntime,resp\n0,1\n0.1,2\n"
    two = "# participant: B\ntime,resp,ecg\n0,1,0\n0.1,2,0\n"
    path = _write(tmp_path / "cat.csv", one + two)
    message = reading_error(path)
    assert f"{path}:5: another recording starts here ('#' lines, then a header row at line 6" in message


# ------------------------------------------------------------------------------------------ commas
@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            'time,resp\n0,"1,541"\n0.1,2\n',
            "'1,541' has a comma: a decimal comma (1.541) or a thousands separator (1541)",
        ),
        (
            "time;resp\n0;1,541\n0.1;2\n",
            "'1,541' has a comma: a decimal comma (1.541) or a thousands separator (1541)",
        ),
        ("time;resp\n0;1,541,200\n0.1;2\n", "'1,541,200' has thousands separators"),
        ("time;resp\n0;0,541\n0.1;2\n", "'0,541' has a decimal comma"),
        ("time;resp\n0;1,5\n0.1;2\n", "'1,5' has a decimal comma"),
    ],
)
def test_a_comma_in_a_number_is_named_honestly(tmp_path: Path, text: str, said: str) -> None:
    assert said in reading_error(_write(tmp_path / "c.csv", text))
