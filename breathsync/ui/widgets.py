"""The dashboard's own drawn widgets: the partner cue, the relative-phase dial and the state indicator.

They draw values they are given (a phase, a PLV and a relative phase, a state): no signal processing.
"""

from __future__ import annotations

import math

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, QSize, Qt
from PyQt6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPen, QPolygonF
from PyQt6.QtWidgets import QSizePolicy, QWidget

from breathsync.dsp._types import FloatArray
from breathsync.session_types import StateKind, degrees_text, locked_text

__all__ = ["STATE_STYLES", "PartnerCue", "PhaseDial", "StateIndicator"]

# Colour-blind-safe colours (Okabe-Ito); every state also has its own shape and fill pattern.
BLUE = QColor("#0072B2")
ORANGE = QColor("#E69F00")
VERMILION = QColor("#D55E00")
GREY = QColor("#8a8a8a")
SKY = QColor("#56B4E9")
INK = QColor("#202020")

#: state kind (:data:`breathsync.session_types.StateKind`) -> (background colour, fill pattern, shape drawn
#: beside the text)
STATE_STYLES: dict[StateKind, tuple[QColor, Qt.BrushStyle, str]] = {
    "in_sync": (BLUE, Qt.BrushStyle.SolidPattern, "disc"),
    "finding": (ORANGE, Qt.BrushStyle.Dense4Pattern, "ring"),
    "warmup": (GREY, Qt.BrushStyle.Dense6Pattern, "triangle"),
    "no_signal": (VERMILION, Qt.BrushStyle.BDiagPattern, "cross"),
    "idle": (GREY, Qt.BrushStyle.NoBrush, "square"),
}


