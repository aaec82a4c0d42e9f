"""The terminal view says why a source is not streaming, under the participant's line (the dashboard listed the
reason under its table; the terminal showed only "ble (reconnecting)" for as long as it lasted), on any width;
the one-line-a-second output names the state, and the reason comes with the session's events."""

from __future__ import annotations

import io
import math
from dataclasses import replace

from view_snapshots import participant, snapshot

from breathsync.session_types import Event, Snapshot
from breathsync.terminal import REASON_ROWS, TerminalView, cells, render

REASON = (
    "Polar H10 A1B2C3D4: link lost 37 s ago; attempt 5 failed: start ACC failed: device is in its charger "
    "(status 13); trying again every 8 s"
)


def _snap(status: str = "reconnecting", reason: str = REASON, **kw: object) -> Snapshot:
    kw = {"receiving": False, "rate_bpm": math.nan, "phase_rad": math.nan, "quality": "no_signal", **kw}
    a = participant("A", source="ble", source_status=status, status_reason=reason, **kw)
    return snapshot(participants=(a, participant("B")))


def test_the_reason_is_under_the_participant_line() -> None:
    lines = render(_snap()).split("\n")
    a = next(i for i, x in enumerate(lines) if x.startswith("A ") and "(reconnecting)" in x)
    assert lines[a + 1] == f"   {REASON}"
    assert lines[a + 2].startswith("B [")


def test_the_reason_fits_a_narrow_terminal() -> None:
    for width in (79, 60, 40, 24):
        lines = render(_snap(), width=width, height=40).split("\n")
        assert all(cells(x) <= width for x in lines), (width, lines)
        start = next(i for i, x in enumerate(lines) if x.lstrip().startswith("Polar H10"))
        assert "(reconnecting)" in lines[start - 1]  # right under the participant's rows
        end = next(i for i, x in enumerate(lines) if x.startswith("B "))
        assert 1 <= end - start <= REASON_ROWS
        if width >= 60:  # whole: what failed, and why
            assert "in its charger (status 13)" in " ".join(x.strip() for x in lines[start:end])
        else:
            assert lines[end - 1].endswith("…") or "every 8 s" in lines[end - 1]


def test_no_reason_line_while_streaming() -> None:
    """A streaming source's reason ("reconnected") is the state change's, not a standing problem."""
    lines = render(_snap(status="streaming", reason="reconnected", rate_bpm=12.0)).split("\n")
    assert not any("reconnected" in x for x in lines)
    assert render(_snap(reason="")).count("\n") == render(_snap(status="streaming", reason="")).count("\n")


def test_one_line_a_second_names_the_state_and_prints_the_reason_as_an_event() -> None:
    out = io.StringIO()
    view = TerminalView(out=out, in_place=False)
    snap = _snap()
    ev = Event(12.0, "source_detail", f"A: {REASON}", ("A",))
    view.on_snapshot(replace(snap, events=(ev,)))
    lines = out.getvalue().splitlines()
    assert lines[0] == f"[0:12] A: {REASON}"
    assert "A - no signal (reconnecting);" in lines[1] and REASON not in lines[1]
