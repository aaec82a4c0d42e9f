"""What the dashboard draws from hand-made snapshots (tests/view_snapshots.py): the sync meter, the lead
panel's verdict and instruction, the cue, the state line and the participant table. No session runs: the
window only draws what it is given."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import math
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from qt_settings import _temporary_default_settings  # noqa: F401 (an autouse fixture)
from view_snapshots import pair, snapshot

from breathsync.session_types import Snapshot
from breathsync.ui.window import DashboardWindow


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> DashboardWindow:
    w = DashboardWindow(QSettings(str(tmp_path / "d.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.timer.stop()  # draw only when the test says
    return w


def show(w: DashboardWindow, *snaps: Snapshot) -> None:
    for s in snaps:
        w._on_snapshot(s)
    w.redraw()


def test_sync_plot_shows_the_meter_so_opposite_phase_stays_empty(window: DashboardWindow) -> None:
    opposite = pair(plv=0.95, sync_score=0.71, in_sync=False, rel_phase_rad=math.pi * 0.99, lag_s=2.5)
    together = pair(plv=0.95, sync_score=0.9, rel_phase_rad=0.0, lag_s=0.0)
    show(
        window,
        *(snapshot(pairs=(opposite,), t_s=t, seq=i) for i, t in enumerate(np.arange(10.0, 20.0, 0.5))),
        *(snapshot(pairs=(together,), t_s=t, seq=i) for i, t in enumerate(np.arange(20.0, 30.0, 0.5))),
    )
    t, y = window.score_curve.getData()
    assert t is not None and y is not None
    assert np.all(y[t < 20.0] < 0.01)  # was 0.71: the score does not care at which angle the pair locks
    assert np.all(y[t >= 20.0] == pytest.approx(0.5 + 0.5 * 0.9))  # in sync: over the line at 0.5
    assert window.in_sync_line.value() == 0.5


def test_state_says_measuring_until_the_first_window_is_filled(window: DashboardWindow) -> None:
    no_plv = pair(plv=math.nan, null_plv=math.nan, sync_score=math.nan, in_sync=False)
    show(window, snapshot(pairs=(no_plv,), t_s=20.0))
    assert window.state.kind == "warmup"
    assert window.state.text == f"measuring: filling the {window.sync_window.value():g}-s sync window"


def _you_and_partner(**kw: object) -> Snapshot:
    from view_snapshots import lead_training

    tr = lead_training("you", "partner", **kw)
    return snapshot(("you", "partner"), training=tr)


def test_lead_panel_draws_the_sessions_verdict_not_its_own(window: DashboardWindow) -> None:
    from view_snapshots import lead_training

    # In sync with a small rate difference, 1-2 s after the instruction: the old panel said "B FOLLOWS".
    not_yet = snapshot(training=lead_training(following=False, rate_tracking_error_bpm=0.3))
    show(window, not_yet)
    assert window.lead_label.text().startswith("A leads: B is not following yet")
    out_of_sync = pair(in_sync=False, rel_phase_rad=1.2, lag_s=1.5)
    show(window, snapshot(pairs=(out_of_sync,), training=lead_training(following=True), seq=2))
    assert window.lead_label.text().startswith("A leads: B FOLLOWS")


def test_instruction_and_pace_change_are_shown(window: DashboardWindow) -> None:
    text = "you: change your pace, slower or faster; partner: follow"
    show(window, _you_and_partner(instruction=text, leader_rate_change_bpm=-2.4, follower_lag_s=0.3))
    assert window.instruction_label.text() == text and not window.instruction_label.isHidden()
    lead = window.lead_label.text()
    assert lead.startswith("you lead: partner is not following yet")  # was "you leads:"
    assert "your pace -2.4/min since the instruction" in lead and "partner 0.3 s behind" in lead
    show(window, _you_and_partner(instruction="", leader_rate_change_bpm=math.nan))
    assert window.instruction_label.isHidden() and "since the instruction" not in window.lead_label.text()


def test_a_follower_called_you_is_addressed_as_you(window: DashboardWindow) -> None:
    from view_snapshots import lead_training

    snap = snapshot(("partner", "you"), training=lead_training("partner", "you", following=True))
    show(window, snap)
    assert window.lead_label.text().startswith("partner leads: you FOLLOW")
    assert (window.cue.who, window.cue.title) == ("partner", "breathe with partner")


@pytest.mark.parametrize(
    ("phase", "stage", "leader", "cue", "title"),
    [
        # The demo: "you" matches the partner (it said "breathe with you" in the lead phase's matching).
        ("match", "matching", None, "partner", "breathe with partner"),
        ("free", "free", None, "partner", "breathe with partner"),
        ("lead", "matching", "you", "partner", "breathe with partner"),
        # Leading: the pace is theirs to set; the cue shows their own breathing and says so.
        ("lead", "leading", "you", "you", "you lead: your breathing"),
        ("lead", "matching", "partner", "partner", "breathe with partner"),
        ("lead", "leading", "partner", "partner", "breathe with partner"),
    ],
)
def test_cue_shows_whom_you_breathe_with(
    window: DashboardWindow, phase: str, stage: str, leader: str | None, cue: str, title: str
) -> None:
    from view_snapshots import lead_training

    labels = ("you", "partner") if leader != "partner" else ("partner", "you")
    follower = None if leader is None else next(x for x in labels if x != leader)
    tr = lead_training(leader or "you", follower or "partner", phase=phase, stage=stage)
    if leader is None:
        from dataclasses import replace

        tr = replace(tr, leader=None, follower=None)
    show(window, snapshot(labels, training=tr))
    assert (window.cue.who, window.cue.title) == (cue, title)


def test_cue_without_a_you_shows_the_pacer_or_the_leader(window: DashboardWindow) -> None:
    from view_snapshots import lead_training, participant

    parts = (participant("A"), participant("P", source="sim:pacer"), participant("B"))
    show(window, snapshot(("A", "P", "B"), participants=parts, pairs=()))
    assert (window.cue.who, window.cue.title) == ("P", "breathe with P")
    show(window, snapshot(("A", "P", "B"), participants=parts, pairs=(), training=lead_training("B", "A")))
    assert (window.cue.who, window.cue.title) == ("B", "breathe with B")
    window.cue_who.setCurrentText("A")
    show(window, snapshot(("A", "P", "B"), participants=parts, pairs=()))
    assert (window.cue.who, window.cue.title) == ("A", "breathe with A")


def test_a_failed_sources_reason_is_shown_whole(window: DashboardWindow) -> None:
    from view_snapshots import participant

    reason = (
        "lsl: no stream named 'belt-B' found on the network in 10 s: check the stream name, that the sender "
        "is running and that both computers are on the same network"
    )
    b = participant(
        "B",
        source="lsl:belt-B",
        source_status="failed",
        status_reason=reason,
        receiving=False,
        phase_rad=math.nan,
    )
    show(window, snapshot(participants=(participant("A"), b)))
    cell = window.table.item(1, 2)
    assert (
        cell.text() == cell.toolTip() == f"failed ({reason})"
    )  # the cell is cut where narrow: not its tooltip
    assert not window.reasons_label.isHidden()
    assert window.reasons_label.text() == f"B (lsl:belt-B) failed: {reason}"
    show(window, snapshot(seq=2))
    assert window.reasons_label.isHidden()


def test_traces_start_at_session_time_zero(window: DashboardWindow) -> None:
    from view_snapshots import participant

    t = np.arange(0.0, 12.0, 0.05)
    show(
        window,
        snapshot(participants=(participant("A", new_t=t, new_wave=np.sin(t)), participant("B")), t_s=12.0),
    )
    (x0, x1), _ = window._traces["A"].plot.viewRange()
    assert x0 == pytest.approx(0.0, abs=1e-6) and x1 == pytest.approx(window.span.value())  # was -33 to 12
    t2 = np.arange(12.0, 100.0, 0.05)
    show(
        window,
        snapshot(
            participants=(participant("A", new_t=t2, new_wave=np.sin(t2)), participant("B")), t_s=100.0, seq=2
        ),
    )
    (x0, x1), _ = window._traces["A"].plot.viewRange()
    assert x1 == pytest.approx(100.0, abs=0.1) and x0 == pytest.approx(100.0 - window.span.value(), abs=0.1)


def test_the_state_line_is_drawn_from_the_sessions_state_value(window: DashboardWindow) -> None:
    """The kind (colour, shape) comes with the words from session_types.sync_state: the dashboard no longer
    re-reads the terminal's words ("IN SYNC 0:45") to find the kind and re-split them."""
    show(window, snapshot(pairs=(pair(sync_run_s=45.0),)))
    assert (window.state.kind, window.state.text) == ("in_sync", "in sync 0:45")
    show(window, snapshot(pairs=(pair(in_sync=False),), seq=2))
    assert (window.state.kind, window.state.text) == ("finding", "finding the rhythm")
    from view_snapshots import participant

    lost = (participant("A"), participant("B", receiving=False))
    show(window, snapshot(participants=lost, seq=3))
    assert (window.state.kind, window.state.text) == ("no_signal", "no signal from B")


