"""How a live session's end is said (the BLE audit).

- A participant who gave no samples: the end line said the raw state, "no samples from ble in 0:20
  (streaming)", which contradicts itself. Now what happened, in words ("started, but no samples came").
- Stopped by the user (Ctrl-C 1.2 s in, before the devices sent anything): that line was an error, exit 2,
  where the README promises that Ctrl-C ends a session cleanly with exit 0. Now a note, exit 0; a whole
  session without a participant's samples (its duration over) is still exit 2.
- A pair locked in opposite phase: the summary read "in sync 0 s, mean PLV 1.00" and nothing more, where
  the dial said "-112 deg, opposite phase" and analyze "relative phase -112 deg; no leader ...". Now the
  summary gives the mean relative phase and who breathed first in analyze's words.
- A device that dropped notifications: a word in the summary line (where the session's summary counts them).
"""

from __future__ import annotations

import asyncio
import io
import math
import signal
from typing import Any

import numpy as np
from conftest import breathing

from breathsync.analysis import leader_text
from breathsync.live import SessionEnd, report_end, stop_words, stopped_by_user, summary_lines
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.session_types import Snapshot
from breathsync.sources.base import SessionClock
from breathsync.sources.memory import MemorySource


def _quiet() -> MemorySource:
    """A device that has started (streaming) but sends its first sample only at 1000 s."""
    t = 1000.0 + np.arange(0.0, 10.0, 0.04)
    return MemorySource(t, {"resp": np.sin(t)}, paced=False, name="strap")


def _belt() -> MemorySource:
    t, y, _ = breathing(duration_s=60, fs_hz=25, rate_bpm=12, seed=1)
    return MemorySource(t, {"resp": y}, name="belt")


def _final(stop_at_s: float | None, why: str = "", duration_s: float | None = None) -> Snapshot:
    session = Session(
        [ParticipantSpec("A", _belt()), ParticipantSpec("B", _quiet())], SessionClock(20.0), SessionConfig()
    )
    snaps: list[Snapshot] = []

    class Collect:
        def open(self, info: Any) -> None: ...
        def on_chunk(self, label: str, chunk: Any) -> None: ...
        def close(self, info: Any) -> None: ...

        def on_snapshot(self, snap: Snapshot) -> None:
            snaps.append(snap)
            if stop_at_s is not None and snap.t_s >= stop_at_s:
                session.request_stop(why)

    session.add_sink(Collect())
    return asyncio.run(session.run(duration_s))


def _end(final: Snapshot) -> tuple[int, str]:
    err = io.StringIO()
    code = report_end(SessionEnd(summary=None, final=final), out=io.StringIO(), err=err)
    return code, err.getvalue()


def test_no_samples_over_a_whole_session_says_what_happened_and_exits_2() -> None:
    final = _final(None, duration_s=3.0)
    assert not stopped_by_user(final)
    code, err = _end(final)
    assert code == 2
    assert (
        err
        == "breathsync: error: participant B: no samples from memory in 0:03 (started, but no samples came)\n"
    )
    assert "(streaming)" not in err


def test_ctrl_c_before_a_device_sent_anything_is_a_clean_end() -> None:
    final = _final(1.0, stop_words(signal.SIGINT))
    assert stopped_by_user(final)
    code, err = _end(final)
    assert code == 0
    assert err.startswith("note: participant B: no samples from memory before the session was stopped at 0:0")
    assert err.endswith(" (started, but no samples came)\n") and "error" not in err


def test_ctrl_c_after_a_whole_session_without_a_participants_samples_is_still_an_error() -> None:
    # How a live session without --duration ends: a strap that sent nothing for 40 s (more than the grace
    # a device has to connect and send) is not excused by the Ctrl-C that ended it.
    final = _final(40.0, stop_words(signal.SIGINT))
    assert stopped_by_user(final) and final.t_s > 20.0
    code, err = _end(final)
    assert code == 2 and err.startswith("breathsync: error: participant B: no samples from memory in 0:4"), (
        err
    )


def test_every_way_a_user_stops_is_a_clean_end() -> None:
    for why in (
        "stopped by SIGTERM",
        "its terminal closed",
        "stopped from the dashboard",
        "its window was closed",
    ):
        final = _final(1.0, why)
        assert stopped_by_user(final), why
        assert _end(final)[0] == 0, why


def test_a_start_failure_stop_is_not_the_users() -> None:
    final = _final(
        1.0, "B's source failed at the start, leaving A without a partner (fix what the error says)"
    )
    assert not stopped_by_user(final)
    assert _end(final)[0] == 2


