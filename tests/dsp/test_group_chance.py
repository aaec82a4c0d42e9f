"""The chance level of a group's Kuramoto order (breathsync.dsp.group): R of people who breathe with no regard
for each other is about 0.5 for three, so R alone cannot say that a group breathes together; the chance level
from time-shift surrogates can."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from breathsync.dsp.group import (
    LiveGroupChance,
    group_shifts,
    group_surrogate_null,
    live_group_nulls,
)
from breathsync.dsp.sync import GridRing, SyncConfig, kuramoto_order
from breathsync.session_types import group_order_text
from breathsync.synth import simulate_group

CFG = SyncConfig()
FS = 10.0


def _group(n: int, coupling: float, seed: int, rates: tuple[float, ...] | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed + 100)
    rates = rates or tuple(12.0 + rng.uniform(0.0, 6.0, n))
    c = np.full((n, n), coupling)
    np.fill_diagonal(c, 0.0)
    return simulate_group(600.0, fs_hz=FS, rates_bpm=rates, coupling=c, seed=seed).phase


def _above(phases: np.ndarray) -> float:
    r = kuramoto_order(phases, FS, CFG.window_s)
    null = live_group_nulls(phases, FS, CFG)
    level = np.where(np.isfinite(null), np.minimum(null, CFG.max_null), CFG.max_null)
    ok = np.isfinite(r)
    return float(np.mean(r[ok] > level[ok]))


@pytest.mark.parametrize(("n", "k", "lo"), [(360, 3, 40), (360, 8, 40), (361, 9, 40), (7200, 4, 40)])
def test_every_two_people_are_shifted_at_least_the_minimum_apart(n: int, k: int, lo: int) -> None:
    shifts = group_shifts(n, k, lo, 19)
    assert shifts is not None and shifts.shape == (19, k)
    # One person keeps their time in each arrangement, each in turn (nobody is always the reference).
    assert all(shifts[j, j % k] == 0 for j in range(19)) and np.all((shifts >= 0) & (shifts < n))
    for row in shifts:
        for a, b in itertools.combinations(row.tolist(), 2):
            gap = (a - b) % n
            assert lo <= gap <= n - lo  # no two keep (nearly) the alignment they had
    # Not the same few arrangements over and over: the surrogates differ.
    assert len({tuple(r) for r in shifts.tolist()}) == 19
    # The same input always gives the same shifts (a session and analyze of its recording agree).
    again = group_shifts(n, k, lo, 19)
    assert again is not None and np.array_equal(again, shifts)


def test_too_many_people_for_the_series_have_no_surrogates() -> None:
    assert group_shifts(300, 8, 40, 19) is None  # 8 x 40 samples do not fit in 300
    assert group_shifts(320, 8, 40, 19) is not None


def test_strangers_reach_a_high_r_by_chance_and_stay_under_its_level() -> None:
    # Three people at 12-18/min with no coupling: their mean R is about 0.5 (sqrt(pi/12) for independent
    # phases), well above 0, yet their windows pass the chance level on only a few percent.
    shares, means = [], []
    for seed in range(6):
        ph = _group(3, 0.0, seed)
        means.append(float(np.nanmean(kuramoto_order(ph, FS, CFG.window_s))))
        shares.append(_above(ph))
    assert 0.4 < float(np.mean(means)) < 0.65
    assert float(np.mean(shares)) <= 0.05 and max(shares) <= 0.1
    level = group_surrogate_null(_group(3, 0.0, 0), FS, CFG)
    assert level is not None and level > max(means)


@pytest.mark.parametrize("n", [3, 5])
def test_a_coupled_group_is_above_its_chance_level(n: int) -> None:
    for seed in range(2):
        assert _above(_group(n, 0.5, seed)) >= 0.95


def test_the_level_falls_with_the_group_size() -> None:
    # More independent people, a lower R by chance (about sqrt(pi / 4k)): eight strangers' level is under
    # three strangers'.
    three = [group_surrogate_null(_group(3, 0.0, s), FS, CFG) for s in range(3)]
    eight = [group_surrogate_null(_group(8, 0.0, s), FS, CFG) for s in range(3)]
    assert None not in three and None not in eight
    assert max(v for v in eight if v is not None) < min(v for v in three if v is not None)


def test_too_short_a_series_has_no_level() -> None:
    ph = _group(3, 0.0, 1)[:, : int((CFG.window_s + 2 * CFG.min_shift_s) * FS) - 10]
    assert group_surrogate_null(ph, FS, CFG) is None
    assert np.isnan(live_group_nulls(ph, FS, CFG)).all()


def test_a_sessions_rings_give_analyzes_levels_whatever_the_chunks() -> None:
    # The session computes the level from its 20-Hz rings as samples arrive (LiveGroupChance); analyze from
    # the same phases on its 10-Hz grid (live_group_nulls): the same samples (thinned to 2 Hz), the same marks.
    fs_s = 20.0
    ph20 = simulate_group(400.0, fs_hz=fs_s, rates_bpm=(14.0, 15.0, 16.5), seed=4).phase
    ph20[1, 2400:2500] = np.nan  # a 5-s dropout of B at 120 s
    t = np.arange(ph20.shape[1]) / fs_s
    expected = live_group_nulls(ph20[:, ::2], FS, CFG)
    for chunk in (7, 333):
        rings = [GridRing(fs_s, 400.0, ("phase",)) for _ in range(3)]
        chance = LiveGroupChance(CFG)
        for i in range(0, t.size, chunk):
            for ring, row in zip(rings, ph20, strict=True):
                ring.append(t[i : i + chunk], phase=row[i : i + chunk])
            chance.advance(rings, int(rings[0].last_k or 0))
        got = chance.levels(0, t.size - 1)[::2]
        want = np.where(np.isfinite(expected), np.minimum(expected, CFG.max_null), CFG.max_null)
        assert np.allclose(got, want, atol=1e-12), chunk


def test_the_views_words() -> None:
    assert group_order_text(0.55, 0.8) == "group order R 0.55 (chance 0.80)"
    assert group_order_text(0.93, 0.8) == "group order R 0.93 (above chance 0.80)"
    assert group_order_text(0.55, math.nan) == "group order R 0.55"


def test_the_order_the_files_are_given_in_does_not_change_the_level() -> None:
    # The level is a sample of 19 arrangements, which depends a little on which person is which row: analyze
    # puts the rows in the order of the labels, so any order of the same files gives the same numbers.
    from breathsync.analysis import _group_json, analyse_waveform

    g = simulate_group(300.0, fs_hz=25.0, rates_bpm=(14.0, 15.0, 16.5), seed=2)
    parts = [analyse_waveform(g.t, g.resp[i], label) for i, label in enumerate("ABC")]
    first = _group_json(parts, CFG)
    assert first["mean_null_r"] is not None and first["mean_null_r"] < CFG.max_null
    for order in itertools.permutations(range(3)):
        other = _group_json([parts[i] for i in order], CFG)
        assert other["null_r"] == first["null_r"] and other["above_chance"] == first["above_chance"]
        assert other["above_chance_s"] == first["above_chance_s"]


def test_a_group_needs_history_for_each_person() -> None:
    # Every two people are kept a shift (20 s) apart around the history, so eight need 160 s of it, three
    # with 30-s windows the pair's 70 s.
    from breathsync.dsp.group import group_surrogate_need_s

    assert group_surrogate_need_s(3, CFG) == 70.0 and group_surrogate_need_s(8, CFG) == 160.0
    ph = _group(8, 0.0, 1)
    assert group_surrogate_null(ph[:, : int(155 * FS)], FS, CFG) is None
    assert group_surrogate_null(ph[:, : int(165 * FS)], FS, CFG) is not None
