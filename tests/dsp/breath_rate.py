"""The rate a breathing test reads off a waveform (tests/dsp's ``from breath_rate import ...``)."""

from __future__ import annotations

import numpy as np


def dominant_rate_bpm(t: np.ndarray, y: np.ndarray) -> float:
    """The strongest frequency of ``y`` (its finite samples, mean removed, Hann-windowed, zero-padded 8x), in
    cycles a minute."""
    ok = np.isfinite(y)
    yy = y[ok] - np.mean(y[ok])
    fs = 1.0 / np.median(np.diff(t))
    n = 8 * yy.size
    f = np.fft.rfftfreq(n, 1 / fs)
    p = np.abs(np.fft.rfft(yy * np.hanning(yy.size), n))
    return float(60.0 * f[np.argmax(p)])
