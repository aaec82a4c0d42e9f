"""Causal resampling of irregular, any-rate samples onto a uniform time grid.

The grid is anchored at absolute multiples of ``1 / fs_hz`` (t = k / fs_hz for integer k), so the grids of
every participant line up on the one host time base without any further alignment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from breathsync.dsp._types import FloatArray

FEW_BINS = 4  # up to this many bins to fit, fitting them one by one in Python is the faster ...
FEW_SAMPLES = 64  # ... when they span no more than this many samples (a live chunk of a 1 kHz belt: ~190)
#: Inputs longer than this many samples are resampled in pieces of it (GridResampler.process): 4 MB a column.
PIECE = 1 << 19
#: The fast-input fit weighs the samples with the 50-ms bin's boxcar convolved with a second boxcar of this x
#: the grid step (40 ms at 20 Hz): a trapezoid 90 ms wide, flat over its middle 10 ms. The bin's boxcar alone
#: nulls 20, 40, 60 Hz but passes 13% of a 50-Hz mains hum, which folds to 10 Hz on the grid; the second one
#: nulls 25, 50, 75 Hz.
SECOND_BOX = 0.8
#: ... for bins of at least this many samples (inputs of 120 Hz and faster at 20 Hz); a slower input's bin
#: is its boxcar alone, as it cannot hold a 50- or 60-Hz hum apart from the breathing anyway.
WIDE_MIN = 6


@dataclass(frozen=True)
class GridChunk:
    """Grid samples made available by one call.

    ``restart`` is True at the first grid sample of each segment (the very first one, and the first one
    after a gap): the consumer resets its state there. ``valid`` is False for grid samples that lie inside
    a gap (their value is NaN).
    """

    t: FloatArray
    y: FloatArray
    valid: np.ndarray
    restart: np.ndarray


def concat_chunks(parts: list[GridChunk]) -> GridChunk:
    """The grid samples of consecutive calls as one chunk."""
    if not parts:
        return _empty_chunk()
    if len(parts) == 1:
        return parts[0]
    return GridChunk(
        np.concatenate([p.t for p in parts]),
        np.concatenate([p.y for p in parts]),
        np.concatenate([p.valid for p in parts]),
        np.concatenate([p.restart for p in parts]),
    )


class GridResampler:
    """Turns timestamped chunks into samples on a uniform grid, only ever using past samples.

    Each grid point ``g`` owns the bin ``(g - h, g + h]``, h = 0.5 / fs, centred on it:

    - when the bin has samples both before ``g`` and at or after it (fast inputs: a 1000 Hz belt has 50),
      its value is the weighted least-squares line through the samples within ``H = 0.9 / fs`` of ``g``
      (45 ms at 20 Hz), read at ``g``. The weights are the bin's boxcar convolved with a second boxcar of
      ``SECOND_BOX`` (0.8) grid steps: a trapezoid, the anti-alias filter, whose nulls are at multiples of
      20 Hz and of 25 Hz (at 20 Hz), so 50- and 60-Hz mains hum is removed (the bin's boxcar alone passed
      13% of a 50-Hz hum, which folds to 10 Hz on the grid and reached the live phase through its velocity
      term: 15-16 deg of error at a hum as large as the breathing). The weighted mean is moved from the
      samples' weighted mean time to ``g`` along their slope: for evenly spread samples that is the plain
      weighted mean; it is exact for any signal that is linear across the kernel, so the value belongs to
      time ``g`` whatever the input rate or timing (a mean labelled ``g`` that is not the samples' mean time
      puts the stream late);
    - otherwise (slow or irregular inputs, the start of a run, a dropout in the bin) it is the linear
      interpolation at ``g`` between the last sample before ``g`` and the first at or after it, also exact
      for a locally linear signal. A grid point with no sample in ``(g - h, g)`` always takes this branch,
      so a slow input never waits for the second half of a bin it has nothing in.

    Latency: ``g`` is emitted once a sample with time ``>= g + H`` has arrived (the kernel is complete),
    or, for a grid point with no sample in ``(g - h, g)``, once one with time ``>= g`` has. For a fast
    input that is H = 45 ms at 20 Hz (25 ms with the bin's boxcar alone). Slow inputs (spacing above h)
    wait for nothing more than the next sample, as before. The decision and every value depend only on
    the samples, not on how they were chunked.

    NaN samples count as missing. When valid samples are more than ``gap_s`` apart the grid points in
    between are emitted as invalid (NaN) and the next valid sample starts a new segment; the grid points up
    to the last sample before the gap are emitted (valid) when the gap is seen, their bins being complete.
    Samples whose time does not increase are dropped (``dropped`` counts them).
    """

    def __init__(self, fs_hz: float = 20.0, gap_s: float = 2.0, second_box: float = SECOND_BOX) -> None:
        if not fs_hz > 0:
            raise ValueError("fs_hz must be positive")
        if not second_box >= 0:
            raise ValueError("second_box must be >= 0")
        self.fs_hz = float(fs_hz)
        self._half = 0.5 * (1.0 + second_box)  # the kernel's half width, in grid steps
        self._ramp = min(1.0, second_box) / float(fs_hz) if second_box > 0 else 0.0  # its ramps' width, s
        self.gap_s = float(gap_s)
        self.dropped = 0
        self._pending_t = np.empty(0)
        self._pending_y = np.empty(0)
        self._k_next: int | None = None  # next grid index to emit
        self._last_t = -np.inf  # time of the last accepted valid sample
        self._restart_next = False

    def reset(self) -> None:
        """Forget everything: the next sample starts a new segment."""
        self._pending_t = np.empty(0)
        self._pending_y = np.empty(0)
        self._k_next = None
        self._last_t = -np.inf
        self._restart_next = False

    def process(self, t: FloatArray, y: FloatArray) -> GridChunk:
        """Feed samples (``t`` seconds, increasing; ``y`` values, NaN = missing); get new grid samples."""
        t = np.asarray(t, dtype=float).ravel()
        y = np.asarray(y, dtype=float).ravel()
        if t.shape != y.shape:
            raise ValueError("t and y must have the same length")
        if t.size > PIECE:
            # A whole recording at once (analyze, a file's first read): in pieces, whose output is the same
            # to the bit (it never depends on the chunking), so that the working arrays are a piece's, not
            # the recording's: two hours at 1 kHz took 0.6 GB above its input, for each of the live and the
            # offline path.
            return concat_chunks(
                [self._process(t[i : i + PIECE], y[i : i + PIECE]) for i in range(0, t.size, PIECE)]
            )
        return self._process(t, y)

    def _process(self, t: FloatArray, y: FloatArray) -> GridChunk:
        ok = np.isfinite(t)
        ok &= np.isfinite(y)
        if not ok.all():
            t, y = t[ok], y[ok]
        if t.size == 0:
            return _empty_chunk()
        prev = self._last_t
        steps = np.diff(t)
        if t[0] > prev and (t.size == 1 or steps.min() > 0.0):
            # The usual chunk (in order, and mostly no gap): the checks below in fewer calls.
            no_gap = t[0] - prev <= self.gap_s and (t.size == 1 or steps.max() <= self.gap_s)
            bounds = [t.size] if no_gap else None
        else:
            # Keep strictly increasing times only (a device clock that steps back cannot be reordered live).
            run_max = np.maximum.accumulate(np.concatenate(([prev], t)))[:-1]
            keep = t > run_max
            self.dropped += int(t.size - keep.sum())
            t, y = t[keep], y[keep]
            if t.size == 0:
                return _empty_chunk()
            bounds = None
        outs: list[GridChunk] = []
        if bounds is None:
            # Split the input at gaps longer than gap_s (including the gap from the previous call).
            breaks = np.flatnonzero(np.diff(np.concatenate(([prev], t))) > self.gap_s)
            bounds = [*breaks.tolist(), t.size]
        start = 0
        for b in bounds:
            if b > start:
                outs.append(self._segment(t[start:b], y[start:b]))
            if b < t.size:
                outs.append(self._segment(np.empty(0), np.empty(0), final=True))
                outs.append(self._gap(t[b]))
            start = b
        return concat_chunks([o for o in outs if o.t.size])

    def _gap(self, t_resume: float) -> GridChunk:
        """A gap ends at ``t_resume``: emit the grid points since the last sample as invalid, then restart."""
        out = _empty_chunk()
        if self._k_next is not None:
            ks = np.arange(self._k_next, int(np.ceil(t_resume * self.fs_hz)))
            n = ks.size
            out = GridChunk(ks / self.fs_hz, np.full(n, np.nan), np.zeros(n, bool), np.zeros(n, bool))
        self._pending_t = np.empty(0)
        self._pending_y = np.empty(0)
        self._k_next = None
        return out

    def _segment(self, t: FloatArray, y: FloatArray, final: bool = False) -> GridChunk:
        """Add samples of the current segment and emit the grid points they complete; ``final``: the
        segment ends here (a gap follows), so every bin up to its last sample is complete."""
        fs = self.fs_hz
        if t.size:
            if self._k_next is None:
                self._k_next = int(np.ceil(t[0] * fs))
                self._restart_next = True
            self._last_t = float(t[-1])
        if self._k_next is None:
            return _empty_chunk()
        tt = np.concatenate((self._pending_t, t))
        yy = np.concatenate((self._pending_y, y))
        if tt.size == 0:
            return _empty_chunk()
        t_max = tt[-1]
        # Candidates: the grid points with a sample at or after them (g <= t_max).
        k_hi = int(np.floor(t_max * fs))
        while k_hi >= self._k_next and k_hi / fs > t_max:
            k_hi -= 1
        if k_hi < self._k_next:
            self._pending_t, self._pending_y = tt, yy
            return _empty_chunk()
        ks = np.arange(self._k_next, k_hi + 1)
        g = ks / fs
        hw = self._half
        hi_edge = (ks + 0.5) / fs
        k_hi_edge = (ks + hw) / fs
        i_lo = np.searchsorted(tt, (ks - 0.5) / fs, side="right")  # first sample in the bin
        i_g = np.searchsorted(tt, g, side="left")  # first sample >= g
        i_hi = np.searchsorted(tt, hi_edge, side="right")  # first sample after the bin
        n_left = i_g - i_lo  # samples in (g - h, g)
        wide = (i_hi - i_lo) >= WIDE_MIN  # a fast input's bin: weighed with the trapezoid
        if not final:
            ready = (n_left == 0) | ((hi_edge <= t_max) & (~wide | (k_hi_edge <= t_max)))
            n = int(np.argmin(ready)) if not ready.all() else ks.size
            if n == 0:
                self._pending_t, self._pending_y = tt, yy
                return _empty_chunk()
            ks, g, i_lo, i_g, i_hi, n_left = ks[:n], g[:n], i_lo[:n], i_g[:n], i_hi[:n], n_left[:n]
            k_hi_edge, wide = k_hi_edge[:n], wide[:n]
        vals = np.interp(g, tt, yy)
        fit = (n_left > 0) & (i_hi > i_g)
        narrow = fit & ~wide
        if narrow.any():  # the bin's boxcar: a weight of 1 over (g - h, g + h]
            vals[narrow] = _line_at_centre(tt, yy, g[narrow], i_lo[narrow], i_hi[narrow], 0.5 / fs, 0.0)
        fit &= wide
        if fit.any():
            kf = ks[fit]
            j_lo = np.searchsorted(tt, (kf - hw) / fs, side="right")  # first sample in the kernel
            j_hi = np.searchsorted(tt, k_hi_edge[fit], side="right")  # first sample after it
            vals[fit] = _line_at_centre(tt, yy, g[fit], j_lo, j_hi, hw / fs, self._ramp)
        # Keep from the last sample at or before the next kernel's lower edge (for the interpolation).
        keep_from = max(int(np.searchsorted(tt, (ks[-1] + 1 - hw) / fs, side="right")) - 1, 0)
        self._pending_t, self._pending_y = tt[keep_from:], yy[keep_from:]
        self._k_next = int(ks[-1]) + 1
        restart = np.zeros(ks.size, bool)
        restart[0] = self._restart_next
        self._restart_next = False
        return GridChunk(g, vals, np.ones(ks.size, bool), restart)


def _line_at_centre(
    tt: FloatArray,
    yy: FloatArray,
    g: FloatArray,
    i_lo: np.ndarray,
    i_hi: np.ndarray,
    half: float,
    ramp: float,
) -> FloatArray:
    """The weighted least-squares line through the samples ``tt[i_lo[j]:i_hi[j]]`` read at ``g[j]``, for
    each j; a sample ``d`` seconds from ``g[j]`` weighs ``min(1, max(0, (half - |d|) / ramp))`` (a
    trapezoid: two boxcars convolved; ``ramp`` 0: a boxcar of half width ``half``).

    Times are taken relative to each grid point (absolute host times of ~1e9 s would cancel out the slope's
    precision). With samples on both sides of ``g`` the reading lies within the samples' span."""
    if g.size <= FEW_BINS and int(i_hi[-1] - i_lo[0]) <= FEW_SAMPLES:
        return _line_at_centre_few(tt, yy, g, i_lo, i_hi, half, ramp)
    return _line_at_centre_many(tt, yy, g, i_lo, i_hi, half, ramp)


def _weights(d: FloatArray, half: float, ramp: float) -> FloatArray:
    if ramp <= 0:
        return np.ones_like(d)
    return np.minimum(np.maximum((half - np.abs(d)) / ramp, 0.0), 1.0)


def _line_at_centre_many(
    tt: FloatArray,
    yy: FloatArray,
    g: FloatArray,
    i_lo: np.ndarray,
    i_hi: np.ndarray,
    half: float,
    ramp: float,
) -> FloatArray:
    """:func:`_line_at_centre` with array calls, for many bins at once."""
    counts = i_hi - i_lo
    bin_of = np.repeat(np.arange(g.size), counts)
    first = np.cumsum(counts) - counts  # where each bin's run starts in the flattened index
    idx = np.arange(int(counts.sum())) + np.repeat(i_lo - first, counts)
    dt = tt[idx] - g[bin_of]
    y0 = yy[i_lo]
    yv = yy[idx] - y0[bin_of]  # relative to the first sample: a constant run is read exactly
    del idx
    w = _weights(dt, half, ramp)
    m = g.size
    n = np.bincount(bin_of, w, m)
    mean_t = np.bincount(bin_of, w * dt, m) / n
    mean_y = np.bincount(bin_of, w * yv, m) / n
    dt -= mean_t[bin_of]  # now the centred times
    w *= dt
    sxx = np.bincount(bin_of, w * dt, m)
    yv -= mean_y[bin_of]
    yv *= w
    sxy = np.bincount(bin_of, yv, m)
    slope = np.divide(sxy, sxx, out=np.zeros(m), where=sxx > 0)
    return y0 + (mean_y - slope * mean_t)


def _line_at_centre_few(
    tt: FloatArray,
    yy: FloatArray,
    g: FloatArray,
    i_lo: np.ndarray,
    i_hi: np.ndarray,
    half: float,
    ramp: float,
) -> FloatArray:
    """:func:`_line_at_centre` for a few bins (a live chunk's one or two), on Python floats: the same
    operations in the same order as the arrays' (sums accumulated from 0.0 sample by sample, as
    ``np.bincount`` does), so the same values to the bit, without the twenty-odd array calls."""
    out = []
    for gj, lo, hi in zip(g.tolist(), i_lo.tolist(), i_hi.tolist(), strict=True):
        dts = [v - gj for v in tt[lo:hi].tolist()]
        ys = yy[lo:hi].tolist()
        y0 = ys[0]
        ys = [v - y0 for v in ys]
        ws = [min(max((half - abs(d)) / ramp, 0.0), 1.0) for d in dts] if ramp > 0 else [1.0] * len(dts)
        n = st = sy = 0.0
        for wi, d, v in zip(ws, dts, ys, strict=True):
            n += wi
            st += wi * d
            sy += wi * v
        mean_t, mean_y = st / n, sy / n
        sxx = sxy = 0.0
        for wi, d, v in zip(ws, dts, ys, strict=True):
            dc = d - mean_t
            wdc = wi * dc
            sxx += wdc * dc
            sxy += wdc * (v - mean_y)
        slope = sxy / sxx if sxx > 0 else 0.0
        out.append(y0 + (mean_y - slope * mean_t))
    return np.array(out, dtype=float)


def _empty_chunk() -> GridChunk:
    e = np.empty(0)
    return GridChunk(e, e.copy(), np.zeros(0, bool), np.zeros(0, bool))
