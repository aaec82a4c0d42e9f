"""The dashboard window: a thin view over the session's snapshots.

Snapshots arrive from the session thread (:mod:`breathsync.ui.bridge`) through a Qt signal; the slot only
copies the new samples into preallocated rings and keeps the latest snapshot. One timer (``fps``, 30 by
default) redraws from the rings with ``setData``, antialiasing off, independent of how often snapshots come.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QEvent, QObject, QSettings, QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QResizeEvent, QShortcut, QShowEvent
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGraphicsItem,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from breathsync.dsp.sync import WINDOW_MAX_S, WINDOW_MIN_S
from breathsync.io.csvfile import write_private_bytes, write_private_text
from breathsync.live import (
    DASHBOARD_STOP,
    WINDOW_CLOSED,
    ParticipantArg,
    build_session,
    parse_participant,
    summary_lines,
)
from breathsync.session import PHASES, Session, SessionConfig
from breathsync.session_types import (
    METER_IN_SYNC,
    PairView,
    Snapshot,
    clock_text,
    cue_choice,
    group_order_text,
    lead_lines,
    quality_words,
    sync_state,
)
from breathsync.sources.base import MAX_SPEED
from breathsync.ui.bridge import SessionRunner
from breathsync.ui.buffers import Ring, TraceRing
from breathsync.ui.controls import ParticipantEditor
from breathsync.ui.widgets import PartnerCue, PhaseDial, StateIndicator

__all__ = ["DashboardWindow", "default_record_root"]

log = logging.getLogger(__name__)

GRID_HZ = 20.0  # the session publishes its live samples on this grid
MAX_SPAN_S = 120.0
SYNC_STEP_S = 0.2  # the sync history keeps at most one point per this much session time
SYNC_POINTS = 30_000  # 100 min of sync history at SYNC_STEP_S
TRAIL_S = 60.0
TRACE_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
TABLE_COLUMNS = ("participant", "source", "state", "signal quality", "rate", "battery")
#: What a column typically holds: it is at least as wide as this and its title.
TABLE_TYPICAL = ("partner", "sim:follow", "streaming", "warm-up", "15.6/min", "100%")
TABLE_COLUMN_PX = 100  # each column's width where the table has room (the last one takes the rest)
DEFAULT_SIZE = (1400, 860)
#: Under this width or height the window is laid out for a small screen (DashboardWindow.compact).
COMPACT_BELOW = (1200, 800)


def default_record_root() -> str:
    return str(Path.home() / "breathsync-recordings")


class _Trace:
    """One participant's scrolling trace."""

    def __init__(self, plot: pg.PlotItem, color: str) -> None:
        self.plot = plot
        self.ring = TraceRing(int(MAX_SPAN_S * GRID_HZ) + 64)
        # A 1-px pen: Qt's raster engine draws 2-px lines far more slowly (8 scrolling traces, tried alone:
        # 14 frames a second with 2-px pens, 18 with 1-px ones; with one time axis too, see below, the
        # 30-Hz timer's figure in benchmarks/bench_dashboard.py went from 15 to 25-28).
        self.curve = plot.plot(pen=pg.mkPen(color, width=1), connect="finite")
        self.title = ""
        # What the curve holds: (samples added to the ring, trace window) when it was last given its data.
        # A frame gives it again only when either changed: with 8 belts sending 0.1-s chunks at different
        # moments a snapshot brings one or two people's samples, and giving every curve its 900 points on
        # every frame was most of the drawing's Python work.
        self.drawn: tuple[int, float] | None = None

    def reset(self) -> None:
        """Forget the samples (a new session with the same participants)."""
        self.ring = TraceRing(self.ring.capacity)
        self.curve.setData([], [])
        self.title = ""
        self.drawn = None

    def draw(self, span: float) -> None:
        """Give the curve the ring's last ``span`` seconds, unless it holds them already."""
        ring = self.ring
        n = min(ring.count, ring.capacity)
        if not n or self.drawn == (ring.count, span):
            return
        self.drawn = (ring.count, span)
        lo = max(0, n - int(span * GRID_HZ) - 8)
        self.curve.setData(ring.t[-n:][lo:], ring.y[-n:][lo:], connect="finite")


class _VerticalScroll(QScrollArea):
    """A widget as wide as it needs and as tall as there is room for: scrolled vertically where the window is
    shorter than the widget, never squeezed under its minimum (a squeezed layout draws its widgets over each
    other)."""

    def __init__(self, widget: QWidget, min_height: int = 60) -> None:
        super().__init__()
        self._min_height = min_height
        self.setWidget(widget)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        widget.installEventFilter(self)

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if obj is self.widget() and event is not None and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the widget's minimum width changed (an editor's fields)
        return super().eventFilter(obj, event)

    def _extra(self) -> int:
        bar = self.verticalScrollBar()
        return (bar.sizeHint().width() if bar is not None else 0) + 2 * self.frameWidth()

    def minimumSizeHint(self) -> QSize:
        inner = self.widget()
        width = inner.minimumSizeHint().width() if inner is not None else 0
        return QSize(width + self._extra(), self._min_height)

    def sizeHint(self) -> QSize:
        inner = self.widget()
        hint = inner.sizeHint() if inner is not None else QSize(0, 0)
        return QSize(hint.width() + self._extra(), hint.height())


