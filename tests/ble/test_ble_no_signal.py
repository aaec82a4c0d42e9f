"""A strap whose notifications arrive but carry no breathing says why, through bleak's real BlueZ backend.

The audit's cases: an optical sensor (heart rate, no beat intervals: a Polar OH1) and a chest strap reporting
no skin contact showed "no signal" forever with the source "streaming", no event and exit code 0. Now the
source's state is "no signal" with the reason, the session makes it an event (events.csv), a participant
who delivered no samples at all makes the exit code 2 with one line, and the strap put on properly comes
back. A Polar H10 without skin contact keeps its accelerometer's breathing; its detail says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import posix_only, run_collecting
from fakebluez import FakeBlueZ, FakeHeartRateStrap, FakePolarH10, private_bus, wait_for
from streaming import start_streaming

from breathsync.cli import main
from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock, SourceStatus
from breathsync.sources.ble import BleSource
from devices.heart_rate import NO_CONTACT, NO_RR

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


def _events(folder: Path, *kinds: str) -> list[dict[str, str]]:
    with open(folder / "events.csv", newline="", encoding="utf-8") as fh:
        return [e for e in csv.DictReader(fh) if e["kind"] in kinds]


def test_an_optical_sensor_says_it_gives_no_beat_intervals_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        oh1 = bz.add_device(FakeHeartRateStrap("C0:FF:EE:00:00:03", "Polar OH1 ABCD"))
        oh1.send_rr, oh1.contact, oh1.rr_ms = False, None, [250.0]
        code = main(["run", "-p", "A=ble:Polar OH1", "--duration", "6", "--quiet", "--record", str(rec)])
        sent = oh1.sent
    out, err = capsys.readouterr()
    said = f"Polar OH1 ABCD: {NO_RR}"
    assert sent >= 10
    assert code == 2
    assert (
        err
        == f"breathsync: error: participant A: no samples from ble:Polar OH1 ABCD in 0:06 (no signal: {said})\n"
    )
    assert "Traceback" not in out + err
    lost = _events(rec, "source_lost")
    assert [e["text"] for e in lost] == [f"A: no signal: {said}"]
    info = json.loads((rec / "session.json").read_text(encoding="utf-8"))
    assert info["summary"]["participants"]["A"]["final_status"] == "no signal"
    assert info["no_samples"] == ["A"]  # nothing recorded of A, and the exit code says so


def test_a_strap_without_skin_contact_says_so_and_comes_back_when_worn(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap())
        strap.contact, strap.rr_ms = False, [400.0]
        src = BleSource("FakeHR", timeout_s=5)
        reasons: list[tuple[SourceStatus, str]] = []
        src.on_status(lambda s, r: reasons.append((s, r)))

        def put_on() -> None:  # once the strap has said it has no contact, it is worn properly
            if wait_for(lambda: src.status is SourceStatus.NO_SIGNAL, 20.0):
                bz.call(lambda: setattr(strap, "contact", True))

        threading.Thread(target=put_on, daemon=True).start()
        session = Session([ParticipantSpec("A", src)], SessionClock(), SessionConfig())
        session.add_sink(Recorder(rec))

        def back(snap: Any) -> bool:  # the strap streams again, and the session sees it receiving
            a = snap.participant("A")
            return len(reasons) >= 3 and a.receiving and a.delivered

        # Until the strap is back, not for a fixed time: a loaded machine only makes it take longer.
        snaps = run_collecting(session, 20.0, until=back)
    said = f"FakeHR 0001: {NO_CONTACT}"
    assert reasons[:3] == [
        (SourceStatus.STREAMING, ""),
        (SourceStatus.NO_SIGNAL, said),
        (SourceStatus.STREAMING, ""),
    ]
    no_signal = [s.participant("A") for s in snaps if s.participant("A").source_status == "no signal"]
    assert no_signal and all(p.status_reason == said and not p.receiving for p in no_signal)
    assert snaps[-1].participant("A").receiving and snaps[-1].participant("A").delivered
    events = _events(rec, "source_lost", "source_back")
    assert [e["kind"] for e in events] == ["source_lost", "source_back"]
    assert events[0]["text"] == f"A: no signal: {said}"
    assert events[1]["text"].startswith("A: back after ")


def test_a_polar_h10_without_skin_contact_goes_on_breathing_and_says_so() -> None:
    """The H10's breathing is its accelerometer's: without skin contact it keeps streaming (only the heart
    beats, which confirm which way is inhale, are missing); the status detail says so while it lasts."""
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        h10.contact, h10.rr_ms = False, [300.0]
        seen: dict[str, object] = {}

        async def main_() -> BleSource:
            src = BleSource("Polar H10", timeout_s=5)
            _clock, got, task = await start_streaming(src)
            for _ in range(200):
                if NO_CONTACT in src.status_reason:
                    break
                await asyncio.sleep(0.05)
            seen["detail"], seen["status"] = src.status_reason, src.status
            n = len(got)
            await asyncio.to_thread(bz.call, lambda: setattr(h10, "contact", True))
            for _ in range(200):
                if not src.status_reason:
                    break
                await asyncio.sleep(0.05)
            seen["after"], seen["more"] = src.status_reason, len(got) > n
            await src.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 5.0)
            return src

        asyncio.run(main_())
    assert seen["status"] is SourceStatus.STREAMING
    assert seen["detail"] == f"Polar H10 A1B2C3D4: {NO_CONTACT}"
    assert seen["after"] == "" and seen["more"]
