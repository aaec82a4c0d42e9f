"""Opening a recording's input and reading its bytes as text (part of :mod:`breathsync.io.csvfile`, which
re-exports the public names).

:func:`open_input` opens a regular file or a pipe that is written to (a device, a socket or a named pipe
that no program opens for writing is refused: one line, never a hang). :class:`_Source` reads it as UTF-8
text in chunks of whole lines, as many times as the reader needs (a pipe is held in memory, up to
:data:`MAX_PIPE_BYTES`), refuses a line longer than :data:`MAX_LINE_BYTES` before holding it, and finds the
line of a byte for a message. It imports no other module of the reader.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import time
from collections.abc import Iterator
from io import BytesIO
from typing import IO, Any, NoReturn

from breathsync.errors import RecordingError

READ_CHUNK_BYTES = 1 << 20  # the reader parses the file this much at a time (cut at a line end)
#: A line longer than this is no line of a recording (a file without line ends, a binary file): refused
#: before it is held in memory.
MAX_LINE_BYTES = 1 << 20
#: Through a pipe (``<(gunzip -c rec.csv.gz)``) a file is kept in memory, since it is read again: at most
#: this much (a day of a 1 kHz belt is about 1.7 GB of text: save such a file first).
MAX_PIPE_BYTES = 1 << 30
#: How long a named pipe on disk may stay without a writer before the reader gives up (never a hang). Once a
#: program has opened it for writing, and for an anonymous pipe (``<(...)``, ``/dev/stdin``), the reader waits
#: for the data as long as it takes (a slow ``ssh``, ``sort`` or decompressor).
PIPE_WAIT_S = 10.0
_PIPE_POLL_S = 0.05


class _BadByte(Exception):
    """Internal: the file is not UTF-8 from byte ``offset`` on."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