def _pair(**kw: Any) -> dict[str, Any]:
    pr = {"a": "A", "b": "B", "time_in_sync_s": 0.0, "mean_plv": 1.0, "leader": None, "lead_s": None}
    pr.update(kw)
    return {"participants": {}, "pairs": [pr], "training": {"phase": "free"}}


def test_an_opposite_phase_pair_says_its_relative_phase_and_no_leader() -> None:
    lines = summary_lines(_pair(mean_relative_phase_rad=math.radians(-112.3)))
    assert lines == [
        "A-B: in sync 0 s, mean PLV 1.00, relative phase -112 deg; "
        "no leader (not locked within a quarter cycle for one window)"
    ]


def test_a_leader_is_said_in_analyzes_words() -> None:
    line = summary_lines(
        _pair(time_in_sync_s=89.7, mean_plv=0.9, mean_relative_phase_rad=0.4, leader="B", lead_s=0.31)
    )[0]
    assert line == f"A-B: in sync 89 s, mean PLV 0.90, relative phase +23 deg; {leader_text('B', 0.31)}"
    assert line.endswith("; when locked, B breathed first by 0.31 s")


def test_a_device_that_dropped_notifications_says_so_in_the_summary() -> None:
    part = {"breaths": 4, "mean_rate_bpm": 9.37, "source": "ble:FakeHR 0001", "final_status": "streaming"}
    summary: dict[str, Any] = {"participants": {"B": dict(part)}, "pairs": [], "training": {"phase": "free"}}
    assert summary_lines(summary) == ["B: ble:FakeHR 0001, 4 breaths, 9.4 breaths/min (streaming)"]
    summary["participants"]["B"].update(dropped=17, dropped_by={"malformed": 17}, notifications=72)
    assert summary_lines(summary) == [
        "B: ble:FakeHR 0001, 4 breaths, 9.4 breaths/min (streaming); 17 of 72 notifications dropped: 17 malformed"
    ]


def test_the_dashboards_stop_words_are_a_users_stop() -> None:
    # The dashboard stops its session with its own words (its Stop button, its window closed): a stop by the
    # user too. They are live.py's constants, which the dashboard passes (it had them as copies).
    import inspect

    from breathsync.live import DASHBOARD_STOP, USER_STOPS, WINDOW_CLOSED
    from breathsync.ui import window
    from breathsync.ui.bridge import SessionRunner

    assert {DASHBOARD_STOP, WINDOW_CLOSED} <= USER_STOPS
    assert inspect.signature(SessionRunner.stop).parameters["why"].default == DASHBOARD_STOP
    assert inspect.signature(window.DashboardWindow.stop_session).parameters["why"].default == DASHBOARD_STOP
    assert "runner.stop(WINDOW_CLOSED)" in inspect.getsource(window.DashboardWindow.closeEvent)


class _DroppingBelt(MemorySource):
    """A belt whose description counts dropped notifications, as a Bluetooth source's does."""

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "dropped": 3, "dropped_by": {"malformed": 3}, "notifications": 90}


def test_the_sessions_summary_carries_what_a_device_dropped_and_how_long_a_pair_was_locked() -> None:
    # Only session.json's source entry counted them: the summary (and so its printed line) did not; and the
    # "no leader" words could not say that a pair was locked, but for less than a window.
    t, y, _ = breathing(duration_s=60, fs_hz=25, rate_bpm=12, seed=1)
    _, y2, _ = breathing(duration_s=60, fs_hz=25, rate_bpm=12, seed=2)
    b = _DroppingBelt(t, {"resp": y2}, name="belt")
    session = Session(
        [ParticipantSpec("A", MemorySource(t, {"resp": y}, name="belt")), ParticipantSpec("B", b)],
        SessionClock(50.0),
        SessionConfig(window_s=30.0),
    )
    asyncio.run(session.run(50.0))
    summary = session.summary()
    assert summary["participants"]["B"]["dropped"] == 3 and "dropped" not in summary["participants"]["A"]
    assert "; 3 of 90 notifications dropped: 3 malformed" in summary_lines(summary)[1]
    pair = summary["pairs"][0]
    assert pair["window_s"] == 30.0 and isinstance(pair["locked_s"], float)
    # Locked for less than a window: said as analyze says it.
    line = summary_lines(_pair(mean_relative_phase_rad=0.1, locked_s=12.0, window_s=30.0))[0]
    assert line.endswith("; no leader (locked within a quarter cycle for 0:12, less than one 30-s window)")
