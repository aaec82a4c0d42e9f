"""The dashboard's control panel: sources per participant, training phase, windows, recording."""

from __future__ import annotations

import os
from typing import Any

from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

__all__ = ["SIM_MODES", "SOURCE_KINDS", "ParticipantEditor", "sample_names"]

SOURCE_KINDS = ("sample recording", "simulated partner", "source spec")
SIM_MODES = ("follow", "steady", "lead", "pacer")


def sample_names() -> list[str]:
    """The shipped sample recordings (file names)."""
    try:
        from sample_signals import SAMPLES_DIR
    except ImportError:  # pragma: no cover - an install without the samples
        return []
    return sorted(p.name for p in SAMPLES_DIR.glob("*.csv"))


class ParticipantEditor(QWidget):
    """One participant: a label and where their breathing comes from.

    Sources: a sample recording (replayed), a simulated partner (mode, rate, coupling), or any source spec
    the command line accepts (``replay:FILE``, ``sim:...``, ``lsl:NAME``; BLE when it exists).
    """

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLineEdit(label)
        # Wide enough for a label like "partner" whatever room the panel has (squeezed by a small window, the
        # field showed "tner").
        need = self.label.fontMetrics().horizontalAdvance("partner") + 16
        self.label.setMinimumWidth(need)
        self.label.setMaximumWidth(max(70, need))
        self.label.setToolTip("participant label (use pseudonyms: recordings carry it)")
        self.kind = QComboBox()
        self.kind.addItems(SOURCE_KINDS)
        self.file = QComboBox()
        self.file.addItems(sample_names())
        self.file.setToolTip("sample recording (sample_signals)")
        self.mode = QComboBox()
        self.mode.addItems(SIM_MODES)
        self.mode.setToolTip(
            "simulated partner: follow (falls into step), steady, lead (changes pace), pacer"
        )
        self.rate = QDoubleSpinBox()
        self.rate.setRange(2.0, 40.0)
        self.rate.setValue(12.0)
        self.rate.setSuffix(" /min")
        self.rate.setToolTip("simulated partner's rate (breaths per minute)")
        self.coupling = QDoubleSpinBox()
        self.coupling.setRange(0.0, 10.0)
        self.coupling.setSingleStep(0.1)
        self.coupling.setValue(1.0)
        self.coupling.setPrefix("K ")
        self.coupling.setToolTip("follow: how strongly the partner pulls into step (rad/s)")
        self.spec = QLineEdit()
        self.spec.setPlaceholderText("replay:FILE or sim:MODE,...")
        # The field shows part of a long spec: the whole of it on hovering.
        self.spec.textChanged.connect(self.spec.setToolTip)
        # One row; compact (a small window): the label and the kind, and the source's fields in a second row
        # under them, so that the panel is narrow enough for a 1024-px screen (a simulated partner's row
        # alone was 430 px wide).
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self._rows = (QHBoxLayout(), QHBoxLayout())
        for row in self._rows:
            lay.addLayout(row)
        self.compact = False
        self._place()
        self.kind.currentIndexChanged.connect(self._show_fields)
        self.mode.currentIndexChanged.connect(self._show_fields)
        self._show_fields()

    def set_compact(self, on: bool) -> None:
        """The source's fields under the label and the kind (``on``) or beside them, in one row."""
        if on != self.compact:
            self.compact = on
            self._place()

    def _place(self) -> None:
        top, second = self._rows
        fields = (self.file, self.mode, self.rate, self.coupling, self.spec)
        for w in (self.label, self.kind, *fields):
            top.removeWidget(w)
            second.removeWidget(w)
        top.addWidget(self.label)
        top.addWidget(self.kind)
        row = second if self.compact else top
        for w in fields:
            row.addWidget(w)
        outer = self.layout()
        if outer is not None:
            outer.invalidate()  # its rows' sizes are cached there (not yet shown, Qt does not say they changed)
        self.updateGeometry()

    def _show_fields(self) -> None:
        kind = self.kind.currentText()
        sim = kind == "simulated partner"
        self.file.setVisible(kind == "sample recording")
        self.mode.setVisible(sim)
        self.rate.setVisible(sim)
        self.coupling.setVisible(sim and self.mode.currentText() == "follow")
        self.spec.setVisible(kind == "source spec")

    def spec_text(self) -> str:
        """The source spec (as ``--participant LABEL=SPEC`` takes it)."""
        kind = self.kind.currentText()
        if kind == "sample recording":
            from sample_signals import sample_path

            return f"replay:{sample_path(self.file.currentText())}"
        if kind == "simulated partner":
            mode = self.mode.currentText()
            spec = f"sim:{mode},rate={self.rate.value():g}"
            if mode == "follow":
                spec += f",coupling={self.coupling.value():g},delay=0.3"
            return spec
        return self.spec.text().strip()

    def state(self) -> dict[str, Any]:
        return {
            "label": self.label.text(),
            "kind": self.kind.currentText(),
            "file": self.file.currentText(),
            "mode": self.mode.currentText(),
            "rate": self.rate.value(),
            "coupling": self.coupling.value(),
            "spec": self.spec.text(),
        }

    def set_state(self, d: dict[str, Any]) -> None:
        self.label.setText(str(d.get("label", self.label.text())))
        for combo, key in ((self.kind, "kind"), (self.file, "file"), (self.mode, "mode")):
            i = combo.findText(str(d.get(key, "")))
            if i >= 0:
                combo.setCurrentIndex(i)
        try:
            self.rate.setValue(float(d.get("rate", self.rate.value())))
            self.coupling.setValue(float(d.get("coupling", self.coupling.value())))
        except (TypeError, ValueError):
            pass
        self.spec.setText(str(d.get("spec", "")))
        self._show_fields()

    def set_spec(self, label: str, spec: str) -> None:
        """Show a command-line participant (as a source spec). A replayed file's path relative to the
        working folder is made absolute: the editors are saved in the settings, and the next start may be
        elsewhere."""
        self.set_state({"label": label, "kind": "source spec", "spec": absolute_replay_spec(spec)})


def absolute_replay_spec(spec: str) -> str:
    """``replay:PATH[,options]`` with PATH absolute when it names an existing file or folder relative to the
    working folder; any other spec as it is."""
    kind, sep, rest = spec.partition(":")
    if kind != "replay" or not sep:
        return spec
    if os.path.exists(rest):  # a path that itself contains commas
        return f"replay:{os.path.abspath(rest)}"
    path, comma, options = rest.partition(",")
    if path and os.path.exists(path):
        return f"replay:{os.path.abspath(path)}{comma}{options}"
    return spec
