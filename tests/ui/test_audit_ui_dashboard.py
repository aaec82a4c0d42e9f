"""The dashboard audit's defects: the HTML report of a session that was not recorded, the window on a small
laptop screen, where the sync meter draws a window, and the state at a session's natural end."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QRect, QRectF, QSettings
from PyQt6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot
from qt_settings import _temporary_default_settings  # noqa: F401 (an autouse fixture)
from view_snapshots import lead_training, pair, participant, snapshot

from breathsync.live import ParticipantArg
from breathsync.session import SessionConfig
from breathsync.session_types import Snapshot, sync_state
from breathsync.terminal import state_text
from breathsync.ui.window import TABLE_COLUMNS, DashboardWindow

FAST = SessionConfig(window_s=10.0, phase="match", goal_s=5.0)
SIMS = [
    ParticipantArg("A", "sim:steady,rate=12,seed=3"),
    ParticipantArg("B", "sim:follow,rate=13,coupling=1,delay=0.3,seed=4"),
]


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "dashboard.ini"), QSettings.Format.IniFormat)


def settle() -> None:
    app = QApplication.instance()
    assert app is not None
    for _ in range(5):
        app.processEvents()


# ------------------------------------------------------------------------ 1: the report of the last session
def test_a_session_not_recorded_has_no_report_of_the_one_before(
    qtbot: QtBot, settings: QSettings, tmp_path: Path
) -> None:
    w = DashboardWindow(settings, participants=SIMS, speed=40.0, duration_s=10.0, config=FAST)
    qtbot.addWidget(w)
    w.show()
    w.record_dir.setText(str(tmp_path / "recs"))
    w.record_button.setChecked(True)
    with qtbot.waitSignal(w.session_finished, timeout=20_000):
        w.start_session()
    (first,) = (tmp_path / "recs").glob("session-*")
    assert w.recorded_folder() == str(first) and w.report_button.isEnabled()
    assert not w.record_button.isChecked()  # the recording ended with its session
    with qtbot.waitSignal(w.session_finished, timeout=20_000):
        w.start_session()  # record off
    # It said "recorded to <the first session's folder>", and the report written was the first session's.
    assert w.recorded_folder() is None
    assert not w.report_button.isEnabled()
    assert "recorded to" not in w.record_label.text() and str(first) not in w.record_label.text()
    assert w.save_report(tmp_path / "report.html") is None
    assert not (tmp_path / "report.html").exists()


# ------------------------------------------------------------------------ 3: where the meter draws a window
def _pair_at(end: float, *, scored: bool = True) -> object:
    if not scored:  # one of the pair has no signal: no window, and no end of one (the session's rule)
        return pair(
            plv=math.nan, null_plv=math.nan, sync_score=math.nan, in_sync=False, window_end_s=math.nan
        )
    return pair(window_end_s=end)


def test_the_meter_draws_each_window_at_its_end_not_when_it_came(qtbot: QtBot, settings: QSettings) -> None:
    w = DashboardWindow(settings)
    qtbot.addWidget(w)
    w.timer.stop()
    snaps: list[Snapshot] = []
    ends: list[float] = []
    # Windows up to 73.4 s while both have a signal (each published 0.6 s after it ends), none while the strap
    # reconnects, then the windows ending 73.5-79.6 s, all published from 82.8 s as the partner catches up.
    for t in np.arange(60.0, 74.0, 0.5):
        ends.append(round(t - 0.6, 1))
        snaps.append(snapshot(pairs=(_pair_at(ends[-1]),), t_s=t))
    for t in np.arange(74.0, 82.8, 0.5):
        snaps.append(snapshot(pairs=(_pair_at(math.nan, scored=False),), t_s=t))
    catch_up = [round(x, 1) for x in np.arange(73.5, 79.7, 0.3)]  # 73.5, 73.8, ... 79.5
    for i, end in enumerate(catch_up):
        snaps.append(snapshot(pairs=(_pair_at(end),), t_s=82.8 + 0.01 * i))
    for seq, s in enumerate(snaps):
        w._on_snapshot(replace(s, seq=seq))
    w.redraw()
    t, y = w.score_curve.getData()
    assert t is not None and y is not None
    drawn = t[np.isfinite(y)]
    # Every window at the time it ends (it was at the snapshot's: 60.0-73.5 s, then all at 82.8-83.0 s).
    assert drawn.tolist() == pytest.approx(ends + catch_up)
    assert not np.any((drawn > 79.7) & (drawn < 83.5))
    assert np.all(np.isfinite(t)) and np.all(np.diff(t) >= 0)
    band_t, band_y = w.band_curve.getData()
    assert band_t is not None and band_y is not None
    assert band_t[np.isfinite(band_y)].max() == pytest.approx(catch_up[-1])
    # The reconnection is a gap: the meter is not drawn from its last window before it to the first after.
    k = int(np.searchsorted(t, catch_up[0]))
    assert t[k - 1] == pytest.approx(ends[-1]) and not np.isfinite(y[k - 1])
    assert w.dial.plv == pytest.approx(0.9)  # the last window's


# ------------------------------------------------------------------------ 2: a small laptop screen
LONG_INSTRUCTION = "you and partner: breathe together"


def _lead_snapshot(labels: tuple[str, str]) -> Snapshot:
    a, b = labels
    tr = lead_training(
        a, b, instruction=f"{b}: follow {a}'s new pace", leader_rate_change_bpm=-2.8, following=False
    )
    t = np.arange(0.0, 100.0, 0.05)
    parts = tuple(participant(x, new_t=t, new_wave=np.sin(t + i)) for i, x in enumerate(labels))
    return snapshot(
        labels, participants=parts, pairs=(pair(a, b, window_end_s=99.4),), training=tr, t_s=100.0
    )


def _match_snapshot(labels: tuple[str, str]) -> Snapshot:
    base = _lead_snapshot(labels)
    tr = replace(
        base.training,
        phase="match",
        stage="matching",
        instruction=LONG_INSTRUCTION,
        leader=None,
        follower=None,
    )
    return replace(base, training=tr, seq=2, participants=tuple(participant(x) for x in labels))


def _in_window(w: QWidget, child: QWidget) -> QRect:
    return QRect(child.mapTo(w, QPoint(0, 0)), child.size())


def _mapped(widget: QWidget, r: QRectF, to: QWidget) -> QRectF:
    return r.translated(widget.mapTo(to, QPoint(0, 0)).toPointF())


def _check_fits(w: DashboardWindow, width: int, height: int) -> None:
    settle()
    assert w.width() <= width and w.height() <= height, (w.size(), width, height)
    # The cue's column, in the window: no widget over another ("breathe in" over the dial's "together", the
    # goal bar over the dial's caption, the lead text over it).
    stacked = [
        x for x in (w.cue_who, w.instruction_label, w.cue, w.dial, w.goal, w.lead_label) if x.isVisible()
    ]
    for i, upper in enumerate(stacked):
        for lower in stacked[i + 1 :]:
            assert not _in_window(w, upper).intersects(_in_window(w, lower)), (upper, lower)
    frame = QRect(0, 0, w.width(), w.height())
    for name in (
        "state",
        "panel",
        "layout_widget",
        "score_widget",
        "table",
        "tabs",
        "right_column",
        "clock_label",
    ):
        child = getattr(w, name)
        assert child.isVisible(), name
        assert frame.contains(_in_window(w, child)), (name, _in_window(w, child), frame)
    # The cue's column: no widget over another, each as tall as it needs (a wrapped text its lines), all in
    # view without scrolling.
    column = w.right_column
    content = column.widget()
    assert content is not None
    bar = column.verticalScrollBar()
    assert bar is not None and not bar.isVisible()
    port = column.viewport()
    assert port is not None
    shown = [c for c in content.findChildren(QWidget) if c.isVisible() and c.parentWidget() is content]
    assert {w.cue, w.dial, w.lead_label, w.instruction_label} <= set(shown)
    for i, a in enumerate(shown):
        ra = a.geometry()
        assert port.rect().contains(_in_window(port, a)), a
        assert ra.height() >= a.minimumSizeHint().height(), a
        if isinstance(a, QLabel) and a.wordWrap() and a.text():
            assert ra.height() >= a.heightForWidth(ra.width()), (a.text(), ra)
        for b in shown[i + 1 :]:
            assert not ra.intersects(b.geometry()), (a, b, ra, b.geometry())
    # What the cue and the dial draw: every text inside its widget, none over another or over the disc/dial.
    texts: list[tuple[str, QRectF]] = []
    for widget, shape_key in ((w.cue, "disc"), (w.dial, "dial")):
        regions = widget.regions()
        inside = QRectF(widget.rect())
        for key, r in regions.items():
            assert inside.contains(r), (key, r, inside)
            if key != shape_key:
                texts.append((key, _mapped(widget, r, w)))
        for key in ("title", "word", "together", "caption"):
            if key in regions:
                assert not regions[key].intersects(regions[shape_key]), (key, regions)
    for i, (ka, text_a) in enumerate(texts):
        for kb, text_b in texts[i + 1 :]:
            assert not text_a.intersects(text_b), (ka, kb, text_a, text_b)
    # Every column of the table in view and as wide as its title.
    header = w.table.horizontalHeader()
    viewport = w.table.viewport()
    assert header is not None and viewport is not None
    sections = [header.sectionSize(i) for i in range(len(TABLE_COLUMNS))]
    assert sum(sections) <= viewport.width() + 1, (sections, viewport.width())
    fm = header.fontMetrics()
    for title, size in zip(TABLE_COLUMNS, sections, strict=True):
        assert size >= fm.horizontalAdvance(title) + 8, (title, size)
    # The label fields show their labels (it showed "tner" for "partner").
    for e in w.editors:
        assert e.label.width() >= e.label.fontMetrics().horizontalAdvance(e.label.text()) + 8, e.label.text()


SMALL = [(1024, 640), (1024, 560), (1366, 728)]


@pytest.mark.parametrize(("width", "height"), SMALL)
def test_the_window_fits_a_small_screen_during_a_session(
    qtbot: QtBot, settings: QSettings, width: int, height: int
) -> None:
    parts = [ParticipantArg("you", "sim:lead,rate=12,after=50"), ParticipantArg("partner", "sim:follow")]
    w = DashboardWindow(settings, participants=parts)
    qtbot.addWidget(w)
    w.timer.stop()
    w.show()
    w.resize(width, height)  # from the large screen's layout
    labels = ("you", "partner")
    w._on_snapshot(_lead_snapshot(labels))
    w.redraw()
    _check_fits(w, width, height)
    w._on_snapshot(_match_snapshot(labels))  # the goal bar, a longer instruction
    w.redraw()
    assert w.goal.isVisible()
    _check_fits(w, width, height)


@pytest.mark.parametrize(("width", "height"), SMALL)
def test_the_window_fits_a_small_screen_before_a_session(
    qtbot: QtBot, settings: QSettings, width: int, height: int
) -> None:
    w = DashboardWindow(settings)  # the editors' own fields: a sample recording, a simulated partner
    qtbot.addWidget(w)
    w.timer.stop()
    w.resize(width, height)
    w.show()
    settle()
    assert w.width() <= width and w.height() <= height, w.size()
    panel = w.panel.widget()
    assert panel is not None and panel.minimumSizeHint().width() <= w.panel.width()
    for e in w.editors:
        assert e.label.width() >= e.label.fontMetrics().horizontalAdvance(e.label.text()) + 8


def test_the_large_screen_layout_is_kept(qtbot: QtBot, settings: QSettings) -> None:
    w = DashboardWindow(settings, participants=SIMS)
    qtbot.addWidget(w)
    w.timer.stop()
    w.resize(1400, 860)
    w.show()
    w._on_snapshot(_lead_snapshot(("A", "B")))
    w.redraw()
    settle()
    assert not w.compact and w.size().width() == 1400
    cue, table, tabs, traces = (_in_window(w, x) for x in (w.right_column, w.table, w.tabs, w.layout_widget))
    # The cue's column beside the traces, over the table and the events, which are side by side.
    assert cue.left() > traces.right() and cue.bottom() < table.top()
    assert tabs.left() > table.right() and abs(tabs.top() - table.top()) <= 2
    _check_fits(w, 1400, 860)


def test_the_state_line_fits_its_width(qtbot: QtBot) -> None:
    from breathsync.ui.widgets import StateIndicator

    s = StateIndicator()
    qtbot.addWidget(s)
    s.set_state("warmup", "measuring: filling the 30-s sync window")
    font, text = s.fitted_text(300.0, 72.0)
    from PyQt6.QtGui import QFontMetricsF

    assert QFontMetricsF(font).horizontalAdvance(text) <= 300.0
    font, text = s.fitted_text(2000.0, 72.0)
    assert text == s.text and font.pointSizeF() == pytest.approx(72.0 * 0.32)  # unchanged where it fits


# ------------------------------------------------------------------------ 4: a session's natural end
def _ended(label: str, last_s: float) -> object:
    return participant(
        label,
        source="replay:nk_rest5_100hz.csv",
        source_status="ended",
        status_reason="end of the recording",
        receiving=False,
        t_s=last_s,
        phase_rad=math.nan,
        rate_bpm=math.nan,
        quality="no_signal",
    )


def _final_of_300_s(you_ended_s: float) -> Snapshot:
    """The final snapshot of a 300-s session in which "you"'s source ended at ``you_ended_s``."""
    return snapshot(
        ("you", "partner"),
        participants=(_ended("you", you_ended_s), participant("partner", t_s=300.0)),
        pairs=(_ended_pair(),),
        t_s=300.0,
        final=True,
    )


