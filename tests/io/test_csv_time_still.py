"""A time column that never advances (every row at the same time) is refused with one line; a few repeated
times in a column that does advance are read as before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from breathsync.errors import RecordingError
from breathsync.io import read_recording, write_recording


def _resp(n: int, fs: float) -> np.ndarray:
    return np.sin(2 * np.pi * 0.25 * np.arange(n) / fs)


@pytest.mark.parametrize("when", [0.0, 12.5])
def test_a_time_column_that_never_advances_is_refused(tmp_path: Path, when: float) -> None:
    path = tmp_path / "still.csv"
    write_recording(path, np.full(3000, when), {"resp": _resp(3000, 50.0)}, {})
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert "never advances" in message and f"{when:g} s" in message and "--rate" in message


def test_analyze_refuses_it_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "still.csv"
    write_recording(path, np.zeros(3000), {"resp": _resp(3000, 50.0)}, {})
    done = subprocess.run(
        [sys.executable, "-m", "breathsync", "analyze", str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert done.returncode == 2, done.stdout
    assert done.stderr.count("\n") == 1 and "never advances" in done.stderr
    assert "Traceback" not in done.stderr and "0 breaths" not in done.stdout


def test_repeated_times_in_a_column_that_advances_are_read(tmp_path: Path) -> None:
    fs = 50.0
    t = np.arange(6000) / fs
    t[100:103] = t[100]  # a logger that stamped three rows alike
    path = tmp_path / "repeats.csv"
    write_recording(path, t, {"resp": _resp(6000, fs)}, {})
    rec = read_recording(path)
    assert rec.time.size == 6000 and rec.time[-1] == pytest.approx(5999 / fs)


def test_the_shared_time_check_refuses_a_still_clock() -> None:
    # check_time_scale also guards XDF streams' time stamps and times made from a rate
    from breathsync.io.csvfile import check_time_scale

    with pytest.raises(RecordingError, match="never advances"):
        check_time_scale("x.xdf", np.full(10, 3.0), "in XDF stream 'belt'", "its time stamps are damaged")
    check_time_scale("x.xdf", np.arange(10.0), "in XDF stream 'belt'", "its time stamps are damaged")
