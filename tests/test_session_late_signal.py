"""A source that says what it carries only once started (a Bluetooth strap after its scan, an lsl: stream once
opened): the session gives it the time without samples its signal is given. A heart-rate strap read as a belt
at the start was "no signal" at every missed beat (2 s instead of 3.5)."""

from __future__ import annotations

import numpy as np
from conftest import breathing, run_collecting

from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock
from breathsync.sources.memory import MemorySource


class _StrapAfterScan(MemorySource):
    """A strap's beats whose source says "rr" only once started, as a ble: source does after its scan."""

    async def start(self, clock: SessionClock) -> None:
        await super().start(clock)
        self.signal = "rr"


def _lost(gap_beats: int) -> list[str]:
    t_b = np.cumsum(np.full(120, 0.8))
    keep = np.ones(t_b.size, bool)
    keep[60 : 60 + gap_beats] = False  # missed beats: 0.8 s x (gap_beats + 1) without a sample
    rr = 800.0 + 40.0 * np.sin(2 * np.pi * t_b / 6.0)
    t, y, _ = breathing(duration_s=96.0, fs_hz=25, rate_bpm=10, seed=1)
    specs = [
        ParticipantSpec("A", _StrapAfterScan(t_b[keep], {"rr_ms": rr[keep]}, "resp")),
        ParticipantSpec("B", MemorySource(t, {"resp": y})),
    ]
    session = Session(specs, SessionClock(100.0), SessionConfig(phase="match"))
    snaps = run_collecting(session, 90.0)
    return [e.text for s in snaps for e in s.events if e.kind == "source_lost"]


def test_a_missed_beat_of_a_strap_known_after_its_scan_is_no_lost_strap() -> None:
    assert _lost(2) == []  # 2.4 s without a beat


def test_a_strap_silent_longer_than_a_strap_is_given_is_lost() -> None:
    assert _lost(5) == ["A: no signal"]  # 4.8 s
