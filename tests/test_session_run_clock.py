"""The current run in sync and the total time in sync are counted alike: each window end judged in sync adds
its step (0.1 s). The run was the time since its first window end, one step short of the same run's time
in sync: "IN SYNC 0:32 ... time in sync 0:33" in the terminal, and the dashboard's banner "in sync 1:04"
beside "in sync 1:05 so far", with a single run since 35.6 s (``breathsync run -p
A=sim:lead,rate=12,after=50,ramp=60,to=8,seed=5 -p B=sim:follow,rate=12,coupling=1.5,delay=0.3,seed=6
--phase lead --goal 20 --duration 125 --speed 20 --headless``)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from conftest import breathing

from breathsync.session import ParticipantSpec, Session, SessionConfig, _PairState
from breathsync.session_types import Snapshot, clock_text
from breathsync.sources.base import PhaseProbe, SessionClock
from breathsync.sources.memory import MemorySource
from breathsync.sources.sim import SimSource


def _lead_session() -> list[Snapshot]:
    probes = {"A": PhaseProbe(), "B": PhaseProbe()}
    leader = SimSource("lead", rate_bpm=12.0, after_s=50.0, ramp_s=60.0, to_bpm=8.0, seed=5)
    follower = SimSource("follow", rate_bpm=12.0, coupling=1.5, delay_s=0.3, seed=6, probe=probes["A"])
    session = Session(
        [ParticipantSpec("A", leader), ParticipantSpec("B", follower, simulated=True)],
        SessionClock(100.0),
        SessionConfig(phase="lead", goal_s=20.0, leader="A"),
        probes=probes,
    )
    snaps: list[Snapshot] = []
    q = session.subscribe(maxsize=100_000)

    async def main() -> None:
        await session.run(125.0)
        while not q.empty():
            snaps.append(q.get_nowait())

    asyncio.run(main())
    return snaps


def test_one_unbroken_run_is_the_whole_time_in_sync() -> None:
    snaps = _lead_session()
    ins = [e for s in snaps for e in s.events if e.kind in ("in_sync", "lost_sync")]
    assert [e.kind for e in ins] == ["in_sync"]  # one run, never lost
    shown = [s.pairs[0] for s in snaps if s.pairs[0].in_sync]
    assert len(shown) > 20
    for pv in shown:
        assert pv.sync_run_s == pytest.approx(pv.time_in_sync_s, abs=1e-6)
        assert clock_text(pv.sync_run_s) == clock_text(pv.time_in_sync_s)
    # The goal's progress is that run, and the lead phase's instruction came when it reached the goal.
    last = snaps[-1]
    assert last.training.progress_s == 20.0 and last.training.goal_reached_at_s is not None
    instructed = next(e for s in snaps for e in s.events if e.kind == "phase_stage")
    assert instructed.t_s == last.training.goal_reached_at_s


def _judged(session: Session, states: list[bool], dt: float = 0.1) -> _PairState:
    ps = session._pairs[0]
    for i, state in enumerate(states):
        session._judge(ps, 30.0 + i * dt, state, dt)
    return ps


def _session(goal_s: float = 1.0) -> Session:
    t, y, _ = breathing(duration_s=10, fs_hz=25, rate_bpm=12, seed=1)
    specs = [ParticipantSpec(lab, MemorySource(t, {"resp": y})) for lab in "AB"]
    return Session(specs, SessionClock(100.0), SessionConfig(goal_s=goal_s))


def test_a_lapse_within_a_run_adds_nothing_to_it_and_does_not_end_it() -> None:
    # 5 window ends in sync, a lapse of 3 (0.3 s, under the events' 1-s hold), 4 more in sync: a run of 0.9 s
    # of time in sync (it was 1.1 s: the time from its first window end to its last).
    session = _session()
    ps = _judged(session, [True] * 5 + [False] * 3 + [True] * 4)
    assert ps.run_start == pytest.approx(30.0)
    assert ps.run_s == pytest.approx(0.9)
    # The goal (1 s) is reached at the window end that makes the run's time in sync 1 s, not before.
    assert ps.goal_at is None
    session._judge(ps, 31.2, True, 0.1)
    assert ps.goal_at == pytest.approx(31.2) and ps.run_s == pytest.approx(1.0)
    # Out of sync for the events' hold: the run is over, and the next begins from nothing.
    for k in np.arange(31.3, 32.35, 0.1):
        session._judge(ps, float(k), False, 0.1)
    assert ps.run_start is None and ps.run_s == 0.0
    session._judge(ps, 32.4, True, 0.1)
    assert ps.run_start == pytest.approx(32.4) and ps.run_s == pytest.approx(0.1)


def test_a_lost_signal_judged_out_of_sync_adds_nothing() -> None:
    session = _session()
    ps = _judged(session, [True] * 3)
    session._judge(ps, 30.5, False)  # the view's judgment when a participant's signal is missed: no window
    assert ps.run_s == pytest.approx(0.3)
