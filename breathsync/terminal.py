"""The live terminal view: a sink that draws each snapshot in place (or, when the output is not a terminal, or
a Windows console that will not take escape sequences, prints one plain line a second so that logs stay
readable)."""

from __future__ import annotations

import math
import shutil
import sys
import textwrap
import time
import unicodedata
from collections.abc import Callable
from typing import Any, TextIO

from breathsync.session_types import (
    PairView,
    ParticipantView,
    SessionInfo,
    Snapshot,
    clock_text,
    degrees_text,
    group_order_text,
    lead_lines,
    measuring_text,
    pair_first_text,
    quality_words,
    sync_state,
)
from breathsync.sources.base import SampleChunk

BAR = 24
#: At most this many rows for a participant's status reason on a narrow terminal (the rest cut with "…"):
#: a reconnection's reason names the attempt, how long ago the link was lost and why it failed.
REASON_ROWS = 3


def _breath_bar(p: ParticipantView, bar: int = BAR) -> str:
    """The lungs' fill: grows on the inhale (phase 0 -> pi), shrinks on the exhale (``bar`` cells inside
    the brackets)."""
    if not p.receiving:
        return "no signal"[:bar].center(bar + 2)
    if not math.isfinite(p.phase_rad):
        return f"[{_quality(p)[:bar]:^{bar}}]"
    fill = (1.0 - math.cos(p.phase_rad)) / 2.0
    n = round(fill * bar)
    return "[" + "#" * n + "." * (bar - n) + "]"


def _quality(p: ParticipantView) -> str:
    return quality_words(p.quality)


def _direction(p: ParticipantView) -> str:
    if not math.isfinite(p.phase_rad):
        return "      "
    return "in  ^ " if p.phase_rad < math.pi else "out v "


def _meter(x: float, width: int = 10) -> str:
    if not math.isfinite(x):
        return "?" * width
    n = round(min(max(x, 0.0), 1.0) * width)
    return "=" * n + "-" * (width - n)


def _has_phase(snap: Snapshot, label: str) -> bool:
    return any(p.label == label and p.receiving and math.isfinite(p.phase_rad) for p in snap.participants)


def _pair_parts(pv: PairView, snap: Snapshot | None = None, window_s: float = math.nan) -> list[str]:
    """The pair line's pieces: one line when they fit, else packed into as few lines as fit."""
    if not math.isfinite(pv.plv):
        if snap is not None and _has_phase(snap, pv.a) and _has_phase(snap, pv.b):
            return [f"{pv.a}-{pv.b}  sync [{_meter(math.nan)}]", measuring_text(window_s)]
        return [f"{pv.a}-{pv.b}  sync [{_meter(math.nan)}]", "waiting for both breathing signals"]
    state = "IN SYNC" if pv.in_sync else "not yet"
    # The meter is PairView.meter, not the sync score: 0.50 and over exactly when in sync (a PLV just over a
    # chance level of 0.9 scores near 0), and a pair locked in opposite phase (a high score: the PLV does not
    # care at which angle they lock) reads 0.
    first = pair_first_text(pv)  # a piece of its own: a narrow terminal breaks the line before it
    return [
        f"{pv.a}-{pv.b}  sync [{_meter(pv.meter)}] {pv.meter:4.2f}  {state:8s}",
        f"PLV {pv.plv:.2f} (chance {pv.null_plv:.2f})",
        f"phase {degrees_text(pv.rel_phase_rad):>4} deg",
        *([first] if first else []),
        f"time in sync {clock_text(pv.time_in_sync_s)}",
    ]


def _pair_line(pv: PairView, snap: Snapshot | None = None, window_s: float = math.nan) -> str:
    return "  ".join(x.rstrip() for x in _pair_parts(pv, snap, window_s))


def state_text(snap: Snapshot, window_s: float = math.nan) -> str:
    """The big state line, :func:`breathsync.session_types.sync_state`'s words; in sync in capitals ("IN SYNC
    0:45"): the terminal's emphasis, where the dashboard has a colour and a shape."""
    kind, text = sync_state(snap, window_s)
    return text.upper() if kind == "in_sync" else text


def _window_s(info: SessionInfo | None) -> float:
    try:
        return float(info.settings["window_s"]) if info is not None else math.nan
    except (KeyError, TypeError, ValueError):
        return math.nan


