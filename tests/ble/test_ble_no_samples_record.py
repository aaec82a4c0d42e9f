"""What session.json and the summary say of a device that gave no samples, through bleak's real BlueZ backend.

The audit's cases: a participant's ``"signal"`` stayed "resp" (what the session knew before the scan) while
its source said "rr" or "acc", and a Polar H10 that failed to start was summarised "which way is inhale: a
guess (no heart beats)", of an accelerometer that never sent anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import posix_only
from fakebluez import FakeBlueZ, FakeHeartRateStrap, FakePolarH10, private_bus

from breathsync.cli import main

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


def test_a_polar_h10_that_failed_to_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        h10.in_charger = True
        code = main(["run", "-p", "A=ble:Polar H10", "--duration", "3", "--quiet", "--record", str(rec)])
    out, err = capsys.readouterr()
    assert code == 2 and "in its charger (status 13)" in err and err.count("\n") == 1
    info = json.loads((rec / "session.json").read_text(encoding="utf-8"))
    entry = info["participants"][0]
    assert entry["signal"] == entry["source"]["signal"] == "acc"
    assert entry["extra_columns"] == ["rr_ms"]
    summary = info["summary"]["participants"]["A"]
    assert summary["final_status"] == "failed" and "acc_sign" not in summary
    line = next(x for x in out.splitlines() if x.startswith("A: "))
    # not which way is inhale; the device by its name (it said only "ble")
    assert line == "A: ble:Polar H10 A1B2C3D4, 0 breaths, rate unknown: no samples arrived (failed)"


def test_a_strap_that_gave_no_beats_is_recorded_as_rr(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        oh1 = bz.add_device(FakeHeartRateStrap("C0:FF:EE:00:00:03", "Polar OH1 ABCD"))
        oh1.send_rr, oh1.contact, oh1.rr_ms = False, None, [250.0]
        code = main(["run", "-p", "A=ble:Polar OH1", "--duration", "3", "--quiet", "--record", str(rec)])
    assert code == 2  # no samples at all
    info = json.loads((rec / "session.json").read_text(encoding="utf-8"))
    entry = info["participants"][0]
    assert entry["signal"] == entry["source"]["signal"] == "rr"
    assert "extra_columns" not in entry and info["no_samples"] == ["A"]
