"""A recorded session with a fake strap that sends garbage and loses its link: session.json holds the
source's final counters and events.csv marks both the loss and the return (the audit's drop1 case: it held
``"dropped": 0, "reconnections": 0`` and only ``source_lost``)."""

from __future__ import annotations

import csv
import json
import threading
import time
from pathlib import Path

from conftest import posix_only
from fakebluez import FakeBlueZ, FakeHeartRateStrap, private_bus

from breathsync.cli import main

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


def test_recorded_counters_and_the_return_of_a_dropped_link(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    with private_bus(), FakeBlueZ() as bz:
        strap = bz.add_device(FakeHeartRateStrap())
        strap.garbage_every = 2

        def drop_and_restore() -> None:
            deadline = time.monotonic() + 20.0
            while strap.sent < 3 and time.monotonic() < deadline:  # streaming for a few beats
                time.sleep(0.05)
            bz.drop_link(strap)
            time.sleep(2.0)
            bz.set_reachable(strap)

        threading.Thread(target=drop_and_restore, daemon=True).start()
        code = main(["run", "-p", "A=ble:FakeHR", "--duration", "10", "--quiet", "--record", str(out)])
        assert code == 0
    source = json.loads((out / "session.json").read_text(encoding="utf-8"))["participants"][0]["source"]
    assert source["reconnections"] == 1
    assert source["dropped"] >= 2 and sum(source["dropped_by"].values()) == source["dropped"]
    with open(out / "events.csv", newline="", encoding="utf-8") as fh:
        events = [e for e in csv.DictReader(fh) if e["kind"] in ("source_lost", "source_back")]
    assert [e["kind"] for e in events] == ["source_lost", "source_back"], events
    assert events[1]["text"].startswith("A: reconnected after ")
    assert float(events[1]["time"]) > float(events[0]["time"]) + 1.5
