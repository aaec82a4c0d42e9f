"""The offline (zero-phase) respiration pipeline: best accuracy for reports, and the live path's reference.

Same grid as the live path (:class:`~breathsync.dsp.resample.GridResampler`), then per gap-free segment:

- despike (:func:`despike`): a grid value more than twice the breathing's local size (the range of the
  0.5-s running median within 10 s) away from that running median is a fault (a corrupt sample from a
  device, a byte error) and takes the median's value, as the live pipeline's guard replaces one (whose
  range, 30 breaths, lets glitches of 10-50 breaths through: offline they made 5-19 phantom breaths in
  4 minutes). Breathing moves less than its own size in a quarter of a second, so no real recording in
  ../shared/data or sample_signals has a value replaced (``despiked`` counts them). A glitch averaged into
  its grid value to under twice the breath's size (a 1000-Hz belt's single sample of up to about 100
  breaths, a 50-Hz one's of up to 5) stays: the band-pass then leaves a wobble well under a breath;
- clean: 2nd-order Butterworth band-pass 0.05-0.8 Hz run forwards and backwards (``sosfiltfilt``): the
  offline reference filter of ../shared/notes/signal.md. Breathing slower than 6/min (0.1 Hz) lies at or
  below that band's lower edge, where the filter takes most of it away and leaves the noise: the breath
  amplitude is underestimated and small wobbles pass for breaths (a real belt slowed to 3.3/min: 102 onsets
  for 82 breaths). So the power spectrum of the band-passed signal is measured first (Welch, 120-s
  segments; the band's roll-off keeps baseline drift at 0.01-0.02 Hz under the breathing). When its median
  frequency (half the power below it) is under 0.1 Hz, the breathing is slow, and the lower edge is moved
  to half the frequency of the spectrum's peak (or of the median, if lower), no lower than 0.015 Hz. The
  median decides, not the peak, because a recording at normal rates with slow movement artefacts can
  peak low (the Systole recording: 19 breaths/min, a peak at 4.7/min, a median of 10.5/min).
  Breathing faster than 48/min (0.8 Hz: children, exercise) lies above the band's upper edge, the same
  way: the band-pass took most of it away, the spectrum under 0.8 Hz was left with the drift and said
  slow (the lower edge went to 0.016 Hz), the phase was 30 deg off at 50/min, and, onsets being kept 1 s
  apart, 99 of 120 breaths were found at 60/min and half at 70/min (34.3/min read). So the spectrum is
  also measured up to 2 Hz (band-passed 0.05-2 Hz), when the band's own breaths (its troughs, found as
  the onsets are) are faster than 24/min (a median interval under 2.5 s: even cut, fast breathing shows
  there, 1.0-2.0 s at 30-70/min; a heart ripple, walking or movement above the band does not, the band
  finds the breathing beneath it at 12-20/min), and only for the default band (a caller's band is kept,
  and its onsets 1 s apart). When its median frequency from 0.1 Hz (twice the
  lower edge, where the band is flat: slow movement artefacts below the breathing do not pull the median
  down; a real belt sped up to 49/min read 23/min with them) is above 0.4 Hz (24/min, half the upper
  edge: the harmonics that shape a breath, two and three times its frequency, are then cut), and its
  median from 0.02 Hz is not slow (0.1 Hz or more: above 0.1 Hz, breathing at 2/min leaves only its
  harmonics and the heart), the breathing is fast, and the upper edge is moved to twice
  the frequency of that spectrum's peak (or of its median, if higher), no higher than 2 Hz (120/min: no
  breathing is that fast; a heart is) nor 0.4 x the grid rate; the slow rule is not applied. Troughs
  (peaks) are kept 0.8 of the band's shortest period (1 / the upper edge) apart, 1 s at most: 1 s for
  0.8 Hz, 0.4 s at 2 Hz (60-70/min: 119 of 120 and 138 of 139 breaths, their rate and a phase 6-8 deg
  from the truth). Both must say fast: a heart's ripple on the belt (1-1.5 Hz, 60-90/min, the rates
  fast breathing has) a little larger than the breath from top to bottom (a sine of 0.6-0.8 x its
  amplitude), walking (0.9 and 1.8 Hz) or movement bursts carry more power than the breathing above
  0.1 Hz, and the spectrum alone took them for it (the band went to 2 Hz, 300-450 onsets for 60-99
  breaths); the band's breaths keep it. A ripple that also leaks through the band as breaths (0.8 x
  the breath at 1 Hz, 12-15/min: twice the onsets with the 0.8-Hz band already) is taken for the
  breathing (a limit: a belt that records the heart more than the breath). The real recordings'
  medians (measured so) are 4.5-18.5/min. Breathing under 24/min is filtered as before, to the bit;
- phase: Hilbert transform of the clean signal, rotated to the project's convention (0 = inhale onset,
  pi = end of inhale);
- breath onsets: troughs of the clean signal with a prominence of at least ``prominence`` x the local
  breath amplitude (twice the Hilbert envelope), so shallow breaths between deep ones still count;
- rate: 60 / the interval from each onset to the next, held over that breath.

Where there is no breathing to have a phase of, the phase is unknown (NaN), as the live pipeline's
:class:`~breathsync.dsp.pipeline.Quality` states say, but with the whole recording in view (``quality``
holds the same codes: OK, GAP, FLAT, NO_BREATHING):

- **flat** (FLAT): the raw grid values exactly constant for ``flat_s`` (2 s) or longer, the live rule
  (sensor off, a belt that slipped off, zeros from the acquisition). Offline the whole run is flat, not
  only its part after 2 s. It is a gap for the filter: the segments on either side are filtered on their
  own, as the step from the breathing level to a constant would make the band-pass ring into both.
  A run held at a limit of the sensor (clipped: a belt strapped too tight, an amplifier at its rail) is not
  flat unless it lasts longer than ``clip_flat_s`` (15 s): the live rule
  (:meth:`~breathsync.dsp.pipeline.RespPipeline._track`), with the whole recording in view: a value the
  signal is held at (for at least :data:`~breathsync.dsp.pipeline.CLIP_MIN_S`) coming from below (above)
  more than once, within :data:`~breathsync.dsp.pipeline.CLIP_MEMORY_S` from one time to the next and
  never going past it between, is a limit, the first time too. Clipped runs stay in their segment: the
  band-pass rounds the clipped tops (bottoms) off and the breaths are found through them; ``clipped``
  marks them.
- **no breathing** (NO_BREATHING), either of:

  * the breath amplitude (twice the Hilbert envelope) under ``low_amp_frac`` (0.1) x the recording's
    typical breath amplitude for ``no_breath_s`` (10 s) or longer: the clinical definition of an apnoea
    (the airflow signal's excursion drops by 90% or more for 10 s or more, AASM scoring manual), and the
    live pipeline's 10-s floor. The typical amplitude is the 75th percentile of the amplitude over the
    known samples, so a breath hold or a slipped belt taking up to half of a recording does not lower it;
  * a breath hold: the raw signal, low-passed only (at the band's upper edge), spanning less than
    ``low_amp_frac`` x that typical amplitude in every ``no_breath_s`` window of a stretch, the same
    apnoea rule read before the band-pass, which turns the step into a hold into a slow half breath (its
    amplitude and turning points said so only seconds into the hold: a third to a half of 20-40-s holds
    had a phase). The hold's edges are where the signal leaves the band it is held in (its median +- 3
    robust standard deviations), 10 s or more apart; a turning point within a quarter breath of an edge
    (an eighth outside it) is the breathing's last before the hold (first after it), and the stretch runs
    from it (to it): the band-pass's turning points further in are none;
  * no turning point (a trough or a peak of the clean signal, found as the onsets are) for more than
    ``max(no_breath_s, 1.5 x the breath interval)``, the live rule: a stretch between two turning points
    (or from a segment's start to its first, or from its last to the segment's end) longer than 10 s and
    than 1.5 x the breath interval around it, the median breath (a turning point to the next but one:
    trough to trough, peak to peak) of the minute centred on it, the breaths the stretch is half of left
    out (of the recording where that minute has none). Local rather than the recording's, so that slow
    breathing after fast is not taken for a pause; the turning points themselves stay known. Whole
    breaths, not twice the median half breath: a paced exercise's halves are far from alike (4-7-8, a hold
    at the top: the band-pass peaks at the hold's start, and halves of 4 and 15 s alternate), and twice the
    median of a minute with more short halves than long ones called every exhale a pause (52-59% of a
    4-7-8 or 4-6-6-2 recording had no phase). Paced breathing down to 3/min, with or without holds under
    10 s (box, 4-7-8, 4-6-6-2, resonance), is never a pause.

  Limits: a recording that is noise throughout (a belt not worn) has no breath amplitude to compare with
  and is not recognised; a hold whose baseline sags by a tenth of a breath or more in 10 s is no hold
  to the raw rule, and is left to the two others (read after the band-pass as a slow half breath, it is
  a pause only when it lasts longer than 10 s).

  Such a stretch splits the analysis like a gap: no onset inside it, no breath interval (and so no rate)
  spanning it, no phase in it, so pairs score only the windows with known phases. A trough that such a
  stretch follows (the end of the exhale before a hold at full exhale) is no onset: no inhale follows
  it; it still ends the breath before it, which keeps its rate. Unlike a flat
  stretch, it is not cut out before filtering: the signal in it is real (small, or slow), and a segment
  cut short makes the phase near the cut worse (tens of degrees within 2 s, bench_accuracy's "reference
  cut short"), so the phase and onsets next to it are those of the whole segment; ``clean`` keeps the
  filtered waveform there (a breath hold is drawn as the near-flat line it was).

A segment too short to filter (up to 36 samples, 1.8 s) counts as a gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, signal

from breathsync.dsp._types import FloatArray
from breathsync.dsp.pipeline import CLIP_MEMORY_S, CLIP_MIN_S, Quality
from breathsync.dsp.resample import GridResampler


@dataclass
class OfflineResult:
    """Offline analysis of one breathing signal on a uniform grid (phase and rate NaN where unknown:
    ``quality`` says why; ``clean`` NaN in gaps and flat stretches)."""

    t: FloatArray
    clean: FloatArray
    phase: FloatArray
    rate_bpm: FloatArray
    onsets_s: FloatArray
    quality: np.ndarray  # a Quality code per grid sample: OK, GAP, FLAT or NO_BREATHING
    #: The band-pass used (its edges follow slow and fast breathing).
    band_hz: tuple[float, float] = (0.05, 0.8)
    #: Per grid sample: +1 where the raw value is held at the sensor's upper limit, -1 at its lower limit
    #: (clipped; up and down as the input was given, before ``invert``), 0 elsewhere. A clipped sample keeps
    #: its quality code (OK where the breathing is found through it).
    clipped: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    #: The (upper, lower) limit in the input's units: the value held longest at each (NaN: not clipped).
    clip_levels: tuple[float, float] = (math.nan, math.nan)
    #: Grid values replaced as spikes (:func:`despike`): a corrupt sample no breath makes.
    despiked: int = 0


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index ranges of the runs of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _segments(valid: np.ndarray, restart: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index ranges of the gap-free runs: valid runs, split where the grid restarted."""
    out: list[tuple[int, int]] = []
    for a, b in _runs(valid):
        cuts = [a, *(a + np.flatnonzero(restart[a + 1 : b]) + 1).tolist(), b]
        out.extend(zip(cuts[:-1], cuts[1:], strict=True))
    return out


