"""What a file or a column that is not in the recording format looks like, for the reader's messages (part of
:mod:`breathsync.io.csvfile`): heart-beat intervals under another name or without a header
(:func:`rr_ms_range`, :func:`beat_column`), an accelerometer's axes under another name (:func:`acc_names`),
and the names a time column may have besides ``time`` (:func:`time_candidate`). Nothing here changes what is
read: these only choose what a message says ("looks like"). Imports :mod:`breathsync.io._recording` only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from breathsync.io._recording import _BEAT_RE, ACC_COLUMNS, FloatArray, _known_name, _looks_like_time, _quote

#: RR intervals as a heart gives them, in ms (240-24 beats/min): the range a column's values must all lie in to
#: be said to look like RR intervals. Wider than the analysis's (breathsync.dsp.rr: 300-2000 ms), so that an
#: export with a few slow or fast beats still looks like one.
RR_LOOK_MS = (250.0, 2500.0)
#: At least this many values: a few numbers look like anything.
MIN_BEATS = 10
#: A breathing waveform's values are correlated over many samples, whatever its noise: a breath spans at least
#: this many samples (a belt at 10 Hz breathing 30/min; at a stated rate under 20 Hz, that rate's samples: a
#: breath a second), so its autocorrelation at lag k is at least that of a cosine of this period, cos(2 pi k /
#: period), times the share of its variance that is not white noise (noise, quantisation to whole ADC counts,
#: lowers lags 1 and beyond alike, so the lags' ratios to lag 1 keep the cosine's). RR intervals vary beat to
#: beat, and breathing moves them over a cycle of 3-16 beats (respiratory sinus arrhythmia; even slow paced
#: breathing is 16 beats a breath at 60/min): their autocorrelation falls within a few lags, below 0 by lag 3-5
#: (the real Polar H10 list of ../shared/data: 0.88, 0.61, 0.27, -0.07, -0.34 at lags 1-5).
BREATH_MIN_SAMPLES = 20.0
#: ... its lag-1 autocorrelation is at least this share of the cosine's (breathing at least as strong as the
#: noise: a belt whose swing is lost in noise is no breathing recording) ...
BREATH_MIN_SHARE = 0.5
#: ... less this margin for the estimate's scatter; the same margin below the cosine's ratio to lag 1 at lags
#: 2 to a quarter of the period (0.85, 0.62, 0.32, 0 at 20 samples a breath).
TURN_MARGIN = 0.15


def _turns_like_beats(values: FloatArray, rate_hz: float | None = None) -> bool:
    """Whether ``values`` (finite) turn faster than any breathing waveform sampled at 10 Hz or more, or at
    ``rate_hz`` when it is given (:data:`BREATH_MIN_SAMPLES`): an autocorrelation (on a straight-line
    detrend, lags of a quarter breath or less) below the breathing cosine's at lag 1 (:data:`BREATH_MIN_SHARE`)
    or, as a ratio to lag 1, at any later lag, by more than :data:`TURN_MARGIN`. A belt sampled at 10-1000 Hz,
    in whole ADC counts and with noise, does not; RR intervals do. A constant series does not (no heart beats
    so evenly)."""
    period = BREATH_MIN_SAMPLES if rate_hz is None else min(BREATH_MIN_SAMPLES, rate_hz)
    lags = max(int(period // 4), 1)
    n = values.size
    if n <= lags + 1:
        return False
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2
    v = values - float(values.mean())
    v -= float(np.dot(x, v)) / float(np.dot(x, x)) * x  # less its straight line
    power = float(np.dot(v, v)) / n
    if not power > 1e-12 * max(float(np.mean(values**2)), 1e-300):
        return False
    acf = np.array([float(np.dot(v[:-k], v[k:])) / (n - k) / power for k in range(1, lags + 1)])
    cosine = np.cos(2 * np.pi * np.arange(1, lags + 1) / period)
    if acf[0] < BREATH_MIN_SHARE * cosine[0] - TURN_MARGIN:
        return True
    return bool(np.any(acf[1:] / acf[0] < cosine[1:] / cosine[0] - TURN_MARGIN))


def rr_ms_range(
    values: FloatArray, time: FloatArray | None = None, rate_hz: float | None = None
) -> tuple[float, float] | None:
    """(lowest, highest) when ``values`` (NaN left out) look like RR intervals in milliseconds: at least
    :data:`MIN_BEATS` of them, all within :data:`RR_LOOK_MS`, and either, on the rows' ``time`` (s), each
    about its interval after the one before (a beat's row at its end, or at its start), or (``time`` None)
    whole numbers (apps export whole milliseconds) that turn as heart beats do, faster than a breathing
    waveform sampled at 10 Hz or more, or at ``rate_hz`` when the file's rate is given
    (:func:`_turns_like_beats`); None otherwise. A barometer (1013.2 hPa) or a belt in ADC counts should not
    pass."""
    finite = np.isfinite(values)
    v = values[finite]
    if v.size < MIN_BEATS:
        return None
    lo, hi = float(v.min()), float(v.max())
    if lo < RR_LOOK_MS[0] or hi > RR_LOOK_MS[1]:
        return None
    if time is None:
        whole = bool(np.all(v == np.round(v)))
        return (lo, hi) if whole and _turns_like_beats(v, rate_hz) else None
    steps = np.diff(time[finite]) * 1000.0
    typical = float(np.median(v))
    for rr in (v[1:], v[:-1]):  # timed at the beat that ends the interval, or at the one that starts it
        if float(np.median(np.abs(steps - rr))) < 0.1 * typical:
            return lo, hi
    return None


def beat_name_unit(column: str) -> str | None:
    """For a heart-beat interval's name ("RR", "RRI [ms]", "IBI (s)", "RR interval"): "ms", "s" or "" (no
    unit); None for any other name."""
    match = _BEAT_RE.fullmatch(column.strip())
    if match is None:
        return None
    unit = (match.group("unit") or "").strip(" _()[]").lower()
    return unit


#: A unit at the end of a name: "X [mg]", "Pressure (hPa)".
_UNIT_RE = re.compile(r"[(\[]\s*([^()\[\]]*?)\s*[)\]]\s*$")


def beat_column(
    columns: Mapping[str, FloatArray], time: FloatArray | None = None, rate_hz: float | None = None
) -> tuple[str, str, float, float] | None:
    """The first column that looks like RR intervals though it is not ``rr_ms``: named as heart-beat
    intervals ("RR", "IBI (s)") with values of their range in milliseconds or seconds, or under a name that
    says no other unit, with values that look like RR intervals in ms (:func:`rr_ms_range` on the rows'
    ``time``, None for a file without a time column, and the file's ``rate_hz`` when one is given). (column,
    "milliseconds" or "seconds", lowest, highest), or None."""
    for col, values in columns.items():
        if _known_name(col) is not None:
            continue
        unit = beat_name_unit(col)
        if unit is not None:
            v = values[np.isfinite(values)]
            if v.size < 2:
                continue
            lo, hi = float(v.min()), float(v.max())
            if unit != "s" and RR_LOOK_MS[0] <= lo and hi <= RR_LOOK_MS[1]:
                return col, "milliseconds", lo, hi
            if unit != "ms" and RR_LOOK_MS[0] / 1000 <= lo and hi <= RR_LOOK_MS[1] / 1000:
                return col, "seconds", lo, hi
            continue
        said = _UNIT_RE.search(col)
        if said is not None and said.group(1).lower() not in ("", "ms"):
            continue  # "Z [mg]", "Pressure (hPa)": its name says what it is
        found = rr_ms_range(values, time, rate_hz)
        if found is not None:
            return col, "milliseconds", *found
    return None


def beat_column_advice(found: tuple[str, str, float, float]) -> str:
    """What to say of a column :func:`beat_column` found."""
    col, unit, lo, hi = found
    what = f"column {_quote(col)} looks like RR intervals in {unit} ({lo:.4g} to {hi:.4g})"
    if unit == "seconds":
        return f"{what}: if it is, multiply its values by 1000 and name the column 'rr_ms'"
    return f"{what}: if it is, name the column 'rr_ms'"


#: An accelerometer's axis under another name with a unit of acceleration: "X [mg]" (the Polar Sensor Logger
#: app's ACC file: "Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]", as public readers of its files
#: parse it), "acc x (mg)", "AccY_mg".
_AXIS_RE = re.compile(
    r"(?:acc(?:el(?:eration|erometer)?)?[\s_-]*)?([xyz])\s*(?:\(\s*mg\s*\)|\[\s*mg\s*\]|_mg)", re.I
)


def acc_names(names: Sequence[str]) -> list[str]:
    """The columns that look like a three-axis accelerometer in milli-g under other names (x, y, z order), or
    [] unless all three are there."""
    axes: dict[str, str] = {}
    for col in names:
        match = _AXIS_RE.fullmatch(col.strip())
        if match is not None and _known_name(col) is None:
            axes.setdefault(match.group(1).lower(), col)
    return [axes[a] for a in "xyz"] if len(axes) == 3 else []


def acc_advice(names: Sequence[str]) -> str:
    """What to say of the columns :func:`acc_names` found ("" without them)."""
    found = acc_names(names)
    if not found:
        return ""
    return (
        f"columns {', '.join(_quote(c) for c in found)} look like an accelerometer in milli-g: if it is on the "
        f"chest, name them {', '.join(ACC_COLUMNS)}"
    )


#: Words that say a column is a time in seconds without "time" first: "seconds", "Elapsed (s)", "elapsed_s".
_SECONDS_WORDS = {"seconds", "sec", "secs", "elapsed"}


def time_candidate(column: str) -> bool:
    """A name a time column may have, for a message's hint (never read as the time for it): one that looks
    like a time (:func:`_looks_like_time`: "timestamp", "Time (min)"), holds the word "time" or "timestamp"
    ("Phone timestamp", "sensor timestamp [ns]"), or says seconds ("seconds", "sec", "elapsed_s",
    "Elapsed (s)")."""
    if _looks_like_time(column):
        return True
    words = [w for w in re.split(r"[^a-z]+", column.lower()) if w]
    if any(w in ("time", "timestamp") or w in _SECONDS_WORDS for w in words):
        return True
    return len(words) >= 2 and bool(re.search(r"(?:\(\s*s\s*\)|\[\s*s\s*\])\s*$", column))
