"""The lead phase's verdict ("following" only when the leader changed pace and the follower went along),
its instruction and summary, and what a participant whose samples stopped shows."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import breathing, run_collecting, run_main

from breathsync.io.csvfile import write_recording
from breathsync.live import training_line
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.session.training import Trainer
from breathsync.session_types import Event, Snapshot, clock_text
from breathsync.sources.base import PhaseProbe, SessionClock, Source
from breathsync.sources.memory import MemorySource
from breathsync.sources.sim import SimSource

SPEED = 100.0


def _session(leader: Source, follower: Source, probes: dict[str, PhaseProbe], **cfg: object) -> Session:
    return Session(
        [ParticipantSpec("A", leader), ParticipantSpec("B", follower)],
        SessionClock(SPEED),
        SessionConfig(phase="lead", leader="A", **cfg),  # type: ignore[arg-type]
        probes=probes,
    )


def test_a_participant_whose_source_ended_shows_no_rate_and_no_signal() -> None:
    # B's simulation ends at 100 s: 25 s later it showed "12.5/min ok" and the pair a rate error of 2.1/min
    # from a window ending at B's last sample.
    leader = SimSource("lead", rate_bpm=12.0, after_s=50.0, ramp_s=60.0, to_bpm=8.0, seed=5)
    other = SimSource("steady", rate_bpm=12.0, seed=6, duration_s=100.0)
    session = _session(leader, other, {}, goal_s=20.0)
    snaps: list[Snapshot] = run_collecting(session, 125.0)
    before = [s for s in snaps if 80.0 < s.t_s < 95.0]
    assert before and all(math.isfinite(s.participant("B").rate_bpm) for s in before)
    last = snaps[-1]
    b = last.participant("B")
    assert not b.receiving and b.source_status == "ended"
    assert math.isnan(b.rate_bpm) and math.isnan(b.phase_rad)
    assert b.quality == "no_signal"
    assert math.isnan(last.training.rate_tracking_error_bpm)
    assert math.isnan(last.training.follower_lag_s)
    a = last.participant("A")
    assert a.receiving and math.isfinite(a.rate_bpm) and a.quality == "ok"


def _paced(
    duration_s: float,
    rate0: float,
    rate1: float,
    ramp_from_s: float,
    ramp_s: float,
    delay_s: float = 0.0,
    **kw: float,
) -> MemorySource:
    """A belt-like breather (inhale 40% of the cycle) at ``rate0`` breaths/min that changes linearly to
    ``rate1`` from ``ramp_from_s`` over ``ramp_s`` seconds, ``delay_s`` behind that schedule."""
    fs = 25.0
    t = np.arange(0.0, duration_s, 1.0 / fs)
    tau = np.clip((t - delay_s - ramp_from_s) / ramp_s, 0.0, 1.0)
    cyc = np.cumsum((rate0 + (rate1 - rate0) * tau) / 60.0) / fs - delay_s * rate0 / 60.0
    frac = cyc % 1.0
    ph = np.where(frac < 0.4, np.pi * frac / 0.4, np.pi + np.pi * (frac - 0.4) / 0.6)
    y = 0.5 * (1 - np.cos(ph)) + 0.02 * np.random.default_rng(1).standard_normal(t.size)
    return MemorySource(t, {"resp": y}, **kw)  # type: ignore[arg-type]


def _lead_session(
    follower: MemorySource, leader: MemorySource | None = None, duration_s: float = 200.0
) -> tuple[list[Snapshot], Session]:
    leader = leader or _paced(duration_s + 10.0, 12.0, 8.0, 90.0, 40.0)
    session = _session(leader, follower, {}, goal_s=20.0)
    return run_collecting(session, duration_s), session


def _lead(
    follower: MemorySource, leader: MemorySource | None = None, duration_s: float = 200.0
) -> list[Snapshot]:
    return _lead_session(follower, leader, duration_s)[0]


def _events(snaps: list[Snapshot], kind: str) -> list[Event]:
    return [e for s in snaps for e in s.events if e.kind == kind]


def test_a_follower_who_follows_the_leaders_change_is_following() -> None:
    snaps, session = _lead_session(_paced(210.0, 12.0, 8.0, 90.0, 40.0, delay_s=0.3))
    start = _events(snaps, "phase_stage")[0].t_s
    assert start < 90.0  # told to change pace before the change
    fol = _events(snaps, "partner_following")
    assert len(fol) == 1 and fol[0].participants == ("B", "A")
    trs = [s.training for s in snaps]
    # The verdict turns "following" in the snapshot that carries the event.
    i = next(i for i, s in enumerate(snaps) if s.training.following)
    assert fol[0] in snaps[i].events
    # Not before the leader's rate had moved by 2/min, and then held for follow_hold_s (times of the window
    # ends that judged them, as the event's).
    summary = session.summary()["training"]
    assert summary["following_at_s"] >= summary["leader_changed_at_s"] + 10.0
    assert fol[0].t_s == pytest.approx(summary["following_at_s"], abs=1e-3)
    early = [s.training.leader_rate_change_bpm for s in snaps if s.t_s < summary["leader_changed_at_s"]]
    assert early and not any(abs(x) >= 2.0 for x in early)
    assert trs[-1].following and trs[-1].leader_rate_change_bpm < -3.0
    assert trs[-1].instruction == "A: keep leading; B: keep following"
    assert any(tr.instruction == "A: change your pace, slower or faster; B: follow" for tr in trs)
    assert trs[0].instruction == "A and B: breathe together; then A leads"
    told = next(i for i, s in enumerate(snaps) if s.training.stage == "leading")
    assert _events(snaps, "phase_stage")[0] in snaps[told].events
    assert all(math.isnan(s.training.leader_rate_change_bpm) for s in snaps[:told])
    # The change itself is an event, once, when the verdict first says so, before the following.
    moved = _events(snaps, "pace_changed")
    assert len(moved) == 1 and moved[0].participants == ("A", "B")
    assert (
        moved[0].t_s == pytest.approx(summary["leader_changed_at_s"], abs=1e-3) and moved[0].t_s < fol[0].t_s
    )
    assert moved[0].text.startswith("A has changed pace (12.0 -> ") and moved[0].text.endswith(
        "/min); B, follow"
    )


def test_a_partner_who_keeps_their_pace_is_not_following() -> None:
    # In sync at 12/min, so the leader is told to change pace; the leader slows to 8/min, the partner
    # (a metronome) does not. It said "following" 10 s after the instruction, before any change.
    snaps = _lead(_paced(210.0, 12.0, 12.0, 90.0, 40.0))
    assert _events(snaps, "phase_stage")
    assert not _events(snaps, "partner_following")
    assert not any(s.training.following for s in snaps)
    assert min(s.training.leader_rate_change_bpm for s in snaps if s.training.stage == "leading") < -3.0
    assert snaps[-1].training.instruction == "B: follow A's new pace"


def test_two_metronomes_are_never_following_and_the_leader_is_reminded() -> None:
    snaps = _lead(_paced(210.0, 12.0, 12.0, 0.0, 1.0, delay_s=0.3), _paced(210.0, 12.0, 12.0, 0.0, 1.0))
    stages = _events(snaps, "phase_stage")
    assert len(stages) >= 2  # the instruction, then a reminder after 45 s without a change
    assert stages[1].text == "A, change your pace, slower or faster (no change in 45 s); B, follow"
    assert stages[1].t_s - stages[0].t_s >= 44.0
    assert not _events(snaps, "pace_changed")
    assert not _events(snaps, "partner_following") and not any(s.training.following for s in snaps)
    leading = [s.training for s in snaps if s.training.stage == "leading"]
    assert leading and all(abs(tr.leader_rate_change_bpm) < 0.5 for tr in leading)


def _event_kinds(folder: Path) -> list[tuple[str, str]]:
    rows = list(csv.DictReader(io.StringIO((folder / "events.csv").read_text(encoding="utf-8"))))
    return [(r["kind"], r["text"]) for r in rows]


@pytest.mark.parametrize(
    ("a", "b", "goal", "duration", "follows"),
    [
        # The audit's cases: two metronomes "followed" 10 s after the instruction; a pacer "followed" a
        # leader who had not changed pace yet.
        ("sim:pacer,rate=12", "sim:pacer,rate=12", "20", "120", False),
        ("sim:lead,rate=12,after=100,ramp=30,to=8,seed=4", "sim:pacer,rate=12", "10", "200", False),
        ("sim:lead,rate=12,after=50,ramp=60,to=8,seed=5", "sim:follow,rate=12,coupling=1.5,delay=0.3,seed=6", "20",
         "150", True),
    ],
)  # fmt: skip
def test_simulated_partners_follow_only_when_they_follow(
    tmp_path: Path, a: str, b: str, goal: str, duration: str, follows: bool
) -> None:
    rec = tmp_path / "rec"
    r = run_main(
        "run", "-p", f"A={a}", "-p", f"B={b}", "--phase", "lead", "--goal", goal, "--duration", duration,
        "--speed", "100", "--quiet", "--record", str(rec), timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    kinds = _event_kinds(rec)
    assert any(k == "phase_stage" and "change your pace" in t for k, t in kinds)
    assert any(k == "partner_following" for k, _ in kinds) is follows
    # The summary (session.json and the printed one) says whether the follower followed, and from when.
    tr = json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]["training"]
    assert tr["goal_reached"] and tr["instructed_at_s"] > 0 and tr["following"] is follows
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("training: lead"))
    if follows:
        first = next(float(t) for t, k in _event_times(rec) if k == "partner_following")
        assert tr["following_at_s"] == pytest.approx(first, abs=0.5) and tr["following_s"] > 0
        assert tr["leader_changed_at_s"] < tr["following_at_s"]
        assert f"B followed from {clock_text(tr['following_at_s'])}" in line
    else:
        assert tr["following_at_s"] is None and tr["following_s"] == 0
        assert "did not" in line and "followed" not in line


def _event_times(folder: Path) -> list[tuple[str, str]]:
    rows = list(csv.DictReader(io.StringIO((folder / "events.csv").read_text(encoding="utf-8"))))
    return [(r["time"], r["kind"]) for r in rows]


def test_the_training_line_says_whether_the_follower_followed() -> None:
    tr: dict[str, object] = {"phase": "lead", "stage": "matching", "goal_reached": False}
    assert training_line(tr) == "training: lead (matching), goal not reached"  # an older summary, too
    tr.update(stage="leading", goal_reached=True, goal_reached_at_s=57.3, leader="A", follower="B")
    tr.update(leader_changed_at_s=None, following=False, following_at_s=None, following_s=0.0)
    assert training_line(tr) == (
        "training: lead (leading), goal reached at 0:57; A did not change pace, so B had nothing to follow"
    )
    tr.update(leader_changed_at_s=95.0)
    assert training_line(tr).endswith("; A changed pace at 1:35, B did not follow")
    tr.update(following=True, following_at_s=112.4, following_s=68.0)
    assert training_line(tr).endswith("; A changed pace at 1:35, B followed from 1:52 for 1:08 in all")
    assert training_line({"phase": "match", "stage": "matching", "goal_reached": True}) == (
        "training: match (matching), goal reached"
    )


def test_without_a_duration_a_session_ends_when_only_simulated_partners_are_left() -> None:
    # A replay with a simulated partner and no --duration ran on forever after the replay had ended.
    t, y, _ = breathing(duration_s=60.0, fs_hz=25, rate_bpm=12, seed=1)
    probes = {"A": PhaseProbe()}
    partner = SimSource("follow", rate_bpm=12.0, coupling=1.5, delay_s=0.3, seed=2, probe=probes["A"])
    session = Session(
        [ParticipantSpec("A", MemorySource(t, {"resp": y})), ParticipantSpec("B", partner, simulated=True)],
        SessionClock(SPEED),
        probes=probes,
    )

    async def main() -> Snapshot:
        return await asyncio.wait_for(session.run(None), timeout=120.0)  # a guard: it used to hang

    final = asyncio.run(main())
    assert final.participant("A").source_status == "ended"
    assert final.participant("B").source_status != "ended"  # it would have gone on
    ends = [e for e in final.events if e.kind == "session_end"]
    assert len(ends) == 1 and "every source but the simulated B has ended" in ends[0].text
    assert final.t_s < 120.0


def test_a_replay_and_a_simulated_partner_without_a_duration_end_with_the_replay(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    t, y, _ = breathing(duration_s=60.0, fs_hz=25, rate_bpm=12, seed=1)
    write_recording(src, t, {"resp": y})
    rec = tmp_path / "rec"
    r = run_main(
        "run", "-p", f"A=replay:{src}", "-p", "B=sim:follow,delay=0.3,seed=2", "--speed", "100", "--quiet",
        "--record", str(rec), timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    kinds = _event_kinds(rec)
    assert ("session_end", "the session ends: every source but the simulated B has ended (a simulated "
            "partner alone is nothing to practise with)") in kinds  # fmt: skip
    assert json.loads((rec / "session.json").read_text(encoding="utf-8"))["duration_s"] < 120.0


def test_a_leader_without_signal_is_not_reminded_to_change_pace() -> None:
    # Two metronomes; the leader's samples stop 10 s after the instruction, for 60 s: no reminder while
    # there is no rate to judge (there was one, 45 s after the instruction).
    leader = _paced(210.0, 12.0, 12.0, 0.0, 1.0, silent_from_s=70.0, silent_until_s=130.0)
    snaps = _lead(_paced(210.0, 12.0, 12.0, 0.0, 1.0, delay_s=0.3), leader, duration_s=150.0)
    stages = _events(snaps, "phase_stage")
    assert stages and stages[0].t_s < 70.0
    assert [e for e in stages[1:] if e.t_s < 135.0] == []


def _lead_labelled(leader_label: str, follower_label: str, follower: MemorySource) -> list[Snapshot]:
    session = Session(
        [
            ParticipantSpec(leader_label, _paced(210.0, 12.0, 8.0, 90.0, 40.0)),
            ParticipantSpec(follower_label, follower),
        ],
        SessionClock(SPEED),
        SessionConfig(phase="lead", leader=leader_label, goal_s=20.0),
    )
    return run_collecting(session, 200.0)


def test_a_leader_labelled_you_is_addressed_in_the_second_person() -> None:
    # The demo's user is "you": the texts read "then you leads" and "partner: follow you's new pace".
    snaps = _lead_labelled("you", "partner", _paced(210.0, 12.0, 12.0, 90.0, 40.0))
    texts = {s.training.instruction for s in snaps} | {e.text for s in snaps for e in s.events}
    assert "you and partner: breathe together; then you lead" in texts
    assert "partner: follow the new pace you set" in texts
    assert not any("you leads" in t or "you's" in t for t in texts), texts
    snaps = _lead_labelled("you", "partner", _paced(210.0, 12.0, 8.0, 90.0, 40.0, delay_s=0.3))
    (fol,) = _events(snaps, "partner_following")
    assert fol.text.startswith("partner is following your change of pace"), fol.text


def test_a_follower_labelled_you_is_addressed_in_the_second_person() -> None:
    snaps = _lead_labelled("A", "you", _paced(210.0, 12.0, 8.0, 90.0, 40.0, delay_s=0.3))
    (fol,) = _events(snaps, "partner_following")
    assert fol.text.startswith("you are following A's change of pace"), fol.text
    texts = {s.training.instruction for s in snaps}
    assert "A and you: breathe together; then A leads" in texts


def test_a_snapshot_right_after_the_instruction_shows_the_leaders_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The instruction is given at a window end; a snapshot published right after it (when it is the last
    window end a snapshot scores, which depends on timing: the two metronome tests failed now and then)
    showed the leader's rate change unknown, as if the leader had no rate."""
    seen: list[float] = []
    step = Trainer.lead_step

    def spy(self: Trainer, ps: object, k: int, dt: float, in_sync: bool) -> None:
        before = self._training.stage
        step(self, ps, k, dt, in_sync)  # type: ignore[arg-type]
        if before == "matching" and self._training.stage == "leading":
            seen.append(self.view().leader_rate_change_bpm)  # what a snapshot now would show

    monkeypatch.setattr(Trainer, "lead_step", spy)
    _lead(_paced(210.0, 12.0, 12.0, 0.0, 1.0), _paced(210.0, 12.0, 12.0, 0.0, 1.0), duration_s=100.0)
    assert len(seen) == 1
    assert abs(seen[0]) < 0.5  # known, and no change yet


