"""Shared by the dashboard tests: imported into each module (a conftest.py here would shadow tests/conftest.py,
which the tests import by name)."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QSettings


@pytest.fixture(autouse=True)
def _temporary_default_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Nothing a test does may touch the user's real settings, even through QSettings()'s defaults."""
    where = str(tmp_path_factory.mktemp("qsettings"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, where)
