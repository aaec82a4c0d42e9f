"""The contract of breathing from RR intervals (breathsync.dsp.rr) at its edges: the plausible RR range,
the local median that finds ectopic beats (centred offline, the preceding beats live), the re-anchoring of
late beat times, the 4-s gap and the 10-s shortest segment, the live path's filter delay, and inputs of
unequal length or out of order. Each test was checked to fail on a mutant of rr.py that the older tests
let through."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from breathsync.dsp.rr import (
    BAND_HZ,
    FILTER_GROUP_DELAY_S,
    FILTER_PHASE_DELAY_S,
    RESAMPLE_FS_HZ,
    RRRespiration,
    beat_times_from_rr,
    filter_phase_delay_s,
    inherent_lag_s,
    rr_artefacts,
    rr_to_resp_offline,
)


def _beats(
    rate_bpm: float = 12.0, duration_s: float = 120.0, rr0_ms: float = 923.0, rsa_ms: float = 60.0
) -> tuple[np.ndarray, np.ndarray]:
    """Exact beat times (s) and RR intervals (ms) of a heart that speeds up on inhale: each interval is
    ``rsa_ms`` x sin(breathing) shorter than ``rr0_ms`` at its midpoint (breathing = sin, rising on inhale)."""
    t, beats, rrs = 0.5, [], []
    while t < duration_s:
        rr = rr0_ms - rsa_ms * np.sin(2 * np.pi * rate_bpm / 60.0 * (t + rr0_ms / 2000.0))
        t += rr / 1000.0
        beats.append(t)
        rrs.append(rr)
    return np.asarray(beats), np.asarray(rrs)


def _both_medians(rr: np.ndarray) -> tuple[set[int], set[int]]:
    """The artefact beats (indices) of the offline (centred) and the live (preceding beats) rule."""
    return set(np.flatnonzero(rr_artefacts(rr)).tolist()), set(np.flatnonzero(rr_artefacts(rr, causal=True)))


@pytest.mark.parametrize("level", [300.0, 2000.0])  # the documented range, not the constants
def test_the_plausible_rr_range_includes_its_ends(level: float) -> None:
    """300 ms (200 beats/min) and 2000 ms (30 beats/min) are plausible beats; a beat just past either is an
    artefact, even when it is close to its neighbours (within the 30% of the median rule)."""
    rr = np.full(30, level)
    assert _both_medians(rr) == (set(), set())
    past = level - 0.5 if level == 300.0 else level + 0.5
    rr[15] = past
    assert _both_medians(rr) == ({15}, {15})
    # Well past the limit, still within 30% of the median: the range alone rules it out.
    rr[15] = 0.85 * level if level == 300.0 else 1.2 * level
    assert _both_medians(rr) == ({15}, {15})
    live = RRRespiration()
    live.process(np.cumsum(rr) / 1000.0, rr)
    assert live.n_artefacts == 1
    # At the limit, a beat in range but 50% (40%) off its neighbours is an artefact too: the beats at
    # the limit make up the median.
    rr[15] = 1.5 * level if level == 300.0 else 0.6 * level
    assert _both_medians(rr) == ({15}, {15})
    live = RRRespiration()
    live.process(np.cumsum(rr) / 1000.0, rr)
    assert live.n_artefacts == 1


def test_a_beat_exactly_30_percent_off_is_kept() -> None:
    """Beats more than 30% from the local median are dropped: 30% is kept, 31% is not (offline and live)."""
    for off, dropped in ((1.3, False), (0.7, False), (1.31, True), (0.69, True)):
        rr = np.full(30, 1000.0)
        rr[15] = off * 1000.0
        assert _both_medians(rr) == (({15}, {15}) if dropped else (set(), set()))
        live = RRRespiration()
        live.process(np.cumsum(rr) / 1000.0, rr)
        assert live.n_artefacts == int(dropped)


def test_the_median_is_over_in_range_beats_only() -> None:
    """A strap that misses detections (RR read as 2500 ms, out of range) two beats in three: the in-range
    beats between them are judged against in-range beats only, so none of them is dropped; the misses are."""
    rr = np.tile([1000.0, 2500.0, 2500.0], 12)
    off, live = _both_medians(rr)
    misses = set(np.flatnonzero(rr == 2500.0).tolist())
    assert off == misses and live == misses


def test_three_beats_are_enough_for_a_median() -> None:
    """The local median needs three in-range beats (offline: within the 9-beat window; live: before the
    beat): a burst of three beats, the last 45% short, has it dropped offline."""
    assert _both_medians(np.array([800.0, 800.0, 440.0])) == ({2}, set())
    assert _both_medians(np.array([800.0, 800.0, 800.0, 440.0])) == ({3}, {3})
    live = RRRespiration()
    live.process([1.0, 1.8, 2.6, 3.04], [800.0, 800.0, 800.0, 440.0])
    assert live.n_artefacts == 1


def test_offline_median_is_centred_and_live_median_looks_back() -> None:
    """Offline the median is centred on the beat; live it is over the beats before it (what RRRespiration
    does). An ectopic second beat has no three beats before it, so only the offline rule drops it; a step of
    the heart rate by 40% (800 -> 1120 ms) is no artefact offline, and live only for the first beats of the
    new level, until they are the median of the beats before."""
    rr = np.array([800.0, 440.0, *[800.0] * 10])
    off, live = _both_medians(rr)
    assert off == {1} and live == set()
    step = np.array([800.0] * 20 + [1120.0] * 20)
    off, live = _both_medians(step)
    assert off == set()
    assert live and min(live) == 20 and max(live) < 20 + 8
    runner = RRRespiration()
    runner.process(np.cumsum(step) / 1000.0, step)
    assert runner.n_artefacts == len(live)


def test_the_live_median_is_over_the_eight_beats_before() -> None:
    """rr_artefacts(causal=True) is what RRRespiration does: the median of the 8 in-range beats before a
    beat (the 9-beat window less the beat itself). After ten beats of 1000 ms and four of 720 ms, that
    median is 860 ms and a beat of 1000 ms is 16% off it (kept); over the 7 beats before, it would be 720
    ms and the beat 39% off."""
    rr = np.array([1000.0] * 10 + [720.0] * 4 + [1000.0] * 10)
    assert _both_medians(rr) == (set(), set())
    live = RRRespiration()
    live.process(np.cumsum(rr) / 1000.0, rr)
    assert live.n_artefacts == 0


def test_a_beat_far_behind_its_notification_is_re_anchored() -> None:
    """A beat time is rebuilt from the RR intervals, but never more than 1.5 s behind the host time of its
    notification (beats were lost): then it takes the host time."""
    rr = [1000.0] * 4
    np.testing.assert_allclose(beat_times_from_rr([1.0, 2.0, 3.0, 5.4], rr), [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(beat_times_from_rr([1.0, 2.0, 3.0, 6.0], rr), [1.0, 2.0, 3.0, 6.0])


def _drop(bt: np.ndarray, rr: np.ndarray, first: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    keep = np.ones(bt.size, bool)
    keep[first : first + count] = False
    return bt[keep], rr[keep]


@pytest.mark.parametrize(("lost", "is_gap"), [(3, False), (4, True)])
def test_nodes_more_than_4_s_apart_are_a_gap(lost: int, is_gap: bool) -> None:
    """Interpolation nodes more than 4 s apart (lost beats) are a gap: NaN between them, offline and live;
    nodes closer than that are interpolated across. 3 beats lost: 4 x 0.92 s = 3.7 s between nodes; 4
    lost: 5 x 0.92 s = 4.6 s."""
    b, r = _drop(*_beats(), 60, lost)
    nodes = b - r / 2000.0
    a, z = nodes[59], nodes[60]
    assert (z - a > 4.0) == is_gap
    for t, y in (rr_to_resp_offline(b, r), RRRespiration().process(b, r)):
        inside = (t > a + 0.3) & (t < z - 0.3)
        assert np.any(inside)
        assert np.all(np.isnan(y[inside])) == is_gap and np.all(np.isfinite(y[inside])) != is_gap
        # Every grid sample is there, once, the gap's as NaN.
        np.testing.assert_allclose(np.diff(t), 0.25)


@pytest.mark.parametrize(("beats", "filtered"), [(10, False), (11, True)])
def test_a_segment_shorter_than_10_s_is_not_filtered(beats: int, filtered: bool) -> None:
    """Offline, a stretch of beats between two gaps whose nodes span less than 10 s (9.45 s) is too short
    to band-pass and stays NaN; 10.5 s is filtered."""
    rr_ms = 1050.0
    before = np.arange(1.0, 60.0, rr_ms / 1000.0)
    middle = before[-1] + 10.0 + np.arange(beats) * rr_ms / 1000.0
    after = middle[-1] + 10.0 + np.arange(60) * rr_ms / 1000.0
    bt = np.concatenate((before, middle, after))
    rr = np.full(bt.size, rr_ms)
    t, y = rr_to_resp_offline(bt, rr)
    nodes = middle - rr_ms / 2000.0
    seg = (t > nodes[0]) & (t <= nodes[-1])
    assert abs(seg.sum() - (nodes[-1] - nodes[0]) * RESAMPLE_FS_HZ) < 1.0
    assert (seg.sum() >= 10.0 * 4.0) == filtered  # 10 s on the 4-Hz grid
    assert np.all(np.isfinite(y[seg])) == filtered and np.all(np.isnan(y[seg])) != filtered
    assert np.all(np.isfinite(y[(t > before[5]) & (t < before[-5])]))


@pytest.mark.parametrize("rate_bpm", [6.0, 15.0])
def test_the_live_waveform_is_delayed_by_the_filters_phase_delay(rate_bpm: float) -> None:
    """The live waveform's samples are stamped at the times they describe, so against the zero-phase offline
    waveform it is shifted by the causal band-pass's phase delay at the breathing rate alone
    (filter_phase_delay_s: a delay at 15/min, a lead at 6/min, below the band's centre); inherent_lag_s adds
    the wait for the next beat (one RR)."""
    bt, rr = _beats(rate_bpm, 400.0)
    to, yo = rr_to_resp_offline(bt, rr)
    tl, yl = RRRespiration().process(bt, rr)
    f = rate_bpm / 60.0
    w = (tl > 60.0) & (tl < 350.0)
    off = np.interp(tl[w], to, yo)
    basis = np.exp(-2j * np.pi * f * tl[w])
    lag = np.angle(np.sum(off * basis) / np.sum(yl[w] * basis)) / (2 * np.pi * f)
    expected = filter_phase_delay_s(rate_bpm)
    assert expected == FILTER_PHASE_DELAY_S[rate_bpm]
    assert (expected > 0) == (rate_bpm == 15.0)
    assert lag == pytest.approx(expected, abs=0.05)
    assert inherent_lag_s(rate_bpm, 800.0) == pytest.approx(0.8 + expected)


def test_extra_values_of_the_longer_input_are_ignored() -> None:
    """Beat times and RR values of unequal length: the extra values of the longer one are left out, offline
    and live (not an error, nor beats made up)."""
    bt, rr = _beats(duration_s=60.0)
    short = (bt[:-5], rr[:-5])
    for args in ((bt, rr[:-5]), (bt[:-5], rr)):
        for run in (rr_to_resp_offline, lambda b, r: RRRespiration().process(b, r)):
            t, y = run(*args)
            t0, y0 = run(*short)
            np.testing.assert_array_equal(t, t0)
            np.testing.assert_array_equal(y, y0)


def test_a_beat_without_a_positive_rr_takes_its_host_time() -> None:
    """A beat whose RR is missing, zero or negative cannot be placed from the one before: it takes the host
    time of its notification."""
    host = [1.0, 2.0, 3.0, 4.0, 5.0]
    # No RR at all for the last two beats (fewer RR values than beats).
    np.testing.assert_allclose(beat_times_from_rr(host, [1000.0, 600.0, 600.0]), [1.0, 1.6, 2.2, 4.0, 5.0])
    np.testing.assert_allclose(
        beat_times_from_rr(host, [1000.0, 1000.0, 0.0, np.nan, -5.0]), [1.0, 2.0, 3.0, 4.0, 5.0]
    )
    # Any positive RR, however short, places the beat from the one before (0.5 ms: 1.0005 s).
    np.testing.assert_allclose(beat_times_from_rr([1.0, 2.0], [1000.0, 0.5]), [1.0, 1.0005])
    # With an RR, the beat is placed from the one before (here 0.6 s after it, before its notification).
    np.testing.assert_allclose(
        beat_times_from_rr(host, [1000.0, 600.0, 0.0, 600.0, 1000.0]), [1, 1.6, 3, 3.6, 4.6]
    )


def test_live_after_a_long_silence_the_old_median_no_longer_applies() -> None:
    """Live, beats more than 4 s apart (the strap was off) start the local median afresh: a heart at 100
    beats/min after a silence is not judged against the 60 beats/min before it (40% off: artefacts)."""
    first = np.arange(1.0, 61.0)
    second = first[-1] + 10.0 + np.arange(60) * 0.6
    bt = np.concatenate((first, second))
    rr = np.concatenate((np.full(first.size, 1000.0), np.full(second.size, 600.0)))
    live = RRRespiration()
    t, y = live.process(bt, rr)
    assert live.n_artefacts == 0
    assert np.all(np.isfinite(y[t > second[1]]))


def test_live_beat_times_are_rebuilt_from_late_notifications() -> None:
    """Live, as offline, the beat times are rebuilt from the RR intervals, not taken from notifications
    that come once a second: the waveform from late notifications is the one from the exact beat times."""
    bt, rr = _beats(12.0, 180.0)
    host = np.ceil(bt)  # a notification a second, up to 1 s after its beats
    np.testing.assert_allclose(beat_times_from_rr(host, rr)[5:], bt[5:], atol=0.05)
    t0, y0 = RRRespiration().process(bt, rr)
    t1, y1 = RRRespiration().process(host, rr)
    _, i, j = np.intersect1d(t0, t1, return_indices=True)
    late = t0[i] > 40.0
    assert np.max(np.abs(y0[i][late] - y1[j][late])) < 0.05 * np.max(np.abs(y0[i][late]))


@pytest.mark.parametrize("rate_bpm", [6.0, 15.0, 30.0])
def test_the_group_delay_is_the_slope_of_the_filters_phase(rate_bpm: float) -> None:
    """FILTER_GROUP_DELAY_S is the causal band-pass's group delay, -d(phase)/d(angular frequency), and
    FILTER_PHASE_DELAY_S its phase delay, -phase / angular frequency, of the documented filter (2nd-order
    Butterworth band-pass 0.05-0.5 Hz on the 4-Hz grid), its phase read at and around the breathing rate."""
    sos = signal.butter(2, BAND_HZ, "bandpass", fs=RESAMPLE_FS_HZ, output="sos")
    f, df = rate_bpm / 60.0, 1e-4
    _, h = signal.sosfreqz(sos, worN=[f - df, f, f + df], fs=RESAMPLE_FS_HZ)
    ph = np.unwrap(np.angle(h))
    assert FILTER_GROUP_DELAY_S[rate_bpm] == pytest.approx(-(ph[2] - ph[0]) / (2 * np.pi * 2 * df), abs=1e-3)
    assert FILTER_PHASE_DELAY_S[rate_bpm] == pytest.approx(-ph[1] / (2 * np.pi * f), abs=1e-3)


def test_the_delay_tables_hold_the_documented_rates() -> None:
    """FILTER_PHASE_DELAY_S and FILTER_GROUP_DELAY_S are keyed by the breathing rates 6, 10, 15, 20 and 30
    breaths/min, each the filter's delay at that rate."""
    rates = {6.0, 10.0, 15.0, 20.0, 30.0}
    assert set(FILTER_PHASE_DELAY_S) == rates and set(FILTER_GROUP_DELAY_S) == rates
    for r in rates:
        assert FILTER_PHASE_DELAY_S[r] == filter_phase_delay_s(r)


def test_the_offline_grid_lies_within_the_beats() -> None:
    """The offline grid runs from the first multiple of 0.25 s after the first node (the midpoint of the
    first accepted RR interval) to the last one at or before the last node: no sample is extrapolated."""
    bt, rr = _beats(12.0, 60.0)
    t, _ = rr_to_resp_offline(bt, rr)
    nodes = bt - rr / 2000.0
    step = 1.0 / RESAMPLE_FS_HZ
    assert nodes[0] < t[0] <= nodes[0] + step and nodes[-1] - step < t[-1] <= nodes[-1]
    np.testing.assert_allclose(np.diff(t), step)


def test_a_gap_after_the_first_beat_and_before_the_last_is_a_gap() -> None:
    """A lone beat, 6 s of silence, breathing, 6 s of silence, a lone beat: the first two nodes and the last
    two are more than 4 s apart, so the samples between them are NaN (offline and live)."""
    bt, rr = _beats(12.0, 120.0)
    bt = np.concatenate(([bt[0] - 6.0], bt, [bt[-1] + 6.0]))
    rr = np.concatenate(([rr[0]], rr, [rr[-1]]))
    nodes = bt - rr / 2000.0
    for t, y in (rr_to_resp_offline(bt, rr), RRRespiration().process(bt, rr)):
        for a, z in ((nodes[0], nodes[1]), (nodes[-2], nodes[-1])):
            between = (t > a + 0.25) & (t < z - 0.25)
            assert between.sum() >= 16 and np.all(np.isnan(y[between]))


@pytest.mark.parametrize(("beats", "filtered"), [(16, False), (18, True)])
def test_at_a_slow_grid_rate_a_segment_needs_the_filters_padding(beats: int, filtered: bool) -> None:
    """At a grid rate of 1 Hz, 10 s are 10 grid samples, fewer than the zero-phase filter needs (more than
    its padding of 15): a segment of 15 samples stays NaN (not an error), one of 17 is filtered."""
    seg = 40.0 + np.arange(beats)
    bt = np.concatenate((np.arange(1.0, 31.0), seg, seg[-1] + 10.0 + np.arange(60.0)))
    t, y = rr_to_resp_offline(bt, np.full(bt.size, 1000.0), fs=1.0)
    inside = (t > seg[0] - 0.5) & (t <= seg[-1] - 0.5)
    assert inside.sum() == beats - 1
    assert np.all(np.isfinite(y[inside])) == filtered and np.all(np.isnan(y[inside])) != filtered
    assert np.all(np.isfinite(y[(t > 1.0) & (t < 29.0)]))


def test_an_upper_edge_past_the_grids_reach_is_lowered() -> None:
    """A band whose upper edge is at or above the grid's Nyquist frequency (2 Hz at 4 Hz) is cut to 0.45 x
    the grid rate, not an error."""
    bt, rr = _beats(12.0, 60.0)
    t, y = rr_to_resp_offline(bt, rr, band_hz=(0.05, 2.5))
    t1, y1 = rr_to_resp_offline(bt, rr, band_hz=(0.05, 0.45 * RESAMPLE_FS_HZ))
    np.testing.assert_array_equal(t, t1)
    np.testing.assert_allclose(y, y1)
    live = RRRespiration(band_hz=(0.05, 2.5)).process(bt, rr)
    np.testing.assert_allclose(live[1], RRRespiration(band_hz=(0.05, 1.8)).process(bt, rr)[1])


def test_live_emits_every_grid_sample_at_a_fast_heart_rate() -> None:
    """At 200 beats/min (RR 300 ms) a beat brings one or two grid samples: every one is emitted once and in
    order, the grid has no holes."""
    rr = np.full(400, 300.0)
    t, y = RRRespiration().process(np.cumsum(rr) / 1000.0, rr)
    np.testing.assert_allclose(np.diff(t), 1.0 / RESAMPLE_FS_HZ)
    assert np.all(np.isfinite(y))


def test_a_beat_stamped_before_the_one_before_is_dropped() -> None:
    """A notification stamped a second before the one before it (a host clock glitch) puts its beat's node
    before the previous node: that node is dropped, offline and live, as if the beat had no RR (an
    artefact), rather than interpolated backwards in time."""
    bt, rr = _beats(12.0, 120.0)
    host = bt.copy()
    host[60] = host[59] - 1.0
    no_rr = rr.copy()
    no_rr[60] = np.nan
    t, y = rr_to_resp_offline(host, rr)
    t0, y0 = rr_to_resp_offline(host, no_rr)
    np.testing.assert_array_equal(t, t0)
    np.testing.assert_allclose(y, y0, rtol=0, atol=1e-9)
    live, live0 = RRRespiration(), RRRespiration()
    t, y = live.process(host, rr)
    t0, y0 = live0.process(host, no_rr)
    np.testing.assert_array_equal(t, t0)
    np.testing.assert_allclose(y, y0, rtol=0, atol=1e-9)
    assert live.n_artefacts == live0.n_artefacts == 1
