"""The goal bar once the goal is reached, and signed figures that round to zero (the solo-practice audit:
"goal: hold sync 60 s [======----] reached" while the run in sync had restarted, "your pace -0.0/min")."""

from __future__ import annotations

from view_snapshots import lead_training, snapshot

from breathsync.session_types import TrainingView, lead_lines, signed
from breathsync.terminal import render


def _goal_line(text: str) -> str:
    return next(ln for ln in text.splitlines() if ln.startswith("goal:"))


def test_a_reached_goal_shows_a_full_bar_and_when() -> None:
    tr = TrainingView(
        phase="match",
        stage="matching",
        goal_s=60.0,
        progress_s=35.0,
        goal_reached=True,
        goal_reached_at_s=93.5,
    )
    line = _goal_line(render(snapshot(training=tr, t_s=200.0)))
    assert "[==========]" in line and "reached at\u00a01:33" in line
    assert "35" not in line


def test_a_goal_under_way_shows_its_progress() -> None:
    tr = TrainingView(phase="match", stage="matching", goal_s=60.0, progress_s=30.0, goal_reached=False)
    line = _goal_line(render(snapshot(training=tr)))
    assert "[=====-----]" in line and "30/60\u00a0s" in line


def test_a_pace_change_that_rounds_to_zero_has_no_sign() -> None:
    words = " ".join(lead_lines(snapshot(training=lead_training(leader_rate_change_bpm=-0.03))))
    assert "pace 0.0/min" in words and "-0.0" not in words
    words = " ".join(lead_lines(snapshot(training=lead_training(leader_rate_change_bpm=-2.04))))
    assert "pace -2.0/min" in words


def test_signed() -> None:
    assert [signed(x) for x in (1.25, -0.3, -0.04, 0.04, 0.0, -0.0)] == [
        "+1.2",
        "-0.3",
        "0.0",
        "0.0",
        "0.0",
        "0.0",
    ]


def test_the_progress_counts_whole_seconds_as_the_clock_does() -> None:
    """7.6 s read "8/60 s" beside the pair's "time in sync 0:07"."""
    tr = TrainingView(phase="match", stage="matching", goal_s=60.0, progress_s=7.6, goal_reached=False)
    line = _goal_line(render(snapshot(training=tr)))
    assert "7/60\u00a0s" in line, line
