"""The cap of the chance level (0.9) is said: the JSON's pair summaries give the share of the scored windows
whose chance level was the cap (live, and for want of history; offline) and the offline surrogates' value
before the cap; analyze's pair line and the report say when the cap was the chance level for most of the
time scored, and why; the --batch summary has the same figures in columns at its end. (For pair_sync the
surrogates' 0.949 was above the mean PLV, 0.947, yet the line said "chance level 0.90" and nothing more.)"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from breathsync.analysis import analyse_files, analyse_paths, summary_text
from breathsync.batch import SUMMARY_COLUMNS, analyse_batch, write_summary
from breathsync.cli import main
from breathsync.dsp.sync import SyncConfig, live_surrogate_nulls, phase_on_grid
from breathsync.io import read_recording, write_recording
from sample_signals import sample_path

SYNC = [str(sample_path("pair_sync_A.csv")), str(sample_path("pair_sync_B.csv"))]
STRANGERS = [str(sample_path("pair_strangers_A.csv")), str(sample_path("pair_strangers_B.csv"))]
REGULAR = (
    "chance level 0.90, the cap: these two breathe too regularly for surrogates to tell chance from locking"
)


def test_a_pair_too_regular_for_surrogates_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    res, together = analyse_paths(SYNC)
    pair = res["pairs"][0]
    s, off = pair["summary"], pair["offline"]["summary"]
    assert s["chance_capped_frac"] == 1.0  # every scored window at the cap
    # For want of history: the windows before the first whole 5 s with 70 s of history (30 + 2 x 20 s).
    assert 0.1 < s["chance_no_surrogate_frac"] < 0.25
    assert off["chance_capped_frac"] == 1.0
    assert off["surrogate_null_plv"] == pytest.approx(0.9487, abs=5e-4)  # above the mean PLV (0.947)
    assert s["mean_plv"] < off["surrogate_null_plv"]
    line = summary_text(res, together.parts).splitlines()[2]
    assert f"mean PLV 0.95 ({REGULAR}), relative phase" in line
    assert main(["analyze", *SYNC]) == 0
    assert REGULAR in capsys.readouterr().out


def test_strangers_get_their_surrogates_and_no_word_of_the_cap() -> None:
    res, together = analyse_paths(STRANGERS)
    s, off = res["pairs"][0]["summary"], res["pairs"][0]["offline"]["summary"]
    assert s["chance_capped_frac"] == s["chance_no_surrogate_frac"] < 0.5  # only the first windows
    assert off["chance_capped_frac"] == 0.0 and off["surrogate_null_plv"] < 0.9
    assert "the cap" not in summary_text(res, together.parts)


def test_a_short_pair_is_at_the_cap_for_want_of_history(tmp_path: Path) -> None:
    paths = []
    for src in STRANGERS:
        rec = read_recording(src)
        keep = rec.time < 90.0
        paths.append(tmp_path / Path(src).name)
        write_recording(paths[-1], rec.time[keep], {"resp": rec.columns["resp"][keep]})
    res, together = analyse_paths([str(p) for p in paths])
    s = res["pairs"][0]["summary"]
    assert s["chance_capped_frac"] == s["chance_no_surrogate_frac"] > 0.5
    text = summary_text(res, together.parts)
    assert (
        "the cap for " in text
        and "of the time scored: too little history for surrogates (they need 70 s)" in text
    )


def test_the_share_without_surrogates_is_what_the_live_surrogates_give(tmp_path: Path) -> None:
    """The time of the first live surrogate, found on a prefix, is that of the whole series' (B's belt off
    from 20 to 120 s: no surrogates until long after, beyond the first prefixes tried)."""
    from breathsync.analysis import analyse_together, read_inputs

    rec = read_recording(SYNC[1])
    kept = (rec.time < 20.0) | (rec.time >= 120.0)
    b = tmp_path / "gap_B.csv"
    write_recording(b, rec.time[kept], {"resp": rec.columns["resp"][kept]})
    recs, labels = read_inputs([SYNC[0], str(b)])
    pr = analyse_together(recs, labels, 30.0).pairs[0]
    grid = pr.live.t
    la = phase_on_grid(pr.a.live.t, pr.a.live.phase, grid)
    lb = phase_on_grid(pr.b.live.t, pr.b.live.phase, grid)
    fs = 1.0 / float(np.median(np.diff(grid)))
    nulls = live_surrogate_nulls(la, lb, fs, SyncConfig(), k_first=round(float(grid[0]) * fs))
    assert pr.first_surrogate_t == float(grid[np.flatnonzero(np.isfinite(nulls))[0]])
    assert 100.0 < pr.first_surrogate_t < 200.0  # beyond the first stretch tried (80 s from the first phase)


def test_batch_has_the_figures_in_columns_at_its_end(tmp_path: Path) -> None:
    # Where they were added (columns added since come after them: a study's scripts may read by position).
    assert SUMMARY_COLUMNS[18:23] == [
        "note",
        "chance_capped_frac",
        "chance_no_surrogate_frac",
        "offline_chance_capped_frac",
        "offline_surrogate_null_plv",
    ]
    res = analyse_batch(["+".join(SYNC)])
    write_summary(str(tmp_path / "s.csv"), res.rows)
    row = next(csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8")))
    pair = res.results[0][2]["pairs"][0]
    assert float(row["chance_capped_frac"]) == pair["summary"]["chance_capped_frac"] == 1.0
    assert float(row["chance_no_surrogate_frac"]) == pair["summary"]["chance_no_surrogate_frac"]
    assert float(row["offline_chance_capped_frac"]) == 1.0
    assert float(row["offline_surrogate_null_plv"]) == pair["offline"]["summary"]["surrogate_null_plv"]


def test_the_report_says_it_beside_the_chance_level(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", *SYNC, "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert (
        "<td>0.90 (the cap: these two breathe too regularly for surrogates to tell chance from locking)</td>"
        in page
    )


def test_an_unscored_pair_has_the_new_figures_null(tmp_path: Path) -> None:
    rec = read_recording(SYNC[1])
    late = rec.time >= 280.0
    b = tmp_path / "end_B.csv"
    write_recording(b, rec.time[late], {"resp": rec.columns["resp"][late]})
    pair = analyse_files([SYNC[0], str(b)])["pairs"][0]
    assert pair["note"] and pair["summary"]["chance_capped_frac"] is None
    assert pair["offline"]["summary"]["surrogate_null_plv"] is None
    json.dumps(pair, allow_nan=False)
