"""The chance level of a group's Kuramoto order (3+ people), as the pair's PLV has one.

The group order ``R = |mean_k exp(i*phi_k)|`` (:func:`breathsync.dsp.sync.kuramoto_order`) of people who
breathe with no regard for each other is far from 0: for k independent phases its expected value is 0.52
for three people, 0.45 for four, 0.37 for six (about ``sqrt(pi / (4k))`` for many), and a 30-s window of
three strangers at similar rates, whose phases drift past each other slowly, averages more (0.6-0.7). So R
alone cannot say whether a group breathes together. Its chance level is found as the pair's is
(:func:`breathsync.dsp.sync.surrogate_null`): circular time-shift surrogates keep each person's own rhythm
and destroy their coupling; the ``null_quantile`` (99%) of the surrogate groups' windowed R, capped at
``max_null``, is the level a window's R must pass to be "above chance".

In each surrogate one person keeps their time, each in turn, and the others are shifted by amounts that
keep every two people at least ``min_shift_s`` apart (so no two keep the alignment they had); which person
gets which shift, and the spread within that spacing, come from a fixed integer sequence seeded by the
series' length and the group's size, so the same phases always give the same level (a session and
``analyze`` of its recording agree), on any machine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from breathsync.dsp._types import FloatArray
from breathsync.dsp.sync import (
    LIVE_HISTORY_S,
    NULL_EVERY_S,
    NULL_FS_HZ,
    ChanceMarks,
    GridRing,
    SyncConfig,
    live_nulls,
    marks_due,
)

_SEED = 0x62726561  # any fixed number: the surrogates' shifts must be the same for the same input
_MASK = (1 << 64) - 1


def _draws(seed: tuple[int, ...]) -> Iterator[int]:
    """An endless stream of 64-bit integers from ``seed`` (splitmix64, Steele, Lea and Flood 2014): plain
    integer arithmetic, so that the same input gives the same shifts on every machine and NumPy version (a
    recorded session's chance level is recomputed by ``analyze``; NumPy does not promise that its generators'
    methods keep their output across releases)."""
    x = 0
    for v in seed:
        x = (x * 0x100000001B3 + v + 1) & _MASK
    while True:
        x = (x + 0x9E3779B97F4A7C15) & _MASK
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        yield z ^ (z >> 31)


def group_shifts(n: int, k: int, lo: int, count: int) -> np.ndarray | None:
    """``count`` rows of ``k`` circular shifts (samples) for a series of ``n`` samples, every two people's
    shifts at least ``lo`` apart around the circle; one person keeps their time in each row (shift 0), each
    person in turn (the reference's own time course is never cut by the shift, so it is nobody's always).
    None when ``k`` people do not fit (``k * lo > n``)."""
    if k * lo > n or lo < 1:
        return None
    d = n // k  # slots d apart; a jitter of up to d - lo within each keeps neighbours >= lo apart
    draw = _draws((_SEED, n, k))
    rows = np.empty((count, k), dtype=np.int64)
    for j in range(count):
        slot = list(range(k))
        for i in range(k - 1, 0, -1):  # Fisher-Yates: which slot each person gets
            m = next(draw) % (i + 1)
            slot[i], slot[m] = slot[m], slot[i]
        pos = np.array([slot[i] * d + next(draw) % (d - lo + 1) for i in range(k)], dtype=np.int64)
        rows[j] = (pos - pos[j % k]) % n
    return rows


def group_surrogate_need_s(k: int, cfg: SyncConfig) -> float:
    """How much history (s) the surrogates of ``k`` people need: a window and a shift each side, and a
    shift's room for each person (70 s for three with 30-s windows, 160 s for eight)."""
    return max(cfg.window_s + 2 * cfg.min_shift_s, k * cfg.min_shift_s)


