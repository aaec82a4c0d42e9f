"""The lead phase's verdict ("following" only when the leader changed pace and the follower went along),
its instruction and summary, and what a participant whose samples stopped shows."""

from __future__ import annotations

import math

from conftest import run_collecting

from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.session_types import Snapshot
from breathsync.sources.base import PhaseProbe, SessionClock
from breathsync.sources.sim import SimSource

SPEED = 100.0


def _session(leader: SimSource, follower: SimSource, probes: dict[str, PhaseProbe], **cfg: object) -> Session:
    return Session(
        [ParticipantSpec("A", leader), ParticipantSpec("B", follower)],
        SessionClock(SPEED),
        SessionConfig(phase="lead", leader="A", **cfg),  # type: ignore[arg-type]
        probes=probes,
    )


def test_a_participant_whose_source_ended_shows_no_rate_and_no_signal() -> None:
    # B's simulation ends at 100 s: 25 s later it showed "12.5/min ok" and the pair a rate error of 2.1/min
    # from a window ending at B's last sample.
    leader = SimSource("lead", rate_bpm=12.0, after_s=50.0, ramp_s=60.0, to_bpm=8.0, seed=5)
    other = SimSource("steady", rate_bpm=12.0, seed=6, duration_s=100.0)
    session = _session(leader, other, {}, goal_s=20.0)
    snaps: list[Snapshot] = run_collecting(session, 125.0)
    before = [s for s in snaps if 80.0 < s.t_s < 95.0]
    assert before and all(math.isfinite(s.participant("B").rate_bpm) for s in before)
    last = snaps[-1]
    b = last.participant("B")
    assert not b.receiving and b.source_status == "ended"
    assert math.isnan(b.rate_bpm) and math.isnan(b.phase_rad)
    assert b.quality == "no_signal"
    assert math.isnan(last.training.rate_tracking_error_bpm)
    assert math.isnan(last.training.follower_lag_s)
    a = last.participant("A")
    assert a.receiving and math.isfinite(a.rate_bpm) and a.quality == "ok"
