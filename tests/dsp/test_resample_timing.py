"""GridResampler: a grid value belongs to its grid time whatever the input's rate or timing, fast inputs
are still averaged (anti-aliased), and the output does not depend on how the input was chunked."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import in_chunks
from hypothesis import given, settings
from hypothesis import strategies as st

from breathsync.dsp.resample import PIECE, GridResampler, concat_chunks

F_BREATH = 0.25  # Hz, 15 breaths/min
PHI = 0.7  # rad, the true phase of the test sine at t = 0


def _phase_at_0(t: np.ndarray, y: np.ndarray) -> float:
    """The phase (rad) of the 0.25 Hz sine fitted to (t, y) by least squares."""
    w = 2 * np.pi * F_BREATH
    a = np.column_stack((np.sin(w * t), np.cos(w * t), np.ones_like(t)))
    s, c, _ = np.linalg.lstsq(a, y, rcond=None)[0]
    return float(np.arctan2(c, s))


def _sample_times(kind: str, rng: np.random.Generator) -> np.ndarray:
    start = rng.uniform(0.0, 1.0)
    if kind == "jitter":  # ~10 Hz with arrival jitter
        t = start + np.arange(0, 120, 0.1) + rng.uniform(-0.03, 0.03, 1200)
    elif kind == "random":  # Poisson arrivals, 30 Hz on average: bins with 0, 1 or many samples
        t = start + np.cumsum(rng.exponential(1 / 30, 3600))
    else:
        t = start + np.arange(0, 120, 1 / float(kind))
    return t


RATES = ["4", "10", "20", "25", "50", "100", "250", "1000", "jitter", "random"]


@pytest.mark.parametrize("aligned", [False, True])
def test_grid_timing_does_not_depend_on_the_input_rate(aligned: bool) -> None:
    """The same 0.25 Hz sine sampled at 4-1000 Hz or at irregular times gives grid values whose phase
    agrees within 0.2 deg (2.2 ms). A bin mean labelled with the bin's end read 1000 Hz 24.5 ms late
    (2.2 deg) and 20 Hz not at all."""
    rng = np.random.default_rng(7)
    phases = {}
    for kind in RATES:
        t = _sample_times(kind, rng)
        if aligned and kind not in ("jitter", "random"):
            t = t - t[0]  # sample times on the grid's multiples (device and grid clocks in step)
        y = np.sin(2 * np.pi * F_BREATH * t + PHI)
        out = GridResampler(20.0).process(t, y)
        inner = (out.t > t[0] + 2) & (out.t < t[-1] - 2)
        assert out.valid[inner].all()
        phases[kind] = _phase_at_0(out.t[inner], out.y[inner])
    err_deg = {k: np.degrees(np.angle(np.exp(1j * (p - PHI)))) for k, p in phases.items()}
    assert max(abs(e) for e in err_deg.values()) < 0.2, err_deg


def test_a_locally_linear_signal_is_reproduced_exactly_at_any_timing() -> None:
    """A ramp is exact on the grid from either branch (bin line fit or interpolation): any timing bias
    would show as an offset of slope x bias."""
    rng = np.random.default_rng(3)
    for kind in RATES:
        t = _sample_times(kind, rng)
        out = GridResampler(20.0).process(t, 2.0 * t - 5.0)
        np.testing.assert_allclose(out.y, 2.0 * out.t - 5.0, rtol=0, atol=1e-9, err_msg=kind)


def test_fast_inputs_are_still_averaged() -> None:
    """White noise at 1000 Hz: each grid value averages the ~90 samples of its 90-ms kernel (std / 8)."""
    rng = np.random.default_rng(0)
    t = np.arange(0, 60, 0.001)
    out = GridResampler(20.0).process(t, rng.standard_normal(t.size))
    assert 0.10 < np.std(out.y[out.valid]) < 0.18


def test_on_absolute_host_times() -> None:
    """Unix-epoch times (1.7e9 s) give the values that times from 0 give: the bin's slope is computed
    relative to its grid point (raw sums of squared epoch times would lose it)."""
    t = np.arange(0, 30, 0.001)
    y = np.sin(2 * np.pi * F_BREATH * t)
    t0 = 1_700_000_000.0
    near = GridResampler(20.0).process(t, y)
    far = GridResampler(20.0).process(t0 + t, y)
    np.testing.assert_allclose(far.t - t0, near.t, rtol=0, atol=1e-6)
    np.testing.assert_allclose(far.y, near.y, rtol=0, atol=1e-4)  # 1 ms late: 1.6e-3


def test_latency() -> None:
    """A fast input's grid point g waits for its anti-alias kernel's second half (45 ms at 20 Hz: the 50-ms
    bin's boxcar convolved with a 40-ms one); a slow input's waits only for the first sample at or after
    g, as before."""
    fast = GridResampler(20.0)
    t = np.arange(0, 1.0, 0.001)
    out = fast.process(t[t <= 0.544], np.zeros((t <= 0.544).sum()))
    assert out.t[-1] == pytest.approx(0.45)
    out = fast.process(np.array([0.545]), np.zeros(1))
    assert out.t.tolist() == pytest.approx([0.5])
    slow = GridResampler(20.0)  # 4 Hz on the grid's multiples (RR-derived breathing)
    out = slow.process(np.arange(0, 2.01, 0.25), np.zeros(9))
    assert out.t[-1] == pytest.approx(2.0)
    slow2 = GridResampler(20.0)  # 10 Hz just after the grid points: waits for the next sample anyway
    out = slow2.process(np.arange(9) * 0.1 + 0.01, np.zeros(9))
    assert out.t[-1] == pytest.approx(0.8)


def test_gap_keeps_the_valid_points_up_to_the_last_sample() -> None:
    t = np.concatenate((np.arange(0, 10, 0.001), np.arange(13.0, 20, 0.001)))
    out = GridResampler(20.0, gap_s=2.0).process(t, np.ones(t.size))
    before = out.t <= 9.999
    gap = (out.t > 9.999) & (out.t < 13.0)
    assert out.valid[before].all() and out.t[before][-1] == pytest.approx(9.95)
    assert gap.sum() == 60 and not out.valid[gap].any() and np.isnan(out.y[gap]).all()
    first_after = np.flatnonzero(out.t >= 13.0)[0]
    assert out.restart[first_after] and out.t[first_after] == pytest.approx(13.0)
    assert np.flatnonzero(out.restart).tolist() == [0, first_after]
    np.testing.assert_array_equal(out.y[out.valid], 1.0)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["4", "25", "1000", "random"]),
    st.lists(st.integers(min_value=1, max_value=4000), min_size=1, max_size=10),
)
def test_output_independent_of_chunking(kind: str, sizes: list[int]) -> None:
    rng = np.random.default_rng(5)
    t = _sample_times(kind, rng)[:6000]
    y = np.sin(2 * np.pi * F_BREATH * t) + 0.1 * rng.standard_normal(t.size)
    y[100:140] = np.nan
    keep = (t < 40) | (t > 43)  # a gap
    t, y = t[keep], y[keep]
    whole = GridResampler(20.0).process(t, y)
    joined = concat_chunks(in_chunks(GridResampler(20.0).process, t, y, sizes))
    np.testing.assert_array_equal(joined.t, whole.t)
    np.testing.assert_array_equal(joined.valid, whole.valid)
    np.testing.assert_array_equal(joined.restart, whole.restart)
    np.testing.assert_array_equal(joined.y, whole.y)  # to the bit: the few-bin fit is the arrays'


def test_a_whole_recording_is_resampled_in_pieces_with_the_same_output_and_little_memory() -> None:
    """Two hours at 1 kHz given at once (analyze) took about 0.6 GB above the input in working arrays, for
    each of the live and the offline path; in pieces of PIECE samples it takes a piece's."""
    import tracemalloc

    rng = np.random.default_rng(2)
    t = np.cumsum(rng.uniform(0.0008, 0.0012, 5 * PIECE))  # about 2.6 M samples, 44 min at 1 kHz
    y = np.sin(2 * np.pi * F_BREATH * t) + 0.1 * rng.standard_normal(t.size)
    y[PIECE - 50 : PIECE + 3000] = np.nan  # a gap across a piece's end
    tracemalloc.start()
    try:
        whole = GridResampler(20.0).process(t, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * t.nbytes  # the input is 21 MB a column; the whole-input arrays were about 10 of it
    chunked = concat_chunks(in_chunks(GridResampler(20.0).process, t, y, [PIECE // 3] * 16))
    for f in ("t", "y", "valid", "restart"):
        np.testing.assert_array_equal(getattr(whole, f), getattr(chunked, f))
