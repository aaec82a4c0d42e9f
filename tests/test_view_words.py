"""The words both views (terminal and dashboard) take from breathsync.session_types, from hand-made
snapshots (tests/view_snapshots.py): the state as a value with its words, never read back from them."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from view_snapshots import pair, participant, snapshot

from breathsync.session_types import sync_state
from breathsync.terminal import render, state_text


def test_the_state_is_a_kind_and_its_words() -> None:
    assert sync_state(snapshot(pairs=(pair(sync_run_s=45.0),))) == ("in_sync", "in sync 0:45")
    out = pair(in_sync=False)
    assert sync_state(snapshot(pairs=(out,))) == ("finding", "finding the rhythm")
    lost = (participant("A"), participant("B", receiving=False))
    assert sync_state(snapshot(participants=lost)) == ("no_signal", "no signal from B")
    warm = (participant("A"), participant("B", quality="warmup", phase_rad=math.nan))
    assert sync_state(snapshot(participants=warm, pairs=(out,))) == ("warmup", "warming up")
    no_plv = pair(plv=math.nan, null_plv=math.nan, sync_score=math.nan, in_sync=False)
    assert sync_state(snapshot(pairs=(no_plv,)), 30.0) == (
        "warmup",
        "measuring: filling the 30-s sync window",
    )
    assert sync_state(snapshot(("A",), pairs=())) == ("finding", "breathing")


def test_the_terminal_shouts_in_sync_by_its_kind() -> None:
    snap = snapshot(pairs=(pair(sync_run_s=45.0),))
    assert state_text(snap) == "IN SYNC 0:45"
    assert ">>> IN SYNC 0:45 <<<" in render(snap)
    # A label in the lost list keeps its case: only the in-sync state is shouted.
    lost = replace(snap, participants=(participant("A"), participant("Bea", receiving=False)))
    assert state_text(lost) == "no signal from Bea"


def test_who_breathed_first_is_said_one_way_everywhere() -> None:
    """The live pair line, run's summary, analyze and the report used four wordings and two thresholds
    ("A first by 0.0 s" / "in phase: neither breathed first" / ", in phase" / "A by 0.31 s")."""
    from breathsync.analysis import summary_text
    from breathsync.live import summary_lines
    from breathsync.session_types import first_text, pair_first_text
    from breathsync.terminal import _pair_line

    assert first_text("B", 0.31) == "B breathed first by 0.31 s"
    assert first_text("you", 0.5) == "you breathed first by 0.50 s"
    assert first_text(None, 0.0) == first_text("B", 0.004) == "in phase"  # who_led's 0.00 s
    assert first_text(None, None) == first_text("B", math.nan) == ""
    live = pair(rel_phase_rad=-0.3, lag_s=-0.31)
    assert pair_first_text(live) == "B breathed first by 0.31 s"
    assert "phase  -17 deg  B breathed first by 0.31 s" in _pair_line(live)
    summary = {
        "participants": {},
        "pairs": [
            {"a": "A", "b": "B", "time_in_sync_s": 89.7, "mean_plv": 0.9, "leader": "B", "lead_s": 0.31}
        ],
        "training": {"phase": "free"},
    }
    assert summary_lines(summary)[0].endswith(", B breathed first by 0.31 s")
    result = {
        "participants": [],
        "pairs": [
            {
                "a": "A",
                "b": "B",
                "plv": [0.9],
                "null_plv": [0.3],
                "summary": {
                    "mean_plv": 0.9,
                    "mean_relative_phase_rad": -0.3,
                    "leader": "B",
                    "lead_s": 0.31,
                    "time_in_sync_frac": 1.0,
                    "scored_s": 0.1,
                },
            }
        ],
        "warnings": [],
    }
    # analyze says the lead is over the locked windows, the relative phase over all (tests/test_leader_words.py)
    assert summary_text(result).endswith("relative phase -17 deg; when locked, B breathed first by 0.31 s")
    result["pairs"][0]["summary"].update(leader=None, lead_s=0.0)  # type: ignore[index]
    assert summary_text(result).endswith("; when locked, in phase")  # was "in phase: neither breathed first"
    result["pairs"][0]["summary"].update(leader=None, lead_s=None)  # type: ignore[index]
    assert summary_text(result).endswith("no leader (not locked within a quarter cycle for one window)")


@pytest.mark.parametrize(
    ("labels", "phase", "stage", "leader", "chosen", "expected"),
    [
        # The demo: "you" breathes with the partner, in match, free and the lead phase's matching.
        (("you", "partner"), "match", "matching", None, "auto", ("partner", "breathe with partner")),
        (("you", "partner"), "free", "free", None, "auto", ("partner", "breathe with partner")),
        (("you", "partner"), "lead", "matching", "you", "auto", ("partner", "breathe with partner")),
        # Leading: nobody to breathe with, the pace is theirs: their own breathing.
        (("you", "partner"), "lead", "leading", "you", "auto", ("you", "you lead: your breathing")),
        # Following: the leader, in both stages.
        (("partner", "you"), "lead", "matching", "partner", "auto", ("partner", "breathe with partner")),
        (("partner", "you"), "lead", "leading", "partner", "auto", ("partner", "breathe with partner")),
        # No "you": the follower's view, the leader; a hand-picked participant wins.
        (("A", "B"), "lead", "leading", "B", "auto", ("B", "breathe with B")),
        (("A", "B"), "match", "matching", None, "A", ("A", "breathe with A")),
        (("you", "partner"), "match", "matching", None, "you", ("you", "your breathing")),
    ],
)
def test_whose_breathing_the_cue_shows(
    labels: tuple[str, str],
    phase: str,
    stage: str,
    leader: str | None,
    chosen: str,
    expected: tuple[str, str],
) -> None:
    from view_snapshots import lead_training

    from breathsync.session_types import cue_choice

    tr = lead_training(labels[0], labels[1], phase=phase, stage=stage)
    if leader is None:
        tr = replace(tr, leader=None, follower=None)
    elif leader != labels[0]:
        tr = replace(tr, leader=labels[1], follower=labels[0])
    assert cue_choice(snapshot(labels, training=tr), chosen) == expected


def test_a_pacer_is_whom_to_breathe_with_outside_the_lead_phase() -> None:
    from breathsync.session_types import cue_choice

    parts = (participant("A"), participant("P", source="sim:pacer"), participant("B"))
    assert cue_choice(snapshot(("A", "P", "B"), participants=parts, pairs=())) == ("P", "breathe with P")
    parts = (participant("you"), participant("P", source="sim:pacer"))
    assert cue_choice(snapshot(("you", "P"), participants=parts)) == ("P", "breathe with P")


def test_a_relative_phase_is_whole_signed_degrees_never_minus_zero() -> None:
    # analyze printed "relative phase -0 deg" (and its JSON -0.0) for a pair in phase.
    import math

    from breathsync.session_types import degrees_text

    assert degrees_text(math.radians(-0.3)) == "+0" and degrees_text(math.radians(0.4)) == "+0"
    assert degrees_text(math.radians(64.2)) == "+64" and degrees_text(math.radians(-12.6)) == "-13"


def test_an_unknown_relative_phase_is_a_question_mark() -> None:
    from breathsync.session_types import degrees_text

    assert degrees_text(float("nan")) == "?"  # it raised ValueError (the dial draws it)
