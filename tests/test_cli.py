"""The command line: analyze end to end, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import breathing

from breathsync.cli import main


def write_csv(path: Path, t: np.ndarray, y: np.ndarray, participant: str) -> Path:
    rows = "\n".join(f"{a:.4f},{b:.6f}" for a, b in zip(t, y, strict=True))
    path.write_text(f"# participant: {participant}\ntime,resp\n{rows}\n")
    return path


def test_analyze_pair_writes_the_json_contract(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    t, y, _ = breathing(duration_s=150, fs_hz=25, rate_bpm=12, seed=1)
    _, y2, _ = breathing(duration_s=150, fs_hz=25, rate_bpm=12, seed=2, t0=-0.5)  # B 0.5 s behind
    a = write_csv(tmp_path / "a.csv", t, y, "Ann")
    b = write_csv(tmp_path / "b.csv", t, y2, "Ben")
    out = tmp_path / "r.json"
    assert main(["analyze", str(a), str(b), "--json", str(out), "--window", "30"]) == 0
    text = capsys.readouterr().out
    assert "Ann-Ben: in sync" in text and "Ann breathes first" in text
    res = json.loads(out.read_text())
    p = res["participants"][0]
    assert p["label"] == "Ann" and p["signal"] == "resp" and abs(p["duration_s"] - 150) < 0.1
    for key in ("phase_live", "phase_offline"):
        assert len(p[key]["t_s"]) == len(p[key]["rad"])
        assert np.median(np.diff(p[key]["t_s"])) <= 0.25  # >= 4 Hz
    assert p["breaths_live"][0].keys() == {"onset_s", "detected_s"}
    assert abs(len(p["breaths_offline"]) - 30) <= 2
    assert abs(p["rate_bpm_mean"] - 12) < 0.5
    pair = res["pairs"][0]
    assert (pair["a"], pair["b"], pair["window_s"]) == ("Ann", "Ben", 30)
    n = len(pair["t_s"])
    assert all(len(pair[k]) == n for k in ("plv", "sync_score", "in_sync", "relative_phase_rad"))
    s = pair["summary"]
    assert s["time_in_sync_frac"] > 0.8 and s["leader"] == "Ann"
    assert 0.3 < s["lead_s"] < 0.7


def test_bad_inputs_exit_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time,resp\n0,1\n0.1,abc\n")
    cases = [
        ["analyze", str(bad)],
        ["analyze", str(tmp_path / "missing.csv")],
        ["analyze", str(tmp_path)],
        ["analyze", str(bad), "--window", "-3"],
        ["frobnicate"],
    ]
    for args in cases:
        r = subprocess.run(
            [sys.executable, "-m", "breathsync", *args], capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "error" in r.stderr


def test_real_belt_and_rr_recordings(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    files = [str(shared_data / "nk_rest5_100hz.csv"), str(shared_data / "polar_h10_rr.csv")]
    assert main(["analyze", *files, "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    belt, strap = res["participants"]
    assert belt["signal"] == "resp" and strap["signal"] == "rr"
    assert 10 < belt["rate_bpm_mean"] < 25 and 4 < strap["rate_bpm_mean"] < 30
    assert any("RR" in w for w in res["warnings"])


def test_analyze_derives_breathing_from_a_chest_accelerometer(tmp_path: Path) -> None:
    t, y, _ = breathing(duration_s=180, fs_hz=50, rate_bpm=12, noise=0.0, seed=4)
    rng = np.random.default_rng(4)
    axis = np.array([0.3, 0.9, 0.3]) / np.linalg.norm([0.3, 0.9, 0.3])
    acc = np.array([0.0, 0.0, 1000.0]) + 20.0 * y[:, None] * axis + 2.0 * rng.standard_normal((t.size, 3))
    rows = "\n".join(f"{a:.3f},{x:.2f},{yy:.2f},{z:.2f}" for a, (x, yy, z) in zip(t, acc, strict=True))
    path = tmp_path / "h10.csv"
    path.write_text(f"time,acc_x,acc_y,acc_z\n{rows}\n")
    out = tmp_path / "r.json"
    assert main(["analyze", str(path), "--json", str(out)]) == 0
    p = json.loads(out.read_text())["participants"][0]
    assert p["signal"] == "acc"
    assert abs(p["rate_bpm_mean"] - 12) < 1.0
