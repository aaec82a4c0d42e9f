"""Tests of the chest-accelerometer breathing waveform."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from breath_rate import dominant_rate_bpm
from hypothesis import given, settings
from hypothesis import strategies as st

from breathsync.dsp.acc import AccRespiration, acc_to_resp_offline

AMP_MG = 25.0


def breathing(t: np.ndarray, rate_bpm: float, inhale_frac: float = 0.4) -> np.ndarray:
    """Breathing volume in [0, 1], rising on inhale; inhale takes ``inhale_frac`` of the cycle."""
    u = np.mod(t * rate_bpm / 60.0, 1.0)
    rise = 0.5 * (1 - np.cos(np.pi * u / inhale_frac))
    fall = 0.5 * (1 + np.cos(np.pi * (u - inhale_frac) / (1 - inhale_frac)))
    return np.where(u < inhale_frac, rise, fall)


def rotation(rotvec: np.ndarray) -> np.ndarray:
    angle = float(np.linalg.norm(rotvec))
    if angle == 0:
        return np.eye(3)
    k = rotvec / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * (kx @ kx)


def synth_acc(
    rate_bpm: float = 15.0,
    duration_s: float = 180.0,
    fs_hz: float = 50.0,
    posture_at_s: float | None = 100.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, xyz mG, true breathing): gravity + breathing tilt along an axis; a 1-s posture change."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration_s, 1.0 / fs_hz)
    g0 = np.array([0.0, -1000.0, 0.0])
    b0 = np.array([0.0, 0.0, 1.0])
    rotvec = np.array([0.4, 0.3, 1.2])  # about 75 degrees
    frac = np.zeros_like(t) if posture_at_s is None else np.clip(t - posture_at_s, 0.0, 1.0)
    resp = breathing(t, rate_bpm)
    xyz = np.empty((t.size, 3))
    for i, f in enumerate(frac):
        r = rotation(f * rotvec)
        xyz[i] = r @ g0 + AMP_MG * resp[i] * (r @ b0)
    xyz += rng.normal(0.0, 3.0, xyz.shape)
    return t, xyz, resp


def corr(y: np.ndarray, ref: np.ndarray) -> float:
    ok = np.isfinite(y)
    return float(np.corrcoef(y[ok], ref[ok])[0, 1])


@pytest.mark.parametrize("rate_bpm", [6.0, 15.0, 24.0])
def test_offline_rate_and_rises_on_inhale(rate_bpm: float) -> None:
    t, xyz, resp = synth_acc(rate_bpm, posture_at_s=None)
    to, y = acc_to_resp_offline(t, xyz)
    np.testing.assert_array_equal(to, t)
    assert abs(dominant_rate_bpm(t, y) - rate_bpm) < 1.0
    assert corr(y, resp) > 0.9


def test_offline_posture_change_is_cut_out() -> None:
    t, xyz, resp = synth_acc()
    _, y = acc_to_resp_offline(t, xyz)
    assert np.all(np.isnan(y[(t > 100.2) & (t < 100.8)]))
    assert np.mean(np.isnan(y)) < 0.1
    assert corr(y[t < 99], resp[t < 99]) > 0.9 and corr(y[t > 106], resp[t > 106]) > 0.9


@pytest.mark.parametrize("rate_bpm", [6.0, 15.0, 24.0])
def test_live_rate_and_rises_on_inhale(rate_bpm: float) -> None:
    t, xyz, resp = synth_acc(rate_bpm, posture_at_s=None)
    live = AccRespiration(50.0)
    _, y = live.process(t, xyz)
    warm = t > 40
    assert abs(dominant_rate_bpm(t[warm], y[warm]) - rate_bpm) < 1.0
    assert corr(y[warm], resp[warm]) > 0.8
    assert np.all(np.isfinite(y[warm]))


def test_live_recovers_from_posture_change() -> None:
    t, xyz, resp = synth_acc()
    live = AccRespiration(50.0)
    _, y = live.process(t, xyz)
    assert live.n_posture_changes >= 1
    assert corr(y[(t > 40) & (t < 100)], resp[(t > 40) & (t < 100)]) > 0.8
    # Within 15 s of the posture change the waveform follows the breathing again, rightly signed.
    after = t > 115
    assert corr(y[after], resp[after]) > 0.8
    # No huge transient: never more than a few breath amplitudes, NaN while gravity settles.
    assert np.nanmax(np.abs(y[t > 95])) < 3 * AMP_MG
    assert np.any(np.isnan(y[(t > 100) & (t < 103)]))


def test_live_sign_rises_on_inhale_whatever_the_axis_orientation() -> None:
    t, xyz, resp = synth_acc(posture_at_s=None)
    flipped = xyz.copy()
    flipped[:, 2] = -flipped[:, 2]  # same breathing, opposite axis: the output must not flip
    _, y = AccRespiration(50.0).process(t, flipped)
    warm = t > 40
    assert corr(y[warm], resp[warm]) > 0.8


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=1500), max_size=6))
def test_live_output_independent_of_chunking(cuts: list[int]) -> None:
    t, xyz, _ = synth_acc(15.0, duration_s=60.0, fs_hz=25.0, posture_at_s=35.0, seed=3)
    xyz = xyz.copy()
    xyz[100:110] = np.nan
    keep = (t < 45.0) | (t > 47.0)  # a 2-s gap
    t, xyz = t[keep], xyz[keep]
    t_all, y_all = AccRespiration(25.0).process(t, xyz)
    live = AccRespiration(25.0)
    bounds = [0, *sorted(cuts), None]
    parts = [live.process(t[a:b], xyz[a:b]) for a, b in pairwise(bounds)]
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), t_all)
    np.testing.assert_allclose(np.concatenate([p[1] for p in parts]), y_all, rtol=0, atol=1e-12)


def test_nan_samples_and_gaps() -> None:
    t, xyz, resp = synth_acc(posture_at_s=None, duration_s=120.0)
    xyz = xyz.copy()
    xyz[(t > 50) & (t < 50.5)] = np.nan
    keep = (t < 70) | (t > 75)
    t, xyz, resp = t[keep], xyz[keep], resp[keep]
    live = AccRespiration(50.0)
    to, y = live.process(t, xyz)
    assert to.size == t.size
    assert np.all(np.isnan(y[(t > 50) & (t < 50.5)]))
    assert np.all(np.isfinite(y[(t > 51) & (t < 70)]))  # short NaN run: no restart
    assert np.all(np.isnan(y[(t > 75) & (t < 80)]))  # after the gap: warm-up again
    late = t > 100
    assert corr(y[late], resp[late]) > 0.8
    _, yo = acc_to_resp_offline(t, xyz)
    assert np.all(np.isnan(yo[(t > 50) & (t < 50.5)]))


@pytest.mark.parametrize(
    ("t", "xyz"),
    [
        (np.empty(0), np.empty((0, 3))),
        (np.array([0.0]), np.array([[0.0, 0.0, 1000.0]])),
        (np.arange(10.0), np.full((10, 3), np.nan)),
        (np.array([3.0, 2.0, 1.0, np.nan, 4.0]), np.ones((5, 3))),
        (np.arange(0, 20, 0.04), np.zeros((500, 3))),
    ],
)
def test_garbage_never_raises(t: np.ndarray, xyz: np.ndarray) -> None:
    live = AccRespiration(25.0)
    to, y = live.process(t, xyz)
    assert to.shape == y.shape
    to, y = live.process(t, xyz)  # times go backwards now: dropped
    assert to.shape == y.shape
    to, y = acc_to_resp_offline(t, xyz)
    assert to.shape == y.shape


def test_bad_rate_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="fs_hz"):
        AccRespiration(1.0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=1500), max_size=12), st.booleans())
def test_rate_from_the_stream_is_the_same_however_it_is_chunked(cuts: list[int], one_first: bool) -> None:
    # Without a given rate the converter takes it from the first time steps. The session used to take it
    # from its first chunk, and a replay's first chunk can be a single sample: 100 Hz was assumed for a
    # 25-Hz accelerometer.
    t, xyz, resp = synth_acc(15.0, duration_s=60.0, fs_hz=25.0, posture_at_s=None, seed=5)
    t = t + 1e-9 * np.sin(np.arange(t.size))  # timestamps that are not exact multiples of the step
    t_all, y_all = AccRespiration().process(t, xyz)
    live = AccRespiration()
    bounds = [0, *([1] if one_first else []), *sorted(cuts), None]
    parts = [live.process(t[a:b], xyz[a:b]) for a, b in pairwise(bounds)]
    assert live.fs_hz == pytest.approx(25.0, rel=1e-6)
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), t_all)
    np.testing.assert_allclose(np.concatenate([p[1] for p in parts]), y_all, rtol=0, atol=1e-9)
    # And it is the converter given the rate, up to the rounding of that rate.
    _, y_given = AccRespiration(25.0).process(t, xyz)
    np.testing.assert_allclose(y_all, y_given, rtol=0, atol=1e-6)
    assert corr(y_all[t > 30], resp[t > 30]) > 0.8


def test_a_stream_too_slow_for_breathing_gives_no_waveform() -> None:
    t = np.arange(0.0, 60.0, 0.5)  # 2 Hz: the 1-Hz low-pass cannot run
    live = AccRespiration()
    to, y = live.process(t, np.ones((t.size, 3)))
    assert live.too_slow and np.array_equal(to, t) and np.isnan(y).all()
    assert live.process(np.array([61.0]), np.ones((1, 3)))[1].tolist() == [pytest.approx(np.nan, nan_ok=True)]


def tilt_chest(turn_rotvec: np.ndarray, tilt_axis: np.ndarray, fs_hz: float = 50.0, seed: int = 1) -> tuple:
    """(t, xyz, resp): breathing tilts the chest about ``tilt_axis``, fixed in the strap's frame; at 100 s a
    1-s turn of the body turns gravity in that frame by ``turn_rotvec``."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 160.0, 1.0 / fs_hz)
    resp = breathing(t, 15.0)
    frac = np.clip(t - 100.0, 0.0, 1.0)
    g = np.array([rotation(f * turn_rotvec) @ np.array([0.0, -1000.0, 0.0]) for f in frac])
    xyz = g + (AMP_MG / 1000.0) * resp[:, None] * np.cross(tilt_axis, g) + rng.normal(0.0, 1.0, g.shape)
    return t, xyz, resp


