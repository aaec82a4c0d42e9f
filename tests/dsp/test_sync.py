"""Pair and group synchrony: PLV, relative phase, chance correction, Kuramoto order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from breathsync.dsp.sync import (
    SyncConfig,
    kuramoto_order,
    live_surrogate_nulls,
    pair_sync,
    pair_windows,
    surrogate_null,
    who_led,
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
    # chance level knows how irregular these two are. The causal (live) version has surrogates once there
    # are 70 s of history; before that the 0.9 cap stands in, as in a session.
    t = np.arange(0, 300, 1 / FS)
    rate = np.full(t.size, 10.0)
    for seed in range(3):
        a = oscillator(301, 10.0, 1.0, seed)
        for causal in (True, False):
            res = pair_sync(
                t, a[3 : 3 + t.size] % (2 * np.pi), a[: t.size] % (2 * np.pi), rate, rate, causal=causal
            )
            valid = np.isfinite(res.plv) & (t >= (75.0 if causal else 0.0))
            assert np.nanmedian(res.plv) < 0.8  # 5 breaths a window: far from a perfect lock
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


def test_without_history_only_a_near_perfect_lock_counts() -> None:
    # Strangers at 15 and 15.3/min, regular breathers: in their first minute (no surrogates yet) the
    # Rayleigh bound used before (0.63 for 7.5 breaths) let them read in sync on 333 of 451 windows;
    # the cap (0.9) on none.
    t = np.arange(0, 300, 1 / FS)
    a = oscillator(300, 15.0, 0.02, 27) % (2 * np.pi)
    b = oscillator(300, 15.3, 0.02, 127) % (2 * np.pi)
    res = pair_sync(t, a, b, np.full(t.size, 15.0), np.full(t.size, 15.3), SyncConfig())
    early = (t < 69.0) & np.isfinite(res.plv)
    rayleigh = math.sqrt(-math.log(0.05) / 7.5)
    would = (res.plv > rayleigh) & (np.abs(res.rel_phase_rad) <= math.radians(45)) & early
    assert early.sum() > 400 and would.sum() > 300
    assert np.allclose(res.null_plv[t < 69.0], 0.9) and not res.in_sync[early].any()
    # A real lock still reads in sync from its first window.
    same = pair_sync(t, a, (a - 0.2) % (2 * np.pi), np.full(t.size, 15.0), np.full(t.size, 15.0))
    assert same.in_sync[(t < 69.0) & np.isfinite(same.plv)].all()


def test_kuramoto_order_of_a_group() -> None:
    a = oscillator(120, 15, 0.05, 0)
    same = np.vstack([a, a, a]) % (2 * np.pi)
    assert np.allclose(kuramoto_order(same, FS, 30.0)[-10:], 1.0)
    spread = np.vstack([a, a + 2 * np.pi / 3, a + 4 * np.pi / 3]) % (2 * np.pi)
    assert np.nanmax(kuramoto_order(spread, FS, 30.0)) < 1e-6


def test_identical_breathing_has_no_leader() -> None:
    # The same phases twice named "b" as the leader by 0.00 s (a zero angle fell to B).
    t = np.arange(0, 300, 1 / FS)
    a = oscillator(300, 12, 0.05, 4) % (2 * np.pi)
    rate = np.full(t.size, 12.0)
    for causal in (True, False):
        s = pair_sync(t, a, a.copy(), rate, rate, causal=causal).summary(30.0)
        assert s["leader"] is None and s["lead_s"] == 0.0 and s["locked_s"] > 200


def test_who_led_is_one_number_with_enough_evidence() -> None:
    # Direction and size from the same mean: five windows at +1.2 and -0.1 rad named A the leader (from
    # the weighted mean) by the median lag, which said B.
    z = complex(np.mean(np.exp(1j * np.array([1.2, -0.1, -0.1, -0.1, -0.1]))))
    who, lead = who_led(z, 15.0, locked_s=60.0, window_s=30.0)
    angle = math.atan2(z.imag, z.real)
    assert who == "a" and lead == pytest.approx(angle / (2 * math.pi * 15.0 / 60.0))
    assert who_led(z, 15.0, locked_s=20.0, window_s=30.0) == (None, None)  # locked less than one window
    assert who_led(complex(-0.9, -0.3), 15.0, 60.0, 30.0)[0] == "b"
    assert who_led(0j, 15.0, 60.0, 30.0) == (None, None)


def test_offline_windows_are_not_repeated_at_the_ends() -> None:
    # Centred windows near the ends used to be shifted inwards: the first and last 15 s of a 30-s window
    # all held the same two windows, which then weighed 150 times each in every mean.
    t = np.arange(0, 300, 1 / FS)
    a = oscillator(300, 15, 0.5, 7) % (2 * np.pi)
    b = oscillator(300, 15, 0.5, 8) % (2 * np.pi)
    rate = np.full(t.size, 15.0)
    res = pair_sync(t, a, b, rate, rate, causal=False)
    known = np.flatnonzero(np.isfinite(res.plv))
    # Known from where 80% of the centred window lies inside the data: 0.3 window from each end.
    assert known[0] == pytest.approx(0.3 * 30 * FS, abs=1) and known[-1] == pytest.approx(
        t.size - 1 - 0.3 * 30 * FS, abs=1
    )
    assert np.unique(np.round(res.plv[known[:20]], 12)).size == 20


def test_live_chance_level_uses_only_the_past() -> None:
    t = np.arange(0, 300, 1 / FS)
    a = oscillator(300, 15, 0.05, 1) % (2 * np.pi)
    b = oscillator(300, 15, 0.05, 2) % (2 * np.pi)
    cfg = SyncConfig()
    nulls = live_surrogate_nulls(a, b, FS, cfg)
    # Surrogates need window + 2 x 20 s of history: none (NaN here; the cap applies) until then, values after.
    assert np.isnan(nulls[t < 69.0]).all() and np.isfinite(nulls[t >= 75.0]).all()
    # What it knows at 100 s does not change with what comes after.
    cut = int(150 * FS)
    np.testing.assert_array_equal(live_surrogate_nulls(a[:cut], b[:cut], FS, cfg), nulls[:cut])
    rate = np.full(t.size, 15.0)
    res = pair_sync(t, a, b, rate, rate, cfg)
    np.testing.assert_allclose(res.null_plv[t >= 75.0], np.minimum(nulls[t >= 75.0], cfg.max_null))
    assert np.allclose(res.null_plv[t < 69.0], cfg.max_null)  # no surrogates yet: the cap


def test_kuramoto_windows_need_coverage() -> None:
    same = np.tile(oscillator(120, 12, 0.0, 0) % (2 * np.pi), (3, 1))
    r = kuramoto_order(same, FS, 30.0)
    assert np.isnan(r[: int(0.8 * 30 * FS) - 1]).all() and np.allclose(r[int(0.8 * 30 * FS) :], 1.0)
    assert np.isnan(kuramoto_order(same, FS, 600.0)).all()  # never 80% of a 600-s window


def test_the_chance_level_and_in_sync_do_not_depend_on_which_participant_is_a() -> None:
    # Surrogates shifted only B, over windows on A's time base, so swapping the files of a pair moved
    # its chance level and its time in sync (a recorded session read 24% one way round, 21% the other).
    t = np.arange(0, 400, 1 / FS)
    cfg = SyncConfig()
    rates = np.full(t.size, 15.0)
    for seed in range(4):
        a = oscillator(400, 15.0, 0.3, 40 + seed) % (2 * np.pi)
        b = oscillator(400, 15.5, 0.3, 140 + seed) % (2 * np.pi)
        b[1200:1300] = np.nan  # a gap in one of them
        assert surrogate_null(a, b, FS, cfg) == surrogate_null(b, a, FS, cfg)
        ab = pair_sync(t, a, b, rates, rates, cfg)
        ba = pair_sync(t, b, a, rates, rates, cfg)
        assert np.array_equal(ab.null_plv, ba.null_plv, equal_nan=True)
        assert np.array_equal(ab.in_sync, ba.in_sync)
        assert np.array_equal(ab.plv, ba.plv, equal_nan=True)
        off_ab = pair_sync(t, a, b, rates, rates, cfg, causal=False)
        off_ba = pair_sync(t, b, a, rates, rates, cfg, causal=False)
        assert np.array_equal(off_ab.in_sync, off_ba.in_sync)


def test_a_live_window_with_too_little_phase_has_no_score() -> None:
    # Its sync score read 0 (and in_sync 0 in pairs.csv and the LSL sync stream) where the PLV is unknown,
    # so averaging those files counted unknown windows as out of sync.
    from breathsync.dsp.sync import GridRing, LivePairSync
    from breathsync.session_types import PairView

    a, b = GridRing(FS, 180.0, ("phase", "rate")), GridRing(FS, 180.0, ("phase", "rate"))
    t = np.arange(0, 60, 1 / FS)
    ph = oscillator(60, 15, 0.05, 3) % (2 * np.pi)
    a.append(t, phase=ph, rate=np.full(t.size, 15.0))
    b.append(t, phase=np.where(t < 40, ph, np.nan), rate=np.full(t.size, 15.0))
    st = LivePairSync().update(a, b)
    assert st is not None and math.isnan(st.plv) and math.isnan(st.sync_score) and not st.in_sync
    view = PairView("A", "B", st.plv, st.null_plv, st.sync_score, st.in_sync, st.rel_phase_rad, st.lag_s,
                    st.rate_diff_bpm, 0.0, 0.0)  # fmt: skip
    assert math.isnan(view.in_sync_value)
    known = PairView("A", "B", 0.5, 0.6, 0.0, False, 0.0, 0.0, 0.0, 0.0, 0.0)
    assert known.in_sync_value == 0.0


@pytest.mark.parametrize("t0", [0.0, 1.7e9])
def test_time_in_sync_is_whole_windows_of_the_grid_step(t0: float) -> None:
    """The report showed 3:24 for 2050 windows of 0.1 s: the grid's median step was 0.09999999999999432 s
    (0.0999997 s on Unix-time stamps), and the stopwatch cut 204.99999999998835 down to 204."""
    from breathsync.dsp.sync import PairSync
    from breathsync.session_types import clock_text

    n = 2651
    t = t0 + 20.0 + np.arange(n) * 0.1
    plv = np.full(n, 0.9)
    in_sync = np.arange(n) < 2050
    rel = np.where(in_sync, 0.1, 2.0)
    ps = PairSync(t, plv, rel, rel, np.zeros(n), np.full(n, 0.5), plv - 0.5, in_sync, np.full(n, 15.0))
    s = ps.summary(30.0)
    assert ps.step_s() == 0.1
    assert s["locked_s"] == pytest.approx(205.0, abs=1e-9)
    frac = s["time_in_sync_frac"]
    assert isinstance(frac, float)
    assert clock_text(frac * n * ps.step_s()) == "3:25"
    assert clock_text(204.99999999999997) == "3:25" and clock_text(204.9) == "3:24"


@pytest.mark.parametrize("first_s", [10.05, 10.1])
def test_the_chance_level_starts_at_the_same_mark_at_20_and_10_hz(first_s: float) -> None:
    """The history check counted samples before thinning to 2 Hz: phases known from 10.1 s, at the 80-s mark
    the session's 20-Hz rings held 1399 samples (under 1400: the 0.9 cap) where analyze's 10-Hz grid held
    exactly 700 (a chance level of its own): a recorded session and analyze of it disagreed there."""
    from breathsync.dsp.sync import surrogate_null

    cfg = SyncConfig()
    got = []
    for fs in (20.0, 10.0):
        k0 = math.ceil(first_s * fs - 1e-9)  # the first grid sample with a phase, at each rate
        t = np.arange(k0, round(80.0 * fs) + 1) / fs
        pa = (2 * np.pi * 0.25 * t) % (2 * np.pi)
        pb = (2 * np.pi * (0.23 * t + 0.02 * np.sin(0.05 * t))) % (2 * np.pi)
        got.append(surrogate_null(pa, pb, fs, cfg, k0))
    assert (got[0] is None) == (got[1] is None), got
    if got[0] is not None and got[1] is not None:
        assert got[0] == pytest.approx(got[1], abs=1e-9)


@pytest.mark.parametrize("duration_s", [600.0, 110.0])
def test_a_grid_rate_measured_from_its_steps_thins_as_the_exact_rate_does(duration_s: float) -> None:
    """pair_sync (and analyze) measure a grid's rate as 1 / its median step: 9.999999999999858 for a 10-Hz
    grid of 600 s, which thinned the surrogates by 4 (2.5 Hz) instead of 5 (2 Hz): other samples than the
    session's, so analyze of a 600-s session gave another chance level and 195.9 s in sync for its 208.8."""
    t = np.arange(round(duration_s * FS) + 1) / FS
    fs = 1.0 / float(np.median(np.diff(t)))
    assert fs != FS  # the measured rate this is about
    pa = oscillator(duration_s + 0.1, 12.0, 0.05, seed=1)[: t.size] % (2 * np.pi)
    pb = oscillator(duration_s + 0.1, 12.5, 0.05, seed=2)[: t.size] % (2 * np.pi)
    cfg = SyncConfig()
    exact = surrogate_null(pa, pb, FS, cfg, 0)
    assert exact is not None and surrogate_null(pa, pb, fs, cfg, 0) == exact
    # And at 20 Hz, the session's rate, the chance level is the same samples' (every 10th).
    t20 = np.arange(round(duration_s * 20) + 1) / 20
    pa20 = np.interp(t20, t, np.unwrap(pa)) % (2 * np.pi)
    pb20 = np.interp(t20, t, np.unwrap(pb)) % (2 * np.pi)
    assert surrogate_null(pa20, pb20, 20.0, cfg, 0) == pytest.approx(exact, abs=1e-12)


