"""Dashboard tests: Qt offscreen (set before any QApplication exists) and settings in a temporary place."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from pathlib import Path

import pytest
from PyQt6.QtCore import QSettings


@pytest.fixture(autouse=True)
def _temporary_default_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Nothing a test does may touch the user's real settings, even through QSettings()'s defaults."""
    where = str(tmp_path_factory.mktemp("qsettings"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, where)


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "dashboard.ini"), QSettings.Format.IniFormat)