def _ended_pair() -> object:
    return pair("you", "partner", plv=math.nan, null_plv=math.nan, sync_score=math.nan, in_sync=False)


def test_a_source_that_ended_with_the_session_is_no_alarm() -> None:
    # The demo: the replay's last sample 10 ms before the session's 300 s.
    end = _final_of_300_s(you_ended_s=299.95)
    assert sync_state(end, 30.0) == ("idle", "session ended")  # was ("no_signal", "no signal from you")
    assert state_text(end, 30.0) == "session ended"
    # Ended long before the session did, which went on without it: a lost signal, as before.
    early = replace(end, participants=(_ended("you", 200.0), participant("partner", t_s=300.0)))
    assert sync_state(early, 30.0) == ("no_signal", "no signal from you")
    # Before the end, and a source that failed or went silent: alarms.
    assert sync_state(replace(end, final=False), 30.0)[0] == "no_signal"
    failed = replace(end.participants[0], source_status="failed", status_reason="device gone")
    assert sync_state(replace(end, participants=(failed, end.participants[1])), 30.0)[0] == "no_signal"
    silent = replace(end.participants[0], source_status="streaming", status_reason="")
    assert sync_state(replace(end, participants=(silent, end.participants[1])), 30.0)[0] == "no_signal"


def test_the_dashboard_ends_the_demo_on_a_neutral_state(qtbot: QtBot, settings: QSettings) -> None:
    w = DashboardWindow(settings)
    qtbot.addWidget(w)
    w.timer.stop()
    end = _final_of_300_s(you_ended_s=299.95)
    w._on_snapshot(end)
    w.redraw()
    assert (w.state.kind, w.state.text) == ("idle", "session ended")
    assert w._traces["you"].title == "you: ended"  # not "NO SIGNAL", nor "rate -  ended"
    assert w.reasons_label.text() == "you (replay:nk_rest5_100hz.csv) ended: end of the recording"
    assert "#8a2500" not in w.reasons_label.styleSheet()  # not in the alarm's colour


