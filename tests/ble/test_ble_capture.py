"""A recording keeps each Bluetooth device's notifications as they came (``<label>_ble.csv``), and
``breathsync decode --capture`` decodes them again to what the session recorded: through bleak's real
BlueZ backend against the fake BlueZ, with a link lost and found again and malformed notifications."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
from conftest import posix_only
from fakebluez import FakeBlueZ, FakeDevice, FakeGdxRb, FakeHeartRateStrap, FakePolarH10, private_bus

import devices
from breathsync.cli import main
from breathsync.io.capture import read_capture
from breathsync.io.csvfile import read_recording

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


def _record_losing_the_link(
    bz: FakeBlueZ, dev: FakeDevice, streaming: Callable[[], bool], target: str, duration_s: float, out: Path
) -> None:
    """``run -p A=ble:TARGET --record OUT``, the device's link lost for 1.5 s once ``streaming()`` holds."""

    def drop_and_restore() -> None:
        deadline = time.monotonic() + 20.0
        while not streaming() and time.monotonic() < deadline:
            time.sleep(0.05)
        bz.drop_link(dev)
        time.sleep(1.5)
        bz.set_reachable(dev)

    threading.Thread(target=drop_and_restore, daemon=True).start()
    code = main(
        ["run", "-p", f"A=ble:{target}", "--duration", f"{duration_s:g}", "--quiet", "--record", str(out)]
    )
    assert code == 0


def _characteristics(profile_name: str) -> dict[str, str]:
    """The profile's stream name -> its characteristic's uuid (streams may share one: the GDX-RB's)."""
    profile = devices.get_profile(profile_name)
    return {name: devices.full_uuid(spec.characteristic) for name, spec in profile.streams.items()}


def _capture_rows(path: Path) -> list[tuple[float, int, str, bytes]]:
    return [(r.t, r.connection, r.stream, r.data) for r in read_capture(str(path)).rows()]


def _decode(path: Path) -> list[dict[str, object]]:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["decode", "--capture", str(path)]) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _check_capture_is_what_was_sent(
    rows: list[tuple[float, int, str, bytes]], dev: FakeDevice, device: str
) -> None:
    chars = _characteristics(device)
    # (A battery level read rather than notified is captured too, and is no notification of the fake's.)
    sent = [(uuid, data) for uuid, data in dev.notified if uuid != chars.get("battery")]
    got = [(chars[stream], data) for _t, _c, stream, data in rows if stream != "battery"]
    # Everything the device sent while the session listened, in order; at most the last few, in flight as
    # the session stopped, are missing.
    assert got == sent[: len(got)]
    assert len(got) >= len(sent) - 3
    t = [r[0] for r in rows]
    assert t == sorted(t) and t[0] >= 0.0
    connections = [r[1] for r in rows]
    assert connections == sorted(connections) and connections[0] == 1 and connections[-1] >= 2


def _replayed_matches(out: Path, tmp_path: Path, speed: str) -> None:
    """The capture replayed (``replay:DIR/A_ble.csv``), through the same decoders, clock mapping and checks,
    gives the samples the session recorded, at the same times, at any --speed."""
    again = tmp_path / f"again-{speed}"
    code = main(
        ["run", "-p", f"A=replay:{out / 'A_ble.csv'}", "--speed", speed, "--quiet", "--record", str(again)]
    )
    assert code == 0
    first, second = read_recording(str(out / "A.csv")), read_recording(str(again / "A.csv"))
    n = first.time.size
    # The session recorded up to its --duration; the capture holds the notifications up to its stop.
    assert n >= 5 and n <= second.time.size <= n + 30
    # Played alone, the replay starts at the capture's first notification.
    origin = _capture_rows(out / "A_ble.csv")[0][0]
    np.testing.assert_allclose(second.time[:n] + origin, first.time, rtol=0, atol=2e-6)
    for name, col in first.columns.items():
        np.testing.assert_allclose(second.columns[name][:n], col, rtol=1e-8, atol=0, equal_nan=True)
    source = json.loads((again / "session.json").read_text(encoding="utf-8"))["participants"][0]["source"]
    assert source["kind"] == "replay" and source["capture"] is True and source["file"] == "A_ble.csv"


