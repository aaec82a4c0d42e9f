"""`breathsync scan` and `breathsync run -p A=ble:...` against the fake BlueZ."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import posix_only
from fakebluez import FakeBlueZ, FakeHeartRateStrap, private_bus

from breathsync.cli import main

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


def test_scan_lists_matching_devices(capsys: pytest.CaptureFixture[str]) -> None:
    with private_bus(), FakeBlueZ() as bz:
        bz.add_device(FakeHeartRateStrap("C0:FF:EE:00:00:01", "FakeHR 0001"))
        bz.add_device(FakeHeartRateStrap("C0:FF:EE:00:00:02", "FakeHR 0002", rssi=-80))
        assert main(["scan", "--timeout", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "ADDRESS", "RSSI", "PROFILE"]
    rows = [line.split() for line in lines[1:]]
    # NAME (two words here), ADDRESS, RSSI, PROFILE; strongest first
    assert [r[:3] for r in rows] == [
        ["FakeHR", "0001", "C0:FF:EE:00:00:01"],
        ["FakeHR", "0002", "C0:FF:EE:00:00:02"],
    ]
    assert all(r[4] == "heart-rate" for r in rows)
    assert int(rows[1][3]) < int(rows[0][3]) < 0


def test_scan_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with private_bus(), FakeBlueZ(powered=False):
        assert main(["scan", "--timeout", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("breathsync: error:") and "Bluetooth is off" in err and "\n" not in err


def test_run_with_a_ble_strap_records_samples(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap())
        strap.rr_ms = [400.0, 450.0, 500.0]
        code = main(["run", "-p", "A=ble:FakeHR", "--duration", "4", "--quiet", "--record", str(out)])
        assert code == 0
        assert not strap.connected  # stopped and disconnected at the end
    session = json.loads((out / "session.json").read_text(encoding="utf-8"))
    assert "ble" in json.dumps(session)
    assert strap.sent >= 5
    # What the device turned out to be is what the recording says (known only after the scan).
    assert session["participants"][0]["signal"] == "rr"
    assert "# signal: rr" in (out / "A.csv").read_text(encoding="utf-8")
    # The limits of RR-derived breathing are said where the user sees them (an event in every view).
    assert "slow, relaxed breathing" in (out / "events.csv").read_text(encoding="utf-8")


def test_run_without_bluez_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A source that cannot start makes `run` fail like `scan` does (it used to exit 0 with only "(failed)"
    in the summary, and with --quiet no reason at all); the session's folder is still complete."""
    rec = tmp_path / "rec"
    with private_bus():  # a system bus without org.bluez: BlueZ is not running
        code = main(["run", "-p", "A=ble:AA,timeout=1", "--quiet", "--duration", "10", "--record", str(rec)])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("breathsync: error: participant A: ble:AA:"), err
    assert "(BlueZ) is not running" in err and "Traceback" not in err
    assert "session summary:" in out and "A: ble:AA, 0 breaths" in out  # the summary of what ran (its target)
    info = json.loads((rec / "session.json").read_text(encoding="utf-8"))
    assert info["end_utc"] and info["summary"]["participants"]["A"]["final_status"] == "failed"


def test_run_with_bluetooth_off_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with private_bus(), FakeBlueZ(powered=False):
        code = main(["run", "-p", "A=ble:FakeHR,timeout=1", "--quiet", "--duration", "10"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Bluetooth is off" in err, err
