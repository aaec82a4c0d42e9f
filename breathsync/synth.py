"""Synthetic breathers with known coupling: seeded, pure NumPy, no I/O.

Phase model
-----------
Each participant ``i`` has a breathing phase ``theta_i`` (radians, unwrapped; its wrapped value
follows the project convention: 0 = inhale onset / trough, pi = end of inhale / peak). It follows a
stochastic Kuramoto model with phase diffusion and an optional reaction delay, integrated with
Euler-Maruyama at a step of at most ``max_step_s`` (an integer fraction of the output period)::

    d theta_i = [ omega_i g(theta_i)
                  + sum_j K[i, j] sin(theta_j(t - delay[i, j]) - theta_i) ] dt
                + sqrt(2 D_i) dW_i

- ``omega_i = 2 pi rate_bpm_i / 60`` is the natural rate.
- ``K[i, j]`` (rad/s) is how strongly ``i`` adjusts to ``j``, per direction: a symmetric pair has
  ``K[0, 1] = K[1, 0] = K`` and locks when ``|omega_0 - omega_1| < 2 K``.
- ``delay[i, j]`` (s): ``i`` reacts to the phase ``j`` had ``delay`` seconds ago (before the start,
  ``j`` is extrapolated backwards at its natural rate).
- ``D_i`` is the phase diffusion coefficient in rad^2/s: the noise standard deviation is
  ``sqrt(2 D)`` rad/sqrt(s), so a free oscillator's phase variance grows by ``2 D`` per second. The
  ``diffusion`` given is a breather's at :data:`DIFFUSION_FULL_BPM` (6/min) or faster; a slower one's is
  in proportion to its rate (:func:`rate_diffusion`): it is then a 6/min breather slowed down.
- ``g(theta)`` shapes the cycle (see :class:`BreathShape`): the phase runs faster during inhale
  than during exhale (and slows down in an optional post-exhale pause); its time average over a
  cycle is 1, so the natural period stays ``2 pi / omega`` and the phase stays the true one.

Calibration
-----------
``notes/signal.md``: "stochastic Kuramoto pair at 0.25 / 0.28 Hz, phase diffusion 0.05, coupling
K = 0 / 0.05 / 0.1 / 0.2 / 0.5 rad/s gives true 60-s PLV 0.30 / 0.30 / 0.55 / 0.84 / 0.94".
With the ``sqrt(2 D)`` convention, ``D = 0.05`` and ``K`` per direction, the mean 60-s PLV of the
true phases (non-overlapping windows, 8 seeds x 1200 s, step 0.01 s) is
0.23 / 0.35 / 0.51 / 0.83 / 0.95 with a symmetric cycle (``inhale_fraction=0.5``, pure Kuramoto)
and 0.24 / 0.32 / 0.49 / 0.80 / 0.94 with the default 40/60 cycle. The other readings of
"diffusion 0.05" miss: noise sd 0.05 gives 0.11 / 0.32 / 0.95 / 0.99 / 0.99 and noise variance
0.05 gives 0.21 / 0.33 / 0.61 / 0.92 / 0.97. An uncoupled 60-s PLV saturates near 0.25 whatever
the noise, so the 0.30 quoted for K = 0 is within its sampling spread.

Waveform
--------
``resp = A(phi) (1 - cos phi) / 2 + drift + noise`` with ``phi`` the unwrapped phase: trough (0)
at every inhale onset, peak ``A`` at pi. ``A`` is drawn per breath (log-normal, coefficient of
variation ``amplitude_cv``; an occasional sigh multiplies it by ``sigh_gain``) and interpolated
linearly between breath peaks, so the signal is continuous. The baseline drifts as an
Ornstein-Uhlenbeck process (standard deviation ``drift_sd``, time constant ``drift_tau_s``); the
sensor noise is white and Gaussian.

Random streams are separate: the phases depend only on the seed and the phase-model parameters,
so changing the waveform options leaves the true phases unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DIFFUSION",
    "DIFFUSION_FULL_BPM",
    "BreathShape",
    "BreathWaveform",
    "SynthGroup",
    "rate_diffusion",
    "simulate_group",
    "simulate_pair",
    "true_plv",
]

FloatArray = NDArray[np.float64]
TWO_PI = 2.0 * math.pi

#: The phase diffusion (rad^2/s) of a simulated breather at :data:`DIFFUSION_FULL_BPM` or faster: a breath
#: period varying by about 11% at 12/min (notes/signal.md's "phase diffusion 0.05").
DIFFUSION = 0.05
#: Under this rate (breaths/min) the phase diffusion is in proportion to the rate (:func:`rate_diffusion`).
DIFFUSION_FULL_BPM = 6.0


def rate_diffusion(rate_bpm: float, diffusion: float = DIFFUSION) -> float:
    """The phase diffusion of a breather at ``rate_bpm``: ``diffusion`` at :data:`DIFFUSION_FULL_BPM` or
    faster, in proportion to the rate below it.

    A phase diffusing at ``D`` watched ``s`` times slower diffuses at ``D / s`` (Brownian scaling), so a
    breather at 3/min with ``D / 2`` is a 6/min breather slowed down: its breath-to-breath variability is the
    same fraction of a breath. With 0.05 at every rate, a 3/min breather's phase noise within a second was as
    large as its progress (0.31 rad), the waveform wavered back and forth within a breath, and both paths
    counted wavers as breaths (600 s, seed 2: 42 offline and 69 live for 30 cycles; at 2/min 45 and 163 for
    20). At 6/min and faster nothing changes.
    """
    return diffusion * min(1.0, max(rate_bpm, 0.0) / DIFFUSION_FULL_BPM)


# Pause bump: a von Mises bump of phase "time density" centred late in the exhale.
_PAUSE_CENTER = 1.85 * math.pi
_PAUSE_KAPPA = 60.0
_PAUSE_NORM = math.exp(-_PAUSE_KAPPA) * float(np.i0(_PAUSE_KAPPA))  # mean of the bump over a cycle


@dataclass(frozen=True)
class BreathShape:
    """How one participant's breathing cycle and belt signal look.

    Attributes
    ----------
    inhale_fraction : float
        Fraction of the cycle (in time) from inhale onset to peak; 0.5 gives a symmetric, pure
        Kuramoto phase. Default 0.4 (inhale shorter than exhale).
    pause_fraction : float
        Fraction of the cycle spent in a pause near the end of the exhale (the signal stays near the
        trough). Default 0.
    amplitude : float
        Mean trough-to-peak amplitude (arbitrary units).
    amplitude_cv : float
        Breath-to-breath coefficient of variation of the amplitude.
    drift_sd : float
        Standard deviation of the slow baseline drift (same units as ``amplitude``).
    drift_tau_s : float
        Time constant of the baseline drift in seconds.
    noise_sd : float
        Standard deviation of the white sensor noise.
    sigh_rate_per_min : float
        Mean number of sighs per minute (0: none).
    sigh_gain : float
        Amplitude factor of a sigh.
    """

    inhale_fraction: float = 0.4
    pause_fraction: float = 0.0
    amplitude: float = 1.0
    amplitude_cv: float = 0.1
    drift_sd: float = 0.1
    drift_tau_s: float = 30.0
    noise_sd: float = 0.02
    sigh_rate_per_min: float = 0.0
    sigh_gain: float = 2.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.pause_fraction < 0.5:
            raise ValueError(f"pause_fraction must be in [0, 0.5), got {self.pause_fraction}")
        if not 0.0 < self.inhale_fraction < 1.0 - self.pause_fraction:
            raise ValueError(f"inhale_fraction must be in (0, 1 - pause), got {self.inhale_fraction}")
        if abs(self._asymmetry()) >= 0.95:
            raise ValueError(
                f"inhale_fraction {self.inhale_fraction} with pause_fraction {self.pause_fraction} "
                "is too lopsided: the inhale share of the non-pause time must be within 0.2-0.8"
            )
        for name in ("amplitude_cv", "drift_sd", "noise_sd", "sigh_rate_per_min"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.amplitude <= 0 or self.drift_tau_s <= 0 or self.sigh_gain <= 0:
            raise ValueError("amplitude, drift_tau_s and sigh_gain must be > 0")

    def _asymmetry(self) -> float:
        # Time density h(theta) = (1 - p) (1 - b sin theta) + p bump(theta), mean 1 over the cycle;
        # inhale time share = (1 - p) (1/2 - b / pi)  =>  b = pi (1/2 - f / (1 - p)).
        return math.pi * (0.5 - self.inhale_fraction / (1.0 - self.pause_fraction))

    def phase_speed(self, theta: FloatArray) -> FloatArray:
        """Relative phase velocity ``g(theta)`` (mean 1 in time over a cycle)."""
        b = self._asymmetry()
        p = self.pause_fraction
        h = (1.0 - p) * (1.0 - b * np.sin(theta))
        if p > 0:
            h = h + (p / _PAUSE_NORM) * np.exp(_PAUSE_KAPPA * (np.cos(theta - _PAUSE_CENTER) - 1.0))
        return np.asarray(1.0 / h, dtype=np.float64)

    def phase_speed_at(self, theta: float) -> float:
        """:meth:`phase_speed` for one phase (plain floats: fast in a step-by-step integration)."""
        p = self.pause_fraction
        h = (1.0 - p) * (1.0 - self._asymmetry() * math.sin(theta))
        if p > 0:
            h += (p / _PAUSE_NORM) * math.exp(_PAUSE_KAPPA * (math.cos(theta - _PAUSE_CENTER) - 1.0))
        return 1.0 / h


@dataclass(frozen=True)
class SynthGroup:
    """Simulated participants sampled at ``fs_hz``.

    Attributes
    ----------
    t : numpy.ndarray
        Sample times in seconds, shape (n,).
    phase : numpy.ndarray
        True breathing phase wrapped to [0, 2 pi), shape (participants, n).
    resp : numpy.ndarray
        Breathing (belt-like) waveform, rising on inhale, shape (participants, n).
    onsets : tuple of numpy.ndarray
        True inhale-onset times (s) per participant: where the unwrapped phase first reaches each
        multiple of 2 pi.
    fs_hz, rates_bpm, coupling, delay_s, diffusion, seed
        The parameters used.
    """

    t: FloatArray
    phase: FloatArray
    resp: FloatArray
    onsets: tuple[FloatArray, ...]
    fs_hz: float
    rates_bpm: tuple[float, ...]
    coupling: FloatArray
    delay_s: FloatArray
    diffusion: tuple[float, ...]
    seed: int
    unwrapped: FloatArray = field(repr=False)

    def plv(self, i: int = 0, j: int = 1, window_s: float = 60.0) -> float:
        """Mean true PLV between participants ``i`` and ``j`` over non-overlapping windows."""
        return float(np.mean(true_plv(self.phase[i], self.phase[j], self.fs_hz, window_s)))

    def mean_lag_s(self, leader: int = 0, follower: int = 1) -> float:
        """How many seconds ``follower`` breathes after ``leader`` on average (true phases).

        The circular mean of ``phase[leader] - phase[follower]`` divided by the leader's mean
        angular rate; positive when the follower lags.
        """
        rel = np.angle(np.mean(np.exp(1j * (self.phase[leader] - self.phase[follower]))))
        span = self.unwrapped[leader, -1] - self.unwrapped[leader, 0]
        rate = span / (self.t[-1] - self.t[0])
        return float(rel / rate)


def true_plv(phase_a: ArrayLike, phase_b: ArrayLike, fs_hz: float, window_s: float = 60.0) -> FloatArray:
    """Phase locking value ``|mean(exp(i (a - b)))|`` in consecutive non-overlapping windows.

    Parameters
    ----------
    phase_a, phase_b : array_like
        Phases in radians, same length, sampled at ``fs_hz``.
    fs_hz : float
        Sampling rate.
    window_s : float
        Window length in seconds; an incomplete last window is ignored.

    Returns
    -------
    numpy.ndarray
        One PLV per window.
    """
    a = np.asarray(phase_a, dtype=np.float64)
    b = np.asarray(phase_b, dtype=np.float64)
    win = round(window_s * fs_hz)
    if win < 1 or a.shape != b.shape or a.ndim != 1:
        raise ValueError("phases must be 1-D of equal length and the window at least one sample")
    n_win = a.size // win
    if n_win == 0:
        raise ValueError(f"signal shorter than one {window_s} s window")
    z = np.exp(1j * (a[: n_win * win] - b[: n_win * win])).reshape(n_win, win)
    return np.asarray(np.abs(z.mean(axis=1)), dtype=np.float64)


def simulate_pair(
    duration_s: float,
    fs_hz: float = 25.0,
    rate_a_bpm: float = 15.0,
    rate_b_bpm: float = 16.8,
    k_ab: float = 0.0,
    k_ba: float = 0.0,
    delay_s: float = 0.0,
    diffusion: float = DIFFUSION,
    shape: BreathShape | Sequence[BreathShape] | None = None,
    seed: int = 0,
    max_step_s: float = 0.01,
) -> SynthGroup:
    """Simulate two breathers A (index 0) and B (index 1).

    Parameters
    ----------
    duration_s : float
        Length in seconds.
    fs_hz : float
        Output sampling rate.
    rate_a_bpm, rate_b_bpm : float
        Natural breathing rates in breaths per minute (15 and 16.8 = 0.25 and 0.28 Hz).
    k_ab : float
        How strongly A adjusts to B (rad/s).
    k_ba : float
        How strongly B adjusts to A (rad/s); ``k_ab=0, k_ba>0`` makes B a one-way follower of A.
    delay_s : float
        Reaction delay of both couplings in seconds.
    diffusion : float
        Phase diffusion coefficient D in rad^2/s (noise sd ``sqrt(2 D)``), both participants, at 6/min
        or faster (slower: in proportion to the rate, :func:`rate_diffusion`).
    shape : BreathShape or a sequence of two, optional
        Cycle and waveform options (default :class:`BreathShape()`).
    seed : int
        Seed: equal arguments give identical output.
    max_step_s : float
        Largest integration step in seconds.

    Returns
    -------
    SynthGroup
    """
    coupling = np.array([[0.0, k_ab], [k_ba, 0.0]])
    return simulate_group(
        duration_s,
        fs_hz=fs_hz,
        rates_bpm=(rate_a_bpm, rate_b_bpm),
        coupling=coupling,
        delay_s=delay_s,
        diffusion=diffusion,
        shape=shape,
        seed=seed,
        max_step_s=max_step_s,
    )


def simulate_group(
    duration_s: float,
    fs_hz: float = 25.0,
    rates_bpm: Sequence[float] = (15.0, 16.8),
    coupling: ArrayLike | None = None,
    delay_s: float | ArrayLike = 0.0,
    diffusion: float | Sequence[float] = DIFFUSION,
    shape: BreathShape | Sequence[BreathShape] | None = None,
    seed: int = 0,
    max_step_s: float = 0.01,
    initial_phase: ArrayLike | None = None,
) -> SynthGroup:
    """Simulate N coupled breathers (model: module docstring).

    Parameters
    ----------
    duration_s : float
        Length in seconds.
    fs_hz : float
        Output sampling rate.
    rates_bpm : Sequence[float]
        Natural breathing rate of each participant (breaths/min); its length sets N.
    coupling : array_like, optional
        N x N matrix in rad/s; ``coupling[i, j]`` is how strongly ``i`` adjusts to ``j`` (diagonal
        ignored). Default: no coupling.
    delay_s : float or array_like
        Reaction delay in seconds: one for all couplings, or an N x N matrix.
    diffusion : float or Sequence[float]
        Phase diffusion coefficient D (rad^2/s) at 6/min or faster, one for all or one per participant;
        a participant whose natural rate is slower gets it in proportion (:func:`rate_diffusion`).
    shape : BreathShape or Sequence[BreathShape], optional
        Cycle and waveform options, one for all or one per participant.
    seed : int
        Seed for every random draw (initial phases, phase noise, waveform).
    max_step_s : float
        Largest Euler-Maruyama step in seconds (the step divides the output period).
    initial_phase : array_like, optional
        Starting phases (rad); default uniformly random.

    Returns
    -------
    SynthGroup
    """
    rates = np.asarray(rates_bpm, dtype=np.float64).reshape(-1)
    n_part = rates.size
    if n_part < 1 or not np.all(rates > 0):
        raise ValueError("rates_bpm must hold at least one positive rate")
    if not (duration_s > 0 and fs_hz > 0 and max_step_s > 0):
        raise ValueError("duration_s, fs_hz and max_step_s must be positive")
    k = np.zeros((n_part, n_part)) if coupling is None else np.array(coupling, dtype=np.float64)
    if k.shape != (n_part, n_part):
        raise ValueError(f"coupling must be {n_part} x {n_part}, got {k.shape}")
    np.fill_diagonal(k, 0.0)
    delays = np.broadcast_to(np.asarray(delay_s, dtype=np.float64), (n_part, n_part)).copy()
    if np.any(delays < 0):
        raise ValueError("delays must be >= 0")
    diff = np.broadcast_to(np.asarray(diffusion, dtype=np.float64), (n_part,)).copy()
    if np.any(diff < 0):
        raise ValueError("diffusion must be >= 0")
    diff = np.array([rate_diffusion(float(r), float(d)) for r, d in zip(rates, diff, strict=True)])
    shapes = _per_participant_shapes(shape, n_part)

    n_out = round(duration_s * fs_hz)
    substeps = max(1, math.ceil((1.0 / fs_hz) / max_step_s - 1e-9))
    dt = 1.0 / (fs_hz * substeps)
    n_steps = n_out * substeps

    seq = np.random.SeedSequence(seed)
    phase_seq, *wave_seqs = seq.spawn(1 + n_part)
    rng = np.random.default_rng(phase_seq)
    theta0 = (
        rng.uniform(0.0, TWO_PI, n_part)
        if initial_phase is None
        else np.broadcast_to(np.asarray(initial_phase, dtype=np.float64), (n_part,)).copy()
    )
    omega = TWO_PI * rates / 60.0
    noise = rng.standard_normal((n_steps, n_part)) * (np.sqrt(2.0 * diff * dt))[None, :]

    unwrapped = _integrate(theta0, omega, k, delays, noise, dt, shapes)
    fine_index = np.arange(n_out) * substeps
    phase_unwrapped = unwrapped[:, fine_index]
    t = np.arange(n_out, dtype=np.float64) / fs_hz
    resp = np.empty_like(phase_unwrapped)
    for i in range(n_part):
        resp[i] = _waveform(
            phase_unwrapped[i], fs_hz, rates[i], shapes[i], np.random.default_rng(wave_seqs[i])
        )
    onsets = tuple(_onsets(unwrapped[i], dt) for i in range(n_part))
    onsets = tuple(o[o < n_out / fs_hz] for o in onsets)
    return SynthGroup(
        t=t,
        phase=np.mod(phase_unwrapped, TWO_PI),
        resp=resp,
        onsets=onsets,
        fs_hz=float(fs_hz),
        rates_bpm=tuple(float(r) for r in rates),
        coupling=k,
        delay_s=delays,
        diffusion=tuple(float(d) for d in diff),
        seed=int(seed),
        unwrapped=phase_unwrapped,
    )


def _per_participant_shapes(
    shape: BreathShape | Sequence[BreathShape] | None, n_part: int
) -> list[BreathShape]:
    if shape is None:
        return [BreathShape()] * n_part
    if isinstance(shape, BreathShape):
        return [shape] * n_part
    shapes = list(shape)
    if len(shapes) != n_part:
        raise ValueError(f"need one BreathShape per participant ({n_part}), got {len(shapes)}")
    return shapes


def _integrate(
    theta0: FloatArray,
    omega: FloatArray,
    k: FloatArray,
    delays: FloatArray,
    noise: FloatArray,
    dt: float,
    shapes: list[BreathShape],
) -> FloatArray:
    """Euler-Maruyama; returns the unwrapped phase (participants x (steps + 1))."""
    n_steps, n_part = noise.shape
    lag = np.rint(delays / dt).astype(np.int64)
    np.fill_diagonal(lag, 0)
    pad = int(lag.max()) if lag.size else 0
    # History with a prefix extrapolated backwards at the natural rate (for delayed coupling).
    hist = np.empty((pad + n_steps + 1, n_part))
    back = np.arange(-pad, 0, dtype=np.float64)[:, None] * dt
    hist[:pad] = theta0[None, :] + omega[None, :] * back
    hist[pad] = theta0
    cols = np.broadcast_to(np.arange(n_part), (n_part, n_part))
    coupled = bool(np.any(k != 0))
    delayed = pad > 0
    same_shape = all(s == shapes[0] for s in shapes)
    speed = shapes[0].phase_speed
    for s in range(n_steps):
        row = pad + s
        cur = hist[row]
        if same_shape:
            vel = omega * speed(cur)
        else:
            vel = omega * np.array([sh.phase_speed(cur[i : i + 1])[0] for i, sh in enumerate(shapes)])
        if coupled:
            other = hist[row - lag, cols] if delayed else cur[None, :]
            vel = vel + (k * np.sin(other - cur[:, None])).sum(axis=1)
        hist[row + 1] = cur + vel * dt + noise[s]
    return np.ascontiguousarray(hist[pad:].T)


def _waveform(
    phi: FloatArray, fs_hz: float, rate_bpm: float, shape: BreathShape, rng: np.random.Generator
) -> FloatArray:
    """Belt-like signal from an unwrapped phase (see module docstring)."""
    n = phi.size
    cycles = phi / TWO_PI
    first = math.floor(float(cycles.min())) - 1
    last = math.floor(float(cycles.max())) + 1
    n_breaths = last - first + 1
    amp = _breath_amplitudes(shape, rate_bpm, n_breaths, rng)
    peaks = np.arange(first, last + 1, dtype=np.float64) + 0.5  # breath k peaks at cycle k + 1/2
    envelope = np.interp(cycles, peaks, amp)
    y = envelope * (1.0 - np.cos(phi)) / 2.0
    # Baseline drift: Ornstein-Uhlenbeck, exact discretisation.
    if shape.drift_sd > 0:
        a = _drift_decay(shape, fs_hz)
        kicks = (rng.standard_normal(n) * (shape.drift_sd * math.sqrt(1.0 - a * a))).tolist()
        x = float(rng.normal(0.0, shape.drift_sd))
        drift = [0.0] * n
        for i, kick in enumerate(kicks):
            x = a * x + kick
            drift[i] = x
        y = y + np.asarray(drift)
    if shape.noise_sd > 0:
        y = y + rng.normal(0.0, shape.noise_sd, n)
    return np.asarray(y, dtype=np.float64)


def _breath_amplitudes(shape: BreathShape, rate_bpm: float, n: int, rng: np.random.Generator) -> FloatArray:
    """Peak amplitudes of ``n`` consecutive breaths: log-normal (CV ``amplitude_cv``), sighs x ``sigh_gain``.

    Draws ``n`` normals (when the CV is > 0), then ``n`` uniforms (always, so later draws do not depend
    on the sigh option). A sigh is a breath drawn with probability ``sigh_rate_per_min / rate_bpm``.
    """
    cv = shape.amplitude_cv
    if cv > 0:
        s2 = math.log1p(cv * cv)
        amp = shape.amplitude * np.exp(rng.normal(-s2 / 2.0, math.sqrt(s2), n))
    else:
        amp = np.full(n, shape.amplitude)
    u = rng.random(n)
    if shape.sigh_rate_per_min > 0:
        p_sigh = min(1.0, shape.sigh_rate_per_min / rate_bpm)
        amp = np.where(u < p_sigh, amp * shape.sigh_gain, amp)
    return np.asarray(amp, dtype=np.float64)


def _drift_decay(shape: BreathShape, fs_hz: float) -> float:
    """Per-sample decay factor of the Ornstein-Uhlenbeck baseline drift."""
    return math.exp(-1.0 / (fs_hz * shape.drift_tau_s))


class BreathWaveform:
    """The belt-like waveform of the module docstring, generated chunk by chunk from a live phase.

    The streaming counterpart of the batch waveform (same model: per-breath log-normal amplitude with
    sighs, interpolated between breath peaks; Ornstein-Uhlenbeck baseline drift; white sensor noise).
    Amplitudes, drift and noise come from three separate random streams and each breath's amplitude is
    drawn at the first sample that needs it, so the output does not depend on how the phase is cut into
    chunks. (The random draws are ordered differently from :func:`simulate_group`, whose output is
    fixed by the shipped samples: same model and statistics, not the same numbers.)

    Parameters
    ----------
    shape : BreathShape
        Cycle and waveform options.
    fs_hz : float
        Sampling rate of the phases that will be passed (for the drift time constant).
    seed : int or numpy.random.SeedSequence
        Seed of the three random streams.
    """

    def __init__(self, shape: BreathShape, fs_hz: float, seed: int | np.random.SeedSequence = 0) -> None:
        if not fs_hz > 0:
            raise ValueError("fs_hz must be positive")
        self.shape = shape
        self.fs_hz = float(fs_hz)
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        amp_seq, drift_seq, noise_seq = seq.spawn(3)
        self._amp_rng = np.random.default_rng(amp_seq)
        self._drift_rng = np.random.default_rng(drift_seq)
        self._noise_rng = np.random.default_rng(noise_seq)
        self._decay = _drift_decay(shape, fs_hz)
        self._drift = float(self._drift_rng.normal(0.0, shape.drift_sd)) if shape.drift_sd > 0 else 0.0
        self._first = 0  # breath index of _amps[0]
        self._amps: list[float] = []

    def __call__(self, phi: FloatArray, rate_bpm: float | FloatArray) -> FloatArray:
        """The waveform at the unwrapped phases ``phi`` (rad), continuing the previous call.

        ``rate_bpm`` (one value, or one per sample) is the breathing rate used for the sigh probability.
        """
        phi = np.asarray(phi, dtype=np.float64)
        n = phi.size
        if n == 0:
            return np.empty(0)
        rates = np.broadcast_to(np.asarray(rate_bpm, dtype=np.float64), (n,))
        cycles = phi / TWO_PI
        # Sample i lies between the peaks of breaths need[i] - 1 and need[i] (breath k peaks at k + 1/2);
        # breath k's amplitude is drawn at the first sample that needs it, with that sample's rate.
        need = np.floor(cycles + 0.5).astype(np.int64)
        if not self._amps:
            self._first = int(need[0]) - 1
        top = self._first + len(self._amps) - 1
        running = np.maximum.accumulate(need)
        for k in range(top + 1, int(running[-1]) + 1):
            i = min(int(np.searchsorted(running, max(k, self._first + 1), side="left")), n - 1)
            self._amps.extend(_breath_amplitudes(self.shape, float(rates[i]), 1, self._amp_rng).tolist())
        lo = int(need.min()) - 1
        first = self._first
        idx = np.clip(need - 1 - first, 0, len(self._amps) - 1)
        idx_next = np.clip(need - first, 0, len(self._amps) - 1)
        amps = np.asarray(self._amps)
        frac = cycles + 0.5 - need  # 0 at the previous peak, 1 at the next
        envelope = amps[idx] + (amps[idx_next] - amps[idx]) * frac
        y = envelope * (1.0 - np.cos(phi)) / 2.0
        shape = self.shape
        if shape.drift_sd > 0:
            kicks = self._drift_rng.standard_normal(n) * (shape.drift_sd * math.sqrt(1.0 - self._decay**2))
            drift = np.empty(n)
            x, a = self._drift, self._decay
            for i, kick in enumerate(kicks.tolist()):
                x = a * x + kick
                drift[i] = x
            self._drift = x
            y = y + drift
        if shape.noise_sd > 0:
            y = y + self._noise_rng.normal(0.0, shape.noise_sd, n)
        # Forget breaths that lie well behind (the phase never runs back by more than a breath).
        drop = lo - 2 - first
        if drop > 0:
            del self._amps[:drop]
            self._first += drop
        return np.asarray(y, dtype=np.float64)


def _onsets(unwrapped: FloatArray, dt: float) -> FloatArray:
    """Times where the unwrapped phase first reaches each multiple of 2 pi (interpolated)."""
    running = np.maximum.accumulate(unwrapped)
    first = math.floor(float(running[0]) / TWO_PI) + 1
    last = math.floor(float(running[-1]) / TWO_PI)
    if last < first:
        return np.empty(0)
    levels = TWO_PI * np.arange(first, last + 1, dtype=np.float64)
    idx = np.searchsorted(running, levels, side="left")
    idx = np.clip(idx, 1, running.size - 1)
    lo, hi = running[idx - 1], running[idx]
    frac = np.where(hi > lo, (levels - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0)
    return np.asarray((idx - 1 + frac) * dt, dtype=np.float64)


# ------------------------------------------------------------------------------- chest motion
CHEST_G_MG = (0.0, -1000.0, 0.0)
"""Gravity in the strap's frame before the first posture change (mG): upright, y pointing up."""
CHEST_TILT_AXIS = (-1.0, 0.0, 0.0)
"""The axis about which breathing tilts the chest, in the strap's frame (x: across the chest). It is fixed
to the body, so it does not turn in the strap's frame when the body does; gravity does. Upright, inhaling
moves the strap's reading along +z (out of the chest)."""
TURN_S = 1.5
"""How long a posture change takes (s)."""


