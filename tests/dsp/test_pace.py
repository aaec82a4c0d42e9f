"""breathsync.dsp.pace: breath intervals since a moment against the minute before it (a CUSUM of
standardized log intervals), on constructed intervals and on a simulated leader through the live pipeline."""

from __future__ import annotations

import math

import numpy as np
import pytest

from breathsync.dsp import pace
from breathsync.dsp.pipeline import RespPipeline
from breathsync.sources.sim import SimSource


def _base(rate_bpm: float = 12.0, cv: float = 0.12, n: int = 12, seed: int = 0) -> pace.PaceBaseline:
    rng = np.random.default_rng(seed)
    iv = 60.0 / rate_bpm * np.exp(cv * rng.standard_normal(n))
    b = pace.pace_baseline(iv)
    assert b is not None
    return b


def _fed(base: pace.PaceBaseline, intervals: list[float]) -> pace.PaceChange:
    ch = pace.PaceChange(base)
    for x in intervals:
        ch.add(x)
    return ch


def test_breath_intervals_leave_out_gaps_and_impossible_intervals() -> None:
    on = np.array([0.0, 5.0, 10.0, 11.0, 16.0, 50.0, 55.0])
    valid = np.array([False, True, True, True, False, True, True])
    iv, end = pace.breath_intervals(on, valid)
    # 10 -> 11 is too short (1 s), 11 -> 16 crosses a gap, 16 -> 50 is too long (34 s).
    assert iv.tolist() == [5.0, 5.0, 5.0]
    assert end.tolist() == [5.0, 10.0, 55.0]


def test_the_baseline_is_the_minute_of_breaths_confirmed_by_the_moment() -> None:
    on = np.arange(0.0, 100.0, 5.0)  # 12/min
    det = on + 2.0
    iv = pace.baseline_intervals(on, det, 80.0)
    # Intervals ending in [20, 80] with both onsets confirmed by 80 s: the one ending at 80 (confirmed at 82)
    # is not known yet.
    assert iv.size == 12 and np.all(iv == 5.0)
    assert pace.pace_baseline(iv[:3]) is None  # too few for a spread
    b = pace.pace_baseline(iv)
    assert b is not None and b.rate_bpm == pytest.approx(12.0) and b.sd_log == 0.0


def test_a_slow_breathers_baseline_reaches_back_two_minutes() -> None:
    """At 2.9/min a minute holds 3 intervals, too few for a spread: the leader's pace was never judged
    (and a follower's baseline was taken later, from breaths that could be the change itself)."""
    rng = np.random.default_rng(3)
    on = np.cumsum(21.0 * np.exp(0.03 * rng.standard_normal(30)))
    det = on + 1.0
    at = float(on[15] + 1.0)
    assert pace.pace_baseline(pace.baseline_intervals(on, det, at)) is None
    b = pace.baseline_before(on, det, at)
    assert b is not None and b.n >= pace.MIN_BASELINE_N and b.rate_bpm == pytest.approx(60 / 21, abs=0.2)
    # A regular breather's minute is enough: the same as the minute's baseline.
    reg = np.arange(0.0, 200.0, 5.0)
    assert pace.baseline_before(reg, reg + 1, 150.0) == pace.pace_baseline(
        pace.baseline_intervals(reg, reg + 1, 150.0)
    )
    # Confirmed later: intervals that ended before the moment but were known only after it count when asked for.
    late = pace.baseline_intervals(reg, reg + 1, 150.0, known_by_s=160.0)
    assert late.size == pace.baseline_intervals(reg, reg + 1, 150.0).size + 1


def test_a_steady_pace_with_its_own_wander_is_no_change() -> None:
    base = _base(cv=0.12)
    rng = np.random.default_rng(1)
    ch = pace.PaceChange(base)
    for x in 5.0 * np.exp(0.12 * rng.standard_normal(40)):
        ch.add(float(x))
        assert not ch.changed
    assert abs(ch.change_bpm) < 2.0


