"""The chest accelerometer's start (breathsync.dsp.acc): no waveform until its breathing axis has a sign.

The principal axis has no sign of its own: the converter chooses one after ``SIGN_MIN_S`` of output (21.5 s
from the start). It used to give its waveform from the first axis (6 s) with the sign the
eigen-decomposition happened to return, so about every other start was upside down for 15 s: the live
tracker dated its first breaths at the peaks (an inhale late: 2.8-3.0 s at 10/min), the turn-over then made
a short interval, and the live rate read 12.3-12.7/min for a breather at 10/min, more than 0.5 too high
until 67 s, when those breaths had left its 40-s window (four of the six straps below). A gap restarted
the converter with such a coin toss too.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from conftest import breathing
from scipy.spatial.transform import Rotation

from breathsync.dsp.acc import PCA_MIN_S, AccRespiration, acc_to_resp_live
from breathsync.dsp.pipeline import RespPipeline
from breathsync.synth import chest_accelerometer

FS = 25.0
RATE = 10.0
# Straps worn at six angles (the sensor's frame turned against the body): the first axis came out upside
# down for four of them on the previous release.
ANGLES = range(6)


def chest(angle: int, duration_s: float = 120.0, posture_changes: int = 0, rate_bpm: float = RATE) -> tuple:
    """(t, xyz mG, truth): a breather at ``rate_bpm`` (inhale 40 % of the cycle, onsets at multiples of the
    period) as a chest accelerometer worn at angle ``angle``."""
    t, y, _ = breathing(duration_s, FS, rate_bpm, seed=angle)
    ta, xyz, truth = chest_accelerometer(t, y, seed=angle, fs_hz=FS, posture_changes=posture_changes)
    return ta, Rotation.random(random_state=angle).apply(xyz), truth


@cache
def live(angle: int) -> tuple:
    """The converter's output a second at a time, how the sign stood after each second, and the live
    pipeline's output on it."""
    ta, xyz, truth = chest(angle)
    log: list[tuple[float, str, int]] = []
    t, y = acc_to_resp_live(ta, xyz, sign_log=log)
    return t, y, truth, log, RespPipeline().process(t, y)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


@pytest.mark.parametrize("angle", ANGLES)
def test_no_waveform_before_its_sign_is_set_and_never_upside_down_at_the_start(angle: int) -> None:
    t, y, truth, log, _ = live(angle)
    unset = [end for end, basis, _ in log if basis == "none"]
    assert unset, "the sign is never set at the first sample"
    assert np.all(np.isnan(y[t < unset[-1]]))  # seconds that ended with no sign: no waveform
    known = np.flatnonzero(np.isfinite(y))
    assert known.size and t[known[0]] <= 25.0  # the sign is set about 21 s in
    # From its first sample on, the waveform rises on inhale (the previous release: -0.8 to -0.95 over its
    # first 15 s for three of these angles).
    for start in np.arange(t[known[0]], 90.0, 10.0):
        w = (t >= start) & (t < start + 10.0)
        assert corr(y[w], truth[w]) > 0.8, f"{start:.0f}-{start + 10:.0f} s"


@pytest.mark.parametrize("angle", ANGLES)
def test_the_live_rate_is_right_from_its_first_value(angle: int) -> None:
    out = live(angle)[4]
    rate = np.asarray(out.rate_bpm)
    known = np.isfinite(rate)
    # The previous release: 12.3-12.7/min at 10/min for four of these straps, more than 10.5 until 67 s. Now
    # up to 0.9 off at the first interval (the live tracker's own jitter), within 0.45 from 50 s on.
    assert np.all(np.abs(rate[known] - RATE) < 1.2), np.nanmax(np.abs(rate - RATE))
    assert np.all(np.abs(rate[known & (out.t >= 50.0)] - RATE) < 0.6)
    assert np.mean(known[(out.t >= 50.0) & (out.t < 120.0)]) > 0.95  # and it is known from 50 s on


