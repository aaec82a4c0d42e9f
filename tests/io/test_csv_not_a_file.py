"""Inputs that are not files: a device, a named pipe nothing writes to, a file without line ends. Each is one
line (never a hang, never memory without bound); a pipe that is written to is still read."""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest
from conftest import make_session_folder, posix_only

from breathsync.errors import RecordingError
from breathsync.io import _inputs, read_recording
from breathsync.io.session_folder import read_session_folder, read_text_file
from breathsync.sources.base import SourceError
from breathsync.sources.replay import ReplaySource

needs_fifo = posix_only("os.mkfifo")


def _read_in_thread(path: Path, wait_s: float = 10.0) -> BaseException | object:
    """read_recording(path) in a thread: what it raised or returned; fails the test if it does not end."""
    out: list[BaseException | object] = []

    def run() -> None:
        try:
            out.append(read_recording(path))
        except BaseException as exc:  # handed to the test
            out.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(wait_s)
    if worker.is_alive():
        # Let the blocked open() go, so the thread ends, then fail.
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail(f"reading {path} did not end in {wait_s} s")
    return out[0]


@posix_only("/dev/null")
def test_a_character_device_is_refused() -> None:
    with pytest.raises(RecordingError) as info:
        read_recording("/dev/null")
    assert str(info.value) == "/dev/null: not a regular file (a character device): give a recording CSV file"


@needs_fifo
def test_a_named_pipe_nothing_writes_to_is_refused_in_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_inputs, "PIPE_WAIT_S", 0.2)
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    got = _read_in_thread(fifo)
    assert isinstance(got, RecordingError)
    assert str(got) == (
        f"{fifo}: a named pipe that no program opened for writing in 0.2 s: start the program that writes to "
        "it first, or give a recording CSV file"
    )


@needs_fifo
def test_a_pipe_is_kept_in_memory_up_to_a_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_inputs, "MAX_PIPE_BYTES", 1000)
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    text = "time,resp\n" + "".join(f"{i * 0.04:.2f},{i % 7}\n" for i in range(200))
    writer = threading.Thread(target=fifo.write_bytes, args=(text.encode(),), daemon=True)
    writer.start()
    got = _read_in_thread(fifo)
    writer.join(10)
    assert isinstance(got, RecordingError)
    assert "more than 1000 bytes through a pipe, which is held in memory: save it to a file" in str(got)
    assert _inputs._size_text(1 << 30) == "1 GB"


_TEXT = "time,resp\n" + "".join(f"{i * 0.04:.2f},{i % 7}\n" for i in range(200))


def _slow_writer(
    open_it: Callable[[], BinaryIO], delay_s: float, opened_after_s: float = 0.0
) -> threading.Thread:
    """A thread that opens a pipe (after ``opened_after_s``), writes nothing for ``delay_s``, then the text."""

    def run() -> None:
        time.sleep(opened_after_s)
        with open_it() as fh:
            time.sleep(delay_s)
            fh.write(_TEXT.encode())

    writer = threading.Thread(target=run, daemon=True)
    writer.start()
    return writer


@needs_fifo
def test_a_named_pipe_whose_writer_is_slow_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that has the pipe open is waited for as long as it takes (ssh, sort, a slow decompressor):
    only a pipe that no program opens for writing is refused after PIPE_WAIT_S."""
    monkeypatch.setattr(_inputs, "PIPE_WAIT_S", 0.2)
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    writer = _slow_writer(functools.partial(fifo.open, "wb"), delay_s=0.8)
    got = _read_in_thread(fifo)
    writer.join(10)
    assert not isinstance(got, BaseException), got
    assert len(got.time) == 200  # type: ignore[attr-defined]
    # A writer that comes within the wait, and writes at once.
    writer = _slow_writer(functools.partial(fifo.open, "wb"), delay_s=0.0, opened_after_s=0.1)
    monkeypatch.setattr(_inputs, "PIPE_WAIT_S", 5.0)
    got = _read_in_thread(fifo)
    writer.join(10)
    assert len(got.time) == 200  # type: ignore[attr-defined]


@posix_only("/proc/self/fd and /dev/fd")
@pytest.mark.parametrize("where", ["/proc/self/fd", "/dev/fd"])
def test_an_anonymous_pipe_is_read_however_slow(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """analyze <(sleep 12; cat A.csv) B.csv: the shell's pipe has its writer; no time limit applies."""
    monkeypatch.setattr(_inputs, "PIPE_WAIT_S", 0.2)
    r, w = os.pipe()
    try:
        writer = _slow_writer(lambda: os.fdopen(w, "wb"), delay_s=0.8)
        got = _read_in_thread(Path(f"{where}/{r}"))
        writer.join(10)
    finally:
        os.close(r)
    assert not isinstance(got, BaseException), got
    assert len(got.time) == 200  # type: ignore[attr-defined]