class StateIndicator(QWidget):
    """A large state line: colour, fill pattern and shape all differ between states, so it reads without
    colour vision (and in grey-scale print)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind: StateKind = "idle"
        self.text = "not started"
        self.setMinimumHeight(72)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_state(self, kind: StateKind, text: str) -> None:
        """Show a state: its ``kind`` (a value, never read from the words) sets the colour, pattern and
        shape."""
        if (kind, text) != (self.kind, self.text):
            self.kind, self.text = kind, text
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(360, 80)

    def paintEvent(self, event: QPaintEvent | None) -> None:
        color, pattern, shape = STATE_STYLES.get(self.kind, STATE_STYLES["idle"])
        p = QPainter(self)
        r = QRectF(self.rect()).adjusted(2, 2, -2, -2)
        light = QColor(color)
        light.setAlpha(70)
        p.fillRect(r, QColor("white"))
        p.fillRect(r, light)
        if pattern is not Qt.BrushStyle.NoBrush:
            p.fillRect(r, QBrush(color, pattern))
        border = QPen(
            color.darker(150), 4, Qt.PenStyle.SolidLine if self.kind == "in_sync" else Qt.PenStyle.DashLine
        )
        p.setPen(border)
        p.drawRect(r)
        # The shape, in a white disc so it stands out on any pattern.
        s = min(r.height() - 16, 56.0)
        box = QRectF(r.left() + 10, r.center().y() - s / 2, s, s)
        p.setPen(QPen(INK, 1))
        p.setBrush(QColor("white"))
        p.drawEllipse(box.adjusted(-4, -4, 4, 4))
        p.setPen(QPen(INK, 5))
        inner = box.adjusted(s * 0.18, s * 0.18, -s * 0.18, -s * 0.18)
        if shape == "disc":
            p.setBrush(INK)
            p.drawEllipse(inner)
        elif shape == "ring":
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(inner)
        elif shape == "cross":
            p.drawLine(inner.topLeft(), inner.bottomRight())
            p.drawLine(inner.topRight(), inner.bottomLeft())
        elif shape == "triangle":
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPolygon(
                QPolygonF([QPointF(inner.center().x(), inner.top()), inner.bottomRight(), inner.bottomLeft()])
            )
        else:
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(inner)
        # The text, on a white band.
        text_rect = QRectF(box.right() + 16, r.top() + 8, r.right() - box.right() - 26, r.height() - 16)
        f, text = self.fitted_text(text_rect.width(), r.height())
        p.setFont(f)
        band = p.fontMetrics().boundingRect(text)
        p.fillRect(
            QRectF(
                text_rect.left() - 6,
                r.center().y() - band.height() / 2 - 4,
                band.width() + 12,
                band.height() + 8,
            ),
            QColor(255, 255, 255, 225),
        )
        p.setPen(INK)
        p.drawText(text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
        p.end()

    def fitted_text(self, width: float, height: float) -> tuple[QFont, str]:
        """The font and the words drawn in a text area ``width`` wide in a banner ``height`` high: large (up to
        28 pt), smaller where the words would not fit the width (a small laptop screen: down to 10 pt), cut
        short with "…" only beyond that."""
        f = QFont(self.font())
        f.setBold(True)
        size = max(14.0, min(28.0, height * 0.32))
        f.setPointSizeF(size)
        while size > 10.0 and QFontMetricsF(f).horizontalAdvance(self.text) > width:
            size = max(10.0, size - 1.0)
            f.setPointSizeF(size)
        text = QFontMetricsF(f).elidedText(self.text, Qt.TextElideMode.ElideRight, max(0.0, width))
        return f, text


class PartnerCue(QWidget):
    """A disc that grows while the person it shows (the partner to breathe with; a leader: their own
    breathing) breathes in and shrinks while they breathe out, under a title saying whose it is.

    Its size is ``(1 - cos phase) / 2`` of the way from the smallest to the largest disc (phase 0: inhale
    onset, smallest; pi: end of inhale, largest), so breathing with it means breathing with the partner.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.phase_rad = math.nan
        self.who = ""
        self.title = ""
        self.note = "waiting"

    def set_phase(self, phase_rad: float, who: str, note: str = "", title: str | None = None) -> None:
        """Show ``who``'s phase; ``title`` above the disc (default "breathe with WHO")."""
        title = f"breathe with {who}" if title is None and who else (title or "")
        if (phase_rad, who, note, title) != (self.phase_rad, self.who, self.note, self.title) and not (
            math.isnan(phase_rad)
            and math.isnan(self.phase_rad)
            and (who, note, title) == (self.who, self.note, self.title)
        ):
            self.phase_rad, self.who, self.note, self.title = phase_rad, who, note, title
            self.update()

    @property
    def fill(self) -> float:
        """How full the disc is, 0-1 (NaN when the phase is unknown)."""
        return (1.0 - math.cos(self.phase_rad)) / 2.0 if math.isfinite(self.phase_rad) else math.nan

    def sizeHint(self) -> QSize:
        # No taller than its minimum: the column it is in shares its height between it and the dial (equal
        # stretch), and scrolls when its preferred height does not fit (a scroll area takes a column's
        # preferred height for its least).
        return QSize(220, self.minimumSizeHint().height())

    def _bold(self) -> QFont:
        f = QFont(self.font())
        f.setBold(True)
        return f

    def _line(self) -> float:
        """The height of the title's and the word's bands: the font's line and some room (22 px at 9 pt)."""
        return max(22.0, math.ceil(QFontMetricsF(self._bold()).height()) + 6.0)

    def minimumSizeHint(self) -> QSize:
        # The title, the word and a disc between them of at least 60 px (it was 160 x 160 whatever the font,
        # which on a small screen the layout could not give: the cue was drawn over the dial under it).
        return QSize(120, round(2 * self._line() + 64))

    def regions(self) -> dict[str, QRectF]:
        """Where the title, the disc (its largest size) and the word under it are drawn, the texts as wide as
        they are: placed from the font's height, so that at any size they stay apart and inside the widget."""
        w, h = float(self.width()), float(self.height())
        line = self._line()
        c, r_max = self._disc(w, h, line)
        fm = QFontMetricsF(self._bold())
        word = self._word()
        return {
            "title": self._text_box(fm, self._title_text(fm, w), QRectF(0, 0, w, line)),
            "disc": QRectF(c.x() - r_max - 2, c.y() - r_max - 2, 2 * r_max + 4, 2 * r_max + 4),
            "word": self._text_box(
                fm, fm.elidedText(word, Qt.TextElideMode.ElideRight, w), QRectF(0, h - line, w, line)
            ),
        }

    @staticmethod
    def _text_box(fm: QFontMetricsF, text: str, band: QRectF) -> QRectF:
        width = fm.horizontalAdvance(text)
        return QRectF(band.center().x() - width / 2, band.center().y() - fm.height() / 2, width, fm.height())

    @staticmethod
    def _disc(w: float, h: float, line: float) -> tuple[QPointF, float]:
        room = h - 2 * line
        return QPointF(w / 2, line + room / 2), max(4.0, min(w, room) / 2 - 6)

    def _title_text(self, fm: QFontMetricsF, w: float) -> str:
        return fm.elidedText(self.title, Qt.TextElideMode.ElideRight, w)

    def _word(self) -> str:
        if math.isfinite(self.fill):
            return "breathe in" if self.phase_rad % (2 * math.pi) < math.pi else "breathe out"
        return self.note or "waiting"

    def paintEvent(self, event: QPaintEvent | None) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w, h = float(self.width()), float(self.height())
        line = self._line()
        c, r_max = self._disc(w, h, line)
        r_min = 0.25 * r_max
        p.setPen(QPen(GREY, 1, Qt.PenStyle.DashLine))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(c, r_max, r_max)
        p.drawEllipse(c, r_min, r_min)
        fill = self.fill
        if math.isfinite(fill):
            r = r_min + (r_max - r_min) * fill
            inhale = self.phase_rad % (2 * math.pi) < math.pi
            p.setPen(QPen(BLUE.darker(130), 3))
            p.setBrush(QBrush(SKY if inhale else BLUE))
            p.drawEllipse(c, r, r)
        p.setPen(INK)
        f = self._bold()
        p.setFont(f)
        fm = QFontMetricsF(f)
        center = int(Qt.AlignmentFlag.AlignCenter)
        p.drawText(QRectF(0, 0, w, line), center, self._title_text(fm, w))
        p.drawText(
            QRectF(0, h - line, w, line), center, fm.elidedText(self._word(), Qt.TextElideMode.ElideRight, w)
        )
        p.end()


