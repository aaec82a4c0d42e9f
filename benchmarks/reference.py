"""Offline references the benchmarks score against, computed here and not by the code under test.

- Phase: zero-phase 2nd-order Butterworth band-pass 0.05-0.8 Hz (the offline reference of
  ../shared/notes/signal.md) + Hilbert transform, rotated so that 0 = inhale onset (trough) and
  pi = end of inhale (peak).
- Breath onsets (troughs): the NeuroKit2 ``khodadad2018`` recipe as described in its documentation (zero
  crossings of the cleaned signal, extremum between consecutive crossings, extrema whose amplitude step is
  below 0.3 x the median step are dropped, troughs and peaks alternate). Written here from that description.
  The cleaning is the phase reference's 0.05-0.8 Hz band, not khodadad2018's own 0.05-3 Hz: with 3 Hz the
  troughs agree better with NeuroKit2's ``rsp_peaks`` (F1 0.98 / 1.00 / 0.95 instead of 0.96 / 0.89 /
  0.69 on nk_rest5 / biosppy / icu), but on the ICU impedance recording 41% of their intervals are under
  1.5 s, i.e. over 40/min: the patient's heart beats at 132/min and its oscillations in the impedance
  signal pass the 3-Hz band as "breaths" (NeuroKit2 itself counts them too). bench_accuracy prints this
  comparison.
- Rate: 60 / trough-to-trough interval, held between troughs; 60 / the mean interval of the troughs of a
  trailing or a centred window.
- Where they can be trusted: a zero-phase filter and a Hilbert transform both use samples on either side,
  so near the end of a recording the reference is computed from half its usual input. Cutting the three
  real recordings short and recomputing moves the reference phase by 43 deg on average within 2 s of the
  cut, 16-19 deg at 2-6 s, 5 deg at 10-12 s and less from 12 s on (``reference_end_drift``; bench_accuracy
  prints the table). Scores are therefore taken only up to ``REF_SETTLED_S`` before a recording's end.
  The start is the mirror image (``reference_start_drift``: the same measurement on the time-reversed
  recording): 40 deg within 2 s, 7 deg at 12-14 s and under 5 deg from 14 s on (``REF_SETTLED_START_S``).
  The phase scores start later anyway (40 s of warm-up, as in notes/signal.md); breath onsets, which the
  live tracker gives from its first breath, are scored from there.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

REF_FS = 20.0
REF_BAND_HZ = (0.05, 0.8)  # the offline phase reference of ../shared/notes/signal.md; also for troughs
NK_BAND_HZ = (0.05, 3.0)  # NeuroKit2's khodadad2018 cleaning (../shared/notes/signal.md), for comparison
REF_SETTLED_S = 12.0  # the reference is scored up to this long before a recording's end (see above)
REF_SETTLED_START_S = 14.0  # ... and from this long after its start (onsets; see above)


def resample_uniform(t: np.ndarray, y: np.ndarray, fs: float = REF_FS) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of (t, y) onto a uniform grid at ``fs`` (NaN samples dropped first)."""
    ok = np.isfinite(y) & np.isfinite(t)
    t, y = t[ok], y[ok]
    grid = np.arange(t[0], t[-1], 1.0 / fs)
    if fs < 0.5 * np.median(np.diff(t)) ** -1:
        # Anti-alias before decimating: zero-phase low-pass at the new Nyquist / 2.
        fs_in = 1.0 / np.median(np.diff(t))
        sos = signal.butter(4, fs / 4.0, "low", fs=fs_in, output="sos")
        y = signal.sosfiltfilt(sos, y)
    return grid, np.interp(grid, t, y)


