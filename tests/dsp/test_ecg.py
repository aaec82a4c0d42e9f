"""Tests of the R-peak detector and RR intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from breathsync.dsp.ecg import ecg_rpeaks, rr_from_beats

# NeuroKit2 0.3.0 `ecg_peaks(ecg, sampling_rate=100)` on nk_rest5_100hz.csv finds 431 R peaks
# (checked by hand once; neurokit2 is not a test dependency).
NK2_BEATS_REST5 = 431


def load_csv(path: Path) -> dict[str, np.ndarray]:
    """Columns of a data CSV (``#`` comment lines, then a header)."""
    lines = [
        ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")
    ]
    names = lines[0].split(",")
    arr = np.loadtxt(lines[1:], delimiter=",", ndmin=2)
    return {n: arr[:, i] for i, n in enumerate(names)}


def synth_ecg(
    fs_hz: float = 250.0, duration_s: float = 60.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ECG-like signal: narrow R spikes, S dips, broad T waves, baseline wander, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration_s, 1.0 / fs_hz)
    beats = [0.7]
    while beats[-1] < duration_s - 1.0:
        beats.append(beats[-1] + 0.85 + 0.08 * np.sin(2 * np.pi * 0.25 * beats[-1]) + rng.normal(0, 0.02))
    bt = np.asarray(beats)
    x = np.zeros_like(t)
    for b in bt:
        x += 1.0 * np.exp(-0.5 * ((t - b) / 0.012) ** 2)
        x -= 0.3 * np.exp(-0.5 * ((t - b - 0.03) / 0.01) ** 2)
        x += 0.35 * np.exp(-0.5 * ((t - b - 0.28) / 0.05) ** 2)
    x += 0.5 * np.sin(2 * np.pi * 0.2 * t) + rng.normal(0, 0.03, t.size)
    return t, x, bt


@pytest.mark.parametrize("fs_hz", [100.0, 130.0, 250.0])
@pytest.mark.parametrize("polarity", [1.0, -1.0])
def test_synthetic_beats_found(fs_hz: float, polarity: float) -> None:
    t, x, bt = synth_ecg(fs_hz)
    found = ecg_rpeaks(t, polarity * x)
    assert found.size == bt.size
    assert np.max(np.abs(found - bt)) < 0.01


def test_rr_from_beats() -> None:
    t, rr = rr_from_beats([1.0, 1.8, 2.7, np.nan, 3.5])
    np.testing.assert_allclose(t, [1.8, 2.7, 3.5])
    np.testing.assert_allclose(rr, [800.0, 900.0, 800.0])
    for bad in ([], [1.0], [np.nan, np.nan]):
        t, rr = rr_from_beats(bad)
        assert t.size == 0 and rr.size == 0


def test_missing_stretch_gives_no_beats_inside() -> None:
    t, x, bt = synth_ecg(250.0)
    x = x.copy()
    x[(t > 20) & (t < 25)] = np.nan
    found = ecg_rpeaks(t, x)
    assert not np.any((found > 20) & (found < 25))
    outside = bt[(bt < 19.5) | (bt > 25.5)]
    assert np.all(np.min(np.abs(outside[:, None] - found[None, :]), axis=1) < 0.01)


@pytest.mark.parametrize(
    ("t", "x"),
    [
        (np.empty(0), np.empty(0)),
        (np.array([0.0]), np.array([1.0])),
        (np.arange(0, 10, 0.01), np.zeros(1000)),
        (np.arange(0, 10, 0.01), np.full(1000, np.nan)),
        (np.arange(0, 10, 0.1), np.random.default_rng(0).normal(size=100)),  # 10 Hz: too slow
    ],
)
def test_garbage_never_raises(t: np.ndarray, x: np.ndarray) -> None:
    found = ecg_rpeaks(t, x)
    assert found.ndim == 1


def test_real_ecg_rest5(shared_data: Path) -> None:
    path = shared_data / "nk_rest5_100hz.csv"
    d = load_csv(path)
    found = ecg_rpeaks(d["time"], d["ecg"])
    hr_bpm = 60.0 / np.median(np.diff(found))
    assert 50.0 < hr_bpm < 120.0
    assert abs(found.size - NK2_BEATS_REST5) <= 0.03 * NK2_BEATS_REST5
    assert abs(ecg_rpeaks(d["time"], -d["ecg"]).size - found.size) <= 3
