"""`breathsync decode DEVICE STREAM HEX`: JSON lines on stdout; bad input: one line on stderr, exit 2."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from conftest import run_main

from breathsync.cli import main
from devices.gdx import encode_measurement, split_chunks


def decode(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    assert main(["decode", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_heart_rate(capsys: pytest.CaptureFixture[str]) -> None:
    (rec,) = decode(capsys, "heart-rate", "hrm", "18AABB01CC01")
    assert rec == {"kind": "hrm", "hr_bpm": 170, "contact": None, "energy_kj": 443, "rr_ms": [449.21875]}


def test_polar_acc_with_spaces_and_colons(capsys: pytest.CaptureFixture[str]) -> None:
    recs = decode(capsys, "polar-h10", "acc", "02 00 94 35 77 00:00:00:00", "01 F7FFFFFFE703", "F8FFFEFFE503")
    assert [(r["acc_x"], r["acc_y"], r["acc_z"]) for r in recs] == [(-9, -1, 999), (-8, -2, 997)]
    assert recs[-1]["device_t_s"] == 2.0 and recs[-1]["timestamp_ns"] == 2_000_000_000


def test_polar_control_reply(capsys: pytest.CaptureFixture[str]) -> None:
    (rec,) = decode(capsys, "polar-h10", "control", "F0 02 02 06 00")
    assert rec["ok"] is False and "already in that state" in rec["error"]


def test_gdx_chunks_reassembled(capsys: pytest.CaptureFixture[str]) -> None:
    pkt = encode_measurement([[1.5, float("nan")], [2.0, 12.0]], [1, 2])
    recs = decode(capsys, "gdx-rb", "measurement", ",".join(c.hex() for c in split_chunks(pkt)))
    assert [r["force_n"] for r in recs] == [1.5, 2.0]
    assert recs[0]["belt_rate_bpm"] is None and recs[1]["belt_rate_bpm"] == 12.0


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        (["zephyr", "hrm", "00"], "unknown device 'zephyr'"),
        (["polar-h10", "ppg", "00"], "polar-h10 has no stream 'ppg'"),
        (["heart-rate", "hrm", "zz"], "not hex"),
        (["heart-rate", "hrm", "0"], "not hex"),
        (["heart-rate", "hrm", "01 48"], "truncated"),
        (["polar-h10", "acc", "0200"], "truncated PMD data frame header"),
        (["gdx-rb", "measurement", "20 19 00 00 06"], "incomplete packet"),
        (["gdx-rb", "response", "21"], "not the start of a packet"),
        (["heart-rate", "hrm", ","], "no bytes"),
    ],
)
def test_errors_one_line_exit_2(args: list[str], msg: str) -> None:
    r = run_main("decode", *args, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and msg in lines[0] and "Traceback" not in r.stderr


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("00 2A\n10 48 00 04\n"))
    recs = decode(capsys, "heart-rate", "hrm", "-")
    assert [r["hr_bpm"] for r in recs] == [42, 72] and recs[1]["rr_ms"] == [1000.0]


def test_a_packet_that_would_be_dropped_is_shown_with_why(capsys: pytest.CaptureFixture[str]) -> None:
    """The diagnostic shows a bad packet (its bytes, what it holds, why a live source drops it) and goes on
    with the next notification; it used to print it as samples with ``"checksum_ok": false``."""
    bad = "201107660606000100002474490000c07f"  # the audit's belt packet: bad checksum, 1e6 N
    good = encode_measurement([[1.5, float("nan")]], [1, 2]).hex()
    *first, last = decode(capsys, "gdx-rb", "measurement", f"{good},{good},{good},{bad}")
    assert [r["kind"] for r in first] == ["measurement"] * 3 and first[0]["force_n"] == 1.5
    # After packets that matched the checksum, one that fails it is a corrupted packet.
    assert last["kind"] == "dropped" and last["drop"] == "bad checksum"
    assert last["packet_hex"] == bad and last["force_n"] == [1e6] and "dropped" in last["reason"]


def test_readme_gdx_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's example packet (checksum byte 8A): force 1.5 and 2.25 N, 0.1 s apart."""
    recs = decode(capsys, "gdx-rb", "measurement", "20 11 00 8A 06 02 00 02 00 00 00 C0 3F 00 00 10 40")
    assert [(r["device_t_s"], r["force_n"]) for r in recs] == [(0.0, 1.5), (0.1, 2.25)]
    assert "checksum_ok" not in recs[-1]


def test_stdin_is_decoded_line_by_line_as_it_arrives() -> None:
    """`decode -` on a live pipe: each notification's record comes out (flushed) when its line comes in,
    not at the end of the input (it read the whole input first: `yes 003C | ...` grew to gigabytes)."""
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "breathsync", "decode", "heart-rate", "hrm", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for hr in (60, 61, 62):
            proc.stdin.write(f"00{hr:02X}\n".encode())
            proc.stdin.flush()
            line = _readline_within(proc.stdout, 30.0)  # stdin stays open
            assert json.loads(line)["hr_bpm"] == hr
        proc.stdin.close()
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.wait()


def _readline_within(stream: Any, timeout_s: float) -> bytes:
    import threading

    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    assert got, f"no output line within {timeout_s:g} s while the input stays open"
    return got[0]


@pytest.mark.parametrize(
    ("stdin", "msg"),
    [
        (b"\xff\xfe\n", "notification 1: not hex"),  # not text: one line, not a UnicodeDecodeError
        (b"003C\n\n003C\r\n" + b"a" * 1_000_001, "stdin line 4: longer than 1000000 characters"),
        (b"", "no bytes given"),
        (b"\n \n", "no bytes given"),
    ],
)
def test_stdin_errors_one_line_exit_2(stdin: bytes, msg: str) -> None:
    import subprocess

    r = subprocess.run(
        [sys.executable, "-m", "breathsync", "decode", "heart-rate", "hrm", "-"],
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    err = r.stderr.decode()
    assert r.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and msg in lines[0] and "Traceback" not in err


def test_the_help_lists_the_registered_devices(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """decode's and scan's help take their device lists from devices.PROFILES (they were written out by
    hand, and would not have named a new device)."""
    from dataclasses import replace

    import devices

    hr = devices.get_profile("heart-rate")
    new = replace(
        hr, name="new-strap", title="A new strap", streams={**hr.streams, "extra": hr.streams["hrm"]}
    )
    monkeypatch.setitem(devices.PROFILES, "new-strap", new)

    def help_of(*cmd: str) -> str:
        with pytest.raises(SystemExit):
            main([*cmd, "--help"])
        return " ".join(capsys.readouterr().out.split())  # argparse wraps lines

    text = help_of("decode")
    for p in devices.PROFILES.values():
        assert f"{p.name} ({', '.join(p.streams)})" in text
    assert "new-strap (hrm, battery, extra)" in text and "heart-rate or new-strap" in text
    text = help_of("scan")
    assert all(f"{p.title}: {p.name}" in text for p in devices.PROFILES.values())
    assert "A new strap: new-strap" in text
