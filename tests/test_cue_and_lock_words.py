"""Whom the partner cue shows (the person at the screen is never a simulated participant), who breathed
first only for a locked pair (the summaries' rule), and a short terminal keeping what the participants are
asked to do: hand-made snapshots (tests/view_snapshots.py) and a session's own description."""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import pytest
from view_snapshots import lead_training, pair, participant, snapshot

from breathsync.live import ParticipantArg, build_session
from breathsync.session import SessionConfig
from breathsync.session_types import SessionInfo, TrainingView, cue_choice, locked_text, pair_first_text
from breathsync.terminal import _pair_line, render

BELT = Path(__file__).resolve().parents[1] / "sample_signals" / "pair_follow_A.csv"


def _info(follows: dict[str, str]) -> SessionInfo:
    parts = [
        {"label": x, "source": {"kind": "sim", "mode": "follow", "follows": y}} for x, y in follows.items()
    ]
    return SessionInfo(participants=parts, settings={}, start_utc="", software_version="")


# ------------------------------------------------------------------------------------------------ the cue
def test_the_cue_is_the_simulated_partner_not_the_person_at_the_screen() -> None:
    # The audit: -p partner=sim:follow -p me=replay:...: the cue followed "me", the last listed.
    parts = (
        participant("partner", source="sim:follow"),
        participant("me", source="replay:pair_follow_A.csv"),
    )
    snap = snapshot(("partner", "me"), participants=parts)
    assert cue_choice(snap) == ("partner", "breathe with partner")
    assert cue_choice(snap, "me") == ("me", "breathe with me")  # picked by hand: still wins


def test_with_several_the_cue_is_the_simulated_partner_following_the_person() -> None:
    # The audit: A a replay, B follows A, C follows B, D a steady one at 10/min: it said "breathe with D".
    parts = (
        participant("A", source="replay:pair_follow_A.csv"),
        participant("B", source="sim:follow"),
        participant("C", source="sim:follow"),
        participant("D", source="sim:steady"),
    )
    snap = snapshot(("A", "B", "C", "D"), participants=parts, pairs=())
    assert cue_choice(snap, info=_info({"B": "A", "C": "B"})) == ("B", "breathe with B")
    assert cue_choice(snap, info=_info({"B": "C", "C": "A"})) == ("C", "breathe with C")
    # Without a follower of a person: a simulated leader; else the last simulated one.
    parts = (*parts[:3], participant("D", source="sim:lead"))
    snap = snapshot(("A", "B", "C", "D"), participants=parts, pairs=())
    assert cue_choice(snap, info=_info({"B": "C", "C": "B"})) == ("D", "breathe with D")
    # The one following "you" first, whatever the order.
    parts = (participant("B", source="sim:follow"), participant("you", source="replay:x.csv"))
    parts += (participant("C", source="sim:follow"),)
    snap = snapshot(("B", "you", "C"), participants=parts, pairs=())
    assert cue_choice(snap, info=_info({"B": "C", "C": "you"})) == ("C", "breathe with C")


def test_a_leader_with_a_simulated_follower_is_the_person_at_the_screen() -> None:
    # A person leads a simulated follower: the leader is at the screen, so the cue is not "breathe with A".
    parts = (participant("A", source="replay:pair_follow_A.csv"), participant("B", source="sim:follow"))
    matching = snapshot(("A", "B"), participants=parts, training=lead_training("A", "B", stage="matching"))
    assert cue_choice(matching) == ("B", "breathe with B")
    leading = snapshot(("A", "B"), participants=parts, training=lead_training("A", "B"))
    assert cue_choice(leading) == ("A", "A leads: A's breathing")
    # A simulated leader and a person following: the leader, as before.
    parts = (participant("A", source="sim:lead"), participant("B", source="replay:pair_follow_A.csv"))
    assert cue_choice(snapshot(("A", "B"), participants=parts, training=lead_training("A", "B"))) == (
        "A",
        "breathe with A",
    )


