"""A time column in milliseconds that nothing declares (no '# sampling_rate_hz:'), or that a --rate 1000 times
its rate contradicts, is refused with one line saying so; no breathing recorded in seconds at about 1 Hz
(whole-second times) is refused or gets the hint: real recordings decimated to 1 Hz, slow breathing, a belt on
a drifting baseline, irregular noisy breathing, noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, reading_error

from breathsync.cli import main
from breathsync.io import read_recording, write_recording
from sample_signals import sample_path


def _ms_copy(tmp_path: Path, name: str = "biosppy_resp_1000hz.csv") -> Path:
    """A real 1000-Hz belt recording (60 s) with its times written in whole milliseconds and no declared rate,
    as the auditor's bio_ms.csv."""
    rec = read_recording(sample_path(name))
    path = tmp_path / "bio_ms.csv"
    write_recording(path, np.round(rec.time * 1000.0), {"resp": rec.columns["resp"]}, time_format="%.0f")
    return path


def test_a_real_belt_in_milliseconds_without_a_declared_rate_is_refused(tmp_path: Path) -> None:
    path = _ms_copy(tmp_path)
    message = reading_error(path)
    assert f"{path}:1:" in message  # the header, where the time column is
    assert "the time looks like milliseconds" in message and "divide the time column by 1000" in message


@pytest.mark.parametrize(("fs", "step"), [(1000.0, 1.0), (500.0, 2.0), (200.0, 5.0)])
def test_smooth_breathing_on_whole_millisecond_steps_is_refused(
    tmp_path: Path, fs: float, step: float
) -> None:
    n = int(fs * 90)
    t = np.arange(n) / fs
    y = np.sin(2 * np.pi * 0.25 * t) + 0.2 * np.sin(2 * np.pi * 0.03 * t)  # with a slow baseline
    path = tmp_path / "ms.csv"
    write_recording(path, np.arange(n) * step, {"resp": y}, time_format="%.0f")
    assert "the time looks like milliseconds" in reading_error(path)


def test_a_rate_1000_times_the_time_columns_is_refused(tmp_path: Path) -> None:
    """bio_ms.csv --rate 1000: it said '--rate 1000 ignored'. A --rate is as good a claim as a declared rate
    (here the undeclared rule would refuse the file too: the --rate line is the more specific one)."""
    path = _ms_copy(tmp_path)
    message = reading_error(path, rate_hz=1000.0)
    assert "--rate 1000 was given, but the file has a time column, which steps at 1 Hz" in message
    assert "milliseconds" in message and "divide the time column by 1000" in message


def test_a_rate_1000_times_a_noisy_millisecond_column_is_refused(tmp_path: Path) -> None:
    """Noise at every millisecond hides the slow curve, so only the --rate says it (before, 'ignored')."""
    fs = 1000.0
    n = int(fs * 60)
    y = np.sin(2 * np.pi * 0.25 * np.arange(n) / fs) + 0.1 * np.random.default_rng(2).standard_normal(n)
    path = tmp_path / "noisy_ms.csv"
    write_recording(path, np.arange(n, dtype=float), {"resp": y}, time_format="%.0f")
    assert "divide the time column by 1000" in reading_error(path, rate_hz=1000.0)
    # Without the --rate, refused too: its means over blocks of samples follow the slow curve (before, only a
    # hint among its notes).
    assert "divide the time column by 1000" in reading_error(path)


