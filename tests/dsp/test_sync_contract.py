"""The synchrony definitions of breathsync.dsp.sync checked from first principles, one rule at a time.

Each test states a definition (the module docstring, the README's "Definitions", notes/signal.md) with
hand-made inputs whose right answer follows from the definition alone, or compares a fast path with a
plain one-window-at-a-time version of the same definition. They were written against a mutation run of
sync.py: each catches changes to the code that no other test noticed.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from breathsync.dsp.sync import (
    GridRing,
    LivePairSync,
    PairSync,
    SyncConfig,
    in_sync_rule,
    kuramoto_order,
    live_surrogate_nulls,
    pair_sync,
    pair_windows,
    phase_on_grid,
    surrogate_null,
    who_led,
)

FS = 10.0
TWO_PI = 2 * math.pi


def _noisy_phase(duration_s: float, rate_bpm: float, diffusion: float, seed: int) -> np.ndarray:
    """Wrapped phase of a breather at ``rate_bpm`` whose rhythm wanders (phase diffusion, rad^2/s), 10 Hz."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * FS)
    steps = TWO_PI * rate_bpm / 60 / FS + math.sqrt(2 * diffusion / FS) * rng.standard_normal(n)
    return np.cumsum(steps) % TWO_PI


def _lead_angle(lead_s: float, rate_bpm: float) -> float:
    """The relative phase (rad) of a lead of ``lead_s`` seconds at ``rate_bpm``."""
    return lead_s * TWO_PI * rate_bpm / 60.0


# ------------------------------------------------------------------------------------------ in sync
def test_in_sync_is_plv_strictly_above_chance_and_within_45_degrees_either_way() -> None:
    # "in sync: PLV above the null AND |mean relative phase| <= max_rel_phase_deg (45 deg)"; unknown is no.
    edge = math.radians(45.0)
    over = math.radians(45.5)
    plv = np.array([0.6, 0.6, 0.5, 0.6, 0.6, np.nan, 0.6, 0.49])
    rel = np.array([edge, -edge, 0.0, over, -over, 0.0, 0.0, 0.0])
    got = in_sync_rule(plv, 0.5, rel, SyncConfig())
    assert got.tolist() == [True, True, False, False, False, False, True, False]
    # A per-window chance level counts window by window; a stricter angle setting is obeyed.
    per_window = in_sync_rule([0.7, 0.7], [0.6, 0.8], [0.0, 0.0], SyncConfig())
    assert per_window.tolist() == [True, False]
    strict = SyncConfig(max_rel_phase_deg=20.0)
    with pytest.raises(dataclasses.FrozenInstanceError):  # one settings object is shared by every pair
        strict.max_rel_phase_deg = 45.0  # type: ignore[misc]
    assert in_sync_rule([0.9, 0.9], 0.5, [math.radians(19.9), math.radians(20.1)], strict).tolist() == [
        True,
        False,
    ]


# --------------------------------------------------------------------------------- live pair state
def test_the_live_state_scores_a_window_by_the_definitions() -> None:
    # sync score = clip((PLV - null) / (1 - null), 0, 1); lag = relative phase in seconds at the mean rate.
    live = LivePairSync()
    st = live.state(123, 0.75, 0.2, 0.9, 0.5, -2.0, 12.0)
    assert st.k_end == 123 and st.plv == 0.75 and st.rel_phase_rad == 0.2 and st.coverage == 0.9
    assert st.sync_score == pytest.approx(0.5, abs=1e-12)
    assert st.lag_s == pytest.approx(0.2 / (TWO_PI * 12.0 / 60.0), abs=1e-12)
    assert st.in_sync and st.null_plv == 0.5 and st.rate_diff_bpm == -2.0 and st.mean_rate_bpm == 12.0
    # Below chance: score 0 (not negative), not in sync; B ahead: a negative lag.
    low = live.state(1, 0.3, -0.2, 1.0, 0.5, 0.0, 15.0)
    assert low.sync_score == 0.0 and not low.in_sync
    assert low.lag_s == pytest.approx(-0.2 / (TWO_PI * 15.0 / 60.0), abs=1e-12)
    # Locked beyond 45 degrees: scored above chance, but not in sync.
    late = live.state(1, 0.95, math.radians(60.0), 1.0, 0.5, 0.0, 15.0)
    assert late.sync_score == pytest.approx(0.9, abs=1e-12) and not late.in_sync
    # No known rate: no lag in seconds, the rest is still scored.
    for rate in (0.0, math.nan):
        norate = live.state(1, 0.75, 0.2, 1.0, 0.5, 0.0, rate)
        assert math.isnan(norate.lag_s) and norate.in_sync and norate.sync_score == pytest.approx(0.5)


