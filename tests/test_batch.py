"""Batch analysis of a study: a row per pair, failures listed without stopping the rest."""

from __future__ import annotations

import csv
from pathlib import Path

from conftest import run_breathsync

from breathsync.batch import SUMMARY_COLUMNS

SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"


def test_a_study_with_a_broken_session(tmp_path: Path) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_text("time,resp\n0,1\n0.1,oops\n")
    items = [
        f"{SAMPLES / 'pair_sync_A.csv'}+{SAMPLES / 'pair_sync_B.csv'}",
        f"{broken}+{SAMPLES / 'pair_sync_B.csv'}",
        f"{SAMPLES / 'pair_strangers_A.csv'}+{SAMPLES / 'pair_strangers_B.csv'}",
        str(tmp_path / "not_a_session"),
    ]
    (tmp_path / "not_a_session").mkdir()
    summary = tmp_path / "study.csv"
    r = run_breathsync("analyze", *items, "--batch", str(summary), "--json", str(tmp_path / "j"), timeout=120)
    assert r.returncode == 2  # some failed: said, after finishing the others
    assert "Traceback" not in r.stderr
    assert "2 failed" in r.stderr and "broken.csv:3" in r.stderr and "not_a_session" in r.stderr
    rows = list(csv.DictReader(summary.open()))
    assert [list(rows[0])] == [SUMMARY_COLUMNS] and len(rows) == 2
    in_sync, strangers = (float(x["time_in_sync_frac"]) for x in rows)
    assert in_sync > 0.8 and strangers < 0.3
    assert len(list((tmp_path / "j").glob("*.json"))) == 2
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in (tmp_path / "j").glob("*.json"))
