"""A live session: participants' sources feeding their pipelines, pair and group synchrony as it happens,
training phases and events, published as snapshots to any number of sinks and subscribers.

asyncio, no Qt. One loop owns everything (bleak needs one loop for its whole life): each source is read by
its own task; a publisher task turns the state into a :class:`~breathsync.session_types.Snapshot` soon after
new samples arrive (coalesced, at most ``max_snapshot_hz``) and at least ``snapshot_hz`` times a second.
A source that fails or ends does not stop the session: its participant shows "no signal", the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt

from breathsync import __version__
from breathsync.dsp._types import FloatArray
from breathsync.dsp.group import LiveGroupChance, group_surrogate_need_s
from breathsync.dsp.pipeline import BreathEvent, PipelineConfig, Quality, RespPipeline
from breathsync.dsp.sync import (
    LIVE_HISTORY_S,
    NULL_EVERY_S,
    SCORE_FS_HZ,
    GridRing,
    LivePairState,
    LivePairSync,
    SyncConfig,
    in_sync_rule,
    kuramoto_order,
    pair_windows,
    who_led,
)
from breathsync.errors import InternalError
from breathsync.session.training import Trainer, join_and
from breathsync.session_types import (
    Event,
    PairView,
    ParticipantView,
    SessionInfo,
    Sink,
    Snapshot,
    breaths_text,
)
from breathsync.sources.base import (
    DERIVED_RR_NO_SIGNAL_S,
    RR_NO_SIGNAL_S,
    PhaseProbe,
    SampleChunk,
    SessionClock,
    Source,
    SourceStatus,
)

PHASES = ("match", "lead", "free")
_QUALITY_NAMES = {int(q): q.name.lower() for q in Quality}
#: :attr:`ParticipantView.quality` of a participant whose samples stopped (or have not started): not a
#: pipeline state, as the pipeline only judges the samples it gets.
NO_SIGNAL = "no_signal"
_EMPTY = np.empty(0)
#: Source states in which a participant has no signal, however recent their last samples.
_NOT_RECEIVING = (SourceStatus.FAILED, SourceStatus.ENDED, SourceStatus.RECONNECTING, SourceStatus.NO_SIGNAL)
_OVER = (SourceStatus.FAILED, SourceStatus.ENDED)  # a source that does not come back in its session
#: A device's battery level (percent) under which the session warns, once: a coin cell this low (a Polar
#: H10's CR 2025, most heart-rate straps') or a belt's rechargeable may not last the session.
LOW_BATTERY_PCT = 15.0
#: A source's status detail (why reconnecting fails, attempt after attempt) becomes a ``source_detail``
#: event when it changes: the first change after a status change at once, then at most one per this many
#: session seconds, the wait doubling up to :data:`DETAIL_EVENT_MAX_S` (a strap in its charger for an hour
#: is a handful of lines in events.csv, not one per attempt).
DETAIL_EVENT_S = 30.0
DETAIL_EVENT_MAX_S = 300.0


@dataclass
class ParticipantSpec:
    """One participant: a label, the source of their samples, and whether their belt is worn inverted.

    ``simulated``: a simulated partner, not a person's breathing: a session without a duration ends once
    every other source has ended (a simulated partner alone is nothing to practise with). The session
    cannot tell sources apart; whoever builds it says so (:func:`breathsync.live.build_session`)."""

    label: str
    source: Source
    invert: bool = False
    simulated: bool = False


@dataclass(frozen=True)
class SessionConfig:
    """Session settings."""

    window_s: float = 30.0  # synchrony window
    snapshot_hz: float = 10.0  # at least this many snapshots per second
    # At most this many a second as new samples come (the dashboard's frame rate); a fast run (--speed) this
    # many per second of its session time, up to 50 a second (see Session._publish_loop).
    max_snapshot_hz: float = 30.0
    history_s: float = LIVE_HISTORY_S  # per-participant history kept (bounded memory; the chance level's)
    phase: str = "free"  # training phase: match | lead | free
    goal_s: float = 60.0  # match: hold sync this long; lead: hold sync this long before leading
    leader: str | None = None  # lead: who leads (default: the first participant)
    follow_hold_s: float = 10.0  # lead: "partner following" after following the leader's change this long
    no_signal_s: float = 2.0  # no samples for this long (session time): "no signal"
    event_hold_s: float = 1.0  # in/out of sync must hold this long (session time) before an event

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"phase must be one of {', '.join(PHASES)}")


#: A replayed derived signal (RR, accelerometer) is processed in pieces of this much of its time, each known
#: from its start (Session._pieces): what a simulated partner reads of it is then the same at any --speed.
AVAILABLE_STEP_S = 0.1
#: How far a replayed participant's live phase (20-Hz outputs) may lag its newest processed sample: a
#: reader waiting for the phase at t (:attr:`PhaseProbe.final_until`) waits for samples this far beyond t.
FINAL_MARGIN_S = 0.1
#: A signal held at the sensor's limit (clipped) for this long in all (s of grid samples) gets a note, once.
CLIP_NOTE_S = 5.0
#: The summary's first and last minute of rate convergence (s).
RATE_MINUTE_S = 60.0
RING_SPARE_S = 120.0  # a participant's history beyond the chance level's (see _Participant.ring)


class _Participant:
    """Run-time state of one participant."""

    def __init__(self, spec: ParticipantSpec, cfg: SessionConfig, fs_hz: float) -> None:
        self.spec = spec
        self.label = spec.label
        self.source = spec.source
        self.pipeline = RespPipeline(invert=spec.invert)  # the same for a belt and a derived waveform
        self.converter: Any = None
        # Samples this far apart (session time) are "no signal": a heart-rate strap's beats are up to 1.5 s
        # apart (40/min) and one missed beat makes that 3 s, which is not a lost strap.
        self.no_signal_s = (
            max(cfg.no_signal_s, RR_NO_SIGNAL_S) if spec.source.signal == "rr" else cfg.no_signal_s
        )
        # The chance level's history ends at a 5-s mark; the marks a fast run passes between two snapshots
        # lie up to that far back (RING_SPARE_S covers a 120-s stride: a 0.4-s stall at --speed 300), and a
        # ring may run ahead of the pair's common end (a source's batched chunks): room for all of it. A
        # window longer than that history (--window up to 600 s) needs its own length: the ring held 305 s,
        # and every window of 400 s was unknown (no time in sync, no group R, where analyze gave them).
        self.ring = GridRing(
            fs_hz,
            max(cfg.history_s + NULL_EVERY_S, cfg.window_s) + RING_SPARE_S,
            ("phase", "rate", "quality", "clean"),
        )
        self.pending: list[tuple[FloatArray, ...]] = []  # t, clean, phase, rate, quality, raw
        self.breaths = 0
        # The latest breaths (onsets, when confirmed): the lead phase's pace change (Trainer._pace_update);
        # over two minutes of them at 60/min, more than a fast run confirms between two window ends.
        self.breath_log: deque[BreathEvent] = deque(maxlen=256)
        self.rate_sum = 0.0  # the live rate over the whole session (the ring holds only its history)
        self.rate_n = 0
        self.quality_n = np.zeros(
            len(Quality), dtype=np.int64
        )  # grid samples per pipeline state (why no rate)
        #: Session time up to which the source has given breathing samples: a paced source's newest sample
        #: time, a device's latest arrival (see :meth:`Session._receiving`).
        self.last_seen_s = -math.inf
        self.last_sample_s = -math.inf  # the newest sample of any kind (a status event of a paced source)
        # Gave samples at or past the session's duration (what its source does next is not news).
        self.past_end = False
        self.start_failed = False  # its source's start failed: it never came and will not (see _read)
        self.receiving = False
        self.latest = (math.nan, math.nan, math.nan, int(Quality.WARMUP))  # t, phase, rate, quality
        self.inverted_warned = False
        self.sign_basis = "none"  # an accelerometer's: how far its breathing direction can be trusted
        self.sign_flips = 0
        self.sign_noted: set[str] = set()  # the cues already announced (once each, not after every gap)
        self.sign_time = {"none": 0.0, "guess": 0.0, "heart": 0.0}  # session seconds in each basis
        self.sign_t = math.nan  # the sample time up to which sign_time counts
        self.sign_turns: list[float] = []  # when the direction was turned over (session s)
        self.beats_seen = 0  # heart beats given to an accelerometer's converter
        self.lost = False  # went quiet while its source said it was streaming
        self.away_since: float | None = None  # session time it was lost (a source_lost), None: not away
        self.away_word = "signal back"  # how its return is said: "signal back", "reconnected", "back"
        self.task: asyncio.Task[None] | None = None
        self.chunks = 0
        self.packets = 0  # device notifications handed to the sinks (Sink.on_packets)
        self.battery_warned = False  # the low-battery event was raised (once a session)
        self.clip_noted = False  # the clipped-signal note was given (once a session)
        self.detail_said = ""  # the source's status reason last said (by a status event or source_detail)
        self.detail_said_t = -math.inf  # when a source_detail event said it (-inf: none since the status)
        self.detail_gap_s = DETAIL_EVENT_S  # the wait before the next source_detail event

    def away(self, word: str, now: float) -> None:
        """Lost at ``now`` (unless already away: the absence is counted from its start)."""
        if self.away_since is None:
            self.away_since = now
        self.away_word = word

    def behind(self, t_s: float) -> bool:
        """A paced source (a file, a simulation) still running that has samples before ``t_s`` still to
        give: at a high speed on a busy machine it falls behind the clock, and the session waits for it."""
        src = self.source
        return src.paced and self.task is not None and not self.task.done() and src.next_sample_s() < t_s

    def signal_rows(self, chunk: SampleChunk) -> npt.NDArray[np.bool_] | None:
        """Which rows of a chunk are samples of the breathing signal; None: all of them.

        An accelerometer's chunks may carry heart beats (``rr_ms``, see :attr:`Source.extra_columns`): a
        row that is a beat only (acc_x/y/z all NaN) is no accelerometer sample, not even a missing one."""
        rr = chunk.columns.get("rr_ms") if self.source.signal == "acc" else None
        if rr is None:
            return None
        xyz = np.column_stack([chunk.columns[c] for c in ("acc_x", "acc_y", "acc_z")])
        return ~(np.isfinite(rr) & np.isnan(xyz).all(axis=1))

    def waveform(self, chunk: SampleChunk) -> tuple[FloatArray, FloatArray]:
        """The breathing waveform of a chunk (derived for heart-rate straps and accelerometers).

        An accelerometer's heart beats (rows with a finite ``rr_ms``) go to its converter's
        ``process_rr`` (they give the breathing axis its sign), before its samples of the chunk."""
        sig = self.source.signal
        if sig == "resp":
            return chunk.t, chunk.columns["resp"]
        if sig == "rr":
            if self.converter is None:
                from breathsync.dsp.rr import RRRespiration

                self.converter = RRRespiration()
            t, y = self.converter.process(chunk.t, chunk.columns["rr_ms"])
            return t, y
        if sig == "acc":
            xyz = np.column_stack([chunk.columns[c] for c in ("acc_x", "acc_y", "acc_z")])
            if self.converter is None:
                from breathsync.dsp.acc import AccRespiration

                # The rate from the stream's first time steps, however they are chunked (a replay's
                # first chunk can be one sample: it was taken as 100 Hz).
                self.converter = AccRespiration()
            t = chunk.t
            rr = chunk.columns.get("rr_ms")
            if rr is not None:
                beat = np.isfinite(rr)
                if beat.any():
                    self.converter.process_rr(t[beat], rr[beat])
                    self.beats_seen += int(beat.sum())
                rows = self.signal_rows(chunk)
                if rows is not None and not rows.all():
                    t, xyz = t[rows], xyz[rows]
            if t.size == 0:
                return _EMPTY, _EMPTY
            t, y = self.converter.process(t, xyz)
            return t, y
        raise ValueError(f"unknown signal {sig!r}")


@dataclass
class _PairState:
    a: _Participant
    b: _Participant
    sync: LivePairSync
    # The events' and the training goal's state, judged at every window end scored (see Session._judge):
    in_sync: bool = False
    reported: bool = False  # the state last announced by an event
    changed_at: float = 0.0
    judged_t: float = -math.inf  # the session time of the last judgment
    goal_at: float | None = None  # when the run in sync first lasted goal_s
    time_in_sync_s: float = 0.0  # window-end seconds scored in sync (see Session._count_in_sync)
    k_scored: int | None = None  # the last window end (grid index) counted
    # Window ends counted with a PLV (both phases known on enough of the window and at its end).
    windows_scored: int = 0
    run_start: float | None = None  # the run in sync (the training goal's clock) began here
    # The run's seconds in sync: its window ends judged in sync, each worth its step, counted as time_in_sync_s
    # counts them (a lapse shorter than the events' hold is part of the run but adds nothing), so that within
    # one run the two advance together (see Session._judge).
    run_s: float = 0.0
    # Over the window ends counted for time in sync (analyze's windows; see _count_in_sync):
    plv_sum: float = 0.0  # their PLVs (the mean PLV is over windows_scored)
    rel_sum: complex = 0j  # their PLV-weighted exp(i relative phase)
    lead_sum: complex = 0j  # as rel_sum, over the windows locked within a quarter cycle (who leads)
    lead_time_s: float = 0.0  # how long those windows lasted
    above_time_s: float = 0.0  # how long the PLV was above its chance level (analyze's above_chance_s)
    opposite_time_s: float = 0.0  # of that, locked beyond a quarter cycle (analyze's opposite_s)
    scored_time_s: float = 0.0  # how long the window ends with a PLV lasted (analyze's scored_s)
    lead_rate_sum: float = 0.0  # their mean rates (turn the lead into seconds)
    lead_n: int = 0
    view: PairView | None = None
    state: LivePairState | None = None  # the latest window scored (what the views show)
    # Rate convergence: |rate difference| over the first minute of window ends with both rates known, and over
    # the last (see Session._note_rate_diff).
    first_t: float | None = None
    first_sum: float = 0.0
    first_n: int = 0
    recent: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=6000))


@dataclass
class _Stats:
    """Publishing statistics (for the benchmark): arrival-to-snapshot latency of chunks, wall seconds."""

    latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))  # the latest
    snapshots: int = 0


class Session:
    """A live session of ``participants`` (2 is the usual case; up to 8).

    Parameters
    ----------
    participants
        The participants and their sources.
    clock
        Session time (speed > 1 for fast replays and simulations).
    config
        :class:`SessionConfig`.
    probes
        Phase probes by label, for sources that react to another participant's live phase (the simulated
        partner in ``follow`` mode); the session keeps every probe updated. Missing labels are created.
    """

    def __init__(
        self,
        participants: Sequence[ParticipantSpec],
        clock: SessionClock | None = None,
        config: SessionConfig | None = None,
        *,
        probes: dict[str, PhaseProbe] | None = None,
    ) -> None:
        if not participants:
            raise ValueError("a session needs at least one participant")
        labels = [p.label for p in participants]
        if len(set(labels)) != len(labels):
            raise ValueError("participant labels must be unique")
        if len(participants) > 8:
            raise ValueError("at most 8 participants")
        self.config = config or SessionConfig()
        self.clock = clock or SessionClock()
        self._fs = RespPipeline().config.fs_hz
        self._parts = [_Participant(p, self.config, self._fs) for p in participants]
        self.probes = probes if probes is not None else {}
        for p in self._parts:
            probe = self.probes.setdefault(p.label, PhaseProbe())
            if p.source.paced and getattr(p.source, "probe", None) is None:
                # A reader of a replayed participant's phase waits for the file to be played that far, so a
                # simulated partner breathes the same at any --speed. Not for one who reads a phase itself
                # (two simulated partners following each other would wait for each other).
                probe.final_until = functools.partial(self._final_until, p)
        # Participants a source reads the phase of (a simulated partner's): see _pieces.
        self._followed = {
            p.label
            for p in self._parts
            if any(getattr(q.source, "probe", None) is self.probes[p.label] for q in self._parts)
        }
        sync_cfg = self._sync_cfg = SyncConfig(window_s=self.config.window_s)
        self._group_at: tuple[int, float] | None = None  # the latest group window: its end (grid index), R
        # The group's windows scored for the summary's mean R (3+ people): the last end scored (grid index),
        # the sum of their R and how many had one, how many were above the chance level and the sum of
        # those levels (_count_group); the chance level itself (breathsync.dsp.group), as analyze's.
        self._group_k: int | None = None
        self._group_sum = 0.0
        self._group_n = 0
        self._group_above = 0
        self._group_null_sum = 0.0
        self._group_capped = 0  # ... at the cap, and at it before the first surrogate level
        self._group_no_surrogate = 0
        self._group_chance = LiveGroupChance(sync_cfg, history_s=self.config.history_s)
        # In the order of the labels, as analyze computes it (whatever order the participants were given in).
        self._group_people = sorted(self._parts, key=lambda p: p.label)
        self._group_rings = [p.ring for p in self._group_people]
        self._pairs = [
            _PairState(a, b, LivePairSync(sync_cfg, history_s=self.config.history_s))
            for a, b in combinations(self._parts, 2)
        ]
        self._sinks: list[Sink] = []
        self._queues: list[asyncio.Queue[Snapshot]] = []
        self._events: list[Event] = []
        self._alarms: list[str] = []
        self._warnings: list[str] = []  # see warn()
        self._seq = 0
        self._data_event: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._stop_why: str | None = None  # request_stop's reason, for the session_end event
        self._start_failure_stop = False  # the stop was asked for by a failed start (_after_start_failure)
        self._closing = False
        self._fault: BaseException | None = None  # a fault of the session's own code (see _read)
        self._duration_s: float | None = None  # run()'s duration: samples after it are not the session's
        self._ran_s: float | None = (
            None  # how long the session ran, once it has ended (session.json's duration_s)
        )
        self._end_s: float | None = (
            None  # the session_end event's time: the final snapshot's (see _end_event)
        )
        self._end_status: dict[str, str] = {}  # each source's status as the session ended (see run)
        self._unpublished_arrivals: list[float] = []
        self.stats = _Stats()
        self.latest: Snapshot | None = None
        self.info: SessionInfo | None = None
        cfg = self.config
        leader = cfg.leader or self._parts[0].label
        if cfg.phase == "lead" and leader not in labels:
            raise ValueError(f"leader {leader!r} is not a participant")
        self._leader = leader
        self._follower = next((p.label for p in self._parts if p.label != leader), None)
        self._trainer = Trainer(cfg, self._fs, self._parts, self._pairs, leader, self._follower, self._event)
        for p in self._parts:
            p.source.on_status(self._status_listener(p))

    # ---------------------------------------------------------------------------------------- wiring
    def add_sink(self, sink: Sink) -> None:
        """A sink receives every raw chunk and every snapshot (call before :meth:`run`)."""
        self._sinks.append(sink)

    def subscribe(self, maxsize: int = 8) -> asyncio.Queue[Snapshot]:
        """A queue of snapshots; when the reader falls behind, the oldest are dropped."""
        q: asyncio.Queue[Snapshot] = asyncio.Queue(maxsize=maxsize)
        self._queues.append(q)
        return q

    def request_stop(self, why: str = "stopped") -> None:
        """End the session soon (safe to call from a signal handler running in the loop). ``why`` ends the
        session_end event's text ("the session ends: stopped with Ctrl-C"); the first request's is kept."""
        if self._stop is not None:
            if self._stop_why is None:
                self._stop_why = why
            self._stop.set()

    def _status_listener(self, p: _Participant) -> Callable[[SourceStatus, str], None]:
        def on_status(status: SourceStatus, reason: str) -> None:
            self._refresh_source(p)
            # A new status: its own event says it; its details are news again at once (_note_detail).
            p.detail_said, p.detail_said_t, p.detail_gap_s = reason, -math.inf, DETAIL_EVENT_S
            if self._closing:
                return  # the session is stopping its sources: not news
            if status is SourceStatus.ENDED and p.past_end:
                return  # a file that ran on past the session's --duration (at a high --speed): not news
            kinds = {
                SourceStatus.FAILED: ("source_failed", f"{p.label}: source failed: {reason or 'unknown'}"),
                SourceStatus.ENDED: ("source_ended", f"{p.label}: source ended"),
                SourceStatus.RECONNECTING: ("source_lost", f"{p.label}: reconnecting"),
                # A source that knows why there is no signal says it (a strap without skin contact).
                SourceStatus.NO_SIGNAL: (
                    "source_lost",
                    f"{p.label}: no signal" + (f": {reason}" if reason else ""),
                ),
            }
            if status in kinds:
                kind, text = kinds[status]
                if status in (SourceStatus.RECONNECTING, SourceStatus.NO_SIGNAL):
                    p.away("reconnected" if status is SourceStatus.RECONNECTING else "back", self.clock.now())
                t = self.clock.now()
                if status is SourceStatus.ENDED and p.source.paced and math.isfinite(p.last_sample_s):
                    # A file or a simulation ends at its last sample, whatever the --speed (a fast session's
                    # clock has run on by the time its reader sees the end: 300.6-305.7 s at 300x, 300.0 at 10x).
                    t = min(t, p.last_sample_s)
                self._event(kind, text, (p.label,), t)
            elif status is SourceStatus.STREAMING and p.away_since is not None:
                # Back from a lost link (or a stream that had stopped): when, and how long it was away.
                # Its samples are news again only when they come (a quick reconnection must not read as
                # a second loss when the last samples from before it grow stale).
                p.last_seen_s = -math.inf
                self._back(p, p.away_word)

        return on_status

    def _back(self, p: _Participant, word: str, t: float | None = None) -> None:
        """The source_back event of a participant that was away (one per absence), saying for how long; at
        session time ``t`` (default: now)."""
        at = self.clock.now() if t is None else t
        away = at - (p.away_since if p.away_since is not None else at)
        p.away_since = None
        p.lost = False
        self._event("source_back", f"{p.label}: {word} after {_seconds_text(away)}", (p.label,), t)

    def _silence_in_data(self, p: _Participant, first_s: float) -> None:
        """A paced source's samples resume at ``first_s`` after more than ``no_signal_s`` without any: its
        "no signal" and "signal back" events, at the times its data says (the silence began ``no_signal_s``
        after its last sample), whether or not a snapshot fell inside the silence: snapshots are seconds of
        session time apart at a high --speed, so a replayed strap's 2.1-s pause between two beats was "no
        signal" at 300x and nothing at 30x."""
        if not math.isfinite(p.last_seen_s) or self._closing:
            return
        lost_at = p.last_seen_s + p.no_signal_s
        if first_s <= lost_at:
            return
        if not p.lost:
            if p.source.status is not SourceStatus.STREAMING:
                return
            p.lost = True
            p.away("signal back", lost_at)
            self._event("source_lost", f"{p.label}: no signal", (p.label,), lost_at)
        self._back(p, "signal back", first_s)

    def _event(self, kind: str, text: str, who: tuple[str, ...] = (), t: float | None = None) -> None:
        """An event at session time ``t`` (default: now)."""
        self._events.append(Event(self.clock.now() if t is None else t, kind, text, who))

    def _alarm(self, text: str) -> None:
        if text not in self._alarms:
            self._alarms.append(text)
            self._event("alarm", text)

    # ------------------------------------------------------------------------------------------ run
    def describe(self) -> SessionInfo:
        cfg = self.config
        return SessionInfo(
            participants=[
                {
                    "label": p.label,
                    "source": p.source.describe(),
                    "signal": p.source.signal,
                    "invert": p.spec.invert,
                    **_extra_columns(p.source),
                }
                for p in self._parts
            ],
            settings={
                "phase": cfg.phase,
                "window_s": cfg.window_s,
                "goal_s": cfg.goal_s,
                "leader": self._leader if cfg.phase == "lead" else None,
                "speed": self.clock.speed,
                "snapshot_hz": cfg.snapshot_hz,
                "pipeline": {"fs_hz": self._fs},
            },
            start_utc=datetime.now(UTC).isoformat(timespec="milliseconds"),
            software_version=__version__,
        )

    async def run(self, duration_s: float | None = None) -> Snapshot:
        """Run until ``duration_s`` of session time (and until every paced source has given its samples up to
        then: see :attr:`Source.paced`), :meth:`request_stop`, or every source has ended (without a duration,
        every source but the simulated partners': see :class:`ParticipantSpec`).

        Sinks are opened first: an error there (e.g. an unwritable recording folder) propagates before any
        source starts. Returns the final snapshot.
        """
        self._stop = asyncio.Event()
        self._data_event = asyncio.Event()
        self._duration_s = duration_s
        self.info = self.describe()
        for sink in self._sinks:
            sink.open(self.info)
        capture = any(callable(getattr(sink, "on_packets", None)) for sink in self._sinks)
        for p in self._parts:
            p.source.capture = capture  # a recording keeps the devices' bytes (Sink.on_packets)
        self.clock.start()
        for p in self._parts:
            p.task = asyncio.create_task(self._read(p), name=f"source-{p.label}")
        publisher = asyncio.create_task(self._publish_loop(duration_s), name="publisher")
        final: Snapshot | None = None
        try:
            await publisher
            final = self._snapshot(final=True)  # before the sources stop: the state as it ended
        except Exception as e:  # a bug in publishing (snapshots, synchrony): closed below, then raised
            self._end_on_bug(e)
        finally:
            # The summary says what each source was doing when the session ended, not that it was stopped.
            # (A file that ran on to its end past the session's --duration, at a high --speed, was streaming
            # as far as the session goes, as it is at a lower one.)
            self._end_status = {
                p.label: "streaming"
                if p.past_end and p.source.status is SourceStatus.ENDED
                else p.source.status.value
                for p in self._parts
            }
            publisher.cancel()
            self._closing = True
            for p in self._parts:
                if p.task is not None:
                    p.task.cancel()
            for p in self._parts:
                if p.task is not None:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await p.task
                with contextlib.suppress(Exception):
                    await p.source.stop()
            # What is left can fail on the same bug: each step is guarded, so the sinks are closed whatever
            # (session.json gets its end and, when it can be made, its summary; the fault is named there).
            try:
                if final is None:
                    final = self._snapshot(final=True)
                self._deliver(final)
            except Exception as e:
                self._end_on_bug(e)
            for p in self._parts:  # the sources' final counters (dropped, reconnections)
                with contextlib.suppress(Exception):
                    self._refresh_source(p)
            ran = final.t_s if final is not None else self.clock.now()
            self._ran_s = ran if duration_s is None else min(ran, duration_s)  # (the summary's too)
            try:
                self.info.extra["summary"] = self.summary()
            except Exception as e:
                self._end_on_bug(e)
            self.info.extra["end_utc"] = datetime.now(UTC).isoformat(timespec="milliseconds")
            self.info.extra["duration_s"] = round(self._ran_s, 3)
            if self._fault is not None:
                self.info.extra["internal_error"] = f"{type(self._fault).__name__}: {self._fault}"
            for sink in self._sinks:
                with contextlib.suppress(Exception):
                    sink.close(self.info)
        if self._fault is not None:
            # A bug, not bad input: what was recorded is closed above; the error goes on with its traceback.
            raise self._fault
        assert final is not None  # made, or its failure is the fault raised above
        return final

    async def _read(self, p: _Participant) -> None:
        src = p.source
        started = False
        try:
            await src.start(self.clock)
            started = True
            async for chunk in src.stream():
                try:
                    self._ingest(p, chunk)
                    self.probes[p.label].advanced()  # a reader waiting for this far of p (final_until)
                except Exception as e:
                    # The pipeline's or the session's own fault, not the source's: it must not read as
                    # "the source failed". The session ends (closing what it recorded) and raises it.
                    self._end_on_bug(e)
                    return
            if src.status not in (SourceStatus.FAILED, SourceStatus.ENDED):
                src.set_status(SourceStatus.ENDED)
            self.probes[p.label].advanced()  # nothing more is coming: a reader waiting for p goes on
        except asyncio.CancelledError:
            raise
        except InternalError as e:  # a bug the source found in itself (a device decoder's), not the device
            self._end_on_bug(e)
        except Exception as e:  # a source's failure is its participant's, not the session's
            src.set_status(SourceStatus.FAILED, str(e) or type(e).__name__)
            if not started:
                # Stopped now, not when the session ends: whatever its failed start left running (a device's
                # stream, a reconnection) must not bring back a participant marked failed whom nobody reads.
                with contextlib.suppress(Exception):
                    await src.stop()
                p.start_failed = True
                self._after_start_failure(p)

    def _after_start_failure(self, p: _Participant) -> None:
        """A start that failed (a device not found, a stream not published) leaves a pair without a partner:
        the session ends at once, rather than run one person alone to its end (or simulated partners alone to
        the --duration) and say only then that the other never came. The end's error line says why. A group
        keeps going while two are left who can practise together: two still going (not failed, not ended),
        one of them a person (simulated partners alone are nothing to practise with, unless the session was of
        simulated partners only), and in the lead phase not without its leader and follower. A session of one
        participant ends anyway (its only source is over). A later failed start while the session stops says
        the whole of it (the first said who was left)."""
        assert self._stop is not None
        if len(self._parts) < 2 or (self._stop.is_set() and not self._start_failure_stop):
            return
        gone = (SourceStatus.ENDED, SourceStatus.FAILED)
        going = [q for q in self._parts if not q.start_failed and q.source.status not in gone]
        people = any(not q.spec.simulated for q in self._parts)
        # The lead phase is its leader's and follower's: without either, the others have no training to do.
        lead = self.config.phase == "lead" and p.label in (self._leader, self._follower)
        if len(going) >= 2 and not lead and (not people or any(not q.spec.simulated for q in going)):
            return
        failed = [q.label for q in self._parts if q.start_failed]
        why = f"{join_and(failed)}'s {'source' if len(failed) == 1 else 'sources'} failed at the start"
        if lead and len(going) >= 2:
            why += f", and the lead phase is {self._leader}'s and {self._follower}'s ({self._leader} leads)"
        elif going:
            sims = all(q.spec.simulated for q in going) and people
            left = join_and([q.label for q in going])
            why += f", leaving {'only the simulated ' if sims else ''}{left} without a partner"
        self._start_failure_stop = True
        self._stop_why = None  # (a later failure's words replace the earlier's: see the docstring)
        self.request_stop(f"{why} (fix what the error says and start again)")

    @staticmethod
    def _final_until(p: _Participant) -> float:
        """Session time up to which ``p``'s live phase is final: ``p``'s samples before its next one are
        processed (the pipeline's 20-Hz outputs lag them by under one step: a 0.1-s margin); ``inf`` before its
        task runs or once it is over (nothing more is coming)."""
        if p.task is None or p.task.done():
            return math.inf
        return p.source.next_sample_s() - FINAL_MARGIN_S

    def _end_on_bug(self, e: Exception) -> None:
        """End the session on a bug (see :class:`breathsync.errors.InternalError`): :meth:`run` closes what
        was recorded, with a session_end event saying why, and raises ``e``."""
        if self._fault is None:
            self._fault = e
            self._event(
                "session_end",
                f"the session ends on an internal error ({type(e).__name__}: {e}): "
                "a bug in breathsync, please report it",
            )
        assert self._stop is not None
        self._stop.set()

    def _ingest(self, p: _Participant, chunk: SampleChunk) -> None:
        arrival = time.perf_counter()
        end = self._duration_s
        if end is not None and len(chunk) and float(chunk.t.max()) >= end:  # (two streams: each in order)
            # At or past --duration: not the session's (a fast replay's chunk spans more session time than a
            # snapshot's step, so how far past the end a session recorded and scored depended on the speed).
            # The session is [0, duration): 120 s at 25 Hz is 3000 samples; a sample at 120.0 s came at 300x,
            # where a slower session had ended first (it waits only for samples before the end: behind()).
            keep = chunk.t < end
            p.past_end = True
            chunk = SampleChunk(chunk.t[keep], {k: v[keep] for k, v in chunk.columns.items()})
        if len(chunk) == 0:
            return
        p.last_sample_s = max(p.last_sample_s, float(chunk.t.max()))
        p.chunks += 1
        if p.chunks == 1:
            self._refresh_description(p)
            self._drop_invert(p)
            if _origin(p.source) == "rr":
                # What the source carries is known now (an lsl: or ble: source's only once started): beats,
                # or a waveform derived from them elsewhere, come up to a few seconds apart.
                from breathsync.dsp.rr import INHERENT_LAG_S, filter_phase_delay_s

                derived = 0.0 if p.source.signal == "rr" else DERIVED_RR_NO_SIGNAL_S  # sent as accepted
                p.no_signal_s = max(
                    p.no_signal_s, RR_NO_SIGNAL_S, derived, float(getattr(p.source, "no_signal_after_s", 0.0))
                )
                by = "" if p.source.signal == "rr" else " by the breathsync publishing it"
                lag = f"about {INHERENT_LAG_S:.1f} s behind"
                if p.source.signal != "rr" and p.source.paced:
                    # A recording of it, replayed: its samples are stamped at the times they describe, so the
                    # live wait for the next beat is not in them, only the band-pass's phase shift (by rate).
                    by = " live by the breathsync that published it"
                    lag = (
                        "it keeps that derivation's phase shift, which depends on the rate "
                        f"({filter_phase_delay_s(15.0):.2f} s behind at 15 breaths/min, "
                        f"{-filter_phase_delay_s(6.0):.2f} s ahead at 6)"
                    )
                self._event(
                    "signal_note",
                    f"{p.label}: breathing derived from heart beats (RR){by}: works best with slow, relaxed "
                    f"breathing; {lag}",
                    (p.label,),
                    min(self.clock.now(), float(chunk.t[0])) if p.source.paced else None,  # at its first beat
                )
        for sink in list(self._sinks):
            try:
                sink.on_chunk(p.label, chunk)
            except Exception as e:
                self._sink_failed(sink, e)
        breathing = False
        for piece, available_s in self._pieces(p, chunk):
            breathing = self._process(p, piece, available_s) or breathing
        if not breathing:
            return
        self._unpublished_arrivals.append(arrival)
        if self._data_event is not None:
            self._data_event.set()

    def _pieces(self, p: _Participant, chunk: SampleChunk) -> list[tuple[SampleChunk, float]]:
        """The chunk as it is processed, each piece with the session time from which what it makes was known
        (:meth:`PhaseProbe.update`'s ``available_s``). Breathing derived from heart beats or an accelerometer
        is known seconds after the time it describes (RR: once the next beat has come, about 1 s): a simulated
        partner following it reads only what was known when it reads. For a replayed file, in pieces on a fixed
        grid (:data:`AVAILABLE_STEP_S`) of its own time, each known from the piece's start, so that what the
        partner reads does not depend on how a --speed chunked the file; for a device, known on arrival; a
        belt's phase is known as soon as its time (``-inf``: read by time alone)."""
        if p.source.signal == "resp" or p.label not in self._followed:
            return [(chunk, -math.inf)]
        if not p.source.paced:
            return [(chunk, self.clock.now())]
        k = np.floor(chunk.t / AVAILABLE_STEP_S + 1e-9).astype(np.int64)
        cuts = [0, *(np.flatnonzero(np.diff(k)) + 1).tolist(), len(chunk)]
        return [
            (
                SampleChunk(chunk.t[i:j], {c: v[i:j] for c, v in chunk.columns.items()}),
                k[i] * AVAILABLE_STEP_S,
            )
            for i, j in zip(cuts[:-1], cuts[1:], strict=True)
        ]

    def _process(self, p: _Participant, chunk: SampleChunk, available_s: float) -> bool:
        """One piece of a chunk through the participant's converter and pipeline (see :meth:`_pieces`);
        whether it held breathing samples."""
        rows = p.signal_rows(chunk)
        t, y = p.waveform(chunk)
        if rows is not None and not rows.any():
            # Heart beats only (an accelerometer's RR intervals, older than its newest sample as often as
            # not): they feed the converter, and are neither breathing samples nor a sign of them (a strap
            # whose accelerometer stopped while its beats go on has no breathing signal: "no signal").
            return False
        out = p.pipeline.process(t, y)
        if p.source.paced:
            times = chunk.t if rows is None else chunk.t[rows]
            self._silence_in_data(p, float(np.min(times)))
            p.last_seen_s = max(p.last_seen_s, float(np.max(times)))
        else:
            p.last_seen_s = self.clock.now()
        if out.t.size:
            q = out.quality.astype(float)
            p.ring.append(out.t, phase=out.phase, rate=out.rate_bpm, quality=q, clean=out.clean)
            self.probes[p.label].update(out.t, out.phase, out.rate_bpm, available_s)
            p.pending.append((out.t, out.clean, out.phase, out.rate_bpm, q, out.raw))
            p.breaths += len(out.breaths)
            p.breath_log.extend(out.breaths)
            known = np.isfinite(out.rate_bpm)
            p.rate_sum += float(out.rate_bpm[known].sum())
            p.rate_n += int(known.sum())
            p.quality_n += np.bincount(out.quality.astype(int), minlength=len(Quality))[: len(Quality)]
            p.latest = (float(out.t[-1]), float(out.phase[-1]), float(out.rate_bpm[-1]), int(out.quality[-1]))
        if p.source.signal == "acc":
            if not math.isfinite(p.sign_t) and len(chunk):
                # Counted from the first sample, as analyze does (acc_sign_summary): from the first output,
                # 6 s later, the seconds before it were left out ("none" 7.5% of a recording, 10.5% in
                # analyze's acc_sign of the same recording).
                p.sign_t = float(np.min(chunk.t if rows is None else chunk.t[rows]))
            self._note_acc_sign(p, float(t[-1]) if t.size else math.nan)
        if (
            out.t.size
            and not p.clip_noted
            and p.pipeline.clipped_samples >= CLIP_NOTE_S * self._fs
            and _origin(p.source) == "resp"  # a belt: derived breathing is a waveform breathsync computed
        ):
            p.clip_noted = True
            self._event(
                "signal_note",
                f"{p.label}: the signal is clipped (held at the sensor's limit at the top or bottom of breaths): "
                "the belt is too tight or the sensor's range too small (loosen the belt or lower the gain); "
                "breaths are still tracked",
                (p.label,),
                min(float(out.t[-1]), self.clock.now()) if p.source.paced else None,
            )
        if p.pipeline.inverted_suspected and not p.inverted_warned and self._shape_tells(p):
            p.inverted_warned = True
            # At the breath that made it look inverted (the clock has run ahead of a fast replay's samples).
            seen = p.pipeline.inverted_changed_t
            self._event(
                "inverted_signal",
                self._inverted_text(p),
                (p.label,),
                min(seen, self.clock.now()) if p.source.paced and math.isfinite(seen) else None,
            )
        return True

    @staticmethod
    def _shape_tells(p: _Participant) -> bool:
        """Whether "looks inverted" means anything for ``p``: not for breathing derived from heart beats
        (:data:`_SHAPE_FREE`), nor for a simulated partner, which wears no belt (the demo's partner, pulled
        into step with a real breather, rises 0.55 of its cycles and was told to "check the belt")."""
        return _origin(p.source) not in _SHAPE_FREE and not p.spec.simulated

    def _inverted_text(self, p: _Participant) -> str:
        """The inverted_signal event's text: a belt can be checked (worn the other way round); a chest
        accelerometer has no belt, and breathsync sets which way is inhale itself."""
        if p.source.signal != "acc" and _origin(p.source) == "acc":  # derived by the publishing breathsync
            return (
                f"{p.label}: the breathing from {p.label}'s chest accelerometer rises longer than it falls: "
                "which way is inhale is set by the breathsync publishing it (no belt to check)"
            )
        if p.source.signal != "acc":
            return f"{p.label}: the signal looks inverted (rises longer than it falls): check the belt"
        what = f"{p.label}: the accelerometer's breathing rises longer than it falls, "
        if p.sign_basis == "heart":
            return what + (
                "though the heart's rhythm confirms which way is inhale: this person's inhale may simply be "
                "the longer half (no belt to check)"
            )
        if self._has_beats(p):
            return what + (
                "so which way is inhale looks wrong (no belt to check): the heart's rhythm turns it over "
                "if it disagrees (about a minute; slow, deep breaths help)"
            )
        return what + (
            "so which way is inhale looks wrong and the phase may be upside down (no belt to check): "
            + self._beats_advice(p)
        )

    @staticmethod
    def _has_beats(p: _Participant) -> bool:
        return "rr_ms" in p.source.extra_columns or p.beats_seen > 0

    @staticmethod
    def _beats_advice(p: _Participant) -> str:
        """What to do for an accelerometer without heart beats, for this kind of source."""
        if p.source.describe().get("kind") == "replay":
            return "replay a file that has the strap's heart beats too (an rr_ms column)"
        return "record the strap's heart beats too"

    def _note_acc_sign(self, p: _Participant, t: float) -> None:
        """Events the first time an accelerometer's breathing direction (which way is inhale) is guessed and
        the first time the heart's rhythm confirms it (:attr:`AccRespiration.sign_basis`), and whenever it is
        turned over: the phase shown before and after differs by half a breath. ``t``: the time of the latest
        accelerometer sample; the seconds in each basis count up to it (up to the latest live output, the
        seconds before the first, while the waveform is unknown until its direction is first set, went to
        the basis of the moment it came: "none" 0% where analyze said 17%)."""
        conv = p.converter
        basis, flips = getattr(conv, "sign_basis", "none"), getattr(conv, "n_sign_flips", 0)
        # The events at the samples' time of the decision (AccRespiration.sign_changed_t), not the clock's,
        # which a fast replay has run ahead of: "a guess" at 21.6 s at 30x, 35.5 s at 300x.
        decided = float(getattr(conv, "sign_changed_t", math.nan))
        at = min(decided, self.clock.now()) if math.isfinite(decided) else None
        if math.isfinite(t):
            if math.isfinite(p.sign_t) and t > p.sign_t:
                p.sign_time[basis] += t - p.sign_t
            p.sign_t = t
        if basis != p.sign_basis and basis not in p.sign_noted:
            p.sign_noted.add(basis)
            if basis == "guess":
                beats = self._has_beats(p)
                # Sinus arrhythmia grows as breathing slows (to about 6/min) and deepens (Hirsch & Bishop
                # 1981, Am J Physiol 241:H620), so such breathing gives the heart's evidence sooner.
                self._event(
                    "signal_note",
                    f"{p.label}: which way is inhale is a guess from the breath's shape "
                    + (
                        "until the heart's rhythm confirms it (about a minute; slow, deep breaths help)"
                        if beats
                        else "(no heart beats from this source), so the phase may be upside down: "
                        + self._beats_advice(p)
                    ),
                    (p.label,),
                    at,
                )
            elif basis == "heart":
                self._event(
                    "signal_note",
                    f"{p.label}: the heart's rhythm confirms which way is inhale",
                    (p.label,),
                    at,
                )
        if flips != p.sign_flips and p.sign_basis != "none":
            by = "the heart's rhythm" if getattr(conv, "sign_cue", "") == "rr" else "the breath's shape"
            self._event("signal_note", f"{p.label}: breathing direction turned over by {by}", (p.label,), at)
            p.sign_turns.append(round(t, 1))
        p.sign_basis, p.sign_flips = basis, flips

    def _refresh_description(self, p: _Participant) -> None:
        """Some sources know what they are only once they stream (a BLE device is identified by the scan):
        update the session's description before the sinks see the first samples (the recorder writes the
        raw file's header then, and session.json at the end)."""
        if self.info is None:
            return
        for entry in self.info.participants:
            if entry.get("label") == p.label:
                entry["signal"] = p.source.signal
                entry["source"] = p.source.describe()
                entry.pop("extra_columns", None)
                entry.update(_extra_columns(p.source))

    def _drop_invert(self, p: _Participant) -> None:
        """``--invert`` on breathing whose direction nothing worn sets (:data:`NOT_INVERTIBLE`), found once a
        device or stream says what it carries (a replay's is refused before the session: see
        :func:`breathsync.live.build_session`): the flip is dropped before its first sample is processed, an
        alarm says so, and the recording and session.json say ``invert`` false. Flipped, heart-beat
        breathing read exhale as inhale, and the recording said ``# invert: true`` for it."""
        why = NOT_INVERTIBLE.get(_origin(p.source))
        if not p.spec.invert or why is None:
            return
        p.pipeline = RespPipeline(invert=False)
        if self.info is not None:
            for entry in self.info.participants:
                if entry.get("label") == p.label:
                    entry["invert"] = False
        self._alarm(
            f"{p.label}: --invert ignored: {p.label}'s breathing {why} (--invert is for a breathing belt worn "
            "so that it falls on inhale)"
        )

    def _refresh_source(self, p: _Participant) -> None:
        """The source's own description again (``describe()``: a BLE source's ``dropped``, ``dropped_by``
        and ``reconnections`` counters grow as it runs), on every status change and as the session ends, so
        session.json holds the final counters. Once samples came, only the source's entry: the signal and the
        raw file's columns are those of its first chunk, which the recording's header already holds. Before
        any came, also the signal and the extra columns as the source now says them (a BLE device known
        after its scan that then gave nothing, or failed to start: it said "resp" for a Polar H10)."""
        if self.info is None:
            return
        with contextlib.suppress(Exception):  # a description is not worth a failed session
            desc = p.source.describe()
            for entry in self.info.participants:
                if entry.get("label") == p.label:
                    entry["source"] = desc
                    if not p.chunks:
                        entry["signal"] = p.source.signal
                        entry.pop("extra_columns", None)
                        entry.update(_extra_columns(p.source))

    def _sink_failed(self, sink: Sink, e: Exception) -> None:
        self._alarm(str(e) or f"{type(sink).__name__} failed: {type(e).__name__}")
        if sink in self._sinks:
            self._sinks.remove(sink)
            with contextlib.suppress(Exception):
                if self.info is not None:
                    sink.close(self.info)

    async def _publish_loop(self, duration_s: float | None) -> None:
        assert self._stop is not None and self._data_event is not None
        cfg = self.config
        # New samples bring a snapshot at most max_snapshot_hz times a second: 30, the dashboard's frame rate
        # (8 belts sending their 0.1-s chunks at different moments brought 40-48 a second at the former 50,
        # each worked out for 28 pairs, most never drawn). A fast run gets that many per second of its
        # session time, up to 50 a second as before: its views and pairs.csv sample the pairs' windows (a
        # 10-Hz grid of session time) and the dashboard's sync history (0.2 s) at its snapshots.
        fastest_hz = max(50.0, cfg.max_snapshot_hz)
        min_gap = 1.0 / min(cfg.max_snapshot_hz * max(self.clock.speed, 1.0), fastest_hz)
        max_gap = 1.0 / cfg.snapshot_hz
        last = time.perf_counter()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._data_event.wait(), timeout=max_gap)
            self._data_event.clear()
            wait = min_gap - (time.perf_counter() - last)
            if wait > 0:
                await asyncio.sleep(wait)
            last = time.perf_counter()
            done = (
                duration_s is not None
                and self.clock.now() >= duration_s
                and not any(p.behind(duration_s) for p in self._parts)
            )
            over = [p for p in self._parts if p.task is not None and p.task.done()]
            all_over = len(over) == len(self._parts) and not self._unpublished_arrivals
            # (Not when the session is stopping already: a source's bug ends it, and its end says so, once.)
            if duration_s is None and not all_over and not self._stop.is_set() and self._partners_only(over):
                ended = max(p.last_sample_s for p in self._parts if not p.spec.simulated)
                self._end_s = min(self.clock.now(), ended) if math.isfinite(ended) else None
                self._event(
                    "session_end",
                    "the session ends: every source but the simulated "
                    f"{join_and([p.label for p in self._parts if p.spec.simulated])} has ended "
                    "(a simulated partner alone is nothing to practise with)",
                    t=self._end_s,
                )
                return
            if done or self._stop.is_set() or all_over:
                self._end_event(duration_s, done)
                return
            self._deliver(self._snapshot())

    def _end_event(self, duration_s: float | None, done: bool) -> None:
        """The session_end event of a session that ends normally: why it ends, at the session time it ends
        (a bug's has its own, from _end_on_bug)."""
        if self._fault is not None:
            return
        now = self.clock.now() if duration_s is None else min(self.clock.now(), duration_s)
        if self._stop is not None and self._stop.is_set():
            why = self._stop_why or "stopped"
        elif done and duration_s is not None:
            why, now = f"its duration ({_seconds_text(duration_s)}) is over", duration_s
        else:  # at the last sample (at a high --speed the clock has run on by the time this turn sees it)
            why = "every source has ended"
            seen = [p.last_sample_s for p in self._parts if math.isfinite(p.last_sample_s)]
            now = min(now, max(seen)) if seen else now
        self._end_s = now
        self._event("session_end", f"the session ends: {why}", t=now)

    def _partners_only(self, over: list[_Participant]) -> bool:
        """Every source but the simulated partners' has ended (and its samples are published), and the
        partners have caught up with it: the session ends (the final snapshot publishes what is left of their
        samples). Never for a session of simulated partners only (a demo, a test of the tool)."""
        sims = [p.label for p in self._parts if p.spec.simulated]
        if not sims or len(sims) == len(self._parts):
            return False
        if any(p not in over for p in self._parts if not p.spec.simulated):
            return False
        # Not before the partners have caught up with where the others ended: at a high --speed a partner
        # (one waiting for a replayed phase, see PhaseProbe.final_until) may be seconds of session time behind.
        ended = max(p.last_seen_s for p in self._parts if not p.spec.simulated)
        return not any(p.behind(ended) for p in self._parts)

    def _deliver(self, snap: Snapshot) -> None:
        now = time.perf_counter()
        self.stats.latencies_s.extend(now - a for a in self._unpublished_arrivals)
        self._unpublished_arrivals.clear()
        self.stats.snapshots += 1
        self.latest = snap
        self._deliver_packets()
        for sink in list(self._sinks):
            try:
                sink.on_snapshot(snap)
            except Exception as e:
                self._sink_failed(sink, e)
        for q in self._queues:
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(snap)

    def _deliver_packets(self) -> None:
        """The devices' notifications since the last snapshot, to the sinks that keep them (a recording's
        capture: :meth:`Sink.on_packets <breathsync.session_types.Sink>`); the last ones with the final
        snapshot, delivered after the sources have stopped."""
        for p in self._parts:
            packets = p.source.take_packets()
            if not packets:
                continue
            if not p.packets:
                # What the device is (known since its scan) before a sink names it in a capture's header.
                self._refresh_source(p)
            p.packets += len(packets)
            for sink in list(self._sinks):
                on_packets = getattr(sink, "on_packets", None)
                if not callable(on_packets):
                    continue
                try:
                    on_packets(p.label, packets)
                except Exception as e:
                    self._sink_failed(sink, e)

    # ------------------------------------------------------------------------------------ snapshots
    def _snapshot(self, final: bool = False) -> Snapshot:
        now = self.clock.now()
        if self._duration_s is not None:  # the session's time ends there, as its samples do (_ingest)
            now = min(now, self._duration_s)
        if self._end_s is not None:
            # The final snapshot is the session's end, where its session_end event is: at the last sample
            # when every source has ended. It was the clock's time when the publisher saw that, which a fast
            # replay runs past by seconds (duration_s 300.5 s at 20x, 303.5 s at 100x, for samples to 299.99 s).
            now = min(now, self._end_s)
        views = []
        names = _source_names([p.source for p in self._parts])
        for p, name in zip(self._parts, names, strict=True):
            receiving = self._receiving(p, now)
            if p.receiving and not receiving and p.source.status is SourceStatus.STREAMING:
                # A paced source's silence began no_signal_s after its last sample, whenever a snapshot sees it.
                lost_at = (
                    min(now, p.last_seen_s + p.no_signal_s)
                    if p.source.paced and math.isfinite(p.last_seen_s)
                    else now
                )
                p.lost = True
                p.away("signal back", lost_at)
                self._event("source_lost", f"{p.label}: no signal", (p.label,), lost_at)
            elif receiving and p.lost:
                self._back(p, "signal back")
            p.receiving = receiving
            self._note_battery(p)
            self._note_detail(p, now)
            views.append(self._participant_view(p, name))
        self._count_in_sync()
        self._count_group()
        pair_views = [self._pair_view(ps, now) for ps in self._pairs]
        self._trainer.update()
        self._seq += 1
        # In time order: the pairs' events are stamped at the window ends they judge, before the snapshot.
        events, self._events = tuple(sorted(self._events, key=lambda e: e.t_s)), []
        group_r, group_end = self._group_r()
        group_chance = (
            self._group_chance.level_at(round(group_end * self._fs)) if math.isfinite(group_r) else math.nan
        )
        snap = Snapshot(
            seq=self._seq,
            t_s=now,
            participants=tuple(views),
            pairs=tuple(pair_views),
            group_r=group_r,
            group_window_end_s=group_end,
            group_chance=group_chance,
            training=self._trainer.view(),
            events=events,
            alarms=tuple(self._alarms),
            final=final,
        )
        return snap

    def _note_battery(self, p: _Participant) -> None:
        """The low-battery event, once, when the device says its battery is under :data:`LOW_BATTERY_PCT`."""
        pct = getattr(p.source, "battery_pct", None)
        if p.battery_warned or pct is None or not pct < LOW_BATTERY_PCT:
            return
        p.battery_warned = True
        self._event(
            "battery_low",
            f"{p.label}: battery low ({pct:.0f}%): charge the device or change its coin cell; it may switch "
            "off during the session",
            (p.label,),
        )

    def _note_detail(self, p: _Participant, now: float) -> None:
        """A ``source_detail`` event when the source's status reason changed within its status (a source's
        :meth:`~breathsync.sources.base.Source.set_detail`, which calls no listener: a reconnection's failed
        attempts, "device is in its charger (status 13)"; a Polar H10 without skin contact), so that it
        reaches events.csv and every view's events; rate-limited (see :data:`DETAIL_EVENT_S`)."""
        reason = p.source.status_reason
        if not reason:
            p.detail_said = ""  # the detail is gone: when one comes back, it is news (after the wait)
            return
        if reason == p.detail_said or now - p.detail_said_t < p.detail_gap_s:
            return
        if math.isfinite(p.detail_said_t):
            p.detail_gap_s = min(2.0 * p.detail_gap_s, DETAIL_EVENT_MAX_S)
        p.detail_said, p.detail_said_t = reason, now
        self._event("source_detail", f"{p.label}: {reason}", (p.label,))

    def _data_reached(self, now: float) -> float:
        """Session time up to which the session has samples: ``now`` with a device (its time is real), and
        with paced sources only (files, simulations) the latest sample delivered; once every source but the
        simulated partners' has ended, and the session has no duration, the latest of theirs, where it ends
        (a partner generates up to the clock, which a fast run has taken seconds further)."""
        if not all(p.source.paced for p in self._parts):
            return now
        real = [p for p in self._parts if not p.spec.simulated]
        ended = (
            self._duration_s is None
            and bool(real)
            and all(p.task is not None and p.task.done() for p in real)
        )
        of = real if ended else self._parts
        return min(now, max(p.last_sample_s for p in of))

    def _receiving(self, p: _Participant, now: float) -> bool:
        """Whether a participant has a signal: samples within the last ``no_signal_s`` of session time, at any
        speed, and a source that is neither lost nor over.

        A paced source (a file, a simulation) is judged by its samples' times against how far it has got
        (:meth:`Source.next_sample_s`): one that merely lags the clock on a busy machine (its next sample is
        already due) is not silent; a gap in its data is. This was a wall-clock test with a 0.25-s floor
        against scheduling jitter, which at ``--speed`` 100-300 was 25-75 s of session time: a 20-s gap in
        a replayed file never showed "no signal", and its frozen window was counted as in sync. A device
        (speed 1) is judged by when its samples arrived."""
        if p.source.status in _NOT_RECEIVING:
            return False
        upto = min(now, p.source.next_sample_s()) if p.source.paced else now
        return upto - p.last_seen_s <= p.no_signal_s

    def _participant_view(self, p: _Participant, source: str) -> ParticipantView:
        if p.pending:
            cols = [np.concatenate(c) for c in zip(*p.pending, strict=True)]
            p.pending.clear()
        else:
            cols = [_EMPTY] * 6
        t, phase, rate, q = p.latest
        quality = _QUALITY_NAMES.get(q, "warmup")
        if not p.receiving:
            # Nothing of the last sample is current: no phase, no rate (it showed the last rate and "ok"
            # long after the source had ended).
            phase = rate = math.nan
            quality = NO_SIGNAL
        return ParticipantView(
            label=p.label,
            source=source,
            source_status=p.source.status.value,
            status_reason=p.source.status_reason,
            signal=p.source.signal,
            receiving=p.receiving,
            t_s=t,
            phase_rad=phase,
            rate_bpm=rate,
            quality=quality,
            breaths=p.breaths,
            inverted_suspected=p.pipeline.inverted_suspected and self._shape_tells(p),
            sign_basis=p.sign_basis if p.source.signal == "acc" else "",
            new_t=cols[0],
            new_wave=cols[1],
            new_phase=cols[2],
            new_rate=cols[3],
            new_quality=cols[4],
            battery_pct=getattr(p.source, "battery_pct", None),
            delivered=p.chunks > 0,
            connected_s=float(getattr(p.source, "connected_s", math.nan)),
            new_raw=cols[5],
        )

    def _count_in_sync(self) -> None:
        """Score every window end each pair has advanced over since the last snapshot, on analyze's grid
        (:data:`SCORE_FS_HZ`, each worth its step: 0.1 s, with windows of the samples on that grid): time in
        sync, and the sums behind the summary's mean PLV, mean relative phase and who led, so that analyze
        of the recording gives the session's summary.

        Time in sync is window-end time, as ``analyze`` counts it: a window whose end stands still (a source
        that went quiet: the pair's common window ends at its last sample) adds nothing, however long the
        session clock runs on, and the windows a fast run passes between two snapshots are each scored, each
        with the chance level of its own time, so the total does not depend on ``--speed``. It used to add the
        snapshots' session-time steps while the newest window was in sync: a 20-s dropout counted as in
        sync, and 214-233 s of a pair that analyze found in sync 218 s, depending on the speed.

        Pairs with the same window ends to score (usually all: their sources keep pace) are scored together,
        one row each: with eight people the calls per pair, not the arithmetic, were most of a session's
        cost."""
        step = max(1, round(self._fs / SCORE_FS_HZ))
        spans: dict[tuple[int, int], list[_PairState]] = {}
        for ps in self._pairs:
            # Silent (no signal), not merely behind: the chance level's marks need not wait for its samples.
            k_end = ps.sync.advance(ps.a.ring, ps.b.ring, (not ps.a.receiving, not ps.b.receiving))
            prev = ps.k_scored
            if k_end is None or (prev is not None and k_end <= prev):
                continue
            ps.k_scored = k_end
            # The first end to score: after the last one scored, or (the first time) where both began; after
            # a long common outage no further back than the rings hold. (Earlier ends have no common
            # samples: nothing to score, though judging them out of sync took 28 pairs a third of a second.)
            oldest = k_end - ps.a.ring.capacity + 1
            fa, fb = ps.a.ring.first_k, ps.b.ring.first_k
            began = k_end if fa is None or fb is None else max(fa, fb)
            first = max(began, oldest) if prev is None else max(prev + 1, oldest)
            first += -first % step
            if first <= k_end:
                spans.setdefault((first, k_end), []).append(ps)
        for (first, k_end), group in spans.items():
            self._score_windows(group, first, k_end, step)

    def _score_windows(self, group: list[_PairState], first: int, k_end: int, step: int) -> None:
        """Score the window ends ``first, first + step, ... <= k_end`` of the pairs of ``group``."""
        fs = self._fs / step
        cfg = group[0].sync.cfg  # the session's, for every pair
        n_win = max(1, round(cfg.window_s * fs))
        lo = first - (n_win - 1) * step

        # Each participant's samples read once, as one row, for all the pairs it is in.
        people = list({id(p): p for ps in group for p in (ps.a, ps.b)}.values())
        row = {id(p): i for i, p in enumerate(people)}
        ia, ib = [row[id(ps.a)] for ps in group], [row[id(ps.b)] for ps in group]
        phase = np.vstack([p.ring.window(lo, k_end, "phase", step) for p in people])
        rates = np.vstack([p.ring.window(lo, k_end, "rate", step) for p in people])
        # Windows over the thinned samples, as analyze computes them (pair_windows), those ending at ``first``
        # and after (the n_win - 1 samples before are the first window's).
        w = pair_windows(phase[ia], phase[ib], rates[ia], rates[ib], fs, cfg.window_s, ends_from=n_win - 1)
        plv, rel, cov = w.plv, w.rel_phase_rad, w.coverage
        rate, diff = w.mean_rate_bpm, w.rate_diff_bpm
        null = np.vstack([ps.sync.levels(first, k_end)[::step] for ps in group])  # of each window's own time
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(plv) & (cov >= cfg.min_coverage)  # no PLV: a phase unknown at the window's end
            ins = ok & in_sync_rule(plv, null, rel, cfg)
            # Who led: the windows locked within a quarter cycle with the pair's mean rate known (the lead in
            # seconds is at that rate), as analyze's (:meth:`PairSync.summary`).
            above = ok & (plv > null)
            opp = above & (np.abs(rel) > 0.5 * math.pi)
            sel = above & (np.abs(rel) <= 0.5 * math.pi) & np.isfinite(rate) & (rate > 0)
        mean = plv * np.exp(1j * rel)  # each window's plv * exp(i rel)
        # The summary's means, over the same windows as analyze's: every window with a PLV, and for who led,
        # the locked ones.
        plv_sum = np.where(ok, plv, 0.0).sum(axis=1).tolist()
        rel_sum = np.where(ok, mean, 0.0).sum(axis=1).tolist()
        lead_sum = np.where(sel, mean, 0.0).sum(axis=1).tolist()
        lead_rate_sum = np.where(sel, rate, 0.0).sum(axis=1).tolist()
        n_ok, n_in, n_sel, n_above, n_opp = (
            np.count_nonzero(v, axis=1).tolist() for v in (ok, ins, sel, above, opp)
        )
        last = first + (plv.shape[1] - 1) * step
        latest = np.stack(
            (plv[:, -1], rel[:, -1], cov[:, -1], null[:, -1], diff[:, -1], rate[:, -1]), 1
        ).tolist()
        ins_l, diff_l = ins.tolist(), diff.tolist()
        for i, ps in enumerate(group):
            # What the views show: the latest of these windows (the same windows as the time in sync and the
            # events, and as analyze's pair series of the recording).
            ps.state = ps.sync.state(last, *latest[i])
            self._judge_windows(ps, first, step, ins_l[i])
            ps.windows_scored += n_ok[i]
            ps.time_in_sync_s += n_in[i] / fs
            ps.plv_sum += plv_sum[i]
            ps.rel_sum += rel_sum[i]
            self._note_rate_diff(ps, first, step, diff_l[i])
            ps.lead_sum += lead_sum[i]
            ps.lead_rate_sum += lead_rate_sum[i]
            ps.lead_n += n_sel[i]
            ps.lead_time_s += n_sel[i] / fs
            ps.above_time_s += n_above[i] / fs
            ps.scored_time_s += n_ok[i] / fs
            ps.opposite_time_s += n_opp[i] / fs

    def _note_rate_diff(self, ps: _PairState, first: int, step: int, diff: list[float]) -> None:
        """The rate difference of the window ends ``first, first + step, ...``, for the summary's first and last
        minute of rate convergence (over window ends, as time in sync: the same at any --speed)."""
        for i, d in enumerate(diff):
            if d != d:  # NaN: a rate unknown
                continue
            t = (first + step * i) / self._fs
            if ps.first_t is None:
                ps.first_t = t
            if t - ps.first_t <= RATE_MINUTE_S:
                ps.first_sum += abs(d)
                ps.first_n += 1
            ps.recent.append((t, abs(d)))
        while ps.recent and ps.recent[-1][0] - ps.recent[0][0] > RATE_MINUTE_S:
            ps.recent.popleft()

    def _judge_windows(self, ps: _PairState, first: int, step: int, ins: list[bool]) -> None:
        """Judge the window ends ``first, first + step, ...`` (grid indices) in or out of sync, in order."""
        lead = self.config.phase == "lead" and {ps.a.label, ps.b.label} == {self._leader, self._follower}
        dt = step / self._fs  # what each window end is worth, as in time_in_sync_s
        for i, state in enumerate(ins):
            k = first + i * step
            self._judge(ps, k / self._fs, state, dt)
            if lead:  # the lead phase's verdict, judged at the same window ends (the same at any --speed)
                self._trainer.lead_step(ps, k, step / self._fs, state)

    def _judge(self, ps: _PairState, t: float, in_sync: bool, dt: float = 0.0) -> None:
        """One judgment of the pair at session time ``t``: the events' state (in sync, lost sync, once a state
        has held ``event_hold_s``) and the run in sync that the training goal counts. Judged at every window
        end scored (:meth:`_count_in_sync`, analyze's 10-Hz grid) and stamped with its time, so the events
        and the goal are the same at any ``--speed``; they used to be judged at the snapshots, which a fast
        run spaces seconds of session time apart (the demo's goal at 1:33 at 10x, 1:41 at 300x).

        ``dt``: what the judged window end is worth (its step, 0.1 s), 0 for a judgment that is no window end
        (a lost signal noticed). The run's time in sync (``run_s``: the view's ``sync_run_s``, the goal's
        progress) adds it for a window end in sync, as ``time_in_sync_s`` counts window ends: it was the time
        since the run's first window end, one step short of the same run's time in sync ("IN SYNC 0:32" beside
        "time in sync 0:33" in one run)."""
        t = max(t, ps.judged_t)
        ps.judged_t = t
        hold = self.config.event_hold_s
        if in_sync != ps.in_sync:
            ps.in_sync = in_sync
            ps.changed_at = t
        # The run ends as a "lost sync" event does: once out of sync has held for event_hold_s; a shorter
        # lapse is part of the run (it adds no time in sync to it), so the goal's progress and the events never
        # disagree.
        if in_sync and ps.run_start is None:
            ps.run_start, ps.run_s = t, 0.0
        elif not in_sync and ps.run_start is not None and t - ps.changed_at >= hold:
            ps.run_start, ps.run_s = None, 0.0
        if in_sync and ps.run_start is not None:
            ps.run_s += dt
        # Reached at a window judged in sync: a lapse (shorter than event_hold_s) is part of the run, but does
        # not end it at the goal. (The seconds before a lost signal is judged, no_signal_s after its last
        # sample, are no window ends and add nothing: counted, a replay that ended 2 s short of the goal
        # reached it.)
        if (
            in_sync
            and ps.run_start is not None
            and ps.goal_at is None
            and ps.run_s >= self.config.goal_s - 1e-9
        ):
            ps.goal_at = t
        if ps.in_sync != ps.reported and t - ps.changed_at >= hold:
            ps.reported = ps.in_sync
            who = (ps.a.label, ps.b.label)
            if ps.in_sync:
                self._event("in_sync", f"{ps.a.label} and {ps.b.label} are in sync", who, t)
            else:
                self._event("lost_sync", f"{ps.a.label} and {ps.b.label} lost sync", who, t)

    def _pair_view(self, ps: _PairState, now: float) -> PairView:
        live = ps.a.receiving and ps.b.receiving
        st = ps.state
        done = False  # nothing more to judge: a source of the two is over and its lost sync was judged
        if not live:
            # A participant without a signal: the pair's windows stop advancing, so the judgment is made here,
            # from when the signal was missed (a replayed file's samples say when; a device's, now).
            lost = [
                min(now, p.last_seen_s + p.no_signal_s) if p.source.paced else now
                for p in (ps.a, ps.b)
                if not p.receiving
            ]
            # Not while the other is still catching up to then (a simulated partner seconds of session time
            # behind a replay that has ended, at a high --speed): its windows up to there are still to judge.
            # Nor past the session's data (a fast replay's clock runs on after its files have ended): every
            # judgment is of a time the samples have reached, so the events are the same at any --speed (a
            # "lost sync" came after session_end at 50x and 100x, not at 20x).
            t_lost, reached = min(lost), self._data_reached(now)
            over = all(p.source.status in _OVER for p in (ps.a, ps.b) if not p.receiving)
            if t_lost <= reached and not any(p.behind(t_lost) for p in (ps.a, ps.b)):
                self._judge(ps, t_lost, False)
                # The pair's windows no longer advance: its "lost sync" is due event_hold_s later, judged now
                # (a source that is over never comes back: an episode in sync that a replay's end interrupted
                # was never closed in the events; one that comes back was judged only after its return, and a
                # recording held every event after the dropout until then, a kill -9 losing them).
                t_held = t_lost + self.config.event_hold_s
                if t_held <= reached and not any(p.behind(t_held) for p in (ps.a, ps.b)):
                    self._judge(ps, t_held, False)
                    if over:
                        done = True
        # A window older than a judgment made since (a lost signal, judged out of sync above) is no longer the
        # pair's state: back from a dropout, a strap's breathing is derived a beat or two after its beats
        # come, and until the windows after the dropout were scored the views showed the window before it,
        # "in sync" for a second after the lost-sync event.
        stale = st is not None and st.k_end / self._fs < ps.judged_t - 1e-9
        if st is None or not live or stale:
            # No window now: one of the two has no signal (or none was scored yet). Its end is not given
            # either: pairs.csv, the LSL stream and the BIDS derivative gave the last window's end beside
            # empty figures, a window analyze scores (PLV 0.97 at 299.9 s) marked unknown, and the BIDS export
            # kept that blank row in place of the window's own.
            in_sync = False
            plv = rel = lag = rate_diff = score = null = math.nan
        else:
            in_sync = st.in_sync
            plv, rel, lag, rate_diff, null, score = (
                st.plv,
                st.rel_phase_rad,
                st.lag_s,
                st.rate_diff_bpm,
                st.null_plv,
                st.sync_score,
            )
        ps.view = PairView(
            a=ps.a.label,
            b=ps.b.label,
            plv=plv,
            null_plv=null,
            sync_score=score,
            in_sync=in_sync,
            rel_phase_rad=rel,
            lag_s=lag,
            rate_diff_bpm=rate_diff,
            time_in_sync_s=ps.time_in_sync_s,
            sync_run_s=0.0 if ps.run_start is None else ps.run_s,
            window_end_s=math.nan if st is None or not live or stale else st.k_end / self._fs,
            judged_s=math.inf if done else ps.judged_t if math.isfinite(ps.judged_t) else math.nan,
        )
        return ps.view

    def _group_r(self) -> tuple[float, float]:
        """The group's Kuramoto order R (3+ participants) and the end of its window (session time); NaN, NaN
        when there is none (fewer than three people, or one of them without a signal, as a pair's view).

        The window is one of analyze's (``analysis._group_json``): ending at the latest common sample on the
        score grid (:data:`SCORE_FS_HZ`), made of the samples on that grid, so the R a view shows is the one
        analyze of the recording gives for that window. It used to be computed on the session's 20-Hz samples,
        over the window ending at any 20-Hz sample, of the receiving participants only: half its windows were
        not analyze's, and with one person without a signal it was the R of a different group."""
        if len(self._parts) < 3 or not all(p.receiving for p in self._parts):
            return math.nan, math.nan
        ks = [p.ring.last_k for p in self._parts]
        if any(k is None for k in ks):
            return math.nan, math.nan
        step = max(1, round(self._fs / SCORE_FS_HZ))
        k_end = min(k for k in ks if k is not None)
        k_end -= k_end % step
        if self._group_at is not None and self._group_at[0] == k_end:
            return self._group_at[1], k_end / self._fs
        fs = self._fs / step
        n_win = max(1, round(self.config.window_s * fs))
        k0 = k_end - (n_win - 1) * step
        ph = np.vstack([p.ring.window(k0, k_end, "phase", step) for p in self._parts])
        r = kuramoto_order(
            ph, fs, self.config.window_s, causal=True, min_coverage=self._sync_cfg.min_coverage
        )
        self._group_at = (k_end, float(r[-1]))
        return self._group_at[1], k_end / self._fs

    def _count_group(self) -> None:
        """Score the group's window ends (3+ people) advanced over since the last snapshot, on analyze's grid,
        for the summary's mean Kuramoto order R: every window end from where all began to the latest sample
        all have, as ``analyze`` scores the group of the recording (``analysis._group_json``), so the mean is
        its ``mean_kuramoto_r`` whatever the --speed (the view's R is the latest window's alone)."""
        if len(self._parts) < 3:
            return
        rings = [p.ring for p in self._parts]
        lasts, firsts = [r.last_k for r in rings], [r.first_k for r in rings]
        if any(k is None for k in lasts) or any(k is None for k in firsts):
            return
        step = max(1, round(self._fs / SCORE_FS_HZ))
        k_end = min(k for k in lasts if k is not None)
        k_end -= k_end % step
        # The chance level's marks first: they go on while one of the group is silent (dsp.sync.marks_due).
        self._group_chance.advance(self._group_rings, k_end, [not p.receiving for p in self._group_people])
        prev = self._group_k
        if prev is not None and k_end <= prev:
            return
        self._group_k = k_end
        oldest = k_end - min(r.capacity for r in rings) + 1
        began = max(k for k in firsts if k is not None)
        first = max(began, oldest) if prev is None else max(prev + step, oldest)
        first += -first % step
        if first > k_end:
            return
        fs = self._fs / step
        n_win = max(1, round(self.config.window_s * fs))
        lo = first - (n_win - 1) * step
        ph = np.vstack([r.window(lo, k_end, "phase", step) for r in rings])
        r_win = kuramoto_order(
            ph, fs, self.config.window_s, causal=True, min_coverage=self._sync_cfg.min_coverage
        )
        r_new = r_win[n_win - 1 :]
        # The latest window is the view's too (_group_r): computed once.
        self._group_at = (k_end, float(r_new[-1]))
        known = np.isfinite(r_new)
        self._group_sum += float(r_new[known].sum())
        self._group_n += int(np.count_nonzero(known))
        # Each window end judged with the chance level of its own time (a fast run passes several marks).
        null = self._group_chance.levels(first, k_end)[::step]
        self._group_above += int(np.count_nonzero(known & (r_new > null)))
        self._group_null_sum += float(null[known].sum())
        capped = known & (null >= self._sync_cfg.max_null)
        self._group_capped += int(np.count_nonzero(capped))
        from_k = self._group_chance.first_surrogate_k  # before it, the cap for want of history
        wanting = capped if from_k is None else capped & (np.arange(first, k_end + 1, step) < from_k)
        self._group_no_surrogate += int(np.count_nonzero(wanting))

    # -------------------------------------------------------------------------------------- summary
    def summary(self) -> dict[str, Any]:
        """Session summary: per participant breaths and rate, per pair time in sync, mean PLV, who led."""
        parts: dict[str, dict[str, Any]] = {}
        descs = [p.source.describe() for p in self._parts]
        names = _source_names([p.source for p in self._parts], descs)
        for p, name, d in zip(self._parts, names, descs, strict=True):
            n_grid = int(p.quality_n.sum())  # the pipeline's output samples
            parts[p.label] = {
                "breaths": p.breaths,
                # The live rate over the whole session (it averaged the last 3 minutes' history only).
                "mean_rate_bpm": round(p.rate_sum / p.rate_n, 2) if p.rate_n else None,
                "source": name,
                "final_status": self._end_status.get(p.label, p.source.status.value),
                # The share of the grid's samples held at the sensor's limit (a belt too tight), as analyze
                # warns of it; None (not measured) for breathing derived from heart beats or an accelerometer,
                # a waveform breathsync computes, which never holds a value (analyze's clipped_frac too).
                "clipped_frac": (
                    None
                    if _origin(p.source) != "resp"
                    else round(p.pipeline.clipped_samples / n_grid, 4)
                    if n_grid
                    else 0.0
                ),
            }
            # A device's notifications dropped (malformed, out of range), as session.json's source entry
            # counts them: said in the summary line too (they were in session.json alone).
            if d.get("dropped"):
                parts[p.label].update(
                    dropped=d["dropped"],
                    dropped_by=dict(d.get("dropped_by") or {}),
                    notifications=d.get("notifications"),
                )
            if not p.rate_n:
                parts[p.label]["no_rate_why"] = _no_rate_why(
                    p.quality_n, p.breaths, p.pipeline.config, p.chunks, p.source.signal
                )
            # Which way is inhale: said of an accelerometer that gave breathing (one that gave nothing,
            # such as a Polar H10 that failed to start, was "a guess (no heart beats)").
            if p.source.signal == "acc" and math.isfinite(p.latest[0]):
                total = sum(p.sign_time.values())
                parts[p.label]["acc_sign"] = {
                    "heart_beats": p.beats_seen > 0,
                    "basis_frac": {
                        b: round(v / total, 4) if total > 0 else 0.0 for b, v in p.sign_time.items()
                    },
                    "flips_s": list(p.sign_turns),
                }
        # A session shorter than one sync window scores no window: said so, as analyze says it of recordings
        # that overlap by less than one (where "no window with both phases known" sent users looking for a
        # fault in their signals).
        # The session's length: once it has ended, what session.json's duration_s says (the clock runs on
        # after the end: at 300x a 20-s replay without --duration read as longer than a window).
        ran = self._ran_s
        if ran is None:
            ran = self.clock.now() if self._duration_s is None else min(self.clock.now(), self._duration_s)
        short = (
            f"not scored: the session ({ran:.0f} s) was shorter than one {self.config.window_s:g}-s window"
            if ran < self.config.window_s
            else None
        )
        pairs = []
        for ps in self._pairs:
            rel = math.atan2(ps.rel_sum.imag, ps.rel_sum.real) if ps.windows_scored else math.nan
            # Who leads: as in the analysis, from the windows locked within a quarter cycle.
            who, lead_s = who_led(
                ps.lead_sum,
                ps.lead_rate_sum / ps.lead_n if ps.lead_n else math.nan,
                ps.lead_time_s,
                self.config.window_s,
            )
            leader = {"a": ps.a.label, "b": ps.b.label}.get(who or "")
            converging = (
                ps.first_n > 0
                and bool(ps.recent)
                and ps.first_t is not None
                and ps.recent[-1][0] - ps.first_t >= 2 * RATE_MINUTE_S
            )
            pairs.append(
                {
                    "a": ps.a.label,
                    "b": ps.b.label,
                    # None when no window was scored: nothing was measured, which is not "never in sync".
                    "time_in_sync_s": round(ps.time_in_sync_s, 2) if ps.windows_scored else None,
                    "mean_plv": round(ps.plv_sum / ps.windows_scored, 4) if ps.windows_scored else None,
                    "mean_relative_phase_rad": round(rel, 4) if ps.windows_scored else None,
                    "leader": leader,
                    "lead_s": None if lead_s is None else round(lead_s, 3),
                    # How long the windows locked within a quarter cycle lasted, that who led is taken over
                    # (analyze's locked_s), and the window: "no leader (locked ... for 0:12, less than one
                    # 30-s window)", in analyze's words.
                    "locked_s": round(ps.lead_time_s, 2) if ps.windows_scored else None,
                    # How long the PLV was above its chance level, and of that beyond a quarter cycle (analyze's
                    # above_chance_s and opposite_s): "no relative phase", "locked in opposite phase".
                    "above_chance_s": round(ps.above_time_s, 2) if ps.windows_scored else None,
                    "opposite_s": round(ps.opposite_time_s, 2) if ps.windows_scored else None,
                    "scored_s": round(ps.scored_time_s, 2)
                    if ps.windows_scored
                    else None,  # analyze's scored_s
                    "window_s": self.config.window_s,
                    # Rate convergence: how far apart the two rates were in the first and in the last minute;
                    # null until the rates span two minutes (before, the two minutes overlap: a 25-s session
                    # said "rates 0.5 -> 0.5 /min apart (first -> last minute)").
                    "rate_diff_first_min_bpm": round(ps.first_sum / ps.first_n, 2) if converging else None,
                    "rate_diff_last_min_bpm": (
                        round(sum(d for _, d in ps.recent) / len(ps.recent), 2) if converging else None
                    ),
                }
            )
            if not ps.windows_scored and short is not None:
                pairs[-1]["note"] = short
        out: dict[str, Any] = {
            "participants": parts,
            "pairs": pairs,
            "training": self._trainer.summary(),
        }
        if len(self._parts) >= 3:
            # The group's mean Kuramoto order R over its windows, as analyze's mean_kuramoto_r of the
            # recording; None when no window had everyone's phase (nothing was measured).
            n, dt = self._group_n, 1.0 / SCORE_FS_HZ
            out["group"] = {
                "labels": [p.label for p in self._parts],
                "mean_kuramoto_r": round(self._group_sum / n, 4) if n else None,
                # As analyze's group of the recording: the mean chance level over the windows scored, how
                # long R was above it and how long was scored.
                "mean_null_r": round(self._group_null_sum / n, 4) if n else None,
                "above_chance_s": round(self._group_above * dt, 2) if n else None,
                "scored_s": round(n * dt, 2) if n else None,
                "chance_capped_frac": round(self._group_capped / n, 4) if n else None,
                "chance_no_surrogate_frac": round(self._group_no_surrogate / n, 4) if n else None,
                "chance_need_s": group_surrogate_need_s(len(self._parts), self._sync_cfg),
            }
            if not self._group_n and short is not None:
                out["group"]["note"] = short
        if self._warnings:
            out["warnings"] = list(self._warnings)
        return out

    def warn(self, text: str, who: tuple[str, ...] = ()) -> None:
        """Something about the session's set-up the participants should know (two replays of one recording):
        a ``signal_note`` event at its start, and a line of the summary's ``warnings``."""
        self._warnings.append(text)
        self._event("signal_note", text, who, t=0.0)


