"""`run` says when two participants replay one recording under two names (a copy), as `analyze` does: the
session read "mean PLV 1.00, in phase ... goal reached" without a word in its output, events or summary. (The
free phase: a match phase this short has a goal it cannot reach, which is warned of too.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO

from breathsync.cli import main

SAMPLES = REPO / "sample_signals"


def test_a_copy_replayed_beside_its_original_is_warned_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copyA.csv"
    shutil.copyfile(SAMPLES / "pair_sync_A.csv", copy)
    rec = tmp_path / "rec"
    code = main(
        ["run", "-p", f"A=replay:{SAMPLES / 'pair_sync_A.csv'}", "-p", f"B=replay:{copy}", "-p",
         f"C=replay:{SAMPLES / 'pair_sync_B.csv'}", "--quiet", "--speed", "300", "--duration", "60",
         "--phase", "free", "--record", str(rec)]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    said = "A-B: copyA.csv holds the same breathing samples as pair_sync_A.csv at the same times"
    (line,) = [ln for ln in out.splitlines() if ln.startswith("warning:")]  # A-B only: C is another person
    assert said in line and "give each participant their own recording" in line
    summary = json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]
    assert len(summary["warnings"]) == 1 and said in summary["warnings"][0]
    events = (rec / "events.csv").read_text(encoding="utf-8")
    assert f"0.000,signal_note,A;B,{said}" in events
    assert str(tmp_path) not in json.dumps(summary) + events  # names, not paths


def test_two_people_have_no_such_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "rec"
    code = main(
        ["run", "-p", f"A=replay:{SAMPLES / 'pair_sync_A.csv'}", "-p", f"B=replay:{SAMPLES / 'pair_sync_B.csv'}",
         "--quiet", "--speed", "300", "--duration", "40", "--phase", "free", "--record", str(rec)]
    )  # fmt: skip
    assert code == 0
    assert "warning:" not in capsys.readouterr().out
    assert "warnings" not in json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]
