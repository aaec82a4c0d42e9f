"""Device time -> host time (breathsync.dsp.clock): offset + drift under BLE delivery jitter."""

from __future__ import annotations

import numpy as np
import pytest

from breathsync.dsp.clock import BeatClock, ClockMapper, envelope_line, lower_hull

DRIFT = 20e-6
OFFSET = 0.6
POLAR_T0 = 7.0e8  # device clocks count from far away (Polar: ns since 2000)


def jitter(rng: np.random.Generator, n: int, model: str = "exp") -> np.ndarray:
    """Delivery delays (s): tens of ms, plus stalls of 100-300 ms that hold back the notifications behind them."""
    d = rng.exponential(0.03, n) if model == "exp" else rng.gamma(3.0, 0.012, n) + 0.0075
    out = d.copy()
    i = 0
    while i < n:
        if rng.random() < 0.02:  # a stall: this and the following notifications wait for its end
            stall = rng.uniform(0.1, 0.3)
            k = i
            while k < n and (k - i) * 0.72 < stall:
                out[k] = max(out[k], stall - (k - i) * 0.72)
                k += 1
            i = k
        else:
            i += 1
    return out


def simulate(duration_s: float, seed: int, model: str = "exp") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polar-like ACC frames (36 samples at 50 Hz: one every 0.72 s): device time of the last sample,
    true host time of that sample, arrival host time."""
    rng = np.random.default_rng(seed)
    x = POLAR_T0 + np.arange(0.72, duration_s, 0.72)
    true = OFFSET + (1 + DRIFT) * (x - POLAR_T0)
    return x, true, true + jitter(rng, x.size, model)


def causal_errors(x: np.ndarray, true: np.ndarray, arr: np.ndarray, mapper: ClockMapper) -> np.ndarray:
    """Error of each frame's samples mapped with the estimate available when the frame arrived."""
    err = np.empty(x.size)
    for i in range(x.size):
        mapper.update(x[i], arr[i])
        samples = x[i] - np.arange(36) / 50.0
        truth = true[i] - (1 + DRIFT) * np.arange(36) / 50.0
        err[i] = np.max(np.abs(mapper.to_host(samples) - truth))
    return err


@pytest.mark.parametrize(("seed", "model"), [(0, "exp"), (1, "exp"), (2, "gamma"), (3, "gamma")])
def test_mapped_time_error_under_20ms_after_one_minute(seed: int, model: str) -> None:
    x, true, arr = simulate(600.0, seed, model)
    err = causal_errors(x, true, arr, ClockMapper())
    after = (x - POLAR_T0) >= 60.0
    assert err[after].max() <= 0.020, err[after].max()
    # A plain least-squares fit would be late by about the mean delay.
    assert np.mean(arr - true) > 0.025


def test_drift_estimated() -> None:
    x, true, arr = simulate(1200.0, 5)
    m = ClockMapper()
    m.update(x, arr)
    assert m.drift_ppm == pytest.approx(20.0, abs=5.0)
    assert m.to_host(x[-1])[0] - true[-1] == pytest.approx(0.0, abs=0.01)


def test_chunking_does_not_matter() -> None:
    x, _, arr = simulate(300.0, 7)
    a, b = ClockMapper(), ClockMapper()
    a.update(x, arr)
    for i in range(0, x.size, 7):
        b.update(x[i : i + 7], arr[i : i + 7])
    probe = x[-1] + np.array([0.0, 10.0])
    assert np.array_equal(a.to_host(probe), b.to_host(probe))


def test_device_clock_reset_starts_again() -> None:
    x, true, arr = simulate(200.0, 8)
    m = ClockMapper()
    m.update(x, arr)
    # Power-down: the strap's clock restarts far in the past, the host time goes on.
    x2 = 1.0e6 + np.arange(0.72, 100.0, 0.72)
    true2 = true[-1] + 5.0 + (x2 - 1.0e6)
    m.update(x2, true2 + 0.004)
    assert m.resets == 1
    assert abs(m.to_host(x2[-1])[0] - true2[-1]) < 0.02


