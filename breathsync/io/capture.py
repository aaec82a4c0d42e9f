"""A Bluetooth device's notifications as they came: the capture a recording keeps beside each ``ble:``
participant's samples (``<label>_ble.csv``, written by :class:`breathsync.recorder.Recorder`).

Why keep the bytes: the device protocols here come from documentation and other projects' code, not from
every device and firmware (devices/gdx.py says what is assumed of the GDX-RB). A recording that keeps
what the device sent can be decoded again later, by a fixed or newer decoder, and shows what a device
really does (``breathsync decode --capture FILE``)::

    # participant: A
    # device: polar-h10
    # holds: ...
    time,connection,stream,hex
    3.402117,1,control,f00202000000
    4.118532,1,acc,02ea54a2428b455208...

``time`` is the notification's arrival in session seconds (the recording's clock); ``connection`` counts
the connections the source made (1, 2, ... : on each the device's decoders start afresh, as the live
source's do); ``stream`` is the name, within the device's profile, of the stream the notification came on
(``acc``, ``hrm``, ``control``, ``battery``, ...: the streams ``breathsync decode --help`` lists for the
device), not the profile's own name, which is the ``# device:`` line's; ``hex`` the bytes.

A capture of a recording turned on during a session (from the dashboard) begins with what the device said
before the recording that still held then (its battery level, read as it connected): those rows are written
at the recording's start, and a ``# carried:`` line says so and when they came (:func:`carried_text`)::

    # carried: the first row came before this recording began (battery at 3.402 s, connection 1): ...
    time,connection,stream,hex
    60.238000,1,battery,57

Reading: :func:`read_capture` checks the layout and yields rows; one clear line (RecordingError) for what
is wrong, naming the line. A last line without its line end (a recording killed mid-write) is dropped,
as the recording reader drops a cut-off last row: the recorder ends every row with one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from breathsync.errors import RecordingError
from breathsync.io.csvfile import MAX_LINE_BYTES, open_input

__all__ = [
    "CAPTURE_CARRIED",
    "CAPTURE_COLUMNS",
    "CAPTURE_HOLDS",
    "CAPTURE_SUFFIX",
    "Capture",
    "CaptureRow",
    "carried_text",
    "read_capture",
]

#: A participant's capture: ``<stem>_ble.csv`` beside its ``<stem>.csv``.
CAPTURE_SUFFIX = "_ble.csv"
CAPTURE_COLUMNS = ("time", "connection", "stream", "hex")
CAPTURE_HOLDS = (
    "the device's notifications as they came: time (session s, arrival), connection (its decoders start "
    "afresh on each), stream (the device profile's), hex; decode them with breathsync decode --capture FILE"
)
#: The ``#`` line (its key) of a capture whose first rows came before the recording began (see the module).
CAPTURE_CARRIED = "carried"
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})*$")
_META = re.compile(r"^#\s*([A-Za-z_][A-Za-z0-9_ ]*?)\s*:\s*(.*?)\s*$")


def carried_text(carried: Sequence[tuple[str, int, float]], at_s: float) -> str:
    """The ``# carried:`` line's text: which first rows came before the recording began, ``carried`` as
    (stream, connection, arrival time) each, and that they are written at its start, ``at_s``."""
    rows = "the first row" if len(carried) == 1 else f"the first {len(carried)} rows"
    when = ", ".join(f"{stream} at {t:.3f} s, connection {conn}" for stream, conn, t in carried)
    return (
        f"{rows} came before this recording began ({when}): what the device said then that still held "
        f"(its battery level); written here at the recording's start, {at_s:.3f} s"
    )


@dataclass(frozen=True)
class CaptureRow:
    line: int
    t: float
    connection: int
    stream: str
    data: bytes


@dataclass
class Capture:
    """A capture file: its metadata (``device``, ``participant``, ...) and its rows (:meth:`rows`, read as
    they are iterated: a capture of hours is never held in memory)."""

    path: str
    meta: dict[str, str] = field(default_factory=dict)
    _lines: Iterator[tuple[int, str, bool]] | None = None

    def rows(self) -> Iterator[CaptureRow]:
        assert self._lines is not None, "read_capture() makes a Capture"
        last_t = -math.inf
        for n, line, ended in self._lines:
            if not ended:
                # The last line without its line end: cut short by a recording that was killed (the recorder
                # ends every row with one), even where what is left parses (a packet with bytes missing).
                return
            if not line.strip():
                continue
            row = _row(line, n, self.path)
            if row.t < last_t:
                raise RecordingError(
                    self.path,
                    f"time goes backwards ({row.t:g} s after {last_t:g} s): rows in arrival order",
                    n,
                )
            last_t = row.t
            yield row


def _row(line: str, n: int, path: str) -> CaptureRow:
    cells = line.split(",")
    if len(cells) != len(CAPTURE_COLUMNS):
        raise RecordingError(path, f"{len(cells)} cells, expected {len(CAPTURE_COLUMNS)}", n)
    t_text, conn_text, stream, hex_text = (c.strip() for c in cells)
    try:
        t = float(t_text)
    except ValueError:
        raise RecordingError(path, f"time {t_text[:40]!r} is not a number", n) from None
    if not (math.isfinite(t) and t >= 0):
        raise RecordingError(path, f"time {t_text[:40]!r} is not a session time (seconds, 0 or more)", n)
    if not (conn_text.isascii() and conn_text.isdigit()) or int(conn_text) < 1:
        raise RecordingError(path, f"connection {conn_text[:40]!r} is not a whole number from 1", n)
    if not stream:
        raise RecordingError(path, "no stream named", n)
    if not _HEX.match(hex_text):
        raise RecordingError(path, f"hex {hex_text[:40]!r} is not bytes in hex (two digits a byte)", n)
    return CaptureRow(n, t, int(conn_text), stream, bytes.fromhex(hex_text))


def _lines(name: str) -> Iterator[tuple[int, str, bool]]:
    """(line number, text without its end, whether it ended with a line end), each at most MAX_LINE_BYTES."""
    fh = open_input(name, "a capture (<label>_ble.csv of a recording)")
    with fh:
        n = 0
        while True:
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            n += 1
            ended = raw.endswith(b"\n")
            if len(raw) > MAX_LINE_BYTES and not ended:
                raise RecordingError(name, "a line longer than 1 MB: not a capture", n)
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise RecordingError(name, "not text (UTF-8): not a capture", n) from None
            yield n, text.rstrip("\r\n"), ended


def read_capture(name: str) -> Capture:
    """Open a capture and read its metadata and header (rows are read by :meth:`Capture.rows`).

    Raises
    ------
    RecordingError
        One line naming the file and line: unreadable, not text, no header, a header that is not
        ``time,connection,stream,hex``; the rows' problems come from :meth:`Capture.rows`.
    """
    lines = _lines(name)
    meta: dict[str, str] = {}
    for n, text, _ended in lines:
        if not text.strip():
            continue
        if text.lstrip().startswith("#"):
            m = _META.match(text.strip())
            if m:
                meta[m.group(1).strip().lower()] = m.group(2)
            continue
        header = tuple(c.strip().lower() for c in text.split(","))
        if header != CAPTURE_COLUMNS:
            raise RecordingError(
                name,
                f"header {text[:60]!r} is not {','.join(CAPTURE_COLUMNS)}: not a capture "
                "(a recording's <label>_ble.csv)",
                n,
            )
        return Capture(name, meta, lines)
    raise RecordingError(name, f"no header ({','.join(CAPTURE_COLUMNS)}): not a capture")
