"""A time column in milliseconds (microseconds) is refused with a line saying so, also where its scale alone
looks like seconds; an honest 1 Hz file with whole-second times is read (as before)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import reading_error

from breathsync.io import read_recording, write_recording


def _resp(n: int, fs: float) -> np.ndarray:
    t = np.arange(n) / fs
    return np.sin(2 * np.pi * 0.25 * t)


@pytest.mark.parametrize(
    ("fs", "factor", "unit"), [(1000.0, 1e3, "milliseconds"), (500.0, 1e3, "milliseconds")]
)
def test_a_declared_rate_1000_times_the_time_columns_is_refused(
    tmp_path: Path, fs: float, factor: float, unit: str
) -> None:
    n = int(fs * 120)
    path = tmp_path / "ms.csv"
    t_ms = np.round(np.arange(n) / fs * factor)
    write_recording(path, t_ms, {"resp": _resp(n, fs)}, {"sampling_rate_hz": f"{fs:g}"}, time_format="%.0f")
    message = reading_error(path)
    assert f"{path}:1:" in message  # the sampling_rate_hz line
    assert unit in message and "divide the time column by 1000" in message


def test_microseconds_at_a_declared_rate(tmp_path: Path) -> None:
    # 0.1 s of 10 Hz... in microseconds: steps of 1e5 would fail the scale check; 1 MHz declared, 1 Hz read.
    n = 600
    path = tmp_path / "us.csv"
    write_recording(path, np.arange(n, dtype=float), {"resp": _resp(n, 10.0)}, {"sampling_rate_hz": "1e6"})
    assert "microseconds" in reading_error(path)


def test_a_declared_rate_that_is_merely_wrong_is_a_note(tmp_path: Path) -> None:
    n = 3000
    path = tmp_path / "wrong.csv"
    write_recording(path, np.arange(n) / 25.0, {"resp": _resp(n, 25.0)}, {"sampling_rate_hz": "1000"})
    rec = read_recording(path)
    assert any("sampling_rate_hz: 1000, but its time column is at 25 Hz" in n for n in rec.notes)


def test_an_honest_1hz_file_with_whole_second_times_is_read(tmp_path: Path) -> None:
    n = 600
    path = tmp_path / "one_hz.csv"
    write_recording(
        path,
        np.arange(n, dtype=float),
        {"resp": _resp(n, 1.0)},
        {"sampling_rate_hz": "1"},
        time_format="%.0f",
    )
    rec = read_recording(path)
    assert len(rec) == n


def test_heart_beats_whose_times_are_milliseconds_are_refused(tmp_path: Path) -> None:
    # A Polar H10 export with ms times: accelerometer rows 5 ms apart (a median step of 5 "s" passes the
    # scale check) and beats whose times are 1000 x their RR intervals apart.
    fs = 200.0
    n = int(fs * 60)
    t_acc = np.arange(n) / fs
    rr = np.full(70, 850.0)
    t_beat = np.cumsum(rr) / 1000.0
    t = np.concatenate([t_acc, t_beat])
    order = np.argsort(t, kind="stable")
    is_beat = np.concatenate([np.zeros(n, bool), np.ones(rr.size, bool)])[order]
    acc = np.where(is_beat, np.nan, 1000.0 + 5 * np.sin(2 * np.pi * 0.25 * t[order]))
    cols = {
        "acc_x": acc,
        "acc_y": np.where(is_beat, np.nan, 3.0),
        "acc_z": np.where(is_beat, np.nan, -20.0),
        "rr_ms": np.where(is_beat, np.concatenate([np.full(n, np.nan), rr])[order], np.nan),
    }
    seconds = tmp_path / "h10_s.csv"
    write_recording(seconds, t[order], cols)
    assert len(read_recording(seconds)) == t.size  # in seconds: read
    ms = tmp_path / "h10_ms.csv"
    write_recording(ms, np.round(t[order] * 1000.0), cols, time_format="%.0f")
    message = reading_error(ms)
    assert "heart beats are 1000 times their RR intervals apart" in message and "milliseconds" in message


@pytest.mark.parametrize(
    ("column", "unit", "factor"),
    [
        ("time_ms", "milliseconds", "1000"),
        ("Time (ms)", "milliseconds", "1000"),
        ("time_us", "microseconds", "1000000"),
    ],
)
def test_a_time_column_named_in_another_unit(tmp_path: Path, column: str, unit: str, factor: str) -> None:
    path = tmp_path / "named.csv"
    path.write_text(f"# a: b\n{column},resp\n0,1\n40,2\n80,1\n", encoding="utf-8")
    message = reading_error(path)
    assert f"{path}:2:" in message
    assert f"'{column}' looks like a time in {unit}" in message and f"divide it by {factor}" in message


def test_a_time_column_named_in_seconds_is_read_as_the_time(tmp_path: Path) -> None:
    """'Time (s)' was refused with a hint to rename it 'time'; it says seconds, so it is the time column."""
    path = tmp_path / "named.csv"
    path.write_text("Time (s),resp\n0,1\n0.04,2\n", encoding="utf-8")
    rec = read_recording(path)
    assert rec.time.tolist() == [0.0, 0.04] and list(rec.columns) == ["resp"]


def test_a_1hz_file_whose_declared_rate_is_left_over_is_a_note(tmp_path: Path) -> None:
    """Decimated from 1000 Hz to 1 Hz, the '# sampling_rate_hz: 1000' line left as it was: whole-second
    times like milliseconds, but a breathing waveform that breathes in seconds: a note, not a refusal."""
    n = 600
    path = tmp_path / "decimated.csv"
    write_recording(
        path,
        np.arange(n, dtype=float),
        {"resp": _resp(n, 1.0) + 0.05 * np.random.default_rng(1).standard_normal(n)},
        {"sampling_rate_hz": "1000"},
        time_format="%.0f",
    )
    rec = read_recording(path)
    assert len(rec) == n
    assert any("sampling_rate_hz: 1000, but its time column is at 1 Hz" in note for note in rec.notes)


def test_a_noisy_millisecond_file_is_still_refused(tmp_path: Path) -> None:
    fs = 1000.0
    n = int(fs * 60)
    path = tmp_path / "ms_noisy.csv"
    y = _resp(n, fs) + 0.1 * np.random.default_rng(2).standard_normal(n)
    write_recording(
        path, np.arange(n, dtype=float), {"resp": y}, {"sampling_rate_hz": "1000"}, time_format="%.0f"
    )
    assert "divide the time column by 1000" in reading_error(path)


def test_sparse_beats_around_a_long_pause_are_read(tmp_path: Path) -> None:
    """24 beats in seconds around a two-hour gap: the beats' span is hundreds of times the sum of their RR
    intervals, but beat by beat the times and intervals agree."""
    rr = np.full(24, 800.0)
    t = np.cumsum(rr) / 1000.0
    t[12:] += 7200.0
    path = tmp_path / "pause.csv"
    write_recording(path, t, {"rr_ms": rr})
    assert len(read_recording(path)) == 24
    ms = tmp_path / "pause_ms.csv"
    write_recording(ms, np.round(t * 1000.0), {"rr_ms": rr}, time_format="%.0f")
    assert "milliseconds" in reading_error(ms)  # (here the span says so first)
