"""What a dashboard frame does, from hand-made snapshots (tests/view_snapshots.py): it gives a plot new data
only when there is some, and Qt paints the plots once per frame. With 8 participants whose belts send their
chunks at different moments, giving every trace, the sync meter and the dial their data again on every
snapshot, and painting every plot twice, was most of the drawing's cost."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
import pytest
from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from qt_settings import _temporary_default_settings  # noqa: F401 (an autouse fixture)
from view_snapshots import pair, participant, snapshot

from breathsync.session_types import Snapshot
from breathsync.ui.window import SYNC_STEP_S, DashboardWindow

LABELS = ("A", "B", "C")


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> DashboardWindow:
    w = DashboardWindow(QSettings(str(tmp_path / "d.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.timer.stop()  # draw only when the test says
    return w


def snap(t_s: float, seq: int, new: tuple[str, ...] = LABELS, since: float | None = None) -> Snapshot:
    """Session time ``t_s``; the participants in ``new`` bring the samples since ``since`` (default: the 0.1 s
    before it), a wave between -1 and 1 that reaches both often (the traces' y ranges stay put)."""
    parts = []
    for lab in LABELS:
        t = np.arange(t_s - 0.1 if since is None else since, t_s - 1e-9, 0.05) if lab in new else np.empty(0)
        wave = np.clip(2 * np.sin(t + ord(lab)), -1.0, 1.0)
        parts.append(participant(lab, t_s=t_s, new_t=t, new_wave=wave))
    pairs = (pair("A", "B", plv=0.5 + 0.1 * np.sin(t_s)), pair("A", "C"), pair("B", "C"))
    return snapshot(LABELS, participants=tuple(parts), pairs=pairs, t_s=t_s, seq=seq)


def count_calls(monkeypatch: pytest.MonkeyPatch, obj: Any, name: str, calls: Counter[str], key: str) -> None:
    method = getattr(obj, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[key] += 1
        return method(*args, **kwargs)

    monkeypatch.setattr(obj, name, counted)


def test_a_trace_without_new_samples_is_not_given_its_data_again(
    window: DashboardWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    window._on_snapshot(snap(10.0, 1))
    window.redraw()
    calls: Counter[str] = Counter()
    for lab in LABELS:
        count_calls(monkeypatch, window._traces[lab].curve, "setData", calls, lab)
    window._on_snapshot(snap(10.05, 2, new=("B",)))  # only B's belt sent a chunk
    window.redraw()
    assert calls == Counter({"B": 1})  # every trace was given its data again: A 1, B 1, C 1
    t, _ = window._traces["B"].curve.getData()
    assert t is not None and t[-1] == pytest.approx(10.0)
    # A new trace window is a change for every trace.
    window.span.setValue(20.0)
    window._on_snapshot(snap(10.1, 3, new=()))
    window.redraw()
    assert calls == Counter({"A": 1, "B": 2, "C": 1})


def test_the_meter_and_the_dial_are_redrawn_only_with_a_new_point(
    window: DashboardWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    window._on_snapshot(snap(10.0, 1))
    window.redraw()
    calls: Counter[str] = Counter()
    count_calls(monkeypatch, window.score_curve, "setData", calls, "meter")
    count_calls(monkeypatch, window.dial, "set_values", calls, "dial")
    # Within SYNC_STEP_S of session time the pair's history gets no point: nothing new to draw there.
    window._on_snapshot(snap(10.0 + SYNC_STEP_S / 2, 2))
    window.redraw()
    assert calls == Counter()  # was 1 and 1, on every snapshot
    window._on_snapshot(snap(10.0 + 1.5 * SYNC_STEP_S, 3))
    window.redraw()
    assert calls == Counter({"meter": 1, "dial": 1})
    t, _ = window.score_curve.getData()
    assert t is not None and t[-1] == pytest.approx(10.0 + 1.5 * SYNC_STEP_S)


def test_the_plots_are_painted_once_a_frame(
    window: DashboardWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyqtgraph finishes a view's new range as it begins to paint it; when that happened in Qt's paint, the
    items moved again and Qt painted the plots a second time, every frame."""
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    app = QApplication.instance()
    assert app is not None
    paints: Counter[int] = Counter()
    paint = pg.AxisItem.paint

    def counted(self: pg.AxisItem, *args: Any) -> None:
        paints[id(self)] += 1
        paint(self, *args)

    monkeypatch.setattr(pg.AxisItem, "paint", counted)

    def frames(first: int, n: int) -> None:
        for i in range(first, first + n):
            window._on_snapshot(snap(60.0 + 0.1 * i, i))  # the traces scroll (past the 45-s window)
            window.redraw()
            for _ in range(5):  # every paint the frame leads to
                app.processEvents()

    window._on_snapshot(snap(60.0, 0, since=0.0))  # a minute of every trace: their y ranges set
    frames(1, 5)  # the window's first paints, its layout settling
    paints.clear()
    frames(6, 12)
    plots = [window._traces[lab].plot for lab in LABELS]
    time_axis = plots[-1].getAxis("bottom")
    assert time_axis.isVisible()
    # The time axis under the traces scrolls: painted in every frame, once (it was 24 times in 12 frames).
    assert paints[id(time_axis)] == 12
    # The traces' own axes (ticks without values) change only with their y range: kept as pictures, they are
    # not painted again as the traces scroll past them (they were, in every frame).
    assert all(paints[id(p.getAxis("left"))] < 12 for p in plots), paints
