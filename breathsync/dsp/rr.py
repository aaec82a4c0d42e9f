"""Breathing waveform from heart beats (respiratory sinus arrhythmia, RSA).

The heart speeds up during inhale and slows down during exhale, so the RR interval series carries
the breathing rhythm (see ../shared/notes/signal.md, "Breathing from heart-rate straps only").
Recipe:

1. Beat times: a strap reports each RR interval in a notification whose host time is *after* the
   beat (Polar H10: about one notification per second, sometimes two beats in one notification,
   sometimes a notification late). The beat time is rebuilt from the RR intervals themselves,
   ``t_k = t_(k-1) + rr_k``, never later than ``host_k``; when it falls more than ``max_latency_s``
   behind ``host_k`` (beats lost) it is re-anchored on ``host_k``. For beats detected in an ECG
   (exact times) this is a no-op.
2. Artefacts: RR outside 300-2000 ms (30-200 beats/min) or deviating from a local median by more
   than ``MAX_DEV_FRAC`` (ectopic beats, missed or extra detections) are dropped from the
   interpolation nodes (their time still advances the beat clock); the waveform is linearly
   interpolated across them.
3. Each RR value is placed at the MIDPOINT of its interval (it is the mean heart period over that
   interval; stamping it at the closing beat, the usual convention, would delay the waveform by half
   an RR, 0.3-0.5 s) and linearly interpolated onto a uniform 4 Hz grid anchored at absolute
   multiples of 0.25 s (grids of every participant line up).
4. Band-pass 0.05-0.5 Hz (2nd-order Butterworth, i.e. 4 poles). The lower edge is deliberately below
   the usual 0.1 Hz: slow paced breathing at 6 breaths/min (0.1 Hz) is exactly the training
   situation and must sit inside the pass band, not on its edge (a 0.1 Hz edge shifts a 0.1 Hz
   rhythm by 90 degrees).
5. Inverted (RR shortens on inhale) so that the waveform RISES ON INHALE. Units: milliseconds of RR.

Offline: :func:`rr_to_resp_offline` (zero-phase ``sosfiltfilt``). Live: :class:`RRRespiration`
(causal ``sosfilt``, beat by beat, independent of how beats are chunked).

Inherent lag of the live path (:data:`INHERENT_LAG_S`, :func:`inherent_lag_s`): a grid sample at
time ``tau`` can only be interpolated once the node after ``tau`` is known, i.e. when the beat that
closes the next RR interval arrives: the newest sample is half an RR old when a beat arrives and
1.5 RR old just before the next one, one RR (1 s at 60 beats/min) on average. The causal band-pass
then shifts a breathing rhythm by its phase delay at the breathing frequency (computed from the
filter's frequency response, see :data:`FILTER_PHASE_DELAY_S`: +0.29 s at 15 breaths/min, but a
LEAD of 0.80 s at 6 breaths/min, below the band-pass centre frequency). Hence about 1.29 s at
60 beats/min and 15 breaths/min; BLE notification latency (up to about 1 s) comes on top.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from breathsync.dsp import _sos

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "BAND_HZ",
    "FILTER_GROUP_DELAY_S",
    "FILTER_PHASE_DELAY_S",
    "INHERENT_LAG_S",
    "RESAMPLE_FS_HZ",
    "RRRespiration",
    "beat_times_from_rr",
    "filter_phase_delay_s",
    "inherent_lag_s",
    "rr_artefacts",
    "rr_to_resp_offline",
]

RESAMPLE_FS_HZ: Final = 4.0
"""Uniform grid rate of the derived waveform (Hz)."""
BAND_HZ: Final = (0.05, 0.5)
"""Band-pass edges (Hz): 3-30 breaths/min."""
FILTER_ORDER: Final = 2
RR_MIN_MS: Final = 300.0
"""Shortest plausible RR interval (200 beats/min)."""
RR_MAX_MS: Final = 2000.0
"""Longest plausible RR interval (30 beats/min)."""
MAX_DEV_FRAC: Final = 0.3
"""A beat whose RR deviates from the local median by more than this fraction is an artefact. RSA
itself swings RR by up to about +-20 % around its median in slow deep breathing, ectopic beats by 30
% or more."""
MEDIAN_BEATS: Final = 9
"""Beats in the local median window (centred offline, trailing live)."""
MAX_GAP_S: Final = 4.0
"""Interpolation nodes further apart than this (s) are a gap: the waveform is NaN there and
restarts."""
MAX_LATENCY_S: Final = 1.5
"""A beat is assumed to reach the host at most this long after it happened (s)."""
MIN_SEGMENT_S: Final = 10.0
"""Offline: segments between gaps shorter than this (s) are too short to band-pass and stay NaN."""
NOMINAL_RATE_BPM: Final = 15.0
NOMINAL_RR_MS: Final = 1000.0


@lru_cache(maxsize=16)
def _design(band_hz: tuple[float, float], fs_hz: float) -> FloatArray:
    """Butterworth band-pass (second-order sections) for ``band_hz`` at ``fs_hz``."""
    lo, hi = float(band_hz[0]), min(float(band_hz[1]), 0.45 * fs_hz)
    if not 0 < lo < hi:
        raise ValueError(f"band_hz must satisfy 0 < low < high < 0.45 * fs, got {band_hz}")
    sos = signal.butter(FILTER_ORDER, (lo, hi), "bandpass", fs=fs_hz, output="sos")
    return np.asarray(sos, dtype=np.float64)


_SOS: Final = _design(BAND_HZ, RESAMPLE_FS_HZ)


def _filter_delays(rate_bpm: float) -> tuple[float, float]:
    """(phase delay, group delay) in seconds of the causal band-pass at ``rate_bpm`` breaths/min."""
    f_hz = rate_bpm / 60.0
    _, h = signal.sosfreqz(_SOS, worN=[f_hz], fs=RESAMPLE_FS_HZ)
    phase_delay = float(-np.angle(h[0]) / (2 * np.pi * f_hz))
    b, a = signal.sos2tf(_SOS)
    _, gd = signal.group_delay((b, a), w=[f_hz], fs=RESAMPLE_FS_HZ)
    return phase_delay, float(gd[0]) / RESAMPLE_FS_HZ


FILTER_PHASE_DELAY_S: Final[dict[float, float]] = {
    r: _filter_delays(r)[0] for r in (6.0, 10.0, 15.0, 20.0, 30.0)
}
"""Phase delay (s) of the causal band-pass by breathing rate (breaths/min); negative = lead.
Computed at import from the filter: about {6: -0.80, 10: +0.03, 15: +0.29, 20: +0.40, 30: +0.50}."""
FILTER_GROUP_DELAY_S: Final[dict[float, float]] = {
    r: _filter_delays(r)[1] for r in (6.0, 10.0, 15.0, 20.0, 30.0)
}
"""Group delay (s) of the causal band-pass (delay of the envelope, not of the phase) by breathing
rate."""


def filter_phase_delay_s(rate_bpm: float) -> float:
    """Phase delay (s) of the live path's causal band-pass at ``rate_bpm`` breaths/min; negative: a lead.
    The part of :func:`inherent_lag_s` that is in the live waveform's timestamps (its samples are stamped at
    the times they describe; the wait for the next beat is a delay of availability, not of the stamps): what a
    recording of live-derived breathing keeps offline."""
    return _filter_delays(rate_bpm)[0]


def inherent_lag_s(rate_bpm: float = NOMINAL_RATE_BPM, rr_ms: float = NOMINAL_RR_MS) -> float:
    """Worst-case lag (s) of the live RR-derived waveform behind breathing.

    Sum of the wait for the next beat (one RR interval: a grid sample is interpolated only once the
    beat after it is known) and the causal band-pass phase delay at the breathing rate.
    Physiological RSA latency and BLE notification latency (up to about 1 s on a Polar H10) come on
    top.
    """
    return rr_ms / 1000.0 + _filter_delays(rate_bpm)[0]


INHERENT_LAG_S: Final = inherent_lag_s()
"""Lag at 15 breaths/min and 60 beats/min: 1.0 s wait + 0.29 s filter phase delay = about 1.29 s."""


def _as_1d(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64).ravel()


def beat_times_from_rr(
    host_t: npt.ArrayLike, rr_ms: npt.ArrayLike, max_latency_s: float = MAX_LATENCY_S
) -> FloatArray:
    """Beat times (s) rebuilt from RR intervals: never after ``host_t``, re-anchored if far behind.

    ``host_t`` is when each beat's RR reached the host (NaN rows give NaN). A beat whose RR is
    missing or non-positive takes its host time.
    """
    ht, rr = _as_1d(host_t), _as_1d(rr_ms)
    out = np.full(ht.shape, np.nan)
    prev = np.nan
    for k in range(ht.size):
        prev = _next_beat_time(prev, ht[k], rr[k] if k < rr.size else np.nan, max_latency_s)
        out[k] = prev if np.isfinite(ht[k]) else np.nan
    return out


def _next_beat_time(prev_t: float, host_t: float, rr_ms: float, max_latency_s: float) -> float:
    if not np.isfinite(host_t):
        return prev_t
    ok = np.isfinite(prev_t) and np.isfinite(rr_ms) and rr_ms > 0
    est = prev_t + rr_ms / 1000.0 if ok else host_t
    if est < host_t - max_latency_s:
        est = host_t  # beats were lost (or the clock jumped): re-anchor on the host time
    return float(min(est, host_t))


def _is_artefact(rr_ms: float, median_ms: float) -> bool:
    if not (RR_MIN_MS <= rr_ms <= RR_MAX_MS):  # also catches NaN
        return True
    return bool(np.isfinite(median_ms) and abs(rr_ms - median_ms) > MAX_DEV_FRAC * median_ms)


def rr_artefacts(rr_ms: npt.ArrayLike, causal: bool = False) -> npt.NDArray[np.bool_]:
    """Mask of artefact beats: RR outside 300-2000 ms or far (``MAX_DEV_FRAC``) from the local
    median.

    The median is over ``MEDIAN_BEATS`` in-range beats, centred (offline) or the preceding ones
    (``causal=True``, what :class:`RRRespiration` does).
    """
    rr = _as_1d(rr_ms)
    in_range = (rr >= RR_MIN_MS) & (rr <= RR_MAX_MS)
    if causal:
        out = np.zeros(rr.shape, bool)
        hist: list[float] = []
        for k, v in enumerate(rr):
            med_k = float(np.median(hist)) if len(hist) >= 3 else np.nan
            out[k] = _is_artefact(float(v), med_k)
            if in_range[k]:
                hist = [*hist[-(MEDIAN_BEATS - 2) :], float(v)]
        return out
    vals = np.where(in_range, rr, np.nan)
    half = MEDIAN_BEATS // 2
    padded = np.concatenate([np.full(half, np.nan), vals, np.full(half, np.nan)])
    win = sliding_window_view(padded, MEDIAN_BEATS)
    counts = np.sum(np.isfinite(win), axis=1)
    med = np.full(rr.shape, np.nan)
    enough = counts >= 3
    if np.any(enough):
        med[enough] = np.nanmedian(win[enough], axis=1)
    dev = np.abs(rr - med)
    return ~in_range | (np.isfinite(med) & (dev > MAX_DEV_FRAC * med))


def rr_to_resp_offline(
    beat_t: npt.ArrayLike,
    rr_ms: npt.ArrayLike,
    fs: float = RESAMPLE_FS_HZ,
    band_hz: tuple[float, float] = BAND_HZ,
) -> tuple[FloatArray, FloatArray]:
    """Zero-phase RR-derived breathing waveform (rises on inhale), on a uniform grid.

    Parameters
    ----------
    beat_t : array_like
        Host time (s) of each beat (increasing); rebuilt with :func:`beat_times_from_rr`.
    rr_ms : array_like
        RR interval (ms) ending at each beat.
    fs : float
        Grid rate (Hz); the grid is anchored at absolute multiples of ``1 / fs``.
    band_hz : (float, float)
        Band-pass edges (Hz). ``(0.1, 0.5)`` rejects more low-frequency (Mayer wave) heart-rate
        variability at rest but distorts breathing slower than about 8 breaths/min.

    Returns
    -------
    t, y : ndarray
        Grid times (s) and waveform (ms of inverted, band-passed RR); NaN in gaps and in segments
        too short to filter. Empty arrays when there is not enough data.
    """
    ht, rr = _as_1d(beat_t), _as_1d(rr_ms)
    n = min(ht.size, rr.size)
    ht, rr = ht[:n], rr[:n]
    empty = (np.empty(0), np.empty(0))
    if n < 2 or not fs > 0:
        return empty
    tb = beat_times_from_rr(ht, rr)
    good = ~rr_artefacts(rr) & np.isfinite(tb)
    # Each RR value is placed at the midpoint of its interval: the time it is an average over.
    tn, vn = tb[good] - rr[good] / 2000.0, rr[good]
    if tn.size >= 2:  # drop non-increasing nodes
        keep = np.concatenate([[True], np.diff(tn) > 0])
        while not np.all(keep):
            tn, vn = tn[keep], vn[keep]
            keep = np.concatenate([[True], np.diff(tn) > 0])
    if tn.size < 2:
        return empty
    k0, k1 = int(np.floor(tn[0] * fs)) + 1, int(np.floor(tn[-1] * fs))
    if k1 < k0:
        return empty
    t = np.arange(k0, k1 + 1) / fs
    x = np.interp(t, tn, vn)
    y = np.full(t.shape, np.nan)
    # Segments: grid samples whose enclosing node pair is not a gap.
    j = np.clip(np.searchsorted(tn, t, side="left"), 1, tn.size - 1)
    in_gap = (tn[j] - tn[j - 1]) > MAX_GAP_S
    seg_id = np.cumsum(np.concatenate([[0], np.diff(in_gap.astype(int)) != 0]))
    sos = _design((float(band_hz[0]), float(band_hz[1])), float(fs))
    padlen = 3 * (2 * sos.shape[0] + 1)
    for s in np.unique(seg_id):
        idx = np.flatnonzero((seg_id == s) & ~in_gap)
        if idx.size < max(MIN_SEGMENT_S * fs, padlen + 1):
            continue
        seg = x[idx]
        y[idx] = -signal.sosfiltfilt(sos, seg - np.mean(seg))
    return t, y


class RRRespiration:
    """Live (causal) RR-derived breathing waveform, beat by beat.

    Each call returns the grid samples (4 Hz, anchored at absolute multiples of 0.25 s) that became
    computable with the new beats: a grid sample is emitted once the first accepted beat after it
    has arrived. The output is identical whatever the chunking of the input beats. When accepted
    beats are more than ``max_gap_s`` apart, the grid samples in between are emitted as NaN (at most
    ``max_nan_samples`` of them) and the filter restarts from the next beat.

    Inherent lag: up to one RR interval of waiting for the next beat plus the band-pass phase delay
    at the breathing rate; see :func:`inherent_lag_s` (``lag_s`` holds the value at 15 breaths/min
    and the current median RR).

    Attributes
    ----------
    n_beats, n_artefacts : int
        Beats seen and beats dropped as artefacts (out of range, far from the local median, out of
        order).
    """

    fs_hz: float = RESAMPLE_FS_HZ

    def __init__(
        self,
        max_gap_s: float = MAX_GAP_S,
        max_latency_s: float = MAX_LATENCY_S,
        max_nan_samples: int = 4 * 3600,
        band_hz: tuple[float, float] = BAND_HZ,
    ) -> None:
        self._sos = _design((float(band_hz[0]), float(band_hz[1])), self.fs_hz)
        self.max_gap_s = float(max_gap_s)
        self.max_latency_s = float(max_latency_s)
        self.max_nan_samples = int(max_nan_samples)
        self.n_beats = 0
        self.n_artefacts = 0
        self.reset()

    def reset(self) -> None:
        """Forget the signal state (counters are kept): the next beat starts a new segment."""
        self._beat_t = np.nan  # last rebuilt beat time
        self._node_t = np.nan  # last accepted interpolation node
        self._node_v = np.nan
        self._hist: list[float] = []  # recent in-range RR values (ms) for the median
        self._zi: FloatArray | None = None

    @property
    def lag_s(self) -> float:
        """Inherent lag (s) at 15 breaths/min and the current median RR (1000 ms at first)."""
        rr = float(np.median(self._hist)) if self._hist else NOMINAL_RR_MS
        return inherent_lag_s(NOMINAL_RATE_BPM, rr)

    def process(self, beat_t: npt.ArrayLike, rr_ms: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Feed beats (host time s, RR ms); return the newly available grid samples ``(t, y)``."""
        ht, rr = _as_1d(beat_t), _as_1d(rr_ms)
        n = min(ht.size, rr.size)
        ts: list[FloatArray] = []
        ys: list[FloatArray] = []
        for k in range(n):
            out = self._beat(float(ht[k]), float(rr[k]))
            if out is not None:
                ts.append(out[0])
                ys.append(out[1])
        if not ts:
            return np.empty(0), np.empty(0)
        return np.concatenate(ts), np.concatenate(ys)

    def _beat(self, host_t: float, rr: float) -> tuple[FloatArray, FloatArray] | None:
        if not np.isfinite(host_t):
            return None
        self.n_beats += 1
        tb = _next_beat_time(self._beat_t, host_t, rr, self.max_latency_s)
        if np.isfinite(self._beat_t) and tb - self._beat_t > self.max_gap_s:
            self._hist = []  # after a long silence the old median no longer applies
        med = float(np.median(self._hist)) if len(self._hist) >= 3 else np.nan
        tm = tb - rr / 2000.0  # node at the midpoint of the RR interval
        artefact = _is_artefact(rr, med) or (np.isfinite(self._node_t) and tm <= self._node_t)
        if RR_MIN_MS <= rr <= RR_MAX_MS:
            self._hist = [*self._hist[-(MEDIAN_BEATS - 2) :], rr]
        self._beat_t = tb
        if artefact:
            self.n_artefacts += 1
            return None
        fs = self.fs_hz
        if not np.isfinite(self._node_t) or self._zi is None:
            self._start(tm, rr)
            return None
        t0, v0 = self._node_t, self._node_v
        k0, k1 = int(np.floor(t0 * fs)) + 1, int(np.floor(tm * fs))
        if tm - t0 > self.max_gap_s:
            n_nan = min(max(k1 - k0 + 1, 0), self.max_nan_samples)
            self._start(tm, rr)
            if n_nan == 0:
                return None
            return np.arange(k0, k0 + n_nan) / fs, np.full(n_nan, np.nan)
        self._node_t, self._node_v = tm, rr
        if k1 < k0:
            return None
        t = np.arange(k0, k1 + 1) / fs
        x = v0 + (rr - v0) * (t - t0) / (tm - t0)
        y, self._zi = _sos.sosfilt(self._sos, x, self._zi)
        return t, -np.asarray(y, dtype=np.float64)

    def _start(self, t: float, v: float) -> None:
        self._node_t, self._node_v = t, v
        # Steady state for a constant input v: the band-pass output starts at 0 without a step
        # transient.
        self._zi = signal.sosfilt_zi(self._sos) * v
