"""The simulated follower's default reaction delay fits the in-sync rule (|relative phase| <= 45 deg).

With the earlier 0.7 s default a follower locked to a pacer at 15/min (PLV 0.93) was never in sync: 0.7 s
behind is 63 deg of phase there.
"""

from __future__ import annotations

import pytest
from conftest import run_collecting

from breathsync.live import ParticipantArg, build_session
from breathsync.session import SessionConfig
from breathsync.sources.sim import DEFAULT_DELAY_S, SimSource, parse_sim_spec


def test_default_delay_is_within_an_eighth_of_a_cycle_at_usual_rates() -> None:
    assert SimSource("follow").delay_s == DEFAULT_DELAY_S == parse_sim_spec("follow").delay_s
    for rate_bpm in (6.0, 10.0, 12.0, 15.0):
        assert 360.0 * DEFAULT_DELAY_S * rate_bpm / 60.0 < 30.0  # degrees behind, well inside 45


@pytest.mark.parametrize("pacer_bpm", [6, 15])
def test_default_follower_counts_as_in_sync_with_a_pacer(pacer_bpm: int) -> None:
    parts = [
        ParticipantArg("A", f"sim:pacer,rate={pacer_bpm}"),
        ParticipantArg("B", "sim:follow,rate=12,seed=3"),  # default coupling and delay
    ]
    session = build_session(parts, speed=200.0, config=SessionConfig(window_s=30.0, phase="free"))
    snaps = run_collecting(session, 240.0)
    pv = snaps[-1].pairs[0]
    assert pv.plv > 0.8
    assert pv.time_in_sync_s > 120.0, pv.time_in_sync_s  # was 0 s at 15/min with the 0.7-s default
