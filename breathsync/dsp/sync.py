"""Pair and group synchrony of breathing phases, corrected for chance.

Definitions (also in the README):

- relative phase ``dphi = phi_a - phi_b``; positive means A is ahead in its cycle (A breathes first).
- PLV over a window: ``|mean(exp(i*dphi))|`` over the samples where both phases are known; the angle of the
  same mean is the mean relative phase, turned into seconds with the pair's mean breathing rate.
- Null PLV: the PLV two people reach by chance with their own rhythms. Computed from circular time-shift
  surrogates (B's phase series shifted by >= ``min_shift_s`` against A's, which keeps each person's rhythm
  and destroys their coupling), the ``null_quantile`` (99%) of the surrogate PLVs: it knows how regular
  these two people are. The null is capped at ``max_null`` (0.9): two metronome-regular breathers (a pacer
  and someone locked onto it) have surrogate PLVs near 1, and for them locking above 0.9 at a relative
  phase near zero is what "in sync" means; strangers never breathe that regularly. Until there is enough
  history for surrogates (window + 2 x ``min_shift_s``), the null is that cap: over one window two
  regular breathers at similar rates reach almost any PLV by chance, so without history only a near-
  perfect lock counts. (A Rayleigh bound for one independent phase per breath, used before, is far too
  low for regular breathers: two strangers at 15 and 17/min read in sync for most of their first minute.)
- sync score: ``clip((PLV - null) / (1 - null), 0, 1)``: 0 = no more locked than chance, 1 = locked.
- in sync: PLV above the null AND ``|mean relative phase| <= max_rel_phase_deg`` (45 deg: a partner who
  follows within about an eighth of a cycle, under a second at slow rates) AND both phases known on at
  least ``min_coverage`` of the window AND at the sample the window's value stands for (its end; a centred
  window's middle). A window ending where one of the two has no phase (a gap, a dropout, warm-up) is
  unknown: "in sync" is about both people's breathing now. With coverage alone, a live session scored the
  windows ending in the first seconds of a link loss once the samples after it came, seconds later, and its
  time in sync grew after the "lost sync" event (by 6 s, for a heart-rate strap's 8-s dropout).
- group: Kuramoto order parameter ``R = |mean_k exp(i*phi_k)|`` per instant, averaged over the window.

Everything works on phases sampled on one common uniform grid (NaN = unknown).
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from breathsync.dsp._types import FloatArray

TWO_PI = 2.0 * math.pi
NULL_FS_HZ = 2.0  # rate at which surrogate chance levels are computed (see surrogate_null)
SCORE_FS_HZ = 10.0
"""Time in sync is counted over the window ends at whole multiples of 1 / SCORE_FS_HZ s, each window made
of the samples on that grid: analyze's pair series are at this rate, and a session (whose grid is 20 Hz)
counts on the same windows, thinned, so analyze of a recorded session gives the session's time in sync
(the two grids' PLVs differ by a few thousandths, which near the chance level flipped windows: 123.25 s
live against 119.3 s in analyze for one weakly coupled simulated pair)."""
NULL_EVERY_S = 5.0  # live: the chance level is recomputed this often...
LIVE_HISTORY_S = 180.0  # ...over this much history (a session keeps this much per participant)

# The synchrony window's bounds, the same for every command and the dashboard: a few breaths at the
# fastest rates .. ten minutes.
WINDOW_MIN_S = 5.0
WINDOW_MAX_S = 600.0


@dataclass(frozen=True)
class SyncConfig:
    """Synchrony settings."""

    window_s: float = 30.0
    max_rel_phase_deg: float = 45.0
    min_coverage: float = 0.8
    min_shift_s: float = 20.0
    n_surrogates: int = 19
    null_quantile: float = 0.99
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
    mean_rate_bpm: FloatArray  # the pair's mean rate over each window (turns phase into seconds)

    def step_s(self) -> float:
        """The time each value stands for: the grid's median step, to the microsecond (a 10-Hz grid's
        differences are 0.09999999999999432 s, or 0.0999997 s on Unix-time stamps; 2050 windows of it
        were 204.99999999998835 s, which a stopwatch shows as 3:24)."""
        return round(float(np.median(np.diff(self.t))), 6) if self.t.size > 1 else 0.0

    def summary(self, window_s: float | None = None) -> dict[str, float | str | None]:
        """Time in sync, mean PLV, mean relative phase, who led and by how much.

        Every value counts the windows with a known PLV; with none (no window had both phases known on
        enough of it and at its end) every value is None, ``time_in_sync_frac`` and ``locked_s`` too: nothing was
        measured, which is not "never in sync". Who led comes from the windows where the pair is
        locked (PLV above the chance level) within a quarter cycle of each other: a follower 0.7 s behind
        at 15/min (63 deg) is locked, led and not in sync; anti-phase partners have no leader. Direction
        and size come from one number, the PLV-weighted mean relative phase of those windows (in seconds
        at their mean rate); no leader when it rounds to 0.00 s, or when the pair was locked for less
        than ``window_s`` (one window: a few chance windows are no evidence). ``above_chance_s``: how long
        the PLV was above its chance level at all (under one window, the mean relative phase is of chance
        windows: the printed line gives none); ``opposite_s``: how long of that the pair was locked beyond a
        quarter cycle (anti-phase partners: "locked in opposite phase", not "not locked").
        """
        ok = np.isfinite(self.plv)
        dt = self.step_s()
        if not ok.any():
            return {
                "time_in_sync_frac": None,
                "mean_plv": None,
                "mean_sync_score": None,
                "mean_relative_phase_rad": None,
                "leader": None,
                "lead_s": None,
                "locked_s": None,
                "above_chance_s": None,
                "opposite_s": None,
                "scored_s": None,
            }
        with np.errstate(invalid="ignore"):
            above = ok & (self.plv > self.null_plv)
            opposite = above & (np.abs(self.rel_phase_rad) > 0.5 * math.pi)
            sel = above & (np.abs(self.rel_phase_rad) <= 0.5 * math.pi)
            sel &= np.isfinite(self.mean_rate_bpm) & (self.mean_rate_bpm > 0)
        z_all = np.mean(self.plv[ok] * np.exp(1j * self.rel_phase_rad[ok]))
        locked_s = float(sel.sum()) * dt
        leader, lead_s = None, None
        if sel.any():
            z = complex(np.mean(self.plv[sel] * np.exp(1j * self.rel_phase_rad[sel])))
            leader, lead_s = who_led(z, float(np.mean(self.mean_rate_bpm[sel])), locked_s, window_s or 0.0)
        return {
            "time_in_sync_frac": float(np.mean(self.in_sync[ok])),
            "mean_plv": float(np.mean(self.plv[ok])),
            "mean_sync_score": float(np.mean(self.sync_score[ok])),
            "mean_relative_phase_rad": float(np.angle(z_all)),
            "leader": leader,
            "lead_s": lead_s,
            "locked_s": locked_s,
            "above_chance_s": float(above.sum()) * dt,
            "opposite_s": float(opposite.sum()) * dt,
            "scored_s": float(ok.sum()) * dt,  # the windows with a PLV, of which time_in_sync_frac is a share
        }


def who_led(
    z: complex, mean_rate_bpm: float, locked_s: float, window_s: float
) -> tuple[str | None, float | None]:
    """Who breathed first, and by how many seconds, from the (PLV-weighted) mean of ``exp(i rel)`` over
    the windows where a pair was locked within a quarter cycle, their mean rate, and how long they were
    locked: ``("a" | "b" | None, lead in s or None)``.

    None when locked for less than ``window_s`` (a few chance windows are no evidence) or when the lead
    rounds to 0.00 s (in phase: the lead is then 0.0). The session and the analysis both decide by this.
    """
    if not (abs(z) > 0 and mean_rate_bpm > 0 and locked_s >= window_s):
        return None, None
    lead = math.atan2(z.imag, z.real) / (TWO_PI * mean_rate_bpm / 60.0)
    if round(lead, 2) == 0.0:
        return None, 0.0
    return ("a" if lead > 0 else "b"), abs(lead)


def phase_on_grid(t_src: FloatArray, phase_src: FloatArray, grid: FloatArray) -> FloatArray:
    """Sample a phase series (NaN = unknown) on another grid by nearest-earlier sample.

    A grid point takes the latest source sample at or before it, provided that sample is at most one and a
    half source steps old (a step, with room for timestamp jitter); otherwise NaN. Causal, and never
    interpolates across the wrap at 2*pi.
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
    return _window_sums_rows(z, n_win, causal), _window_sums_rows(known.astype(float), n_win, causal)


