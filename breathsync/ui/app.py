"""Opening the dashboard from the command line (``breathsync run`` / ``demo``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from breathsync.live import ParticipantArg
from breathsync.session import Session, SessionConfig
from breathsync.session_types import Snapshot

__all__ = ["DashboardResult", "run_dashboard"]


@dataclass
class DashboardResult:
    """What the command line reports after the window closed."""

    final: Snapshot | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    recorded_to: list[str] = field(default_factory=list)
    screenshot: str | None = None


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
) -> DashboardResult:
    """Open the dashboard with these participants and start the session at once (``session``: this one,
    already built from them; ``record_path``: record it into exactly this new folder).

    Without ``screenshot`` the window stays open after the session (to read and save the summary) until it
    is closed. With ``screenshot`` the picture is saved after the run and the window closes; with no display
    Qt's offscreen platform is used, so this also works on a server.
    """
    if screenshot is not None and not os.environ.get("QT_QPA_PLATFORM"):
        from breathsync.ui import display_available

        if not display_available():
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = _application()
    app.setQuitOnLastWindowClosed(False)
    from PyQt6.QtCore import QEventLoop

    from breathsync.ui.window import DashboardWindow

    win = DashboardWindow(
        settings, participants=participants, speed=speed, duration_s=duration_s, config=config, invert=invert
    )
    if screenshot is not None:
        win.resize(1400, 860)  # the same picture whatever size the window was left at
    result = DashboardResult()

    def on_recording(state: str, text: str) -> None:
        if state == "started":
            result.recorded_to.append(text)

    # A local event loop that ends when the window closes (not app.exec()/quit(): the application may be
    # someone else's, e.g. a test's, and must stay usable afterwards).
    loop = QEventLoop()
    win.closed.connect(loop.quit)

    def on_failed(text: str) -> None:
        result.error = text
        if screenshot is not None:
            win.close()

    def on_finished() -> None:
        result.final = win.latest
        result.summary = win.summary
        if screenshot is not None:
            if win.save_screenshot(screenshot):
                result.screenshot = screenshot
            win.close()

    win.runner.recording.connect(on_recording)
    win.runner.failed.connect(on_failed)
    win.session_finished.connect(on_finished)
    win.show()
    win.start_session(session, record_path)
    if win.isVisible():
        loop.exec()
    if win.running:  # closed from outside while the session still ran
        win.runner.stop()
        win.runner.wait(10.0)
    return result
