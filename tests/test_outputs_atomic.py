"""Outputs of analyze and report: replaced atomically and owner-only; a failed write keeps the old file."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from conftest import posix_only

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
    out.write_text("the previous results\n", encoding="utf-8")
    monkeypatch.setattr(os, "fsync", _disk_full)
    option = "--json" if command == "analyze" else "--out"
    assert main([command, *PAIR, option, str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and str(out) in err[0]
    assert out.read_text(encoding="utf-8") == "the previous results\n"  # not truncated
    assert os.listdir(tmp_path) == ["result.out"]  # no temporary file left behind


@pytest.mark.parametrize("command", ["analyze", "report"])
def test_a_failed_write_of_a_new_file_leaves_nothing(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "fsync", _disk_full)
    option = "--json" if command == "analyze" else "--out"
    assert main([command, *PAIR, option, str(tmp_path / "new.out")]) == 2
    assert os.listdir(tmp_path) == []  # a report used to stay as a 0-byte, world-readable file


@posix_only("POSIX file modes")
def test_outputs_are_owner_only_even_over_a_readable_file(tmp_path: Path) -> None:
    for command, option in (("analyze", "--json"), ("report", "--out")):
        out = tmp_path / f"{command}.out"
        out.write_text("old", encoding="utf-8")
        out.chmod(0o644)
        assert main([command, *PAIR, option, str(out)]) == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.read_text(encoding="utf-8") != "old"


@posix_only("os.mkfifo")
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


def _pipe_closed(*args: object, **kwargs: object) -> None:
    raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("command", ["analyze", "report", "batch"])
def test_a_reader_going_away_is_a_quiet_exit_for_every_output(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--json /dev/stdout | head` and the like: the reader went away, as with stdout itself (exit 141, quiet).
    It used to read "cannot write the JSON output (Broken pipe)", exit 2, as if the path were wrong."""
    import breathsync.io.csvfile as csvfile

    monkeypatch.setattr(csvfile, "_write_private", _pipe_closed)
    argv = {
        "analyze": ["analyze", *PAIR, "--json", str(tmp_path / "x")],
        "report": ["report", *PAIR, "--out", str(tmp_path / "x.html")],
        "batch": ["analyze", "+".join(PAIR), "--batch", str(tmp_path / "x.csv")],
    }[command]
    assert main(argv) == 141
    err = capsys.readouterr().err
    assert "error" not in err and "Broken pipe" not in err  # the batch's progress line may be there


@posix_only("os.mkfifo and POSIX file modes")
def test_the_batch_summary_is_written_like_every_other_output(tmp_path: Path) -> None:
    """Atomic and owner-only over a file; a device or pipe written to as it is (it used to be chmod-ed, which
    as root would have changed /dev/stdout's or a FIFO's permissions for everyone)."""
    from breathsync.batch import SUMMARY_COLUMNS, write_summary

    row = {k: None for k in SUMMARY_COLUMNS}
    out = tmp_path / "study.csv"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o644)
    write_summary(str(out), [row])
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.read_text(encoding="utf-8").startswith(
        ",".join(SUMMARY_COLUMNS)
    )
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo, 0o644)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_summary(str(fifo), [row])
        assert os.read(fd, 100_000).decode().startswith(",".join(SUMMARY_COLUMNS))
    finally:
        os.close(fd)
    assert stat.S_IMODE(os.stat(fifo).st_mode) == 0o644


@posix_only("POSIX file modes")
def test_a_link_is_written_through_not_replaced(tmp_path: Path) -> None:
    """A symbolic link used to be replaced by the rename, with the file it names left as it was: `--json
    /dev/stdout > out.txt` as root turned the system's /dev/stdout into a regular file."""
    target = tmp_path / "results.json"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    write_private_text(link, "new")
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the file is the user's: not chmod-ed


@posix_only("/proc/self/fd")
def test_json_to_stdout_through_a_link_when_stdout_is_a_file(tmp_path: Path) -> None:
    """What /dev/stdout is: a link to /proc/self/fd/1. With stdout sent to a file, the JSON follows the summary
    in that file (it replaced the link, and the file had no JSON)."""
    import json

    from conftest import run_breathsync

    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    out = tmp_path / "out.txt"
    with open(out, "w", encoding="utf-8") as fh:
        r = run_breathsync("analyze", *PAIR, "--json", str(link), timeout=120, stdout=fh)
    assert r.returncode == 0, r.stderr
    assert link.is_symlink()
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("A: ") and lines[-1] == f"wrote {link}"
    (doc,) = [json.loads(x) for x in lines if x.startswith("{")]
    assert [p["label"] for p in doc["participants"]] == ["A", "B"]
