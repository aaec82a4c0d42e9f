"""LSL in one process (run inside a loopback-only network namespace, see conftest.py): the publisher's
streams and metadata, publish -> lsl: source round trip with timestamps, a stream that disappears and comes
back, a stream that is not there."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import posix_only
from loopback import loopback_only, stream_channels

from breathsync.errors import InputError
from breathsync.live import ParticipantArg, build_session
from breathsync.lsl_out import PAIR_CHANNELS, PARTICIPANT_CHANNELS, LslPublisher
from breathsync.session_types import SessionInfo, Snapshot
from breathsync.sources.base import SampleChunk, SessionClock, SourceError, SourceStatus
from breathsync.sources.lsl import LslSource, parse_lsl_spec, pick_channel

pytestmark = posix_only("network namespaces (unshare -n)")


class Capture:
    """A sink keeping every published grid sample and every event."""

    def __init__(self) -> None:
        self.t: dict[str, list[float]] = {}
        self.wave: dict[str, list[float]] = {}
        self.raw: dict[str, list[float]] = {}
        self.events: list[str] = []

    def open(self, info: SessionInfo) -> None:
        pass

    def on_chunk(self, label: str, chunk: SampleChunk) -> None:
        pass

    def on_snapshot(self, snap: Snapshot) -> None:
        for p in snap.participants:
            self.t.setdefault(p.label, []).extend(p.new_t.tolist())
            self.wave.setdefault(p.label, []).extend(p.new_wave.tolist())
            self.raw.setdefault(p.label, []).extend(p.new_raw.tolist())
        self.events += [e.kind for e in snap.events]

    def close(self, info: SessionInfo) -> None:
        pass


def test_publish_then_join_round_trip() -> None:
    import pylsl

    session = build_session(
        [ParticipantArg("A", "sim:steady,rate=15,seed=1"), ParticipantArg("B", "sim:follow,seed=2")]
    )
    publisher = LslPublisher(session.clock)
    capture = Capture()
    session.add_sink(publisher)
    session.add_sink(capture)
    got: list[SampleChunk] = []
    statuses: list[SourceStatus] = []
    meta: dict[str, Any] = {}
    markers: list[tuple[str, float]] = []

    def inspect() -> None:  # plain pylsl, as LabRecorder would see the streams
        for name in ("breathsync-A", "breathsync-sync-A-B", "breathsync-events"):
            found = pylsl.resolve_byprop("name", name, 1, 5.0)
            assert found, name
            inlet = pylsl.StreamInlet(found[0])
            meta[name] = inlet.info(timeout=5.0)
            if name == "breathsync-events":
                inlet.open_stream(timeout=5.0)
                deadline = time.monotonic() + 15.0  # until the session ends
                while time.monotonic() < deadline and '"session_end"' not in str(markers):
                    sample, ts = inlet.pull_sample(timeout=0.2)
                    if sample is not None:
                        markers.append((sample[0], ts))

    async def main() -> None:
        task = asyncio.create_task(session.run(7.0))
        await asyncio.sleep(0.3)
        checker = asyncio.create_task(asyncio.to_thread(inspect))
        src = LslSource("breathsync-A", timeout_s=5.0)
        src.on_status(lambda s, r: statuses.append(s))
        await src.start(session.clock)

        async def pull() -> None:
            async for chunk in src.stream():
                got.append(chunk)

        puller = asyncio.create_task(pull())
        await task
        await asyncio.sleep(0.3)
        await src.stop()
        await puller
        await checker

    asyncio.run(main())

    # Metadata: type, stable source id, channel labels and units.
    a = meta["breathsync-A"]
    assert a.type() == "Respiration"
    assert a.nominal_srate() == pytest.approx(20.0)
    assert a.source_id().startswith("breathsync-") and a.source_id().endswith("-A")
    assert stream_channels(a) == [(lab, unit) for lab, unit, _ in PARTICIPANT_CHANNELS]
    assert a.desc().child("breathsync").child_value("participant") == "A"
    pair = meta["breathsync-sync-A-B"]
    assert pair.type() == "Synchrony"
    assert [lab for lab, _ in stream_channels(pair)] == [lab for lab, _ in PAIR_CHANNELS]
    assert meta["breathsync-events"].type() == "Markers"
    # Events as JSON markers (the inlet connected after session_start, so the last one is session_end).
    last = json.loads(markers[-1][0])
    assert last["kind"] == "session_end" and last["text"] == "the session ends: its duration (7.0 s) is over"
    assert sum('"session_end"' in m for m, _ in markers) == 1  # the session's, not a second one at close
    assert publisher.lsl_time(6.9) < markers[-1][1] < publisher.lsl_time(8.0)

    # Samples: the inlet's session times are the published session times; its resp channel is the
    # waveform before the live filters (the filtered one, joined as a partner, was filtered again: late).
    assert statuses[0] is SourceStatus.STREAMING
    t = np.concatenate([c.t for c in got])
    y = np.concatenate([c.columns["resp"] for c in got])
    assert t.size >= 60
    assert np.all(np.diff(t) > 0)
    pub_t = np.asarray(capture.t["A"])
    pub_y = np.asarray(capture.raw["A"], dtype=np.float32)
    assert len(capture.raw["A"]) == len(capture.t["A"]) == len(capture.wave["A"])
    k = np.searchsorted(pub_t, t)
    k = np.clip(k, 1, pub_t.size - 1)
    k = np.where(np.abs(pub_t[k - 1] - t) < np.abs(pub_t[k] - t), k - 1, k)
    assert np.max(np.abs(pub_t[k] - t)) < 2e-3  # same machine: time_correction ~ 0, clocks agree
    np.testing.assert_allclose(y, pub_y[k], rtol=1e-6, equal_nan=True)


def _outlet(name: str, source_id: str, label: str = "Resp", srate: float = 20.0) -> Any:
    import pylsl

    info = pylsl.StreamInfo(name, "Respiration", 1, srate, pylsl.cf_float32, source_id)
    ch = info.desc().append_child("channels").append_child("channel")
    ch.append_child_value("label", label)
    if label == "rr_ms":
        ch.append_child_value("unit", "ms")
    return pylsl.StreamOutlet(info)


@pytest.mark.parametrize(
    ("source_id", "away_s"),
    [("belt-2", 1.5), ("belt-1", 0.2)],
    ids=["new-source-id", "same-source-id-quickly"],
)
def test_a_stream_back_carrying_something_else_says_why_it_is_not_read(source_id: str, away_s: float) -> None:
    """The stream goes away and a stream of its name comes back with RR intervals instead of a waveform: the
    session set itself up for a waveform, so it is not read, and the participant's status says why (it said
    only "nothing for 0.5 s", for good). Back quickly under the same source_id (a partner's breathsync
    restarted: ``breathsync-<host>-<label>`` each time), liblsl's own recovery read it as the old stream."""
    import pylsl

    holder: dict[str, Any] = {"outlet": _outlet("belt", "belt-1")}
    read_after: list[int] = []

    async def main() -> LslSource:
        clock = SessionClock()
        clock.start()
        src = LslSource("belt", timeout_s=5.0, lost_after_s=0.5)
        await src.start(clock)

        back_at = math.inf

        async def pull() -> None:
            async for chunk in src.stream():
                if time.monotonic() > back_at:
                    read_after.append(len(chunk))

        puller = asyncio.create_task(pull())
        for k in range(20):
            holder["outlet"].push_sample([float(k)], pylsl.local_clock())
            await asyncio.sleep(0.05)
        holder["outlet"] = None  # the stream goes away ...
        await asyncio.sleep(away_s)
        # ... and comes back as RR intervals
        holder["outlet"] = _outlet("belt", source_id, "rr_ms", pylsl.IRREGULAR_RATE)
        back_at = time.monotonic()
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and "not read" not in src.status_reason:
            holder["outlet"].push_sample([800.0], pylsl.local_clock())
            await asyncio.sleep(0.2)
        await src.stop()
        await puller
        return src

    src = asyncio.run(main())
    assert src.status is SourceStatus.NO_SIGNAL
    assert "now carries rr, not resp as before" in src.status_reason, src.status_reason
    assert "join it again in a new session" in src.status_reason
    assert read_after == []  # none of the RR intervals was read as breathing


