"""The dashboard's partner cue in a running session (whom the person at the screen breathes with, from what
the session publishes: its snapshots and its description) and the dial's words for an unlocked pair."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import math
from pathlib import Path

import pytest
from PyQt6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from qt_settings import _temporary_default_settings  # noqa: F401 (an autouse fixture)
from view_snapshots import pair, snapshot

from breathsync.live import ParticipantArg
from breathsync.session import SessionConfig
from breathsync.ui.window import DashboardWindow

BELT = Path(__file__).resolve().parents[2] / "sample_signals" / "pair_follow_A.csv"


def _run(qtbot: QtBot, tmp_path: Path, parts: list[ParticipantArg]) -> DashboardWindow:
    settings = QSettings(str(tmp_path / "d.ini"), QSettings.Format.IniFormat)
    w = DashboardWindow(
        settings, participants=parts, speed=40.0, duration_s=20.0, config=SessionConfig(window_s=10.0)
    )
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.session_finished, timeout=30_000):
        w.start_session()
    return w


def test_the_cue_shows_the_simulated_partner_listed_first(qtbot: QtBot, tmp_path: Path) -> None:
    # The audit: `run -p partner=sim:follow,coupling=3 -p me=replay:...`: the cue followed "me", the person
    # at the screen, because it fell back to the last listed.
    w = _run(
        qtbot,
        tmp_path,
        [ParticipantArg("partner", "sim:follow,coupling=3"), ParticipantArg("me", f"replay:{BELT}")],
    )
    assert (w.cue.who, w.cue.title) == ("partner", "breathe with partner")


def test_with_four_the_cue_shows_the_follower_of_the_person(qtbot: QtBot, tmp_path: Path) -> None:
    # It said "breathe with D", an unrelated sim:steady. Whom B and C follow is in the session's description.
    parts = [
        ParticipantArg("A", f"replay:{BELT}"),
        ParticipantArg("C", "sim:follow,partner=B"),
        ParticipantArg("B", "sim:follow,partner=A"),
        ParticipantArg("D", "sim:steady,rate=10"),
    ]
    w = _run(qtbot, tmp_path, parts)
    assert (w.cue.who, w.cue.title) == ("B", "breathe with B")


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> DashboardWindow:
    w = DashboardWindow(QSettings(str(tmp_path / "d.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.timer.stop()
    return w


def test_the_dial_says_not_locked_rather_than_opposite_phase(window: DashboardWindow) -> None:
    unlocked = pair(plv=0.14, null_plv=0.3, sync_score=0.0, in_sync=False, rel_phase_rad=math.radians(120.0))
    window._on_snapshot(snapshot(pairs=(unlocked,)))
    window.redraw()
    assert window.dial.caption() == "PLV 0.14  +120°  not locked"  # was "... opposite phase"
    locked = pair(plv=0.95, sync_score=0.7, in_sync=False, rel_phase_rad=math.radians(120.0))
    window._on_snapshot(snapshot(pairs=(locked,), t_s=61.0, seq=2))
    window.redraw()
    assert window.dial.caption() == "PLV 0.95  +120°  opposite phase"
