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
   restarts, and the breathing axis is carried over until the new window has enough data. Breathing
   tilts the chest about an axis fixed to the body, so fixed in the strap's frame, while gravity turns
   in that frame at a posture change; the reading moves along (tilt axis) x (gravity), so the carried
   axis is the old tilt axis crossed with the new gravity (:func:`_carried_axis`), from the axis and
   gravity before the turn to the gravity it settled at (a turn takes longer than an update block and
   is often detected in two or three steps). The previous release carried it by the smallest rotation
   taking the old gravity onto the new one, step by step: right only for a turn about the tilt axis
   itself (leaning back or forward); for other turns 20-70 degrees off (tests/dsp/test_acc.py). What it
   decides is the sign of the next principal axis (the one within 90 degrees of it). End to end the
   difference is small, as the axis is re-estimated 6 s later: on the simulated chest of
   :func:`breathsync.synth.chest_accelerometer` (nk_rest5's belt, three random 70-90 degree turns,
   seeds 0-29) the live phase error was 42.1 and is 40.0 degrees with the rise cue alone (6 and 5
   recordings upside down after a turn), and 39.8 (a single rotation from before the turn) and 39.7
   with the heart's beats (2 and 3).
5. Sign: the principal axis has no sign, so between updates the sign is kept continuous (the new
   axis points within 90 degrees of the previous one) and it is chosen so that the waveform RISES ON
   INHALE with the heuristic "inhale is shorter than exhale": at rest inhale takes about 40 % of the
   cycle (I:E ratio about 1:1.5), so a waveform that rises on inhale rises for less than half of the
   time. The statistic is the fraction of samples whose derivative is positive (robust to the large
   derivatives of movements, unlike a skewness); on the belt of nk_rest5_100hz.csv ("inhale =
   rising") it is 0.41 (0.35-0.44 in 30-s windows). The first choice only needs the fraction to be
   on the right side of 0.5 over ``SIGN_MIN_S``; later the sign flips only when the output rises
   more than 55 % of the time over ``sign_window_s`` (hysteresis). Until that first choice the output
   is unknown (NaN), although an axis exists from ``PCA_MIN_S`` on and the statistics gather on it: it
   comes with whichever sign the eigen-decomposition returns, and the previous release gave it out, upside
   down at about every other start for those 15 s. The live tracker then dated its first breaths at the
   peaks (an inhale late), and the turn-over at the choice made a short interval that stayed in the live
   rate's 40-s window: simulated chests breathing at 10/min (strap at six angles, tests/dsp/
   test_acc_warmup.py) read 12.3-12.7/min for four of them, too high until 67 s; 43 chests from the real
   belts and simulated breathers at 6-20/min, the first 60 s: 75 of 444 onsets more than 0.75 s off, now
   23 of 280, all but one of those on a 60-s belt with three turns in its minute. The cost: the waveform
   starts about 21.5 s in (the first breath about 30 s, the first rate about 37 s, instead of 15 and
   22). A posture change before the first choice keeps the statistics (the carried axis keeps the sign
   they were gathered with). A gap (``max_gap_s``) restarts the filters and the axis but keeps the sign:
   the first axis after it points within 90 degrees of the one before, carried through gravity's turn in
   the gap as at a posture change (:func:`_carried_axis`), and keeps its cue. It is the same strap on the
   same chest; a new choice would leave the output unknown for 21.5 s after every dropout, or, as the
   previous release did, give it with a coin toss's sign. Paced breathing with equal inhale
   and exhale times gives no evidence and keeps the current sign; breathing with a long inhale and
   quick exhale would be inverted. On the Systole "Task1" belt (a participant at 21/min with an
   inhale as long as the exhale for minutes at a time) the cue flipped the output four times in
   25 min (benchmarks/bench_derived.py).
