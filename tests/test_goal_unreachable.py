"""A goal the session is too short to reach is said at its start (the summary said only "goal not reached")."""

from __future__ import annotations

from pathlib import Path

import pytest

from breathsync.cli import main

PAIR = ["-p", "A=sim:steady,seed=1", "-p", "B=sim:follow,seed=2", "--speed", "100", "--quiet"]


@pytest.mark.parametrize("phase", ["match", "lead"])
def test_a_goal_longer_than_the_session_allows_is_said_at_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], phase: str
) -> None:
    rec = tmp_path / "rec"
    assert main(["run", *PAIR, "--phase", phase, "--duration", "60", "--record", str(rec)]) == 0
    after = "the goal is reached" if phase == "match" else "the leader is told to change pace"
    text = (
        "the goal (in sync for 60 s) cannot be reached in 60 s: a run in sync starts when a 30-s window is "
        f"first known, 24 s in at the earliest, so {after} at 83.9 s at the earliest: give a longer --duration, "
        "or a shorter --goal or --window"
    )
    assert f"warning: {text}" in capsys.readouterr().out
    events = (rec / "events.csv").read_text(encoding="utf-8")
    assert f'0.000,signal_note,,"{text}"' in events


@pytest.mark.parametrize(
    "argv",
    [
        ["--phase", "match", "--duration", "90"],  # 24 + 60 - 0.1 <= 90: possible
        ["--phase", "match", "--duration", "83.9"],  # the first window end counts 0.1 s: just possible
        ["--phase", "match", "--duration", "40", "--goal", "15"],
        ["--phase", "free", "--duration", "20"],  # no goal
    ],
)
def test_a_reachable_goal_or_none_is_not_warned_of(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(["run", *PAIR, *argv]) == 0
    assert "cannot be reached" not in capsys.readouterr().out


def test_the_demo_is_not_told_to_last_longer_than_its_recording(capsys: pytest.CaptureFixture[str]) -> None:
    # The demo refuses a --duration over 300 s: the goal's advice was "give a longer --duration" there too.
    assert main(["demo", "--goal", "290", "--speed", "300", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "so the goal is reached at 313.9 s at the earliest: give a shorter --goal or --window" in out
