"""How often the session publishes as samples come: at most as often as the dashboard draws (30 frames a
second). With 8 belts sending their 0.1-s chunks at different moments the session published 40-48
snapshots a second, each worked out for 28 pairs and handed to the dashboard, which drew 30 of them at
most. A fast run (--speed) publishes more a second, as before, up to 50: its views and pairs.csv sample
the pairs' windows (10 a second of session time) at its snapshots.

The publisher's pause after a snapshot is read from the session itself (its wall clock stopped), not
timed."""

from __future__ import annotations

import asyncio
import sys
import time
from types import SimpleNamespace
from typing import Any

import pytest

import breathsync.session as session_module
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock
from breathsync.sources.sim import SimSource


def publisher_pauses(monkeypatch: pytest.MonkeyPatch, speed: float, duration_s: float) -> list[float]:
    """The pauses the publisher takes between a snapshot and the next one new samples bring, with its wall
    clock stopped (so each pause is the whole of its shortest gap between snapshots)."""
    stopped = {k: getattr(time, k) for k in dir(time) if not k.startswith("_")} | {
        "perf_counter": lambda: 0.0
    }
    monkeypatch.setattr(session_module, "time", SimpleNamespace(**stopped))
    pauses: list[float] = []
    sleep = asyncio.sleep

    def spy(delay: float, *args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_code.co_name == "_publish_loop":
            pauses.append(delay)
        return sleep(delay, *args, **kwargs)

    monkeypatch.setattr(asyncio, "sleep", spy)
    parts = [
        ParticipantSpec("A", SimSource(mode="steady", rate_bpm=12.0, seed=1)),
        ParticipantSpec("B", SimSource(mode="steady", rate_bpm=13.0, seed=2)),
    ]
    session = Session(parts, SessionClock(speed), SessionConfig())
    asyncio.run(session.run(duration_s))
    monkeypatch.undo()
    return pauses


def test_at_real_time_no_more_snapshots_than_the_dashboard_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses = publisher_pauses(monkeypatch, 1.0, 0.5)
    assert pauses
    assert min(pauses) == pytest.approx(1 / 30)  # was 1/50: 50 a second


def test_a_fast_run_keeps_its_snapshots_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses = publisher_pauses(monkeypatch, 20.0, 10.0)
    assert pauses
    assert min(pauses) == pytest.approx(1 / 50)  # 30 per second of session time would be 600: 50 at most