def test_analyze_refuses_it_in_one_line_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _ms_copy(tmp_path)
    for extra in ([], ["--rate", "1000"]):
        assert main(["analyze", str(path), *extra]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and "milliseconds" in err and "Traceback" not in err


def _one_hz(tmp_path: Path, name: str, y: np.ndarray, step: float = 1.0) -> Path:
    path = tmp_path / name
    write_recording(path, np.arange(y.size) * step, {"resp": y}, time_format="%.0f")
    return path


def _no_millis(path: Path) -> None:
    rec = read_recording(path)  # not refused
    assert not any("milliseconds" in note for note in rec.notes), rec.notes


@pytest.mark.parametrize(
    "source",
    [
        sample_path("biosppy_resp_1000hz.csv"),
        sample_path("nk_rest5_100hz.csv"),
        sample_path("pair_sync_A.csv"),
        SHARED_DATA / "icu_v102s_250hz.csv",
    ],
)
@pytest.mark.parametrize("how", ["every_nth", "block_mean"])
def test_real_recordings_at_1_hz_on_whole_seconds_are_read(tmp_path: Path, source: Path, how: str) -> None:
    rec = read_recording(source)
    k = round(rec.sampling_rate_hz() or 1.0)
    y = rec.columns["resp"]
    y = y[::k] if how == "every_nth" else y[: y.size // k * k].reshape(-1, k).mean(axis=1)
    _no_millis(_one_hz(tmp_path, "one_hz.csv", y))
    _no_millis(_one_hz(tmp_path, "half_hz.csv", y[::2], step=2.0))


def _drifting(rate_sd: float, noise: float, seed: int, hours: float = 8.0) -> np.ndarray:
    """A night at 1 Hz: breathing of amplitude 1 around 15/min (rate SD ``rate_sd``, changing every 10 s),
    the baseline jumping by about 10 breath amplitudes at a posture change every 30 min, and noise."""
    rng = np.random.default_rng(seed)
    n = int(hours * 3600)
    rate = np.clip(15 + rate_sd * rng.standard_normal(n // 10 + 1).repeat(10)[:n], 3, 50)
    posture = np.repeat(rng.normal(0, 10, n // 1800 + 1), 1800)[:n]
    return np.sin(np.cumsum(2 * np.pi * rate / 60)) + posture + noise * rng.standard_normal(n)


@pytest.mark.parametrize(("rate_sd", "noise"), [(0.0, 0.05), (4.0, 0.3), (8.0, 0.5)])
def test_a_1_hz_belt_on_a_drifting_baseline_is_read(tmp_path: Path, rate_sd: float, noise: float) -> None:
    """Its overall middle is crossed at posture changes only (as slowly as milliseconds' breathing), but its
    breaths turn within a few samples: neither refused nor hinted at."""
    _no_millis(_one_hz(tmp_path, "night.csv", _drifting(rate_sd, noise, seed=1)))


@pytest.mark.parametrize("bpm", [2.0, 3.0, 6.0])
def test_slow_breathing_at_1_hz_is_read(tmp_path: Path, bpm: float) -> None:
    t = np.arange(3600.0)
    y = np.sin(2 * np.pi * bpm / 60 * t) + 0.05 * np.random.default_rng(3).standard_normal(t.size)
    _no_millis(_one_hz(tmp_path, "slow.csv", y))


def test_noise_and_a_flat_belt_at_1_hz_are_read(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    _no_millis(_one_hz(tmp_path, "noise.csv", rng.standard_normal(3600)))
    flat = np.zeros(3600)
    flat[100] = 1.0
    _no_millis(_one_hz(tmp_path, "flat.csv", flat))


def test_irregular_times_are_not_whole_steps(tmp_path: Path) -> None:
    """Irregular sample times (a wireless belt's host stamps) are not a millisecond clock, however slow."""
    rng = np.random.default_rng(5)
    t = np.cumsum(rng.uniform(0.5, 1.5, 3600))
    y = np.sin(2 * np.pi * t / 3000)  # one slow swing per 50 min
    path = tmp_path / "irregular.csv"
    write_recording(path, t, {"resp": y})
    _no_millis(path)


def test_the_real_files_are_read_as_they_are() -> None:
    for path in [*sample_path("pair_sync_A.csv").parent.glob("*.csv"), *SHARED_DATA.glob("*.csv")]:
        _no_millis(path)


def test_a_matching_declared_rate_keeps_a_slow_1_hz_file(tmp_path: Path) -> None:
    """A file that declares the time column's own rate (1 Hz) is taken at its word: not refused."""
    t = np.arange(7200.0)
    path = tmp_path / "slow_1hz.csv"
    write_recording(
        path, t, {"resp": np.sin(2 * np.pi * t / 1000)}, {"sampling_rate_hz": "1"}, time_format="%.0f"
    )
    _no_millis(path)
