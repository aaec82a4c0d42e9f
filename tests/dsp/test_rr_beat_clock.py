"""The RR pipeline's beat clock (breathsync.dsp.rr._RRClock) after lost beats: a lost Heart Rate Measurement
notification takes its RR intervals with it, so the sum of the later ones is early by their time (0.5-2 s).
Under 1.5 s that used to stay for good, shifting the derived breathing (0.8 s is 72 degrees at 15/min). Now the
clock moves forward when the lower envelope of ``host time - beat time`` rises; a clean stream is left as it
was. Strap simulations are seeded; nothing here measures time."""

from __future__ import annotations

import numpy as np
import pytest

from breathsync.dsp.clock import BeatClock
from breathsync.dsp.rr import RRRespiration, beat_times_from_rr, rr_to_resp_offline

RATE_BPM = 15.0


def _heart(seed: int, hr_bpm: float = 75.0, duration_s: float = 300.0) -> tuple[np.ndarray, np.ndarray]:
    """True beat times (s) and RR intervals (ms, whole 1/1024 s as a strap sends them) of a heart that
    speeds up on inhale (15 breaths/min, +-50 ms) with a little beat-to-beat noise."""
    rng = np.random.default_rng(seed)
    rr0, t, beats = 60000.0 / hr_bpm, 0.4, [0.4]
    while t < duration_s:
        rr = rr0 - 50.0 * np.sin(2 * np.pi * RATE_BPM / 60.0 * t) + rng.normal(0.0, 5.0)
        t += rr / 1000.0
        beats.append(t)
    q = np.round(np.asarray(beats) * 1024.0)
    return q[1:] / 1024.0, np.diff(q) / 1024.0 * 1000.0


