"""The live terminal view: a sink that draws each snapshot in place (or, when the output is not a terminal,
prints one plain line a second so that logs stay readable)."""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

from breathsync.session_types import PairView, ParticipantView, SessionInfo, Snapshot, clock_text
from breathsync.sources.base import SampleChunk

BAR = 24


def _breath_bar(p: ParticipantView) -> str:
    """The lungs' fill: grows on the inhale (phase 0 -> pi), shrinks on the exhale."""
    if not p.receiving:
        return "no signal".center(BAR + 2)
    if not math.isfinite(p.phase_rad):
        return f"[{p.quality.replace('_', ' '):^{BAR}}]"
    fill = (1.0 - math.cos(p.phase_rad)) / 2.0
    n = round(fill * BAR)
    return "[" + "#" * n + "." * (BAR - n) + "]"


def _direction(p: ParticipantView) -> str:
    if not math.isfinite(p.phase_rad):
        return "      "
    return "in  ^ " if p.phase_rad < math.pi else "out v "


def _meter(x: float, width: int = 10) -> str:
    if not math.isfinite(x):
        return "?" * width
    n = round(min(max(x, 0.0), 1.0) * width)
    return "=" * n + "-" * (width - n)


def who_first(pv: PairView) -> str:
    """Who breathes first, in words: "A first by 0.4 s"; "in phase" when that rounds to 0.0 s (as the
    summary says "in phase" when the lead rounds to zero at the precision it prints); "opposite phase" beyond
    90 degrees, where who is "first" is arbitrary (half a cycle ahead is half a cycle behind)."""
    if not math.isfinite(pv.rel_phase_rad):
        return ""
    if abs(pv.rel_phase_rad) > math.pi / 2:
        return "opposite phase"
    if not math.isfinite(pv.lag_s):
        return ""
    if round(abs(pv.lag_s), 1) == 0.0:
        return "in phase"
    return f"{pv.a if pv.rel_phase_rad > 0 else pv.b} first by {abs(pv.lag_s):.1f} s"


def is_you(label: str | None) -> bool:
    """A participant labelled "you" (the demo's user): the views address them in the second person."""
    return (label or "").strip().lower() == "you"


def says(label: str | None, third: str, second: str) -> str:
    """``label`` with its verb: "A leads" but "you lead" (``third`` / ``second`` person forms)."""
    return f"{label} {second if is_you(label) else third}"


def possessive(label: str | None) -> str:
    """``A's`` but ``your``."""
    return "your" if is_you(label) else f"{label}'s"


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
            f"{possessive(leader)} pace {tr.leader_rate_change_bpm:+.1f}/min since the instruction"
        )
    if math.isfinite(tr.rate_tracking_error_bpm):
        details.append(f"rate difference {tr.rate_tracking_error_bpm:.1f}/min")
    lag = tr.follower_lag_s
    if math.isfinite(lag):
        details.append(f"{follower} {abs(lag):.1f} s {'behind' if lag >= 0 else 'ahead'}")
    if details:
        out.append(", ".join(details))
    return out


def measuring_text(window_s: float) -> str:
    """While both have a phase but the sync window is not yet filled (the first 30 s, and again after a
    gap): the PLV needs both phases over most of one window."""
    if not math.isfinite(window_s):
        return "measuring: filling the sync window"
    return f"measuring: filling the {window_s:g}-s sync window"


def _has_phase(snap: Snapshot, label: str) -> bool:
    return any(p.label == label and p.receiving and math.isfinite(p.phase_rad) for p in snap.participants)


def _pair_line(pv: PairView, snap: Snapshot | None = None, window_s: float = math.nan) -> str:
    if not math.isfinite(pv.plv):
        if snap is not None and _has_phase(snap, pv.a) and _has_phase(snap, pv.b):
            return f"{pv.a}-{pv.b}  sync [{_meter(math.nan)}]  {measuring_text(window_s)}"
        return f"{pv.a}-{pv.b}  sync [{_meter(math.nan)}]  waiting for both breathing signals"
    deg = math.degrees(pv.rel_phase_rad)
    state = "IN SYNC" if pv.in_sync else "not yet"
    # The meter is PairView.meter, not the sync score: a pair locked in opposite phase has a high score
    # (the PLV does not care at which angle they lock) but is not breathing together.
    return (
        f"{pv.a}-{pv.b}  sync [{_meter(pv.meter)}] {pv.meter:4.2f}  {state:8s} "
        f"PLV {pv.plv:.2f} (chance {pv.null_plv:.2f})  phase {deg:+4.0f} deg {who_first(pv)}  "
        f"time in sync {clock_text(pv.time_in_sync_s)}"
    )