@pytest.mark.parametrize("step_s", [0.25, 6.0, 17.0, 29.0, 110.0])
def test_the_live_chance_level_of_each_window_is_that_of_its_own_time(step_s: float) -> None:
    """A fast replay passes several 5-s marks between two snapshots. Only the newest mark was computed, and
    every window passed was judged with it: the live time in sync depended on --speed. Whatever the steps,
    the level in force at each grid index is now the one analyze's :func:`live_surrogate_nulls` gives."""
    from breathsync.dsp.sync import GridRing, LivePairSync
    from breathsync.session import RING_SPARE_S

    cfg = SyncConfig()
    t = np.arange(0, 400, 1 / FS)
    pa = oscillator(400, 12, 0.05, 1) % (2 * np.pi)
    pb = (oscillator(400, 13, 0.05, 2) + 0.1 * np.sin(0.05 * t)) % (2 * np.pi)
    pb[(t > 150) & (t < 170)] = np.nan  # a dropout: some marks hold the previous value
    want = live_surrogate_nulls(pa, pb, FS, cfg)
    want = np.where(np.isfinite(want), np.minimum(want, cfg.max_null), cfg.max_null)
    ring_s = 180.0 + 5.0 + RING_SPARE_S  # as a session's
    a, b = GridRing(FS, ring_s, ("phase", "rate")), GridRing(FS, ring_s, ("phase", "rate"))
    live = LivePairSync(cfg)
    got = np.full(t.size, np.nan)
    k_done = -1
    n_step = round(step_s * FS)
    for k1 in range(n_step, t.size + n_step, n_step):
        sl = slice(k_done + 1, min(k1, t.size))
        a.append(t[sl], phase=pa[sl], rate=np.full(t[sl].size, 12.0))
        b.append(t[sl], phase=pb[sl], rate=np.full(t[sl].size, 13.0))
        st = live.update(a, b)
        assert st is not None
        k_end = sl.stop - 1
        got[k_done + 1 : k_end + 1] = live.levels(k_done + 1, k_end)
        assert st.null_plv == got[k_end]
        k_done = k_end
    assert np.unique(want).size > 5  # the level moves: the test can tell marks apart
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert live.cut_marks == 0


