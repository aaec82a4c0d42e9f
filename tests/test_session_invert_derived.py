"""``--invert`` on breathing whose direction nothing worn sets (heart beats, a chest accelerometer), given for a
device or stream, which says what it carries only once connected: the session drops the flip before the first
sample, says so in an alarm, and the recording does not claim ``# invert: true``. (A replay's is refused
before the session: tests/test_live_option_checks.py.) It was flipped: heart-beat breathing read exhale as
inhale, and the raw file said ``# invert: true``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
from conftest import run_collecting

from breathsync.io.csvfile import read_recording
from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock
from breathsync.sources.memory import MemorySource


class _Device(MemorySource):
    """A device that says "resp" until it has been read (a BLE strap: "rr" once connected)."""

    def __init__(self, *args: object, becomes: str, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.becomes = becomes
        self.signal = "resp"

    async def start(self, clock: SessionClock) -> None:
        await asyncio.sleep(0.05)
        self.signal = self.becomes
        await super().start(clock)


def _strap() -> _Device:
    """Beats whose intervals swing with 12/min breathing (the heart speeds up on inhale)."""
    beats = np.cumsum(0.8 + 0.05 * np.sin(2 * np.pi * 0.2 * np.arange(150) * 0.8))
    rr_ms = 1000.0 * np.diff(np.concatenate([[0.0], beats]))
    return _Device(beats, {"rr_ms": rr_ms}, becomes="rr")


def _accelerometer() -> _Device:
    t = np.arange(0.0, 60.0, 0.04)
    z = 9.81 + 0.05 * np.sin(2 * np.pi * 0.2 * t)
    return _Device(t, {"acc_x": np.zeros(t.size), "acc_y": np.zeros(t.size), "acc_z": z}, becomes="acc")


def _run(tmp_path: Path, source: _Device) -> tuple[Session, list[str], Path]:
    t = np.arange(0.0, 60.0, 0.04)
    belt = MemorySource(t, {"resp": np.sin(2 * np.pi * 0.2 * t)})
    session = Session(
        [ParticipantSpec("A", source, invert=True), ParticipantSpec("B", belt)],
        SessionClock(50.0),
        SessionConfig(phase="match"),
    )
    folder = tmp_path / "rec"
    session.add_sink(Recorder(folder))
    snaps = run_collecting(session, 20.0)
    alarms = [e.text for s in snaps for e in s.events if e.kind == "alarm"]
    return session, alarms, folder


def test_invert_on_a_strap_found_once_connected_is_dropped_with_an_alarm(tmp_path: Path) -> None:
    session, alarms, folder = _run(tmp_path, _strap())
    a = session._parts[0]  # type: ignore[attr-defined]
    assert a.pipeline.config.invert is False
    assert any(x.startswith("A: --invert ignored: A's breathing comes from heart beats") for x in alarms), (
        alarms
    )
    (entry,) = [
        p
        for p in json.loads((folder / "session.json").read_text(encoding="utf-8"))["participants"]
        if p["label"] == "A"
    ]
    assert entry["signal"] == "rr" and entry["invert"] is False
    assert "invert" not in read_recording(folder / "A.csv").meta


def test_invert_on_a_chest_accelerometer_is_dropped_and_a_belts_kept(tmp_path: Path) -> None:
    session, alarms, _ = _run(tmp_path, _accelerometer())
    assert session._parts[0].pipeline.config.invert is False  # type: ignore[attr-defined]
    assert any("comes from a chest accelerometer" in x for x in alarms), alarms
    # A belt keeps its flip: only the derived signals' is dropped.
    t = np.arange(0.0, 60.0, 0.04)
    belt = _Device(t, {"resp": np.sin(2 * np.pi * 0.2 * t)}, becomes="resp")
    session, alarms, folder = _run(tmp_path / "belt", belt)
    assert session._parts[0].pipeline.config.invert is True  # type: ignore[attr-defined]
    assert not any("--invert ignored" in x for x in alarms)
    assert read_recording(folder / "A.csv").meta["invert"] == "true"