6. Sign from the heart, when RR intervals are given (a Polar H10 sends them beside its
   accelerometer): respiratory sinus arrhythmia shortens the RR interval on inhale, so the
   RR-derived waveform of :mod:`breathsync.dsp.rr` (which rises on inhale) is positively correlated
   with a breathing waveform that rises on inhale. The output is sampled on the RR waveform's 4 Hz
   grid and the two are correlated over the last ``rsa_window_s`` (120 s); once ``RSA_MIN_S`` (40 s,
   a dozen breaths: over 20 s, 7 breaths at 21/min, the correlation of a correctly signed output
   was as low as -0.27) of pairs are in, this correlation decides the sign instead of the rise cue,
   but only when it has stayed beyond ``RSA_MARGIN`` (0.2) for ``RSA_SUSTAIN_S`` (20 s) on end: the
   first decision by its sign, later a flip only when it has stayed below ``-RSA_MARGIN`` that long.
   The window slides every 0.5 s, so a single crossing is one of hundreds of looks: with beats that
   carry none of the breathing (the recording's own beats moved 60-200 s out of step, white-noise RR)
   the former rule, any crossing of 0.15, took 21-38 decisions an hour, each a coin toss, and left
   Systole's simulated chest upside down for 5-16 of its 25.6 min (3.3 with no beats at all); holding
   0.2 for 20 s took 0-4 an hour and left it upside down 1.3 min (measured on the earlier simulated
   chest, whose breathing axis turned with gravity). On the chest-tilt simulation of this release
   (benchmarks/bench_derived.py, sections c and c2, seeds 7-9): such beats take 0-2.3 decisions an hour
   on nk_rest5's and Systole's chests and 6.9 on the held-out ICU record's (4 in 35 min), mostly
   changing nothing, but one of 27 Systole runs was left upside down 8.5 min instead of 1.3. With their
   own beats, nk_rest5's chest is upside down 0-0.8 of 4.9 min (0-2.0 without beats) and Systole's
   1.0, 0.8 and 3.5 of 25.5 min (3.5, 1.3 and 9.8 without). While RR evidence is in, the
   rise cue is not used (where the heart carries no breathing, as in the ICU record, the sign is
   then simply kept). Pairs are counted
   only ``RSA_DELAY_S`` after their time, so a beat arriving late (a strap sends RR about a second
   after the beat) changes nothing, and the output stays independent of chunking. Evidence is
   dropped with the axis (posture change, gap). Where respiratory sinus arrhythmia is weak (fast
   breathing, some people, some medications) the correlation is small and the sign is kept; it can
   be wrong when the heart's rhythm follows something other than breathing.

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

from breathsync.dsp import _sos
from breathsync.dsp.rr import RESAMPLE_FS_HZ as RR_GRID_HZ
from breathsync.dsp.rr import RRRespiration, rr_to_resp_offline

FloatArray = npt.NDArray[np.float64]

__all__ = ["MIN_FS_HZ", "AccRespiration", "acc_to_resp_live", "acc_to_resp_offline"]

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
RSA_WINDOW_S: Final = 120.0
"""Window of the correlation between the output and the RR-derived waveform (sign from the heart)."""
RSA_MIN_S: Final = 40.0
"""Seconds of output/RR pairs needed before the RR correlation decides the sign."""
RSA_MARGIN: Final = 0.2
"""The RR correlation decides (and confirms, :attr:`AccRespiration.sign_basis`) only beyond +-0.2, held
for ``RSA_SUSTAIN_S``. For reference, 5 % of single 120-s windows of the output against the same
person's RR from another stretch of the recording (unrelated breathing) pass 0.12-0.16 (nk_rest5, the
ICU record, Systole Task1); a correctly signed output against its own RR: median 0.16 and 0.21 on
nk_rest5 and Systole (with posture changes)."""
RSA_SUSTAIN_S: Final = 20.0
"""How long the RR correlation must stay beyond ``RSA_MARGIN`` before it decides (module docstring,
step 6)."""
RSA_DELAY_S: Final = 3.0
"""Output/RR pairs count for the sign only this long after their time: RR arrives late (the grid
sample at t needs the beat after t, up to 2 s later for an RR of 2 s), and a decision must not
depend on how late."""
RSA_BUFFER_S: Final = 30.0
"""How long output samples on the RR grid are kept waiting for their RR sample."""
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


def _carried_axis(axis: FloatArray, g_old: FloatArray, g_new: FloatArray) -> FloatArray:
    """The breathing axis after gravity moved from ``g_old`` to ``g_new`` in the strap's frame (a posture
    change), sign kept.

    Breathing tilts the chest about an axis ``u`` fixed to the body, so fixed in the strap's frame, and the
    reading moves along ``u x g`` (Bates et al. 2010, BSN: breathing as a rotation of the measured gravity
    vector). The tilt axis is known from the old posture but for its component along the old gravity
    (a tilt about the vertical does not show): ``u = g_old x axis``, and the new axis is ``u x g_new``.
    Where that vanishes (the tilt axis has turned vertical, and breathing barely shows), the smallest
    rotation taking the old gravity onto the new one carries the axis instead."""
    go, gn = g_old / np.linalg.norm(g_old), g_new / np.linalg.norm(g_new)
    a = axis - float(np.dot(axis, go)) * go
    v = np.cross(np.cross(go, a), gn)
    if not float(np.linalg.norm(v)) > 0.1 * float(np.linalg.norm(a)):
        v = _rotation_between(g_old, g_new) @ axis
    return np.asarray(v / np.linalg.norm(v), dtype=np.float64)


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
    lowpass_hz, gravity_tau_s, pca_window_s, update_s, posture_jump_mg, sign_window_s, max_gap_s,
    rsa_window_s
        See the module docstring.

    Attributes
    ----------
    sign_cue : str
        What decided the current sign: "none" (not yet; after a gap, until the new axis has taken the sign
        from before it), "rise" (inhale shorter than exhale) or "rr" (the heart's rhythm,
        :meth:`process_rr`). A posture change or a gap keeps the sign (the axis turns with the body) and so
        its cue.
    rsa_corr : float
        The latest correlation of the output with the RR-derived waveform (NaN before there is one).

    Notes
    -----
    ``process(t, xyz)`` returns one output per accepted input sample (samples whose time does not
    increase are dropped). The output is NaN for missing (NaN) samples, during warm-up (until
    ``PCA_MIN_S`` of data give a first axis and, at the start, ``SIGN_MIN_S`` more its first sign:
    ``sign_basis`` "none"), while gravity settles after a posture change and wherever the low-passed
    signal is more than ``posture_jump_mg`` away from gravity. Samples more than ``max_gap_s`` apart
    restart everything but the RR path of :meth:`process_rr` and the sign (module docstring, step 5).
    Lag: the 1 Hz low-pass delays a 15 breaths/min
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
        rsa_window_s: float = RSA_WINDOW_S,
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
        self._n_rsa = max(round(rsa_window_s / self.update_s), 1)
        self._rsa_delay = round(RSA_DELAY_S / self.update_s)
        self._n_sustain = max(round(RSA_SUSTAIN_S / self.update_s), 1)
        self._rr: RRRespiration | None = None
        self._rr_pending: dict[int, float] = {}  # RR grid samples ahead of the output, by grid index
        self.sign_cue = "none"
        self.rsa_corr = float("nan")
        self.n_posture_changes = 0
        self.n_sign_flips = 0
        #: The time (of the samples) at which ``sign_basis`` or ``n_sign_flips`` last changed: the update
        #: block's boundary where it was decided, the same however the samples were chunked.
        self.sign_changed_t = float("nan")
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
        self._carry_from: tuple[FloatArray, FloatArray] | None = None  # (axis, gravity) before a turn
        # (axis, gravity, sign cue) before a gap: the first axis after it takes its sign from there
        self._after_gap: tuple[FloatArray, FloatArray, str] | None = None
        self._sign_decided = False
        self.sign_cue = "none"
        self.rsa_corr = float("nan")
        self._rsa_run = 0  # blocks the RR correlation has stayed above RSA_MARGIN (> 0) or below -RSA_MARGIN
        self._settle_left_s = 0.0
        self._y_prev = np.nan
        self._cur = _Block()
        self._pca: deque[_Block] = deque(maxlen=self._n_pca)
        self._sign: deque[_Block] = deque(maxlen=self._n_sign)
        self._grid_y: dict[int, float] = {}  # output at the RR grid's times, by grid index
        self._grid_last: int | None = None  # grid index of the last output sample
        self._rsa: dict[int, FloatArray] = {}  # block index -> [n, sx, sy, sxx, syy, sxy] of pairs

    @property
    def sign_basis(self) -> str:
        """How far the current sign (which way is inhale) can be trusted: "none" (no sign yet), "heart"
        (the heart's rhythm agrees with it: the RR correlation over the last ``rsa_window_s`` has been
        above ``RSA_MARGIN`` for ``RSA_SUSTAIN_S``) or "guess" (set by the breath's shape, or kept while
        the heart's rhythm neither agrees nor disagrees: it may be upside down)."""
        if self.sign_cue == "none":
            return "none"
        return "heart" if self.sign_cue == "rr" and self._rsa_run >= self._n_sustain else "guess"

    @property
    def axis(self) -> FloatArray | None:
        """Current unit breathing axis in the sensor frame (output rises on inhale along it)."""
        return None if self._axis is None else self._axis.copy()

    def process(self, t: npt.ArrayLike, xyz: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Feed samples (``t`` s, ``xyz`` (n, 3) mG); return ``(t, y)`` of the accepted samples.

        Values so large that the filters or the covariance overflow give NaN output (no usable breathing
        axis), without warnings; at the next update block everything restarts as after a gap, the sign too.
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
                ref = self._sign_reference()
                self.reset()
                self._after_gap = ref
            if self._block_idx is not None and blk[i0] != self._block_idx:
                if self._state_finite():
                    before = (self.sign_basis, self.n_sign_flips)
                    self._end_block((blk[i0] - self._block_idx) * self.update_s)
                    if (self.sign_basis, self.n_sign_flips) != before:
                        self.sign_changed_t = float(blk[i0]) * self.update_s
                else:  # overflowing input poisoned the filters: restart, the sign too (counters kept)
                    self.reset()
            self._block_idx = int(blk[i0])
            yi = self._run(a[i0:i1])
            self._on_grid(tt[i0:i1], yi)
            if self._sign_decided:
                y[i0:i1] = yi
            self._t_last = float(tt[i1 - 1])
        return tt, y

    # ------------------------------------------------------------------ sign from the heart (RSA)
    def process_rr(self, beat_t: npt.ArrayLike, rr_ms: npt.ArrayLike) -> None:
        """Feed heart beats (time s on the accelerometer's clock, RR interval ms) for the sign.

        Beats may come before or after the accelerometer samples of their time (within
        ``RSA_BUFFER_S``); see the module docstring, step 6.
        """
        with np.errstate(all="ignore"):
            if self._rr is None:
                self._rr = RRRespiration()
            gt, gy = self._rr.process(beat_t, rr_ms)
            for t, r in zip(gt.tolist(), gy.tolist(), strict=True):
                if not np.isfinite(r):
                    continue
                q = round(t * RR_GRID_HZ)
                if self._grid_last is None or q > self._grid_last:
                    self._rr_pending[q] = r
                elif (x := self._grid_y.get(q)) is not None:
                    self._add_pair(q, x, r)
            if len(self._rr_pending) > RSA_BUFFER_S * RR_GRID_HZ:  # no output for a long time
                newest = max(self._rr_pending)
                limit = newest - RSA_BUFFER_S * RR_GRID_HZ
                self._rr_pending = {q: r for q, r in self._rr_pending.items() if q > limit}

    def _on_grid(self, t: FloatArray, y: FloatArray) -> None:
        """Keep the output at the RR grid's times (the first sample at or after each grid time) and pair
        it with RR samples that came first."""
        if t.size == 0:
            return
        q = np.floor(t * RR_GRID_HZ).astype(np.int64)
        prev = np.concatenate([[q[0] - 1 if self._grid_last is None else self._grid_last], q[:-1]])
        new = np.flatnonzero((q > prev) & np.isfinite(y))
        for qi, yi in zip(q[new].tolist(), y[new].tolist(), strict=True):
            self._grid_y[qi] = yi
            r = self._rr_pending.pop(qi, None)
            if r is not None:
                self._add_pair(qi, yi, r)
        self._grid_last = int(q[-1])
        if self._rr_pending and min(self._rr_pending) <= self._grid_last:  # passed without an output
            self._rr_pending = {k: v for k, v in self._rr_pending.items() if k > self._grid_last}

    def _add_pair(self, q: int, x: float, r: float) -> None:
        b = int(np.floor(q / RR_GRID_HZ / self.update_s))
        if self._block_idx is not None and b <= self._block_idx - self._n_rsa - self._rsa_delay:
            return
        st = self._rsa.get(b)
        if st is None:
            st = self._rsa[b] = np.zeros(6)
        st += (1.0, x, r, x * x, r * r, x * r)

    def _rsa_correlation(self, ended: int) -> float | None:
        """Correlation of output and RR waveform over the pairs of the ``rsa_window_s`` that ended
        ``RSA_DELAY_S`` before the end of block ``ended``; None with fewer than ``RSA_MIN_S`` of pairs."""
        hi = ended - self._rsa_delay
        lo = hi - self._n_rsa
        for b in [b for b in self._rsa if b <= lo]:
            del self._rsa[b]
        cut = (self._grid_last or 0) - RSA_BUFFER_S * RR_GRID_HZ
        if self._grid_y and min(self._grid_y) < cut:
            self._grid_y = {q: v for q, v in self._grid_y.items() if q >= cut}
        parts = [v for b, v in self._rsa.items() if b <= hi]
        if not parts:
            return None
        n, sx, sy, sxx, syy, sxy = np.sum(parts, axis=0)
        if n < RSA_MIN_S * RR_GRID_HZ:
            return None
        vx, vy = sxx - sx * sx / n, syy - sy * sy / n
        if not (vx > 0 and vy > 0):
            return None
        c = float((sxy - sx * sy / n) / np.sqrt(vx * vy))
        return c if np.isfinite(c) else None

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
        a_lp, self._zi = _sos.sosfilt(self._sos, x, self._zi)
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
        ended = self._block_idx if self._block_idx is not None else 0
        self._settle_left_s = max(self._settle_left_s - elapsed_s, 0.0)
        if self._settle_left_s <= 0 and self._carry_from is not None:
            self._axis = _carried_axis(*self._carry_from, self._g)  # gravity has settled
            self._carry_from = None
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
                    if self._after_gap is not None:  # the sign the breathing had before a gap
                        ref_axis, ref_g, cue = self._after_gap
                        self._after_gap = None
                        if float(np.dot(v, _carried_axis(ref_axis, ref_g, self._g))) < 0:
                            v = -v
                        self._sign_decided = True
                        self.sign_cue = cue
                self._axis = v
        if self._axis is None:
            return
        rsa = self._rsa_correlation(ended)
        if rsa is None:
            self._rsa_run = 0
        else:
            self.rsa_corr = rsa
            run = self._rsa_run
            if rsa > RSA_MARGIN:
                run = run + 1 if run > 0 else 1
            elif rsa < -RSA_MARGIN:
                run = run - 1 if run < 0 else -1
            else:
                run = 0
            self._rsa_run = run
            if self._sign_decided:
                if run <= -self._n_sustain:
                    self._flip()
                self.sign_cue = "rr"
                return  # RR evidence in: the rise cue is not used
            if abs(run) >= self._n_sustain:
                if run < 0:
                    self._flip()
                self._sign_decided = True
                self.sign_cue = "rr"
                return
        d_n = sum(b.d_n for b in self._sign)
        if d_n < self._sign_min_n:
            return
        rise_frac = sum(b.d_pos for b in self._sign) / d_n
        if rise_frac > 0.5 + (RISE_MARGIN if self._sign_decided else 0.0):
            self._flip()
        self._sign_decided = True
        self.sign_cue = "rise"

    def _sign_reference(self) -> tuple[FloatArray, FloatArray, str] | None:
        """What a gap carries over: the breathing axis and gravity (before the turn, during one) and the
        cue of a sign that was set; the reference from before an earlier gap while no axis has come back
        since; None when there is no sign to carry."""
        if self._sign_decided and self._axis is not None and self._state_finite():
            axis, g = self._carry_from if self._carry_from is not None else (self._axis, self._g)
            return axis.copy(), g.copy(), self.sign_cue
        return self._after_gap

    def _flip(self) -> None:
        assert self._axis is not None
        self._axis = -self._axis
        if self._carry_from is not None:
            self._carry_from = (-self._carry_from[0], self._carry_from[1])
        self.n_sign_flips += 1
        for b in self._sign:
            b.d_pos = b.d_n - b.d_pos
        self._y_prev = -self._y_prev
        self._rsa_run = -self._rsa_run
        self._grid_y = {q: -v for q, v in self._grid_y.items()}
        for st in self._rsa.values():
            st[1], st[5] = -st[1], -st[5]

    def _posture_change(self, new_g: FloatArray) -> None:
        self.n_posture_changes += 1
        if self._carry_from is None and self._axis is not None:
            # The axis and gravity before the turn: a turn detected in several steps (it takes longer
            # than an update block) is carried from there, not step by step, and once more when gravity
            # has settled (_end_block).
            self._carry_from = (self._axis, self._g.copy())
        if self._carry_from is not None:
            self._axis = _carried_axis(*self._carry_from, new_g)
        self._g = new_g.copy()
        self._settle_left_s = SETTLE_S
        self._pca.clear()
        if self._sign_decided:
            self._sign.clear()
        # else the rise statistics so far are kept: they are what sets the first sign, and the carried axis
        # keeps the sign they were gathered with (the output stays unknown until that first sign is set).
        self._rsa.clear()  # evidence belongs to an axis, as the rise statistics
        self.rsa_corr = float("nan")
        self._rsa_run = 0
        self._grid_y.clear()
        self._y_prev = np.nan


def acc_to_resp_offline(
    t: npt.ArrayLike,
    xyz: npt.ArrayLike,
    lowpass_hz: float = LOWPASS_HZ,
    gravity_tau_s: float = GRAVITY_TAU_S,
    posture_jump_mg: float = POSTURE_JUMP_MG,
    beats: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Zero-phase breathing waveform (mG, rises on inhale) from a chest accelerometer.

    The recording is cut at posture changes (the 4-s running medians of the low-passed signal 2 s
    after and 2 s before differ by more than ``posture_jump_mg``); in each segment of at least 10 s
    gravity is a zero-phase low-pass at ``1 / (2 pi gravity_tau_s)``, the residual is projected on
    its first principal component, and the sign is chosen so that the waveform rises less than half
    of the time (inhale shorter than exhale). With ``beats`` (beat times s, RR intervals ms: a Polar
    H10's RR) the sign of a segment is that of its correlation with the RR-derived waveform
    (:func:`breathsync.dsp.rr.rr_to_resp_offline`) where they overlap for at least ``RSA_MIN_S`` and
    the correlation is beyond ``RSA_MARGIN`` (module docstring, step 6).

    Returns
    -------
    t, y : ndarray
        The input times (finite, sorted) and the waveform; NaN at posture changes, missing samples,
        segments too short and segments without a usable breathing axis (e.g. values so large that the
        filters or the covariance overflow).
    """
    with np.errstate(all="ignore"):  # overflowing values (e.g. 1e308 mG) end as NaN, not as warnings
        return _acc_to_resp_offline(t, xyz, lowpass_hz, gravity_tau_s, posture_jump_mg, beats)


def _rr_wave(beats: tuple[npt.ArrayLike, npt.ArrayLike] | None) -> tuple[FloatArray, FloatArray] | None:
    """The offline RR-derived waveform of ``beats`` (finite values only), or None."""
    if beats is None:
        return None
    bt = np.asarray(beats[0], dtype=np.float64).ravel()
    rr = np.asarray(beats[1], dtype=np.float64).ravel()
    n = min(bt.size, rr.size)
    ok = np.isfinite(bt[:n]) & np.isfinite(rr[:n])
    if np.count_nonzero(ok) < 4:
        return None
    rt, ry = rr_to_resp_offline(bt[:n][ok], rr[:n][ok])
    good = np.isfinite(ry)
    return (rt[good], ry[good]) if np.count_nonzero(good) >= 4 else None


def _rr_sign(t: FloatArray, y: FloatArray, rr_wave: tuple[FloatArray, FloatArray] | None) -> float:
    """+1 / -1 from the correlation of ``y`` with the RR waveform, 0 when it cannot tell."""
    if rr_wave is None:
        return 0.0
    rt, ry = rr_wave
    inside = (rt >= t[0]) & (rt <= t[-1])
    if np.count_nonzero(inside) < RSA_MIN_S * RR_GRID_HZ:
        return 0.0
    x = np.interp(rt[inside], t, y)
    r = ry[inside]
    ok = np.isfinite(x)
    if np.count_nonzero(ok) < RSA_MIN_S * RR_GRID_HZ or np.std(x[ok]) == 0 or np.std(r[ok]) == 0:
        return 0.0
    c = float(np.corrcoef(x[ok], r[ok])[0, 1])
    return float(np.sign(c)) if np.isfinite(c) and abs(c) > RSA_MARGIN else 0.0


def _acc_to_resp_offline(
    t: npt.ArrayLike,
    xyz: npt.ArrayLike,
    lowpass_hz: float,
    gravity_tau_s: float,
    posture_jump_mg: float,
    beats: tuple[npt.ArrayLike, npt.ArrayLike] | None,
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
    rr_wave = _rr_wave(beats)
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
        sign = _rr_sign(tt[sel], ys, rr_wave)
        if sign < 0 or (sign == 0 and np.mean(np.diff(ys) > 0) > 0.5):
            ys = -ys
        y[sel] = np.where(np.isfinite(ys), ys, np.nan)
    y[~finite] = np.nan
    return tt, y


def acc_to_resp_live(
    t: npt.ArrayLike,
    xyz: npt.ArrayLike,
    beats: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    converter: AccRespiration | None = None,
    step_s: float = 1.0,
    sign_log: list[tuple[float, str, int]] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """A recording through the live converter as a session receives it: the accelerometer in chunks
    of ``step_s`` seconds, each followed by the beats of the same ``step_s`` (a Polar H10 sends about a
    notification a second of each). Returns ``(t, y)`` of the accepted accelerometer samples.

    ``converter``: the :class:`AccRespiration` to use (a fresh one at its default settings otherwise).
    ``sign_log``: if given, gets ``(end of the step, sign_basis, n_sign_flips)`` after every step: how
    far the breathing axis's sign could be trusted as the recording went on.
    """
    conv = converter if converter is not None else AccRespiration()
    tt, a = _as_samples(t, xyz)
    if beats is None:
        beats = (np.empty(0), np.empty(0))
        if sign_log is None:
            return conv.process(tt, a)
    bt = np.asarray(beats[0], dtype=np.float64).ravel()
    rr = np.asarray(beats[1], dtype=np.float64).ravel()
    n = min(bt.size, rr.size)
    bt, rr = bt[:n], rr[:n]
    known = tt[np.isfinite(tt)]
    if known.size == 0:
        conv.process_rr(bt, rr)
        return conv.process(tt, a)
    edges = np.arange(np.floor(known[0] / step_s), np.floor(known[-1] / step_s) + 2.0) * step_s
    # Which chunk each sample and each beat belongs to (NaN times go with the chunk before them).
    ia = np.maximum.accumulate(np.where(np.isfinite(tt), np.searchsorted(edges, tt, side="right"), 0))
    ib = np.searchsorted(edges, bt, side="right")
    a_cuts = np.searchsorted(ia, np.arange(1, edges.size + 1), side="right")
    ts: list[FloatArray] = []
    ys: list[FloatArray] = []
    if np.any(ib == 0):  # beats before the first sample's chunk
        conv.process_rr(bt[ib == 0], rr[ib == 0])
    start = 0
    for k, stop in enumerate(a_cuts.tolist(), start=1):
        if stop > start:
            ot, oy = conv.process(tt[start:stop], a[start:stop])
            ts.append(ot)
            ys.append(oy)
            start = stop
        sel = ib == k
        if np.any(sel):
            conv.process_rr(bt[sel], rr[sel])
        if sign_log is not None:
            sign_log.append((float(edges[0] + k * step_s), conv.sign_basis, conv.n_sign_flips))
    if start < tt.size:
        ot, oy = conv.process(tt[start:], a[start:])
        ts.append(ot)
        ys.append(oy)
    if not ts:
        return np.empty(0), np.empty(0)
    return np.concatenate(ts), np.concatenate(ys)
