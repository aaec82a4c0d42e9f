"""What a live session publishes: snapshots, events and the session's description; and the words every view
says them in (the state, the lead phase, who breathed first, whose breathing to follow).

Sinks (the dashboard, the terminal view, the recorder, the LSL outlet) only read these; nothing here
imports asyncio or Qt. The views take their words from here, never from each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from breathsync.dsp._types import FloatArray
from breathsync.sources.base import DERIVED_RR_NO_SIGNAL_S, SampleChunk

#: PairView.meter: the pair is in sync exactly when the meter is at or over this (shown to two decimals:
#: 0.50 and up in sync, at most 0.49 not).
METER_IN_SYNC = 0.5
METER_OUT_CAP = 0.49


@dataclass(frozen=True)
class Event:
    """Something that happened: ``kind`` is one of the names below, ``text`` says it in words."""

    t_s: float
    kind: str  # in_sync | lost_sync | goal_reached | pace_changed | partner_following | source_lost | source_back |
    #            source_failed | source_ended | inverted_signal | alarm | phase_stage | signal_note |
    #            session_end | battery_low | source_detail
    text: str
    participants: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParticipantView:
    """One participant in a snapshot. ``new_*`` are the grid samples (20 Hz) added since the previous
    snapshot: a sink that wants every sample (the recorder, a scrolling trace) reads those."""

    label: str
    source: str  # what the source is, e.g. "replay:nk_rest5_100hz.csv" or "sim:follow"
    source_status: str  # SourceStatus value: starting, streaming, no signal, reconnecting, ended, failed
    status_reason: str
    signal: str  # resp | rr | acc
    receiving: bool  # samples arrived within the last 2 s of session time
    t_s: float  # time of the latest grid sample (NaN before the first)
    phase_rad: float  # NaN when unknown
    rate_bpm: float  # NaN when unknown
    #: Quality name in lower case: ok, warmup, gap, flat, no_breathing; or no_signal (the participant is
    #: not receiving: not a pipeline state)
    quality: str
    breaths: int
    inverted_suspected: bool  # a belt's or accelerometer's shape only (never for breathing from heart beats)
    new_t: FloatArray
    new_wave: FloatArray
    new_phase: FloatArray
    new_rate: FloatArray
    new_quality: FloatArray
    battery_pct: float | None = None
    #: An accelerometer's breathing direction (which way is inhale): "none" (not set yet), "guess" (it may
    #: be upside down) or "heart" (the heart's rhythm agrees); "" for other signals
    #: (:attr:`breathsync.dsp.acc.AccRespiration.sign_basis`).
    sign_basis: str = ""
    #: The breathing waveform as measured (derived for straps and accelerometers, polarity applied) on the
    #: same grid, before the live filters: what ``--publish`` sends as ``resp``.
    new_raw: FloatArray = field(default_factory=lambda: np.empty(0))
    #: Whether the source has delivered any samples in the session (False: nothing at all so far).
    delivered: bool = True
    #: Session time a device last connected (started, or reconnected: :attr:`BleSource.connected_s`); NaN
    #: for a source that does not connect (a file, a simulation) or a device not connected yet. A user's
    #: stop soon after it is no fault of the device (:func:`breathsync.live.report_end`).
    connected_s: float = math.nan


@dataclass(frozen=True)
class PairView:
    """Live synchrony of one pair over the latest window judged: the one ending at the pair's latest common
    sample's 0.1-s mark (analyze's grid)."""

    a: str
    b: str
    plv: float  # NaN when too little of the window has both phases
    null_plv: float
    sync_score: float
    in_sync: bool
    rel_phase_rad: float  # > 0: a ahead (a breathes first)
    lag_s: float
    rate_diff_bpm: float
    time_in_sync_s: float  # total so far: the seconds of window ends in sync (a frozen window adds none)
    sync_run_s: float  # current in-sync stretch (a lapse shorter than the events' hold does not end it)
    #: Session time of the window's end (the pair's latest common sample's 0.1-s mark), NaN before there is
    #: one: what ``analyze``'s pair series are stamped with, where ``t_s`` of the snapshot is when it was published.
    window_end_s: float = math.nan
    #: Session time up to which the pair has been judged: its events (in sync, lost sync) are never stamped
    #: before it; ``inf`` when nothing more is to be judged (one of the two has a source that is over and
    #: its lost sync was judged); NaN before any judgment. A recording holds later events until then.
    judged_s: float = math.nan

    @property
    def meter(self) -> float:
        """What a sync meter shows, 0-1, over its half exactly when the pair is in sync (:data:`METER_IN_SYNC`),
        so that the meter and the words never disagree. In sync: 0.5 + 0.5 x the chance-corrected score x
        ``cos(rel_phase)`` (how locked, how close to in phase). Not in sync: 0.5 x ``min(1, PLV / chance
        level)`` x ``max(0, cos(rel_phase))``, at most 0.49 (how near the line: a PLV under its chance
        level, or locked but off phase; breathing locked in opposite phase reads 0). NaN while the PLV is
        unknown. ``sync_score`` itself (files, streams) stays the documented definition.

        (It was the score times ``max(0, cos(rel_phase))`` alone, which read under 0.2 in 27% of the demo's
        in-sync windows: a PLV just over a chance level of 0.9 scores near 0.)"""
        if not (
            math.isfinite(self.sync_score) and math.isfinite(self.rel_phase_rad) and math.isfinite(self.plv)
        ):
            return math.nan
        in_phase = max(0.0, math.cos(self.rel_phase_rad))
        if self.in_sync:
            return METER_IN_SYNC + (1.0 - METER_IN_SYNC) * min(max(self.sync_score, 0.0), 1.0) * in_phase
        near = min(1.0, self.plv / self.null_plv) if self.null_plv > 0 else 1.0
        return min(METER_IN_SYNC * near * in_phase, METER_OUT_CAP)

    @property
    def in_sync_value(self) -> float:
        """``in_sync`` as a number for files and streams: 1 or 0, NaN where the PLV is unknown (as the
        analysis JSON's null), so that averaging it does not count unknown windows as out of sync."""
        return float(self.in_sync) if math.isfinite(self.plv) else math.nan


@dataclass(frozen=True)
class TrainingView:
    """Where the training phase stands."""

    phase: str  # match | lead | free
    stage: str  # e.g. "matching", "leading", "free"
    goal_s: float
    progress_s: float  # current continuous in-sync stretch counted towards the goal
    goal_reached: bool
    goal_reached_at_s: float = math.nan  # the session time the goal was reached (NaN: not yet)
    leader: str | None = None
    follower: str | None = None
    rate_tracking_error_bpm: float = math.nan  # lead: |follower rate - leader rate| over the last 30 s
    follower_lag_s: float = math.nan  # lead: how far the follower breathes behind the leader
    # lead, leading stage: the leader's last 4 breaths' rate - their rate in the minute before the instruction
    leader_rate_change_bpm: float = math.nan
    following: bool = False  # lead: the session's verdict that the follower follows the leader's change
    instruction: str = ""  # what the participants are asked to do now, in words (empty: nothing new)
    #: The pair the goal's progress is about (labels): the lead pair in the lead phase, else the pair in sync
    #: longest right now (the first when none is); None without a pair. What a view shows as "the" pair.
    pair: tuple[str, str] | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything the session knows at one moment (published at >= 10 Hz)."""

    seq: int
    t_s: float
    participants: tuple[ParticipantView, ...]
    pairs: tuple[PairView, ...]
    group_r: float  # Kuramoto order parameter over the window (3+ participants), NaN otherwise
    training: TrainingView
    events: tuple[Event, ...] = ()  # new since the previous snapshot
    alarms: tuple[str, ...] = ()  # standing problems, e.g. "recording stopped: disk full"
    final: bool = False  # the last snapshot of the session
    group_window_end_s: float = math.nan  # the session time group_r's window ends at (NaN: no group R)
    group_chance: float = math.nan  # the chance level of group_r's window (breathsync.dsp.group)

    def participant(self, label: str) -> ParticipantView:
        for p in self.participants:
            if p.label == label:
                return p
        raise KeyError(label)


@dataclass
class SessionInfo:
    """Static description of a session, written as session.json by the recorder."""

    participants: list[dict[str, Any]]  # label, source (describe()), signal, invert
    settings: dict[str, Any]
    start_utc: str
    software_version: str
    extra: dict[str, Any] = field(default_factory=dict)

    def follows(self, label: str) -> str | None:
        """Whose live phase a simulated follower (``sim:follow``) follows: the label its source describes as
        ``follows`` (given with ``partner=``, else the first other participant); None for anyone else."""
        for p in self.participants:
            if p.get("label") == label:
                source = p.get("source")
                found = source.get("follows") if isinstance(source, dict) else None
                return found if isinstance(found, str) else None
        return None


class Sink(Protocol):
    """A consumer of what the session publishes. Methods are called from the session's loop and must
    return quickly; an exception from a sink becomes an alarm (the session goes on).

    A sink may also have ``on_packets(label, packets)``: then the sources that read a device hold its
    notifications as they came (:class:`breathsync.sources.base.Packet`), and the session hands them over
    with every snapshot (the recorder's capture)."""

    def open(self, info: SessionInfo) -> None: ...

    def on_chunk(self, label: str, chunk: SampleChunk) -> None: ...

    def on_snapshot(self, snap: Snapshot) -> None: ...

    def close(self, info: SessionInfo) -> None: ...


def quality_words(quality: str) -> str:
    """A :attr:`ParticipantView.quality` in words, for the views: "no signal", "no breathing" (the codes
    have underscores)."""
    return quality.replace("_", " ")


def is_you(label: str | None) -> bool:
    """A participant labelled "you" (the demo's user): texts address them in the second person."""
    return (label or "").strip().lower() == "you"


def says(label: str | None, third: str, second: str) -> str:
    """``label`` with its verb: "A leads" but "you lead" (``third`` / ``second`` person forms)."""
    return f"{label} {second if is_you(label) else third}"


def possessive(label: str | None) -> str:
    """``A's`` but ``your``."""
    return "your" if is_you(label) else f"{label}'s"


def degrees_text(rad: float) -> str:
    """A relative phase in whole, signed degrees: "+64", "-12", "+0" (never "-0": a phase of -0.3 deg is
    no lag, and no sign flips at random around zero); "?" when unknown."""
    if not math.isfinite(rad):
        return "?"
    return f"{round(math.degrees(rad)):+d}"


def breaths_text(n: int) -> str:
    """``1 breath``, ``0 breaths``, ``75 breaths``."""
    return f"{n} breath" if n == 1 else f"{n} breaths"


def clock_text(seconds: float) -> str:
    """``m:ss`` of an elapsed time, truncated like a stopwatch (``-:--`` when unknown); a time a microsecond
    short of a whole second (a sum of float steps: 204.99999999999997) is that second."""
    if not math.isfinite(seconds):
        return "-:--"
    s = int(seconds + 1e-6)
    return f"{s // 60}:{s % 60:02d}"


# ------------------------------------------------------------------------------------------- the views' words
#: The kind of a session's state, as a value: what a view styles the state by (the dashboard's colour, shape
#: and pattern, the terminal's emphasis); never read back from the state's words.
StateKind = Literal["in_sync", "finding", "warmup", "no_signal", "idle"]


def measuring_text(window_s: float) -> str:
    """While both have a phase but the sync window is not yet filled (the first 30 s, and again after a
    gap): the PLV needs both phases over most of one window."""
    if not math.isfinite(window_s):
        return "measuring: filling the sync window"
    return f"measuring: filling the {window_s:g}-s sync window"


def _ended_with_session(snap: Snapshot, p: ParticipantView) -> bool:
    """Whether ``p``'s source ended with the session: at its final snapshot, over (the end of its file, a
    simulation's duration) with samples until the last :data:`DERIVED_RR_NO_SIGNAL_S` (the longest silence a
    session waits for before it says "no signal"): its end is the session's, not a lost signal."""
    return (
        snap.final
        and p.source_status == "ended"
        and math.isfinite(p.t_s)
        and snap.t_s - p.t_s <= DERIVED_RR_NO_SIGNAL_S
    )


def sync_state(snap: Snapshot, window_s: float = math.nan) -> tuple[StateKind, str]:
    """The session's state as (kind, words), for both views: ("in_sync", "in sync 0:45"), ("finding",
    "finding the rhythm"), ("warmup", "warming up"), ("warmup", "measuring: filling the 30-s sync window")
    (``window_s``: the session's sync window), ("no_signal", "no signal from B"); one participant alone:
    ("finding", "breathing"); at the end of a session a source ended with (the demo's recording, 10 ms
    before its 300 s: it said "no signal from you" in red): ("idle", "session ended"). A source that ended
    earlier, the session going on without it, is "no signal" to the end, as one lost."""
    lost = [p.label for p in snap.participants if not p.receiving and not _ended_with_session(snap, p)]
    if lost:
        return "no_signal", "no signal from " + ", ".join(lost)
    if any(not p.receiving for p in snap.participants):
        return "idle", "session ended"
    if not snap.pairs:
        return "finding", "breathing"
    best = max(snap.pairs, key=lambda pv: pv.sync_run_s)
    if best.in_sync:
        return "in_sync", f"in sync {clock_text(best.sync_run_s)}"
    if any(p.quality == "warmup" for p in snap.participants):
        return "warmup", "warming up"
    if not any(math.isfinite(pv.plv) for pv in snap.pairs) and all(
        math.isfinite(p.phase_rad) for p in snap.participants
    ):
        # Everyone breathing, no sync measured yet: not "finding" it.
        return "warmup", measuring_text(window_s)
    return "finding", "finding the rhythm"


def no_samples_lines(final: Snapshot | None, *, stopped: bool = False) -> list[str]:
    """One phrase per participant whose source delivered no samples in the whole session without failing
    (a failed source says why itself), for the end of a live command, which then exits 2 as for a failed
    source: the recording has nothing of that person. With what the source was doing, in words, and its
    reason when it gave one ("participant A: no samples from ble in 0:30 (no signal: Polar OH1 1A2B: heart
    rate arrives but no beat intervals: ...)"; a source that had started and given no reason: "started, but
    no samples came", where it said "(streaming)").

    ``stopped``: the user stopped the session (Ctrl-C, the dashboard), which is no fault of the source: the
    phrase says it came to no samples before that ("participant B: no samples from ble before the session
    was stopped at 0:01 (started, but no samples came)")."""
    if final is None:
        return []
    out = []
    for p in final.participants:
        if p.delivered or p.source_status == "failed":
            continue
        reason = p.status_reason
        if p.source_status == "streaming":
            state = "started, but no samples came" + (f"; {reason}" if reason else "")
        elif p.source_status == "starting":
            state = "still starting" + (f": {reason}" if reason else "")
        else:
            state = p.source_status + (f": {reason}" if reason else "")
        when = (
            f"before the session was stopped at {clock_text(final.t_s)}"
            if stopped
            else f"in {clock_text(final.t_s)}"
        )
        out.append(f"participant {p.label}: no samples from {p.source} {when} ({state})")
    return out


def first_text(first: str | None, lead_s: float | None) -> str:
    """Who breathed first, in words, the same in every view and summary (the live pair line, ``run``'s and
    the dashboard's summary, ``analyze`` and the report): "A breathed first by 0.31 s"; "in phase" when the
    lead rounds to 0.00 s (the rule :func:`breathsync.dsp.sync.who_led` decides a summary's leader by, so
    the words never name a leader its JSON does not); "" when unknown.

    ``first``: who is ahead (None: nobody, as a summary's ``leader`` in phase), ``lead_s``: by how long
    (>= 0; None or NaN: unknown)."""
    if lead_s is None or not math.isfinite(lead_s):
        return ""
    if round(abs(lead_s), 2) == 0.0:
        return "in phase"
    if first is None:
        return ""
    return f"{first} breathed first by {abs(lead_s):.2f} s"


def locked_text(plv: float, null_plv: float, rel_phase_rad: float) -> str:
    """What a live window says of how a pair is locked, by the rule the summaries name a leader by (the
    windows locked within a quarter cycle: PLV over its chance level and the relative phase within 90
    degrees, :func:`breathsync.dsp.sync.who_led`): "not locked" (PLV at or under its chance level, where
    who breathes first is chance), "opposite phase" (locked beyond 90 degrees, where who is "first" is
    arbitrary: half a cycle ahead is half a cycle behind); "" when locked within a quarter cycle, or
    unknown (no PLV)."""
    if not (math.isfinite(plv) and math.isfinite(rel_phase_rad)):
        return ""
    if not plv > null_plv:  # a chance level not known yet (NaN) is not evidence of locking either
        return "not locked"
    return "opposite phase" if abs(rel_phase_rad) > math.pi / 2 else ""


def pair_first_text(pv: PairView) -> str:
    """:func:`first_text` for a live pair's window, only when the pair is locked within a quarter cycle, as
    the summaries and ``analyze`` name a leader; else :func:`locked_text`'s "not locked" or "opposite
    phase" (the live line said "A breathed first by 0.24 s" of a pair at PLV 0.14, 14 vs 10/min)."""
    if not math.isfinite(pv.rel_phase_rad):
        return ""
    lock = locked_text(pv.plv, pv.null_plv, pv.rel_phase_rad)
    if lock or not math.isfinite(pv.plv):
        return lock
    if not math.isfinite(pv.lag_s):
        return ""
    return first_text(pv.a if pv.rel_phase_rad > 0 else pv.b, abs(pv.lag_s))


def signed(value: float, digits: int = 1) -> str:
    """``+1.5``, ``-0.3``, and ``0.0`` for what rounds to zero (not ``-0.0`` or ``+0.0``)."""
    text = f"{value:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def lead_lines(snap: Snapshot) -> list[str]:
    """The lead phase's state in words, drawn from the session's verdict (``training.following``), the
    follower's rate error and lag and the leader's change of pace; [] outside the lead phase."""
    tr = snap.training
    if tr.phase != "lead" or not tr.leader:
        return []
    leader, follower = tr.leader, tr.follower or "the partner"
    if tr.stage == "matching":
        return [f"first match: hold sync {tr.goal_s:.0f} s, then {says(leader, 'leads', 'lead')}"]
    if tr.following:
        verdict = says(follower, "FOLLOWS", "FOLLOW")
    else:
        verdict = says(follower, "is not following yet", "are not following yet")
    out = [f"{says(leader, 'leads', 'lead')}: {verdict}"]
    details = []
    if math.isfinite(tr.leader_rate_change_bpm):
        details.append(
            f"{possessive(leader)} pace {signed(tr.leader_rate_change_bpm)}/min since the instruction"
        )
    if math.isfinite(tr.rate_tracking_error_bpm):
        details.append(f"rate difference {tr.rate_tracking_error_bpm:.1f}/min")
    lag = tr.follower_lag_s
    if math.isfinite(lag):
        details.append(f"{follower} {abs(lag):.1f} s {'behind' if lag >= 0 else 'ahead'}")
    if details:
        out.append(", ".join(details))
    return out


def cue_choice(snap: Snapshot, chosen: str = "", info: SessionInfo | None = None) -> tuple[str, str]:
    """Whose breathing a partner cue shows, and its title ("breathe with B", "your breathing", "you lead:
    your breathing"). The session does not say whom each participant is to breathe with (its
    TrainingView names the lead phase's leader and follower only): this decides it from what it
    publishes (the participants' sources, and in ``info`` whom each simulated follower follows), for the
    dashboard's cue.

    The cue is for the person looking at the screen, who is never a simulated participant: the one
    labelled "you" when there is one (the demo's user); else in the lead phase the follower, or the leader
    when the follower is simulated (a ``sim:`` source); else someone not simulated. It shows whom they are to
    breathe with: a pacer (a ``sim:pacer`` source); else, when there are simulated participants, one of them
    (a simulated partner is there to be breathed with): the one following the person at the screen ("you"),
    else one following a participant who is not simulated, else a ``sim:lead``, else one following anyone,
    else the last listed; without any, the partner (the last listed). In the lead phase: the leader (the leader too first
    matches the follower, while matching). A leader in the lead stage has no one to breathe with (the pace
    is theirs to set, and a disc moving with the follower would pull them back to the old pace): the cue
    shows the leader's own breathing, titled so. ``chosen``: a participant picked by hand (anything else,
    e.g. "auto": decide).

    (With ``-p partner=sim:follow -p me=replay:...`` the cue followed "me", the last listed: the person at
    the screen; with a replay, two followers and a ``sim:steady``, the unrelated steady one.)"""
    labels = [p.label for p in snap.participants]
    simulated = {p.label for p in snap.participants if p.source.startswith("sim:")}
    you = next((x for x in labels if is_you(x)), None)

    def title(label: str) -> str:
        return "your breathing" if label == you else f"breathe with {label}"

    if chosen in labels:
        return chosen, title(chosen)
    tr = snap.training
    if tr.phase == "lead" and tr.leader in labels:
        me = you
        if me is None and tr.follower in simulated and tr.leader not in simulated:
            me = tr.leader  # a simulated follower is not looking at the screen: the leader is
        if me is None or me != tr.leader:
            return tr.leader, title(tr.leader)
        if tr.stage != "matching":
            return me, f"{says(me, 'leads', 'lead')}: {possessive(me)} breathing"
        if tr.follower in labels:
            return tr.follower, title(tr.follower)
    others = [x for x in labels if x != you] or labels
    for p in snap.participants:
        if p.label in others and p.source.endswith(":pacer"):
            return p.label, title(p.label)
    partners = [x for x in others if x in simulated]
    if partners:
        follows = {x: info.follows(x) if info is not None else None for x in partners}
        modes = {p.label: p.source for p in snap.participants}
        for pick in (
            lambda x: you is not None and follows[x] == you,
            lambda x: follows[x] in labels and follows[x] not in simulated,
            lambda x: modes[x] == "sim:lead",
            lambda x: follows[x] in labels,  # e.g. everyone simulated (a test of the tool): the follower
        ):
            found = next((x for x in partners if pick(x)), None)
            if found is not None:
                return found, title(found)
        return partners[-1], title(partners[-1])
    return others[-1], title(others[-1])


def group_order_text(r: float, chance: float) -> str:
    """The group's order as the views show it: "group order R 0.55 (chance 0.80)", "... (above chance)" when R
    is over its chance level; the level is left out when unknown."""
    if not math.isfinite(chance):
        return f"group order R {r:.2f}"
    if r > chance:
        return f"group order R {r:.2f} (above chance {chance:.2f})"
    return f"group order R {r:.2f} (chance {chance:.2f})"
