"""A fault in the session's own code (the pipeline, the synchrony) is a bug, not a failed source: it used to
be caught as the source's failure, so a pipeline error read "participant A: the source failed after 0:03 of
samples" and the CLI exited 2 as for bad input, with no traceback. Now the session ends, closes what it
recorded, and raises the error."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import breathing, run_collecting

from breathsync.dsp.pipeline import RespPipeline
from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock
from breathsync.sources.memory import MemorySource


class _Bug(RuntimeError):
    pass


def _buggy_after(t_s: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline raises on the first samples at or after session time ``t_s`` (by the samples' time, not
    by the number of calls: an in-memory source gives everything up to the clock at each wake, so on a busy
    machine its chunks are longer and fewer, and a bug after 200 calls came after the end of the session)."""
    real = RespPipeline.process

    def process(self: RespPipeline, t: Any, y: Any) -> Any:
        if len(t) and float(t[-1]) >= t_s:
            raise _Bug("a bug in the pipeline")
        return real(self, t, y)

    monkeypatch.setattr(RespPipeline, "process", process)


def _recorded_session(folder: Path) -> Session:
    """Two simulated belts for 60 s at speed 100, recorded to ``folder``."""
    t, ya, _ = breathing(duration_s=60, fs_hz=25, rate_bpm=12, seed=1)
    _, yb, _ = breathing(duration_s=60, fs_hz=25, rate_bpm=12, seed=2)
    specs = [
        ParticipantSpec("A", MemorySource(t, {"resp": ya}, name="a")),
        ParticipantSpec("B", MemorySource(t, {"resp": yb}, name="b")),
    ]
    session = Session(specs, SessionClock(100.0), SessionConfig())
    session.add_sink(Recorder(folder))
    return session


def test_a_pipeline_bug_ends_the_session_keeps_the_recording_and_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = _recorded_session(tmp_path / "rec")
    _buggy_after(10.0, monkeypatch)
    with pytest.raises(_Bug):
        run_collecting(session, 60.0)
    meta = json.loads((tmp_path / "rec" / "session.json").read_text(encoding="utf-8"))
    assert {p["final_status"] for p in meta["summary"]["participants"].values()} == {"streaming"}
    assert meta["duration_s"] > 5.0
    with open(tmp_path / "rec" / "events.csv", newline="", encoding="utf-8") as fh:
        ends = [e["text"] for e in csv.DictReader(fh) if e["kind"] == "session_end"]
    assert ends and "internal error (_Bug: a bug in the pipeline)" in ends[0], ends
    with open(tmp_path / "rec" / "A.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(x for x in fh if not x.startswith("#"))][1:]
    assert float(rows[-1][0]) > 5.0  # what came before the fault was recorded and closed


def test_a_bug_in_publishing_still_closes_the_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the synchrony a snapshot publishes (it strikes again in the final snapshot) used to leave
    session.json without its end: the final snapshot raised before any sink was closed."""
    session = _recorded_session(tmp_path / "rec")
    calls = [0]
    real = Session._pair_view

    def pair_view(self: Session, *a: Any, **kw: Any) -> Any:
        calls[0] += 1
        if calls[0] > 3:
            raise _Bug("a bug in the pair's synchrony")
        return real(self, *a, **kw)

    monkeypatch.setattr(Session, "_pair_view", pair_view)
    with pytest.raises(_Bug):
        run_collecting(session, 60.0)
    meta = json.loads((tmp_path / "rec" / "session.json").read_text(encoding="utf-8"))
    assert meta["end_utc"] and meta["internal_error"] == "_Bug: a bug in the pair's synchrony"
    with open(tmp_path / "rec" / "A.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(x for x in fh if not x.startswith("#"))][1:]
    assert float(rows[-1][0]) > 1.0


def _flip_pair(states: list[tuple[float, bool]]) -> list[tuple[float, float, bool]]:
    """Judge one pair through ``(window end time, in sync)`` states, as the session judges each window end it
    scores; (time, run in sync so far, in sync) each."""
    t = np.arange(0.0, 5.0, 0.04)
    specs = [ParticipantSpec(x, MemorySource(t, {"resp": np.sin(t)})) for x in "AB"]
    session = Session(specs, SessionClock(1.0), SessionConfig())
    ps = session._pairs[0]  # type: ignore[attr-defined]
    out = []
    for now, ins in states:
        session._judge(ps, now, ins)  # type: ignore[attr-defined]
        run = 0.0 if ps.run_start is None else ps.judged_t - ps.run_start
        out.append((now, run, ps.in_sync))
    return out


def test_a_lapse_shorter_than_the_event_hold_does_not_restart_the_run_in_sync() -> None:
    """The training goal's clock (sync_run_s) ends when a "lost sync" event would: one snapshot just under
    the chance level, 0.1 s, raised no event but used to restart a 55-s run at 0 (the goal was then
    reached a minute later than the events said)."""
    steps = np.round(np.arange(0.0, 70.0, 0.1), 1)
    lapse = [(float(x), not 30.0 <= x < 30.15) for x in steps]  # one window end out of sync at 30.0 s
    runs = _flip_pair(lapse)
    assert runs[-1][1] == pytest.approx(69.9)
    long_lapse = [(float(x), not 30.0 <= x < 32.0) for x in steps]  # out of sync for 2 s: the run ends
    runs = _flip_pair(long_lapse)
    assert runs[-1][1] == pytest.approx(69.9 - 32.0)


def test_nothing_after_the_duration_is_recorded_or_scored_at_any_speed() -> None:
    """A fast run's chunks span more session time than a snapshot's step: a 120-s session at 100x recorded
    and scored to 121.9 s (to 120.1 s at 20x), and said so in session.json's duration."""
    import asyncio

    t, y, _ = breathing(duration_s=200, fs_hz=25, seed=1)
    ends = {}

    class Sink:
        def __init__(self) -> None:
            self.seen: list[float] = []

        def open(self, info: object) -> None: ...
        def on_chunk(self, label: str, chunk: Any) -> None:
            self.seen.append(float(chunk.t[-1]))

        def on_snapshot(self, snap: object) -> None: ...
        def close(self, info: object) -> None: ...

    for speed in (20.0, 300.0):
        specs = [ParticipantSpec(x, MemorySource(t, {"resp": y}, chunk_s=2.0)) for x in "AB"]
        session = Session(specs, SessionClock(speed), SessionConfig())
        sink = Sink()
        session.add_sink(sink)
        asyncio.run(session.run(60.0))
        assert max(sink.seen) <= 60.0
        assert session.info.extra["duration_s"] == 60.0
        ends[speed] = max(sink.seen)
    assert ends[20.0] == ends[300.0]
