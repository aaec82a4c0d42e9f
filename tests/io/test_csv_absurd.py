"""An isolated corrupt value in a breathing waveform (one cell of 1e9, a unit slip in one row) is read as
missing, with a note that analyze prints and writes to its JSON warnings, instead of wrecking the breathing
rate; real breathing (sighs, the shipped and shared recordings) is never flagged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from breathsync.cli import main
from breathsync.io import read_recording

SHARED = SHARED_DATA
SAMPLES = Path(__file__).resolve().parents[2] / "sample_signals"


def _rows(t: np.ndarray, y: np.ndarray, fmt: str, sep: str) -> str:
    return "".join(fmt.format(a, b).replace("|", sep) for a, b in zip(t, y, strict=True))


def _belt(tmp_path: Path, corrupt: dict[int, float] | None = None, sighs: bool = False) -> Path:
    """120 s of 15/min breathing at 25 Hz, values about +-1 (a clean belt); ``corrupt``: row -> value."""
    t = np.arange(0, 120, 0.04)
    y = np.sin(2 * np.pi * 0.25 * t) + 0.02 * np.random.default_rng(1).standard_normal(t.size)
    if sighs:  # two sighs of three times the breath, over a few percent of the samples
        for at in (40.0, 90.0):
            k = (t > at) & (t < at + 4)
            y[k] = 3.0 * np.sin(2 * np.pi * 0.25 * (t[k] - at)) ** 2 - 1.0
    for row, value in (corrupt or {}).items():
        y[row] = value
    p = tmp_path / "belt.csv"
    p.write_text("# participant: A\ntime,resp\n" + _rows(t, y, "{:.2f}|{:.6g}\n", ","), encoding="utf-8")
    return p


@pytest.mark.parametrize("value", [1e9, -1e9, 1000.0, 1e300])
def test_one_corrupt_sample_is_read_as_missing_with_a_note(tmp_path: Path, value: float) -> None:
    """(A whole column of 1e300 is still refused: test_csvfile.)"""
    p = _belt(tmp_path, {1000: value})
    rec = read_recording(p)
    assert np.isnan(rec.columns["resp"][1000]) and np.isfinite(np.delete(rec.columns["resp"], 1000)).all()
    (note,) = [n for n in rec.notes if "far outside" in n]
    assert "1 sample" in note and "line 1003" in note  # two lines above the first row


def test_corrupt_samples_are_counted_and_the_first_line_named(tmp_path: Path) -> None:
    rec = read_recording(_belt(tmp_path, {500: 1e9, 700: -3e4, 2000: 1e9}))
    (note,) = [n for n in rec.notes if "far outside" in n]
    assert "3 samples" in note and "line 503" in note and "1e+09" in note


def test_analyze_rate_survives_a_corrupt_sample_and_warns(tmp_path: Path) -> None:
    """Before: 1e9 in one cell gave 2 breaths and 1.1/min (1000 x: 12.3/min) and no warning."""
    out = tmp_path / "out.json"
    assert main(["analyze", str(_belt(tmp_path, {1000: 1e9})), "--json", str(out)]) == 0
    res = json.loads(out.read_text(encoding="utf-8"))
    (p,) = res["participants"]
    assert p["breaths"] >= 28 and abs(p["rate_bpm_mean"] - 15.0) < 0.2
    assert any("far outside" in w and "line 1003" in w for w in res["warnings"])


def test_sighs_and_clean_recordings_are_not_flagged(tmp_path: Path) -> None:
    rec = read_recording(_belt(tmp_path, sighs=True))
    assert not [n for n in rec.notes if "far outside" in n]
    files = sorted(SHARED.glob("*.csv")) + sorted(SAMPLES.glob("*.csv"))
    assert len(files) >= 10
    for f in files:
        rec = read_recording(f)
        assert not [n for n in rec.notes if "far outside" in n], f


def test_a_named_breathing_column_is_checked(tmp_path: Path) -> None:
    t = np.arange(0, 60, 0.04)
    y = np.sin(2 * np.pi * 0.25 * t)
    y[300] = 5e6
    p = tmp_path / "lab.csv"
    p.write_text("time,RSP\n" + _rows(t, y, "{:.2f}|{:.6g}\n", ","), encoding="utf-8")
    rec = read_recording(p, resp_column="RSP")
    assert np.isnan(rec.columns["resp"][300])
    assert any("'RSP': 1 sample" in n and "line 302" in n for n in rec.notes)
