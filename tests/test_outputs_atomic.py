"""Outputs of analyze and report: replaced atomically and owner-only; a failed write keeps the old file."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from breathsync.cli import main
from breathsync.io.csvfile import write_private_text

SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"
PAIR = [str(SAMPLES / "pair_sync_A.csv"), str(SAMPLES / "pair_sync_B.csv")]


def _disk_full(fd: int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("command", ["analyze", "report"])
def test_a_failed_write_keeps_the_previous_file(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "result.out"
    out.write_text("the previous results\n")
    monkeypatch.setattr(os, "fsync", _disk_full)
    option = "--json" if command == "analyze" else "--out"
    assert main([command, *PAIR, option, str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and str(out) in err[0]
    assert out.read_text() == "the previous results\n"  # not truncated
    assert os.listdir(tmp_path) == ["result.out"]  # no temporary file left behind


@pytest.mark.parametrize("command", ["analyze", "report"])
def test_a_failed_write_of_a_new_file_leaves_nothing(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "fsync", _disk_full)
    option = "--json" if command == "analyze" else "--out"
    assert main([command, *PAIR, option, str(tmp_path / "new.out")]) == 2
    assert os.listdir(tmp_path) == []  # a report used to stay as a 0-byte, world-readable file


def test_outputs_are_owner_only_even_over_a_readable_file(tmp_path: Path) -> None:
    for command, option in (("analyze", "--json"), ("report", "--out")):
        out = tmp_path / f"{command}.out"
        out.write_text("old")
        out.chmod(0o644)
        assert main([command, *PAIR, option, str(out)]) == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.read_text() != "old"


def test_a_device_is_written_to_not_replaced(tmp_path: Path) -> None:
    # `--json /dev/stdout` and the like: written as they are (never renamed over, never chmod-ed).
    before = os.stat(os.devnull)
    write_private_text(os.devnull, "x")
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_private_text(fifo, "through the pipe")
        assert os.read(fd, 100) == b"through the pipe"
    finally:
        os.close(fd)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
