"""The offline band-pass's lower edge follows slow breathing: at 0.05 Hz (3/min) it took most of a slow
breath away, so the breath amplitude was underestimated and small wobbles counted as breaths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from breathsync.dsp.offline import offline_breathing
from breathsync.io import read_recording


@pytest.fixture
def belt(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    rec = read_recording(shared_data / "nk_rest5_100hz.csv")
    return rec.time - rec.time[0], rec.columns["resp"]


def test_a_real_belt_slowed_to_3_per_minute_keeps_its_breaths(belt: tuple[np.ndarray, np.ndarray]) -> None:
    t, y = belt
    base = offline_breathing(t, y)
    assert base.band_hz == (0.05, 0.8)  # 16/min: the reference band, as before
    slow = offline_breathing(5.0 * t, y)  # the same breaths, five times slower: 3.3/min
    assert 0.02 < slow.band_hz[0] < 0.035, slow.band_hz  # half the breathing frequency
    n0, n = base.onsets_s.size, slow.onsets_s.size
    assert abs(n - n0) <= 0.1 * n0, (n, n0)  # 102 for 82 with the fixed band
    # The breaths found are the slowed ones: each within a second and a half (5 x 0.3 s) of one.
    near = np.min(np.abs(slow.onsets_s[:, None] - 5.0 * base.onsets_s[None, :]), axis=1)
    assert np.mean(near <= 1.5) >= 0.8  # 0.85 (0.59 with the fixed band)


@pytest.mark.parametrize("hz", [0.01, 0.02, 0.03])
def test_baseline_drift_does_not_move_the_band(belt: tuple[np.ndarray, np.ndarray], hz: float) -> None:
    """Drift three times the breath's size at 0.01-0.03 Hz under breathing at 16/min: the breathing
    frequency is measured after the band-pass, whose roll-off keeps the drift under the breathing."""
    t, y = belt
    drift = 3.0 * np.std(y) * np.sin(2 * np.pi * hz * t)
    res = offline_breathing(t, y + drift)
    assert res.band_hz == (0.05, 0.8)
    assert abs(res.onsets_s.size - offline_breathing(t, y).onsets_s.size) <= 2


def test_slow_artefacts_at_a_normal_rate_do_not_move_the_band(belt: tuple[np.ndarray, np.ndarray]) -> None:
    """Four large 6-s movements in 5 min of breathing at 16/min put the spectrum's peak at 4/min (a real
    recording, Systole's at 19/min, peaks at 4.7/min); its median frequency (8.5/min) says the breathing
    is not slow, and the band stays (with the peak deciding, its lower edge went to 0.034 Hz)."""
    t, y = belt
    bumps = sum(4.0 * np.std(y) * np.exp(-0.5 * ((t - c) / (6.0 / 2.355)) ** 2) for c in (40, 110, 180, 250))
    res = offline_breathing(t, y + bumps)
    assert res.band_hz == (0.05, 0.8)