def _constant_runs(y: FloatArray, valid: np.ndarray, min_n: int) -> list[tuple[int, int]]:
    """(start, stop) sample ranges of runs of exactly constant valid values spanning ``min_n`` steps or more
    (the live pipeline's test for a frozen value: equal within 1e-9 relative)."""
    n = y.size
    same = np.zeros(n, bool)
    if n > 1:
        with np.errstate(invalid="ignore"):
            same[1:] = (np.abs(np.diff(y)) <= 1e-9 * (1.0 + np.abs(y[1:]))) & valid[1:] & valid[:-1]
    # Samples a-1 .. b-1 hold one value, b - a steps long.
    return [(a - 1, b) for a, b in _runs(same) if b - a >= min_n]


def flat_mask(y: FloatArray, valid: np.ndarray, min_n: int) -> np.ndarray:
    """Grid samples in runs of exactly constant valid values spanning ``min_n`` steps or more (the live
    pipeline's test for a frozen value: equal within 1e-9 relative)."""
    flat = np.zeros(y.size, bool)
    for a, b in _constant_runs(y, valid, min_n):
        flat[a:b] = True
    return flat


def clip_runs(y: FloatArray, valid: np.ndarray, min_n: int, memory_n: int) -> list[tuple[int, int, int]]:
    """(start, stop, side) of the runs of constant valid values (``min_n`` steps or more) held at a limit of
    the sensor: side +1 for an upper limit (the signal rose into the run), -1 for a lower one. A limit is a
    value held more than once, coming from the same side, with at most ``memory_n`` samples from one run's
    end to the next one's start and no valid value past it between (the live rule, with the first run too)."""
    n = y.size
    runs: list[tuple[float, int, int, int]] = []  # value, side, start, stop
    for a, b in _constant_runs(y, valid, min_n):
        v = float(y[a])
        # The side it came from (or, at a segment's start, leaves to).
        nb = y[a - 1] if a > 0 and valid[a - 1] else y[b] if b < n and valid[b] else math.nan
        side = 1 if nb < v else -1 if nb > v else 0
        if side:
            runs.append((v, side, a, b))
    # Groups of runs of one side and one value (within the constant-run tolerance) ...
    groups: list[list[tuple[float, int, int, int]]] = []
    for r in sorted(runs, key=lambda r: (r[1], r[0])):
        g = groups[-1] if groups else None
        if g and g[-1][1] == r[1] and abs(r[0] - g[-1][0]) <= 1e-9 * (1.0 + abs(r[0])):
            g.append(r)
        else:
            groups.append([r])
    held: set[tuple[int, int, int]] = set()
    for g in groups:
        g.sort(key=lambda r: r[2])  # ... in time order
        for (v, side, a1, b1), (_, _, a2, b2) in zip(g[:-1], g[1:], strict=True):
            if a2 - (b1 - 1) > memory_n:
                continue
            between = y[b1:a2][valid[b1:a2]]
            if not between.size or np.max(side * between) <= side * v + 1e-9 * (1.0 + abs(v)):
                held.update(((a1, b1, side), (a2, b2, side)))
    return sorted(held)