@pytest.mark.parametrize("same_id", [True, False], ids=["same-source-id", "new-source-id"])
def test_stream_disappears_then_rejoins(same_id: bool) -> None:
    import pylsl

    stop = threading.Event()
    holder: dict[str, Any] = {"outlet": _outlet("belt", "belt-1")}
    lock = threading.Lock()

    def push() -> None:
        k = 0
        while not stop.is_set():
            with lock:
                out = holder["outlet"]
                if out is not None:
                    out.push_sample([float(k)], pylsl.local_clock())
            k += 1
            time.sleep(0.05)

    events: list[tuple[float, SourceStatus]] = []
    chunks: list[tuple[float, SampleChunk]] = []

    async def main() -> None:
        clock = SessionClock()
        clock.start()
        src = LslSource("belt", timeout_s=5.0, lost_after_s=0.5)
        src.on_status(lambda s, r: events.append((time.monotonic(), s)))
        pusher = threading.Thread(target=push, daemon=True)
        pusher.start()
        await src.start(clock)

        async def pull() -> None:
            async for c in src.stream():
                chunks.append((time.monotonic(), c))

        puller = asyncio.create_task(pull())
        await asyncio.sleep(1.5)
        with lock:
            holder["outlet"] = None  # the stream goes away
        await asyncio.sleep(2.0)
        with lock:
            holder["outlet"] = _outlet("belt", "belt-1" if same_id else "belt-2")
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and events[-1][1] is not SourceStatus.STREAMING:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        await src.stop()
        await puller
        stop.set()
        pusher.join()
        assert src.describe()["kind"] == "lsl"

    asyncio.run(main())
    kinds = [s for _, s in events]
    assert kinds[:3] == [SourceStatus.STREAMING, SourceStatus.NO_SIGNAL, SourceStatus.STREAMING], kinds
    lost_at = events[1][0]
    back_at = events[2][0]
    before = [c for w, c in chunks if w < lost_at]
    after = [c for w, c in chunks if w > back_at]
    assert before and after
    t = np.concatenate([c.t for _, c in chunks])
    assert np.all(np.diff(t) > 0)
    # The gap shows in the session times: about 2 s without samples.
    assert np.max(np.diff(t)) > 1.5


