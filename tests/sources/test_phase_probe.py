"""PhaseProbe: what a simulated follower reads of its partner. It keeps what the reader has still to read,
and a follower waits for a replayed partner's phase rather than reading it as unknown."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from breathsync.sources.base import PhaseProbe, SessionClock
from breathsync.sources.sim import SimSource


def test_history_the_reader_has_not_read_is_kept() -> None:
    probe = PhaseProbe(history_s=10.0)
    t = np.arange(0.0, 5.0, 0.05)
    probe.update(t, np.full(t.size, 1.0))
    assert probe.phase_at(4.0) == 1.0  # the reader is at 4 s
    later = np.arange(5.0, 120.0, 0.05)  # the partner runs 115 s ahead (a fast session)
    probe.update(later, np.full(later.size, 2.0))
    assert probe.phase_at(4.5) == 1.0  # not forgotten (it was, with only the last 10 s kept)
    assert probe.phase_at(60.0) == 2.0


def _strap_probe_reads(run_ahead: bool) -> list[float]:
    """A follower reading (25 Hz, from 20 s) a partner whose phase comes from heart beats: each 20-Hz estimate
    known 1.5 s after its time. The partner's samples are processed either as the follower goes (30x), or,
    from 20 s, 40 s ahead of it at once (300x on a busy machine)."""
    probe = PhaseProbe(history_s=10.0)
    t = np.arange(0.0, 80.0, 0.05)
    phase = (2 * np.pi * 0.25 * t) % (2 * np.pi)
    rate = np.full(t.size, 15.0)
    fed = 0

    def feed_until(s: float) -> None:  # the 0.1-s pieces (two estimates) known by session time s
        nonlocal fed
        while fed < t.size and t[fed + 1] + 1.5 <= s:
            probe.update(t[fed : fed + 2], phase[fed : fed + 2], rate[fed : fed + 2], float(t[fed + 1] + 1.5))
            fed += 2

    out = []
    for r in np.arange(0.0, 60.0, 0.04):
        feed_until(r + (40.0 if run_ahead and r >= 20.0 else 0.1))
        out.append(probe.phase_at(float(r)))
    return out


def test_a_strap_s_phase_carried_forward_is_kept_when_its_partner_runs_ahead() -> None:
    """A phase known late (heart beats) is read carried forward from up to PROBE_CARRY_S back. Only the last
    second before the reader was kept once the partner ran more than the history ahead, so at 300x on a busy
    machine a strap's follower read "unknown" where at 30x it read the phase, and breathed differently."""
    slow, fast = _strap_probe_reads(False), _strap_probe_reads(True)
    assert np.isfinite(slow[600:]).all()  # from 24 s on, every read has a phase (carried 1.5 s forward)
    np.testing.assert_array_equal(fast, slow)


def test_without_a_reader_only_the_history_is_kept() -> None:
    probe = PhaseProbe(history_s=10.0)
    t = np.arange(0.0, 100.0, 0.05)
    probe.update(t, np.ones(t.size))
    assert len(probe._t) <= 10.0 / 0.05 + 2


def test_known_until_is_inf_without_a_session_s_word() -> None:
    assert PhaseProbe().known_until() == math.inf
    probe = PhaseProbe(final_until=lambda: 12.5)
    assert probe.known_until() == 12.5


