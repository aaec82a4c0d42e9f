"""A Polar H10 put in its charger after a link loss, through bleak's real BlueZ backend: the terminal view says
why reconnecting fails, under the participant's line, and events.csv records it (a ``source_detail`` event).

The audit's case: for 37 s the terminal showed only "ble (reconnecting)", and events.csv and session.json held
no reason, while the dashboard said "attempt 5 failed: ... device is in its charger (status 13)".
"""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

from conftest import posix_only, run_collecting
from fakebluez import FakeBlueZ, FakePolarH10, private_bus, wait_for

from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session
from breathsync.sources.base import SessionClock
from breathsync.sources.ble import BleSource
from breathsync.terminal import TerminalView

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


def test_the_terminal_and_events_csv_say_why_reconnecting_fails(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    screen = io.StringIO()
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())

        def to_charger() -> None:
            if wait_for(lambda: h10.acc_starts == 1 and len(h10.frames) >= 5, 15.0):
                bz.call(lambda: setattr(h10, "in_charger", True))
                bz.drop_link(h10, reachable=True)  # in reach, but every start is refused

        threading.Thread(target=to_charger, daemon=True).start()
        session = Session([ParticipantSpec("A", BleSource("Polar H10", timeout_s=5))], SessionClock())
        session.add_sink(Recorder(rec))
        session.add_sink(TerminalView(out=screen, in_place=True, terminal_size=lambda: (100, 30)))
        snaps = run_collecting(session, 6.0)
    reconnecting = [s.participant("A") for s in snaps if s.participant("A").source_status == "reconnecting"]
    failed = [p.status_reason for p in reconnecting if "attempt" in p.status_reason]
    assert failed, [p.status_reason for p in reconnecting]
    # The terminal: the reason under the participant's line, in place (each frame after the cursor moves up).
    frames = screen.getvalue().split("\x1b[J")
    shown = [
        f for f in frames if "(reconnecting" in f and "in its charger (status 13)" in " ".join(f.split())
    ]
    assert shown, frames[-1]
    lines = shown[-1].split("\n")
    at = next(i for i, x in enumerate(lines) if "(reconnecting" in x)  # (, battery 87%)
    assert lines[at + 1].lstrip().startswith("Polar H10 A1B2C3D4: link lost ")
    assert all(len(x) <= 99 for x in lines)
    # events.csv: the loss, then why the reconnection fails.
    with open(rec / "events.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] in ("source_lost", "source_detail")]
    assert [r["kind"] for r in rows[:2]] == ["source_lost", "source_detail"], rows
    assert rows[1]["text"].startswith("A: Polar H10 A1B2C3D4: link lost ")
    assert "attempt 1 failed: start ACC failed: " in rows[1]["text"]
    assert "in its charger (status 13)" in rows[1]["text"]