class _ParticipantTable(QTableWidget):
    """The participants' table: its columns share its width, each at least as wide as its title and what it
    typically holds (100 px each where there is room, the last taking the rest), so that no column is
    scrolled out of sight (on a small screen the rate and the battery were)."""

    def column_minimums(self) -> list[int]:
        fm = self.fontMetrics()
        header = self.horizontalHeader()
        hfm = header.fontMetrics() if header is not None else fm
        # A header's title has margins on both sides, and room for a sort arrow, that a cell has not.
        return [
            max(hfm.horizontalAdvance(title) + 24, fm.horizontalAdvance(typical) + 12)
            for title, typical in zip(TABLE_COLUMNS, TABLE_TYPICAL, strict=True)
        ]

    def minimumSizeHint(self) -> QSize:
        return QSize(
            sum(self.column_minimums()) + 2 * self.frameWidth() + 2, super().minimumSizeHint().height()
        )

    def rows_height(self, most: int | None = None) -> int:
        """The height that shows the header and every row (at most ``most`` rows: it scrolls)."""
        header = self.horizontalHeader()
        rows = sum(self.rowHeight(i) for i in range(min(self.rowCount(), most or self.rowCount())))
        return (header.sizeHint().height() if header is not None else 0) + rows + 2 * self.frameWidth() + 4

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def fit_columns(self) -> None:
        header = self.horizontalHeader()
        viewport = self.viewport()
        if header is None or viewport is None:
            return
        room = viewport.width()
        mins = self.column_minimums()
        if room >= TABLE_COLUMN_PX * (len(mins) - 1) + mins[-1]:
            widths = [max(TABLE_COLUMN_PX, m) for m in mins[:-1]] + [mins[-1]]
        else:  # shared in proportion to what each needs (narrower still only when the window is too small)
            widths = [m * room // sum(mins) for m in mins]
        # The last one stretches to the rest, never narrower than it is given here (Qt kept it at 100 px).
        for i, width in enumerate(widths):
            header.resizeSection(i, width)


class DashboardWindow(QMainWindow):
    """The live dashboard.

    Parameters
    ----------
    settings
        Where the settings are remembered (default: the user's ``breathsync/dashboard`` settings).
    participants
        Command-line participants (``LABEL=SOURCE``): shown as source specs instead of the remembered ones.
    speed, duration_s
        Session clock speed and length (None: until stopped).
    config
        Initial training phase, windows and goal.
    fps
        Redraws per second.
    prepare
        Called with every session the window builds (Start after a session ended), before it runs: the
        command line's ``--publish`` adds its LSL sink there, as it did to the session it started with.
    """

    #: Emitted after the session ended and the final state was drawn (the summary is ready).
    session_finished = pyqtSignal()
    #: Emitted (from a worker thread, delivered in the UI thread) when an HTML report is written.
    report_done = pyqtSignal(str)
    #: Emitted when the window has been closed (its session stopped).
    closed = pyqtSignal()

    def __init__(
        self,
        settings: QSettings | None = None,
        *,
        participants: Sequence[ParticipantArg] | None = None,
        speed: float | None = None,
        duration_s: float | None = None,
        config: SessionConfig | None = None,
        invert: Sequence[str] = (),
        fps: float = 30.0,
        prepare: Callable[[Session], None] | None = None,
    ) -> None:
        super().__init__()
        self.prepare = prepare
        pg.setConfigOptions(antialias=False)
        self.setWindowTitle("breathsync")
        self.settings = settings if settings is not None else QSettings("breathsync", "dashboard")
        self.duration_s = duration_s
        self.invert = list(invert)
        self.goal_s = config.goal_s if config is not None else 60.0
        self.leader = config.leader if config is not None else None
        self.runner = SessionRunner(self)
        self.runner.snapshot.connect(self._on_snapshot)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.recording.connect(self._on_recording)
        self.latest: Snapshot | None = None
        self.summary: dict[str, Any] | None = None
        self.summary_text = ""
        self.screenshot_error = ""
        self.frames = 0
        self._dirty = False
        self._labels: tuple[str, ...] = ()
        self._retired: list[pg.PlotItem] = []
        self._traces: dict[str, _Trace] = {}
        # Each pair's sync history (t, meter, in-sync band, plv, rel, null), kept whichever pair the meter
        # shows: with 3+ people the pair shown changes (the goal's pair, the cue's), and clearing the one
        # history then left a meter titled "in sync 0:41 so far" over its last 17 s.
        self._sync_rings: dict[tuple[str, str], Ring] = {}
        self._sync = Ring(SYNC_POINTS, 6)  # the shown pair's
        self._sync_pair: tuple[str, str] | None = None
        self._sync_drawn: tuple[Ring, int] | None = None  # the history and its length the meter shows
        self._rec_state = "off"
        self._rec_path = ""
        self._rec_t0 = math.nan
        self._table_cache: dict[tuple[int, int], str] = {}
        self._build()
        self._load_settings()
        if participants:
            self._set_participants(participants)
        if speed is not None:
            self.speed.setValue(speed)
        if config is not None:
            self.phase.setCurrentText(config.phase)
            self.sync_window.setValue(config.window_s)
        self.timer = QTimer(self)
        self.timer.setInterval(max(1, round(1000.0 / fps)))
        self.timer.timeout.connect(self.redraw)
        self.timer.start()

    # ------------------------------------------------------------------------------------ layout
    def _build(self) -> None:
        # Controls.
        panel = QWidget()
        pl = QVBoxLayout(panel)
        self.start_button = QPushButton("Start  (F5)")
        self.start_button.setMinimumHeight(36)
        self.start_button.clicked.connect(self.toggle_session)
        pl.addWidget(self.start_button)

        who = QGroupBox("Participants")
        wl = QVBoxLayout(who)
        self.editors = [ParticipantEditor("you"), ParticipantEditor("partner")]
        self.editors[0].set_state({"kind": "sample recording", "file": "nk_rest5_100hz.csv"})
        self.editors[1].set_state(
            {"kind": "simulated partner", "mode": "follow", "rate": 13.0, "coupling": 1.0}
        )
        for e in self.editors:
            wl.addWidget(e)
        pl.addWidget(who)

        train = QGroupBox("Practice")
        fl = QFormLayout(train)
        self.phase = QComboBox()
        self.phase.addItems(PHASES)
        self.phase.setToolTip("match: fall into step; lead: one changes pace, the other follows; free")
        fl.addRow("training phase", self.phase)
        self.sync_window = QDoubleSpinBox()
        self.sync_window.setRange(WINDOW_MIN_S, WINDOW_MAX_S)
        self.sync_window.setValue(30.0)
        self.sync_window.setSuffix(" s")
        fl.addRow("sync window", self.sync_window)
        self.span = QDoubleSpinBox()
        self.span.setRange(10.0, MAX_SPAN_S)
        self.span.setValue(45.0)
        self.span.setSuffix(" s")
        # A new trace window is drawn at the next frame, also once the session has ended (it waited for the
        # next session: a frame after the end draws only what changed).
        self.span.valueChanged.connect(self._span_changed)
        fl.addRow("trace window", self.span)
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.1, MAX_SPEED)
        self.speed.setValue(1.0)
        self.speed.setPrefix("x ")
        self.speed.setToolTip("replay and simulation speed (real devices: 1)")
        fl.addRow("speed", self.speed)
        pl.addWidget(train)

        rec = QGroupBox("Recording")
        rl = QVBoxLayout(rec)
        self.record_button = QPushButton("Record  (Ctrl+R)")
        self.record_button.setCheckable(True)
        self.record_button.toggled.connect(self._record_toggled)
        rl.addWidget(self.record_button)
        row = QHBoxLayout()
        self.record_dir = QLineEdit(default_record_root())
        self._cli_record_dir: str | None = None  # the folder a --record DIR showed here (not saved)
        self._saved_record_dir: str | None = None  # ... and the one it replaced (saved instead)
        self.record_dir.setToolTip("each recording is a new session folder in here")
        browse = QToolButton()
        browse.setText("…")
        browse.clicked.connect(self._browse_record_dir)
        row.addWidget(self.record_dir)
        row.addWidget(browse)
        rl.addLayout(row)
        self.record_label = QLabel("not recording")
        self.record_label.setWordWrap(True)
        rl.addWidget(self.record_label)
        pl.addWidget(rec)
        pl.addStretch(1)
        # Under the panel, not in it: the panel scrolls on a small screen, the session's clock stays in view.
        self.clock_label = QLabel("")
        self.clock_label.setContentsMargins(9, 0, 9, 9)

        # State, traces, sync.
        self.state = StateIndicator()
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.setBackground("w")
        self.score_widget = pg.PlotWidget(background="w")
        # Its axis' values and the "in sync" key were drawn over each other under 130 px (a small screen).
        self.score_widget.setMinimumHeight(130)
        sp = self.score_widget.getPlotItem()
        sp.setLabel("left", "sync")
        self.score_widget.setToolTip(
            "sync meter: over the dashed line exactly when the pair is in sync (PLV over its chance level, "
            "within 45° of in phase); above it, how locked and how close to in phase; under it, how near: "
            "breathing locked in opposite phase reads 0"
        )
        sp.setLabel("bottom", "session time", units="s")
        sp.setYRange(0, 1.12, padding=0)
        sp.setMouseEnabled(x=False, y=False)
        sp.hideButtons()
        sp.showGrid(x=False, y=True, alpha=0.3)
        # The in-sync line: the meter is over it exactly when the pair is in sync (PairView.meter).
        self.in_sync_line = pg.InfiniteLine(
            pos=METER_IN_SYNC,
            angle=0,
            movable=False,
            pen=pg.mkPen("#009E73", width=1, style=Qt.PenStyle.DashLine),
        )
        sp.addItem(self.in_sync_line)
        self.score_curve = sp.plot(pen=pg.mkPen("#0072B2", width=2), connect="finite")
        self.band_curve = sp.plot(pen=pg.mkPen("#009E73", width=8), connect="finite")
        self.chance_label = pg.TextItem("▬ in sync", color="#007a5a", anchor=(0, 0))
        sp.addItem(self.chance_label)
        self.chance_label.setPos(0, 1.12)
        self.score_title = ""

        self.cue = PartnerCue()
        self.cue_who = QComboBox()
        self.cue_who.setToolTip(
            "whose breathing the cue shows (default: the partner; lead: the leader; a pacer)"
        )
        self.dial = PhaseDial()
        # What the session asks the participants to do now (TrainingView.instruction): large and framed,
        # above the cue, where the people breathing look.
        self.instruction_label = QLabel("")
        self.instruction_label.setWordWrap(True)
        self.instruction_label.setStyleSheet(
            "QLabel { background: #fff4d6; border: 2px solid #E69F00; border-radius: 4px; padding: 6px;"
            " font-size: 13pt; font-weight: bold; color: #202020; }"
        )
        self.instruction_label.setVisible(False)
        self.lead_label = QLabel("")
        self.lead_label.setWordWrap(True)
        self.goal = QProgressBar()
        self.goal.setFormat("goal: %v / %m s in sync")
        self.group_label = QLabel("")

        right = QWidget()
        rl2 = QVBoxLayout(right)
        rl2.setContentsMargins(0, 0, 0, 0)
        cue_row = QHBoxLayout()
        cue_row.addWidget(QLabel("cue:"))
        cue_row.addWidget(self.cue_who, 1)
        rl2.addLayout(cue_row)
        rl2.addWidget(self.instruction_label)
        rl2.addWidget(self.cue, 3)
        rl2.addWidget(self.dial, 3)
        rl2.addWidget(self.goal)
        rl2.addWidget(self.lead_label)
        rl2.addWidget(self.group_label)
        # Scrolled, never squeezed: in a splitter the column was given less than it needs (its wrapped texts'
        # height is not in its minimum), and the cue, the dial, the goal bar and the lead text were drawn over
        # each other. At the sizes the window is made for it needs no scrolling.
        self.right_column = _VerticalScroll(right)

        self.table = _ParticipantTable(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        vh, hh = self.table.verticalHeader(), self.table.horizontalHeader()
        if vh is not None:
            vh.setVisible(False)
        if hh is not None:
            hh.setStretchLastSection(True)
        # Its columns share its width (_ParticipantTable.fit_columns): a column scrolled out of sight is lost.
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # A source's reason for failing says what to do, and the state cell cut it ("failed (lsl: no stream
        # name…"): the cell's tooltip is its whole text, and the reasons are written out in full below.
        self.reasons_label = QLabel("")
        self.reasons_label.setWordWrap(True)
        self.reasons_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reasons_label.setStyleSheet("QLabel { color: #8a2500; }")
        self._reasons_alarm = True
        self.reasons_label.setVisible(False)
        table_box = QWidget()
        tl = QVBoxLayout(table_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.table, 1)
        tl.addWidget(self.reasons_label)
        self.events = QListWidget()
        self.events.setWordWrap(True)  # an instruction or a source's reason is a sentence or two
        self.summary_box = QPlainTextEdit()
        self.summary_box.setReadOnly(True)
        self.summary_box.setMinimumHeight(30)  # it scrolls: room for the other pieces on a small screen
        self.summary_box.setPlaceholderText("The session summary appears here when the session ends.")
        self.save_summary_button = QPushButton("Save summary…")
        self.save_summary_button.setEnabled(False)
        self.save_summary_button.clicked.connect(self._save_summary_clicked)
        summary_page = QWidget()
        sl = QVBoxLayout(summary_page)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.summary_box)
        sl.addWidget(self.save_summary_button)
        self.report_button = QPushButton("HTML report…")
        self.report_button.setToolTip("a self-contained report of the recorded session (breathsync report)")
        self.report_button.setEnabled(False)
        self.report_button.clicked.connect(self._report_clicked)
        self.report_done.connect(self._on_report_done)
        sl.addWidget(self.report_button)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.events, "Events")
        self.tabs.addTab(summary_page, "Summary")

        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(self.layout_widget)
        plots.addWidget(self.score_widget)
        plots.setSizes([460, 170])
        self._middle = QSplitter(Qt.Orientation.Horizontal)
        self._middle.addWidget(plots)
        self._bottom = QSplitter(Qt.Orientation.Horizontal)
        self._bottom.addWidget(table_box)
        main = QWidget()
        ml = QVBoxLayout(main)
        ml.addWidget(self.state)
        self._vs = QSplitter(Qt.Orientation.Vertical)
        self._vs.addWidget(self._middle)
        self._vs.addWidget(self._bottom)
        # The traces, the meter, the table (and in the compact layout the cue's column beside them all).
        self._body = QSplitter(Qt.Orientation.Horizontal)
        self._body.addWidget(self._vs)
        ml.addWidget(self._body, 1)
        # The controls scroll (a small screen); under them, in the compact layout, the events and the summary.
        self.panel = _VerticalScroll(panel)
        left = QWidget()
        self._left = QVBoxLayout(left)
        self._left.setContentsMargins(0, 0, 0, 0)
        self._left.addWidget(self.panel)  # compact: as tall as it is where there is room, the events below
        self._left.addWidget(self.clock_label)
        self._outer = QSplitter(Qt.Orientation.Horizontal)
        self._outer.addWidget(left)
        self._outer.addWidget(main)
        self.setCentralWidget(self._outer)
        # Compact until the window is shown at its size: laid out for a large screen, the window could not be
        # made (or restored, or fitted to the screen) narrower than that layout's minimum.
        self.compact: bool | None = None
        self._shown = False
        self._set_compact(True)
        self.resize(*DEFAULT_SIZE)
        self._fit_screen()

        self.start_shortcut = QShortcut(QKeySequence("F5"), self, self.toggle_session)
        self.record_shortcut = QShortcut(QKeySequence("Ctrl+R"), self, self.record_button.toggle)

    def _fit_screen(self) -> None:
        """No larger than the screen's free area, less a title bar: the default 1400 x 860 ran off a 1366 x 768
        laptop's screen. Not on Qt's offscreen platform, whose screen is no real one: pictures and tests there
        have the size they ask for."""
        if QGuiApplication.platformName() == "offscreen":
            return
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        free = screen.availableGeometry()
        self.resize(min(self.width(), free.width() - 16), min(self.height(), free.height() - 48))

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self._set_compact(self.width() < COMPACT_BELOW[0] or self.height() < COMPACT_BELOW[1])

    def showEvent(self, event: QShowEvent | None) -> None:
        super().showEvent(event)
        if not self._shown:
            # The splitters' shares again, now that they have their sizes (given before, they were scaled
            # to the hidden window's).
            self._shown = True
            self._size_splitters()

    def _set_compact(self, on: bool) -> None:
        """Lay the window out for a small screen (``on``: narrower or shorter than :data:`COMPACT_BELOW`), or
        as on a large one.

        Compact: the column of the instruction, the cue, the dial, the goal and the lead text beside the
        traces, the meter and the table, the whole height under the state line; the events and the summary
        under the controls; each participant's source fields under its label and kind. Laid out as on a
        large screen, at 1024 x 640 the column had 470 px for the 520 it needs and was drawn over itself, the
        table 320 px for its columns, and the window could not be made shorter than 726 px."""
        if on == self.compact:
            return
        self.compact = on
        if on:
            self._body.addWidget(self.right_column)
            self._left.insertWidget(1, self.tabs, 1)
        else:
            self._middle.addWidget(self.right_column)
            self._bottom.addWidget(self.tabs)
        self.right_column.show()
        self.tabs.show()
        for e in self.editors:
            e.set_compact(on)
        if self.editors:
            # Their new widths up to the window now: before the window is first shown Qt does not pass a
            # widget's new size on to the layouts it is in, and the window took the old one for its minimum.
            w: QWidget | None = self.editors[0]
            while w is not None:
                lay = w.layout()
                if lay is not None:
                    lay.invalidate()
                w.updateGeometry()
                w = w.parentWidget()
        self._size_splitters()

    def _size_splitters(self) -> None:
        if not self.compact:
            self._outer.setSizes([428, 972])  # as the controls' minimum width made it, before they scrolled
            self._middle.setSizes([760, 260])
            self._bottom.setSizes([620, 400])
            self._vs.setSizes([640, 150])
            return
        # The controls as narrow as they go (the splitter gives them their minimum width, known only once
        # the editors' new rows are laid out), the cue's column 230 px wide, the table as tall as its rows.
        # (A splitter scales the sizes it is given to its own: given in pixels, they are its pixels.)
        self._outer.setSizes([1, 10_000])
        right_w = max(self.right_column.minimumSizeHint().width(), 230)
        width = max(self._body.width(), right_w + 1)
        self._body.setSizes([width - right_w, right_w])
        self._fit_table_height()

    def _fit_table_height(self) -> None:
        """Compact: the table as tall as its rows (up to 4; 2 of 5 or more, which scroll: their traces need the
        room more), and the reasons under it; the meter and the traces the rest."""
        rows = self.table.rows_height(most=4 if self.table.rowCount() <= 4 else 2)
        if not self.reasons_label.isHidden():
            rows += self.reasons_label.heightForWidth(max(1, self.table.width())) + 6
        height = max(self._vs.height(), rows + 1)
        self._vs.setSizes([height - rows, rows])

    def _set_participants(self, parts: Sequence[ParticipantArg]) -> None:
        while len(self.editors) < len(parts):
            e = ParticipantEditor(f"P{len(self.editors) + 1}")
            e.set_compact(bool(self.compact))
            self.editors.append(e)
            self.editors[0].parentWidget().layout().addWidget(e)  # type: ignore[union-attr]
        for e, p in zip(self.editors, parts, strict=False):
            e.set_spec(p.label, p.spec)
        for e in self.editors[len(parts) :]:
            e.setParent(None)
        self.editors = self.editors[: len(parts)]

    def _layout_participants(self, labels: tuple[str, ...]) -> None:
        """(Re)build the trace plots and table rows for these participants."""
        if labels == self._labels and self._traces:
            # The same people again: keep the plots, clear their data. Rebuilding linked plot items under a
            # shown window crashed Qt (QGraphicsView::paintEvent) with 8 participants.
            for tr in self._traces.values():
                tr.reset()
            self._table_cache.clear()
            return
        self._labels = labels
        for tr in self._traces.values():
            tr.plot.setXLink(None)
            self._retired.append(tr.plot)  # keep the Python side alive while the scene lets go of it
        self.layout_widget.clear()
        self._traces.clear()
        first: pg.PlotItem | None = None
        for i, label in enumerate(labels):
            plot = self.layout_widget.addPlot(row=i, col=0)
            plot.setLabel("left", label)
            plot.hideButtons()
            plot.setMouseEnabled(x=False, y=False)
            left = plot.getAxis("left")
            left.setWidth(48)
            left.enableAutoSIPrefix(False)
            left.setStyle(showValues=False)  # arbitrary units: the shape is what matters
            # Kept as a picture of itself: it is repainted with its trace every frame as the trace scrolls
            # (it reaches into the plot by its ticks), but changes only with the trace's y range.
            left.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            if i < len(labels) - 1:
                # One time axis, under the last trace: an axis scrolling with the traces costs as much to
                # draw as a trace (its ticks are worked out again every frame), and all but the last one
                # only drew tick marks and a grid (8 participants, tried alone: 14 frames a second with
                # them, 19 without). No grid on the last either: a grid on one trace of several read as a
                # difference between them.
                plot.hideAxis("bottom")
                # Hidden, it still followed every scroll: its unit prefix worked out and its label's HTML
                # set again, every frame.
                plot.getAxis("bottom").enableAutoSIPrefix(False)
            else:
                plot.setLabel("bottom", "session time", units="s")
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            self._traces[label] = _Trace(plot, TRACE_COLORS[i % len(TRACE_COLORS)])
        self.table.setRowCount(len(labels))
        self._table_cache.clear()
        if self.compact:
            self._fit_table_height()
        current = self.cue_who.currentText()
        self.cue_who.blockSignals(True)
        self.cue_who.clear()
        self.cue_who.addItem("auto")
        self.cue_who.addItems(labels)
        i = self.cue_who.findText(current)
        self.cue_who.setCurrentIndex(max(i, 0))
        self.cue_who.blockSignals(False)

    # --------------------------------------------------------------------------------- session
    @property
    def running(self) -> bool:
        return self.runner.running

    def participant_args(self) -> list[ParticipantArg]:
        return [parse_participant(f"{e.label.text().strip()}={e.spec_text()}") for e in self.editors]

    def session_config(self) -> SessionConfig:
        phase = self.phase.currentText()
        leader = self.leader if phase == "lead" else None
        return SessionConfig(
            window_s=self.sync_window.value(), phase=phase, goal_s=self.goal_s, leader=leader
        )

    def start_session(self, session: Session | None = None, record_path: str | None = None) -> None:
        """Start a session with the chosen sources and settings (built and run on the session thread).

        ``session``: run this one instead (already built, e.g. by the command line, which checks its
        sources before opening the window). ``record_path``: record into exactly this new folder.
        """
        if self.running:
            return
        if session is not None:
            labels = tuple(str(p["label"]) for p in session.describe().participants)
            given = session

            def factory() -> Session:
                return given

        else:
            try:
                parts = self.participant_args()
                config = self.session_config()
            except Exception as e:
                self._on_failed(str(e))
                return
            speed = self.speed.value()
            labels = tuple(p.label for p in parts)
            invert = [x for x in self.invert if x in labels]

            prepare = self.prepare

            def factory() -> Session:
                built = build_session(parts, speed=speed, config=config, invert=invert)
                if prepare is not None:
                    prepare(built)
                return built

        self._save_settings()
        self.latest = None
        self.summary = None
        self.summary_text = ""
        self.summary_box.clear()
        self.save_summary_button.setEnabled(False)
        self.report_button.setEnabled(False)
        self.events.clear()
        self._sync_rings = {}
        self._sync = Ring(SYNC_POINTS, 6)
        self._sync_pair = None
        # The meter, its title and the dial forget the session before (they showed its curve until the new
        # pair's first point, and a session of one person never had one).
        self._sync_drawn = None
        self.score_curve.setData([], [])
        self.band_curve.setData([], [])
        self.score_title = ""
        self.score_widget.getPlotItem().setTitle("")
        empty = np.empty(0)
        self.dial.set_values(math.nan, math.nan, math.nan, (empty, empty, empty))
        self._layout_participants(labels)
        if record_path is not None:
            self.record_button.blockSignals(True)
            self.record_button.setChecked(True)
            self.record_button.blockSignals(False)
            # The folder the recordings go into is the one --record named, for a later Record of this run too
            # (it showed ~/breathsync-recordings while the session recorded elsewhere); not saved as the
            # user's folder for later runs (_save_settings keeps the one before).
            if self._saved_record_dir is None:
                self._saved_record_dir = self.record_dir.text()
            self._cli_record_dir = os.path.dirname(os.path.abspath(record_path))
            self.record_dir.setText(self._cli_record_dir)
        record = record_path or (self._new_record_folder() if self.record_button.isChecked() else None)
        # This session's recording, none until it starts: kept from the session before, an unrecorded session
        # said "recorded to" that one's folder, and "HTML report…" wrote that one's report.
        self._rec_state, self._rec_path = "off", ""
        self.record_label.setText(f"starting… {record}" if record else "not recording")
        self._rec_t0 = math.nan
        self.runner.start(factory, self.duration_s, record)
        self.start_button.setText("Stop  (F5)")
        self.state.set_state("warmup", "starting")
        self._set_editing(False)

    def stop_session(self, why: str = DASHBOARD_STOP) -> None:
        self.runner.stop(why)

    def toggle_session(self) -> None:
        if self.running:
            self.stop_session()
        else:
            self.start_session()

    def _set_editing(self, on: bool) -> None:
        for w in (*self.editors, self.phase, self.sync_window, self.speed):
            w.setEnabled(on)

    def _on_failed(self, text: str) -> None:
        self.state.set_state("no_signal", "cannot start")
        self.events.addItem(f"error: {text}")
        self._status(text)
        self.start_button.setText("Start  (F5)")
        self._set_editing(True)

    def _on_finished(self, final: Snapshot | None, summary: dict[str, Any]) -> None:
        if final is not None:
            self.latest = final
            self._dirty = True
        self.summary = summary
        lines = summary_lines(summary)
        if final is not None:
            lines.insert(0, f"session length {clock_text(final.t_s)}")
            for a in final.alarms:
                lines.append(f"alarm: {a}")
        self.summary_text = "\n".join(lines)
        self.summary_box.setPlainText(self.summary_text)
        self.save_summary_button.setEnabled(True)
        self.report_button.setEnabled(self.recorded_folder() is not None)
        self.tabs.setCurrentIndex(1)
        self.start_button.setText("Start  (F5)")
        self._set_editing(True)
        self.redraw()
        self.session_finished.emit()

    # ---------------------------------------------------------------------------------- recording
    def _new_record_folder(self) -> str:
        root = self.record_dir.text().strip() or default_record_root()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = os.path.join(root, f"session-{stamp}")
        n = 2
        while os.path.exists(path):
            path = os.path.join(root, f"session-{stamp}-{n}")
            n += 1
        return path

    def _record_toggled(self, on: bool) -> None:
        if not self.running:
            self.record_label.setText("records when the session starts" if on else "not recording")
            return
        if on:
            path = self._new_record_folder()
            self._rec_t0 = math.nan
            self.runner.start_recording(path)
            self.record_label.setText(f"starting… {path}")
        else:
            self.runner.stop_recording()

    def _on_recording(self, state: str, text: str) -> None:
        self._rec_state = state
        if state == "started":
            self._rec_path = text
            self._rec_t0 = self.latest.t_s if self.latest is not None else 0.0
            self.record_label.setText(f"● REC 0:00  {text}")
        elif state == "stopped":
            self.record_label.setText(f"recorded to {text}")
        else:
            # The recorder's own words begin with it (Recorder.error): said once, not "recording stopped:
            # recording stopped: No space left on device".
            why = text.removeprefix("recording stopped: ")
            self.record_label.setText(f"recording stopped: {why}")
            self.events.addItem(f"recording stopped: {why}")
        if state != "started" and self.record_button.isChecked():
            self.record_button.blockSignals(True)
            self.record_button.setChecked(False)
            self.record_button.blockSignals(False)

    def _browse_record_dir(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder for recordings", self.record_dir.text())
        if d:
            self.record_dir.setText(d)

    # ---------------------------------------------------------------------------------- snapshots
    def _on_snapshot(self, snap: Snapshot) -> None:
        """Runs in the UI thread for every snapshot: store, do not draw."""
        labels = tuple(p.label for p in snap.participants)
        if labels != self._labels:
            self._layout_participants(labels)
        for p in snap.participants:
            tr = self._traces[p.label]
            if p.new_t.size:
                tr.ring.add(p.new_t, p.new_wave)
        for q in snap.pairs:
            ring = self._sync_rings.get((q.a, q.b))
            if ring is None:
                ring = self._sync_rings[(q.a, q.b)] = Ring(SYNC_POINTS, 6)
            last_t = ring.last(0)
            # Each window at the time it ends (PairView.window_end_s, analyze's t_s), not when the snapshot
            # came: after a strap reconnected, the windows ending at 73.5-79.6 s came at 82.8 s and were
            # drawn there, an in-sync band of their own.
            end = q.window_end_s
            if not math.isfinite(end) and math.isfinite(q.plv):
                end = snap.t_s  # figures without their window's end (a session always gives it with them)
            if not math.isfinite(end):
                # No window (one of the pair has no signal): a gap in the meter, from its last point on.
                if math.isfinite(last_t) and math.isfinite(ring.last(1)):
                    ring.append(last_t, *(math.nan,) * 5)
                continue
            if not math.isfinite(last_t) or end - last_t >= SYNC_STEP_S or (snap.final and end > last_t):
                band = 1.06 if q.in_sync else math.nan
                # The meter, not the raw score: locked in opposite phase is not in sync (PairView.meter).
                ring.append(end, q.meter, band, q.plv, q.rel_phase_rad, q.null_plv)
        pv = self._main_pair(snap)
        if pv is not None and self._sync_pair != (pv.a, pv.b):
            self._sync_pair = (pv.a, pv.b)
            self._sync = self._sync_rings[(pv.a, pv.b)]
            self.dial.set_pair(pv.a, pv.b)
        for e in snap.events:
            self.events.addItem(f"{clock_text(e.t_s)}  {e.text}")
        while self.events.count() > 200:
            self.events.takeItem(0)
        if snap.events:
            self.events.scrollToBottom()
        if self._rec_state == "started" and math.isnan(self._rec_t0):
            self._rec_t0 = snap.t_s
        self.latest = snap
        self._dirty = True

    def _main_pair(self, snap: Snapshot) -> PairView | None:
        """The pair the sync plot and the dial show: the lead pair in the lead phase; else one with the
        participant the "cue" box names; else the session's (TrainingView.pair: the pair whose run in sync
        the goal bar counts, so that the plot and the bar are about one pair; for two people, the pair)."""
        if not snap.pairs:
            return None
        tr = snap.training
        if tr.phase == "lead" and tr.leader and tr.follower:
            for pv in snap.pairs:
                if {pv.a, pv.b} == {tr.leader, tr.follower}:
                    return pv
        cue = self.cue_who.currentText()
        if cue in self._labels:
            for pv in snap.pairs:
                if cue in (pv.a, pv.b):
                    return pv
        if tr.pair is not None:
            for pv in snap.pairs:
                if (pv.a, pv.b) == tr.pair:
                    return pv
        return snap.pairs[0]

    def _cue(self, snap: Snapshot) -> tuple[str, str]:
        """Whose breathing the cue shows and its title (:func:`breathsync.session_types.cue_choice`; the
        "cue" box's choice, when it names a participant, wins), from the snapshot and the session's
        description (whom each simulated follower follows)."""
        return cue_choice(snap, self.cue_who.currentText(), self.runner.info)

    # ------------------------------------------------------------------------------------- drawing
    def _span_changed(self, _value: float) -> None:
        self._dirty = True

    def redraw(self) -> None:
        """One frame (the timer calls it). While a session runs the traces scroll with the session clock
        every frame; the data, the dial, the cue and the texts change when a new snapshot has come."""
        snap = self.latest
        if snap is None:
            return
        session = self.runner.session
        live = self.running and session is not None and not snap.final
        if not (self._dirty or live):
            return
        self.frames += 1
        span = self.span.value()
        t_end = max(snap.t_s, session.clock.now()) if live and session is not None else snap.t_s
        if self._traces:
            # The session starts at 0: until a whole trace window has passed, the traces grow from the left
            # edge (the axis showed negative session times).
            x0 = max(0.0, t_end - span)
            next(iter(self._traces.values())).plot.setXRange(x0, x0 + span, padding=0)
        if self._dirty:
            self._dirty = False
            for p in snap.participants:
                tr = self._traces.get(p.label)
                if tr is None:
                    continue
                tr.draw(span)
                rate = f"{p.rate_bpm:.1f} breaths/min" if math.isfinite(p.rate_bpm) else "rate -"
                # A source that ended (its file's end) is over, not lost (the state line says which it is);
                # either way its rate is gone ("B: rate -  ended" read as a rate of "ended").
                state = "ended" if p.source_status == "ended" else "NO SIGNAL"
                title = f"{p.label}: {rate if p.receiving else state}"
                if title != tr.title:
                    tr.title = title
                    tr.plot.setTitle(title, justify="left", size="10pt")
            self._draw_sync(snap)
            self._draw_side(snap)
            self._draw_table(snap)
        # What pyqtgraph does as a plot starts to paint (the y ranges the new data call for, the scrolled
        # views' transforms), done now: done in the paint, it moved the items again and Qt painted the plots
        # a second time, every frame.
        for view in (self.layout_widget, self.score_widget):
            scene = view.scene()
            if scene is not None:
                scene.prepareForPaint()

    def _draw_sync(self, snap: Snapshot) -> None:
        n = min(self._sync.count, self._sync.capacity)
        # The meter, its time axis and the dial change only with a new point of the shown pair's history
        # (at most one per SYNC_STEP_S of session time) or another pair: redrawn and repainted on every
        # snapshot, they cost as much as four traces for nothing new on screen.
        if n and self._sync_drawn != (self._sync, self._sync.count):
            self._sync_drawn = (self._sync, self._sync.count)
            t = self._sync.view(0)[-n:]
            self.score_curve.setData(t, self._sync.view(1)[-n:], connect="finite")
            self.band_curve.setData(t, self._sync.view(2)[-n:], connect="finite")
            # From the session's start (its first window ends a window's length later), until the history
            # holds only its last SYNC_POINTS.
            x0 = float(t[0]) if self._sync.count > self._sync.capacity else 0.0
            x1 = max(float(t[-1]), x0 + 60.0)
            self.score_widget.getPlotItem().setXRange(x0, x1, padding=0.01)
            self.chance_label.setPos(x0, 1.14)
            # The dial's trail: the last minute, fading with age.
            tt = self._sync.view(0)[-n:]
            k = int(np.searchsorted(tt, tt[-1] - TRAIL_S))
            ages = (tt[-1] - tt[k:]) / TRAIL_S
            self.dial.set_values(
                self._sync.last(3),
                self._sync.last(4),
                self._sync.last(5),
                (ages, self._sync.view(3)[-n:][k:], self._sync.view(4)[-n:][k:]),
            )
        pv = self._main_pair(snap)
        if pv is not None:
            title = f"{pv.a}-{pv.b}: in sync {clock_text(pv.time_in_sync_s)} so far"
            if title != self.score_title:
                self.score_title = title
                self.score_widget.getPlotItem().setTitle(title, justify="left", size="10pt")

    def _draw_side(self, snap: Snapshot) -> None:
        session = self.runner.session
        window_s = session.config.window_s if session is not None else self.sync_window.value()
        self.state.set_state(*sync_state(snap, window_s))
        who, cue_title = self._cue(snap)
        p = snap.participant(who)
        note = "no signal" if not p.receiving else quality_words(p.quality)
        self.cue.set_phase(p.phase_rad, who, note, cue_title)
        tr = snap.training
        if tr.phase == "match":
            self.goal.setVisible(True)
            self.goal.setMaximum(max(1, round(tr.goal_s)))
            # Once reached, a full bar (the run in sync that follows is not the goal's progress).
            # Whole seconds as clock_text counts them (a stopwatch's): rounded, 7.6 s read "8 / 60 s" beside
            # the pair's "in sync 0:07".
            self.goal.setValue(
                round(tr.goal_s) if tr.goal_reached else min(int(tr.progress_s + 1e-6), round(tr.goal_s))
            )
            self.goal.setFormat(
                f"goal reached at {clock_text(tr.goal_reached_at_s)} ✓"
                if tr.goal_reached
                else "goal: %v / %m s in sync"
            )
        else:
            self.goal.setVisible(False)
        if self.instruction_label.text() != tr.instruction:
            self.instruction_label.setText(tr.instruction)
            self.instruction_label.setVisible(bool(tr.instruction))
        # The verdict is the session's (TrainingView.following): the view only words it.
        self.lead_label.setText("\n".join(lead_lines(snap)))
        self.group_label.setText(
            group_order_text(snap.group_r, snap.group_chance) if math.isfinite(snap.group_r) else ""
        )
        if self._rec_state == "started":
            el = snap.t_s - self._rec_t0 if math.isfinite(self._rec_t0) else 0.0
            self.record_label.setText(f"● REC {clock_text(el)}  {self._rec_path}")
        speed = self.runner.session.clock.speed if self.runner.session is not None else 1.0
        clock = f"session {clock_text(snap.t_s)}" + (f"  (x{speed:g})" if speed != 1 else "")
        if self.clock_label.text() != clock:
            self.clock_label.setText(clock)

    def _draw_table(self, snap: Snapshot) -> None:
        reasons: list[str] = []
        for row, p in enumerate(snap.participants):
            state = p.source_status + (f" ({p.status_reason})" if p.status_reason else "")
            if not p.receiving and p.source_status == "streaming":
                state = "no signal"
            quality = quality_words(p.quality) if p.receiving else "-"
            if p.inverted_suspected:
                quality += " (inverted?)"
            if p.sign_basis == "guess" and p.receiving:
                quality += " (direction unconfirmed)"
            rate = f"{p.rate_bpm:.1f}/min" if math.isfinite(p.rate_bpm) else "-"
            battery = f"{p.battery_pct:.0f}%" if p.battery_pct is not None else "n/a"
            if p.status_reason and p.source_status != "streaming":
                reasons.append(f"{p.label} ({p.source}) {p.source_status}: {p.status_reason}")
            for col, text in enumerate((p.label, p.source, state, quality, rate, battery)):
                if self._table_cache.get((row, col)) != text:
                    self._table_cache[(row, col)] = text
                    item = self.table.item(row, col)
                    if item is None:
                        item = QTableWidgetItem(text)
                        self.table.setItem(row, col, item)
                    else:
                        item.setText(text)
                    item.setToolTip(text)
        text = "\n".join(reasons)
        if self.reasons_label.text() != text:
            self.reasons_label.setText(text)
            self.reasons_label.setVisible(bool(text))
            if self.compact:
                self._fit_table_height()  # the table's rows stay in view above the reasons
        # In the alarm's colour while the state is one ("no signal from B"); a source that ended with the
        # session ("you … ended: end of the recording" at the demo's end) is no alarm.
        alarm = self.state.kind == "no_signal"
        if alarm != self._reasons_alarm:
            self._reasons_alarm = alarm
            self.reasons_label.setStyleSheet(f"QLabel {{ color: {'#8a2500' if alarm else '#404040'}; }}")

    def _status(self, text: str) -> None:
        bar = self.statusBar()
        if bar is not None:
            bar.showMessage(text)

    # --------------------------------------------------------------------------------- summary, files
    def save_summary(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write the session summary as ``<path>.json`` and ``<path>.txt``; returns both paths."""
        if self.summary is None:
            raise RuntimeError("no session summary yet")
        base = Path(path)
        if base.suffix in (".json", ".txt"):
            base = base.with_suffix("")
        js, txt = base.with_suffix(".json"), base.with_suffix(".txt")
        doc = {"summary": self.summary, "text": self.summary_text.splitlines()}
        # Health data like every other output: readable by the owner only (csvfile's helper, atomic).
        write_private_text(js, json.dumps(doc, indent=2, allow_nan=False) + "\n")
        write_private_text(txt, self.summary_text + "\n")
        return js, txt

    def _save_summary_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save session summary", "session-summary.json", "JSON (*.json)"
        )
        if path:
            try:
                js, txt = self.save_summary(path)
            except OSError as e:
                self._status(f"cannot save the summary: {e.strerror}")
            else:
                self._status(f"saved {js} and {txt}")

    def recorded_folder(self) -> str | None:
        """The folder the last session was recorded to, when it was and the recording is complete."""
        path = self._rec_path
        if (
            path
            and self._rec_state in ("started", "stopped")
            and os.path.isfile(os.path.join(path, "session.json"))
        ):
            return path
        return None

    def save_report(
        self, out: str | os.PathLike[str], window_s: float | None = None
    ) -> threading.Thread | None:
        """Write the HTML report of the recorded session, on a worker thread (the UI never waits on files).

        ``window_s``: score it with this sync window; None (the button): with the window its session used
        (session.json), as ``breathsync report`` does, whatever the sync window box says now.
        ``report_done(str)`` is emitted with the file (or "error: ...") when it is written, always: an
        unexpected exception is logged with its traceback and reported as an internal error."""
        folder = self.recorded_folder()
        if folder is None:
            return None

        def work() -> None:
            from breathsync.errors import InputError
            from breathsync.report import write_report

            try:
                write_report([folder], str(out), window_s=window_s)
            except (InputError, OSError) as e:
                self.report_done.emit(f"error: {e}")
            except Exception as e:  # a bug: the UI waiting for report_done must still hear of it
                log.exception("the report of %s failed", folder)
                self.report_done.emit(
                    f"error: internal error ({type(e).__name__}: {e}): a bug in breathsync, please report it"
                )
            else:
                self.report_done.emit(str(out))

        th = threading.Thread(target=work, name="report", daemon=True)
        th.start()
        return th

    def _report_clicked(self) -> None:
        folder = self.recorded_folder()
        if folder is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save HTML report", os.path.join(folder, "report.html"), "HTML (*.html)"
        )
        if path:
            self._status("writing the report…")
            self.save_report(path)

    def _on_report_done(self, text: str) -> None:
        self._status(text if text.startswith("error") else f"wrote {text}")

    def save_screenshot(self, path: str | os.PathLike[str]) -> bool:
        """Save a picture of the window (PNG by the file's extension), readable by its owner only like every
        other output (it shows health data); when that fails, ``screenshot_error`` says why."""
        from PyQt6.QtCore import QBuffer, QByteArray, QIODevice
        from PyQt6.QtGui import QImageWriter

        self.redraw()
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        fmt = Path(path).suffix.lstrip(".").lower() or "png"
        writer = QImageWriter(buf, fmt.encode("ascii", "replace"))
        ok = bool(writer.write(self.grab().toImage()))
        buf.close()
        self.screenshot_error = "" if ok else (writer.errorString() or "the picture could not be written")
        if ok:
            try:
                write_private_bytes(path, bytes(data.data()))
            except OSError as e:
                ok = False
                self.screenshot_error = e.strerror or str(e)
        return ok

    # --------------------------------------------------------------------------------- settings
    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("phase", self.phase.currentText())
        s.setValue("window_s", self.sync_window.value())
        s.setValue("span_s", self.span.value())
        s.setValue("speed", self.speed.value())
        shown = self.record_dir.text()
        # A folder --record put there is this run's, not the user's choice: the one before is kept.
        kept = (
            self._saved_record_dir
            if shown == self._cli_record_dir and self._saved_record_dir is not None
            else shown
        )
        s.setValue("record_dir", kept)
        s.setValue("participants", json.dumps([e.state() for e in self.editors]))
        s.setValue("geometry", self.saveGeometry())
        # The editors hold device addresses and recording paths: the owner's only, as every recording is.
        # Made so before the first write (Qt then keeps the mode of the file it replaces); on macOS the
        # file belongs to the system's preferences service, and on Windows the settings are in the
        # registry (no file), so there it is only restricted after the write.
        path = s.fileName()
        if os.name == "posix" and sys.platform != "darwin" and path and not os.path.exists(path):
            with contextlib.suppress(OSError):
                os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._restrict(path)  # one an earlier release left 0644, before this write too
        s.sync()
        self._restrict(path)

    @staticmethod
    def _restrict(path: str) -> None:
        if os.path.isfile(path):
            with contextlib.suppress(OSError):  # a file system without modes: nothing to restrict
                os.chmod(path, 0o600)

    def _load_settings(self) -> None:
        s = self.settings

        def num(key: str, default: float) -> float:
            try:
                return float(s.value(key, default))
            except (TypeError, ValueError):
                return default

        phase = str(s.value("phase", "match"))
        if phase in PHASES:
            self.phase.setCurrentText(phase)
        self.sync_window.setValue(num("window_s", 30.0))
        self.span.setValue(num("span_s", 45.0))
        self.speed.setValue(num("speed", 1.0))
        self.record_dir.setText(str(s.value("record_dir", default_record_root())))
        try:
            parts = json.loads(str(s.value("participants", "[]")))
        except ValueError:
            parts = []
        if isinstance(parts, list) and len(parts) == len(self.editors):
            for e, d in zip(self.editors, parts, strict=True):
                if isinstance(d, dict):
                    e.set_state(d)
        geometry = s.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)

    def closeEvent(self, event: QCloseEvent | None) -> None:
        self._save_settings()
        self.timer.stop()
        if self.running:
            self.runner.stop(WINDOW_CLOSED)
            self.runner.wait(10.0)
        super().closeEvent(event)
        self.closed.emit()
