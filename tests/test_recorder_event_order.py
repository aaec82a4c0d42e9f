"""events.csv is in time order: an event stamped at its samples' time (a signal note, a source's end) that
is later than the pairs' last judged window end waits for the pairs' events before it (a fast replay wrote
"the heart's rhythm confirms ..." at 68.5 s before "in sync" at 45 s). What is held is written at the final
snapshot, or at close when there was none (a session ended on a fault)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

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