#: A grid value further than this x the breathing's local size (:func:`despike`) from the median of its
#: neighbours is a spike, not breathing.
SPIKE_K = 2.0
#: The neighbours: the grid values within this many seconds either side (a run of up to this long, 5
#: values at 20 Hz, is found as a spike).
SPIKE_HALF_S = 0.25
#: The breathing's local size: the range of that running median within this many seconds either side
#: (a whole breath down to 3/min) ...
SPIKE_SCALE_HALF_S = 10.0
#: ... but no less than this share of its median over the segment (a hold, a flat stretch).
SPIKE_FLOOR = 0.1


def despike(y: FloatArray, fs_hz: float) -> tuple[FloatArray, np.ndarray]:
    """The gap-free grid values ``y`` with their spikes replaced by the running median, and where they
    were. A spike is a value more than :data:`SPIKE_K` x the breathing's local size away from the median
    of the values within :data:`SPIKE_HALF_S` of it; that size is the running median's range within
    :data:`SPIKE_SCALE_HALF_S` (at least :data:`SPIKE_FLOOR` x its median over ``y``). A breath moves the
    signal by less than its own size in a quarter of a second (half of it at 48/min, a third of it at
    30/min), so a value that far from its neighbours is a fault: a corrupt sample from a device, a byte
    error. The running median follows a step (a belt re-fastened) and a breath's turn, so they stay."""
    out = np.array(y, dtype=float)
    h = max(1, round(SPIKE_HALF_S * fs_hz))
    if out.size < 2 * h + 1:
        return out, np.zeros(out.size, bool)
    med = ndimage.median_filter(out, size=2 * h + 1, mode="nearest")
    w = 2 * max(h, round(SPIKE_SCALE_HALF_S * fs_hz)) + 1
    size = ndimage.maximum_filter1d(med, w, mode="nearest") - ndimage.minimum_filter1d(med, w, mode="nearest")
    size = np.maximum(size, SPIKE_FLOOR * float(np.median(size)))
    bad = np.abs(out - med) > SPIKE_K * size
    out[bad] = med[bad]
    return out, bad


