"""The dashboard's Recording box says why a recording stopped once: the recorder's error already begins
with "recording stopped: " (it read "recording stopped: recording stopped: No space left on device ...")."""

from __future__ import annotations

import os

# Qt offscreen, set before any QApplication exists (as tests/ui/test_dashboard.py does).
os.environ["QT_QPA_PLATFORM"] = "offscreen"

from pathlib import Path

from PyQt6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from qt_settings import _temporary_default_settings  # noqa: F401 (an autouse fixture)

from breathsync.ui.window import DashboardWindow


def test_the_recording_error_is_said_once(qtbot: QtBot, tmp_path: Path) -> None:
    w = DashboardWindow(QSettings(str(tmp_path / "d.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w._on_recording("error", "recording stopped: No space left on device (writing rec/A.csv)")
    said = "recording stopped: No space left on device (writing rec/A.csv)"
    assert w.record_label.text() == said
    assert w.events.item(w.events.count() - 1).text() == said
    # A recording that could not start: its words (an InputError's) get the prefix.
    w._on_recording("error", "rec: cannot write the recording folder: Disk quota exceeded")
    assert (
        w.record_label.text()
        == "recording stopped: rec: cannot write the recording folder: Disk quota exceeded"
    )


def test_the_folder_field_shows_where_record_put_the_session(qtbot: QtBot, tmp_path: Path) -> None:
    """run --record DIR: the Recording box's folder showed ~/breathsync-recordings; it is DIR's folder, where
    a recording started later from the dashboard goes too."""
    from breathsync.live import ParticipantArg

    settings = QSettings(str(tmp_path / "d.ini"), QSettings.Format.IniFormat)
    settings.setValue("record_dir", str(tmp_path / "mine"))
    w = DashboardWindow(
        settings,
        participants=[ParticipantArg("A", "sim:steady,seed=3")],
        speed=50.0,
        duration_s=5.0,
    )
    qtbot.addWidget(w)
    rec = tmp_path / "studies" / "s1"
    with qtbot.waitSignal(w.session_finished, timeout=20_000):
        w.start_session(record_path=str(rec))
    assert w.record_dir.text() == str(tmp_path / "studies")
    assert (rec / "session.json").is_file()
    # This run's folder, not the user's: the one chosen before stays the saved one (a review found a one-off
    # --record replaced it for every later run).
    w._save_settings()
    settings.sync()
    assert settings.value("record_dir") == str(tmp_path / "mine")
