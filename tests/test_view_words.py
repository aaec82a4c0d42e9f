"""The words both views (terminal and dashboard) take from breathsync.session_types, from hand-made
snapshots (tests/view_snapshots.py): the state as a value with its words, never read back from them."""

from __future__ import annotations

import math
from dataclasses import replace

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