def _seconds_text(s: float) -> str:
    """A duration for an event's text: ``4.2 s`` under 10 s, ``36 s``, ``2 min 05 s``."""
    if s < 10:
        return f"{s:.1f} s"
    if s < 60:
        return f"{s:.0f} s"
    m, sec = divmod(round(s), 60)
    return f"{m} min {sec:02d} s"


def _origin(src: Source) -> str:
    """What a source's breathing comes from (:data:`NOT_INVERTIBLE`, the RR note, the shape and clipping
    tests): its signal, or what its waveform was derived from before it reached the source
    (:attr:`Source.derived_from`: a partner's breathsync publishing breathing from heart beats or a chest
    accelerometer, read by an lsl: source or an XDF replay of its stream)."""
    return src.derived_from or src.signal


def _extra_columns(src: Source) -> dict[str, list[str]]:
    """``{"extra_columns": [...]}`` for a participant entry when its source says it has any (the recorder's
    header has them from the first chunk), else nothing."""
    return {"extra_columns": list(src.extra_columns)} if src.extra_columns else {}


#: Breathing derived from the heart's beats: its direction is physiology's (the heart speeds up on inhale),
#: not a way of wearing anything, and its rise/fall timing is the heart's response, not the breath's
#: inhale/exhale ratio; the "inverted" shape test says nothing there that anyone could act on.
_SHAPE_FREE = ("rr", "ecg")

