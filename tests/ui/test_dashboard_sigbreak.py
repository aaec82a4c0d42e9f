"""Windows: Ctrl-Break (SIGBREAK) ended the dashboard's process with the recording left open; it is now one
of the signals that stop the session as its end would. SIGBREAK is faked by SIGWINCH (its default action
does nothing, so a handler that was not installed fails the test instead of killing it)."""

from __future__ import annotations

import os

# Qt offscreen, set before any QApplication exists (as in test_dashboard.py).
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import signal

import pytest
from conftest import posix_only
from pytestqt.qtbot import QtBot

from breathsync.live import stop_words
from breathsync.ui.app import _stop_on_signals


@posix_only("SIGWINCH")
def test_sigbreak_asks_the_dashboard_to_stop(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = signal.SIGWINCH
    monkeypatch.setattr(signal, "SIGBREAK", fake, raising=False)
    before = signal.getsignal(fake)
    asked: list[str] = []
    with _stop_on_signals(asked.append):
        assert signal.getsignal(fake) != before
        signal.raise_signal(fake)
        qtbot.waitUntil(lambda: bool(asked), timeout=5000)
    assert asked == [stop_words(fake)]  # with its words for the session_end event
    assert signal.getsignal(fake) == before  # put back when the dashboard returns