def _holds(
    lp: FloatArray, turns: np.ndarray, typical: float, min_n: int, frac: float, reach: float
) -> list[tuple[int, int]]:
    """(start, stop) ranges of the breath holds in one segment's low-passed raw signal ``lp`` (indices
    within it), ``turns`` the segment's turning points (sorted). A hold: every ``min_n + 1``-sample (10-s)
    window in it spans less than ``frac`` x the ``typical`` breath amplitude, the apnoea rule on the raw
    signal; its edges are where the signal leaves the band it is held in (its median +- 3 robust standard
    deviations), and it lasts ``min_n`` samples or more between them. A turning point within ``reach``
    samples of an edge (half that outside it) is the last one of the breathing before the hold (the first
    after): the stretch starts after it (ends before it); turning points further in are the band-pass's
    answer to the step into the hold."""
    n = lp.size
    if n <= min_n:
        return []
    half = min_n // 2
    w = 2 * half + 1
    span = ndimage.maximum_filter1d(lp, w, mode="nearest") - ndimage.minimum_filter1d(lp, w, mode="nearest")
    starts = np.flatnonzero(span[half : n - half] < frac * typical)  # windows [i, i + w)
    cover = np.zeros(n + 1, int)
    np.add.at(cover, starts, 1)
    np.add.at(cover, starts + w, -1)
    out: list[tuple[int, int]] = []
    for a, b in _runs(np.cumsum(cover[:n]) > 0):
        level = float(np.median(lp[a:b]))
        band = 3.0 * 1.4826 * float(np.median(np.abs(lp[a:b] - level)))
        inside = np.flatnonzero(np.abs(lp[a:b] - level) <= band)
        if not inside.size:
            continue
        h0, h1 = a + int(inside[0]), a + int(inside[-1]) + 1
        if h1 - h0 < min_n:
            continue
        before = turns[(turns >= h0 - 0.5 * reach) & (turns <= h0 + reach)]
        after = turns[(turns >= h1 - reach) & (turns <= h1 + 0.5 * reach)]
        lo = int(before[np.argmin(np.abs(before - h0))]) + 1 if before.size else h0
        hi = int(after[np.argmin(np.abs(after - h1))]) if after.size else h1
        if hi > lo:
            out.append((lo, hi))
    return out


