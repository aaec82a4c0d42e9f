"""The terminal view's words and numbers, from hand-made snapshots (tests/view_snapshots.py)."""

from __future__ import annotations

import math

import pytest
from view_snapshots import pair, snapshot

from breathsync.terminal import _pair_line, render, who_first


def test_opposite_phase_does_not_fill_the_meter_and_nobody_is_first() -> None:
    # The audit's case: a follower 2.5 s behind at 12/min, locked half a cycle off (PLV 0.95): the meter
    # read 0.71 ("sync [=======---]") and "A first by 2.5 s".
    pv = pair(plv=0.95, sync_score=0.71, in_sync=False, rel_phase_rad=math.radians(179.0), lag_s=2.49)
    line = _pair_line(pv)
    assert "sync [----------] 0.00" in line
    assert "opposite phase" in line and "first by" not in line
    assert "PLV 0.95" in line  # the PLV itself is still shown


@pytest.mark.parametrize(
    ("deg", "lag_s", "says"),
    [
        (20.0, 0.28, "A first by 0.3 s"),
        (-20.0, -0.28, "B first by 0.3 s"),
        (2.0, 0.04, "in phase"),  # was "A first by 0.0 s"
        (-1.0, -0.02, "in phase"),
        (89.0, 1.2, "A first by 1.2 s"),
        (-91.0, -1.3, "opposite phase"),
        (91.0, 1.3, "opposite phase"),
    ],
)
def test_who_breathes_first(deg: float, lag_s: float, says: str) -> None:
    assert who_first(pair(rel_phase_rad=math.radians(deg), lag_s=lag_s)) == says


def test_meter_is_the_pairs_meter() -> None:
    pv = pair(sync_score=0.8, rel_phase_rad=math.radians(60.0))
    assert pv.meter == pytest.approx(0.4)
    assert "sync [====------] 0.40" in render(snapshot(pairs=(pv,)))
