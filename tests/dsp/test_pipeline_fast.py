"""Fast breathing (a child, exercise, panting: 40-70/min), live: its rate is known and its phase is not late.

Before: breath intervals under ``min_interval_s`` (1.5 s) were all left out, so above 40/min the rate was
never known and the phase filters and delay compensation stayed set for the default 15/min: the phase
33-44 deg late, with the quality OK (breathsync/dsp/pipeline.py, ``RespPipeline._interval_ok``).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import breathing, circ_err_deg

from breathsync.dsp.pipeline import RespPipeline


@pytest.mark.parametrize("rate_bpm", [45.0, 50.0, 60.0])
def test_fast_breathing_has_a_rate_and_a_phase_that_is_not_late(rate_bpm: float) -> None:
    t, y, ph = breathing(duration_s=90.0, fs_hz=50.0, rate_bpm=rate_bpm, inhale_frac=0.45, noise=0.01)
    out = RespPipeline().process(t, y)
    late = out.t > 30.0
    assert np.all(np.abs(out.rate_bpm[late] - rate_bpm) < 0.05 * rate_bpm)
    true = np.interp(out.t, t, np.unwrap(ph)) % (2 * np.pi)
    known = late & np.isfinite(out.phase)
    assert known.mean() > 0.95 * late.mean()
    err = np.angle(np.exp(1j * (out.phase[known] - true[known])))
    assert abs(np.degrees(np.angle(np.mean(np.exp(1j * err))))) < 10.0  # bias
    assert np.mean(circ_err_deg(out.phase[known], true[known])) < 15.0


def test_a_breath_split_in_two_is_still_no_interval() -> None:
    """A short onset-to-onset time among usual ones (a breath cut short by a quick extra one) stays out of
    the rate: 15/min breathing in which every fifth 4-s cycle is a 1.2-s breath and a 2.8-s one."""
    t = np.arange(0.0, 120.0, 0.02)
    cyc = np.floor(t / 4.0)
    u = t % 4.0
    split = cyc % 5 == 2
    # The phase within the breath (cycles), each cycle 40% inhale.
    frac = np.where(split, np.where(u < 1.2, u / 1.2, (u - 1.2) / 2.8), u / 4.0)
    ph = np.where(frac < 0.4, np.pi * frac / 0.4, np.pi + np.pi * (frac - 0.4) / 0.6)
    y = 0.5 * (1 - np.cos(ph)) + 0.005 * np.random.default_rng(0).standard_normal(t.size)
    out = RespPipeline().process(t, y)
    intervals = np.diff([b.onset_s for b in out.breaths])
    assert np.sum(intervals < 1.5) >= 3  # quick breaths were found ...
    late = out.t > 40.0
    # ... but their intervals are left out of the rate (taken in, 18/min: a breath more every 20 s)
    assert np.nanmax(out.rate_bpm[late]) < 17.0