def test_a_follower_never_runs_past_its_partner_s_known_phase() -> None:
    """The partner's phase is final up to 3 s: a follower with a 0.3-s delay makes samples up to 3.3 s, then
    waits (however far the clock has gone), and goes on when more is known."""
    known = [3.0]
    probe = PhaseProbe(final_until=lambda: known[0])
    t = np.arange(0.0, 60.0, 0.05)
    probe.update(t, np.mod(2 * np.pi * 0.2 * t, 2 * np.pi))
    src = SimSource("follow", rate_bpm=12.0, coupling=1.0, delay_s=0.3, seed=1, duration_s=20.0, probe=probe)
    src.start_s = 0.0
    clock = SessionClock(speed=300.0)

    async def main() -> list[float]:
        await src.start(clock)
        ends: list[float] = []
        stream = src.stream()

        async def take() -> None:
            async for chunk in stream:
                ends.append(float(chunk.t[-1]))

        task = asyncio.create_task(take())
        await asyncio.sleep(0.2)  # 60 s of session time: far past what is known
        first = max(ends)
        known[0] = math.inf  # the partner's source ended: nothing more to wait for
        probe.advanced()
        await asyncio.wait_for(task, 5.0)
        return [first, max(ends)]

    first, last = asyncio.run(main())
    assert first == pytest.approx(3.28)  # the last 25-Hz sample at or before 3.3 s
    assert last == pytest.approx(19.96)


def test_a_follower_cancelled_as_its_partner_s_phase_arrives_stops() -> None:
    """The session cancels its sources' tasks at its end. A follower waiting for its partner's phase that was
    cancelled in the same turn as the phase arrived lost the cancellation (Python 3.11's asyncio.wait_for)
    and ran on for ever: the whole session hung."""
    probe = PhaseProbe(final_until=lambda: 1.0)
    probe.update(np.arange(0.0, 1.0, 0.05), np.zeros(20))
    src = SimSource("follow", rate_bpm=12.0, coupling=1.0, seed=1, probe=probe)
    src.start_s = 0.0

    async def main() -> bool:
        await src.start(SessionClock(speed=300.0))

        async def take() -> None:
            async for _ in src.stream():
                pass

        task = asyncio.create_task(take())
        await asyncio.sleep(0.1)  # the follower is waiting for more of the partner's phase
        probe.advanced()  # more arrives (still not enough) ...
        task.cancel()  # ... as the session ends
        done, _ = await asyncio.wait((task,), timeout=2.0)
        await src.stop()
        return task in done and task.cancelled()

    assert asyncio.run(main())


def test_an_old_estimate_is_carried_forward_at_the_rate_for_a_while() -> None:
    """Breathing derived from heart beats is known about a second late: read only by time, a simulated
    follower of a strap found nothing fresher than 0.5 s and never followed. Now the newest estimate is
    carried forward at the participant's rate for up to PROBE_CARRY_S."""
    from breathsync.sources.base import PROBE_CARRY_S, PROBE_FRESH_S

    probe = PhaseProbe()
    t = np.arange(0.0, 10.0, 0.25)
    probe.update(t, np.full(t.size, 1.0), np.full(t.size, 12.0))
    last = float(t[-1])
    assert probe.phase_at(last + PROBE_FRESH_S) == 1.0  # fresh: as it is
    assert probe.phase_at(last + 1.0) == pytest.approx(1.0 + 2 * math.pi * 0.2 * 1.0)  # 12/min for 1 s
    assert math.isnan(probe.phase_at(last + PROBE_CARRY_S + 0.1))  # too old: unknown
    no_rate = PhaseProbe()
    no_rate.update(t, np.full(t.size, 1.0))
    assert math.isnan(no_rate.phase_at(last + 1.0))  # nothing to carry it with


def test_an_estimate_is_read_only_once_it_was_known() -> None:
    """An estimate of the phase at 5 s that was known only at 6 s (derived from the beat after it) is not
    read at 5.5 s: the follower reads what a partner breathing in real time could have seen."""
    probe = PhaseProbe()
    probe.update(np.array([4.0]), np.array([1.0]), np.array([12.0]), available_s=4.0)
    probe.update(np.array([5.0]), np.array([2.0]), np.array([12.0]), available_s=6.0)
    assert probe.phase_at(5.5) == pytest.approx(1.0 + 2 * math.pi * 0.2 * 1.5)  # the 4-s one, carried
    assert probe.phase_at(6.0) == pytest.approx(2.0 + 2 * math.pi * 0.2 * 1.0)  # known now: the 5-s one
