"""BleSource end to end against fake wearables in the fake BlueZ: a Polar H10 (PMD ACC) and a GDX-RB."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import numpy as np
import pytest
from conftest import posix_only
from fakebluez import FakeBlueZ, FakeGdxRb, FakePolarH10, private_bus
from streaming import start_streaming, until

from breathsync.sources.base import SampleChunk, SessionClock, SourceError, SourceStatus
from breathsync.sources.ble import BleSource, parse_ble_spec
from devices import polar_pmd

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


def _acc(chunks: list[SampleChunk]) -> list[SampleChunk]:
    """The accelerometer chunks of an H10 (its heart beats come in chunks of their own, rr_ms finite)."""
    return [c for c in chunks if "rr_ms" not in c.columns or not np.isfinite(c.columns["rr_ms"]).any()]


def _samples(chunks: list[SampleChunk]) -> int:
    return sum(len(c.t) for c in chunks)


def _h10_enough(chunks: list[SampleChunk]) -> bool:
    """3 s of an H10's accelerometer at 50 Hz (the breathing's swing on z needs 2 s of the fake's 4-s cycle)
    and 3 heart beats: what 3 s of streaming gives an unloaded machine."""
    acc = _samples(_acc(chunks))
    return acc >= 150 and _samples(chunks) - acc >= 3


async def _run(
    src: BleSource, enough: Callable[[list[SampleChunk]], bool], timeout_s: float = 20.0
) -> tuple[list[SampleChunk], float]:
    """Start ``src`` on a fresh session clock, collect chunks until ``enough(chunks)`` holds, stop; (chunks,
    session end). Until enough has come, not for a fixed time, which a loaded machine can end before it has:
    there it only takes longer; ``timeout_s`` is the longest it may take."""
    clock, got, task = await start_streaming(src)
    came = await until(lambda: enough(got), timeout_s=timeout_s)
    end = clock.now()
    await src.stop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(task, 5.0)
    assert came, f"{_samples(got)} samples in {timeout_s:g} s"
    return got, end


def test_polar_h10_streams_acc_at_the_requested_rate_and_stops_it_before_disconnecting() -> None:
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        src = parse_ble_spec("Polar H10,timeout=5")
        statuses: list[SourceStatus] = []
        src.on_status(lambda s, _r: statuses.append(s))
        got, end = asyncio.run(_run(src, _h10_enough))
        assert not h10.connected
        events = list(h10.events)
        commands = list(h10.commands)
        frames = list(h10.frames)
        beats_sent = h10.sent

    rate = src.profile.settings["acc_rate_hz"] if src.profile else None
    assert rate == 50
    assert src.signal == "acc" and src.describe()["device"] == "polar-h10"
    assert statuses == [SourceStatus.STREAMING]

    # Control point: indications enabled BEFORE the first command; every reply was heard.
    ctl, data = h10.control_uuid, h10.data_uuid
    first_write = next(i for i, e in enumerate(events) if e[0] == "write" and e[1] == ctl)
    assert ("subscribe", ctl) in events[:first_write]
    assert ("subscribe", data) in events[:first_write]
    assert h10.unheard_replies == 0
    # A fresh strap: the precautionary stop is answered "already in that state", then ACC starts at 50 Hz.
    assert commands[0] == (bytes.fromhex("03 02"), bytes.fromhex("F0 03 02 06 00"))
    assert commands[1] == (polar_pmd.start_acc_command(50, 8), bytes.fromhex("F0 02 02 00 00"))
    assert h10.acc_starts == 1

    # Streams stopped on exit: ACC stop (03 02) written, and answered, before the disconnect.
    stop_at = max(i for i, e in enumerate(events) if e == ("write", ctl, bytes.fromhex("03 02")))
    assert stop_at > first_write and stop_at < events.index(("disconnect",))
    assert h10.acc_stops == 1 and h10.acc_rate is None
    assert commands[-1] == (bytes.fromhex("03 02"), bytes.fromhex("F0 03 02 00 00"))

    # Every chunk carries acc_x/y/z and rr_ms (declared up front); a chunk is either accelerometer samples
    # (rr_ms NaN) or heart beats from the Heart Rate Measurement (acc NaN).
    assert got and src.dropped == 0
    assert src.extra_columns == ("rr_ms",)
    assert all(list(c.columns) == ["acc_x", "acc_y", "acc_z", "rr_ms"] for c in got)
    beat_chunks = [c for c in got if np.isfinite(c.columns["rr_ms"]).all()]
    acc_chunks = [c for c in got if not np.isfinite(c.columns["rr_ms"]).any()]
    assert len(beat_chunks) + len(acc_chunks) == len(got) and beat_chunks and acc_chunks
    assert all(np.isnan(c.columns[k]).all() for c in beat_chunks for k in ("acc_x", "acc_y", "acc_z"))
    # The beats: every one the strap sent while streaming (the last may cross the disconnect), their RR
    # as sent (the fake cycles through 800, 850, 900, ... ms, rounded to 1/1024 s), times increasing.
    bt = np.concatenate([c.t for c in beat_chunks])
    rr = np.concatenate([c.columns["rr_ms"] for c in beat_chunks])
    assert beats_sent - 1 <= len(rr) <= beats_sent and len(rr) >= 2
    np.testing.assert_allclose(rr, np.round(np.resize(h10.rr_ms, len(rr)) * 1.024) / 1.024, atol=1e-9)
    assert np.all(np.diff(bt) > 0) and bt[0] >= 0.0 and bt[-1] <= end + 0.05

    # Samples: acc_x/y/z on increasing session times at about the requested rate, the values sent.
    got = acc_chunks
    t = np.concatenate([c.t for c in got])
    assert np.all(np.diff(t) > 0)
    assert t[0] >= 0.0 and t[-1] <= end + 0.05
    dt = np.median(np.diff(t))
    assert dt == pytest.approx(1 / rate, rel=0.02)
    assert len(t) / (t[-1] - t[0]) == pytest.approx(rate, rel=0.1)
    sent = np.concatenate([polar_pmd.parse_frame(f).samples for f in frames])
    xyz = np.stack([np.concatenate([c.columns[k] for c in got]) for k in ("acc_x", "acc_y", "acc_z")], axis=1)
    assert len(xyz) <= len(sent)
    np.testing.assert_array_equal(xyz, sent[: len(xyz)])
    assert np.ptp(xyz[:, 2]) > 50  # the breathing motion is there (60 mG on z)


def test_polar_h10_refusing_to_start_is_one_clear_error_and_the_link_is_closed() -> None:
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        h10.in_charger = True

        async def main() -> None:
            await BleSource("Polar H10", timeout_s=5).start(SessionClock())

        with pytest.raises(SourceError, match=r"start ACC failed: .*in its charger") as e:
            asyncio.run(main())
        assert not h10.connected
        assert h10.events[-1] == ("disconnect",)
    assert "\n" not in str(e.value)


def test_gdx_rb_streams_force_as_resp_and_stops_before_disconnecting() -> None:
    with private_bus(), FakeBlueZ() as bz:
        belt = bz.add_device(FakeGdxRb())
        src = parse_ble_spec("GDX-RB,timeout=5")
        # 3 s of force at 10 Hz (its swing needs 2 s of the fake's 4-s breathing cycle).
        got, end = asyncio.run(_run(src, lambda c: _samples(c) >= 30))
        assert not belt.connected
        events = list(belt.events)
        commands = list(belt.commands)
        sent = list(belt.sent)

    assert src.signal == "resp" and src.describe()["device"] == "gdx-rb"
    cmd = belt.command_uuid
    writes = [e[2] for e in events if e[0] == "write"]
    assert writes and all(e[1] == cmd and len(e[2]) <= 20 for e in events if e[0] == "write")
    assert any(len(w) == 20 for w in writes)  # the 25-byte init went in chunks
    first_write = next(i for i, e in enumerate(events) if e[0] == "write")
    assert ("subscribe", belt.response_uuid) in events[:first_write]
    assert belt.bad_packets == 0  # checksums and the rolling counter FE, FD, ... all right
    assert [p[4] for p in commands] == [0x1A, 0x1B, 0x18, 0x19]
    assert [p[2] for p in commands] == [0xFE, 0xFD, 0xFC, 0xFB]
    assert commands[0] == bytes.fromhex(
        "58 19 FE 3F 1A A5 4A 06 49 07 48 08 47 09 46 0A 45 0B 44 0C 43 0D 42 0E 41"
    )
    assert belt.period_us == 100_000 and belt.starts == 1

    # Stop sent (and obeyed) before the disconnect.
    last_write = max(i for i, e in enumerate(events) if e[0] == "write")
    assert last_write < events.index(("disconnect",))
    assert belt.stops == 1 and belt.mask is None

    # Force in newtons arrives as resp, on increasing session times at 10 Hz.
    assert got and src.dropped == 0
    t = np.concatenate([c.t for c in got])
    resp = np.concatenate([c.columns["resp"] for c in got])
    assert set(got[0].columns) == {"resp"}
    assert np.all(np.diff(t) > 0) and t[0] >= 0.0 and t[-1] <= end + 0.05
    assert np.median(np.diff(t)) == pytest.approx(0.1, rel=0.02)
    force = np.concatenate(sent)[:, 0]  # sensor 1 first in mask order
    assert 20 <= len(resp) <= len(force)
    np.testing.assert_array_equal(resp, force[: len(resp)])
    assert np.ptp(resp) > 0.5


def test_polar_h10_left_streaming_by_an_earlier_session_is_restarted_with_our_settings() -> None:
    # A strap whose ACC was never stopped (an app killed mid-session) answers a start with status 6
    # "already in that state" (polar-ble-sdk issues #186, #255): the source must still come up, at its rate.
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        h10.acc_rate, h10.acc_range = 200, 8
        # 2 s of the accelerometer at 50 Hz, the 40 samples the check below needs and more.
        got, _end = asyncio.run(_run(BleSource("Polar H10", timeout_s=5), lambda c: _samples(_acc(c)) >= 100))
        commands = [c for c, _r in h10.commands]
    start = polar_pmd.start_acc_command(50, 8)
    assert commands[commands.index(start) - 1] == bytes.fromhex("03 02")  # stopped, then started at 50 Hz
    assert h10.acc_starts == 1 and h10.acc_rate is None and h10.unheard_replies == 0
    t = np.concatenate([c.t for c in _acc(got)])
    assert np.all(np.diff(t) > 0)
    assert np.median(np.diff(t[-40:])) == pytest.approx(1 / 50, rel=0.02)


def test_polar_h10_link_loss_reconnects_and_restarts_acc() -> None:
    # After a link loss the strap still has ACC on (see FakePolarH10.on_disconnected): the reconnection must
    # subscribe again, stop and start ACC, and the samples go on on increasing session times.
    with private_bus(), FakeBlueZ() as bz:
        h10 = bz.add_device(FakePolarH10())
        statuses: list[SourceStatus] = []

        async def main() -> tuple[BleSource, list[SampleChunk], float]:
            src = BleSource("Polar H10", timeout_s=5)
            src.on_status(lambda s, _r: statuses.append(s))
            clock, got, task = await start_streaming(src)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(bz.drop_link, h10)
            lost = clock.now()
            await asyncio.sleep(0.5)
            await asyncio.to_thread(bz.set_reachable, h10)
            for _ in range(200):
                if src.status is SourceStatus.STREAMING and _acc(got) and _acc(got)[-1].t[-1] > lost + 2.0:
                    break
                await asyncio.sleep(0.05)
            await src.stop()
            await asyncio.wait_for(task, 5.0)
            return src, got, lost

        src, got, lost = asyncio.run(main())
        assert not h10.connected
    assert statuses[:3] == [SourceStatus.STREAMING, SourceStatus.RECONNECTING, SourceStatus.STREAMING]
    assert h10.connects == 2 and h10.acc_starts == 2 and h10.acc_rate is None
    assert h10.acc_stops == 2  # the one left running at the reconnection, and the one on exit
    assert h10.start_notify_calls[h10.control_uuid] == 2 and h10.unheard_replies == 0
    t = np.concatenate([c.t for c in _acc(got)])
    assert np.all(np.diff(t) > 0)
    after = t[t > lost + 0.3]
    assert len(after) > 20
    assert np.median(np.diff(after)) == pytest.approx(1 / 50, rel=0.02)
    assert src.reconnect_s and src.dropped == 0
    # The heart beats went on too, on the new connection, their times increasing across the link loss.
    beats = [c for c in got if np.isfinite(c.columns["rr_ms"]).all()]
    bt = np.concatenate([c.t for c in beats])
    assert np.all(np.diff(bt) > 0) and bt[0] < lost < bt[-1]


def test_gdx_rb_link_loss_reconnects_with_a_new_counter_and_device_time() -> None:
    # A new connection: the command counter starts again at FE and the sample index (device time) at 0;
    # the samples must still go on on increasing session times, near real time.
    with private_bus(), FakeBlueZ() as bz:
        belt = bz.add_device(FakeGdxRb())

        async def main() -> tuple[BleSource, list[SampleChunk], float, float]:
            src = BleSource("GDX-RB", timeout_s=5)
            clock, got, task = await start_streaming(src)
            await asyncio.sleep(1.5)
            await asyncio.to_thread(bz.drop_link, belt)
            lost = clock.now()
            await asyncio.sleep(0.5)
            await asyncio.to_thread(bz.set_reachable, belt)
            for _ in range(200):
                if src.status is SourceStatus.STREAMING and got and got[-1].t[-1] > lost + 2.5:
                    break
                await asyncio.sleep(0.05)
            end = clock.now()
            await src.stop()
            await asyncio.wait_for(task, 5.0)
            return src, got, lost, end

        src, got, lost, end = asyncio.run(main())
        assert not belt.connected
    assert belt.connects == 2 and belt.starts == 2 and belt.bad_packets == 0
    assert [p[2] for p in belt.commands] == [0xFE, 0xFD, 0xFC, 0xFE, 0xFD, 0xFC, 0xFB]
    t = np.concatenate([c.t for c in got])
    assert np.all(np.diff(t) > 0) and t[-1] <= end + 0.05
    after = t[t > lost + 0.3]
    assert len(after) >= 10
    assert np.median(np.diff(after)) == pytest.approx(0.1, rel=0.02)
    assert after[-1] > end - 1.0  # mapped near real time, not left on the old connection's clock
    assert src.reconnect_s and src.dropped == 0
