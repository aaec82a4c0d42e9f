"""Metadata breathsync reads, with a value it cannot use: a note naming the line (it was ignored silently)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from breathsync.analysis import analyse_files
from breathsync.io import read_recording, write_recording


def _file(tmp_path: Path, meta: dict[str, str]) -> Path:
    path = tmp_path / "m.csv"
    t = np.arange(0, 60, 0.1)
    write_recording(path, t, {"resp": np.sin(2 * np.pi * 0.25 * t)}, {"participant": "A", **meta})
    return path


@pytest.mark.parametrize("value", ["0", "-5", "inf", "nan", "abc", ""])
def test_a_sampling_rate_that_is_no_rate_is_a_note_naming_its_line(tmp_path: Path, value: str) -> None:
    rec = read_recording(_file(tmp_path, {"sampling_rate_hz": value}))
    shown = f"# sampling_rate_hz: {value}".rstrip()
    assert rec.notes == (
        f"line 2, '{shown}', is not a sampling rate (a positive number of Hz): it is ignored; correct or "
        "delete the line",
    )


@pytest.mark.parametrize("value", ["10", "1e1", " 10.0 "])
def test_a_sampling_rate_that_agrees_gives_no_note(tmp_path: Path, value: str) -> None:
    assert read_recording(_file(tmp_path, {"sampling_rate_hz": value})).notes == ()


def test_an_infinite_rate_was_not_compared_with_the_time_column(tmp_path: Path) -> None:
    # 'inf' is a float: the comparison with the time column's 10 Hz said nothing either.
    notes = read_recording(_file(tmp_path, {"sampling_rate_hz": "inf"})).notes
    assert len(notes) == 1 and "but its time column" not in notes[0]


@pytest.mark.parametrize("value", ["maybe", "on", "2", "truee"])
def test_an_invert_that_is_neither_true_nor_false_is_a_note(tmp_path: Path, value: str) -> None:
    path = _file(tmp_path, {"invert": value})
    rec = read_recording(path)
    assert rec.notes == (
        f"line 2, '# invert: {value}', is neither true nor false: read as false (not inverted); write "
        "'# invert: true' if this belt falls on inhale",
    )
    warnings = analyse_files([str(path)])["warnings"]
    assert warnings[0] == f"A: {rec.notes[0]}"


@pytest.mark.parametrize("value", ["true", "True", "1", "yes", "false", "0", "no", "NO"])
def test_true_and_false_give_no_note(tmp_path: Path, value: str) -> None:
    assert read_recording(_file(tmp_path, {"invert": value})).notes == ()