def test_slowing_down_is_seen_after_a_few_breaths_and_not_before() -> None:
    base = _base(cv=0.12)
    ch = pace.PaceChange(base)
    ch.add(7.5)  # 12 -> 8/min: one breath is not a change, however clear
    ch.add(7.5)
    assert ch.changed == 0 and ch.n == 2
    ch.add(7.5)
    assert ch.changed == -1 and ch.side == -1
    assert ch.change_bpm == pytest.approx(8.0 - base.rate_bpm)


def test_speeding_up_is_a_change_the_other_way() -> None:
    ch = _fed(_base(cv=0.12), [4.0, 4.0, 4.0, 4.0])  # 12 -> 15/min
    assert ch.changed == 1 and ch.change_bpm > 2.0


def test_the_same_step_is_no_change_for_a_breather_who_wanders_that_much() -> None:
    # 12 -> 9.5/min over four breaths: a change for a regular breather, not for one whose breaths vary 35%.
    assert _fed(_base(cv=0.05), [6.3] * 4).changed == -1
    assert _fed(_base(cv=0.35), [6.3] * 4).changed == 0


def test_one_missed_breath_is_not_a_change() -> None:
    # A doubled interval (a breath the tracker missed) among steady ones: clipped, it cannot reach H alone.
    ch = _fed(_base(cv=0.12), [5.0, 5.0, 10.0])
    assert ch.changed == 0 and ch.s_slow < pace.H


def test_a_small_change_of_a_metronome_is_not_enough() -> None:
    # Beyond chance for a metronome (its spread is taken as MIN_SD), but under MIN_CHANGE_BPM.
    base = pace.pace_baseline(np.full(12, 5.0))
    assert base is not None
    ch = _fed(base, [5.6] * 6)  # 12 -> 10.7/min
    assert ch.side == -1 and ch.changed == 0


def test_back_at_the_starting_pace_is_no_change() -> None:
    ch = _fed(_base(cv=0.12), [7.5] * 4)
    assert ch.changed == -1
    for _ in range(4):
        ch.add(5.0)
    assert ch.changed == 0


def test_the_answer_does_not_depend_on_how_the_intervals_come() -> None:
    base = _base()
    ivs = [5.0, 5.5, 6.5, 7.0, 7.5, 8.0]
    a = _fed(base, ivs)
    b = pace.PaceChange(base)
    for x in ivs[:2]:
        b.add(x)
    assert not math.isnan(b.change_bpm)
    for x in ivs[2:]:
        b.add(x)
    assert (a.s_slow, a.s_fast, a.change_bpm, a.changed) == (b.s_slow, b.s_fast, b.change_bpm, b.changed)


@pytest.mark.parametrize(("to_bpm", "way"), [(8.0, -1), (16.0, 1)])
def test_a_simulated_leader_changing_pace_is_seen_after_the_change(to_bpm: float, way: int) -> None:
    # Told at 70 s, the leader changes from 90 s over 20 s; the live pipeline's onsets and confirmations.
    src = SimSource("lead", rate_bpm=12.0, to_bpm=to_bpm, ramp_s=20.0, after_s=90.0, seed=3)
    c = src.generate_until(200.0)
    out = RespPipeline().process(c.t, c.columns["resp"])
    on = np.array([b.onset_s for b in out.breaths])
    det = np.array([b.detected_s for b in out.breaths])
    base = pace.pace_baseline(pace.baseline_intervals(on, det, 70.0))
    assert base is not None and base.rate_bpm == pytest.approx(12.0, abs=1.0)
    ch = pace.PaceChange(base)
    seen = None
    for i in range(1, on.size):
        if on[i] > 70.0:
            ch.add(float(on[i] - on[i - 1]))
            if ch.changed and seen is None:
                seen = det[i]
                assert ch.changed == way
    assert seen is not None and 90.0 < seen < 150.0