@pytest.mark.parametrize("turn", [(-2.1, -0.2, -1.1), (1.2, 0.9, -0.6), (1.2, -0.6, 0.3)])
def test_a_posture_change_carries_the_axis_the_tilt_of_the_chest_gives(
    turn: tuple[float, float, float],
) -> None:
    """Breathing tilts the chest about a body-fixed axis: after a turn the reading moves along that axis
    crossed with the new gravity, and that is the axis carried until the new principal axis is estimated
    (6 s of data after the 2-s settle). The smallest rotation taking the old gravity onto the new one
    misses these turns by 71, 34 and 21 degrees."""
    tilt_axis = np.array([-1.0, 0.0, 0.0])
    t, xyz, resp = tilt_chest(np.array(turn), tilt_axis)
    live = AccRespiration(50.0)
    first = t < 105.0  # settled, before the new window has 6 s
    _, y0 = live.process(t[first], xyz[first])
    assert live.n_posture_changes >= 1
    want = np.cross(tilt_axis, xyz[t > 110].mean(axis=0))
    want /= np.linalg.norm(want)
    carried = live.axis
    assert carried is not None and float(np.dot(carried, want)) > np.cos(np.radians(10.0))
    _, y1 = live.process(t[~first], xyz[~first])
    y = np.concatenate([y0, y1])
    after = t > 104.0
    assert corr(y[after], resp[after]) > 0.9
