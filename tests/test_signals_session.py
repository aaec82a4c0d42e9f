"""Ending a live session from outside: Ctrl-C (SIGINT), ``kill`` (SIGTERM) and a closed terminal (SIGHUP)
end it as its end would, in the terminal view and in the dashboard: recording closed with its summary,
summary printed, no traceback, exit code 0 (README: Ctrl-C ends any live command cleanly). Also: a live
source at --speed other than 1 is refused before anything starts, and the dashboard on Qt's offscreen
platform returns after the session.

The signal tests start ``breathsync demo`` in a subprocess, wait (polling) until the recording's
session.json exists, send the signal and wait for the process to end.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import posix_only, run_breathsync

from breathsync.cli import main
from breathsync.errors import InputError
from breathsync.live import ParticipantArg, build_session, stop_signals
from breathsync.sources.base import real_time_error

#: Windows has no SIGHUP, and its Popen.send_signal refuses SIGINT and makes SIGTERM a TerminateProcess.
SIGNALS = [
    pytest.param("SIGINT", marks=posix_only("SIGINT sent to a process")),
    pytest.param("SIGTERM", marks=posix_only("SIGTERM sent to a process")),
    pytest.param("SIGHUP", marks=posix_only("SIGHUP")),
]
#: Session length asked for: 30 s of wall time at speed 10, so that a session that ended by itself would
#: take far longer than the time the tests allow after the signal. The demo's whole recording (it was 600 s
#: at speed 20: a demo longer than its recording is refused now).
DURATION_S = 300.0
#: What the session_end event says of each signal (breathsync.live.stop_words).
STOP_WORDS = {
    "SIGINT": "stopped with Ctrl-C",
    "SIGTERM": "stopped by SIGTERM",
    "SIGHUP": "its terminal closed",
}
SPEED = 10.0


def _start_demo(record: Path, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    args = ["demo", "--record", str(record), "--speed", f"{SPEED:g}", "--duration", f"{DURATION_S:g}"]
    return subprocess.Popen(
        [sys.executable, "-m", "breathsync", *args, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Signals at their default, whatever the test runner ignores (so that the old code's death shows).
        preexec_fn=None
        if sys.platform == "win32"
        else lambda: [signal.signal(s, signal.SIG_DFL) for s in stop_signals()],
    )


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"ended before recording (rc {proc.returncode}): {out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.communicate()
            pytest.fail(f"{path} did not appear within {timeout_s} s")
        time.sleep(0.05)


def _interrupt(tmp_path: Path, sig_name: str, *extra: str) -> None:
    record = tmp_path / "rec"
    proc = _start_demo(record, *extra)
    try:
        _wait_for(record / "session.json", proc, 20.0)
        time.sleep(0.3)  # a few samples in the recording (not needed for the check, only to be realistic)
        proc.send_signal(getattr(signal, sig_name))
        out, err = proc.communicate(timeout=12)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"still running 12 s after {sig_name}: {out[-500:]}\n{err[-1500:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, (proc.returncode, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.count("\n") <= 1, err
    assert "session summary:" in out and f"recorded to {record}" in out, out
    doc = json.loads((record / "session.json").read_text(encoding="utf-8"))
    assert doc.get("end_utc") and doc.get("summary"), doc
    assert 0.0 < float(doc["duration_s"]) < DURATION_S  # stopped by the signal, not by its end
    assert (record / "you.csv").stat().st_size > 0
    # The events say why and when it ended (there was no session_end event but for a bug's end).
    with (record / "events.csv").open(encoding="utf-8", newline="") as fh:
        ends = [e for e in csv.DictReader(fh) if e["kind"] == "session_end"]
    assert [e["text"] for e in ends] == [f"the session ends: {STOP_WORDS[sig_name]}"], ends
    assert abs(float(ends[0]["time"]) - float(doc["duration_s"])) < 0.5, (ends, doc["duration_s"])


@pytest.mark.parametrize("sig_name", SIGNALS)
def test_terminal_view_ends_cleanly_on_signal(tmp_path: Path, sig_name: str) -> None:
    """SIGHUP (the terminal closed) killed the headless session without closing the recording."""
    _interrupt(tmp_path, sig_name, "--headless")


@pytest.mark.parametrize("sig_name", SIGNALS)
def test_dashboard_ends_cleanly_on_signal(tmp_path: Path, sig_name: str) -> None:
    """Ctrl-C in the dashboard printed a KeyboardInterrupt traceback and the session went on; SIGTERM and
    SIGHUP killed it with the recording left open (no end_utc, no summary)."""
    _interrupt(tmp_path, sig_name)


def test_offscreen_dashboard_returns_after_the_session(tmp_path: Path) -> None:
    """With QT_QPA_PLATFORM=offscreen the invisible window waited forever to be closed."""
    args = ["demo", "--speed", "20", "--duration", "20", "--record", str(tmp_path / "rec")]
    r = run_breathsync(*args, timeout=30, extra_env={"QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    assert "session summary:" in r.stdout
    doc = json.loads((tmp_path / "rec" / "session.json").read_text(encoding="utf-8"))
    assert doc.get("end_utc") and doc.get("summary")


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("lsl:nothere", "lsl:nothere: a live stream runs in real time; leave --speed at 1"),
        (
            "ble:AA:BB:CC:DD:EE:FF",
            "ble:AA:BB:CC:DD:EE:FF: a live device runs in real time; leave --speed at 1",
        ),
    ],
)
def test_live_source_at_speed_is_refused_before_the_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, said: str
) -> None:
    """The check was only in the source's start: the whole session ran (and was recorded) at --speed 10,
    and only then exited 2."""
    record = tmp_path / "rec"
    argv = ["run", "-p", f"A={spec}", "-p", "B=sim:steady", "--speed", "10", "--duration", "30"]
    code = main([*argv, "--record", str(record), "--headless"])
    out, err = capsys.readouterr()
    assert code == 2
    assert err == f"breathsync: error: participant A: {said}\n"
    assert out == ""  # no session ran: it would have printed its summary
    assert not record.exists()  # nor recorded anything
    with pytest.raises(InputError, match="leave --speed at 1"):
        build_session([ParticipantArg("A", spec), ParticipantArg("B", "sim:steady")], speed=2.0)
    build_session([ParticipantArg("A", spec), ParticipantArg("B", "sim:steady")], speed=1.0)  # accepted


def test_the_real_time_rule_is_the_sources_rule() -> None:
    """One rule: the sources' own start check says exactly what build_session says."""
    from breathsync.sources.ble import parse_ble_spec
    from breathsync.sources.lsl import parse_lsl_spec

    assert real_time_error("lsl:x", "a live stream", 1.0) is None
    assert parse_lsl_spec("x").speed_error(1.0) is None
    assert parse_lsl_spec("x").speed_error(10.0) == real_time_error("lsl:x", "a live stream", 10.0)
    assert parse_ble_spec("Polar").speed_error(0.5) == real_time_error("ble:Polar", "a live device", 0.5)


