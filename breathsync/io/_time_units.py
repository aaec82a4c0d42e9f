"""Whether a recording's time column is in seconds (part of :mod:`breathsync.io.csvfile`, which re-exports
the public names).

Its scale (:func:`check_time_scale`: within +-1e11 s, a span of at most 48 h, rows a median of at most 5 s
apart) and, beyond the scale, the other units it may be in (:func:`_check_time_unit`): milliseconds (a
declared or given rate 1000 x the time column's; a breathing waveform on a clock's grid far too slow for
breathing, :func:`_grid_millis`, judged without mains hum, :func:`_mains_free_change_acf`; heart beats 1000 x
their RR intervals apart) or minutes (:data:`FAST_SWING_HZ`). Imports :mod:`breathsync.io._recording` only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from breathsync.errors import RecordingError
from breathsync.io._recording import _TIME_UNITS, RATE_OPTIONS, FloatArray, Recording

MAX_ABS_TIME_S = 1e11  # about 3000 years of Unix time: larger values are not seconds
MAX_SPAN_S = 48 * 3600.0  # the longest recording accepted (overnight studies fit well)
MAX_MEDIAN_STEP_S = 5.0  # beats are < 2 s apart, breathing samples < 0.5 s: slower rows are not seconds

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
