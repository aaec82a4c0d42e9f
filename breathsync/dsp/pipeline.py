"""The live (causal) respiration pipeline: one participant's breathing signal in, phase, breaths and rate out.

Fed timestamped chunks of a breathing waveform (belt force, volume, an RR- or accelerometer-derived
waveform; any rate, irregular timestamps allowed), :class:`RespPipeline` gives for every sample of a
uniform 20 Hz grid:

- the cleaned waveform (causal band-pass),
- the instantaneous breathing phase (0 = inhale onset, pi = end of inhale; NaN when unknown),
- the breathing rate in breaths/min,
- a :class:`Quality` code,

plus the breath events (inhale onsets) with the time at which each was confirmed. Only past samples are
used and the output does not depend on how the input is cut into chunks.

How the phase is estimated: from the signal's position and velocity (its phase portrait). A copy of the
waveform is high-passed, so its zero is the local mean (cutoff ``phase_highpass_rel`` x the breathing
frequency, at least ``highpass_hz``: about the mean of the last breath), and low-passed by a first-order
filter at ``phase_lowpass_rel`` x the breathing frequency. With ``p`` that signal and ``v`` its rate of
change divided by the breathing angular frequency, the phase is the angle of ``(-p, v)``: 0 at a trough,
pi/2 half-way up, pi at a peak. For a sine this is exactly its phase; for real breathing the velocity
plays the role of the Hilbert quadrature of the offline reference, without its look-ahead or its delay.
A first-order low-pass delays the signal least for the noise it removes (steeper filters and all-pass
Hilbert pairs were measured worse: their delay varies more with frequency); the filters' phase lag at the
breathing frequency is added back, so the phase is not late. The breathing frequency is that of the
recent breath intervals.

Breaths, amplitude and state come from a turning-point tracker on a second copy of the signal (fixed
high-pass, 2nd-order low-pass). A turning point is confirmed when the signal crosses the midline (by a
small band) after it; a shallow breath after a deep one is a breath as soon as it crosses the mean, and
wiggles that do not cross it are not breaths. A fallback confirms a turn that retraces ``hysteresis`` x
the breath amplitude within a breath interval without crossing (a baseline moving faster than the
high-pass follows). The inhale onset is where the rise out of the trough begins: the first moment the
rise got faster than ``knee`` x its fastest (as breath detection on airflow uses a fraction of the peak
flow), less the asin(knee) radians a rounded, sine-like trough takes to get there: the bottom of a rounded
trough, the end of a flat end-expiratory pause (not its lowest wiggle, nor a wobble in it that falls back).
Speeds and levels are read with the tracker high-pass's creep added back, and the onset moved back by the
low-pass's delay alone: at slow rates the high-pass's creep is larger than the knee.

Faults: a grid value far outside anything breathing does (:data:`OUTLIER_RANGE`: about 30 breath
amplitudes from the midline) is replaced by the value before it and counted (``rejected_samples``); one
corrupt sample from a device used to blank the phase for seconds or for good. Values that stay out of range
for over :data:`OUTLIER_HOLD_S` are no fault: at a steady new level the pipeline starts over, and breathing
that begins after a flat stretch is passed on.

Clipping: a belt strapped too tight, or an amplifier at its rail, holds exactly its largest (smallest) value
at the top (bottom) of every breath. That is not the frozen value of a sensor off (FLAT after ``flat_s``):
a value the signal has been held at before and comes back to, without ever going past it, is a limit of the
sensor, and the breathing is tracked through the runs held there (their samples flagged in
``PipelineOutput.clipped``, their quality unchanged), up to ``clip_flat_s`` (15 s) each
(:meth:`RespPipeline._track`). Three real belts clipped at their 90th to 70th percentile from above, or at
their 20th from below: live onset F1 0.85-1.00 at +-0.5 s against the unclipped belt's
(tests/dsp/test_clipping.py); what is lost is mostly breaths held at the limit whole, where the baseline
drifts past it.

Gaps: no valid sample for more than ``gap_s`` (NaN, or no samples at all) is a gap, and the phase is
unknown in it. After it the filters are set up again, and the tracker either starts over (warm-up, then a
trough and a peak: about 8-10 s without a phase) or resumes, when the gap lasted at most ``resume_gap_s``
(10 s), the breathing was tracked where it began (state OK: not warming up, no breath hold, no frozen
sensor) and the signal comes back within one breath amplitude of the midline it left. A resumed run keeps
the breathing rhythm, the amplitude and the midline; nothing spans the gap (no breath interval, swing or
velocity, no breath dated inside it; the seconds without a turn count only what was seen, so a link that
keeps dropping out still reaches "no breathing"); the phase is back after one time constant of the phase
copy's low-pass (0.42 s at 15/min). A Bluetooth belt's dropout is such a gap. On the real belts, 3- and
8-s dropouts every 37 s (benchmarks/bench_accuracy.py): a phase for 96-97% of the 15 s after each instead
of 32-43%, at 20.3-34.6 deg against 24.1-40.0 deg for what a fresh start gives later. Derived waveforms
resume the same way, under the same checks: a heart-rate strap's beats after a dropout (the RR converter
starts its band-pass over at zero, the waveform's midline), and a chest accelerometer after a posture change
(about 3 s without output while gravity is re-estimated; the breathing comes back near the level it left,
and where it does not, the run starts over). benchmarks/bench_derived.py, section d, measures both.
"""

from __future__ import annotations

import cmath
import math
from collections import deque
from dataclasses import dataclass, field, replace
from enum import IntEnum

import numpy as np
from scipy import signal

from breathsync.dsp import _sos
from breathsync.dsp._types import FloatArray
from breathsync.dsp.resample import GridResampler

TWO_PI = 2.0 * math.pi
RESUME_RANGE = 1.0
"""A run resumes (``PipelineConfig.resume_gap_s``) only when its first value is within this x the breath
amplitude of the midline the previous run left: a belt back from a dropout is, one re-fastened is not."""
RESUME_HOLD_TC = 1.0
"""After a resumed gap the phase is held back (WARMUP) for this many time constants of the phase copy's
low-pass (0.42 s at 15/min): it starts settled on the first sample, without the slope the phase reads.
Simulated breathing at 6, 12 and 20/min, 3-s gaps at 40 places in the cycle: the first 0.5 s after a gap
read 34, 21 and 20 deg off without the hold; after one time constant, 8-11, 7-8 and 5-6 deg, close to the
gapless run's at 12/min and faster; at 4-6/min the first second after the hold is still about twice the
gapless run's error (12 against 6 deg), then 7. A gap that begins during the hold is resumed too."""

