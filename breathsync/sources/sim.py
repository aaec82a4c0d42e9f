"""The simulated partner: a virtual breather behind the :class:`~breathsync.sources.base.Source` interface.

It breathes live, in session time, with the model of :mod:`breathsync.synth`: a phase oscillator whose
speed follows the breath shape (inhale 40% of the cycle, exhale 60% ending in a short pause), with phase
diffusion (breath-to-breath rate variability; under 6/min in proportion to the pace it breathes at, as
:func:`breathsync.synth.rate_diffusion` says why), and the belt-like waveform of
:class:`~breathsync.synth.BreathWaveform` (breath-to-breath amplitude variability, an occasional sigh,
baseline drift, sensor noise). Modes:

- ``steady``: its own rate (default 12/min) with natural variability.
- ``follow``: a cooperative partner. The phase is pulled towards the other participant's live phase as it
  was ``delay_s`` ago (default 0.3 s, :data:`DEFAULT_DELAY_S`; read through the
  :class:`~breathsync.sources.base.PhaseProbe` the session gives it)::

      d theta = [omega g(theta) + coupling sin(phi_partner(t - delay_s) - theta)] dt + sqrt(2 D) dW

  so it falls into step gradually when ``coupling`` (rad/s) exceeds the rate difference (in rad/s); its own
  pace also adapts towards the partner's (``d omega = 0.1 coupling sin(phi_partner - theta) dt``, an
  adaptive-frequency oscillator), so it follows a partner whose rate differs or changes; while
  the partner's phase is unknown (NaN, or no probe) it breathes at its own rate.
- ``lead``: breathes at its own rate (default 14/min), then after ``after_s`` (60 s) changes it linearly
  over ``ramp_s`` (120 s) to ``to_bpm`` (8/min), to train following.
- ``pacer``: an exact metronome: the phase is a function of session time (no noise, no accumulation),
  rising linearly 0 -> pi over the inhale and pi -> 2 pi over the exhale; the waveform is the clean
  ``(1 - cos phase) / 2``.

Every chunk carries ``resp`` (the waveform) and ``true_phase`` (the simulated phase, wrapped to [0, 2 pi),
0 = inhale onset), so tests and benchmarks can compare what the pipeline measures with the truth. Samples
are stamped ``t = k / fs_hz`` (session seconds). The output depends only on the seed and, for ``follow``,
on the partner phases read: for a seed and the same partner phases it is identical, however the time is
cut into chunks.

Command-line syntax (the part after ``sim:``; :func:`parse_sim_spec`)::

    steady|follow|lead|pacer[,key=value ...]

    steady: rate seed duration fs
    follow: rate coupling delay partner seed duration fs   (partner=LABEL: whom to follow)
    lead:   rate to ramp after seed duration fs
    pacer:  rate inhale exhale duration fs
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from breathsync.dsp._types import FloatArray
from breathsync.errors import InputError
from breathsync.sources.base import PhaseProbe, SampleChunk, SessionClock, Source, SourceError, SourceStatus
from breathsync.synth import DIFFUSION, DIFFUSION_FULL_BPM, BreathShape, BreathWaveform

__all__ = ["DEFAULT_SHAPE", "MODES", "SimSource", "parse_sim_spec"]

TWO_PI = 2.0 * math.pi

#: The simulated breather's cycle and waveform: 40/60 inhale/exhale with a short end-expiratory pause,
#: 12% breath-to-breath amplitude variation, a sigh every ~3 minutes, slow baseline drift, sensor noise.
DEFAULT_SHAPE = BreathShape(
    inhale_fraction=0.4,
    pause_fraction=0.08,
    amplitude=1.0,
    amplitude_cv=0.12,
    drift_sd=0.05,
    drift_tau_s=30.0,
    noise_sd=0.02,
    sigh_rate_per_min=0.3,
    sigh_gain=2.5,
)

#: Largest integration step (s); the step divides the sampling period.
MAX_STEP_S = 0.01

MODES: tuple[str, ...] = ("steady", "follow", "lead", "pacer")
#: follow: the default reaction delay (s). A follower breathes about this much behind its partner, i.e.
#: ``360 * delay * rate / 60`` degrees of phase, and a pair counts as in sync only within 45 degrees: 0.3 s
#: is 11-27 degrees at 6-15 breaths/min (36 at 20/min), so this cooperative partner is in sync once it has
#: fallen into step (175-260 s of 300 against a pacer at 6-15/min). The earlier 0.7 s was 25-63
#: degrees there: a partner locked at PLV 0.93 that hardly ever counted as in sync (0 s at 15/min).
DEFAULT_DELAY_S = 0.3
#: follow: frequency adaptation rate per unit coupling (rad/s^2 per rad/s): with coupling 0.5 the pace moves
#: by up to 0.05 rad/s per second, about 0.5 breaths/min every second while far out of step.
ADAPT_PER_COUPLING = 0.1


#: How many chunks a simulator that fell behind the clock makes at a time (ten were too few at --speed 300:
#: one turn of a busy event loop could take longer than the second of session time they cover).
CATCH_UP_CHUNKS = 50
#: follow: how long (wall time) to wait for the partner's phase before looking again whether its source ended.
PROBE_WAIT_S = 0.05


@dataclass(frozen=True)
class _Option:
    """One ``key=value`` of the spec: the constructor argument it sets and its accepted range."""

    attr: str
    lo: float
    hi: float
    unit: str
    integer: bool = False
    above_lo: bool = False  # lo itself is not accepted

    def accepted(self) -> str:
        if self.integer:
            return "a whole number >= 0"
        if self.above_lo:
            return f"a number > {self.lo:g} {self.unit} and at most {self.hi:g} {self.unit}"
        return f"{self.lo:g}-{self.hi:g} {self.unit}"


_OPTIONS: dict[str, _Option] = {
    "rate": _Option("rate_bpm", 2.0, 40.0, "breaths/min"),
    "to": _Option("to_bpm", 2.0, 40.0, "breaths/min"),
    "ramp": _Option("ramp_s", 0.0, 3600.0, "s"),
    "after": _Option("after_s", 0.0, 86400.0, "s"),
    "coupling": _Option("coupling", 0.0, 10.0, "rad/s"),
    "delay": _Option("delay_s", 0.0, 5.0, "s"),
    "inhale": _Option("inhale_s", 0.3, 30.0, "s"),
    "exhale": _Option("exhale_s", 0.3, 30.0, "s"),
    "seed": _Option("seed", 0, math.inf, "", integer=True),
    # A day at most: inf (no end) is what leaving duration= out means.
    "duration": _Option("duration_s", 0.0, 86400.0, "s", above_lo=True),
    "fs": _Option("fs_hz", 5.0, 1000.0, "Hz"),
}

_MODE_KEYS: dict[str, tuple[str, ...]] = {
    "steady": ("rate", "seed", "duration", "fs"),
    "follow": ("rate", "coupling", "delay", "partner", "seed", "duration", "fs"),
    "lead": ("rate", "to", "ramp", "after", "seed", "duration", "fs"),
    "pacer": ("rate", "inhale", "exhale", "duration", "fs"),
}

#: The command-line syntax (the run command's help and the errors show it).
SPEC_SYNTAX = "sim:steady|follow|lead|pacer[,key=value...]"
#: Each mode's options, for the run command's help.
SPEC_OPTIONS = "; ".join(f"{mode}: {', '.join(k + '=' for k in keys)}" for mode, keys in _MODE_KEYS.items())

_DEFAULT_RATE_BPM = {"steady": 12.0, "follow": 12.0, "lead": 14.0, "pacer": 6.0}


def _check(key: str, value: float) -> None:
    opt = _OPTIONS[key]
    ok = opt.lo < value <= opt.hi if opt.above_lo else opt.lo <= value <= opt.hi
    if not ok or (opt.integer and value != int(value)):
        raise ValueError(f"{key}={value:g} is out of range: {key} must be {opt.accepted()}")


def _is_label(text: str) -> bool:
    return bool(text) and text.replace("_", "").replace("-", "").isalnum()


def _fmt(value: float) -> str:
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


class SimSource(Source):
    """A simulated breather (module docstring): ``steady``, ``follow``, ``lead`` or ``pacer``.

    Parameters
    ----------
    mode : str
        One of :data:`MODES`.
    rate_bpm : float, optional
        Natural (``lead``: starting; ``pacer``: exact) rate in breaths/min, 2-40. Default 12, ``lead`` 14,
        ``pacer`` 6 (or 60 / (inhale_s + exhale_s) when both are given).
    coupling : float
        ``follow``: how strongly the phase is pulled towards the partner's (rad/s), 0-10.
    delay_s : float
        ``follow``: reaction delay (s), 0-5: the partner's phase is read at ``t - delay_s``. Default
        :data:`DEFAULT_DELAY_S` (0.3 s, why there).
    to_bpm, ramp_s, after_s : float
        ``lead``: the rate changes linearly to ``to_bpm`` over ``ramp_s`` seconds, starting ``after_s``
        seconds after the source's first sample.
    inhale_s, exhale_s : float, optional
        ``pacer``: inhale and exhale durations (s). Both without ``rate_bpm`` set the period; with it they
        must add up to its period; one alone takes the rest of the period. Default 40% / 60%.
    seed : int
        Seed of every random draw.
    partner : str, optional
        ``follow``: the label of the participant to follow (the session connects the probe; default: the
        other participant).
    probe : PhaseProbe, optional
        ``follow``: where the partner's live phase is read (the session may also set ``source.probe``).
    fs_hz : float
        Sampling rate (Hz), 5-1000.
    duration_s : float, optional
        The stream ends after this many seconds of session time (default: when stopped).
    shape : BreathShape, optional
        Cycle and waveform options (default :data:`DEFAULT_SHAPE`; ``pacer`` ignores it).
    diffusion : float
        Phase diffusion coefficient D in rad^2/s at 6/min or faster (default
        :data:`breathsync.synth.DIFFUSION`; slower: in proportion to the pace; ``pacer``: none).
    chunk_s : float
        Session time per chunk yielded by :meth:`stream`.

    Raises
    ------
    ValueError
        An unknown mode or a value out of range; the message names the spec key (``rate=...``).
    """

    signal = "resp"
    paced = True
    #: Seconds of true phase kept for :meth:`true_phase_at`.
    history_s: float = 120.0

    def __init__(
        self,
        mode: str = "steady",
        *,
        rate_bpm: float | None = None,
        coupling: float = 0.5,
        delay_s: float = DEFAULT_DELAY_S,
        to_bpm: float = 8.0,
        ramp_s: float = 120.0,
        after_s: float = 60.0,
        inhale_s: float | None = None,
        exhale_s: float | None = None,
        seed: int = 0,
        partner: str | None = None,
        probe: PhaseProbe | None = None,
        fs_hz: float = 25.0,
        duration_s: float | None = None,
        shape: BreathShape | None = None,
        diffusion: float = DIFFUSION,
        chunk_s: float = 0.1,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: use {', '.join(MODES)}")
        self.mode = mode
        self.coupling = float(coupling)
        self._omega_shift = 0.0  # follow: how far the pace has adapted towards the partner's (rad/s)
        self.delay_s = float(delay_s)
        self.to_bpm = float(to_bpm)
        self.ramp_s = float(ramp_s)
        self.after_s = float(after_s)
        self.seed = int(seed)
        self.probe = probe
        #: Session time of the first sample; None: the nearest to the clock when :meth:`start` is called. A
        #: session's partner starts with the session (0), wherever the clock has got by then: at a high
        #: --speed, the other sources' start (reading a file) takes seconds of session time.
        self.start_s: float | None = None
        if partner is not None and not _is_label(partner):
            raise ValueError(f"partner={partner}: a participant label is letters, digits, '-' or '_'")
        self.partner = partner
        #: ``follow``: the label of the participant whose phase the probe reads (``partner``, or whom the
        #: command line resolved it to: the first other participant), for the session's description
        #: (``SessionInfo.follows``: whose cue it is). The spec keeps ``partner`` as given.
        self.follows: str | None = partner if mode == "follow" else None
        self.fs_hz = float(fs_hz)
        self.duration_s = None if duration_s is None else float(duration_s)
        self.shape = shape if shape is not None else DEFAULT_SHAPE
        self.diffusion = float(diffusion)
        self.chunk_s = float(chunk_s)
        for key, value in (
            ("coupling", self.coupling),
            ("delay", self.delay_s),
            ("to", self.to_bpm),
            ("ramp", self.ramp_s),
            ("after", self.after_s),
            ("seed", seed),
            ("fs", self.fs_hz),
        ):
            _check(key, float(value))
        if self.duration_s is not None:
            _check("duration", self.duration_s)
        if not (self.diffusion >= 0 and self.chunk_s > 0):
            raise ValueError("diffusion must be >= 0 and chunk_s > 0")
        self.inhale_s: float | None = None
        self.exhale_s: float | None = None
        if mode == "pacer":
            self.rate_bpm, self.inhale_s, self.exhale_s = _pacer_timing(rate_bpm, inhale_s, exhale_s)
        else:
            self.rate_bpm = _DEFAULT_RATE_BPM[mode] if rate_bpm is None else float(rate_bpm)
        _check("rate", self.rate_bpm)

        # Integration grid and state.
        self._substeps = max(1, math.ceil((1.0 / self.fs_hz) / MAX_STEP_S - 1e-9))
        self._dt = 1.0 / (self.fs_hz * self._substeps)
        self._noise_scale = math.sqrt(2.0 * self.diffusion * self._dt)
        phase_seq, wave_seq = np.random.SeedSequence(self.seed).spawn(2)
        self._rng = np.random.default_rng(phase_seq)
        self._theta = float(self._rng.uniform(0.0, TWO_PI)) if mode != "pacer" else 0.0
        self._wave = BreathWaveform(self.shape, self.fs_hz, wave_seq)
        self._k0 = 0  # index of the first sample (t = k0 / fs)
        self._k_next = 0  # index of the next sample to generate
        self._n_done = 0
        self._k_last: int | None = None
        self._set_duration()
        self._hist_k0 = 0
        self._hist = np.empty(0)
        self._clock: SessionClock | None = None
        self._stopped = False

    # ----------------------------------------------------------------------------------------------
    # Model
    def _set_duration(self) -> None:
        if self.duration_s is not None:
            self._k_last = self._k0 + max(1, math.floor(self.duration_s * self.fs_hz + 1e-9)) - 1

    def rate_at(self, tau_s: float) -> float:
        """The natural rate (breaths/min) ``tau_s`` seconds after the source's first sample."""
        if self.mode != "lead" or tau_s < self.after_s:
            return self.rate_bpm
        if self.ramp_s <= 0 or tau_s >= self.after_s + self.ramp_s:
            return self.to_bpm
        return self.rate_bpm + (self.to_bpm - self.rate_bpm) * (tau_s - self.after_s) / self.ramp_s

    def _pacer_phase(self, tau: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(completed cycles, phase within the cycle in [0, 2 pi)) of the pacer at ``tau`` s from its start."""
        assert self.inhale_s is not None and self.exhale_s is not None
        period = self.inhale_s + self.exhale_s
        cycles = np.floor(tau / period)
        c = np.maximum(tau - cycles * period, 0.0)
        inside = np.where(
            c < self.inhale_s,
            math.pi * c / self.inhale_s,
            math.pi + math.pi * (c - self.inhale_s) / self.exhale_s,
        )
        return cycles, np.minimum(inside, np.nextafter(TWO_PI, 0.0))

    def _integrate(self, n: int) -> tuple[FloatArray, FloatArray]:
        """Unwrapped phase and natural rate of the next ``n`` samples (Euler-Maruyama)."""
        out = np.empty(n)
        rates = np.empty(n)
        fs, sub, dt = self.fs_hz, self._substeps, self._dt
        rel0 = self._k_next - self._k0  # samples since the first one
        theta = self._theta
        i0 = 0
        if self._n_done == 0:  # the first sample is the initial phase
            out[0] = theta
            rates[0] = self.rate_at(0.0)
            i0 = 1
        noise = (self._rng.standard_normal((n - i0) * sub) * self._noise_scale).tolist()
        speed = self.shape.phase_speed_at
        probe = self.probe if self.mode == "follow" and self.coupling > 0 else None
        k_coup, delay, t_first = self.coupling, self.delay_s, self._k0 / fs
        adapt = ADAPT_PER_COUPLING * k_coup
        steady = self.mode != "lead"
        omega = TWO_PI * self.rate_bpm / 60.0
        # Under 6/min the phase noise shrinks with the pace (variance in proportion: synth.rate_diffusion).
        omega_full = TWO_PI * DIFFUSION_FULL_BPM / 60.0
        j = 0
        other = math.nan
        for i in range(i0, n):
            tau_prev = (rel0 + i - 1) / fs
            if probe is not None:
                # The partner's phase, read once per sample (the probe holds ~20 Hz estimates), at the
                # middle of the sample interval: on average exactly ``delay_s`` old.
                other = probe.phase_at(t_first + tau_prev + 0.5 / fs - delay)
            for s in range(sub):
                tau = tau_prev + s * dt
                if not steady:
                    omega = TWO_PI * self.rate_at(tau) / 60.0
                vel = (omega + self._omega_shift) * speed(theta)
                if other == other:  # not NaN: the partner's phase is known
                    pull = math.sin(other - theta)
                    vel += k_coup * pull
                    # Frequency adaptation: a cooperative partner also drifts its own pace towards yours
                    # (adaptive-frequency oscillator), so it can follow rates beyond the coupling's reach.
                    self._omega_shift += adapt * pull * dt
                pace = omega + self._omega_shift
                if pace >= omega_full:
                    theta += vel * dt + noise[j]
                else:
                    theta += vel * dt + noise[j] * math.sqrt(max(pace, 0.0) / omega_full)
                j += 1
            out[i] = theta
            rates[i] = self.rate_at((rel0 + i) / fs)
        self._theta = theta
        return out, rates

    # ----------------------------------------------------------------------------------------------
    # Synchronous driver
    def generate_until(self, t: float) -> SampleChunk:
        """Generate every not yet generated sample with session time ``k / fs_hz <= t``.

        This is what :meth:`stream` calls as session time advances; tests may call it directly. Returns a
        chunk (possibly empty) with the columns ``resp`` and ``true_phase``.
        """
        k_end = math.floor(t * self.fs_hz + 1e-9)
        if self._k_last is not None:
            k_end = min(k_end, self._k_last)
        n = k_end - self._k_next + 1
        if n <= 0:
            e = np.empty(0)
            return SampleChunk(e, {"resp": e.copy(), "true_phase": e.copy()})
        ks = np.arange(self._k_next, k_end + 1)
        ts = ks / self.fs_hz
        if self.mode == "pacer":
            cycles, phase = self._pacer_phase((ks - self._k0) / self.fs_hz)
            unwrapped = TWO_PI * cycles + phase
            resp = (1.0 - np.cos(phase)) / 2.0
        else:
            unwrapped, rates = self._integrate(n)
            phase = np.mod(unwrapped, TWO_PI)
            resp = self._wave(unwrapped, rates)
        self._k_next = k_end + 1
        self._n_done += n
        self._remember(unwrapped)
        return SampleChunk(ts, {"resp": resp, "true_phase": phase})

    def _remember(self, unwrapped: FloatArray) -> None:
        if self._hist.size == 0:
            self._hist_k0 = self._k_next - unwrapped.size
        self._hist = np.concatenate((self._hist, unwrapped))
        keep = math.ceil(self.history_s * self.fs_hz) + 1
        if self._hist.size > 2 * keep:
            cut = self._hist.size - keep
            self._hist = self._hist[cut:]
            self._hist_k0 += cut

    def true_phase_at(self, t: float) -> float:
        """The simulated phase (rad, [0, 2 pi)) at session time ``t``.

        ``pacer``: any time from its first sample on. Other modes: interpolated between generated samples
        of the last :attr:`history_s` seconds; NaN outside them.
        """
        if self.mode == "pacer":
            tau = t - self._k0 / self.fs_hz
            if tau < 0:
                return math.nan
            return float(self._pacer_phase(np.array([tau]))[1][0])
        if self._hist.size == 0:
            return math.nan
        x = t * self.fs_hz - self._hist_k0
        if not 0 <= x <= self._hist.size - 1:
            return math.nan
        return float(np.mod(np.interp(x, np.arange(self._hist.size), self._hist), TWO_PI))

    # ----------------------------------------------------------------------------------------------
    # Source interface
    async def start(self, clock: SessionClock) -> None:
        """Record the clock (starting it if the session has not); the first sample is the one nearest
        to :attr:`start_s`, or to ``clock.now()`` when it is None."""
        clock.start()
        self._clock = clock
        if self._n_done == 0:
            first = clock.now() if self.start_s is None else self.start_s
            self._k0 = self._k_next = max(0, math.ceil(first * self.fs_hz - 0.5))
            self._set_duration()

    async def stream(self) -> AsyncIterator[SampleChunk]:
        """Chunks of about ``chunk_s`` of session time, each generated up to ``clock.now()``."""
        clock = self._clock
        if clock is None:
            raise SourceError("sim: stream() called before start()")
        per_chunk = max(1, round(self.chunk_s * self.fs_hz))
        while not self._stopped:
            k_target = self._k_next + per_chunk - 1
            if self._k_last is not None:
                k_target = min(k_target, self._k_last)
            await clock.sleep_until(k_target / self.fs_hz)
            if self._stopped:
                break
            # Catch up at most CATCH_UP_CHUNKS chunks at a time, so a late simulator never blocks the loop
            # for long (5 s of a follower at 25 Hz: about 1 ms here), yet keeps up at --speed 300 however
            # long the loop's other work takes between two of its turns.
            upto = min(clock.now(), (self._k_next + CATCH_UP_CHUNKS * per_chunk - 1) / self.fs_hz)
            probe = self.probe if self.mode == "follow" and self.coupling > 0 else None
            if probe is not None:
                # Never past the partner's phase as far as it is known: a replayed partner a fast session
                # has not played that far yet is not "unknown" (the follower would breathe on its own and
                # be a different partner at every --speed). Sample k reads the phase at k/fs - delay - 0.5/fs.
                upto = min(upto, probe.known_until() + self.delay_s)
                if upto < self._k_next / self.fs_hz:
                    await probe.wait_update(PROBE_WAIT_S)
                    continue
            chunk = self.generate_until(upto)
            if len(chunk):
                self.set_status(SourceStatus.STREAMING)
                yield chunk
            if self._k_last is not None and self._k_next > self._k_last:
                self.set_status(SourceStatus.ENDED, "simulation duration reached")
                return
        if self.status is not SourceStatus.ENDED:
            self.set_status(SourceStatus.ENDED, "stopped")

    def next_sample_s(self) -> float:
        if self._k_last is not None and self._k_next > self._k_last:
            return math.inf
        return self._k_next / self.fs_hz

    async def stop(self) -> None:
        """End the stream (it returns at its next chunk boundary); idempotent."""
        self._stopped = True
        if self.status is not SourceStatus.ENDED:
            self.set_status(SourceStatus.ENDED, "stopped")

    @property
    def spec(self) -> str:
        """The command-line spec that makes this source again (``sim:mode,key=value,...``)."""
        values: dict[str, float | str | None] = {
            "rate": self.rate_bpm,
            "to": self.to_bpm,
            "ramp": self.ramp_s,
            "after": self.after_s,
            "coupling": self.coupling,
            "delay": self.delay_s,
            "partner": self.partner,
            "inhale": self.inhale_s,
            "exhale": self.exhale_s,
            "seed": self.seed,
            "duration": self.duration_s,
            "fs": self.fs_hz,
        }
        parts = [f"sim:{self.mode}"]
        for key in _MODE_KEYS[self.mode]:
            value = values[key]
            if value is None or (key == "rate" and self.mode == "pacer"):
                continue
            text = value if isinstance(value, str) else _fmt(value) if key != "seed" else str(int(value))
            parts.append(f"{key}={text}")
        return ",".join(parts)

    def describe(self) -> dict[str, Any]:
        """Mode and parameters, plus the spec that reproduces the source."""
        info: dict[str, Any] = {
            "kind": "sim",
            "mode": self.mode,
            "spec": self.spec,
            "signal": self.signal,
            "fs_hz": self.fs_hz,
            "rate_bpm": self.rate_bpm,
            "duration_s": self.duration_s,
        }
        if self.mode == "pacer":
            info.update(inhale_s=self.inhale_s, exhale_s=self.exhale_s)
            return info
        info.update(seed=self.seed, diffusion=self.diffusion, shape=repr(self.shape))
        if self.mode == "follow":
            info.update(
                coupling=self.coupling,
                delay_s=self.delay_s,
                partner=self.partner,
                follows=self.follows,
                probe=self.probe is not None,
            )
        elif self.mode == "lead":
            info.update(to_bpm=self.to_bpm, ramp_s=self.ramp_s, after_s=self.after_s)
        return info


def _pacer_timing(
    rate_bpm: float | None, inhale_s: float | None, exhale_s: float | None
) -> tuple[float, float, float]:
    """(rate, inhale, exhale) of a pacer from what was given (see :class:`SimSource`)."""
    for key, value in (("rate", rate_bpm), ("inhale", inhale_s), ("exhale", exhale_s)):
        if value is not None:
            _check(key, float(value))
    if inhale_s is not None and exhale_s is not None:
        period = float(inhale_s) + float(exhale_s)
        if rate_bpm is not None and not math.isclose(60.0 / float(rate_bpm), period, rel_tol=1e-6):
            raise ValueError(
                f"inhale={_fmt(inhale_s)} + exhale={_fmt(exhale_s)} = {_fmt(period)} s per breath, but "
                f"rate={_fmt(rate_bpm)} means {_fmt(60.0 / rate_bpm)} s: drop rate= or make them agree"
            )
        if not 2.0 <= 60.0 / period <= 40.0:
            raise ValueError(
                f"inhale={_fmt(inhale_s)} + exhale={_fmt(exhale_s)} = {_fmt(period)} s per breath: "
                "a breath must last 1.5-30 s (2-40 breaths/min)"
            )
        return 60.0 / period, float(inhale_s), float(exhale_s)
    rate = _DEFAULT_RATE_BPM["pacer"] if rate_bpm is None else float(rate_bpm)
    _check("rate", rate)
    period = 60.0 / rate
    if inhale_s is None and exhale_s is None:
        return rate, 0.4 * period, 0.6 * period
    given_key, given = ("inhale", inhale_s) if inhale_s is not None else ("exhale", exhale_s)
    assert given is not None
    rest = period - float(given)
    if rest < _OPTIONS["exhale"].lo:
        raise ValueError(
            f"{given_key}={_fmt(given)} leaves no time for the other half of a {_fmt(period)} s breath "
            f"at rate={_fmt(rate)}: give a shorter {given_key}= or a lower rate="
        )
    return (rate, float(given), rest) if given_key == "inhale" else (rate, rest, float(given))


def parse_sim_spec(text: str, probe: PhaseProbe | None = None) -> SimSource:
    """A :class:`SimSource` from the command-line spec ``mode[,key=value ...]`` (a leading ``sim:`` is ok).

    Raises
    ------
    InputError
        One line naming the spec, the problem and what is accepted.
    """
    body = text.strip()
    if body[:4].lower() == "sim:":
        body = body[4:]
    where = f"sim:{body}"
    parts = [p.strip() for p in body.split(",")]
    mode = parts[0].lower()
    if mode not in MODES:
        raise InputError(
            f"{where}: unknown simulated partner mode {parts[0]!r}; use sim:steady, sim:follow, sim:lead "
            "or sim:pacer, with options like sim:follow,rate=12,coupling=0.5"
        )
    accepted = _MODE_KEYS[mode]
    kwargs: dict[str, Any] = {}
    seen: set[str] = set()
    for item in parts[1:]:
        key, sep, raw = (s.strip() for s in item.partition("="))
        key = key.lower()
        if not sep or not key or not raw:
            raise InputError(f"{where}: {item!r} is not key=value; sim:{mode} accepts {', '.join(accepted)}")
        if key not in accepted:
            raise InputError(
                f"{where}: sim:{mode} has no option {key!r}; it accepts {', '.join(k + '=' for k in accepted)}"
            )
        if key in seen:
            raise InputError(f"{where}: {key}= is given twice")
        seen.add(key)
        if key == "partner":
            kwargs["partner"] = raw
            continue
        opt = _OPTIONS[key]
        try:
            value: float = float(raw)
        except ValueError:
            raise InputError(
                f"{where}: {key}={raw} is not a number; {key} must be {opt.accepted()}"
            ) from None
        if opt.integer:
            if not value.is_integer():  # 1.5 is a number, only not a whole one (nan and inf neither)
                raise InputError(
                    f"{where}: {key}={raw} is not a whole number; {key} must be {opt.accepted()}"
                )
            value = int(value)
        kwargs[opt.attr] = value
    try:
        return SimSource(mode, probe=probe, **kwargs)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
