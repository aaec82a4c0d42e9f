"""The accelerometer paths on values so large that the filters or the covariance overflow.

Such data have no usable breathing axis: the output is NaN (downstream: no breathing), with no exception
and no RuntimeWarning (pytest turns breathsync's RuntimeWarnings into errors).
"""

from __future__ import annotations

import numpy as np

from breathsync.dsp.acc import AccRespiration, _principal_axis, acc_to_resp_offline

FS = 25.0


def huge(n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """The audit's file: acc_x = 1e308 * sin, acc_y = -1e308, acc_z = 1e308 at 25 Hz."""
    i = np.arange(n)
    t = i / FS
    xyz = np.column_stack([1e308 * np.sin(i * 0.06), np.full(n, -1e308), np.full(n, 1e308)])
    return t, xyz


def normal(t: np.ndarray) -> np.ndarray:
    """A plain breathing tilt: 25 mG at 15 breaths/min on top of 1 G of gravity."""
    return np.column_stack(
        [25 * np.sin(2 * np.pi * 0.25 * t), 1000 + 5 * np.cos(2 * np.pi * 0.25 * t), np.zeros(t.size)]
    )


def test_offline_gives_no_breathing_for_overflowing_values() -> None:
    t, xyz = huge()
    tt, y = acc_to_resp_offline(t, xyz)
    assert tt.size == t.size and np.all(np.isnan(y))


def test_offline_squares_that_overflow() -> None:
    t, xyz = huge()
    _, y = acc_to_resp_offline(t, xyz * 1e-108)  # 1e200: filters fine, the covariance overflows
    assert np.all(np.isnan(y))


def test_live_gives_no_breathing_for_overflowing_values() -> None:
    t, xyz = huge()
    live = AccRespiration(FS)
    out_t, y = live.process(t, xyz)
    assert out_t.size == t.size and np.all(np.isnan(y))
    assert live.axis is None or np.all(np.isfinite(live.axis))


def test_live_recovers_after_an_overflowing_stretch() -> None:
    t = np.arange(0, 120, 1 / FS)
    xyz = normal(t)
    xyz[(t > 10) & (t < 20)] = 1e308
    live = AccRespiration(FS)
    y = np.concatenate([live.process(t[i : i + 13], xyz[i : i + 13])[1] for i in range(0, t.size, 13)])
    assert np.all(np.isnan(y[(t > 10) & (t < 20)]))
    assert np.isfinite(y[t > 45]).all()  # the filters restarted: breathing again


def test_principal_axis_without_a_finite_covariance() -> None:
    inf = np.full(3, np.inf)
    assert _principal_axis(10.0, inf, np.full((3, 3), np.inf)) is None
    assert _principal_axis(10.0, np.zeros(3), np.full((3, 3), np.nan)) is None
    axis = _principal_axis(3.0, np.zeros(3), np.diag([1.0, 4.0, 2.0]))
    assert axis is not None and abs(abs(axis[1]) - 1.0) < 1e-12