@pytest.mark.parametrize("angle", ANGLES)
def test_no_breath_is_dated_at_the_wrong_end_of_the_breath(angle: int) -> None:
    t, y, _, _, out = live(angle)
    onsets = np.array([b.onset_s for b in out.breaths])
    assert onsets.size >= 12
    assert onsets[0] >= t[np.flatnonzero(np.isfinite(y))[0]]  # none from before the waveform is known
    period = 60.0 / RATE
    true_onsets = np.arange(0.0, t[-1] + period, period)
    err = onsets - true_onsets[np.abs(onsets[:, None] - true_onsets[None, :]).argmin(axis=1)]
    # The 1-Hz low-pass delays them by about 0.2 s (all within 0.4 s); 2.8-3.0 s was an onset taken at a
    # peak (the previous release, four of these straps).
    assert np.all(np.abs(err) < 0.75), err


@pytest.mark.parametrize("angle", ANGLES)
def test_a_gap_keeps_the_sign_the_breathing_had(angle: int) -> None:
    """A dropout longer than ``max_gap_s`` restarts the filters and the axis, but the strap is the same
    strap on the same chest: the new axis takes its sign from the one before (carried through any turn of
    gravity, as at a posture change) instead of a coin toss, and the waveform is back after ``PCA_MIN_S``."""
    ta, xyz, truth = chest(angle, duration_s=110.0)
    keep = (ta < 60.0) | (ta >= 62.0)
    conv = AccRespiration(FS)
    t, y = conv.process(ta[keep], xyz[keep])
    assert conv.n_sign_flips <= 1  # the first choice only
    truth = truth[keep]
    after = t >= 62.0
    back = t[after & np.isfinite(y)]
    assert back.size and back[0] <= 62.0 + PCA_MIN_S + 1.0
    for start in (back[0], back[0] + 10.0, back[0] + 20.0):
        w = (t >= start) & (t < start + 10.0)
        assert corr(y[w], truth[w]) > 0.8, f"{start:.0f}-{start + 10:.0f} s"
    assert conv.sign_basis == "guess"


def test_turns_before_the_first_sign_do_not_hold_it_back() -> None:
    """The rise statistics gathered before a posture change still count for the first sign (the carried
    axis keeps their sign): a wearer who turns every 10-20 s from the start gets a waveform."""
    ta, xyz, truth = chest(1, duration_s=90.0, posture_changes=5)
    conv = AccRespiration(FS)
    t, y = conv.process(ta, xyz)
    assert conv.n_posture_changes >= 4
    assert conv.sign_basis == "guess" and conv.n_sign_flips <= 1
    assert np.mean(np.isfinite(y[t >= 40.0])) > 0.6
    # Upright, but for the seconds after a turn before the new axis is estimated.
    c = []
    for start in range(40, 90, 5):
        w = (t >= start) & (t < start + 5)
        if np.mean(np.isfinite(y[w])) > 0.5:
            c.append(corr(y[w], truth[w]))
    assert len(c) >= 8 and np.median(c) > 0.9 and min(c) > -0.5, c


@pytest.mark.parametrize("sizes", [[1] * 40, [7] * 300, [50] * 60, [333] * 9, [2000]])
def test_the_start_and_the_gaps_are_the_same_however_the_samples_are_chunked(sizes: list[int]) -> None:
    ta, xyz, _ = chest(2, duration_s=100.0, posture_changes=2)
    keep = (ta < 70.0) | (ta >= 72.5)  # a gap, its sign carried
    ta, xyz = ta[keep], xyz[keep]
    t_all, y_all = AccRespiration(FS).process(ta, xyz)
    conv = AccRespiration(FS)
    parts, i = [], 0
    for c in [*np.cumsum(sizes)[np.cumsum(sizes) < ta.size].tolist(), ta.size]:
        parts.append(conv.process(ta[i:c], xyz[i:c]))
        i = c
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), t_all)
    np.testing.assert_allclose(np.concatenate([p[1] for p in parts]), y_all, rtol=0, atol=1e-12)
    assert np.isnan(y_all[0]) and np.isfinite(y_all).any()
