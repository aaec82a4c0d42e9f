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
    # Strangers: never above their chance level, so the mean relative phase (of chance windows) is not given.
    assert res["pairs"][0]["summary"]["above_chance_s"] == 0.0
    assert line.endswith(
        "(chance level 0.81), no relative phase; no leader (never locked: the PLV was never above its chance level)"
    ), line


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


def _anti_phase_pair(tmp_path: Path) -> list[str]:
    """pair_sync with B's belt read upside down: the two locked about half a cycle apart."""
    src = sample_path("pair_sync_B.csv").read_text(encoding="utf-8").splitlines()
    head = next(i for i, ln in enumerate(src) if ln.startswith("time"))
    col = src[head].split(",").index("resp")
    rows = []
    for ln in src[head + 1 :]:
        cells = ln.split(",")
        cells[col] = repr(-float(cells[col]))
        rows.append(",".join(cells))
    b = tmp_path / "B.csv"
    b.write_text("\n".join([src[head], *rows]) + "\n", encoding="utf-8")
    return [str(sample_path("pair_sync_A.csv")), str(b)]


def test_locked_in_opposite_phase_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pair locked half a cycle apart read "no leader (not locked within a quarter cycle for one window)"
    beside "mean PLV 1.00": it is locked, in opposite phase, and the line now says so, as the report does."""
    files = _anti_phase_pair(tmp_path)
    js = tmp_path / "a.json"
    assert main(["analyze", *files, "--json", str(js)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("A-B:"))
    s = json.loads(js.read_text(encoding="utf-8"))["pairs"][0]["summary"]
    assert s["opposite_s"] > 200 and s["above_chance_s"] >= s["opposite_s"] and s["leader"] is None
    m = re.search(
        r"relative phase [+-]1\d\d deg; no leader \(locked in opposite phase for (\d):(\d\d): ", line
    )
    assert m is not None, line
    assert abs(60 * int(m.group(1)) + int(m.group(2)) - s["opposite_s"]) < 1.0
    out = tmp_path / "r.html"
    assert main(["report", *files, "--out", str(out)]) == 0
    assert "<td>no leader (locked in opposite phase for " in out.read_text(encoding="utf-8")


def test_the_report_gives_no_relative_phase_for_strangers(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    strangers = [str(sample_path("pair_strangers_A.csv")), str(sample_path("pair_strangers_B.csv"))]
    assert main(["report", *strangers, "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<td>—</td><td>no leader (never locked: the PLV was never above its chance level)</td>" in page


def test_the_session_summary_says_it_as_analyze_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The live session's summary line gives the same reason, from its own counts (above_chance_s,
    opposite_s, scored_s in session.json), which agree with analyze's of the recording."""
    a, b = _anti_phase_pair(tmp_path)
    rec = tmp_path / "rec"
    assert (
        main(["run", "-p", f"A=replay:{a}", "-p", f"B=replay:{b}", "--speed", "100", "--record", str(rec)])
        == 0
    )
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("A-B: in sync"))
    assert "; no leader (locked in opposite phase for " in line, line
    live = json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]["pairs"][0]
    js = tmp_path / "a.json"
    assert main(["analyze", str(rec), "--json", str(js)]) == 0
    s = json.loads(js.read_text(encoding="utf-8"))["pairs"][0]["summary"]
    for key in ("above_chance_s", "opposite_s", "scored_s", "locked_s"):
        assert live[key] == pytest.approx(s[key], abs=0.051), key