def _no_turn_stretches(
    turns: np.ndarray, runs: list[tuple[int, int]], min_n: float, around_n: float
) -> list[tuple[int, int]]:
    """(start, stop) ranges, within each known run, without a turning point for longer than ``max(min_n,
    1.5 x the breath interval)`` samples, the breath interval the median over the breaths (a turning point
    to the next but one: trough to trough, peak to peak) whose middle lies within ``around_n`` samples of
    the stretch's and which do not span it (over all of them where none does; twice the median half breath
    where there is no whole breath); the turning points bounding a stretch are left out. Whole breaths, not
    twice a half: a breath's two halves need not be alike (a hold at the top of a paced breath puts the
    band-pass's peak at the hold's start, and halves of 4 and 15 s alternate), and where the short ones are
    the most, twice their median is a short breath."""
    bounds = [np.concatenate(([a - 1], turns[(turns >= a) & (turns < b)], [b])) for a, b in runs]
    # Breaths (and half breaths): turn to the next but one (to the next) within a run (a run's two ends
    # are no turns).
    inner = [k[1:-1] for k in bounds]
    full_lo = np.concatenate([k[:-2] for k in inner]) if inner else np.empty(0)
    full_hi = np.concatenate([k[2:] for k in inner]) if inner else np.empty(0)
    full_mid, full_len = 0.5 * (full_lo + full_hi), full_hi - full_lo
    half_len = np.concatenate([np.diff(k) for k in inner]) if inner else np.empty(0)
    everywhere = (
        float(np.median(full_len))
        if full_len.size
        else 2.0 * float(np.median(half_len))
        if half_len.size
        else 0.0
    )
    out: list[tuple[int, int]] = []
    for k in bounds:
        for j in np.flatnonzero(np.diff(k) > min_n).tolist():
            lo, hi = int(k[j]), int(k[j + 1])
            near = np.abs(full_mid - 0.5 * (lo + hi)) <= around_n
            near &= ~((full_lo < hi) & (full_hi > lo))  # not a breath the stretch is half of
            ref = float(np.median(full_len[near])) if near.any() else everywhere
            if hi - lo > max(min_n, 1.5 * ref):
                out.append((lo + 1, hi))
    return out