def test_stop_signals_include_sighup_where_it_exists() -> None:
    sigs = stop_signals()
    assert signal.SIGINT in sigs and signal.SIGTERM in sigs
    if hasattr(signal, "SIGHUP"):
        assert signal.SIGHUP in sigs


@posix_only("os.kill(pid, SIGINT) (there it terminates the process)")
@pytest.mark.parametrize("view", ["headless", "dashboard"])
def test_a_second_ctrl_c_while_the_end_is_reported_changes_nothing(
    view: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second Ctrl-C pressed while the first one's clean end is being reported (the summary printing) used
    to interrupt the report: exit 130 after a complete recording, part of the summary missing. The Ctrl-C here
    arrives, deterministically, while the summary's lines are being made."""
    import breathsync.live as live

    made = live.summary_lines

    def interrupted_summary(summary: dict[str, object]) -> list[str]:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # a handler runs between two Python lines: time for it to run, or not
        return made(summary)

    monkeypatch.setattr(live, "summary_lines", interrupted_summary)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    argv = [
        "run",
        "-p",
        "A=sim:steady,seed=1",
        "-p",
        "B=sim:follow,seed=2",
        "--duration",
        "4",
        "--speed",
        "20",
    ]
    argv += ["--record", str(tmp_path / "rec")]
    argv += ["--quiet"] if view == "headless" else ["--screenshot", str(tmp_path / "end.png")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "session summary:" in out and f"recorded to {tmp_path / 'rec'}" in out
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # as it was before the command


@posix_only("os.kill(pid, SIGINT) (there it terminates the process)")
def test_a_ctrl_c_while_the_process_exits_after_a_live_command_changes_nothing(tmp_path: Path) -> None:
    """The same for the process itself: a Ctrl-C arriving after ``breathsync run`` has reported its end, while
    Python shuts down, killed it with exit 130 (Python gives back the default action to the signals that had a
    Python handler). As the command, ``main()`` leaves the stop signals ignored on its way out."""
    script = f"""
import os, signal, sys, time
import breathsync.live as live
from breathsync.cli import main
made = live.summary_lines
def interrupted_summary(summary):
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)
    return made(summary)
live.summary_lines = interrupted_summary
sys.argv = ["breathsync", "run", "-p", "A=sim:steady", "--duration", "3", "--speed", "20", "--quiet",
            "--record", {str(tmp_path / "rec")!r}]
code = main()
os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C after the command, as the process exits
time.sleep(0.05)
sys.exit(code)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "session summary:" in r.stdout and "Traceback" not in r.stderr
