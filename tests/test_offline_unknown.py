"""The offline phase is unknown where there is no breathing: a flat signal, a breath hold, a stretch
without breaths; such stretches split the analysis like gaps (rate, onsets, pair figures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import hilbert

from breathsync.analysis import analyse_pair, analyse_waveform, rate_summary
from breathsync.dsp.offline import offline_breathing
from breathsync.dsp.pipeline import Quality
from breathsync.dsp.sync import SyncConfig
from breathsync.io.csvfile import read_recording

SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"
T = np.arange(0.0, 300.0, 0.04)  # 25 Hz, 5 min
HOLE = (T >= 100) & (T < 200)


def _dropout(f_hz: float, phase0: float = 0.0) -> np.ndarray:
    """A sine breather whose belt reads exactly 0 from 100 to 200 s (slipped off, zeros from acquisition)."""
    y = np.sin(2 * np.pi * f_hz * T + phase0)
    y[HOLE] = 0.0
    return y


def _stretch(res_t: np.ndarray, quality: np.ndarray, code: Quality) -> tuple[float, float]:
    """First and last time of the grid samples with ``code``."""
    at = res_t[quality == code]
    return float(at[0]), float(at[-1])


def test_a_flat_stretch_has_no_phase_no_breath_and_no_interval_across_it() -> None:
    r = offline_breathing(T, _dropout(0.25, 1.0))
    start, end = _stretch(r.t, r.quality, Quality.FLAT)
    assert start == pytest.approx(100.0, abs=0.1) and end == pytest.approx(199.95, abs=0.1)
    inside = (r.t > 100.1) & (r.t < 199.9)  # the grid's first and last points may mix in a breath
    assert not np.isfinite(r.phase[inside]).any() and not np.isfinite(r.rate_bpm[inside]).any()
    assert not ((r.onsets_s > 100) & (r.onsets_s < 200)).any()
    # Every known phase outside; every rate a 15/min breath (before: a 4-s breath and a hundred-second one).
    assert np.isfinite(r.phase[(r.t > 5) & (r.t < 95)]).all()
    rates = r.rate_bpm[np.isfinite(r.rate_bpm)]
    assert rates.min() > 14.5 and rates.max() < 15.5


def test_the_rate_of_a_recording_with_a_dropout_is_its_breathing_rate() -> None:
    a = analyse_waveform(T, _dropout(0.25, 1.0), "A")
    b = analyse_waveform(T, _dropout(0.21), "B")
    for p, bpm in ((a, 15.0), (b, 12.6)):
        mean, sd = rate_summary(p)
        assert mean == pytest.approx(bpm, abs=0.1) and sd is not None and sd < 0.5  # was 10.3 / 8.7


def test_unrelated_breathers_with_a_simultaneous_dropout_are_not_in_sync_offline() -> None:
    a = analyse_waveform(T, _dropout(0.25, 1.0), "A")
    b = analyse_waveform(T, _dropout(0.21), "B")
    pr = analyse_pair(a, b, SyncConfig())
    assert pr is not None
    # No window centred in the dropout has a PLV (both phases unknown there, not two constants ~pi).
    mid = (pr.offline.t > 120) & (pr.offline.t < 180)
    assert not np.isfinite(pr.offline.plv[mid]).any()
    s = pr.offline.summary(30.0)
    assert s["time_in_sync_frac"] is not None and s["time_in_sync_frac"] < 0.05  # was 0.17-0.22


def test_a_completely_flat_recording_has_no_offline_phase() -> None:
    r = offline_breathing(np.arange(0, 120, 0.1), np.full(1200, 2.5))
    assert (r.quality == Quality.FLAT).all()
    assert not np.isfinite(r.phase).any() and r.onsets_s.size == 0


def test_a_short_constant_stretch_is_not_flat() -> None:
    """Under the live rule's 2 s (a clipped peak, a pause on a coarse ADC), it is breathing."""
    y = np.sin(2 * np.pi * 0.25 * T)
    y[(T >= 100) & (T < 101.5)] = 0.3
    r = offline_breathing(T, y)
    assert not (r.quality == Quality.FLAT).any()


def test_a_breath_hold_with_sensor_noise_has_no_phase_and_no_breaths() -> None:
    rng = np.random.default_rng(3)
    y = np.sin(2 * np.pi * 0.25 * T)
    hold = (T >= 100) & (T < 130)
    y[hold] = 0.03 * rng.standard_normal(int(hold.sum()))  # noise: the raw value is never constant
    r = offline_breathing(T, y)
    assert not (r.quality == Quality.FLAT).any()
    start, end = _stretch(r.t, r.quality, Quality.NO_BREATHING)
    assert 100 <= start < 103 and 127 < end < 130  # the envelope's edges are smooth
    assert not np.isfinite(r.phase[(r.t >= 103) & (r.t < 127)]).any()
    assert not ((r.onsets_s > 101) & (r.onsets_s < 129)).any()  # the noise's troughs are no breaths
    rates = r.rate_bpm[np.isfinite(r.rate_bpm)]
    assert rates.min() > 14.5 and rates.max() < 15.5  # no 30-s "breath" across the hold


def test_a_long_stretch_without_a_breath_has_no_phase() -> None:
    """One 25-s swing at full amplitude among 4-s breaths (a belt slipping slowly): its halves go more
    than max(10 s, 1.5 x the breath interval around them) without a turning point, the live pipeline's
    no-breathing rule; its amplitude is well above the hold's 10%."""
    f = np.where((T >= 100) & (T < 125), 0.04, 0.25)
    y = -np.cos(2 * np.pi * np.cumsum(f) * 0.04)
    r = offline_breathing(T, y)
    start, end = _stretch(r.t, r.quality, Quality.NO_BREATHING)
    assert start == pytest.approx(100.2, abs=0.5) and end == pytest.approx(124.8, abs=0.5)
    assert (r.quality[(r.t > start) & (r.t < end)] == Quality.NO_BREATHING).all()
    rates = r.rate_bpm[np.isfinite(r.rate_bpm)]
    assert rates.min() > 14.0  # the 2.4/min interval is no breath
    # Its amplitude alone would not have said so: never under a tenth of the usual breath's.
    amp = 2 * np.abs(hilbert(r.clean))
    assert amp[(r.t > start) & (r.t < end)].min() > 0.1 * np.percentile(amp, 75)


def test_slow_breathing_after_fast_is_breathing() -> None:
    """Paced breathing at 4.5/min (13.3-s breaths) after 15/min: each slow breath is as long as the next,
    so none of them is a pause, though 1.5 x the recording's median interval is 6 s."""
    f = np.where(T < 150, 0.25, 0.075)
    r = offline_breathing(T, np.sin(2 * np.pi * np.cumsum(f) * 0.04))
    assert (r.quality == Quality.OK).all()
    r6 = offline_breathing(T, np.sin(2 * np.pi * 0.1 * T))  # 6/min throughout
    assert (r6.quality == Quality.OK).all()


@pytest.mark.parametrize("name", ["nk_rest5_100hz.csv", "pair_strangers_A.csv", "pair_follow_B.csv"])
def test_real_and_sample_breathing_is_all_known(name: str) -> None:
    rec = read_recording(str(SAMPLES / name))
    r = offline_breathing(rec.time, rec.columns["resp"])
    assert (r.quality == Quality.OK).all()