class PhaseDial(QWidget):
    """Relative phase as an angle (0 at the top: together; clockwise: the first of the pair breathes first)
    and the PLV as the length of the needle (the rim is 1); the last minute as a fading trail of dots."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.a, self.b = "A", "B"
        self.plv = math.nan
        self.rel_rad = math.nan
        self.null_plv = math.nan
        self._trail = (np.empty(0), np.empty(0), np.empty(0))  # ages 0-1, plv, rel

    def set_pair(self, a: str, b: str) -> None:
        self.a, self.b = a, b
        self.updateGeometry()  # the side labels' widths are in the minimum size
        self.update()

    def set_values(
        self, plv: float, rel_rad: float, null_plv: float, trail: tuple[FloatArray, FloatArray, FloatArray]
    ) -> None:
        """Current PLV and relative phase; ``trail`` = (age as a fraction of the trail span, plv, rel)."""
        self.plv, self.rel_rad, self.null_plv = plv, rel_rad, null_plv
        self._trail = trail
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(220, self.minimumSizeHint().height())  # as the cue's

    def _line(self) -> float:
        """The height of a line of the dial's text (16 px at 9 pt)."""
        return max(16.0, math.ceil(QFontMetricsF(self.font()).height()) + 1.0)

    def minimumSizeHint(self) -> QSize:
        # "together", the caption and a dial of at least 80 px between them; as wide as the two side labels
        # need beside each other (it was 180 x 180 whatever the font: on a small screen the layout could not
        # give it, and the goal bar and the lead text were drawn over the caption).
        line = self._line()
        fm = QFontMetricsF(self.font())
        sides = fm.horizontalAdvance(f"{self.a} first") + fm.horizontalAdvance(f"{self.b} first")
        return QSize(max(140, min(240, math.ceil(sides) + 24)), round(2 * line + 14 + 80))

    def _dial(self, w: float, h: float, line: float) -> tuple[QPointF, float]:
        """The dial's centre and radius, under "together" (and a gap) and over the caption."""
        top, bottom = line + 13.0, line + 1.0
        room = h - top - bottom
        return QPointF(w / 2, top + room / 2), max(10.0, min(w - 16.0, room) / 2)

    def regions(self) -> dict[str, QRectF]:
        """Where the dial and its texts are drawn ("together" over it, the caption under it, the side labels
        on its rim at the height of its centre), the texts as wide as they are: placed from the font's
        height and the labels' widths, so that at any size the texts stay apart and inside the widget."""
        w, h = float(self.width()), float(self.height())
        line = self._line()
        c, radius = self._dial(w, h, line)
        fm = QFontMetricsF(self.font())
        out = {"dial": QRectF(c.x() - radius, c.y() - radius, 2 * radius, 2 * radius)}
        for key, text, band in (
            ("together", "together", QRectF(0, 0, w, line)),
            ("caption", self._fit(fm, self.caption(), w), QRectF(0, h - line, w, line)),
        ):
            tw = fm.horizontalAdvance(text)
            out[key] = QRectF(
                band.center().x() - tw / 2, band.center().y() - fm.height() / 2, tw, fm.height()
            )
        (a_rect, _), (b_rect, _) = self._side_labels(fm, c, radius, w)
        out["a_first"], out["b_first"] = a_rect, b_rect
        return out

    @staticmethod
    def _fit(fm: QFontMetricsF, text: str, width: float) -> str:
        return fm.elidedText(text, Qt.TextElideMode.ElideRight, max(0.0, width))

    def _side_labels(
        self, fm: QFontMetricsF, c: QPointF, radius: float, w: float
    ) -> tuple[tuple[QRectF, str], tuple[QRectF, str]]:
        """ "A first" on the right rim and "B first" on the left, each ending 10 px past the rim, inside the
        widget and within its half of it (cut short with "…" where a long label would not fit)."""
        half = w / 2 - 4
        a = self._fit(fm, f"{self.a} first", half)
        b = self._fit(fm, f"{self.b} first", half)
        aw, bw, th = fm.horizontalAdvance(a), fm.horizontalAdvance(b), fm.height()
        a_right = min(w, c.x() + radius + 10)
        b_left = max(0.0, c.x() - radius - 10)
        return (
            (QRectF(max(w / 2 + 4, a_right - aw), c.y() - th / 2, aw, th), a),
            (QRectF(min(w / 2 - 4 - bw, b_left), c.y() - th / 2, bw, th), b),
        )

    def _point(self, c: QPointF, radius: float, plv: float, rel: float) -> QPointF:
        return QPointF(c.x() + radius * plv * math.sin(rel), c.y() - radius * plv * math.cos(rel))

    def paintEvent(self, event: QPaintEvent | None) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w, h = float(self.width()), float(self.height())
        line = self._line()
        c, radius = self._dial(w, h, line)
        p.setPen(QPen(GREY, 1))
        p.setBrush(QColor("white"))
        p.drawEllipse(c, radius, radius)
        # The in-sync sector (|relative phase| <= 45 deg) and the chance level ring.
        p.setPen(Qt.PenStyle.NoPen)
        sector = QColor(BLUE)
        sector.setAlpha(35)
        p.setBrush(sector)
        p.drawPie(QRectF(c.x() - radius, c.y() - radius, 2 * radius, 2 * radius), (90 - 45) * 16, 90 * 16)
        if math.isfinite(self.null_plv):
            p.setPen(QPen(GREY, 1, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(c, radius * self.null_plv, radius * self.null_plv)
        ages, plvs, rels = self._trail
        for age, plv, rel in zip(ages.tolist(), plvs.tolist(), rels.tolist(), strict=True):
            if not (math.isfinite(plv) and math.isfinite(rel)):
                continue
            col = QColor(ORANGE)
            col.setAlpha(int(30 + 200 * (1.0 - min(max(age, 0.0), 1.0))))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(col)
            p.drawEllipse(self._point(c, radius, plv, rel), 2.5, 2.5)
        if math.isfinite(self.plv) and math.isfinite(self.rel_rad):
            tip = self._point(c, radius, self.plv, self.rel_rad)
            p.setPen(QPen(INK, 4))
            p.drawLine(c, tip)
            p.setBrush(INK)
            p.drawEllipse(tip, 5, 5)
        p.setPen(INK)
        fm = QFontMetricsF(self.font())
        center = int(Qt.AlignmentFlag.AlignCenter)
        p.drawText(QRectF(0, 0, w, line), center, "together")
        for rect, text in self._side_labels(fm, c, radius, w):
            p.drawText(rect, center, text)
        p.drawText(QRectF(0, h - line, w, line), center, self._fit(fm, self.caption(), w))
        p.end()

    def caption(self) -> str:
        """The line under the dial: "PLV 0.90  +20°", with "not locked" or "opposite phase" by the rule the
        summaries name a leader by (:func:`breathsync.session_types.locked_text`: "opposite phase" was said
        of a pair at PLV 0.14, under its chance level); "PLV -" while unknown."""
        if not math.isfinite(self.plv):
            return "PLV -"
        lock = locked_text(self.plv, self.null_plv, self.rel_rad)
        return f"PLV {self.plv:.2f}  {degrees_text(self.rel_rad)}°" + (f"  {lock}" if lock else "")
