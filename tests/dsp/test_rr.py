"""Tests of the RR-derived (respiratory sinus arrhythmia) breathing waveform."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from breath_rate import dominant_rate_bpm
from hypothesis import given, settings
from hypothesis import strategies as st

from breathsync.dsp.rr import (
    FILTER_PHASE_DELAY_S,
    INHERENT_LAG_S,
    RRRespiration,
    beat_times_from_rr,
    inherent_lag_s,
    rr_artefacts,
    rr_to_resp_offline,
)


def load_csv(path: Path) -> dict[str, np.ndarray]:
    """Columns of a data CSV (``#`` comment lines, then a header)."""
    lines = [
        ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")
    ]
    names = lines[0].split(",")
    arr = np.loadtxt(lines[1:], delimiter=",", ndmin=2)
    return {n: arr[:, i] for i, n in enumerate(names)}


def breathing(t: np.ndarray, rate_bpm: float) -> np.ndarray:
    """True breathing (rises on inhale), unit amplitude."""
    return np.sin(2 * np.pi * rate_bpm / 60.0 * t)


def synth_beats(
    rate_bpm: float = 12.0, duration_s: float = 180.0, hr_bpm: float = 65.0, rsa_ms: float = 60.0
) -> tuple[np.ndarray, np.ndarray]:
    """Beat times and RR (ms): RR shortens when the breathing signal is high (inhale).

    Each interval's length follows the breathing at the interval's midpoint.
    """
    rr0 = 60000.0 / hr_bpm
    t, beats, rrs = 0.5, [], []
    while t < duration_s:
        rr = rr0 - rsa_ms * breathing(np.array([t + rr0 / 2000.0]), rate_bpm)[0]
        t += rr / 1000.0
        beats.append(t)
        rrs.append(rr)
    return np.asarray(beats), np.asarray(rrs)


@pytest.mark.parametrize("rate_bpm", [6.0, 12.0, 18.0])
def test_offline_recovers_rate_and_rises_on_inhale(rate_bpm: float) -> None:
    bt, rr = synth_beats(rate_bpm)
    t, y = rr_to_resp_offline(bt, rr)
    assert np.all(np.diff(t) > 0) and np.allclose(np.diff(t), 0.25)
    assert abs(dominant_rate_bpm(t, y) - rate_bpm) < 1.0
    ok = np.isfinite(y) & (t > 20) & (t < t[-1] - 20)
    assert np.corrcoef(y[ok], breathing(t[ok], rate_bpm))[0, 1] > 0.8


@pytest.mark.parametrize("rate_bpm", [6.0, 12.0, 18.0])
def test_live_recovers_rate_and_rises_on_inhale(rate_bpm: float) -> None:
    bt, rr = synth_beats(rate_bpm)
    t, y = RRRespiration().process(bt, rr)
    assert np.all(np.isfinite(y))
    warm = t > 40
    assert abs(dominant_rate_bpm(t[warm], y[warm]) - rate_bpm) < 1.0
    assert np.corrcoef(y[warm], breathing(t[warm], rate_bpm))[0, 1] > 0.6


def test_grid_is_absolute_and_samples_wait_for_the_next_beat() -> None:
    bt, rr = synth_beats(12.0, 30.0)
    live = RRRespiration()
    t, _ = live.process(bt[:10], rr[:10])
    assert np.allclose(t * 4.0, np.round(t * 4.0))
    node = bt[9] - rr[9] / 2000.0  # the newest node: midpoint of the newest RR interval
    assert t[-1] <= node and t[-1] > node - 0.25


def test_inherent_lag_is_computed() -> None:
    expected = 1.0 + FILTER_PHASE_DELAY_S[15.0]
    assert pytest.approx(expected) == INHERENT_LAG_S
    assert 0.0 < FILTER_PHASE_DELAY_S[15.0] < 0.5
    assert FILTER_PHASE_DELAY_S[6.0] < 0.0  # below the band-pass centre: a lead
    assert inherent_lag_s(15.0, 800.0) == pytest.approx(INHERENT_LAG_S - 0.2)
    assert RRRespiration().lag_s == pytest.approx(INHERENT_LAG_S)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=200), max_size=8))
def test_live_output_independent_of_chunking(cuts: list[int]) -> None:
    bt, rr = synth_beats(15.0, 150.0)
    rr = rr.copy()
    rr[[40, 41]] = [rr[40] * 0.6, rr[41] * 1.4]  # an ectopic pair
    bt = np.delete(bt, np.arange(90, 97))  # a gap
    rr = np.delete(rr, np.arange(90, 97))
    t_all, y_all = RRRespiration().process(bt, rr)
    live = RRRespiration()
    parts = [
        live.process(bt[a:b], rr[a:b]) for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), None], strict=True)
    ]
    t_cat = np.concatenate([p[0] for p in parts])
    y_cat = np.concatenate([p[1] for p in parts])
    np.testing.assert_array_equal(t_cat, t_all)
    np.testing.assert_allclose(y_cat, y_all, rtol=0, atol=1e-12)