def test_a_session_describes_whom_its_simulated_followers_follow() -> None:
    """What the cue reads (SessionInfo.follows): the partner a sim:follow was given, or the first other one."""
    parts = [
        ParticipantArg("A", f"replay:{BELT}"),
        ParticipantArg("B", "sim:follow"),
        ParticipantArg("C", "sim:follow,partner=B"),
        ParticipantArg("D", "sim:steady,rate=10"),
    ]
    info = build_session(parts, config=SessionConfig()).describe()
    assert [info.follows(x) for x in "ABCD"] == [None, "A", "B", None]
    # The spec stays as given (a recording's "# source:" line makes the same partner again).
    assert "partner" not in info.participants[1]["source"]["spec"]


# -------------------------------------------------------------------------------- who breathed first
@pytest.mark.parametrize(
    ("plv", "null", "deg", "says"),
    [
        (0.14, 0.30, 20.0, "not locked"),  # the audit: "A breathed first by 0.24 s" at PLV 0.14
        (0.30, 0.30, 20.0, "not locked"),  # at its chance level: not over it
        (0.90, math.nan, 20.0, "not locked"),  # no chance level yet: no evidence either
        (0.14, 0.30, 150.0, "not locked"),
        (0.90, 0.30, 150.0, "opposite phase"),
        (0.90, 0.30, 20.0, "A breathed first by 0.24 s"),
        (0.90, 0.30, -20.0, "B breathed first by 0.24 s"),
    ],
)
def test_who_breathed_first_only_when_locked(plv: float, null: float, deg: float, says: str) -> None:
    pv = pair(plv=plv, null_plv=null, in_sync=False, rel_phase_rad=math.radians(deg), lag_s=0.24)
    assert pair_first_text(pv) == says
    line = _pair_line(pv)
    assert says in line and ("first by" in line) == ("first by" in says)


def test_the_dials_words_follow_the_same_rule() -> None:
    assert locked_text(0.14, 0.30, math.radians(120.0)) == "not locked"  # it said "opposite phase"
    assert locked_text(0.90, 0.30, math.radians(120.0)) == "opposite phase"
    assert locked_text(0.90, 0.30, math.radians(20.0)) == ""
    assert locked_text(math.nan, 0.30, math.nan) == ""


# ----------------------------------------------------------------------------- a short terminal
def _four(instruction: str = "A, B, C and D: breathe together") -> object:
    labels = ("A", "B", "C", "D")
    pairs = tuple(pair(a, b) for a, b in combinations(labels, 2))
    tr = TrainingView(
        phase="match", stage="matching", goal_s=60.0, progress_s=12.0, goal_reached=False,
        instruction=instruction, pair=("C", "D"),
    )  # fmt: skip
    return replace(
        snapshot(labels, pairs=pairs, training=tr), group_r=0.7, alarms=("recording stopped: disk full",)
    )


def test_four_people_on_80x24_keep_the_instruction_and_the_goal() -> None:
    # The audit: the six pair blocks were kept and "now: ..." and "goal: ..." were cut.
    text = render(_four(), None, ["1:00 A and B are in sync"], width=79, height=23)  # type: ignore[arg-type]
    lines = text.split("\n")
    assert len(lines) <= 23
    assert "now: A, B, C and D: breathe together" in lines
    assert any(x.startswith("goal: hold sync 60 s") for x in lines)
    assert "!! recording stopped: disk full" in lines and "group order R 0.70" in lines
    shown = [x.split()[0] for x in lines if x[:3] in {f"{a}-{b}" for a, b in combinations("ABCD", 2)}]
    assert "C-D" in shown and len(shown) < 6  # the goal's pair first
    assert f"... {6 - len(shown)} more pairs not shown: enlarge the terminal" in lines
    assert not any("more lines" in x for x in lines)
    # With the group's chance level known, the line gives it (R 0.70 of four says little by itself).
    known = render(replace(_four(), group_chance=0.78), None, [], width=79, height=23)  # type: ignore[arg-type]
    assert "group order R 0.70 (chance 0.78)" in known.split("\n")
    # Tall enough: every pair, no note.
    full = render(_four(), None, [], width=79, height=60)  # type: ignore[arg-type]
    assert "not shown" not in full and full.count(" sync [") == 6