def state_text(snap: Snapshot, window_s: float = math.nan) -> str:
    """The big state line: "in sync 0:45", "finding the rhythm", "no signal from B", "measuring: filling
    the 30-s sync window" (``window_s``: the session's sync window)."""
    lost = [p.label for p in snap.participants if not p.receiving]
    if lost:
        return "no signal from " + ", ".join(lost)
    if not snap.pairs:
        return "breathing"
    best = max(snap.pairs, key=lambda pv: pv.sync_run_s)
    if best.in_sync:
        return f"IN SYNC {clock_text(best.sync_run_s)}"
    if any(p.quality == "warmup" for p in snap.participants):
        return "warming up"
    if not any(math.isfinite(pv.plv) for pv in snap.pairs) and all(
        math.isfinite(p.phase_rad) for p in snap.participants
    ):
        return measuring_text(window_s)  # everyone breathing, no sync measured yet: not "finding" it
    return "finding the rhythm"


def _window_s(info: SessionInfo | None) -> float:
    try:
        return float(info.settings["window_s"]) if info is not None else math.nan
    except (KeyError, TypeError, ValueError):
        return math.nan


def render(snap: Snapshot, info: SessionInfo | None = None, recent_events: list[str] | None = None) -> str:
    """The whole screen for one snapshot."""
    tr = snap.training
    head = f"breathsync  {tr.phase}"
    if tr.phase != "free":
        head += f" ({tr.stage})"
    head += f"   {clock_text(snap.t_s)}"
    if info is not None and info.settings.get("speed", 1) != 1:
        head += f"   speed x{info.settings['speed']:g}"
    lines = [head, ""]
    w = max((len(p.label) for p in snap.participants), default=1)
    for p in snap.participants:
        rate = f"{p.rate_bpm:4.1f}/min" if math.isfinite(p.rate_bpm) else "  -/min "
        lines.append(
            f"{p.label:>{w}} {_breath_bar(p)} {_direction(p)} {rate}  {p.quality:12s} "
            f"{p.source} ({p.source_status})"
        )
    lines.append("")
    window_s = _window_s(info)
    lines += [_pair_line(pv, snap, window_s) for pv in snap.pairs]
    if math.isfinite(snap.group_r):
        lines.append(f"group order R {snap.group_r:.2f}")
    lines.append("")
    lines.append(f">>> {state_text(snap, window_s)} <<<")
    if tr.instruction:
        lines.append(f"now: {tr.instruction}")
    if tr.phase == "match":
        done = "reached" if tr.goal_reached else f"{tr.progress_s:.0f}/{tr.goal_s:.0f} s"
        lines.append(f"goal: hold sync {tr.goal_s:.0f} s [{_meter(tr.progress_s / tr.goal_s)}] {done}")
    elif tr.phase == "lead":
        lines += [f"lead: {x}" if i == 0 else f"      {x}" for i, x in enumerate(lead_lines(snap))]
    for a in snap.alarms:
        lines.append(f"!! {a}")
    for e in recent_events or []:
        lines.append(f"   {e}")
    return "\n".join(lines)


class TerminalView:
    """A sink drawing the session in the terminal, at most ``fps`` times a second (wall clock)."""

    def __init__(self, out: TextIO | None = None, fps: float = 10.0, in_place: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.in_place = self.out.isatty() if in_place is None else in_place
        self.min_gap = 1.0 / fps if self.in_place else 1.0
        self._last = -math.inf
        self._lines = 0
        self._events: list[str] = []
        self._info: SessionInfo | None = None

    def open(self, info: SessionInfo) -> None:
        self._info = info

    def on_chunk(self, label: str, chunk: SampleChunk) -> None:
        pass

    def on_snapshot(self, snap: Snapshot) -> None:
        for e in snap.events:
            self._events.append(f"{clock_text(e.t_s)} {e.text}")
            if not self.in_place:
                self.out.write(f"[{clock_text(e.t_s)}] {e.text}\n")
        self._events = self._events[-5:]
        now = time.monotonic()
        if now - self._last < self.min_gap and not snap.final:
            return
        self._last = now
        if self.in_place:
            text = render(snap, self._info, self._events)
            if self._lines:
                self.out.write(f"\x1b[{self._lines}F")
            self.out.write("\x1b[J" + text + "\n")
            self._lines = text.count("\n") + 1
        else:
            parts = []
            for p in snap.participants:
                rate = f"{p.rate_bpm:.1f}/min" if math.isfinite(p.rate_bpm) else "-"
                parts.append(f"{p.label} {rate} {p.quality if p.receiving else 'no signal'}")
            for pv in snap.pairs:
                plv = f"{pv.plv:.2f}" if math.isfinite(pv.plv) else "-"
                parts.append(f"{pv.a}-{pv.b} PLV {plv} {'in sync' if pv.in_sync else 'not in sync'}")
            state = state_text(snap, _window_s(self._info))
            self.out.write(f"[{clock_text(snap.t_s)}] " + "; ".join(parts) + f"; {state}\n")
        self.out.flush()

    def close(self, info: SessionInfo) -> None:
        self.out.flush()
