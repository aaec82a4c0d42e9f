"""A device's units come from its profile (``StreamSpec.units``), never from its decoded columns' names.

A new device whose breathing column is named ``stretch_mm`` (a made-up stretch belt, in millimetres) had no
``# unit:`` line in its recording, no unit on its LSL channel, and "arbitrary" in the BIDS export: the unit
was looked up by the decoded column's name in a table of the recorder's, which knew only the built-in
devices' columns. Recordings made before (with or without their ``# unit:`` line) read as they did.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import make_session_folder

import devices
from breathsync import recorder
from breathsync.cli import main
from breathsync.export_bids import export_bids
from breathsync.io.csvfile import read_recording
from breathsync.lsl_out import resp_unit
from breathsync.recorder import Recorder, device_unit
from breathsync.session_types import SessionInfo
from breathsync.sources.base import SampleChunk


class StretchDecoder:
    """One notification: one little-endian float32, the belt's stretch in millimetres."""

    def feed(self, data: bytes) -> list[devices.Decoded]:
        devices.need(data, 4, "stretch")
        (mm,) = struct.unpack("<f", data[:4])
        return [devices.Decoded("stretch", {"stretch_mm": np.array([mm], dtype=np.float64)})]


def _stretch_belt() -> devices.Profile:
    """A contributor's new belt, written as README's "Adding a device" says (the UUIDs: another profile's,
    only devices/ writes UUIDs; it is recognised by its name alone)."""
    hr = devices.get_profile("heart-rate")
    char = hr.stream("hrm").characteristic
    skin = replace(
        hr.stream("hrm"), name="skin", signal_columns={"skin_us": "skin_us"}, units={"skin_us": "uS"}
    )
    stream = devices.StreamSpec(
        "stretch",
        char,
        StretchDecoder,
        "stretch in millimetres",
        signal="resp",
        signal_columns={"resp": "stretch_mm"},
        units={"resp": "mm"},
    )
    return devices.Profile(
        name="stretch-belt",
        title="A stretch belt",
        service_uuids=(),
        name_prefixes=("Stretch",),
        name_required=True,
        streams={"stretch": stream, "skin": skin},
        controller=lambda: devices.FixedController(start=[devices.Subscribe(char, "stretch")], stop=[]),
        signal="resp",
        signal_stream="stretch",
        breathing="stretch belt",
        extra_streams=("skin",),
    )


@pytest.fixture
def stretch_belt(monkeypatch: pytest.MonkeyPatch) -> devices.Profile:
    profile = _stretch_belt()
    monkeypatch.setitem(devices.PROFILES, profile.name, profile)
    return profile


BELT = {"kind": "ble", "target": "Stretch 1", "device": "stretch-belt"}


def _raw_sidecar(out: Path, sub: str) -> dict[str, Any]:
    p = out / f"sub-{sub}/beh/sub-{sub}_task-breathsync_recording-raw_physio.json"
    return dict(json.loads(p.read_text(encoding="utf-8")))


def test_a_new_devices_unit_comes_from_its_profile(stretch_belt: devices.Profile) -> None:
    assert stretch_belt.units == {"resp": "mm", "skin_us": "uS"}
    assert device_unit(BELT, "resp") == "resp: mm"
    assert recorder.device_units(BELT, "resp") == {"resp": "mm", "skin_us": "uS"}
    assert (
        recorder.device_units(BELT, "rr") == {} and device_unit(BELT, "rr") is None
    )  # not the signal it gives
    # The LSL outlet's resp channel.
    assert resp_unit({"signal": "resp", "source": BELT}) == "mm"
    assert resp_unit({"signal": "resp", "source": {**BELT, "unit": "resp: V"}}) == "V"  # declared wins


