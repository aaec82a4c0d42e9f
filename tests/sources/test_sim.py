"""Tests for breathsync.sources.sim: the simulated partner behind the Source interface."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace

import numpy as np
import pytest

from breathsync.dsp.pipeline import RespPipeline
from breathsync.errors import InputError
from breathsync.sources.base import PhaseProbe, SampleChunk, SessionClock, SourceStatus
from breathsync.sources.sim import CATCH_UP_CHUNKS, DEFAULT_SHAPE, SimSource, parse_sim_spec
from breathsync.synth import BreathShape, true_plv

TWO_PI = 2 * np.pi


def run_until(src: SimSource, t_end: float, step_s: float = 0.1) -> SampleChunk:
    """Drive a source synchronously in steps of ``step_s`` and join its chunks."""
    parts = [src.generate_until(k * step_s) for k in range(round(t_end / step_s) + 1)]
    return join(parts)


def join(parts: list[SampleChunk]) -> SampleChunk:
    return SampleChunk(
        np.concatenate([p.t for p in parts]),
        {c: np.concatenate([p.columns[c] for p in parts]) for c in ("resp", "true_phase")},
    )


def measured_onsets(chunk: SampleChunk) -> np.ndarray:
    out = RespPipeline().process(chunk.t, chunk.columns["resp"])
    return np.array([b.onset_s for b in out.breaths])


def rate_between(onsets: np.ndarray, a: float, b: float) -> float:
    """Breaths/min from the onsets in [a, b): breaths counted between the first and the last."""
    x = onsets[(onsets >= a) & (onsets < b)]
    return 60.0 * (x.size - 1) / (x[-1] - x[0])


def follow_run(
    coupling: float, seed: int, partner_diffusion: float, measured: bool = False, t_end: float = 150.0
) -> tuple[np.ndarray, np.ndarray]:
    """A 12/min steady partner and a 14/min follower reading it through a probe; both true phases."""
    partner = SimSource("steady", rate_bpm=12.0, seed=100 + seed, diffusion=partner_diffusion)
    probe = PhaseProbe()
    follower = SimSource(
        "follow", rate_bpm=14.0, coupling=coupling, delay_s=0.7, seed=200 + seed, probe=probe
    )
    pipeline = RespPipeline()
    a_parts, b_parts = [], []
    for k in range(1, round(t_end * 10) + 1):
        a = partner.generate_until(k * 0.1)
        if measured:  # what a session does: the partner's live phase as the pipeline measures it
            out = pipeline.process(a.t, a.columns["resp"])
            probe.update(out.t, out.phase)
        else:
            probe.update(a.t, a.columns["true_phase"])
        b = follower.generate_until(k * 0.1)
        a_parts.append(a.columns["true_phase"])
        b_parts.append(b.columns["true_phase"])
    return np.concatenate(a_parts), np.concatenate(b_parts)


def wraps(phase: np.ndarray, min_gap: int = 25) -> np.ndarray:
    """Sample indices where the phase wraps (inhale onsets); later wraps within ``min_gap`` samples (phase
    noise jittering across the onset) are ignored."""
    idx = np.flatnonzero(np.diff(phase) < -np.pi) + 1
    keep = [int(idx[0])]
    for i in idx[1:]:
        if i - keep[-1] >= min_gap:
            keep.append(int(i))
    return np.asarray(keep)


def last_minute_plv(a: np.ndarray, b: np.ndarray, fs_hz: float = 25.0) -> float:
    n = round(60 * fs_hz)
    return float(true_plv(a[-n:], b[-n:], fs_hz, 60.0)[0])


# ------------------------------------------------------------------------------------------------
# Determinism


@pytest.mark.parametrize("mode", ["steady", "lead", "follow", "pacer"])
def test_same_seed_same_output_whatever_the_chunking(mode: str) -> None:
    def make() -> SimSource:
        probe = PhaseProbe(history_s=1e6)
        t = np.arange(0, 95, 0.1)
        probe.update(t, np.mod(TWO_PI * 0.2 * t, TWO_PI))  # the same partner phases for every run
        return SimSource(mode, seed=5, probe=probe)

    whole = make().generate_until(90.0)
    rng = np.random.default_rng(0)
    src = make()
    parts, t = [], 0.0
    while t < 90.0:
        t = min(90.0, t + float(rng.uniform(0.0, 0.7)))
        parts.append(src.generate_until(t))
    pieces = join(parts)
    np.testing.assert_array_equal(pieces.t, whole.t)
    np.testing.assert_array_equal(pieces.columns["resp"], whole.columns["resp"])
    np.testing.assert_array_equal(pieces.columns["true_phase"], whole.columns["true_phase"])
    np.testing.assert_array_equal(whole.t, np.arange(whole.t.size) / 25.0)


def test_different_seed_differs_and_follow_without_partner_is_steady() -> None:
    a = SimSource("steady", seed=1).generate_until(30.0)
    b = SimSource("steady", seed=2).generate_until(30.0)
    assert not np.allclose(a.columns["resp"], b.columns["resp"])
    # No probe, or a probe that knows nothing (NaN): a follower breathes at its own rate, exactly.
    alone = SimSource("follow", seed=1).generate_until(30.0)
    blind = SimSource("follow", seed=1, probe=PhaseProbe()).generate_until(30.0)
    np.testing.assert_array_equal(alone.columns["resp"], a.columns["resp"])
    np.testing.assert_array_equal(blind.columns["true_phase"], a.columns["true_phase"])


def test_scalar_phase_speed_matches_the_vectorised_one() -> None:
    theta = np.linspace(-7.0, 14.0, 501)
    for shape in (BreathShape(), BreathShape(inhale_fraction=0.35, pause_fraction=0.1)):
        scalar = [shape.phase_speed_at(float(x)) for x in theta]
        np.testing.assert_allclose(scalar, shape.phase_speed(theta), rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# Breathing: rate, shape, variability


def test_steady_rate_is_what_the_live_pipeline_measures() -> None:
    for rate in (8.0, 12.0, 18.0):
        chunk = SimSource("steady", rate_bpm=rate, seed=3).generate_until(300.0)
        onsets = measured_onsets(chunk)
        assert rate_between(onsets, 20.0, 300.0) == pytest.approx(rate, abs=0.5)


def test_waveform_shape_inhale_40_percent_rising_then_falling() -> None:
    chunk = SimSource("steady", rate_bpm=12.0, seed=4).generate_until(300.0)
    phase, resp = chunk.columns["true_phase"], chunk.columns["resp"]
    assert np.mean(phase < np.pi) == pytest.approx(0.4, abs=0.02)  # inhale share of the time
    # The end-expiratory pause (8% of the cycle, centred at 1.85 pi): more time near the trough than the
    # same breather without a pause.
    no_pause = replace(DEFAULT_SHAPE, pause_fraction=0.0)
    plain = SimSource("steady", rate_bpm=12.0, seed=4, shape=no_pause).generate_until(300.0)

    def near_trough(ph: np.ndarray) -> float:
        return float(np.mean((ph > 1.75 * np.pi) & (ph < 1.95 * np.pi)))

    assert near_trough(phase) - near_trough(plain.columns["true_phase"]) > 0.03
    # Rises on inhale, falls on exhale (0.2-s differences, past the sensor noise).
    d = resp[5:] - resp[:-5]
    mid = phase[:-5]
    inhale = (mid > 0.3) & (mid < np.pi - 0.6)
    exhale = (mid > np.pi + 0.3) & (mid < 1.6 * np.pi)
    assert np.mean(d[inhale] > 0) > 0.9
    assert np.mean(d[exhale] < 0) > 0.9


def test_breath_to_breath_variability_and_sighs() -> None:
    chunk = SimSource("steady", rate_bpm=12.0, seed=6).generate_until(900.0)
    phase, resp = chunk.columns["true_phase"], chunk.columns["resp"]
    onsets = wraps(phase)
    periods = np.diff(onsets) / 25.0
    assert 0.05 < np.std(periods) / np.mean(periods) < 0.3  # rate varies from breath to breath
    swings = np.array([np.ptp(resp[a:b]) for a, b in zip(onsets[:-1], onsets[1:], strict=True)])
    typical = np.median(swings)
    normal = swings[swings < 1.8 * typical]
    assert 0.05 < np.std(normal) / np.mean(normal) < 0.3  # amplitude varies too
    sighs = int(np.sum(swings > 1.8 * typical))
    assert 1 <= sighs <= 12  # about 0.3/min x 15 min = 4.5 expected


def test_pacer_is_an_exact_metronome() -> None:
    src = parse_sim_spec("pacer,rate=6,inhale=4,exhale=6")
    chunk = run_until(src, 120.2, step_s=0.37)
    t, phase, resp = chunk.t, chunk.columns["true_phase"], chunk.columns["resp"]
    np.testing.assert_allclose(resp, (1 - np.cos(phase)) / 2, atol=1e-12)  # clean, no noise
    onsets = np.flatnonzero(np.diff(phase) < -np.pi) + 1
    np.testing.assert_allclose(t[onsets], np.arange(10.0, 120.1, 10.0))  # every 10 s
    assert phase[0] == 0.0
    peaks = [int(np.argmax(resp[k : k + 250])) + k for k in range(0, t.size - 250, 250)]
    np.testing.assert_allclose(t[peaks] - t[peaks][0], np.arange(len(peaks)) * 10.0)
    assert t[peaks][0] == pytest.approx(4.0)  # inhale 4 s
    assert np.mean(phase[:3000] < np.pi) == pytest.approx(0.4, abs=1e-3)  # 12 whole cycles
    # From the clock, not from accumulated ticks: exact at any time.
    assert src.true_phase_at(86400.0 * 10 + 4.0) == pytest.approx(np.pi, abs=1e-9)
    assert src.true_phase_at(7.0) == pytest.approx(np.pi * 1.5)


def test_pacer_timing_options() -> None:
    p = parse_sim_spec("pacer,rate=8")
    assert (p.inhale_s, p.exhale_s) == pytest.approx((3.0, 4.5))
    p = parse_sim_spec("pacer,rate=6,inhale=3")
    assert (p.inhale_s, p.exhale_s) == pytest.approx((3.0, 7.0))
    p = parse_sim_spec("pacer,inhale=4,exhale=4")
    assert p.rate_bpm == pytest.approx(7.5)


def test_lead_rate_goes_from_14_to_8_as_measured() -> None:
    src = parse_sim_spec("lead,seed=2")
    assert (src.rate_at(0.0), src.rate_at(120.0), src.rate_at(180.0)) == (14.0, 11.0, 8.0)
    onsets = measured_onsets(src.generate_until(240.0))
    before = rate_between(onsets, 10.0, 60.0)
    middle = rate_between(onsets, 90.0, 150.0)
    after = rate_between(onsets, 185.0, 240.0)
    assert before == pytest.approx(14.0, abs=1.0)
    assert after == pytest.approx(8.0, abs=1.0)
    assert before > middle > after


# ------------------------------------------------------------------------------------------------
# Follow


@pytest.mark.parametrize("seed", [0, 1])
def test_follower_locks_onto_its_partner_only_when_coupled(seed: int) -> None:
    # A regular 12/min partner (no phase noise: a synthetic phase) and a 14/min follower: 2/min apart.
    coupled = last_minute_plv(*follow_run(0.5, seed, partner_diffusion=0.0))
    free = last_minute_plv(*follow_run(0.0, seed, partner_diffusion=0.0))
    assert coupled > 0.8
    assert free < 0.5


def test_follower_through_the_live_pipeline() -> None:
    # A naturally variable partner whose phase is the one the live pipeline measures, as in a session.
    # (Uncoupled, the probe is not read: the coupling-0 case is the one of the test above.)
    coupled = last_minute_plv(*follow_run(0.5, 0, partner_diffusion=0.05, measured=True))
    assert coupled > 0.6


# ------------------------------------------------------------------------------------------------
# Timing and the Source life cycle


def test_stream_with_a_fast_clock_is_contiguous_and_ends() -> None:
    src = SimSource("steady", seed=1, duration_s=6.0)
    statuses: list[SourceStatus] = []
    src.on_status(lambda s, _reason: statuses.append(s))

    async def main() -> list[SampleChunk]:
        await src.start(SessionClock(speed=100.0))
        return [chunk async for chunk in src.stream()]

    chunks = asyncio.run(main())
    t = np.concatenate([c.t for c in chunks])
    np.testing.assert_array_equal(t, np.arange(150) / 25.0)  # 6 s at 25 Hz, stamped k / fs
    assert all(len(c) >= 1 for c in chunks)
    assert np.median([len(c) for c in chunks]) <= 5  # about 0.1 s each
    assert statuses == [SourceStatus.STREAMING, SourceStatus.ENDED]
    assert set(chunks[0].columns) == {"resp", "true_phase"}


def test_stop_ends_the_stream() -> None:
    src = SimSource("pacer")

    async def main() -> int:
        await src.start(SessionClock(speed=50.0))
        n = 0
        async for chunk in src.stream():
            n += len(chunk)
            if n >= 50:
                await src.stop()
        await src.stop()  # idempotent
        return n

    n = asyncio.run(main())
    assert 50 <= n < 60
    assert src.status is SourceStatus.ENDED


class JumpyClock(SessionClock):
    """A fake clock whose sleeps overshoot by irregular amounts (a busy event loop), no wall time."""

    def __init__(self) -> None:
        self.fake = 0.0
        self.rng = np.random.default_rng(1)
        super().__init__(speed=1.0, time_fn=lambda: self.fake)

    async def sleep_until(self, t_session: float) -> None:
        self.fake += max(0.0, self.wall_delay(t_session)) + float(self.rng.exponential(0.15))


def test_stream_generates_up_to_now_and_does_not_drift() -> None:
    clock = JumpyClock()
    src = SimSource("steady", seed=1, duration_s=60.0)

    async def main() -> None:
        await src.start(clock)
        last = -0.04
        async for chunk in src.stream():
            now = clock.now()
            assert chunk.t[0] == pytest.approx(last + 0.04)
            assert chunk.t[-1] <= now  # never ahead of the clock
            # Everything up to now, or, when far behind, at most CATCH_UP_CHUNKS at a time (the loop stays free).
            cap = CATCH_UP_CHUNKS * max(1, round(src.chunk_s * src.fs_hz))
            at_end = chunk.t[-1] == pytest.approx(59.96)
            assert now < chunk.t[-1] + 0.04 + 1e-9 or len(chunk) == cap or at_end
            last = float(chunk.t[-1])
        assert last == pytest.approx(59.96)

    asyncio.run(main())


def test_started_mid_session_stamps_on_the_sample_grid() -> None:
    clock = JumpyClock()
    clock.start()
    clock.fake = 3.31
    src = SimSource("pacer", duration_s=1.0)
    asyncio.run(src.start(clock))
    chunk = src.generate_until(10.0)
    assert chunk.t[0] == pytest.approx(3.32)  # the first k / fs at or after now
    assert chunk.columns["true_phase"][0] == 0.0
    assert chunk.t.size == 25
    assert math.isnan(src.true_phase_at(3.0))


def test_true_phase_at_matches_the_chunks() -> None:
    src = SimSource("steady", seed=8)
    chunk = src.generate_until(20.0)
    assert src.true_phase_at(8.0) == pytest.approx(chunk.columns["true_phase"][200])
    assert math.isnan(src.true_phase_at(25.0))


# ------------------------------------------------------------------------------------------------
# The command-line spec


def test_spec_parser_accepts_and_round_trips() -> None:
    src = parse_sim_spec("follow,rate=12,coupling=0.5,delay=0.7,seed=1")
    assert (src.mode, src.rate_bpm, src.coupling, src.delay_s, src.seed) == ("follow", 12.0, 0.5, 0.7, 1)
    assert src.signal == "resp"
    assert parse_sim_spec("follow,partner=B").partner == "B"
    for text in (
        "sim:steady",
        " Steady , rate = 9.5 ",
        "lead,rate=14,to=8,ramp=120,after=60,seed=3,duration=600",
        "pacer,rate=6,inhale=4,exhale=6,fs=50",
        "follow,coupling=0,delay=0",
        "follow,partner=A_1,coupling=0.3",
    ):
        a = parse_sim_spec(text)
        b = parse_sim_spec(a.spec)
        assert b.spec == a.spec
        assert b.describe() == a.describe()
    d = parse_sim_spec("lead").describe()
    assert (d["mode"], d["rate_bpm"], d["to_bpm"], d["ramp_s"], d["after_s"]) == (
        "lead",
        14.0,
        8.0,
        120.0,
        60.0,
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "unknown simulated partner mode"),
        ("walk", "use sim:steady, sim:follow, sim:lead or sim:pacer"),
        ("steady,coupling=0.5", "sim:steady has no option 'coupling'; it accepts rate=, seed="),
        ("pacer,seed=1", "has no option 'seed'"),
        ("follow,rate=abc", "rate=abc is not a number; rate must be 2-40 breaths/min"),
        ("follow,rate=100", "rate=100 is out of range"),
        ("follow,delay=nan", "delay must be 0-5 s"),
        ("follow,rate", "is not key=value"),
        ("follow,", "is not key=value"),
        ("follow,rate=12,rate=13", "given twice"),
        ("follow,partner=A B", "a participant label is letters"),
        ("lead,partner=A", "sim:lead has no option 'partner'"),
        ("steady,seed=1.5", "seed=1.5 is not a whole number; seed must be a whole number >= 0"),
        ("steady,seed=abc", "seed=abc is not a number; seed must be a whole number >= 0"),
        ("steady,seed=-1", "seed must be a whole number >= 0"),
        ("steady,duration=0", "duration must be a number > 0 s"),
        ("steady,duration=inf", "duration must be a number > 0 s and at most 86400 s"),  # was OverflowError
        ("steady,duration=1e300", "duration=1e+300 is out of range"),
        ("steady,duration=nan", "duration must be a number > 0 s and at most 86400 s"),
        ("pacer,rate=8,inhale=4,exhale=6", "drop rate= or make them agree"),
        ("pacer,rate=6,inhale=9.9", "leaves no time"),
        ("pacer,inhale=20,exhale=20", "a breath must last"),
    ],
)
def test_spec_parser_rejects_with_one_clear_line(text: str, says: str) -> None:
    with pytest.raises(InputError) as info:
        parse_sim_spec(text)
    message = str(info.value)
    assert says in message
    assert message.startswith("sim:")
    assert "\n" not in message


def test_infinite_duration_is_refused_by_the_source_too() -> None:
    with pytest.raises(ValueError, match="at most 86400"):
        SimSource("steady", duration_s=math.inf)
