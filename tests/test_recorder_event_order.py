"""events.csv is in time order: an event stamped at its samples' time (a signal note, a source's end) that
is later than the pairs' last judged window end waits for the pairs' events before it (a fast replay wrote
"the heart's rhythm confirms ..." at 68.5 s before "in sync" at 45 s). What is held is written at the final
snapshot, or at close when there was none (a session ended on a fault)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from test_recorder import _info
from view_snapshots import pair, snapshot

from breathsync.recorder import Recorder
from breathsync.session_types import Event

NOTE = Event(68.5, "signal_note", "A: the heart's rhythm confirms which way is inhale", ("A",))
SYNC = Event(45.0, "in_sync", "A and B are in sync", ("A", "B"))
LOST = Event(70.0, "lost_sync", "A and B lost sync", ("A", "B"))


def _times(folder: Path) -> list[tuple[float, str]]:
    with (folder / "events.csv").open(encoding="utf-8", newline="") as fh:
        return [(float(r["time"]), r["kind"]) for r in csv.DictReader(fh)]


def test_events_are_written_in_time_order(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "r")
    rec.open(_info())
    rec.on_snapshot(snapshot(pairs=(pair(window_end_s=40.0),), events=(NOTE,), t_s=69.0, seq=1))
    rec.on_snapshot(snapshot(pairs=(pair(window_end_s=50.0),), events=(SYNC,), t_s=70.0, seq=2))
    rec.on_snapshot(snapshot(pairs=(pair(window_end_s=72.0),), events=(LOST,), t_s=72.5, seq=3))
    rec.close(_info())
    assert _times(tmp_path / "r") == [(45.0, "in_sync"), (68.5, "signal_note"), (70.0, "lost_sync")]


def test_held_events_are_written_by_the_final_snapshot_or_at_close(tmp_path: Path) -> None:
    for final in (True, False):
        folder = tmp_path / f"r{final}"
        rec = Recorder(folder)
        rec.open(_info())
        rec.on_snapshot(snapshot(pairs=(pair(window_end_s=40.0),), events=(NOTE,), t_s=69.0, seq=1))
        rec.on_snapshot(
            snapshot(pairs=(pair(window_end_s=41.0),), events=(SYNC,), t_s=69.5, seq=2, final=final)
        )
        rec.close(_info())
        assert _times(folder) == [(45.0, "in_sync"), (68.5, "signal_note")]


def test_without_a_scored_pair_events_are_written_at_once(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "r")
    rec.open(_info())
    rec.on_snapshot(snapshot(pairs=(pair(window_end_s=math.nan, plv=math.nan),), events=(NOTE,), seq=1))
    assert rec._events_held == []  # nothing to wait for
    rec.on_snapshot(snapshot(labels=("A",), events=(SYNC,), seq=2))  # one participant: no pairs
    assert rec._events_held == []
    rec.close(_info())
    assert _times(tmp_path / "r") == [(68.5, "signal_note"), (45.0, "in_sync")]  # as they came


def test_events_stay_in_time_order_through_a_dropout(tmp_path: Path) -> None:
    """While one of a pair has no signal its view names no window end; the recorder took that for "nothing
    to wait for" and wrote what it held, before the pair judged the windows that ended in the dropout:
    "source_back" at 103.0 s, then "lost sync" at 98.6 s."""
    import asyncio

    from conftest import REPO

    from breathsync.io.csvfile import read_recording
    from breathsync.session import ParticipantSpec, Session, SessionConfig
    from breathsync.sources.base import PhaseProbe, SessionClock
    from breathsync.sources.memory import MemorySource
    from breathsync.sources.sim import SimSource

    rr = read_recording(REPO / "sample_signals" / "polar_h10_rr.csv")
    t = rr.time - rr.time[0]
    keep = t < 160.0
    probe = PhaseProbe()
    strap = MemorySource(
        t[keep], {"rr_ms": rr.columns["rr_ms"][keep]}, "rr", silent_from_s=95.0, silent_until_s=103.0
    )
    partner = SimSource("follow", rate_bpm=6.0, coupling=3.0, seed=2, probe=probe)
    session = Session(
        [ParticipantSpec("A", strap), ParticipantSpec("B", partner, simulated=True)],
        SessionClock(30.0),  # (at 30x the snapshots fell so that the held events went out first)
        SessionConfig(goal_s=30.0),
        probes={"A": probe},
    )
    session.add_sink(Recorder(tmp_path / "r"))
    asyncio.run(session.run(150.0))
    events = _times(tmp_path / "r")
    kinds = [k for _, k in events]
    assert "source_lost" in kinds and "source_back" in kinds and "lost_sync" in kinds, events
    assert [t for t, _ in events] == sorted(t for t, _ in events), events


def test_a_pair_whose_partner_is_over_holds_nothing_and_a_dropout_holds_until_its_lost_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pair whose partner's source ended at 100 s of a 600-s session held every later event until the end
    (a kill -9 then lost them all); a dropout held them until the partner came back. What a pair without a
    signal has judged (its lost sync, judged_s) is waited for, then nothing; and nothing waits longer than
    HOLD_WALL_S of wall time."""
    import breathsync.recorder as recorder_module

    rec = Recorder(tmp_path / "r")
    rec.open(_info())
    rec.on_snapshot(snapshot(pairs=(pair(window_end_s=50.0),), events=(NOTE,), t_s=69.0, seq=1))
    assert rec._events_held == [NOTE]  # 68.5 is past what the pair has judged
    # The partner without a signal: no window now; judged up to its lost sync at 69.0 s.
    gone = pair(window_end_s=math.nan, plv=math.nan, judged_s=69.0)
    rec.on_snapshot(snapshot(pairs=(gone,), events=(LOST,), t_s=70.5, seq=2))
    assert rec._events_held == [LOST]  # 68.5 released; 70.0 waits
    over = pair(window_end_s=math.nan, plv=math.nan, judged_s=math.inf)  # its source is over
    rec.on_snapshot(snapshot(pairs=(over,), t_s=71.0, seq=3))
    assert rec._events_held == []
    # However a pair holds, an event is written within HOLD_WALL_S of wall time.
    monkeypatch.setattr(recorder_module, "HOLD_WALL_S", 0.0)
    late = Event(80.0, "signal_note", "A: a note", ("A",))
    rec.on_snapshot(snapshot(pairs=(pair(window_end_s=60.0),), events=(late,), t_s=81.0, seq=4))
    assert rec._events_held == []
    rec.close(_info())
    assert [k for _, k in _times(tmp_path / "r")] == ["signal_note", "lost_sync", "signal_note"]
