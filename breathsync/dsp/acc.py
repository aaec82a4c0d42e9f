"""Breathing waveform from a 3-axis chest accelerometer (Polar H10: milli-G, 25-200 Hz).

Breathing tilts the chest, so the strap's accelerometer sees the gravity vector swing by a few
degrees (tens of mG, perpendicular to gravity); the chest wall's own acceleration is far smaller
(about 1 mG). Recipe (../shared/notes/signal.md; Hostrup et al. 2025, Physiol Meas 46:035005):

1. Low-pass every axis at ``lowpass_hz`` (1 Hz, 2nd-order Butterworth): breathing stays, heart
   beats, steps and sensor noise go.
2. Remove gravity: a slow average (exponential, time constant ``gravity_tau_s``) of the low-passed
   axes.
3. Project the three residual axes onto their principal axis: the first principal component of the
   residuals over a sliding window (``pca_window_s``), re-estimated every ``update_s``.
4. Posture change (an abrupt jump of the gravity vector by more than ``posture_jump_mg``): gravity
   is re-estimated at once (snap to the last ``update_s`` average, then a fast average for
   ``settle_s``), the output is NaN while it settles instead of a huge transient, the PCA window
   restarts, and the breathing axis is carried over by the rotation that takes the old gravity onto
   the new one (the strap is fixed to the chest, so the breathing axis turns with the body) until
   the new window has enough data.
5. Sign: the principal axis has no sign, so between updates the sign is kept continuous (the new
   axis points within 90 degrees of the previous one) and it is chosen so that the waveform RISES ON
   INHALE with the heuristic "inhale is shorter than exhale": at rest inhale takes about 40 % of the
   cycle (I:E ratio about 1:1.5), so a waveform that rises on inhale rises for less than half of the
   time. The statistic is the fraction of samples whose derivative is positive (robust to the large
   derivatives of movements, unlike a skewness); on the belt of nk_rest5_100hz.csv ("inhale =
   rising") it is 0.41 (0.35-0.44 in 30-s windows). The first choice only needs the fraction to be
   on the right side of 0.5 over ``SIGN_MIN_S``; later the sign flips only when the output rises
   more than 55 % of the time over ``sign_window_s`` (hysteresis). Paced breathing with equal inhale
   and exhale times gives no evidence and keeps the current sign; breathing with a long inhale and
   quick exhale would be inverted.

Offline: :func:`acc_to_resp_offline` (zero-phase, per posture segment). Live:
:class:`AccRespiration` (causal, identical output whatever the chunking). Output unit: mG along the
breathing axis.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

FloatArray = npt.NDArray[np.float64]

__all__ = ["MIN_FS_HZ", "AccRespiration", "acc_to_resp_offline"]

LOWPASS_HZ: Final = 1.0
MIN_FS_HZ: Final = 2.5 * LOWPASS_HZ
"""A rate at or below this cannot carry the low-pass (the converters need more)."""
GRAVITY_TAU_S: Final = 8.0
"""Time constant of the gravity average: a 0.02 Hz high-pass, 4.5 degrees of phase lead at
15/min."""
PCA_WINDOW_S: Final = 20.0
PCA_MIN_S: Final = 6.0
"""Data needed in the PCA window before an axis is (re)estimated."""
UPDATE_S: Final = 0.5
POSTURE_JUMP_MG: Final = 150.0
"""Gravity jump (mG) taken as a posture change: about 9 degrees of tilt, several breaths' worth."""
SETTLE_S: Final = 2.0
SETTLE_TAU_S: Final = 0.5
SIGN_WINDOW_S: Final = 60.0
SIGN_MIN_S: Final = 15.0
RISE_MARGIN: Final = 0.05
"""Hysteresis: flip only when the output rises more than 55 % of the time."""
MAX_GAP_S: Final = 1.0
FS_ESTIMATE_STEPS: Final = 16
"""Without a given rate, the live converter takes it from the median of its first 16 time steps (so
the same stream gives the same rate however it is chunked)."""


