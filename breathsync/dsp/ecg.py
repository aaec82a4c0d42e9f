"""R-peak detection in an ECG and RR intervals from beat times (offline, zero-phase).

A deliberately simple detector: QRS band-pass (5-20 Hz, zero-phase), polarity chosen from the signal
itself (the side whose typical 2-s extremes are larger), ``find_peaks`` with a refractory distance
and a height threshold that adapts to the local R amplitude, and parabolic sub-sample refinement of
each peak. Good enough to feed :mod:`breathsync.dsp.rr` from a resting ECG; not a clinical detector.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

FloatArray = npt.NDArray[np.float64]

__all__ = ["MIN_FS_HZ", "ecg_rpeaks", "ecg_to_rr", "rr_from_beats"]

QRS_BAND_HZ: Final = (5.0, 20.0)
"""Band-pass keeping the QRS complex, dropping baseline wander, P/T waves and mains noise."""
REFRACTORY_S: Final = 0.28
"""Shortest allowed beat-to-beat distance (about 215 beats/min)."""
THRESHOLD_FRAC: Final = 0.35
"""A peak must reach this fraction of the local R amplitude."""
LOCAL_MAX_WINDOW_S: Final = 2.0
"""Window of the running maximum (at least one beat at >= 30 beats/min)."""
LEVEL_WINDOW_S: Final = 10.0
"""Window of the running median of those maxima: the local R amplitude, robust to single spikes."""
MIN_FS_HZ: Final = 40.0
"""Slowest ECG sampling the detector accepts: the QRS band (5-20 Hz) needs it."""


def _fs_of(t: FloatArray) -> float:
    d = np.diff(t)
    d = d[np.isfinite(d) & (d > 0)]
    return float(1.0 / np.median(d)) if d.size else float("nan")


def ecg_rpeaks(t: npt.ArrayLike, ecg: npt.ArrayLike) -> FloatArray:
    """R-peak times (s) of an ECG sampled (nearly) uniformly.

    Parameters
    ----------
    t : array_like
        Sample times (s), increasing.
    ecg : array_like
        ECG samples, any unit and polarity; NaN = missing (no beat is reported inside missing
        stretches).

    Returns
    -------
    ndarray
        Beat times (s), increasing; empty when the signal is too short, flat or sampled below :data:`MIN_FS_HZ`.
    """
    tt = np.asarray(t, dtype=np.float64).ravel()
    x = np.asarray(ecg, dtype=np.float64).ravel()
    n = min(tt.size, x.size)
    tt, x = tt[:n], x[:n]
    ok_t = np.isfinite(tt)
    tt, x = tt[ok_t], x[ok_t]
    fs = _fs_of(tt) if tt.size > 1 else float("nan")
    if not (np.isfinite(fs) and fs >= MIN_FS_HZ) or tt.size < int(2 * fs):
        return np.empty(0)
    missing = ~np.isfinite(x)
    if np.all(missing):
        return np.empty(0)
    if np.any(missing):
        idx = np.arange(x.size)
        x = x.copy()
        x[missing] = np.interp(idx[missing], idx[~missing], x[~missing])
    hi = min(QRS_BAND_HZ[1], 0.45 * fs)
    sos = signal.butter(2, (QRS_BAND_HZ[0], hi), "bandpass", fs=fs, output="sos")
    bp = signal.sosfiltfilt(sos, x - np.median(x))
    win = max(int(LOCAL_MAX_WINDOW_S * fs), 1)
    up = ndimage.maximum_filter1d(bp, win)
    down = -ndimage.minimum_filter1d(bp, win)
    # Polarity: the R wave is the side with the larger typical extreme over 2-s windows.
    xp = bp if np.median(up) >= np.median(down) else -bp
    local_max = np.maximum(ndimage.maximum_filter1d(xp, win), 0.0)
    step = max(win // 4, 1)
    coarse = local_max[::step]
    level = ndimage.median_filter(coarse, size=max(int(LEVEL_WINDOW_S * fs / step) | 1, 1), mode="nearest")
    level_full = np.interp(np.arange(xp.size), np.arange(coarse.size) * step, level)
    if not np.any(level_full > 0):
        return np.empty(0)
    peaks, _ = signal.find_peaks(xp, distance=max(int(REFRACTORY_S * fs), 1))
    peaks = peaks[(xp[peaks] > THRESHOLD_FRAC * level_full[peaks]) & (level_full[peaks] > 0)]
    if np.any(missing):
        # No beat inside (or within one refractory distance of) a missing stretch.
        near_missing = ndimage.binary_dilation(missing, iterations=max(int(REFRACTORY_S * fs), 1))
        peaks = peaks[~near_missing[peaks]]
    peaks = peaks[(peaks > 0) & (peaks < xp.size - 1)]
    # Parabolic sub-sample refinement.
    a, b, c = xp[peaks - 1], xp[peaks], xp[peaks + 1]
    den = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(den < 0, 0.5 * (a - c) / den, 0.0)
    delta = np.clip(delta, -0.5, 0.5)
    return np.asarray(np.interp(peaks + delta, np.arange(tt.size), tt), dtype=np.float64)


def rr_from_beats(beat_t: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """RR intervals from beat times: ``(t, rr_ms)`` with ``t`` the time of the beat ending each
    interval.

    Non-finite times are dropped; one beat or none gives empty arrays.
    """
    bt = np.asarray(beat_t, dtype=np.float64).ravel()
    bt = bt[np.isfinite(bt)]
    if bt.size < 2:
        return np.empty(0), np.empty(0)
    return bt[1:].copy(), np.diff(bt) * 1000.0


def ecg_to_rr(t: npt.ArrayLike, ecg: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """RR intervals of an ECG, as a heart-rate strap would report them: ``(t, rr_ms)`` with ``t`` the
    time of the beat ending each interval (:func:`ecg_rpeaks`, then :func:`rr_from_beats`)."""
    return rr_from_beats(ecg_rpeaks(t, ecg))
