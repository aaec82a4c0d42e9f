"""A breath hold is said: analyze printed nothing of a 20-s hold (a share of the JSON's quality said it, and
the pair's windows around it went unscored without a word)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import run_main


def _belt(path: Path, hold: tuple[float, float] | None) -> Path:
    fs, rng = 25.0, np.random.default_rng(3)
    t = np.arange(0.0, 180.0, 1 / fs)
    y = np.sin(2 * np.pi * 0.25 * t - np.pi / 2)  # 15/min, an inhale starting at each trough
    if hold is not None:
        a, b = hold
        inside = (t >= a) & (t < b)
        y[inside] = y[np.searchsorted(t, a)]  # held where it was (a trough: full exhale)
        y[t >= b] = np.sin(2 * np.pi * 0.25 * (t[t >= b] - (b - a)) - np.pi / 2)
    y += 0.01 * rng.standard_normal(t.size)
    path.write_text(
        "time,resp\n" + "".join(f"{x:.3f},{v:.5f}\n" for x, v in zip(t, y, strict=True)), encoding="utf-8"
    )
    return path


def test_a_breath_hold_is_warned_of(tmp_path: Path) -> None:
    r = run_main("analyze", _belt(tmp_path / "hold.csv", (60.0, 80.0)))
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if "no breathing for" in ln]
    assert len(lines) == 1, r.stdout
    assert (
        lines[0].startswith("warning: A: no breathing for 0:2") and "in 1 stretch (the longest " in lines[0]
    )
    assert "from 1:0" in lines[0] and "a breath hold, or the belt slipped or was off?" in lines[0]


def test_steady_breathing_has_no_such_warning(tmp_path: Path) -> None:
    r = run_main("analyze", _belt(tmp_path / "steady.csv", None))
    assert r.returncode == 0 and "no breathing" not in r.stdout, r.stdout
