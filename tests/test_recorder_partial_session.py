"""Recording turned on and off during a session (the dashboard's Record button, Ctrl+R): each folder says
which part of the session it holds, has no summary of time it does not hold, and a recording stopped while
the session went on ends its events.csv saying so.

The audit's case: recorded 60.4-90.4 s of a session, the folder's session.json gave the session's duration
(90.4 s) and its summary (in sync 56.8 s, mean PLV 0.925) while ``analyze`` of the same folder said "not
scored: the recordings overlap by 29.9 s"; a folder whose recording was stopped from the dashboard had no
summary and no last event (events.csv just stopped, as after a crash).
"""

from __future__ import annotations

import asyncio
import csv
import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from breathsync.io.session_folder import is_part_of_session, read_session_folder
from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session
from breathsync.session_types import SessionInfo, Snapshot
from breathsync.sources.base import SessionClock
from breathsync.sources.sim import SimSource
from breathsync.ui.bridge import _Relay

DURATION_S = 50.0


class _Signal:
    def __init__(self) -> None:
        self.emitted: list[tuple[Any, ...]] = []

    def emit(self, *args: Any) -> None:
        self.emitted.append(args)


class _Dashboard:
    """Presses Record as the dashboard's user would, between snapshots: on at ``on_s``, off at ``off_s``
    (None: left on), each into a new folder; remembers the last snapshot's time before each press."""

    def __init__(self, relay: _Relay, plan: list[tuple[float, float | None, Path]]) -> None:
        self.relay = relay
        self.plan = plan
        self.pressed: dict[Path, list[float]] = {}

    def open(self, info: SessionInfo) -> None: ...

    def on_chunk(self, label: str, chunk: object) -> None: ...

    def close(self, info: SessionInfo) -> None: ...

    def on_snapshot(self, snap: Snapshot) -> None:
        if snap.final:
            return
        for on_s, off_s, path in self.plan:
            times = self.pressed.setdefault(path, [])
            if not times and snap.t_s >= on_s:
                self.relay.start_recording(str(path))
                times.append(snap.t_s)
            elif len(times) == 1 and off_s is not None and snap.t_s >= off_s:
                self.relay.stop_recording()
                times.append(snap.t_s)


def _run(tmp_path: Path) -> tuple[_Dashboard, Session, Path, Path]:
    session = Session(
        [
            ParticipantSpec("A", SimSource("steady", rate_bpm=12.0, seed=1)),
            ParticipantSpec("B", SimSource("steady", rate_bpm=12.0, seed=2)),
        ],
        SessionClock(20.0),
    )
    runner = SimpleNamespace(recording=_Signal(), snapshot=_Signal(), session=session)
    relay = _Relay(runner)  # type: ignore[arg-type]
    first, second = tmp_path / "first", tmp_path / "second"
    dash = _Dashboard(relay, [(5.0, 25.0, first), (35.0, None, second)])
    session.add_sink(relay)  # before the presses: a snapshot reaches the recording, then the button
    session.add_sink(dash)
    asyncio.run(session.run(DURATION_S))
    assert [e[0] for e in runner.recording.emitted] == ["started", "stopped", "started", "stopped"]
    return dash, session, first, second


