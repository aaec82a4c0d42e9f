"""A session says when a belt is clipped (held at exactly the sensor's limit at the top of every breath: a
belt too tight, a gain too high), once, and keeps tracking it; session.json's summary has the clipped share,
as analyze warns of it. It read as "flat" for seconds at every held top, with no word of why."""

from __future__ import annotations

import numpy as np
from conftest import breathing, run_collecting

from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock
from breathsync.sources.memory import MemorySource


def _session(clip_pct: float | None) -> Session:
    t, y, _ = breathing(duration_s=120.0, fs_hz=25, rate_bpm=8, seed=4)
    a = y if clip_pct is None else np.minimum(y, np.percentile(y, clip_pct))
    specs = [
        ParticipantSpec("A", MemorySource(t, {"resp": a})),
        ParticipantSpec("B", MemorySource(t, {"resp": y})),
    ]
    return Session(specs, SessionClock(100.0), SessionConfig(phase="match"))


def _notes(session: Session) -> list[str]:
    snaps = run_collecting(session, None)
    return [e.text for s in snaps for e in s.events if e.kind == "signal_note" and "clipped" in e.text]


def test_a_clipped_belt_is_said_once_and_counted() -> None:
    session = _session(60.0)
    notes = _notes(session)
    assert notes == [
        "A: the signal is clipped (held at the sensor's limit at the top or bottom of breaths): the belt is too "
        "tight or the sensor's range too small (loosen the belt or lower the gain); breaths are still tracked"
    ]
    parts = session.summary()["participants"]
    assert 0.2 < parts["A"]["clipped_frac"] < 0.5 and parts["B"]["clipped_frac"] == 0.0
    assert parts["A"]["mean_rate_bpm"] is not None and abs(parts["A"]["mean_rate_bpm"] - 8.0) < 1.0


def test_a_belt_within_its_range_gets_no_note() -> None:
    session = _session(None)
    assert _notes(session) == []
    assert session.summary()["participants"]["A"]["clipped_frac"] == 0.0


def test_derived_breathing_has_no_clipped_share() -> None:
    # Breathing derived from heart beats is a waveform breathsync computes: it never holds a value, so its
    # clipped share is not measured (null, as analyze's), not "0.0: checked and fine".
    t_b = np.cumsum(np.full(150, 0.8))
    rr = 800.0 + 40.0 * np.sin(2 * np.pi * 0.2 * t_b)
    t, y, _ = breathing(duration_s=120.0, fs_hz=25, rate_bpm=12, seed=5)
    specs = [
        ParticipantSpec("A", MemorySource(t_b, {"rr_ms": rr}, "rr")),
        ParticipantSpec("B", MemorySource(t, {"resp": y})),
    ]
    session = Session(specs, SessionClock(100.0), SessionConfig(phase="match"))
    run_collecting(session, None)
    parts = session.summary()["participants"]
    assert parts["A"]["clipped_frac"] is None and parts["B"]["clipped_frac"] == 0.0
