"""The offline band-pass's upper edge follows fast breathing (children, exercise: 30-70/min): at 0.8 Hz
(48/min) it took most of a faster breath away, the spectrum under it then said slow (the lower edge went
down to 0.016 Hz), half the breaths at 60/min were lost and the rate read half at 70/min (onsets were
kept 1 s apart); the phase was 30 deg off at 50/min."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from breathsync.dsp.offline import offline_breathing
from breathsync.io import read_recording

FS = 50.0  # input sampling rate (Hz)


def _breaths(
    bpm: float, seconds: float, seed: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Regular breaths (inhale 45% of each, raised-cosine halves) with white noise of 1% of a breath: time,
    signal, true phase (0 at each onset, pi at each peak) and the true onsets."""
    n_half = round(0.45 * FS * 60.0 / bpm), round(0.55 * FS * 60.0 / bpm)
    ys, ph, onsets, k = [], [], [], 0
    while k + sum(n_half) <= seconds * FS:
        onsets.append(k / FS)
        for j, (m, lo) in enumerate(zip(n_half, (0.0, 1.0), strict=True)):
            u = np.arange(m) / m
            ys.append(np.abs(lo - (1.0 - np.cos(np.pi * u)) / 2.0))
            ph.append(np.pi * (j + u))
        k += sum(n_half)
    y = np.concatenate(ys)
    y = y + 0.01 * np.random.default_rng(seed).standard_normal(y.size)
    return np.arange(y.size) / FS, y, np.concatenate(ph), np.array(onsets)


@pytest.mark.parametrize("bpm", [50, 60, 70])
def test_fast_breathing_keeps_its_breaths_rate_and_phase(bpm: int) -> None:
    t, y, true_ph, onsets = _breaths(bpm, 120.0)
    res = offline_breathing(t, y)
    # Every breath found, each within an eighth of a breath of a true onset (at 60/min: 99 of 120; at
    # 70/min: 49 of 139).
    period = 60.0 / bpm
    near = np.min(np.abs(res.onsets_s[:, None] - onsets[None, :]), axis=1) <= period / 8.0
    assert near.all() and res.onsets_s.size >= onsets.size - 2, (res.onsets_s.size, onsets.size)
    assert abs(np.nanmedian(res.rate_bpm) - bpm) < 0.03 * bpm  # 34.3 at 70/min
    assert np.mean(res.quality == 0) > 0.95  # 84% at 60/min, 76% at 70/min
    # The phase: mean absolute error against the truth under 15 deg (30-36 deg).
    at = np.interp(res.t, t, np.unwrap(true_ph))
    ok = np.isfinite(res.phase) & (res.t > 5.0) & (res.t < t[-1] - 5.0)
    err = np.degrees(np.abs(np.angle(np.exp(1j * (res.phase[ok] - at[ok])))))
    assert err.mean() < 15.0, err.mean()
    assert res.band_hz[0] == 0.05  # the slow rule no longer fires (it took the lower edge to 0.016 Hz)
    assert 0.8 < res.band_hz[1] <= 2.0, res.band_hz


def test_breathing_at_30_per_minute_widens_the_band() -> None:
    """A child at 30/min (0.5 Hz, a spectrum whose median is above half the 0.8-Hz edge): the upper edge
    goes to twice its frequency."""
    t, y, _, onsets = _breaths(30, 120.0)
    res = offline_breathing(t, y)
    assert 0.95 < res.band_hz[1] < 1.2, res.band_hz
    assert abs(res.onsets_s.size - onsets.size) <= 1


@pytest.mark.parametrize("ripple", [0.02, 0.5])
def test_a_heart_ripple_at_a_normal_rate_keeps_the_band(ripple: float) -> None:
    """A belt at 15/min carrying a 1.2-Hz cardiac ripple (72/min, where fast breathing would be) of 2% of
    a breath, and of 50% (a ripple as large as the breath from top to bottom): most of the power is the
    breathing's, the median frequency stays at the breathing, and so does the band."""
    t, y, _, onsets = _breaths(15, 300.0)
    res = offline_breathing(t, y + ripple * np.sin(2 * np.pi * 1.2 * t + 0.3))
    assert res.band_hz == (0.05, 0.8)
    assert abs(res.onsets_s.size - onsets.size) <= 1


def test_slow_breathing_is_not_taken_for_fast() -> None:
    """Breathing at 2/min with a small heart ripple: above 0.1 Hz its spectrum holds only the breath's
    harmonics and the heart, whose median is fast; the whole spectrum's median (slow) says it is not
    fast, and the slow rule moves the lower edge as before (with the upper edge moved to 2 Hz: 34 onsets
    for 14 breaths)."""
    t, y, _, onsets = _breaths(2, 420.0)
    res = offline_breathing(t, y + 0.015 * np.sin(2 * np.pi * 1.1 * t))
    assert res.band_hz[1] == 0.8 and res.band_hz[0] < 0.05, res.band_hz
    assert abs(res.onsets_s.size - onsets.size) <= 1