def windowed_plv(
    phi_a: FloatArray, phi_b: FloatArray, fs_hz: float, window_s: float, *, causal: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(PLV, mean relative phase, coverage) over sliding windows; NaN where coverage is zero."""
    z, known = _phasors(np.asarray(phi_a, dtype=float) - phi_b)
    n_win = max(1, round(window_s * fs_hz))
    sz, sn = _window_sums(z, known, n_win, causal)
    plv, rel = _plv_rel(sz, sn)
    return plv, rel, sn / n_win


def _phasors(d: FloatArray) -> tuple[np.ndarray, npt.NDArray[np.bool_]]:
    """``exp(i d)`` where ``d`` (a relative phase) is known, 0 elsewhere; and where it is known."""
    known = np.isfinite(d)
    z = np.zeros(d.shape, complex)
    np.exp(1j * np.where(known, d, 0.0), out=z, where=known)
    return z, known


def _plv_rel(sz: np.ndarray, count: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The PLV and mean relative phase of windows from their sums of phasors and their counts of known
    samples (NaN where a window has none)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        m = sz / count
    plv, rel = np.abs(m), np.angle(m)
    plv[count == 0] = np.nan
    rel[count == 0] = np.nan
    return plv, rel


@dataclass(frozen=True)
class PairWindows:
    """What the sliding windows of a pair hold, each window ending at (causal) or centred on a sample."""

    plv: FloatArray  # NaN where no sample of the window has both phases, or its own sample has not (below)
    rel_phase_rad: FloatArray  # NaN where the PLV is
    coverage: FloatArray  # share of the window with both phases known
    mean_rate_bpm: FloatArray  # the pair's mean rate, NaN where neither rate is known with the other
    rate_diff_bpm: FloatArray  # rate A - rate B


def pair_windows(
    phi_a: FloatArray,
    phi_b: FloatArray,
    rate_a_bpm: FloatArray,
    rate_b_bpm: FloatArray,
    fs_hz: float,
    window_s: float,
    *,
    causal: bool = True,
    ends_from: int = 0,
) -> PairWindows:
    """:func:`windowed_plv`, and the windows' means of the pair's mean rate and of its rate difference
    (over their known values), from one running sum over the series at once: each row is summed in the
    same order as alone, so the values are those of one row at a time to the bit, for a third of the
    calls. A session scores every pair at each snapshot, and the calls, not the arithmetic, were most of
    its cost: the series may be 2-D, one pair per row, all scored at once.

    ``ends_from`` (causal windows only): only the windows ending at that sample and after, the same values
    (a live session scores the windows ending at its latest samples, each over the samples before it).

    A window is unknown (PLV and relative phase NaN) where either phase is unknown at the sample its value
    stands for, its end (centred: its middle), however much of the rest is known: a value describes the pair
    at that moment, and a window ending in a gap is about one person's past alone (module docstring)."""
    z, known = _phasors(np.asarray(phi_a, dtype=float) - phi_b)
    n_win = max(1, round(window_s * fs_hz))
    x = np.empty((4, *known.shape))
    x[0] = known
    x[1] = rate_a_bpm - rate_b_bpm
    x[2] = 0.5 * (rate_a_bpm + rate_b_bpm)
    x[3] = np.isfinite(x[1])  # both rates known (then their mean is known too)
    x[1:3, x[3] == 0] = 0.0
    if ends_from and not causal:
        raise ValueError("ends_from is for causal windows")
    sz, sx = _window_sums_rows(z, n_win, causal, ends_from), _window_sums_rows(x, n_win, causal, ends_from)
    plv, rel = _plv_rel(sz, sx[0])
    here = known[..., ends_from:] if causal else known  # both phases known at each value's own sample
    plv[~here] = np.nan
    rel[~here] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        rate_diff = sx[1] / sx[3]
        mean_rate = sx[2] / sx[3]
    rate_diff[sx[3] == 0] = np.nan
    mean_rate[sx[3] == 0] = np.nan
    return PairWindows(plv, rel, sx[0] / n_win, mean_rate, rate_diff)


def _window_sums_rows(rows: np.ndarray, n_win: int, causal: bool, ends_from: int = 0) -> np.ndarray:
    """:func:`_window_sums` along the last axis of ``rows``, every row at once: the same windows, each row
    summed in the same order as alone (so the same values to the bit). Causal: only the windows ending at
    ``ends_from`` and after."""
    n = rows.shape[-1]
    c = np.zeros((*rows.shape[:-1], n + 1), rows.dtype)
    np.cumsum(rows, axis=-1, out=c[..., 1:])
    if causal:  # windows [max(i + 1 - n_win, 0), i + 1)
        out = c[..., ends_from + 1 :].copy()
        later = max(n_win, ends_from)  # the windows ending here and after start after the first sample
        if n > later:
            out[..., later - ends_from :] -= c[..., later + 1 - n_win : n + 1 - n_win]
        return out
    # Centred; near the ends the part outside the data counts as unknown (the window is not moved
    # inwards: that repeated the same window, over-weighting the first and last in every mean).
    idx = np.arange(n)
    lo = np.clip(idx - n_win // 2, 0, n)
    hi = np.clip(idx - n_win // 2 + n_win, 0, n)
    out2: np.ndarray = c[..., hi] - c[..., lo]
    return out2


def surrogate_null(
    phi_a: FloatArray, phi_b: FloatArray, fs_hz: float, cfg: SyncConfig, k_first: int = 0
) -> float | None:
    """The ``cfg.null_quantile`` of windowed PLVs between A and circularly time-shifted copies of B, and
    between B and shifted copies of A (the same for either order of the pair).

    Shifts are spread evenly over ``[min_shift_s, T - min_shift_s]``; returns None when the series is too
    short for that (under ``window_s + 2 * min_shift_s``). ``k_first``: the absolute grid index
    (``t * fs_hz``) of the first sample: the series is thinned to the samples at whole multiples of
    1 / NULL_FS_HZ seconds, so a 20-Hz session and analyze's 10-Hz grid use the same samples.
    """
    # At about 2 Hz: the relative phase of two breathers changes slowly, so the chance level from every
    # 5th (10 Hz) or 10th (20 Hz) sample differs by 0.005 on average (at most 0.025 over 60 random pairs)
    # for a fifth or a tenth of the work (a session recomputes it every 5 s; analyze as often, to show
    # what the session knew).
    # Floored with a tolerance: a grid's rate measured from its steps (1 / median diff) is 9.999999999999858 for many
    # 10-Hz grids, which floored to a step of 4 (2.5 Hz), other samples than the session's 20-Hz step of 10:
    # analyze of a 600-s session gave 195.9 s in sync where the session counted 208.8 s.
    step = max(
        1, int(fs_hz / NULL_FS_HZ + 1e-3)
    )  # (round(x, 6) still floored 4.999999 to 4: Unix-time grids)
    off = -k_first % step
    phi_a, phi_b, fs_hz = phi_a[off::step], phi_b[off::step], fs_hz / step
    # Long enough, counted on the thinned samples: at 20 and at 10 Hz the same stretch of time then passes
    # or fails alike (counted before, 1399 samples at 20 Hz failed where the same 70 s, 700 at 10 Hz, passed).
    if phi_a.size < round((cfg.window_s + 2 * cfg.min_shift_s) * fs_hz):
        return None
    n = phi_a.size
    lo = round(cfg.min_shift_s * fs_hz)
    shifts = np.unique(np.linspace(lo, n - lo, cfg.n_surrogates).round().astype(int))
    n_win = max(1, round(cfg.window_s * fs_hz))
    # Only the windows used (non-overlapping enough for the distribution: the causal windows ending every
    # half window). B circularly shifted by s: b[(k - s) mod n].
    # Both ways round (A against shifted copies of B, and B against shifted copies of A), so that the
    # chance level, and with it in_sync, does not depend on which participant is called A.
    idx = _shift_index(n, tuple(int(v) for v in shifts))
    ends = np.arange(n_win - 1, n, max(1, n_win // 2))
    allv = np.concatenate(
        [_shifted_plvs(x, y, idx, ends, n_win, cfg.min_coverage) for x, y in ((phi_a, phi_b), (phi_b, phi_a))]
    )
    if allv.size < 5:
        return None
    return float(np.quantile(allv, cfg.null_quantile))


def _shifted_plvs(
    phi_x: FloatArray, phi_y: FloatArray, idx: np.ndarray, ends: np.ndarray, n_win: int, min_coverage: float
) -> FloatArray:
    """PLVs of X against circularly shifted copies of Y (``idx``: one row of indices per shift), over the
    windows ending at ``ends``, from running sums over all shifts at once; windows under ``min_coverage``
    left out."""
    n = phi_x.size
    known_x, known_y = np.isfinite(phi_x), np.isfinite(phi_y)
    ex = np.where(known_x, np.exp(1j * np.where(known_x, phi_x, 0.0)), 0.0)
    ey = np.where(known_y, np.exp(-1j * np.where(known_y, phi_y, 0.0)), 0.0)
    cz = np.zeros((idx.shape[0], n + 1), complex)
    cn = np.zeros((idx.shape[0], n + 1))
    np.cumsum(ex[None, :] * ey[idx], axis=1, out=cz[:, 1:])
    np.cumsum(known_x[None, :] & known_y[idx], axis=1, out=cn[:, 1:])
    sz = cz[:, ends + 1] - cz[:, ends + 1 - n_win]
    sn = cn[:, ends + 1] - cn[:, ends + 1 - n_win]
    with np.errstate(invalid="ignore", divide="ignore"):
        plv = np.abs(sz / sn)
    return np.asarray(plv[(sn / n_win >= min_coverage) & (sn > 0)])


@functools.lru_cache(maxsize=8)
def _shift_index(n: int, shifts: tuple[int, ...]) -> np.ndarray:
    """Indices of B circularly shifted by each of ``shifts`` (a live session asks for the same ones every
    few seconds once its history is full)."""
    return (np.arange(n)[None, :] - np.asarray(shifts)[:, None]) % n


def chance_level(surrogate_plv: float | None, cfg: SyncConfig) -> float:
    """The chance level of a window's PLV: the surrogate null when there is one (it knows each person's
    regularity), capped at ``cfg.max_null``; the cap itself when there is none yet (module docstring)."""
    return cfg.max_null if surrogate_plv is None else min(surrogate_plv, cfg.max_null)


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

    ``null_plv`` fixes the chance level. By default, offline (``causal=False``): :func:`surrogate_null`
    over the whole series; causal: as a live session has it (:func:`live_surrogate_nulls`), from the
    history up to each window only. Without surrogates (too short, or not enough history yet): the cap.
    """
    cfg = cfg or SyncConfig()
    fs = 1.0 / float(np.median(np.diff(t))) if t.size > 1 else 1.0
    w = pair_windows(phi_a, phi_b, rate_a_bpm, rate_b_bpm, fs, cfg.window_s, causal=causal)
    plv, rel, cov, mean_rate, rate_diff = w.plv, w.rel_phase_rad, w.coverage, w.mean_rate_bpm, w.rate_diff_bpm
    with np.errstate(invalid="ignore"):
        lag = rel / (TWO_PI * mean_rate / 60.0)
    k_first = round(float(t[0]) * fs) if t.size else 0
    if null_plv is None and causal:
        nulls = live_surrogate_nulls(phi_a, phi_b, fs, cfg, k_first=k_first)
        null = np.where(np.isfinite(nulls), np.minimum(nulls, cfg.max_null), cfg.max_null)
    else:
        if null_plv is None:
            null_plv = surrogate_null(phi_a, phi_b, fs, cfg, k_first)
        null = np.full(t.shape, chance_level(null_plv, cfg))
    plv = np.where(cov >= cfg.min_coverage, plv, np.nan)
    rel = np.where(np.isfinite(plv), rel, np.nan)
    lag = np.where(np.isfinite(plv), lag, np.nan)
    with np.errstate(invalid="ignore"):
        score = np.clip((plv - null) / (1.0 - null), 0.0, 1.0)
    in_sync = in_sync_rule(plv, null, rel, cfg)
    return PairSync(t, plv, rel, lag, rate_diff, null, score, in_sync, mean_rate)


def live_surrogate_nulls(
    phi_a: FloatArray,
    phi_b: FloatArray,
    fs_hz: float,
    cfg: SyncConfig,
    every_s: float = NULL_EVERY_S,
    history_s: float = LIVE_HISTORY_S,
    k_first: int = 0,
) -> FloatArray:
    """The surrogate chance level as a live session knows it at each sample (NaN: none yet).

    Computed at each whole multiple of ``every_s`` of the grid's own time (``k_first``: the absolute grid
    index, ``t * fs_hz``, of the first sample) over the ``history_s`` ending there, from where both phases
    were first known together, and held until the next: exactly what :class:`LivePairSync` computes from a
    session's rings, whenever its snapshots fall.
    """
    return live_nulls(
        np.isfinite(phi_a - phi_b),
        fs_hz,
        lambda lo, hi: surrogate_null(phi_a[lo:hi], phi_b[lo:hi], fs_hz, cfg, k_first + lo),
        every_s,
        history_s,
        k_first,
    )


def live_nulls(
    known: npt.NDArray[np.bool_],
    fs_hz: float,
    surrogate: Callable[[int, int], float | None],
    every_s: float = NULL_EVERY_S,
    history_s: float = LIVE_HISTORY_S,
    k_first: int = 0,
) -> FloatArray:
    """A chance level as a live session knows it at each sample of a grid whose samples are ``known`` where
    everyone's phase is (NaN: none yet): ``surrogate(lo, hi)`` of the samples ``lo:hi``, at each whole
    multiple of ``every_s`` of the grid's time (``k_first``: the absolute grid index of the first sample)
    over the ``history_s`` ending there, from where everyone was first known, held until the next mark (the
    pair's :func:`live_surrogate_nulls`, the group's :func:`breathsync.dsp.group.live_group_nulls`)."""
    n = known.size
    out = np.full(n, np.nan)
    idx = np.flatnonzero(known)
    step = max(1, round(every_s * fs_hz))
    n_hist = max(1, round(history_s * fs_hz))
    current = math.nan
    for k in range(-k_first % step, n, step):
        k0 = max(k - n_hist + 1, 0)
        first = idx[np.searchsorted(idx, k0)] if idx.size and idx[-1] >= k0 else None
        if first is not None and first <= k:
            val = surrogate(int(first), k + 1)
            if val is not None:
                current = val
        out[k : k + step] = current
    return out


def in_sync_rule(
    plv: npt.ArrayLike, null: npt.ArrayLike, rel: npt.ArrayLike, cfg: SyncConfig
) -> npt.NDArray[np.bool_]:
    """The in-sync definition (module docstring), the one place it is written: the PLV above its chance
    level and the mean relative phase within ``cfg.max_rel_phase_deg`` of zero; False where the PLV is unknown.
    (The coverage of the window is the caller's: a PLV over too little of it is unknown.)"""
    plv, rel = np.asarray(plv, dtype=float), np.asarray(rel, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(plv) & (plv > null) & (np.abs(rel) <= math.radians(cfg.max_rel_phase_deg))


def kuramoto_order(
    phases: FloatArray, fs_hz: float, window_s: float, *, causal: bool = True, min_coverage: float = 0.8
) -> FloatArray:
    """Kuramoto order parameter R of a group (rows = participants), averaged over sliding windows.

    Instants where any participant's phase is unknown do not count; a window where everyone's phase is
    known on less than ``min_coverage`` of it, or not at its own sample (its end; centred: its middle), is
    unknown (NaN), as for a pair's PLV (:func:`pair_windows`).
    """
    phases = np.atleast_2d(phases)
    known = np.all(np.isfinite(phases), axis=0)
    r = np.abs(np.mean(np.exp(1j * np.where(np.isfinite(phases), phases, 0.0)), axis=0))
    n_win = max(1, round(window_s * fs_hz))
    s, n = _window_sums(np.where(known, r, 0.0), known, n_win, causal)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.real(s) / n
    out[(n == 0) | (n < min_coverage * n_win) | ~known] = np.nan
    return out


# ------------------------------------------------------------------------------------------------ live
class GridRing:
    """Bounded history of per-sample series on the absolute grid ``t = k / fs_hz``.

    Values are stored by grid index ``k``; reading a range of indices gives NaN where nothing was stored
    (or it was overwritten), so participants line up by index without any resampling.
    """

    def __init__(self, fs_hz: float, capacity_s: float, fields: tuple[str, ...]) -> None:
        self.fs_hz = float(fs_hz)
        self.capacity = max(1, round(capacity_s * fs_hz))
        self._k = np.full(self.capacity, -1, dtype=np.int64)
        self._data = {f: np.full(self.capacity, np.nan) for f in fields}
        self.last_k: int | None = None
        self.first_k: int | None = None  # the first index ever stored
        # Windows read since the last append: a session reads each participant's for every pair it is in.
        self._read: dict[tuple[int, int, str, int], FloatArray] = {}

    def append(self, t: FloatArray, **values: FloatArray) -> None:
        """Store samples at times ``t`` (on the grid); later samples overwrite the oldest."""
        if t.size == 0:
            return
        self._read.clear()
        k = np.rint(np.asarray(t) * self.fs_hz).astype(np.int64)
        if k.size > self.capacity:
            k = k[-self.capacity :]
            values = {f: v[-self.capacity :] for f, v in values.items()}
        slot = k % self.capacity
        self._k[slot] = k
        for f, arr in self._data.items():
            v = values.get(f)
            arr[slot] = np.nan if v is None else v
        self.last_k = int(k[-1]) if self.last_k is None else max(self.last_k, int(k[-1]))
        if self.first_k is None:
            self.first_k = int(k[0])

    def window(self, k0: int, k1: int, field: str, step: int = 1) -> FloatArray:
        """Values at grid indices ``k0, k0 + step, ...`` up to ``k1`` inclusive (NaN where unknown).

        Read-only: until the next :meth:`append`, every reader of the same range gets the same array."""
        key = (k0, k1, field, step)
        out = self._read.get(key)
        if out is not None:
            return out
        ks = np.arange(k0, k1 + 1, step, dtype=np.int64)
        slot = ks % self.capacity
        out = self._data[field][slot]
        out[self._k[slot] != ks] = np.nan
        out.flags.writeable = False
        if len(self._read) < 64:
            self._read[key] = out
        return out


def marks_due(rings: Sequence[GridRing], silent: Sequence[bool], history_s: float) -> int:
    """The latest grid index up to which the chance level's marks may be computed now although a participant
    has sent no samples that far: -1 (none) unless one of them is ``silent`` (has no signal: a strap out
    of range, a gap in a replayed file; not one that is merely behind the others, such as a simulated
    partner catching up at --speed 300); then the latest sample of those who are not silent, and at most half
    the rings' spare room (beyond the ``history_s`` a mark needs) behind the newest sample. A silent
    participant has no samples to come for those times, and analyze of the recording sees none there either;
    left until its samples came back, the marks of a silence of minutes were computed from history the rings
    no longer held (a 300-s silence of one of four: its pairs' time in sync 90.0 and 45.0 s live against
    92.2 and 46.2 s in analyze, the group's time above chance 119.3 against 142.7 s). A participant who is
    behind but not silent keeps the marks waiting for its samples, as ever (marks computed without them
    read 124.4 s of the group above chance where analyze of the recording read 115.1 s, after a 0.3-s stall
    at --speed 300 left a simulated partner 90-105 s behind replays)."""
    if not any(silent):
        return -1
    lasts = [r.last_k for r in rings if r.last_k is not None]
    if not lasts:
        return -1
    n_hist = round(history_s * rings[0].fs_hz)
    room = min(r.capacity for r in rings) - n_hist
    due = max(lasts) - room // 2
    for ring, quiet in zip(rings, silent, strict=True):
        if not quiet and ring.last_k is not None:
            due = min(due, ring.last_k)
    return due


@dataclass(frozen=True)
class LivePairState:
    """Synchrony of a pair over the window ending at grid index ``k_end``."""

    k_end: int
    plv: float
    rel_phase_rad: float
    lag_s: float
    rate_diff_bpm: float
    null_plv: float
    sync_score: float
    in_sync: bool
    coverage: float
    mean_rate_bpm: float = math.nan


class ChanceMarks:
    """A chance level during a session: at each whole multiple of ``every_s`` of session time (a mark), the
    surrogate level over the ``history_s`` ending there, held until the next mark (the cap before the first
    surrogate level), as analyze computes it (:func:`live_nulls`) whenever the snapshots fall. A pair's
    (:class:`LivePairSync`) and a group's (:class:`breathsync.dsp.group.LiveGroupChance`).

    The rings must hold ``history_s`` + ``every_s`` and as much more as the session time between two
    updates (the marks passed lie that far back; further back, their history is cut short: ``cut_marks``).
    """

    def __init__(
        self, cfg: SyncConfig, every_s: float = NULL_EVERY_S, history_s: float = LIVE_HISTORY_S
    ) -> None:
        self.cfg = cfg
        self.every_s = every_s
        self.history_s = history_s
        self._null: float | None = None  # the latest surrogate value (held where a mark gives none)
        self._null_k: int | None = None  # the latest mark computed (grid index)
        self._marks: list[int] = []  # recent marks (grid indices), increasing
        self._values: list[float] = []  # the chance level from each of them on
        #: Marks whose history the rings no longer held in full (their level then differs from analyze's).
        self.cut_marks = 0
        #: The first mark with a surrogate level (grid index; None: none yet): before it, the cap for want
        #: of history.
        self.first_surrogate_k: int | None = None

    def advance(
        self,
        rings: Sequence[GridRing],
        k_end: int,
        surrogate: Callable[[int], float | None],
        due: int = -1,
    ) -> None:
        """Compute the level at each mark up to ``k_end`` (the latest sample everyone has), or ``due``
        when later (while one of them is silent, :func:`marks_due`), not yet computed, in order: ``surrogate(mark)`` over the
        rings' history ending at the mark (None: no surrogate there, the previous value holds). A mark more
        than the rings' spare room behind the newest sample (a stall of that much session time between two
        updates) gets the surrogate of the history the rings still hold, and is counted in ``cut_marks``."""
        lasts, firsts = [r.last_k for r in rings], [r.first_k for r in rings]
        if any(k is None for k in lasts) or any(k is None for k in firsts):
            return
        fs = rings[0].fs_hz
        every = max(1, round(self.every_s * fs))
        k_end = max(k_end, due)
        latest = k_end // every * every  # the latest whole multiple of every_s
        if self._null_k is not None and latest <= self._null_k:
            return
        # The rings hold nothing older (a ring may run ahead of the common end).
        oldest = max(k for k in lasts if k is not None) - min(r.capacity for r in rings) + 1
        all_began = max(k for k in firsts if k is not None)
        # The oldest mark inside the rings, and after everyone began (before, the cap applies anyway).
        first = -(-max(oldest, all_began) // every) * every
        if self._null_k is not None:
            first = max(first, self._null_k + every)
        n_hist = round(self.history_s * fs)
        lost = oldest > all_began  # the rings dropped history everyone had
        for mark in range(first, latest + 1, every):
            if lost and mark - n_hist + 1 < oldest:
                self.cut_marks += 1  # the session time between two updates outran the rings' spare room
            value = surrogate(mark)
            if value is not None:
                self._null = value
                if self.first_surrogate_k is None:
                    self.first_surrogate_k = mark
            self._marks.append(mark)
            self._values.append(chance_level(self._null, self.cfg))
        self._null_k = latest
        # Keep the latest mark before the rings' oldest sample: it is in force there.
        drop = bisect.bisect_left(self._marks, oldest - every)
        del self._marks[:drop], self._values[:drop]

    def levels(self, k_lo: int, k_hi: int) -> FloatArray:
        """The chance level in force at each grid index ``k_lo .. k_hi``: that of the latest mark at or
        before it (the cap before the first)."""
        if not self._marks or k_hi < self._marks[0]:
            return np.full(k_hi - k_lo + 1, self.cfg.max_null)
        if k_lo >= self._marks[-1]:  # the usual case: all since the latest mark
            return np.full(k_hi - k_lo + 1, self._values[-1])
        ks = np.arange(k_lo, k_hi + 1, dtype=np.int64)
        i = np.searchsorted(self._marks, ks, side="right") - 1  # the latest mark at or before each
        return np.where(i >= 0, np.asarray([*self._values, math.nan])[i], self.cfg.max_null)

    def level_at(self, k: int) -> float:
        """The chance level in force at grid index ``k`` (see :meth:`levels`)."""
        i = bisect.bisect_right(self._marks, k) - 1
        return self._values[i] if i >= 0 else self.cfg.max_null


class LivePairSync:
    """Causal pair synchrony from two :class:`GridRing` s holding ``phase`` and ``rate``.

    ``update`` scores the window ending at the pair's latest common sample with the definitions of
    :func:`pair_sync`; the surrogate null is computed at each whole multiple of ``null_every_s`` of
    session time, over the ``history_s`` ending there (until there is enough history, the cap applies), as
    :func:`live_surrogate_nulls` computes it for analyze: the same values, whenever the snapshots fall.
    :meth:`levels` gives the level in force at each window end, for the windows a fast run passes between
    two updates. The rings must hold ``history_s`` + ``null_every_s`` and as much more as the session time
    between two updates (the marks passed lie that far back; further back, their history is cut short).
    """

    def __init__(
        self,
        cfg: SyncConfig | None = None,
        null_every_s: float = NULL_EVERY_S,
        history_s: float = LIVE_HISTORY_S,
    ) -> None:
        self.cfg = cfg or SyncConfig()
        self.null_every_s = null_every_s
        self.history_s = history_s
        self._chance = ChanceMarks(self.cfg, null_every_s, history_s)

    @property
    def cut_marks(self) -> int:
        """Marks whose history the rings no longer held in full (their level then differs from analyze's)."""
        return self._chance.cut_marks

    def update(self, a: GridRing, b: GridRing) -> LivePairState | None:
        """The pair's state over the window ending at their latest common grid sample; None until both
        rings hold a sample."""
        k_end = self.advance(a, b)
        if k_end is None:
            return None
        n_win = max(1, round(self.cfg.window_s * a.fs_hz))
        k0 = k_end - n_win + 1
        pa, pb = a.window(k0, k_end, "phase"), b.window(k0, k_end, "phase")
        ra, rb = a.window(k0, k_end, "rate"), b.window(k0, k_end, "rate")
        w = pair_windows(pa, pb, ra, rb, a.fs_hz, self.cfg.window_s)
        return self.state(
            k_end,
            w.plv[-1],
            w.rel_phase_rad[-1],
            w.coverage[-1],
            self.level_at(k_end),
            w.rate_diff_bpm[-1],
            w.mean_rate_bpm[-1],
        )

    def advance(self, a: GridRing, b: GridRing, silent: tuple[bool, bool] = (False, False)) -> int | None:
        """The pair's latest common grid sample (None until both rings hold one), with the chance levels
        computed up to it (:meth:`levels`), or further while one of the two is ``silent`` (:func:`marks_due`)."""
        if a.last_k is None or b.last_k is None:
            return None
        k_end = min(a.last_k, b.last_k)
        due = marks_due((a, b), silent, self.history_s)
        self._chance.advance((a, b), k_end, lambda mark: self._surrogate_at(a, b, mark), due)
        return k_end

    def state(
        self,
        k_end: int,
        plv: float,
        rel: float,
        coverage: float,
        null: float,
        rate_diff: float,
        mean_rate: float,
    ) -> LivePairState:
        """The state of the window ending at grid index ``k_end`` from its sums (:func:`pair_windows`) and
        chance level, with the definitions of :func:`pair_sync`: unknown under ``min_coverage``, and where
        :func:`pair_windows` gave no PLV (either phase unknown at the window's end)."""
        plv, rel, mean_rate = float(plv), float(rel), float(mean_rate)
        if not coverage >= self.cfg.min_coverage or not math.isfinite(plv):
            return LivePairState(
                k_end, math.nan, math.nan, math.nan, rate_diff, null, math.nan, False, coverage, mean_rate
            )
        lag = rel / (TWO_PI * mean_rate / 60.0) if mean_rate > 0 else math.nan
        score = min(max((plv - null) / (1.0 - null), 0.0), 1.0)
        in_sync = bool(in_sync_rule(plv, null, rel, self.cfg))
        return LivePairState(k_end, plv, rel, lag, rate_diff, null, score, in_sync, coverage, mean_rate)

    def levels(self, k_lo: int, k_hi: int) -> FloatArray:
        """The chance level in force at each grid index ``k_lo .. k_hi`` (:meth:`ChanceMarks.levels`): a fast
        replay passes several marks between two snapshots; each window it passed is judged with the level
        of its own time, as analyze judges it."""
        return self._chance.levels(k_lo, k_hi)

    def level_at(self, k: int) -> float:
        """The chance level in force at grid index ``k`` (see :meth:`levels`)."""
        return self._chance.level_at(k)

    def _surrogate_at(self, a: GridRing, b: GridRing, mark: int) -> float | None:
        fs = a.fs_hz
        k0 = mark - round(self.history_s * fs) + 1
        pa, pb = a.window(k0, mark, "phase"), b.window(k0, mark, "phase")
        known = np.flatnonzero(np.isfinite(pa - pb))
        if known.size == 0:
            return None
        # Surrogates over the stretch since both phases were first known together.
        pa, pb = pa[known[0] :], pb[known[0] :]
        return surrogate_null(pa, pb, fs, self.cfg, k0 + int(known[0]))
