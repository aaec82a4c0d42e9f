"""Pair and group synchrony of breathing phases, corrected for chance.

Definitions (also in the README):

- relative phase ``dphi = phi_a - phi_b``; positive means A is ahead in its cycle (A breathes first).
- PLV over a window: ``|mean(exp(i*dphi))|`` over the samples where both phases are known; the angle of the
  same mean is the mean relative phase, turned into seconds with the pair's mean breathing rate.
- Null PLV: the PLV two people reach by chance with their own rhythms. Computed from circular time-shift
  surrogates (B's phase series shifted by >= ``min_shift_s`` against A's, which keeps each person's rhythm
  and destroys their coupling), the ``null_quantile`` (95%) of the surrogate PLVs. When there is too little
  history for surrogates, only the Rayleigh bound for the number of breaths in the window is used:
  ``sqrt(-ln(0.05) / n_breaths)`` (one independent phase per breath); otherwise the larger of the two.
  The null is capped at ``max_null`` (0.9): two metronome-regular breathers (a pacer and someone locked
  onto it) have surrogate PLVs near 1, and for them locking above 0.9 at a relative phase near zero is
  what "in sync" means; strangers never breathe that regularly.
- sync score: ``clip((PLV - null) / (1 - null), 0, 1)``: 0 = no more locked than chance, 1 = locked.
- in sync: PLV above the null AND ``|mean relative phase| <= max_rel_phase_deg`` (45 deg: a partner who
  follows within about an eighth of a cycle, under a second at slow rates) AND both phases known on at
  least ``min_coverage`` of the window.
- group: Kuramoto order parameter ``R = |mean_k exp(i*phi_k)|`` per instant, averaged over the window.

Everything works on phases sampled on one common uniform grid (NaN = unknown).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from breathsync.dsp._types import FloatArray

TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class SyncConfig:
    """Synchrony settings."""

    window_s: float = 30.0
    max_rel_phase_deg: float = 45.0
    min_coverage: float = 0.8
    min_shift_s: float = 20.0
    n_surrogates: int = 19
    null_quantile: float = 0.95
    max_null: float = 0.9  # cap of the chance level (see the module docstring)


@dataclass
class PairSync:
    """Windowed synchrony of one pair on a grid ``t`` (each value describes the window ending at ``t``
    for the causal version, centred on ``t`` for the offline one)."""

    t: FloatArray
    plv: FloatArray
    rel_phase_rad: FloatArray
    lag_s: FloatArray  # mean relative phase in seconds; > 0: A breathes first
    rate_diff_bpm: FloatArray  # rate A - rate B
    null_plv: FloatArray
    sync_score: FloatArray
    in_sync: np.ndarray

    def summary(self) -> dict[str, float | str | None]:
        """Time in sync, mean PLV, mean relative phase, who led and by how much."""
        ok = np.isfinite(self.plv)
        if not ok.any():
            return {
                "time_in_sync_frac": 0.0,
                "mean_plv": None,
                "mean_sync_score": None,
                "mean_relative_phase_rad": None,
                "leader": None,
                "lead_s": None,
            }
        # Who leads is only meaningful while the pair is in sync: taken from those windows alone.
        sel = self.in_sync & ok
        z_all = np.mean(self.plv[ok] * np.exp(1j * self.rel_phase_rad[ok]))
        leader: str | None = None
        lag = math.nan
        if sel.any():
            z = np.mean(self.plv[sel] * np.exp(1j * self.rel_phase_rad[sel]))
            lags = self.lag_s[sel]
            lag = float(np.median(lags[np.isfinite(lags)])) if np.isfinite(lags).any() else math.nan
            if math.isfinite(lag):
                leader = "a" if np.angle(z) > 0 else "b"
        rel = float(np.angle(z_all))
        return {
            "time_in_sync_frac": float(np.mean(self.in_sync[ok])),
            "mean_plv": float(np.mean(self.plv[ok])),
            "mean_sync_score": float(np.mean(self.sync_score[ok])),
            "mean_relative_phase_rad": rel,
            "leader": leader,
            "lead_s": abs(lag) if math.isfinite(lag) else None,
        }


def phase_on_grid(t_src: FloatArray, phase_src: FloatArray, grid: FloatArray) -> FloatArray:
    """Sample a phase series (NaN = unknown) on another grid by nearest-earlier sample.

    A grid point takes the latest source sample at or before it, provided that sample is at most one
    source step old; otherwise NaN. Causal, and never interpolates across the wrap at 2*pi.
    """
    t_src = np.asarray(t_src, float)
    out = np.full(grid.shape, np.nan)
    if t_src.size == 0:
        return out
    step = float(np.median(np.diff(t_src))) if t_src.size > 1 else 1.0
    k = np.searchsorted(t_src, grid + 1e-9, side="right") - 1
    ok = k >= 0
    ok[ok] &= (grid[ok] - t_src[k[ok]]) <= 1.5 * step
    out[ok] = phase_src[k[ok]]
    return out


def _window_sums(z: np.ndarray, known: np.ndarray, n_win: int, causal: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sums of z and counts of known samples over sliding windows of n_win samples."""
    cz = np.concatenate(([0], np.cumsum(z)))
    cn = np.concatenate(([0], np.cumsum(known)))
    n = z.size
    idx = np.arange(n)
    if causal:
        hi = idx + 1
        lo = np.maximum(hi - n_win, 0)
    else:
        lo = np.clip(idx - n_win // 2, 0, n)
        hi = np.clip(lo + n_win, 0, n)
        lo = np.maximum(hi - n_win, 0)
    return cz[hi] - cz[lo], (cn[hi] - cn[lo]).astype(float)


def windowed_plv(
    phi_a: FloatArray, phi_b: FloatArray, fs_hz: float, window_s: float, *, causal: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(PLV, mean relative phase, coverage) over sliding windows; NaN where coverage is zero."""
    d = phi_a - phi_b
    known = np.isfinite(d)
    z = np.where(known, np.exp(1j * np.where(known, d, 0.0)), 0.0)
    n_win = max(1, round(window_s * fs_hz))
    sz, sn = _window_sums(z, known, n_win, causal)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = sz / sn
    plv = np.abs(m)
    rel = np.angle(m)
    plv[sn == 0] = np.nan
    rel[sn == 0] = np.nan
    return plv, rel, sn / n_win


def surrogate_null(phi_a: FloatArray, phi_b: FloatArray, fs_hz: float, cfg: SyncConfig) -> float | None:
    """The ``cfg.null_quantile`` of windowed PLVs between A and circularly time-shifted copies of B.

    Shifts are spread evenly over ``[min_shift_s, T - min_shift_s]``; returns None when the series is too
    short for that (under ``window_s + 2 * min_shift_s``).
    """
    n = phi_a.size
    lo = round(cfg.min_shift_s * fs_hz)
    if n < round((cfg.window_s + 2 * cfg.min_shift_s) * fs_hz):
        return None
    shifts = np.unique(np.linspace(lo, n - lo, cfg.n_surrogates).round().astype(int))
    n_win = max(1, round(cfg.window_s * fs_hz))
    # Non-overlapping windows are enough for the distribution and n_surrogates times cheaper.
    vals: list[FloatArray] = []
    for s in shifts:
        plv, _, cov = windowed_plv(phi_a, np.roll(phi_b, int(s)), fs_hz, cfg.window_s, causal=True)
        sel = plv[n_win - 1 :: max(1, n_win // 2)]
        c = cov[n_win - 1 :: max(1, n_win // 2)]
        vals.append(sel[(c >= cfg.min_coverage) & np.isfinite(sel)])
    allv = np.concatenate(vals) if vals else np.empty(0)
    if allv.size < 5:
        return None
    return float(np.quantile(allv, cfg.null_quantile))


def rayleigh_null(rate_bpm: FloatArray, window_s: float, alpha: float = 0.05) -> FloatArray:
    """PLV exceeded by chance with probability ``alpha`` for one independent phase per breath."""
    n_breaths = np.maximum(window_s * np.asarray(rate_bpm, float) / 60.0, 1.0)
    return np.minimum(np.sqrt(-math.log(alpha) / n_breaths), 1.0)


def pair_sync(
    t: FloatArray,
    phi_a: FloatArray,
    phi_b: FloatArray,
    rate_a_bpm: FloatArray,
    rate_b_bpm: FloatArray,
    cfg: SyncConfig | None = None,
    *,
    causal: bool = True,
    null_plv: float | None = None,
) -> PairSync:
    """Windowed synchrony of a pair whose phases and rates share the uniform grid ``t``.

    ``null_plv`` fixes the chance level; by default it comes from :func:`surrogate_null` over the whole
    series (or the Rayleigh bound when the series is too short).
    """
    cfg = cfg or SyncConfig()
    fs = 1.0 / float(np.median(np.diff(t))) if t.size > 1 else 1.0
    plv, rel, cov = windowed_plv(phi_a, phi_b, fs, cfg.window_s, causal=causal)
    mean_rate = _window_mean(0.5 * (rate_a_bpm + rate_b_bpm), fs, cfg.window_s, causal)
    rate_diff = _window_mean(rate_a_bpm - rate_b_bpm, fs, cfg.window_s, causal)
    with np.errstate(invalid="ignore"):
        lag = rel / (TWO_PI * mean_rate / 60.0)
    if null_plv is None:
        null_plv = surrogate_null(phi_a, phi_b, fs, cfg)
    # The chance level is the larger of the surrogate null and the Rayleigh bound: surrogates know each
    # person's regularity, the bound guards short or very irregular series.
    null = rayleigh_null(np.where(np.isfinite(mean_rate), mean_rate, 15.0), cfg.window_s)
    if null_plv is not None:
        null = np.maximum(null, null_plv)
    null = np.minimum(null, cfg.max_null)
    plv = np.where(cov >= cfg.min_coverage, plv, np.nan)
    rel = np.where(np.isfinite(plv), rel, np.nan)
    lag = np.where(np.isfinite(plv), lag, np.nan)
    with np.errstate(invalid="ignore"):
        score = np.clip((plv - null) / (1.0 - null), 0.0, 1.0)
        in_sync = np.isfinite(plv) & (plv > null) & (np.abs(rel) <= math.radians(cfg.max_rel_phase_deg))
    return PairSync(t, plv, rel, lag, rate_diff, null, score, in_sync)


def _window_mean(x: FloatArray, fs: float, window_s: float, causal: bool) -> FloatArray:
    known = np.isfinite(x)
    s, n = _window_sums(np.where(known, x, 0.0), known, max(1, round(window_s * fs)), causal)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = s / n
    out[n == 0] = np.nan
    return np.real(out)


def kuramoto_order(phases: FloatArray, fs_hz: float, window_s: float, *, causal: bool = True) -> FloatArray:
    """Kuramoto order parameter R of a group (rows = participants), averaged over sliding windows.

    Instants where any participant's phase is unknown do not count.
    """
    phases = np.atleast_2d(phases)
    known = np.all(np.isfinite(phases), axis=0)
    r = np.abs(np.mean(np.exp(1j * np.where(np.isfinite(phases), phases, 0.0)), axis=0))
    s, n = _window_sums(np.where(known, r, 0.0), known, max(1, round(window_s * fs_hz)), causal)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.real(s) / n
    out[n == 0] = np.nan
    return out
