"""The offline (zero-phase) respiration pipeline: best accuracy for reports, and the live path's reference.

Same grid as the live path (:class:`~breathsync.dsp.resample.GridResampler`), then per gap-free segment:

- clean: 2nd-order Butterworth band-pass 0.05-0.8 Hz run forwards and backwards (``sosfiltfilt``): the
  offline reference filter of ../shared/notes/signal.md;
- phase: Hilbert transform of the clean signal, rotated to the project's convention (0 = inhale onset,
  pi = end of inhale);
- breath onsets: troughs of the clean signal with a prominence of at least ``prominence`` x the local
  breath amplitude (twice the Hilbert envelope), so shallow breaths between deep ones still count;
- rate: 60 / the interval from each onset to the next, held over that breath.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from breathsync.dsp._types import FloatArray
from breathsync.dsp.resample import GridResampler


@dataclass
class OfflineResult:
    """Offline analysis of one breathing signal on a uniform grid (NaN inside gaps)."""

    t: FloatArray
    clean: FloatArray
    phase: FloatArray
    rate_bpm: FloatArray
    onsets_s: FloatArray


def _segments(valid: np.ndarray, restart: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index ranges of the gap-free runs: valid runs, split where the grid restarted."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], valid.astype(np.int8), [0]))))
    out: list[tuple[int, int]] = []
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        cuts = [a, *(a + np.flatnonzero(restart[a + 1 : b]) + 1).tolist(), b]
        out.extend(zip(cuts[:-1], cuts[1:], strict=True))
    return out


def offline_breathing(
    t: FloatArray,
    y: FloatArray,
    *,
    fs_hz: float = 20.0,
    band_hz: tuple[float, float] = (0.05, 0.8),
    gap_s: float = 2.0,
    prominence: float = 0.3,
    invert: bool = False,
) -> OfflineResult:
    """Zero-phase analysis of a whole breathing recording (see the module docstring)."""
    y = np.asarray(y, dtype=float)
    if invert:
        y = -y
    grid = GridResampler(fs_hz, gap_s).process(np.asarray(t, dtype=float), y)
    n = grid.t.size
    clean = np.full(n, np.nan)
    phase = np.full(n, np.nan)
    rate = np.full(n, np.nan)
    onsets: list[FloatArray] = []
    sos = signal.butter(2, band_hz, "bandpass", fs=fs_hz, output="sos")
    min_len = 3 * 6 * 2  # sosfiltfilt's default padding for two sections
    for a, b in _segments(grid.valid, grid.restart):
        if b - a <= min_len:
            continue
        x = grid.y[a:b]
        c = signal.sosfiltfilt(sos, x - np.mean(x))
        analytic = signal.hilbert(c)
        clean[a:b] = c
        phase[a:b] = np.mod(np.angle(-analytic), 2 * np.pi)
        amp = 2.0 * np.abs(analytic)
        troughs, _ = signal.find_peaks(
            -c, prominence=(prominence * amp, None), distance=max(1, int(1.0 * fs_hz))
        )
        tt = grid.t[a:b]
        ons = tt[troughs]
        onsets.append(ons)
        if ons.size >= 2:
            k = np.searchsorted(ons, tt, side="right") - 1
            ok = (k >= 0) & (k < ons.size - 1)
            seg_rate = np.full(b - a, np.nan)
            seg_rate[ok] = 60.0 / (ons[k[ok] + 1] - ons[k[ok]])
            rate[a:b] = seg_rate
    all_onsets = np.concatenate(onsets) if onsets else np.empty(0)
    return OfflineResult(grid.t, clean, phase, rate, all_onsets)