def test_long_stall_is_not_a_reset() -> None:
    x, true, arr = simulate(120.0, 9)
    arr = arr.copy()
    arr[100:103] = true[103] + 2.5  # 2.5 s stall, three frames delivered together
    m = ClockMapper()
    err = causal_errors(x, true, arr, m)
    assert m.resets == 0 and err[110:].max() < 0.02


def test_not_ready_gives_nan() -> None:
    assert np.isnan(ClockMapper().to_host(1.0)).all()


def test_lower_hull_and_envelope_line() -> None:
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 0.0, 0.5, 0.0, 1.0])
    assert lower_hull(x, y).tolist() == [0, 1, 3, 4]
    a, s = envelope_line(x, y)
    assert (a, s) == (0.0, 0.0)
    assert np.all(y >= a + s * x)
    assert envelope_line(x, y + 0.5 * x, max_slope=0.1)[1] == pytest.approx(0.1)


def simulate_strap(
    duration_s: float, seed: int, lost: tuple[int, ...] = ()
) -> tuple[list[tuple[np.ndarray, float]], np.ndarray, list[np.ndarray]]:
    """A strap notifying once a second with the RR intervals of the beats since its last notification.

    Returns the notifications [(rr_ms, arrival)] (``lost`` ones left out), all their true beat host times,
    and the true host times of the beats of each notification.
    """
    rng = np.random.default_rng(seed)
    n = int(duration_s / 0.6)
    rr = 0.85 + 0.06 * np.sin(2 * np.pi * 0.25 * np.cumsum(np.full(n, 0.85))) + 0.02 * rng.standard_normal(n)
    t_b = np.cumsum(rr)  # strap time of each beat
    notes = []
    truth = []
    last = 0
    t_note = np.arange(1.0 + rng.uniform(0, 1), t_b[-1], 1.0)
    d = jitter(rng, t_note.size)
    for k, tn in enumerate(t_note):
        j = int(np.searchsorted(t_b, tn, side="right"))
        beats = range(last, j)
        last = j
        if k in lost:
            continue
        rr_ms = np.round(rr[list(beats)] * 1024) / 1024 * 1000
        host = OFFSET + (1 + DRIFT) * tn + d[k]
        notes.append((rr_ms, host))
        truth.append(OFFSET + (1 + DRIFT) * t_b[list(beats)])
    return notes, np.concatenate([np.asarray(x) for x in truth] or [np.empty(0)]), truth


def test_beat_times_from_rr_sums() -> None:
    notes, _, truth = simulate_strap(600.0, 11)
    bc = BeatClock()
    errs, arrivals_ok = [], True
    for (rr, host), tr in zip(notes, truth, strict=True):
        t = bc.update(rr, host)
        arrivals_ok &= bool(np.all(t <= host))
        if host > 60.0 and t.size:
            errs.append(np.max(np.abs(t - tr)))
    assert arrivals_ok
    # Arrivals come up to a second after the beat; the envelope finds the beats within tens of ms.
    assert np.percentile(errs, 95) < 0.05 and max(errs) < 0.08
    assert bc.reanchors == 0


def test_beat_clock_recovers_from_lost_notifications() -> None:
    notes, _, truth = simulate_strap(300.0, 12, lost=(100, 101))
    bc = BeatClock()
    errs = [
        (host, np.max(np.abs(bc.update(rr, host) - tr)))
        for (rr, host), tr in zip(notes, truth, strict=True)
        if len(rr)
    ]
    late = [e for h, e in errs if h > 150.0]
    assert bc.reanchors >= 1 and max(late) < 0.08


def test_beat_times_increase_and_empty_notifications() -> None:
    bc = BeatClock()
    assert bc.update([], 1.0).size == 0
    a = bc.update([800.0, 820.0], 2.0)
    b = bc.update([810.0], 2.5)  # arrives early: the envelope moves, beat times still increase
    assert np.all(np.diff(np.concatenate([a, b])) > 0) and b[0] <= 2.5