def offline_breathing(
    t: FloatArray,
    y: FloatArray,
    *,
    fs_hz: float = 20.0,
    band_hz: tuple[float, float] | None = None,
    gap_s: float = 2.0,
    prominence: float = 0.3,
    invert: bool = False,
    flat_s: float = 2.0,
    no_breath_s: float = 10.0,
    low_amp_frac: float = 0.1,
    clip_flat_s: float = 15.0,
) -> OfflineResult:
    """Zero-phase analysis of a whole breathing recording (see the module docstring)."""
    y = np.asarray(y, dtype=float)
    given = band_hz is not None  # a caller's band: the fast rule leaves it alone
    band_hz = DEFAULT_BAND_HZ if band_hz is None else band_hz
    if invert:
        y = -y
    grid = GridResampler(fs_hz, gap_s).process(np.asarray(t, dtype=float), y)
    n = grid.t.size
    gy = grid.y.copy()
    despiked = 0
    for a, b in _segments(grid.valid, grid.restart):
        gy[a:b], bad = despike(gy[a:b], fs_hz)
        despiked += int(bad.sum())
    quality = np.full(n, int(Quality.OK), np.int8)
    quality[~grid.valid] = Quality.GAP
    flat = flat_mask(gy, grid.valid, round(flat_s * fs_hz))
    clipped = np.zeros(n, np.int8)
    levels: dict[tuple[int, float], int] = {}  # (side, value): samples held there
    clip_n = round(clip_flat_s * fs_hz)
    for a, b, side in clip_runs(
        gy, grid.valid, max(1, round(CLIP_MIN_S * fs_hz)), round(CLIP_MEMORY_S * fs_hz)
    ):
        if b - a - 1 < clip_n:  # held at a limit, not for longer than clip_flat_s: not flat
            flat[a:b] = False
            clipped[a:b] = -side if invert else side
            key = (-side if invert else side, -float(gy[a]) if invert else float(gy[a]))
            levels[key] = levels.get(key, 0) + b - a
    quality[flat] = Quality.FLAT
    valid = grid.valid & ~flat
    clean = np.full(n, np.nan)
    phase = np.full(n, np.nan)
    amp = np.full(n, np.nan)
    seg_id = np.full(n, -1)
    troughs: list[np.ndarray] = []
    peaks: list[np.ndarray] = []
    sos = signal.butter(2, band_hz, "bandpass", fs=fs_hz, output="sos")
    min_len = 3 * 6 * 2  # sosfiltfilt's default padding for two sections
    segments = [(a, b) for a, b in _segments(valid, grid.restart) if b - a > min_len]
    for a, b in _segments(valid, grid.restart):
        if b - a <= min_len:
            quality[a:b] = Quality.GAP  # too short to filter
    cleaned = [signal.sosfiltfilt(sos, gy[a:b] - np.mean(gy[a:b])) for a, b in segments]
    f_peak, f_median = _spectrum_peak_median(cleaned, fs_hz)
    band0, fast = band_hz, False
    top = min(MAX_HIGH_HZ, NYQUIST_SHARE * fs_hz)
    if (
        not given
        and band_hz[1] < top
        and _breath_interval(cleaned, prominence, fs_hz) < 1.0 / (FAST_SHARE * band_hz[1])
    ):
        # The band's own breaths are fast (over 24/min); is the spectrum measured up to MAX_HIGH_HZ
        # (band-passed to there: the upper edge takes most of a breath faster than 48/min away, and the
        # spectrum below it then says slow) fast too?
        wide = signal.butter(2, (band_hz[0], top), "bandpass", fs=fs_hz, output="sos")
        widened = [signal.sosfiltfilt(wide, gy[a:b] - np.mean(gy[a:b])) for a, b in segments]
        w_peak, w_median = _spectrum_peak_median(widened, fs_hz, SLOW_HZ, top)
        # Not slow (the whole spectrum's median), and fast above the slow range.
        fast = _spectrum_peak_median(widened, fs_hz, 0.02, top)[1] >= SLOW_HZ
        fast = fast and w_median > FAST_SHARE * band_hz[1]
        if fast:
            band_hz = (band_hz[0], min(top, 2.0 * max(w_peak, w_median)))
    if not fast and f_median < SLOW_HZ and band_hz[0] > MIN_LOW_HZ:
        band_hz = (max(MIN_LOW_HZ, min(band_hz[0], 0.5 * min(f_peak, f_median))), band_hz[1])
    if band_hz != band0:
        sos = signal.butter(2, band_hz, "bandpass", fs=fs_hz, output="sos")
        cleaned = [signal.sosfiltfilt(sos, gy[a:b] - np.mean(gy[a:b])) for a, b in segments]
    # Troughs (peaks) 1 s apart; in fast breathing 0.8 of the shortest period the band passes (its upper
    # edge's), 1 s at most.
    distance = max(1, int((min(1.0, BREATH_SHARE / band_hz[1]) if fast else 1.0) * fs_hz))
    for s, ((a, b), c) in enumerate(zip(segments, cleaned, strict=True)):
        analytic = signal.hilbert(c)
        clean[a:b] = c
        phase[a:b] = np.mod(np.angle(-analytic), 2 * np.pi)
        amp[a:b] = 2.0 * np.abs(analytic)
        seg_id[a:b] = s
        for sign, found in ((-1.0, troughs), (1.0, peaks)):
            at, _ = signal.find_peaks(sign * c, prominence=(prominence * amp[a:b], None), distance=distance)
            found.append(a + at)
    ons = np.concatenate(troughs) if troughs else np.empty(0, int)
    tops = np.concatenate(peaks) if peaks else np.empty(0, int)
    min_n = no_breath_s * fs_hz
    known = seg_id >= 0
    if known.any():
        # Breath amplitude far below the recording's typical one, for long enough.
        typical = float(np.percentile(amp[known], 75))
        low = known & (amp < low_amp_frac * typical)
        for a, b in _runs(low):
            if b - a - 1 >= min_n:
                quality[a:b] = Quality.NO_BREATHING
        # Breath holds, found on the raw signal (low-passed only), from the breathing's last turn to its
        # first after: the band-pass makes a slow half breath of the step into a hold.
        all_turns = np.sort(np.concatenate((ons, tops)))
        sure = all_turns[quality[all_turns] == Quality.OK]
        halves = np.diff(sure)[seg_id[sure[1:]] == seg_id[sure[:-1]]] if sure.size > 1 else np.empty(0)
        reach = 0.5 * float(np.median(halves)) if halves.size else 0.0  # a quarter of a breath
        lowpass = signal.butter(2, band_hz[1], "lowpass", fs=fs_hz, output="sos")
        for a, b in segments:
            lp = signal.sosfiltfilt(lowpass, gy[a:b] - np.mean(gy[a:b]))
            seg_turns = all_turns[(all_turns >= a) & (all_turns < b)] - a
            for h0, h1 in _holds(lp, seg_turns, typical, round(min_n), low_amp_frac, reach):
                quality[a + h0 : a + h1] = Quality.NO_BREATHING
        ons = ons[quality[ons] == Quality.OK]
        turns = np.sort(np.concatenate((ons, tops[quality[tops] == Quality.OK])))
        for a, b in _no_turn_stretches(turns, _runs(quality == Quality.OK), min_n, 30.0 * fs_hz):
            quality[a:b] = Quality.NO_BREATHING
        # A lone turning point between two such stretches is no breathing either.
        nob = quality == Quality.NO_BREATHING
        lone = np.zeros(n, bool)
        lone[1:-1] = (quality[1:-1] == Quality.OK) & nob[:-2] & nob[2:]
        quality[lone] = Quality.NO_BREATHING
    # A trough that no breathing follows (the end of the exhale before a hold) starts no breath; it still
    # ends the breath before it, which keeps its rate.
    ends = ons
    ons = ons[quality[np.minimum(ons + 1, n - 1)] != Quality.NO_BREATHING]
    ok = quality == Quality.OK
    phase[~ok] = np.nan
    clean[(quality == Quality.GAP) | (quality == Quality.FLAT)] = np.nan
    rate = np.full(n, np.nan)
    if ends.size >= 2:
        # Breath k: onset k to the next trough, in one segment with nothing unknown between.
        usable = (seg_id[ends[1:]] == seg_id[ends[:-1]]) & _nothing_unknown_between(quality, ends)
        for k in np.flatnonzero(usable).tolist():
            rate[ends[k] : ends[k + 1]] = 60.0 / (grid.t[ends[k + 1]] - grid.t[ends[k]])
    hi, lo = (
        max((k for k in levels if k[0] == side), key=lambda k: levels[k], default=(side, math.nan))[1]
        for side in (1, -1)
    )
    return OfflineResult(
        grid.t, clean, phase, rate, grid.t[ons], quality, band_hz, clipped, (hi, lo), despiked
    )