#: Signals whose breathing direction no way of wearing anything sets, and why (``--invert`` is for a belt
#: worn so that it falls on inhale): flipping them only turns a right direction upside down.
NOT_INVERTIBLE = {
    "rr": "comes from heart beats, whose direction is set by physiology (the heart speeds up on inhale), "
    "not by how anything is worn",
    "acc": "comes from a chest accelerometer, whose direction breathsync sets itself (from the breath's "
    "shape, confirmed by the heart's rhythm when there are beats), not by how anything is worn",
}


def _no_rate_why(
    quality_n: Any, breaths: int, cfg: PipelineConfig, chunks: int = 0, signal: str = "resp"
) -> str:
    """Why a participant's session gave no rate, from the pipeline states it went through. A session too
    short for a rate says so: two samples of a simulated partner read "the signal was flat", and one breath
    in 12 s "never at a steady rate ... (too fast or too slow?)". ``chunks``: how many chunks of samples
    the source gave (a chest accelerometer's samples give no breathing waveform until its breathing axis is
    found: 9 s of a Polar H10 read "no samples arrived" beside the samples it had recorded)."""
    n = int(quality_n.sum())
    if not n and chunks and signal in ("acc", "rr"):
        made = "the chest's breathing axis" if signal == "acc" else "a breathing waveform from the beats"
        return f"samples arrived, but too few to find {made} (too short?)"
    if not n:
        return "no samples arrived"
    dur = n / cfg.fs_hz
    seconds = f"{dur:.1f} s of signal" if dur < 10 else f"{dur:.0f} s of signal"
    flat = int(quality_n[Quality.FLAT])
    if flat >= n // 2 and flat >= cfg.flat_s * cfg.fs_hz:
        return "the signal was flat (sensor off or disconnected?)"
    if breaths >= cfg.rate_min_n:
        return "breaths were found but never at a steady rate in the range the tracker follows (too fast or too slow?)"
    if breaths > 0:
        return f"only {breaths_text(breaths)} in {seconds}: a rate needs {cfg.rate_min_n} (too short?)"
    if int(quality_n[Quality.NO_BREATHING]):
        return "no breathing was detected in the signal"
    return f"the signal never got past warm-up ({seconds}: too short?)"