def test_a_stride_beyond_the_rings_spare_room_is_counted() -> None:
    """Rings with 10 s beyond the chance level's history, updated every 40 s: the marks passed lost part of
    their history, so their levels may differ from analyze's; ``cut_marks`` says how many."""
    from breathsync.dsp.sync import GridRing, LivePairSync

    t = np.arange(0, 400, 1 / FS)
    pa = oscillator(400, 12, 0.05, 1) % (2 * np.pi)
    pb = oscillator(400, 13, 0.05, 2) % (2 * np.pi)
    a, b = GridRing(FS, 195.0, ("phase", "rate")), GridRing(FS, 195.0, ("phase", "rate"))
    live = LivePairSync()
    for k0 in range(0, t.size, 400):
        sl = slice(k0, k0 + 400)
        a.append(t[sl], phase=pa[sl], rate=np.full(t[sl].size, 12.0))
        b.append(t[sl], phase=pb[sl], rate=np.full(t[sl].size, 13.0))
        live.update(a, b)
    # From 200 s on (the rings full), each 40-s stride passes 8 marks, of which those over 15 s back are cut.
    assert live.cut_marks > 0


def test_the_summary_says_how_much_time_its_share_is_of() -> None:
    """analyze printed "in sync 100% of the time" for a 120-s session whose first 35 s had no window:
    the share is of the windows with a PLV, and ``scored_s`` says how long they cover."""
    from breathsync.dsp.sync import PairSync

    n = 1200
    t = np.arange(n) * 0.1
    plv = np.where(t >= 35.0, 0.95, np.nan)
    in_sync = np.isfinite(plv) & (t < 95.0)
    ps = PairSync(t, plv, np.zeros(n), np.zeros(n), np.zeros(n), np.full(n, 0.5), plv - 0.5, in_sync,
                  np.full(n, 15.0))  # fmt: skip
    s = ps.summary(30.0)
    assert s["scored_s"] == pytest.approx(85.0, abs=1e-9)
    frac = s["time_in_sync_frac"]
    assert isinstance(frac, float) and frac * 85.0 == pytest.approx(60.0, abs=1e-9)
    empty = PairSync(t, np.full(n, np.nan), *(np.full(n, np.nan),) * 5, np.zeros(n, bool), np.full(n, 15.0))
    assert empty.summary(30.0)["scored_s"] is None


