"""A partner joined through a breathsync publisher's stream whose breathing is derived from heart beats or a
chest accelerometer is joined as derived breathing, not as a belt (run inside a loopback-only network
namespace, see loopback.py).

The publisher's ``resp`` channel is a breathing waveform in every case, and its description says what it
comes from (``desc/breathsync/signal``: resp, rr, acc; breathsync.lsl_out). The ``lsl:`` source ignored it: a
partner wearing a heart-rate strap was read as a belt, so ``--invert`` was taken for their breathing, the
recording said nothing of heart beats, the RR path's lag (about a second) went unsaid, and each missed beat
made them "no signal" (their breathing comes as the publisher accepts beats: a missed beat at 60 beats/min
is 3 s without a sample). An XDF file recorded from such a stream replayed the same way. A stream of
another publisher, without that description, reads exactly as before.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import posix_only
from loopback import loopback_only

from breathsync import __version__
from breathsync.errors import InputError
from breathsync.io.csvfile import read_recording
from breathsync.live import ParticipantArg, build_session
from breathsync.lsl_out import PARTICIPANT_CHANNELS, LslPublisher
from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.session_types import SessionInfo, Snapshot
from breathsync.sources.base import SampleChunk, SessionClock, SourceStatus
from breathsync.sources.lsl import LslSource
from breathsync.sources.memory import MemorySource
from breathsync.sources.xdf import XdfReplaySource

pytestmark = posix_only("network namespaces (unshare -n)")

BEAT_S = 1.0  # 60 beats/min
MISSED_AT_S = 10.0  # the strap misses the first beat after this (publisher's session time)


def _strap(duration_s: float) -> MemorySource:
    """A heart-rate strap, as a device (not paced): beats whose intervals swing with 12/min breathing (the
    heart speeds up on inhale), one of them missed (its interval goes into the next one's)."""
    n = int(duration_s / BEAT_S)
    rr = BEAT_S * (1.0 + 0.05 * np.sin(2 * np.pi * 0.2 * BEAT_S * np.arange(n)))
    beats = np.cumsum(rr)
    k = int(np.searchsorted(beats, MISSED_AT_S))
    rr[k + 1] += rr[k]
    keep = np.arange(n) != k
    return MemorySource(beats[keep], {"rr_ms": 1000.0 * rr[keep]}, signal="rr", paced=False, name="strap")


def _publishing(duration_s: float) -> Session:
    """A breathsync session publishing A, who wears the strap (``--publish``)."""
    session = Session([ParticipantSpec("A", _strap(duration_s))], SessionClock(1.0), SessionConfig())
    session.add_sink(LslPublisher(session.clock))
    return session


def test_a_partner_breathing_from_heart_beats_is_joined_as_derived_breathing() -> None:
    session = _publishing(20.0)
    src = LslSource("breathsync-A", timeout_s=15.0)
    statuses: list[SourceStatus] = []
    arrivals: list[float] = []
    got: list[SampleChunk] = []

    async def main() -> None:
        task = asyncio.create_task(session.run(18.0))
        src.on_status(lambda s, r: statuses.append(s) if not task.done() else None)
        await src.start(session.clock)

        async def pull() -> None:
            async for chunk in src.stream():
                got.append(chunk)
                if not task.done():
                    arrivals.append(time.monotonic())

        puller = asyncio.create_task(pull())
        await task
        await src.stop()
        await puller

    asyncio.run(main())
    # The breathing waveform the publisher derived from A's beats, arriving as ``resp``, as before ...
    assert src.signal == "resp" and got and all(set(c.columns) == {"resp"} for c in got)
    # ... and the source says where it comes from.
    assert src.derived_from == "rr"
    d = src.describe()
    assert d["signal"] == "resp" and d["derived_from"] == "rr" and d["unit"] == "resp: a.u."
    assert d["breathing"].startswith("derived from heart beats")
    assert d["publisher"] == {
        "participant": "A",
        "signal": "rr",
        "source": "memory",
        "software_version": __version__,
    }
    # The missed beat left the stream silent for longer than the 2 s that made a partner "no signal" ...
    assert max(np.diff(arrivals)) > 2.0, np.diff(arrivals)
    # ... which it no longer is: RR-derived breathing is lost only after 4.5 s without a sample.
    assert src.no_signal_after_s == 4.5
    assert SourceStatus.NO_SIGNAL not in statuses, statuses


def _outlet(
    name: str, about: dict[str, str] | None, channels: list[tuple[str, str, str]], srate: float
) -> Any:
    """An outlet with (label, type, unit) channels and, when ``about`` is given, the description a breathsync
    publisher writes (lsl_out: ``acquisition`` and ``breathsync``)."""
    import pylsl

    info = pylsl.StreamInfo(name, "Respiration", len(channels), srate, pylsl.cf_float32, f"{name}-id")
    chans = info.desc().append_child("channels")
    for label, kind, unit in channels:
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", unit)
        ch.append_child_value("type", kind)
    if about is not None:
        acq = info.desc().append_child("acquisition")
        acq.append_child_value("manufacturer", "breathsync")
        acq.append_child_value("software_version", "9.9.9")
        bs = info.desc().append_child("breathsync")
        for k, v in about.items():
            bs.append_child_value(k, v)
    return pylsl.StreamOutlet(info)


def _opened(name: str) -> LslSource:
    """An lsl: source of that stream, opened (what it reads is known then) and stopped again."""
    src = LslSource(name, timeout_s=10.0)

    async def main() -> None:
        clock = SessionClock()
        clock.start()
        await src.start(clock)
        await src.stop()

    asyncio.run(main())
    return src


def test_what_a_stream_carries_follows_its_publishers_description() -> None:
    import pylsl

    channels = [(label, kind, unit) for label, unit, kind in PARTICIPANT_CHANNELS]
    outlets = [
        # A Polar H10's breathing, from its chest accelerometer, published by breathsync.
        _outlet(
            "chest",
            {"participant": "A", "signal": "acc", "source": "ble", "device": "polar-h10"},
            channels,
            20.0,
        ),
        # A GDX-RB belt published by breathsync: measured breathing, as before (and who published it).
        _outlet(
            "belt",
            {"participant": "B", "signal": "resp", "source": "ble", "device": "gdx-rb"},
            channels,
            20.0,
        ),
        # Another publisher's streams: no such description; exactly as before.
        _outlet("plain", None, [("Resp", "RESP", "mV")], 25.0),
        _outlet("beats", None, [("rr_ms", "RR", "ms")], pylsl.IRREGULAR_RATE),
    ]
    chest, belt, plain, beats = (_opened(name) for name in ("chest", "belt", "plain", "beats"))
    outlets.clear()

    assert (chest.signal, chest.derived_from, chest.no_signal_after_s) == ("resp", "acc", 2.0)
    d = chest.describe()
    assert (d["signal"], d["derived_from"], d["channel"]) == ("resp", "acc", "resp")
    assert d["breathing"].startswith("derived from a chest accelerometer")
    assert d["publisher"] == {
        "participant": "A",
        "signal": "acc",
        "source": "ble",
        "device": "polar-h10",
        "software_version": "9.9.9",
    }
    assert (belt.signal, belt.derived_from, belt.no_signal_after_s) == ("resp", "", 2.0)
    d = belt.describe()
    assert "derived_from" not in d and "breathing" not in d and d["publisher"]["device"] == "gdx-rb"
    assert (plain.signal, plain.derived_from, plain.publisher, plain.no_signal_after_s) == (
        "resp",
        "",
        {},
        2.0,
    )
    assert plain.describe() == {
        "kind": "lsl",
        "stream": "plain",
        "signal": "resp",
        "type": "Respiration",
        "channel": "Resp",
        "nominal_srate": 25.0,
        "source_id": "plain-id",
        "unit": "resp: mV",
    }
    # Another publisher's RR intervals: read as before, but "no signal" only after 3.5 s, as a strap of the
    # session's own (it said so at one missed beat at 60 beats/min or slower).
    assert (beats.signal, beats.derived_from, beats.publisher, beats.no_signal_after_s) == ("rr", "", {}, 3.5)
    assert set(beats.describe()) == {
        "kind",
        "stream",
        "signal",
        "type",
        "channel",
        "nominal_srate",
        "source_id",
    }


class _Events:
    """A sink keeping every event as (kind, participants, text)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[str, ...], str]] = []

    def open(self, info: SessionInfo) -> None:
        pass

    def on_chunk(self, label: str, chunk: SampleChunk) -> None:
        pass

    def on_snapshot(self, snap: Snapshot) -> None:
        self.events += [(e.kind, e.participants, e.text) for e in snap.events]

    def close(self, info: SessionInfo) -> None:
        pass


def test_invert_on_a_partner_joined_through_rr_derived_breathing_is_dropped(tmp_path: Path) -> None:
    """``-p B=lsl:breathsync-A --invert B`` where A wears a heart-rate strap: the flip is dropped with the
    alarm a strap of one's own gets, the RR path's note says how far behind it is, the recording says
    ``invert`` false, and the missed beat is no lost partner."""
    publishing = _publishing(30.0)
    t = np.arange(0.0, 30.0, 0.04)
    belt = MemorySource(t, {"resp": np.sin(2 * np.pi * 0.2 * t)}, paced=False, name="belt")
    joining = Session(
        [
            ParticipantSpec("B", LslSource("breathsync-A", timeout_s=15.0), invert=True),
            ParticipantSpec("C", belt),
        ],
        SessionClock(1.0),
        SessionConfig(),
    )
    folder = tmp_path / "rec"
    joining.add_sink(Recorder(folder))
    seen = _Events()
    joining.add_sink(seen)

    async def main() -> None:
        task = asyncio.create_task(publishing.run(28.0))
        await joining.run(20.0)
        publishing.request_stop("the joining session is over")  # 28 s is only the longest it may take
        await task

    asyncio.run(main())
    b = joining._parts[0]  # type: ignore[attr-defined]
    assert b.pipeline.config.invert is False
    alarms = [text for kind, _, text in seen.events if kind == "alarm"]
    assert any(x.startswith("B: --invert ignored: B's breathing comes from heart beats") for x in alarms), (
        alarms
    )
    notes = [text for kind, _, text in seen.events if kind == "signal_note"]
    assert any(x.startswith("B: breathing derived from heart beats (RR)") and "behind" in x for x in notes), (
        notes
    )
    assert not [e for e in seen.events if e[0] == "source_lost" and "B" in e[1]], seen.events
    entry = next(
        p
        for p in json.loads((folder / "session.json").read_text(encoding="utf-8"))["participants"]
        if p["label"] == "B"
    )
    assert entry["invert"] is False and entry["source"]["derived_from"] == "rr"
    assert "invert" not in read_recording(folder / "B.csv").meta


# ------------------------------------------------------------------------------------- XDF
def _varlen(n: int) -> bytes:
    return b"\x04" + struct.pack("<I", n)


def _chunk(tag: int, content: bytes) -> bytes:
    body = struct.pack("<H", tag) + content
    return _varlen(len(body)) + body


def _xdf(path: Path, headers: list[str], n: int = 600, fs: float = 20.0) -> Path:
    """An XDF file as LabRecorder writes one (https://github.com/sccn/xdf/wiki/Specifications): each stream's
    header is its stream information as an inlet gets it (``as_xml()``), then ``n`` samples of breathing at
    ``fs`` on every channel."""
    buf = bytearray(b"XDF:") + _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')
    for sid, xml in enumerate(headers, start=1):
        buf += _chunk(2, struct.pack("<I", sid) + xml.encode())
    t = 100.0 + np.arange(n) / fs
    for sid, xml in enumerate(headers, start=1):
        count = int(xml.split("<channel_count>")[1].split("<")[0])
        out = bytearray(struct.pack("<I", sid) + _varlen(n))
        for ts in t:
            row = [float(np.sin(2 * np.pi * 0.25 * ts))] * count
            out += b"\x08" + struct.pack("<d", ts) + struct.pack(f"<{count}f", *row)
        buf += _chunk(3, bytes(out))
    path.write_bytes(bytes(buf))
    return path


def _lab_recording(tmp_path: Path) -> Path:
    """An XDF file holding ``breathsync-A``, published by breathsync for a participant wearing a heart-rate
    strap, and ``belt``, another publisher's breathing belt, each stream's header as LabRecorder keeps it."""
    import pylsl

    entry: dict[str, Any] = {"label": "A", "signal": "rr", "source": {"kind": "ble", "device": "hrm"}}
    info = SessionInfo(participants=[entry], settings={}, start_utc="", software_version="")
    clock = SessionClock()
    clock.start()
    publisher = LslPublisher(clock)
    publisher.open(info)
    publisher.on_chunk("A", SampleChunk(np.array([0.0]), {"rr_ms": np.array([1000.0])}))  # announced now
    keep = [_outlet("belt", None, [("Resp", "RESP", "mV")], 20.0)]
    headers = []
    for name in ("breathsync-A", "belt"):
        (found,) = pylsl.resolve_byprop("name", name, 1, 10.0)
        headers.append(pylsl.StreamInlet(found).info(timeout=5.0).as_xml())
    publisher.close(info)
    keep.clear()
    return _xdf(tmp_path / "lab.xdf", headers)


def test_an_xdf_recording_of_a_derived_stream_replays_as_derived_breathing(tmp_path: Path) -> None:
    """LabRecorder keeps each stream's description in the file: a replay of ``breathsync-A`` (heart beats)
    says what an lsl: source of the live stream says; another publisher's stream replays as before."""
    path = _lab_recording(tmp_path)
    a = XdfReplaySource(str(path), stream="breathsync-A")
    assert (a.signal, a.derived_from) == ("resp", "rr")
    d = a.describe()
    assert (d["derived_from"], d["channel"]) == ("rr", "resp")
    assert d["breathing"].startswith("derived from heart beats")
    assert d["publisher"] == {
        "participant": "A",
        "signal": "rr",
        "source": "ble",
        "device": "hrm",
        "software_version": __version__,
    }
    plain = XdfReplaySource(str(path), stream="belt")
    assert (plain.signal, plain.derived_from) == ("resp", "")
    assert not {"derived_from", "breathing", "publisher"} & set(plain.describe())


def test_invert_on_an_xdf_replay_of_rr_derived_breathing_is_refused(tmp_path: Path) -> None:
    """A replay says what it carries once its file is read: ``--invert`` is refused before the session, as for
    a replayed strap's beats."""
    path = _lab_recording(tmp_path)
    parts = [
        ParticipantArg("A", f"replay:{path},stream=breathsync-A"),
        ParticipantArg("B", f"replay:{path},stream=belt"),
    ]
    with pytest.raises(InputError) as e:
        build_session(parts, invert=["A"])
    assert str(e.value).startswith("--invert A: A's breathing comes from heart beats"), str(e.value)
    build_session(parts, invert=["B"])  # a belt's flip is taken


loopback_only(globals())  # every test above runs in a loopback-only network namespace