def group_surrogate_null(phases: FloatArray, fs_hz: float, cfg: SyncConfig, k_first: int = 0) -> float | None:
    """The ``cfg.null_quantile`` of the windowed Kuramoto order of time-shifted copies of the group
    (rows = people, on one uniform grid; NaN = unknown): the R these people reach by chance with their own
    rhythms. None when the series is too short for surrogates (:func:`group_surrogate_need_s`). Thinned to
    :data:`NULL_FS_HZ` as the pair's surrogates are (``k_first``: the absolute grid index ``t * fs_hz`` of
    the first sample), over every window end of the thinned series (the pair's take every half window; the
    group's 19 arrangements are fewer than the pair's 38 shifts, and the windows ending in between cost
    nothing with running sums: three strangers' share of windows above the level 0.20% -> 0.11% over
    every order of six simulated trios), each window needing everyone's phase on ``min_coverage`` of it.

    The level depends a little on which person is which row (19 arrangements are a sample): callers put
    the rows in the order of the labels, so the order the participants are given in does not matter."""
    phases = np.atleast_2d(np.asarray(phases, dtype=float))
    step = max(1, int(fs_hz / NULL_FS_HZ + 1e-3))  # as surrogate_null: the same samples at 10 and 20 Hz
    off = -k_first % step
    ph = phases[:, off::step]
    fs = fs_hz / step
    k, n = ph.shape
    if n < round(group_surrogate_need_s(k, cfg) * fs):
        return None
    shifts = group_shifts(n, k, round(cfg.min_shift_s * fs), cfg.n_surrogates)
    if shifts is None:
        return None
    known = np.isfinite(ph)
    z = np.where(known, np.exp(1j * np.where(known, ph, 0.0)), 0.0)
    # Person m shifted by s: their value at sample i is the one at (i - s) mod n.
    idx = (np.arange(n)[None, None, :] - shifts[:, :, None]) % n  # (surrogate, person, sample)
    rows = np.arange(k)[None, :, None]
    zs, ks = z[rows, idx], known[rows, idx]
    all_known = ks.all(axis=1)
    r = np.where(all_known, np.abs(zs.mean(axis=1)), 0.0)
    n_win = max(1, round(cfg.window_s * fs))
    cr = np.zeros((shifts.shape[0], n + 1))
    cn = np.zeros((shifts.shape[0], n + 1))
    np.cumsum(r, axis=1, out=cr[:, 1:])
    np.cumsum(all_known, axis=1, out=cn[:, 1:])
    ends = np.arange(n_win - 1, n)
    sr = cr[:, ends + 1] - cr[:, ends + 1 - n_win]
    sn = cn[:, ends + 1] - cn[:, ends + 1 - n_win]
    use = (sn / n_win >= cfg.min_coverage) & (sn > 0)
    vals = sr[use] / sn[use]
    if vals.size < 5:
        return None
    return float(np.quantile(vals, cfg.null_quantile))


def live_group_nulls(
    phases: FloatArray,
    fs_hz: float,
    cfg: SyncConfig,
    every_s: float = NULL_EVERY_S,
    history_s: float = LIVE_HISTORY_S,
    k_first: int = 0,
) -> FloatArray:
    """The group's surrogate chance level as a live session knows it at each sample (NaN: none yet), as
    :func:`breathsync.dsp.sync.live_surrogate_nulls` gives a pair's: computed at each whole multiple of
    ``every_s`` of the grid's time over the ``history_s`` ending there, from where everyone's phase was first
    known together, and held until the next; what :class:`LiveGroupChance` computes from a session's rings."""
    phases = np.atleast_2d(np.asarray(phases, dtype=float))
    return live_nulls(
        np.asarray(np.isfinite(phases).all(axis=0)),
        fs_hz,
        lambda lo, hi: group_surrogate_null(phases[:, lo:hi], fs_hz, cfg, k_first + lo),
        every_s,
        history_s,
        k_first,
    )


class LiveGroupChance:
    """The group's chance level during a session, from the participants' :class:`GridRing` s holding
    ``phase`` (in the order of their labels), as :func:`live_group_nulls` computes it for analyze; its marks
    and their levels are kept as a pair's are (:class:`breathsync.dsp.sync.ChanceMarks`)."""

    def __init__(
        self,
        cfg: SyncConfig | None = None,
        null_every_s: float = NULL_EVERY_S,
        history_s: float = LIVE_HISTORY_S,
    ) -> None:
        self.cfg = cfg or SyncConfig()
        self.history_s = history_s
        self._chance = ChanceMarks(self.cfg, null_every_s, history_s)

    def advance(self, rings: Sequence[GridRing], k_end: int, silent: Sequence[bool] | None = None) -> None:
        """Compute the level at each mark up to grid index ``k_end`` not yet computed, or further while one
        of the group is ``silent`` (:func:`breathsync.dsp.sync.marks_due`)."""
        due = marks_due(rings, silent or [False] * len(rings), self.history_s)
        self._chance.advance(rings, k_end, lambda mark: self._surrogate_at(rings, mark), due)

    def levels(self, k_lo: int, k_hi: int) -> FloatArray:
        """The level in force at each grid index ``k_lo .. k_hi`` (the cap before the first mark)."""
        return self._chance.levels(k_lo, k_hi)

    def level_at(self, k: int) -> float:
        """The level in force at grid index ``k``."""
        return self._chance.level_at(k)

    @property
    def first_surrogate_k(self) -> int | None:
        """The first mark with a surrogate level (before it, the cap for want of history)."""
        return self._chance.first_surrogate_k

    @property
    def cut_marks(self) -> int:
        """Marks whose history the rings no longer held in full."""
        return self._chance.cut_marks

    def _surrogate_at(self, rings: Sequence[GridRing], mark: int) -> float | None:
        k0 = mark - round(self.history_s * rings[0].fs_hz) + 1
        ph = np.vstack([r.window(k0, mark, "phase") for r in rings])
        known = np.flatnonzero(np.isfinite(ph).all(axis=0))
        if not known.size:
            return None
        # Surrogates over the stretch since everyone's phase was first known together.
        return group_surrogate_null(ph[:, known[0] :], rings[0].fs_hz, self.cfg, k0 + int(known[0]))