#: The band-pass used unless the caller gives one (its edges then follow slow and fast breathing).
DEFAULT_BAND_HZ = (0.05, 0.8)
#: Breathing whose spectrum's median frequency is under this (6/min) has the band-pass's lower edge moved
#: down to half its frequency ...
SLOW_HZ = 0.1
#: ... but not below this (0.9/min: no breathing is that slow; drift is).
MIN_LOW_HZ = 0.015
#: Breathing whose spectrum (measured up to :data:`MAX_HIGH_HZ`) has its median frequency above this share
#: of the band-pass's upper edge (0.4 Hz, 24/min, for 0.8 Hz) has that edge moved up to twice its frequency ...
FAST_SHARE = 0.5
#: ... but not above this (120/min: no breathing is that fast; a heart is) ...
MAX_HIGH_HZ = 2.0
#: ... nor above this share of the sampling rate.
NYQUIST_SHARE = 0.4
#: Breath onsets (and peaks) are kept this share of the shortest period the band passes (1 / its upper edge)
#: apart, 1 s at most (1 s for 0.8 Hz, 0.4 s for 2 Hz).
BREATH_SHARE = 0.8


def _breath_interval(cleaned: list[FloatArray], prominence: float, fs_hz: float) -> float:
    """The median interval (s; infinite with none) between the troughs of the band-passed segments, found as
    the onsets are (a prominence of ``prominence`` x the local amplitude, 1 s apart), within a segment."""
    gaps: list[np.ndarray] = []
    for c in cleaned:
        at, _ = signal.find_peaks(
            -c, prominence=(prominence * 2.0 * np.abs(signal.hilbert(c)), None), distance=max(1, int(fs_hz))
        )
        gaps.append(np.diff(at))
    d = np.concatenate(gaps) if gaps else np.empty(0)
    return float(np.median(d)) / fs_hz if d.size else math.inf


