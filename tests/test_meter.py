"""The sync meter (PairView.meter) is at 0.50 or over exactly when the pair is in sync, so the meter and
the words never disagree. It was the chance-corrected score times cos(relative phase), which read under 0.2
in a quarter of the demo's in-sync windows (a PLV just over a chance level of 0.9 scores near 0)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from conftest import REPO, run_collecting
from view_snapshots import pair

from breathsync.live import ParticipantArg, build_session
from breathsync.session_types import METER_IN_SYNC, PairView


def _reads_in_sync(pv: PairView) -> bool:
    return round(pv.meter, 2) >= METER_IN_SYNC  # as the views show it, to two decimals


def test_the_meter_agrees_with_in_sync_over_a_grid_of_pairs() -> None:
    rng = np.random.default_rng(3)
    for _ in range(2000):
        null = float(rng.uniform(0.05, 0.9))
        plv = float(rng.uniform(0.0, 1.0))
        rel = float(rng.uniform(-math.pi, math.pi))
        in_sync = plv > null and abs(rel) <= math.radians(45.0)
        score = min(max((plv - null) / (1 - null), 0.0), 1.0)
        pv = pair(plv=plv, null_plv=null, sync_score=score, in_sync=in_sync, rel_phase_rad=rel)
        assert 0.0 <= pv.meter <= 1.0
        assert _reads_in_sync(pv) == in_sync, (plv, null, rel, pv.meter)


def test_opposite_phase_reads_zero_and_unknown_reads_nan() -> None:
    assert pair(plv=0.95, sync_score=0.9, in_sync=False, rel_phase_rad=math.pi).meter == 0.0
    assert math.isnan(pair(plv=math.nan, null_plv=math.nan, sync_score=math.nan, in_sync=False).meter)


def test_the_meter_agrees_with_in_sync_through_a_demo_session(tmp_path: Path) -> None:
    belt = REPO / "sample_signals" / "nk_rest5_100hz.csv"
    session = build_session(
        [
            ParticipantArg("you", f"replay:{belt}"),
            ParticipantArg("partner", "sim:follow,rate=13,coupling=3,delay=0.3,seed=1,fs=25"),
        ],
        speed=60.0,
    )
    views = [pv for s in run_collecting(session, 150.0) for pv in s.pairs if math.isfinite(pv.plv)]
    in_sync = [pv for pv in views if pv.in_sync]
    assert len(in_sync) > 10 and len(views) > len(in_sync)
    assert all(_reads_in_sync(pv) == pv.in_sync for pv in views)
    # What the old meter read in those windows: the disagreement this fixes.
    old = [max(0.0, pv.sync_score) * max(0.0, math.cos(pv.rel_phase_rad)) for pv in in_sync]
    assert min(old) < METER_IN_SYNC
