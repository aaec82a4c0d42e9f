"""What the dashboard draws from hand-made snapshots (tests/view_snapshots.py): the sync meter, the lead
panel's verdict and instruction, the cue, the state line and the participant table. No session runs: the
window only draws what it is given."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import math
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from view_snapshots import pair, snapshot

from breathsync.session_types import Snapshot
from breathsync.ui.window import DashboardWindow


@pytest.fixture(autouse=True)
def _temporary_default_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    where = str(tmp_path_factory.mktemp("qsettings"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, where)


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> DashboardWindow:
    w = DashboardWindow(QSettings(str(tmp_path / "d.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.timer.stop()  # draw only when the test says
    return w


def show(w: DashboardWindow, *snaps: Snapshot) -> None:
    for s in snaps:
        w._on_snapshot(s)
    w.redraw()


def test_sync_plot_shows_the_meter_so_opposite_phase_stays_empty(window: DashboardWindow) -> None:
    opposite = pair(plv=0.95, sync_score=0.71, in_sync=False, rel_phase_rad=math.pi * 0.99, lag_s=2.5)
    together = pair(plv=0.95, sync_score=0.9, rel_phase_rad=0.0, lag_s=0.0)
    show(
        window,
        *(snapshot(pairs=(opposite,), t_s=t, seq=i) for i, t in enumerate(np.arange(10.0, 20.0, 0.5))),
        *(snapshot(pairs=(together,), t_s=t, seq=i) for i, t in enumerate(np.arange(20.0, 30.0, 0.5))),
    )
    t, y = window.score_curve.getData()
    assert t is not None and y is not None
    assert np.all(y[t < 20.0] < 0.01)  # was 0.71: the score does not care at which angle the pair locks
    assert np.all(y[t >= 20.0] == pytest.approx(0.9))


def test_state_says_measuring_until_the_first_window_is_filled(window: DashboardWindow) -> None:
    no_plv = pair(plv=math.nan, null_plv=math.nan, sync_score=math.nan, in_sync=False)
    show(window, snapshot(pairs=(no_plv,), t_s=20.0))
    assert window.state.kind == "warmup"
    assert window.state.text == f"measuring: filling the {window.sync_window.value():g}-s sync window"