def _size_text(size: int) -> str:
    """A size for a message: ``1 GB``, ``1 MB``, ``512 kB``, ``1000 bytes`` (binary multiples)."""
    for unit, shift in (("GB", 30), ("MB", 20), ("kB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.3g} {unit}"
    return "1 byte" if size == 1 else f"{size} bytes"


def _file_kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _is_named_pipe_on_disk(name: str) -> bool:
    """True for a FIFO with a name in a file system (``mkfifo f.csv``), which may have no writer yet; False
    for an anonymous pipe reached through ``/dev/fd/N``, ``/proc/self/fd/N`` or ``/dev/stdin`` (it has, or
    had, its writer: the shell made it for one)."""
    try:
        return stat.S_ISFIFO(os.lstat(os.path.realpath(name)).st_mode)
    except OSError:  # /proc/PID/fd/pipe:[123]: no such name
        return False


class _PrefixedPipe(io.RawIOBase):
    """A pipe's descriptor, with the bytes read while looking for its writer put back in front."""

    def __init__(self, first: bytes, fd: int) -> None:
        super().__init__()
        self._first = first
        self._fd = fd

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._first:
            n = min(len(view), len(self._first))
            view[:n] = self._first[:n]
            self._first = self._first[n:]
            return n
        data = os.read(self._fd, len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def _wait_for_writer(fd: int, name: str, what: str) -> bytes:
    """For a named pipe opened non-blocking: wait up to :data:`PIPE_WAIT_S` for a program to open it for
    writing (a read then gives data or EAGAIN, where it gives end-of-file while nothing has it open for
    writing). Returns the bytes that read got (maybe none); RecordingError when no writer came."""
    deadline = time.monotonic() + PIPE_WAIT_S
    while True:
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:  # a writer has it open, and has not written yet
            return b""
        if data:
            return data
        if time.monotonic() >= deadline:
            raise RecordingError(
                name,
                f"a named pipe that no program opened for writing in {PIPE_WAIT_S:g} s: start the program "
                f"that writes to it first, or give {what}",
            )
        time.sleep(_PIPE_POLL_S)


def open_input(name: str, what: str = "a recording CSV file") -> IO[bytes]:
    """Open an input file for reading, binary: a regular file, or a pipe that is written to (a shell's
    ``<(gunzip -c rec.csv.gz)``, ``/dev/stdin``, a named pipe a program writes to). Anything else (a device
    such as ``/dev/zero``, a socket) is refused, and so is a named pipe on disk that no program opens for
    writing within :data:`PIPE_WAIT_S`: RecordingError, one line, never a hang. A pipe with a writer is read
    as slowly as it is written. ``what`` is what to give instead, for the message."""
    try:
        mode = os.stat(name).st_mode
    except OSError as exc:
        raise _read_error(name, exc) from None
    if stat.S_ISDIR(mode):
        raise _read_error(name, IsADirectoryError())
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise RecordingError(name, f"not a regular file ({_file_kind(mode)}): give {what}")
    if stat.S_ISFIFO(mode) and not _is_named_pipe_on_disk(name):
        try:  # an anonymous pipe: its writer is the shell's command; read as it writes
            return open(name, "rb")
        except OSError as exc:
            raise _read_error(name, exc) from None
    # Non-blocking: opening a named pipe waits for a writer, for ever (also for a file replaced by one).
    # Windows has neither O_NONBLOCK nor named pipes in its file system.
    nonblock = getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(name, os.O_RDONLY | nonblock | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise _read_error(name, exc) from None
    try:
        mode = os.fstat(fd).st_mode
        first = b""
        if stat.S_ISFIFO(mode):
            first = _wait_for_writer(fd, name, what)
            if nonblock:  # read as slowly as it is written (POSIX, where os.set_blocking always exists)
                os.set_blocking(fd, True)
        elif not stat.S_ISREG(mode):  # replaced since the stat above
            raise RecordingError(name, f"not a regular file ({_file_kind(mode)}): give {what}")
        # A regular file's reads never wait, O_NONBLOCK or not: no os.set_blocking, which Python 3.11 lacks on
        # Windows and 3.12+ refuses there for anything but a pipe (every input failed to open).
        if first:
            return io.BufferedReader(_PrefixedPipe(first, fd))
        return os.fdopen(fd, "rb")
    except OSError as exc:
        os.close(fd)
        raise _read_error(name, exc) from None
    except BaseException:
        os.close(fd)
        raise


def _read_error(name: str, exc: OSError) -> RecordingError:
    if isinstance(exc, FileNotFoundError):
        if name == "-":  # the usual name for standard input, and no file of that name
            pipe = " (a pipe can be given as /dev/stdin)" if os.path.exists("/dev/stdin") else ""
            return RecordingError(
                name, f"reading from standard input as '-' is not supported: save the data to a file{pipe}"
            )
        return RecordingError(name, "no such file: check the path")
    if isinstance(exc, IsADirectoryError):
        return RecordingError(name, "is a directory, not a recording file")
    return RecordingError(name, f"cannot read the file: {exc.strerror or exc}")


class _Source:
    """An open recording file, read as text in chunks of whole lines as many times as needed (the slow path
    and the error messages read it again)."""

    def __init__(self, name: str, fh: IO[bytes]) -> None:
        self.name = name
        self._fh: IO[bytes] = fh
        self.complete = False  # a read reached the end: every byte is UTF-8
        try:
            info = os.fstat(fh.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > 0:
                self.size = info.st_size  # read no further, also when a recorder is still appending
            else:  # a pipe cannot be read twice: keep it in memory
                data = fh.read(MAX_PIPE_BYTES + 1)
                if len(data) > MAX_PIPE_BYTES:
                    raise RecordingError(
                        name,
                        f"more than {_size_text(MAX_PIPE_BYTES)} through a pipe, which is held in memory: save it "
                        "to a file and give that",
                    )
                self._fh = BytesIO(data)
                self.size = len(data)
        except OSError as exc:
            raise _read_error(name, exc) from None
        self.head = self._read(0, 4)
        self.start = self._read(0, 512)  # to tell what a file that is no CSV text is

    def _read(self, offset: int, size: int) -> bytes:
        if size <= 0:
            return b""
        try:
            self._fh.seek(offset)
            return self._fh.read(size)
        except OSError as exc:
            raise _read_error(self.name, exc) from None

    def _byte_chunks(self) -> Iterator[tuple[int, bytes]]:
        """(offset, bytes) pieces of about READ_CHUNK_BYTES, each ending after a line end ('\\n', '\\r\\n' or a
        lone '\\r'; the last piece may end without one). A line end byte never falls inside a UTF-8 character,
        so each piece decodes on its own."""
        offset = 0  # of `pending` in the file
        pending = b""
        while True:
            start = offset + len(pending)
            block = self._read(start, min(READ_CHUNK_BYTES, self.size - start))
            if not block:
                if pending:
                    yield offset, pending
                return
            buf = pending + block
            # The line carried over from the last block, with its end in this one: over the limit too (it
            # was read whole when it ended within a block's length, up to 2 MB).
            at = max(0, len(pending) - 1)  # (pending may end with a '\r' kept back, below)
            ends = [i for i in (buf.find(b"\n", at), buf.find(b"\r", at)) if i >= 0]
            if pending and min(ends, default=len(buf)) > MAX_LINE_BYTES:
                self._too_long(offset, buf)
            # A '\r' that ends the buffer may be the first half of a '\r\n': it waits for the next block.
            cut = max(buf.rfind(b"\n"), buf.rfind(b"\r", 0, len(buf) - 1)) + 1
            if cut:
                yield offset, buf[:cut]
                offset += cut
            pending = buf[cut:]
            if len(pending) > MAX_LINE_BYTES:
                self._too_long(offset, pending)

    def _too_long(self, offset: int, line: bytes) -> NoReturn:
        """Refuse the line at byte ``offset`` (``line``: its bytes so far), longer than the limit."""
        try:  # a binary file (gzip's) is named as what it is, not as a long line
            line[:MAX_LINE_BYTES].decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < MAX_LINE_BYTES - 4:  # not a character cut by the slice
                raise _BadByte(offset + exc.start) from None
        raise RecordingError(
            self.name,
            f"a line longer than {_size_text(MAX_LINE_BYTES)}: not a recording CSV file (one row a "
            "line); check that this is the file you meant",
            line=self._line_at(offset),
        )

    def chunks(self) -> Iterator[str]:
        """The text from the start, in chunks of whole lines: BOM dropped, every line end made '\\n'.

        Raises _BadByte at the first byte that is not UTF-8."""
        for offset, raw in self._byte_chunks():
            skip = len(codecs.BOM_UTF8) if offset == 0 and raw.startswith(codecs.BOM_UTF8) else 0
            try:
                text = (raw[skip:] if skip else raw).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _BadByte(offset + skip + exc.start) from None
            if "\r" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            yield text
        self.complete = True

    def check_utf8(self) -> None:
        """Raise the not-UTF-8 RecordingError if some byte of the file is not UTF-8."""
        if self.complete:
            return
        try:
            for _ in self.chunks():
                pass
        except _BadByte as bad:
            raise self.not_utf8(bad.offset) from None

    def not_utf8(self, offset: int) -> RecordingError:
        """The error for the byte at ``offset`` that is not UTF-8."""
        line = self._line_at(offset)
        byte = self._read(offset, 1).hex()
        # What the file most likely is, by its first bytes (gzip's magic number, UTF-16's byte-order marks).
        if self.head.startswith(b"\x1f\x8b"):
            what = "a gzip-compressed file: decompress it first (gunzip)"
        elif self.head.startswith((b"\xff\xfe", b"\xfe\xff")):
            what = "UTF-16 text: save the file as UTF-8 CSV"
        else:
            what = f"not UTF-8 text (byte 0x{byte}): save the file as UTF-8 CSV"
        return RecordingError(self.name, what, line=line)

    def _line_at(self, offset: int) -> int:
        """The 1-based line number of the byte at ``offset``."""
        # Line ends before it: '\n', '\r\n' or a lone '\r' (a '\r\n' split between two blocks counts once).
        newlines = 0
        pos = 0
        last = b""
        while pos < offset:
            block = self._read(pos, min(READ_CHUNK_BYTES, offset - pos))
            if not block:
                break
            newlines += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
            if last == b"\r" and block[:1] == b"\n":
                newlines -= 1
            last = block[-1:]
            pos += len(block)
        return newlines + 1
