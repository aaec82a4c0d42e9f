"""The in-place terminal view on narrow terminals: every frame fits the terminal, so moving the cursor up
by the previous frame's rows lands on its first line and the frames do not pile up.

On an 80-column terminal the lines were 95-123 characters: the terminal wrapped each onto two rows while
the view moved up by the number of lines (``ESC [ n F``), so every redraw left part of the last one above
it. A tiny terminal model below (wrap at the right edge, ``ESC [ n F``, ``ESC [ J``) checks what a real
terminal would show (the same was seen with pyte in an 80x40 pty running ``breathsync demo``).
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import replace

import pytest
from view_snapshots import lead_training, pair, participant, snapshot

from breathsync.session_types import Event, Snapshot
from breathsync.terminal import TerminalView, cells, render

_CSI = re.compile(r"\x1b\[(\d*)([FJ])")


def terminal(text: str, cols: int) -> list[str]:
    """The rows a terminal ``cols`` wide (and tall enough) shows after ``text``."""
    grid: list[list[str]] = [[]]
    r = c = 0
    i = 0
    while i < len(text):
        m = _CSI.match(text, i)
        if m:
            n = int(m.group(1) or 1)
            if m.group(2) == "F":  # up n rows, to column 0
                r, c = max(0, r - n), 0
            else:  # erase from the cursor to the end of the screen
                del grid[r + 1 :]
                grid[r] = grid[r][:c]
            i = m.end()
            continue
        ch = text[i]
        i += 1
        if ch == "\n":
            r, c = r + 1, 0
        else:
            if c >= cols:  # the character after a full row goes on the next row
                r, c = r + 1, 0
            while len(grid) <= r:
                grid.append([])
            row = grid[r]
            row.extend(" " * (c - len(row)))
            if c < len(row):
                row[c] = ch
            else:
                row.append(ch)
            c += 1
        while len(grid) <= r:
            grid.append([])
    return ["".join(x) for x in grid]


def _snaps() -> list[Snapshot]:
    """Frames with everything a frame can hold: long labels and sources, a lead panel, an alarm."""
    parts = (
        participant("you", source="replay:/home/someone/recordings/nk_rest5_100hz.csv", quality="ok"),
        participant("partner", source="sim:follow", quality="warmup", phase_rad=math.nan),
        participant("third_person", source="ble:Polar H10 A1B2C3D4 (chest)", receiving=False),
    )
    pairs = (
        pair("you", "partner"),
        pair("you", "third_person", plv=math.nan),
        pair("partner", "third_person", rel_phase_rad=3.0, lag_s=2.4, in_sync=False),
    )
    tr = lead_training(
        "you",
        "partner",
        instruction="you: change your pace, slower or faster; partner: follow",
        leader_rate_change_bpm=-2.0,
    )
    out = []
    for k in range(12):
        out.append(
            snapshot(
                ("you", "partner", "third_person"),
                participants=parts,
                pairs=pairs,
                training=tr,
                t_s=60.0 + k,
                seq=k,
                alarms=("recording stopped: disk full (/media/usb/breathsync-recordings/session-1)",),
            )
        )
    return out


def _draw(cols: int, rows: int, snaps: list[Snapshot]) -> str:
    buf = io.StringIO()
    view = TerminalView(out=buf, fps=1e9, in_place=True, terminal_size=lambda: (cols, rows))
    for i, sn in enumerate(snaps):
        if i % 3 == 0:  # events arrive now and then: long ones too
            sn = replace(sn, events=(_event(sn.t_s, i),))
        view.on_snapshot(sn)
    return buf.getvalue()


def _event(t_s: float, i: int) -> Event:
    return Event(t_s, "signal_note", f"partner: the signal looks inverted (rises longer than it falls) #{i}")


@pytest.mark.parametrize("cols", [80, 60])
def test_each_redraw_moves_up_exactly_the_rows_it_drew(cols: int) -> None:
    rows = 40
    text = _draw(cols, rows, _snaps())
    frames = re.split(r"\x1b\[\d+F", text)
    ups = [int(n) for n in re.findall(r"\x1b\[(\d+)F", text)]
    assert len(ups) == len(frames) - 1 == 11
    for up, before in zip(ups, frames, strict=False):
        drawn = before.removeprefix("\x1b[J").rstrip("\n").split("\n")
        assert all(cells(x) < cols for x in drawn), max(drawn, key=cells)  # one row each
        assert up == len(drawn) <= rows - 1
    screen = terminal(text, cols)
    last = frames[-1].removeprefix("\x1b[J").rstrip("\n").split("\n")
    assert screen[: len(last)] == last  # only the last frame on screen: nothing left of the others
    assert all(not x.strip() for x in screen[len(last) :])
    assert sum(x.startswith("breathsync  lead") for x in screen) == 1
    assert any("partner-third_person" in x for x in screen)  # the pair lines are broken, not lost
    assert any("time in sync" in x for x in screen)


def test_unfitted_frames_would_pile_up() -> None:
    """The model catches the old fault: frames drawn for a wide terminal on an 80-column one."""
    text = _draw(200, 40, _snaps())
    screen = terminal(text, 80)
    assert sum(x.startswith("breathsync  lead") for x in screen) > 1


def test_a_short_terminal_keeps_the_frame_and_drops_old_events_first() -> None:
    snap = _snaps()[0]
    events = [f"1:0{i} event number {i}" for i in range(5)]
    full = render(snap, None, events, width=79, height=200).split("\n")
    short = render(snap, None, events, width=79, height=len(full) - 2).split("\n")
    assert len(short) == len(full) - 2
    assert short[-1].endswith("event number 4") and "event number 0" not in "\n".join(short)
    tiny = render(snap, None, events, width=59, height=8).split("\n")
    assert len(tiny) == 8 and tiny[-1].startswith("... ") and "more lines: enlarge the terminal" in tiny[-1]


def test_a_narrowed_terminal_counts_the_rows_it_rewrapped() -> None:
    buf = io.StringIO()
    size = [120, 40]
    view = TerminalView(out=buf, fps=1e9, in_place=True, terminal_size=lambda: (size[0], size[1]))
    snaps = _snaps()
    view.on_snapshot(snaps[0])
    widths = [cells(x) for x in buf.getvalue().removeprefix("\x1b[J").rstrip("\n").split("\n")]
    size[0] = 60
    view.on_snapshot(snaps[1])
    up = int(re.findall(r"\x1b\[(\d+)F", buf.getvalue())[0])
    assert up == sum(max(1, -(-w // 60)) for w in widths) > len(widths)


def test_the_width_never_changes_the_words_of_a_wide_frame() -> None:
    snap = snapshot(training=replace(lead_training(), instruction="A: keep leading; B: keep following"))
    assert render(snap, None, [], width=200, height=100) == render(snap, None, [])


def test_a_very_narrow_terminal_moves_rate_and_quality_to_a_second_row() -> None:
    """At 40 columns with long labels the participant line was cut after the rate's number ("12.0/…"), so
    neither the unit nor the quality was shown; the goal's "12/60 s" left its "s" alone on a row."""
    parts = (
        participant("Alexandra (you)", quality="ok", rate_bpm=12.0),
        participant("Benjamin", quality="noisy", rate_bpm=9.5, source_status="reconnecting"),
    )
    snap = snapshot(("Alexandra (you)", "Benjamin"), participants=parts, t_s=60.0)
    rows = render(snap, None, [], width=39).split("\n")
    assert all(cells(x) <= 39 for x in rows), max(rows, key=cells)
    assert not any(x.endswith("…") for x in rows)
    for label, rest in (("Alexandra (you)", "12.0/min  ok"), ("Benjamin", "9.5/min  noisy (reconnecting)")):
        i = next(i for i, x in enumerate(rows) if x.strip().startswith(label))
        assert rest in " ".join(x.strip() for x in rows[i + 1 : i + 3]), rows[i : i + 3]
    goal = [x for x in rows if "/60" in x]
    assert goal and goal[0].rstrip().endswith("/60\u00a0s")


def test_a_short_label_beside_a_very_long_one_keeps_its_row() -> None:
    """Labels are right-aligned to the longest; with a 64-character label (the limit) the short label's row
    at 40 columns was cut down to "…": no label, no bar."""
    long = "L" * 64
    parts = (participant(long), participant("B", rate_bpm=9.0))
    snap = snapshot((long, "B"), participants=parts)
    for width in (39, 30):
        rows = render(snap, None, [], width=width).split("\n")
        assert all(cells(x) <= width for x in rows), max(rows, key=cells)
        b = next(x for x in rows if x.strip().startswith("B ["))
        assert "[" in b and b.rstrip() != "…"
        assert any("9.0/min" in x for x in rows)
        assert any(x.strip().startswith("LLL") and "…" in x for x in rows)