def cells(text: str) -> int:
    """How many terminal columns ``text`` takes (wide East Asian characters two, combining marks none)."""
    n = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, ending in "…" when cut."""
    if cells(text) <= width:
        return text
    out, n = "", 0
    for ch in text:
        c = cells(ch)
        if n + c > width - 1:
            break
        out += ch
        n += c
    return out + "…" if width >= 1 else ""


def _wrap(text: str, width: int, indent: str = "  ") -> list[str]:
    """``text`` on lines of at most ``width`` columns, continuation lines indented."""
    if cells(text) <= width:
        return [text]
    lines = textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False) or [""]
    return [_cut(x, width) for x in lines]  # a wide character textwrap counted as one column


def _pack(parts: list[str], width: int, indent: str = "  ") -> list[str]:
    """Pieces joined by two spaces on as few lines of at most ``width`` columns as they fit."""
    lines: list[str] = []
    cur = ""
    for part in parts:
        joined = f"{cur}  {part}" if cur else part
        if not cur or cells(joined) <= width:
            cur = joined
        else:
            lines.append(cur)
            cur = indent + part
    lines.append(cur)
    return [y for x in lines for y in _wrap(x, width, indent + "  ")]


def _participant_lines(p: ParticipantView, w: int, width: int | None) -> list[str]:
    rate = f"{p.rate_bpm:4.1f}/min" if math.isfinite(p.rate_bpm) else "   -/min"
    label = p.label if cells(p.label) <= w else _cut(p.label, w)  # a long label, on a narrow terminal
    head = f"{label:>{w}} "
    mid = f" {_direction(p)}{rate}  {_quality(p):12s} "
    # A device's battery, as the dashboard's table shows it (the terminal had it only as the low event).
    battery = f", battery {p.battery_pct:.0f}%" if p.battery_pct is not None else ""
    tail = f"({p.source_status}{battery})"
    line = f"{head}{_breath_bar(p)}{mid}{p.source} {tail}"
    if width is None or cells(line) <= width:
        return [line]
    # Narrow: the source cut short, a shorter bar, then no source (and its state only when not the usual
    # "streaming"), the quality's padding last; narrower still (a long label), the rate and quality go on
    # a second row rather than being cut off.
    mid_short = f" {_direction(p)}{rate}  {_quality(p)} "
    candidates = [
        (BAR, mid, 12, tail),
        (16, mid, 10, tail),
        (10, mid, 8, tail),
        (10, mid, -1, tail),
        (10, mid_short, -1, tail),
        (10, mid_short, -1, "" if p.source_status == "streaming" else tail),
    ]
    for bar, m, min_src, t in candidates:
        fixed = cells(head) + bar + 2 + cells(m) + cells(t)
        room = width - fixed - 1
        if min_src >= 0 and room >= min_src:
            return [f"{head}{_breath_bar(p, bar)}{m}{_cut(p.source, room)} {t}".rstrip()]
        if min_src < 0 and fixed <= width:
            return [f"{head}{_breath_bar(p, bar)}{m}{t}".rstrip()]
    state = "" if p.source_status == "streaming" else f" {tail}"
    second = f"{' ' * min(w + 1, max(0, width - 24))}{_direction(p)}{rate}  {_quality(p)}{state}"
    return [_cut(f"{head}{_breath_bar(p, 8)}", width), *_wrap(second, width, "    ")]


def _reason_lines(p: ParticipantView, w: int, width: int | None) -> list[str]:
    """Why a participant's source is not streaming, under its line, as the dashboard lists it under its
    table ("Polar H10 1A2B: link lost 37 s ago; attempt 5 failed: ... in its charger (status 13); trying
    again in 8 s"); none while it streams. Indented under the bar; on a narrow terminal wrapped on at
    most :data:`REASON_ROWS` rows, the last cut with "…"."""
    if not p.status_reason or p.source_status == "streaming":
        return []
    indent = " " * (w + 2 if width is None else min(w + 2, max(2, width // 4)))
    text = f"{indent}{p.status_reason}"
    if width is None:
        return [text]
    lines = _wrap(text, width, indent)
    if len(lines) > REASON_ROWS:
        lines = [*lines[: REASON_ROWS - 1], _cut(lines[REASON_ROWS - 1] + " …", width)]
    return lines


def render(
    snap: Snapshot,
    info: SessionInfo | None = None,
    recent_events: list[str] | None = None,
    width: int | None = None,
    height: int | None = None,
) -> str:
    """The whole screen for one snapshot.

    ``width``: fit every line in this many columns (a long line is wrapped, the pair line broken between
    its parts, a participant's bar shortened and its source cut), so that each line is one row of the
    terminal. ``height``: at most this many lines (the recent events go first, then pairs' lines, a line
    saying how many pairs are left out, then the end is cut).
    """
    tr = snap.training
    head = f"breathsync  {tr.phase}"
    if tr.phase != "free":
        head += f" ({tr.stage})"
    head += f"   {clock_text(snap.t_s)}"
    if info is not None and info.settings.get("speed", 1) != 1:
        head += f"   speed x{info.settings['speed']:g}"
    top = [head, ""]
    w = max((len(p.label) for p in snap.participants), default=1)
    if width is not None:  # the labels' column takes at most half a narrow terminal
        w = min(w, max(4, width // 2))
    for p in snap.participants:
        top += _participant_lines(p, w, width) + _reason_lines(p, w, width)
    top.append("")
    window_s = _window_s(info)
    blocks: list[list[str]] = []  # each pair's lines
    for pv in snap.pairs:
        parts = _pair_parts(pv, snap, window_s)
        blocks.append(["  ".join(parts)] if width is None else _pack(parts, width))
    lines: list[str] = []
    if math.isfinite(snap.group_r):
        lines.append(group_order_text(snap.group_r, snap.group_chance))
    lines.append("")
    lines.append(f">>> {state_text(snap, window_s)} <<<")
    if tr.instruction:
        lines.append(f"now: {tr.instruction}")
    if tr.phase == "match":
        # A no-break space: a narrow terminal wraps before the figure, never between it and its unit.
        if tr.goal_reached:  # a full bar: what the run in sync does after it is another matter
            done = f"reached at\u00a0{clock_text(tr.goal_reached_at_s)}"
            lines.append(f"goal: hold sync {tr.goal_s:.0f} s [{_meter(1.0)}] {done}")
        else:
            # Whole seconds as clock_text counts them (the pair's "time in sync 0:07" beside "7/60 s", not 8).
            done = f"{int(tr.progress_s + 1e-6)}/{tr.goal_s:.0f}\u00a0s"
            lines.append(f"goal: hold sync {tr.goal_s:.0f} s [{_meter(tr.progress_s / tr.goal_s)}] {done}")
    elif tr.phase == "lead":
        lines += [f"lead: {x}" if i == 0 else f"      {x}" for i, x in enumerate(lead_lines(snap))]
    lines += [f"!! {a}" for a in snap.alarms]
    events = [[f"   {e}"] for e in recent_events or []]
    if width is not None:
        top, lines = ([y for x in part for y in _wrap(x, width, "      ")] for part in (top, lines))
        events = [_wrap(e[0], width, " " * 9) for e in events]
    if height is not None:
        while events and len(top) + sum(map(len, blocks)) + len(lines) + sum(map(len, events)) > height:
            events.pop(0)  # the oldest first
        blocks = _fit_pairs(snap, blocks, height - len(top) - len(lines), width)
    lines = top + [x for b in blocks for x in b] + lines
    if height is not None and len(lines) > height:
        cut = len(lines) - height + 1
        lines = [*lines[: height - 1], f"... {cut} more lines: enlarge the terminal"]
        if width is not None:
            lines[-1] = _cut(lines[-1], width)
    return "\n".join(lines + [x for e in events for x in e])


def _fit_pairs(snap: Snapshot, blocks: list[list[str]], room: int, width: int | None) -> list[list[str]]:
    """The pairs' blocks that fit in ``room`` lines, in their order, with one line saying how many were left
    out: what the participants are asked to do and the goal, under the pairs, come before the pairs (with
    4 people on 80x24, the six pair blocks took the frame and the "now:" and "goal:" lines were cut). The
    pair the goal is about (``TrainingView.pair``) is kept first, then the others in order."""
    if not blocks or sum(map(len, blocks)) <= room:
        return blocks
    goal = snap.training.pair
    order = sorted(range(len(blocks)), key=lambda i: (snap.pairs[i].a, snap.pairs[i].b) != goal)
    kept: set[int] = set()
    used = 1  # the line saying how many were left out
    for i in order:
        if used + len(blocks[i]) > room:
            break
        kept.add(i)
        used += len(blocks[i])
    n = len(blocks) - len(kept)
    note = f"... {n} more pair{'' if n == 1 else 's'} not shown: enlarge the terminal"
    return [b for i, b in enumerate(blocks) if i in kept] + [[note if width is None else _cut(note, width)]]


#: SetConsoleMode's flag for the escape sequences the in-place view writes (cursor up, erase below), and
#: GetStdHandle's number for stdout (Microsoft, "Console Virtual Terminal Sequences"). Windows 10's classic
#: console (cmd, PowerShell 5) starts with it off and shows the sequences as text (``←[3F←[J``).
ENABLE_VIRTUAL_TERMINAL_PROCESSING = 0x0004
STD_OUTPUT_HANDLE = -11


def _kernel32() -> Any:
    """Windows' kernel32 through ctypes, declared for the three console calls (Windows only)."""
    import ctypes
    from ctypes import wintypes

    k = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    k.GetStdHandle.argtypes = [wintypes.DWORD]
    k.GetStdHandle.restype = wintypes.HANDLE
    k.GetConsoleMode.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
    k.GetConsoleMode.restype = wintypes.BOOL
    k.SetConsoleMode.argtypes = [wintypes.HANDLE, wintypes.DWORD]
    k.SetConsoleMode.restype = wintypes.BOOL
    return k


def _windows_console_escapes(out: TextIO) -> bool:
    """On Windows: whether ``out``, a console, acts on escape sequences, turning them on if needed
    (``SetConsoleMode`` on the stdout handle). False when they cannot be (an old Windows, a device such as
    NUL that says it is a terminal, an output other than stdout)."""
    import ctypes
    from ctypes import wintypes

    try:
        if out.fileno() != 1:
            return False
        k = _kernel32()
        handle = k.GetStdHandle(STD_OUTPUT_HANDLE)
        mode = wintypes.DWORD()
        if not k.GetConsoleMode(handle, ctypes.byref(mode)):
            return False  # not a console
        if mode.value & ENABLE_VIRTUAL_TERMINAL_PROCESSING:
            return True
        return bool(k.SetConsoleMode(handle, mode.value | ENABLE_VIRTUAL_TERMINAL_PROCESSING))
    except (OSError, AttributeError, ValueError):
        return False


def redraws_in_place(out: TextIO) -> bool:
    """Whether the view can redraw ``out`` in place: a terminal, which on Windows must also take escape
    sequences (turned on here). Otherwise the view prints one line a second."""
    if not out.isatty():
        return False
    if sys.platform == "win32":
        return _windows_console_escapes(out)
    return True


def _terminal_size() -> tuple[int, int]:
    size = shutil.get_terminal_size((80, 24))
    return size.columns, size.lines


class TerminalView:
    """A sink drawing the session in the terminal, at most ``fps`` times a second (wall clock).

    In place, each frame is fitted to the terminal's size (``terminal_size``, default
    :func:`shutil.get_terminal_size`, asked every frame so a resized terminal is followed): every line is
    one row, so moving the cursor up by the previous frame's rows lands on its first line. A line as wide
    as the terminal, wrapped by it, took two rows while the cursor went up one: the frames piled up.
    """

    def __init__(
        self,
        out: TextIO | None = None,
        fps: float = 10.0,
        in_place: bool | None = None,
        terminal_size: Callable[[], tuple[int, int]] | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.in_place = redraws_in_place(self.out) if in_place is None else in_place
        self.min_gap = 1.0 / fps if self.in_place else 1.0
        self.terminal_size = terminal_size or _terminal_size
        self._last = -math.inf
        self._drawn: list[int] = []  # the columns each line of the last frame took
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
            cols, rows = self.terminal_size()
            cols, rows = max(cols, 20), max(rows, 5)
            # One column spare: a line exactly as wide as the terminal leaves some terminals' cursor at
            # the next row's start. One row spare: the cursor's own row after the frame.
            text = render(snap, self._info, self._events, width=cols - 1, height=rows - 1)
            up = self.rows_drawn(cols)
            if up:
                self.out.write(f"\x1b[{up}F")
            self.out.write("\x1b[J" + text + "\n")
            self._drawn = [cells(x) for x in text.split("\n")]
        else:
            parts = []
            for p in snap.participants:
                rate = f"{p.rate_bpm:.1f}/min" if math.isfinite(p.rate_bpm) else "-"
                # The source's state when it is not streaming; why comes as an event (source_detail), once
                # per change, not on every line.
                # A source that ended (its file's end, a simulation's duration) is over, not lost: "you -
                # ended", where it said "you - no signal (ended)" at the demo's natural end.
                ended = not p.receiving and p.source_status == "ended"
                shown = ("streaming", "no signal", "ended")
                state = f" ({p.source_status})" if p.source_status not in shown else ""
                word = _quality(p) if p.receiving else "ended" if ended else "no signal"
                parts.append(f"{p.label} {rate} {word}{state}")
            for pv in snap.pairs:
                if math.isfinite(pv.plv):
                    parts.append(
                        f"{pv.a}-{pv.b} PLV {pv.plv:.2f} {'in sync' if pv.in_sync else 'not in sync'}"
                    )
                elif _has_phase(snap, pv.a) and _has_phase(snap, pv.b):
                    # The window is still filling: no verdict yet, as the in-place view says.
                    parts.append(f"{pv.a}-{pv.b} PLV - measuring")
                else:  # one of the two has no breathing now (a gap, a source over): nothing to measure
                    parts.append(f"{pv.a}-{pv.b} PLV -")
            state = state_text(snap, _window_s(self._info))
            self.out.write(f"[{clock_text(snap.t_s)}] " + "; ".join(parts) + f"; {state}\n")
        self.out.flush()

    def rows_drawn(self, cols: int) -> int:
        """The rows the last frame takes on a terminal ``cols`` wide: its lines (each fitted to the width
        it was drawn at), or more when the terminal has since been narrowed and re-wrapped them."""
        return sum(max(1, -(-n // cols)) for n in self._drawn)

    def close(self, info: SessionInfo) -> None:
        self.out.flush()
