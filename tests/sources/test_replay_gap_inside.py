"""A gap inside one replayed file is held to the same limit as a gap between two replayed files
(MAX_REPLAY_GAP_S): a 700-s hole played through as 700 s of "no signal" (the audit: accepted, exit 0)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import run_main

from breathsync.io import write_recording
from breathsync.sources.base import SourceError
from breathsync.sources.replay import MAX_REPLAY_GAP_S, ReplaySource


def _file_with_a_gap(path: Path, gap_s: float) -> Path:
    t = np.arange(0.0, 120.0, 0.04)
    t = np.concatenate((t, t + 120.0 + gap_s))
    write_recording(path, t, {"resp": np.sin(2 * np.pi * 0.25 * t)}, {})
    return path


def test_a_gap_longer_than_the_limit_is_refused_saying_where(tmp_path: Path) -> None:
    src = ReplaySource(_file_with_a_gap(tmp_path / "gap.csv", MAX_REPLAY_GAP_S + 100.0))
    with pytest.raises(SourceError) as info:
        src.load()
    message = str(info.value)
    assert "\n" not in message and "gap.csv" in message
    assert "no samples for 700 s (from 119.96 s to 820 s" in message and "cut the file in two" in message


def test_a_gap_within_the_limit_plays(tmp_path: Path) -> None:
    src = ReplaySource(_file_with_a_gap(tmp_path / "pause.csv", 300.0))
    assert src.load().time.size == 6000


def test_run_refuses_it_with_one_line_and_exit_2(tmp_path: Path) -> None:
    path = _file_with_a_gap(tmp_path / "gap.csv", 700.0)
    r = run_main("run", "-p", f"A=replay:{path}", "--speed", "300", "--quiet", timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "no samples for 700 s" in r.stderr
