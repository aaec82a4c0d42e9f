"""The training phases of a session: ``free`` (no goal), ``match`` ("breathe together" until a pair's run
in sync lasts the goal) and ``lead`` ("A and B breathe together; then A leads": once sync has held for the
goal, the leader is told to change pace; whether they did, and whether the follower followed), with the
instruction, the training view of each snapshot and the training summary.

:class:`Trainer` owns the training's state. The :class:`~breathsync.session.Session` calls it at fixed
moments: :meth:`Trainer.lead_step` at each of the lead pair's window ends it judges (the same at any
--speed), :meth:`Trainer.update` and :meth:`Trainer.view` at each snapshot, :meth:`Trainer.summary` at the
end. The trainer reads only what it is given: the participants (their labels, confirmed breaths, grid rings
and whether they receive), the pairs (their goal and latest view) and the settings, and says what happens
through the session's event function. asyncio-free, no Qt.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from breathsync.dsp import pace
from breathsync.dsp.pipeline import BreathEvent, Quality
from breathsync.dsp.sync import GridRing
from breathsync.session_types import PairView, TrainingView, is_you, possessive, says

#: Lead phase: the leader has changed pace when the breaths since the instruction differ from those of the
#: minute before it beyond the leader's own breath-to-breath wander, and the last ones by at least this
#: (breaths/min; :mod:`breathsync.dsp.pace`: a CUSUM of standardized log breath intervals). It used to be
#: the live rate (60 / mean interval over 40 s) moved 2/min from its value at the instruction: 5.4 s
#: later on simulated leaders (42.2 s after the start of a change, median, against 36.8 s) and, on real
#: breathing with no change made on purpose, a "change" within a minute of 32 of 52 instructions, against 8
#: (benchmarks/bench_lead.py). 2/min is a modest change to ask for (12 -> 10/min).
LEAD_CHANGE_BPM = pace.MIN_CHANGE_BPM
#: ... and the follower's rate must have moved the same way by at least this fraction of the leader's change.
FOLLOW_FRACTION = 0.5
#: Lead phase: the leader is reminded to change pace after this long without a change (session s).
LEAD_REMIND_S = 45.0


class TrainingConfig(Protocol):
    """The settings the training reads (:class:`~breathsync.session.SessionConfig`)."""

    @property
    def phase(self) -> str: ...  # match | lead | free
    @property
    def goal_s(self) -> float: ...  # match: hold sync this long; lead: hold sync this long before leading
    @property
    def follow_hold_s(self) -> float: ...  # lead: "partner following" after following this long


class Breather(Protocol):
    """What the training reads of a participant (the session's ``_Participant``)."""

    @property
    def label(self) -> str: ...
    @property
    def breath_log(self) -> deque[BreathEvent]: ...  # the latest breaths (onsets, when confirmed)
    @property
    def ring(self) -> GridRing: ...  # the grid history: "rate" and "quality" are read
    @property
    def receiving(self) -> bool: ...


class Pair(Protocol):
    """What the training reads of a pair (the session's ``_PairState``)."""

    @property
    def a(self) -> Breather: ...
    @property
    def b(self) -> Breather: ...
    @property
    def goal_at(self) -> float | None: ...  # when its run in sync first lasted goal_s
    @property
    def view(self) -> PairView | None: ...  # its latest view (the run in sync, the lag)


class EventFn(Protocol):
    """The session's event function (:meth:`Session._event <breathsync.session.Session>`)."""

    def __call__(self, kind: str, text: str, who: tuple[str, ...] = (), t: float | None = None) -> None: ...


@dataclass
class _Training:
    stage: str
    goal_reached: bool = False
    goal_reached_at: float | None = None
    leading_since: float | None = None  # when the leader was told to change pace
    # The leader's rate at that moment: 60 / their mean breath interval over the minute before it (their
    # pace baseline, pace.baseline_before).
    leader_rate0: float = math.nan
    leader_change: float = math.nan  # the rate of the leader's latest breaths minus leader_rate0
    leader_moved_at: float | None = None  # the first time the leader had changed pace (pace.PaceChange)
    change_reported: bool = False  # a pace_changed event since the instruction or the last reminder
    # Per participant (leader, follower): their breaths since the instruction against the minute before it,
    # and the onset of the last breath handed to it (Trainer._pace_update).
    paces: dict[str, pace.PaceChange] = field(default_factory=dict)
    pace_onsets: dict[str, float] = field(default_factory=dict)
    prompt_at: float | None = None  # the last time the leader was told (or seen) to change pace
    tracking_since: float | None = None  # the follower has been tracking the change since then
    following: bool = False  # the verdict now
    following_at: float | None = None  # the first time the verdict was "following"
    following_time_s: float = 0.0  # how long it was
    following_reported: bool = False
    ask: str = "change"  # what the pair is asked now: change (the leader's pace), follow, keep (going)


class Trainer:
    """The training phases of one session (see the module's docstring).

    Parameters
    ----------
    config
        The session's settings (:class:`TrainingConfig`).
    fs_hz
        The participants' grid rate (window ends and rings are grid indices at this rate).
    parts, pairs
        The session's participants and pairs (read as they change, never changed here).
    leader, follower
        Who leads in the lead phase (the first participant unless the settings say) and who follows (the
        first other participant; None in a session of one).
    event
        Where the training's events go (``goal_reached``, ``phase_stage``, ``partner_following``).
    """

    def __init__(
        self,
        config: TrainingConfig,
        fs_hz: float,
        parts: Sequence[Breather],
        pairs: Sequence[Pair],
        leader: str,
        follower: str | None,
        event: EventFn,
    ) -> None:
        self.config = config
        self._fs = fs_hz
        self._parts = parts
        self._pairs = pairs
        self._leader = leader
        self._follower = follower
        self._event = event
        stage = {"match": "matching", "lead": "matching", "free": "free"}[config.phase]
        self._training = _Training(stage=stage)

    def _main_pair(self) -> Pair | None:
        if not self._pairs:
            return None
        if self.config.phase == "lead":
            for ps in self._pairs:
                if {ps.a.label, ps.b.label} == {self._leader, self._follower}:
                    return ps
        # The pair that has been in sync longest right now.
        return max(self._pairs, key=lambda ps: ps.view.sync_run_s if ps.view else 0.0)

    def update(self) -> None:
        """At each snapshot (after the pairs' windows are scored and judged): the match phase's goal, when a
        run in sync of any pair first lasted it, stamped at its window end as the events are
        (Session._judge). The lead phase moves on at the lead pair's window ends (:meth:`lead_step`)."""
        cfg, tr = self.config, self._training
        if cfg.phase != "match" or tr.goal_reached:
            return
        hits = [q.goal_at for q in self._pairs if q.goal_at is not None]
        if hits:
            tr.goal_reached = True
            tr.goal_reached_at = goal_at = min(hits)
            self._event("goal_reached", f"goal reached: in sync for {cfg.goal_s:.0f} s", t=goal_at)

    def lead_step(self, ps: Pair, k: int, dt: float, in_sync: bool) -> None:
        """The lead phase at the lead pair's window end ``k`` (grid index), just judged ``in_sync``: the
        instruction once sync has held for the goal, then the verdict (:meth:`_update_following`)."""
        cfg, tr = self.config, self._training
        now = k / self._fs
        lead, fol = self._leader, self._follower or ""
        if tr.stage == "matching" and ps.goal_at is not None:
            tr.stage = "leading"
            tr.goal_reached = True
            tr.goal_reached_at = tr.leading_since = tr.prompt_at = now
            # Their pace baselines, the minute of breaths before the instruction (and their rates then).
            known = self._pace_start(lead, k) is not None
            self._pace_start(fol, k)
            # The change so far, as every later window end gives it (none: no breath since): a snapshot
            # right after the instruction showed it unknown.
            tr.leader_change = 0.0 if known else math.nan
            self._event(
                "phase_stage",
                f"sync held for {cfg.goal_s:.0f} s: {lead}, now change your pace, slower or faster; "
                f"{fol}, follow",
                (lead, fol),
                now,
            )
        elif tr.stage == "leading":
            self._update_following(now, dt, k, in_sync)

    def _update_following(self, now: float, dt: float, k: int, in_sync: bool) -> None:
        """The lead phase's verdict. "Following" only once the leader has changed pace since the instruction
        (:mod:`breathsync.dsp.pace`: the breaths since, against the minute of breaths before it, beyond the
        leader's own breath-to-breath wander, the latest ones at least :data:`LEAD_CHANGE_BPM` from it) and
        the rate of the follower's last breaths (:attr:`breathsync.dsp.pace.PaceChange.change_bpm`, against
        their own baseline before the instruction) has moved the same way by at least
        :data:`FOLLOW_FRACTION` of the leader's change, with the pair in sync and the rate tracking error
        under 1.5/min, all for ``follow_hold_s``: a pair that merely stays in sync (two metronomes, a leader
        who does not change pace) is not following anyone, nor is a partner who keeps their pace while the
        leader's changes. A leader who has not changed pace for :data:`LEAD_REMIND_S` is reminded; the
        change itself is an event (``pace_changed``), once, and again only after a reminder (a leader back
        near the pace before the instruction for :data:`LEAD_REMIND_S` is asked to change it again)."""
        cfg, tr = self.config, self._training
        lead, fol = self._leader, self._follower or ""
        lp, fp = self._pace_update(lead, k), self._pace_update(fol, k)
        # Without the leader's signal now (or a baseline yet), nothing is judged.
        signal = lp is not None and math.isfinite(self._recent_rate(lead, 5.0, k))
        d_lead = lp.change_bpm if lp is not None and signal else math.nan
        d_fol = fp.change_bpm if fp is not None else math.nan
        tr.leader_change = d_lead
        way = lp.changed if lp is not None and signal else 0  # +1 faster, -1 slower, 0 no change
        moved = way != 0
        if moved:
            tr.prompt_at = now
            if tr.leader_moved_at is None:
                tr.leader_moved_at = now
            if not tr.change_reported:
                # Once, and again only after a reminder: a change that wavers across the threshold
                # breath by breath is one change.
                tr.change_reported = True
                self._event(
                    "pace_changed",
                    f"{says(lead, 'has', 'have')} changed pace ({tr.leader_rate0:.1f} -> "
                    f"{tr.leader_rate0 + d_lead:.1f}/min); {fol}, follow",
                    (lead, fol),
                    now,
                )
        elif math.isnan(d_lead):  # no signal (or no rate yet): nothing to remind anyone of
            tr.prompt_at = now
        elif tr.prompt_at is not None and now - tr.prompt_at >= LEAD_REMIND_S:
            tr.prompt_at = now
            tr.change_reported = False
            # After a change, the leader's last breaths are back near the pace before the instruction.
            why = (
                f"no change in {LEAD_REMIND_S:.0f} s"
                if tr.leader_moved_at is None
                else f"back near your old pace for {LEAD_REMIND_S:.0f} s"
            )
            again = "" if tr.leader_moved_at is None else " again"
            self._event(
                "phase_stage",
                f"{lead}, change your pace{again}, slower or faster ({why}); {fol}, follow",
                (lead, fol),
                now,
            )
        err, _ = self._lead_metrics(k)
        tracking = (
            moved
            and way * d_fol >= FOLLOW_FRACTION * abs(d_lead)  # False when unknown (NaN)
            and in_sync
            and err < 1.5  # False when unknown
        )
        if not math.isnan(d_lead):  # while a signal is missing, the request stays as it was
            tr.ask = "follow" if moved else "change"
        if not tracking:
            tr.tracking_since = None
            tr.following = False
            return
        if tr.tracking_since is None:
            tr.tracking_since = now
        was = tr.following
        tr.following = now - tr.tracking_since >= cfg.follow_hold_s
        if tr.following and was:
            tr.following_time_s += dt
        if tr.following:
            tr.ask = "keep"
        if tr.following and tr.following_at is None:
            tr.following_at = now
        if tr.following and not tr.following_reported:
            tr.following_reported = True
            self._event(
                "partner_following",
                f"{says(fol, 'is', 'are')} following {possessive(lead)} change of pace "
                f"({tr.leader_rate0:.1f} -> {tr.leader_rate0 + d_lead:.1f}/min)",
                (fol, lead),
                now,
            )

    def _participant(self, label: str) -> Breather | None:
        """The participant labelled ``label`` (None for the lead phase's missing follower, "")."""
        return next((x for x in self._parts if x.label == label), None)

    def _pace_start(self, label: str, k: int) -> pace.PaceChange | None:
        """Start judging ``label``'s pace at window end ``k`` (grid index): the baseline is the breath
        intervals that ended in the minute before the instruction (two minutes for a slow breather,
        :func:`breathsync.dsp.pace.baseline_before`), tracked all the way and confirmed by now; the intervals
        ending after the instruction are the change. Without enough of them (no signal before the
        instruction), the minute before now is the baseline and the change starts from now, tried at every
        window end: a baseline from before the instruction when there is one, so a change since it is not
        taken for the baseline. None while there is none; its rate is the rate before the instruction."""
        tr, now = self._training, k / self._fs
        p = self._participant(label)
        if p is None:
            return None
        at = tr.leading_since if tr.leading_since is not None else now
        base = self._baseline(p, at, now)
        start = at
        if base is None and now > at:
            base, start = self._baseline(p, now, now), now
        if base is None:
            return None
        tr.paces[label] = pace.PaceChange(base)
        tr.pace_onsets[label] = start  # the intervals ending after this onset time count
        if label == self._leader:
            tr.leader_rate0 = base.rate_bpm
        return tr.paces[label]

    def _baseline(self, p: Breather, at: float, now: float) -> pace.PaceBaseline | None:
        """``p``'s pace baseline before ``at`` (session s) from the breaths confirmed by ``now``."""
        since = at - pace.SLOW_BASELINE_S - pace.MAX_INTERVAL_S
        log = [b for b in p.breath_log if b.detected_s <= now and b.onset_s >= since]
        valid = [i > 0 and self._tracked(p, log[i - 1].onset_s, b.onset_s) for i, b in enumerate(log)]
        return pace.baseline_before(
            np.array([b.onset_s for b in log]),
            np.array([b.detected_s for b in log]),
            at,
            valid=np.array(valid, dtype=bool),
            known_by_s=now,
        )

    def _pace_update(self, label: str, k: int) -> pace.PaceChange | None:
        """``label``'s pace since the instruction at window end ``k``: the breaths confirmed by then, each
        interval tracked all the way handed over once (so the same at any --speed); None without a
        baseline (:meth:`_pace_start`)."""
        tr, now = self._training, k / self._fs
        ch = tr.paces.get(label)
        p = self._participant(label)
        if ch is None or p is None:
            return self._pace_start(label, k)
        log, last = p.breath_log, tr.pace_onsets[label]
        i = len(log)
        while i > 0 and log[i - 1].onset_s > last:
            i -= 1
        for j in range(i, len(log)):
            b = log[j]
            if b.detected_s > now:
                break
            if j > 0 and self._tracked(p, log[j - 1].onset_s, b.onset_s):
                ch.add(b.onset_s - log[j - 1].onset_s)
            tr.pace_onsets[label] = b.onset_s
        return ch

    def _tracked(self, p: Breather, t0: float, t1: float) -> bool:
        """Whether ``p``'s breathing was tracked (state OK) all the way from ``t0`` to ``t1`` (session s): no
        gap, restart or breath hold between two onsets, so they make a breath interval."""
        q = p.ring.window(round(t0 * self._fs), round(t1 * self._fs), "quality")
        return bool(q.size) and bool(np.all(q == int(Quality.OK)))

    def _recent_rate(self, label: str, span_s: float, k: int) -> float:
        """The median live rate of a participant over the ``span_s`` of samples ending at grid index ``k``;
        NaN where they had no rate."""
        p = self._participant(label)
        if p is None or p.ring.last_k is None:
            return math.nan
        r = p.ring.window(k - round(span_s * self._fs) + 1, k, "rate")
        r = r[np.isfinite(r)]
        return float(np.median(r)) if r.size else math.nan

    def _lead_metrics(self, k: int | None = None) -> tuple[float, float]:
        """(follower rate tracking error over the 30 s ending at grid index ``k``, default their latest common
        sample, follower lag in s) for the lead phase."""
        lead = self._participant(self._leader)
        fol = self._participant(self._follower or "")
        if lead is None or fol is None or lead.ring.last_k is None or fol.ring.last_k is None:
            return math.nan, math.nan
        if k is None and not (lead.receiving and fol.receiving):
            # The window would end at the last sample of whoever stopped, however long ago: no error.
            return math.nan, math.nan
        k_end = min(lead.ring.last_k, fol.ring.last_k) if k is None else k
        k0 = k_end - round(30.0 * self._fs) + 1
        d = np.abs(lead.ring.window(k0, k_end, "rate") - fol.ring.window(k0, k_end, "rate"))
        err = float(np.nanmean(d)) if np.isfinite(d).any() else math.nan
        lag = math.nan
        for ps in self._pairs:
            if ps.view is not None and math.isfinite(ps.view.lag_s):
                if (ps.a.label, ps.b.label) == (self._leader, self._follower):
                    lag = ps.view.lag_s
                elif (ps.b.label, ps.a.label) == (self._leader, self._follower):
                    lag = -ps.view.lag_s
        return err, lag

    def view(self) -> TrainingView:
        """What the snapshot shows of the training (:class:`~breathsync.session_types.TrainingView`)."""
        cfg, tr = self.config, self._training
        ps = self._main_pair()
        run = ps.view.sync_run_s if ps is not None and ps.view is not None else 0.0
        err, lag = self._lead_metrics() if cfg.phase == "lead" else (math.nan, math.nan)
        return TrainingView(
            phase=cfg.phase,
            stage=tr.stage,
            goal_s=cfg.goal_s,
            progress_s=min(run, cfg.goal_s) if cfg.phase != "free" else run,
            goal_reached=tr.goal_reached,
            goal_reached_at_s=math.nan if tr.goal_reached_at is None else tr.goal_reached_at,
            leader=self._leader if cfg.phase == "lead" else None,
            follower=self._follower if cfg.phase == "lead" else None,
            rate_tracking_error_bpm=err,
            follower_lag_s=lag,
            leader_rate_change_bpm=tr.leader_change if tr.stage == "leading" else math.nan,
            following=tr.following,
            instruction=self._instruction(),
            pair=None if ps is None else (ps.a.label, ps.b.label),
        )

    def _instruction(self) -> str:
        """What the participants are asked to do now, in words ("" in the free phase or alone)."""
        cfg, tr = self.config, self._training
        if cfg.phase == "free" or len(self._parts) < 2:
            return ""
        if cfg.phase == "match":
            return f"{join_and(p.label for p in self._parts)}: breathe together"
        lead, fol = self._leader, self._follower or ""
        if tr.stage == "matching":
            return f"{lead} and {fol}: breathe together; then {says(lead, 'leads', 'lead')}"
        if tr.ask == "keep":
            return f"{lead}: keep leading; {fol}: keep following"
        if tr.ask == "follow":
            # Said to the follower, so a leader labelled "you" is not "your" (that would be the follower's).
            new_pace = "the new pace you set" if is_you(lead) else f"{lead}'s new pace"
            return f"{fol}: follow {new_pace}"
        return f"{lead}: change your pace, slower or faster; {fol}: follow"

    def summary(self) -> dict[str, Any]:
        """The training phase's outcome: the goal and when it was reached; in the lead phase also when the
        leader was told to change pace, whether and when they did, and whether and when the follower was
        following that change (the session's verdict, see :meth:`_update_following`) and for how long."""
        cfg, tr = self.config, self._training

        def when(t: float | None) -> float | None:
            return None if t is None else round(t, 1)

        out: dict[str, Any] = {
            "phase": cfg.phase,
            "stage": tr.stage,
            "goal_s": cfg.goal_s,
            "goal_reached": tr.goal_reached,
            "goal_reached_at_s": when(tr.goal_reached_at),
        }
        if cfg.phase == "lead":
            out.update(
                leader=self._leader,
                follower=self._follower,
                instructed_at_s=when(tr.leading_since),
                leader_rate_at_instruction_bpm=(
                    None if math.isnan(tr.leader_rate0) else round(tr.leader_rate0, 2)
                ),
                leader_changed_at_s=when(tr.leader_moved_at),
                following=tr.following_at is not None,
                following_at_s=when(tr.following_at),
                following_s=round(tr.following_time_s, 1),
            )
        return out


def join_and(words: Iterable[str]) -> str:
    """``A``, ``A and B``, ``A, B and C`` (also the session's words for its events)."""
    w = list(words)
    return w[0] if len(w) == 1 else ", ".join(w[:-1]) + " and " + w[-1]
