"""A Bluetooth participant is named by its device in the views' source column and the summary, as
session.json knows it from the source's describe(): it was "ble" alone, so two straps could not be told
apart. Two devices that advertise the same name get the end of their address; simulated and replayed
sources keep their names."""

from __future__ import annotations

from typing import Any

from conftest import REPO, breathing, run_collecting

from breathsync.session import ParticipantSpec, Session, SessionConfig, _source_names
from breathsync.sources.base import PhaseProbe, SessionClock, Source
from breathsync.sources.memory import MemorySource
from breathsync.sources.replay import ReplaySource
from breathsync.sources.sim import SimSource


class FakeBle(MemorySource):
    """Samples from memory, described as a BLE source (before its scan: the target only)."""

    def __init__(self, name: str | None, address: str | None, target: str = "Polar", seed: int = 1) -> None:
        t, y, _ = breathing(duration_s=40, fs_hz=25, rate_bpm=12, seed=seed)
        super().__init__(t, {"resp": y})
        self.found = (name, address)

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": "ble", "target": "Polar", "signal": "resp"}
        name, address = self.found
        if address is not None:
            d.update(device="polar-h10", name=name, address=address)
        return d


def test_views_and_summary_name_the_device() -> None:
    probes = {"A": PhaseProbe()}
    specs = [
        ParticipantSpec("A", FakeBle("Polar H10 1A2B", "C0:FF:EE:00:00:01")),
        ParticipantSpec("B", FakeBle("Polar H10 1A2B", "C0:FF:EE:00:00:02", seed=2)),
        ParticipantSpec("C", FakeBle("GDX-RB 0K1002R5", "C0:FF:EE:00:00:03", seed=3)),
        ParticipantSpec("D", ReplaySource(REPO / "sample_signals" / "pair_sync_B.csv")),
        ParticipantSpec("E", SimSource("follow", rate_bpm=12.0, seed=4, probe=probes["A"]), simulated=True),
    ]
    session = Session(specs, SessionClock(100.0), SessionConfig(), probes=probes)
    snaps = run_collecting(session, 35.0)
    want = {
        "A": "ble:Polar H10 1A2B (00:01)",  # one name for two devices: the end of the address tells them apart
        "B": "ble:Polar H10 1A2B (00:02)",
        "C": "ble:GDX-RB 0K1002R5",
        "D": "replay:pair_sync_B.csv",
        "E": "sim:follow",
    }
    assert {p.label: p.source for p in snaps[-1].participants} == want
    summary = session.summary()["participants"]
    assert {lab: summary[lab]["source"] for lab in want} == want


def test_a_device_not_yet_found_is_named_by_its_target_and_addresses_grow_until_they_differ() -> None:
    names = _source_names(
        [
            FakeBle(None, None),
            FakeBle("HR", "AA:BB:CC:11:00:01"),
            FakeBle("HR", "AA:BB:CC:22:00:01"),
            FakeBle("", "AA:BB:CC:33:00:01"),
        ]
    )
    assert names == ["ble:Polar", "ble:HR (11:00:01)", "ble:HR (22:00:01)", "ble:AA:BB:CC:33:00:01"]


def test_the_same_device_twice_is_not_told_apart_by_its_address() -> None:
    # (a session refuses one device for two participants; a name alone is then all there is to say)
    same = [FakeBle("HR", "AA:BB:CC:00:00:01"), FakeBle("HR", "aa:bb:cc:00:00:01")]
    assert _source_names(same) == ["ble:HR", "ble:HR"]


def test_sources_that_are_not_bluetooth_keep_their_names() -> None:
    other: list[Source] = [
        ReplaySource(REPO / "sample_signals" / "pair_sync_A.csv"),
        SimSource("steady", rate_bpm=12.0, seed=1),
    ]
    assert _source_names(other) == ["replay:pair_sync_A.csv", "sim:steady"]
