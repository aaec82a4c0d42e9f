"""``replay:DIR/A_ble.csv``: a recorded wearable's capture played again through its decoders and clocks
(breathsync/sources/capture.py), here from a capture written by hand; against a real recording through
bleak and the fake BlueZ: tests/ble/test_ble_capture.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import devices
from breathsync.cli import main
from breathsync.io.csvfile import read_recording
from devices.heart_rate import encode_hrm

HEAD = "# participant: A\n# device: heart-rate\ntime,connection,stream,hex\n"


def strap_capture(path: Path, seconds: float = 60.0, garbage_at: int = 10) -> list[float]:
    """A strap's notifications, one a beat (RR breathing-modulated), a second connection from 30 s, and
    one malformed notification; returns the beats' RR intervals (ms) in order."""
    rows, beats = [], []
    t, k = 1.0, 0
    while t < seconds:
        rr = 800.0 + 60.0 * math.sin(2 * math.pi * 0.25 * t)
        t += rr / 1000.0
        rows.append(f"{t + 0.05:.6f},{1 if t < 30 else 2},hrm,{encode_hrm(75, [rr]).hex()}")
        beats.append(rr)
        k += 1
        if k == garbage_at:
            rows.append(f"{t + 0.06:.6f},1,hrm,103c01")
    path.write_text(HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    return beats


def test_a_strap_capture_replays_its_beats_at_any_speed(tmp_path: Path) -> None:
    cap = tmp_path / "A_ble.csv"
    beats = strap_capture(cap)
    for speed in ("10", "100"):
        out = tmp_path / f"rec{speed}"
        assert main(["run", "-p", f"A=replay:{cap}", "--speed", speed, "--quiet", "--record", str(out)]) == 0
        rec = read_recording(str(out / "A.csv"))
        dec = devices.get_profile("heart-rate").stream("hrm").decoder()
        sent = [rr for b in beats for d in dec.feed(encode_hrm(75, [b])) for rr in d.columns["rr_ms"]]
        np.testing.assert_allclose(rec.columns["rr_ms"], sent, rtol=0, atol=1e-6)
        info = json.loads((out / "session.json").read_text(encoding="utf-8"))
        source = info["participants"][0]["source"]
        assert source["device"] == "heart-rate" and source["dropped_by"] == {"malformed": 1}
        assert rec.meta["source"] == "replay:A_ble.csv"
        if speed == "10":
            first = rec.time
        else:  # the recorded arrival times, not the replay's clock: the same at any speed
            np.testing.assert_allclose(rec.time, first, rtol=0, atol=1e-9)
        # A replay of a capture, recorded, keeps a capture of what it replayed: the same rows.
        assert (out / "A_ble.csv").read_text(encoding="utf-8").splitlines()[-3:] == cap.read_text(
            encoding="utf-8"
        ).splitlines()[-3:]
    # Such a folder is analysed and exported as any recording; the capture stays out of the BIDS dataset
    # (the folder one shares).
    assert main(["analyze", str(out), "--json", str(tmp_path / "a.json")]) == 0
    assert main(["export", str(out), "--bids", str(tmp_path / "bids")]) == 0
    exported = [p.name for p in (tmp_path / "bids").rglob("*") if p.is_file()]
    assert any(n.endswith("_physio.tsv.gz") for n in exported) and not [n for n in exported if "_ble" in n]


@pytest.mark.parametrize(
    ("make", "spec", "msg"),
    [
        (
            None,
            "A=replay:{cap},loop",
            "is a device's capture, replayed as it was recorded: it takes no options (loop)",
        ),
        (HEAD + "1,1,acc,00\n", "A=replay:{cap}", "stream 'acc' is not one of heart-rate's (hrm, battery)"),
        (HEAD, "A=replay:{cap}", "the capture holds no notification: nothing to replay"),
        (HEAD.replace("heart-rate", "zephyr") + "1,1,hrm,00\n", "A=replay:{cap}", "unknown device 'zephyr'"),
        (
            "time,connection,stream,hex\n1,1,hrm,00\n",
            "A=replay:{cap}",
            "the capture names no device (no '# device:' line), so it cannot be replayed",
        ),
    ],
)
def test_a_capture_that_cannot_be_replayed_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: str | None, spec: str, msg: str
) -> None:
    cap = tmp_path / "A_ble.csv"
    if make is None:
        strap_capture(cap, seconds=5.0)
    else:
        cap.write_text(make, encoding="utf-8")
    assert main(["run", "-p", spec.format(cap=cap), "-p", "B=sim:steady", "--speed", "50", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and msg in err, err


def test_one_capture_for_two_participants_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cap = tmp_path / "A_ble.csv"
    strap_capture(cap, seconds=5.0)
    link = tmp_path / "again.csv"
    link.symlink_to(cap)
    assert main(["run", "-p", f"A=replay:{cap}", "-p", f"B=replay:{link}", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "participants A and B both replay" in err and len(err.strip().splitlines()) == 1, err


def test_analyze_says_what_a_capture_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cap = tmp_path / "A_ble.csv"
    strap_capture(cap, seconds=5.0)
    assert main(["analyze", str(cap)]) == 2
    err = capsys.readouterr().err
    assert "A_ble.csv:3: a wearable's capture (its notifications in hex), not samples" in err
    assert len(err.strip().splitlines()) == 1
