"""Mains hum on a belt whose time column is in milliseconds: the hum turns from sample to sample as breathing
sampled at 1 Hz does, so the belt read as a 1-Hz recording breathing 1000 times too slowly (no refusal, no
hint). The hum is a spectral line at 50 or 60 Hz in milliseconds, which breathing in seconds never is: the
belt's changes are judged without it, and it is refused. 1-Hz belts breathing at those frequencies (3 and
3.6/min read as seconds) are read as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import reading_error

from breathsync.io import read_recording, write_recording
from sample_signals import sample_path


def _hum(t: np.ndarray, hz: float, amplitude: float) -> np.ndarray:
    """Hum at ``hz`` with a third harmonic and a slowly varying amplitude (the body's coupling changes)."""
    envelope = amplitude * (1.0 + 0.3 * np.sin(2 * np.pi * 0.1 * t))
    return envelope * (np.sin(2 * np.pi * hz * t + 1.0) + 0.3 * np.sin(2 * np.pi * 3 * hz * t))


@pytest.mark.parametrize("hz", [50.0, 60.0, 50.15, 59.9])
@pytest.mark.parametrize("share", [0.05, 0.2])
def test_a_real_belt_in_milliseconds_with_hum_is_refused(tmp_path: Path, hz: float, share: float) -> None:
    rec = read_recording(sample_path("biosppy_resp_1000hz.csv"))  # 60 s at 1 kHz, 12-bit ADC counts
    t, y = rec.time, rec.columns["resp"]
    span = float(np.percentile(y, 99) - np.percentile(y, 1))
    path = tmp_path / "hum_ms.csv"
    write_recording(
        path, 7_000 + np.round(t * 1000.0), {"resp": y + _hum(t, hz, share * span)}, time_format="%.0f"
    )
    message = reading_error(path)
    assert message.startswith(f"{path}:1: ") and "steps by whole numbers (1)" in message
    assert "the time looks like milliseconds" in message and "divide the time column by 1000" in message


@pytest.mark.parametrize(("fs", "step"), [(1000.0, 1.0), (500.0, 2.0), (250.0, 4.0)])
@pytest.mark.parametrize("hz", [50.0, 60.0])
def test_a_clean_belt_with_hum_alone_is_refused(tmp_path: Path, fs: float, step: float, hz: float) -> None:
    """No broadband noise: the hum alone rules the sample-to-sample changes."""
    n = int(fs * 60)
    t = np.arange(n) / fs
    y = np.sin(2 * np.pi * 0.25 * t) + 0.05 * np.sin(2 * np.pi * 0.02 * t) + 0.1 * np.sin(2 * np.pi * hz * t)
    path = tmp_path / "clean_hum.csv"
    write_recording(path, 12_000 + np.arange(n) * step, {"resp": y}, time_format="%.0f")
    assert "the time looks like milliseconds" in reading_error(path)


@pytest.mark.parametrize("hz", [50.0, 60.0])
def test_a_256_hz_belt_in_fractional_milliseconds_with_hum_is_refused(tmp_path: Path, hz: float) -> None:
    rec = read_recording(sample_path("biosppy_resp_1000hz.csv"))
    t = np.arange(0.0, 60.0, 1 / 256)
    y = np.interp(t, rec.time, rec.columns["resp"])
    path = tmp_path / "hum_256.csv"
    write_recording(path, t * 1000.0, {"resp": y + _hum(t, hz, 0.05 * float(np.ptp(y)))}, time_format="%.3f")
    message = reading_error(path)
    assert "steps by 3.906" in message and "the time looks like milliseconds" in message


@pytest.mark.parametrize("bpm", [3.0, 3.6, 6.0, 7.2])
@pytest.mark.parametrize("baseline", ["wandering", "jumps"])
def test_1_hz_belts_breathing_at_the_mains_frequencies_are_read(
    tmp_path: Path, bpm: float, baseline: str
) -> None:
    """Read as milliseconds, a 1-Hz belt breathing at 3/min is at 50 Hz (3.6/min: 60 Hz; 6 and 7.2/min their
    second harmonics). Eight hours of it, its rate varying a little from breath to breath as people's does,
    on a slowly wandering baseline (crossed as seldom as a breath in milliseconds) or one that jumps at
    posture changes: no line is found at those frequencies, and the file is read. (The one at 3/min with
    jumps has a hint about milliseconds among its notes, as before this change: its jumps hide how its breaths
    turn at lags up to 10 samples.)"""
    rng = np.random.default_rng(11)
    n = 8 * 3600
    t = np.arange(n, dtype=float)
    rate = np.clip(bpm + 0.3 * rng.standard_normal(n // 10 + 1).repeat(10)[:n], 1.0, 50.0)
    if baseline == "wandering":
        level = 10 * np.sin(2 * np.pi * t / 5000) + 5 * np.sin(2 * np.pi * t / 1300)
    else:
        level = np.repeat(rng.normal(0, 10, n // 1800 + 1), 1800)[:n]
    y = np.sin(np.cumsum(2 * np.pi * rate / 60)) + level + 0.05 * rng.standard_normal(n)
    from breathsync.io._time_units import _mains_free_change_acf  # (the line finder this file is about)

    assert _mains_free_change_acf(y, 1.0, 10) is None
    path = tmp_path / "night.csv"
    write_recording(path, 1.7e9 + t, {"resp": y}, time_format="%.0f")  # a host clock's Unix seconds
    rec = read_recording(path)  # not refused
    assert len(rec) == n
    if baseline == "wandering":
        assert not any("milliseconds" in note for note in rec.notes), rec.notes
