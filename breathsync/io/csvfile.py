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
  also with a unit (``RESP (mV)``, ``ecg [uV]``), ``rr_ms`` also as heart-beat intervals named with milliseconds
  (``RR-interval [ms]``, ``RR (ms)``, ``IBI_ms``); two columns read as one name are refused (:func:`_read_names`).
  Beat intervals or an accelerometer under other names (``RR``, ``IBI (s)``, ``X [mg]``) are refused with the
  names to give them, and a ``--column`` that looks like beat intervals gets a note (``_looks.py``).
- breathsync's own outputs that are not recordings (a session's ``<label>_live.csv``, ``pairs.csv``,
  ``events.csv``) are refused as what they are, naming the raw recordings or the session folder to give instead
  (``_own_files.py``); with a ``--column`` a live file's column is read.
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
- Numbers: decimal with a '.' point (``0.25``, ``-1.5e-3``, ``nan``). In a ``;``- or tab-separated file
  (a European spreadsheet's export) a decimal comma (``0,25``, ``-1,5e-3``) is read as the point, with a note,
  when no number of the file has a '.' as its decimal point (a file with both is refused, naming a cell of
  each) and one is a decimal comma for certain (``1,541`` alone may be 1541: refused as below); the
  ``# sampling_rate_hz:`` of such a file may be written so too (``12,5``). In a ``,``-separated file a
  decimal comma (``0,25`` quoted, or splitting the row) is refused. Thousands separators (``1,541,200``,
  ``1.541.200``, ``1.541,5``; ``1,541`` in a file of points is named as either) and '_' digit separators
  (``1_000``) are refused with a line saying so. So are a note above the header (``Device: Polar H10``), a
  second header row (two files joined), and a headerless list of RR intervals (told to add the header
  ``rr_ms``).
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

The code: this module reads (:func:`read_recording`; ``_read`` drives the reading and checks what was read)
and writes (:func:`write_recording`, :class:`RecordingWriter`, :func:`write_private_text`). The private
modules beside it hold the parts of the reading, and re-exported from here are the public names other modules
import: ``_recording.py`` the :class:`Recording` and the column names the format reads (it imports none of
the others); ``_inputs.py`` opening the input (:func:`open_input`) and reading its bytes as text;
``_parse.py`` the preamble, the header and the data rows; ``_time_units.py`` whether the time column is in
seconds; ``_looks.py`` what a column in another format looks like (for messages); ``_own_files.py``
breathsync's own outputs that are no recordings. None of them imports this module.
"""

from __future__ import annotations

import codecs
import contextlib
import itertools
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from io import UnsupportedOperation
from types import TracebackType
from typing import IO, Any, Self

import numpy as np
from numpy.typing import ArrayLike

from breathsync.errors import RecordingError
from breathsync.io._inputs import MAX_LINE_BYTES as MAX_LINE_BYTES
from breathsync.io._inputs import _BadByte, _Source, open_input
from breathsync.io._looks import acc_advice, beat_column, beat_column_advice, rr_ms_range, time_candidate
from breathsync.io._own_files import own_output_problem
from breathsync.io._parse import (
    _after_lines,
    _blank_line_among_rows,
    _clock_kind,
    _comma_problem,
    _Commas,
    _data_line,
    _data_pieces,
    _detect_delimiter,
    _drop_last_line,
    _fast_pass,
    _fast_rows,
    _is_cut_last_line,
    _parse_header,
    _Piece,
    _scan_preamble,
    _scan_rows,
    _slow_pass,
    _Texts,
    is_number,
)
from breathsync.io._recording import (
    _COLUMN_OPTIONS,
    _READ_COLUMNS,
    ACC_COLUMNS,
    DERIVED_FROM,
    RATE_OPTIONS,
    TIME_COLUMN,
    FloatArray,
    Recording,
    SignalKind,
    _check_wanted_columns,
    _empty_column_problem,
    _looks_like_time,
    _quote,
    _read_names,
    _time_name_unit,
)
from breathsync.io._recording import MAX_RATE_HZ as MAX_RATE_HZ
from breathsync.io._recording import MIN_RATE_HZ as MIN_RATE_HZ
from breathsync.io._recording import breathing_column_problem as breathing_column_problem
from breathsync.io._time_units import (
    _check_time,
    _check_time_unit,
    _grid_millis,
    _swings_per_s,
    _times_look_compressed,
    check_time_scale,
    declared_rate_hz,
)

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

DEFAULT_TIME_FORMAT = "%.6f"
DEFAULT_VALUE_FORMAT = "%.9g"
FILE_MODE = 0o600  # health data: readable and writable by the owner only
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
WRITE_BLOCK_ROWS = 50_000  # write_recording formats this many rows at a time
# Aliasing: a breath's shape is carried by its 2nd and 3rd harmonics, so a breathing waveform needs at least
# 6 samples per breath (the 3rd harmonic below the Nyquist frequency). Breathing up to 40/min: 4 Hz; a rate
# under that is said (analyze's notes), and simulate refuses one for its own breathers.
MIN_SAMPLES_PER_BREATH = 6
MIN_CLEAR_RATE_HZ = MIN_SAMPLES_PER_BREATH * 40.0 / 60.0
_META_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
#: A ``# sampling_rate_hz:`` written with a decimal comma (12,5), read as one in a file of decimal commas.
_COMMA_RATE_RE = re.compile(r"\+?\d*,\d+")


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
    if is_number(header.strip()):
        _check_headerless_beats(source, header_no, header.strip(), rate_hz or declared_rate_hz(meta))
    delimiter = _detect_delimiter(name, header_no, header, _lines_after(source, header_no))
    names = _parse_header(name, header_no, header, delimiter)
    if resp_column is None:  # a column named with --column is read from any file (a live file's "wave")
        own = own_output_problem(name, meta, names)
        if own is not None:
            raise RecordingError(name, own, line=meta_lines.get("holds", header_no))
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
        arrays, dropped, commas = _parse_data(
            name, header_no, first, reread, delimiter, names, source.size, texts
        )
    except _NoRows:
        raise EmptyRecordingError(
            name, "no complete data rows after the header: the recording is empty", line=header_no
        ) from None
    comma_note = None
    if commas is not None:
        unsure = commas.unsettled()
        if unsure is not None:  # '1,541' and no number of the file says whether its comma is a decimal one
            raise RecordingError(name, _comma_problem(unsure[1]), line=unsure[0])
        comma_note = commas.note()
        rate_text = meta.get("sampling_rate_hz", "").strip()
        if comma_note is not None and _COMMA_RATE_RE.fullmatch(rate_text):
            meta["sampling_rate_hz"] = rate_text.replace(",", ".")  # "12,5" in a file of decimal commas

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
        # "Timestamp", "Time (min)", "seconds", "elapsed_s": names a time column may have (never read as one).
        like = [c for c in columns if time_candidate(c)]
        # A name in another unit is refused as the time column it is meant to be: "time_ms" always (it says
        # "time"), another ("sensor timestamp [ns]") when no rate is given.
        named = like if rate_hz is None else [c for c in columns if _looks_like_time(c)]
        unit = next((u for c in named if (u := _time_name_unit(c)) is not None), None)
        acc = acc_advice(list(columns))
        if unit is not None:  # "time_ms", "Time (ms)": not seconds, whatever its name becomes
            time_like, factor, words = unit
            raise RecordingError(
                name,
                f"no 'time' column: {_quote(time_like)} looks like a time in {words}, and breathsync wants "
                f"seconds: divide it by {factor:.0f} and name the column 'time'"
                + (f"; and {acc}" if acc else ""),
                line=header_no,
            )
        beats = resp_column is None and _is_beat_series(columns)
        if resp_column is None and not beats and not _has_sampled_signal(columns):
            # "RR", "IBI (s)", "RR interval": heart beats, which need no sampling rate once named rr_ms.
            found = beat_column(columns)
            if found is not None:
                raise RecordingError(
                    name,
                    f"no 'time' column and no breathing signal: {beat_column_advice(found)} (a series of RR "
                    "intervals needs no time column: each beat is timed by the running sum of the intervals)",
                    line=header_no,
                )
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
            dated = _dated_time_column(names, texts)
            if dated is not None:
                raise RecordingError(
                    name,
                    f"no 'time' column: {dated}: convert the column to seconds "
                    f"(e.g. seconds since the first row) and name it 'time'; or delete it and pass the sampling "
                    f"rate ({RATE_OPTIONS}){hint}",
                    line=header_no,
                )
            raise RecordingError(
                name,
                "no 'time' column: "
                + (f"{acc}; and " if acc else "")
                + f"pass the sampling rate ({RATE_OPTIONS}){hint}, or add a time column in seconds",
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
        notes=((comma_note,) if comma_note else ())
        + _notes(rec, rate_hz if TIME_COLUMN in names else None, meta_lines)
        + ((beat_note,) if beat_note else ())
        + text_notes
        + tuple(absurd)
        + _beats_as_breathing(rec, wanted),
    )
    time.flags.writeable = False
    for col in columns.values():
        col.flags.writeable = False
    return rec


def _lines_after(source: _Source, line_no: int) -> Iterator[tuple[int, str]]:
    """The lines after line ``line_no`` (number, text), read again from the start of the file, as they are
    asked for (for a message's look ahead)."""
    chunks = source.chunks()
    carry = _after_lines(chunks, line_no)
    no = line_no
    for chunk in chunks:
        lines = (carry + chunk).split("\n")
        carry = lines.pop()
        for line in lines:
            no += 1
            yield no, line
    lines = carry.split("\n")
    if lines[-1] == "":
        lines.pop()
    for line in lines:
        no += 1
        yield no, line


#: Lines of a headerless file looked at to tell whether it is a list of RR intervals.
HEADERLESS_LOOK_LINES = 10_000


def _check_headerless_beats(source: _Source, first_no: int, first: str, rate_hz: float | None) -> None:
    """Refuse a file without a header that looks like a list of RR intervals in milliseconds, one a line
    (:func:`rr_ms_range`: whole numbers of a heart's range that turn faster than a breathing waveform sampled
    at 10 Hz or more, or at ``rate_hz``, the rate given for the file, does), saying which header to add. Elite HRV exports its RR intervals so, one number a line and
    nothing else (dataespresso.com, "Reading RR intervals from EliteHRV with Pandas", 2017). Other headerless
    files are left to the header's own message."""
    values: list[float] = []
    for _, line in _lines_after(source, first_no - 1):
        cell = line.strip()
        if not cell:
            continue
        if not is_number(cell) or len(values) >= HEADERLESS_LOOK_LINES:
            break
        values.append(float(cell))
    found = rr_ms_range(np.asarray(values), rate_hz=rate_hz)
    if found is None:
        return
    raise RecordingError(
        source.name,
        f"no header row: the first line after the '#' lines is data ({_quote(first)}); the file looks like a list "
        f"of RR intervals in milliseconds ({found[0]:.4g} to {found[1]:.4g}, one heart beat a line, as Elite HRV "
        "exports them): add the header line rr_ms (for a breathing waveform: a header naming its columns, e.g. "
        "resp)",
        line=first_no,
    )


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


def _time_or_rate(rec: Recording) -> tuple[FloatArray | None, float | None]:
    """What :func:`beat_column` is given of a recording's timing: its time column, or (timed by a rate given
    for the file) the rate, a sign of a sampled waveform."""
    return (None, rec.sampling_rate_hz()) if rec.time_from_rate else (rec.time, None)


def _beats_as_breathing(rec: Recording, wanted: Sequence[str]) -> tuple[str, ...]:
    """A note for each breathing column named with --column that looks like RR intervals (:func:`beat_column`):
    read as a belt's waveform, beat intervals give a breathing rate from nothing real."""
    notes = []
    for col in wanted:
        found = beat_column({col: rec.columns[col]}, *_time_or_rate(rec))
        if found is not None:
            _, unit, lo, hi = found
            rename = (
                "multiply its values by 1000 and name it 'rr_ms'" if unit == "seconds" else "name it 'rr_ms'"
            )
            notes.append(
                f"column {_quote(col)}, named with {_COLUMN_OPTIONS} as a breathing waveform, looks like RR "
                f"intervals in {unit} ({lo:.4g} to {hi:.4g}), which are not a waveform: if it is, {rename} in the "
                "header and leave out --column (breathing is then derived from the heart beats)"
            )
    return tuple(notes)


def _has_sampled_signal(columns: Mapping[str, FloatArray]) -> bool:
    """Whether a column of a sampled breathing source (``resp``, ``acc_x/y/z``, ``ecg``) holds a number."""
    return any(
        (values := columns.get(c)) is not None and bool(np.isfinite(values).any())
        for c in ("resp", *ACC_COLUMNS, "ecg")
    )


def _dated_time_column(names: list[str], texts: _Texts) -> str | None:
    """A column named as a time (:func:`time_candidate`) that holds dates or clock times, which are left out as
    text (``timestamp`` of ``2024-05-01 10:00:00``): what it holds, for a message; else None."""
    for i, (line_no, text) in sorted(texts.found.items(), key=lambda item: item[1][0]):
        if names[i] and time_candidate(names[i]):
            what = _clock_kind(text)
            if what:
                return f"{_quote(names[i])} holds {what} ({_quote(text)} at line {line_no}), not seconds"
    return None


def _is_beat_series(columns: Mapping[str, FloatArray]) -> bool:
    """Whether a file without a time column is a series of heart beats: ``rr_ms`` holds numbers and no column
    of a sampled signal does (``resp``, ``acc_x/y/z``, ``ecg``), as in the RR exports of Kubios HRV, Elite HRV
    or a Polar app (one interval a row; other columns, a heart rate, go along)."""

    def has(col: str) -> bool:
        values = columns.get(col)
        return values is not None and bool(np.isfinite(values).any())

    return has("rr_ms") and not any(has(c) for c in ("resp", *ACC_COLUMNS, "ecg"))


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


def _parse_data(
    name: str,
    header_no: int,
    pieces: Iterator[_Piece],
    reread: Callable[[bool], Iterator[_Piece]],
    delimiter: str,
    names: list[str],
    size: int,
    texts: _Texts | None = None,
) -> tuple[list[FloatArray], bool, _Commas | None]:
    """Parse the data rows: one array per column, whether a truncated final line was dropped, and the decimal
    separator of a ';'- or tab-separated file as the rows read show it (:class:`_Commas`; None for ',').

    As for the whole text at once: the fast path for every row, else the slow path (line by line, naming
    the first bad line); a bad final line without a newline is dropped and the rest parsed the same way.
    ``reread(drop_last)`` gives the data pieces again, without the last line if asked; ``size`` is the
    file's length in bytes. ``texts``: the columns whose text cells are read as missing (and noted there).
    """
    ncols = len(names)
    commas = _Commas.of(delimiter)
    columns, failed, nan_time = _fast_pass(pieces, delimiter, names, size, commas)
    if failed is None:
        if not columns.rows:
            raise EmptyRecordingError(
                name, "no data rows after the header: the recording is empty", line=header_no
            )
        return columns.arrays(), False, commas
    if not nan_time:
        # The fast path read every earlier row, with finite times. The slow path refuses none of them (it
        # refuses what the fast path refuses, and empty time cells, which the fast path reads as NaN; the
        # decimal separator the fast path followed is the one the slow path would have found), so its first
        # problem, if any, is in this piece.
        scanned = replace(commas) if commas is not None else None
        bad = _scan_rows(failed.text, failed.first_no, delimiter, names, header_no + 1, texts, scanned)
        if isinstance(bad, tuple):
            line_no, problem = bad
            if not _is_cut_last_line(failed, line_no):
                raise RecordingError(name, problem, line=line_no)
            rest = _drop_last_line(failed.text)
            if not columns.rows and not rest.strip():
                raise _NoRows
            skip = texts.skip() if texts else frozenset()
            table = _fast_rows(rest, delimiter, ncols, skip, commas, failed.first_no)
            if table is not None:
                columns.add(table, len(rest))
                return columns.arrays(), True, commas
    del columns
    # The slow path over all rows (read again).
    commas = _Commas.of(delimiter)
    columns, bad_line = _slow_pass(reread(False), delimiter, names, size, header_no + 1, texts, commas)
    if bad_line is None:
        return columns.arrays(), False, commas
    line_no, problem, cut = bad_line
    if not cut:
        raise RecordingError(name, problem, line=line_no)
    # An incomplete final line (writer killed mid-row): drop it and parse the rest.
    if not columns.rows:
        raise _NoRows
    del columns
    if failed.last:  # else the fast path fails again on the same piece
        commas = _Commas.of(delimiter)
        columns, failed, _ = _fast_pass(reread(True), delimiter, names, size, commas)
        if failed is None:
            return columns.arrays(), True, commas
        del columns
    commas = _Commas.of(delimiter)
    columns, bad_line = _slow_pass(reread(True), delimiter, names, size, header_no + 1, texts, commas)
    if bad_line is not None:
        raise RecordingError(name, bad_line[1], line=bad_line[0])
    return columns.arrays(), True, commas


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
        # Heart beats or an accelerometer under other names: say which name to give them.
        advice = acc_advice(list(rec.columns))
        if not advice:
            found = beat_column(rec.columns, *_time_or_rate(rec))
            advice = beat_column_advice(found) if found is not None else ""
        if advice:
            raise RecordingError(name, f"no breathing signal column: {advice}", line=header_no)
    raise RecordingError(
        name,
        f"{what}: need 'resp', 'rr_ms', all of 'acc_x', 'acc_y', 'acc_z', or 'ecg' (in any case); a "
        "breathing waveform under another name is read with --column NAME (replay: column=NAME)",
        line=header_no,
    )


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
