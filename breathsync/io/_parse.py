"""Parsing a recording's text (part of :mod:`breathsync.io.csvfile`, which re-exports the public names).

The ``#`` lines before the header (:func:`_scan_preamble`), the header and its delimiter
(:func:`_detect_delimiter`, :func:`_parse_header`), and the data rows in pieces of whole lines
(:func:`_data_pieces`): by numpy's parser where it can (the fast path, :func:`_fast_rows`) and line by line
where it cannot (the slow path, :func:`_scan_rows`, which names the first bad line and what is wrong with
it). ``csvfile._parse_data`` drives the two paths. A ';'- or tab-separated file's decimal commas are
followed by :class:`_Commas` on both paths (the fast one parses such a file with its ',' made '.'). Imports
:mod:`breathsync.io._recording` only.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from typing import NamedTuple

import numpy as np

from breathsync.errors import RecordingError
from breathsync.io._recording import _T_TIME_RE, TIME_COLUMN, FloatArray, _known_name, _quote

_DELIMITERS = {",": "','", ";": "';'", "\t": "tab"}
_ACCEPTED = "',' ';' or tab"
#: Lines of delimiters and white space only (see _is_blank_row), per delimiter.
_BLANK_ROWS = {
    d: re.compile(rf"^[ \t]*{re.escape(d)}[ \t{re.escape(d)}]*$\n?", re.MULTILINE) for d in _DELIMITERS
}
_META_RE = re.compile(r"^\s*#\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*:\s?(.*?)\s*$")
#: The first line Excel writes to name a CSV file's delimiter (``sep=,``, ``sep=;``; quoted by some).
_EXCEL_SEP_RE = re.compile(r'"?sep=.?"?', re.IGNORECASE)
_SINGLE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


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


def _detect_delimiter(
    name: str, line_no: int, header: str, following: Iterator[tuple[int, str]] | None = None
) -> str:
    """The header's delimiter. ``following``: the lines after the header (number, text), looked at only
    when the header has none, for a note above the real header (:func:`_header_below`)."""
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
    lines = list(itertools.islice(following, NOTE_LOOK_LINES)) if following is not None else []
    if ":" not in stripped and _single_numbers_below(lines):
        return ","  # one column whose name has spaces ("RR interval (ms)"): any accepted delimiter works
    below = _header_below(iter(lines))
    if below is not None:
        below_no, below_text = below
        raise RecordingError(
            name,
            f"the first line, {_quote(stripped)}, looks like a note, not a header (no {_ACCEPTED} separates "
            f"columns in it), and line {below_no}, {_quote(below_text.strip())}, like the header: delete the lines "
            "above the header, or start each with '#' (a '# key: value' line is read as metadata)",
            line=line_no,
        )
    raise RecordingError(
        name,
        f"unknown delimiter in header {_quote(stripped)}: separate the columns with {_ACCEPTED}",
        line=line_no,
    )


#: How many lines below a header without a delimiter are looked at for the real header (notes above it).
NOTE_LOOK_LINES = 20


def _single_numbers_below(lines: list[tuple[int, str]]) -> bool:
    """Whether the first line below a header without a delimiter that is not blank or a '#' line holds one
    number: the header names one column, with spaces in its name."""
    for _, line in lines:
        text = line.strip()
        if text and not text.startswith("#"):
            return is_number(text)
    return False


def _header_below(following: Iterator[tuple[int, str]]) -> tuple[int, str] | None:
    """The line that looks like a header (an accepted delimiter between names, none of them a number) within
    :data:`NOTE_LOOK_LINES` lines below a first line that has no delimiter, past other lines (more notes, with
    numbers or not: "Sampling rate: 100 Hz", "Sample rate,100"; '#' lines): then that first line is a note
    ("Device: Polar H10"). None when a data row (every cell a number: the first line was the header, with a
    wrong delimiter), or nothing that looks like a header, comes first."""
    for line_no, line in following:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        bare = _unquoted(text)
        counts = {d: bare.count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        cells = [c.strip().strip('"').strip() for c in text.split(best)] if counts[best] else text.split()
        numbers = [is_number(c) for c in cells if c]
        if numbers and all(numbers):
            return None
        if counts[best] and not any(numbers):
            return line_no, text
    return None


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


def _is_cut_last_line(piece: _Piece, line_no: int) -> bool:
    """Whether ``line_no`` is the file's last data line, and has no newline."""
    return piece.last and not piece.text.endswith("\n") and line_no == piece.first_no + piece.text.count("\n")


