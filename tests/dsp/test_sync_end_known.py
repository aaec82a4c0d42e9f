"""A window is scored only where both phases are known at the sample its value stands for (its end; a centred
window's middle), as well as on ``min_coverage`` of it: "in sync" is about both people's breathing now. With
coverage alone, the windows ending in the first 6 s of a dropout (24 of their 30 s known) were scored once
the samples after it came: a live session's time in sync grew seconds after its "lost sync" event."""

from __future__ import annotations

import math

import numpy as np
import pytest

from breathsync.dsp.sync import (
    GridRing,
    LivePairSync,
    SyncConfig,
    kuramoto_order,
    pair_sync,
    pair_windows,
)

FS = 10.0


def _locked(duration_s: float = 120.0, rate_bpm: float = 12.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A pair locked 0.2 rad apart on a 10-Hz grid: (t, phase A, phase B)."""
    t = np.arange(round(duration_s * FS)) / FS
    pa = (2 * math.pi * rate_bpm / 60.0 * t) % (2 * math.pi)
    return t, pa, (pa - 0.2) % (2 * math.pi)


def test_windows_ending_in_a_gap_are_unknown_and_windows_after_it_are_scored() -> None:
    t, pa, pb = _locked()
    pa[(t >= 60.0) & (t < 65.0)] = np.nan  # A's phase unknown for 5 s: every window over it is >= 80% known
    rate = np.full(t.size, 12.0)
    ps = pair_sync(t, pa, pb, rate, rate, SyncConfig(), null_plv=0.5)
    gap = (t >= 60.0) & (t < 65.0)
    assert np.isnan(ps.plv[gap]).all() and not ps.in_sync[gap].any()
    assert np.isnan(ps.rel_phase_rad[gap]).all() and np.isnan(ps.lag_s[gap]).all()
    # A window that holds the gap but ends after it, with both known there, is scored (coverage 25/30).
    after = (t >= 65.0) & (t < 95.0)
    assert np.isfinite(ps.plv[after]).all() and ps.in_sync[after].all()
    assert np.isfinite(ps.plv[(t >= 23.9) & (t < 60.0)]).all()
    # The summary counts only those: 5 s fewer than the windows ending from 23.9 s on (80% of 30 s known).
    assert ps.summary(30.0)["scored_s"] == pytest.approx((t[-1] - 23.9 + 0.1) - 5.0, abs=1e-9)


def test_the_rule_is_the_same_for_both_participants_and_for_centred_windows() -> None:
    t, pa, pb = _locked(90.0)
    pb[450] = np.nan  # one unknown sample of B at 45.0 s
    w = pair_windows(pa, pb, np.full(t.size, 12.0), np.full(t.size, 12.0), FS, 30.0)
    assert np.isnan(w.plv[450]) and np.isnan(w.rel_phase_rad[450])
    assert w.coverage[450] > 0.99  # the window itself is almost all known: only its end is not
    assert np.isfinite(w.plv[449]) and np.isfinite(w.plv[451])
    c = pair_windows(pa, pb, np.full(t.size, 12.0), np.full(t.size, 12.0), FS, 30.0, causal=False)
    assert np.isnan(c.plv[450]) and np.isfinite(c.plv[449]) and np.isfinite(c.plv[451])
    # The windows ending at a later sample only (a live session's) follow the same rule.
    tail = pair_windows(pa, pb, np.full(t.size, 12.0), np.full(t.size, 12.0), FS, 30.0, ends_from=440)
    assert np.isnan(tail.plv[10]) and np.isfinite(tail.plv[9])


def test_a_group_window_ending_where_someone_has_no_phase_is_unknown() -> None:
    t, pa, pb = _locked(90.0)
    pc = pa.copy()
    pc[(t >= 60.0) & (t < 63.0)] = np.nan
    r = kuramoto_order(np.vstack([pa, pb, pc]), FS, 30.0)
    gap = (t >= 60.0) & (t < 63.0)
    assert np.isnan(r[gap]).all()
    assert np.isfinite(r[(t >= 63.0)]).all() and np.isfinite(r[(t >= 29.9) & (t < 60.0)]).all()
    rc = kuramoto_order(np.vstack([pa, pb, pc]), FS, 30.0, causal=False)
    assert np.isnan(rc[gap]).all() and np.isfinite(rc[(t >= 40.0) & (t < 50.0)]).all()


def test_a_live_pair_whose_latest_sample_has_no_phase_is_unknown() -> None:
    t, pa, pb = _locked(60.0)
    pa[-1] = np.nan
    a, b = GridRing(FS, 200.0, ("phase", "rate")), GridRing(FS, 200.0, ("phase", "rate"))
    a.append(t, phase=pa, rate=np.full(t.size, 12.0))
    b.append(t, phase=pb, rate=np.full(t.size, 12.0))
    st = LivePairSync().update(a, b)
    assert st is not None and st.coverage > 0.99
    assert math.isnan(st.plv) and not st.in_sync
