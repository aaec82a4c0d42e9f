"""An XDF replay of something that is not a regular file is one line: pyxdf would block on a named pipe
nothing writes to, and read a device such as /dev/zero for ever."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import posix_only

from breathsync.cli import main


@posix_only("os.mkfifo")
def test_a_named_pipe_called_xdf_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "lab.xdf"
    os.mkfifo(fifo)
    code = main(["run", "-p", f"A=replay:{fifo}", "-p", "B=sim:steady", "--duration", "5", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "not a regular file" in err and str(fifo) in err


@pytest.mark.parametrize("name", ["lab.xdf", "lab.csv"])
def test_a_missing_recording_is_named_alike_whatever_its_format(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A missing XDF file said "No such file or directory", a missing CSV "no such file: check the path".
    missing = tmp_path / name
    code = main(["run", "-p", f"A=replay:{missing}", "-p", "B=sim:steady", "--duration", "5", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err == f"breathsync: error: replay: {missing}: no such file: check the path\n"
