"""Dropped notifications are said whatever the source's status, not only while it streams.

The audit's case: a strap without skin contact ("no signal") whose notifications were partly malformed
counted the drops but said nothing of them (status detail, ``source_detail`` events) until it streamed again.
Now the no-signal reason carries them ("...: no skin contact; 3 of 40 notifications dropped: 3 malformed
(...)"), without a second "no signal" event; and drops while reconnecting (its detail is the attempts) are
said once the source streams again.
"""

from __future__ import annotations

import csv
import threading
from pathlib import Path
from typing import Any

from conftest import posix_only, run_collecting
from fakebluez import FakeBlueZ, FakeHeartRateStrap, private_bus, wait_for

from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock, SourceStatus
from breathsync.sources.ble import BleSource
from devices.heart_rate import NO_CONTACT

MALFORMED = bytes([0x10, 60, 0x01])  # RR flagged, an odd RR byte


@posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")
def test_drops_while_no_signal_are_said_after_its_reason(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap())
        strap.contact, strap.rr_ms = False, [300.0]
        src = BleSource("FakeHR", timeout_s=5)

        def garbage() -> None:  # once the strap says it has no contact, three malformed notifications
            if wait_for(lambda: src.status is SourceStatus.NO_SIGNAL, 20.0):
                for _ in range(3):
                    bz.call(lambda: strap.notify(strap.hrm_uuid, MALFORMED))

        threading.Thread(target=garbage, daemon=True).start()
        session = Session([ParticipantSpec("A", src)], SessionClock(), SessionConfig())
        session.add_sink(Recorder(rec))

        def said(snap: Any) -> bool:
            return "3 of " in snap.participant("A").status_reason

        snaps = run_collecting(session, 20.0, until=said)
    reason = f"FakeHR 0001: {NO_CONTACT}"
    a = next(s.participant("A") for s in snaps if said(s))
    assert a.source_status == "no signal"
    assert a.status_reason.startswith(f"{reason}; 3 of ")
    assert a.status_reason.endswith(
        " notifications dropped: 3 malformed (heart rate measurement: odd number of RR bytes (1))"
    )
    with open(rec / "events.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] in ("source_lost", "source_detail")]
    # One "no signal" (the good notifications between the bad ones say the same reason: nothing new), then
    # the drops, said after it.
    assert [r["kind"] for r in rows][:1] == ["source_lost"] and rows[0]["text"] == f"A: no signal: {reason}"
    assert [r["kind"] for r in rows].count("source_lost") == 1, rows
    details = [r["text"] for r in rows if r["kind"] == "source_detail"]
    assert details and details[0].startswith(f"A: {reason}; ") and "notifications dropped: " in details[0]


def test_drops_while_reconnecting_are_said_once_it_streams_again() -> None:
    """While reconnecting the detail says the attempts (a drop must not replace them); the drops of that
    time (a reply with a bad checksum in a failed start) are said on its return."""
    src = BleSource("FakeHR", timeout_s=5)
    src.set_status(SourceStatus.STREAMING)
    src.set_status(SourceStatus.RECONNECTING, "FakeHR: link lost")
    attempts = "FakeHR: link lost 3 s ago; attempt 1 failed: device not found; trying again in 1 s"
    src.set_detail(attempts)
    src.notifications = 5
    src._drop("hrm", "bad checksum", "checksum 0x12, expected 0x34")
    assert src.status_reason == attempts
    src.set_status(SourceStatus.STREAMING, "reconnected")
    assert src.status_reason == (
        "FakeHR: 1 of 5 notifications dropped: 1 bad checksum (checksum 0x12, expected 0x34)"
    )
