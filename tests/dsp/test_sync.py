"""Pair and group synchrony: PLV, relative phase, chance correction, Kuramoto order."""

from __future__ import annotations

import math

import numpy as np

from breathsync.dsp.sync import (
    SyncConfig,
    kuramoto_order,
    pair_sync,
    rayleigh_null,
    surrogate_null,
    windowed_plv,
)

FS = 10.0


def oscillator(duration_s: float, rate_bpm: float, diffusion: float, seed: int, fs: float = FS) -> np.ndarray:
    """Unwrapped phase of a noisy oscillator (phase diffusion ``diffusion`` rad^2/s)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * fs)
    steps = 2 * math.pi * rate_bpm / 60 / fs + math.sqrt(2 * diffusion / fs) * rng.standard_normal(n)
    return np.cumsum(steps)


def test_plv_and_relative_phase_of_a_fixed_offset() -> None:
    a = oscillator(120, 15, 0.05, 0)
    plv, rel, cov = windowed_plv(a, a - 0.5, FS, 30.0)
    assert np.allclose(plv, 1.0) and np.allclose(rel, 0.5)
    assert cov[-1] == 1.0 and cov[0] < 0.01


def test_unknown_phases_are_left_out_not_counted_as_zero() -> None:
    a = oscillator(120, 15, 0.05, 0)
    b = a - 0.3
    b[200:500] = np.nan
    plv, _, cov = windowed_plv(a, b, FS, 30.0)
    assert np.allclose(plv[np.isfinite(plv)], 1.0)
    assert cov[499] < 0.1


def test_follower_is_in_sync_and_led() -> None:
    t = np.arange(0, 300, 1 / FS)
    a = oscillator(300, 12, 0.05, 1)
    b = np.interp(t - 0.4, t, a)  # B follows A 0.4 s later (29 deg at 12/min)
    rate = np.full(t.size, 12.0)
    res = pair_sync(t, a % (2 * np.pi), b % (2 * np.pi), rate, rate, SyncConfig())
    valid = np.isfinite(res.plv)
    assert res.in_sync[valid].mean() > 0.95
    s = res.summary()
    assert s["leader"] == "a"
    assert abs(s["lead_s"] - 0.4) < 0.1


def test_late_follower_is_led_but_not_in_sync() -> None:
    t = np.arange(0, 300, 1 / FS)
    a = oscillator(300, 15, 0.05, 3)
    b = np.interp(t - 0.7, t, a)  # B follows A 0.7 s later: 63 deg at 15/min
    rate = np.full(t.size, 15.0)
    res = pair_sync(t, a % (2 * np.pi), b % (2 * np.pi), rate, rate, SyncConfig())
    assert not res.in_sync.any()
    s = res.summary()
    assert s["leader"] == "a"
    assert abs(s["lead_s"] - 0.7) < 0.1


def test_anti_phase_partners_are_locked_but_not_in_sync() -> None:
    t = np.arange(0, 300, 1 / FS)
    a = oscillator(300, 12, 0.05, 2)
    rate = np.full(t.size, 12.0)
    res = pair_sync(t, a % (2 * np.pi), (a + math.pi) % (2 * np.pi), rate, rate)
    assert np.nanmin(res.plv) > 0.99
    assert not res.in_sync.any()
    assert res.summary()["leader"] is None  # half a cycle apart: nobody is ahead


def test_strangers_at_similar_rates_are_not_in_sync() -> None:
    # Two unrelated breathers 0.03 Hz apart: raw PLV is far from zero, but it is chance.
    t = np.arange(0, 600, 1 / FS)
    frac = []
    for seed in range(6):
        a = oscillator(600, 15.0, 0.05, 10 + seed)
        b = oscillator(600, 16.8, 0.05, 100 + seed)
        rate_a, rate_b = np.full(t.size, 15.0), np.full(t.size, 16.8)
        res = pair_sync(t, a % (2 * np.pi), b % (2 * np.pi), rate_a, rate_b)
        valid = np.isfinite(res.plv)
        assert np.nanmax(res.plv) > 0.4  # raw PLV does reach "sync-looking" values
        frac.append(res.in_sync[valid].mean())
    assert np.mean(frac) < 0.05


def test_an_irregular_breather_and_a_close_follower_are_in_sync() -> None:
    # An irregular slow breather (10/min, phase diffusion 1 rad^2/s) and a partner breathing exactly like
    # them 0.3 s later: the relative phase wanders with the irregularity (PLV ~0.75, under the Rayleigh
    # bound of 5 breaths per window, 0.77), but far less than irregular strangers' does; the surrogate
    # chance level knows how irregular these two are.
    t = np.arange(0, 300, 1 / FS)
    rate = np.full(t.size, 10.0)
    for seed in range(3):
        a = oscillator(301, 10.0, 1.0, seed)
        res = pair_sync(t, a[3 : 3 + t.size] % (2 * np.pi), a[: t.size] % (2 * np.pi), rate, rate)
        valid = np.isfinite(res.plv)
        assert np.nanmedian(res.plv) < rayleigh_null(np.array([10.0]), 30.0)[0]
        assert res.in_sync[valid].mean() > 0.95
    frac = []
    for seed in range(6):
        a = oscillator(300, 10.0, 1.0, 10 + seed)
        b = oscillator(300, 11.0, 1.0, 100 + seed)
        res = pair_sync(t, a % (2 * np.pi), b % (2 * np.pi), rate, rate + 1.0)
        frac.append(res.in_sync[np.isfinite(res.plv)].mean())
    assert np.mean(frac) < 0.05


def test_surrogate_null_needs_enough_history() -> None:
    a = oscillator(60, 15, 0.05, 0)
    assert surrogate_null(a, a, FS, SyncConfig()) is None
    a = oscillator(300, 15, 0.05, 0)
    b = oscillator(300, 15, 0.05, 1)
    null = surrogate_null(a % 6.28, b % 6.28, FS, SyncConfig())
    assert null is not None and 0.1 < null < 1.0


def test_rayleigh_null_shrinks_with_more_breaths() -> None:
    n = rayleigh_null(np.array([6.0, 15.0, 30.0]), 30.0)
    assert n[0] > n[1] > n[2] > 0


def test_kuramoto_order_of_a_group() -> None:
    a = oscillator(120, 15, 0.05, 0)
    same = np.vstack([a, a, a]) % (2 * np.pi)
    assert np.allclose(kuramoto_order(same, FS, 30.0)[-10:], 1.0)
    spread = np.vstack([a, a + 2 * np.pi / 3, a + 4 * np.pi / 3]) % (2 * np.pi)
    assert np.nanmax(kuramoto_order(spread, FS, 30.0)) < 1e-6
