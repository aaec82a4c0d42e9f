"""A Bluetooth participant's recording turned on during a session (the dashboard's Record button): its
capture (``<label>_ble.csv``) begins with the battery level the device gave as it connected, before the
recording (saying so), and its session.json counts the device's drops and reconnections from the
recording's start. The audit's case: the capture lacked the battery reading, and session.json's
``dropped`` (10) counted drops from before the recording began."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from conftest import ble_session_info

from breathsync.io.capture import read_capture
from breathsync.session_types import SessionInfo, Snapshot, TrainingView
from breathsync.sources.base import Packet
from breathsync.ui.bridge import _Relay

BATTERY = Packet(1.25, 1, "battery", bytes([57]))  # read as the strap connected: 57 %
BEATS = bytes.fromhex("18aabb01cc01")


class _Signal:
    def __init__(self) -> None:
        self.emitted: list[tuple[Any, ...]] = []

    def emit(self, *args: Any) -> None:
        self.emitted.append(args)


class _Session:
    """What the relay asks of the running session: its participants' sources as they are now."""

    def __init__(self, info: SessionInfo) -> None:
        self.info = info
        self.source: dict[str, Any] = {
            "kind": "ble",
            "device": "heart-rate",
            "dropped": 0,
            "reconnections": 0,
        }

    def describe(self) -> SessionInfo:
        return SessionInfo([{"label": "A", "source": dict(self.source)}], {}, "later", "test")


def _snapshot(t_s: float, final: bool = False) -> Snapshot:
    return Snapshot(0, t_s, (), (), math.nan, TrainingView("free", "free", 60.0, 0.0, False), final=final)


def _record_from_0_08_to_0_10(tmp_path: Path) -> None:
    """Record on at 0:08 of a session whose strap connected at 1.25 s (battery 57 %), dropped 10
    notifications and reconnected once before, 3 more and no reconnection during the recording; off at
    0:10."""
    info = ble_session_info("heart-rate")
    session = _Session(info)
    runner = SimpleNamespace(recording=_Signal(), snapshot=_Signal(), session=session)
    relay = _Relay(runner)  # type: ignore[arg-type]
    relay.open(info)
    relay.on_packets("A", [BATTERY, Packet(1.5, 1, "hrm", BEATS)])  # not recording
    relay.on_snapshot(_snapshot(2.0))
    session.source.update(dropped=10, dropped_by={"bad length": 10}, reconnections=1, battery_pct=57.0)
    info.participants[0]["source"] = dict(session.source)  # as the session refreshes it on a reconnection
    relay.on_packets("A", [Packet(7.5, 2, "hrm", BEATS)])
    relay.on_snapshot(_snapshot(8.0))
    relay.start_recording(str(tmp_path / "rec"))  # Record on, at 0:08 of the session
    relay.on_packets("A", [Packet(8.25, 2, "hrm", BEATS), Packet(9.0, 2, "hrm", BEATS)])
    relay.on_snapshot(_snapshot(9.0))
    session.source.update(
        dropped=13, dropped_by={"bad length": 11, "bad flags": 2}, reconnections=1, battery_pct=55.0
    )
    relay.on_snapshot(_snapshot(10.0))
    relay.stop_recording()  # Record off, at 0:10
    assert [e[0] for e in runner.recording.emitted] == ["started", "stopped"]


def test_a_capture_begun_during_the_session_has_the_battery_level_read_before(tmp_path: Path) -> None:
    _record_from_0_08_to_0_10(tmp_path)
    cap = read_capture(str(tmp_path / "rec" / "A_ble.csv"))
    rows = [(r.t, r.connection, r.stream, r.data) for r in cap.rows()]
    # The level read before the recording began, first, at its start; then what came during it.
    assert rows == [(8.0, 1, "battery", bytes([57])), (8.25, 2, "hrm", BEATS), (9.0, 2, "hrm", BEATS)]
    assert (
        "battery at 1.250 s" in cap.meta["carried"] and "before this recording began" in cap.meta["carried"]
    )


def test_the_device_counters_of_a_part_count_what_happened_while_it_recorded(tmp_path: Path) -> None:
    _record_from_0_08_to_0_10(tmp_path)
    sj = json.loads((tmp_path / "rec" / "session.json").read_text(encoding="utf-8"))
    source = sj["participants"][0]["source"]
    assert source["dropped"] == 3 and source["dropped_by"] == {"bad length": 1, "bad flags": 2}
    assert source["reconnections"] == 0  # the reconnection came before the recording
    assert source["battery_pct"] == 55.0  # the level as the recording ended
    assert sj["recorded_from_s"] == 8.0 and sj["recorded_to_s"] == 10.0


def test_a_capture_begun_with_the_session_carries_nothing(tmp_path: Path) -> None:
    info = ble_session_info("heart-rate")
    runner = SimpleNamespace(recording=_Signal(), snapshot=_Signal(), session=_Session(info))
    relay = _Relay(runner)  # type: ignore[arg-type]
    relay.open(info)
    relay.start_recording(str(tmp_path / "rec"))
    relay.on_packets("A", [BATTERY, Packet(1.5, 1, "hrm", BEATS)])
    relay.on_snapshot(_snapshot(2.0, final=True))
    relay.close(info)
    cap = read_capture(str(tmp_path / "rec" / "A_ble.csv"))
    assert "carried" not in cap.meta
    assert [r.t for r in cap.rows()] == [1.25, 1.5]
    sj = json.loads((tmp_path / "rec" / "session.json").read_text(encoding="utf-8"))
    assert "recorded_from_s" not in sj
    assert np.isclose(sj["duration_s"], 2.0)
