"""A device's unit reaches the recording and the BIDS export: a Vernier belt's force is in newtons.

The belt's profile fills ``resp`` from its decoded ``force_n`` (newtons, ble.md section 3). Its raw file had
no ``# unit:`` line and the BIDS sidecar said "arbitrary".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import make_session_folder

from breathsync.export_bids import export_bids
from breathsync.io.csvfile import read_recording
from breathsync.recorder import Recorder, device_unit
from breathsync.session_types import SessionInfo
from breathsync.sources.base import SampleChunk

BELT = {"kind": "ble", "target": "GDX-RB", "device": "gdx-rb", "name": "GDX-RB 0K1002R5"}
STRAP = {"kind": "ble", "target": "HRM", "device": "heart-rate", "name": "HRM-Pro 1234"}


def _raw_sidecar(out: Path, sub: str) -> dict[str, Any]:
    p = out / f"sub-{sub}/beh/sub-{sub}_task-breathsync_recording-raw_physio.json"
    return dict(json.loads(p.read_text(encoding="utf-8")))


def _info(sources: dict[str, tuple[dict[str, Any], str]]) -> SessionInfo:
    """A session's description: per label a source description and its signal."""
    return SessionInfo(
        participants=[
            {"label": lab, "source": dict(src), "signal": sig, "invert": False}
            for lab, (src, sig) in sources.items()
        ],
        settings={"phase": "match", "window_s": 30.0, "speed": 1.0},
        start_utc="2025-01-01T10:00:00.000+00:00",
        software_version="0.1.0",
    )


def _record(folder: Path, sources: dict[str, tuple[dict[str, Any], str]]) -> None:
    """A recorder's session folder: per label a source description and its signal, 60 s of samples."""
    info = _info(sources)
    rec = Recorder(folder)
    rec.open(info)
    t = np.arange(0.0, 60.0, 0.1)
    for lab, (_, sig) in sources.items():
        col = {"resp": 2.0 + 0.5 * np.sin(2 * np.pi * 0.25 * t), "rr": np.full(t.size, 800.0)}[sig]
        rec.on_chunk(lab, SampleChunk(t, {"resp" if sig == "resp" else "rr_ms": col}))
    rec.close(info)


def test_a_belts_newtons_are_in_its_recording_and_its_bids_sidecar(tmp_path: Path) -> None:
    _record(tmp_path / "rec", {"B": (BELT, "resp"), "S": ({"kind": "sim"}, "resp")})
    belt = read_recording(tmp_path / "rec" / "B.csv")
    assert belt.meta["unit"] == "resp: newtons"
    assert "unit" not in read_recording(tmp_path / "rec" / "S.csv").meta  # a simulator's: no unit
    export_bids(tmp_path / "rec", tmp_path / "bids")
    assert _raw_sidecar(tmp_path / "bids", "B")["respiratory"]["Units"] == "N"
    assert _raw_sidecar(tmp_path / "bids", "S")["respiratory"]["Units"] == "arbitrary"


def test_a_belt_recorded_without_the_unit_line_is_exported_in_newtons(tmp_path: Path) -> None:
    """Recordings made before the recorder wrote the belt's unit: session.json names the device."""
    s = make_session_folder(tmp_path / "s")
    info = json.loads((s / "session.json").read_text(encoding="utf-8"))
    info["participants"][0].update(source=BELT, signal="resp")
    (s / "session.json").write_text(json.dumps(info), encoding="utf-8")
    assert "unit" not in read_recording(s / "A.csv").meta
    export_bids(s, tmp_path / "bids")
    assert _raw_sidecar(tmp_path / "bids", "A")["respiratory"]["Units"] == "N"
    assert _raw_sidecar(tmp_path / "bids", "B")["respiratory"]["Units"] == "arbitrary"


def test_a_unit_the_file_declares_wins_over_the_devices(tmp_path: Path) -> None:
    s = make_session_folder(tmp_path / "s", meta={"unit": "resp: arbitrary units"})
    info = json.loads((s / "session.json").read_text(encoding="utf-8"))
    info["participants"][0].update(source=BELT, signal="resp")
    (s / "session.json").write_text(json.dumps(info), encoding="utf-8")
    export_bids(s, tmp_path / "bids")
    assert _raw_sidecar(tmp_path / "bids", "A")["respiratory"]["Units"] == "arbitrary"


@pytest.mark.parametrize(
    ("source", "signal", "unit"),
    [
        (BELT, "resp", "resp: newtons"),
        ({"kind": "ble", "device": "polar-h10"}, "acc", "acc_x/acc_y/acc_z: milli-g"),
        (STRAP, "rr", "rr_ms: milliseconds"),
        (BELT, "rr", None),  # not the signal the device gives
        ({"kind": "ble", "device": "no-such-device"}, "resp", None),
        ({"kind": "sim"}, "resp", None),
        (
            {"kind": "replay", "file": "b.csv", "unit": "resp: V"},
            "resp",
            None,
        ),  # the recorder reads that itself
        (None, "resp", None),
    ],
)
def test_device_unit(source: Any, signal: str, unit: str | None) -> None:
    assert device_unit(source, signal) == unit


def test_a_simulators_true_phase_is_in_radians_in_its_recording_and_its_bids_sidecar(tmp_path: Path) -> None:
    """A ``sim:`` participant's raw file has ``true_phase`` (sources/sim.py: radians, 0 = inhale onset); its
    ``# unit:`` line said nothing of it, and the BIDS sidecar said "arbitrary" (a replayed ``simulate`` file,
    which declares it, said "rad")."""
    sim = {"kind": "sim", "mode": "steady", "spec": "sim:steady,seed=1"}
    info = _info({lab: (sim, "resp") for lab in ("A", "B")})
    rec = Recorder(tmp_path / "rec")
    rec.open(info)
    t = np.arange(0.0, 60.0, 0.1)
    phase = (2 * np.pi * 0.25 * t) % (2 * np.pi)
    for lab in ("A", "B"):
        rec.on_chunk(lab, SampleChunk(t, {"resp": (1 - np.cos(phase)) / 2, "true_phase": phase}))
    rec.close(info)
    raw = read_recording(tmp_path / "rec" / "A.csv")
    assert raw.meta["unit"] == "true_phase: radians, 0 = inhale onset"
    export_bids(tmp_path / "rec", tmp_path / "bids")
    sidecar = _raw_sidecar(tmp_path / "bids", "A")
    assert sidecar["true_phase"]["Units"] == "rad"
    assert sidecar["respiratory"]["Units"] == "arbitrary"


def test_a_declared_true_phase_unit_is_kept_as_the_source_says(tmp_path: Path) -> None:
    """A replayed ``simulate`` file declares true_phase itself: its words stay, not said twice."""
    declared = "resp: arbitrary units, rising on inhale; true_phase: rad, 0 = inhale onset"
    src = {"kind": "replay", "file": "A.csv", "unit": declared}
    info = _info({"A": (src, "resp")})
    rec = Recorder(tmp_path / "rec")
    rec.open(info)
    t = np.arange(0.0, 10.0, 0.1)
    rec.on_chunk("A", SampleChunk(t, {"resp": np.sin(t), "true_phase": t % (2 * np.pi)}))
    rec.close(info)
    assert read_recording(tmp_path / "rec" / "A.csv").meta["unit"] == declared
