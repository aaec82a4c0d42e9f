"""`breathsync decode --capture FILE`: a recording's capture of a device's notifications decoded again (the
recorder writes it: tests/ble/test_ble_capture.py); a capture that is not one: one line, exit 2."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from conftest import ble_session_info, run_main

from breathsync.cli import main
from breathsync.recorder import Recorder
from breathsync.sources.base import Packet
from devices.gdx import encode_measurement, split_chunks

HEAD = "# participant: A\n# device: heart-rate\n# holds: notifications\ntime,connection,stream,hex\n"


def decode(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    assert main(["decode", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def write(tmp_path: Path, text: str, name: str = "A_ble.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_records_carry_time_connection_and_stream(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cap = write(tmp_path, HEAD + "1.5,1,hrm,18aabb01cc01\n1.6,1,battery,57\n2.25,1,hrm,103c01\n")
    recs = decode(capsys, "--capture", str(cap))
    assert recs[0] == {
        "time_s": 1.5,
        "connection": 1,
        "stream": "hrm",
        "kind": "hrm",
        "hr_bpm": 170,
        "contact": None,
        "energy_kj": 443,
        "rr_ms": [449.21875],
    }
    assert recs[1]["stream"] == "battery" and recs[1]["battery_pct"] == 87
    # A malformed notification (odd RR bytes) is printed as the live source dropped it, and decoding goes on.
    assert (
        recs[2]["kind"] == "dropped" and recs[2]["drop"] == "malformed" and recs[2]["packet_hex"] == "103c01"
    )
    assert recs[2]["time_s"] == 2.25 and len(recs) == 3


def test_decoders_start_afresh_with_each_connection(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # A GDX-RB packet cut short by a lost link: its first chunk on connection 1, a whole packet on
    # connection 2. Fed to one decoder, the second packet would be read as the rest of the first.
    pkt = encode_measurement([[1.5, math.nan], [2.0, 12.0]], [1, 2])
    first, *_rest = split_chunks(pkt)
    whole = [c.hex() for c in split_chunks(encode_measurement([[3.0, 12.0], [3.5, 12.0]], [1, 2]))]
    rows = [f"1.0,1,measurement,{first.hex()}"] + [f"2.{k},2,measurement,{h}" for k, h in enumerate(whole)]
    cap = write(tmp_path, HEAD.replace("heart-rate", "gdx-rb") + "\n".join(rows) + "\n")
    recs = decode(capsys, "--capture", str(cap))
    assert [(r["connection"], r["force_n"]) for r in recs] == [(2, 3.0), (2, 3.5)]


@pytest.mark.parametrize("cut", ["2.5,1,hr", "2.5,1,hrm,104b"])
def test_a_line_cut_short_at_the_end_is_dropped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, cut: str
) -> None:
    # What a recording killed mid-write leaves: the last line cut, without its line end; also where what is
    # left parses (the packet 104b5e01 cut to 104b gave an RR-less heart-rate record).
    cap = write(tmp_path, HEAD + "1.5,1,hrm,18aabb01cc01\n" + cut)
    assert len(decode(capsys, "--capture", str(cap))) == 1


def test_the_device_can_be_given_for_a_capture_that_names_none(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cap = write(tmp_path, "time,connection,stream,hex\n0.5,1,hrm,18aabb01cc01\n")
    (rec,) = decode(capsys, "--capture", str(cap), "heart-rate")
    assert rec["rr_ms"] == [449.21875]


@pytest.mark.parametrize(
    ("text", "msg"),
    [
        ("", "no header (time,connection,stream,hex): not a capture"),
        ("# device: heart-rate\ntime,resp\n0,1\n", "A_ble.csv:2: header 'time,resp' is not time,connection"),
        (HEAD + "1.5,1,hrm,18aabb0\n2,1,hrm,00\n", "A_ble.csv:5: hex '18aabb0' is not bytes in hex"),
        (HEAD + "1.5,0,hrm,00\n2,1,hrm,00\n", "A_ble.csv:5: connection '0' is not a whole number from 1"),
        (HEAD + "x,1,hrm,00\n2,1,hrm,00\n", "A_ble.csv:5: time 'x' is not a number"),
        (HEAD + "1.5,1,hrm\n2,1,hrm,00\n", "A_ble.csv:5: 3 cells, expected 4"),
        (HEAD + "2,1,hrm,00\n1,1,hrm,00\n", "A_ble.csv:6: time goes backwards (1 s after 2 s)"),
        (HEAD + "1,1,acc,00\n", "A_ble.csv:5: stream 'acc' is not one of heart-rate's (hrm, battery)"),
        ("time,connection,stream,hex\n1,1,hrm,00\n", "the capture names no device (no '# device:' line)"),
        (HEAD.replace("heart-rate", "zephyr") + "1,1,hrm,00\n", "unknown device 'zephyr'"),
        (
            HEAD + "-5,1,hrm,00\n2,1,hrm,00\n",
            "A_ble.csv:5: time '-5' is not a session time (seconds, 0 or more)",
        ),
        (
            HEAD + "1,\u0661,hrm,00\n2,1,hrm,00\n",
            "A_ble.csv:5: connection '\u0661' is not a whole number from 1",
        ),
        (HEAD, "the capture holds no notification: nothing to decode"),
    ],
)
def test_errors_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, msg: str
) -> None:
    cap = write(tmp_path, text)
    assert main(["decode", "--capture", str(cap)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and msg in err, err


def test_not_text_and_missing_file_and_argument_mixes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cap = tmp_path / "A_ble.csv"
    cap.write_bytes(b"# device: heart-rate\n\xff\xfe,\x00\n")
    for args, msg in [
        (["--capture", str(cap)], "not text (UTF-8): not a capture"),
        (["--capture", str(tmp_path / "none.csv")], "none.csv"),
        (["--capture", str(cap), "heart-rate", "hrm", "00"], "give no STREAM or HEX"),
        (["--capture", str(write(tmp_path, HEAD, "B_ble.csv")), "polar-h10"], "is of a heart-rate"),
        (["heart-rate", "hrm"], "decode: HEX is missing: give DEVICE STREAM HEX..."),
        ([], "decode: DEVICE is missing"),
    ]:
        assert main(["decode", *args]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and msg in err, (args, err)


def test_no_traceback_from_the_command_line(tmp_path: Path) -> None:
    cap = write(tmp_path, HEAD + "1,1,hrm,zz\n2,1,hrm,00\n")
    r = run_main("decode", "--capture", cap, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_the_recorder_hands_the_capture_to_the_os_within_a_second(tmp_path: Path) -> None:
    # Crash safety as for every file of a recording: what came more than a second ago is on disk, readable,
    # before the recording is closed (kill -9 loses at most the last second).
    now = [0.0]
    rec = Recorder(tmp_path / "rec", clock=lambda: now[0])
    info = ble_session_info("heart-rate")
    rec.open(info)
    rec.on_packets("A", [Packet(0.5, 1, "hrm", bytes.fromhex("18aabb01cc01"))])
    now[0] = 1.1
    rec.on_packets("A", [Packet(1.5, 1, "battery", b"\x57")])
    out = main(["decode", "--capture", str(tmp_path / "rec" / "A_ble.csv")])
    assert out == 0
    text = (tmp_path / "rec" / "A_ble.csv").read_text(encoding="utf-8")
    assert text.splitlines()[:2] == ["# participant: A", "# device: heart-rate"]
    assert text.endswith("0.500000,1,hrm,18aabb01cc01\n1.500000,1,battery,57\n")
    rec.close(info)
    files = json.loads((tmp_path / "rec" / "session.json").read_text(encoding="utf-8"))["files"]
    assert files["A_ble.csv"]["kind"] == "capture"
