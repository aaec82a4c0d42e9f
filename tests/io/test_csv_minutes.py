"""A time column in minutes: refused when a declared rate or --rate is 60 times slower than the time column's
and the breathing swings 60 times too fast on it; a hint among the notes (analyze's warnings) when nothing
declares a rate. Recordings in seconds get neither."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from breathsync.cli import main
from breathsync.errors import RecordingError
from breathsync.io import read_recording, write_recording
from sample_signals import sample_path

HINT = "if the time is in minutes, multiply the time column by 60"


def _minutes(tmp_path: Path, who: str, meta: dict[str, str] | None = None) -> Path:
    """A shipped 25-Hz pair recording (300 s) with its time column divided by 60 (in minutes)."""
    rec = read_recording(sample_path(f"pair_sync_{who}.csv"))
    path = tmp_path / f"min_{who}.csv"
    write_recording(path, rec.time / 60.0, {"resp": rec.columns["resp"]}, meta, time_format="%.9f")
    return path


def _has_no_minutes(path: Path) -> None:
    rec = read_recording(path)
    assert not any("minute" in note for note in rec.notes), rec.notes


def test_minutes_with_nothing_declared_get_a_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The auditor's pair with time/60: '5 s, 1 breaths' and no word about minutes."""
    a, b = _minutes(tmp_path, "A"), _minutes(tmp_path, "B")
    notes = read_recording(a).notes
    assert any(HINT in n and "swings 9" in n and "times a minute" in n for n in notes), notes
    assert main(["analyze", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert out.count(HINT) == 2  # a warning line for each file


@pytest.mark.parametrize("how", ["declared", "--rate"])
def test_a_rate_60_times_slower_than_the_time_column_is_refused(
    tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if how == "declared":
        path = _minutes(tmp_path, "A", {"sampling_rate_hz": "25"})
        args = ["analyze", str(path)]
    else:
        path = _minutes(tmp_path, "A")
        args = ["analyze", str(path), "--rate", "25"]
    with pytest.raises(RecordingError) as info:
        read_recording(path, 25.0 if how == "--rate" else None)
    message = str(info.value)
    assert "steps at 1500 Hz (60 times faster): the time is in minutes" in message
    assert "multiply the time column by 60" in message
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "minutes" in err


def test_a_declared_rate_60_times_slower_over_seconds_is_only_the_mismatch_note(tmp_path: Path) -> None:
    """A file at 1500 Hz in seconds that says 25 Hz (a line left from before resampling): its breathing is
    breathing in seconds, so the mismatch is a note, as any wrong declared rate."""
    fs = 1500.0
    t = np.arange(int(fs * 60)) / fs
    path = tmp_path / "resampled.csv"
    y = np.sin(2 * np.pi * 0.25 * t)
    write_recording(path, t, {"resp": y}, {"sampling_rate_hz": "25"}, time_format="%.9f")
    rec = read_recording(path)
    assert any("sampling_rate_hz: 25, but its time column is at 1500 Hz" in n for n in rec.notes)
    assert not any("minute" in n for n in rec.notes)


def test_the_real_files_get_no_minutes_hint() -> None:
    for path in [*sample_path("pair_sync_A.csv").parent.glob("*.csv"), *SHARED_DATA.glob("*.csv")]:
        _has_no_minutes(path)


@pytest.mark.parametrize("bpm", [40.0, 60.0, 90.0])
def test_fast_breathing_in_seconds_gets_no_hint(tmp_path: Path, bpm: float) -> None:
    """A newborn's or a panting breath (up to 90/min) at 100 Hz is far from the 180/min of the rule."""
    t = np.arange(0, 120, 0.01)
    path = tmp_path / "fast.csv"
    y = np.sin(2 * np.pi * bpm / 60 * t) + 0.05 * np.random.default_rng(1).standard_normal(t.size)
    write_recording(path, t, {"resp": y})
    _has_no_minutes(path)


def test_noise_at_1_khz_gets_no_hint(tmp_path: Path) -> None:
    """A belt that is off, sampled at 1 kHz: its noise crosses the middle every few samples, no smooth curve."""
    t = np.arange(0, 60, 0.001)
    path = tmp_path / "noise.csv"
    write_recording(path, t, {"resp": np.random.default_rng(2).standard_normal(t.size)})
    _has_no_minutes(path)


def test_a_declared_rate_that_agrees_with_the_time_column_gets_no_hint(tmp_path: Path) -> None:
    """The writer's own rate agrees with the time column: it is taken at its word (a 1500-Hz file whose
    waveform swings fast is not breathing, but not minutes either)."""
    t = np.arange(0, 5, 1 / 1500)
    path = tmp_path / "hum.csv"
    write_recording(path, t, {"resp": np.sin(2 * np.pi * 15 * t)}, {"sampling_rate_hz": "1500"})
    _has_no_minutes(path)