OUTLIER_RANGE = 100.0
"""A grid value further than this x the signal's running mean absolute deviation from its running mean is
not breathing but a fault (one corrupt sample, a byte error from a device): it is replaced by the value
before it. For a sine the mean absolute deviation is 0.32 x its peak-to-trough amplitude, so this is
about 30 breath amplitudes from the midline: a sigh passes (the Systole recording's deepest breaths and
movement artefacts, up to its amplifier's rail, reach 12-20 x, and 20 x replaced 53 of its values, so
20 was too tight), and the faults that hurt are far beyond it: a single sample at 600 x the breath
amplitude left the tracker without a phase for 7.5 s, one at 20 000 x for good (its swing held the
amplitude's floor high, so normal breaths never crossed the midline again); one at 60 x cost nothing."""
OUTLIER_HOLD_S = 1.0
"""Values out of range for longer than this are not a fault: a steady new level (a belt re-fastened, a
sensor's range switched) starts the pipeline over there; breathing that begins after a flat stretch is
passed on (:meth:`RespPipeline._guard`)."""
OUTLIER_WARM_S = 6.0
"""Seconds of signal the running mean and deviation need before values are judged (the warm-up)."""
OUTLIER_TAU_S = (10.0, 20.0)
"""Time constants (s) of the running mean and of the running mean absolute deviation."""
STALL_SWING = 0.1
"""In a stretch without breathing (state NO_BREATHING), a turning point is only confirmed after a move of
this x the breath amplitude before it (``_amp_long`` when the stretch began), on the signal with the
tracker high-pass's creep added back, within one breath interval: the clinical definition of an apnoea
(the excursion drops by 90% or more, AASM; the offline ``low_amp_frac``) turned around, a breath of 10% of
the usual or more ends it. Without it the tracker's amplitude, let decay to a tenth of its long-run value
so that shallow breathing is followed, put its midline band and fallback turn at the level of belt noise
(a cardiac wiggle) after about 25 s without breathing: noise turns brought the phase and the rate back in
the middle of 30-40-s breath holds, and an onset was dated up to 19 s back inside the hold. The move is
read with the high-pass's creep added back because the high-pass turns a held level into a slow ramp
towards its midline (half a breath in the first 8 s of a hold at full inhale)."""
CLIP_MIN_S = 0.1
"""A constant run of at least this long (3 grid values at 20 Hz) that the signal rose (fell) into marks
its value as a possible upper (lower) limit of the sensor (:meth:`RespPipeline._track`). Breathing sampled
and averaged onto the grid practically never repeats a value to the bit (a bin only partly clipped reads
below the limit); a sensor held at its limit does."""
CLIP_MEMORY_S = 30.0
"""... for this long after the signal was last held there: a run at that value again is the sensor's limit
(clipping), and ``PipelineConfig.clip_flat_s`` rather than ``flat_s`` makes it FLAT. A value the signal
went past is no limit."""


class Quality(IntEnum):
    """Signal state of one grid sample; the phase is only given when ``OK``."""

    OK = 0
    WARMUP = 1  # not enough signal yet to know the breath amplitude and levels
    GAP = 2  # no samples (or NaN) for longer than the gap limit
    FLAT = 3  # the raw signal does not change at all: sensor off or disconnected
    NO_BREATHING = 4  # a signal, but no breath turning point for too long (breath hold, belt slipped)


@dataclass(frozen=True)
class BreathEvent:
    """An inhale onset at ``onset_s``, confirmed by the live tracker at ``detected_s`` (host seconds)."""

    onset_s: float
    detected_s: float


@dataclass(frozen=True)
class PipelineConfig:
    """Settings of the live pipeline (the defaults suit belts, RR- and accelerometer-derived waveforms)."""

    fs_hz: float = 20.0  # internal grid rate
    lowpass_hz: float = 1.0  # 2nd-order Butterworth low-pass (breathing up to 40/min lies below 0.7 Hz)
    lowpass_order: int = 2
    highpass_hz: float = 0.02  # 1st-order high-pass against baseline drift (> 0: its zero is the midline)
    gap_s: float = 2.0  # no valid sample for longer than this: a gap (then resume or start over)
    warmup_s: float = 6.0  # signal needed before the breath amplitude is first estimated
    midline_band: float = 0.05  # a turn is confirmed when the signal crosses the midline by this x amplitude
    hysteresis: float = 0.6  # ... or (baseline moving) when it moved back this x amplitude without crossing
    # Breath intervals outside [min, max] are not used for the rate, but a shorter one is when the recent
    # breaths are that fast too (RespPipeline._interval_ok: fast breathing, not a breath split in two).
    min_interval_s: float = 1.5
    max_interval_s: float = 30.0
    flat_s: float = 2.0  # raw signal exactly constant this long: FLAT
    clip_flat_s: float = (
        15.0  # ... but held at a limit of the sensor (clipped; RespPipeline._track): this long
    )
    no_breath_s: float = 10.0  # no turning point for max(this, 1.5 x breath interval): NO_BREATHING
    invert: bool = False  # the belt is worn so that inhaling makes the signal fall
    rate_window_s: float = 40.0  # the rate is 60 / the mean interval of the breaths of the last 40 s ...
    rate_min_n: int = 3  # ... and of at least this many (slow breathing)
    phase_lowpass_rel: float = 1.5  # 1st-order low-pass of the phase copy, at this x breathing frequency
    phase_highpass_rel: float = 0.125  # its high-pass: this x breathing frequency, at least highpass_hz
    resume_gap_s: float = 10.0  # after a gap up to this long, resume the breathing known before it (0: never)
    knee: float = 0.1  # the inhale starts where the rise first exceeds this x its fastest (see _inhale_start)
    pause_bump: float = 0.06  # a bump in a pause this x the breath amplitude high ends the search back ...
    pause_bump_before: float = 0.25  # ... when it is more than this x the breath interval before the inhale
    wobble_back: float = 0.03  # a rise that falls back to within this x amplitude of its start is no inhale


@dataclass
class PipelineOutput:
    """Output of one :meth:`RespPipeline.process` call (or several, joined with :meth:`concat`)."""

    t: FloatArray
    clean: FloatArray
    phase: FloatArray
    rate_bpm: FloatArray
    quality: np.ndarray
    breaths: list[BreathEvent] = field(default_factory=list)
    #: The input on the grid before any filtering (polarity applied; NaN where missing): what a partner's
    #: pipeline should be fed, so that it filters once, not twice.
    raw: FloatArray = field(default_factory=lambda: np.empty(0))
    #: True where the raw value is held at a limit of the sensor (clipped: a belt too tight, a gain too high).
    #: Not a quality of its own: a clipped sample keeps its code (OK when the breathing is tracked through it).
    clipped: np.ndarray = field(default_factory=lambda: np.empty(0, bool))

    @staticmethod
    def concat(parts: list[PipelineOutput]) -> PipelineOutput:
        """Join consecutive outputs into one."""
        if not parts:
            return _empty_output()
        return PipelineOutput(
            np.concatenate([p.t for p in parts]),
            np.concatenate([p.clean for p in parts]),
            np.concatenate([p.phase for p in parts]),
            np.concatenate([p.rate_bpm for p in parts]),
            np.concatenate([p.quality for p in parts]),
            [b for p in parts for b in p.breaths],
            np.concatenate([p.raw for p in parts]),
            np.concatenate([p.clipped for p in parts]),
        )


def _empty_output() -> PipelineOutput:
    e = np.empty(0)
    return PipelineOutput(
        e, e.copy(), e.copy(), e.copy(), np.empty(0, np.int8), [], e.copy(), np.empty(0, bool)
    )


class _FilterLag:
    """Phase lag (radians) of a causal SOS filter as a function of frequency, for delay compensation."""

    def __init__(self, sos: np.ndarray, fs_hz: float) -> None:
        self.freqs = np.linspace(0.02, 1.5, 300)
        _, h = signal.sosfreqz(sos, worN=self.freqs, fs=fs_hz)
        self.lag_rad = -np.unwrap(np.angle(h))

    def lag(self, f_hz: float) -> float:
        return float(np.interp(f_hz, self.freqs, self.lag_rad))