def chest_accelerometer(
    t: ArrayLike,
    belt: ArrayLike,
    *,
    seed: int = 0,
    fs_hz: float = 100.0,
    posture_changes: int = 3,
    breathing_mg: float = 15.0,
    noise_mg: float = 3.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A chest strap's 3-axis accelerometer (mG) breathing as a belt recording does.

    Breathing tilts the chest, and the strap's accelerometer reads gravity turned by that tilt (Bates et
    al. 2010, BSN, "Respiratory rate and flow waveform estimation from tri-axial accelerometer data",
    model breathing the same way: a rotation of the measured gravity vector about an axis). The belt
    (resampled to ``fs_hz``, made a z-score) tilts the chest about :data:`CHEST_TILT_AXIS`, fixed in the
    strap's frame, by ``breathing_mg`` / 1000 rad per standard deviation, so the reading moves by
    ``breathing_mg`` per standard deviation while that axis is perpendicular to gravity, and by less as
    it turns towards the vertical (tilting about a vertical axis does not change what an accelerometer
    reads). ``posture_changes`` abrupt turns of the body, each a random rotation of about 70-90 degrees
    taking :data:`TURN_S`, are drawn in the windows ``[k/(n+1), k/(n+1) + 0.1]`` of the recording (k =
    1..n) and turn gravity (1000 mG) in the strap's frame: the direction breathing moves the reading in,
    perpendicular to the tilt axis and to gravity, turns with it. White noise of ``noise_mg``. Seeded:
    the same arguments give the same output.

    Returns
    -------
    t, xyz, belt
        Times at ``fs_hz`` from ``t[0]``, the accelerometer (n, 3) in mG, and the resampled belt
        z-score (the truth: the breathing the accelerometer carries, rising on inhale if the belt does).
    """
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(seed)
    t_in = np.asarray(t, dtype=np.float64)
    tg = np.arange(t_in[0], t_in[-1], 1.0 / fs_hz)
    b = np.interp(tg, t_in, np.asarray(belt, dtype=np.float64))
    b = (b - np.median(b)) / np.std(b)
    lower = (np.arange(posture_changes) + 1.0) / (posture_changes + 1.0)
    changes = tg[0] + (tg[-1] - tg[0]) * np.sort(rng.uniform(lower, lower + 0.1))
    rotvecs = [rng.normal(size=3) * 0.9 for _ in changes]
    # The body's orientation at every sample: the turns so far, the current one in progress.
    rot = Rotation.identity(tg.size)
    done = Rotation.identity()
    for at, rv in zip(changes.tolist(), rotvecs, strict=True):
        frac = np.clip((tg - at) / TURN_S, 0.0, 1.0)[:, None]
        moving = tg >= at
        rot_k = Rotation.from_rotvec(frac[moving] * rv) * done
        rot = Rotation.concatenate([rot[~moving], rot_k]) if np.any(~moving) else rot_k
        done = Rotation.from_rotvec(rv) * done
    g = rot.apply(np.asarray(CHEST_G_MG))
    # A small tilt by angle a about the unit axis u turns the reading g by a * (u x g), to first order.
    xyz = g + (breathing_mg / 1000.0) * b[:, None] * np.cross(np.asarray(CHEST_TILT_AXIS), g)
    xyz += rng.normal(0.0, noise_mg, xyz.shape)
    return tg, np.asarray(xyz, dtype=np.float64), b
