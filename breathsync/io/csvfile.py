"""The breathsync recording format: one CSV file per participant stream.

Layout::

    # participant: A                      <- optional "# key: value" metadata lines
    # sampling_rate_hz: 25                   (other "#" lines are free comments, ignored)
    time,resp,rr_ms                       <- header row: column names
    0.000000,0.0132,                      <- numeric rows; an empty cell is NaN
    0.040000,0.0171,

Rules (the reader enforces them and names the file and the 1-based physical line of any problem):

- Delimiter: ``,``, ``;`` or tab, detected from the header; anything else is an error.
- ``time`` in seconds, non-decreasing. Equal consecutive times are allowed (several RR intervals
  delivered in one BLE notification share its host time); a time going backwards is an error. A time column
  named otherwise but in seconds, in any case (``Time``, ``TIME``, ``time_s``, ``Time (s)``, ``time [s]``),
  is read as ``time``, and so is ``t`` (``T``, ``t (s)``) when no other column looks like a time
  (``timestamp``, ``time_ms``).
- Signal columns: ``resp`` (breathing waveform), ``rr_ms`` (RR interval at each beat's time),
  ``acc_x``/``acc_y``/``acc_z`` (chest accelerometer, milli-G), ``ecg`` and any others. At least one
  breathing source (``resp``, ``rr_ms``, the full ``acc_x/y/z`` set, or ``ecg`` for its heart beats)
  holding a number is required. These names are read in any case (``Resp``, ``RR_MS``), ``resp`` and ``ecg``
  also with a unit (``RESP (mV)``, ``ecg [uV]``); two columns read as one name are refused (:func:`_read_names`).
- A file without a ``time`` column needs the sampling rate from the caller (``--rate HZ``; in a replay,
  ``rate=HZ``), except a series of RR intervals (``rr_ms`` and no sampled signal: a Kubios, Elite HRV or
  Polar export): each beat is at the running sum of the intervals up to and including its own (time 0 is the
  beat before the first interval), every row needs a positive interval (an empty cell is refused: it would
  shift every later beat), and ``--rate`` is ignored with a note (a replay refuses ``rate=``).
- A header name or a cell in double quotes may hold the delimiter (``"Resp, Belt A"``, ``"note, with
  comma"``, as a spreadsheet writes them; Python's csv rules: ``""`` is a quote inside quotes), but not a line
  break (a quoted cell left open on its line is refused); data rows are numbers (text only in a column
  breathsync does not read, below), and a row of text right under the header (a lab export's units row) is
  named as such.
- Plausible times for breathing: within +-1e11 s (Unix time in seconds is fine), a span of at most
  48 h, and rows a median of at most 5 s apart. Milliseconds or nanoseconds written as seconds fail
  these with a message saying so (their grid would not fit in memory). So are milliseconds that pass them:
  a declared ``# sampling_rate_hz:`` (or a caller's ``rate_hz``, ``--rate``) 1000x (1e6x, 1e9x) the time
  column's rate when the times look scaled too (a breathing waveform far slower than breathing on them; for
  other signals, a clock's grid: whole-number steps or one fractional step throughout), a breathing waveform on
  such a grid (whole steps, or one step of 1 or more: 3.906 for 256 Hz) that nothing declares, read in seconds
  far slower than breathing and smooth from sample to sample (mains hum left out:
  :func:`_mains_free_change_acf`) or over blocks of samples
  (:func:`_grid_millis`; a noisy one is refused when nothing in it turns from sample to sample and the
  steps are 2 or more or the time column numbers the rows, 0, 1, 2, ...: a sample counter; otherwise it gets a
  note), heart beats whose times are, beat by beat (the median), 1000x their RR
  intervals apart, and a time column named in another unit (``time_ms``, ``Time (ms)``). A declared rate
  that is merely wrong is a note. Minutes: a declared (or given) rate 60x slower than the time column's with
  a breathing waveform that swings 60x too fast on it (over 180/min) is refused; with no rate said, such a
  waveform gets a note (:data:`FAST_SWING_HZ`).
- Numbers: decimal with a '.' point (``0.25``, ``-1.5e-3``, ``nan``); a decimal comma (``0,25``, a
  European spreadsheet's export) and '_' digit separators (``1_000``) are refused with a line saying so.
- A sample of the breathing waveform (``resp``, or the column named with ``--column``) that lies more
  than 10 x the column's 0.5th-99.5th percentile range outside that range is a corrupt value, not a
  breath: it is read as missing, and the recording's notes (analyze's warnings) give how many and the
  first one's line.
- A regular file, or a pipe that is written to (``<(gunzip -c rec.csv.gz)``, kept in memory up to 1 GB);
  a device (``/dev/zero``), a socket, or a named pipe nothing writes to within 10 s is refused, and so is a
  line longer than 1 MB (a file without line ends), before it is held in memory.
- Accepted: Excel's ``sep=,`` first line, UTF-8 BOM, CRLF line ends, missing final newline, blank lines (ignored), empty cells
  (NaN) in signal columns, and the missing values ``NA``, ``N/A``, ``n/a``, ``#N/A`` (R, Excel, BIDS) as empty
  cells. Columns with an empty header name are left out when all their cells are empty (a trailing delimiter,
  a spreadsheet's stray columns) or, for the first, whole numbers (pandas' index); otherwise refused. A column
  breathsync does not read (not ``time``, ``resp``, ``rr_ms``, ``acc_*``, ``ecg`` or a ``--column``) that
  holds text (an event marker, a comment) is left out with a note naming it; text in a column it reads is
  refused. A final line without a newline that does not parse (a writer killed
  mid-row) is dropped; one that parses is kept (a cut-off last cell then reads as NaN or as a
  shortened number).

Numbers are written by :func:`write_recording` and :class:`RecordingWriter` with ``%.6f`` for time
(1 us resolution, also for epoch-second host clocks) and ``%.9g`` for values: 9 significant digits
bring integers below 1e9 (ADC counts, RR ms) back exactly, identify every float32 exactly (cast the
value read back to float32) and keep float64 data within a relative 5e-9. NaN is written as an
empty cell. Both formats can be changed per call (the shipped synthetic samples use fewer digits).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import math
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from io import BytesIO, StringIO, UnsupportedOperation
from types import TracebackType
from typing import IO, Any, Literal, NamedTuple, NoReturn, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from breathsync.errors import RecordingError

__all__ = [
    "ACC_COLUMNS",
    "DEFAULT_TIME_FORMAT",
    "DEFAULT_VALUE_FORMAT",
    "DERIVED_FROM",
    "EmptyRecordingError",
    "Recording",
    "RecordingWriter",
    "SignalKind",
    "read_recording",
    "replace_file",
    "write_private_bytes",
    "write_private_text",
    "write_recording",
]

SignalKind = Literal["resp", "acc", "rr", "ecg"]

TIME_COLUMN = "time"
ACC_COLUMNS = ("acc_x", "acc_y", "acc_z")
#: What a recording's ``# derived_from:`` line may say its ``resp`` waveform was derived from before it reached
#: the session (a partner's breathsync publishing breathing from heart beats or a chest accelerometer): "rr" or
#: "acc". The recorder writes it; analyze and replay read it (a belt otherwise).
DERIVED_FROM = ("rr", "acc")
DEFAULT_TIME_FORMAT = "%.6f"
DEFAULT_VALUE_FORMAT = "%.9g"
FILE_MODE = 0o600  # health data: readable and writable by the owner only

MAX_ABS_TIME_S = 1e11  # about 3000 years of Unix time: larger values are not seconds
MAX_SPAN_S = 48 * 3600.0  # the longest recording accepted (overnight studies fit well)
MAX_ABS_VALUE = 1e100  # larger breathing values are corrupt (and would overflow when squared)
# Isolated absurd values in a breathing waveform (a corrupt cell, a unit slip in one row): a sample further
# than ABSURD_RANGES x the column's robust range (its 0.5th-99.5th percentile span, which ignores up to 0.5%
# of the samples at each end) outside that span is read as missing, with a note. A sigh is about twice a
# normal breath (Ramirez, J. Physiol. 2014, "The integrative role of the sigh"), so it stays within about
# one range beyond the span; the recordings of sample_signals/ and ../shared/data reach 0.8. Only for columns of at
# least ABSURD_MIN_SAMPLES numbers. A flat column (no range) is left alone.
ABSURD_RANGES = 10.0
ABSURD_TAIL = 0.005
ABSURD_MIN_SAMPLES = 20
MAX_MEDIAN_STEP_S = 5.0  # beats are < 2 s apart, breathing samples < 0.5 s: slower rows are not seconds
READ_CHUNK_BYTES = 1 << 20  # the reader parses the file this much at a time (cut at a line end)
WRITE_BLOCK_ROWS = 50_000  # write_recording formats this many rows at a time
# Aliasing: a breath's shape is carried by its 2nd and 3rd harmonics, so a breathing waveform needs at least
# 6 samples per breath (the 3rd harmonic below the Nyquist frequency). Breathing up to 40/min: 4 Hz; a rate
# under that is said (analyze's notes), and simulate refuses one for its own breathers.
MIN_SAMPLES_PER_BREATH = 6
MIN_CLEAR_RATE_HZ = MIN_SAMPLES_PER_BREATH * 40.0 / 60.0
_DELIMITERS = {",": "','", ";": "';'", "\t": "tab"}
_ACCEPTED = "',' ';' or tab"
#: Lines of delimiters and white space only (see _is_blank_row), per delimiter.
_BLANK_ROWS = {
    d: re.compile(rf"^[ \t]*{re.escape(d)}[ \t{re.escape(d)}]*$\n?", re.MULTILINE) for d in _DELIMITERS
}
_META_RE = re.compile(r"^\s*#\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*:\s?(.*?)\s*$")
#: The first line Excel writes to name a CSV file's delimiter (``sep=,``, ``sep=;``; quoted by some).
_EXCEL_SEP_RE = re.compile(r'"?sep=.?"?', re.IGNORECASE)
_META_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_SINGLE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

FloatArray = NDArray[np.float64]

#: Columns the format reads by their meaning, never as a breathing waveform named with ``--column`` (replay's
#: ``column=``): what each one is.
RESERVED_COLUMNS = {
    "rr_ms": "RR intervals, read as heart beats",
    "ecg": "an ECG, read for its heart beats",
    **{
        c: "the chest accelerometer, read with " + " and ".join(o for o in ACC_COLUMNS if o != c)
        for c in ACC_COLUMNS
    },
}
#: How a breathing column is named, for the messages of the reader itself (the command line and the replay
#: spec check their own first and name their option).
_COLUMN_OPTIONS = "--column (in a replay: column=)"
#: Where the sampling rate of a file without a time column is given, and the rates accepted there.
RATE_OPTIONS = "--rate HZ; in a replay: rate=HZ"
MIN_RATE_HZ = 1.0
MAX_RATE_HZ = 100_000.0


def breathing_column_problem(name: str, option: str = _COLUMN_OPTIONS) -> str | None:
    """Why ``name`` cannot be the breathing waveform's column named with ``option`` (``--column``, replay's
    ``column=``), or None: the time column, or a column breathsync already reads by its meaning (a heart or
    accelerometer channel, :data:`RESERVED_COLUMNS`), in any case the reader reads them in (``Time``,
    ``RR_MS``: :func:`_known_name`). ``resp`` is fine."""
    known = _known_name(name)
    if known == TIME_COLUMN:
        return f"{_quote(name)} is the time column, not a breathing waveform"
    meaning = RESERVED_COLUMNS.get(known or name)
    if meaning is not None:
        return (
            f"{_quote(name)} is a column breathsync already reads by its meaning ({meaning}): leave out "
            f"{option}, which names a breathing waveform's column"
        )
    return None


def _column_problem(column: str, names: Sequence[str]) -> str | None:
    """Why ``column`` cannot be read as the breathing waveform of a file whose columns (time left out) are
    ``names``, or None."""
    problem = breathing_column_problem(column)
    if problem is not None or column in names:
        return problem
    found = ", ".join(_quote(c) for c in names)
    like = [c for c in names if c.lower() == column.lower()]
    hint = f"; did you mean {_quote(like[0])}?" if like else ""
    return (
        f"breathing column {_quote(column)} is not in the header: name one of {found} (case-sensitive{hint})"
    )


def _empty_column_problem(column: str, has_values: bool) -> str | None:
    if has_values:
        return None
    return (
        f"breathing column {_quote(column)} holds no numbers: name the column that holds the breathing "
        "waveform"
    )


# ---------------------------------------------------------------------------------- the record
@dataclass(frozen=True, eq=False)
class Recording:
    """One participant stream read from a recording file.

    Attributes
    ----------
    path : str
        The file it was read from.
    meta : dict[str, str]
        The ``# key: value`` metadata lines, in file order (a repeated key keeps its last value).
    time : numpy.ndarray
        Sample times in seconds (float64, non-decreasing, read-only).
    columns : dict[str, numpy.ndarray]
        Every column except ``time``, by header name (float64, NaN for empty cells, read-only).
    notes : tuple[str, ...]
        What the reader noticed and the user should know, though the file is usable (an ignored
        ``--rate``, a declared sampling rate its time column contradicts).
    resp_column : str, optional
        The file's column read as the breathing waveform ``resp`` (``read_recording(resp_column=)``,
        :meth:`with_resp`); None when ``resp`` is the file's own column (or there is none).
    time_from_rate : bool
        The file has no time column: ``time`` was made from the sampling rate the caller gave.
    time_from_rr : bool
        The file is a series of RR intervals without a time column (a Kubios, Elite HRV or Polar export of
        ``rr_ms`` only): ``time`` is the running sum of the intervals (:func:`_beat_times`).
    """

    path: str
    meta: dict[str, str]
    time: FloatArray
    columns: dict[str, FloatArray]
    notes: tuple[str, ...] = ()
    resp_column: str | None = None
    time_from_rate: bool = False
    time_from_rr: bool = False

    def __len__(self) -> int:
        """Number of data rows."""
        return int(self.time.shape[0])

    def __repr__(self) -> str:
        names = ",".join(self.columns)
        return f"Recording({self.path!r}, {len(self)} rows, columns={names})"

    def has_values(self, name: str) -> bool:
        """True when column ``name`` exists and holds at least one finite number."""
        col = self.columns.get(name)
        return col is not None and bool(np.isfinite(col).any())

    def with_resp(self, column: str, *, line: int | None = None) -> Recording:
        """The same recording with column ``column`` as its breathing waveform (``resp``); the arrays are
        shared, not copied.

        Raises
        ------
        RecordingError
            The name is not a breathing column's (:func:`breathing_column_problem`), the file has no such
            column, or it holds no numbers. :func:`read_recording` checks the columns it is asked for
            (``resp_column``, ``more_columns``) where it knows the header's line.
        """
        alias = self.resp_column not in (None, "resp")  # "resp" is then another column's name, not the file's
        names = [c for c in self.columns if not (c == "resp" and alias)]
        problem = _column_problem(column, names) or _empty_column_problem(column, self.has_values(column))
        if problem:
            raise RecordingError(self.path, problem, line=line)
        return replace(self, columns={**self.columns, "resp": self.columns[column]}, resp_column=column)

    def derived_from(self) -> tuple[str, str]:
        """What its ``# derived_from:`` line says the file's own ``resp`` waveform was derived from before it was
        recorded (a partner's breathsync publishing breathing from heart beats or a chest accelerometer): ("rr"
        or "acc", ""), or ("", the line's value) when it says something else, or ("", "") without the line, for
        another signal or for a column read as resp (``resp_column``): the line describes the file's ``resp``."""
        value = self.meta.get("derived_from")
        if value is None or self.signal_kind() != "resp" or self.resp_column not in (None, "resp"):
            return "", ""
        said = value.strip().lower()
        return (said, "") if said in DERIVED_FROM else ("", value.strip())

    def signal_kind(self) -> SignalKind | None:
        """Which breathing signal the recording offers, in priority order.

        Returns
        -------
        "resp", "acc", "rr", "ecg" or None
            ``"resp"`` for a breathing waveform, else ``"acc"`` when all of ``acc_x``, ``acc_y``,
            ``acc_z`` hold numbers, else ``"rr"`` for ``rr_ms``, else ``"ecg"`` (breathing from the
            RR intervals of its beats), else None.
        """
        if self.has_values("resp"):
            return "resp"
        if all(self.has_values(name) for name in ACC_COLUMNS):
            return "acc"
        if self.has_values("rr_ms"):
            return "rr"
        if self.has_values("ecg"):
            return "ecg"
        return None

    def beat_rows(self) -> NDArray[np.bool_]:
        """Rows that carry a heart beat: a number in ``rr_ms`` (all False without the column)."""
        col = self.columns.get("rr_ms")
        return np.isfinite(col) if col is not None else np.zeros(len(self), bool)

    def acc_rows(self) -> NDArray[np.bool_]:
        """Rows that are accelerometer samples: a number in any of ``acc_x/acc_y/acc_z``, or none in
        them and no beat either (a missing sample). A Polar H10 recording interleaves its beats (a
        ``rr_ms`` and empty ``acc_*`` cells) with its accelerometer rows; those are not samples. All
        False without the three columns."""
        cols = [self.columns.get(c) for c in ACC_COLUMNS]
        if any(c is None for c in cols):
            return np.zeros(len(self), bool)
        x, y, z = (np.isfinite(c) for c in cols if c is not None)
        return np.asarray((x | y | z) | ~self.beat_rows(), dtype=bool)

    def sampling_rate_hz(self, rows: NDArray[np.bool_] | None = None) -> float | None:
        """Sampling rate as 1 / median positive time step (beats per second for RR-only files), of the
        rows ``rows`` (a mask) or of all rows.

        Returns None when there are fewer than two distinct times.
        """
        steps = np.diff(self.time if rows is None else self.time[rows])
        positive = steps > 0
        if not positive.all():
            steps = steps[positive]
        if steps.size == 0:
            return None
        return float(1.0 / np.median(steps, overwrite_input=True))  # steps is a temporary

    def check_acc_rate(self) -> None:
        """RecordingError when the accelerometer is sampled too slowly for the breathing low-pass
        (:data:`breathsync.dsp.acc.MIN_FS_HZ`)."""
        from breathsync.dsp.acc import MIN_FS_HZ

        fs = self.sampling_rate_hz(self.acc_rows())
        if fs is None or not fs > MIN_FS_HZ:
            raise RecordingError(
                self.path,
                f"its accelerometer is sampled at {fs or 0:.3g} Hz, too slowly for breathing (more than "
                f"{MIN_FS_HZ:g} Hz)",
            )

    def check_rr_intervals(self) -> None:
        """RecordingError when column ``rr_ms`` holds fewer than two heart-beat intervals in the range a
        heart gives (:data:`breathsync.dsp.rr.RR_MIN_MS` to ``RR_MAX_MS``): nothing to derive breathing from
        (all 0, negative, or not milliseconds)."""
        from breathsync.dsp.rr import RR_MAX_MS, RR_MIN_MS

        rr = self.columns.get("rr_ms")
        ok = 0 if rr is None else np.count_nonzero(np.isfinite(rr) & (rr >= RR_MIN_MS) & (rr <= RR_MAX_MS))
        if ok < 2:
            raise RecordingError(
                self.path,
                f"column 'rr_ms' holds no heart-beat intervals between {RR_MIN_MS:g} and {RR_MAX_MS:g} ms "
                "(30-200 beats/min): check that it is RR intervals in milliseconds",
            )

    def ecg_rr(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The RR intervals of the ``ecg`` column's heart beats: ``(beat times, rr_ms)``, as a heart-rate
        strap would report them (:func:`breathsync.dsp.ecg.ecg_to_rr`).

        Raises
        ------
        RecordingError
            The ECG is sampled too slowly to find beats.
        """
        from breathsync.dsp.ecg import MIN_FS_HZ, ecg_to_rr

        fs = self.sampling_rate_hz()
        if fs is not None and fs < MIN_FS_HZ:
            raise RecordingError(
                self.path,
                f"its ECG is sampled at {fs:.3g} Hz, too slowly to find heart beats (at least "
                f"{MIN_FS_HZ:g} Hz): add a resp or rr_ms column",
            )
        return ecg_to_rr(self.time, self.columns["ecg"])


# ---------------------------------------------------------------------------------- reading
def read_recording(
    path: str | os.PathLike[str],
    rate_hz: float | None = None,
    *,
    resp_column: str | None = None,
    more_columns: Sequence[str] = (),
) -> Recording:
    """Read a recording file (format: module docstring).

    The file is parsed :data:`READ_CHUNK_BYTES` at a time, so the memory it needs follows the arrays
    returned (under twice their size for long recordings), not the length of the text.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    rate_hz : float, optional
        Sampling rate for a file without a ``time`` column (time = row index / rate). Ignored when
        the file has a ``time`` column (a note), unless it is 1000 (1e6, 1e9) x the time column's rate and
        the times look scaled: then the time column is in milliseconds (RecordingError). Ignored too (a
        note) for a series of RR intervals without a time column, whose beats are timed by their intervals.
    resp_column : str, optional
        The column that holds the breathing waveform, for files whose names are not this format's (a lab
        export's ``RSP`` or ``Resp_B``): it becomes ``resp`` (the column also stays under its own name, so
        :meth:`Recording.with_resp` can pick another of the file's belts).
    more_columns : Sequence[str]
        Further breathing columns the caller will pick with :meth:`Recording.with_resp` (a file holding
        several people's belts): checked like ``resp_column``, where the header's line is known.

    Returns
    -------
    Recording

    Raises
    ------
    RecordingError
        Any problem with the file, as one line naming the file, the line and what to do.
    """
    name = str(path)
    if rate_hz is not None and not (math.isfinite(rate_hz) and rate_hz > 0):
        raise RecordingError(name, f"sampling rate must be a positive number (Hz), not {rate_hz}")
    fh = open_input(name)
    with fh:
        source = _Source(name, fh)
        # XDF files open with the magic code "XDF:" (the XDF specification, sccn/xdf).
        if source.head.startswith(b"XDF:"):
            raise RecordingError(
                name,
                "an XDF file, not a CSV recording: replay it with `breathsync run -p A=replay:FILE.xdf` "
                "(add --record DIR to get CSV files)",
            )
        what = _not_csv_text(source.start)
        if what is not None:
            raise RecordingError(name, what, line=1)
        try:
            return _read(source, rate_hz, resp_column, tuple(more_columns))
        except _BadByte as bad:
            raise source.not_utf8(bad.offset) from None
        except RecordingError:
            # A byte that is not UTF-8 is reported first, wherever it is (the rest may not have been read).
            source.check_utf8()
            raise


def _not_csv_text(start: bytes) -> str | None:
    """What a file is, by its first bytes, when it is text but no recording CSV: UTF-16 without a byte-order
    mark (every other byte NUL: it reads as UTF-8, then fails on its header or a "units row"), or JSON
    (analyze's own --json output, most likely); None otherwise."""
    sample = start[: len(start) - len(start) % 2]
    if len(sample) >= 8 and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        even, odd = sample[0::2], sample[1::2]
        for nul, text, order in ((odd, even, "LE"), (even, odd, "BE")):
            if nul.count(0) >= 0.9 * len(nul) and text.count(0) <= 0.1 * len(text):
                return f"UTF-16{order} text (without a byte-order mark): save the file as UTF-8 CSV"
    body = start.removeprefix(codecs.BOM_UTF8).lstrip()
    if body.startswith((b"{", b"[")):
        if b'"breathsync_version"' in start or b'"participants"' in start:
            return (
                "a JSON file (breathsync's own output, such as analyze --json), not a recording CSV: give the "
                "recordings (or the session folder) it was made from"
            )
        return "a JSON file, not a recording CSV: give a CSV file with a header row, e.g. time,resp"
    return None


def _read(
    source: _Source, rate_hz: float | None, resp_column: str | None = None, more_columns: tuple[str, ...] = ()
) -> Recording:
    name = source.name
    chunks = source.chunks()
    meta, meta_lines, header_no, header, after_header = _scan_preamble(name, chunks)
    delimiter = _detect_delimiter(name, header_no, header)
    names = _parse_header(name, header_no, header, delimiter)
    wanted = ([resp_column] if resp_column is not None else []) + list(more_columns)
    if more_columns and resp_column is None:
        raise ValueError("more_columns needs resp_column")
    names = _read_names(name, header_no, names, wanted)
    _check_wanted_columns(name, header_no, names, wanted)
    # Text is read as missing (and noted) in the columns breathsync does not read, and in unnamed ones (refused
    # below unless empty).
    texts = _Texts(
        frozenset(i for i, n in enumerate(names) if n not in _READ_COLUMNS and n not in wanted), {}
    )

    def reread(drop_last: bool) -> Iterator[_Piece]:
        again = source.chunks()
        return _data_pieces(_after_lines(again, header_no), again, header_no + 1, drop_last)

    first = _data_pieces(after_header, chunks, header_no + 1)
    try:
        arrays, dropped = _parse_data(name, header_no, first, reread, delimiter, names, source.size, texts)
    except _NoRows:
        raise EmptyRecordingError(
            name, "no complete data rows after the header: the recording is empty", line=header_no
        ) from None

    kept, text_notes = _unread_columns(name, header_no, names, arrays, texts)
    columns = {names[i]: arrays[i] for i in kept}
    beat_note: str | None = None
    from_rr = False
    if TIME_COLUMN in columns:
        time = columns.pop(TIME_COLUMN)
        _check_time(name, time, lambda row: _data_line(reread(dropped), row, delimiter))
    else:
        hint = ""
        declared = meta.get("sampling_rate_hz")
        if declared:
            hint = f" (the file says sampling_rate_hz: {declared})"
        like = [c for c in columns if _looks_like_time(c)]
        unit = next((u for c in like if (u := _time_name_unit(c)) is not None), None)
        if unit is not None:  # "time_ms", "Time (ms)": not seconds, whatever its name becomes
            time_like, factor, words = unit
            raise RecordingError(
                name,
                f"no 'time' column: {_quote(time_like)} looks like a time in {words}, and breathsync wants "
                f"seconds: divide it by {factor:.0f} and name the column 'time'",
                line=header_no,
            )
        beats = resp_column is None and _is_beat_series(columns)
        if like and rate_hz is None:  # "Time (min)", "timestamp": a lab export's name for one
            other = (
                "delete it (the beats are then timed by the running sum of their RR intervals)"
                if beats
                else f"pass the sampling rate ({RATE_OPTIONS})"
            )
            raise RecordingError(
                name,
                f"no 'time' column: if {' or '.join(_quote(c) for c in like[:2])} is the time in seconds, rename it "
                f"'time'; else {other}" + hint,
                line=header_no,
            )
        if beats:
            blank = _blank_line_among_rows(reread(dropped), delimiter)
            if blank is not None:
                raise RecordingError(
                    name,
                    "a blank line among the RR intervals of a file without a time column: each beat is timed by "
                    "the running sum of the intervals up to it, which a missing interval would shift: fill it in "
                    "(delete the line if no beat is missing there), or add a time column in seconds",
                    line=blank,
                )
            time = _beat_times(
                name, columns["rr_ms"], lambda row: _data_line(reread(dropped), row, delimiter)
            )
            from_rr = True
            if rate_hz is not None:
                beat_note = (
                    f"--rate {rate_hz:g} ignored: the file is a series of RR intervals, each beat timed by the "
                    "running sum of the intervals (a series of beats has no sampling rate)"
                )
        elif rate_hz is None:
            raise RecordingError(
                name,
                f"no 'time' column: pass the sampling rate ({RATE_OPTIONS}){hint}, or add a time "
                "column in seconds",
                line=header_no,
            )
        else:
            time = np.arange(arrays[0].shape[0], dtype=np.float64) / float(rate_hz)
            check_time_scale(
                name,
                time,
                f"at a sampling rate of {rate_hz:g} Hz",
                f"check the sampling rate ({RATE_OPTIONS})",
            )

    rec = Recording(
        path=name,
        meta=meta,
        time=time,
        columns=columns,
        time_from_rate=TIME_COLUMN not in names and not from_rr,
        time_from_rr=from_rr,
    )
    for wanted_col in wanted:
        problem = _empty_column_problem(wanted_col, rec.has_values(wanted_col))
        if problem:
            raise RecordingError(name, problem, line=header_no)
    if resp_column is not None:
        rec = rec.with_resp(resp_column, line=header_no)
    # Before _check_signal: an isolated 1e300 is a corrupt sample, read as missing; a column of them is refused.
    absurd = []
    for belt in dict.fromkeys(["resp", *wanted]):
        note = _drop_absurd(belt, columns.get(belt), lambda row: _data_line(reread(dropped), row, delimiter))
        if note:
            absurd.append(note)
    _check_signal(name, header_no, rec, names)
    if TIME_COLUMN in names:
        _check_time_unit(rec, meta_lines.get("sampling_rate_hz"), header_no, rate_hz)
    rec = replace(
        rec,
        notes=_notes(rec, rate_hz if TIME_COLUMN in names else None, meta_lines)
        + ((beat_note,) if beat_note else ())
        + text_notes
        + tuple(absurd),
    )
    time.flags.writeable = False
    for col in columns.values():
        col.flags.writeable = False
    return rec


#: The columns breathsync reads by their names (a text cell in one of them is refused; in others, ignored).
_READ_COLUMNS = frozenset({TIME_COLUMN, "resp", "rr_ms", *ACC_COLUMNS, "ecg"})
_SECONDS_UNIT = (
    r"(?:\s*\(\s*(?:s|sec|secs|seconds)\s*\)|\s*\[\s*(?:s|sec|secs|seconds)\s*\]|_(?:s|sec|secs|seconds))"
)
#: A time column's name that says seconds, in any case: "Time", "TIME", "time_s", "Time (s)", "time [s]",
#: "time_sec", "Time (seconds)".
_SECONDS_TIME_RE = re.compile(rf"time{_SECONDS_UNIT}?", re.IGNORECASE)
#: "t" ("T", "t (s)"): the time only when no other column looks like one (:func:`_read_names`); a single
#: letter says less than "time".
_T_TIME_RE = re.compile(rf"t{_SECONDS_UNIT}?", re.IGNORECASE)
#: A breathing belt's or an ECG's name with its unit, as lab exports write them ("RESP (mV)", "ecg [uV]"):
#: breathsync reads neither by its scale (a belt's unit is arbitrary; an ECG gives its beats' times), so any
#: unit goes. Not for rr_ms and acc_*, whose values are read in the format's units (ms, milli-g).
_UNIT_NAME_RE = re.compile(r"(resp|ecg)\s*(?:\([^()]*\)|\[[^\[\]]*\])", re.IGNORECASE)


def _known_name(column: str) -> str | None:
    """The name breathsync reads a header's column as (``time``, ``resp``, ``rr_ms``, ``acc_x/y/z``, ``ecg``),
    whatever its case ("Resp", "RR_MS"), "resp" and "ecg" with a unit ("RESP (mV)") and ``time`` under a name
    that says seconds (:data:`_SECONDS_TIME_RE`); None for any other column (and for "t": :func:`_read_names`)."""
    text = column.strip()
    lower = text.lower()
    if lower in _READ_COLUMNS:
        return lower
    if _SECONDS_TIME_RE.fullmatch(text):
        return TIME_COLUMN
    unit = _UNIT_NAME_RE.fullmatch(text)
    return unit.group(1).lower() if unit else None


def _looks_like_time(column: str) -> bool:
    """A name a time column may have, in seconds or not: "time..." ("timestamp", "Time (ms)") or "t" with or
    without a unit ("t_ms", "T (s)")."""
    words = [w for w in re.split(r"[^a-z\u00b5\u03bc]+", column.lower()) if w]
    return column.strip().lower().startswith(TIME_COLUMN) or (
        bool(words)
        and words[0] == "t"
        and (len(words) == 1 or (len(words) == 2 and words[1] in _TIME_UNIT_NAMES))
    )


def _read_names(name: str, header_no: int, names: list[str], wanted: Sequence[str]) -> list[str]:
    """The header's names with the columns breathsync reads named as this format names them, whatever their
    case or unit (:func:`_known_name`: ``Time (s)`` is ``time``, ``RESP (mV)`` is ``resp``), and "t" as
    ``time`` when no other column looks like a time (:func:`_looks_like_time`: not beside "time_ms" or
    "timestamp", whose unit it would hide). A breathing column asked for by name (``wanted``) keeps its name.
    Two columns read as one name are refused: which one holds it is not said."""
    read: dict[str, list[int]] = {}
    for i, col in enumerate(names):
        known = _known_name(col) if col not in wanted else None
        if known is not None:
            read.setdefault(known, []).append(i)
    if TIME_COLUMN not in read:
        letters = [
            i for i, col in enumerate(names) if col not in wanted and _T_TIME_RE.fullmatch(col.strip())
        ]
        others = [col for i, col in enumerate(names) if i not in letters and _looks_like_time(col)]
        if letters and not others:
            read[TIME_COLUMN] = letters
    out = list(names)
    for known, found in read.items():
        if len(found) > 1:
            both = " and ".join(_quote(names[i]) for i in found[:2])
            what = (
                "both look like the time in seconds"
                if known == TIME_COLUMN
                else f"are both read as {_quote(known)}"
            )
            raise RecordingError(
                name,
                f"columns {both} {what} (column names are read in any case): keep one, or rename the other",
                line=header_no,
            )
        out[found[0]] = known
    return out


def _unread_columns(
    name: str, header_no: int, names: list[str], arrays: list[FloatArray], texts: _Texts
) -> tuple[list[int], tuple[str, ...]]:
    """The columns to keep (indices), and a note for each named column of text left out (an event marker, a
    comment). Unnamed columns (an empty header name) are left out when every cell is empty (a trailing
    delimiter, a spreadsheet's stray empty columns) or, for the first, when every cell is a whole number
    (pandas' ``to_csv()`` writes its index so); one holding anything else is refused (what it holds is not
    said)."""
    kept: list[int] = []
    notes: list[str] = []
    for i, col in enumerate(names):
        if not col:
            where = f"column {i + 1} has no name in the header"
            if i in texts.found:
                line_no, text = texts.found[i]
                raise RecordingError(
                    name,
                    f"{where} but holds text ({_quote(text)}): name it in the header, or delete the column",
                    line=line_no,
                )
            values = arrays[i]
            finite = np.isfinite(values)
            if not finite.any():
                continue
            if i == 0 and finite.all() and bool(np.all(values == np.round(values))):
                continue  # pandas' index: 0, 1, 2, ...
            raise RecordingError(
                name,
                f"{where} but holds numbers: name it in the header (e.g. 'time' or 'resp'), or delete the column",
                line=header_no,
            )
        if i in texts.found:
            line_no, text = texts.found[i]
            notes.append(
                f"column {_quote(col)} holds text ({_quote(text)} at line {line_no}), not numbers: it is ignored"
            )
            continue
        kept.append(i)
    return kept, tuple(notes)


def _drop_absurd(col: str, values: FloatArray | None, line_of_row: Callable[[int], int]) -> str | None:
    """Read the isolated absurd samples of breathing column ``col`` as missing (NaN, in place; the rule is at
    :data:`ABSURD_RANGES`); the note saying so, or None when there are none."""
    if values is None:
        return None
    # One copy of the column at most (np.partition's): an hour at 1 kHz is 29 MB a copy.
    finite = np.isfinite(values)
    n = int(np.count_nonzero(finite))
    if n < ABSURD_MIN_SAMPLES:
        return None
    tail = max(1, int(n * ABSURD_TAIL))
    part = np.partition(values if n == values.size else values[finite], (tail, n - 1 - tail))
    lo, hi = float(part[tail]), float(part[n - 1 - tail])
    del part, finite
    span = hi - lo
    if not span > 0:
        return None
    bad = np.flatnonzero(
        (values > hi + ABSURD_RANGES * span) | (values < lo - ABSURD_RANGES * span)
    )  # NaN: False
    if not bad.size:
        return None
    first = int(bad[0])
    shown = f"{values[first]:.6g}"
    values[bad] = np.nan
    samples = "1 sample" if bad.size == 1 else f"{bad.size} samples"
    return (
        f"column {_quote(col)}: {samples} far outside the rest of the recording (over "
        f"{ABSURD_RANGES:g}x its range; the first, {shown}, at line {line_of_row(first)}) read as missing: "
        "corrupt values, not breathing (check the file there)"
    )


def _check_wanted_columns(name: str, header_no: int, names: list[str], wanted: list[str]) -> None:
    """The breathing columns asked for (``resp_column``, ``more_columns``): each a column of this header, and
    each once (the same belt twice would be a fake perfect pair)."""
    seen: set[str] = set()
    for col in wanted:
        problem = _column_problem(col, [n for n in names if n != TIME_COLUMN])
        if problem is None and col in seen:
            problem = f"breathing column {_quote(col)} is named twice: name each person's column once"
        if problem is not None:
            raise RecordingError(name, problem, line=header_no)
        seen.add(col)


def _is_beat_series(columns: Mapping[str, FloatArray]) -> bool:
    """Whether a file without a time column is a series of heart beats: ``rr_ms`` holds numbers and no column
    of a sampled signal does (``resp``, ``acc_x/y/z``, ``ecg``), as in the RR exports of Kubios HRV, Elite HRV
    or a Polar app (one interval a row; other columns, a heart rate, go along)."""

    def has(col: str) -> bool:
        values = columns.get(col)
        return values is not None and bool(np.isfinite(values).any())

    return has("rr_ms") and not any(has(c) for c in ("resp", *ACC_COLUMNS, "ecg"))


def _blank_line_among_rows(pieces: Iterator[_Piece], delimiter: str) -> int | None:
    """The line number of the first blank line (:func:`_is_blank_row`) between two data rows, or None."""
    blank: int | None = None
    seen_row = False
    for piece in pieces:
        lines = piece.text.split("\n")
        if piece.text.endswith("\n"):
            lines.pop()  # the text after the last line end: no line
        for offset, line in enumerate(lines):
            if not _is_blank_row(line, delimiter):
                if blank is not None:
                    return blank
                seen_row = True
            elif seen_row and blank is None:
                blank = piece.first_no + offset
    return None


def _beat_times(name: str, rr_ms: FloatArray, line_of_row: Callable[[int], int]) -> FloatArray:
    """The times (s) of a series of heart beats without a time column: the running sum of its RR intervals
    (ms), each beat at the end of its own interval. Time 0 is the beat before the first interval, so the first
    beat is at its interval (the convention of the format's ``rr_ms``: the interval ending at each beat's row).
    Every row needs a positive interval: a missing one would shift every later beat by an unknown time."""
    bad = ~(np.isfinite(rr_ms) & (rr_ms > 0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        what = "an empty (or NA) rr_ms cell" if np.isnan(rr_ms[row]) else f"rr_ms {rr_ms[row]:g}"
        raise RecordingError(
            name,
            f"{what} in a file of RR intervals without a time column: each beat is timed by the running sum of "
            "the intervals up to it, so every row needs a positive interval in milliseconds: fill it in (or "
            "delete the row of a beat that was not there), or add a time column in seconds",
            line=line_of_row(row),
        )
    time = np.cumsum(rr_ms) / 1000.0
    check_time_scale(
        name,
        time,
        "as the running sum of its RR intervals",
        "check that column 'rr_ms' holds RR intervals in milliseconds",
    )
    return time


#: Units a time column is written in instead of seconds, by the factor that makes them seconds (also
#: recognised in a time column's name: "time_ms", "Time (ms)").
_TIME_UNITS = {"milliseconds": 1e3, "microseconds": 1e6, "nanoseconds": 1e9}
_TIME_UNIT_NAMES = {"ms": "milliseconds", "msec": "milliseconds", "millis": "milliseconds"}
_TIME_UNIT_NAMES |= {"milliseconds": "milliseconds", "us": "microseconds", "\u00b5s": "microseconds"}
_TIME_UNIT_NAMES |= {"\u03bcs": "microseconds"}
_TIME_UNIT_NAMES |= {"microseconds": "microseconds", "ns": "nanoseconds", "nanoseconds": "nanoseconds"}
#: A declared sampling rate within this fraction of 1000 (1e6, 1e9) x the time column's says the times are
#: milliseconds (microseconds, nanoseconds): a real clock drifts by far less than this, and a unit slip is
#: exactly such a factor.
UNIT_RATIO_TOLERANCE = 0.03
#: Heart beats whose times are, beat by beat, this many times their RR intervals (in s) apart or more (the
#: median over the beats): the times are not seconds. In seconds the two agree, beat by beat (a missing beat
#: or a pause is one long step among many, which the median passes over); in milliseconds the steps are
#: 1000 x the intervals.
RR_SPAN_RATIO_MS = 300.0
#: A breathing waveform whose times, read as seconds, give it fewer swings than this (Hz, up-and-down cycles
#: per second) is much slower than any breathing: with a declared rate 1000 x the time column's, the times
#: are milliseconds. Read in seconds, a recording breathes at 0.05 Hz (3 breaths/min) or faster.
SLOW_SWING_HZ = 0.05
#: A time column in minutes: a breathing waveform that, read in seconds, swings this often or more (Hz: 180/min,
#: three times the fastest breathing the offline band-pass keeps)... In minutes, breathing at 3-60/min swings
#: at 3-60 Hz; recordings in seconds swing at 0.06-0.9 Hz (sample_signals/ and ../shared/data, the ICU
#: patient's the fastest).
FAST_SWING_HZ = 3.0
#: ... over at least this many samples per swing (a smooth curve, not noise: white noise crosses the middle
#: band every 3-4 samples; breathing in minutes recorded at 4 Hz or more has 16 or more per breath at 15/min).
MIN_SAMPLES_PER_SWING = 10
#: Milliseconds that nothing declares (no ``sampling_rate_hz``, no ``--rate``): a breathing waveform whose time
#: column steps by whole numbers (a clock counting whole milliseconds, or whole seconds) and that, read in
#: seconds, takes longer than this per cycle (0.3/min) is no breathing in seconds; in milliseconds it is any
#: breathing slower than 300/min. See :func:`_grid_millis`.
MILLIS_CYCLE_S = 200.0
#: ... and its sample-to-sample changes follow a slow curve: their autocorrelation is at least this at every lag
#: of 1 to :data:`MILLIS_SMOOTH_LAGS` samples (the belt recordings of sample_signals/ and ../shared/data, at 100
#: and 1000 Hz: 0.84-0.92).
MILLIS_SMOOTH_ACF = 0.5
MILLIS_SMOOTH_LAGS = 10
#: ... or, for a hint only (a note), they show no breath from sample to sample: no autocorrelation below this
#: at lags 2 to MILLIS_SMOOTH_LAGS (breathing sampled at about 1 Hz turns every 1-10 samples, which makes its
#: changes anticorrelated at half its cycle: -0.2 to -0.97 for simulated 1-Hz belts, irregular, noisy and on a
#: drifting baseline; noise gives about 0).
MILLIS_NO_BREATH_ACF = -0.1
#: ... and refused, when the time column steps by 2 or more or numbers the rows, when none of those
#: autocorrelations, at lags 1 to 10, is at or below this: nothing turns from sample to sample (an impedance belt
#: in milliseconds, the ICU recording of ../shared/data at 250 Hz: -0.05 to -0.2 over its 30-300 s stretches;
#: the 1 Hz copies of the real belts: -0.24 and below; simulated irregular noisy 1 Hz belts on a drifting
#: baseline: -0.37 and below).
MILLIS_NO_TURN_ACF = -0.25
#: A lag of 1 to 10 whose autocorrelation is at or below this shows breathing turning from sample to sample, as
#: breathing at about 1 Hz does (no hint then; the other rules refuse nothing whose lags 2-10 reach it).
MILLIS_TURN_ACF = -0.3
#: Block means (:func:`_block_smooth_cycle_s`) follow a curve when the autocorrelations of their changes at lags
#: 1 and 2 are at least these (a sine sampled 8 blocks a half cycle: 0.92 and 0.71; white noise: -0.5 and 0;
#: block means of a random walk: 0.25 and 0).
MILLIS_BLOCK_ACF = (0.7, 0.4)
MILLIS_MIN_BLOCKS = 64
#: The millisecond rules look at the first this many samples (17 min at 1 kHz, 12 days at 1 Hz).
MILLIS_ANALYSED_SAMPLES = 1 << 20
#: A time column whose steps are all at least 1 and within this fraction of their median is a clock's grid
#: (:func:`_grid_step`), as milliseconds at 256 Hz are (3.90625 ms, printed 3.906 or 3.907; 3.9 or 4.0 with one
#: decimal: 2.5%). Host times jitter by more, and beats by far more.
GRID_SPREAD = 0.03
#: Mains hum (:func:`_mains_free_change_acf`): the mains frequencies, the half-width of a line at the
#: fundamental (the grid's frequency wanders by up to 0.2 Hz), how much denser than beside it its power is
#: (a line's is thousands of times, breathing's or noise's about once; the periodogram's scatter over the
#: dozens of frequencies of the band stays well under 2x), the harmonics looked at, the lowest frequency one
#: is left out at (in milliseconds, breathing is below 2 Hz), and how long the time column must step, read in
#: milliseconds (20 s: 20,000 samples at 1 kHz, 5,120 at 256 Hz; read in seconds, over 5.5 h).
MAINS_HZ = (50.0, 60.0)
MAINS_BAND_HZ = 1.0
MAINS_LINE_RATIO = 10.0
MAINS_HARMONICS = 10
MAINS_MIN_HZ = 10.0
MAINS_MIN_SPAN_MS = 20_000.0


def _time_name_unit(column: str) -> tuple[str, float, str] | None:
    """(column, factor to seconds, unit words) when a time column's name says its unit is not seconds
    (``time_ms``, ``Time (ms)``, ``time[us]``), else None."""
    words = re.split(r"[^a-z\u00b5\u03bc]+", column.lower())
    for word in words[1:]:  # the first is "time"
        unit = _TIME_UNIT_NAMES.get(word)
        if unit is not None:
            return column, _TIME_UNITS[unit], unit
    return None


def _check_time_unit(
    rec: Recording, rate_line: int | None, header_no: int, given_rate_hz: float | None = None
) -> None:
    """Refuse a time column that says, by more than its scale (:func:`check_time_scale`), that it is not in
    seconds: a declared ``sampling_rate_hz`` or a ``--rate`` (``given_rate_hz``) 1000 (1e6, 1e9) x the time
    column's rate, a breathing waveform whose whole-number times make it far too slow for breathing
    (:func:`_grid_millis`), or heart beats whose times are 1000 x their RR intervals apart. An honest
    1 Hz file (integer seconds) passes them all."""
    fs = rec.sampling_rate_hz()
    declared = declared_rate_hz(rec.meta)
    claims: list[tuple[float, str, int]] = []
    if declared is not None:
        said = f"the file says sampling_rate_hz: {rec.meta['sampling_rate_hz'].strip()}, but its time column"
        claims.append((declared, said, rate_line if rate_line is not None else header_no))
    if given_rate_hz is not None:
        # --rate is for files without a time column; given for one whose times are milliseconds, it is the
        # same evidence as a declared rate (a batch's --rate for the files without one: the ratio and the
        # times must both say it, as for a declared rate).
        said = f"--rate {given_rate_hz:g} was given, but the file has a time column, which"
        claims.append((given_rate_hz, said, header_no))
    if fs is not None and rec.signal_kind() in ("resp", "acc", "ecg"):
        for claimed, said, line in claims:
            for unit, factor in _TIME_UNITS.items():
                # The ratio alone is also a sampling_rate_hz line left over after decimating: the times must
                # look like milliseconds too, else it is the mismatch note (_notes).
                if abs(claimed / fs - factor) <= UNIT_RATIO_TOLERANCE * factor and _times_look_scaled(rec):
                    raise RecordingError(
                        rec.path,
                        f"{said} steps at {fs:.4g} Hz ({factor:g} times slower): the time is in {unit}; "
                        f"breathsync wants seconds: divide the time column by {factor:.0f}",
                        line=line,
                    )
            # Minutes: the time column's rate 60 x the rate claimed, and a waveform that swings 60 x too fast.
            if abs(fs / claimed - 60.0) <= UNIT_RATIO_TOLERANCE * 60.0 and _times_look_compressed(rec):
                raise RecordingError(
                    rec.path,
                    f"{said} steps at {fs:.4g} Hz (60 times faster): the time is in minutes; breathsync wants "
                    "seconds: multiply the time column by 60",
                    line=line,
                )
    if fs is not None and not any(abs(fs - claimed) <= 0.05 * claimed for claimed, _, _ in claims):
        # Nothing says the time column's rate is right (a declared or given rate that agrees with it does).
        millis = _grid_millis(rec)
        if millis is not None and millis.certain:
            if millis.counts_rows:
                raise RecordingError(
                    rec.path,
                    f"its time column numbers the rows (0, 1, 2, ...) and, read as seconds, its breathing waveform "
                    f"takes {millis.cycle_s:.0f} s per cycle (breathing takes 1-20 s): the time looks like "
                    "milliseconds or sample numbers; breathsync wants seconds: if it numbers the samples, delete "
                    f"(or rename) the time column and give the sampling rate ({RATE_OPTIONS}); if it is "
                    "milliseconds, divide the time column by 1000; if it is seconds, add a "
                    "'# sampling_rate_hz: 1' line",
                    line=header_no,
                )
            # A fractional step is no row count; what it is in milliseconds says the rate (3.906: 256 Hz).
            unit = "" if millis.whole else f" ({millis.step:.4g} ms: {1000.0 / millis.step:.4g} Hz)"
            rows = "if it counts rows, delete it and give --rate; " if millis.whole else ""
            raise RecordingError(
                rec.path,
                f"its time column {millis.steps_words()} and, read as seconds, its breathing waveform takes "
                f"{millis.cycle_s:.0f} s per cycle (breathing takes 1-20 s): the time looks like milliseconds"
                f"{unit}; breathsync wants seconds: divide the time column by 1000 ({rows}if it is seconds, add a "
                "'# sampling_rate_hz:' line with the rate)",
                line=header_no,
            )
    rr = rec.columns.get("rr_ms")
    if rr is None:
        return
    beats = np.isfinite(rr)
    if np.count_nonzero(beats) < 10:
        return
    from breathsync.dsp.rr import RR_MAX_MS, RR_MIN_MS

    rr_beats = rr[beats]
    if not RR_MIN_MS <= float(np.median(rr_beats)) <= RR_MAX_MS:
        return  # not RR intervals in milliseconds: nothing to compare the times with
    t_beats = rec.time[beats]
    rr_s = rr_beats[1:] / 1000.0
    good = rr_s > 0
    if not good.any():
        return
    ratio = float(np.median(np.diff(t_beats)[good] / rr_s[good]))
    if ratio >= RR_SPAN_RATIO_MS:
        raise RecordingError(
            rec.path,
            f"its heart beats are {ratio:.0f} times their RR intervals apart (the median over its beats): the "
            "time is in milliseconds, and breathsync wants seconds: divide the time column by 1000",
            line=header_no,
        )


def _swing_cycles(t: FloatArray, y: FloatArray) -> tuple[float, float]:
    """How many up-and-down cycles a waveform makes across its middle (crossing the band of a tenth of its
    interquartile range around its median, so that noise about the middle does not count), and over how
    long (the span of its times): (cycles, span)."""
    ok = np.isfinite(y) & np.isfinite(t)
    y, t = y[ok], t[ok]
    span = float(t[-1] - t[0]) if t.size > 1 else 0.0
    if not span > 0:
        return 0.0, 0.0
    mid = float(np.median(y))
    q25, q75 = np.percentile(y, [25, 75])
    band = 0.1 * float(q75 - q25)  # a swing crosses the band, not the noise around the median
    side = np.where(y > mid + band, 1, np.where(y < mid - band, -1, 0))
    side = side[side != 0]
    return np.count_nonzero(np.diff(side)) / 2.0, span


def _times_look_scaled(rec: Recording) -> bool:
    """Whether a recording's time column looks like milliseconds (microseconds, ...) rather than seconds,
    beyond a declared rate: a breathing waveform that, on these times, swings slower than
    :data:`SLOW_SWING_HZ` (breathing at 1000 Hz in ms looks like one breath an hour); other signals (an
    accelerometer's or ECG's own swings say little) when the time column is a clock's grid (:func:`_grid_step`:
    whole-number steps, or the same fractional step throughout, 3.906 for 256 Hz in milliseconds)."""
    t = rec.time
    if rec.signal_kind() == "resp":
        cycles, span = _swing_cycles(t, rec.columns["resp"])
        return span > 0 and bool(cycles / span < SLOW_SWING_HZ)
    return _grid_step(t) is not None


def _swings_per_s(rec: Recording) -> float | None:
    """How often a breathing waveform swings across its middle per second of its time column, when that is
    a smooth curve's (at least :data:`MIN_SAMPLES_PER_SWING` samples a swing); None otherwise (no ``resp``,
    too few swings, or noise)."""
    if rec.signal_kind() != "resp":
        return None
    y = rec.columns["resp"]
    cycles, span = _swing_cycles(rec.time, y)
    if cycles < 2 or not span > 0 or np.count_nonzero(np.isfinite(y)) < MIN_SAMPLES_PER_SWING * cycles:
        return None
    return cycles / span


def _times_look_compressed(rec: Recording) -> bool:
    """Whether a recording's time column looks like minutes: its breathing waveform swings at least
    :data:`FAST_SWING_HZ` on these times, as a smooth curve (:func:`_swings_per_s`)."""
    rate = _swings_per_s(rec)
    return rate is not None and rate >= FAST_SWING_HZ


def _whole_steps(t: FloatArray) -> float | None:
    """The median time step when every step between distinct times is a whole number (a clock counting whole
    units), else None."""

    def whole(steps: FloatArray) -> bool:
        return bool(np.all(np.abs(steps - np.round(steps)) <= 1e-6 * np.maximum(steps, 1.0)))

    head = np.diff(t[:1000])  # most time columns are not whole numbers, as their first steps show
    if not whole(head[head > 0]):
        return None
    steps = np.diff(t[np.isfinite(t)])
    steps = steps[steps > 0]
    if steps.size == 0 or not whole(steps):
        return None
    return float(np.median(steps))


def _change_acf(y: FloatArray, lags: int) -> FloatArray:
    """The autocorrelation of a waveform's sample-to-sample changes at lags 1 to ``lags`` (zeros for a flat
    waveform)."""
    d = np.diff(y[np.isfinite(y)])
    if d.size <= lags:
        return np.zeros(lags)
    d = d - d.mean()
    v = float(np.dot(d, d))
    if not v > 0:
        return np.zeros(lags)
    return np.array([float(np.dot(d[:-k], d[k:])) / v for k in range(1, lags + 1)])


def _grid_step(t: FloatArray) -> tuple[float, bool] | None:
    """(median step, whether every step is whole) when the time column steps like a clock's grid: every step
    between distinct times a whole number (:func:`_whole_steps`), or every step at least 1 and within
    :data:`GRID_SPREAD` of the median (the same fractional step throughout, as printed: 3.906 and 3.907 for a
    256 Hz export in milliseconds; no time repeated). None otherwise (host times with their jitter, irregular
    beats)."""
    step = _whole_steps(t)
    if step is not None:
        return step, True
    head = np.diff(t[:1000])
    if not (head.size and float(head.min()) >= 1.0):
        return None  # most time columns step by less than 1 (or repeat a time), as their first steps show
    steps = np.diff(t)
    low, high = float(steps.min()), float(steps.max())
    median = float(np.median(steps))
    if low >= 1.0 and high - low <= GRID_SPREAD * median:
        return median, False
    return None


def _fast_fft_size(n: int) -> int:
    """The smallest 2^a 3^b 5^c at least ``n`` (a length numpy's FFT does fast)."""
    best = 1 << max(n - 1, 0).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _mains_free_change_acf(y: FloatArray, step_ms: float, lags: int) -> FloatArray | None:
    """:func:`_change_acf` without mains hum, read as milliseconds (a sampling rate of 1000 / ``step_ms`` Hz),
    or None when the changes hold no hum.

    Hum is a spectral line at 50 or 60 Hz (:data:`MAINS_HZ`), far narrower than anything a body makes: its
    power within :data:`MAINS_BAND_HZ` of the frequency is at least :data:`MAINS_LINE_RATIO` times as dense
    as within the 3 bands' width beyond. When the fundamental is such a line, the fundamental and those of
    its harmonics (aliased below the Nyquist frequency, at :data:`MAINS_MIN_HZ` or more) that are lines too
    are left out of the power spectrum of the changes (Hann-windowed), whose inverse transform is their
    autocorrelation. On a belt sampled at hundreds of Hz, hum of a few per cent of a breath changes many
    times faster than the breath and rules the changes' autocorrelation (-1 at half its period: it turned
    as breathing at 1 Hz does, and the belt was read in seconds); without it they follow the breath.

    A belt in seconds has no such line: breathing varies from breath to breath (a 1 Hz belt at 3.0 +- 0.3
    breaths/min shows none), and only changes over :data:`MAINS_MIN_SPAN_MS` samples' worth of milliseconds
    are looked at (5.5 h of a 1 Hz belt). A noise-free, perfectly periodic breath at 3 or 3.6/min sampled at
    1 Hz for that long on a smooth baseline is a line, as a belt with hum in milliseconds would be: such a
    synthetic file must say its rate (``# sampling_rate_hz: 1``)."""
    x = y[:MILLIS_ANALYSED_SAMPLES]
    x = x[np.isfinite(x)]
    d = np.diff(x)
    fs = 1000.0 / step_ms
    if d.size * step_ms < MAINS_MIN_SPAN_MS:
        return None
    d = (d - d.mean()) * np.hanning(d.size)
    size = _fast_fft_size(d.size + lags)  # zero-padded: no wrap-around in the lags
    power = np.abs(np.fft.rfft(d, size)) ** 2
    freq = np.arange(power.size) * (fs / size)

    def band(f: float, width: float) -> NDArray[np.bool_]:
        return np.asarray(np.abs(freq - f) <= width)

    def is_line(f: float, width: float) -> bool:
        inside = power[band(f, width)]
        beyond = power[band(f, 4.0 * width) & ~band(f, width)]
        if not inside.size or not beyond.size:
            return False
        return bool(inside.mean() >= MAINS_LINE_RATIO * beyond.mean()) and bool(inside.mean() > 0)

    keep = np.ones(power.size, bool)
    found = False
    for mains in MAINS_HZ:
        if not is_line(mains, MAINS_BAND_HZ):
            continue
        found = True
        for k in range(1, MAINS_HARMONICS + 1):
            f = abs((k * mains + fs / 2) % fs - fs / 2)  # aliased into 0 .. fs / 2
            width = MAINS_BAND_HZ * max(1.0, k / 2)  # the mains frequency wanders k times as far
            if f >= MAINS_MIN_HZ and f + width < fs / 2 and (k == 1 or is_line(f, width)):
                keep &= ~band(f, width)
    if not found:
        return None
    cov = np.fft.irfft(power * keep, size)[: lags + 1]
    if not cov[0] > 0:
        return np.zeros(lags)
    return np.asarray(cov[1:] / cov[0], dtype=np.float64)


class _Millis(NamedTuple):
    """What :func:`_grid_millis` found: the time step, the seconds per cycle the breathing waveform takes
    read in seconds, whether that is certain enough to refuse the file, whether the time column numbers
    the rows (0, 1, 2, ... or 1, 2, 3, ...: a sample counter as much as milliseconds), and whether every step
    is a whole number (else the same fractional step throughout, :func:`_grid_step`)."""

    step: float
    cycle_s: float
    certain: bool
    counts_rows: bool
    whole: bool = True

    def steps_words(self) -> str:
        """How the time column steps, for a message: "steps by whole numbers (4)", "steps by 3.906"."""
        return f"steps by whole numbers ({self.step:g})" if self.whole else f"steps by {self.step:.4g}"


def _grid_millis(rec: Recording) -> _Millis | None:
    """A breathing waveform on times that look like milliseconds (or row numbers) though nothing declares a
    rate, or None.

    The rule, chosen so that no breathing recorded in seconds meets it (a millisecond clock that passes the
    scale checks, :func:`check_time_scale`, steps 1 to 5 ms: a belt at 200-1000 Hz):

    - every time step is a whole number, the median at least 1 (a clock counting whole milliseconds, a
      sample counter; also an honest 1 Hz file's whole seconds, which the next conditions tell apart);
    - read in seconds, the waveform takes over :data:`MILLIS_CYCLE_S` (200 s) per cycle across its middle,
      with at least two cycles: no breathing is that slow (in milliseconds it is any breathing below 300/min).
      A 1 Hz belt on a drifting baseline (posture changes overnight) can cross its overall middle that
      seldom, so this alone would misfire; hence
    - refused when its sample-to-sample changes follow a slow curve (their autocorrelation at least
      :data:`MILLIS_SMOOTH_ACF` at every lag of 1-10 samples), as a belt sampled hundreds of times per breath
      does: breathing sampled at about 1 Hz changes direction every few samples (its changes anticorrelated
      at half a cycle), and noise, aliased irregular breathing or a baseline's jumps are uncorrelated, so a 1
      Hz recording of anything that breathes has autocorrelations near or below 0;
    - refused too when noise hides that curve from sample to sample but not over blocks of samples
      (:func:`_block_smooth_cycle_s`: white noise or mains hum on a belt sampled at hundreds of Hz), unless
      its changes turn as breathing at about 1 Hz does (an autocorrelation at or below
      :data:`MILLIS_TURN_ACF` at a lag of 2-10 samples: a 1 Hz belt on a smoothly wandering baseline);
    - refused when nothing turns from sample to sample (no autocorrelation of the changes at or below
      :data:`MILLIS_NO_TURN_ACF` at lags 1-10: an impedance belt's noise, such as the ICU recording of
      ../shared/data at 250 Hz, hides the curve at every scale) and either the steps are 2 or more (read as
      seconds, a waveform sampled every 2 s or slower: no breathing recording is, and breathing would turn
      between such samples) or the time column numbers the rows (0, 1, 2, ...: a sample counter, written as
      a time column by a spreadsheet or an export);
    - a note only (a hint) when its changes are merely without a breath (no autocorrelation below
      :data:`MILLIS_NO_BREATH_ACF` at lags 2-10, or none at or below :data:`MILLIS_TURN_ACF` at lags 1-10):
      a noisy belt in milliseconds, and also noise or irregular breathing on a drifting 1 Hz baseline, which
      the note's "if" covers.

    ``sample_signals/``, ``../shared/data`` and the simulated 1 Hz belts of tests/io/test_csv_time_units.py
    and tests/io/test_csv_millis_undeclared.py meet none of this; their 1 Hz and 0.5 Hz copies of the real
    belts are too short to (2 cycles of 200 s), and their drifting 1 Hz nights turn at or below -0.37.
    """
    if rec.signal_kind() != "resp":
        return None
    t = rec.time
    grid = _grid_step(t)
    if grid is None or grid[0] < 1.0:
        return None
    step, whole = grid
    y = rec.columns["resp"]
    if whole:
        steps = np.diff(t[:MILLIS_ANALYSED_SAMPLES])
        regular = (
            bool(steps.size) and float(steps.min()) >= 1.0 and float(steps.max() - steps.min()) <= 1.0 + 1e-6
        )
        counts_rows = bool(
            regular and steps.size and float(steps.max()) == 1.0 == float(steps.min()) and t[0] in (0.0, 1.0)
        )
    else:
        regular, counts_rows = True, False  # one step throughout (_grid_step)
    acf = _change_acf(y, MILLIS_SMOOTH_LAGS)
    if not bool(np.all(acf >= MILLIS_SMOOTH_ACF)):
        # Mains hum turns from sample to sample as 1 Hz breathing does: judge the changes without it.
        free = _mains_free_change_acf(y, step, MILLIS_SMOOTH_LAGS)
        if free is not None:
            acf = free
    turn_any = float(acf.min())  # lags 1-10
    turn_late = float(acf[1:].min())  # lags 2-10 (white noise makes lag 1 -0.5)
    block_cycle_s = _block_smooth_cycle_s(y, step) if regular and turn_late > MILLIS_TURN_ACF else None
    if block_cycle_s is not None and block_cycle_s > MILLIS_CYCLE_S:
        return _Millis(step, block_cycle_s, True, counts_rows, whole)
    cycles, span = _swing_cycles(t, y)
    if cycles < 2 or not span / cycles > MILLIS_CYCLE_S:
        return None
    cycle_s = span / cycles
    if bool(np.all(acf >= MILLIS_SMOOTH_ACF)):
        return _Millis(step, cycle_s, True, counts_rows, whole)
    if turn_any > MILLIS_NO_TURN_ACF and regular and (step >= 2.0 or counts_rows):
        return _Millis(step, cycle_s, True, counts_rows, whole)
    if turn_late >= MILLIS_NO_BREATH_ACF or turn_any > MILLIS_TURN_ACF:
        return _Millis(step, cycle_s, False, counts_rows, whole)
    return None


def _block_smooth_cycle_s(y: FloatArray, step: float) -> float | None:
    """Seconds per cycle, on a regular time grid of ``step`` seconds, of a waveform whose means over blocks of
    samples change along a slow curve, at the finest block size where they do; None when they never do.

    Block sizes 2, 4, 8, ... samples (at least :data:`MILLIS_MIN_BLOCKS` blocks, of the first
    :data:`MILLIS_ANALYSED_SAMPLES` samples): the changes from block to block follow a curve when their
    autocorrelation is at least :data:`MILLIS_BLOCK_ACF` at lags 1 and 2. Averaging a block divides white
    noise's variance by its size and cancels mains hum, while a breath sampled at hundreds of Hz spans
    hundreds of samples; a 1 Hz belt's breaths (2-20 samples) average out, and its baseline's jumps or
    random walk leave changes that are uncorrelated beyond a lag of 1. The cycle is counted across the
    middle of the block means (:func:`_swing_cycles`), with at least two cycles."""
    finite = np.isfinite(y[:MILLIS_ANALYSED_SAMPLES])
    x = y[:MILLIS_ANALYSED_SAMPLES][finite]
    m = 2
    while x.size // m >= MILLIS_MIN_BLOCKS:
        blocks = x[: x.size // m * m].reshape(-1, m).mean(axis=1)
        d = np.diff(blocks)
        d = d - d.mean()
        v = float(np.dot(d, d))
        if v > 0:
            lag1 = float(np.dot(d[:-1], d[1:])) / v
            lag2 = float(np.dot(d[:-2], d[2:])) / v
            if lag1 >= MILLIS_BLOCK_ACF[0] and lag2 >= MILLIS_BLOCK_ACF[1]:
                cycles, span = _swing_cycles(np.arange(blocks.size) * (m * step), blocks)
                return span / cycles if cycles >= 2 else None
        m *= 2
    return None


def declared_rate_hz(meta: Mapping[str, str]) -> float | None:
    """The ``# sampling_rate_hz:`` a file declares, when it is a positive finite number, else None."""
    text = meta.get("sampling_rate_hz", "").strip()
    try:
        hz = float(text)
    except ValueError:
        return None
    return hz if math.isfinite(hz) and hz > 0 else None


#: The values a ``# invert:`` line may hold (case-insensitive); analyze reads the first three as true.
INVERT_TRUE = ("true", "1", "yes")
INVERT_FALSE = ("false", "0", "no")


def _meta_notes(meta: Mapping[str, str], meta_lines: Mapping[str, int]) -> list[str]:
    """Metadata breathsync reads whose value it cannot use, one note each naming the line: a
    ``sampling_rate_hz`` that is not a positive number (0, -5, inf, nan, abc; ignored) and an ``invert`` that
    is neither true nor false (read as false, as before)."""
    notes = []
    rate = meta.get("sampling_rate_hz")
    if rate is not None and declared_rate_hz(meta) is None:
        notes.append(
            f"line {meta_lines['sampling_rate_hz']}, {_quote(('# sampling_rate_hz: ' + rate).strip())}, is not a "
            "sampling rate (a positive number of Hz): it is ignored; correct or delete the line"
        )
    invert = meta.get("invert")
    if invert is not None and invert.strip().lower() not in INVERT_TRUE + INVERT_FALSE:
        notes.append(
            f"line {meta_lines['invert']}, {_quote(('# invert: ' + invert).strip())}, is neither true nor false: "
            "read as false (not inverted); write '# invert: true' if this belt falls on inhale"
        )
    return notes


def _notes(rec: Recording, ignored_rate_hz: float | None, meta_lines: Mapping[str, int]) -> tuple[str, ...]:
    """What a usable recording's user should know (see :attr:`Recording.notes`)."""
    notes = _meta_notes(rec.meta, meta_lines)
    if ignored_rate_hz is not None:
        notes.append(f"--rate {ignored_rate_hz:g} ignored: the file has a time column")
    declared = rec.meta.get("sampling_rate_hz", "").strip()
    claimed = declared_rate_hz(rec.meta)
    fs = rec.sampling_rate_hz()
    # Beat-by-beat files (RR only) have no sampling rate of their own to compare.
    if (
        claimed is not None
        and fs is not None
        and rec.signal_kind() in ("resp", "acc", "ecg")
        and abs(fs - claimed) > 0.05 * claimed
    ):
        notes.append(
            f"the file says sampling_rate_hz: {declared}, but its time column is at {fs:.4g} Hz: the "
            "time column is used (check the export settings if that is wrong)"
        )
    claims = [c for c in (claimed, ignored_rate_hz) if c is not None]
    if not rec.time_from_rate and fs is not None and not any(abs(fs - c) <= 0.05 * c for c in claims):
        millis = _grid_millis(rec)  # the certain ones were refused (_check_time_unit)
        if millis is not None:
            steps = "numbers the rows (0, 1, 2, ...)" if millis.counts_rows else millis.steps_words()
            rows = (
                f"if it numbers the samples, delete the time column and give the sampling rate ({RATE_OPTIONS}); "
                if millis.counts_rows
                else ""
            )
            notes.append(
                f"the time column {steps} and, read as seconds, the breathing waveform takes {millis.cycle_s:.0f} s "
                f"per cycle, far slower than breathing (1-20 s): {rows}if the time is in milliseconds, divide the "
                "time column by 1000 (breathsync wants seconds)"
            )
        if _times_look_compressed(rec):  # those with a rate 60 x slower were refused (_check_time_unit)
            notes.append(
                f"read as seconds, the breathing waveform swings {60 * (_swings_per_s(rec) or 0):.0f} times a "
                "minute, far faster than breathing (3-60/min): if the time is in minutes, multiply the time "
                "column by 60 (breathsync wants seconds)"
            )
    if fs is not None and fs < MIN_CLEAR_RATE_HZ and rec.signal_kind() == "resp":
        notes.append(
            f"sampled at {fs:.3g} Hz: breathing faster than {30.0 * fs:.0f}/min (half the sampling rate) cannot "
            f"be told from slower breathing; record at {MIN_CLEAR_RATE_HZ:g} Hz or more"
        )
    return tuple(notes)


class EmptyRecordingError(RecordingError):
    """A recording with a header and no data rows (a session that crashed before its first sample)."""


class _NoRows(Exception):
    """Internal: every data line was dropped (only a truncated final line)."""


class _BadByte(Exception):
    """Internal: the file is not UTF-8 from byte ``offset`` on."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


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


def _scan_preamble(name: str, chunks: Iterator[str]) -> tuple[dict[str, str], dict[str, int], int, str, str]:
    """Metadata, the line number (1-based) of each metadata key's (last) line, header line number, header
    text and the rest of the header's chunk (the chunks that follow are left in ``chunks``)."""
    meta: dict[str, str] = {}
    meta_lines: dict[str, int] = {}
    line_no = 0
    blank = True
    first = True  # no line but blank ones read yet
    for text in chunks:
        pos = 0
        while pos < len(text):
            end = text.find("\n", pos)
            if end < 0:
                end = len(text)
            line = text[pos:end]
            line_no += 1
            pos = end + 1
            stripped = line.strip()
            if not stripped:
                continue
            blank = False
            if first and _EXCEL_SEP_RE.fullmatch(stripped):
                first = False  # Excel's "sep=," line, naming the delimiter the header shows anyway
                continue
            first = False
            if stripped.startswith("#"):
                match = _META_RE.match(stripped)
                if match:
                    meta[match.group(1)] = match.group(2)
                    meta_lines[match.group(1)] = line_no
                continue
            return meta, meta_lines, line_no, line, text[pos:]
    if blank:
        raise RecordingError(name, "empty file: expected a header (e.g. time,resp) and data rows")
    raise RecordingError(
        name,
        "no header row: after the '#' lines the file needs a header naming the columns, e.g. time,resp",
        line=line_no,
    )


def _unquoted(header: str) -> str:
    """The header without its double-quoted parts (a spreadsheet quotes a name that holds the delimiter,
    ``"Resp, Belt A"``; a doubled quote inside is part of the name)."""
    if header.count('"') % 2:
        return header  # unbalanced: the quotes are not a spreadsheet's, read the line as it is
    return re.sub(r'"(?:[^"]|"")*"', '""', header)


def _ends_in_quotes(line: str, delimiter: str) -> bool:
    """Whether a line ends inside a quoted cell, by the rules of Python's csv module (RFC 4180; the reader's
    dialect, :func:`_quoted_cells`): a cell is quoted when its first character after spaces is '"'; inside,
    '""' is a quote and a single '"' ends it (what follows, up to the delimiter, joins the cell); a '"' inside
    an unquoted cell is a character. Only lines with a '"' come here (the slow path), one character at a
    time."""
    state = "start"  # start of a cell, "plain" cell, "quoted" cell, or a '"' seen in a quoted one ("closing")
    for ch in line:
        if state == "quoted":
            if ch == '"':
                state = "closing"
        elif ch == delimiter:
            state = "start"
        elif state == "closing":
            state = "quoted" if ch == '"' else "plain"
        elif state == "start" and ch == '"':
            state = "quoted"
        elif state == "start" and ch != " ":
            state = "plain"
    return state == "quoted"


def _quoted_cells(line: str, delimiter: str) -> list[str]:
    """The cells of a data line that holds a '"' (and no quoted cell left open: :func:`_ends_in_quotes`), by
    csv's rules: quotes taken off, a delimiter or a doubled quote inside quotes kept in the cell."""
    try:
        return next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [""])
    except csv.Error:  # a cell over csv's field size limit (128 kB): split as before, and named by its cells
        return line.split(delimiter)


def _written_cells(line: str, delimiter: str) -> list[str]:
    """A line's cells as written, quotes and all (for a message), split at the delimiters outside quotes:
    those followed by an even number of '"' (a line whose quotes are not in pairs is split everywhere)."""
    if line.count('"') % 2:
        return line.split(delimiter)
    return re.split(rf'{re.escape(delimiter)}(?=(?:[^"]*"[^"]*")*[^"]*$)', line)


def _well_quoted_line(delimiter: str) -> re.Pattern[str]:
    """A line whose cells are all either without a '"' or wholly quoted (spaces around allowed, '""' inside):
    numpy's parser (``quotechar``) splits it as csv does, and its delimiters outside quotes count its cells.
    Lines with quotes elsewhere go to the slow path, which reads them by csv's rules."""
    d = re.escape(delimiter)
    space = "[ ]*" if delimiter == "\t" else "[ \t]*"
    cell = rf'(?:[ ]*"(?:[^"]|"")*"{space}|[^"{d}\n]*)'
    return re.compile(rf"{cell}(?:{d}{cell})*")


_WELL_QUOTED = {d: _well_quoted_line(d) for d in _DELIMITERS}


def _detect_delimiter(name: str, line_no: int, header: str) -> str:
    bare = _unquoted(header)
    counts = {d: bare.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] > 0:
        return best
    stripped = header.strip()
    if _SINGLE_NAME_RE.match(stripped) or (bare.strip() == '""' and len(stripped) > 2):
        return ","  # a single column (quoted or not): any accepted delimiter works
    if is_number(stripped) or all(is_number(tok) for tok in stripped.split()):
        raise RecordingError(
            name,
            f"no header row: the first line after the '#' lines is data ({_quote(stripped)}); add "
            "a header naming the columns, e.g. time,resp",
            line=line_no,
        )
    raise RecordingError(
        name,
        f"unknown delimiter in header {_quote(stripped)}: separate the columns with {_ACCEPTED}",
        line=line_no,
    )


def _parse_header(name: str, line_no: int, header: str, delimiter: str) -> list[str]:
    # Quote-aware (csv): a name quoted with the delimiter inside, "Resp, Belt A", is one name. Data rows hold
    # numbers only and are split as they are.
    cells = header.split(delimiter)
    if '"' in header and header.count('"') % 2 == 0:
        with contextlib.suppress(csv.Error):
            cells = next(csv.reader([header], delimiter=delimiter, skipinitialspace=True), cells)
    names = [cell.strip().strip('"').strip("'").strip() for cell in cells]
    if all(is_number(n) for n in names if n):
        raise RecordingError(
            name,
            f"no header row: the first line after the '#' lines is data "
            f"({_quote(header.strip())}); add a header naming the columns, e.g. time,resp",
            line=line_no,
        )
    if [n.lower() for n in names] == ["time", "connection", "stream", "hex"]:  # io/capture.py's header
        raise RecordingError(
            name,
            "a wearable's capture (its notifications in hex), not samples: analyse the recording beside it "
            "(LABEL.csv), replay it as the device with run -p A=replay:FILE, or decode it with breathsync "
            "decode --capture FILE",
            line=line_no,
        )
    for col in names:
        # An empty name (pandas' index column, a trailing delimiter) is checked with its cells: _unread_columns.
        if col and is_number(col):
            raise RecordingError(
                name,
                f"column name {_quote(col)} is a number: is the header row missing?",
                line=line_no,
            )
    seen: set[str] = set()
    for col in names:
        if col and col in seen:
            raise RecordingError(
                name, f"column {_quote(col)} appears twice in the header: rename one", line=line_no
            )
        seen.add(col)
    return names


class _Piece(NamedTuple):
    """Whole lines of the data part: the text, the line number of its first line, whether it is the last."""

    text: str
    first_no: int
    last: bool


def _after_lines(chunks: Iterator[str], count: int) -> str:
    """The rest of the chunk after the first ``count`` lines (the chunks that follow are left in ``chunks``)."""
    for text in chunks:
        newlines = text.count("\n")
        if newlines < count:
            count -= newlines
            continue
        pos = 0
        for _ in range(count):
            pos = text.index("\n", pos) + 1
        return text[pos:]
    return ""


def _data_pieces(
    first: str, chunks: Iterator[str], first_no: int, drop_last: bool = False
) -> Iterator[_Piece]:
    """The data part (``first``, then ``chunks``) without its trailing blank lines, in pieces that end with a
    data line; ``drop_last`` drops the last line. Blank lines that end a chunk wait for the next data line
    (at the end of the file they are dropped)."""
    held: _Piece | None = None
    carry: list[str] = []  # blank lines that ended the text so far
    no = first_no  # line number of the first carried line (or of the chunk's first line)
    for chunk in itertools.chain((first,), chunks):
        end = _end_of_data(chunk)
        if end == 0:
            carry.append(chunk)
            continue
        if end < len(chunk):
            end += 1  # the data line's '\n'
        if held is not None:
            yield held
        held = _Piece("".join([*carry, chunk[:end]]) if carry else chunk[:end], no, False)
        carry = [chunk[end:]] if end < len(chunk) else []
        no += held.text.count("\n")
    if held is not None:
        text = _drop_last_line(held.text) if drop_last else held.text
        yield _Piece(text, held.first_no, True)


def _end_of_data(text: str) -> int:
    """Where the trailing blank (whitespace-only) lines of ``text`` start, at the '\\n' of the last non-blank
    line (0 when every line is blank); tabs and spaces that end that line are kept."""
    last = len(text.rstrip())  # the last non-blank line holds the last character that is not whitespace
    if not last:
        return 0
    nl = text.find("\n", last)
    return len(text) if nl < 0 else nl


def _drop_last_line(data: str) -> str:
    nl = data.rfind("\n")
    return data[:nl] if nl >= 0 else ""


class _Columns:
    """Parsed rows, copied piece by piece into one array per column.

    The arrays are sized for the whole file from the rows per character read so far (``size`` is the
    file's length): room not written to yet costs address space, not memory. A low guess grows them.
    """

    def __init__(self, ncols: int, size: int) -> None:
        self._size = size
        self._chars = 0
        self._cols: list[FloatArray] = [np.empty(0) for _ in range(ncols)]
        self.rows = 0

    def add(self, table: FloatArray, chars: int) -> None:
        """Append the rows of ``table``, parsed from ``chars`` characters."""
        self._chars += chars
        end = self.rows + table.shape[0]
        if end > self._cols[0].shape[0]:
            guess = end * self._size // max(self._chars, 1)
            capacity = max(end, guess + guess // 16 + 1024)
            for i, col in enumerate(self._cols):
                grown = np.empty(capacity)
                grown[: self.rows] = col[: self.rows]
                self._cols[i] = grown
        for i, col in enumerate(self._cols):
            col[self.rows : end] = table[:, i]
        self.rows = end

    def arrays(self) -> list[FloatArray]:
        """One float64 array per column, trimmed to the rows."""
        for col in self._cols:
            col.resize(self.rows, refcheck=False)  # shrinks in place: nothing else refers to it
        return self._cols


def _parse_data(
    name: str,
    header_no: int,
    pieces: Iterator[_Piece],
    reread: Callable[[bool], Iterator[_Piece]],
    delimiter: str,
    names: list[str],
    size: int,
    texts: _Texts | None = None,
) -> tuple[list[FloatArray], bool]:
    """Parse the data rows: one array per column, and whether a truncated final line was dropped.

    As for the whole text at once: the fast path for every row, else the slow path (line by line, naming
    the first bad line); a bad final line without a newline is dropped and the rest parsed the same way.
    ``reread(drop_last)`` gives the data pieces again, without the last line if asked; ``size`` is the
    file's length in bytes. ``texts``: the columns whose text cells are read as missing (and noted there).
    """
    ncols = len(names)
    columns, failed, nan_time = _fast_pass(pieces, delimiter, names, size)
    if failed is None:
        if not columns.rows:
            raise EmptyRecordingError(
                name, "no data rows after the header: the recording is empty", line=header_no
            )
        return columns.arrays(), False
    if not nan_time:
        # The fast path read every earlier row, with finite times. The slow path refuses none of them (it
        # refuses what the fast path refuses, and empty time cells, which the fast path reads as NaN), so
        # its first problem, if any, is in this piece.
        bad = _scan_rows(failed.text, failed.first_no, delimiter, names, header_no + 1, texts)
        if isinstance(bad, tuple):
            line_no, problem = bad
            if not _is_cut_last_line(failed, line_no):
                raise RecordingError(name, problem, line=line_no)
            rest = _drop_last_line(failed.text)
            if not columns.rows and not rest.strip():
                raise _NoRows
            table = _fast_rows(rest, delimiter, ncols, texts.skip() if texts else frozenset())
            if table is not None:
                columns.add(table, len(rest))
                return columns.arrays(), True
    del columns
    # The slow path over all rows (read again).
    columns, bad_line = _slow_pass(reread(False), delimiter, names, size, header_no + 1, texts)
    if bad_line is None:
        return columns.arrays(), False
    line_no, problem, cut = bad_line
    if not cut:
        raise RecordingError(name, problem, line=line_no)
    # An incomplete final line (writer killed mid-row): drop it and parse the rest.
    if not columns.rows:
        raise _NoRows
    del columns
    if failed.last:  # else the fast path fails again on the same piece
        columns, failed, _ = _fast_pass(reread(True), delimiter, names, size)
        if failed is None:
            return columns.arrays(), True
        del columns
    columns, bad_line = _slow_pass(reread(True), delimiter, names, size, header_no + 1, texts)
    if bad_line is not None:
        raise RecordingError(name, bad_line[1], line=bad_line[0])
    return columns.arrays(), True


def _is_cut_last_line(piece: _Piece, line_no: int) -> bool:
    """Whether ``line_no`` is the file's last data line, and has no newline."""
    return piece.last and not piece.text.endswith("\n") and line_no == piece.first_no + piece.text.count("\n")


def _fast_pass(
    pieces: Iterator[_Piece], delimiter: str, names: list[str], size: int
) -> tuple[_Columns, _Piece | None, bool]:
    """The fast path piece by piece: the rows, the first piece it fails on, whether a time was NaN."""
    columns = _Columns(len(names), size)
    at = names.index(TIME_COLUMN) if TIME_COLUMN in names else None
    nan_time = False
    for piece in pieces:
        table = _fast_rows(piece.text, delimiter, len(names))
        if table is None:
            return columns, piece, nan_time
        if at is not None and not nan_time:
            nan_time = bool(np.isnan(table[:, at]).any())
        columns.add(table, len(piece.text))
    return columns, None, nan_time


def _slow_pass(
    pieces: Iterator[_Piece],
    delimiter: str,
    names: list[str],
    size: int,
    data_start: int | None = None,
    texts: _Texts | None = None,
) -> tuple[_Columns, tuple[int, str, bool] | None]:
    """The slow path piece by piece: the rows, and the first bad line (number, problem, whether it is the
    file's last line, without a newline). Once columns of text are known (``texts``), a piece is first tried
    with the fast path leaving them out: a column of comments or event markers would make every row slow."""
    columns = _Columns(len(names), size)
    at = names.index(TIME_COLUMN) if TIME_COLUMN in names else None
    for piece in pieces:
        if texts is not None and texts.found:
            table = _fast_rows(piece.text, delimiter, len(names), texts.skip())
            if table is not None and (at is None or not np.isnan(table[:, at]).any()):
                columns.add(table, len(piece.text))
                continue
        bad = _scan_rows(piece.text, piece.first_no, delimiter, names, data_start, texts)
        if isinstance(bad, tuple):
            line_no, problem = bad
            return columns, (line_no, problem, _is_cut_last_line(piece, line_no))
        columns.add(bad, len(piece.text))
    return columns, None


def _fast_rows(
    data: str, delimiter: str, ncols: int, skip: frozenset[int] = frozenset()
) -> FloatArray | None:
    """numpy's C parser, missing values (NA, N/A, ...) and empty cells spelled "nan" first (cheap C-level
    string scans); None if it fails. The columns ``skip`` (text) are not parsed: NaN."""
    if not data.lstrip("\n"):
        return np.empty((0, ncols))  # empty lines only, which it skips
    if _may_hold_na(data):
        data = _NA_CELLS[delimiter].sub(r"\1nan", data)
    if _has_empty_cells(data, delimiter):
        data = _BLANK_ROWS[delimiter].sub("", data)  # rows of empty cells only: blank lines (_is_blank_row)
        if not data.strip():
            return np.empty((0, ncols))
        data = _fill_empty_cells(data, delimiter)
    return _loadtxt(data, delimiter, ncols, skip)


def _loadtxt(data: str, delimiter: str, ncols: int, skip: frozenset[int] = frozenset()) -> FloatArray | None:
    used = [i for i in range(ncols) if i not in skip]
    # With columns of text left out (an event marker, a comment), a note in quotes may hold the delimiter
    # ("note, with comma"): numpy splits such cells as csv does (quotechar), once every line with a quote is
    # quoted cell by cell (_WELL_QUOTED; numpy would join the lines of a quote left open). Without text columns
    # there are no quotes to read: a numeric file keeps numpy's plain split.
    quoted = bool(skip) and '"' in data
    # loadtxt checks the columns it reads only: every row must still have the header's cells.
    if quoted:
        well = _WELL_QUOTED[delimiter]
        for line in data.split("\n"):
            if '"' not in line:
                if line and line.count(delimiter) != ncols - 1:
                    return None
            elif not well.fullmatch(line) or _unquoted(line).count(delimiter) != ncols - 1:
                return None
    elif skip and any(line.count(delimiter) != ncols - 1 for line in data.split("\n") if line):
        return None
    try:
        table = np.loadtxt(
            StringIO(data),
            delimiter=delimiter,
            comments=None,
            dtype=np.float64,
            ndmin=2,
            usecols=used if skip else None,
            quotechar='"' if quoted else None,
        )
    except ValueError:
        return None
    if table.shape[1] != len(used) or table.shape[0] == 0:
        return None
    if skip:
        full = np.full((table.shape[0], ncols), np.nan)
        full[:, used] = table
        return full
    return table


#: Missing values as other programs write them: R's write.csv "NA", Excel's "#N/A", "N/A" and BIDS's "n/a" (the
#: BIDS specification, "Tabular files": missing values are "n/a"). Read as NaN, as an empty cell is.
_NA_WORDS = ("NA", "N/A", "n/a", "#N/A")
_NA_RE_TEXT = "|".join(re.escape(w) for w in _NA_WORDS)


def _na_cells(delimiter: str) -> re.Pattern[str]:
    """A missing-value cell (outer spaces and double quotes allowed) and the delimiter before it."""
    d = re.escape(delimiter)
    space = "[ ]*" if delimiter == "\t" else "[ \t]*"  # a tab delimits tab-separated cells
    return re.compile(rf'(^|{d}){space}(?:"(?:{_NA_RE_TEXT})"|{_NA_RE_TEXT}){space}(?={d}|$)', re.MULTILINE)


_NA_CELLS = {d: _na_cells(d) for d in _DELIMITERS}


def _may_hold_na(text: str) -> bool:
    """Whether ``text`` may hold a missing-value word (NA, N/A, n/a, #N/A: each has an "N" or a "/"), before
    the regular expression. One-character scans (memchr) cost nothing measurable; the three substring
    scans they replace took 0.18 s (cProfile) of reading an hour at 1 kHz, 3.5 s."""
    return "N" in text or "/" in text


def _na_to_nan(line: str, delimiter: str) -> str:
    """The line with its missing-value cells (NA, N/A, n/a, #N/A) spelled "nan" (a row of them is a row of
    missing values, not a blank line: in a file of one column, a missing RR interval)."""
    return _NA_CELLS[delimiter].sub(r"\1nan", line) if _may_hold_na(line) else line


@dataclass
class _Texts:
    """Columns whose cells may be text (a column breathsync does not read: an event marker, a comment), and
    the first text found in each: column index -> (line number, text)."""

    ignorable: frozenset[int]
    found: dict[int, tuple[int, str]]

    def skip(self) -> frozenset[int]:
        return frozenset(self.found)

    def note(self, col: int, line_no: int, text: str) -> None:
        if col not in self.found or line_no < self.found[col][0]:
            self.found[col] = (line_no, text)


def _has_empty_cells(data: str, delimiter: str) -> bool:
    d = delimiter
    return d + d in data or data.startswith(d) or data.endswith(d) or ("\n" + d) in data or (d + "\n") in data


def _fill_empty_cells(data: str, delimiter: str) -> str:
    d = delimiter
    nan = "nan"
    # Twice, because "a,,,b" has overlapping ",,"s.
    data = data.replace(d + d, d + nan + d).replace(d + d, d + nan + d)
    data = data.replace("\n" + d, "\n" + nan + d).replace(d + "\n", d + nan + "\n")
    if data.startswith(d):
        data = nan + data
    if data.endswith(d):
        data = data + nan
    return data


def _scan_rows(
    data: str,
    first_no: int,
    delimiter: str,
    names: list[str],
    data_start: int | None = None,
    texts: _Texts | None = None,
) -> FloatArray | tuple[int, str]:
    """Parse row by row: the table (maybe without rows), or (line number, problem) of the first bad line.
    ``data_start``: the line number of the data part's first line (a units row there is named as one).
    ``texts``: the columns whose text cells are read as NaN, each one's first noted there."""
    ncols = len(names)
    rows: list[list[float]] = []
    delim_name = _DELIMITERS[delimiter]
    ignorable = texts.ignorable if texts is not None else frozenset()
    for offset, line in enumerate(data.split("\n")):
        line_no = first_no + offset
        line = _na_to_nan(line, delimiter)
        if _is_blank_row(line, delimiter):
            continue
        if line.lstrip().startswith("#"):
            return line_no, ("comment line inside the data: '#' lines must come before the header row")
        if '"' in line:  # quoted cells may hold the delimiter ("note, with comma"): csv's rules (RFC 4180)
            if _ends_in_quotes(line, delimiter):
                return line_no, (
                    "a quoted cell is not closed on its line (a line break inside quotes, or a stray '\"'): each "
                    "row must be one line: remove the line break from the cell (or the quote)"
                )
            cells = _quoted_cells(line, delimiter)
            mismatch = _other_delimiter(_unquoted(line), delimiter, ncols)
        else:
            cells = line.split(delimiter)
            mismatch = _other_delimiter(line, delimiter, ncols)
        if mismatch is not None:
            return line_no, (
                f"the header is {delim_name}-separated but this row is {_DELIMITERS[mismatch]}-separated: use "
                "one delimiter for the header and the rows (check the export settings)"
                + ("; and write numbers with a decimal point" if _DECIMAL_COMMA_RE.search(line) else "")
            )
        comma = next(
            (
                c.strip()
                for i, c in enumerate(cells)
                if i not in ignorable and _DECIMAL_COMMA_RE.fullmatch(c.strip().strip('"').strip())
            ),
            None,
        )
        if comma is not None:
            return line_no, (
                f"the number {_quote(comma)} has a decimal comma: breathsync reads numbers with a decimal "
                "point; export the file with '.' as the decimal separator (e.g. an English/US number format)"
            )
        if not rows and first_no == data_start and _is_units_row(cells):
            written = _written_cells(line, delimiter) if '"' in line else cells  # as the file has them
            shown = ", ".join(_quote(c.strip(), 12) for c in written[:6]) + (
                ", ..." if len(written) > 6 else ""
            )
            return line_no, (
                f"the first row under the header ({shown}) is text, not numbers: it looks like a units "
                "row; delete it, or turn it into a '# unit: ...' line above the header (e.g. "
                "'# unit: resp: V')"
            )
        if len(cells) != ncols:
            return line_no, (
                f"row has {len(cells)} cell{'' if len(cells) == 1 else 's'} but the header has {ncols} ({delim_name}-separated: "
                f"{_names_shown(names)}): fix or remove the row"
            )
        row: list[float] = []
        for i, (col, cell) in enumerate(zip(names, cells, strict=True)):
            text = cell.strip()
            if len(text) >= 2 and text[0] == text[-1] == '"':
                text = text[1:-1].strip()  # a quoted number ("0.5"), as some spreadsheets write them
            if not text:
                if col == TIME_COLUMN:
                    return line_no, "empty time cell: every row needs a time in seconds"
                row.append(math.nan)
                continue
            if "_" in text and is_number(text):  # float() reads "1_0" as 10 (PEP 515, Python 3.6)
                return line_no, (
                    f"the number {_quote(text)} in column {_quote(col)} holds '_' (a digit separator): write "
                    "it without '_', as a plain decimal number"
                )
            try:
                if not text.isascii():
                    raise ValueError(text)  # float() reads other scripts' digits ('١'); a CSV has 0-9
                row.append(float(text))
            except ValueError:
                if texts is not None and i in ignorable:
                    texts.note(i, line_no, text)
                    row.append(math.nan)
                    continue
                return line_no, f"non-numeric cell {_quote(text)} in column {_quote(col)}" + (
                    (_clock_time_hint(text) or ": write the time in seconds, as a number")
                    if col == TIME_COLUMN
                    else ": breathsync reads this column's cells as numbers (an empty cell or NA is a missing "
                    "value): correct the cell, or export the column as numbers"
                )
        rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), ncols)


#: A date (2024-05-01, 2024/05/01, 01.05.2024, 5/1/24), a clock time (10:00:00.040, 10:00) or both, as a time
#: cell of a spreadsheet or a device export that writes when each sample was taken.
_DATE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
_CLOCK_RE = re.compile(r"\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?")


def _clock_time_hint(text: str) -> str:
    """What to do with a time cell holding a date or a clock time (": a date and time, ..."), else ""."""
    date, clock = _DATE_RE.search(text), _CLOCK_RE.search(text)
    if date is None and clock is None:
        return ""
    what = "a date and time" if date and clock else ("a date" if date else "a clock time")
    return (
        f": {what}, and breathsync wants seconds: convert the column to seconds (e.g. seconds since the first "
        "row) and write them as numbers"
    )


#: A number written with a decimal comma (0,25 or -1,5e-3), as a European spreadsheet exports it.
_DECIMAL_COMMA_RE = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


def _other_delimiter(line: str, delimiter: str, ncols: int) -> str | None:
    """The accepted delimiter the row is written with when it is not the header's: the row splits into the
    header's number of cells with it and not with the header's (only for headers of several columns)."""
    if ncols < 2 or line.count(delimiter) == ncols - 1:
        return None
    for other in _DELIMITERS:
        if other != delimiter and line.count(other) == ncols - 1:
            return other
    return None


def _is_units_row(cells: list[str]) -> bool:
    """A row of text only (every cell that is not empty is not a number), as a lab export puts the units
    (``s,V,V``) under the header."""
    texts = [c.strip().strip('"').strip() for c in cells]
    return any(texts) and not any(t and is_number(t) for t in texts)


def _is_blank_row(line: str, delimiter: str) -> bool:
    """A line that is no row: empty, white space, or only delimiters (a spreadsheet's empty row, ",," or a
    line of tabs)."""
    return not line.replace(delimiter, "").strip()


def _data_line(pieces: Iterator[_Piece], row: int, delimiter: str) -> int:
    """Physical line number of data row ``row``, counting the lines that are rows (error path only)."""
    seen = 0
    for piece in pieces:
        for offset, line in enumerate(piece.text.split("\n")):
            if not _is_blank_row(line, delimiter):
                if seen == row:
                    return piece.first_no + offset
                seen += 1
    raise IndexError(row)


def _check_time(name: str, time: FloatArray, line_of_row: Callable[[int], int]) -> None:
    finite = np.isfinite(time)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise RecordingError(
            name,
            f"time cell is empty or not finite ({time[row]}): every row needs a time in seconds",
            line=line_of_row(row),
        )
    backwards = time[1:] < time[:-1]  # finite times: the same as a negative step
    if backwards.any():
        row = int(np.flatnonzero(backwards)[0]) + 1
        raise RecordingError(
            name,
            f"time goes backwards ({time[row - 1]:g} s then {time[row]:g} s): rows must be in time "
            "order (equal times are allowed)",
            line=line_of_row(row),
        )
    if time.size > 1 and time[-1] == time[0]:  # in order, so every row has the same time
        raise RecordingError(
            name,
            f"the time column never advances ({time.size} rows, all at {time[0]:g} s): give each row its time in "
            f"seconds, or drop the time column and pass the sampling rate ({RATE_OPTIONS})",
        )
    check_time_scale(
        name,
        time,
        "in the 'time' column",
        "breathsync wants seconds: is the time in milliseconds or nanoseconds?",
    )


def check_time_scale(name: str, time: FloatArray, what: str, hint: str) -> None:
    """Times that are not seconds of a breathing recording (milliseconds, nanoseconds, a wrong rate, a
    damaged clock): a RecordingError saying ``what`` times and ``hint`` (what to check)."""
    if time.size == 0:
        return
    biggest = max(-float(np.min(time)), float(np.max(time)))  # max |time| without a copy (NaN stays NaN)
    if biggest > MAX_ABS_TIME_S:
        raise RecordingError(name, f"time values reach {biggest:.3g} s {what}: {hint}")
    span = float(time[-1] - time[0])
    if time.size > 1 and span == 0:
        raise RecordingError(name, f"every time {what} is {time[0]:g} s (the clock never advances): {hint}")
    if span > MAX_SPAN_S:
        raise RecordingError(
            name, f"the recording spans {span / 3600:.3g} h {what} (at most 48 h is accepted): {hint}"
        )
    if time.size > 2:
        step = float(np.median(np.diff(time), overwrite_input=True))
        if step > MAX_MEDIAN_STEP_S:
            raise RecordingError(
                name, f"rows are a median {step:.3g} s apart {what}, too slow for breathing: {hint}"
            )


def _check_signal(name: str, header_no: int, rec: Recording, names: list[str]) -> None:
    for col in ("resp", "rr_ms", *ACC_COLUMNS):
        values = rec.columns.get(col)
        if values is None or not values.size:
            continue
        finite = np.isfinite(values)
        if not finite.any():
            continue
        # The largest finite |value|, without temporary copies of the column.
        biggest = max(
            float(np.max(values, where=finite, initial=-np.inf)),
            -float(np.min(values, where=finite, initial=np.inf)),
        )
        if biggest > MAX_ABS_VALUE:
            raise RecordingError(
                name,
                f"column {_quote(col)} holds values up to {biggest:.3g}: not a breathing "
                "signal in any unit (check the column and the export settings)",
                line=header_no,
            )
    if rec.signal_kind() is not None:
        return
    present = [c for c in ("resp", "rr_ms", *ACC_COLUMNS, "ecg") if c in rec.columns]
    acc_present = [c for c in ACC_COLUMNS if c in rec.columns]
    empty = [c for c in present if not rec.has_values(c)]
    if acc_present and len(acc_present) < len(ACC_COLUMNS) and not empty:
        missing = ", ".join(_quote(c) for c in ACC_COLUMNS if c not in rec.columns)
        what = f"incomplete accelerometer columns (missing {missing})"
    elif empty:
        cells = any(np.isinf(rec.columns[c]).any() for c in empty)
        what = f"breathing column(s) {', '.join(_quote(c) for c in empty)} hold no " + (
            "finite numbers (every cell is empty, NaN, infinite or too large for a number)"
            if cells
            else "numbers"
        )
    else:
        what = f"no breathing signal column (found {', '.join(_quote(c) for c in names)})"
    raise RecordingError(
        name,
        f"{what}: need 'resp', 'rr_ms', all of 'acc_x', 'acc_y', 'acc_z', or 'ecg' (in any case); a "
        "breathing waveform under another name is read with --column NAME (replay: column=NAME)",
        line=header_no,
    )


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _names_shown(names: list[str], limit: int = 12) -> str:
    """The header's column names for a message: the first ``limit`` and how many more (a header of 200,000
    columns made a 1.5-MB line)."""
    more = len(names) - limit
    shown = [n if len(n) <= 40 else n[:37] + "..." for n in names[:limit]]
    return ",".join(shown) + (f",... ({more} more)" if more > 0 else "")


def _quote(text: str, limit: int = 40) -> str:
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    # Control characters (a NUL byte, a stray carriage return) are shown, not printed.
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return "'" + text.replace("'", "\\'") + "'"


# ---------------------------------------------------------------------------------- writing
def write_recording(
    path: str | os.PathLike[str],
    time: ArrayLike,
    columns: Mapping[str, ArrayLike],
    meta: Mapping[str, str] | None = None,
    *,
    time_format: str = DEFAULT_TIME_FORMAT,
    value_format: str | Mapping[str, str] = DEFAULT_VALUE_FORMAT,
) -> None:
    """Write a whole recording; replaces ``path`` atomically, file mode 0o600.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file (overwritten if it exists; a crash never leaves a half-written file).
    time : array_like
        Sample times in seconds, finite and non-decreasing.
    columns : Mapping[str, array_like]
        Signal columns (same length as ``time``), in mapping order; NaN becomes an empty cell.
    meta : Mapping[str, str], optional
        Written as ``# key: value`` lines before the header.
    time_format, value_format : str
        printf-style formats; ``value_format`` may map column names to formats (others: default).

    Raises
    ------
    ValueError
        Inconsistent arrays, a bad column name, metadata or format.
    RecordingError
        The file cannot be written.
    """
    name = str(path)
    t, cols = _validate_arrays(time, columns)
    _check_time_order(t, None)
    preamble = _format_preamble(list(cols), meta)
    fmts = _resolve_formats(list(cols), time_format, value_format)
    # Formatted WRITE_BLOCK_ROWS rows at a time: the text of a whole long recording (a day at 100 Hz) took
    # several times the memory of its arrays.
    blocks = (
        _format_rows(
            t[i : i + WRITE_BLOCK_ROWS], {k: v[i : i + WRITE_BLOCK_ROWS] for k, v in cols.items()}, fmts
        )
        for i in range(0, t.size, WRITE_BLOCK_ROWS)
    )
    try:
        _write_private(name, itertools.chain((preamble,), blocks), binary=False)
    except OSError as exc:
        raise RecordingError(name, f"cannot write the file: {exc.strerror or exc}") from None


#: Windows refuses to replace a file another program has open (a spreadsheet showing a summary, a viewer, a
#: virus scanner or indexer reading a file just written): os.replace raises PermissionError while it is open.
#: A scanner lets go within moments, so the replace is tried this many times, REPLACE_RETRY_S apart.
REPLACE_TRIES = 10
REPLACE_RETRY_S = 0.1


def replace_file(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, advice: str = "close it and run again"
) -> None:
    """``os.replace(src, dst)``, tried again for about a second while Windows refuses it because a program
    holds a file open. Raises OSError; when Windows still refuses, a PermissionError on ``dst`` whose
    strerror names the likely cause and ends with ``advice`` (what the user should do), for messages made
    from strerror. Elsewhere a PermissionError is the folder's permissions: raised at once, as it is.
    ``src`` is left to the caller to remove."""
    for attempt in range(1, REPLACE_TRIES + 1):
        try:
            os.replace(src, dst)
            return
        except PermissionError as exc:
            if getattr(exc, "winerror", None) is None:  # not Windows: no program keeps a file from a rename
                raise
            if attempt == REPLACE_TRIES:
                why = (
                    f"{exc.strerror or 'Access is denied'}: is {os.path.basename(os.fspath(dst))} open in "
                    f"another program, such as a spreadsheet, a viewer or a virus scanner? {advice}"
                )
                raise PermissionError(exc.errno, why, os.fspath(dst)) from None
        time.sleep(REPLACE_RETRY_S)


def write_private_text(path: str | os.PathLike[str], *parts: str) -> None:
    """Replace ``path`` with the text ``parts`` (UTF-8, ``\\n`` line ends) atomically (a temporary file in the
    same folder, synced, then renamed over it: a failed write, a full disk, leaves the previous file as it
    was), readable by its owner only (breathing is health data). A path that names this process's standard
    output (``/dev/stdout``, also when the shell sends it to a file) is written to it, after what was printed
    there; a symbolic link, a device or a pipe is written through as it is (never replaced, never chmod-ed).
    Raises OSError."""
    _write_private(path, parts, binary=False)


def write_private_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """:func:`write_private_text` for bytes (a picture)."""
    _write_private(path, (data,), binary=True)


def _write_private(path: str | os.PathLike[str], parts: Iterable[str | bytes], *, binary: bool) -> None:
    """The writer behind write_private_text/_bytes; ``parts`` is iterated once, as it is written."""
    name = os.fspath(path)

    def opened(target: int | str) -> IO[Any]:
        if binary:
            return open(target, "wb")
        return open(target, "w", encoding="utf-8", newline="\n")

    if _is_stdout(name):
        # /dev/stdout and the like: opening it again would start at the file's beginning (a shell's `> f`)
        # or, as a rename target, replace the link itself; write where stdout is.
        sys.stdout.flush()
        for part in parts:
            if isinstance(part, bytes):
                sys.stdout.buffer.write(part)
            else:
                sys.stdout.write(part)
        sys.stdout.flush()
        return
    if os.path.islink(name) or (os.path.exists(name) and not os.path.isfile(name)):
        # A link would be replaced by the rename (and the file it names left as it was): write through it.
        with opened(name) as out:
            for part in parts:
                out.write(part)
        return
    fd, tmp = tempfile.mkstemp(
        prefix=".breathsync-", suffix=".tmp", dir=os.path.dirname(os.path.abspath(name))
    )
    try:
        with opened(fd) as fh:
            for part in parts:
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        replace_file(tmp, name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _is_stdout(name: str) -> bool:
    """Whether ``name`` is the file this process's standard output goes to."""
    try:
        return os.path.samestat(os.stat(name), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError, UnsupportedOperation):
        return False  # no such file, or no real file behind stdout (a test capturing it)


class RecordingWriter:
    """Streaming recording writer: rows are written as they arrive.

    The header is flushed on opening, so the file is a valid recording as soon as it has a row, and
    stays one if the process dies: :func:`read_recording` drops an unparseable last line cut short
    by a kill. Rows go through Python's write buffer; call :meth:`flush` to hand them to the OS
    (they survive a crash of this process) or :meth:`sync` to force them to disk (they survive a
    power loss). The file is created with mode 0o600 (health data).

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    columns : Sequence[str]
        Signal column names (``time`` is always the first column and must not be listed).
    meta : Mapping[str, str], optional
        Written as ``# key: value`` lines before the header.
    time_format, value_format : str
        As for :func:`write_recording`.
    overwrite : bool
        Replace an existing file; by default an existing file is an error (never lose a recording).

    Examples
    --------
    >>> with RecordingWriter(path, ["resp"], {"participant": "A"}) as w:  # doctest: +SKIP
    ...     w.append(t_chunk, {"resp": resp_chunk})
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        columns: Sequence[str],
        meta: Mapping[str, str] | None = None,
        *,
        time_format: str = DEFAULT_TIME_FORMAT,
        value_format: str | Mapping[str, str] = DEFAULT_VALUE_FORMAT,
        overwrite: bool = False,
    ) -> None:
        self.path = str(path)
        self.columns: tuple[str, ...] = tuple(columns)
        preamble = _format_preamble(list(self.columns), meta)
        self._formats = _resolve_formats(list(self.columns), time_format, value_format)
        self._last_time: float | None = None
        self.n_rows = 0
        # O_BINARY (Windows): a text-mode descriptor would turn every "\n" into "\r\n" below newline="\n".
        flags = (
            os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL) | getattr(os, "O_BINARY", 0)
        )
        try:
            fd = os.open(self.path, flags, FILE_MODE)
        except FileExistsError:
            raise RecordingError(
                self.path, "already exists: choose another file name (or pass overwrite=True)"
            ) from None
        except OSError as exc:
            problem = f"cannot create the file: {exc.strerror or exc}"
            raise RecordingError(self.path, problem) from None
        if hasattr(os, "fchmod"):
            os.fchmod(fd, FILE_MODE)  # O_CREAT keeps the mode of an existing file
        self._fh = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        self._fh.write(preamble)
        self._fh.flush()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._fh.closed

    def append(self, time_chunk: ArrayLike, chunk: Mapping[str, ArrayLike]) -> None:
        """Write rows: ``time_chunk`` (s) and, per column, values of the same length.

        Columns missing from ``chunk`` are written as empty cells (NaN). Time must not go backwards,
        within the chunk or relative to the previous one.
        """
        if self._fh.closed:
            raise ValueError(f"{self.path}: RecordingWriter is closed")
        unknown = set(chunk) - set(self.columns)
        if unknown:
            raise ValueError(f"unknown column(s) {sorted(unknown)}; the writer has {self.columns}")
        t = np.asarray(time_chunk, dtype=np.float64).reshape(-1)
        full = {c: chunk[c] if c in chunk else np.full(t.shape, np.nan) for c in self.columns}
        t, cols = _validate_arrays(t, full)
        if t.size == 0:
            return
        _check_time_order(t, self._last_time)
        self._fh.write(_format_rows(t, cols, self._formats))
        self._last_time = float(t[-1])
        self.n_rows += int(t.size)

    def flush(self) -> None:
        """Hand written rows to the operating system (they survive this process being killed)."""
        self._fh.flush()

    def sync(self) -> None:
        """Flush and force the rows to disk (they survive a power loss)."""
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Flush, sync and close; closing twice is harmless."""
        if self._fh.closed:
            return
        try:
            self.sync()
        finally:
            self._fh.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _validate_arrays(
    time: ArrayLike, columns: Mapping[str, ArrayLike]
) -> tuple[FloatArray, dict[str, FloatArray]]:
    t = np.asarray(time, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"time must be one-dimensional, got shape {t.shape}")
    if not np.isfinite(t).all():
        raise ValueError("time must be finite")
    cols: dict[str, FloatArray] = {}
    for col, values in columns.items():
        _check_column_name(col)
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != t.shape:
            raise ValueError(f"column {col!r} has shape {arr.shape}, time has {t.shape}")
        cols[col] = arr
    return t, cols


def _check_time_order(t: FloatArray, previous: float | None) -> None:
    if t.size and previous is not None and t[0] < previous:
        raise ValueError(f"time goes backwards: {t[0]!r} after {previous!r}")
    if t.size > 1 and (np.diff(t) < 0).any():
        raise ValueError("time must be non-decreasing")


def _check_column_name(col: str) -> None:
    if col == TIME_COLUMN:
        raise ValueError("'time' is written from the time argument; do not pass it as a column")
    if (
        not col
        or col != col.strip()
        or col.startswith("#")
        or any(ch in col for ch in ",;\t\n\r\"'")
        or is_number(col)
    ):
        raise ValueError(f"bad column name {col!r}: use letters, digits and '_'")


def _format_preamble(columns: list[str], meta: Mapping[str, str] | None) -> str:
    if len(set(columns)) != len(columns):
        raise ValueError(f"duplicate column names in {columns}")
    for col in columns:
        _check_column_name(col)
    lines = []
    for key, value in (meta or {}).items():
        if not _META_KEY_RE.match(key):
            raise ValueError(f"bad metadata key {key!r}: use letters, digits, '_', '.', '-'")
        value = str(value)
        if "\n" in value or "\r" in value:
            raise ValueError(f"metadata value for {key!r} must be one line")
        lines.append(f"# {key}: {value}".rstrip())
    lines.append(",".join([TIME_COLUMN, *columns]))
    return "\n".join(lines) + "\n"


def _resolve_formats(
    columns: list[str], time_format: str, value_format: str | Mapping[str, str]
) -> list[str]:
    if isinstance(value_format, str):
        fmts = [value_format] * len(columns)
    else:
        unknown = set(value_format) - set(columns)
        if unknown:
            raise ValueError(f"value_format names unknown column(s) {sorted(unknown)}")
        fmts = [value_format.get(c, DEFAULT_VALUE_FORMAT) for c in columns]
    fmts = [time_format, *fmts]
    for fmt in fmts:
        try:
            sample = fmt % 1.5
        except (TypeError, ValueError):
            problem = f"bad number format {fmt!r}: use one printf conversion like '%.6f'"
            raise ValueError(problem) from None
        if any(ch in sample for ch in ",;\t\n\r") or not is_number(sample):
            raise ValueError(f"bad number format {fmt!r}: it must print a plain number")
    return fmts


def _format_column(values: FloatArray, fmt: str) -> list[str]:
    """Format a column with one C-level '%' call; NaN becomes an empty cell."""
    n = int(values.size)
    if n == 0:
        return []
    missing = np.isnan(values)
    filled = np.where(missing, 0.0, values) if missing.any() else values
    out = ((fmt + "\n") * n % tuple(filled.tolist())).split("\n")
    out.pop()
    for i in np.flatnonzero(missing).tolist():
        out[i] = ""
    return out


def _format_rows(time: FloatArray, columns: Mapping[str, FloatArray], fmts: list[str]) -> str:
    parts = [_format_column(time, fmts[0])]
    parts += [_format_column(arr, fmt) for arr, fmt in zip(columns.values(), fmts[1:], strict=True)]
    if not parts[0]:
        return ""
    return "\n".join(map(",".join, zip(*parts, strict=True))) + "\n"
