"""The live chance level's 5-s marks (dsp.sync.ChanceMarks, marks_due) against analyze's (live_nulls), for a
pair and a group whose participants do not all keep pace: one behind the others (a simulated partner
catching up at --speed 300) must be waited for; one silent for minutes (a strap out of range, a gap in a
replayed file) must not be, or the history the marks need is gone by the time its samples come back."""

from __future__ import annotations

import numpy as np
import pytest

from breathsync.dsp.group import LiveGroupChance, live_group_nulls
from breathsync.dsp.sync import GridRing, LivePairSync, SyncConfig, live_surrogate_nulls
from breathsync.synth import simulate_group

FS = 20.0
CFG = SyncConfig()
RING_S = 185.0 + 120.0  # a session's ring: 3 min of history and 5 s, and 2 min of spare room
T_END = 700.0


def _phases(n: int) -> np.ndarray:
    c = np.full((n, n), 0.15)
    np.fill_diagonal(c, 0.0)
    return simulate_group(
        T_END, fs_hz=FS, rates_bpm=tuple(13.0 + 1.1 * np.arange(n)), coupling=c, seed=3
    ).phase


def _feed(phases: np.ndarray, upto, silent, advance) -> list[GridRing]:  # type: ignore[no-untyped-def]
    """Feed each participant's phases second by second: participant i has samples up to ``upto(i, t)`` at
    session time t (NaN samples are not sent: a silence), and ``advance(rings, silent(i, t) for i)`` runs
    after each second, as a session's snapshots do."""
    n, size = phases.shape
    rings = [GridRing(FS, RING_S, ("phase",)) for _ in range(n)]
    sent = [0] * n
    for t in np.arange(1.0, T_END + 1.0):
        for i, ring in enumerate(rings):
            hi = min(size, int(upto(i, t) * FS))
            if hi > sent[i]:
                k = np.arange(sent[i], hi)
                ok = np.isfinite(phases[i, k])
                ring.append(k[ok] / FS, phase=phases[i, k[ok]])
                sent[i] = hi
        advance(rings, [silent(i, t) for i in range(n)])
    return rings


def _expected(nulls: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(nulls), np.minimum(nulls, CFG.max_null), CFG.max_null)


EVERY = int(5 * FS)  # a mark every 5 s of session time


def _record(rings: list[GridRing], level_at, seen: dict[int, float]) -> None:  # type: ignore[no-untyped-def]
    """The level in force at each mark the rings still hold (a mark's level never changes once computed,
    and is dropped only with the history: the last value seen is the mark's)."""
    newest = max(int(r.last_k or 0) for r in rings)
    oldest = newest - min(r.capacity for r in rings) + 1
    for m in range(max(-(-oldest // EVERY) * EVERY + EVERY, 0), newest + 1, EVERY):
        seen[m] = level_at(m)


def _compare(seen: dict[int, float], want: np.ndarray) -> list[int]:
    """The marks whose level differs from analyze's."""
    return [m for m, v in seen.items() if 0 <= m < want.size and v != want[m]]


@pytest.mark.parametrize("lag_s", [70.0, 110.0])
def test_a_participant_behind_the_others_is_waited_for(lag_s: float) -> None:
    # B is lag_s behind A until 400 s, then catches up; it is never silent (its next samples are due). The
    # marks wait for B's samples, so the levels are analyze's of the whole recording. (Computed from the
    # rings as they were, without B's latest minute, 7-8 of 60 marks differed where the lag was over 62 s.)
    ph = _phases(3)
    pair = LivePairSync(CFG)
    group = LiveGroupChance(CFG)

    def upto(i: int, t: float) -> float:
        return t - lag_s if i == 1 and t < 400.0 else t

    seen_pair: dict[int, float] = {}
    seen_group: dict[int, float] = {}

    def advance(rings: list[GridRing], silent: list[bool]) -> None:
        pair.advance(rings[0], rings[1], (silent[0], silent[1]))
        group.advance(rings, min(int(r.last_k or 0) for r in rings), silent)
        _record(rings[:2], pair.level_at, seen_pair)
        _record(rings, group.level_at, seen_group)

    _feed(ph, upto, lambda i, t: False, advance)
    assert len(seen_pair) > 120 and len(seen_group) > 120
    assert _compare(seen_pair, _expected(live_surrogate_nulls(ph[0], ph[1], FS, CFG))) == []
    assert _compare(seen_group, _expected(live_group_nulls(ph, FS, CFG))) == []
    assert pair.cut_marks == 0 and group.cut_marks == 0


@pytest.mark.parametrize("said_silent", [True, False])
def test_a_participant_silent_for_minutes_is_not_waited_for(said_silent: bool) -> None:
    # B has no samples from 200 to 500 s (a strap out of range). Told that B is silent, the marks of the
    # silence are computed while the rings still hold their history: analyze's levels. Waiting for B, as for
    # a participant merely behind, they are computed at 500 s from what is left, and differ.
    ph = _phases(3)
    ph[1, int(200 * FS) : int(500 * FS)] = np.nan
    pair = LivePairSync(CFG)
    group = LiveGroupChance(CFG)

    def silent(i: int, t: float) -> bool:
        return said_silent and i == 1 and 202.0 <= t < 500.0

    seen_pair: dict[int, float] = {}
    seen_group: dict[int, float] = {}

    def advance(rings: list[GridRing], quiet: list[bool]) -> None:
        pair.advance(rings[0], rings[1], (quiet[0], quiet[1]))
        group.advance(rings, min(int(r.last_k or 0) for r in rings), quiet)
        _record(rings[:2], pair.level_at, seen_pair)
        _record(rings, group.level_at, seen_group)

    _feed(ph, lambda i, t: t, silent, advance)
    wrong_pair = _compare(seen_pair, _expected(live_surrogate_nulls(ph[0], ph[1], FS, CFG)))
    wrong_group = _compare(seen_group, _expected(live_group_nulls(ph, FS, CFG)))
    if said_silent:
        assert wrong_pair == [] and wrong_group == []
        assert pair.cut_marks == 0 and group.cut_marks == 0
    else:  # history cut short: the levels of the silence differ from analyze's
        assert pair.cut_marks > 0 and group.cut_marks > 0
        assert wrong_pair and wrong_group