def test_gap_gives_nan_and_a_clean_restart() -> None:
    bt, rr = synth_beats(12.0, 200.0)
    keep = (bt < 80) | (bt > 95)
    bt, rr = bt[keep], rr[keep]
    t, y = RRRespiration().process(bt, rr)
    in_gap = (t > 80.5) & (t < 95)
    assert np.all(np.isnan(y[in_gap])) and np.any(in_gap)
    after = t > 96
    assert np.all(np.isfinite(y[after]))
    # Restart without a step transient: the waveform stays within its usual range.
    assert np.max(np.abs(y[after])) < 2.0 * np.nanmax(np.abs(y[(t > 40) & (t < 79)]))
    to, yo = rr_to_resp_offline(bt, rr)
    assert np.all(np.isnan(yo[(to > 80.5) & (to < 95)]))
    assert np.all(np.isfinite(yo[(to > 96)]))


def test_artefacts_are_dropped() -> None:
    bt, rr = synth_beats(12.0, 120.0)
    bad = rr.copy()
    bad[30], bad[31] = bad[30] * 0.55, bad[31] * 1.45  # premature beat + compensatory pause
    bad[60] = 5000.0  # out of range
    bad[80] = np.nan
    mask = rr_artefacts(bad)
    assert set(np.flatnonzero(mask)) == {30, 31, 60, 80}
    assert not np.any(rr_artefacts(rr)) and not np.any(rr_artefacts(rr, causal=True))
    live = RRRespiration()
    t, y = live.process(bt, bad)
    assert live.n_artefacts == 4 and live.n_beats == bt.size
    t0, y0 = RRRespiration().process(bt, rr)
    _, i, j = np.intersect1d(t, t0, return_indices=True)
    assert np.corrcoef(y[i], y0[j])[0, 1] > 0.9
    far = np.min(np.abs(t0[j][:, None] - bt[[30, 60, 80]][None, :]), axis=1) > 15.0
    assert np.max(np.abs(y[i][far] - y0[j][far])) < 0.2 * np.max(np.abs(y0))


def test_beat_times_rebuilt_from_late_notifications() -> None:
    bt, rr = synth_beats(12.0, 60.0)
    assert np.allclose(beat_times_from_rr(bt, rr)[1:], bt[1:])
    # Notifications once a second: host times lag the beats by up to 1 s, two beats may share one.
    host = np.ceil(bt)
    rebuilt = beat_times_from_rr(host, rr)
    assert np.all(rebuilt <= host + 1e-9) and np.all(rebuilt >= host - 1.5)
    assert np.median(np.abs(rebuilt[5:] - bt[5:])) < 0.3


@pytest.mark.parametrize(
    ("bt", "rr"),
    [
        ([], []),
        ([1.0], [900.0]),
        ([1.0, 2.0], [900.0, 1000.0]),
        ([np.nan, 1.0, np.nan], [np.nan, np.nan, 800.0]),
        ([5.0, 4.0, 3.0, 6.0], [800.0, 800.0, 800.0, 800.0]),
        ([1.0, 1.0, 1.0], [0.0, -5.0, 1e9]),
        (np.arange(20.0), np.full(20, 1000.0)),
    ],
)
def test_garbage_never_raises(bt: list[float], rr: list[float]) -> None:
    t, y = rr_to_resp_offline(bt, rr)
    assert t.shape == y.shape
    live = RRRespiration()
    t, y = live.process(bt, rr)
    assert t.shape == y.shape
    t, y = live.process(bt, rr)  # again: the times now go backwards
    assert t.shape == y.shape
    assert beat_times_from_rr(bt, rr).shape == np.asarray(bt).shape


def test_long_silence_does_not_flood() -> None:
    live = RRRespiration()
    live.process([1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0])
    t, y = live.process([1e9, 1e9 + 1.0], [1000.0, 1000.0])
    assert t.size <= live.max_nan_samples + 8 and np.sum(np.isfinite(y)) <= 8


def test_polar_h10_recording(shared_data: Path) -> None:
    path = shared_data / "polar_h10_rr.csv"
    d = load_csv(path)
    host, rr = d["time"], d["rr_ms"]
    live = RRRespiration()
    t, y = live.process(host, rr)
    assert live.n_artefacts < 0.05 * host.size
    assert np.mean(np.isfinite(y)) > 0.95
    rate = dominant_rate_bpm(t[t > 30], y[t > 30])
    assert 3.0 <= rate <= 30.0  # this strap wearer follows a slow breathing pacer: about 4/min
    _, yo = rr_to_resp_offline(host, rr)
    assert np.mean(np.isfinite(yo)) > 0.95
