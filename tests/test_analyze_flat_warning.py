"""analyze says when a signal is flat (exactly constant: a sensor off), as a session does: a constant file
was only "fewer than two breaths found"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import breathing

from breathsync.analysis import analyse_files
from breathsync.io.csvfile import write_recording


def _flat_warnings(path: Path) -> list[str]:
    return [w for w in analyse_files([str(path)])["warnings"] if "flat (exactly constant)" in w]


def test_a_flat_stretch_is_warned_of_with_its_length(tmp_path: Path) -> None:
    t, y, _ = breathing(300.0, 25.0, 14.0, seed=2)
    off = (t >= 100.0) & (t < 160.0)  # a belt that fell off for a minute: a constant reading
    y = np.where(off, 0.25, y)
    path = tmp_path / "off.csv"
    write_recording(path, t, {"resp": y})
    (w,) = _flat_warnings(path)
    assert w.startswith("A: the signal is flat (exactly constant) for 1:00 of the 4:59"), w
    assert "sensor off or disconnected?" in w


def test_a_constant_file_is_called_flat_and_breathing_is_not(tmp_path: Path) -> None:
    t = np.arange(0.0, 60.0, 0.04)
    const = tmp_path / "const.csv"
    write_recording(const, t, {"resp": np.full(t.size, 2.0)})
    assert _flat_warnings(const) == [
        "A: the signal is flat (exactly constant) for 0:59 of the 0:59: sensor off or disconnected? (no phase there)"
    ]
    t, y, _ = breathing(120.0, 25.0, 14.0, seed=3)
    fine = tmp_path / "fine.csv"
    write_recording(fine, t, {"resp": y})
    assert _flat_warnings(fine) == []