def test_a_session_whose_partner_ends_with_it_ends_on_a_neutral_state(
    qtbot: QtBot, settings: QSettings
) -> None:
    parts = [SIMS[0], ParticipantArg("B", "sim:follow,rate=12,coupling=2,delay=0.2,seed=4,duration=19")]
    w = DashboardWindow(settings, participants=parts, speed=20.0, duration_s=20.0, config=FAST)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.session_finished, timeout=20_000):
        w.start_session()
    assert w.latest is not None and w.latest.final
    item = w.table.item(1, 2)
    assert item is not None and item.text().startswith("ended")
    assert (w.state.kind, w.state.text) == ("idle", "session ended")  # was "no signal from B"


def test_on_a_small_screen_the_reasons_leave_the_tables_rows_in_view(
    qtbot: QtBot, settings: QSettings
) -> None:
    w = DashboardWindow(settings)
    qtbot.addWidget(w)
    w.timer.stop()
    w.resize(1024, 560)
    w.show()
    end = _final_of_300_s(you_ended_s=200.0)
    w._on_snapshot(end)
    w.redraw()
    settle()
    assert w.compact and w.reasons_label.isVisible()
    bar = w.table.verticalScrollBar()
    assert bar is not None and not bar.isVisible()  # the partner's row was scrolled out by the reasons' line
    table, reasons = _in_window(w, w.table), _in_window(w, w.reasons_label)
    assert reasons.top() >= table.bottom() and reasons.bottom() <= w.height()
    assert reasons.height() >= w.reasons_label.heightForWidth(reasons.width())
