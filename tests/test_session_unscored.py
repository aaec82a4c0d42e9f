"""A session that never scored a window (shorter than the sync window): its summary's time in sync is
unknown (None, like mean_plv), not 0 s: nothing was measured, which is not "never in sync"."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import breathing, run_collecting

from breathsync.live import summary_lines
from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock
from breathsync.sources.memory import MemorySource


def _session(duration_s: float) -> Session:
    t, ya, _ = breathing(duration_s=duration_s + 5, fs_hz=25, rate_bpm=12, seed=1)
    _, yb, _ = breathing(duration_s=duration_s + 5, fs_hz=25, rate_bpm=12, seed=2)
    specs = [
        ParticipantSpec("A", MemorySource(t, {"resp": ya})),
        ParticipantSpec("B", MemorySource(t, {"resp": yb})),
    ]
    return Session(specs, SessionClock(300.0), SessionConfig(phase="match"))


def test_no_scored_window_is_an_unknown_time_in_sync(tmp_path: Path) -> None:
    session = _session(20.0)
    session.add_sink(Recorder(tmp_path / "rec"))
    run_collecting(session, 20.0)
    pair = session.summary()["pairs"][0]
    assert pair["mean_plv"] is None and pair["time_in_sync_s"] is None
    summary = json.loads((tmp_path / "rec" / "session.json").read_text(encoding="utf-8"))["summary"]
    recorded = summary["pairs"][0]
    assert recorded["time_in_sync_s"] is None
    lines = summary_lines(session.summary())
    # Why, as analyze says of recordings that overlap by less than a window (not a fault of the signals).
    assert "A-B: not scored: the session (20 s) was shorter than one 30-s window" in lines, lines
    assert recorded["note"] == "not scored: the session (20 s) was shorter than one 30-s window"


def test_a_scored_session_still_counts_its_seconds() -> None:
    session = _session(60.0)
    run_collecting(session, 60.0)
    pair = session.summary()["pairs"][0]
    assert pair["mean_plv"] is not None and isinstance(pair["time_in_sync_s"], float)
    assert any(line.startswith("A-B: in sync ") for line in summary_lines(session.summary()))


def test_a_short_session_without_a_duration_is_said_short_however_fast_it_ran(tmp_path: Path) -> None:
    # Without --duration the note read the session's clock, which runs on after the end: at 300x a 20-s
    # replay had no note at all in session.json, and at 10x it said "the session (22 s)".
    session = _session(15.0)
    session.add_sink(Recorder(tmp_path / "rec"))
    run_collecting(session, None)
    want = "not scored: the session (20 s) was shorter than one 30-s window"  # its files: 20 s (15 + 5)
    recorded = json.loads((tmp_path / "rec" / "session.json").read_text(encoding="utf-8"))["summary"]
    assert recorded["pairs"][0].get("note") == want
    assert session.summary()["pairs"][0].get("note") == want
