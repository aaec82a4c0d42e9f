"""A user's stop soon after a participant's device connected is a note, not an error, however late it connected.

The audit's case: a strap found after a slow scan, connected at 0:15, and stopped with Ctrl-C at 0:22 (7 s
after connecting, nothing sent yet) exited 2 with "no samples", where a strap connected at 0:01 and stopped at
0:08 was a note and exit 0: the grace (USER_STOP_GRACE_S) counted from the session's start. Now it counts from
when the participant's device (last) connected, which the session publishes (ParticipantView.connected_s).
"""

from __future__ import annotations

import io
import math
import signal

import numpy as np
from conftest import breathing, run_collecting

from breathsync.live import USER_STOP_GRACE_S, SessionEnd, report_end, stop_words
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.session_types import Snapshot
from breathsync.sources.base import SessionClock
from breathsync.sources.ble import BleSource
from breathsync.sources.memory import MemorySource

CONNECTED_S = 15.0


class _LateStrap(MemorySource):
    """A device connected at :data:`CONNECTED_S` (what a BleSource says in ``connected_s``) that has sent
    nothing since (its first sample would come at 1000 s)."""

    connected_s = CONNECTED_S

    def __init__(self) -> None:
        t = 1000.0 + np.arange(0.0, 10.0, 0.04)
        super().__init__(t, {"resp": np.sin(t)}, paced=False, name="strap")


def _final(stop_at_s: float) -> Snapshot:
    t, y, _ = breathing(duration_s=60, fs_hz=25, rate_bpm=12, seed=1)
    belt = MemorySource(t, {"resp": y}, name="belt")
    parts = [ParticipantSpec("A", belt), ParticipantSpec("B", _LateStrap())]
    session = Session(parts, SessionClock(20.0), SessionConfig())
    snaps = run_collecting(session, None, lambda snap: snap.t_s >= stop_at_s, stop_words(signal.SIGINT))
    final: Snapshot = snaps[-1]
    return final


def _end(final: Snapshot) -> tuple[int, str]:
    err = io.StringIO()
    code = report_end(SessionEnd(summary=None, final=final), out=io.StringIO(), err=err)
    return code, err.getvalue()


def test_ctrl_c_7_s_after_a_late_connection_is_a_note() -> None:
    final = _final(CONNECTED_S + 7.0)
    b = final.participant("B")
    assert b.connected_s == CONNECTED_S and not b.delivered
    assert math.isnan(final.participant("A").connected_s)  # a file connects to nothing
    assert USER_STOP_GRACE_S < final.t_s < CONNECTED_S + USER_STOP_GRACE_S
    code, err = _end(final)
    assert code == 0, err
    assert err.startswith("note: participant B: no samples from memory before the session was stopped at 0:2")
    assert "error" not in err


def test_ctrl_c_long_after_the_connection_is_still_an_error() -> None:
    final = _final(CONNECTED_S + USER_STOP_GRACE_S + 5.0)
    assert final.t_s > CONNECTED_S + USER_STOP_GRACE_S
    code, err = _end(final)
    assert code == 2 and err.startswith("breathsync: error: participant B: no samples from memory in 0:4"), (
        err
    )


def test_a_ble_source_says_when_it_connected_only_once_it_has() -> None:
    assert math.isnan(BleSource("FakeHR").connected_s)