def test_a_belt_recording_keeps_its_bytes_and_they_decode_to_the_recorded_force(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        belt = bz.add_device(FakeGdxRb())
        _record_losing_the_link(bz, belt, lambda: len(belt.sent) >= 10, "GDX-RB", 8, out)
        assert belt.connects == 2

    info = json.loads((out / "session.json").read_text(encoding="utf-8"))
    assert info["files"]["A_ble.csv"]["kind"] == "capture"
    assert info["files"]["A_ble.csv"]["participant"] == "A"
    cap = read_capture(str(out / "A_ble.csv"))
    assert cap.meta["device"] == "gdx-rb" and cap.meta["participant"] == "A"
    rows = _capture_rows(out / "A_ble.csv")
    _check_capture_is_what_was_sent(rows, belt, "gdx-rb")
    assert {r[2] for r in rows} == {"response"}  # command replies and measurements: one characteristic
    assert (out / "A_ble.csv").stat().st_mode & 0o777 == 0o600

    # Decoded again, the measurements give the force the recording holds, sample for sample.
    decoded = _decode(out / "A_ble.csv")
    force = [r["force_n"] for r in decoded if r["kind"] == "measurement"]
    assert {r["connection"] for r in decoded} == {r[1] for r in rows}
    recorded = read_recording(str(out / "A.csv"))
    resp = recorded.columns["resp"]
    assert 40 <= resp.size <= len(force)
    # (The recording writes 9 significant digits; a float32 force has fewer.)
    np.testing.assert_allclose(resp, np.asarray(force[: resp.size], dtype=np.float64), rtol=1e-8, atol=0)
    replies = [r for r in decoded if r["kind"] == "response"]
    assert replies and all(r["time_s"] <= rows[-1][0] for r in replies)
    _replayed_matches(out, tmp_path, "1")
    _replayed_matches(out, tmp_path, "50")


def test_a_strap_recording_keeps_the_malformed_notifications_the_session_dropped(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap())
        strap.garbage_every = 2
        _record_losing_the_link(bz, strap, lambda: strap.sent >= 3, "FakeHR", 9, out)

    rows = _capture_rows(out / "A_ble.csv")
    _check_capture_is_what_was_sent(rows, strap, "heart-rate")
    assert "battery" in {r[2] for r in rows}  # the level it was read at, beside the beats

    source = json.loads((out / "session.json").read_text(encoding="utf-8"))["participants"][0]["source"]
    decoded = _decode(out / "A_ble.csv")
    malformed = [r for r in decoded if r["kind"] == "dropped" and r["drop"] == "malformed"]
    assert malformed and len(malformed) == source["dropped_by"]["malformed"]
    assert all(r["packet_hex"] == "103c01" for r in malformed)
    beats = [rr for r in decoded if r["kind"] == "hrm" for rr in r["rr_ms"]]
    recorded = read_recording(str(out / "A.csv")).columns["rr_ms"]
    np.testing.assert_allclose(recorded, np.asarray(beats[: recorded.size]), rtol=0, atol=1e-6)
    assert recorded.size >= 5

    _replayed_matches(out, tmp_path, "20")

    # The capture is a CSV any tool reads: the header, then four cells a row.
    with open(out / "A_ble.csv", newline="", encoding="utf-8") as fh:
        lines = [row for row in csv.reader(line for line in fh if not line.startswith("#"))]
    assert lines[0] == ["time", "connection", "stream", "hex"]
    assert all(len(row) == 4 for row in lines[1:]) and len(lines) - 1 == len(rows)


def test_a_polar_h10_recording_replays_its_accelerometer_and_beats(tmp_path: Path) -> None:
    # Two streams in one participant (the accelerometer and the heart beats that sign it), the PMD control
    # point's replies, a lost link: the replay gives the recording's rows, both streams.
    out = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        _record_losing_the_link(bz, h10, lambda: len(h10.frames) >= 20, "Polar H10", 9, out)
        assert h10.connects == 2

    rows = _capture_rows(out / "A_ble.csv")
    _check_capture_is_what_was_sent(rows, h10, "polar-h10")
    assert {"control", "pmd", "hrm"} <= {r[2] for r in rows}
    recorded = read_recording(str(out / "A.csv"))
    assert (
        np.isfinite(recorded.columns["acc_x"]).sum() > 100
        and np.isfinite(recorded.columns["rr_ms"]).sum() >= 3
    )
    _replayed_matches(out, tmp_path, "30")
    # 9 s is too short for the chest's breathing axis: said as such (it said "no samples arrived").
    summary = json.loads((out / "session.json").read_text(encoding="utf-8"))["summary"]
    assert summary["participants"]["A"]["no_rate_why"] == (
        "samples arrived, but too few to find the chest's breathing axis (too short?)"
    )
