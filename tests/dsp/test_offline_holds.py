"""Offline breath holds are found on the raw signal: the band-pass makes a slow half breath of the step into a
hold, so its amplitude and its turning points said "no breathing" only seconds into the hold (a 40-s hold
at full exhale read as an inhale for its first 7 s, and a third to a half of every hold had a phase)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from breathsync.dsp.offline import offline_breathing
from breathsync.dsp.pipeline import Quality
from breathsync.io import read_recording

FS = 100.0
SAMPLES = Path(__file__).resolve().parents[2] / "sample_signals"


def _half(n: int, start: float, rise: float) -> np.ndarray:
    """A raised-cosine half breath of ``n`` samples from ``start``, by ``rise`` (negative: an exhale)."""
    return start + rise * (1 - np.cos(np.pi * np.arange(n) / n)) / 2


def _breaths(seconds: float, period: float = 4.0, start: float = 0.0) -> np.ndarray:
    """Breaths of amplitude 1 from the trough level ``start``: inhale 42% of the period, exhale the rest."""
    ni, ne = round(0.42 * period * FS), round(0.58 * period * FS)
    one = np.concatenate((_half(ni, start, 1.0), _half(ne, start + 1.0, -1.0)))
    return np.tile(one, int(seconds // period))


def _noisy(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Times, and ``y`` with belt noise: 1% white, a 1.5% cardiac ripple at 1.1 Hz."""
    t = np.arange(y.size) / FS
    rng = np.random.default_rng(seed)
    return t, y + 0.01 * rng.standard_normal(y.size) + 0.015 * np.sin(2 * np.pi * 1.1 * t + 0.3)


