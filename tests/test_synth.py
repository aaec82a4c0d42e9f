"""Tests for breathsync.synth: determinism, phase conventions, breath shape, coupling calibration."""

from __future__ import annotations

import numpy as np
import pytest

from breathsync.synth import BreathShape, simulate_group, simulate_pair, true_plv

# notes/signal.md: stochastic Kuramoto pair at 0.25 / 0.28 Hz, diffusion 0.05.
REFERENCE_PLV = {0.0: 0.30, 0.05: 0.30, 0.1: 0.55, 0.2: 0.84, 0.5: 0.94}


def test_same_seed_same_output_and_different_seed_differs() -> None:
    a = simulate_pair(60.0, k_ab=0.2, k_ba=0.1, delay_s=0.5, seed=7)
    b = simulate_pair(60.0, k_ab=0.2, k_ba=0.1, delay_s=0.5, seed=7)
    c = simulate_pair(60.0, k_ab=0.2, k_ba=0.1, delay_s=0.5, seed=8)
    np.testing.assert_array_equal(a.phase, b.phase)
    np.testing.assert_array_equal(a.resp, b.resp)
    assert not np.allclose(a.phase, c.phase)


def test_waveform_options_do_not_change_the_phases() -> None:
    quiet = BreathShape(noise_sd=0.0, drift_sd=0.0, amplitude_cv=0.0)
    noisy = BreathShape(noise_sd=0.1, sigh_rate_per_min=1.0)
    a = simulate_pair(60.0, shape=quiet, seed=3)
    b = simulate_pair(60.0, shape=noisy, seed=3)
    np.testing.assert_array_equal(a.phase, b.phase)
    assert not np.allclose(a.resp, b.resp)


def test_shapes_and_ranges() -> None:
    g = simulate_group(30.0, fs_hz=20.0, rates_bpm=(12, 14, 16), seed=1)
    assert g.t.shape == (600,)
    assert g.phase.shape == g.resp.shape == (3, 600)
    assert g.phase.min() >= 0.0
    assert g.phase.max() < 2 * np.pi
    assert np.all(np.isfinite(g.resp))
    np.testing.assert_allclose(np.diff(g.t), 1 / 20.0)


@pytest.mark.parametrize("rate_bpm", [6.0, 20.0])
def test_rate_and_inhale_fraction_without_noise(rate_bpm: float) -> None:
    shape = BreathShape(inhale_fraction=0.4, pause_fraction=0.1)
    g = simulate_pair(60.0, fs_hz=50.0, rate_a_bpm=rate_bpm, diffusion=0.0, shape=shape, seed=0)
    onsets = g.onsets[0]
    periods = np.diff(onsets)
    np.testing.assert_allclose(periods, 60.0 / rate_bpm, rtol=1e-3)
    # Time from each onset to the phase reaching pi (end of inhale).
    k = np.arange(1, onsets.size + 1)
    peaks = np.interp(2 * np.pi * k + np.pi, g.unwrapped[0], g.t)
    fraction = (peaks[:-1] - onsets[:-1]) / periods
    np.testing.assert_allclose(fraction, 0.4, atol=0.01)


def test_waveform_follows_the_phase_convention() -> None:
    clean = BreathShape(noise_sd=0.0, drift_sd=0.0, amplitude_cv=0.0, amplitude=2.0)
    g = simulate_pair(60.0, fs_hz=50.0, diffusion=0.0, shape=clean, seed=2)
    phase, resp = g.phase[0], g.resp[0]
    near_onset = np.minimum(phase, 2 * np.pi - phase) < 0.05
    near_peak = np.abs(phase - np.pi) < 0.05
    assert resp[near_onset].max() < 0.01  # troughs at phase 0
    assert resp[near_peak].min() > 1.99  # peaks (amplitude 2) at pi
    rising = np.diff(resp) > 0
    inhale = phase[:-1] < np.pi - 0.1
    assert rising[inhale & (phase[:-1] > 0.1)].all()


def test_amplitude_variability_and_sighs() -> None:
    shape = BreathShape(amplitude_cv=0.15, drift_sd=0.0, noise_sd=0.0, sigh_rate_per_min=2.0)
    g = simulate_pair(600.0, fs_hz=10.0, rate_a_bpm=12.0, diffusion=0.0, shape=shape, seed=4, max_step_s=0.1)
    cycles = np.floor(g.unwrapped[0] / (2 * np.pi))
    peaks = np.array([g.resp[0][cycles == c].max() for c in np.unique(cycles)[1:-1]])
    assert 0.05 < np.std(peaks[peaks < 1.8]) / np.mean(peaks[peaks < 1.8]) < 0.3
    n_sighs = int(np.sum(peaks > 1.8))
    assert 5 <= n_sighs <= 40  # about 2/min * 10 min = 20 expected


def test_uncoupled_rates_and_one_way_follower_lag() -> None:
    g = simulate_pair(300.0, rate_a_bpm=15.0, rate_b_bpm=14.5, k_ba=0.8, delay_s=0.7, seed=5, max_step_s=0.04)
    assert 0.5 < g.mean_lag_s(0, 1) < 1.0
    assert g.plv() > 0.7
    free = simulate_pair(300.0, rate_a_bpm=12.0, rate_b_bpm=18.0, seed=5, max_step_s=0.04)
    measured = [60.0 / np.mean(np.diff(o)) for o in free.onsets]
    np.testing.assert_allclose(measured, [12.0, 18.0], rtol=0.06)


def test_true_plv_basics() -> None:
    fs = 10.0
    t = np.arange(1200) / fs
    a = 2 * np.pi * 0.25 * t
    np.testing.assert_allclose(true_plv(a, a - 1.0, fs), 1.0)
    assert true_plv(a, 2 * np.pi * 0.3 * t, fs).mean() < 0.1
    with pytest.raises(ValueError):
        true_plv(a[:10], a[:10], fs)


def test_coupling_trend_reproduces_reference_plv() -> None:
    """PLV rises with K and lands near notes/signal.md (symmetric cycle = pure Kuramoto)."""
    shape = BreathShape(inhale_fraction=0.5)
    measured = {}
    for k in REFERENCE_PLV:
        runs = [
            simulate_pair(
                600.0,
                fs_hz=10.0,
                rate_a_bpm=15.0,
                rate_b_bpm=16.8,
                k_ab=k,
                k_ba=k,
                diffusion=0.05,
                shape=shape,
                seed=seed,
                max_step_s=0.1,
            ).plv(window_s=60.0)
            for seed in range(3)
        ]
        measured[k] = float(np.mean(runs))
    values = [measured[k] for k in REFERENCE_PLV]
    assert values[0] < values[2] < values[3] < values[4]
    assert values[1] > values[0] - 0.05
    for k, ref in REFERENCE_PLV.items():
        assert measured[k] == pytest.approx(ref, abs=0.12), (k, measured)


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        BreathShape(inhale_fraction=0.05)
    with pytest.raises(ValueError):
        simulate_group(10.0, rates_bpm=(12, 14), coupling=np.zeros((3, 3)))
    with pytest.raises(ValueError):
        simulate_group(10.0, rates_bpm=(12, 14), shape=[BreathShape()])