def reference_clean(y: np.ndarray, fs: float, band_hz: tuple[float, float] = REF_BAND_HZ) -> np.ndarray:
    sos = signal.butter(2, list(band_hz), "bandpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, y - np.mean(y))


def reference_phase(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference phase on a uniform 20 Hz grid: (grid_t, phase in [0, 2*pi))."""
    gt, gy = resample_uniform(t, y)
    clean = reference_clean(gy, REF_FS)
    analytic = signal.hilbert(clean)
    return gt, np.mod(np.angle(-analytic), 2 * np.pi)


def reference_end_drift(
    t: np.ndarray, y: np.ndarray, step_s: float = 7.3, margin_s: float = 20.0
) -> tuple[np.ndarray, np.ndarray]:
    """How far the reference phase moves when the recording ends earlier: the recording is cut every
    ``step_s`` from ``margin_s`` before its end back to ``margin_s`` after its start, the reference is
    recomputed on each shortened recording and compared with the full recording's reference. Returns
    (distance before the cut in s, absolute change in deg) for every grid sample of every cut."""
    gt, gph = reference_phase(t, y)
    full = np.unwrap(gph)
    dist, change = [], []
    for cut in np.arange(margin_s, t[-1] - t[0] - margin_s, step_s):
        keep = t <= t[-1] - cut
        ct, cph = reference_phase(t[keep], y[keep])
        dist.append(ct[-1] - ct)
        change.append(np.abs(circular_error_deg(cph, np.interp(ct, gt, full))))
    if not dist:
        return np.array([]), np.array([])
    return np.concatenate(dist), np.concatenate(change)


def reference_start_drift(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`reference_end_drift` at the recording's start: the same measurement on the recording played
    backwards (distance after the start in s, absolute change in deg)."""
    return reference_end_drift(-t[::-1], y[::-1])


def reference_extrema(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Trough and peak indices of a cleaned breathing signal (khodadad2018-style)."""
    x = clean - np.median(clean)
    sign = np.signbit(x)
    zc = np.flatnonzero(sign[1:] != sign[:-1]) + 1
    if zc.size < 3:
        return np.array([], int), np.array([], int)
    idx, kind = [], []
    for a, b in zip(zc[:-1], zc[1:], strict=True):
        seg = x[a:b]
        if seg[0] > 0 or (seg[0] == 0 and seg.mean() > 0):
            idx.append(a + int(np.argmax(seg)))
            kind.append(1)
        else:
            idx.append(a + int(np.argmin(seg)))
            kind.append(-1)
    idx_a = np.asarray(idx)
    kind_a = np.asarray(kind)
    # Drop extrema pairs whose amplitude step is small against the median step.
    while idx_a.size > 2:
        steps = np.abs(np.diff(x[idx_a]))
        med = np.median(steps)
        small = np.flatnonzero(steps < 0.3 * med)
        if small.size == 0:
            break
        i = small[np.argmin(steps[small])]
        idx_a = np.delete(idx_a, [i, i + 1])
        kind_a = np.delete(kind_a, [i, i + 1])
    # Enforce alternation: of two same-kind neighbours keep the more extreme one.
    keep_idx, keep_kind = [int(idx_a[0])], [int(kind_a[0])]
    for i, k in zip(idx_a[1:], kind_a[1:], strict=True):
        if k == keep_kind[-1]:
            if (k == 1 and x[i] > x[keep_idx[-1]]) or (k == -1 and x[i] < x[keep_idx[-1]]):
                keep_idx[-1] = int(i)
        else:
            keep_idx.append(int(i))
            keep_kind.append(int(k))
    ki = np.asarray(keep_idx)
    kk = np.asarray(keep_kind)
    return ki[kk == -1], ki[kk == 1]


def reference_onsets(t: np.ndarray, y: np.ndarray, band_hz: tuple[float, float] = REF_BAND_HZ) -> np.ndarray:
    """Inhale onset times (s) of a breathing recording."""
    gt, gy = resample_uniform(t, y)
    troughs, _ = reference_extrema(reference_clean(gy, REF_FS, band_hz))
    return gt[troughs]


def reference_rate(onsets: np.ndarray, at_t: np.ndarray) -> np.ndarray:
    """Breathing rate (breaths/min) at ``at_t``: 60 / the interval of the breath cycle containing each time."""
    out = np.full(at_t.shape, np.nan)
    if onsets.size < 2:
        return out
    k = np.searchsorted(onsets, at_t, side="right") - 1
    ok = (k >= 0) & (k < onsets.size - 1)
    out[ok] = 60.0 / (onsets[k[ok] + 1] - onsets[k[ok]])
    return out


def circular_error_deg(est: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Signed circular difference est - ref in degrees, in (-180, 180]."""
    d = np.angle(np.exp(1j * (est - ref)))
    return np.degrees(d)


def onset_f1(detected: np.ndarray, reference: np.ndarray, tol_s: float = 0.5) -> tuple[float, float, float]:
    """(precision, recall, F1) of detected onsets against reference onsets, one-to-one within +-tol_s."""
    used = np.zeros(reference.size, bool)
    tp = 0
    for d in detected:
        if reference.size == 0:
            break
        j = int(np.argmin(np.abs(reference - d) + used * 1e9))
        if not used[j] and abs(reference[j] - d) <= tol_s:
            used[j] = True
            tp += 1
    prec = tp / detected.size if detected.size else 0.0
    rec = tp / reference.size if reference.size else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1


def reference_rate_windowed(onsets: np.ndarray, at_t: np.ndarray, window_s: float = 30.0) -> np.ndarray:
    """Breathing rate (breaths/min) as a rate display means it: 60 / the mean interval of the breaths whose
    middle lies within +-window_s/2 of each time (NaN near the ends, where the window is not covered)."""
    out = np.full(at_t.shape, np.nan)
    if onsets.size < 3:
        return out
    iv = np.diff(onsets)
    mid = 0.5 * (onsets[1:] + onsets[:-1])
    csum = np.concatenate(([0.0], np.cumsum(iv)))
    lo = np.searchsorted(mid, at_t - window_s / 2, side="left")
    hi = np.searchsorted(mid, at_t + window_s / 2, side="right")
    n = hi - lo
    ok = (n >= 2) & (at_t - window_s / 2 >= onsets[0]) & (at_t + window_s / 2 <= onsets[-1])
    out[ok] = 60.0 / ((csum[hi[ok]] - csum[lo[ok]]) / n[ok])
    return out


def reference_rate_trailing(onsets: np.ndarray, at_t: np.ndarray, window_s: float) -> np.ndarray:
    """Breathing rate (breaths/min) as a live display defines it: 60 / the mean interval of the breaths
    whose onsets both lie in the trailing ``window_s`` before each time (at least two intervals; NaN until
    the recording covers a whole window)."""
    out = np.full(at_t.shape, np.nan)
    lo = np.searchsorted(onsets, at_t - window_s, side="left")
    hi = np.searchsorted(onsets, at_t, side="right")  # onsets[lo:hi] lie in the window
    n = hi - lo - 1  # intervals
    ok = (n >= 2) & (at_t - window_s >= (onsets[0] if onsets.size else np.inf))
    out[ok] = 60.0 * n[ok] / (onsets[hi[ok] - 1] - onsets[lo[ok]])
    return out


def reference_rate_causal(
    onsets: np.ndarray, at_t: np.ndarray, window_s: float = 40.0, min_n: int = 3
) -> np.ndarray:
    """The best a causal rate display could show given perfect onsets: the live pipeline's rule (60 / the mean
    interval of the breaths of the last ``window_s``, at least ``min_n`` intervals; 60 / the time since the
    last onset when that is already longer), fed the reference onsets the moment they happen. Scored against
    :func:`reference_rate_windowed` it is the floor any causal estimate of this kind reaches: what is left is
    the time the window needs to follow a change, not detection error."""
    out = np.full(at_t.shape, np.nan)
    iv = np.diff(onsets)
    for i, t in enumerate(at_t):
        k = int(np.searchsorted(onsets, t, side="right"))  # onsets[:k] happened by t
        if k < 2:
            continue
        total, n = 0.0, 0
        for v in iv[k - 2 :: -1]:
            if n >= min_n and total + v > window_s:
                break
            total += v
            n += 1
        out[i] = 60.0 / max(total / n, t - onsets[k - 1])
    return out


def neurokit2_troughs(t: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Inhale onsets (s) by NeuroKit2 itself (``rsp_clean`` + ``rsp_peaks``, khodadad2018), or None when
    neurokit2 (a benchmark-only extra) is not installed. Gaps are bridged linearly first (its own NaN
    handling needs an older pandas)."""
    try:
        import neurokit2 as nk
    except ImportError:
        return None
    ok = np.isfinite(y)
    yf = np.interp(t, t[ok], y[ok])
    fs = 1.0 / float(np.median(np.diff(t)))
    cleaned = nk.rsp_clean(yf, sampling_rate=fs, method="khodadad2018")
    _, info = nk.rsp_peaks(cleaned, sampling_rate=fs, method="khodadad2018")
    return t[np.asarray(info["RSP_Troughs"], int)]


def rise_fraction(t: np.ndarray, y: np.ndarray, minute_s: float = 60.0) -> tuple[float, float, float]:
    """How much of the time a breathing signal rises: the fraction of samples of its 1-Hz low-passed copy
    (2nd-order Butterworth, causal, on the 20-Hz grid) whose step is positive, over the whole recording and
    the lowest and highest over whole minutes. A signal that rises on inhale, with the inhale shorter than
    the exhale (about 40% of the cycle at rest), reads under 0.5: the cue breathsync.dsp.acc takes the
    accelerometer's sign from (and the live pipeline's "looks inverted" warning)."""
    _, gy = resample_uniform(t, y)
    sos = signal.butter(2, 1.0, "low", fs=REF_FS, output="sos")
    up = np.diff(signal.sosfilt(sos, gy - gy[0])) > 0
    up = up[int(5 * REF_FS) :]  # the filter's start
    n = int(minute_s * REF_FS)
    per = [float(np.mean(up[i : i + n])) for i in range(0, up.size - n + 1, n)]
    if not per:
        per = [float(np.mean(up))]
    return float(np.mean(up)), min(per), max(per)
