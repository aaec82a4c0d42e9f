"""The benchmark references (benchmarks/reference.py): what the README's accuracy figures are scored against."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import REPO, breathing

sys.path.insert(0, str(REPO / "benchmarks"))

import reference


def test_the_trailing_rate_is_the_mean_interval_of_the_window_breaths() -> None:
    onsets = np.concatenate([np.arange(0.0, 60.0, 4.0), 60.0 + np.arange(0.0, 60.0, 6.0)])
    at = np.array([10.0, 50.0, 100.0, 110.0])
    rate = reference.reference_rate_trailing(onsets, at, 40.0)
    assert np.isnan(rate[0])  # the recording does not cover a whole window yet
    assert rate[1] == pytest.approx(15.0)  # onsets 12..48 every 4 s
    # At 100 s the window holds 60..96, every 6 s.
    assert rate[2] == pytest.approx(10.0)
    # At 110 s: onsets 72..108, 6 s apart.
    assert rate[3] == pytest.approx(10.0)
    mixed = reference.reference_rate_trailing(onsets, np.array([80.0]), 40.0)
    # 40..56 every 4 s, then 60..78 every 6 s: 9 onsets, 8 intervals over 38 s.
    assert mixed[0] == pytest.approx(60.0 * 8 / 38.0)


def test_the_reference_phase_is_zero_at_troughs_and_pi_at_peaks() -> None:
    t, y, true = breathing(duration_s=120.0, rate_bpm=12.0, inhale_frac=0.5, noise=0.0)
    gt, ph = reference.reference_phase(t, y)
    mid = (gt > 20) & (gt < 100)
    err = reference.circular_error_deg(ph[mid], np.interp(gt[mid], t, np.unwrap(true)))
    assert np.mean(np.abs(err)) < 5.0


def test_the_reference_moves_most_near_a_recordings_end() -> None:
    t, y, _ = breathing(duration_s=200.0, rate_bpm=12.0, noise=0.05, seed=3)
    dist, change = reference.reference_end_drift(t, y)
    near = np.mean(change[dist < 2.0])
    settled = np.mean(change[dist >= reference.REF_SETTLED_S])
    assert near > 3 * settled
    assert settled < 5.0


def test_the_reference_moves_most_near_a_recordings_start_too() -> None:
    t, y, _ = breathing(duration_s=200.0, rate_bpm=12.0, noise=0.05, seed=3)
    dist, change = reference.reference_start_drift(t, y)
    settled = np.mean(change[dist >= reference.REF_SETTLED_START_S])
    assert np.mean(change[dist < 2.0]) > 3 * settled
    assert settled < 5.0
    # A different measurement from the end's: other cuts of other samples.
    assert not np.array_equal(change, reference.reference_end_drift(t, y)[1])


def test_onset_f1_matches_one_to_one_within_the_tolerance() -> None:
    ref = np.array([1.0, 5.0, 9.0])
    p, r, f1 = reference.onset_f1(np.array([1.2, 1.3, 5.6, 9.0]), ref)
    assert (p, r) == (pytest.approx(2 / 4), pytest.approx(2 / 3))
    assert f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_the_rise_fraction_reads_the_inhale_share_of_a_breath() -> None:
    """A breath rising on a 40% inhale rises 40% of the time; upside down, 60% (the accelerometer's sign cue)."""
    from breathsync.synth import BreathShape, simulate_group

    g = simulate_group(300.0, fs_hz=50.0, rates_bpm=(12.0,), shape=BreathShape(inhale_fraction=0.4), seed=1)
    whole, lo, hi = reference.rise_fraction(g.t, g.resp[0])
    assert whole == pytest.approx(0.4, abs=0.03) and lo <= whole <= hi < 0.5
    assert reference.rise_fraction(g.t, -g.resp[0])[0] == pytest.approx(0.6, abs=0.03)