def _as_samples(t: npt.ArrayLike, xyz: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Times as a flat float array and accelerations as (n, 3), cut to the same length."""
    tt = np.asarray(t, dtype=np.float64).ravel()
    a = np.asarray(xyz, dtype=np.float64)
    if a.size == 0 or tt.size == 0:
        return np.empty(0), np.empty((0, 3))
    a = a.reshape(-1, 3)
    n = min(tt.size, a.shape[0])
    return tt[:n], a[:n]


def _rotation_between(a: FloatArray, b: FloatArray) -> FloatArray:
    """Smallest rotation matrix taking the direction of ``a`` onto that of ``b`` (Rodrigues)."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if not (na > 0 and nb > 0):
        return np.eye(3)
    u, v = a / na, b / nb
    axis = np.cross(u, v)
    s, c = float(np.linalg.norm(axis)), float(np.dot(u, v))
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        # 180 degrees: any axis perpendicular to u.
        p = np.cross(u, np.eye(3)[int(np.argmin(np.abs(u)))])
        p /= np.linalg.norm(p)
        return np.asarray(2 * np.outer(p, p) - np.eye(3), dtype=np.float64)
    k = axis / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.asarray(np.eye(3) + s * kx + (1 - c) * (kx @ kx), dtype=np.float64)


def _principal_axis(n: float, s1: FloatArray, s2: FloatArray) -> FloatArray | None:
    """First principal axis from the sums of ``n`` vectors and of their outer products.

    None when there is no usable axis: too few samples, or a covariance that is not finite (values so
    large that their squares overflow, or NaN/inf in the data) or that eigh cannot diagonalise.
    """
    if n < 3:
        return None
    with np.errstate(all="ignore"):
        mu = s1 / n
        cov = s2 / n - np.outer(mu, mu)
    if not np.all(np.isfinite(cov)):
        return None
    try:
        w, v = np.linalg.eigh(cov)
    except np.linalg.LinAlgError:
        return None
    axis = v[:, -1]
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(axis))) or w[-1] <= 0:
        return None
    return np.asarray(axis, dtype=np.float64)


@dataclass
class _Block:
    """Sufficient statistics of one update block."""

    n: float = 0.0
    s1: FloatArray = field(default_factory=lambda: np.zeros(3))
    s2: FloatArray = field(default_factory=lambda: np.zeros((3, 3)))
    a_sum: FloatArray = field(default_factory=lambda: np.zeros(3))
    a_n: float = 0.0
    d_n: float = 0.0
    d_pos: float = 0.0


