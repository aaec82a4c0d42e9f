"""Each number of a pair's line says what it is over: the relative phase over all the windows scored, who
breathed first over the windows where the pair was locked ("relative phase +64 deg; when locked, A breathed
first by 0.67 s"), in analyze and in the report alike. pair_follow read "relative phase +64 deg, A breathed
first by 0.67 s", and +64 deg at the pair's 14.8/min is 0.72 s: the lead was from the locked windows (59 deg)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from breathsync.analysis import analyse_paths, leader_text, summary_text
from breathsync.cli import main
from sample_signals import sample_path

FOLLOW = [str(sample_path("pair_follow_A.csv")), str(sample_path("pair_follow_B.csv"))]


def test_analyze_says_the_lead_is_from_the_locked_windows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", *FOLLOW]) == 0
    line = capsys.readouterr().out.splitlines()[2]
    assert line.endswith("relative phase +64 deg; when locked, A breathed first by 0.67 s"), line


def test_the_report_says_it_in_the_same_words(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", *FOLLOW, "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<td>+64°</td><td>when locked, A breathed first by 0.67 s</td>" in page


def test_in_phase_and_no_leader() -> None:
    assert leader_text("A", 0.67) == "when locked, A breathed first by 0.67 s"
    assert leader_text(None, 0.0) == "when locked, in phase"
    assert leader_text(None, None) == ""
    res, together = analyse_paths(
        [str(sample_path("pair_strangers_A.csv")), str(sample_path("pair_strangers_B.csv"))]
    )
    line = summary_text(res, together.parts).splitlines()[2]
    assert line.endswith("deg; no leader (not locked within a quarter cycle for one window)"), line


def test_locked_for_less_than_a_window_says_how_long(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 60-s simulated pair: "in sync 100% of the 0:27 scored ... no leader (not locked within a quarter
    cycle for one window)", though its JSON said locked_s 27.6."""
    assert main(["simulate", "--out", str(tmp_path), "--duration", "60"]) == 0
    capsys.readouterr()
    js = tmp_path / "a.json"
    assert main(["analyze", str(tmp_path), "--json", str(js)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("A-B:"))
    locked = json.loads(js.read_text(encoding="utf-8"))["pairs"][0]["summary"]["locked_s"]
    assert 0 < locked < 30
    m = re.search(
        r"no leader \(locked within a quarter cycle for 0:(\d\d), less than one 30-s window\)$", line
    )
    assert m is not None and abs(int(m.group(1)) - locked) < 1.0, (line, locked)