def _spectrum_peak_median(
    cleaned: list[FloatArray], fs_hz: float, f_min: float = 0.02, f_max: float = 0.8
) -> tuple[float, float]:
    """The peak and the median frequency (Hz; NaN, NaN with no segment of 20 s) of the summed Welch power
    spectra of the band-passed segments, from ``f_min`` to ``f_max`` Hz (the band's upper edge), on a common
    grid of 1/256 Hz (120-s windows, or a shorter segment's length). Every ``q``-th sample is enough (4 Hz
    or more, 5 x ``f_max`` above 0.8 Hz: the band-pass has taken away what would alias), a fifth of the
    cost of the 20-Hz grid's (20 ms an hour)."""
    q = max(1, int(fs_hz // (4.0 if f_max <= 0.8 else 5.0 * f_max)))
    fs = fs_hz / q
    nfft = 1 << max(8, math.ceil(math.log2(256.0 * fs)))
    total = np.zeros(nfft // 2 + 1)
    for c in cleaned:
        x = c[::q]
        n = min(x.size, round(120 * fs))
        if n < round(20 * fs):  # too short to tell a slow breath's frequency
            continue
        _, pxx = signal.welch(x, fs, nperseg=n, nfft=nfft)
        total += pxx * x.size
    f = np.fft.rfftfreq(nfft, 1.0 / fs)
    sel = (f >= f_min) & (f <= f_max)
    f, p = f[sel], total[sel]
    if not p.sum() > 0:
        return float("nan"), float("nan")
    half = int(np.searchsorted(np.cumsum(p), 0.5 * p.sum()))
    return float(f[np.argmax(p)]), float(f[min(half, f.size - 1)])


def _nothing_unknown_between(quality: np.ndarray, ons: np.ndarray) -> np.ndarray:
    """For each pair of consecutive onsets (or turning points; grid indices), whether every sample
    strictly between them has a phase (a gap, a flat or a no-breathing stretch inside: not a breath
    interval)."""
    if ons.size < 2:
        return np.zeros(0, bool)
    bad = np.concatenate(([0], np.cumsum(quality != Quality.OK)))
    return np.asarray(bad[ons[1:]] - bad[ons[:-1] + 1] == 0)