def test_the_live_state_needs_min_coverage_of_the_window() -> None:
    # Both phases known on at least min_coverage (80%) of the window: at exactly 80% it is scored, under it
    # the window is unknown (PLV, phase, lag, score NaN; not in sync) though its chance level is still given.
    live = LivePairSync()
    at = live.state(7, 0.95, 0.1, 0.8, 0.5, 1.0, 12.0)
    assert at.plv == 0.95 and at.in_sync
    under = live.state(7, 0.95, 0.1, 0.79, 0.5, 1.0, 12.0)
    assert math.isnan(under.plv) and math.isnan(under.rel_phase_rad) and math.isnan(under.lag_s)
    assert math.isnan(under.sync_score) and not under.in_sync
    assert under.null_plv == 0.5 and under.coverage == 0.79 and under.rate_diff_bpm == 1.0
    # A PLV already unknown (a phase unknown at the window's end) stays unknown at full coverage.
    gone = live.state(7, math.nan, math.nan, 1.0, 0.5, 1.0, 12.0)
    assert math.isnan(gone.sync_score) and not gone.in_sync


# ---------------------------------------------------------------------------------------- pair_sync
def _drifting_pair(duration_s: float = 150.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, A, B): B's phase wanders around A's (a slow swing of +-1.2 rad around 0.3 rad behind), so the
    PLV and the relative phase of the windows move, in and out of the 45-degree band."""
    t = np.arange(round(duration_s * FS)) / FS
    pa = (TWO_PI * 0.2 * t) % TWO_PI
    pb = (pa - 0.3 - 1.2 * np.sin(TWO_PI * t / 70.0)) % TWO_PI
    return t, pa, pb


def test_pair_sync_fields_follow_their_definitions() -> None:
    t, pa, pb = _drifting_pair()
    ra, rb = np.full(t.size, 11.0), np.full(t.size, 13.0)
    for causal in (True, False):
        ps = pair_sync(t, pa, pb, ra, rb, SyncConfig(), causal=causal, null_plv=0.8)
        ok = np.isfinite(ps.plv)
        assert ok.sum() > 0.6 * t.size and (~ok).sum() > 0
        # PLV and relative phase of a window: |mean exp(i dphi)| and its angle, over that window's samples.
        n_win = 300
        for i in np.flatnonzero(ok)[::97]:
            lo = i + 1 - n_win if causal else i - n_win // 2
            d = (pa - pb)[max(lo, 0) : lo + n_win]
            z = np.mean(np.exp(1j * d))
            assert ps.plv[i] == pytest.approx(abs(z), abs=1e-9)
            assert ps.rel_phase_rad[i] == pytest.approx(np.angle(z), abs=1e-9)
        # Rate A - rate B; the pair's mean rate; the lag is the relative phase in seconds at that rate.
        assert np.allclose(ps.rate_diff_bpm[ok], -2.0) and np.allclose(ps.mean_rate_bpm[ok], 12.0)
        np.testing.assert_allclose(ps.lag_s[ok], ps.rel_phase_rad[ok] / (TWO_PI * 12.0 / 60.0), atol=1e-12)
        score = np.clip((ps.plv[ok] - 0.8) / (1.0 - 0.8), 0.0, 1.0)
        np.testing.assert_allclose(ps.sync_score[ok], score, atol=1e-12)
        assert (score == 0.0).any() and ((score > 0.0) & (score < 1.0)).any()  # PLV 0.72..0.96: both kinds
        want = (ps.plv > 0.8) & (np.abs(ps.rel_phase_rad) <= math.radians(45.0)) & ok
        assert np.array_equal(ps.in_sync, want) and want.any() and (ok & ~want).any()
        # Where the window is unknown, everything about it is.
        for f in (ps.rel_phase_rad, ps.lag_s, ps.sync_score):
            assert np.isnan(f[~ok]).all()
        assert not ps.in_sync[~ok].any()


def test_the_chance_level_follows_session_time_not_the_first_sample() -> None:
    # A pair whose grid starts at 1.7 s of session time: the surrogates use the samples at whole multiples
    # of 0.5 s of that time, and the live level changes at its whole 5 s, as live_surrogate_nulls and
    # surrogate_null compute them for that first index (17), not as for a grid starting at 0.
    n = 1300
    t = 1.7 + np.arange(n) / FS
    pa = _noisy_phase(n / FS, 13.0, 0.3, 41)
    pb = _noisy_phase(n / FS, 14.0, 0.3, 42)
    r = np.full(n, 13.5)
    cfg = SyncConfig()
    live = pair_sync(t, pa, pb, r, r, cfg)
    want = live_surrogate_nulls(pa, pb, FS, cfg, k_first=17)
    np.testing.assert_array_equal(live.null_plv, np.where(np.isfinite(want), np.minimum(want, 0.9), 0.9))
    changes = np.flatnonzero(np.diff(live.null_plv)) + 1  # the indices where a new level takes over
    assert changes.size > 5 and np.all((17 + changes) % 50 == 0)  # at whole 5 s of session time
    offline = pair_sync(t, pa, pb, r, r, cfg, causal=False)
    null = surrogate_null(pa, pb, FS, cfg, 17)
    assert null is not None and null < 0.9 and np.all(offline.null_plv == null)
    assert null != surrogate_null(pa, pb, FS, cfg, 0)  # (other samples give another level)


def test_a_given_chance_level_is_capped() -> None:
    # The null is capped at max_null (0.9): a fixed chance level above it is the cap, one below is itself.
    t, pa, pb = _drifting_pair(60.0)
    r = np.full(t.size, 12.0)
    for causal in (True, False):
        assert np.all(pair_sync(t, pa, pb, r, r, causal=causal, null_plv=0.97).null_plv == 0.9)
        assert np.all(pair_sync(t, pa, pb, r, r, causal=causal, null_plv=0.42).null_plv == 0.42)
    capped = pair_sync(t, pa, pb, r, r, SyncConfig(max_null=0.6), causal=False, null_plv=0.97)
    assert np.all(capped.null_plv == 0.6)


def test_windows_under_min_coverage_are_unknown_and_at_it_are_scored() -> None:
    # A locked pair; B unknown for the first 6 s. A causal 30-s window ending at 29.9 s has 24 s (80%)
    # of both phases: scored; the one ending at 29.8 s has 23.9 s: unknown.
    t = np.arange(900) / FS
    pa = (TWO_PI * 0.2 * t) % TWO_PI
    pb = (pa - 0.1) % TWO_PI
    pb[t < 6.0] = np.nan
    r = np.full(t.size, 12.0)
    ps = pair_sync(t, pa, pb, r, r, null_plv=0.5)
    first = int(np.flatnonzero(np.isfinite(ps.plv))[0])
    assert first == 299 and ps.in_sync[299] and not ps.in_sync[298]
    looser = pair_sync(t, pa, pb, r, r, SyncConfig(min_coverage=0.5), null_plv=0.5)
    assert int(np.flatnonzero(np.isfinite(looser.plv))[0]) == 209  # 15 s of 30 known from 20.9 s


def test_only_causal_windows_can_start_at_a_later_end() -> None:
    # ends_from (a live session's latest windows) means "the windows ending there and after": for centred
    # windows it has no meaning, and is refused rather than silently ignored.
    t, pa, pb = _drifting_pair(40.0)
    r = np.full(t.size, 12.0)
    with pytest.raises(ValueError, match="causal"):
        pair_windows(pa, pb, r, r, FS, 30.0, causal=False, ends_from=5)
    assert pair_windows(pa, pb, r, r, FS, 30.0, causal=False).plv.size == t.size


# ------------------------------------------------------------------------------------------ summary
def _made_up_pair() -> PairSync:
    """Windows of 0.1 s with values chosen by hand, segment by segment (null 0.5 throughout)."""
    n = 110
    t = 100.0 + np.arange(n) * 0.1
    plv = np.full(n, np.nan)
    rel = np.full(n, np.nan)
    rate = np.full(n, 12.0)
    plv[10:40], rel[10:40] = 0.8, 0.3  # locked, A ahead by 0.3 rad, in sync; at 12, then 15/min
    rate[20:40] = 15.0
    plv[40:50], rel[40:50] = 0.5, 0.0  # exactly at chance: not above it
    plv[50:60], rel[50:60] = 0.9, 2.5  # locked beyond a quarter cycle, A's side
    plv[60:70], rel[60:70] = 0.9, -1.2  # locked within a quarter cycle, B ahead, but no rate known
    rate[60:70] = np.nan
    plv[70:80], rel[70:80] = 0.9, -2.5  # locked beyond a quarter cycle, B's side
    plv[80:110], rel[80:110] = 0.3, 0.1  # below chance
    null = np.full(n, 0.5)
    score = np.clip((plv - null) / (1 - null), 0, 1)
    in_sync = np.isfinite(plv) & (plv > null) & (np.abs(rel) <= math.radians(45))
    lag = rel / (TWO_PI * rate / 60)
    return PairSync(t, plv, rel, lag, np.zeros(n), null, score, in_sync, rate)


def test_the_summary_counts_each_kind_of_window() -> None:
    ps = _made_up_pair()
    s = ps.summary(3.0)
    ok = np.isfinite(ps.plv)
    assert s["scored_s"] == pytest.approx(10.0, abs=1e-9)  # 100 windows with a PLV
    assert s["time_in_sync_frac"] == pytest.approx(0.3, abs=1e-12)  # 30 of them
    # Above chance: strictly (the 10 windows at exactly 0.5 are not); opposite: beyond a quarter cycle
    # either way round.
    assert s["above_chance_s"] == pytest.approx(6.0, abs=1e-9)
    assert s["opposite_s"] == pytest.approx(2.0, abs=1e-9)
    assert s["mean_plv"] == pytest.approx(float(np.mean(ps.plv[ok])), abs=1e-12)
    assert s["mean_sync_score"] == pytest.approx(float(np.mean(ps.sync_score[ok])), abs=1e-12)
    # The mean relative phase of all scored windows: the angle of the PLV-weighted mean phasor.
    z = np.mean(ps.plv[ok] * np.exp(1j * ps.rel_phase_rad[ok]))
    assert s["mean_relative_phase_rad"] == pytest.approx(float(np.angle(z)), abs=1e-12)
    # Who led: from the locked windows within a quarter cycle whose rate is known (the 30 at +0.3 rad; the
    # ten without a rate cannot be put in seconds, the anti-phase ones have no leader), in seconds at
    # their mean rate (10 windows at 12/min, 20 at 15/min: 14/min).
    assert s["leader"] == "a"
    assert s["lead_s"] == pytest.approx(0.3 / (TWO_PI * 14.0 / 60.0), abs=1e-9)


def test_the_summary_leader_needs_a_window_of_locking() -> None:
    # 3.0 s of locking names a leader with a 3-s window, not with a 3.1-s one.
    ps = _made_up_pair()
    assert ps.summary(3.1)["leader"] is None and ps.summary(3.1)["lead_s"] is None
    assert ps.summary(None)["leader"] == "a"  # no window given: any locking counts
    short = PairSync(ps.t[:5], ps.plv[10:15], ps.rel_phase_rad[10:15], ps.lag_s[10:15], ps.rate_diff_bpm[:5],
                     ps.null_plv[:5], ps.sync_score[10:15], ps.in_sync[10:15], ps.mean_rate_bpm[10:15])  # fmt: skip
    assert short.summary(None)["leader"] == "a" and short.summary(0.6)["leader"] is None  # 0.5 s of it


def test_a_quarter_cycle_apart_is_led_not_opposite() -> None:
    # "within a quarter cycle" includes it: windows exactly pi/2 apart (either way) are locked and led,
    # not locked in opposite phase.
    n = 40
    t = np.arange(n) * 0.1
    rel = np.where(np.arange(n) < 30, math.pi / 2, -math.pi / 2)
    plv, null, rate = np.full(n, 0.9), np.full(n, 0.5), np.full(n, 15.0)
    ps = PairSync(t, plv, rel, rel, np.zeros(n), null, plv - 0.5, np.zeros(n, bool), rate)
    s = ps.summary(1.0)
    assert s["opposite_s"] == 0.0 and s["above_chance_s"] == pytest.approx(4.0)
    assert s["locked_s"] == pytest.approx(4.0) and s["leader"] == "a"


def test_step_s_is_the_grid_step() -> None:
    # One value stands for the grid's median step (to the microsecond); a lone value for none.
    def pair_on(t: np.ndarray) -> PairSync:
        x = np.full(t.size, 0.9)
        return PairSync(t, x, x, x, x, x, x, np.ones(t.size, bool), x)

    assert pair_on(np.array([5.0])).step_s() == 0.0
    assert pair_on(np.array([5.0, 5.25])).step_s() == 0.25
    # A grid with one long hole: each value still stands for the usual step, not the mean one.
    assert pair_on(np.array([0.0, 0.1, 0.2, 0.3, 10.0])).step_s() == 0.1


# ------------------------------------------------------------------------------------------ who led
def test_who_led_decides_by_the_rounded_lead_and_enough_locking() -> None:
    rate = 15.0
    z = np.exp(1j * _lead_angle(0.5, rate))
    assert who_led(z, rate, locked_s=30.0, window_s=30.0) == ("a", pytest.approx(0.5))  # exactly one window
    assert who_led(z, rate, locked_s=29.9, window_s=30.0) == (None, None)
    # The size of the mean does not matter, its angle does; B ahead is "b" with a positive lead.
    assert who_led(0.2 * np.conj(z), rate, 60.0, 30.0) == ("b", pytest.approx(0.5))
    # Rounding to 0.00 s is "in phase": no leader, a lead of 0.0; 0.006 s rounds to 0.01 and counts.
    for tiny in (0.004, -0.004):
        assert who_led(np.exp(1j * _lead_angle(tiny, rate)), rate, 60.0, 30.0) == (None, 0.0)
    assert who_led(np.exp(1j * _lead_angle(0.006, rate)), rate, 60.0, 30.0) == ("a", pytest.approx(0.006))
    # No rate, no lead in seconds.
    assert who_led(z, 0.0, 60.0, 30.0) == (None, None)
    assert who_led(z, -12.0, 60.0, 30.0) == (None, None)


# ------------------------------------------------------------------------------------- phase_on_grid
def test_phase_on_grid_takes_the_latest_earlier_sample_if_recent() -> None:
    # A 20-Hz source with a hole between 0.15 and 0.40 s. A grid point takes the source sample at or
    # before it (never a later one, never a mix), and only one about a source step old, not two.
    t_src = np.array([0.0, 0.05, 0.10, 0.15, 0.40, 0.45])
    v = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    grid = np.array([-0.1, 0.0, 0.02, 0.049999999999, 0.05, 0.12, 0.2, 0.25, 0.3, 0.40, 0.5, 0.6])
    want = [np.nan, 1.0, 1.0, 2.0, 2.0, 3.0, 4.0, np.nan, np.nan, 5.0, 6.0, np.nan]
    np.testing.assert_array_equal(phase_on_grid(t_src, v, grid), want)
    assert np.isnan(phase_on_grid(np.array([]), np.array([]), grid)).all()
    # Two samples: their step (0.05 s) is the source's, so 0.15 s after the last is too old.
    two = phase_on_grid(np.array([0.0, 0.05]), np.array([1.0, 2.0]), np.array([0.05, 0.1, 0.2]))
    np.testing.assert_array_equal(two, [2.0, 2.0, np.nan])
    # A lone source sample (no step to measure) is still taken by the grid points at and just after it.
    lone = phase_on_grid(np.array([2.0]), np.array([7.0]), np.array([1.9, 2.0, 2.5]))
    np.testing.assert_array_equal(lone, [np.nan, 7.0, 7.0])


# ------------------------------------------------------------------------------------------ Kuramoto
def test_kuramoto_order_is_the_length_of_the_groups_mean_phasor() -> None:
    # R = |mean_k exp(i phi_k)|: two people a constant 1 rad apart give cos(0.5); three of whom one is in
    # opposite phase give 1/3.
    t = np.arange(600) / FS
    p = (TWO_PI * 0.25 * t) % TWO_PI
    two = kuramoto_order(np.vstack([p, (p + 1.0) % TWO_PI]), FS, 30.0)
    assert np.allclose(two[299:], math.cos(0.5)) and np.isnan(two[:239]).all()
    three = kuramoto_order(np.vstack([p, p, (p + math.pi) % TWO_PI]), FS, 30.0, causal=False)
    assert np.allclose(three[np.isfinite(three)], 1.0 / 3.0) and np.isfinite(three[150:450]).all()
    assert np.allclose(kuramoto_order(p, FS, 30.0)[299:], 1.0)  # a group of one (a 1-D series)


def test_kuramoto_windows_count_only_instants_everyone_is_known() -> None:
    # Three in phase; C unknown for the first 6 s and at 40.0-40.9 s. The instants without C do not
    # count (R stays exactly 1, not pulled down by them); a 30-s window needs 24 s (80%) with everyone.
    t = np.arange(600) / FS
    p = (TWO_PI * 0.25 * t) % TWO_PI
    c = p.copy()
    c[:60] = np.nan
    c[400:410] = np.nan
    r = kuramoto_order(np.vstack([p, p, c]), FS, 30.0)
    known = np.isfinite(r)
    assert np.flatnonzero(known)[0] == 299  # 24 of its 30 s with everyone
    assert np.allclose(r[known], 1.0) and not known[400:410].any() and known[410:].all()
    looser = kuramoto_order(np.vstack([p, p, c]), FS, 30.0, min_coverage=0.5)
    assert np.flatnonzero(np.isfinite(looser))[0] == 209  # 15 of 30 s from 20.9 s


# ------------------------------------------------------------------------------------ the chance level
def _plain_surrogate_null(
    pa: np.ndarray, pb: np.ndarray, fs: float, cfg: SyncConfig, k_first: int
) -> float | None:
    """The surrogate chance level straight from its definition, one window at a time: the samples at whole
    multiples of 0.5 s (2 Hz), at least window + 2 x min_shift of them; n_surrogates circular shifts of
    one person spread evenly from min_shift to (length - min_shift); PLVs of each pair of the series
    with a shifted partner, either way round, over the windows ending every half window from the first
    whole one, those with both phases known on at least min_coverage of them; their null_quantile."""
    step = round(fs / 2.0)
    off = -k_first % step
    a, b = pa[off::step], pb[off::step]
    f = fs / step
    n = a.size
    if n < round((cfg.window_s + 2 * cfg.min_shift_s) * f):
        return None
    lo = round(cfg.min_shift_s * f)
    shifts = sorted({round(float(s)) for s in np.linspace(lo, n - lo, cfg.n_surrogates)})
    n_win = round(cfg.window_s * f)
    values = []
    for x, y in ((a, b), (b, a)):
        for s in shifts:
            shifted = np.roll(y, s)  # shifted[k] = y[k - s], circularly
            for end in range(n_win - 1, n, max(1, n_win // 2)):
                d = x[end + 1 - n_win : end + 1] - shifted[end + 1 - n_win : end + 1]
                d = d[np.isfinite(d)]
                if d.size and d.size / n_win >= cfg.min_coverage:
                    values.append(abs(np.mean(np.exp(1j * d))))
    if len(values) < 5:
        return None
    return float(np.quantile(values, cfg.null_quantile))


@pytest.mark.parametrize(
    ("cfg", "k_first", "duration_s"),
    [
        (SyncConfig(), 0, 200.0),
        (SyncConfig(), 3, 130.0),
        (SyncConfig(null_quantile=0.5, n_surrogates=7), 7, 200.0),
        (SyncConfig(window_s=20.0, min_shift_s=10.0, null_quantile=0.8, min_coverage=0.6), 0, 90.0),
    ],
)
def test_surrogate_null_is_its_definition(cfg: SyncConfig, k_first: int, duration_s: float) -> None:
    a = _noisy_phase(duration_s, 14.0, 0.3, 1)
    b = _noisy_phase(duration_s, 15.5, 0.3, 2)
    b[round(40 * FS) : round(52 * FS)] = np.nan  # a dropout: some windows fall under min_coverage
    got = surrogate_null(a, b, FS, cfg, k_first)
    want = _plain_surrogate_null(a, b, FS, cfg, k_first)
    assert got is not None and want is not None
    assert got == pytest.approx(want, abs=1e-9)
    # The same on a 2-Hz grid (every sample) and at 20 Hz, the session's grid (every 10th instead of 5th).
    assert surrogate_null(a[::5], b[::5], FS / 5, cfg, 0) == pytest.approx(
        _plain_surrogate_null(a[::5], b[::5], FS / 5, cfg, 0), abs=1e-9
    )
    a20 = np.repeat(a, 2)
    b20 = np.repeat(b, 2)
    assert surrogate_null(a20, b20, 2 * FS, cfg, 2 * k_first) == pytest.approx(
        _plain_surrogate_null(a20, b20, 2 * FS, cfg, 2 * k_first), abs=1e-9
    )


def test_surrogate_null_needs_window_and_two_shifts_of_history() -> None:
    # 30 + 2 x 20 = 70 s: 140 samples at 2 Hz. 69.5 s (139 of them) is not enough.
    a = _noisy_phase(80.0, 14.0, 0.3, 5)
    b = _noisy_phase(80.0, 15.0, 0.3, 6)
    cfg = SyncConfig()
    assert surrogate_null(a[:695], b[:695], FS, cfg) is None
    enough = surrogate_null(a[:700], b[:700], FS, cfg)
    assert enough is not None and enough == pytest.approx(_plain_surrogate_null(a[:700], b[:700], FS, cfg, 0))
    # Too few windows with enough of both phases known (under 5): no chance level.
    b_gappy = b.copy()
    b_gappy[::3] = np.nan
    assert surrogate_null(a, b_gappy, FS, cfg) is None


def test_two_metronomes_reach_the_cap_by_chance() -> None:
    # Two perfectly regular breathers at the same rate: every shifted copy is locked (surrogate PLV 1), so
    # the chance level is 1 before the cap and the cap (0.9) after. Locked 0.1 rad apart, above 0.9, every
    # window of theirs is in sync: what "in sync" means for a pacer and someone locked onto it.
    t = np.arange(1200) / FS
    a = (TWO_PI * 0.25 * t) % TWO_PI
    b = (a - 0.1) % TWO_PI
    null = surrogate_null(a, b, FS, SyncConfig())
    assert null == pytest.approx(1.0, abs=1e-9)
    r = np.full(t.size, 15.0)
    off = pair_sync(t, a, b, r, r, causal=False)
    assert np.all(off.null_plv == 0.9) and off.in_sync[np.isfinite(off.plv)].all()


def _plain_live_nulls(pa: np.ndarray, pb: np.ndarray, fs: float, cfg: SyncConfig, k_first: int) -> np.ndarray:
    """The live chance level from its definition (README: recomputed at every whole 5 s of session time,
    over the 180 s of history before, from where both phases are first known together), held between."""
    out = np.full(pa.size, np.nan)
    current = math.nan
    both = np.isfinite(pa - pb)
    for k in range(pa.size):
        if (k_first + k) % round(5.0 * fs) == 0:
            lo = max(0, k - round(180.0 * fs) + 1)
            known = np.flatnonzero(both[lo : k + 1])
            if known.size:
                first = lo + int(known[0])
                v = surrogate_null(pa[first : k + 1], pb[first : k + 1], fs, cfg, k_first + first)
                if v is not None:
                    current = v
        out[k] = current
    return out


def test_the_live_chance_level_is_recomputed_every_5_s_over_180_s() -> None:
    # The grid starts at 1.7 s of session time; B's phase starts 13.3 s later, at the mark of 15 s (so
    # that mark has one sample of both), and drops out for 15 s.
    a = _noisy_phase(280.0, 13.0, 0.3, 11)
    b = _noisy_phase(280.0, 14.5, 0.3, 12)
    b[:133] = np.nan
    b[1500:1650] = np.nan
    cfg = SyncConfig()
    got = live_surrogate_nulls(a, b, FS, cfg, k_first=17)
    want = _plain_live_nulls(a, b, FS, cfg, 17)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[: 133 + 700 - 1]).all() and np.unique(got[np.isfinite(got)]).size > 20
    # A pair with one sample of both in all has no chance level anywhere.
    one = np.full(b.size, np.nan)
    one[700] = b[700]
    assert np.isnan(live_surrogate_nulls(a, one, FS, cfg, k_first=17)).all()
    # On a 2-Hz grid, where the surrogates use every sample, and from session time 0.
    a2, b2 = a[::5], b[::5]
    np.testing.assert_array_equal(
        live_surrogate_nulls(a2, b2, 2.0, cfg), _plain_live_nulls(a2, b2, 2.0, cfg, 0)
    )


# ----------------------------------------------------------------------------------------- GridRing
def test_grid_ring_keeps_the_latest_capacity_by_grid_index() -> None:
    ring = GridRing(FS, 2.0, ("phase", "rate"))  # 20 samples
    assert ring.capacity == 20 and ring.last_k is None and ring.first_k is None
    ring.append(np.arange(10) / FS, phase=np.arange(10.0), rate=np.full(10, 12.0))
    assert (ring.first_k, ring.last_k) == (0, 9)
    np.testing.assert_array_equal(ring.window(0, 9, "phase"), np.arange(10.0))
    assert np.isnan(ring.window(-5, -1, "phase")).all() and np.isnan(ring.window(10, 12, "phase")).all()
    # 20 more: the first 10 are overwritten and read as unknown, not as the newer values in their slots.
    ring.append(np.arange(10, 30) / FS, phase=np.arange(10.0, 30.0))
    assert np.isnan(ring.window(0, 9, "phase")).all()
    np.testing.assert_array_equal(ring.window(10, 29, "phase"), np.arange(10.0, 30.0))
    assert np.isnan(ring.window(10, 29, "rate")).all()  # a field not given is unknown
    assert (ring.first_k, ring.last_k) == (0, 29)
    # More than the capacity at once: only the latest 20 are kept; every other sample on request.
    ring.append(np.arange(30, 70) / FS, phase=np.arange(30.0, 70.0))
    np.testing.assert_array_equal(ring.window(50, 69, "phase"), np.arange(50.0, 70.0))
    assert np.isnan(ring.window(30, 49, "phase")).all()
    np.testing.assert_array_equal(ring.window(50, 60, "phase", 5), [50.0, 55.0, 60.0])
    # A late, older sample does not move the newest index back; nothing appended changes nothing.
    ring.append(np.array([6.5]), phase=np.array([-1.0]))
    assert ring.last_k == 69 and ring.first_k == 0
    ring.append(np.array([]))
    assert ring.last_k == 69
    ring.append(np.array([7.0]), phase=np.array([70.0]))  # one sample at a time is stored too
    assert ring.last_k == 70 and ring.window(69, 70, "phase").tolist() == [69.0, 70.0]


# ------------------------------------------------------------------------------------- LivePairSync
def test_live_levels_are_the_cap_until_surrogates_then_each_marks_own() -> None:
    # Levels in force at each index: the cap before the first mark with surrogates, then the level of the
    # latest mark at or before it (B begins 10 s late and drops out for 8 s); level_at and levels agree
    # with analyze's reckoning wherever asked.
    a_ph = _noisy_phase(130.0, 13.0, 0.3, 21)
    b_ph = _noisy_phase(130.0, 14.0, 0.3, 22)
    b_ph[:100] = np.nan
    b_ph[900:980] = np.nan
    t = np.arange(a_ph.size) / FS
    a, b = GridRing(FS, 200.0, ("phase", "rate")), GridRing(FS, 200.0, ("phase", "rate"))
    live = LivePairSync()
    assert live.update(a, b) is None
    a.append(t[:5], phase=a_ph[:5], rate=np.full(5, 13.0))
    assert live.update(a, b) is None  # until both rings hold a sample
    assert live.levels(0, 4).tolist() == [0.9] * 5 and live.level_at(3) == 0.9  # nothing computed yet
    for k0 in range(0, t.size, 37):
        sl = slice(k0, k0 + 37)
        a.append(t[sl], phase=a_ph[sl], rate=np.full(t[sl].size, 13.0))
        b.append(t[sl], phase=b_ph[sl], rate=np.full(t[sl].size, 14.0))
        live.update(a, b)
    want = live_surrogate_nulls(a_ph, b_ph, FS, SyncConfig())
    want = np.where(np.isfinite(want), np.minimum(want, 0.9), 0.9)
    n = t.size
    np.testing.assert_array_equal(live.levels(0, n - 1), want)
    np.testing.assert_array_equal([live.level_at(k) for k in range(n)], want)
    for lo, hi in ((0, 10), (790, 820), (1000, n - 1), (n - 3, n - 1)):
        np.testing.assert_array_equal(live.levels(lo, hi), want[lo : hi + 1])
    assert want[0] == 0.9 and want[-1] < 0.9  # both kinds of level are in the run
    assert np.all(want[: 100 + 700 - 1] == 0.9)  # 70 s of both before the first surrogates


def test_a_live_update_is_the_causal_pair_sync_of_its_latest_common_sample() -> None:
    # The session's state of a pair is what pair_sync gives for the window ending at the latest sample
    # both have (B's ring runs 3 s ahead), with the chance level in force there.
    n = 1100
    t = np.arange(n) / FS
    pa = _noisy_phase(n / FS, 12.0, 0.3, 31)
    pb = (pa - 0.4 - 0.8 * np.sin(TWO_PI * t / 45.0)) % TWO_PI
    ra, rb = 11.0 + t / 60.0, np.full(n, 13.0)
    ra[500:520] = np.nan  # a rate unknown for a while: the window's means are over the known ones
    a, b = GridRing(FS, 200.0, ("phase", "rate")), GridRing(FS, 200.0, ("phase", "rate"))
    live = LivePairSync()
    fields = ("plv", "rel_phase_rad", "lag_s", "rate_diff_bpm", "mean_rate_bpm", "null_plv", "sync_score")
    for end in (400, 780, 1070):
        a.append(t[end - 400 : end], phase=pa[end - 400 : end], rate=ra[end - 400 : end])
        b.append(t[end - 400 : end + 30], phase=pb[end - 400 : end + 30], rate=rb[end - 400 : end + 30])
        st = live.update(a, b)
        assert st is not None and st.k_end == end - 1
        ps = pair_sync(t[:end], pa[:end], pb[:end], ra[:end], rb[:end])
        got = [getattr(st, f) for f in fields]
        np.testing.assert_allclose(got, [getattr(ps, f)[-1] for f in fields], atol=1e-12)
        assert st.in_sync == ps.in_sync[-1] and st.coverage == pytest.approx(1.0)
        assert np.isfinite(got).all()
    assert st.null_plv < 0.9  # the last one has its surrogates


def test_full_rings_give_the_same_live_levels_and_count_only_cut_marks() -> None:
    # Rings holding 190 s (the 180-s history, the 5 s between marks and 5 s to spare), B's 4 s ahead of
    # A's, over 330 s that begin 1.7 s into the session (grid index 17): updated every second, every mark
    # has its whole history and its level is analyze's. Then a 21-s stall passes 4 marks at once.
    n, k_first = 3300, 17
    t = (k_first + np.arange(n + 40)) / FS
    pa = _noisy_phase(t.size / FS, 13.0, 0.3, 51)
    pb = _noisy_phase(t.size / FS, 14.5, 0.3, 52)
    cfg = SyncConfig()
    want = live_surrogate_nulls(pa[:n], pb[:n], FS, cfg, k_first=k_first)
    want = np.where(np.isfinite(want), np.minimum(want, 0.9), 0.9)
    a, b = GridRing(FS, 190.0, ("phase", "rate")), GridRing(FS, 190.0, ("phase", "rate"))
    live = LivePairSync(cfg)
    done = 0
    for end in [*range(10, 3100, 10), n]:
        a.append(t[done:end], phase=pa[done:end])
        b.append(t[done : end + 40], phase=pb[done : end + 40])
        st = live.update(a, b)
        assert st is not None and st.k_end == k_first + end - 1
        if end < n:  # (levels take grid indices)
            np.testing.assert_array_equal(live.levels(k_first + done, k_first + end - 1), want[done:end])
            assert live.cut_marks == 0
        if end == 10:
            assert live.levels(0, 49).tolist() == [0.9] * 50 and live.level_at(49) == 0.9  # before a mark
        done = end
    assert np.unique(want[:3090]).size > 20
    # The stall: the rings' oldest sample both still hold is B's newest (3356) less 1899: 1457. The marks
    # at 3150, 3200 and 3250 reach back beyond it (their 180 s begin at 1351, 1401 and 1451): cut. The one
    # at 3300 has its whole history, and analyze's level.
    assert live.cut_marks == 3
    np.testing.assert_array_equal(live.levels(3300, 3316), want[3300 - k_first :])
    # Back to the oldest sample held, the levels in force are still those of their own marks.
    np.testing.assert_array_equal(live.levels(1457, 3149), want[1457 - k_first : 3150 - k_first])
    assert [live.level_at(k) for k in (1457, 1499, 1500)] == [want[k - k_first] for k in (1457, 1499, 1500)]