def _exhale_hold(hold_s: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """60 s at 15/min, a hold at full exhale (from 60 s), 60 s at 15/min."""
    return _noisy(np.concatenate((_breaths(60), np.zeros(round(hold_s * FS)), _breaths(60))), seed)


def _inhale_hold(hold_s: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """60 s at 15/min, an inhale (1.7 s) held at full inhale from 61.7 s, sagging by 5% of a breath, the
    exhale (2.3 s), 60 s at 15/min."""
    n = round(hold_s * FS)
    y = np.concatenate(
        (
            _breaths(60),
            _half(170, 0.0, 1.0),
            1.0 - 0.05 * np.arange(n) / n,
            _half(230, 0.95, -0.95),
            _breaths(60),
        )
    )
    return _noisy(y, seed)


def _in(r_t: np.ndarray, a: float, b: float) -> np.ndarray:
    return (r_t >= a) & (r_t < b)


@pytest.mark.parametrize("hold_s", [20.0, 40.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_hold_at_full_exhale_has_no_phase_and_no_breath(hold_s: float, seed: int) -> None:
    t, y = _exhale_hold(hold_s, seed)
    r = offline_breathing(t, y)
    hold = _in(r.t, 60.0, 60.0 + hold_s)
    assert np.isnan(r.phase[hold]).mean() >= 0.97  # was 0.51 (20 s) and 0.67 (40 s)
    # Its first seconds are no inhale (the phase ran 317 -> 76 degrees over the first 7 s of a 40-s hold).
    assert np.isnan(r.phase[_in(r.t, 60.5, 67.0)]).all()
    assert (r.quality[_in(r.t, 60.5, 59.5 + hold_s)] == Quality.NO_BREATHING).all()
    # The trough where the exhale ends starts no breath (it was counted); the inhale after the hold does.
    assert not ((r.onsets_s > 58.5) & (r.onsets_s < 59.5 + hold_s)).any()
    assert np.min(np.abs(r.onsets_s - (60.0 + hold_s))) < 0.3
    # The breathing around it keeps its phase, and every rate is a 15/min breath.
    assert np.isfinite(r.phase[_in(r.t, 5.0, 59.5) | _in(r.t, 60.5 + hold_s, 55.0 + hold_s + 60)]).all()
    rates = r.rate_bpm[np.isfinite(r.rate_bpm)]
    assert rates.min() > 14.0 and rates.max() < 16.0
    assert np.isfinite(r.rate_bpm[_in(r.t, 56.5, 59.5)]).all()  # the last breath before the hold has one


@pytest.mark.parametrize("hold_s", [20.0, 40.0])
def test_a_hold_at_full_inhale_has_no_phase(hold_s: float) -> None:
    t, y = _inhale_hold(hold_s)
    r = offline_breathing(t, y)
    start, end = 61.7, 61.7 + hold_s
    assert np.isnan(r.phase[_in(r.t, start, end)]).mean() >= 0.97  # was 0.49 (20 s) and 0.34 (40 s)
    assert (r.quality[_in(r.t, start + 0.5, end - 0.5)] == Quality.NO_BREATHING).all()
    assert not ((r.onsets_s > start) & (r.onsets_s < end + 1.0)).any()
    # The inhale before it and the exhale after it are breathing.
    assert np.isfinite(r.phase[_in(r.t, start - 1.5, start - 0.2) | _in(r.t, end + 0.5, end + 2.0)]).all()


def test_a_hold_spliced_into_a_real_belt_at_a_peak_has_no_phase() -> None:
    """nk_rest5 held for 30 s at the top of a breath (2% cardiac ripple, 0.5% noise): half of the hold had a
    phase; the rest of the recording keeps the phase it had."""
    rec = read_recording(str(SAMPLES / "nk_rest5_100hz.csv"))
    t, y = rec.time - rec.time[0], rec.columns["resp"]
    fs = 1.0 / float(np.median(np.diff(t)))
    base = offline_breathing(t, y)
    i0 = int(np.searchsorted(t, 120.0))
    j = i0 + int(np.argmax(y[i0 : i0 + round(5 * fs)]))
    size = float(np.nanpercentile(base.clean, 95) - np.nanpercentile(base.clean, 5))
    th = np.arange(round(30 * fs)) / fs
    rng = np.random.default_rng(0)
    hold = y[j] + 0.02 * size * np.sin(2 * np.pi * 1.2 * th) + 0.005 * size * rng.standard_normal(th.size)
    y2 = np.concatenate((y[:j], hold, y[j:]))
    r = offline_breathing(np.arange(y2.size) / fs, y2)
    t0 = float(t[j])
    assert np.isnan(r.phase[_in(r.t, t0, t0 + 30.0)]).mean() >= 0.95  # was 0.48
    assert not ((r.onsets_s > t0 + 0.5) & (r.onsets_s < t0 + 29.5)).any()
    # Away from the hold, the same breaths as without it.
    before = base.onsets_s[base.onsets_s < t0 - 10]
    after = base.onsets_s[base.onsets_s > t0 + 10] + 30.0
    assert np.array_equal(r.onsets_s[r.onsets_s < t0 - 10], before)
    assert np.allclose(r.onsets_s[r.onsets_s > t0 + 40], after[after > t0 + 40], atol=0.06)


@pytest.mark.parametrize("pattern", [(4, 4, 4, 4), (5, 5, 5, 5), (4, 4, 6, 2)])
def test_the_holds_of_paced_breathing_are_breathing(pattern: tuple[int, int, int, int]) -> None:
    """Box breathing (in, hold, out, hold), each cycle 5% longer or shorter at random: its holds (up to
    5.25 s, with the slow ends of the inhale and the exhale beside them) are part of the breath, not a
    pause (10 s or more)."""
    seed = sum(pattern)
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    while sum(p.size for p in parts) < 400 * FS:
        k = 1.0 + rng.uniform(-0.05, 0.05)
        i, hi, e, he = (round(s * k * FS) for s in pattern)
        parts += [_half(i, 0.0, 1.0), np.ones(hi), _half(e, 1.0, -1.0), np.zeros(he)]
    t = np.arange(sum(p.size for p in parts)) / FS
    y = np.concatenate(parts) + 0.005 * rng.standard_normal(t.size)
    r = offline_breathing(t, y)
    assert (r.quality == Quality.OK).all()


def test_a_hold_under_10_s_is_breathing() -> None:
    t, y = _exhale_hold(8.0)
    r = offline_breathing(t, y)
    assert (r.quality == Quality.OK).all()
