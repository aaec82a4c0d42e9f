"""The live commands end to end: run, demo, simulate, Ctrl-C, and their one-line errors."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import posix_only, run_breathsync, run_main

from breathsync.cli import main
from breathsync.io.csvfile import read_recording
from breathsync.live import summary_lines
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.session_types import clock_text
from breathsync.sources.base import SessionClock
from breathsync.terminal import TerminalView, render, state_text

REPO = Path(__file__).resolve().parents[1]


def test_run_two_simulated_people(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "run",
            "-p",
            "A=sim:steady,rate=12,seed=1",
            "-p",
            "B=sim:follow,rate=13,coupling=0.8,seed=2",
            "--duration",
            "120",
            "--speed",
            "100",
            "--quiet",
            "--phase",
            "free",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "session summary:" in out and "A-B: in sync" in out


def test_the_summary_says_which_source_ended_before_the_session(capsys: pytest.CaptureFixture[str]) -> None:
    """A simulation stopped by the session's end was still streaming (it used to read "ended", like a file
    that ran out in the middle)."""
    short = str(REPO / "sample_signals" / "biosppy_resp_1000hz.csv")  # 60 s
    argv = [
        "run",
        "-p",
        "A=sim:steady,seed=1",
        "-p",
        f"B=replay:{short}",
        "--duration",
        "90",
        "--speed",
        "100",
    ]
    assert main([*argv, "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(x.startswith("A: sim:steady,") and x.endswith("(streaming)") for x in lines), lines
    assert any(x.startswith("B: replay:biosppy_resp_1000hz.csv,") and x.endswith("(ended)") for x in lines), (
        lines
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "-p", "A=bogus:x"], "unknown source"),
        (["run", "-p", "A"], "LABEL=SOURCE"),
        (["run", "-p", "A=sim:dance"], "unknown simulated partner mode"),
        (["run", "-p", "A=sim:steady", "-p", "A=sim:steady"], "different"),
        (["run", "-p", "A=sim:follow"], "another participant"),
        # An unknown partner= said "needs another participant to follow", naming neither.
        (
            ["run", "-p", "A=sim:steady", "-p", "B=sim:follow,partner=Z"],
            "no participant Z; the participants are A, B",
        ),
        (["run", "-p", "A=sim:steady", "-p", "B=sim:follow,partner=B"], "cannot follow itself; follow A"),
        (["run", "-p", "A=replay:/nonexistent.csv"], "nonexistent"),
        (["run", "-p", "A=sim:steady", "--leader", "A"], "--phase lead"),
        # Accepted, and the simulated partner shown upside down (the audit).
        (["run", "-p", "A=sim:steady", "-p", "B=sim:follow", "--invert", "B"], "B is a simulated partner"),
        (["run", "-p", "A=sim:steady", "--speed", "0"], "argument --speed"),
        (["run", "-p", "A=sim:steady,duration=inf"], "at most 86400 s"),  # was an OverflowError traceback
        # (On Windows /proc/forbidden/x would be made, under the current drive's root.)
        pytest.param(
            ["simulate", "--out", "/proc/forbidden/x", "--duration", "10"],
            "cannot",
            marks=posix_only("/proc"),
        ),
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str], needle: str) -> None:
    extra = ("--duration", "1") if args[0] == "run" else ()
    r = run_main(*args, *extra, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert needle in r.stderr


def test_simulate_writes_a_pair_with_true_phases(tmp_path: Path) -> None:
    assert (
        main(["simulate", "--out", str(tmp_path), "--duration", "120", "--coupling", "0.5", "--seed", "3"])
        == 0
    )
    a = read_recording(tmp_path / "A.csv")
    assert {"resp", "true_phase"} <= set(a.columns) and abs(a.time[-1] - 120) < 0.1
    out = tmp_path / "r.json"
    assert main(["analyze", str(tmp_path / "A.csv"), str(tmp_path / "B.csv"), "--json", str(out)]) == 0
    res = json.loads(out.read_text(encoding="utf-8"))
    assert res["pairs"][0]["summary"]["mean_plv"] > 0.7


def test_simulate_shorter_than_the_truths_window_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pair shorter than 60 s has no true 60-s PLV: it printed and wrote "nan"."""
    assert main(["simulate", "--out", str(tmp_path), "--duration", "59"]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower() and "no true 60-s PLV: shorter than 60 s" in out
    assert "true_plv_60s" not in read_recording(tmp_path / "A.csv").meta
    assert main(["simulate", "--out", str(tmp_path / "b"), "--duration", "60"]) == 0
    assert float(read_recording(tmp_path / "b" / "A.csv").meta["true_plv_60s"]) > 0.0


def test_demo_runs_headless_and_fast() -> None:
    r = run_breathsync("demo", "--headless", "--duration", "40", "--speed", "40", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "session summary:" in r.stdout and "you:" in r.stdout and "partner:" in r.stdout


@posix_only("SIGINT sent to a process")
def test_ctrl_c_ends_cleanly_with_a_complete_recording(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "breathsync",
            "run",
            "-p",
            "A=sim:steady",
            "-p",
            "B=sim:follow",
            "--record",
            str(rec),
            "--speed",
            "5",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (rec / "A.csv").exists():
        time.sleep(0.1)
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "session summary:" in out
    info = json.loads((rec / "session.json").read_text(encoding="utf-8"))
    assert "end_utc" in json.dumps(info)
    assert len(read_recording(rec / "A.csv")) > 50
    assert os.stat(rec / "A.csv").st_mode & 0o077 == 0  # health data: owner only


def _one_snapshot():
    import asyncio

    from conftest import breathing

    from breathsync.sources.memory import MemorySource

    # A's data outlasts the session by far: under load the session waits at its end for a paced source
    # that fell behind while the clock runs on, and an A that ended at 80 s read "no signal from A, B".
    t, y, _ = breathing(duration_s=200, fs_hz=25, seed=1)
    specs = [
        ParticipantSpec("A", MemorySource(t, {"resp": y})),
        ParticipantSpec("B", MemorySource(t, {"resp": y}, fail_at_s=50.0)),
    ]
    s = Session(specs, SessionClock(200.0), SessionConfig(phase="match", goal_s=10.0))
    snaps = []

    class C:
        def open(self, info): ...
        def on_chunk(self, label, chunk): ...
        def on_snapshot(self, snap):
            snaps.append(snap)

        def close(self, info): ...

    s.add_sink(C())
    asyncio.run(s.run(75.0))
    return s, snaps


def test_terminal_view_shows_sync_then_no_signal() -> None:
    session, snaps = _one_snapshot()
    synced = next(sn for sn in snaps if sn.pairs and sn.pairs[0].in_sync)
    assert "IN SYNC" in state_text(synced)
    assert "IN SYNC" in render(synced)
    assert "no signal from B" in state_text(snaps[-1])
    buf = io.StringIO()
    view = TerminalView(out=buf, in_place=True)
    assert session.info is not None
    view.open(session.info)
    for sn in snaps[-3:]:
        view.on_snapshot(sn)
    text = buf.getvalue()
    assert "\x1b[" in text and "no signal" in text  # redrawn in place


def _failing_partner(monkeypatch: pytest.MonkeyPatch, fail_at_s: float) -> None:
    """B's source breaks ``fail_at_s`` into the session, after sending samples (A is a real simulation)."""
    from conftest import breathing

    import breathsync.live as live
    from breathsync.sources.memory import MemorySource

    real = live.build_source

    def build(arg, labels, probes):  # type: ignore[no-untyped-def]
        if arg.label != "B":
            return real(arg, labels, probes)
        t, y, _ = breathing(duration_s=120, fs_hz=25, seed=2)
        return MemorySource(t, {"resp": y}, fail_at_s=fail_at_s, name="belt B")

    monkeypatch.setattr(live, "build_source", build)


def test_source_failing_mid_session_exits_2_and_keeps_the_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A source that fails after sending samples: the session goes on and ends as asked, the summary and the
    recording hold everything, and the command says which source failed, when and why (exit 2)."""
    _failing_partner(monkeypatch, fail_at_s=30.0)
    rec = tmp_path / "rec"
    argv = ["run", "-p", "A=sim:steady,seed=1", "-p", "B=sim:steady", "--quiet", "--record", str(rec)]
    code = main([*argv, "--duration", "60", "--speed", "50"])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("breathsync: error: participant B: the source failed after 0:2")  # ~30 s of samples
    assert err.rstrip().endswith("belt B: simulated failure")
    assert "session summary:" in out and f"recorded to {rec}" in out
    b = read_recording(rec / "B.csv")
    assert 25.0 < b.time[-1] <= 30.0  # what B sent before it failed is recorded
    assert read_recording(rec / "A.csv").time[-1] > 55.0  # A went on to the end
    summary = json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]
    assert summary["participants"]["B"]["final_status"] == "failed"


def test_full_disk_while_recording_exits_1_and_says_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The disk fills up during --record (the kernel's ENOSPC from the raw file's writes, after 10 s of
    session): the alarm is not followed by a plain "recorded to DIR" and exit 0 any more: one error line,
    exit 1 (a fault of the machine, not bad input), and what was written before stays readable. The time it
    names is the last the recorder wrote before the failing write, which on a busy machine can be a few
    seconds before 10 s (one write then holds more of the session: CI once said 0:08)."""
    import errno

    import breathsync.recorder as recorder
    from breathsync.io.csvfile import RecordingWriter

    class FillingDisk(RecordingWriter):
        def append(self, time_chunk, chunk):  # type: ignore[no-untyped-def]
            if self.path.endswith("B.csv") and len(time_chunk) and float(time_chunk[-1]) > 10.0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            super().append(time_chunk, chunk)

    monkeypatch.setattr(recorder, "_default_writer", FillingDisk)
    rec = tmp_path / "rec"
    argv = ["run", "-p", "A=sim:steady,seed=1", "-p", "B=sim:follow,seed=2", "--quiet", "--record", str(rec)]
    code = main([*argv, "--duration", "30", "--speed", "50"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert re.match(
        r"breathsync: error: recording stopped at 0:(0[5-9]|10) of the session: No space left on device "
        rf"\(writing {re.escape(str(rec / 'B.csv'))}\); what was recorded until then stays readable in "
        rf"{re.escape(str(rec))}$",
        err,
    ), err
    assert "alarm:" not in err  # the same news once
    assert re.search(
        rf"recorded to {re.escape(str(rec))} until 0:(0[5-9]|10) of the session \(then the recording stopped\)",
        out,
    )
    assert f"recorded to {rec}\n" not in out
    b = read_recording(rec / "B.csv")
    assert 5.0 < b.time[-1] <= 10.0
    info = json.loads((rec / "session.json").read_text(encoding="utf-8"))
    assert info["recording_error"].startswith("recording stopped: No space left on device")


def test_the_summary_counts_seconds_in_sync_like_the_clocks() -> None:
    # The dashboard's "in sync 1:29 so far" and the summary's "in sync 90 s" disagreed: the clocks
    # truncate like a stopwatch and the summary rounded.
    summary = {
        "participants": {},
        "pairs": [{"a": "A", "b": "B", "time_in_sync_s": 89.7, "mean_plv": 0.9, "leader": None}],
        "training": {"phase": "free"},
    }
    assert clock_text(89.7) == "1:29"
    # (Who breathed first in analyze's words: tests/test_audit_live_end.py.)
    no_leader = "no leader (not locked within a quarter cycle for one window)"
    assert summary_lines(summary) == [f"A-B: in sync 89 s, mean PLV 0.90; {no_leader}"]
    summary["pairs"][0].update(leader="B", lead_s=0.31)
    assert summary_lines(summary) == [
        "A-B: in sync 89 s, mean PLV 0.90; when locked, B breathed first by 0.31 s"
    ]
    summary["pairs"][0].update(leader=None, lead_s=0.0)
    assert summary_lines(summary) == ["A-B: in sync 89 s, mean PLV 0.90; when locked, in phase"]
    assert clock_text(float("nan")) == "-:--"


def _record_sample_pair(rec: Path, *options: str) -> Path:
    """Record 120 s of the pair_sync sample replayed as A and B (at 100x) into ``rec``."""
    samples = REPO / "sample_signals"
    r = run_main(
        "run", "-p", f"A=replay:{samples / 'pair_sync_A.csv'}", "-p", f"B=replay:{samples / 'pair_sync_B.csv'}",
        *options, "--duration", "120", "--speed", "100", "--quiet", "--record", str(rec), timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return rec


def _phase_vs_session(participant: dict, live_csv: Path) -> tuple[int, float]:
    """(samples compared, largest difference in degrees) between analyze's live phase of a participant
    and the phase its session showed (the recorded ``<label>_live.csv``), at the times both have."""
    rows = [ln for ln in live_csv.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    live = np.genfromtxt(rows[1:], delimiter=",")
    shown = dict(zip(np.round(live[:, 0], 3), live[:, 2], strict=True))  # time -> phase_rad (20 Hz)
    t = np.round(np.array(participant["phase_live"]["t_s"], float), 3)
    both = np.array(
        [(a, shown[k]) for k, a in zip(t, participant["phase_live"]["rad"], strict=True)
         if a is not None and k in shown and np.isfinite(shown[k])]
    )  # fmt: skip
    if not len(both):
        return 0, float("nan")
    return len(both), float(np.degrees(np.abs(np.angle(np.exp(1j * (both[:, 0] - both[:, 1]))))).max())


def _acc_recording(path: Path) -> Path:
    from conftest import breathing

    from breathsync.io.csvfile import write_recording

    t, y, _ = breathing(duration_s=120, fs_hz=50, rate_bpm=12, noise=0.0, seed=7)
    rng = np.random.default_rng(7)
    axis = np.array([0.3, 0.9, 0.3]) / np.linalg.norm([0.3, 0.9, 0.3])
    acc = np.array([0.0, 0.0, 1000.0]) + 20.0 * y[:, None] * axis + 2.0 * rng.standard_normal((t.size, 3))
    write_recording(path, t, {c: acc[:, k] for k, c in enumerate(("acc_x", "acc_y", "acc_z"))})
    return path


def _late_belt(path: Path) -> Path:
    """A belt recording whose times start at 1000.5 s (not a multiple of the session's grid step)."""
    from breathsync.io.csvfile import write_recording

    rec = read_recording(str(REPO / "sample_signals" / "pair_sync_A.csv"))
    write_recording(path, rec.time + 1000.5, {"resp": rec.columns["resp"]})
    return path


@pytest.mark.parametrize("signal", ["rr", "acc", "resp"])
def test_analyze_live_phase_is_what_the_session_showed(signal: str, tmp_path: Path) -> None:
    # analyze's live path must be the session's: for a derived signal that includes deriving the waveform
    # causally. It fed the live pipeline the zero-phase derivation, so for the Polar H10 RR sample its
    # "live" phase was a median 40 degrees away from (ahead of) what the session showed.
    # A file that does not start at 0 was replayed at times floating point left a hair below the grid
    # edges the recorder's microseconds put them on: up to 12 deg apart.
    src = {
        "rr": lambda: REPO / "sample_signals" / "polar_h10_rr.csv",
        "acc": lambda: _acc_recording(tmp_path / "h10.csv"),
        "resp": lambda: _late_belt(tmp_path / "late.csv"),
    }[signal]()
    rec = tmp_path / "rec"
    r = run_main(
        "run", "-p", f"C=replay:{src}", "--duration", "110", "--speed", "100", "--quiet", "--record", str(rec),
        timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert main(["analyze", str(rec / "C.csv"), "--json", str(tmp_path / "r.json")]) == 0
    p = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["participants"][0]
    assert p["signal"] == signal
    n, worst = _phase_vs_session(p, rec / "C_live.csv")
    assert n > 500 and worst < 1.0


def test_the_summary_rate_is_the_whole_session(tmp_path: Path) -> None:
    # It averaged the 3-minute history ring: a partner slowing from 14 to 8/min read 8.4/min for a
    # session whose live rate averaged 10.3.
    rec = tmp_path / "rec"
    r = run_main(
        "run", "-p", "A=sim:lead,rate=14,after=30,ramp=90,to=8,seed=1", "-p", "B=sim:steady,seed=2",
        "--duration", "300", "--speed", "100", "--quiet", "--record", str(rec), timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]
    rows = [
        ln for ln in (rec / "A_live.csv").read_text(encoding="utf-8").splitlines() if not ln.startswith("#")
    ]
    live = np.genfromtxt(rows[1:], delimiter=",", names=rows[0].split(","))
    whole = float(np.nanmean(live["rate_bpm"]))
    assert 9.0 < whole < 12.0
    assert summary["participants"]["A"]["mean_rate_bpm"] == pytest.approx(whole, abs=0.1)


def test_analyze_reads_a_recorded_invert(tmp_path: Path) -> None:
    # A session run with --invert A showed A flipped; analyze of its folder ignored that and put A's phase
    # half a cycle away from what the session showed.
    rec = _record_sample_pair(tmp_path / "rec", "--invert", "A")
    assert main(["analyze", str(rec), "--json", str(tmp_path / "r.json")]) == 0
    res = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    n, worst = _phase_vs_session(res["participants"][0], rec / "A_live.csv")
    assert n > 300 and worst < 1.0
    assert res["pairs"][0]["summary"]["time_in_sync_frac"] < 0.05  # A inverted is half a cycle from B


def test_a_recorded_session_is_analysed_with_its_own_window(tmp_path: Path) -> None:
    # analyze, report and --batch scored a session run with --window 15 over 30-s windows.
    rec = _record_sample_pair(tmp_path / "rec", "--window", "15")
    out = tmp_path / "r.json"
    assert main(["analyze", str(rec), "--json", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["window_s"] == 15.0
    assert main(["analyze", str(rec), "--window", "40", "--json", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["window_s"] == 40.0
    assert main(["report", str(rec), "--out", str(tmp_path / "r.html")]) == 0
    assert "window 15 s" in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert main(["analyze", "--batch", str(tmp_path / "b.csv"), str(rec)]) == 0
    rows = (tmp_path / "b.csv").read_text(encoding="utf-8").splitlines()
    row = dict(zip(rows[0].split(","), rows[1].split(","), strict=True))
    assert float(row["window_s"]) == 15.0 and 110.0 < float(row["overlap_s"]) < 125.0


def test_an_over_long_label_is_refused_before_anything_starts(tmp_path: Path) -> None:
    """A 300-character label ran the session, then failed at recording ('File name too long', exit 1, a
    partial folder). Now one line, exit 2, and no folder; a label of the limit records and exports."""
    from breathsync.live import MAX_LABEL

    rec = tmp_path / "rec"
    long = "A" * 300
    r = run_breathsync(
        "run",
        "-p",
        f"{long}=sim:steady",
        "-p",
        "B=sim:steady",
        "--duration",
        "2",
        "--quiet",
        "--record",
        rec,
        timeout=60,
    )
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()
    assert f"a label is at most {MAX_LABEL} characters (this one has 300)" in line and long not in line
    assert not rec.exists()
    ok = "Ab" * (MAX_LABEL // 2)
    assert len(ok) == MAX_LABEL
    r = run_breathsync(
        "run",
        "-p",
        f"{ok}=sim:steady",
        "-p",
        "B=sim:steady",
        "--duration",
        "3",
        "--speed",
        "10",
        "--quiet",
        "--record",
        rec,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert (rec / f"{ok}_live.csv").is_file()
    assert main(["export", str(rec), "--bids", str(tmp_path / "bids")]) == 0
    assert all(len(p.name.encode()) < 200 for p in (tmp_path / "bids").rglob("*"))


@posix_only("POSIX file modes")
def test_simulate_makes_its_folder_owner_only(tmp_path: Path) -> None:
    """Like recordings and BIDS roots (0700): the folder was made 0755 (with the usual umask 022). An existing
    folder keeps its mode."""
    old = os.umask(0o022)
    try:
        out = tmp_path / "new" / "pair"
        assert main(["simulate", "--out", str(out), "--duration", "10"]) == 0
        assert out.stat().st_mode & 0o777 == 0o700
        assert all(f.stat().st_mode & 0o777 == 0o600 for f in out.iterdir())
        there = tmp_path / "there"
        there.mkdir(mode=0o755)
        assert main(["simulate", "--out", str(there), "--duration", "10"]) == 0
        assert there.stat().st_mode & 0o777 == 0o755 and (there / "A.csv").is_file()
    finally:
        os.umask(old)


@pytest.mark.parametrize("label", ["é", "呼吸", "ü_é"])
def test_a_label_a_bids_export_could_not_name_is_refused_before_the_session(
    label: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """'é' was recorded, and export then refused the folder ("has no ASCII letter or digit ... rename the
    participant in session.json")."""
    from breathsync.export_bids import bids_label
    from breathsync.live import parse_participant

    assert main(["run", "-p", f"{label}=sim:steady", "-p", "B=sim:follow", "--quiet", "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "needs at least one ASCII letter or digit" in err, err
    assert bids_label(parse_participant(f"{label}1=sim:steady").label) == "1"  # with one, it exports
