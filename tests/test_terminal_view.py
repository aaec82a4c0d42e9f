"""The terminal view's words and numbers, from hand-made snapshots (tests/view_snapshots.py)."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
from view_snapshots import pair, snapshot

from breathsync.session_types import pair_first_text
from breathsync.terminal import TerminalView, _pair_line, render


def test_opposite_phase_does_not_fill_the_meter_and_nobody_is_first() -> None:
    # The audit's case: a follower 2.5 s behind at 12/min, locked half a cycle off (PLV 0.95): the meter
    # read 0.71 ("sync [=======---]") and "A first by 2.5 s".
    pv = pair(plv=0.95, sync_score=0.71, in_sync=False, rel_phase_rad=math.radians(179.0), lag_s=2.49)
    line = _pair_line(pv)
    assert "sync [----------] 0.00" in line
    assert "opposite phase" in line and "first by" not in line
    assert "PLV 0.95" in line  # the PLV itself is still shown


@pytest.mark.parametrize(
    ("deg", "lag_s", "says"),
    [
        # The summaries' words and precision (one function, session_types.first_text): the live line said
        # "A first by 0.3 s" where run's summary, analyze and the report said "A breathed first by 0.28 s".
        (20.0, 0.28, "A breathed first by 0.28 s"),
        (-20.0, -0.28, "B breathed first by 0.28 s"),
        (2.0, 0.04, "A breathed first by 0.04 s"),  # as analyze names a leader 0.04 s ahead
        (0.3, 0.004, "in phase"),  # was "A first by 0.0 s" at a tenth; rounds to 0.00 s: in phase
        (-1.0, -0.002, "in phase"),
        (89.0, 1.2, "A breathed first by 1.20 s"),
        (-91.0, -1.3, "opposite phase"),
        (91.0, 1.3, "opposite phase"),
    ],
)
def test_who_breathes_first(deg: float, lag_s: float, says: str) -> None:
    assert pair_first_text(pair(rel_phase_rad=math.radians(deg), lag_s=lag_s)) == says


def test_meter_is_the_pairs_meter() -> None:
    # Locked (PLV over its chance level) 60 degrees off: not in sync, half-way to the line.
    pv = pair(plv=0.9, null_plv=0.3, sync_score=0.86, in_sync=False, rel_phase_rad=math.radians(60.0))
    assert pv.meter == pytest.approx(0.25)
    assert "sync [===-------] 0.25  not yet" in render(snapshot(pairs=(pv,)))
    # Just in sync (a PLV of 0.92 over a chance level of 0.9: score 0.2): over the half, not 0.19 as it read.
    pv = pair(plv=0.92, null_plv=0.9, sync_score=0.2, in_sync=True, rel_phase_rad=math.radians(20.0))
    assert pv.meter == pytest.approx(0.5 + 0.5 * 0.2 * math.cos(math.radians(20.0)))
    assert "sync [======----] 0.59  IN SYNC" in render(snapshot(pairs=(pv,)))


def _no_plv(**kw: object) -> object:
    return pair(plv=math.nan, null_plv=math.nan, sync_score=math.nan, in_sync=False, **kw)


def test_both_breathing_before_the_first_window_is_measuring_not_finding() -> None:
    from dataclasses import replace

    from breathsync.session_types import SessionInfo
    from breathsync.terminal import state_text

    snap = snapshot(pairs=(_no_plv(),))  # type: ignore[arg-type]
    assert state_text(snap, 30.0) == "measuring: filling the 30-s sync window"
    assert state_text(snap) == "measuring: filling the sync window"
    info = SessionInfo(
        participants=[], settings={"window_s": 20.0, "speed": 1}, start_utc="", software_version=""
    )
    text = render(snap, info)
    assert "A-B  sync [??????????]  measuring: filling the 20-s sync window" in text
    assert ">>> measuring: filling the 20-s sync window <<<" in text
    # One of them without a phase yet: still waiting for that signal.
    b = replace(snap.participants[1], phase_rad=math.nan, quality="warmup")
    half = replace(snap, participants=(snap.participants[0], b))
    assert state_text(half, 30.0) == "warming up"
    assert "waiting for both breathing signals" in render(half, info)
    gap = replace(snap, participants=(snap.participants[0], replace(b, quality="gap")))
    assert state_text(gap, 30.0) == "finding the rhythm"


def test_lead_lines_draw_the_sessions_verdict_instruction_and_pace_change() -> None:
    from view_snapshots import lead_training

    tr = lead_training(
        "you",
        "partner",
        following=False,
        instruction="you: change your pace, slower or faster; partner: follow",
        leader_rate_change_bpm=-2.4,
    )
    text = render(snapshot(("you", "partner"), training=tr))
    assert "now: you: change your pace, slower or faster; partner: follow" in text
    assert "lead: you lead: partner is not following yet" in text  # the pair is in sync: not enough
    assert "your pace -2.4/min since the instruction" in text
    tr2 = lead_training("A", "B", following=True, rate_tracking_error_bpm=3.0)
    assert "lead: A leads: B FOLLOWS" in render(snapshot(training=tr2))
    matching = lead_training("you", "partner", stage="matching")
    assert "lead: first match: hold sync 60 s, then you lead" in render(
        snapshot(("you", "partner"), training=matching)
    )


def test_a_narrow_terminal_breaks_the_pair_line_before_who_breathed_first() -> None:
    """At 40 columns "phase  +20 deg A breathed first by" ended one row and "0.28 s" began the next."""
    text = render(snapshot(pairs=(pair(),)), width=40)
    assert "  A breathed first by 0.28 s" in text.splitlines()


def test_one_line_a_second_says_measuring_while_the_window_fills() -> None:
    """Piped (not a terminal), the pair read 'PLV - not in sync' for the first window's 30 s, a verdict the
    in-place view does not give ('measuring: filling the 30-s sync window')."""
    out = io.StringIO()
    view = TerminalView(out=out, in_place=False)
    view.on_snapshot(
        snapshot(pairs=(pair(plv=math.nan, null_plv=math.nan, sync_score=math.nan, in_sync=False),))
    )
    view._last = -math.inf  # the next snapshot prints too (one line a second)
    view.on_snapshot(snapshot(pairs=(pair(plv=0.4, in_sync=False),)))
    first, second = out.getvalue().splitlines()
    assert "A-B PLV - measuring;" in first and "not in sync" not in first
    assert "A-B PLV 0.40 not in sync;" in second


def test_one_line_a_second_at_a_natural_end_says_ended_not_no_signal() -> None:
    """At the demo's end (its recording over 10 ms before the session's): "you - no signal (ended); ...
    you-partner PLV - measuring", as if the signal were lost and a window were filling."""
    from breathsync.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["demo", "--headless", "--speed", "300"]) == 0
    lines = [ln for ln in out.getvalue().splitlines() if ln.startswith("[")]
    last = next(ln for ln in reversed(lines) if "PLV" in ln)
    assert "no signal" not in last and "measuring" not in last, last
    assert " - ended;" in last and "you-partner PLV" in last and last.endswith("session ended"), last
