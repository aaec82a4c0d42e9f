"""The :class:`Recording` read from a file, and the column names the format reads (part of
:mod:`breathsync.io.csvfile`, which re-exports the public names).

Which header names are read as ``time``, ``resp``, ``rr_ms``, ``acc_x/y/z`` and ``ecg`` (in any case, with
a unit: :func:`_read_names`), which column a breathing waveform named with ``--column`` may not be
(:func:`breathing_column_problem`), the units a time column's name may say (:data:`_TIME_UNITS`), and how a
message quotes a name (:func:`_quote`). The lowest of the reader's modules: it imports none of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from breathsync.errors import RecordingError

SignalKind = Literal["resp", "acc", "rr", "ecg"]

TIME_COLUMN = "time"
ACC_COLUMNS = ("acc_x", "acc_y", "acc_z")
#: What a recording's ``# derived_from:`` line may say its ``resp`` waveform was derived from before it reached
#: the session (a partner's breathsync publishing breathing from heart beats or a chest accelerometer): "rr" or
#: "acc". The recorder writes it; analyze and replay read it (a belt otherwise).
DERIVED_FROM = ("rr", "acc")

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
            # Intervals in seconds under a name that says ms ("RR (ms)" holding 0.85): said so, with what to do.
            seconds = (
                0
                if rr is None
                else np.count_nonzero(np.isfinite(rr) & (rr >= RR_MIN_MS / 1000) & (rr <= RR_MAX_MS / 1000))
            )
            advice = (
                f": its values (median {float(np.nanmedian(rr)):.3g}) look like seconds, multiply them by 1000"
                if rr is not None and seconds >= 2 and seconds >= 0.5 * np.count_nonzero(np.isfinite(rr))
                else ": check that it is RR intervals in milliseconds"
            )
            raise RecordingError(
                self.path,
                f"column 'rr_ms' holds no heart-beat intervals between {RR_MIN_MS:g} and {RR_MAX_MS:g} ms "
                f"(30-200 beats/min){advice}",
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
#: Heart-beat intervals, by name: "RR", "RRI", "IBI", "RR interval", "RR-interval", "rr_intervals".
_BEAT_NAME = r"(?:rr|rri|ibi)(?:[\s_-]*intervals?)?"
_MS_UNIT = r"(?:\s*\(\s*ms\s*\)|\s*\[\s*ms\s*\]|[\s_]ms)"
#: Heart-beat intervals under a name that says milliseconds, read as ``rr_ms`` (the format's unit): "RR (ms)",
#: "RRI [ms]", "IBI_ms", "RR interval (ms)", and "RR-interval [ms]", the RR file of the Polar Sensor Logger app
#: (its header "Phone timestamp;RR-interval [ms]", as public readers of that app's files, e.g. on GitHub, parse
#: it). A name without a unit is not read: Kubios HRV reads RR intervals in seconds or milliseconds (Hexoskin's
#: help, "Calculating HRV values"), Empatica E4's IBI.csv is in seconds, and "RR" is also a respiratory rate.
_RR_MS_RE = re.compile(rf"{_BEAT_NAME}{_MS_UNIT}", re.IGNORECASE)
#: Any heart-beat interval's name, with a unit (ms or s) or without one (:func:`beat_name_unit`).
_BEAT_RE = re.compile(
    rf"{_BEAT_NAME}(?P<unit>{_MS_UNIT}|\s*\(\s*s\s*\)|\s*\[\s*s\s*\]|[\s_]s)?", re.IGNORECASE
)
#: A breathing belt's or an ECG's name with its unit, as lab exports write them ("RESP (mV)", "ecg [uV]"):
#: breathsync reads neither by its scale (a belt's unit is arbitrary; an ECG gives its beats' times), so any
#: unit goes. Not for rr_ms and acc_*, whose values are read in the format's units (ms, milli-g).
_UNIT_NAME_RE = re.compile(r"(resp|ecg)\s*(?:\([^()]*\)|\[[^\[\]]*\])", re.IGNORECASE)


def _known_name(column: str) -> str | None:
    """The name breathsync reads a header's column as (``time``, ``resp``, ``rr_ms``, ``acc_x/y/z``, ``ecg``),
    whatever its case ("Resp", "RR_MS"), "resp" and "ecg" with a unit ("RESP (mV)"), ``time`` under a name
    that says seconds (:data:`_SECONDS_TIME_RE`) and ``rr_ms`` under a heart-beat interval's name that says
    milliseconds (:data:`_RR_MS_RE`: "RR-interval [ms]"); None for any other column (and for "t":
    :func:`_read_names`)."""
    text = column.strip()
    lower = text.lower()
    if lower in _READ_COLUMNS:
        return lower
    if _SECONDS_TIME_RE.fullmatch(text):
        return TIME_COLUMN
    if _RR_MS_RE.fullmatch(text):
        return "rr_ms"
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


#: Units a time column is written in instead of seconds, by the factor that makes them seconds (also
#: recognised in a time column's name: "time_ms", "Time (ms)").
_TIME_UNITS = {"milliseconds": 1e3, "microseconds": 1e6, "nanoseconds": 1e9}
_TIME_UNIT_NAMES = {"ms": "milliseconds", "msec": "milliseconds", "millis": "milliseconds"}
_TIME_UNIT_NAMES |= {"milliseconds": "milliseconds", "us": "microseconds", "\u00b5s": "microseconds"}
_TIME_UNIT_NAMES |= {"\u03bcs": "microseconds"}
_TIME_UNIT_NAMES |= {"microseconds": "microseconds", "ns": "nanoseconds", "nanoseconds": "nanoseconds"}


def _time_name_unit(column: str) -> tuple[str, float, str] | None:
    """(column, factor to seconds, unit words) when a time column's name says its unit is not seconds
    (``time_ms``, ``Time (ms)``, ``time[us]``), else None."""
    words = re.split(r"[^a-z\u00b5\u03bc]+", column.lower())
    for word in words[1:]:  # the first is "time"
        unit = _TIME_UNIT_NAMES.get(word)
        if unit is not None:
            return column, _TIME_UNITS[unit], unit
    return None


def _quote(text: str, limit: int = 40) -> str:
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    # Control characters (a NUL byte, a stray carriage return) are shown, not printed.
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return "'" + text.replace("'", "\\'") + "'"