def test_with_three_people_the_plot_shows_the_pair_the_goal_counts(window: DashboardWindow) -> None:
    """The sync plot showed the first pair (A-B) while the goal bar counted the run of the pair in sync
    longest (here B-C): the session names that pair (TrainingView.pair) and the plot follows it."""
    from dataclasses import replace

    ab = pair("A", "B", plv=0.5, null_plv=0.6, sync_score=0.0, in_sync=False, rel_phase_rad=0.0)
    ac = pair("A", "C", plv=0.5, null_plv=0.6, sync_score=0.0, in_sync=False, rel_phase_rad=0.0)
    bc = pair("B", "C", plv=0.95, null_plv=0.5, sync_score=0.9, in_sync=True, rel_phase_rad=0.0)
    snaps = []
    for i, t in enumerate(np.arange(10.0, 20.0, 0.5)):
        s = snapshot(("A", "B", "C"), pairs=(ab, ac, bc), t_s=float(t), seq=i)
        snaps.append(replace(s, training=replace(s.training, pair=("B", "C"))))
    show(window, *snaps)
    _, y = window.score_curve.getData()
    assert y is not None and np.all(y == pytest.approx(0.5 + 0.5 * 0.9))  # B-C's meter, not A-B's 0.42


def test_the_goal_bar_counts_whole_seconds_as_the_clock_does(window: DashboardWindow) -> None:
    """7.6 s in sync read "goal: 8 / 60 s in sync" beside the pair's "in sync 0:07 so far"."""
    from dataclasses import replace

    s = snapshot(pairs=(pair(time_in_sync_s=7.6, sync_run_s=7.6),))
    show(window, replace(s, training=replace(s.training, progress_s=7.6)))
    assert window.goal.value() == 7 and window.goal.text() == "goal: 7 / 60 s in sync"
    assert window.score_title == "A-B: in sync 0:07 so far"


