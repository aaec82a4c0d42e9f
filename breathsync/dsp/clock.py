"""Device time -> host time: offset and drift from notification arrivals, robust to BLE delivery jitter.

A notification stamped with device time ``x`` (e.g. a Polar PMD frame: the time of its last sample)
arrives on the host at ``y = offset + (1 + drift) * x + delay`` with ``delay >= 0`` random (connection
interval, radio retries, OS scheduling, occasional stalls of hundreds of ms). A least-squares fit of ``y``
on ``x`` would put the line in the middle of the delays (biased late by the mean delay, and dragged by
every stall). The earliest arrivals are the ones that carry the information: the line we want lies BELOW
all points and touches the lowest ones, i.e. it is an edge of the **lower convex hull** of the points.

:class:`ClockMapper` keeps, over a sliding window of device time, the earliest arrival per bin (e.g. one
second), takes the lower convex hull of those, and picks the supporting line that minimises the mean gap
to the points in the window (the linear-programming skew estimator of Moon, Skelly and Towsley, "Estimation
and removal of clock skew from network delay measurements", 1999): the hull edge above the window's mean
device time. The slope is held at 1 (no drift) until the window spans ``min_span_s`` and clamped to
+-``max_drift_ppm``. Streaming and causal: ``update`` with each arrival, ``to_host`` maps with the current
estimate. The fixed part of the latency (the smallest possible delay) cannot be told apart from the offset:
mapped times are "when it would have arrived with the least delay".

:class:`BeatClock` does the same for heart-rate straps, which send no device time: the running sum of RR
intervals is the strap's clock (each notification's last beat is at the sum so far), the arrival comes
after that beat (straps notify about once a second, so by up to a second, plus the BLE delay), and the
lower envelope of ``arrival - sum`` over the last two minutes gives the offset. Lost notifications (their RR
values never arrive, so the sum falls behind) are detected and the chain is re-anchored.

Pure numpy, no I/O, no asyncio.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from breathsync.dsp._types import FloatArray


def lower_hull(x: FloatArray, y: FloatArray) -> np.ndarray:
    """Indices of the lower convex hull of points sorted by ``x`` (Andrew's monotone chain)."""
    idx: list[int] = []
    x, y = x.tolist(), y.tolist()  # Python floats: the same arithmetic, without an array access per term
    for i in range(len(x)):
        while len(idx) >= 2:
            a, b = idx[-2], idx[-1]
            # Drop b when it lies on or above the segment a -> i.
            if (y[b] - y[a]) * (x[i] - x[a]) >= (y[i] - y[a]) * (x[b] - x[a]):
                idx.pop()
            else:
                break
        idx.append(i)
    return np.asarray(idx, dtype=np.intp)


def envelope_line(
    x: FloatArray, y: FloatArray, min_span: float = 0.0, max_slope: float = np.inf
) -> tuple[float, float]:
    """The line ``y = a + s x`` below all points that minimises the mean gap to them: (a, s).

    ``s`` is 0 when the points span less than ``min_span`` in ``x``, and clamped to +-``max_slope``.
    """
    if x.size == 0:
        raise ValueError("envelope_line needs at least one point")
    s = 0.0
    if x.size >= 2 and x[-1] - x[0] >= min_span:
        h = lower_hull(x, y)
        if h.size >= 2:
            xm = float(np.mean(x))
            k = int(np.searchsorted(x[h], xm, side="right")) - 1
            k = min(max(k, 0), h.size - 2)
            i, j = h[k], h[k + 1]
            s = float((y[j] - y[i]) / (x[j] - x[i]))
    s = float(np.clip(s, -max_slope, max_slope))
    a = float(np.min(y - s * x))
    return a, s


class ClockMapper:
    """Streaming estimate of ``host = offset + (1 + drift) * device`` from (device time, arrival) pairs.

    Parameters
    ----------
    window_s:
        Device-time span of the points kept (older bins are dropped).
    bin_s:
        Only the earliest arrival (relative to slope 1) per bin of this many device seconds is kept.
    min_span_s:
        Drift is estimated only once the kept points span this long (before: offset only). Over shorter
        spans the slope of the envelope is noisier than a crystal's drift (a few ms of delay noise over
        30 s is 100+ ppm), while holding it at 0 costs at most drift x span (20 ppm x 120 s = 2.4 ms).
    max_drift_ppm:
        Drift estimates are clamped to this (crystals: tens of ppm).
    reset_s:
        A point whose residual against the current estimate is below ``-reset_s`` (arrived before it
        could have been sent), or above ``+reset_s`` for longer than ``confirm_s`` of device time, or a
        device time going backwards, means the device clock jumped (Polar: reset after a power-down,
        a reconnection): the estimator starts again (``resets`` counts it).
    """

    def __init__(
        self,
        window_s: float = 600.0,
        bin_s: float = 1.0,
        min_span_s: float = 120.0,
        max_drift_ppm: float = 200.0,
        reset_s: float = 2.0,
        confirm_s: float = 5.0,
    ) -> None:
        self.window_s = float(window_s)
        self.bin_s = float(bin_s)
        self.min_span_s = float(min_span_s)
        self.max_drift = float(max_drift_ppm) * 1e-6
        self.reset_s = float(reset_s)
        self.confirm_s = float(confirm_s)
        self.resets = 0
        self._x0 = 0.0
        self._y0 = 0.0
        self._bins: deque[tuple[int, float, float]] = deque()  # (bin, x rel, y rel - x rel)
        self._a = 0.0
        self._s = 0.0
        self._dirty = False
        self._last_x: float | None = None
        self._pending: list[tuple[float, float]] = []

    @property
    def ready(self) -> bool:
        """Whether at least one point has been seen."""
        return bool(self._bins)

    @property
    def drift_ppm(self) -> float:
        self._fit()
        return self._s * 1e6

    @property
    def offset_s(self) -> float:
        """Host time of device time 0 under the current estimate."""
        self._fit()
        return self._y0 - self._x0 + self._a - self._s * self._x0

    def update(self, device_t: float | FloatArray, host_t: float | FloatArray) -> None:
        """Add arrivals: ``host_t`` is when the notification stamped ``device_t`` arrived."""
        xs = np.atleast_1d(np.asarray(device_t, dtype=np.float64))
        ys = np.atleast_1d(np.asarray(host_t, dtype=np.float64))
        for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
            self._add(x, y)

    def _restart(self, x: float, y: float) -> None:
        self._x0, self._y0 = x, y
        self._bins.clear()
        self._a = self._s = 0.0
        self._dirty = False

    def _add(self, x: float, y: float) -> None:
        if not (np.isfinite(x) and np.isfinite(y)):
            return
        if not self._bins:
            self._restart(x, y)
        elif self._last_x is not None and x < self._last_x - self.reset_s:
            self.resets += 1
            self._restart(x, y)
            self._pending.clear()
        else:
            r = y - self.to_host_scalar(x)
            if r < -self.reset_s:
                self.resets += 1
                self._restart(x, y)
                self._pending.clear()
            elif r > self.reset_s:
                self._pending.append((x, y))
                if x - self._pending[0][0] < self.confirm_s:
                    self._last_x = x
                    return
                pend, self._pending = self._pending, []
                self.resets += 1
                self._restart(*pend[0])
                for px, py in pend[1:]:
                    self._insert(px, py)
                self._last_x = x
                return
            else:
                self._pending.clear()
        self._last_x = x
        self._insert(x, y)

    def _insert(self, x: float, y: float) -> None:
        xr = x - self._x0
        r = (y - self._y0) - xr
        k = int(np.floor(xr / self.bin_s)) if self.bin_s > 0 else len(self._bins)
        if self._bins and self._bins[-1][0] == k:
            if r < self._bins[-1][2]:
                self._bins[-1] = (k, xr, r)
                self._dirty = True
        elif self._bins and k < self._bins[-1][0]:
            # Out of order within the window (rare): keep it only if it is the earliest of its bin.
            for i, (kb, _, rb) in enumerate(self._bins):
                if kb == k:
                    if r < rb:
                        self._bins[i] = (k, xr, r)
                        self._dirty = True
                    return
            return
        else:
            self._bins.append((k, xr, r))
            self._dirty = True
        while self._bins and self._bins[-1][1] - self._bins[0][1] > self.window_s:
            self._bins.popleft()

    def _fit(self) -> None:
        if not self._dirty:
            return
        pts = np.asarray([(b[1], b[2]) for b in self._bins], dtype=np.float64)
        self._a, self._s = envelope_line(pts[:, 0], pts[:, 1], self.min_span_s, self.max_drift)
        self._dirty = False

    def to_host_scalar(self, device_t: float) -> float:
        """One device time (s) on the host's clock (s), by the current fit of the offset and drift."""
        self._fit()
        xr = device_t - self._x0
        return self._y0 + xr + self._a + self._s * xr

    def to_host(self, device_t: float | FloatArray) -> FloatArray:
        """Host times of device times under the current estimate (NaN before any point)."""
        x = np.atleast_1d(np.asarray(device_t, dtype=np.float64))
        if not self._bins:
            return np.full(x.shape, np.nan)
        self._fit()
        xr = x - self._x0
        out: FloatArray = self._y0 + xr + self._a + self._s * xr
        return out


class BeatClock:
    """Beat times on the host time base for straps that send RR intervals but no device time.

    Feed each notification's RR intervals (ms, oldest first) with its arrival time; get back the host
    time of each beat (the beat that ENDS each RR interval). The RR running sum is the strap's clock; the
    offset is the lower envelope of ``arrival - sum`` over ``window_s`` (slope 1: a strap's crystal drifts
    by a millisecond a minute at most). Straps notify on their own schedule (about once a second), so a
    beat is reported 0-1 s after it happened: the envelope of n notifications is late by about 1/(n+1) s
    (about 10-30 ms with the default two minutes, see benchmarks/bench_devices.py). Beat times never come after their notification's arrival and
    never go backwards.

    Lost notifications: their RR values never arrive, so the sum falls behind and later arrivals look
    late. A residual above ``max_latency_s`` (no strap reports a beat that late) re-anchors the chain at
    once; when the earliest of the last ``confirm_n`` notifications is still ``stale_s`` later than the
    envelope, the points before them are dropped (the envelope follows the new chain).
    """

    def __init__(
        self,
        window_s: float = 120.0,
        max_latency_s: float = 1.5,
        stale_s: float = 0.3,
        confirm_n: int = 15,
    ) -> None:
        self.window_s = float(window_s)
        self.max_latency_s = float(max_latency_s)
        self.stale_s = float(stale_s)
        self.confirm_n = int(confirm_n)
        self.reanchors = 0
        self._sum = 0.0  # strap clock: seconds of RR so far
        self._pts: deque[tuple[float, float]] = (
            deque()
        )  # (sum at the notification's last beat, arrival - sum)
        self._last_out = -np.inf

    @property
    def offset_s(self) -> float:
        """Host time of strap-clock 0 (NaN before any beat)."""
        return min(r for _, r in self._pts) if self._pts else float("nan")

    def update(self, rr_ms: FloatArray | list[float], arrival_s: float) -> FloatArray:
        """Host times of the beats closing the given RR intervals (empty when there are none)."""
        rr = np.asarray(rr_ms, dtype=np.float64).reshape(-1)
        rr = rr[np.isfinite(rr) & (rr > 0)]
        if rr.size == 0:
            return np.empty(0)
        c = self._sum + np.cumsum(rr) / 1000.0
        self._sum = float(c[-1])
        r = arrival_s - self._sum
        if self._pts:
            base = self.offset_s
            if r - base > self.max_latency_s:
                self.reanchors += 1
                self._pts.clear()
        self._pts.append((self._sum, r))
        while self._pts and self._sum - self._pts[0][0] > self.window_s:
            self._pts.popleft()
        if len(self._pts) > self.confirm_n:
            recent = list(self._pts)[-self.confirm_n :]
            older = list(self._pts)[: -self.confirm_n]
            if min(p[1] for p in recent) - min(p[1] for p in older) > self.stale_s:
                self.reanchors += 1
                self._pts = deque(recent)
        t = c + self.offset_s
        t = np.minimum(t, arrival_s)
        t = np.maximum.accumulate(np.maximum(t, self._last_out + 1e-6))
        self._last_out = float(t[-1])
        return t