def _one_long_breath(
    duration_s: float, long_at_s: float, long_s: float, delay_s: float = 0.0
) -> MemorySource:
    """A breather at 12/min (inhale 40% of the cycle) who takes one slow breath of ``long_s`` seconds from
    ``long_at_s`` (a sigh, a swallow), then goes on at 12/min: no change of pace."""
    fs = 25.0
    t = np.arange(0.0, duration_s, 1.0 / fs) - delay_s
    rate = np.where((t >= long_at_s) & (t < long_at_s + long_s), 60.0 / long_s, 12.0)
    cyc = np.cumsum(rate / 60.0) / fs
    frac = cyc % 1.0
    ph = np.where(frac < 0.4, np.pi * frac / 0.4, np.pi + np.pi * (frac - 0.4) / 0.6)
    y = 0.5 * (1 - np.cos(ph)) + 0.02 * np.random.default_rng(2).standard_normal(t.size)
    return MemorySource(t + delay_s, {"resp": y})


def test_one_long_breath_is_not_a_change_of_pace() -> None:
    """The leader's live rate (60 / mean interval over 40 s) moved 2.7/min for one 15-s breath among 5-s ones,
    so the session said the leader "changed pace" though they breathed on at 12/min. The pace is now judged
    breath by breath against the leader's own wander before the instruction (breathsync.dsp.pace): one long
    breath is not a change."""
    leader = _one_long_breath(210.0, 100.0, 15.0)
    follower = _one_long_breath(210.0, 100.0, 15.0, delay_s=0.3)
    snaps, session = _lead_session(follower, leader)
    start = _events(snaps, "phase_stage")[0].t_s
    assert start < 100.0  # told to change pace before the long breath
    summary = session.summary()["training"]
    assert summary["leader_changed_at_s"] is None, summary
    assert not _events(snaps, "partner_following")


