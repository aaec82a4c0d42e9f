"""Causal resampling of irregular, any-rate samples onto a uniform time grid.

The grid is anchored at absolute multiples of ``1 / fs_hz`` (t = k / fs_hz for integer k), so the grids of
every participant line up on the one host time base without any further alignment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from breathsync.dsp._types import FloatArray


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


class GridResampler:
    """Turns timestamped chunks into samples on a uniform grid, only ever using past samples.

    A grid point ``g`` is emitted once a sample with time ``>= g`` has arrived. Its value is the mean of the
    input samples in ``(g - 1/fs, g]`` when there are two or more (a boxcar anti-alias filter for fast
    inputs, 1000 Hz belts), otherwise the linear interpolation at ``g`` between its neighbours (slow or
    irregular inputs). NaN samples count as missing. When valid samples are more than ``gap_s`` apart the
    grid points in between are emitted as invalid (NaN) and the next valid sample starts a new segment.
    Samples whose time does not increase are dropped (``dropped`` counts them).
    """

    def __init__(self, fs_hz: float = 20.0, gap_s: float = 2.0) -> None:
        if not fs_hz > 0:
            raise ValueError("fs_hz must be positive")
        self.fs_hz = float(fs_hz)
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
        ok = np.isfinite(t) & np.isfinite(y)
        t, y = t[ok], y[ok]
        # Keep strictly increasing times only (a device clock that steps back cannot be reordered live).
        if t.size:
            run_max = np.maximum.accumulate(np.concatenate(([self._last_t], t)))[:-1]
            keep = t > run_max
            self.dropped += int(t.size - keep.sum())
            t, y = t[keep], y[keep]
        outs: list[GridChunk] = []
        if t.size == 0:
            return _empty_chunk()
        # Split the input at gaps longer than gap_s (including the gap from the previous call).
        prev = self._last_t
        breaks = np.flatnonzero(np.diff(np.concatenate(([prev], t))) > self.gap_s)
        bounds = [*breaks.tolist(), t.size]
        start = 0
        for b in bounds:
            if b > start:
                outs.append(self._segment(t[start:b], y[start:b]))
            if b < t.size:
                outs.append(self._gap(t[b]))
            start = b
        outs = [o for o in outs if o.t.size]
        if not outs:
            return _empty_chunk()
        if len(outs) == 1:
            return outs[0]
        return GridChunk(
            np.concatenate([o.t for o in outs]),
            np.concatenate([o.y for o in outs]),
            np.concatenate([o.valid for o in outs]),
            np.concatenate([o.restart for o in outs]),
        )

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

    def _segment(self, t: FloatArray, y: FloatArray) -> GridChunk:
        fs = self.fs_hz
        if self._k_next is None:
            self._k_next = int(np.ceil(t[0] * fs))
            self._restart_next = True
        self._last_t = float(t[-1])
        tt = np.concatenate((self._pending_t, t))
        yy = np.concatenate((self._pending_y, y))
        k_last = int(np.floor(tt[-1] * fs))
        if k_last < self._k_next:
            self._pending_t, self._pending_y = tt, yy
            return _empty_chunk()
        ks = np.arange(self._k_next, k_last + 1)
        g = ks / fs
        hi = np.searchsorted(tt, g, side="right")  # number of samples <= g
        lo = np.searchsorted(tt, (ks - 1) / fs, side="right")  # ... <= the previous grid point
        count = hi - lo
        vals = np.interp(g, tt, yy)
        many = count >= 2
        if many.any():
            # Sum each bin (lo, hi] with one reduceat over interleaved [start, end) pairs; a trailing 0
            # keeps the last end index inside the array.
            edges = np.column_stack((lo[many], hi[many])).ravel()
            sums = np.add.reduceat(np.append(yy, 0.0), edges)[::2]
            vals[many] = sums / count[many]
        # Keep the last sample <= the last emitted grid point (for interpolation) and everything after it.
        keep_from = max(int(hi[-1]) - 1, 0)
        self._pending_t, self._pending_y = tt[keep_from:], yy[keep_from:]
        self._k_next = k_last + 1
        restart = np.zeros(ks.size, bool)
        restart[0] = self._restart_next
        self._restart_next = False
        return GridChunk(g, vals, np.ones(ks.size, bool), restart)


def _empty_chunk() -> GridChunk:
    e = np.empty(0)
    return GridChunk(e, e.copy(), np.zeros(0, bool), np.zeros(0, bool))
