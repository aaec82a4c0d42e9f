"""The group's Synchrony stream (run inside a loopback-only network namespace, see loopback.py): a session of
three or more people publishes ``breathsync-sync-group`` (the Kuramoto order R over the window, its chance
level, whether R is above it, the window's age) beside the pairs'; researchers recording a group with
LabRecorder got the pairs but not the group. A session of two publishes none."""

from __future__ import annotations

import asyncio
import math
import threading
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from conftest import posix_only
from loopback import loopback_only, stream_channels

from breathsync.live import ParticipantArg, build_session
from breathsync.lsl_out import LslPublisher
from breathsync.session import SessionConfig
from breathsync.session_types import SessionInfo, Snapshot
from breathsync.sources.base import SampleChunk

pytestmark = posix_only("network namespaces (unshare -n)")

GROUP = "breathsync-sync-group"
CHANNELS = [("r", "0-1"), ("null_r", "0-1"), ("above_chance", "0/1"), ("window_age", "seconds")]
CAP = 0.9  # the chance level's cap (dsp.sync.SyncConfig.max_null): the level until surrogates have history


class Snapshots:
    """A sink keeping the group's values of every snapshot, by session time."""

    def __init__(self) -> None:
        self.by_t: dict[float, tuple[float, float, float]] = {}

    def open(self, info: SessionInfo) -> None:
        pass

    def on_chunk(self, label: str, chunk: SampleChunk) -> None:
        pass

    def on_snapshot(self, snap: Snapshot) -> None:
        self.by_t[snap.t_s] = (snap.group_r, snap.group_chance, snap.group_window_end_s)

    def close(self, info: SessionInfo) -> None:
        pass


def test_a_group_of_three_is_published_with_its_chance_level() -> None:
    """Three simulated people, given out of label order, with a 5-s window for 18 s at speed 1: their R is
    known from about 14 s on; surrogates need a minute of history, so the level is the cap throughout."""
    import pylsl

    session = build_session(
        [
            ParticipantArg("C", "sim:steady,rate=15,seed=1"),
            ParticipantArg("A", "sim:follow,seed=2"),
            ParticipantArg("B", "sim:follow,seed=3"),
        ],
        speed=1.0,
        config=SessionConfig(window_s=5.0),
    )
    publisher = LslPublisher(session.clock)
    snaps = Snapshots()
    session.add_sink(publisher)
    session.add_sink(snaps)
    meta: dict[str, Any] = {}
    rows: list[list[float]] = []
    stamps: list[float] = []
    done = threading.Event()

    def read() -> None:  # plain pylsl, as LabRecorder would see the streams
        (pair,) = pylsl.resolve_byprop("name", "breathsync-sync-C-A", 1, 10.0)
        meta["pair"] = pair
        found = pylsl.resolve_byprop("name", GROUP, 1, 10.0)
        if not found:
            return
        inlet = pylsl.StreamInlet(found[0])
        meta["group"] = inlet.info(timeout=5.0)
        inlet.open_stream(timeout=5.0)
        while True:
            ended = done.is_set()
            data, ts = inlet.pull_chunk(timeout=0.5)
            rows.extend(data)
            stamps.extend(ts)
            if ended and not data:
                return

    async def main() -> None:
        task = asyncio.create_task(session.run(18.0))
        reader = asyncio.create_task(asyncio.to_thread(read))
        try:
            await task
        finally:
            done.set()
            await reader

    asyncio.run(main())

    assert "group" in meta, f"no {GROUP} stream in a session of three"
    info = meta["group"]
    assert (info.name(), info.type()) == (GROUP, "Synchrony")
    assert info.nominal_srate() == pylsl.IRREGULAR_RATE
    assert info.channel_format() == pylsl.cf_float32
    assert info.channel_count() == len(CHANNELS)
    assert stream_channels(info) == CHANNELS
    # The pairs' pattern: breathsync-HOST-sync-C-A (labels in the order given), breathsync-HOST-sync-group.
    host = meta["pair"].source_id().removesuffix("-sync-C-A")
    assert host.startswith("breathsync-") and info.source_id() == f"{host}-sync-group"
    about = info.desc().child("breathsync")
    assert about.child_value("participants") == "A,B,C"  # the labels' order, as the chance level's rows
    assert about.child_value("window_s") == "5.0"
    assert float(about.child_value("null_cap")) == pytest.approx(CAP)
    assert info.desc().child("acquisition").child_value("manufacturer") == "breathsync"
    assert GROUP in publisher.names

    # One sample per snapshot, each stamped at its snapshot's session time and holding its values.
    data = np.asarray(rows, dtype=float)
    assert data.shape[1:] == (len(CHANNELS),) and data.shape[0] >= 100  # ~10 Hz for most of the 18 s
    assert np.all(np.diff(stamps) > 0)
    base = publisher.lsl_time(0.0)
    times = sorted(snaps.by_t)
    for row, stamp in zip(data, stamps, strict=True):
        t = min(times, key=lambda x: abs(x - (stamp - base)))
        assert abs(t - (stamp - base)) < 1e-6  # a snapshot's own time
        r, chance, end = snaps.by_t[t]
        np.testing.assert_array_equal(row[:2], np.float32([r, chance]))
        assert row[3] == pytest.approx(t - end, abs=1e-5, nan_ok=True)
    r, null, above, age = data.T
    known = np.isfinite(r)
    assert known.sum() >= 20  # R from about 14 s on (a 5-s window of everyone's phase)
    assert not known[:50].any()  # and not in the first seconds: warm-up, then a window
    assert np.all((r[known] >= 0.0) & (r[known] <= 1.0))
    # Before the surrogates have history the level is the cap; unknown with R.
    np.testing.assert_array_equal(null[known], np.float32(CAP))
    assert np.isnan(null[~known]).all()
    np.testing.assert_array_equal(above[known], (r[known] > null[known]).astype(float))
    assert np.isnan(above[~known]).all()
    # The window's end trails the snapshot by the pipelines' delay: sims are on time, within 2 s.
    assert np.isfinite(age[known]).all()
    assert np.all((age[np.isfinite(age)] >= 0.0) & (age[np.isfinite(age)] < 2.0))


