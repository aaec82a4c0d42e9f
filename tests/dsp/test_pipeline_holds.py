"""Breath holds, live: "no breathing" until a breath-sized move, no onset dated inside the hold, and no
breath interval (so no rate) across it.

Before: the tracker let its amplitude decay to a tenth of its long-run value in a hold, so that after about
25 s its midline band and fallback turn were at the level of belt noise (a cardiac wiggle): the phase and the
rate came back in the middle of 30-40-s holds, an onset was dated up to 19 s back inside the hold and the
first real breath after it was missed; and the interval across a 10-26-s hold was taken for a breath
interval, halving the live rate for the next 40 s (breathsync/dsp/pipeline.py, ``STALL_SWING``).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_pipeline_chunk_invariant, breathing

from breathsync.dsp.pipeline import PipelineOutput, Quality, RespPipeline

PERIOD = 4.0  # 15/min
INHALE = 0.4  # of the cycle


def held_breathing(
    hold_at: str,
    hold_s: float,
    seed: int,
    duration_s: float = 160.0,
    fs_hz: float = 50.0,
    amp_after: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray]:
    """(t, y, hold start, hold end, true onsets): 15/min breathing of amplitude 1, held from 60 s (at full
    exhale: a trough; at full inhale: a peak) for ``hold_s``, then ``amp_after`` x as deep; belt noise: 1%
    white and a 1.5% cardiac wiggle near 1.1 Hz."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration_s, 1.0 / fs_hz)
    t0 = 60.0 + (INHALE * PERIOD if hold_at == "inhale" else 0.0)
    t1 = t0 + hold_s
    tau = np.where(
        t < t0, t, np.where(t < t1, t0, t - hold_s)
    )  # the breathing's own clock, frozen in the hold
    frac = (tau / PERIOD) % 1.0
    ph = np.where(frac < INHALE, np.pi * frac / INHALE, np.pi + np.pi * (frac - INHALE) / (1 - INHALE))
    y = 0.5 * (1 - np.cos(ph)) * np.where(t >= t1, amp_after, 1.0)
    y = y + 0.01 * rng.standard_normal(t.size) + 0.015 * np.sin(2 * np.pi * (1.05 + 0.05 * seed) * t + seed)
    k = np.arange(0.0, duration_s, PERIOD)
    onsets = np.where(k < t0, k, k + hold_s)  # a hold at full exhale delays the inhale due at its start
    return t, y, t0, t1, onsets[onsets < duration_s]


def run(t: np.ndarray, y: np.ndarray) -> PipelineOutput:
    return RespPipeline().process(t, y)


@pytest.mark.parametrize("hold_at", ["exhale", "inhale"])
@pytest.mark.parametrize("hold_s", [30.0, 40.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_long_hold_stays_no_breathing_and_no_onset_is_dated_inside(
    hold_at: str, hold_s: float, seed: int
) -> None:
    """From ~10 s into the hold to its end: NO_BREATHING throughout, no phase, no rate; no onset dated inside
    the hold; the first breath after it is found where it begins. (Before: OK again 20-30 s into the hold,
    with a noise phase and a rate of 2-4/min, and onsets dated inside the hold.)"""
    t, y, t0, t1, onsets = held_breathing(hold_at, hold_s, seed)
    out = run(t, y)
    inside = (out.t > t0 + 11.0) & (out.t < t1)
    assert np.all(out.quality[inside] == Quality.NO_BREATHING)
    assert np.all(np.isnan(out.phase[inside]))
    assert np.all(np.isnan(out.rate_bpm[inside]))
    found = np.array([b.onset_s for b in out.breaths])
    assert not np.any((found > t0 + 0.5) & (found < t1 - 0.5))
    first_after = onsets[onsets > t1 - 0.1][0]
    assert np.min(np.abs(found - first_after)) < 0.5
    # Every breath after the hold is found, and the breathing is OK again after the first of them.
    after = onsets[(onsets > t1) & (onsets < t[-1] - 5.0)]
    assert all(np.min(np.abs(found - o)) < 0.5 for o in after)
    assert np.all(out.quality[(out.t > first_after + 2.0)] == Quality.OK)


@pytest.mark.parametrize("hold_at", ["exhale", "inhale"])
@pytest.mark.parametrize("hold_s", [15.0, 20.0, 25.0])
def test_the_rate_after_a_hold_is_the_breathing_rate(hold_at: str, hold_s: float) -> None:
    """The interval across a hold long enough to read "no breathing" is no breath interval (as offline):
    the rate after it is the breathing's, 15/min. (Before: 7.5/min for 40 s after a 20-s hold.)"""
    t, y, _, t1, _ = held_breathing(hold_at, hold_s, seed=3)
    out = run(t, y)
    after = (out.t > t1 + 5.0) & (out.t < t1 + 40.0)
    assert np.all(np.abs(out.rate_bpm[after] - 15.0) < 1.0)
    # Nor does the hold count as a breath taking longer than usual once the breathing is back.
    assert np.nanmin(out.rate_bpm[out.t > t1]) > 14.0


@pytest.mark.parametrize("hold_at", ["exhale", "inhale"])
@pytest.mark.parametrize("hold_s", [20.0, 40.0])
def test_shallow_breathing_after_a_hold_ends_it(hold_at: str, hold_s: float) -> None:
    """A breath a fifth as deep as before (a hypopnoea, not an apnoea) is breathing: the state comes back to
    OK after a long hold, and its onsets are found. (After a hold at full inhale, the tracker kept the
    amplitude it let decay in the hold and left the turn's swing out: a shallow onset was missed every
    20-30 s.)"""
    t, y, _, t1, onsets = held_breathing(hold_at, hold_s, seed=4, amp_after=0.2)
    out = run(t, y)
    found = np.array([b.onset_s for b in out.breaths])
    later = onsets[(onsets > t1 + 10.0) & (onsets < t[-1] - 5.0)]
    assert all(np.min(np.abs(found - o)) < 0.5 for o in later)
    assert np.mean(out.quality[out.t > t1 + 10.0] == Quality.OK) > 0.95


@pytest.mark.parametrize("sizes", [[1, 7, 333, 2], [4000, 1], [17] * 40, [2999, 3001]])
def test_a_hold_is_read_the_same_whatever_the_chunks(sizes: list[int]) -> None:
    t, y, _, _, _ = held_breathing("inhale", 40.0, seed=1)
    assert_pipeline_chunk_invariant(t, y, sizes * 200)


@pytest.mark.parametrize("rate_bpm", [2.0, 3.0])
def test_slow_breathing_is_no_hold(rate_bpm: float) -> None:
    """A half breath of slow breathing takes longer than the 10 s after which the state reads "no breathing"
    while its interval is not yet known; the signal keeps moving the way it went, so that stretch is no
    hold: its interval counts, the rate becomes known and the state OK."""
    t, y, _ = breathing(duration_s=300.0, fs_hz=20.0, rate_bpm=rate_bpm, noise=0.01)
    out = run(t, y)
    late = out.t > 150.0
    assert np.all(out.quality[late] == Quality.OK)
    assert np.all(np.abs(out.rate_bpm[late] - rate_bpm) < 0.3 * rate_bpm)
