"""The command line: analyze end to end, and one-line errors with exit code 2."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import breathing, posix_only, run_breathsync

from breathsync.cli import main
from breathsync.session_types import clock_text

SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"


def write_csv(path: Path, t: np.ndarray, y: np.ndarray, participant: str) -> Path:
    rows = "\n".join(f"{a:.4f},{b:.6f}" for a, b in zip(t, y, strict=True))
    path.write_text(f"# participant: {participant}\ntime,resp\n{rows}\n", encoding="utf-8")
    return path


def test_analyze_pair_writes_the_json_contract(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    t, y, _ = breathing(duration_s=150, fs_hz=25, rate_bpm=12, seed=1)
    _, y2, _ = breathing(duration_s=150, fs_hz=25, rate_bpm=12, seed=2, t0=-0.5)  # B 0.5 s behind
    a = write_csv(tmp_path / "a.csv", t, y, "Ann")
    b = write_csv(tmp_path / "b.csv", t, y2, "Ben")
    out = tmp_path / "r.json"
    assert main(["analyze", str(a), str(b), "--json", str(out), "--window", "30"]) == 0
    text = capsys.readouterr().out
    assert "Ann-Ben: in sync" in text and "Ann breathed first" in text
    res = json.loads(out.read_text(encoding="utf-8"))
    if sys.platform != "win32":  # POSIX file modes
        assert out.stat().st_mode & 0o777 == 0o600  # phase series are health data, like the recordings
    p = res["participants"][0]
    assert p["label"] == "Ann" and p["signal"] == "resp" and abs(p["duration_s"] - 150) < 0.1
    for key in ("phase_live", "phase_offline"):
        assert len(p[key]["t_s"]) == len(p[key]["rad"])
        assert np.median(np.diff(p[key]["t_s"])) <= 0.25  # >= 4 Hz
    assert p["breaths_live"][0].keys() == {"onset_s", "detected_s"}
    assert abs(len(p["breaths_offline"]) - 30) <= 2
    assert abs(p["rate_bpm_mean"] - 12) < 0.5
    pair = res["pairs"][0]
    assert (pair["a"], pair["b"], pair["window_s"]) == ("Ann", "Ben", 30)
    n = len(pair["t_s"])
    assert all(len(pair[k]) == n for k in ("plv", "sync_score", "in_sync", "relative_phase_rad"))
    s = pair["summary"]
    assert s["time_in_sync_frac"] > 0.8 and s["leader"] == "Ann"
    assert 0.3 < s["lead_s"] < 0.7
    # The share is of the time scored (the windows with a PLV), which the summary and the printed line state.
    step = float(np.median(np.diff(pair["t_s"])))
    assert s["scored_s"] == pytest.approx(sum(v is not None for v in pair["plv"]) * step, abs=1e-6)
    assert s["scored_s"] < 150 - 30 + 1  # the first window ends a window in
    assert f"of the {clock_text(s['scored_s'])} scored" in text


def test_bad_inputs_exit_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time,resp\n0,1\n0.1,abc\n", encoding="utf-8")
    cases = [
        ["analyze", str(bad)],
        ["analyze", str(tmp_path / "missing.csv")],
        ["analyze", str(tmp_path)],
        ["analyze", str(bad), "--window", "-3"],
        ["frobnicate"],
    ]
    for args in cases:
        r = run_breathsync(*args, timeout=60)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "error" in r.stderr


def test_real_belt_and_rr_recordings(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    files = [str(shared_data / "nk_rest5_100hz.csv"), str(shared_data / "polar_h10_rr.csv")]
    assert main(["analyze", *files, "--json", str(out)]) == 0
    res = json.loads(out.read_text(encoding="utf-8"))
    belt, strap = res["participants"]
    assert belt["signal"] == "resp" and strap["signal"] == "rr"
    assert 10 < belt["rate_bpm_mean"] < 25 and 4 < strap["rate_bpm_mean"] < 30
    assert any("RR" in w for w in res["warnings"])


def test_analyze_derives_breathing_from_an_ecg(shared_data: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # The belt and the ECG of one person (nk_rest5), the ECG alone in its own file: its heart beats give
    # RR intervals, and those the breathing (respiratory sinus arrhythmia).
    lines = [
        ln
        for ln in (shared_data / "nk_rest5_100hz.csv").read_text(encoding="utf-8").splitlines()
        if not ln.startswith("#")
    ]
    names = lines[0].split(",")
    cols = np.loadtxt(lines[1:], delimiter=",", ndmin=2)
    t, ecg = cols[:, names.index("time")], cols[:, names.index("ecg")]
    ecg_file = tmp_path / "ecg.csv"
    ecg_file.write_text(
        "time,ecg\n" + "".join(f"{a:.4f},{b:.6g}\n" for a, b in zip(t, ecg, strict=True)), encoding="utf-8"
    )
    out = tmp_path / "r.json"
    assert main(["analyze", str(shared_data / "nk_rest5_100hz.csv"), str(ecg_file), "--json", str(out)]) == 0
    res = json.loads(out.read_text(encoding="utf-8"))
    belt, heart = res["participants"]
    assert heart["signal"] == "ecg"
    assert abs(heart["rate_bpm_mean"] - belt["rate_bpm_mean"]) < 3.0
    assert 0.7 < len(heart["breaths_offline"]) / len(belt["breaths_offline"]) < 1.3
    assert res["pairs"][0]["summary"]["mean_plv"] > 0.4  # one person's breathing, two ways
    assert any("ECG" in w for w in res["warnings"])
    capsys.readouterr()
    # Sampled too slowly for R peaks: one line, exit 2.
    slow = tmp_path / "slow.csv"
    slow.write_text(
        "time,ecg\n" + "".join(f"{a:.4f},{b:.6g}\n" for a, b in zip(t[::4], ecg[::4], strict=True)),
        encoding="utf-8",
    )
    assert main(["analyze", str(slow)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "slow.csv: its ECG is sampled at 25 Hz, too slowly" in err, err


def test_analyze_derives_breathing_from_a_chest_accelerometer(tmp_path: Path) -> None:
    t, y, _ = breathing(duration_s=180, fs_hz=50, rate_bpm=12, noise=0.0, seed=4)
    rng = np.random.default_rng(4)
    axis = np.array([0.3, 0.9, 0.3]) / np.linalg.norm([0.3, 0.9, 0.3])
    acc = np.array([0.0, 0.0, 1000.0]) + 20.0 * y[:, None] * axis + 2.0 * rng.standard_normal((t.size, 3))
    rows = "\n".join(f"{a:.3f},{x:.2f},{yy:.2f},{z:.2f}" for a, (x, yy, z) in zip(t, acc, strict=True))
    path = tmp_path / "h10.csv"
    path.write_text(f"time,acc_x,acc_y,acc_z\n{rows}\n", encoding="utf-8")
    out = tmp_path / "r.json"
    assert main(["analyze", str(path), "--json", str(out)]) == 0
    p = json.loads(out.read_text(encoding="utf-8"))["participants"][0]
    assert p["signal"] == "acc"
    assert abs(p["rate_bpm_mean"] - 12) < 1.0
    # Sampled too slowly for the 1-Hz low-pass: one line, exit 2 (it would have been no waveform at all).
    slow = tmp_path / "slow.csv"
    slow.write_text(
        "time,acc_x,acc_y,acc_z\n" + "".join(f"{k * 0.5:.1f},{k % 3},{k % 5},1000\n" for k in range(200)),
        encoding="utf-8",
    )
    assert main(["analyze", str(slow)]) == 2


def _exit_code(args: list[str], capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    try:
        code = main(args)
    except SystemExit as e:  # argparse's own errors
        code = int(e.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "x.csv", "--window", "1e300"],
        ["analyze", "x.csv", "--window", "0.001"],
        ["analyze", "x.csv", "--rate", "1e-300"],
        ["analyze", "x.csv", "--json", ""],
        ["analyze", "x.csv", "--batch", " "],
        ["run", "-p", "A=sim:steady", "--speed", "10000"],
        ["run", "-p", "A=sim:steady", "--speed", "1e-9"],
        ["run", "-p", "A=sim:steady", "--record", ""],
        ["demo", "--coupling", "nan"],
        ["simulate", "--out", "d", "--duration", "1e6"],
        ["simulate", "--out", "d", "--duration", "60", "--coupling", "inf"],
        ["simulate", "--out", "d", "--duration", "60", "--seed", "-1"],
        ["simulate", "--out", "d", "--duration", "60", "--rate-a", "1e6"],
        ["simulate", "--out", "d", "--duration", "60", "--fs", "1e-6"],
        ["scan", "--timeout", "1e9"],
    ],
)
def test_out_of_range_options_are_one_line_errors(args: list[str], capsys) -> None:  # type: ignore[no-untyped-def]
    code, err = _exit_code(args, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "expected" in err


def test_simulate_refuses_too_many_samples(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, err = _exit_code(
        ["simulate", "--out", str(tmp_path / "d"), "--duration", "86400", "--fs", "1000"], capsys
    )
    assert code == 2 and "samples per file" in err
    assert not (tmp_path / "d").exists()


def test_simulate_refuses_a_rate_that_would_alias(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # 40/min (0.67 Hz) sampled at 1 Hz reads as 20/min: refused, with the rate that works.
    out = tmp_path / "d"
    code, err = _exit_code(
        ["simulate", "--out", str(out), "--duration", "60", "--fs", "1", "--rate-b", "40"], capsys
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--fs 4 or more" in err and "40/min" in err
    assert not out.exists()
    assert main(["simulate", "--out", str(out), "--duration", "60", "--fs", "4", "--rate-b", "40"]) == 0


def test_outputs_never_overwrite_inputs(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    t, y, _ = breathing(duration_s=60, fs_hz=25)
    rec = write_csv(tmp_path / "a.csv", t, y, "A")
    before = rec.read_bytes()
    code, err = _exit_code(["analyze", str(rec), "--json", str(rec)], capsys)
    assert code == 2 and "is one of the input files" in err
    code, err = _exit_code(["analyze", str(rec), "--batch", str(rec)], capsys)
    assert code == 2 and "is one of the input files" in err
    code, err = _exit_code(["report", str(rec), "--out", str(rec)], capsys)
    assert code == 2 and "is one of the input files" in err
    assert rec.read_bytes() == before
    # A folder of recordings (simulate's, or a session's): its files are inputs too.
    sim = tmp_path / "sim"
    assert main(["simulate", "--out", str(sim), "--duration", "60"]) == 0
    capsys.readouterr()
    a_csv = (sim / "A.csv").read_bytes()
    code, err = _exit_code(["report", str(sim), "--out", str(sim / "A.csv")], capsys)
    assert code == 2 and "would overwrite a file of the session folder" in err
    code, err = _exit_code(["simulate", "--out", str(sim), "--duration", "10"], capsys)
    assert code == 2 and "already exists" in err
    assert (sim / "A.csv").read_bytes() == a_csv
    code, err = _exit_code(["analyze", str(sim), "--batch", str(tmp_path / "s.csv"), "--json", "-"], capsys)
    assert code == 2 and "names a folder" in err


def test_a_closed_pipe_stops_quietly() -> None:
    frames = "18AABB01CC01\n" * 50_000
    p = subprocess.Popen(
        [sys.executable, "-m", "breathsync", "decode", "heart-rate", "hrm", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdin is not None and p.stdout is not None and p.stderr is not None
    stdin = p.stdin

    def feed() -> None:
        # From a thread, as a shell pipe does: decode writes each record as its line comes, so the input
        # cannot all go in before the output is read.
        with contextlib.suppress(BrokenPipeError):
            stdin.write(frames)
        with contextlib.suppress(BrokenPipeError):
            stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    assert p.stdout.readline().startswith("{")
    p.stdout.close()  # like `| head -n1`
    err = p.stderr.read()
    assert p.wait(timeout=60) == 141
    assert err == ""
    writer.join(10)


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_analyze_json_to_a_reader_that_goes_away_ends_141(unbuffered: str) -> None:
    """`analyze --json - | head -c 100`. Unbuffered (PYTHONUNBUFFERED=1, as in many containers) the JSON's one
    write took what the pipe held and the rest was dropped without an error: exit 0."""
    import os

    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    files = [str(SAMPLES / "pair_sync_A.csv"), str(SAMPLES / "pair_sync_B.csv")]
    p = subprocess.Popen(
        [sys.executable, "-m", "breathsync", "analyze", *files, "--json", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert p.stdout is not None and p.stderr is not None
    assert p.stdout.read(100).startswith(b"{")
    p.stdout.close()  # like `| head -c 100`
    err = p.stderr.read()
    assert p.wait(timeout=60) == 141
    assert err == b""


@posix_only("/dev/full")
def test_a_full_output_device_is_one_line(tmp_path: Path) -> None:
    t, y, _ = breathing(duration_s=60, fs_hz=25)
    rec = write_csv(tmp_path / "a.csv", t, y, "A")
    with open("/dev/full", "w", encoding="utf-8") as full:
        r = run_breathsync("analyze", str(rec), timeout=60, stdout=full)
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "No space left on device" in r.stderr


def test_analyze_summaries_agree_with_their_series(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # Found by recomputing analyze's figures from its own JSON.
    src = Path(__file__).resolve().parents[1] / "sample_signals"
    lines = (src / "pair_follow_A.csv").read_text(encoding="utf-8").splitlines()
    head = [ln for ln in lines if ln.startswith("#") or ln.startswith("time")]
    rows = [ln for ln in lines if ln and not ln.startswith("#") and not ln.startswith("time")]
    # A 30-s hole (empty resp cells) from 100 to 130 s, and times that start off the 10-Hz grid (+0.05 s).
    hole = []
    for ln in rows:
        cells = ln.split(",")
        tt = float(cells[0])
        cells[0] = f"{tt + 0.05:.3f}"
        if 100.0 <= tt < 130.0:
            cells[1] = ""
        hole.append(",".join(cells))
    a = tmp_path / "hole_A.csv"
    a.write_text("\n".join(head + hole) + "\n", encoding="utf-8")
    out = tmp_path / "r.json"
    files = [str(a), str(src / "pair_follow_B.csv"), str(src / "pair_sync_B.csv")]
    assert main(["analyze", *files, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    res = json.loads(out.read_text(encoding="utf-8"))
    p = res["participants"][0]
    ons = np.array([b["onset_s"] for b in p["breaths_offline"]])
    iv = np.diff(ons)
    assert iv.max() > 25  # the hole is between two breaths...
    clean = iv[iv < 25]
    # ...and not a 36-s breath: the mean rate is 60 / the mean interval of the breaths without a gap.
    assert p["rate_bpm_mean"] == pytest.approx(60.0 / clean.mean(), abs=0.01)
    assert p["rate_bpm_sd"] == pytest.approx(np.std(60.0 / clean, ddof=1), abs=0.01)
    # Participant and pair series share the 10-Hz grid; duration is the file's span.
    pair = res["pairs"][0]
    assert p["phase_live"]["t_s"][0] * 10 == pytest.approx(round(p["phase_live"]["t_s"][0] * 10), abs=1e-6)
    assert set(pair["t_s"]) <= set(p["phase_live"]["t_s"])
    assert p["duration_s"] == pytest.approx(
        float(hole[-1].split(",")[0]) - float(hole[0].split(",")[0]), abs=1e-3
    )
    # in_sync is null where the PLV is, and the summary counts the scored windows.
    for side in (pair, pair["offline"]):
        assert all((s is None) == (v is None) for s, v in zip(side["in_sync"], side["plv"], strict=True))
        scored = [s for s in side["in_sync"] if s is not None]
        assert side["summary"]["time_in_sync_frac"] == pytest.approx(np.mean(scored), abs=1e-4)
    # The printed chance level is the mean over the scored windows.
    null = np.mean([n for n, v in zip(pair["null_plv"], pair["plv"], strict=True) if v is not None])
    assert f"(chance level {null:.2f}" in text.splitlines()[3]  # then ", the cap..." when it was the cap
    # The group: windows need 80% coverage like pairs; none at all with a window longer than the overlap.
    assert res["group"]["mean_kuramoto_r"] is not None
    assert main(["analyze", *files, "--window", "400", "--json", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["group"]["mean_kuramoto_r"] is None


def test_the_inverted_warning_gives_advice_that_fixes_one_file_of_a_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The advice was "use --invert", which flips every file: the pair stayed half a cycle apart.
    from breathsync.io.csvfile import read_recording, write_recording

    # pair_follow_A flipped rises 0.59 of each cycle as the tracker times it. (pair_sync_A flipped reads
    # 0.54-0.55, at the warning's 0.55: its end-expiratory pause becomes a plateau at the top, and the peak
    # lands anywhere in it, so the rise measured is 0.6 less half the pause.)
    samples = Path(__file__).resolve().parents[1] / "sample_signals"
    rec = read_recording(str(samples / "pair_follow_A.csv"))
    flipped = tmp_path / "A.csv"
    write_recording(flipped, rec.time, {"resp": -rec.columns["resp"]}, {"participant": "A"})
    b = str(samples / "pair_follow_B.csv")
    out = tmp_path / "r.json"
    assert main(["analyze", str(flipped), b, "--json", str(out)]) == 0
    said = capsys.readouterr().out
    assert "A: the signal looks inverted" in said and "'# invert: true'" in said
    assert json.loads(out.read_text(encoding="utf-8"))["pairs"][0]["summary"]["time_in_sync_frac"] < 0.05
    # Following the advice:
    write_recording(flipped, rec.time, {"resp": -rec.columns["resp"]}, {"participant": "A", "invert": "true"})
    assert main(["analyze", str(flipped), b, "--json", str(out)]) == 0
    assert "looks inverted" not in capsys.readouterr().out
    fixed = json.loads(out.read_text(encoding="utf-8"))["pairs"][0]["summary"]["mean_relative_phase_rad"]
    assert main(["analyze", str(samples / "pair_follow_A.csv"), b, "--json", str(out)]) == 0
    assert fixed == pytest.approx(
        json.loads(out.read_text(encoding="utf-8"))["pairs"][0]["summary"]["mean_relative_phase_rad"]
    )


def test_running_out_of_memory_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import breathsync.analysis

    def too_big(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(breathsync.analysis, "read_recording", too_big)
    samples = Path(__file__).resolve().parents[1] / "sample_signals"
    assert main(["analyze", str(samples / "pair_sync_A.csv")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not enough memory" in err[0]


def test_rr_intervals_out_of_any_heart_range_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # RR of 0 (or seconds instead of ms) gave "overlap less than one 30-s window" for a 300-s pair.
    samples = Path(__file__).resolve().parents[1] / "sample_signals"
    rr = tmp_path / "rr_zero.csv"
    rr.write_text(
        "time,rr_ms\n" + "".join(f"{0.8 * k:.1f},{0.8 if k % 2 else 0}\n" for k in range(375)),
        encoding="utf-8",
    )
    assert main(["analyze", str(samples / "pair_sync_A.csv"), str(rr)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rr_zero.csv" in err[0] and "milliseconds" in err[0]


def test_what_the_reader_ignored_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # --rate for a file with a time column, and a declared rate its time column contradicts, went unsaid.
    from breathsync.io.csvfile import read_recording, write_recording

    rec = read_recording(str(Path(__file__).resolve().parents[1] / "sample_signals" / "pair_sync_A.csv"))
    f = tmp_path / "A.csv"
    write_recording(
        f, rec.time, {"resp": rec.columns["resp"]}, {"participant": "A", "sampling_rate_hz": "1000"}
    )
    out = tmp_path / "r.json"
    assert main(["analyze", str(f), "--rate", "50", "--json", str(out)]) == 0
    said = capsys.readouterr().out
    assert "A: --rate 50 ignored: the file has a time column" in said
    assert "A: the file says sampling_rate_hz: 1000, but its time column is at 25 Hz" in said
    assert len(json.loads(out.read_text(encoding="utf-8"))["warnings"]) == 2
    write_recording(
        f, rec.time, {"resp": rec.columns["resp"]}, {"participant": "A", "sampling_rate_hz": "25"}
    )
    assert main(["analyze", str(f), "--json", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["warnings"] == []
    # A belt exported at 1 Hz: breathing over 30/min would alias to a slower rhythm, silently.
    slow = rec.time[::25]
    write_recording(f, slow, {"resp": rec.columns["resp"][::25]}, {"participant": "A"})
    assert main(["analyze", str(f), "--json", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["warnings"] == [
        "A: sampled at 1 Hz: breathing faster than 30/min (half the sampling rate) cannot be told from slower "
        "breathing; record at 4 Hz or more"
    ]


def test_the_rate_option_says_when_a_file_with_a_time_column_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--rate given for a file with a time column is not always ignored: 1000 times (milliseconds) or 1/60 of
    (minutes) its time column's rate is refused (tests/io/test_csv_millis_undeclared.py, test_csv_minutes.py)."""
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert (
        "a file with one ignores it, or is refused when its time column steps 1000 times slower or 60 "
        in help_text
    )
    assert "times faster: milliseconds or minutes" in help_text


def test_an_unknown_option_is_said_by_its_command(capsys: pytest.CaptureFixture[str]) -> None:
    """'breathsync analyze --bogus' said "breathsync: error: ... (see breathsync --help)", whose help does not
    list analyze's options."""
    with pytest.raises(SystemExit) as e:
        main(["analyze", "--bogus", "x.csv"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert (
        err == "breathsync analyze: error: unrecognized arguments: --bogus (see breathsync analyze --help)\n"
    )
    with pytest.raises(SystemExit) as e:
        main(["--bogus"])
    assert e.value.code == 2
    assert capsys.readouterr().err.startswith("breathsync: error: unrecognized arguments: --bogus")