def _fast_pass(
    pieces: Iterator[_Piece], delimiter: str, names: list[str], size: int, commas: _Commas | None = None
) -> tuple[_Columns, _Piece | None, bool]:
    """The fast path piece by piece: the rows, the first piece it fails on, whether a time was NaN.
    ``commas``: the decimal separator of a ';'- or tab-separated file, followed piece by piece."""
    columns = _Columns(len(names), size)
    at = names.index(TIME_COLUMN) if TIME_COLUMN in names else None
    nan_time = False
    for piece in pieces:
        table = _fast_rows(piece.text, delimiter, len(names), commas=commas, first_no=piece.first_no)
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
    commas: _Commas | None = None,
) -> tuple[_Columns, tuple[int, str, bool] | None]:
    """The slow path piece by piece: the rows, and the first bad line (number, problem, whether it is the
    file's last line, without a newline). Once columns of text are known (``texts``), a piece is first tried
    with the fast path leaving them out: a column of comments or event markers would make every row slow.
    ``commas``: the decimal separator of a ';'- or tab-separated file, followed piece by piece."""
    columns = _Columns(len(names), size)
    at = names.index(TIME_COLUMN) if TIME_COLUMN in names else None
    for piece in pieces:
        if texts is not None and texts.found:
            table = _fast_rows(piece.text, delimiter, len(names), texts.skip(), commas, piece.first_no)
            if table is not None and (at is None or not np.isnan(table[:, at]).any()):
                columns.add(table, len(piece.text))
                continue
        bad = _scan_rows(piece.text, piece.first_no, delimiter, names, data_start, texts, commas)
        if isinstance(bad, tuple):
            line_no, problem = bad
            return columns, (line_no, problem, _is_cut_last_line(piece, line_no))
        columns.add(bad, len(piece.text))
    return columns, None