def _naive_windows(x: np.ndarray, n_win: int, causal: bool) -> list[np.ndarray]:
    """The known samples of each sliding window, one window at a time (the reference for pair_windows)."""
    n = x.size
    out = []
    for i in range(n):
        lo, hi = (max(i + 1 - n_win, 0), i + 1) if causal else (i - n_win // 2, i - n_win // 2 + n_win)
        w = x[max(lo, 0) : min(hi, n)]
        out.append(w[np.isfinite(w)])
    return out


@pytest.mark.parametrize("seed", range(6))
def test_pair_windows_are_the_windows_one_at_a_time(seed: int) -> None:
    """pair_windows sums five series in one pass: each value must be what that window alone gives (PLV,
    relative phase, coverage, the mean of the pair's mean rate and of the rate difference over their known
    samples), with gaps in either person's phase or rate, windows longer than the series included, and
    the same bits as windowed_plv for what both give where the value's own sample (a window's end; centred,
    its middle) has both phases: elsewhere the window is unknown (PLV and relative phase NaN)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    pa, pb = rng.uniform(-math.pi, math.pi, (2, n))
    ra, rb = rng.uniform(4.0, 30.0, (2, n))
    for x in (pa, pb, ra, rb):
        x[rng.random(n) < rng.uniform(0.0, 0.5)] = np.nan
        i = int(rng.integers(0, n))
        x[i : i + int(rng.integers(0, n // 2 + 1))] = np.nan  # a gap
    window_s = float(rng.uniform(0.5, 50.0))
    n_win = max(1, round(window_s * FS))
    for causal in (True, False):
        w = pair_windows(pa, pb, ra, rb, FS, window_s, causal=causal)
        for i, (d, diff, mean) in enumerate(
            zip(
                _naive_windows(pa - pb, n_win, causal),
                _naive_windows(ra - rb, n_win, causal),
                _naive_windows(0.5 * (ra + rb), n_win, causal),
                strict=True,
            )
        ):
            here = np.isfinite(pa[i] - pb[i])
            z = np.mean(np.exp(1j * d)) if d.size and here else complex(np.nan, np.nan)
            assert w.coverage[i] == pytest.approx(d.size / n_win, abs=1e-12)
            assert w.plv[i] == pytest.approx(abs(z), abs=1e-9, nan_ok=True)
            if d.size and abs(z) > 1e-6:
                assert abs(np.angle(z * np.exp(-1j * w.rel_phase_rad[i]))) < 1e-6
            assert w.rate_diff_bpm[i] == pytest.approx(np.mean(diff) if diff.size else np.nan, nan_ok=True)
            assert w.mean_rate_bpm[i] == pytest.approx(np.mean(mean) if mean.size else np.nan, nan_ok=True)
        plv, rel, cov = windowed_plv(pa, pb, FS, window_s, causal=causal)
        here = np.isfinite(pa - pb)
        for mine, alone in ((w.plv, plv), (w.rel_phase_rad, rel)):
            assert np.array_equal(mine, np.where(here, alone, np.nan), equal_nan=True)
        assert np.array_equal(w.coverage, cov, equal_nan=True)
    # Only the windows ending at a sample and after (what a live session scores): the same bits.
    w = pair_windows(pa, pb, ra, rb, FS, window_s)
    for ends_from in sorted({0, 1, n_win - 1, n_win, n_win + 1, n - 1, int(rng.integers(0, n))}):
        if not 0 <= ends_from < n:
            continue
        tail = pair_windows(pa, pb, ra, rb, FS, window_s, ends_from=ends_from)
        for f in ("plv", "rel_phase_rad", "coverage", "mean_rate_bpm", "rate_diff_bpm"):
            whole = getattr(w, f)[ends_from:]
            assert getattr(tail, f).tobytes() == whole.tobytes(), (f, ends_from)


def test_grid_ring_windows_are_shared_until_the_next_append() -> None:
    """A session reads each participant's window once per pair it is in: the ring hands every reader of a
    range the same read-only array, and an append (which may overwrite that range) reads it afresh."""
    from breathsync.dsp.sync import GridRing

    ring = GridRing(10.0, 5.0, ("phase",))
    ring.append(np.arange(20) / 10.0, phase=np.arange(20.0))
    first = ring.window(10, 19, "phase")
    assert ring.window(10, 19, "phase") is first
    assert not first.flags.writeable
    with pytest.raises(ValueError):
        first[0] = 0.0
    assert ring.window(10, 19, "phase", 2) is not first  # another range
    # A 50-slot ring: samples 60..69 take the slots of 10..19, so the same range now reads as unknown.
    ring.append(np.arange(20, 70) / 10.0, phase=np.arange(20.0, 70.0))
    again = ring.window(10, 19, "phase")
    assert again is not first
    assert np.all(np.isnan(again)) and np.array_equal(first, np.arange(10.0, 20.0))
    np.testing.assert_array_equal(ring.window(50, 59, "phase"), np.arange(50.0, 60.0))