def _source_names(sources: Sequence[Source], descs: Sequence[dict[str, Any]] | None = None) -> list[str]:
    """Each source's name for the views and the summary (:func:`_source_name`), a Bluetooth device's made
    unique: two that advertise the same name get the end of their address after it ("ble:Polar H10 (00:01)",
    longer where those ends are the same too). ``descs``: their :meth:`describe`, when at hand."""
    descs = [s.describe() for s in sources] if descs is None else descs
    names = [_source_name(s, d) for s, d in zip(sources, descs, strict=True)]
    for name in set(names):
        same = [i for i, n in enumerate(names) if n == name and descs[i].get("kind") == "ble"]
        addrs = [str(descs[i].get("address") or "") for i in same]
        if len(same) < 2 or not all(addrs) or len({a.upper() for a in addrs}) < len(addrs):
            continue
        n = 5  # "00:01": a Bluetooth address's last two bytes (a macOS UUID's last five digits)
        while n < max(map(len, addrs)) and len({a[-n:].upper() for a in addrs}) < len(addrs):
            n += 3
        for i, a in zip(same, addrs, strict=True):
            names[i] = f"{name} ({a[-n:]})"
    return names


def _source_name(src: Source, d: dict[str, Any] | None = None) -> str:
    """A source in a few words, for the views' source column and the summary: ``replay:FILE`` (with its
    ``column=`` and ``rate=``), ``sim:MODE``, ``lsl:STREAM``, ``ble:NAME`` (the device's advertised name once
    found, else the target given; it said only "ble"). ``d``: its :meth:`describe`, when at hand."""
    d = src.describe() if d is None else d
    kind = str(d.get("kind", type(src).__name__))
    if kind == "ble":
        what = d.get("name") or d.get("address") or d.get("target")
        return f"{kind}:{' '.join(str(what).split())}" if what else kind
    if "file" in d:
        from pathlib import Path

        column = f",column={d['column']}" if d.get("column") else ""
        rate = f",rate={d['rate_hz']:g}" if d.get("rate_hz") else ""
        return f"{kind}:{Path(str(d['file'])).name}{column}{rate}"
    if "mode" in d:
        return f"{kind}:{d['mode']}"
    if d.get("stream"):  # an LSL stream, by its name, as the recording's "# source:" line says it
        return f"{kind}:{d['stream']}"
    return kind
