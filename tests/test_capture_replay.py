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
    for speed in ("30", "300"):
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
        if speed == "30":
            first = rec.time
        else:  # the recorded arrival times, not the replay's clock: the same at any speed
            np.testing.assert_allclose(rec.time, first, rtol=0, atol=1e-9)
        # A replay of a capture, recorded, keeps a capture of what it replayed: the same notifications, on the
        # replay's times (from its first notification).
        again = [r.split(",") for r in (out / "A_ble.csv").read_text(encoding="utf-8").splitlines()[4:]]
        given = [r.split(",") for r in cap.read_text(encoding="utf-8").splitlines()[3:]]
        assert [r[1:] for r in again] == [r[1:] for r in given]
        shift = np.array([float(g[0]) - float(a[0]) for a, g in zip(again, given, strict=True)])
        np.testing.assert_allclose(shift, float(given[0][0]), rtol=0, atol=2e-6)
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


def _resp_file(path: Path, start_s: float, seconds: float) -> None:
    t = np.arange(start_s, start_s + seconds, 0.04)
    resp = np.sin(2 * np.pi * 0.25 * t)
    path.write_text(
        "time,resp\n" + "".join(f"{a:.6f},{b:.6f}\n" for a, b in zip(t, resp, strict=True)), encoding="utf-8"
    )


def test_a_capture_plays_in_step_with_the_recordings_played_with_it(tmp_path: Path) -> None:
    # Alone, a capture starts at its first notification; with a recording of its session (B's belt from 0 s),
    # both play on the recording's times, in step (it played its own times from session time 0, 1.9 s late
    # against a recording of its own session, and a capture started at 3600 s waited an hour).
    cap = tmp_path / "A_ble.csv"
    strap_capture(cap)
    first = float(cap.read_text(encoding="utf-8").splitlines()[3].split(",")[0])
    _resp_file(tmp_path / "B.csv", 0.0, 70.0)
    alone, both = tmp_path / "alone", tmp_path / "both"
    assert main(["run", "-p", f"A=replay:{cap}", "--speed", "50", "--quiet", "--record", str(alone)]) == 0
    b = f"B=replay:{tmp_path / 'B.csv'}"
    assert (
        main(["run", "-p", f"A=replay:{cap}", "-p", b, "--speed", "50", "--quiet", "--record", str(both)])
        == 0
    )
    ta = read_recording(str(alone / "A.csv")).time
    tb = read_recording(str(both / "A.csv")).time
    np.testing.assert_allclose(tb, ta + first, rtol=0, atol=2e-6)
    assert first > 1.0


def test_a_capture_beside_its_own_recording_is_warned_of(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    rec.mkdir()
    strap_capture(rec / "A_ble.csv")
    _resp_file(rec / "A.csv", 1.0, 60.0)  # (what matters is the names: A.csv beside A_ble.csv)
    out = tmp_path / "out"
    code = main(
        [
            "run",
            "-p",
            f"A=replay:{rec / 'A_ble.csv'}",
            "-p",
            f"B=replay:{rec / 'A.csv'}",
            "--speed",
            "50",
            "--quiet",
            "--record",
            str(out),
        ]
    )
    assert code == 0
    warnings = json.loads((out / "session.json").read_text(encoding="utf-8"))["summary"]["warnings"]
    assert any("A_ble.csv is the capture of the device that A.csv was recorded from" in w for w in warnings)


def test_a_capture_with_an_hour_of_nothing_inside_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cap = tmp_path / "A_ble.csv"
    cap.write_text(HEAD + "1,1,hrm,10480003\n2,1,hrm,10480003\n3602,1,hrm,10480003\n", encoding="utf-8")
    assert main(["run", "-p", f"A=replay:{cap}", "--speed", "50", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "A_ble.csv:6: nothing for 3600 s between lines 5 and 6 (at most 600 s)" in err, err


def test_a_decoder_bug_in_a_replay_ends_the_session_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug of a device's decoder (anything but DecodeError) ends the session, closing its recording with one
    # session_end saying why; with a simulated partner it also wrote "every source but the simulated B has
    # ended" (the failed source's task was over before the publisher saw the session stopping).
    from breathsync.sources.ble import DecoderFault
    from devices import heart_rate

    cap = tmp_path / "A_ble.csv"
    strap_capture(cap)
    feed, calls = heart_rate.HrmDecoder.feed, [0]

    def buggy(self: heart_rate.HrmDecoder, data: bytes) -> list[devices.Decoded]:
        calls[0] += 1
        if calls[0] == 30:
            raise ZeroDivisionError("a bug")
        return feed(self, data)

    monkeypatch.setattr(heart_rate.HrmDecoder, "feed", buggy)
    out = tmp_path / "out"
    with pytest.raises(
        DecoderFault, match=r"replay:A_ble\.csv: internal error of the heart-rate .hrm. decoder"
    ):
        main(
            [
                "run",
                "-p",
                f"A=replay:{cap}",
                "-p",
                "B=sim:steady",
                "--speed",
                "50",
                "--quiet",
                "--record",
                str(out),
            ]
        )
    ends = [
        line
        for line in (out / "events.csv").read_text(encoding="utf-8").splitlines()
        if ",session_end," in line
    ]
    assert len(ends) == 1 and "internal error" in ends[0], ends
