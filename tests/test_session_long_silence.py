"""A participant silent for minutes (a strap out of range): the chance levels of the pairs and the group it
is in go on being computed during the silence, from the history the session still holds, so the session's
time in sync and above chance are analyze's of its recording. They waited for its samples to come back, by
when the rings had dropped the history those 5-s marks needed (this test's 300-s silence of one of four:
its pairs' time in sync 90.0 and 45.0 s live against 92.2 and 46.2 s in analyze, the group's time above
chance 119.3 against 142.7 s)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from breathsync.cli import main
from breathsync.io.csvfile import write_recording
from breathsync.synth import simulate_group


def _files(tmp_path: Path) -> list[str]:
    # A and B coupled, C coupled to A but silent from 200 to 500 s (longer than the 2 minutes of history
    # the session keeps beyond a mark's 3), D a stranger; 650 s at 25 Hz.
    c = np.zeros((4, 4))
    c[1, 0] = c[2, 0] = 0.3
    g = simulate_group(650.0, fs_hz=25.0, rates_bpm=(12.0, 12.5, 13.0, 15.0), coupling=c, seed=7)
    paths = []
    for i, label in enumerate("ABCD"):
        keep = np.ones(g.t.size, bool) if label != "C" else (g.t < 200.0) | (g.t >= 500.0)
        path = tmp_path / f"{label}.csv"
        write_recording(path, g.t[keep], {"resp": g.resp[i][keep]}, {"participant": label})
        paths.append(str(path))
    return paths


def test_a_long_silence_leaves_the_session_equal_to_analyze(tmp_path: Path) -> None:
    parts = [x for p in _files(tmp_path) for x in ("-p", f"{Path(p).stem}=replay:{p}")]
    rec = tmp_path / "rec"
    argv = ["run", *parts, "--speed", "300", "--phase", "free", "--quiet", "--record", str(rec)]
    assert main(argv) == 0
    live = json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]
    js = tmp_path / "a.json"
    assert main(["analyze", str(rec), "--json", str(js)]) == 0
    analyzed = json.loads(js.read_text(encoding="utf-8"))
    for pr, pa in zip(live["pairs"], analyzed["pairs"], strict=True):
        s = pa["summary"]
        assert pr["time_in_sync_s"] == pytest.approx(s["time_in_sync_frac"] * s["scored_s"], abs=0.06), pr
        assert pr["above_chance_s"] == pytest.approx(s["above_chance_s"], abs=1e-6), pr
    # The pairs with C were scored before and after its silence, and A-C were in sync for some of it.
    a_c = next(pr for pr in live["pairs"] if (pr["a"], pr["b"]) == ("A", "C"))
    assert a_c["time_in_sync_s"] > 30.0
    group, group_a = live["group"], analyzed["group"]
    for key in ("above_chance_s", "scored_s", "mean_null_r", "chance_capped_frac"):
        assert group[key] == pytest.approx(group_a[key], abs=1e-4), key