class AccRespiration:
    """Live (causal) breathing waveform from a chest accelerometer, chunk by chunk.

    Parameters
    ----------
    fs_hz : float, optional
        Nominal sampling rate of the accelerometer (Hz); samples are filtered as if uniform at this
        rate. None (the default): the median of the first :data:`FS_ESTIMATE_STEPS` time steps; the
        first samples are then returned once those have arrived, and a rate of 2.5 x ``lowpass_hz``
        or less gives NaN output (``too_slow``).
    lowpass_hz, gravity_tau_s, pca_window_s, update_s, posture_jump_mg, sign_window_s, max_gap_s
        See the module docstring.

    Notes
    -----
    ``process(t, xyz)`` returns one output per accepted input sample (samples whose time does not
    increase are dropped). The output is NaN for missing (NaN) samples, during warm-up (until
    ``PCA_MIN_S`` of data give a first axis), while gravity settles after a posture change and
    wherever the low-passed signal is more than ``posture_jump_mg`` away from gravity. Samples more
    than ``max_gap_s`` apart restart everything. Lag: the 1 Hz low-pass delays a 15 breaths/min
    rhythm by about 0.23 s (phase delay) and the gravity average advances it by about 0.05 s.
    """

    def __init__(
        self,
        fs_hz: float | None = None,
        lowpass_hz: float = LOWPASS_HZ,
        gravity_tau_s: float = GRAVITY_TAU_S,
        pca_window_s: float = PCA_WINDOW_S,
        update_s: float = UPDATE_S,
        posture_jump_mg: float = POSTURE_JUMP_MG,
        sign_window_s: float = SIGN_WINDOW_S,
        max_gap_s: float = MAX_GAP_S,
    ) -> None:
        if fs_hz is not None and not fs_hz > 2.5 * lowpass_hz:
            raise ValueError(f"fs_hz must exceed 2.5 x lowpass_hz ({lowpass_hz} Hz), got {fs_hz}")
        self.lowpass_hz = float(lowpass_hz)
        self.gravity_tau_s = float(gravity_tau_s)
        self.update_s = float(update_s)
        self.posture_jump_mg = float(posture_jump_mg)
        self.max_gap_s = float(max_gap_s)
        self._n_pca = max(round(pca_window_s / self.update_s), 1)
        self._n_sign = max(round(sign_window_s / self.update_s), 1)
        self.n_posture_changes = 0
        self.n_sign_flips = 0
        self.too_slow = False
        self.fs_hz = float("nan")
        self._pending_t = np.empty(0)  # samples held until the rate is known
        self._pending_a = np.empty((0, 3))
        if fs_hz is not None:
            self._configure(float(fs_hz))
        self.reset()

    def _configure(self, fs_hz: float) -> None:
        """Everything that depends on the sampling rate."""
        self.fs_hz = fs_hz
        self._sos = signal.butter(2, self.lowpass_hz, "low", fs=fs_hz, output="sos")
        self._alpha_slow = 1.0 - np.exp(-1.0 / (fs_hz * self.gravity_tau_s))
        self._alpha_fast = 1.0 - np.exp(-1.0 / (fs_hz * SETTLE_TAU_S))
        # Sample counts, rounded once: a rate estimated from timestamps (50.0000001 Hz for 50) must not
        # move the first axis or sign decision by a whole block.
        self._pca_min_n = round(PCA_MIN_S * fs_hz)
        self._sign_min_n = round(SIGN_MIN_S * fs_hz)

    def reset(self) -> None:
        """Forget the signal state (counters are kept)."""
        self._t_last = -np.inf
        self._block_idx: int | None = None
        self._zi: FloatArray | None = None
        self._g = np.zeros(3)
        self._last_x = np.zeros(3)
        self._axis: FloatArray | None = None
        self._sign_decided = False
        self._settle_left_s = 0.0
        self._y_prev = np.nan
        self._cur = _Block()
        self._pca: deque[_Block] = deque(maxlen=self._n_pca)
        self._sign: deque[_Block] = deque(maxlen=self._n_sign)

    @property
    def axis(self) -> FloatArray | None:
        """Current unit breathing axis in the sensor frame (output rises on inhale along it)."""
        return None if self._axis is None else self._axis.copy()

    @property
    def gravity_mg(self) -> FloatArray:
        """Current gravity estimate (mG)."""
        return self._g.copy()

    def process(self, t: npt.ArrayLike, xyz: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Feed samples (``t`` s, ``xyz`` (n, 3) mG); return ``(t, y)`` of the accepted samples.

        Values so large that the filters or the covariance overflow give NaN output (no usable breathing
        axis), without warnings; at the next update block the filters restart as after a gap.
        """
        with np.errstate(all="ignore"):
            return self._process(t, xyz)

    def _process(self, t: npt.ArrayLike, xyz: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        tt, a = _as_samples(t, xyz)
        if not np.isfinite(self.fs_hz) and not self.too_slow:
            return self._estimate_rate(tt, a)
        return self._filter(tt, a)

    def _estimate_rate(self, tt: FloatArray, a: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Hold samples until :data:`FS_ESTIMATE_STEPS` time steps have arrived; then configure from
        exactly those and run everything held."""
        pt, pa = np.concatenate([self._pending_t, tt]), np.concatenate([self._pending_a, a])
        ok = np.isfinite(pt)
        run_max = np.maximum.accumulate(np.where(ok, pt, -np.inf))
        keep = ok & (pt >= run_max) & (pt > np.concatenate([[-np.inf], run_max[:-1]]))
        if int(keep.sum()) <= FS_ESTIMATE_STEPS:
            self._pending_t, self._pending_a = pt, pa
            return np.empty(0), np.empty(0)
        self._pending_t, self._pending_a = np.empty(0), np.empty((0, 3))
        fs = 1.0 / float(np.median(np.diff(pt[keep][: FS_ESTIMATE_STEPS + 1])))
        if fs > 2.5 * self.lowpass_hz:
            self._configure(fs)
        else:
            self.too_slow = True
        return self._filter(pt, pa)

    def _filter(self, tt: FloatArray, a: FloatArray) -> tuple[FloatArray, FloatArray]:
        if tt.size == 0:
            return np.empty(0), np.empty(0)
        n = tt.size
        # Drop non-finite or non-increasing times (relative to everything accepted before).
        if not (np.all(np.isfinite(tt)) and tt[0] > self._t_last and np.all(np.diff(tt) > 0)):
            run_max = self._t_last
            keep = np.zeros(n, bool)
            for i in range(n):
                if np.isfinite(tt[i]) and tt[i] > run_max:
                    keep[i] = True
                    run_max = float(tt[i])
            tt, a = tt[keep], a[keep]
        if tt.size == 0:
            return np.empty(0), np.empty(0)
        y = np.full(tt.size, np.nan)
        if self.too_slow:
            self._t_last = float(tt[-1])
            return tt, y
        # Split at gaps and at update-block boundaries; each piece is processed with fixed
        # parameters.
        prev_t = np.concatenate([[self._t_last], tt[:-1]])
        gap = (tt - prev_t) > self.max_gap_s
        blk = np.floor(tt / self.update_s).astype(np.int64)
        prev_blk = np.concatenate([[self._block_idx if self._block_idx is not None else blk[0]], blk[:-1]])
        cuts = np.flatnonzero(gap | (blk != prev_blk) | (np.arange(tt.size) == 0))
        bounds = [*cuts.tolist(), tt.size]
        for i0, i1 in pairwise(bounds):
            if gap[i0] and np.isfinite(self._t_last):
                self.reset()
            if self._block_idx is not None and blk[i0] != self._block_idx:
                if self._state_finite():
                    self._end_block((blk[i0] - self._block_idx) * self.update_s)
                else:  # overflowing input poisoned the filters: restart as after a gap (counters kept)
                    self.reset()
            self._block_idx = int(blk[i0])
            y[i0:i1] = self._run(a[i0:i1])
            self._t_last = float(tt[i1 - 1])
        return tt, y

    def _state_finite(self) -> bool:
        """False when overflowing input (e.g. 1e308 mG) has left inf/NaN in the filter state."""
        return bool(
            (self._zi is None or np.all(np.isfinite(self._zi)))
            and np.all(np.isfinite(self._g))
            and np.all(np.isfinite(self._last_x))
            and (self._axis is None or np.all(np.isfinite(self._axis)))
        )

    def _run(self, a: FloatArray) -> FloatArray:
        """Filter one piece (fixed parameters); update block statistics; return the output."""
        finite = np.all(np.isfinite(a), axis=1)
        if self._zi is None:
            if not np.any(finite):
                return np.full(a.shape[0], np.nan)
            x0 = a[int(np.argmax(finite))]
            self._zi = signal.sosfilt_zi(self._sos)[:, :, None] * x0[None, None, :]
            self._g = x0.copy()
            self._last_x = x0.copy()
        # Hold the last finite sample through missing ones (they stay NaN at the output).
        x = a.copy()
        if not np.all(finite):
            idx = np.where(finite, np.arange(a.shape[0]), -1)
            idx = np.maximum.accumulate(idx)
            held = np.where(idx[:, None] >= 0, a[np.maximum(idx, 0)], self._last_x[None, :])
            x = np.where(finite[:, None], a, held)
        self._last_x = x[-1].copy()
        a_lp, self._zi = signal.sosfilt(self._sos, x, axis=0, zi=self._zi)
        alpha = self._alpha_fast if self._settle_left_s > 0 else self._alpha_slow
        g, _ = signal.lfilter([alpha], [1.0, alpha - 1.0], a_lp, axis=0, zi=((1 - alpha) * self._g)[None, :])
        self._g = g[-1].copy()
        d = a_lp - g
        ok = finite & (np.linalg.norm(d, axis=1) <= self.posture_jump_mg) & (self._settle_left_s <= 0)
        blk = self._cur
        blk.a_sum += a_lp[finite].sum(axis=0)
        blk.a_n += float(np.sum(finite))
        if np.any(ok):
            dk = d[ok]
            blk.n += dk.shape[0]
            blk.s1 += dk.sum(axis=0)
            blk.s2 += dk.T @ dk
        out = np.full(a.shape[0], np.nan)
        if self._axis is not None:
            y = d @ self._axis
            out[ok] = y[ok]
            prev = np.concatenate([[self._y_prev], out[:-1]])
            dy = out - prev
            dy = dy[np.isfinite(dy)]
            blk.d_n += dy.size
            blk.d_pos += float(np.sum(dy > 0))
            self._y_prev = float(out[-1])
        return out

    def _end_block(self, elapsed_s: float) -> None:
        """Block boundary: posture check, PCA and sign updates (data up to the boundary only)."""
        blk = self._cur
        self._cur = _Block()
        self._settle_left_s = max(self._settle_left_s - elapsed_s, 0.0)
        if blk.a_n > 0:
            mean_a = blk.a_sum / blk.a_n
            if np.linalg.norm(mean_a - self._g) > self.posture_jump_mg:
                self._posture_change(mean_a)
                return
        self._pca.append(blk)
        self._sign.append(blk)
        n = sum(b.n for b in self._pca)
        if n >= self._pca_min_n:
            s1 = np.sum([b.s1 for b in self._pca], axis=0)
            s2 = np.sum([b.s2 for b in self._pca], axis=0)
            v = _principal_axis(n, s1, s2)
            if v is not None:
                if self._axis is not None and float(np.dot(v, self._axis)) < 0:
                    v = -v
                if self._axis is None:
                    self._sign.clear()  # derivative statistics belong to an axis
                self._axis = v
        if self._axis is None:
            return
        d_n = sum(b.d_n for b in self._sign)
        if d_n < self._sign_min_n:
            return
        rise_frac = sum(b.d_pos for b in self._sign) / d_n
        if rise_frac > 0.5 + (RISE_MARGIN if self._sign_decided else 0.0):
            self._flip()
        self._sign_decided = True

    def _flip(self) -> None:
        assert self._axis is not None
        self._axis = -self._axis
        self.n_sign_flips += 1
        for b in self._sign:
            b.d_pos = b.d_n - b.d_pos
        self._y_prev = -self._y_prev

    def _posture_change(self, new_g: FloatArray) -> None:
        self.n_posture_changes += 1
        if self._axis is not None:
            v = _rotation_between(self._g, new_g) @ self._axis
            self._axis = v / np.linalg.norm(v)
        self._g = new_g.copy()
        self._settle_left_s = SETTLE_S
        self._pca.clear()
        self._sign.clear()
        self._y_prev = np.nan


def acc_to_resp_offline(
    t: npt.ArrayLike,
    xyz: npt.ArrayLike,
    lowpass_hz: float = LOWPASS_HZ,
    gravity_tau_s: float = GRAVITY_TAU_S,
    posture_jump_mg: float = POSTURE_JUMP_MG,
) -> tuple[FloatArray, FloatArray]:
    """Zero-phase breathing waveform (mG, rises on inhale) from a chest accelerometer.

    The recording is cut at posture changes (the 4-s running medians of the low-passed signal 2 s
    after and 2 s before differ by more than ``posture_jump_mg``); in each segment of at least 10 s
    gravity is a zero-phase low-pass at ``1 / (2 pi gravity_tau_s)``, the residual is projected on
    its first principal component, and the sign is chosen so that the waveform rises less than half
    of the time (inhale shorter than exhale).

    Returns
    -------
    t, y : ndarray
        The input times (finite, sorted) and the waveform; NaN at posture changes, missing samples,
        segments too short and segments without a usable breathing axis (e.g. values so large that the
        filters or the covariance overflow).
    """
    with np.errstate(all="ignore"):  # overflowing values (e.g. 1e308 mG) end as NaN, not as warnings
        return _acc_to_resp_offline(t, xyz, lowpass_hz, gravity_tau_s, posture_jump_mg)


def _acc_to_resp_offline(
    t: npt.ArrayLike, xyz: npt.ArrayLike, lowpass_hz: float, gravity_tau_s: float, posture_jump_mg: float
) -> tuple[FloatArray, FloatArray]:
    tt, a = _as_samples(t, xyz)
    if tt.size == 0:
        return np.empty(0), np.empty(0)
    ok_t = np.isfinite(tt)
    tt, a = tt[ok_t], a[ok_t]
    order = np.argsort(tt, kind="stable")
    tt, a = tt[order], a[order]
    y = np.full(tt.size, np.nan)
    if tt.size < 4:
        return tt, y
    dt = np.diff(tt)
    dt = dt[dt > 0]
    if dt.size == 0:
        return tt, y
    fs = float(1.0 / np.median(dt))
    finite = np.all(np.isfinite(a), axis=1)
    if np.sum(finite) < 4 or fs <= 2.5 * lowpass_hz:
        return tt, y
    idx = np.arange(tt.size)
    x = np.column_stack([np.interp(idx, idx[finite], a[finite, k]) for k in range(3)])
    sos = signal.butter(2, lowpass_hz, "low", fs=fs, output="sos")
    a_lp = signal.sosfiltfilt(sos, x, axis=0) if tt.size > 15 else x
    step = max(int(fs / 10.0), 1)  # medians on a ~10 Hz copy: cheap and plenty for a 4-s window
    coarse = a_lp[::step]
    half = max(round(2.0 * fs / step), 1)
    med = ndimage.median_filter(coarse, size=(2 * half + 1, 1), mode="nearest")
    after = np.concatenate([med[half:], np.repeat(med[-1:], half, axis=0)])
    before = np.concatenate([np.repeat(med[:1], half, axis=0), med[:-half]])
    jump_c = np.linalg.norm(after - before, axis=1) > posture_jump_mg
    jump = np.repeat(jump_c, step)[: tt.size]
    if jump.size < tt.size:
        jump = np.concatenate([jump, np.repeat(jump[-1:], tt.size - jump.size)])
    if np.any(jump):
        jump = ndimage.binary_dilation(jump, iterations=max(int(0.5 * fs), 1))
    bad = jump | ~finite
    gap = np.concatenate([[False], np.diff(tt) > MAX_GAP_S])
    seg_id = np.cumsum(gap | np.concatenate([[False], bad[1:] != bad[:-1]]))
    sos_g = signal.butter(1, 1.0 / (2 * np.pi * gravity_tau_s), "low", fs=fs, output="sos")
    for s in np.unique(seg_id[~bad]):
        sel = np.flatnonzero((seg_id == s) & ~bad)
        if sel.size < 10.0 * fs:
            continue
        seg = a_lp[sel]
        d = seg - signal.sosfiltfilt(sos_g, seg, axis=0)
        v = _principal_axis(float(sel.size), d.sum(axis=0), d.T @ d)
        if v is None:
            continue
        ys = d @ v
        if np.mean(np.diff(ys) > 0) > 0.5:
            ys = -ys
        y[sel] = np.where(np.isfinite(ys), ys, np.nan)
    y[~finite] = np.nan
    return tt, y
