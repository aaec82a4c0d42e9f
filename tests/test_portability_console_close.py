"""Windows: closing the console window (CTRL_CLOSE_EVENT) ended the process as soon as the C runtime's
handler returned, before Python's SIGBREAK handler could stop the session: the recording was left without
its summary and its last second. A console control handler of breathsync's own now comes first: it asks
the session to stop and returns only once the recording is closed (at most CONSOLE_END_WAIT_S, Windows
ending the process about 5 s after the close). Simulated here: kernel32 is replaced by a fake that keeps
the handler, and the console event is sent from a thread of its own, as Windows does. No real Windows call.
"""

from __future__ import annotations

import json
import os

# Qt offscreen, set before any QApplication exists (as in test_dashboard.py).
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from breathsync import live
from breathsync.cli import main

CTRL_C_EVENT, CTRL_CLOSE_EVENT = 0, 2
#: Session seconds asked for (30 s of wall time at speed 20): a backstop, so that a handler that no longer
#: stops the session fails the test instead of running for ever; the console's close comes seconds in.
BACKSTOP_S = 600.0


def _ended_early(record: Path) -> bool:
    """Whether the recorded session ended well before the backstop (by the console's close)."""
    info = json.loads((record / "session.json").read_text(encoding="utf-8"))
    return bool(info["duration_s"] < BACKSTOP_S / 2)


class FakeConsole:
    """Stands in for kernel32's SetConsoleCtrlHandler: keeps the routine; ``close`` sends CTRL_CLOSE_EVENT
    from a new thread, as Windows does, and notes what the recording held when the routine returned."""

    def __init__(self, record: Path) -> None:
        self.record = record
        self.routine: Callable[[int], bool] | None = None
        self.removed = False
        self.returned: list[bool] = []
        self.summary_when_returned: list[Any] = []
        self.thread: threading.Thread | None = None

    def install(self, routine: Callable[[int], bool]) -> Callable[[], None]:
        self.routine = routine

        def remove() -> None:
            self.removed = True

        # The console window is closed a little after the session starts.
        self.thread = threading.Thread(target=self._close_soon, daemon=True)
        self.thread.start()
        return remove

    def _close_soon(self) -> None:
        assert self.routine is not None
        deadline = time.monotonic() + 30.0
        while not (self.record / "session.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert self.routine(CTRL_C_EVENT) is False  # Ctrl-C goes on to Python's own handler
        self.returned.append(self.routine(CTRL_CLOSE_EVENT))
        summary = json.loads((self.record / "session.json").read_text(encoding="utf-8")).get("summary")
        self.summary_when_returned.append(summary)


def _windows_console(monkeypatch: pytest.MonkeyPatch, record: Path) -> FakeConsole:
    console = FakeConsole(record)
    monkeypatch.setattr(live, "_WINDOWS", True)
    monkeypatch.setattr(live, "_install_console_handler", console.install)
    return console


def test_closing_the_console_ends_a_terminal_session_with_its_recording_closed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "rec"
    console = _windows_console(monkeypatch, rec)
    argv = ["run", "-p", "A=sim:steady,seed=1", "-p", "B=sim:follow,seed=2", "--speed", "20", "--quiet",
            "--duration", str(BACKSTOP_S), "--record", str(rec)]  # fmt: skip
    assert main(argv) == 0
    assert console.thread is not None
    console.thread.join(10.0)
    assert console.returned == [True]  # handled: Windows' default handler is not called
    # When the routine returned (and Windows would end the process), the summary was written.
    summary = console.summary_when_returned[0]
    assert summary is not None and summary["pairs"][0]["a"] == "A"
    assert _ended_early(rec) and console.removed


def test_closing_the_console_ends_a_dashboard_session_with_its_recording_closed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from breathsync.session import SessionConfig
    from breathsync.ui.app import run_dashboard

    rec = tmp_path / "rec"
    console = _windows_console(monkeypatch, rec)
    parts = [live.ParticipantArg("A", "sim:steady,seed=1"), live.ParticipantArg("B", "sim:follow,seed=2")]
    result = run_dashboard(
        parts, config=SessionConfig(), speed=20.0, duration_s=BACKSTOP_S, record_path=str(rec)
    )
    assert console.thread is not None
    console.thread.join(10.0)
    assert console.returned == [True]
    summary = console.summary_when_returned[0]
    assert summary is not None and summary["pairs"][0]["a"] == "A"
    assert result.recorded_to and _ended_early(rec) and console.removed


def test_elsewhere_no_console_handler_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(routine: Any) -> None:
        raise AssertionError("a console handler installed outside Windows")

    monkeypatch.setattr(live, "_install_console_handler", never)
    with live.ended_on_console_close(lambda: None) as ended:
        assert not ended.is_set()
    assert ended.is_set()


def test_the_handler_is_given_to_kernel32_and_taken_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ctypes side, with kernel32 faked: SetConsoleCtrlHandler(callback, TRUE), then the same callback
    with FALSE (a C callback is called here as Windows would call it, with a DWORD)."""
    import ctypes

    calls: list[tuple[Any, bool]] = []

    class SetConsoleCtrlHandler:
        argtypes: Any = None
        restype: Any = None

        def __call__(self, callback: Any, add: bool) -> int:
            calls.append((callback, bool(add)))
            return 1

    made: list[Any] = []

    class Kernel32:
        def __init__(self, name: str, use_last_error: bool = False) -> None:
            assert name == "kernel32"
            self.SetConsoleCtrlHandler = SetConsoleCtrlHandler()
            made.append(self)

    monkeypatch.setattr(ctypes, "WinDLL", Kernel32, raising=False)
    monkeypatch.setattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE, raising=False)
    seen: list[int] = []
    remove = live._install_console_handler(lambda event: seen.append(event) or event == 2)
    assert remove is not None and len(calls) == 1 and calls[0][1] is True
    callback = calls[0][0]
    from ctypes import wintypes

    declared = made[0].SetConsoleCtrlHandler
    assert declared.restype is wintypes.BOOL and declared.argtypes[1] is wintypes.BOOL
    assert isinstance(callback, declared.argtypes[0])  # BOOL WINAPI HandlerRoutine(DWORD)
    assert callback(2) == 1 and callback(0) == 0 and seen == [2, 0]
    remove()
    assert len(calls) == 2 and calls[1] == (callback, False)