def _there_and_back(
    duration_s: float, rate0: float, rate1: float, there_s: float, back_s: float
) -> MemorySource:
    """A belt-like breather at ``rate0`` breaths/min that moves to ``rate1`` over 10 s from ``there_s`` and
    back to ``rate0`` over 10 s from ``back_s``."""
    fs = 25.0
    t = np.arange(0.0, duration_s, 1.0 / fs)
    tau = np.clip((t - there_s) / 10.0, 0.0, 1.0) - np.clip((t - back_s) / 10.0, 0.0, 1.0)
    frac = (np.cumsum((rate0 + (rate1 - rate0) * tau) / 60.0) / fs) % 1.0
    ph = np.where(frac < 0.4, np.pi * frac / 0.4, np.pi + np.pi * (frac - 0.4) / 0.6)
    y = 0.5 * (1 - np.cos(ph)) + 0.02 * np.random.default_rng(2).standard_normal(t.size)
    return MemorySource(t, {"resp": y})  # type: ignore[arg-type]


def test_a_leader_back_at_the_old_pace_is_asked_to_change_it_again() -> None:
    # In sync at 12/min; the leader slows to 8/min at 90 s and is back at 12 from 150 s, with a metronome
    # partner. The reminder 45 s later said "no change in 45 s" after a change the summary reported, and
    # events.csv had no word of the change.
    snaps, session = _lead_session(
        _paced(330.0, 12.0, 12.0, 0.0, 1.0, delay_s=0.3),
        _there_and_back(330.0, 12.0, 8.0, 90.0, 150.0),
        320.0,
    )
    changed_at = session.summary()["training"]["leader_changed_at_s"]
    assert changed_at is not None and 90.0 < changed_at < 150.0
    moved = _events(snaps, "pace_changed")
    assert [e.t_s for e in moved][:1] == [pytest.approx(changed_at, abs=1e-3)]
    stages = _events(snaps, "phase_stage")
    again = [e for e in stages if e.t_s > changed_at]
    assert again, [e.text for e in stages]
    assert again[0].text == (
        "A, change your pace again, slower or faster (back near your old pace for 45 s); B, follow"
    )
    # One event for the change: a second only after a reminder.
    assert all(any(r.t_s < m.t_s for r in again) for m in moved[1:])
