"""A participant's published stream says what their breathing really is: its ``<breathsync><signal>``, its
device and its ``resp`` channel's unit, as the session knows them once the participant's first samples came
(run inside a loopback-only network namespace, see loopback.py).

The outlet was created when the session opened, before a Bluetooth scan had found the device: a Polar H10,
whose breathing comes from its chest accelerometer, was published as ``<signal>resp</signal>``, and ``resp``
was always in ``a.u.``, even for a GDX-RB belt (newtons) or a replay whose file says ``# unit: resp: mV``. A
partner joining through the stream carried that wrong unit into their recording.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
from conftest import breathing, posix_only
from loopback import loopback_only

from breathsync.io.csvfile import write_recording
from breathsync.lsl_out import PARTICIPANT_CHANNELS, LslPublisher
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SampleChunk, SessionClock, Source, SourceStatus
from breathsync.sources.lsl import LslSource, channel_infos
from breathsync.sources.replay import ReplaySource

pytestmark = posix_only("network namespaces (unshare -n)")

FS_HZ = 25.0
SESSION_S = 15.0


class FoundOnStart(Source):
    """A wearable known only once started, as a Bluetooth source after its scan: until then it says "resp"
    and names no device (BleSource's defaults); ``start`` finds ``device``, giving ``signal``. Then it sends
    breathing in real time, 0.2 s at a time (an accelerometer's three axes for "acc")."""

    def __init__(self, device: str, signal: str, found: bool = True) -> None:
        super().__init__()
        self._device, self._signal, self._found = device, signal, found
        self.device: str | None = None
        self._clock: SessionClock | None = None

    async def start(self, clock: SessionClock) -> None:
        self._clock = clock
        if self._found:
            self.signal, self.device = self._signal, self._device
        self.set_status(SourceStatus.STREAMING if self._found else SourceStatus.STARTING)

    async def stream(self) -> AsyncIterator[SampleChunk]:
        assert self._clock is not None
        if not self._found:  # still scanning: never a sample
            await asyncio.sleep(3600)
        t, y, _ = breathing(SESSION_S + 2.0, FS_HZ, 15.0, seed=4)
        step = int(0.2 * FS_HZ)
        for k in range(0, t.size, step):
            await self._clock.sleep_until(float(t[k]))
            tt, yy = t[k : k + step], y[k : k + step]
            if self.signal == "acc":  # milli-g: gravity on z, breathing on it
                cols = {"acc_x": np.zeros_like(yy), "acc_y": np.zeros_like(yy), "acc_z": 1000.0 + 20.0 * yy}
            else:
                cols = {"resp": 5.0 + yy}  # newtons
            yield SampleChunk(tt, cols)

    async def stop(self) -> None:
        return None

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": "ble", "target": "test", "signal": self.signal}
        if self.device is not None:
            d["device"] = self.device
        return d


def _resp_file(tmp_path: Path) -> Path:
    t, y, _ = breathing(60.0, FS_HZ, 12.0, seed=5)
    path = tmp_path / "belt_mv.csv"
    write_recording(path, t, {"resp": y}, {"participant": "C", "unit": "resp: mV"})
    return path


def _read(name: str, wait_s: float = 10.0) -> list[Any]:
    """Every stream of that name on the network once one is (waiting up to ``wait_s`` for it), each with its
    full description, as an inlet gets it."""
    import pylsl

    if not pylsl.resolve_byprop("name", name, 1, wait_s):
        return []
    every = pylsl.resolve_byprop("name", name, 2, 1.5)  # a second one, were there two
    return [pylsl.StreamInlet(s).info(timeout=5.0) for s in every]


def test_streams_carry_the_signal_device_and_unit_known_once_samples_came(tmp_path: Path) -> None:
    polar = FoundOnStart("polar-h10", "acc")
    belt = FoundOnStart("gdx-rb", "resp")
    lost = FoundOnStart("gdx-rb", "resp", found=False)
    parts = [
        ParticipantSpec("A", polar),
        ParticipantSpec("B", belt),
        ParticipantSpec("C", ReplaySource(str(_resp_file(tmp_path)))),
        ParticipantSpec("D", lost),
    ]
    session = Session(parts, SessionClock(1.0), SessionConfig())
    publisher = LslPublisher(session.clock)
    session.add_sink(publisher)
    seen: dict[str, list[Any]] = {}
    joined: dict[str, Any] = {}
    errors: list[BaseException] = []

    def inspect() -> None:  # plain pylsl, as LabRecorder sees the streams
        try:
            for label in "ABC":
                seen[label] = _read(f"breathsync-{label}")
            seen["D"] = _read("breathsync-D", wait_s=2.0)  # never gave a sample: never announced
        except BaseException as e:  # reported by the test, not lost in the thread
            errors.append(e)

    async def main() -> None:
        task = asyncio.create_task(session.run(SESSION_S))
        checker = asyncio.create_task(asyncio.to_thread(inspect))
        partner = LslSource("breathsync-B", timeout_s=10.0)  # B's partner joins through the stream
        await partner.start(session.clock)
        joined["B"] = partner.describe()
        await partner.stop()
        await checker
        session.request_stop("every stream was read")  # SESSION_S is only the longest it may take
        await task

    asyncio.run(main())
    assert not errors, errors

    def about(label: str) -> dict[str, str]:
        bs = seen[label][0].desc().child("breathsync")
        return {k: bs.child_value(k) for k in ("participant", "signal", "source", "device")}

    def units(label: str) -> dict[str, str]:
        return {ch.label: ch.unit for ch in channel_infos(seen[label][0])}

    # A Polar H10: breathing from its chest accelerometer, the resp channel derived from it (arbitrary units).
    assert about("A") == {"participant": "A", "signal": "acc", "source": "ble", "device": "polar-h10"}
    assert units("A")["resp"] == "a.u."
    # A GDX-RB belt: its force sensor, in newtons (the device profile's, as the recorder writes it).
    assert about("B") == {"participant": "B", "signal": "resp", "source": "ble", "device": "gdx-rb"}
    assert units("B")["resp"] == "newtons"
    # A replay: the unit its file declares; no device.
    assert about("C") == {"participant": "C", "signal": "resp", "source": "replay", "device": ""}
    assert units("C")["resp"] == "mV"
    # The other channels keep their labels, units and types (XDF meta-data conventions).
    for label in "ABC":
        got = [(ch.label, ch.type) for ch in channel_infos(seen[label][0])]
        assert got == [(name, kind) for name, _, kind in PARTICIPANT_CHANNELS]
        assert {k: v for k, v in units(label).items() if k != "resp"} == {
            name: unit for name, unit, _ in PARTICIPANT_CHANNELS if name != "resp"
        }
    # The partner joining through B's stream gets B's unit, as a recording of it writes it ("# unit:").
    assert joined["B"]["signal"] == "resp" and joined["B"]["unit"] == "resp: newtons"
    for label in "ABC":
        assert len(seen[label]) == 1, label  # one stream per participant
    assert seen["D"] == []  # still scanning when the session ended: nothing announced, nothing wrong said


def test_a_participant_is_announced_by_their_first_chunk_and_once(tmp_path: Path) -> None:
    """The publisher alone, fed as the session feeds its sinks: nothing of a participant before their first
    chunk; their stream at it, from the description as it then is; a later change does not announce it again."""
    import pylsl

    from breathsync.session_types import SessionInfo

    entry: dict[str, Any] = {"label": "A", "signal": "resp", "source": {"kind": "ble", "signal": "resp"}}
    info = SessionInfo(participants=[entry], settings={}, start_utc="", software_version="")
    clock = SessionClock()
    clock.start()
    publisher = LslPublisher(clock)
    publisher.open(info)
    assert "breathsync-A" in publisher.names  # what the user is told is published
    assert not pylsl.resolve_byprop("name", "breathsync-A", 1, 1.0)
    # The session completes the entry (the scan found a Polar H10), then hands the sinks the first chunk.
    entry.update(signal="acc", source={"kind": "ble", "signal": "acc", "device": "polar-h10"})
    chunk = SampleChunk(np.array([0.0]), {"acc_x": [0.0], "acc_y": [0.0], "acc_z": [1000.0]})
    publisher.on_chunk("A", chunk)
    entry.update(signal="rr")  # (the session never does; were it to, the stream keeps its description)
    publisher.on_chunk("A", chunk)
    found = pylsl.resolve_byprop("name", "breathsync-A", 0, 2.0)
    assert len(found) == 1
    got = pylsl.StreamInlet(found[0]).info(timeout=5.0)
    assert got.desc().child("breathsync").child_value("signal") == "acc"
    publisher.close(info)
    assert math.isfinite(publisher.lsl_time(0.0))


def test_joining_waits_for_a_stream_announced_late() -> None:
    """A partner's lsl: source started before the publisher's participant gave a sample finds the stream
    when it comes, within its timeout."""
    from breathsync.session_types import SessionInfo

    entry: dict[str, Any] = {"label": "A", "signal": "resp", "source": {"kind": "sim"}}
    info = SessionInfo(participants=[entry], settings={}, start_utc="", software_version="")
    clock = SessionClock()
    clock.start()
    publisher = LslPublisher(clock)
    publisher.open(info)
    announce = threading.Event()
    got: dict[str, Any] = {}

    async def main() -> None:
        partner = LslSource("breathsync-A", timeout_s=30.0)
        start = asyncio.create_task(partner.start(clock))
        await asyncio.sleep(0.5)
        assert not start.done()  # still looking: nothing announced yet
        publisher.on_chunk("A", SampleChunk(np.array([0.0]), {"resp": [0.0]}))
        announce.set()
        await start
        got.update(partner.describe())
        await partner.stop()

    asyncio.run(main())
    publisher.close(info)
    assert announce.is_set() and got["stream"] == "breathsync-A" and got["signal"] == "resp"


loopback_only(globals())  # every test above runs in a loopback-only network namespace
