"""A Polar H10 recording (accelerometer rows and heart-beat rows interleaved) end to end: replayed by a live
session and recorded, the raw file holds every accelerometer sample and every beat in time order; the BIDS
export gives the accelerometer at its own rate with the beats as the RR tachogram, and the validator finds
no error."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import bids_validator_issues

from breathsync.cli import main
from breathsync.export_bids import export_bids
from breathsync.io.csvfile import read_recording, write_recording

ACC = ("acc_x", "acc_y", "acc_z")
FS_HZ = 50.0
DURATION_S = 60.0
T0 = 1000.0  # the file's times (a host clock)


def _h10_csv(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """60 s of chest motion at 50 Hz breathing 12/min, and heart beats whose RR follows the breathing
    (shorter on inhale); the first row is a beat, before the first accelerometer sample. Returns the
    accelerometer times, the beat times and the RR intervals."""
    rng = np.random.default_rng(3)
    t = T0 + 0.3 + np.arange(0.0, DURATION_S - 0.3, 1 / FS_HZ)
    br = np.sin(2 * np.pi * 0.2 * (t - T0))
    xyz = np.stack([20 * br, -150 - 15 * br, 1000 + 50 * br], 1) + rng.normal(0, 2, (t.size, 3))
    beat_t = [T0 + 0.1]
    while beat_t[-1] < T0 + DURATION_S - 1.0:
        beat_t.append(beat_t[-1] + 0.85 - 0.06 * np.sin(2 * np.pi * 0.2 * (beat_t[-1] - T0)))
    bt = np.round(np.asarray(beat_t), 6)
    rr = np.round(np.diff(np.r_[bt[0] - 0.85, bt]) * 1000, 3)
    tt = np.concatenate([np.round(t, 6), bt])
    order = np.argsort(tt, kind="stable")
    nan_b, nan_a = np.full(bt.size, np.nan), np.full(t.size, np.nan)
    cols = {c: np.concatenate([np.round(xyz[:, k], 1), nan_b])[order] for k, c in enumerate(ACC)}
    cols["rr_ms"] = np.concatenate([nan_a, rr])[order]
    meta = {"participant": "A", "unit": "acc_x/acc_y/acc_z: milli-g; rr_ms: milliseconds"}
    write_recording(path, tt[order], cols, meta)
    return np.round(t, 6), bt, rr


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray]:
    d = tmp_path_factory.mktemp("h10")
    t, bt, rr = _h10_csv(d / "h10.csv")
    out = d / "rec"
    args = ["run", "-p", f"A=replay:{d / 'h10.csv'}", "-p", "B=sim:steady,rate=12,seed=1"]
    assert main([*args, "--record", str(out), "--duration", "65", "--speed", "60", "--quiet"]) == 0
    origin = bt[0]  # a replay starts the session at its file's first row
    return out, t - origin, bt - origin, rr


def test_a_replayed_h10_file_is_recorded_whole_and_in_time_order(
    recorded: tuple[Path, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    out, t, bt, rr = recorded
    got = read_recording(out / "A.csv")
    assert list(got.columns)[:4] == [*ACC, "rr_ms"]
    assert np.all(np.diff(got.time) >= 0)
    beat = got.beat_rows()
    np.testing.assert_allclose(got.time[beat], bt, atol=2e-6)  # every beat
    np.testing.assert_allclose(got.columns["rr_ms"][beat], rr)
    acc = got.acc_rows()
    assert not (acc & beat).any()
    np.testing.assert_allclose(got.time[acc], t, atol=2e-6)  # every accelerometer sample
    assert np.isfinite(got.columns["acc_z"][acc]).all()
    assert "rr_ms: milliseconds" in got.meta["unit"]
    sj = json.loads((out / "session.json").read_text(encoding="utf-8"))
    entry = next(p for p in sj["participants"] if p["label"] == "A")
    assert entry["signal"] == "acc" and entry["extra_columns"] == ["rr_ms"]
    assert "late_rows" not in sj
    lines = [
        ln for ln in (out / "A_live.csv").read_text(encoding="utf-8").splitlines() if not ln.startswith("#")
    ]
    live = np.array([[float(c) if c else np.nan for c in ln.split(",")] for ln in lines[1:]])
    assert lines[0].split(",")[:3] == ["time", "wave", "phase_rad"]
    assert live[-1, 0] > 50.0 and np.isfinite(live[:, 2]).mean() > 0.5  # the live phase came out


def test_its_bids_export_has_the_accelerometer_at_its_rate_and_the_beats_as_the_tachogram(
    recorded: tuple[Path, np.ndarray, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    out, t, bt, rr = recorded
    bids = tmp_path / "bids"
    export_bids(out, bids)
    base = bids / "sub-A/beh/sub-A_task-breathsync_recording-raw_physio"
    side = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
    assert side["SamplingFrequency"] == pytest.approx(FS_HZ)
    assert side["StartTime"] == pytest.approx(t[0])  # the first accelerometer sample, not the first beat
    assert side["Columns"] == [*ACC, "rr_ms"]
    assert side["rr_ms"]["Units"] == "ms" and "tachogram" in side["rr_ms"]["Description"]
    # Recorded in milli-g, which BIDS would read as milligrams: exported in m/s^2 (it was "mg").
    assert all(side[c]["Units"] == "m/s^2" for c in ACC)
    note = side["breathsyncProcessing"]
    assert "heart beats" in note and "not uniform" not in note and "converted to m/s^2" in note
    with gzip.open(base.with_suffix(".tsv.gz"), "rt", encoding="utf-8") as fh:
        rows = np.array([[np.nan if c == "n/a" else float(c) for c in ln.strip().split("\t")] for ln in fh])
    assert rows.shape == (t.size, 4)  # one row per accelerometer sample, as recorded
    recorded_acc = read_recording(out / "A.csv")
    mg = recorded_acc.columns["acc_z"][recorded_acc.acc_rows()]
    np.testing.assert_allclose(rows[:, 2], mg * 9.80665e-3, rtol=1e-6)  # ~9.8 m/s^2 for 1000 mg
    tach = rows[:, 3]
    inside = (t >= bt[0]) & (t <= bt[-1])
    assert np.isfinite(tach[inside]).all() and np.isnan(tach[~inside]).all()
    assert rr[1:].min() - 1e-6 <= np.nanmin(tach) and np.nanmax(tach) <= rr[1:].max() + 1e-6
    issues = bids_validator_issues(bids)
    assert not [i for i in issues if i[0] == "error"], issues