def test_a_new_devices_unit_is_in_its_recording_and_its_bids_sidecar(
    tmp_path: Path, stretch_belt: devices.Profile
) -> None:
    """The recorder's "# unit:" line (the signal's and the extra column's) and BIDS "Units"."""
    info = SessionInfo(
        participants=[
            {
                "label": "A",
                "source": dict(BELT),
                "signal": "resp",
                "invert": False,
                "extra_columns": ["skin_us"],
            },
            {"label": "B", "source": {"kind": "sim"}, "signal": "resp", "invert": False},
        ],
        settings={"phase": "match", "window_s": 30.0, "speed": 1.0},
        start_utc="2025-01-01T10:00:00.000+00:00",
        software_version="0.1.0",
    )
    rec = Recorder(tmp_path / "rec")
    rec.open(info)
    t = np.arange(0.0, 60.0, 0.1)
    wave = 20.0 + 3.0 * np.sin(2 * np.pi * 0.25 * t)
    rec.on_chunk("A", SampleChunk(t, {"resp": wave, "skin_us": np.full(t.size, 2.5)}))
    rec.on_chunk("B", SampleChunk(t, {"resp": wave}))
    rec.close(info)
    assert read_recording(tmp_path / "rec" / "A.csv").meta["unit"] == "resp: mm; skin_us: uS"
    export_bids(tmp_path / "rec", tmp_path / "bids")
    side = _raw_sidecar(tmp_path / "bids", "A")
    assert side["respiratory"]["Units"] == "mm" and side["skin_us"]["Units"] == "uS"
    assert _raw_sidecar(tmp_path / "bids", "B")["respiratory"]["Units"] == "arbitrary"


def test_a_new_device_recorded_without_the_unit_line_is_exported_in_its_unit(
    tmp_path: Path, stretch_belt: devices.Profile
) -> None:
    """A recording whose raw file has no "# unit:" line: session.json's device says it; a line the file
    has wins (recordings made before read as they did)."""
    for name, meta, want in (
        ("old", None, "mm"),
        ("declared", {"unit": "resp: arbitrary units"}, "arbitrary"),
    ):
        s = make_session_folder(tmp_path / name, meta=meta)
        info = json.loads((s / "session.json").read_text(encoding="utf-8"))
        info["participants"][0].update(source=BELT, signal="resp")
        (s / "session.json").write_text(json.dumps(info), encoding="utf-8")
        export_bids(s, tmp_path / f"bids-{name}")
        assert _raw_sidecar(tmp_path / f"bids-{name}", "A")["respiratory"]["Units"] == want, name
        assert _raw_sidecar(tmp_path / f"bids-{name}", "B")["respiratory"]["Units"] == "arbitrary"


def test_a_new_devices_capture_replayed_and_recorded_says_its_unit(
    tmp_path: Path, stretch_belt: devices.Profile
) -> None:
    """Through the BLE source's decoding path: a capture of the belt, replayed and recorded, exported."""
    rows = [
        f"{1 + k * 0.1:.6f},1,stretch,{struct.pack('<f', 20 + 3 * math.sin(2 * math.pi * 0.25 * k * 0.1)).hex()}"
        for k in range(400)
    ]
    cap = tmp_path / "A_ble.csv"
    cap.write_text(
        "# participant: A\n# device: stretch-belt\ntime,connection,stream,hex\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "rec"
    assert main(["run", "-p", f"A=replay:{cap}", "--speed", "50", "--quiet", "--record", str(out)]) == 0
    assert read_recording(out / "A.csv").meta["unit"].startswith("resp: mm")
    assert main(["export", str(out), "--bids", str(tmp_path / "bids")]) == 0
    assert _raw_sidecar(tmp_path / "bids", "A")["respiratory"]["Units"] == "mm"


def test_a_replayed_recording_keeps_the_unit_its_file_says_or_none(tmp_path: Path) -> None:
    """A replay of a recording (no device): its "# unit:" line, or no unit when it has none, as before."""
    assert recorder.device_units({"kind": "replay", "file": "A.csv", "unit": "resp: V"}, "resp") == {}
    assert resp_unit({"signal": "resp", "source": {"kind": "replay", "file": "A.csv"}}) == "a.u."
    assert (
        resp_unit({"signal": "resp", "source": {"kind": "replay", "file": "A.csv", "unit": "resp: V"}}) == "V"
    )