def _events(folder: Path) -> list[dict[str, str]]:
    with open(folder / "events.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[_Dashboard, Session, Path, Path]:
    return _run(tmp_path_factory.mktemp("partial"))


def test_a_recording_stopped_from_the_dashboard_says_what_it_holds(
    recorded: tuple[_Dashboard, Session, Path, Path],
) -> None:
    dash, session, first, _second = recorded
    on_s, off_s = dash.pressed[first]
    sj = json.loads((first / "session.json").read_text(encoding="utf-8"))
    assert session.info is not None and sj["start_utc"] == session.info.start_utc  # the files' time base
    assert sj["recorded_from_s"] == round(on_s, 3) and sj["recorded_to_s"] == round(off_s, 3)
    assert sj["duration_s"] == round(round(off_s, 3) - round(on_s, 3), 3)
    assert sj["recording_stopped"] == "stopped from the dashboard"
    assert sj["session_duration_s"] is None  # the session went on
    assert sj["recording_start_utc"] > sj["start_utc"] and sj["end_utc"] >= sj["recording_start_utc"]
    assert "went on" in sj["part_of_session"] and "summary" not in sj
    assert "analyze" in sj["summary_note"]
    events = _events(first)
    assert events[0]["kind"] == "recording_started" and float(events[0]["time"]) == pytest.approx(
        on_s, abs=1e-3
    )
    last = events[-1]
    assert last["kind"] == "recording_stopped" and "stopped from the dashboard" in last["text"]
    assert float(last["time"]) == pytest.approx(off_s, abs=1e-3)
    assert [float(e["time"]) for e in events] == sorted(float(e["time"]) for e in events)
    folder = read_session_folder(first)
    assert is_part_of_session(folder.info) and folder.labels == ["A", "B"]


def test_a_recording_turned_on_during_the_session_has_no_summary_of_the_whole_session(
    recorded: tuple[_Dashboard, Session, Path, Path],
) -> None:
    dash, _session, _first, second = recorded
    (on_s,) = dash.pressed[second]
    sj = json.loads((second / "session.json").read_text(encoding="utf-8"))
    assert sj["recorded_from_s"] == round(on_s, 3)
    assert sj["recorded_to_s"] == DURATION_S and sj["session_duration_s"] == DURATION_S
    assert sj["duration_s"] == round(DURATION_S - round(on_s, 3), 3)
    assert "recording_stopped" not in sj and "summary" not in sj  # the session's summary covers 0-50 s
    assert "ran until the session ended" in sj["part_of_session"]
    events = _events(second)
    assert events[0]["kind"] == "recording_started" and events[-1]["kind"] == "session_end"
    # The files hold that span of the session's time (a source's chunk may begin a moment before it).
    with open(second / "A_live.csv", encoding="utf-8") as fh:
        times = [float(line.split(",")[0]) for line in fh if line[0].isdigit()]
    assert on_s - 1.0 < times[0] and times[-1] <= DURATION_S


def test_a_whole_recording_is_described_as_before(tmp_path: Path) -> None:
    """A recording begun with the session and ended with it is the session: its summary, none of the keys
    of a part."""
    session = Session([ParticipantSpec("A", SimSource("steady", rate_bpm=12.0, seed=1))], SessionClock(50.0))
    runner = SimpleNamespace(recording=_Signal(), snapshot=_Signal(), session=session)
    relay = _Relay(runner)  # type: ignore[arg-type]
    session.add_sink(relay)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(relay.start_recording, str(tmp_path / "whole"))  # as SessionRunner does for --record
        await session.run(10.0)

    asyncio.run(main())
    sj = json.loads((tmp_path / "whole" / "session.json").read_text(encoding="utf-8"))
    assert "summary" in sj and sj["duration_s"] == 10.0
    assert not {"recorded_from_s", "part_of_session", "summary_note", "recording_stopped"} & set(sj)


def test_a_participant_without_samples_in_the_recording_is_said_so(tmp_path: Path) -> None:
    info = SessionInfo(
        participants=[{"label": "A", "source": {"kind": "memory"}, "signal": "resp"}],
        settings={"window_s": 30.0},
        start_utc="2026-11-29T12:00:00.000+00:00",
        software_version="test",
    )
    import numpy as np

    from breathsync.sources.base import SampleChunk

    rec = Recorder(tmp_path / "r")
    rec.open(info, from_s=12.0)
    info.participants.append({"label": "B", "source": {"kind": "memory"}, "signal": "resp"})
    rec._stem("B")  # a participant the session knows, whose source gave nothing
    rec.on_chunk("A", SampleChunk(np.arange(12.0, 14.0, 0.04), {"resp": np.zeros(50)}))
    rec.close(info, stopped="stopped from the dashboard")
    folder = read_session_folder(tmp_path / "r")
    assert folder.left_out == (("B", "none came from its source during the recording; events.csv says why"),)
    sj = json.loads((tmp_path / "r" / "session.json").read_text(encoding="utf-8"))
    assert sj["recorded_from_s"] == 12.0 and sj["recorded_to_s"] == 12.0  # no snapshot came: its start
    assert math.isclose(sj["duration_s"], 0.0)


def test_a_folder_of_part_of_a_session_exports_on_the_sessions_time_base(
    recorded: tuple[_Dashboard, Session, Path, Path], tmp_path: Path
) -> None:
    # Its files keep the session's times: the physio StartTime (35 s and more) counts from the session's start,
    # which is AcquisitionStartUTC and sessions.tsv's acq_time alike (acq_time at the recording's own start
    # counted the offset twice).
    from breathsync.export_bids import export_bids

    _dash, _session, _first, second = recorded
    sj = json.loads((second / "session.json").read_text(encoding="utf-8"))
    out = tmp_path / "bids"
    export_bids(second, out, session_label="2")
    rows = (out / "sub-A" / "sub-A_sessions.tsv").read_text(encoding="utf-8").splitlines()
    acq = dict(zip(rows[0].split("\t"), rows[1].split("\t"), strict=True))["acq_time"]
    side = next((out / "sub-A" / "ses-2" / "beh").glob("*recording-raw_physio.json"))
    physio = json.loads(side.read_text(encoding="utf-8"))
    assert acq.startswith(sj["start_utc"][:19]) and physio["StartTime"] >= sj["recorded_from_s"] - 1.0


def test_analyze_of_a_folder_of_part_of_a_session_says_what_part(
    recorded: tuple[_Dashboard, Session, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Its figures are of the part it holds: said first, in the folder's own words.
    from breathsync.cli import main

    _dash, _session, first, _second = recorded
    assert main(["analyze", str(first)]) == 0
    out = capsys.readouterr()
    sj = json.loads((first / "session.json").read_text(encoding="utf-8"))
    assert f"{first}: {sj['part_of_session']}" in out.out + out.err
