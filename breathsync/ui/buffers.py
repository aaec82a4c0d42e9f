"""Preallocated ring buffers the dashboard draws from (numpy only, no Qt).

Each ring keeps its data twice, side by side (``capacity`` slots written at ``i`` and ``i + capacity``), so
the newest ``capacity`` values are always one contiguous view: drawing never concatenates or copies. Unused
slots hold NaN, which the plots skip (``connect='finite'``). Nothing here computes anything about breathing:
the rings only hold what the session published.
"""

from __future__ import annotations

import math

import numpy as np

from breathsync.dsp._types import FloatArray

__all__ = ["Ring", "TraceRing"]


class Ring:
    """A fixed-size ring of ``width`` float columns."""

    def __init__(self, capacity: int, width: int = 2) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self.capacity = capacity
        self._buf = np.full((width, 2 * capacity), np.nan)
        self._i = 0  # next slot to write (also the oldest kept value)
        self.count = 0  # values written so far (saturates at capacity for views)

    def append(self, *cols: FloatArray | float) -> None:
        """Append equally long columns (or scalars: one row)."""
        if all(isinstance(c, float) for c in cols):  # one row of numbers (a pair's meter): 4 us, not 55
            i, n = self._i, self.capacity
            self._buf[:, i] = cols
            self._buf[:, i + n] = cols
            self._i = (i + 1) % n
            self.count += 1
            return
        arrs = [np.atleast_1d(np.asarray(c, float)) for c in cols]
        m = arrs[0].size
        if m == 0:
            return
        n = self.capacity
        if m > n:
            arrs = [a[-n:] for a in arrs]
            m = n
        idx = (self._i + np.arange(m)) % n
        for row, a in enumerate(arrs):
            self._buf[row, idx] = a
            self._buf[row, idx + n] = a
        self._i = int((self._i + m) % n)
        self.count += m

    def view(self, row: int) -> FloatArray:
        """Column ``row``, oldest first, ``capacity`` long (NaN where nothing was written yet); no copy."""
        return self._buf[row, self._i : self._i + self.capacity]

    def last(self, row: int) -> float:
        if self.count == 0:
            return math.nan
        return float(self._buf[row, self._i + self.capacity - 1])

    def clear(self) -> None:
        self._buf.fill(np.nan)
        self._i = 0
        self.count = 0


class TraceRing(Ring):
    """(time, value) samples of one scrolling trace; a jump in time longer than ``gap_s`` is stored as a
    NaN point, so the trace shows a gap instead of a straight line across it."""

    def __init__(self, capacity: int, gap_s: float = 0.5) -> None:
        super().__init__(capacity, 2)
        self.gap_s = gap_s

    def add(self, t: FloatArray, y: FloatArray) -> None:
        if t.size == 0:
            return
        last = self.last(0)
        if math.isfinite(last) and float(t[0]) - last > self.gap_s:
            self.append(last + 1e-3, math.nan)
        self.append(t, y)

    @property
    def t(self) -> FloatArray:
        return self.view(0)

    @property
    def y(self) -> FloatArray:
        return self.view(1)
