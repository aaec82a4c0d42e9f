"""Paced breathing exercises with holds (4-7-8, 4-6-6-2, box breathing) are breathing offline: phase known,
one onset per cycle. The no-turn rule's breath interval is a whole breath (trough to trough, peak to peak),
not twice the median half breath: a hold at the top puts the band-pass's peak at the hold's start, so a 4-7-8
cycle's halves are about 4 and 15 s, and twice the median half of a minute with more short halves than long
ones was 8 s: every exhale read as a pause (52-59% of a 4-7-8 recording had no phase)."""

from __future__ import annotations

import numpy as np
import pytest

from breathsync.dsp.offline import offline_breathing
from breathsync.dsp.pipeline import Quality

FS = 100.0


def _half(n: int, start: float, rise: float) -> np.ndarray:
    """A raised-cosine half breath of ``n`` samples from ``start``, by ``rise`` (negative: an exhale)."""
    return start + rise * (1 - np.cos(np.pi * np.arange(n) / n)) / 2


def _paced(
    pattern: tuple[float, float, float, float], seconds: float = 300.0, seed: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times, values and inhale starts of a paced exercise: inhale, hold at the top, exhale, hold at the
    bottom (seconds), each cycle stretched by up to +-5%, amplitude 1, with 0.5% white noise."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    starts: list[float] = []
    n = 0
    while n < seconds * FS:
        k = 1.0 + rng.uniform(-0.05, 0.05)
        i, hi, e, he = (round(s * k * FS) for s in pattern)
        starts.append(n / FS)
        for p in (_half(i, 0.0, 1.0), np.ones(hi), _half(e, 1.0, -1.0), np.zeros(he)):
            parts.append(p)
            n += p.size
    t = np.arange(n) / FS
    return t, np.concatenate(parts) + 0.005 * rng.standard_normal(n), np.array(starts)


PATTERNS = {
    "4-7-8": (4, 7, 8, 0),
    "4-6-6-2": (4, 6, 6, 2),
    "box 4-4-4-4": (4, 4, 4, 4),
    "box 5-5-5-5": (5, 5, 5, 5),
    "4-4-6-2": (4, 4, 6, 2),
    "resonance 5-5": (5, 0, 5, 0),
    "3/min 10-10": (10, 0, 10, 0),
}


@pytest.mark.parametrize("name", list(PATTERNS))
def test_a_paced_exercise_with_holds_is_breathing_with_one_onset_a_cycle(name: str) -> None:
    pattern = PATTERNS[name]
    t, y, starts = _paced(pattern)
    r = offline_breathing(t, y)
    assert (r.quality == Quality.OK).all()
    assert np.isfinite(r.phase).all()
    # One onset per cycle, at the bottom: in the hold at full exhale or at the inhale's start.
    inner = starts[(starts > 10) & (starts < t[-1] - 10)]
    bottom = 1.05 * pattern[3] + 0.5
    for s in inner:
        assert ((r.onsets_s > s - bottom) & (r.onsets_s < s + 0.5)).sum() == 1, s
    assert r.onsets_s.size <= starts.size
    # And the rate is the exercise's (breath to breath, as far as the trough wanders in a hold at the bottom).
    rates = r.rate_bpm[np.isfinite(r.rate_bpm)]
    assert rates.size > 0.8 * r.t.size
    cycle = float(np.mean(np.diff(starts)))
    assert float(np.mean(np.diff(r.onsets_s))) == pytest.approx(cycle, rel=0.03)
    assert 0.6 * 60.0 / cycle < rates.min() and rates.max() < 1.6 * 60.0 / cycle


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_4_7_8_breathing_has_a_phase_throughout_whatever_its_jitter(seed: int) -> None:
    t, y, starts = _paced((4, 7, 8, 0), seed=seed)
    r = offline_breathing(t, y)
    assert not (r.quality == Quality.NO_BREATHING).any()
    assert r.onsets_s.size == starts.size


def test_a_long_swing_among_paced_breaths_is_still_no_breathing() -> None:
    """4-7-8 breathing (19-s breaths) with one 60-s inhale in it (a belt slipping slowly): far more than
    1.5 breath intervals without a breath; its slope (a sixth of a breath in 10 s) is no hold to the
    raw-signal rule, so the no-turn rule says so (the band-pass may leave a turning point in it)."""
    t0, y0, _ = _paced((4, 7, 8, 0), seconds=100.0, seed=1)
    _, y1, _ = _paced((4, 7, 8, 0), seconds=100.0, seed=2)
    swing = _half(round(60 * FS), 0.0, 1.0)
    tail = np.concatenate((np.ones(round(7 * FS)), _half(round(8 * FS), 1.0, -1.0)))
    y = np.concatenate((y0, swing, tail, y1))
    r = offline_breathing(np.arange(y.size) / FS, y)
    start = t0[-1] + 1 / FS
    nob = r.quality == Quality.NO_BREATHING
    assert nob[(r.t > start + 3) & (r.t < start + 57)].mean() > 0.9
    assert not nob[(r.t < start - 20) | (r.t > start + 90)].any()
    assert not ((r.onsets_s > start + 3) & (r.onsets_s < start + 70)).any()
    assert np.nanmin(r.rate_bpm) > 60.0 / (1.1 * 19)  # no interval across it
