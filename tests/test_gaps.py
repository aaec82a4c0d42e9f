"""A short gap in one participant's signal (a Bluetooth dropout) does not blank the pair's synchrony: a
belt's live pipeline resumes the breathing it left (README, "Gaps"). A derived waveform starts over."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from breathsync.analysis import analyse_files
from breathsync.dsp.pipeline import Quality

SAMPLES = Path(__file__).resolve().parent.parent / "sample_signals"


def _without(src: Path, dst: Path, t0: float, t1: float) -> Path:
    """``src`` with its rows in [t0, t1) left out (a dropout: no samples, not NaN)."""
    lines = src.read_text().splitlines(keepends=True)
    head = [ln for ln in lines if ln.startswith("#") or ln.startswith("time")]
    rows = [ln for ln in lines if ln[:1].isdigit() and not t0 <= float(ln.split(",")[0]) < t1]
    dst.write_text("".join(head + rows))
    return dst


def test_a_belt_dropout_keeps_the_pairs_plv(tmp_path: Path) -> None:
    b_gap = _without(SAMPLES / "pair_sync_B.csv", tmp_path / "B.csv", 150.0, 153.5)
    res = analyse_files([str(SAMPLES / "pair_sync_A.csv"), str(b_gap)])
    pair = res["pairs"][0]
    t = np.array(pair["t_s"])
    plv = np.array([np.nan if v is None else v for v in pair["plv"]])
    around = (t >= 120) & (t <= 250)
    assert np.all(np.isfinite(plv[around]))  # started over, B had no phase for ~10 s: no PLV for ~30 s
    assert np.mean(np.array(pair["in_sync"])[around] == True) > 0.9  # noqa: E712 (null is not True)
    b = res["participants"][1]
    pt = np.array(b["phase_live"]["t_s"])
    known = np.array([v is not None for v in b["phase_live"]["rad"]])
    assert not known[(pt > 150.2) & (pt < 153.4)].any()  # unknown in the gap itself
    assert known[(pt >= 154.0) & (pt < 170.0)].all()


def test_an_accelerometer_starts_over_after_a_posture_change() -> None:
    """Its converter re-estimates gravity there, so the waveform after it sits at a new level: the live
    pipeline warms up again rather than reading it against the levels it had."""
    res = analyse_files([str(SAMPLES / "h10_like_nk_rest5.csv")])
    p = res["participants"][0]
    t = np.array(p["quality_live"]["t_s"])
    q = np.array(p["quality_live"]["code"])
    gap = np.flatnonzero(q == Quality.GAP)
    gap = gap[t[gap] > 60]
    assert gap.size, "the sample's posture change leaves a gap in the accelerometer's waveform"
    after = (t > t[gap[-1]]) & (t < t[gap[-1]] + 4.0)
    assert np.all(q[after] == Quality.WARMUP)