def test_a_pair_announces_no_group_stream() -> None:
    """``run --publish`` with two people: their pair's Synchrony stream and no group's."""
    import pylsl

    from breathsync.cli import main

    seen: dict[str, list[Any]] = {}

    def look() -> None:
        pylsl.resolve_byprop("name", "breathsync-sync-A-B", 1, 10.0)
        seen["all"] = pylsl.resolve_streams(2.0)

    looker = threading.Thread(target=look)
    looker.start()
    try:
        code = main(
            ["run", "-p", "A=sim:steady", "-p", "B=sim:follow", "--publish", "--duration", "6", "--quiet"]
        )
    finally:
        looker.join()
    assert code == 0
    synchrony = sorted(s.name() for s in seen["all"] if s.type() == "Synchrony")
    assert synchrony == ["breathsync-sync-A-B"]
    assert GROUP not in {s.name() for s in seen["all"]}


loopback_only(globals())  # the tests above run in a loopback-only network namespace


def test_a_group_sample_is_the_snapshots_group() -> None:
    """Without a network (a stand-in outlet): what a snapshot pushes, for R unknown, under and above its
    chance level (the live session above cannot reach a surrogate level in its few seconds)."""
    from view_snapshots import snapshot

    from breathsync.sources.base import SessionClock

    class Outlet:
        def __init__(self) -> None:
            self.pushed: list[tuple[list[float], float]] = []

        def push_sample(self, values: list[float], stamp: float) -> None:
            self.pushed.append((values, stamp))

    def group(t_s: float, r: float, chance: float, end_s: float) -> Snapshot:
        snap = snapshot(("A", "B", "C"), t_s=t_s)
        return replace(snap, group_r=r, group_chance=chance, group_window_end_s=end_s)

    pub = LslPublisher(SessionClock(1.0))
    out = Outlet()
    pub._group = out
    pub._started = True
    pub.on_snapshot(group(10.0, math.nan, math.nan, 9.9))  # a window, R not known on it
    pub.on_snapshot(group(60.0, 0.55, 0.62, 58.3))
    pub.on_snapshot(group(61.0, 0.71, 0.62, 59.8))
    (unknown, s0), (under, s1), (over, s2) = out.pushed
    assert len(unknown) == len(CHANNELS)
    assert all(math.isnan(v) for v in unknown[:3]) and unknown[3] == pytest.approx(0.1)
    assert under[:3] == [0.55, 0.62, 0.0] and under[3] == pytest.approx(1.7)
    assert over[:3] == [0.71, 0.62, 1.0] and over[3] == pytest.approx(1.2)
    assert (s0, s1, s2) == (pub.lsl_time(10.0), pub.lsl_time(60.0), pub.lsl_time(61.0))