def _strap(
    beats: np.ndarray, rr: np.ndarray, seed: int, lost: tuple[int, ...] = ()
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """Notifications once a second carrying the RR intervals of the beats since the previous one, arriving
    20-80 ms after they are sent: (arrival, RR ms, true beat times) of each one delivered (``lost``: the
    numbers of those that are not)."""
    rng = np.random.default_rng(seed + 1000)
    out, first = [], 0
    for k, send in enumerate(np.arange(1.0, beats[-1], 1.0) + 0.37):
        last = int(np.searchsorted(beats, send, side="right"))
        if k not in lost and last > first:
            out.append((float(send + rng.uniform(0.02, 0.08)), rr[first:last], beats[first:last]))
        first = last
    return out


def _ble(notes: list[tuple[float, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The BLE source's beats (breathsync.sources.ble): each notification's RR intervals through BeatClock,
    on its arrival time. Returns (their host times, RR ms, true beat times)."""
    clock, t, r, true = BeatClock(), [], [], []
    for arrival, rr, beats in notes:
        t.append(clock.update(rr, arrival))
        r.append(rr)
        true.append(beats)
    return np.concatenate(t), np.concatenate(r), np.concatenate(true)


def _old_rule(host: np.ndarray, rr: np.ndarray) -> np.ndarray:
    """The beat clock as it was: the RR sum, never after the host time, re-anchored 1.5 s behind it."""
    out, prev = np.empty(host.size), np.nan
    for k in range(host.size):
        est = prev + rr[k] / 1000.0 if np.isfinite(prev) else host[k]
        prev = out[k] = host[k] if est < host[k] - 1.5 else min(est, host[k])
    return out


def _lag_s(t1: np.ndarray, y1: np.ndarray, t2: np.ndarray, y2: np.ndarray, after_s: float) -> float:
    """How late (s) waveform 1 is against waveform 2 (both on the 4-Hz grid) after ``after_s``."""
    k1, k2 = np.round(t1 * 4).astype(int), np.round(t2 * 4).astype(int)
    common, i1, i2 = np.intersect1d(k1, k2, return_indices=True)
    a, b = y1[i1], y2[i2]
    keep = (common / 4.0 > after_s) & np.isfinite(a) & np.isfinite(b)
    a, b = a[keep] - a[keep].mean(), b[keep] - b[keep].mean()
    lags = np.arange(-8, 9)  # +-2 s
    xc = [np.dot(a[max(0, m) : a.size + min(0, m)], b[max(0, -m) : b.size + min(0, -m)]) for m in lags]
    return float(lags[int(np.argmax(xc))] / 4.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_lost_notification_is_made_good_through_the_ble_clock(seed: int) -> None:
    """One lost notification (of one beat, 0.67 s at 90 beats/min: with the up to 0.67 s between a beat and
    its notification, under the 1.5 s that re-anchors at once): the BLE source's BeatClock re-anchors about
    15 notifications later, and the RR clock follows it within seconds instead of staying 0.67 s early;
    before the loss nothing moves."""
    beats, rr = _heart(seed, hr_bpm=90.0)
    notes = _strap(beats, rr, seed)
    one = next(k for k in range(100, len(notes)) if notes[k][1].size == 1)
    host, rr_in, true = _ble(_strap(beats, rr, seed, lost=(one,)))
    rebuilt = beat_times_from_rr(host, rr_in)
    err = rebuilt - true
    before = true < 100.0
    np.testing.assert_array_equal(rebuilt[before], _old_rule(host, rr_in)[before])
    assert np.all(np.abs(err[before & (true > 30.0)]) < 0.15)  # BeatClock's first beats are late
    assert np.all(np.abs(err[true > 100.0 + 40.0]) < 0.15)  # the old rule: 0.67 s early to the end
    # Live: the same beat times, whatever the chunks, and the waveform no longer shifted.
    live = RRRespiration()
    got = []
    for k in range(host.size):
        live.process(host[k : k + 1], rr_in[k : k + 1])
        got.append(live._clock.t)
    np.testing.assert_array_equal(got, rebuilt)
    t1, y1 = RRRespiration().process(host, rr_in)
    t0, y0 = RRRespiration().process(true, rr_in)
    assert abs(_lag_s(t1, y1, t0, y0, after_s=160.0)) <= 0.25
    o1, p1 = rr_to_resp_offline(host, rr_in)
    o0, p0 = rr_to_resp_offline(true, rr_in)
    assert abs(_lag_s(o1, p1, o0, p0, after_s=160.0)) <= 0.25


def test_exact_beat_times_with_a_row_missing_are_kept() -> None:
    """Exact beat times (an ECG's, a recording's) with one beat's row missing: the RR sum falls 0.8 s behind
    the next beat's time, under the 1.5 s that re-anchors; the beats 5 s later are back on their times."""
    beats, rr = _heart(3)
    keep = np.ones(beats.size, bool)
    keep[120] = False
    t, r = beats[keep], rr[keep]
    rebuilt = beat_times_from_rr(t, r)
    np.testing.assert_array_equal(rebuilt[:120], t[:120])
    late = t > t[120] + 5.0
    np.testing.assert_allclose(rebuilt[late], t[late], atol=1e-6)
    assert np.all(np.abs(_old_rule(t, r)[late] - t[late]) > 0.6)


@pytest.mark.parametrize(("seed", "hr_bpm"), [(4, 75.0), (5, 60.0), (6, 90.0)])
def test_clean_streams_are_left_as_they_were(seed: int, hr_bpm: float) -> None:
    """Without a lost beat the clock gives what the old rule gave: exact beat times, each RR stamped with its
    notification's arrival (a log of a strap's notifications, beats up to a second before them; 60 beats/min
    is a heart beating at the notifications' rate), and the BLE source's beat times."""
    beats, rr = _heart(seed, hr_bpm=hr_bpm, duration_s=600.0)
    np.testing.assert_array_equal(beat_times_from_rr(beats, rr), _old_rule(beats, rr))
    np.testing.assert_allclose(beat_times_from_rr(beats, rr), beats, atol=1e-6)
    notes = _strap(beats, rr, seed)
    arrival = np.concatenate([np.full(n[1].size, n[0]) for n in notes])
    rr_n = np.concatenate([n[1] for n in notes])
    np.testing.assert_array_equal(beat_times_from_rr(arrival, rr_n), _old_rule(arrival, rr_n))
    host, rr_in, _ = _ble(notes)
    np.testing.assert_array_equal(beat_times_from_rr(host, rr_in), _old_rule(host, rr_in))


def test_the_live_output_does_not_depend_on_the_chunks() -> None:
    """The same beats (two notifications lost, beats moved forward twice) in one chunk, one by one, or in
    random chunks give the same samples."""
    beats, rr = _heart(7)
    host, rr_in, _ = _ble(_strap(beats, rr, 7, lost=(60, 180)))
    t_all, y_all = RRRespiration().process(host, rr_in)
    rng = np.random.default_rng(7)
    for sizes in ([1] * host.size, rng.integers(1, 12, size=host.size).tolist()):
        live, ts, ys, k = RRRespiration(), [], [], 0
        for n in sizes:
            if k >= host.size:
                break
            t, y = live.process(host[k : k + n], rr_in[k : k + n])
            ts.append(t)
            ys.append(y)
            k += n
        np.testing.assert_array_equal(np.concatenate(ts), t_all)
        np.testing.assert_array_equal(np.concatenate(ys), y_all)
    assert not np.array_equal(beat_times_from_rr(host, rr_in), _old_rule(host, rr_in))