def test_a_line_over_the_limit_is_refused_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes(
        b"# a: b\ntime,resp\n0,1\n"
        + b"7" * (_inputs.MAX_LINE_BYTES + _inputs.READ_CHUNK_BYTES + 10)
        + b"\n0.04,2\n"
    )
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    assert info.value.line == 4
    assert "a line longer than 1 MB" in str(info.value)


def test_a_file_without_line_ends_is_refused_before_it_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_inputs, "MAX_LINE_BYTES", 500)
    monkeypatch.setattr(_inputs, "READ_CHUNK_BYTES", 100)
    path = tmp_path / "nonl.csv"
    path.write_bytes(b"time,resp\r\n" + b"1" * 100_000)
    reads: list[int] = []
    real = _inputs._Source._read

    def counted(self: _inputs._Source, offset: int, size: int) -> bytes:
        reads.append(size)
        return real(self, offset, size)

    monkeypatch.setattr(_inputs._Source, "_read", counted)
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    assert info.value.line == 2 and "longer than" in str(info.value)
    assert sum(reads) < 2000  # stopped after about the limit, not at the end of the file


def test_a_long_binary_line_is_named_as_what_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_inputs, "MAX_LINE_BYTES", 500)
    path = tmp_path / "bin.csv"
    path.write_bytes(b"time,resp\n" + b"a" * 200 + b"\xff" + b"b" * 2000)
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    assert "not UTF-8 text (byte 0xff)" in str(info.value) and info.value.line == 2


@needs_fifo
def test_a_session_folder_names_a_participant_file_that_is_a_pipe(tmp_path: Path) -> None:
    folder = make_session_folder(tmp_path / "s")
    (folder / "B.csv").unlink()
    os.mkfifo(folder / "B.csv")
    with pytest.raises(RecordingError) as info:
        read_session_folder(folder)
    assert "B.csv: not a regular file: session.json lists it as participant B's recording" in str(info.value)


@posix_only("/dev/zero")
def test_a_session_text_file_that_is_a_device_is_refused() -> None:
    with pytest.raises(RecordingError) as info:
        read_text_file("/dev/zero", "events file", "restore it")
    assert "not a regular file (a character device)" in str(info.value)


@posix_only("/dev/zero")
def test_a_replay_of_a_device_is_refused_when_loaded() -> None:
    with pytest.raises(SourceError) as info:
        ReplaySource("/dev/zero").load()
    assert "replay: /dev/zero: not a regular file" in str(info.value)


@pytest.mark.parametrize("extra", [10, _inputs.READ_CHUNK_BYTES // 2])
def test_a_line_a_little_over_the_limit_is_refused_too(tmp_path: Path, extra: int) -> None:
    """A line that began in one block and ended in the next was read whole up to 2 MB: a 1.5-MB line
    was accepted though the README says a line over 1 MB is refused. A line of 1 MB exactly is read."""
    rows = b"time,resp\n0,1\n0.04,2\n"
    path = tmp_path / "long.csv"
    path.write_bytes(b"# a: b\n# " + b"7" * (_inputs.MAX_LINE_BYTES + extra) + b"\n" + rows)
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    assert info.value.line == 2 and "a line longer than 1 MB" in str(info.value)
    ok = tmp_path / "ok.csv"
    ok.write_bytes(b"# a: b\n#" + b"7" * (_inputs.MAX_LINE_BYTES - 1) + b"\r\n" + rows)
    assert read_recording(ok).time.size == 2
