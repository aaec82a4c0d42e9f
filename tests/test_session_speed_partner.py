"""A simulated partner who follows a replayed recording is the same partner at any --speed, and so are the
session's events, training goal and summary: the partner waits for the recording's phase instead of reading
"unknown" where a fast session had not played the file that far yet, starts with the session, and the events
and the goal are judged at analyze's window ends, not at the snapshots (the audit: the demo's goal at 1:33 at
10x, 1:41 at 300x; in sync 206 s at 10x, from 32 to 199 s at 300x, run to run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, breathing

from breathsync.cli import main
from breathsync.io.csvfile import write_recording

BELT = REPO / "sample_signals" / "nk_rest5_100hz.csv"
PARTNER = "partner=sim:follow,rate=13,coupling=3,delay=0.3,seed=1,fs=25"


def _run(tmp_path: Path, speed: str) -> Path:
    rec = tmp_path / f"s{speed}"
    args = ["run", "-p", f"you=replay:{BELT}", "-p", PARTNER, "--goal", "30", "--duration", "150"]
    assert main([*args, "--speed", speed, "--quiet", "--record", str(rec)]) == 0
    return rec


def _sync_events(folder: Path) -> list[str]:
    # The pairs' events and the goal (stamped at the window end that judged them); a source's status
    # events other than its end are stamped when the session sees them.
    lines = (folder / "events.csv").read_text(encoding="utf-8").splitlines()
    return [ln for ln in lines if ",in_sync," in ln or ",lost_sync," in ln or ",goal_reached," in ln]


def _summary(folder: Path) -> dict[str, Any]:
    info = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    summary: dict[str, Any] = info["summary"]
    return summary


def test_the_same_partner_events_and_goal_at_any_speed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow, fast = _run(tmp_path, "30"), _run(tmp_path, "300")
    capsys.readouterr()
    # The partner breathed the same, sample for sample.
    assert (slow / "partner.csv").read_bytes() == (fast / "partner.csv").read_bytes()
    events = _sync_events(slow)
    assert any(",goal_reached," in ln for ln in events) and any(",in_sync," in ln for ln in events)
    assert _sync_events(fast) == events
    a, b = _summary(slow), _summary(fast)
    assert a["pairs"] == b["pairs"]  # time in sync, mean PLV, lead, rate convergence
    assert a["training"]["goal_reached_at_s"] == b["training"]["goal_reached_at_s"]


def test_the_lead_phase_s_verdict_is_the_same_at_any_speed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """demo --phase lead said "you changed pace at 2:04, partner followed from 3:13" at 30x and "2:08, partner
    did not follow" at 300x: the verdict was judged at the snapshots."""
    folders = []
    for speed in ("30", "300"):
        rec = tmp_path / f"lead{speed}"
        args = ["run", "-p", f"you=replay:{BELT}", "-p", PARTNER, "--phase", "lead", "--duration", "240"]
        assert main([*args, "--speed", speed, "--quiet", "--record", str(rec)]) == 0
        folders.append(rec)
    capsys.readouterr()
    lead = [
        [ln for ln in (f / "events.csv").read_text(encoding="utf-8").splitlines() if ",phase_stage," in ln]
        for f in folders
    ]
    assert len(lead[0]) >= 2 and lead[0] == lead[1]  # the instruction and a reminder, at the same times
    a, b = (_summary(f)["training"] for f in folders)
    assert a["leader_changed_at_s"] is not None and a == b


def test_a_replay_ends_at_its_last_sample_at_any_speed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A source's end and the session's end were stamped when a snapshot saw them: 'source ended' at 60.0 s
    at 60.05 s at 10x for a 60-s file (later at 300x). Now both at the file's last sample."""
    src = tmp_path / "a.csv"
    t, y, _ = breathing(duration_s=60.0, fs_hz=25, rate_bpm=12, seed=1)
    write_recording(src, t, {"resp": y})
    ends = []
    for speed in ("30", "300"):
        rec = tmp_path / f"end{speed}"
        args = ["run", "-p", f"A=replay:{src}", "-p", "B=sim:steady,seed=2", "--speed", speed, "--quiet"]
        assert main([*args, "--record", str(rec)]) == 0
        lines = (rec / "events.csv").read_text(encoding="utf-8").splitlines()
        ends.append([ln for ln in lines if ",source_ended," in ln or ",session_end," in ln])
    capsys.readouterr()
    last = f"{float(t[-1]):.3f}"
    assert [ln.split(",")[0] for ln in ends[0]] == [last, last], ends
    assert ends[0] == ends[1]
