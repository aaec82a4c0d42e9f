"""The dashboard records through its relay sink (breathsync/ui/bridge.py): a device's notifications reach
the recording's capture (``<label>_ble.csv``) while recording is on, and are let go while it is off."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from conftest import ble_session_info

from breathsync.recorder import Recorder
from breathsync.sources.base import Packet
from breathsync.ui.bridge import _Relay


class _Signal:
    def __init__(self) -> None:
        self.emitted: list[tuple[object, ...]] = []

    def emit(self, *args: object) -> None:
        self.emitted.append(args)


def test_the_relay_hands_packets_to_the_recording_while_it_is_on(tmp_path: Path) -> None:
    runner = SimpleNamespace(recording=_Signal(), snapshot=_Signal())
    relay = _Relay(runner)  # type: ignore[arg-type]
    info = ble_session_info("heart-rate")
    relay.open(info)
    relay.on_packets("A", [Packet(0.5, 1, "hrm", bytes.fromhex("1048"))])  # not recording: let go
    relay.start_recording(str(tmp_path / "rec"))
    assert isinstance(relay.recorder, Recorder)
    relay.on_packets("A", [Packet(1.5, 1, "hrm", bytes.fromhex("18aabb01cc01"))])
    relay.stop_recording()
    assert [e[0] for e in runner.recording.emitted] == ["started", "stopped"]
    lines = (tmp_path / "rec" / "A_ble.csv").read_text(encoding="utf-8").splitlines()
    assert lines[-2:] == ["time,connection,stream,hex", "1.500000,1,hrm,18aabb01cc01"]