def _fast_rows(
    data: str,
    delimiter: str,
    ncols: int,
    skip: frozenset[int] = frozenset(),
    commas: _Commas | None = None,
    first_no: int = 0,
) -> FloatArray | None:
    """numpy's C parser, missing values (NA, N/A, ...) and empty cells spelled "nan" first (cheap C-level
    string scans); None if it fails. The columns ``skip`` (text) are not parsed: NaN. ``commas``: the decimal
    separator of a ';'- or tab-separated file (a file of decimal commas is parsed with its ',' made '.'), to
    which what this piece shows is added when it parses; ``first_no``: the line number of its first line."""
    if not data.lstrip("\n"):
        return np.empty((0, ncols))  # empty lines only, which it skips
    seen = None
    if commas is not None:
        prepared = commas.fast_text(data, first_no)
        if prepared is None:
            return None
        data, seen = prepared
    if _may_hold_na(data):
        data = _NA_CELLS[delimiter].sub(r"\1nan", data)
    if _has_empty_cells(data, delimiter):
        data = _BLANK_ROWS[delimiter].sub("", data)  # rows of empty cells only: blank lines (_is_blank_row)
        if not data.strip():
            return np.empty((0, ncols))
        data = _fill_empty_cells(data, delimiter)
    table = _loadtxt(data, delimiter, ncols, skip)
    if table is not None and commas is not None:
        commas.take(seen)
    return table


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
    commas: _Commas | None = None,
) -> FloatArray | tuple[int, str]:
    """Parse row by row: the table (maybe without rows), or (line number, problem) of the first bad line.
    ``data_start``: the line number of the data part's first line (a units row there is named as one).
    ``texts``: the columns whose text cells are read as NaN, each one's first noted there. ``commas``: the
    decimal separator of a ';'- or tab-separated file, followed cell by cell (None for ',': a decimal comma
    there is refused)."""
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
            again = _header_after_comments(data.split("\n")[offset + 1 :], line_no + 1, delimiter, names)
            if again is not None:
                return line_no, (
                    f"another recording starts here ('#' lines, then a header row at line {again}, as when two "
                    "files are joined into one, e.g. with cat): breathsync reads one recording a file: split the "
                    "file at this line"
                )
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
        if mismatch == "," and commas is not None and delimiter in line:
            # A row of decimal commas short of a cell (0,5;1,5 under a header of three): counted below.
            mismatch = None
        if mismatch is not None:
            return line_no, (
                f"the header is {delim_name}-separated but this row is {_DELIMITERS[mismatch]}-separated: use "
                "one delimiter for the header and the rows (check the export settings)"
                + ("; and write numbers with a decimal point" if _DECIMAL_COMMA_RE.search(line) else "")
            )
        if _is_units_row(cells) and _is_header_again(cells, names):
            return line_no, (
                "a second header row (the header again, as when two files are joined into one, e.g. with cat): "
                "breathsync reads one recording a file: split the file at this line, or delete the line if "
                "the rows after it go on with the same recording"
            )
        if commas is not None:
            problem = commas.scan_cells(cells, line_no, ignorable)
            if problem is not None:
                return problem
        else:
            comma = next(
                (
                    c.strip().strip('"').strip()
                    for i, c in enumerate(cells)
                    if i not in ignorable
                    and (
                        _DECIMAL_COMMA_RE.fullmatch(t := c.strip().strip('"').strip())
                        or _GROUPED_RE.fullmatch(t)
                        or _DOT_GROUPED_RE.fullmatch(t)
                    )
                ),
                None,
            )
            if comma is not None:
                return line_no, _comma_problem(comma)
        if (
            not rows
            and first_no == data_start
            and data_start is not None
            and _names_a_column(cells)
            and not any(_known_name(n) for n in names)
        ):
            return line_no, (
                f"this line looks like the header, and line {data_start - 1} above it, read as the header "
                f"({_quote(','.join(names))}), like a note: delete the lines above the header, or start each "
                "with '#' (a '# key: value' line is read as metadata)"
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


def _clock_kind(text: str) -> str:
    """What a cell holding a date or a clock time holds ("a date and time", "a date", "a clock time"), else
    ""."""
    date, clock = _DATE_RE.search(text), _CLOCK_RE.search(text)
    if date is None and clock is None:
        return ""
    return "a date and time" if date and clock else ("a date" if date else "a clock time")


def _clock_time_hint(text: str) -> str:
    """What to do with a time cell holding a date or a clock time (": a date and time, ..."), else ""."""
    what = _clock_kind(text)
    if not what:
        return ""
    return (
        f": {what}, and breathsync wants seconds: convert the column to seconds (e.g. seconds since the first "
        "row) and write them as numbers"
    )


#: A number written with a decimal comma (0,25 or -1,5e-3), as a European spreadsheet exports it.
_DECIMAL_COMMA_RE = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")
#: What float() reads with a '.' once its ',' is one (1,5 ,5 5, 1,5e3): a number with a decimal comma in a file
#: read so (numpy's parser reads the same text, with the '.', alike).
_COMMA_NUMBER_RE = re.compile(r"[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?")
#: A number with a decimal point (0.25, -1.5e-3, 5., .5).
_POINT_RE = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: A number that may be a decimal comma or a thousands separator: 1 to 3 digits (not 0), ',', 3 digits.
_COMMA_OR_GROUP_RE = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")
#: The same with a '.': a decimal point or a '.' thousands separator (1.541 beside decimal commas).
_POINT_OR_GROUP_RE = re.compile(r"[+-]?[1-9]\d{0,2}\.\d{3}")
#: A number with thousands separators for certain: two or more groups (1,541,200), or a group and a decimal
#: point (1,541.5).
_GROUPED_RE = re.compile(r"[+-]?[1-9]\d{0,2}(?:(?:,\d{3}){2,}(?:\.\d*)?|,\d{3}\.\d*)")
#: The same with '.' thousands separators, as a European number format writes them: 1.541.200, or a group and
#: a decimal comma (1.541,5).
_DOT_GROUPED_RE = re.compile(r"[+-]?[1-9]\d{0,2}(?:(?:\.\d{3}){2,}(?:,\d*)?|\.\d{3},\d*)")

#: The delimiters beside which a number's ',' is read as a decimal comma (:class:`_Commas`). A spreadsheet in a
#: language that writes ',' as the decimal separator (German, French, Dutch, ...) separates the cells of its
#: "CSV" export with ';', because ',' is in its numbers (Google's AppSheet help, "Set the locale of a CSV
#: file", support.google.com/appsheet/answer/11512216: "If the decimal separator is a comma, the delimiter is
#: a semicolon"; Excel takes it from the Windows "List separator", ';' where the decimal symbol is ','), and its
#: tab-separated text export writes the same numbers between tabs. With ',' as the delimiter a comma cannot be
#: a decimal point (unless quoted): those files are refused as before.
_DECIMAL_COMMA_DELIMITERS = (";", "\t")


#: A number seen: its line number and text (for a message).
_Seen = tuple[int, str]


@dataclass
class _Commas:
    """The decimal separator of a ';'- or tab-separated file (:data:`_DECIMAL_COMMA_DELIMITERS`), as the rows
    read so far show it; one for each pass over the rows.

    The file's numbers with a decimal comma (0,25; -1,5e-3) are read as with a point when none of them has a
    '.' as its decimal point (both in one file mean something else: each kind is named, :func:`_mixed_problem`)
    and one of them is a decimal comma for certain: ``1,541`` alone may be a thousands separator
    (:data:`_COMMA_OR_GROUP_RE`; refused, with today's words, unless another number settles it). ``1.541,5``
    and ``1.541.200`` (a '.' thousands separator) are refused. The fast path (:meth:`fast_text`) turns a
    piece's ',' into '.' once the file is known to have decimal commas, and leaves to the slow path
    (:meth:`scan_cells`) what only the cells can tell.
    """

    delimiter: str
    #: The first number with a decimal comma for certain (0,25).
    comma: _Seen | None = None
    #: The first number with a decimal point.
    point: _Seen | None = None
    #: The first number whose comma may be a thousands separator (1,541, 5,), before any of the others.
    unsure: _Seen | None = None

    @classmethod
    def of(cls, delimiter: str) -> _Commas | None:
        """The state of a file with this delimiter; None for ',' (a decimal comma there is refused as before)."""
        return cls(delimiter) if delimiter in _DECIMAL_COMMA_DELIMITERS else None

    def fast_text(self, text: str, first_no: int) -> tuple[str, _Commas | None] | None:
        """A piece's text for numpy's parser (its ',' made '.' when the file has decimal commas), with what it
        shows (a copy of this state to :meth:`take` once the piece has parsed); None when only the slow path
        can tell (numbers with a comma and with a point: it names them). Scans
        the text for a number of each kind only while none is known; '.' and ',' are found by memchr."""
        comma_in = "," in text
        point = comma = None
        if self.point is None:
            point = _first_cell(text, first_no, self.delimiter, ".", _POINT_RE)
        if self.comma is None and comma_in:
            comma = _first_cell(text, first_no, self.delimiter, ",", _DECIMAL_COMMA_RE, sure=True)
        if (point or self.point) and (comma or self.comma or self.unsure):
            return None
        seen = None
        if point is not None or comma is not None:
            seen = _Commas(self.delimiter, self.comma or comma, self.point or point, self.unsure)
        if comma_in and (self.comma or comma):
            text = text.replace(",", ".")
        return text, seen

    def take(self, seen: _Commas | None) -> None:
        """What a piece showed (:meth:`fast_text`), once it has parsed."""
        if seen is not None:
            self.comma, self.point, self.unsure = seen.comma, seen.point, seen.unsure

    def scan_cells(self, cells: list[str], line_no: int, ignorable: frozenset[int]) -> tuple[int, str] | None:
        """One row's numbers, on the slow path: a number with a decimal comma made one with a point (in
        ``cells``), or (line number, problem) when the row's numbers cannot be read so. ``ignorable``: the
        columns breathsync does not read, whose cells may be text (a '1,541' there stays text until the
        file is known to have decimal commas; thousands separators there are not refused)."""
        for i, cell in enumerate(cells):
            if "," not in cell and "." not in cell:
                continue  # a whole number, an empty cell, a word
            text = cell.strip().strip('"').strip()
            if "," in text:
                if _COMMA_NUMBER_RE.fullmatch(text):
                    sure = _DECIMAL_COMMA_RE.fullmatch(text) is not None and not _COMMA_OR_GROUP_RE.fullmatch(
                        text
                    )
                    if sure and self.point is not None:
                        return line_no, _mixed_problem((line_no, text), self.point, line_no)
                    if not sure and self.comma is None:
                        if i in ignorable:
                            continue  # text, in a column breathsync does not read
                        if self.point is not None:
                            return line_no, _comma_problem(text)
                        self.unsure = self.unsure or (line_no, text)
                    if sure and self.comma is None:
                        self.comma = (line_no, text)
                    cells[i] = cell.replace(",", ".")
                    continue
            elif text.count(".") == 1:  # a number with a decimal point, or no number (never one grouped)
                if (self.point is None or self.comma or self.unsure) and _POINT_RE.fullmatch(text):
                    if self.comma is not None:
                        return line_no, _mixed_problem(self.comma, (line_no, text), line_no)
                    if self.unsure is not None:
                        return self.unsure[0], _comma_problem(self.unsure[1])
                    self.point = (line_no, text)
                continue
            if i not in ignorable and (_GROUPED_RE.fullmatch(text) or _DOT_GROUPED_RE.fullmatch(text)):
                return line_no, _comma_problem(text)
        return None

    def unsettled(self) -> _Seen | None:
        """After the last row: the first '1,541' of a file that holds no number with a decimal comma for
        certain (refused: a decimal comma or a thousands separator), else None."""
        return self.unsure if self.comma is None else None

    def note(self) -> str | None:
        """The reader's note for a file read with decimal commas, else None."""
        if self.comma is None:
            return None
        line_no, text = self.comma
        return (
            f"numbers read with ',' as the decimal point (0,25 as 0.25; the first, {_quote(text)}, at line "
            f"{line_no}): a {_DELIMITERS[self.delimiter]}-separated export in a European number format"
        )


def _first_cell(
    text: str, first_no: int, delimiter: str, char: str, number: re.Pattern[str], sure: bool = False
) -> _Seen | None:
    """The first cell of ``text`` (whose first line is line ``first_no``) that holds ``char`` and is a
    ``number`` (spaces and double quotes around it allowed); ``sure``: the first that is a decimal comma for
    certain (not a '1,541', :data:`_COMMA_OR_GROUP_RE`). Only the cells around each ``char`` (found by memchr)
    are looked at, each once: a piece where it is rare (a '.' in a note beside decimal commas, a ',' in a note
    beside points) costs next to nothing. A line with a '"' is split by csv's rules (a quoted cell may hold the
    delimiter), as the slow path splits it."""

    def wanted(cell: str) -> bool:
        return (
            char in cell
            and bool(number.fullmatch(cell))
            and not (sure and _COMMA_OR_GROUP_RE.fullmatch(cell))
        )

    pos = text.find(char)
    floor = 0  # the start of a cell: what lies before it has been looked at
    while pos >= 0:
        start = max(text.rfind(delimiter, floor, pos), text.rfind("\n", floor, pos), floor - 1) + 1
        end = text.find(delimiter, pos)
        end = len(text) if end < 0 else end
        newline = text.find("\n", pos, end)
        end = end if newline < 0 else newline
        if wanted(text[start:end].strip().strip('"').strip()):
            line_start = text.rfind("\n", 0, start) + 1
            line_end = text.find("\n", end)
            line_end = len(text) if line_end < 0 else line_end
            line_no = first_no + text.count("\n", 0, line_start)
            line = text[line_start:line_end]
            if '"' not in line:
                return line_no, text[start:end].strip().strip('"').strip()
            for cell in _quoted_cells(line, delimiter):
                if wanted(cell := cell.strip().strip('"').strip()):
                    return line_no, cell
            end = line_end  # the cell was part of a quoted one: on to the next line
        floor = end + 1
        pos = text.find(char, floor)
    return None


def _mixed_problem(comma: _Seen, point: _Seen, line_no: int) -> str:
    """A file whose numbers have decimal commas and decimal points (the one at ``line_no`` the second kind)."""
    c, p = _quote(comma[1]), _quote(point[1])
    if comma[0] == point[0]:
        where_c, where_p = "", " (both on this line)"
    else:
        where_c, where_p = (f" (line {n})" if n != line_no else " (this line)" for n in (comma[0], point[0]))
    if _POINT_OR_GROUP_RE.fullmatch(point[1]):
        whole, _, part = point[1].partition(".")
        return (
            f"the number {c} has a decimal comma{where_c} and {p} a '.'{where_p}, a thousands separator "
            f"({whole}{part}) or a decimal point: breathsync reads numbers without digit grouping; export the "
            "file without thousands separators and with one decimal separator throughout"
        )
    return (
        f"the number {c} has a decimal comma{where_c} but {p} a decimal point{where_p}: a file with both is not "
        "read (were its columns exported with different settings?); export the file again with one decimal "
        "separator throughout, e.g. '.' (an English/US number format)"
    )


def _comma_problem(number: str) -> str:
    """What is wrong with a number written with a comma (:data:`_DECIMAL_COMMA_RE`, :data:`_GROUPED_RE`) or with
    '.' thousands separators (:data:`_DOT_GROUPED_RE`)."""
    if _DOT_GROUPED_RE.fullmatch(number):
        return (
            f"the number {_quote(number)} has thousands separators ('.')"
            + (" and a decimal comma" if "," in number else "")
            + ": breathsync reads plain numbers; export the file without digit grouping (no thousands separator)"
        )
    if _GROUPED_RE.fullmatch(number):
        return (
            f"the number {_quote(number)} has thousands separators (','): breathsync reads plain numbers; export "
            "the file without digit grouping (no thousands separator)"
        )
    if _COMMA_OR_GROUP_RE.fullmatch(number):
        whole, _, part = number.partition(",")
        return (
            f"the number {_quote(number)} has a comma: a decimal comma ({whole}.{part}) or a thousands separator "
            f"({whole}{part}): breathsync reads numbers with a decimal point and no thousands separator; export "
            "the file with '.' as the decimal separator and without digit grouping"
        )
    return (
        f"the number {_quote(number)} has a decimal comma: breathsync reads numbers with a decimal "
        "point; export the file with '.' as the decimal separator (e.g. an English/US number format)"
    )


def _is_header_again(cells: list[str], names: list[str]) -> bool:
    """Whether a row of text repeats the header: each cell is its column's name, in any case, or a name read as
    it (``Time (s)`` under ``time``: :func:`_known_name`)."""
    if len(cells) != len(names):
        return False
    for cell, col in zip(cells, names, strict=True):
        text = cell.strip().strip('"').strip()
        if text == col or text.lower() == col.lower() or (text and _known_name(text) == col):
            continue
        if col == TIME_COLUMN and _T_TIME_RE.fullmatch(text):
            continue
        return False
    return any(c.strip() for c in cells)


def _header_after_comments(lines: list[str], first_no: int, delimiter: str, names: list[str]) -> int | None:
    """The line number of a repeat of the header right after '#' lines (``lines`` follow a '#' line inside the
    data, the first numbered ``first_no``): a second recording joined to the first. None otherwise."""
    for offset, line in enumerate(lines):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        cells = _quoted_cells(line, delimiter) if '"' in line else line.split(delimiter)
        return first_no + offset if _is_header_again(cells, names) or _names_a_column(cells) else None
    return None


def _names_a_column(cells: list[str]) -> bool:
    """Whether a row of text names a column breathsync reads (``time``, ``resp``, ``Time (s)``...): a header."""
    return _is_units_row(cells) and any(_known_name(c.strip().strip('"').strip()) for c in cells)


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
