"""A pair whose source ends: its events, its goal and the session's end are judged at times its samples have
reached, so they are the same at any --speed.

- A source that ended (a replay at its end) while its pair was in sync: "lost sync" comes event_hold_s after
  its signal was missed (no_signal_s after its last sample). It never came: the episode was never closed.
- The session's end, when every source has ended, is its last sample: the final snapshot (duration_s in
  session.json) was the clock's time when the publisher saw the end, seconds later at a high --speed, and a
  "lost sync" judged then came after session_end (at 50x and 100x, not at 20x).
- The goal is reached at a window judged in sync: a replay that ended short of it reached it, counted up to
  when its signal was missed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from conftest import breathing, run_collecting

from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.session_types import Event, Snapshot
from breathsync.sources.base import SampleChunk, SessionClock
from breathsync.sources.memory import MemorySource


class _Lingering(MemorySource):
    """A file whose samples end, and whose reader ends ``linger_s`` of session time later: the publisher
    sees the end late, as on a busy machine at a high speed."""

    def __init__(self, *args: object, linger_s: float, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.linger_s = linger_s

    async def stream(self) -> AsyncIterator[SampleChunk]:
        async for chunk in super().stream():
            yield chunk
        assert self._clock is not None
        await self._clock.sleep_until(self.linger_s)


def _events(snaps: list[Snapshot]) -> list[Event]:
    return [e for s in snaps for e in s.events]


def _pair(a_end: float, b_end: float, *, linger_s: float = 0.0, goal_s: float = 60.0) -> Session:
    """A and B breathing the same breaths (in sync), A's file ending at ``a_end``, B's at ``b_end``."""
    t, y, _ = breathing(duration_s=max(a_end, b_end), fs_hz=25, rate_bpm=12, seed=1)
    a = MemorySource(t[t < a_end], {"resp": y[t < a_end]})
    b_cols = {"resp": y[t < b_end]}
    b = (
        _Lingering(t[t < b_end], b_cols, linger_s=linger_s)
        if linger_s
        else MemorySource(t[t < b_end], b_cols)
    )
    cfg = SessionConfig(phase="match", goal_s=goal_s)
    return Session([ParticipantSpec("A", a), ParticipantSpec("B", b)], SessionClock(50.0), cfg)


def test_a_source_ending_in_sync_loses_sync_after_its_signal_is_missed() -> None:
    session = _pair(40.0, 60.0)
    events = _events(run_collecting(session, None))  # type: ignore[arg-type]
    kinds = [(e.kind, e.t_s) for e in events if e.kind in ("in_sync", "lost_sync")]
    assert kinds[0][0] == "in_sync" and kinds[0][1] < 40.0
    last_a = 40.0 - 1 / 25
    cfg = session.config
    assert kinds[-1][0] == "lost_sync"
    assert abs(kinds[-1][1] - (last_a + cfg.no_signal_s + cfg.event_hold_s)) < 1e-6
    assert events[-1].kind == "session_end"


def test_the_session_ends_at_its_last_sample_however_late_the_end_is_seen() -> None:
    session = _pair(30.0, 30.0, linger_s=45.0)
    snaps = run_collecting(session, None)  # type: ignore[arg-type]
    events = _events(snaps)
    end = [e for e in events if e.kind == "session_end"]
    assert len(end) == 1 and events[-1] is end[0]
    assert 29.9 < end[0].t_s < 30.0
    assert snaps[-1].final and snaps[-1].t_s == end[0].t_s  # not 45 s, when the reader was seen to end
    assert session.info.extra["duration_s"] == round(end[0].t_s, 3)
    assert not [e for e in events if e.kind == "lost_sync"]  # nothing is judged after the samples


def test_a_replay_ending_short_of_the_goal_does_not_reach_it() -> None:
    # Where the run in sync begins: its in_sync event is event_hold_s after the first window in sync.
    probe = _pair(50.0, 60.0)
    events = _events(run_collecting(probe, None))  # type: ignore[arg-type]
    hold = probe.config.event_hold_s
    run_start = next(e.t_s for e in events if e.kind == "in_sync") - hold
    # A's last window in sync ends before 50 s; its signal is missed at 52 s. A goal 1 s past A's end is
    # not reached (it was, at 52 s, by the second before then).
    goal = 51.0 - run_start
    session = _pair(50.0, 60.0, goal_s=goal)
    events = _events(run_collecting(session, None))  # type: ignore[arg-type]
    assert [e for e in events if e.kind == "lost_sync"]
    assert not [e for e in events if e.kind == "goal_reached"], [(e.kind, e.t_s) for e in events]
    # The same goal, 2 s shorter, is reached while both breathe, at a window judged in sync.
    session = _pair(50.0, 60.0, goal_s=goal - 2.0)
    reached = [e for e in _events(run_collecting(session, None)) if e.kind == "goal_reached"]  # type: ignore[arg-type]
    assert len(reached) == 1 and reached[0].t_s < 50.0
