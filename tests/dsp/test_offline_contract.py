"""The contract of the offline (zero-phase) pipeline (breathsync.dsp.offline) at its edges: which values
are spikes (twice the breathing's local size, measured within 10 s, no less than a tenth of its usual size),
the quality codes of gaps, the floor of the band's lower edge, and the rest of the rules the older tests let
change unnoticed. Each test was checked to fail on a mutant of offline.py that the older tests let through."""

from __future__ import annotations

import numpy as np
import pytest

from breathsync.dsp.offline import despike, offline_breathing
from breathsync.dsp.pipeline import Quality

FS = 20.0  # the grid's rate: inputs at 20 Hz put one input sample on each grid point


def _sine(seconds: float, bpm: float = 15.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sine breathing of amplitude 1 (2 from trough to peak) at ``bpm``, sampled at 20 Hz, with 1% noise."""
    t = np.arange(round(seconds * FS)) / FS
    rng = np.random.default_rng(seed)
    return t, np.sin(2 * np.pi * bpm / 60.0 * t) + 0.01 * rng.standard_normal(t.size)


def test_a_spike_is_a_value_more_than_twice_the_breaths_size_from_its_neighbours() -> None:
    """The breath's local size is its trough-to-peak range (2 here): a value 5 away from its neighbours
    (2.5 sizes) is a spike and takes their median; one 3 away (1.5 sizes) is left alone."""
    t, y = _sine(120.0)
    for k, (at, jump) in enumerate(((600, 5.0), (1000, -5.0), (1400, 3.0), (1800, -3.0))):
        y[at + k] += jump
    out, bad = despike(y, FS)
    assert set(np.flatnonzero(bad).tolist()) == {600, 1001}
    assert abs(out[600] - np.sin(2 * np.pi * 0.25 * t[600])) < 0.1
    assert offline_breathing(t, y).despiked == 2


def test_the_breaths_size_is_measured_within_10_s() -> None:
    """In a breath hold (the signal held near one level, with sensor noise), the breathing's size is
    measured over the 10 s either side: 10.5 s into the hold, only the hold, whose size is then a tenth of
    the recording's usual one (0.2): a glitch of half a breath (1.0) there is a spike; 9 s into the hold the
    end of the breathing before it is in view (a size of 1), and the same glitch is within twice that."""
    t, y = _sine(240.0)
    hold = (t >= 100.0) & (t < 160.0)  # 100 s is a zero crossing of the sine: the hold starts at its level
    y[hold] = 0.01 * np.random.default_rng(1).standard_normal(int(hold.sum()))
    y[round(110.5 * FS)] += 1.0
    y[round(149.0 * FS)] += 1.0  # 11 s from the breathing after the hold
    y[round(109.0 * FS)] -= 1.0  # 9 s from the breathing before it: no spike
    _, bad = despike(y, FS)
    assert set(np.flatnonzero(bad).tolist()) == {round(110.5 * FS), round(149.0 * FS)}


def test_a_gap_has_the_gap_code() -> None:
    """Grid samples with no input sample within 2 s are a gap: quality GAP, no phase, no rate."""
    t, y = _sine(200.0)
    keep = (t < 90.0) | (t >= 100.0) & (t < 150.0) | (t >= 153.0)  # holes of 10 s and of 3 s
    r = offline_breathing(t[keep], y[keep])
    np.testing.assert_allclose(np.diff(r.t), 0.05)  # the live pipeline's 20-Hz grid, through the gap
    inside = (r.t > 90.5) & (r.t < 99.5)
    assert inside.sum() > 150
    assert np.all(r.quality[inside] == Quality.GAP)
    assert np.all(np.isnan(r.phase[inside])) and np.all(np.isnan(r.rate_bpm[inside]))
    assert np.all(r.quality[(r.t > 5.0) & (r.t < 85.0)] == Quality.OK)
    assert np.all(r.quality[(r.t > 150.5) & (r.t < 152.5)] == Quality.GAP)  # 3 s: longer than the 2-s rule


def test_a_value_held_for_2_s_is_flat() -> None:
    """The raw value exactly constant for 2 s or longer is flat (the sensor off): 2.5 s is; 1.5 s is not."""
    t, y = _sine(200.0)
    y[(t >= 60.0) & (t < 62.5)] = 0.3
    y[(t >= 120.0) & (t < 121.5)] = 0.3
    r = offline_breathing(t, y)
    assert np.all(r.quality[(r.t >= 60.05) & (r.t < 62.4)] == Quality.FLAT)
    assert not np.any(r.quality[(r.t > 110.0) & (r.t < 130.0)] == Quality.FLAT)


def test_held_at_the_sensors_limit_for_over_15_s_is_flat() -> None:
    """A belt clipped at the top of every breath (held at its limit about 0.8 s a breath) is tracked through
    the runs held there; held at that limit for longer than 15 s (15.4 s), it is flat (the sensor off or a
    belt that slipped); 14.4 s at the limit is still a clipped belt."""
    t = np.arange(round(300.0 * FS)) / FS
    y = np.minimum(np.sin(2 * np.pi * 0.25 * t), 0.8)  # 100 s and 200 s: the sine's zero crossing
    for start, held in ((100.0, 14.6), (200.0, 13.6)):  # with the clipped top: 15.4 s, 14.4 s
        run = (t >= start + 1.0) & (t < start + 1.0 + held)  # 101 s: the sine at its top, held at 0.8
        y[run] = 0.8
        after = t >= start + 1.0 + held
        y[after] = np.minimum(np.sin(2 * np.pi * 0.25 * (t[after] - held)), 0.8)
    r = offline_breathing(t, y)
    assert r.clip_levels[0] == pytest.approx(0.8, rel=1e-9)
    long_run = (r.t > 101.0) & (r.t < 115.5)
    assert np.all(r.quality[long_run] == Quality.FLAT) and not r.clipped[long_run].any()
    short_run = (r.t > 201.0) & (r.t < 214.5)
    assert not np.any(r.quality[short_run] == Quality.FLAT) and np.all(r.clipped[short_run] == 1)


def test_no_turning_point_for_over_10_s_is_no_breathing() -> None:
    """Among 4-s breaths, one slow swing whose halves last 10.6 s (no trough or peak for over 10 s, and over
    1.5 breaths) is no breathing; one whose halves last 9.4 s is breathing. Among 8-s breaths (7.5/min),
    1.5 breaths are 12 s: halves of 13 s are no breathing, halves of 11 s are breathing."""
    t = np.arange(round(300.0 * FS)) / FS
    for half, pause, usual in (
        (10.6, True, 0.25),
        (9.4, False, 0.25),
        (13.0, True, 0.125),
        (11.0, False, 0.125),
    ):
        f = np.where((t >= 100.0) & (t < 100.0 + 2.0 * half), 0.5 / half, usual)
        y = -np.cos(2 * np.pi * np.cumsum(f) / FS) + 0.01 * np.random.default_rng(0).standard_normal(t.size)
        r = offline_breathing(t, y)
        assert np.any(r.quality == Quality.NO_BREATHING) == pause


def test_the_lower_edge_goes_no_lower_than_0_015_hz() -> None:
    """Breathing at 1.2/min (0.02 Hz): the slow rule moves the band's lower edge to half its frequency, but
    no lower than 0.015 Hz (0.9/min: no breathing is that slow; drift is)."""
    t, y = _sine(900.0, bpm=1.2)
    assert offline_breathing(t, y).band_hz[0] == 0.015
    t, y = _sine(600.0, bpm=4.0)  # 0.067 Hz: the lower edge at half of it
    lo = offline_breathing(t, y).band_hz[0]
    assert 0.5 * 0.06 < lo < 0.5 * 0.075


def test_short_fragments_between_gaps() -> None:
    """Fragments of signal between gaps: one of up to 36 grid samples (1.8 s) is too short to filter and
    counts as a gap (0.3 s: shorter than the spike rule's window; 1.5 s; 1.8 s, 36 samples); one of 2 s
    (40 samples) or 6 s is filtered on its own and has a phase."""
    t, y = _sine(200.0)
    pieces = [
        (0.0, 60.0),
        (70.0, 70.3),
        (75.0, 76.5),
        (80.0, 81.8),
        (85.0, 87.0),
        (90.0, 96.0),
        (110.0, 200.0),
    ]
    keep = np.zeros(t.size, bool)
    for a, b in pieces:
        keep |= (t >= a) & (t < b)
    r = offline_breathing(t[keep], y[keep])
    for a, b in pieces[1:4]:
        assert np.all(r.quality[(r.t >= a - 0.5) & (r.t <= b + 0.5)] == Quality.GAP)
    assert np.sum((r.t >= 80.0) & (r.t < 81.8)) == 36
    for a, b in pieces[4:6]:
        frag = (r.t > a + 0.1) & (r.t < b - 0.1)
        assert np.all(r.quality[frag] == Quality.OK) and np.all(np.isfinite(r.phase[frag]))
    assert np.all(r.quality[(r.t > 115.0) & (r.t < 195.0)] == Quality.OK)


def test_a_pause_with_no_breath_in_the_minute_around_it_is_judged_by_the_recordings_breaths() -> None:
    """A 20-s fragment between 40-s gaps: a 2-s inhale, then an 18-s exhale (no turning point for over 10
    s). No whole breath lies within 30 s of it, so the breath interval it is compared with is the
    recording's (4 s): it is a pause (no breathing) for more than 10 s, not an error."""
    t, _ = _sine(300.0)
    y = -np.cos(2 * np.pi * 0.25 * t)
    frag = (t >= 140.0) & (t < 160.0)
    u = t[frag] - 140.0
    y[frag] = np.where(u < 2.0, -np.cos(np.pi * u / 2.0), np.cos(np.pi * (u - 2.0) / 18.0))
    y += 0.01 * np.random.default_rng(0).standard_normal(t.size)
    keep = (t < 100.0) | frag | (t >= 200.0)
    r = offline_breathing(t[keep], y[keep])
    paused = (r.quality == Quality.NO_BREATHING) & (r.t > 140.0) & (r.t < 160.0)
    assert paused.sum() / FS > 10.0
    assert not np.any((r.onsets_s > r.t[paused][0]) & (r.onsets_s < r.t[paused][-1]))
    assert np.all(r.quality[(r.t > 5.0) & (r.t < 95.0)] == Quality.OK)


def test_two_onsets_make_one_breath_with_its_rate() -> None:
    """A recording with only two inhale onsets (10 s at 12/min: troughs at 3.75 s and 8.75 s) has one breath
    from the first to the second, its rate 60 / its length (12/min) held over it."""
    t = np.arange(round(10.0 * FS)) / FS
    r = offline_breathing(t, np.sin(2 * np.pi * 0.2 * t))
    assert r.onsets_s.size == 2
    held = (r.t >= r.onsets_s[0]) & (r.t < r.onsets_s[1])
    np.testing.assert_allclose(r.rate_bpm[held], 60.0 / (r.onsets_s[1] - r.onsets_s[0]))
    assert abs(np.nanmean(r.rate_bpm) - 12.0) < 0.5


def test_slow_breaths_after_fast_ones_are_judged_by_the_minute_around_them() -> None:
    """3/min with a 40% inhale (halves of 8 and 12 s) after 200 s at 15/min: the 12-s exhales go over 10 s
    without a turning point, but once the minute around them holds slow breaths (20 s long: 1.5 x 20 =
    30 s) they are no pause. Against the recording's median breath (4 s), every exhale would be one. (The
    first, with the fast breaths around it, is: the rule's limit.)"""
    t = np.arange(round(440.0 * FS)) / FS
    u = t - 200.0
    cyc = np.mod(u, 20.0)
    slow = np.where(cyc < 8.0, -np.cos(np.pi * cyc / 8.0), np.cos(np.pi * (cyc - 8.0) / 12.0))
    y = np.where(t < 200.0, -np.cos(2 * np.pi * 0.25 * t), slow)
    y += 0.01 * np.random.default_rng(2).standard_normal(t.size)
    r = offline_breathing(t, y)
    assert not np.any(r.quality[(r.t > 5.0) & (r.t < 200.0)] == Quality.NO_BREATHING)
    assert not np.any(r.quality[(r.t > 240.0) & (r.t < 435.0)] == Quality.NO_BREATHING)


def test_shallow_breathing_for_under_10_s_is_breathing_and_for_longer_is_not() -> None:
    """Breaths at a twentieth of the usual size (under a tenth) for 6 s are breathing; for 30 s, on a
    baseline that sags by half a breath (no hold to the raw signal's rule) they are no breathing (the
    apnoea rule on the breath amplitude: under a tenth of the typical one for 10 s or longer)."""
    t, y = _sine(300.0)
    short = (t >= 100.0) & (t < 106.0)
    y[short] *= 0.05
    long = (t >= 200.0) & (t < 230.0)
    y[long] = 0.05 * y[long] - 0.5 * (t[long] - 200.0) / 30.0
    y[t >= 230.0] -= 0.5
    r = offline_breathing(t, y)
    assert not np.any(r.quality[(r.t > 5.0) & (r.t < 195.0)] == Quality.NO_BREATHING)
    paused = r.quality == Quality.NO_BREATHING
    assert np.all(paused[(r.t > 204.0) & (r.t < 226.0)])
    assert not np.any(paused[(r.t > 240.0) & (r.t < 295.0)])


def test_the_spectrum_weighs_each_segment_by_its_length() -> None:
    """The slow rule reads the power spectrum summed over the segments, each as long as it is: 300 s at
    15/min and, after a gap, 25 s at 3/min are breathing at 15/min, and the band is kept."""
    t = np.arange(round(340.0 * FS)) / FS
    y = np.where(t < 300.0, np.sin(2 * np.pi * 0.25 * t), np.sin(2 * np.pi * 0.05 * t))
    keep = (t < 300.0) | (t >= 315.0)
    r = offline_breathing(t[keep], y[keep])
    assert r.band_hz == (0.05, 0.8)


def test_a_limit_is_a_value_held_again_within_30_s() -> None:
    """A value held twice (1 s each), reached from below and never passed between, is the sensor's limit
    only when the second time comes within 30 s of the first: 40 s apart, it is just breathing held at
    its top twice, and nothing is clipped."""
    t, y = _sine(200.0)
    for start in (60.0, 100.0):
        y[(t >= start) & (t < start + 1.0)] = 1.2
    r = offline_breathing(t, y)
    assert not r.clipped.any() and np.isnan(r.clip_levels[0])
    y[(t >= 80.0) & (t < 81.0)] = 0.8  # held at 0.8 20 s later, but the breaths went past 0.8 between
    y[(t >= 60.0) & (t < 61.0)] = 0.8
    r = offline_breathing(t, y)
    assert not r.clipped.any() and np.isnan(r.clip_levels[0])
    y[(t >= 60.0) & (t < 61.0)] = 1.2
    y[(t >= 80.0) & (t < 81.0)] = 1.2  # and once between them: 20 s apart, a limit
    r = offline_breathing(t, y)
    assert r.clipped.any() and r.clip_levels[0] == pytest.approx(1.2, rel=1e-9)


def test_the_clip_level_is_the_value_held_longest() -> None:
    """A belt clipped at 0.8 for 200 s, then (its gain changed) at 0.7 for the last 100 s: the upper limit
    reported is the one held longest, 0.8, though 0.7 is the later."""
    t = np.arange(round(300.0 * FS)) / FS
    y = np.minimum(np.sin(2 * np.pi * 0.25 * t), np.where(t < 200.0, 0.8, 0.7))
    r = offline_breathing(t, y)
    assert r.clip_levels[0] == pytest.approx(0.8, rel=1e-9)
    assert np.any(r.clipped[r.t > 200.0] == 1)  # the later tops are clipped too


def test_a_top_read_twice_is_no_limit() -> None:
    """A coarse ADC reads the top (bottom) of each breath as the same value on two grid points: a value held
    for under three grid values (0.1 s) is no sensor limit, however often it comes back."""
    t = np.arange(round(200.0 * FS)) / FS
    y = np.round(np.sin(2 * np.pi * 0.25 * (t + 0.025)) * 1000.0) / 1000.0  # tops between two grid points
    assert np.sum(np.diff(y) == 0) > 50  # the tops and bottoms: two equal values each
    r = offline_breathing(t, y)
    assert not r.clipped.any()


def test_one_slow_breath_alone_is_breathing() -> None:
    """A 40-s recording of one slow breath (a trough at 10 s, a peak at 26 s, halves of 16 s): with no
    whole breath, the breath interval is twice the half breath (32 s), so the 16-s half is no pause."""
    t = np.arange(round(40.0 * FS)) / FS
    r = offline_breathing(t, -np.cos(2 * np.pi * (t - 10.0) / 32.0))
    assert not np.any(r.quality == Quality.NO_BREATHING)
