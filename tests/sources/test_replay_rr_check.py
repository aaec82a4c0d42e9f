"""Replay refuses what analyze refuses: RR intervals no heart gives (all 0, negative) played as '0 breaths'."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from breathsync.analysis import analyse_files
from breathsync.errors import RecordingError
from breathsync.io.csvfile import write_recording
from breathsync.sources.base import SourceError
from breathsync.sources.replay import ReplaySource
from sample_signals import sample_path


@pytest.mark.parametrize("rr", [0.0, -800.0, 0.8])
def test_a_replay_of_rr_intervals_no_heart_gives_is_refused_like_analyze(tmp_path: Path, rr: float) -> None:
    path = tmp_path / "rr.csv"
    write_recording(path, np.arange(60.0), {"rr_ms": np.full(60, rr)})
    with pytest.raises(RecordingError) as analysed:
        analyse_files([str(path)])
    with pytest.raises(SourceError) as replayed:
        ReplaySource(path).load()
    assert str(replayed.value) == f"replay: {analysed.value}"
    assert "holds no heart-beat intervals between 300 and 2000 ms" in str(replayed.value)


def test_a_replay_of_real_rr_intervals_loads() -> None:
    src = ReplaySource(sample_path("polar_h10_rr.csv"))
    src.load()
    assert src.signal == "rr"
