"""Has a breather changed pace? The breaths since a moment (an instruction) against the minute before it.

The lead phase asks a leader to change pace and must then tell a change from the wander of someone's
breathing. The live rate (60 / the mean breath interval over 40 s) answers late, as a 40-s mean lags a ramp
by about 20 s, and a fixed threshold on it ignores how much a breather's pace wanders (a steady simulated
breather's intervals vary about 12% breath to breath, a real one at rest 30% or more: nk_rest5, 17.5 +-
5.8/min). This module judges each breath interval against the breather's own baseline:

- the *baseline*: the breath intervals that ended in the :data:`BASELINE_S` (60 s) before the moment and
  were confirmed by then: their mean ``m`` and standard deviation ``s`` of log interval (``s`` at least
  :data:`MIN_SD`), and their rate (60 / mean interval);
- each interval ``x`` after the moment is standardized, ``z = (log x - m) / s``, clipped to
  +-:data:`Z_CLIP` (4: one missed or doubled breath is one breath, not a change), and summed in a two-sided
  CUSUM (Page 1954, Biometrika 41:100; Montgomery, *Introduction to Statistical Quality Control*, the
  tabular CUSUM): ``S_slow = max(0, S_slow + z - K)``, ``S_fast = max(0, S_fast - z - K)``, with the
  allowance :data:`K` (1 SD) taking off the baseline's wander each breath;
- a change: one sum at :data:`H` or more (4 SD: two breaths each 3 SD away, or four each 2 SD), at least
  :data:`MIN_N` intervals since the moment, and the rate of the last :data:`RECENT_N` of them
  :data:`MIN_CHANGE_BPM` or more from the baseline's, the same way. The CUSUM forgets: back at the baseline's
  pace (``|z| < K``) its sum falls again, so a return to the starting pace is no change.

Log intervals, as a change of pace is a ratio (12 -> 10/min and 6 -> 5/min are the same step) and their
spread is about the same at any pace. No I/O: the caller collects the onsets and the times they were
confirmed (:class:`breathsync.dsp.pipeline.BreathEvent`) and says which intervals the signal was tracked
through.

The lead phase's verdict (``breathsync.session``) uses it for the leader's change; the follower has
followed when the rate of their last :data:`RECENT_N` breaths (:attr:`PaceChange.change_bpm`) has moved the
same way by half as much. ``benchmarks/bench_lead.py`` measured it against the rule before it (the live rate
moved 2/min): a "change" within a minute of 8 of 52 instructions pretended on real breathing against 32, 16
of 71 on the held-out Systole belt (added after the settings were chosen) against 65, and 15 of 354 on
simulated steady breathers against 19; on simulated leaders it decided 5.4 s sooner (median; 36.8 s after a
change began, against 42.2) and missed none (3), but was no sooner at a sudden slowing. A decision cannot
come much sooner without more false alarms: the breaths themselves vary 12% (simulated) to 30% (real) from
one to the next, and a change of 2/min at 12/min is 17%.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from breathsync.dsp._types import FloatArray

__all__ = [
    "BASELINE_S",
    "MIN_CHANGE_BPM",
    "MIN_N",
    "SLOW_BASELINE_S",
    "H",
    "K",
    "PaceBaseline",
    "PaceChange",
    "baseline_before",
    "baseline_intervals",
    "breath_intervals",
    "pace_baseline",
]

#: The baseline: the breath intervals that ended within this many seconds before the moment.
BASELINE_S = 60.0
#: Fewer baseline intervals than this: no baseline (its spread would be a guess).
MIN_BASELINE_N = 4
#: The smallest spread of log intervals assumed (a metronome's is 0; 0.05: 5% breath to breath).
MIN_SD = 0.05
#: The CUSUM's allowance and decision level, in baseline SDs of log interval.
K = 1.0
H = 4.0
#: A standardized interval counts at most this far from the baseline: one missed breath (a doubled
#: interval, 5.8 SD of a steady breather's 12%) adds at most Z_CLIP - K = 3 to a sum, under :data:`H`.
Z_CLIP = 4.0
#: At least this many intervals since the moment before a change can be seen ...
MIN_N = 3
#: ... the change of rate is that of the last this many of them ...
RECENT_N = 4
#: ... and must be at least this (breaths/min), however regular the breathing.
MIN_CHANGE_BPM = 2.0
#: Intervals outside these bounds (s) are no breath intervals (the live pipeline's own bounds).
MIN_INTERVAL_S = 1.5
MAX_INTERVAL_S = 30.0


def breath_intervals(onset_s: FloatArray, valid: np.ndarray | None = None) -> tuple[FloatArray, FloatArray]:
    """The breath intervals (s) between consecutive onsets ``onset_s`` and the onsets that end them,
    leaving out those outside [1.5, 30] s and those ending at an onset ``i`` with ``valid[i]`` False (the
    signal was not tracked all the way from the onset before)."""
    on = np.asarray(onset_s, dtype=float)
    if on.size < 2:
        return np.empty(0), np.empty(0)
    iv = np.diff(on)
    ok = (iv >= MIN_INTERVAL_S) & (iv <= MAX_INTERVAL_S)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)[1:]
    return iv[ok], on[1:][ok]


def baseline_intervals(
    onset_s: FloatArray,
    detected_s: FloatArray,
    at_s: float,
    *,
    valid: np.ndarray | None = None,
    baseline_s: float = BASELINE_S,
    known_by_s: float | None = None,
) -> FloatArray:
    """The breath intervals (s) of onsets ``onset_s`` (confirmed at ``detected_s``) that ended in the
    ``baseline_s`` before ``at_s``, with both onsets confirmed by then, or by ``known_by_s`` when given
    (``valid``: :func:`breath_intervals`)."""
    on = np.asarray(onset_s, dtype=float)
    known = np.asarray(detected_s, dtype=float) <= (at_s if known_by_s is None else known_by_s)
    iv, end = breath_intervals(on[known], None if valid is None else np.asarray(valid, dtype=bool)[known])
    return iv[(end <= at_s) & (end >= at_s - baseline_s)]


#: A slow breather's baseline (under :data:`MIN_BASELINE_N` intervals in :data:`BASELINE_S`: under about
#: 4.5 breaths a minute) reaches back this far instead.
SLOW_BASELINE_S = 2 * BASELINE_S


def baseline_before(
    onset_s: FloatArray,
    detected_s: FloatArray,
    at_s: float,
    *,
    valid: np.ndarray | None = None,
    known_by_s: float | None = None,
) -> PaceBaseline | None:
    """The pace baseline at a moment ``at_s``: the intervals of the :data:`BASELINE_S` before it
    (:func:`baseline_intervals`), or of the :data:`SLOW_BASELINE_S` before it when those are too few (breathing
    under about 4.5 a minute, as some paced slow breathing is); None when those are too few as well."""
    for span in (BASELINE_S, SLOW_BASELINE_S):
        base = pace_baseline(
            baseline_intervals(onset_s, detected_s, at_s, valid=valid, baseline_s=span, known_by_s=known_by_s)
        )
        if base is not None:
            return base
    return None


@dataclass(frozen=True)
class PaceBaseline:
    """A breather's pace before the moment: ``n`` intervals, the mean and standard deviation of their log
    (log s), and their rate (60 / mean interval, breaths/min)."""

    n: int
    mean_log: float
    sd_log: float
    rate_bpm: float


def pace_baseline(intervals_s: FloatArray) -> PaceBaseline | None:
    """The baseline of breath intervals (s); None with fewer than :data:`MIN_BASELINE_N`."""
    iv = np.asarray(intervals_s, dtype=float)
    if iv.size < MIN_BASELINE_N:
        return None
    lg = np.log(iv)
    return PaceBaseline(int(iv.size), float(lg.mean()), float(lg.std(ddof=1)), 60.0 / float(iv.mean()))


class PaceChange:
    """The breath intervals since a moment against the ``baseline`` before it (module docstring), one
    interval at a time (:meth:`add`): the same answer however the intervals are handed over."""

    def __init__(
        self,
        baseline: PaceBaseline,
        *,
        k: float = K,
        h: float = H,
        min_n: int = MIN_N,
        recent_n: int = RECENT_N,
        min_change_bpm: float = MIN_CHANGE_BPM,
        min_sd: float = MIN_SD,
        z_clip: float = Z_CLIP,
    ) -> None:
        self.baseline = baseline
        self.k, self.h, self.min_n, self.min_change_bpm, self.z_clip = k, h, min_n, min_change_bpm, z_clip
        self._sd = max(baseline.sd_log, min_sd)
        self._recent: deque[float] = deque(maxlen=recent_n)
        self.n = 0  # intervals added
        self.s_slow = 0.0  # the CUSUM sums (baseline SDs)
        self.s_fast = 0.0

    def add(self, interval_s: float) -> None:
        """One more breath interval (s) since the moment (one outside [1.5, 30] s is left out)."""
        if not MIN_INTERVAL_S <= interval_s <= MAX_INTERVAL_S:
            return
        z = (math.log(interval_s) - self.baseline.mean_log) / self._sd
        z = min(max(z, -self.z_clip), self.z_clip)
        self.s_slow = max(0.0, self.s_slow + z - self.k)
        self.s_fast = max(0.0, self.s_fast - z - self.k)
        self._recent.append(interval_s)
        self.n += 1

    @property
    def change_bpm(self) -> float:
        """The rate of the last intervals (up to ``recent_n``) minus the baseline's; 0 before any."""
        if not self._recent:
            return 0.0
        return 60.0 * len(self._recent) / sum(self._recent) - self.baseline.rate_bpm

    @property
    def side(self) -> int:
        """Which way the CUSUM says the pace moved: +1 faster, -1 slower, 0 neither (yet)."""
        if self.n < self.min_n or max(self.s_slow, self.s_fast) < self.h:
            return 0
        return 1 if self.s_fast > self.s_slow else -1

    @property
    def changed(self) -> int:
        """A change of pace now: the CUSUM's :attr:`side` (+1 faster, -1 slower), when the recent rate has
        moved at least ``min_change_bpm`` that way; else 0."""
        side = self.side
        return side if side and side * self.change_bpm >= self.min_change_bpm else 0
