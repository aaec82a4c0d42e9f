"""The offline path replaces spikes (a corrupt sample from a device, a byte error) before anything else:
30 one-sample glitches of 10 to 200 breath amplitudes in a 50-Hz belt made 5 to 19 phantom breaths and
moved the phase by up to 55 degrees, where the live path's guard rejected them all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from breathsync.dsp.offline import offline_breathing
from breathsync.dsp.pipeline import Quality
from breathsync.io import read_recording

FS = 50.0
SAMPLES = Path(__file__).resolve().parents[2] / "sample_signals"


def _belt(seconds: float = 240.0, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """15/min breathing of amplitude 1 (a raised-cosine inhale of 42%, the exhale), with belt noise."""
    t = np.arange(round(seconds * FS)) / FS
    u = np.mod(t, 4.0) / 4.0
    y = np.where(u < 0.42, (1 - np.cos(np.pi * u / 0.42)) / 2, (1 + np.cos(np.pi * (u - 0.42) / 0.58)) / 2)
    rng = np.random.default_rng(seed)
    return t, y + 0.01 * rng.standard_normal(t.size) + 0.02 * np.sin(2 * np.pi * 1.1 * t + 0.3)


def _circ_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.abs(np.angle(np.exp(1j * (a - b)))))


@pytest.mark.parametrize("size", [10.0, 50.0, 200.0])
def test_one_sample_glitches_make_no_breaths(size: float) -> None:
    t, y = _belt()
    clean = offline_breathing(t, y)
    rng = np.random.default_rng(5)
    at = rng.choice(np.arange(2500, t.size), 30, replace=False)
    glitched = y.copy()
    glitched[at] += rng.choice([-1.0, 1.0], 30) * size
    r = offline_breathing(t, glitched)
    assert r.onsets_s.size == clean.onsets_s.size  # 5 (x10) to 19 (x100) phantom onsets
    assert np.max(np.abs(r.onsets_s - clean.onsets_s)) < 0.1
    both = np.isfinite(r.phase) & np.isfinite(clean.phase)
    assert both.mean() > 0.99 and np.mean(_circ_deg(r.phase[both], clean.phase[both])) < 2.0  # up to 55
    assert (r.quality == Quality.OK).all()
    assert r.despiked >= 30


def test_a_burst_of_glitches_is_a_spike_too() -> None:
    """Five bad samples in a row at 50 Hz (0.1 s) every 10 s."""
    t, y = _belt()
    clean = offline_breathing(t, y)
    glitched = y.copy()
    for k, start in enumerate(range(600, t.size - 10, 500)):
        glitched[start : start + 5] = 20.0 * (-1) ** k
    r = offline_breathing(t, glitched)
    assert r.onsets_s.size == clean.onsets_s.size
    assert np.max(np.abs(r.onsets_s - clean.onsets_s)) < 0.1


@pytest.mark.parametrize("name", ["nk_rest5_100hz.csv", "biosppy_resp_1000hz.csv", "pair_follow_A.csv"])
def test_real_and_sample_breathing_has_no_spike(name: str) -> None:
    rec = read_recording(str(SAMPLES / name))
    r = offline_breathing(rec.time, rec.columns["resp"])
    assert getattr(r, "despiked", None) == 0


def test_breathing_steps_and_sharp_turns_are_no_spikes() -> None:
    """Fast breaths (48/min) with sharp turns (a triangle wave), a slow one (3/min), a belt re-fastened (a
    step of five breaths), a flat stretch: nothing is replaced."""
    from breathsync.dsp.offline import despike  # here, so that the other tests run on a version without it

    fs = 20.0
    t = np.arange(0.0, 300.0, 1.0 / fs)
    tri = 2 * np.abs(np.mod(t * 0.8, 1.0) - 0.5)  # 48/min, amplitude 1, sharp tops and bottoms
    slow = (1 - np.cos(2 * np.pi * t / 20.0)) / 2  # 3/min
    y = np.where(t < 100, tri, np.where(t < 200, slow + 5.0, 0.5))
    out, bad = despike(y, fs)
    assert not bad.any() and np.array_equal(out, y)


def test_a_glitch_in_a_flat_stretch_leaves_it_flat() -> None:
    """A sensor reading zeros for 100 s, with one corrupt value: one flat stretch (it was two, with
    a breathing segment between them)."""
    t, y = _belt(300.0)
    off = (t >= 100) & (t < 200)
    y[off] = 0.0
    y[np.flatnonzero(off)[2500]] = 40.0
    r = offline_breathing(t, y)
    flat = r.quality == Quality.FLAT
    assert flat[(r.t >= 100.1) & (r.t < 199.9)].all()
