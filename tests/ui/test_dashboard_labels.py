"""The dashboard's label fields are checked as --participant is: a Windows device name (CON, nul, ...) is
refused with the same one line, and nothing starts (the recording's CON.csv could not be written on
Windows, nor copied there)."""

from __future__ import annotations

import os

# Qt offscreen, set before any QApplication exists (as in test_dashboard.py).
os.environ["QT_QPA_PLATFORM"] = "offscreen"

from pathlib import Path

import pytest
from PyQt6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from qt_settings import _temporary_default_settings  # noqa: F401 (an autouse fixture)

from breathsync.live import ParticipantArg
from breathsync.ui.window import DashboardWindow


@pytest.mark.parametrize("label", ["CON", "nul"])
def test_a_device_name_in_a_label_field_is_refused(qtbot: QtBot, tmp_path: Path, label: str) -> None:
    settings = QSettings(str(tmp_path / "dashboard.ini"), QSettings.Format.IniFormat)
    parts = [ParticipantArg("A", "sim:steady"), ParticipantArg("B", "sim:steady")]
    w = DashboardWindow(settings, participants=parts, speed=40.0, duration_s=5.0)
    qtbot.addWidget(w)
    w.show()
    w.editors[0].label.setText(label)
    w.start_session()
    assert w.state.text == "cannot start" and not w.running
    shown = w.events.item(w.events.count() - 1).text()
    assert f"{label} is a device name on Windows" in shown and "choose another label" in shown
    w.editors[0].label.setText(f"{label}NOR")
    assert [p.label for p in w.participant_args()] == [f"{label}NOR", "B"]