class RespPipeline:
    """Live breathing pipeline for one participant (see the module docstring).

    Parameters
    ----------
    config
        A :class:`PipelineConfig`; keyword arguments override single fields,
        e.g. ``RespPipeline(invert=True)``.
    """

    def __init__(self, config: PipelineConfig | None = None, **overrides: float | bool | int) -> None:
        cfg = config or PipelineConfig()
        if overrides:
            cfg = replace(cfg, **overrides)  # type: ignore[arg-type]
        self.config = cfg
        fs = cfg.fs_hz
        if not cfg.highpass_hz > 0:
            raise ValueError("highpass_hz must be positive: the phase is read around the local mean")
        low = signal.butter(cfg.lowpass_order, cfg.lowpass_hz, "low", fs=fs, output="sos")
        high = signal.butter(1, cfg.highpass_hz, "high", fs=fs, output="sos")
        self._sos = np.vstack((high, low))
        self._zi_unit = signal.sosfilt_zi(self._sos)
        self._zi_lp_unit = signal.sosfilt_zi(low)
        # The onsets are timed on the tracker signal with its high-pass's creep added back (_knee_start): of
        # its filters only the low-pass delays them.
        self._lag = _FilterLag(low, fs)
        # The phase copy's first-order high- and low-pass follow the breathing frequency (see _track).
        self._pmean = 0.0  # state of the phase copy's high-pass: its running mean
        self._plp = 0.0  # state of its low-pass
        self._resampler = GridResampler(fs, cfg.gap_s)
        self._at_f = (math.nan, math.nan, math.nan)  # the last frequency asked for: (f, lag, _portrait_comp)
        self._zi: np.ndarray | None = None
        self._prev_p = math.nan  # the phase signal's last grid value (NaN in a gap), for its derivative
        self._last_valid_t = math.nan  # the time of the last valid grid sample (the start of a gap)
        self._resume = False  # the current run resumed the breathing of the one before (see _resume_at)
        self._tracked = False  # the breathing was tracked at the last valid sample (where a gap begins)
        self.inverted_suspected = False
        self.inverted_changed_t = math.nan  # the time (of the samples) inverted_suspected last changed
        # The fault guard (_guard): running mean and mean absolute deviation of the grid values, how many
        # values they have seen, the value before, and how long values have been out of range.
        self._g_mean = math.nan
        self._g_dev = 0.0
        self._g_n = 0
        self._g_last = math.nan
        self._g_out_since = math.nan
        self._g_out = (0, 0.0, 0.0)
        self._rejected = 0
        # Limits of the sensor (see _track): the value of the last constant run the signal rose into and of
        # the last one it fell into, each as the edges of the constant-run tolerance around it (+-inf: none)
        # and the last time the signal was held there; the value before the current run; which limit the
        # current run is held at (+1, -1; 0 none); how many grid samples were held at one. Kept over gaps: the
        # limit is the sensor's, not the breathing's.
        self._rail_hi = (math.inf, math.inf, -math.inf)
        self._rail_lo = (-math.inf, -math.inf, -math.inf)
        self._before_run = math.nan
        self._clip_side = 0
        self._clipped_n = 0
        self._reset_segment()

    # ----------------------------------------------------------------------------------------------
    @property
    def rate_bpm(self) -> float:
        """The latest breathing rate (breaths/min), NaN when unknown."""
        return self._rate_out

    @property
    def dropped_samples(self) -> int:
        """Samples dropped because their time did not increase."""
        return self._resampler.dropped

    @property
    def rejected_samples(self) -> int:
        """Grid values replaced because they were out of range (:data:`OUTLIER_RANGE`)."""
        return self._rejected

    @property
    def clipped_samples(self) -> int:
        """Grid samples held at a limit of the sensor so far (``PipelineOutput.clipped``)."""
        return self._clipped_n

    def _guard(self, t: FloatArray, y: FloatArray, valid: np.ndarray, restart: np.ndarray) -> None:
        """Replace out-of-range grid values (faults) by the value before them, in place. Values out of range
        for over :data:`OUTLIER_HOLD_S` are not a fault: a steady new level (their own spread under a tenth
        of the jump: a belt re-fastened, a range switched) starts the pipeline over there (``restart``
        set); anything else (breathing that begins after a flat or near-silent stretch, whose deviation
        left nothing to judge by) is passed on. Either way the statistics start again from there.

        Judged against a running mean and mean absolute deviation of the values (time constants
        :data:`OUTLIER_TAU_S`, from :data:`OUTLIER_WARM_S` of signal on), which replaced values do not
        update. Sequential over the grid, so the result does not depend on the chunking. A gap keeps the
        statistics (a resumed belt is the same signal)."""
        dt = 1.0 / self.config.fs_hz
        a_mean = 1.0 - math.exp(-dt / OUTLIER_TAU_S[0])
        a_dev = 1.0 - math.exp(-dt / OUTLIER_TAU_S[1])
        warm = round(OUTLIER_WARM_S * self.config.fs_hz)
        mean, dev, n, last, out_since = self._g_mean, self._g_dev, self._g_n, self._g_last, self._g_out_since
        o_n, o_s, o_ss = self._g_out  # the out-of-range run so far: count, sum, sum of squares
        tl = t.tolist()
        yl = y.tolist()
        vl = valid.tolist()
        for i in range(len(yl)):
            if not vl[i]:
                continue
            x = yl[i]
            if n == 0:
                mean, dev, n, last, out_since = x, 0.0, 1, x, math.nan
                continue
            d = x - mean
            if n >= warm and abs(d) > OUTLIER_RANGE * dev:
                if out_since != out_since:  # NaN: the first value out of range
                    out_since = tl[i]
                    o_n, o_s, o_ss = 0, 0.0, 0.0
                if tl[i] - out_since <= OUTLIER_HOLD_S:
                    y[i] = last
                    self._rejected += 1
                    o_n, o_s, o_ss = o_n + 1, o_s + x, o_ss + x * x
                    continue
                o_mean = o_s / o_n
                spread = math.sqrt(max(o_ss / o_n - o_mean * o_mean, 0.0))
                if abs(o_mean - mean) > 10.0 * spread:
                    restart[i] = True  # a steady new level: start over
                mean, dev, n, last, out_since = x, 0.0, 1, x, math.nan
                continue
            out_since = math.nan
            n += 1
            # Running averages over everything seen until they reach their time constants, then
            # exponential: no start-up bias towards the first value or towards zero deviation.
            mean += max(a_mean, 1.0 / n) * d
            dev += max(a_dev, 1.0 / n) * (abs(d) - dev)
            last = x
        self._g_mean, self._g_dev, self._g_n, self._g_last, self._g_out_since = mean, dev, n, last, out_since
        self._g_out = (o_n, o_s, o_ss)

    def _resume_at(self, t0: float, x0: float) -> float | None:
        """Whether the run starting at ``t0`` with the value ``x0`` resumes the breathing tracked before
        the gap rather than starting over: the gap lasted at most ``resume_gap_s``, the breathing was
        tracked (state OK) where it began, and ``x0`` is within ``RESUME_RANGE`` x the breath amplitude of
        the midline it left. Returns the high-pass's output for ``x0`` if so, None to start over."""
        cfg = self.config
        if cfg.resume_gap_s <= 0.0 or self._zi is None or not self._tracked:
            return None  # nothing to resume: warming up, no breathing, or a frozen sensor
        if not t0 - self._last_valid_t <= cfg.resume_gap_s:
            return None
        hp0 = float(self._sos[0, 0] * x0 + self._zi[0, 0])  # the high-pass (its state kept) fed x0
        return hp0 if abs(hp0) <= RESUME_RANGE * self._amp else None

    def _resume_segment(self, t: float, y: float) -> None:
        """After a short gap: keep the rhythm, the amplitude and the levels, look for the next turn on
        the side of the midline the signal is on (as after the warm-up). Nothing spans the gap: no breath
        interval, no rise, no swing between a turn before it and one after it, no breath dated in it.
        The time since the last turn counts the seconds observed, not the gap's: a link that keeps dropping
        out still reaches "no breathing" when the breathing stops. No phase for ``RESUME_HOLD_TC`` time
        constants of the phase copy's low-pass, which starts without a slope."""
        self._direction = 1 if y >= 0.0 else -1
        self._ext, self._ext_t = y, t
        self._rise.clear()
        self._fall.clear()
        self._prev_y = math.nan
        self._last_turn_t += t - self._last_valid_t
        self._last_onset = math.nan
        self._hold_until = t + RESUME_HOLD_TC / (TWO_PI * self.config.phase_lowpass_rel * self._freq())
        self._prev_raw = math.nan
        self._flat_run = 0
        self._no_swing = True
        self._reset_window()

    def _reset_segment(self) -> None:
        """Forget the tracked breathing (start of a recording, or after a gap); the filter state is
        re-initialised by :meth:`process` at the same sample."""
        self._seg_t0 = math.nan
        self._hold_until = -math.inf  # after a resumed gap: no phase until the phase copy has settled
        self._wmin = math.inf
        self._wmax = -math.inf
        self._direction = 0  # +1 rising, -1 falling, 0 warming up
        self._ext = 0.0
        self._ext_t = 0.0
        self._rise: deque[tuple[float, float, float]] = deque(maxlen=round(30 * self.config.fs_hz))
        # The fall out of the latest peak, mirrored (t, -dy, -y): where the exhale began (_exhale_start).
        self._fall: deque[tuple[float, float, float]] = deque(maxlen=round(30 * self.config.fs_hz))
        self._prev_y = math.nan
        self._amp = math.nan
        self._amp_long = math.nan
        self._swings: deque[float] = deque(maxlen=3)
        self._trough = math.nan
        self._trough_t = math.nan
        self._peak = math.nan
        self._peak_t = math.nan
        self._exhale_t = math.nan  # where the fall out of the latest peak began
        self._have_trough = False
        self._have_peak = False
        self._last_turn_t: float = math.nan
        self._last_onset = math.nan
        self._intervals: deque[float] = deque(maxlen=32)
        self._recent_iv: deque[float] = deque(maxlen=5)  # the last onset-to-onset times, used or not
        self._mean_iv = 0.0  # mean of the last 4 intervals (kept up to date: asked for at every sample)
        self._iv_typ = 0.0
        self._rise_fracs: deque[float] = deque(maxlen=16)
        self._prev_raw = math.nan
        self._flat_run = 0
        self._rate_out = math.nan
        self._confirm_delay = 0.0  # running mean of (confirmed - onset), seconds
        self._no_swing = False  # the next turn is the first after a resumed gap: no swing to measure
        self._nob_since_onset = False  # a no-breathing (or flat) stretch since the last onset
        self._reset_stall()
        self._reset_window()

    def _reset_stall(self) -> None:
        """Leave (or do not begin) a stretch without breathing (see :data:`STALL_SWING`)."""
        self._stall = False
        self._stall_swing = 0.0  # the move that ends it: STALL_SWING x the breath amplitude before it
        self._stall_moving = False  # it kept moving the way it went, by a breath-sized move: slow breathing

    def _reset_window(self) -> None:
        """Forget the levels of the last breath interval (a new run, or one resumed after a gap)."""
        self._creep = 0.0  # the tracker high-pass's creep added up
        self._stall_lvl = 0.0  # the latest creep-corrected level
        # The creep-corrected levels of the last breath interval (1 / the breathing frequency), (t, level,
        # tracker value), as monotonic queues: the lowest one first in _stall_lo, the highest first in
        # _stall_hi.
        self._stall_lo: deque[tuple[float, float, float]] = deque()
        self._stall_hi: deque[tuple[float, float, float]] = deque()

    # ----------------------------------------------------------------------------------------------
    def process(self, t: FloatArray, y: FloatArray) -> PipelineOutput:
        """Feed a chunk (``t`` in seconds, ``y`` the breathing waveform, NaN = missing).

        Returns the grid samples that became available, and the breaths confirmed in them.
        """
        y = np.asarray(y, dtype=float)
        if self.config.invert:
            y = -y
        chunk = self._resampler.process(np.asarray(t, dtype=float), y)
        n = chunk.t.size
        if n == 0:
            return _empty_output()
        self._guard(chunk.t, chunk.y, chunk.valid, chunk.restart)
        # One block for the outputs and what _track fills in (an array call costs more than a small
        # array): the cleaned waveform, the phase copy, the breathing frequency (Hz), the phase's
        # compensation at that frequency (see _portrait_comp), the rate.
        clean, pclean, freq, pcomp, rate = np.full((5, n), np.nan)
        quality = np.empty(n, np.int8)
        clipped = np.zeros(n, bool)
        breaths: list[BreathEvent] = []
        # Filter and track each run between restarts in turn (a restart decides from the tracker's state
        # where the previous run left it whether it starts over or resumes; see _resume_at).
        valid = chunk.valid
        bounds = [0, *np.flatnonzero(chunk.restart).tolist(), n] if chunk.restart.any() else [0, n]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            if b <= a:
                continue
            seg_valid = valid[a:b]
            if seg_valid.any():
                va = a + int(np.argmax(seg_valid))
                if chunk.restart[va] or self._zi is None:
                    hp0 = self._resume_at(float(chunk.t[va]), float(chunk.y[va]))
                    self._resume = hp0 is not None
                    if hp0 is not None and self._zi is not None:
                        # Keep the high-pass (the midline); the low-pass starts settled on its output.
                        zi = self._zi.copy()
                        zi[1:] = self._zi_lp_unit * hp0
                        self._zi = zi
                    else:
                        self._zi = self._zi_unit * chunk.y[va]
                # A run's invalid samples (a gap) are at its end, before the next restart: leave them out,
                # so that the filter state is the one a resumed run continues from.
                vb = b - int(np.argmax(seg_valid[::-1]))
                clean[va:vb], self._zi = _sos.sosfilt(self._sos, chunk.y[va:vb], self._zi)
            sl = slice(a, b)
            breaths += self._track(
                chunk.t[sl],
                chunk.y[sl],
                clean[sl],
                valid[sl],
                chunk.restart[sl],
                (pclean[sl], freq[sl], pcomp[sl], rate[sl], quality[sl], clipped[sl]),
            )
        phase = self._portrait_phase(pclean, freq, pcomp, chunk.restart)
        raw = np.where(valid, chunk.y, np.nan)
        self._clipped_n += int(np.count_nonzero(clipped))
        return PipelineOutput(chunk.t, clean, phase, rate, quality, breaths, raw, clipped)

    def _portrait_phase(
        self, p: FloatArray, freq: FloatArray, comp: FloatArray, restart: np.ndarray
    ) -> FloatArray:
        """Phase from position and velocity of the phase signal ``p``, where ``freq`` (the breathing
        frequency, Hz) is given: NaN elsewhere (the tracker gives no frequency unless the state is OK).
        ``comp``: :meth:`_portrait_comp` at ``freq``."""
        fs = self.config.fs_hz
        prev = np.empty_like(p)
        prev[0] = self._prev_p
        prev[1:] = p[:-1]
        if restart.any():
            prev[restart] = np.nan  # a new segment: no velocity across the gap
        self._prev_p = float(p[-1])
        v = (p - prev) * fs / (TWO_PI * freq)
        with np.errstate(invalid="ignore"):
            return np.mod(np.arctan2(v, -0.5 * (p + prev)) + comp, TWO_PI)

    def _portrait_comp(self, f: float) -> float:
        """What the portrait phase adds at the breathing frequency ``f`` (Hz). The tracker computes it when
        the frequency changes (a breath), not at every sample.

        The velocity is a backward difference: it belongs half a sample back, and so does the mean of the
        two positions it is paired with (the position now with it read the phase 0.8-1.8 deg early at
        10-24/min). Compensated: the filters' lag at the breathing frequency, plus that half sample. A
        running mean m += a (x - m) with a = 1 - b, b = exp(-2 pi fc / fs), is the low-pass
        L(z) = a / (1 - b / z); the high-pass is 1 - L(z) (a lead: negative lag)."""
        cfg = self.config
        fs = cfg.fs_hz
        w = TWO_PI * f / fs
        z = cmath.exp(1j * w)
        b_lp = math.exp(-w * cfg.phase_lowpass_rel)
        b_hp = math.exp(-max(w * cfg.phase_highpass_rel, TWO_PI * cfg.highpass_hz / fs))
        h = (1.0 - b_lp) / (1.0 - b_lp / z) * (1.0 - (1.0 - b_hp) / (1.0 - b_hp / z))
        return -cmath.phase(h) + 0.5 * w

    # ----------------------------------------------------------------------------------------------
    def _track(
        self,
        ts: FloatArray,
        raw: FloatArray,
        clean: FloatArray,
        valid: np.ndarray,
        restart: np.ndarray,
        out: tuple[FloatArray, FloatArray, FloatArray, FloatArray, np.ndarray, np.ndarray],
    ) -> list[BreathEvent]:
        """Track turning points; returns the breaths. Fills the arrays of ``out``, (the phase copy, the
        breathing frequency in Hz, the portrait phase's compensation at it, the rate, the quality codes,
        the clipped flags), which arrive NaN but for the codes and flags (all False): the phase copy of
        ``raw`` (its high-pass, a running mean taken off, and its low-pass follow the breathing frequency),
        the frequency, compensation and rate where the state is OK, the flags where the raw value is held at
        a limit of the sensor.

        Flat or clipped: a raw value that does not change at all for ``flat_s`` is a sensor off (FLAT),
        unless it is held at a limit of the sensor. A belt strapped too tight, or an amplifier at its rail,
        reads exactly its largest (smallest) value at the top (bottom) of every breath, for a good part of
        it; the rise and fall between carry the phase and the onsets, and the breathing is tracked through
        (a clipped run is FLAT only after ``clip_flat_s``, longer than any held top of a breath: no sensor
        stays pinned at its limit through breathing for that long). A limit is a value the signal has been
        held at before (:data:`CLIP_MIN_S`), having risen into it (fallen into it), within the last
        :data:`CLIP_MEMORY_S`, and has not gone past since: a sensor frozen at any other value, one the
        signal never reached, or constant from the start, is FLAT after ``flat_s`` as before."""
        cfg = self.config
        n = ts.size
        pclean, freq_out, comp_out, rate_out, q_out, clip_out = out
        breaths: list[BreathEvent] = []
        dt = 1.0 / cfg.fs_hz
        flat_n = round(cfg.flat_s * cfg.fs_hz)
        clip_flat_n = round(cfg.clip_flat_s * cfg.fs_hz)
        clip_min_n = max(1, round(CLIP_MIN_S * cfg.fs_hz))
        (hi_lo, hi_hi, hi_t), (lo_lo, lo_hi, lo_t) = self._rail_hi, self._rail_lo
        clip_side, before = self._clip_side, self._before_run
        amp_decay = math.exp(-dt / 5.0)
        # The tracker high-pass's creep per sample (see _knee_start).
        wc = TWO_PI * cfg.highpass_hz / cfg.fs_hz
        ok_code, warm_code, gap_code = int(Quality.OK), int(Quality.WARMUP), int(Quality.GAP)
        flat_code, nob_code = int(Quality.FLAT), int(Quality.NO_BREATHING)
        f_now, comp, hp_a, lp_a, pcomp = self._follow_rate()
        pmean, plp = self._pmean, self._plp
        tl = ts.tolist()
        rl = raw.tolist()
        cl = clean.tolist()
        vl = valid.tolist()
        rsl = restart.tolist()
        for i in range(n):
            if not vl[i]:
                q_out[i] = gap_code
                continue
            t = tl[i]
            y = cl[i]
            if rsl[i]:
                if self._resume:
                    self._resume_segment(t, y)
                    plp = rl[i] - pmean  # the phase copy keeps its midline too
                else:
                    self._reset_segment()
                    pmean, plp = rl[i], 0.0
                self._seg_t0 = t
                f_now, comp, hp_a, lp_a, pcomp = self._follow_rate()
            self._last_valid_t = t
            r = rl[i]
            pmean += hp_a * (r - pmean)
            plp += lp_a * (r - pmean - plp)
            pclean[i] = plp
            # Flat (sensor off): the raw value does not change at all; clipped: it is held at a limit of the
            # sensor (see the docstring).
            prev_r = self._prev_raw
            if abs(r - prev_r) <= 1e-9 * (1.0 + abs(r)):
                self._flat_run += 1
                if clip_side == 1:
                    hi_t = t
                elif clip_side == -1:
                    lo_t = t
                elif self._flat_run == clip_min_n:  # held long enough to be a limit if held here again
                    tol = 1e-9 * (1.0 + abs(r))  # the same value as for a constant run
                    if before < r:  # it rose into it (NaN: a run's first value, from nowhere)
                        hi_lo, hi_hi, hi_t = r - tol, r + tol, t
                    elif before > r:
                        lo_lo, lo_hi, lo_t = r - tol, r + tol, t
            else:
                self._flat_run = 0
                before = prev_r
                clip_side = 0
                # At a limit (known within the last CLIP_MEMORY_S), or past it: then it is none. No limit: the
                # edges are +-inf, and a value costs one comparison each way.
                if r >= hi_lo:
                    if r > hi_hi:
                        hi_lo = hi_hi = math.inf
                    elif t - hi_t <= CLIP_MEMORY_S:
                        clip_side, hi_t = 1, t
                if r <= lo_hi:
                    if r < lo_lo:
                        lo_lo = lo_hi = -math.inf
                    elif t - lo_t <= CLIP_MEMORY_S:
                        clip_side, lo_t = -1, t
            self._prev_raw = r
            if clip_side:
                clip_out[i] = True
                flat = self._flat_run >= clip_flat_n
            else:
                flat = self._flat_run >= flat_n
            d = self._direction
            if d == 0:
                # Warm-up: learn the signal's range before tracking turning points.
                if y < self._wmin:
                    self._wmin = y
                if y > self._wmax:
                    self._wmax = y
                if t - self._seg_t0 >= cfg.warmup_s and self._wmax > self._wmin:
                    self._amp = self._amp_long = self._wmax - self._wmin
                    # Start on the side of the midline the signal is on, looking for that side's extremum.
                    self._direction = 1 if y >= 0.0 else -1
                    self._ext, self._ext_t = y, t
                    self._rise.clear()
                    self._last_turn_t = t
                q_out[i] = flat_code if flat else warm_code
                continue
            amp = self._amp
            # Turning points: a peak is confirmed once the signal falls through the midline (the zero of the
            # high-passed signal: the local mean, as for the offline references) by more than the band, or
            # once it has fallen back by ``hysteresis`` x the breath amplitude without crossing it (a
            # baseline that moves faster than the high-pass follows) within a breath interval of the peak
            # (a breath turns on the breathing time scale; the high-pass settling after a step does not).
            # A trough likewise upwards.
            band = cfg.midline_band * amp
            # In a stretch without breathing, a turn is a breath-sized move alone (see STALL_SWING).
            self._stall_push(t, y, wc, 1.0 / f_now)
            stall = self._stall
            if d == 1:
                if y >= self._ext:
                    self._ext, self._ext_t = y, t
                    self._fall.clear()
                else:
                    back = self._ext - y
                    dy = y - self._prev_y
                    if dy == dy:
                        self._fall.append((t, -dy, -y))
                    if (
                        self._stall_moved(self._fall, wc)
                        if stall
                        else (y < -band and back >= 2.0 * band) or self._retraced(back, t - self._ext_t)
                    ):
                        if stall:
                            self._stall_end(self._fall)
                        self._confirm_peak(t)
                        d = -1
                        self._ext, self._ext_t = y, t
                        self._rise.clear()
            else:
                if y <= self._ext:
                    self._ext, self._ext_t = y, t
                    self._rise.clear()
                else:
                    back = y - self._ext
                    dy = y - self._prev_y
                    if dy == dy:  # not NaN (the first sample after the warm-up)
                        self._rise.append((t, dy, y))
                    if (
                        self._stall_moved(self._rise, wc)
                        if stall
                        else (y > band and back >= 2.0 * band) or self._retraced(back, t - self._ext_t)
                    ):
                        if stall:
                            self._stall_end(self._rise)
                        ev = self._confirm_trough(t, comp)
                        if ev is not None:
                            breaths.append(ev)
                        f_now, comp, hp_a, lp_a, pcomp = self._follow_rate()
                        d = 1
                        self._ext, self._ext_t = y, t
            self._direction = d
            self._prev_y = y
            amp = self._amp
            # A stalled tracker (breath amplitude dropped, belt loosened) lets its amplitude decay.
            since_turn = t - self._last_turn_t
            mean_iv = self._mean_interval()
            if since_turn > max(4.0, 0.75 * mean_iv):
                self._amp = max(amp * amp_decay, 0.1 * self._amp_long)
            # State.
            if flat:
                q_out[i] = flat_code
                self._nob_since_onset = True
                continue
            if not (self._have_trough and self._have_peak) or t < self._hold_until:
                q_out[i] = warm_code
                continue
            if since_turn > max(cfg.no_breath_s, 1.5 * mean_iv):
                q_out[i] = nob_code
                if not self._stall:
                    self._stall_begin()
                elif (
                    not self._stall_moving
                    and (
                        self._stall_hi[0][1] - self._stall_lvl
                        if d == -1
                        else self._stall_lvl - self._stall_lo[0][1]
                    )
                    >= self._stall_swing
                ):
                    # Still going the way it went, by a breath-sized move: a slow half breath (the rule's 10 s
                    # is half a breath at 3/min), not a hold; its interval counts, or slow breathing after
                    # faster never has its rate known, and reads "no breathing" at every breath.
                    self._stall_moving = True
                    self._nob_since_onset = False
                if not self._stall_moving:
                    self._nob_since_onset = True
                continue
            q_out[i] = ok_code
            freq_out[i] = f_now
            comp_out[i] = pcomp
            rate_out[i] = self._rate_at(t)
        self._rate_out = float(rate_out[-1]) if n else self._rate_out
        if valid.any():  # the state where this run ends: where a gap after it began (see _resume_at)
            # OK, or a resumed run waiting out its hold (warm-up with both turns known).
            q_end = int(q_out[n - 1 - int(np.argmax(valid[::-1]))])
            self._tracked = q_end == ok_code or (q_end == warm_code and self._have_trough and self._have_peak)
        self._pmean, self._plp = pmean, plp
        self._rail_hi, self._rail_lo = (hi_lo, hi_hi, hi_t), (lo_lo, lo_hi, lo_t)
        self._clip_side, self._before_run = clip_side, before
        return breaths

    # ----------------------------------------------------------------------------------------------
    def _follow_rate(self) -> tuple[float, float, float, float, float]:
        """What follows the breathing frequency ``f`` (Hz): (f, the tracker low-pass's lag at f, the
        coefficients ``a`` of the phase copy's running-mean high-pass, at phase_highpass_rel x f but at least
        highpass_hz, and low-pass, at phase_lowpass_rel x f, and the portrait phase's compensation at f)."""
        cfg = self.config
        f = self._freq()
        w = TWO_PI * f / cfg.fs_hz
        hp_a = 1.0 - math.exp(-max(w * cfg.phase_highpass_rel, TWO_PI * cfg.highpass_hz / cfg.fs_hz))
        lp_a = 1.0 - math.exp(-w * cfg.phase_lowpass_rel)
        if f != self._at_f[0]:  # asked for at every chunk; the frequency changes at a breath
            self._at_f = (f, self._lag.lag(f), self._portrait_comp(f))
        return f, self._at_f[1], hp_a, lp_a, self._at_f[2]

    def _retraced(self, back: float, since_ext_s: float) -> bool:
        """The fallback turn: the signal moved back by ``hysteresis`` x the breath amplitude (the smaller of
        the recent median and the last swing, so a drop in amplitude is followed at once) within a breath
        interval of the extremum."""
        amp = self._amp
        if self._swings and self._swings[-1] < amp:
            amp = self._swings[-1]
        if back < self.config.hysteresis * amp:
            return False
        iv = self._mean_interval()
        return iv <= 0.0 or since_ext_s <= iv

    def _stall_begin(self) -> None:
        """The state became NO_BREATHING: from now on a turn needs a breath-sized move (:data:`STALL_SWING`)
        within a breath interval."""
        self._reset_stall()
        self._stall = True
        self._stall_swing = STALL_SWING * self._amp_long

    def _stall_push(self, t: float, y: float, wc: float, w: float) -> None:
        """Add the grid sample ``(t, y)`` (the tracker signal) to the window of the last ``w`` seconds."""
        self._creep += wc * y
        lvl = y + self._creep
        lo, hi = self._stall_lo, self._stall_hi
        while lo and lo[-1][1] >= lvl:
            lo.pop()
        lo.append((t, lvl, y))
        while hi and hi[-1][1] <= lvl:
            hi.pop()
        hi.append((t, lvl, y))
        old = t - w
        while lo[0][0] < old:
            lo.popleft()
        while hi[0][0] < old:
            hi.popleft()
        self._stall_lvl = lvl

    def _stall_moved(self, moves: deque[tuple[float, float, float]], wc: float) -> bool:
        """In a stretch without breathing: whether the signal rose (``moves`` the rise) or fell (the
        mirrored fall) by a breath-sized move within the window (creep-corrected levels), and the move is
        past its fastest: the onset's knee rule needs its fastest speed (normally the midline is crossed
        later than that), and 10% of a breath is reached early in the inhale (0.6 s early, on a cardiac
        wiggle, before)."""
        if moves is self._rise:
            ext_t, ext = self._stall_lo[0][:2]
            moved = self._stall_lvl - ext
        else:
            ext_t, ext = self._stall_hi[0][:2]
            moved = ext - self._stall_lvl
        if moved < self._stall_swing or not moves:
            return False
        # The speeds of the move since the window's extremum (with the creep added back, as _knee_start).
        speeds = [dy + wc * yj for tj, dy, yj in moves if tj > ext_t]
        return len(speeds) > 1 and speeds[-1] < max(speeds)

    def _stall_end(self, moves: deque[tuple[float, float, float]]) -> None:
        """A breath-sized move ends the stretch without breathing. The move began at the window's
        extremum on its side (``moves`` is the rise or the mirrored fall): what came before it is the
        stretch, where no onset is dated. Where in the window it began is the knee rule's, with its bumps and
        wobbles measured against the breath amplitude before the stretch (the amplitude the tracker let
        decay put them at the level of the noise, and a cardiac wiggle a second early was the onset).

        The turn is then an ordinary one: its swing from the turn before the stretch is measured and the
        tracker's amplitude is the breaths' (the median of the last swings) again, not the one it let decay.
        The stretch need not be a hold: slow breathing reads "no breathing" in the middle of its half breaths
        while its interval is not yet known (10 s, half a breath at 3/min), after an end-expiratory pause, or
        once noise turns shortened the interval. With its swing left out and the decayed amplitude (a third
        to a tenth of the breath) kept after the turn, the midline band and the fallback turn were at the
        level of a cardiac wiggle or the belt's noise: they made turns of their own every 0.5-5 s, whose
        swings kept the amplitude down and whose intervals the breathing frequency, for minutes (onset F1 at
        3/min 0.57 -> 0.53 on the benchmark grid; some 250 onsets for 7 breaths at 2/min with a 3% cardiac
        wiggle; after a hold, shallow breathing was found less often, not more).
        """
        ext_t, _, ext = (self._stall_lo if moves is self._rise else self._stall_hi)[0]
        while moves and moves[0][0] <= ext_t:
            moves.popleft()
        self._ext, self._ext_t = ext, ext_t
        self._amp = self._stall_swing / STALL_SWING
        self._reset_stall()

    def _interval_ok(self, interval: float) -> bool:
        """Whether an onset-to-onset time is a breath interval for the rate: from ``min_interval_s`` to
        ``max_interval_s``, or shorter when the last five such times (this one included) are all shorter
        than ``min_interval_s`` and steady (the shortest at least half the longest): breathing faster than
        40/min (a child, exercise, panting) has only such times, and with the fixed floor alone its rate was
        never known and the phase filters stayed set for 15/min (33-44 deg late at 42-70/min, the quality
        OK). A breath split in two by a wobble leaves a short time among usual ones, and is left out as
        before; so are the irregular runs of short times of a noisy signal (the ICU recording's 0.4-1.3 s
        among 2-10 s ones: taken in whenever half the median of the last five, its live rate error went
        from 1.7 to 2.8 breaths/min)."""
        cfg = self.config
        recent = self._recent_iv
        recent.append(interval)
        if interval > cfg.max_interval_s:
            return False
        if interval >= cfg.min_interval_s:
            return True
        return (
            len(recent) == recent.maxlen
            and max(recent) < cfg.min_interval_s
            and min(recent) >= 0.5 * max(recent)
        )

    def _mean_interval(self) -> float:
        return self._mean_iv

    def _add_interval(self, interval: float) -> None:
        iv = self._intervals
        iv.append(interval)
        k = min(len(iv), 4)
        self._mean_iv = sum(list(iv)[-k:]) / k
        self._update_typical_interval()

    def _freq(self) -> float:
        """Current breathing frequency estimate (Hz) for delay compensation; 0.25 Hz until known."""
        typ = self._iv_typ
        return 0.25 if typ <= 0.0 else 1.0 / typ

    def _update_typical_interval(self) -> None:
        """The usual breath interval: the mean of the intervals of the last ``rate_window_s`` before the
        latest onset, at least ``rate_min_n`` of them (breaths per time: leaving out outlying intervals was
        measured worse on irregular breathing, and a shorter window follows noise more than the rate)."""
        k, total = 0, 0.0
        for v in reversed(self._intervals):
            if k >= self.config.rate_min_n and total + v > self.config.rate_window_s:
                break
            total += v
            k += 1
        self._iv_typ = total / k

    def _rate_at(self, t: float) -> float:
        mean_iv = self._iv_typ
        if mean_iv <= 0.0:
            return math.nan
        # A breath that is taking longer than usual already means a slower rate. Onsets are confirmed some
        # time after they happen, so "longer than usual" counts from the usual confirmation delay on.
        # Not across a stretch without breathing, whose time is no breath's (the state is OK again after it
        # before its first onset when it ends with an exhale).
        if self._nob_since_onset:
            return 60.0 / mean_iv
        elapsed = t - self._last_onset - self._confirm_delay
        return 60.0 / max(mean_iv, elapsed)

    def _push_swing(self, swing: float) -> None:
        if swing <= 0:
            return
        self._swings.append(swing)
        s = sorted(self._swings)
        m = len(s)
        self._amp = s[m // 2] if m % 2 else 0.5 * (s[m // 2 - 1] + s[m // 2])
        self._amp_long = 0.95 * self._amp_long + 0.05 * swing

    def _confirm_peak(self, t: float) -> None:
        peak, peak_t = self._ext, self._ext_t
        if self._have_trough and not self._no_swing:
            self._push_swing(peak - self._trough)
        self._no_swing = False
        self._peak, self._peak_t = peak, peak_t
        self._exhale_t = self._exhale_start()
        self._fall.clear()
        self._have_peak = True
        self._last_turn_t = t

    def _confirm_trough(self, t: float, comp: float) -> BreathEvent | None:
        trough, trough_t = self._ext, self._inhale_start()
        if self._have_peak and not self._no_swing:
            self._push_swing(self._peak - trough)
        self._no_swing = False
        prev_trough_t = self._trough_t
        self._trough, self._trough_t = trough, trough_t
        self._have_trough = True
        self._last_turn_t = t
        if not self._have_peak:
            return None  # the first trough after warm-up: its cycle has no known start
        # Onset time: the knee of the rise, read on the tracker signal with its high-pass's creep added back
        # (:meth:`_knee_start`), moved back by the low-pass's delay ``comp``; not by the high-pass's lead as
        # well, which that signal no longer has.
        f = self._freq()
        # The rise of a rounded (sine-like) trough reaches ``knee`` x its fastest asin(knee) radians after
        # the bottom: that much earlier too, so a rounded trough's onset is its bottom, a pause's its end.
        onset = trough_t - (comp + math.asin(self.config.knee)) / (TWO_PI * f)
        if onset < self._seg_t0:
            # The rise began before this run's first sample (in the gap a resumed run follows): its
            # onset is not known, nor the interval to the next one.
            self._last_onset = math.nan
            return None
        nob, self._nob_since_onset = self._nob_since_onset, False
        if not math.isnan(self._last_onset) and not nob:
            # Not across a stretch without breathing (or a frozen sensor): that is no breath interval (as
            # offline), and a 20-s hold taken as one halved the rate for the next 40 s.
            interval = onset - self._last_onset
            if self._interval_ok(interval):
                self._add_interval(interval)
                if prev_trough_t < self._exhale_t < trough_t:
                    # From the inhale's start to the exhale's (both by the knee rule): a pause or a flat
                    # top is not the middle of a rise, as the peak's own time within it would make it.
                    self._rise_fracs.append((self._exhale_t - prev_trough_t) / (trough_t - prev_trough_t))
                    self._check_inversion(t)
        self._last_onset = onset
        delay = t - onset
        self._confirm_delay = delay if self._confirm_delay == 0.0 else 0.8 * self._confirm_delay + 0.2 * delay
        return BreathEvent(onset, t)

    def _inhale_start(self) -> float:
        """Where the rise out of the trough began (:meth:`_knee_start` of the rise)."""
        return self._knee_start(self._rise, self._ext_t)

    def _exhale_start(self) -> float:
        """Where the fall out of the latest peak began: the inhale's rule on the mirrored fall."""
        return self._knee_start(self._fall, self._peak_t)

    def _knee_start(self, moves: deque[tuple[float, float, float]], ext_t: float) -> float:
        """Where a move out of an extremum at ``ext_t`` began (``moves``: its samples ``(t, dy, y)``, a
        fall mirrored to a rise): the sample before the first one that rose faster than ``knee`` x the
        fastest rise up to the confirmation (a pause that creeps up before the inhale, or seems to because
        the high-pass's mean sinks, is still the pause); the extremum itself if none. A rise that falls back
        to where it began (within ``wobble_back`` x the breath amplitude) or lower before the fastest rise
        is a wobble in the pause (a swallow, the heart, the phase of a simulated breather jittering), not the
        inhale: the search goes on from the low point it fell back to. On simulated breathers with a 20%
        end-expiratory pause (6-24/min, three seeds) that took onset F1 at +-0.5 s from 0.52-0.95 to
        0.77-0.99 (benchmarks/bench_accuracy.py).

        Levels and speeds are both read with the tracker high-pass's creep added back (in effect the
        low-passed signal), and the onset is moved back by the low-pass's delay alone
        (:meth:`_confirm_trough`). The high-pass adds a rise of w_c x the distance below the midline: in a
        slow breath's trough about twice the knee (0.06 against 0.03 breath amplitudes a second at 4/min).
        With the speeds read on the high-passed signal (before), a flat end-expiratory pause at 3-6/min
        looked like the inhale from its start (onsets 2.2-3.9 s early with a 25% pause), and rounded troughs
        were timed late by about the high-pass's lead, taken off a trough the creep-corrected levels had
        already put back: +0.38 / +0.18 / +0.11 s at 4 / 5 / 6 per min on noiseless simulated breathers
        (now +0.07 / +0.08 / +0.04). On simulated breathers with noise, drift and phase diffusion (3-30/min,
        pauses 0-30%, two inhale shares, seeds 3-8), onset F1 at +-0.5 s went from 0.21 / 0.46 / 0.67 / 0.80
        to 0.57 / 0.70 / 0.78 / 0.83 at 3 / 4 / 5 / 6 per min, 0.78 to 0.86 over the grid.

        The search starts at the bottom of the basin the move leaves: the lowest point between the fastest
        rise and, going back, a bump ``pause_bump`` x the breath amplitude above it, at least
        ``pause_bump_before`` x the breath interval earlier (a wobble or a small bump early in a long pause is
        not the inhale; noise on the way up, close to it, is not a bump). Without such a bump, the search
        starts at the extremum."""
        if not moves:
            return ext_t
        items = list(moves)
        cfg = self.config
        # The level of each sample with the tracker's high-pass creep added back: a first-order high-pass
        # moves its output towards zero at w_c x the output, so a long pause below the midline seems to rise
        # (by about a tenth of a breath over a 2.5-s pause). Its steps are the speeds.
        wc = TWO_PI * cfg.highpass_hz / cfg.fs_hz
        creep = 0.0
        level: list[float] = []
        speed: list[float] = []
        for _, dy, yj in items:
            creep += wc * yj
            level.append(yj + creep)
            speed.append(dy + wc * yj)
        k = max(range(len(items)), key=speed.__getitem__)
        fast = speed[k]
        if fast <= 0.0:
            return ext_t
        t_fast, _, y_lo = items[k]
        bump = cfg.pause_bump * self._amp
        near = cfg.pause_bump_before * self._iv_typ
        start = k
        for j in range(k - 1, -1, -1):
            tj, _, yj = items[j]
            if yj < y_lo:
                start, y_lo = j, yj
            elif yj > y_lo + bump and t_fast - tj > near:
                break
        else:
            start = 0
        slow = cfg.knee * fast
        # Where the level is lowest from each sample on (to the fastest rise).
        low_from = list(range(k + 1))
        for j in range(k - 1, -1, -1):
            if level[low_from[j + 1]] < level[j]:
                low_from[j] = low_from[j + 1]
        # The first sample that rose faster than the knee; a rise that falls back to where it began (within
        # ``wobble_back`` x the amplitude) or lower before the fastest rise was a wobble in the pause: the
        # search goes on from that low point.
        i = start
        while True:
            r = next((m for m in range(i, k + 1) if speed[m] >= slow), k)
            # Where this rise began: the sample before it, or the extremum (the move's first sample less
            # its step).
            began = level[r - 1] if r > 0 else level[0] - speed[0]
            back = low_from[r]
            if back > r and level[back] <= began + cfg.wobble_back * self._amp:
                i = back
                continue
            return items[r - 1][0] if r > 0 else ext_t

    def _check_inversion(self, t: float) -> None:
        # Inhaling is shorter than exhaling (about 40/60 of the cycle at rest); a belt worn inverted shows
        # the opposite. A warning only: the setting ``invert`` is what changes the polarity. The median of
        # the last 16 breaths' rise fractions (from 6 on): on simulated breathers at 8-20/min with pauses
        # of 0-25% of the cycle, 8 breaths missed 29 of 48 inverted belts and warned 3 upright ones, 16
        # (with the rise timed to the exhale's knee, not the peak) 14 and 1, the misses all but one with
        # pauses of 20-25%: the flat top then hides the asymmetry (tests/dsp/test_pipeline.py). With a
        # wobble in that flat top no longer taken for the exhale's start (pauses of 0/10/20/25% at 8, 14
        # and 20/min, 4 seeds): 7 missed of 48 (18 before), all with pauses of 20-25%, and no upright one
        # warned (1 before).
        fr = self._rise_fracs
        if len(fr) >= 6:
            s = sorted(fr)
            suspected = s[len(s) // 2] > 0.55
            if suspected != self.inverted_suspected:
                self.inverted_suspected, self.inverted_changed_t = suspected, t