def test_the_sync_meter_keeps_each_pairs_history_when_the_pair_shown_changes(
    window: DashboardWindow,
) -> None:
    """With 3+ people the pair shown is the goal's (the pair in sync longest right now), which changes: the
    meter's history was cleared at each change, so after a switch it drew only the seconds since, under a
    title counting the whole session ("in sync 0:41 so far" over 17 s)."""
    from breathsync.session_types import TrainingView

    labels = ("A", "B", "C")

    def at(t: float, shown: tuple[str, str]) -> Snapshot:
        training = TrainingView(
            phase="match", stage="matching", goal_s=60.0, progress_s=12.0, goal_reached=False, pair=shown
        )
        pairs = (pair("A", "B"), pair("A", "C", in_sync=False), pair("B", "C", in_sync=False))
        return snapshot(labels, pairs=pairs, training=training, t_s=t, seq=int(t * 10))

    show(window, *(at(t, ("A", "B")) for t in np.arange(1.0, 100.0, 0.5)))
    show(window, *(at(t, ("A", "C")) for t in np.arange(100.0, 120.0, 0.5)))
    t, _ = window.score_curve.getData()
    assert t[0] == 1.0 and t[-1] == 119.5  # A-C's history from the start, though it was not shown then
    show(window, *(at(t, ("A", "B")) for t in np.arange(120.0, 125.0, 0.5)))
    t, band = window.band_curve.getData()
    assert t[0] == 1.0 and t[-1] == 124.5 and np.isfinite(band).all()  # A-B's, in sync throughout
    assert window.score_title.startswith("A-B")


def test_the_groups_order_is_shown_beside_its_chance_level(window: DashboardWindow) -> None:
    # R of three people says little by itself (about 0.5 for strangers): the label gives its chance level,
    # and says when R is above it.
    from dataclasses import replace

    labels = ("A", "B", "C")
    pairs = (pair("A", "B"), pair("A", "C"), pair("B", "C"))
    base = snapshot(labels, pairs=pairs)
    show(window, replace(base, group_r=0.62, group_chance=0.81))
    assert window.group_label.text() == "group order R 0.62 (chance 0.81)"
    show(window, replace(base, seq=base.seq + 1, group_r=0.93, group_chance=0.81))
    assert window.group_label.text() == "group order R 0.93 (above chance 0.81)"
