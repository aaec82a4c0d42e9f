"""The terminal view shows a device's battery level beside its state, as the dashboard's table does (it had
it only as the low-battery event), and the source's description keeps the last level for session.json."""

from __future__ import annotations

from view_snapshots import participant, snapshot

from breathsync.sources.ble import BleSource
from breathsync.terminal import cells, render


def test_the_battery_level_is_on_the_participants_line() -> None:
    snap = snapshot(participants=(participant("A", source="ble:Polar", battery_pct=64.0), participant("B")))
    lines = render(snap).split("\n")
    assert any(x.startswith("A ") and x.endswith("(streaming, battery 64%)") for x in lines), lines
    assert any(x.startswith("B ") and x.endswith("(streaming)") for x in lines), lines  # none: nothing said
    for width in (79, 50, 30):
        assert all(cells(x) <= width for x in render(snap, width=width, height=40).split("\n"))


def test_a_ble_sources_description_keeps_its_last_battery_level() -> None:
    src = BleSource("Polar")
    assert "battery_pct" not in src.describe()
    src.battery_pct = 12.0
    assert src.describe()["battery_pct"] == 12.0
