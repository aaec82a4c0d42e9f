"""A time column in milliseconds whose steps are not whole (a 256-Hz export: 3.906 ms) was read as seconds: a
0.256-Hz recording breathing 1000 times too slowly, with only a "sampled at 0.256 Hz" warning. It is refused
as whole milliseconds are; genuine slow files in seconds (0.4-4 Hz belts, host times with jitter, RR
intervals) are read as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, reading_error

from breathsync.cli import main
from breathsync.io import read_recording, write_recording
from sample_signals import sample_path


def _belt_at(fs: float, seconds: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    """The real 1000-Hz belt (BioSPPy, 60 s) resampled at ``fs``: its times in seconds and its values."""
    rec = read_recording(sample_path("biosppy_resp_1000hz.csv"))
    t = np.arange(0.0, min(seconds, float(rec.time[-1])), 1.0 / fs)
    return t, np.interp(t, rec.time, rec.columns["resp"])


def _no_millis(path: Path) -> None:
    rec = read_recording(path)  # not refused
    assert not any("milliseconds" in note for note in rec.notes), rec.notes


@pytest.mark.parametrize(
    ("fs", "time_format", "step"),
    [
        (256.0, "%.3f", "3.906"),  # the audit's export
        (256.0, "%.2f", "3.91"),
        (256.0, "%.1f", "3.9"),
        (512.0, "%.3f", "1.953"),
        (300.0, "%.4f", "3.333"),
    ],
)
def test_a_belt_in_fractional_milliseconds_is_refused(
    tmp_path: Path, fs: float, time_format: str, step: str
) -> None:
    t, y = _belt_at(fs)
    path = tmp_path / "ms256.csv"
    write_recording(path, 5_000.0 + t * 1000.0, {"resp": y}, time_format=time_format)  # not from 0
    message = reading_error(path)
    assert message.startswith(f"{path}:1: ")  # the header, where the time column is
    assert f"its time column steps by {step} and, read as seconds," in message
    assert "the time looks like milliseconds" in message and "divide the time column by 1000" in message


def test_analyze_refuses_it_in_one_line_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t, y = _belt_at(256.0)
    path = tmp_path / "ms256.csv"
    write_recording(path, t * 1000.0, {"resp": y}, time_format="%.3f")
    assert main(["analyze", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "(3.906 ms: 256 Hz)" in err and "Traceback" not in err
    # What it says works: divided by 1000, the file is read at 256 Hz.
    fixed = tmp_path / "s256.csv"
    write_recording(fixed, t, {"resp": y}, time_format="%.6f")
    assert read_recording(fixed).sampling_rate_hz() == pytest.approx(256.0, rel=1e-3)


def test_an_accelerometer_declared_at_256_hz_on_fractional_milliseconds_is_refused(tmp_path: Path) -> None:
    """A declared rate 1000 times the time column's was taken as milliseconds for other signals only on
    whole-number steps."""
    fs = 256.0
    t = np.arange(int(fs * 60)) / fs
    acc = {
        "acc_x": 5 * np.sin(2 * np.pi * 0.25 * t),
        "acc_y": np.full(t.size, 3.0),
        "acc_z": np.full(t.size, 990.0),
    }
    path = tmp_path / "acc.csv"
    write_recording(path, t * 1000.0, acc, {"sampling_rate_hz": "256"}, time_format="%.3f")
    message = reading_error(path)
    assert "the time is in milliseconds" in message and "divide the time column by 1000" in message


@pytest.mark.parametrize("step_s", [1.25, 1.5, 2.5])
@pytest.mark.parametrize(
    "source",
    [
        sample_path("biosppy_resp_1000hz.csv"),
        sample_path("nk_rest5_100hz.csv"),
        SHARED_DATA / "icu_v102s_250hz.csv",
    ],
)
def test_real_belts_on_a_slow_fractional_grid_in_seconds_are_read(
    tmp_path: Path, source: Path, step_s: float
) -> None:
    """0.4-0.8 Hz copies of the real belts: breathing turns from sample to sample."""
    rec = read_recording(source)
    t = np.arange(float(rec.time[0]), float(rec.time[-1]), step_s)
    path = tmp_path / "slow.csv"
    write_recording(path, t, {"resp": np.interp(t, rec.time, rec.columns["resp"])}, time_format="%.3f")
    _no_millis(path)


def _night(n: int, step_s: float, rate_sd: float, noise: float, seed: int = 1) -> np.ndarray:
    """A night of a belt sampled every ``step_s`` s: breathing around 15/min, a posture change every 30 min
    that moves the baseline by about 10 breaths' amplitude, and noise."""
    rng = np.random.default_rng(seed)
    rate = np.clip(15 + rate_sd * rng.standard_normal(n // 10 + 1).repeat(10)[:n], 3, 50)
    per_posture = int(1800 / step_s)
    posture = np.repeat(rng.normal(0, 10, n // per_posture + 1), per_posture)[:n]
    return np.sin(np.cumsum(2 * np.pi * rate / 60 * step_s)) + posture + noise * rng.standard_normal(n)


@pytest.mark.parametrize(("rate_sd", "noise"), [(0.0, 0.05), (4.0, 0.3), (8.0, 0.5)])
def test_a_slow_night_on_a_fractional_grid_is_read(tmp_path: Path, rate_sd: float, noise: float) -> None:
    step_s = 1.25
    n = int(8 * 3600 / step_s)
    path = tmp_path / "night.csv"
    write_recording(
        path, np.arange(n) * step_s, {"resp": _night(n, step_s, rate_sd, noise)}, time_format="%.2f"
    )
    _no_millis(path)


def test_low_rate_and_beat_files_in_seconds_are_read(tmp_path: Path) -> None:
    """A belt at 1, 2 and 4 Hz on host times with jitter, a series of slow beats (RR about 1.2 s) and the real
    Polar H10 beats: none refused or hinted at."""
    icu = read_recording(SHARED_DATA / "icu_v102s_250hz.csv")
    rng = np.random.default_rng(3)
    for fs in (1.0, 2.0, 4.0):
        t = np.cumsum(np.full(int(fs * 300), 1.0 / fs) * (1 + 0.02 * rng.standard_normal(int(fs * 300))))
        path = tmp_path / f"host_{fs:g}hz.csv"
        write_recording(path, t, {"resp": np.interp(t, icu.time, icu.columns["resp"])}, time_format="%.3f")
        _no_millis(path)
    rr = 1200.0 + 40 * np.sin(np.arange(500) / 3)
    beats = tmp_path / "beats.csv"
    write_recording(beats, np.cumsum(rr) / 1000.0, {"rr_ms": rr}, time_format="%.3f")
    _no_millis(beats)
    _no_millis(SHARED_DATA / "polar_h10_rr.csv")
