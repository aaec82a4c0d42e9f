"""Live sessions where Windows and macOS differ from Linux, simulated on Linux (sys.platform, os.environ and
signal attributes monkeypatched; no real Windows call).

Stop signals: Windows has no SIGHUP and never sends SIGTERM; Ctrl-Break arrives as SIGBREAK, which ended
the process with the recording left open. SIGBREAK is now one of the stop signals, in the terminal view
and in the dashboard, and since Windows' asyncio loops have no ``add_signal_handler``, the terminal view
installs a plain handler there. Here SIGBREAK is faked by SIGWINCH, whose default action is to do nothing:
a handler that was not installed leaves the session running to its end instead of killing the tests.

Labels: Windows device names (CON, nul, ...) named recordings that Windows cannot hold; refused everywhere.

Host clock: session time read time.monotonic, which advances in 15.6 ms steps on Windows before Python
3.13; it reads time.perf_counter now.

Display: over SSH, macOS (and Windows) have a desktop the process cannot show a window on; run and demo
now take the terminal view there, as on Linux without a DISPLAY.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import posix_only

import devices
from breathsync.cli import main
from breathsync.live import ParticipantArg, build_session, parse_participant, run_session, stop_signals
from breathsync.session_types import SessionInfo, Snapshot
from breathsync.sources import base
from breathsync.sources.base import SampleChunk, SessionClock
from breathsync.sources.ble import BleSource
from breathsync.ui import display_available

if sys.platform != "win32":  # Windows has no SIGWINCH: the tests that use it are posix_only
    FAKE_SIGBREAK = signal.SIGWINCH
#: Session seconds asked for; the signal comes at the first snapshot, so a session stopped by it is far
#: shorter (at speed 300 the whole of it would take 2 s).
DURATION_S = 600.0


@posix_only("SIGHUP and SIGWINCH")
def test_stop_signals_include_sigbreak_where_it_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(stop_signals()) == {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}  # Linux, macOS
    monkeypatch.setattr(signal, "SIGBREAK", FAKE_SIGBREAK, raising=False)
    monkeypatch.delattr(signal, "SIGHUP")
    assert set(stop_signals()) == {signal.SIGINT, signal.SIGTERM, FAKE_SIGBREAK}  # Windows


class _RaiseOnFirstSnapshot:
    """A sink that raises a signal in the session's own process at its first snapshot."""

    def __init__(self, sig: signal.Signals) -> None:
        self.sig = sig
        self.raised = False

    def open(self, info: SessionInfo) -> None: ...

    def on_chunk(self, label: str, chunk: SampleChunk) -> None: ...

    def on_snapshot(self, snap: Snapshot) -> None:
        if not self.raised:
            self.raised = True
            signal.raise_signal(self.sig)

    def close(self, info: SessionInfo) -> None: ...


def _session_stopped_by(sig: signal.Signals) -> Snapshot:
    parts = [ParticipantArg("A", "sim:steady,seed=1"), ParticipantArg("B", "sim:steady,rate=14,seed=2")]
    session = build_session(parts, speed=300.0)
    sink = _RaiseOnFirstSnapshot(sig)
    final = run_session(session, [sink], DURATION_S)
    assert sink.raised
    return final


@posix_only("SIGWINCH")
@pytest.mark.parametrize("windows_loop", [False, True], ids=["loop-handler", "windows-loop"])
def test_sigbreak_ends_a_terminal_session_cleanly(
    monkeypatch: pytest.MonkeyPatch, windows_loop: bool
) -> None:
    monkeypatch.setattr(signal, "SIGBREAK", FAKE_SIGBREAK, raising=False)
    before = signal.getsignal(FAKE_SIGBREAK)
    if windows_loop:
        # Windows' event loops (proactor and selector) have no signal handlers.
        def no_handlers(self: Any, sig: int, callback: Any, *args: Any) -> None:
            raise NotImplementedError

        monkeypatch.setattr(asyncio.SelectorEventLoop, "add_signal_handler", no_handlers)
    final = _session_stopped_by(FAKE_SIGBREAK)
    assert final.final
    assert final.t_s < DURATION_S / 2  # ended by the signal, not by its duration
    assert signal.getsignal(FAKE_SIGBREAK) == before  # handlers put back after the session


def test_on_a_windows_loop_ctrl_c_also_ends_the_session_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    # The plain handler covers every stop signal the loop could not take, Ctrl-C included, and puts the
    # previous one back (there: asyncio.run's own, which it removes at its end).
    def no_handlers(self: Any, sig: int, callback: Any, *args: Any) -> None:
        raise NotImplementedError

    monkeypatch.setattr(asyncio.SelectorEventLoop, "add_signal_handler", no_handlers)
    before = signal.getsignal(signal.SIGINT)
    final = _session_stopped_by(signal.SIGINT)
    assert final.final and final.t_s < DURATION_S / 2
    assert signal.getsignal(signal.SIGINT) == before


# ------------------------------------------------------------------------------------- labels


@pytest.mark.parametrize("label", ["CON", "nul", "Aux", "prn", "COM1", "lpt9", "_con", "NUL-"])
def test_a_windows_device_name_is_refused_as_a_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str
) -> None:
    # The recording names its files LABEL.csv (without the label's leading and trailing '_' and '-'): on
    # Windows CON.csv cannot be created (or is the console), and a folder recorded elsewhere cannot be copied
    # there. Refused on every OS, before anything starts.
    rec = tmp_path / "rec"
    argv = ["run", "-p", f"{label}=sim:steady", "-p", "B=sim:steady", "--duration", "5", "--quiet"]
    assert main([*argv, "--record", str(rec)]) == 2
    err = capsys.readouterr().err
    (line,) = err.strip().splitlines()
    device = label.strip("_-")
    assert line.startswith(
        f"breathsync: error: --participant '{label}=sim:steady': {device} is a device name"
    )
    assert f"{device}.csv" in line and f"choose another label, e.g. {label}1" in line
    assert not rec.exists()


