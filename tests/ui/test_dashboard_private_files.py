"""The dashboard's own outputs (--screenshot, "Save summary…") are readable by their owner only, like every
other output of breathsync (they show health data). They were written with the umask's mode (0o644)."""

from __future__ import annotations

import os

# Qt offscreen, set before any QApplication exists (as in test_dashboard.py).
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import posix_only
from PyQt6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from breathsync.ui.window import DashboardWindow

pytestmark = posix_only("POSIX file modes")


@pytest.fixture(autouse=True)
def _open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> DashboardWindow:
    w = DashboardWindow(QSettings(str(tmp_path / "dashboard.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    return w


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.mark.parametrize("existing", [False, True])
def test_screenshot_is_owner_only(window: DashboardWindow, tmp_path: Path, existing: bool) -> None:
    shot = tmp_path / "x.png"
    if existing:
        shot.write_bytes(b"old")
        shot.chmod(0o644)
    assert window.save_screenshot(shot), window.screenshot_error
    assert _mode(shot) == 0o600
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_screenshot_in_other_formats(window: DashboardWindow, tmp_path: Path) -> None:
    jpg, bmp = tmp_path / "x.jpg", tmp_path / "x.bmp"
    assert window.save_screenshot(jpg) and window.save_screenshot(bmp)
    assert jpg.read_bytes()[:2] == b"\xff\xd8" and bmp.read_bytes()[:2] == b"BM"
    assert _mode(jpg) == _mode(bmp) == 0o600


def test_screenshot_that_cannot_be_written_says_why(window: DashboardWindow, tmp_path: Path) -> None:
    assert not window.save_screenshot(tmp_path / "missing" / "x.png")
    assert window.screenshot_error


def test_saved_summary_is_owner_only(window: DashboardWindow, tmp_path: Path) -> None:
    window.summary = {"participants": {}, "pairs": []}
    window.summary_text = "session length 0:10"
    (tmp_path / "s.txt").write_text("old\n", encoding="utf-8")
    (tmp_path / "s.txt").chmod(0o644)
    js, txt = window.save_summary(tmp_path / "s.json")
    assert _mode(js) == _mode(txt) == 0o600
    assert txt.read_text(encoding="utf-8") == "session length 0:10\n"
    assert '"pairs": []' in js.read_text(encoding="utf-8")