@pytest.fixture
def belt(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    rec = read_recording(shared_data / "nk_rest5_100hz.csv")
    return rec.time - rec.time[0], rec.columns["resp"]


def test_a_real_belt_sped_up_to_50_per_minute_keeps_its_breaths(belt: tuple[np.ndarray, np.ndarray]) -> None:
    """The real belt (16/min) three times faster, its slow movements too (at 4/min, under the breathing's
    spectrum only above 0.1 Hz, where the fast rule reads it): 80 of its 82 breaths (68), 88% of them
    within 0.1 s of one (46%)."""
    t, y = belt
    base = offline_breathing(t, y)
    assert base.band_hz == (0.05, 0.8)  # 16/min: the reference band, as before
    fast = offline_breathing(t / 3.0, y)
    n0, n = base.onsets_s.size, fast.onsets_s.size
    assert abs(n - n0) <= 0.1 * n0, (n, n0)
    near = np.min(np.abs(fast.onsets_s[:, None] - base.onsets_s[None, :] / 3.0), axis=1)
    assert np.mean(near <= 0.1) >= 0.8
    assert fast.band_hz[1] > 1.2, fast.band_hz


@pytest.mark.parametrize(
    ("bpm", "ripple", "f_hz"),
    [(12, 0.6, 1.0), (15, 0.6, 1.2), (20, 0.6, 1.0), (20, 0.6, 1.2), (15, 0.8, 1.5)],
)
def test_a_large_heart_ripple_above_the_band_keeps_it(bpm: int, ripple: float, f_hz: float) -> None:
    """A ripple at 1-1.5 Hz a little larger than the breath from top to bottom puts the spectrum's median
    above 0.4 Hz, but the band's own breaths are at 12-20/min: the band stays (it was moved to 2 Hz: 300-450
    onsets for 60-99 breaths, a rate of 57-92/min)."""
    t, y, _, onsets = _breaths(bpm, 300.0)
    res = offline_breathing(t, y + ripple * np.sin(2 * np.pi * f_hz * t))
    assert res.band_hz == (0.05, 0.8), res.band_hz
    assert abs(res.onsets_s.size - onsets.size) <= 1, (res.onsets_s.size, onsets.size)
    assert abs(np.nanmedian(res.rate_bpm) - bpm) < 0.1 * bpm


def test_walking_keeps_the_band() -> None:
    """20/min while walking (sway at 0.9 Hz, steps at 1.8 Hz, each a sine of half a breath): 98 of 99
    breaths, as before the fast rule (287 onsets with it, at 54/min)."""
    t, y, _, onsets = _breaths(20, 300.0)
    walk = 0.5 * np.sin(2 * np.pi * 0.9 * t) + 0.5 * np.sin(2 * np.pi * 1.8 * t)
    res = offline_breathing(t, y + walk)
    assert res.band_hz == (0.05, 0.8), res.band_hz
    assert abs(res.onsets_s.size - onsets.size) <= 1, (res.onsets_s.size, onsets.size)


@pytest.mark.parametrize("size", [2.0, 3.0])
def test_movement_bursts_keep_the_band(size: float) -> None:
    """15/min with bursts of 0.5-3 Hz movement (8 s every 40 s, 2-3 x a breath's size): the band stays,
    every breath outside them is found, and few onsets more than breaths (some 190 for 150, as before the
    fast rule; with it the band went to 1.6-2 Hz, and 250-290)."""
    from scipy import signal

    t, y, _, onsets = _breaths(15, 600.0)
    sos = signal.butter(2, (0.5, 3.0), "bandpass", fs=FS, output="sos")
    noise = signal.sosfilt(sos, np.random.default_rng(1).standard_normal(t.size))
    res = offline_breathing(t, y + size * ((t % 40.0) < 8.0) * noise / noise.std())
    assert res.band_hz == (0.05, 0.8), res.band_hz
    assert res.onsets_s.size < 1.35 * onsets.size, (res.onsets_s.size, onsets.size)
    quiet = onsets[(onsets % 40.0) >= 9.0]  # every breath away from the bursts is found
    assert (np.min(np.abs(quiet[:, None] - res.onsets_s[None, :]), axis=1) <= 0.5).all()


def test_a_callers_band_is_left_alone() -> None:
    """The fast rule applies to the default band only: a caller's band is kept (0.05-0.3 Hz went to
    0.05-0.498), and so is the onsets' 1-s spacing (0.53 s for a caller's 1.5-Hz edge: a heart ripple's
    troughs became onsets, 150 for 75 breaths)."""
    t, y, _, onsets = _breaths(15, 300.0)
    kept = offline_breathing(t, y, band_hz=(0.05, 0.3))
    assert kept.band_hz == (0.05, 0.3)
    assert abs(kept.onsets_s.size - onsets.size) <= 1
    res = offline_breathing(t, y + 0.3 * np.sin(2 * np.pi * 1.2 * t), band_hz=(0.05, 1.5))
    assert res.band_hz == (0.05, 1.5)
    assert np.diff(res.onsets_s).min() >= 1.0 - 1e-9, np.diff(res.onsets_s).min()