def test_labels_that_only_contain_a_device_name_are_fine(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    argv = ["run", "-p", "CONNOR=sim:steady,seed=1", "-p", "COM10=sim:steady,seed=2", "-p", "nul1=sim:pacer"]
    assert main([*argv, "--duration", "10", "--speed", "50", "--quiet", "--record", str(rec)]) == 0
    assert {"CONNOR.csv", "COM10.csv", "nul1.csv"} <= {p.name for p in rec.iterdir()}


# ------------------------------------------------------------------------------------- host clock


def test_session_time_reads_the_fine_grained_host_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # time.monotonic advances in 15.6 ms steps on Windows before Python 3.13 (cpython gh-88494): BLE
    # arrival times, read from session time, were quantised to them.
    assert base.HOST_CLOCK is time.perf_counter
    now = [50.0]
    monkeypatch.setattr(base, "HOST_CLOCK", lambda: now[0])
    clock = SessionClock(speed=2.0)
    clock.start()
    now[0] += 0.004
    assert clock.now() == pytest.approx(0.008)


def test_ble_arrival_times_are_session_times() -> None:
    # The one clock: a wearable's samples are timed by their arrival on the session clock, never by a host
    # clock of the source's own (which could be another clock than the session's).
    now = [1000.0]
    clock = SessionClock(time_fn=lambda: now[0])
    clock.start()
    src = BleSource("FakeHR")
    profile = devices.get_profile("heart-rate")
    src._clock, src.profile, src.signal = clock, profile, profile.signal
    src._decoders = {name: spec.decoder() for name, spec in profile.streams.items()}
    now[0] += 12.3456
    src._on_data(profile.signal_stream, bytes([0x10, 60, 0x00, 0x04]))  # HR 60, one RR of 1024/1024 s
    chunk = src._queue.get_nowait()
    assert chunk is not None
    assert chunk.t[-1] == pytest.approx(12.3456)  # the beat that ends at this notification
    assert chunk.columns["rr_ms"][-1] == pytest.approx(1000.0)


# ------------------------------------------------------------------------------------- display

DISPLAY_VARS = ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT")


def _display(monkeypatch: pytest.MonkeyPatch, platform: str, **env: str) -> bool:
    monkeypatch.setattr("sys.platform", platform)
    for name in DISPLAY_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return display_available()


SSH = {"SSH_CONNECTION": "192.0.2.7 50022 192.0.2.1 22"}


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_over_ssh_a_mac_or_windows_has_no_display(monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
    # `breathsync demo` over SSH opened the Cocoa dashboard (on the Mac's own screen, if anywhere) instead of
    # the terminal view.
    assert _display(monkeypatch, platform)  # at the desktop
    assert not _display(monkeypatch, platform, **SSH)
    assert not _display(monkeypatch, platform, SSH_TTY="/dev/ttys003")
    # ssh -X to a Mac with XQuartz sets DISPLAY, but PyQt6 there draws with Cocoa, never on X: no display.
    assert not _display(monkeypatch, platform, DISPLAY="localhost:10.0", **SSH)
    assert _display(monkeypatch, platform, QT_QPA_PLATFORM="offscreen", **SSH)


def test_linux_rules_are_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _display(monkeypatch, "linux")
    assert not _display(monkeypatch, "linux", **SSH)
    assert _display(monkeypatch, "linux", DISPLAY=":0")
    assert _display(monkeypatch, "linux", WAYLAND_DISPLAY="wayland-0")
    assert _display(monkeypatch, "linux", DISPLAY="localhost:10.0", **SSH)  # ssh -X
    assert _display(monkeypatch, "linux", QT_QPA_PLATFORM="offscreen")


def test_demo_over_ssh_on_a_mac_runs_in_the_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import breathsync.ui

    def no_dashboard(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the dashboard was opened over SSH")

    assert not _display(monkeypatch, "darwin", **SSH)
    monkeypatch.setattr(breathsync.ui, "run_dashboard", no_dashboard)
    assert main(["demo", "--duration", "20", "--speed", "100"]) == 0
    assert "session summary:" in capsys.readouterr().out


@pytest.mark.parametrize("label", ["events", "sync-group", "sync-A-B"])
def test_labels_that_name_breathsyncs_own_lsl_streams_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str
) -> None:
    # --publish announces a person as breathsync-<label>: breathsync-events is the Markers stream and
    # breathsync-sync-... the Synchrony streams, with the same source_ids: a consumer could pick the wrong one.
    argv = ["run", "-p", f"{label}=sim:steady", "-p", "B=sim:steady", "-p", "C=sim:steady", "--duration", "5"]
    assert main([*argv, "--quiet"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"breathsync-{label} is the Lab Streaming Layer name of breathsync's own" in line
    assert "choose another label" in line


def test_labels_near_breathsyncs_stream_names_are_fine() -> None:
    for label in ("events1", "Events", "syncA", "sync_group", "async-1"):
        assert parse_participant(f"{label}=sim:steady").label == label
