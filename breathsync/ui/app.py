"""Opening the dashboard from the command line (``breathsync run`` / ``demo``)."""

from __future__ import annotations

import contextlib
import functools
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from breathsync.live import CONSOLE_CLOSED, ParticipantArg, ended_on_console_close, stop_signals, stop_words
from breathsync.session import Session, SessionConfig
from breathsync.session_types import Snapshot

__all__ = ["DashboardResult", "run_dashboard"]


@dataclass
class DashboardResult:
    """What the command line reports after the window closed."""

    final: Snapshot | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    fault: BaseException | None = None  # the session ended on a bug: raised by the command line
    recorded_to: list[str] = field(default_factory=list)
    recording_error: str | None = None  # the recording stopped on a write error (e.g. a full disk): why
    recording_error_t_s: float = math.nan  # ... at about this session time
    recording_error_folder: str | None = None  # ... in this folder (None: it could not even start)
    screenshot: str | None = None
    screenshot_error: str = ""  # why the picture could not be saved


#: Messages Qt prints that say nothing to the user: the offscreen platform (``--screenshot`` without a
#: display) cannot pass size hints to a window manager it does not have, and says so on every window.
HARMLESS_QT_MESSAGES = frozenset({"This plugin does not support propagateSizeHints()"})


@contextlib.contextmanager
def _without_harmless_qt_messages() -> Iterator[None]:
    """A Qt message handler, while the dashboard runs, that drops :data:`HARMLESS_QT_MESSAGES` and hands
    every other message on (to the handler before it, e.g. pytest-qt's, or to stderr as Qt would)."""
    from PyQt6.QtCore import QtMsgType, qInstallMessageHandler

    previous: Any = None

    def handler(mode: QtMsgType, context: Any, message: str | None) -> None:
        if message in HARMLESS_QT_MESSAGES:
            return
        if previous is not None:
            previous(mode, context, message)
            return
        category = getattr(context, "category", None)
        prefix = f"{category}: " if category and category != "default" else ""
        sys.stderr.write(f"{prefix}{message}\n")

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)


#: How often (ms) Python gets to run its signal handlers while Qt's event loop waits in C.
SIGNAL_POLL_MS = 100


@contextlib.contextmanager
def _stop_on_signals(request_stop: Callable[[str], None]) -> Iterator[None]:
    """While the dashboard runs: Ctrl-C, SIGTERM, SIGHUP and Windows' SIGBREAK (the signals the terminal view
    handles, see :func:`breathsync.live.stop_signals`) call ``request_stop`` with their words (:func:`~breathsync.live.stop_words`) in the UI thread, through the event loop
    (not inside the handler: a handler runs between any two Python lines), instead of a KeyboardInterrupt
    traceback or the process dying with the recording left open. Python runs its handlers only when the
    interpreter runs, so a timer wakes it while Qt's event loop waits in C. Only in the main thread (the only
    one where handlers can be installed); the previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from PyQt6.QtCore import QTimer

    def handler(signum: int, frame: Any) -> None:
        why = stop_words(signum)
        QTimer.singleShot(0, lambda: request_stop(why))

    previous: dict[signal.Signals, Any] = {}
    for sig in stop_signals():
        with contextlib.suppress(OSError, ValueError):
            previous[sig] = signal.signal(sig, handler)
    tick = QTimer()
    tick.setInterval(SIGNAL_POLL_MS)
    tick.timeout.connect(lambda: None)
    tick.start()
    try:
        yield
    finally:
        tick.stop()
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


@functools.cache
def _cross_thread_class() -> Any:
    """A QObject class (made on first use: Qt is imported lazily here) whose ``call`` signal may be emitted
    from any thread; its slots then run in the UI thread (a queued connection)."""
    from PyQt6.QtCore import QObject, pyqtSignal

    class CrossThread(QObject):
        call = pyqtSignal()

    return CrossThread


def _unattended(screenshot: str | None) -> bool:
    """Whether nobody can see the window, so that it closes by itself when the session ends: a screenshot
    run, or Qt's offscreen platform (no screen: a window left open would wait forever to be closed)."""
    if screenshot is not None:
        return True
    from PyQt6.QtGui import QGuiApplication

    return QGuiApplication.platformName() == "offscreen"


def _application() -> Any:
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setOrganizationName("breathsync")
        app.setApplicationName("breathsync")
    return app


