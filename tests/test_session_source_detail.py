"""Why a source keeps failing reaches events.csv: a change of its status detail within the same status (a
BLE reconnection's attempts, ``Source.set_detail``, which calls no listener) becomes a ``source_detail`` event,
the first at once, then at most one per 30 s of session time, the wait doubling. Before, the reason was only in
the dashboard's table: events.csv and session.json never said why the link could not be restored."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any

from conftest import breathing, run_collecting

from breathsync.recorder import Recorder
from breathsync.session import DETAIL_EVENT_S, ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock, SourceStatus
from breathsync.sources.memory import MemorySource


class _Charger(MemorySource):
    """A device whose link is lost at 5 s and whose every reconnection attempt fails, one a second, until
    55 s (the detail names the attempt, as BleSource's does), then it is back."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, silent_from_s=5.0, silent_until_s=56.0, paced=False, **kw)
        self._task: asyncio.Task[None] | None = None

    async def start(self, clock: SessionClock) -> None:
        await super().start(clock)
        self._task = asyncio.create_task(self._attempts(clock))

    async def _attempts(self, clock: SessionClock) -> None:
        await clock.sleep_until(5.0)
        self.set_status(SourceStatus.RECONNECTING, "strap: link lost")
        for k in range(1, 51):
            await clock.sleep_until(5.0 + k)
            self.set_detail(f"strap: attempt {k} failed: device is in its charger (status 13)")
        await clock.sleep_until(56.0)
        self.set_status(SourceStatus.STREAMING, "reconnected")


def test_a_changing_detail_is_a_rate_limited_event(tmp_path: Path) -> None:
    t, y, _ = breathing(duration_s=70, fs_hz=25, rate_bpm=12, seed=1)
    session = Session([ParticipantSpec("A", _Charger(t, {"resp": y}, name="strap"))], SessionClock(10.0))
    session.add_sink(Recorder(tmp_path / "rec"))
    snaps = run_collecting(session, 62.0)
    with open(tmp_path / "rec" / "events.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] in ("source_lost", "source_detail", "source_back")]
    kinds = [r["kind"] for r in rows]
    # The loss, its first failure at once, one more after 30 s (the next would be 60 s later), the return.
    assert kinds == ["source_lost", "source_detail", "source_detail", "source_back"], rows
    first, second = rows[1], rows[2]
    assert first["text"].startswith("A: strap: attempt ") and first["text"].endswith(
        "in its charger (status 13)"
    )
    assert first["participants"] == "A"
    assert float(second["time"]) - float(first["time"]) >= DETAIL_EVENT_S
    assert second["text"] != first["text"]
    details = [e for s in snaps for e in s.events if e.kind == "source_detail"]
    assert [e.text for e in details] == [first["text"], second["text"]]  # what every view's events show


def test_no_detail_event_without_a_change(tmp_path: Path) -> None:
    """A status change's reason is said by its own event ("A: reconnecting"): no source_detail repeats it."""
    t, y, _ = breathing(duration_s=30, fs_hz=25, rate_bpm=12, seed=1)

    class _Lost(MemorySource):
        async def start(self, clock: SessionClock) -> None:
            await super().start(clock)
            asyncio.get_running_loop().call_later(
                0.5, self.set_status, SourceStatus.RECONNECTING, "link lost"
            )

    session = Session(
        [ParticipantSpec("A", _Lost(t, {"resp": y}, silent_from_s=5.0, paced=False))],
        SessionClock(10.0),
        SessionConfig(),
    )
    snaps = run_collecting(session, 20.0)
    kinds = [e.kind for s in snaps for e in s.events if e.participants == ("A",)]
    assert "source_lost" in kinds and "source_detail" not in kinds
