"""What a session says about its sources: their final counters in session.json, and a link that drops and
comes back (a "source_lost" then one "source_back" saying how long it was away)."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from conftest import breathing, run_collecting

from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SampleChunk, SessionClock, SourceStatus
from breathsync.sources.memory import MemorySource

SPEED = 25.0  # a device-like source: its link events are stamped when its task runs, so not too fast


class _Device(MemorySource):
    """Stands in for a BLE device: counts chunks as "dropped" notifications (what BleSource.describe()
    reports grows as it runs), and optionally loses its link at ``lost_s`` and reconnects at ``back_s``
    (status RECONNECTING, then STREAMING; no samples in between)."""

    def __init__(self, *a: Any, lost_s: float | None = None, back_s: float | None = None, **kw: Any) -> None:
        super().__init__(*a, silent_from_s=lost_s, silent_until_s=back_s, **kw)
        self.dropped = 0
        self.reconnections = 0
        self._link = (lost_s, back_s)
        self._task: asyncio.Task[None] | None = None

    async def start(self, clock: SessionClock) -> None:
        await super().start(clock)
        lost, back = self._link
        if lost is not None and back is not None:
            self._task = asyncio.create_task(self._drop(clock, lost, back))

    async def _drop(self, clock: SessionClock, lost: float, back: float) -> None:
        await clock.sleep_until(lost)
        self.set_status(SourceStatus.RECONNECTING, "link lost")
        await clock.sleep_until(back)
        self.reconnections += 1
        self.set_status(SourceStatus.STREAMING, "reconnected")

    async def stream(self) -> AsyncIterator[SampleChunk]:
        async for chunk in super().stream():
            self.dropped += 1
            yield chunk

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(
            dropped=self.dropped, dropped_by={"malformed": self.dropped}, reconnections=self.reconnections
        )
        return d


def _specs(**kw: Any) -> tuple[list[ParticipantSpec], _Device]:
    t, ya, _ = breathing(duration_s=90, fs_hz=25, rate_bpm=12, seed=1)
    _, yb, _ = breathing(duration_s=90, fs_hz=25, rate_bpm=12, seed=2)
    dev = _Device(t, {"resp": ya}, name="strap", **kw)
    return [ParticipantSpec("A", dev), ParticipantSpec("B", MemorySource(t, {"resp": yb}, name="b"))], dev


def test_session_json_holds_the_sources_final_counters(tmp_path: Path) -> None:
    """session.json's source entry is the source's description at the end (it was the one of the first
    chunk: ``"dropped": 0, "reconnections": 0`` while the source's own counter read 5)."""
    specs, dev = _specs(lost_s=30.0, back_s=36.0)
    session = Session(specs, SessionClock(SPEED), SessionConfig())
    session.add_sink(Recorder(tmp_path / "rec"))
    run_collecting(session, 60.0)
    info = json.loads((tmp_path / "rec" / "session.json").read_text(encoding="utf-8"))
    entry = info["participants"][0]["source"]
    assert dev.dropped > 5  # one per chunk (0.1 s, longer when the machine is busy): more than the first
    assert entry["dropped"] == dev.dropped and entry["dropped_by"] == {"malformed": dev.dropped}
    assert entry["reconnections"] == 1


def _events(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_reconnection_is_a_source_back_event_saying_how_long_it_was_away(tmp_path: Path) -> None:
    """A link lost at 30 s and back at 36 s: one source_lost (reconnecting) and one source_back (before,
    nothing marked the return: source_back came only after a silence while streaming)."""
    specs, _ = _specs(lost_s=30.0, back_s=36.0)
    session = Session(specs, SessionClock(SPEED), SessionConfig())
    session.add_sink(Recorder(tmp_path / "rec"))
    snaps = run_collecting(session, 60.0)
    evs = [e for e in _events(tmp_path / "rec" / "events.csv") if e["kind"] in ("source_lost", "source_back")]
    assert [e["kind"] for e in evs] == ["source_lost", "source_back"], evs
    lost, back = evs
    assert lost["participants"] == back["participants"] == "A"
    assert 29.5 < float(lost["time"]) < 31.5 and 35.5 < float(back["time"]) < 37.5
    assert back["text"].startswith("A: reconnected after ") and back["text"].endswith(" s"), back["text"]
    assert 5.0 < float(back["text"].split()[-2]) < 7.0  # how long it was away
    assert snaps[-1].participant("A").receiving  # samples flow again
