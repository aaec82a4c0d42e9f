"""After a dropout, a session's time in sync no longer grows for the windows that ended inside it (the audit:
a fake strap's 5-s link loss; at the reconnection the session scored the windows ending 73.5-79.6 s in sync,
24 of their 30 s known, and the meter's "in sync 0:32" became "0:38" after the "lost sync" event; the
summary said 59 s where the events' runs added to about 55). A window is scored only when both phases are
known at its end, as analyze scores it (tests/dsp/test_sync_end_known.py)."""

from __future__ import annotations

import math
from pathlib import Path

from conftest import REPO, run_collecting
from test_session_time_in_sync import _gap_file

from breathsync.io.csvfile import read_recording
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.session_types import Snapshot
from breathsync.sources.base import PhaseProbe, SessionClock
from breathsync.sources.memory import MemorySource
from breathsync.sources.replay import ReplaySource
from breathsync.sources.sim import SimSource

SAMPLES = REPO / "sample_signals"


def _strap_with_a_dropout(speed: float = 100.0, duration_s: float = 150.0) -> list[Snapshot]:
    """A heart-rate strap (the Polar H10 sample's beats) whose link is lost from 95 to 103 s, with a simulated
    partner that follows it closely (in sync before the dropout)."""
    rec = read_recording(SAMPLES / "polar_h10_rr.csv")
    t = rec.time - rec.time[0]
    keep = t < 160.0
    probes = {"A": PhaseProbe()}
    strap = MemorySource(
        t[keep], {"rr_ms": rec.columns["rr_ms"][keep]}, "rr", silent_from_s=95.0, silent_until_s=103.0
    )
    partner = SimSource("follow", rate_bpm=6.0, coupling=3.0, seed=2, probe=probes["A"])
    session = Session(
        [ParticipantSpec("A", strap), ParticipantSpec("B", partner, simulated=True)],
        SessionClock(speed),
        SessionConfig(goal_s=30.0),
        probes=probes,
    )
    return run_collecting(session, duration_s)


def test_a_dropout_adds_no_time_in_sync_once_the_signal_is_back() -> None:
    snaps = _strap_with_a_dropout()
    lost = next(s for s in snaps if not s.participant("A").receiving)
    assert 95.0 < lost.t_s < 100.0 and lost.pairs[0].time_in_sync_s > 5.0  # in sync before the dropout
    after = [s for s in snaps if lost.t_s <= s.t_s <= 125.0]
    assert any(s.participant("A").receiving and s.t_s > 104.0 for s in after)  # back, windows scored again
    # The windows ending in the dropout are unknown: nothing is added for them when the samples after it come
    # (the code before added 6 s at 104 s). The partner takes the strap's rhythm again later (143 s).
    assert {s.pairs[0].time_in_sync_s for s in after} == {lost.pairs[0].time_in_sync_s}
    events = [(e.kind, e.t_s) for s in snaps for e in s.events if e.kind in ("in_sync", "lost_sync")]
    assert [k for k, _ in events] == ["in_sync", "lost_sync", "in_sync"], events


def test_back_from_a_dropout_the_window_before_it_is_not_shown_as_the_pairs_state() -> None:
    """Back from the dropout, the strap's breathing is derived a beat or two after its beats come: until the
    windows after the dropout were scored, the views showed the window before it, "in sync" for about a
    second after the "lost sync" event (a slower replay, so that snapshots fall in that second)."""
    snaps = _strap_with_a_dropout(30.0, 112.0)
    lost_at = next(s.t_s for s in snaps if not s.participant("A").receiving)
    back = [s for s in snaps if s.t_s > lost_at and s.participant("A").receiving]
    assert back
    for s in back:
        pv = s.pairs[0]
        assert not pv.in_sync, s.t_s
        assert math.isnan(pv.window_end_s) or pv.window_end_s > 95.0, (s.t_s, pv.window_end_s)


def test_a_replayed_gap_raises_no_in_sync_event_and_adds_nothing(tmp_path: Path) -> None:
    """pair_sync_A.csv with 20 s missing (100-120 s): when A's samples came back, the windows ending in the
    gap's first 6 s were scored in sync, with an "in sync" event at 103.0 s and "lost sync" at 107.0 s, while
    A had no signal; and 6 s more time in sync."""
    specs = [
        ParticipantSpec("A", ReplaySource(_gap_file(tmp_path))),
        ParticipantSpec("B", ReplaySource(SAMPLES / "pair_sync_B.csv")),
    ]
    snaps = run_collecting(Session(specs, SessionClock(300.0), SessionConfig()), 150.0)
    events = [
        (e.kind, round(e.t_s, 1)) for s in snaps for e in s.events if e.kind in ("in_sync", "lost_sync")
    ]
    assert not [e for e in events if 100.0 <= e[1] <= 150.0], events
    totals = {s.pairs[0].time_in_sync_s for s in snaps if 100.5 <= s.t_s <= 150.0}
    assert len(totals) == 1, sorted(totals)
