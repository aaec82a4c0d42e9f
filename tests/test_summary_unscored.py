"""A pair with no scored window (no window with both phases known) has no summary figures: null, not
"in sync 0% of the time"."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from breathsync.cli import main
from breathsync.dsp.sync import SyncConfig, pair_sync

SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"


def test_a_summary_without_a_scored_window_is_all_null() -> None:
    t = np.arange(0, 120, 0.1)
    unknown = np.full(t.size, np.nan)
    s = pair_sync(t, unknown, unknown, unknown, unknown, SyncConfig(), causal=False).summary(30.0)
    assert s == dict.fromkeys(s, None)
    assert "time_in_sync_frac" in s and "locked_s" in s


def _flat_file(path: Path, value: float = 1.0) -> Path:
    rows = "".join(f"{x:.2f},{value}\n" for x in np.arange(0, 300, 0.1))
    path.write_text("time,resp\n" + rows, encoding="utf-8")
    return path


def test_analyze_a_flat_file_with_a_breathing_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flat = _flat_file(tmp_path / "flat.csv")
    out = tmp_path / "r.json"
    assert main(["analyze", str(flat), str(SAMPLES / "pair_sync_B.csv"), "--json", str(out)]) == 0
    assert "A-B: no window with both phases known" in capsys.readouterr().out
    pair = json.loads(out.read_text(encoding="utf-8"))["pairs"][0]
    for s in (pair["summary"], pair["offline"]["summary"]):
        assert s["time_in_sync_frac"] is None and s["locked_s"] is None and s["mean_plv"] is None


def test_batch_leaves_the_cells_of_an_unscored_pair_empty(tmp_path: Path) -> None:
    flat = _flat_file(tmp_path / "flat.csv")
    summary = tmp_path / "study.csv"
    assert main(["analyze", f"{flat}+{SAMPLES / 'pair_sync_B.csv'}", "--batch", str(summary)]) == 0
    (row,) = list(csv.DictReader(summary.open(encoding="utf-8")))
    for col in ("time_in_sync_frac", "mean_plv", "offline_time_in_sync_frac", "offline_mean_plv"):
        assert row[col] == "", col


def test_report_of_an_unscored_pair_shows_nothing_measured(tmp_path: Path) -> None:
    flat = _flat_file(tmp_path / "flat.csv")
    out = tmp_path / "r.html"
    assert main(["report", str(flat), str(SAMPLES / "pair_sync_B.csv"), "--out", str(out)]) == 0
    row = next(
        ln for ln in out.read_text(encoding="utf-8").split("<tr>") if ln.startswith("<td>A – B ")
    )  # B: simulated
    assert "(0%)" not in row and "0.00" not in row  # it read 'in sync 0:00 (0%)', mean PLV 0.00
    assert row.count("<td>—</td>") >= 3


def test_a_pair_overlapping_less_than_a_window_is_in_the_json_with_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A pair whose files overlap 26 s (under the 30-s window) was left out of the JSON's pairs (with three
    # files, the list just got shorter), with only a warning; the README says every pair is scored.
    from breathsync.io.csvfile import read_recording, write_recording

    src = read_recording(str(SAMPLES / "pair_sync_B.csv"))
    late = src.time >= 274.0  # B's last 26 s
    b = tmp_path / "b_end.csv"
    write_recording(b, src.time[late], {"resp": src.columns["resp"][late]}, {"participant": "B"})
    out = tmp_path / "r.json"
    a = SAMPLES / "pair_sync_A.csv"
    assert main(["analyze", str(a), str(b), str(SAMPLES / "pair_follow_B.csv"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    res = json.loads(out.read_text(encoding="utf-8"))
    assert [(p["a"], p["b"]) for p in res["pairs"]] == [("A", "B"), ("A", "B'"), ("B", "B'")]
    short = res["pairs"][0]
    assert (
        short["note"].startswith("not scored: the recordings overlap by 2") and "30-s window" in short["note"]
    )
    assert short["t_s"] == [] and short["plv"] == [] and short["offline"]["plv"] == []
    assert short["summary"] == dict.fromkeys(short["summary"], None) and "locked_s" in short["summary"]
    assert res["pairs"][1]["note"] is None and res["pairs"][1]["summary"]["mean_plv"] is not None
    assert f"A-B: {short['note']}" in printed.splitlines()
    assert not any("overlap" in w for w in res["warnings"])  # said once, on the pair's own line
