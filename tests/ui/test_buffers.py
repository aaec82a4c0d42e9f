"""The dashboard's ring buffers: contiguous newest-last views, wrap-around, gaps as NaN."""

from __future__ import annotations

import numpy as np

from breathsync.ui.buffers import Ring, TraceRing


def test_ring_keeps_the_newest_in_order_across_wraps() -> None:
    r = Ring(5, 1)
    assert np.isnan(r.view(0)).all() and np.isnan(r.last(0))
    r.append(np.arange(3.0))
    assert np.allclose(r.view(0)[-3:], [0, 1, 2]) and np.isnan(r.view(0)[:2]).all()
    for k in range(3, 13):
        r.append(float(k))
    assert np.allclose(r.view(0), [8, 9, 10, 11, 12]) and r.last(0) == 12
    r.append(np.arange(100.0, 120.0))  # longer than the ring: the newest only
    assert np.allclose(r.view(0), np.arange(115.0, 120.0))
    assert r.view(0).base is not None  # a view, not a copy


def test_trace_ring_marks_gaps_with_nan() -> None:
    tr = TraceRing(50, gap_s=0.5)
    tr.add(np.array([0.0, 0.05, 0.1]), np.array([1.0, 2.0, 3.0]))
    tr.add(np.array([3.0, 3.05]), np.array([4.0, 5.0]))  # 2.9 s without samples
    y = tr.y[-6:]
    assert np.allclose(y[[0, 1, 2, 4, 5]], [1, 2, 3, 4, 5]) and np.isnan(y[3])
    assert np.all(np.diff(tr.t[-6:]) > 0)