def run_dashboard(
    participants: Sequence[ParticipantArg],
    *,
    config: SessionConfig,
    speed: float = 1.0,
    invert: Sequence[str] = (),
    duration_s: float | None = None,
    session: Session | None = None,
    record_path: str | None = None,
    screenshot: str | None = None,
    settings: Any = None,
    prepare: Callable[[Session], None] | None = None,
) -> DashboardResult:
    """Open the dashboard with these participants and start the session at once (``session``: this one,
    already built from them; ``record_path``: record it into exactly this new folder).

    Without ``screenshot`` the window stays open after the session (to read and save the summary) until it
    is closed, except on Qt's offscreen platform (nobody could close it). With ``screenshot`` the picture is
    saved after the run and the window closes; with no display Qt's offscreen platform is used, so this also
    works on a server. ``prepare``: called with each further session the window builds (Start again), as
    the command line prepared ``session`` (its ``--publish`` sink). Ctrl-C, SIGTERM, SIGHUP and Windows' Ctrl-Break end the session as its end would (recording closed with its
    summary, the result as usual) and close the window, as in the terminal view.
    """
    if screenshot is not None and not os.environ.get("QT_QPA_PLATFORM"):
        from breathsync.ui import display_available

        if not display_available():
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
    with _without_harmless_qt_messages():
        return _run(
            participants,
            config=config,
            speed=speed,
            invert=invert,
            duration_s=duration_s,
            session=session,
            record_path=record_path,
            screenshot=screenshot,
            settings=settings,
            prepare=prepare,
        )


def _run(
    participants: Sequence[ParticipantArg],
    *,
    config: SessionConfig,
    speed: float,
    invert: Sequence[str],
    duration_s: float | None,
    session: Session | None,
    record_path: str | None,
    screenshot: str | None,
    settings: Any,
    prepare: Callable[[Session], None] | None,
) -> DashboardResult:
    app = _application()
    app.setQuitOnLastWindowClosed(False)
    from PyQt6.QtCore import QEventLoop

    from breathsync.ui.window import DashboardWindow

    win = DashboardWindow(
        settings,
        participants=participants,
        speed=speed,
        duration_s=duration_s,
        config=config,
        invert=invert,
        prepare=prepare,
    )
    if screenshot is not None:
        win.resize(1400, 860)  # the same picture whatever size the window was left at
    result = DashboardResult()

    current: list[str] = []  # the folder being recorded into

    def on_recording(state: str, text: str) -> None:
        if state == "started":
            result.recorded_to.append(text)
            current[:] = [text]
            return
        if state == "error" and result.recording_error is None:
            result.recording_error = text
            result.recording_error_t_s = win.latest.t_s if win.latest is not None else math.nan
            result.recording_error_folder = current[0] if current else None
        current.clear()

    # A local event loop that ends when the window closes (not app.exec()/quit(): the application may be
    # someone else's, e.g. a test's, and must stay usable afterwards).
    loop = QEventLoop()
    win.closed.connect(loop.quit)
    unattended = _unattended(screenshot)
    interrupted: list[bool] = []

    def on_stop_signal(why: str = CONSOLE_CLOSED) -> None:  # Ctrl-C, SIGTERM, SIGHUP, SIGBREAK (UI thread)
        interrupted.append(True)
        if win.running and len(interrupted) == 1:
            win.stop_session(why)  # ends as at its end: on_finished closes the window
        else:  # the session is over (the window waits to be closed), or asked twice
            win.close()

    def on_failed(text: str) -> None:
        result.error = text
        result.fault = win.runner.fault
        if unattended or interrupted:
            win.close()

    def on_finished() -> None:
        result.final = win.latest
        result.summary = win.summary
        if screenshot is not None:
            if win.save_screenshot(screenshot):
                result.screenshot = screenshot
            else:
                result.screenshot_error = win.screenshot_error
        if unattended or interrupted:
            win.close()

    win.runner.recording.connect(on_recording)
    win.runner.failed.connect(on_failed)
    win.session_finished.connect(on_finished)
    # Closing the console window (Windows) asks from a thread of its own: a queued signal brings it here.
    from_console = _cross_thread_class()()
    from_console.call.connect(on_stop_signal)
    with ended_on_console_close(from_console.call.emit) as ended, _stop_on_signals(on_stop_signal):
        win.show()
        win.start_session(session, record_path)
        if win.isVisible():
            loop.exec()
        if win.running:  # closed from outside while the session still ran
            win.runner.stop()
            win.runner.wait(10.0)
        ended.set()
    return result
