"""A live session's summary says why a participant has no rate, not only "rate unknown"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from breathsync.cli import main


def _file(path: Path, y: np.ndarray, t: np.ndarray) -> Path:
    path.write_text(
        "time,resp\n" + "".join(f"{a:.2f},{b:.4f}\n" for a, b in zip(t, y, strict=True)), encoding="utf-8"
    )
    return path


def _summary_line(capsys: pytest.CaptureFixture[str], label: str) -> str:
    out = capsys.readouterr().out
    return next(ln for ln in out.splitlines() if ln.startswith(f"{label}: replay:"))


def test_fast_breathing_has_its_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """50 breaths/min (a child, exercise) read "rate unknown: ... (too fast or too slow?)": every interval
    was under the tracker's 1.5 s; steady ones that short are taken now (breathsync.dsp.pipeline)."""
    t = np.arange(0, 90, 0.04)
    fast = _file(tmp_path / "fast.csv", np.sin(2 * np.pi * 50 / 60 * t), t)  # 50 breaths/min
    assert main(["run", "-p", f"A=replay:{fast}", "--speed", "50", "--headless"]) == 0
    line = _summary_line(capsys, "A")
    assert "rate unknown" not in line and " 50.0 breaths/min (" in line, line


def test_breaths_never_at_a_steady_rate_say_so() -> None:
    from breathsync.dsp.pipeline import PipelineConfig, Quality
    from breathsync.session import _no_rate_why

    n = np.zeros(len(Quality), int)
    n[Quality.OK] = 1800  # 90 s
    why = _no_rate_why(n, 60, PipelineConfig())
    assert why == (
        "breaths were found but never at a steady rate in the range the tracker follows (too fast or too slow?)"
    )


def test_a_flat_signal_says_it_was_flat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = np.arange(0, 90, 0.04)
    flat = _file(tmp_path / "flat.csv", np.ones(t.size), t)
    assert main(["run", "-p", f"A=replay:{flat}", "--speed", "50", "--headless"]) == 0
    line = _summary_line(capsys, "A")
    assert "rate unknown: the signal was flat" in line


def test_a_session_too_short_for_a_rate_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """12 s of a belt has one breath: it read "breaths were found but never at a steady rate ... (too fast
    or too slow?)", and "1 breaths"."""
    from conftest import REPO

    belt = REPO / "sample_signals" / "pair_sync_A.csv"
    assert main(["run", "-p", f"A=replay:{belt}", "--speed", "50", "--headless", "--duration", "12"]) == 0
    line = _summary_line(capsys, "A")
    assert "too fast or too slow" not in line and "1 breaths" not in line, line
    assert "in 1" in line and "s of signal: a rate needs 3 (too short?)" in line, line


def test_a_moment_of_signal_is_not_called_flat() -> None:
    """A simulated partner's two samples (its session ended at once: the other's device was not there)
    read "the signal was flat (sensor off or disconnected?)"."""
    from breathsync.dsp.pipeline import PipelineConfig, Quality
    from breathsync.session import _no_rate_why

    n = np.zeros(len(Quality), int)
    n[Quality.FLAT] = 2
    assert "flat" not in _no_rate_why(n, 0, PipelineConfig())
    assert "too short" in _no_rate_why(n, 0, PipelineConfig())
    n[Quality.FLAT] = 400  # 20 s flat of 20 s: flat
    assert "the signal was flat" in _no_rate_why(n, 0, PipelineConfig())