def test_stream_not_found_is_a_clear_error() -> None:
    src = parse_lsl_spec("nobody-here,timeout=0.5")

    async def main() -> None:
        await src.start(SessionClock())

    with pytest.raises(SourceError, match=r"no stream named 'nobody-here' found within 0.5 s"):
        asyncio.run(main())


def test_live_stream_refuses_speed() -> None:
    src = LslSource("x", timeout_s=0.5)
    with pytest.raises(SourceError, match="speed"):
        asyncio.run(src.start(SessionClock(speed=10)))


def test_spec_and_channel_choice() -> None:
    assert parse_lsl_spec("breathsync-A").name == "breathsync-A"
    src = parse_lsl_spec("belt ,timeout=3, channel=chest")
    assert (src.name, src.timeout_s, src.channel) == ("belt", 3.0, "chest")
    for bad in ("", "x,timeout=a", "x,timeout=-1", "x,colour=red"):
        with pytest.raises(InputError):
            parse_lsl_spec(bad)
    assert pick_channel(["ecg", "Resp"], None, "s") == 1
    assert pick_channel(["ecg", "chest_breathing"], None, "s") == 1
    assert pick_channel([""], None, "s") == 0
    assert pick_channel(["a", "b"], "1", "s") == 1
    assert pick_channel(["a", "B"], "b", "s") == 1
    with pytest.raises(InputError, match="channel=LABEL"):
        pick_channel(["x", "y"], None, "s")
    with pytest.raises(InputError, match="no channel 'z'"):
        pick_channel(["x", "y"], "z", "s")


def test_without_pylsl_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from breathsync.cli import main

    monkeypatch.setitem(sys.modules, "pylsl", None)  # import pylsl -> ImportError
    with pytest.raises(SourceError, match=r"pip install 'breathsync\[lsl\]'"):
        asyncio.run(LslSource("x").start(SessionClock()))
    code = main(["run", "-p", "A=sim:steady", "--publish", "--quiet", "--duration", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "pip install 'breathsync[lsl]'" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["1e300", "inf", "nan", "3601"])
def test_timeout_must_be_a_sensible_number_of_seconds(value: str) -> None:
    """1e300 made liblsl give up at once with a false "not found within 1e+300 s"; inf was accepted."""
    with pytest.raises(InputError) as e:
        parse_lsl_spec(f"nosuch,timeout={value}")
    assert str(e.value).startswith("lsl: timeout") and "\n" not in str(e.value)
    assert parse_lsl_spec("x,timeout=3600").timeout_s == 3600.0
    with pytest.raises(ValueError):
        LslSource("x", timeout_s=float("inf"))


def test_run_with_a_missing_stream_exits_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    """A source that cannot start: one line with why, exit 2 (it was exit 0, the reason only in the view)."""
    from breathsync.cli import main

    code = main(["run", "-p", "A=lsl:nosuch,timeout=1", "--quiet", "--duration", "10"])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("breathsync: error: participant A: lsl: no stream named 'nosuch' found within 1 s")
    assert "A: lsl:nosuch, 0 breaths" in out


def test_run_ends_when_a_partners_stream_is_not_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The partner's stream never came: the session ends then (it ran the simulated partner alone to the
    --duration, and said only at its end that A never came)."""
    from breathsync.cli import main

    rec = tmp_path / "rec"
    argv = ["run", "-p", "A=lsl:nosuch,timeout=1", "-p", "B=sim:follow", "--quiet", "--duration", "40"]
    code = main([*argv, "--record", str(rec)])
    _out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(
        "breathsync: error: participant A: lsl: no stream named"
    ), err
    info = json.loads((rec / "session.json").read_text(encoding="utf-8"))
    assert info["duration_s"] < 10, info["duration_s"]  # not the 40 s of --duration


loopback_only(globals())  # every test above runs in a loopback-only network namespace
