"""BleSource through bleak's real BlueZ backend against the fake BlueZ: stream, malformed, link loss, errors."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import posix_only
from fakebluez import FakeBlueZ, FakeHeartRateStrap, private_bus

from breathsync.sources.base import SampleChunk, SessionClock, SourceError, SourceStatus
from breathsync.sources.ble import BleSource, parse_ble_spec

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


async def _collect(src: BleSource, until: float, out: list[tuple[float, SampleChunk]]) -> None:
    async def pump() -> None:
        async for ch in src.stream():
            out.append((time.monotonic(), ch))

    with __import__("contextlib").suppress(TimeoutError):
        await asyncio.wait_for(pump(), until)


def test_strap_streams_rr_and_survives_link_loss() -> None:
    with private_bus(), FakeBlueZ() as bz:
        strap = FakeHeartRateStrap()
        strap.rr_ms = [400.0, 450.0, 500.0, 450.0]
        strap.garbage_every = 3
        bz.add_device(strap)
        statuses: list[SourceStatus] = []
        marks: dict[str, float] = {}

        async def main() -> tuple[BleSource, list[tuple[float, SampleChunk]]]:
            clock = SessionClock()
            clock.start()
            src = parse_ble_spec("FakeHR,timeout=5")
            src.on_status(lambda s, _r: statuses.append(s))
            await src.start(clock)
            got: list[tuple[float, SampleChunk]] = []
            task = asyncio.create_task(_collect(src, 30.0, got))
            while sum(len(c) for _, c in got) < 4:
                await asyncio.sleep(0.05)
            await asyncio.to_thread(bz.drop_link, strap)
            marks["lost"] = time.monotonic()
            while src.status is not SourceStatus.RECONNECTING:
                await asyncio.sleep(0.01)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(bz.set_reachable, strap)
            marks["back"] = time.monotonic()
            while not any(t > marks["back"] for t, _ in got):
                await asyncio.sleep(0.01)
            marks["first"] = next(t for t, _ in got if t > marks["back"])
            await asyncio.sleep(1.0)
            await src.stop()
            await task
            return src, got

        src, got = asyncio.run(main())
        assert not strap.connected
    assert src.signal == "rr" and src.describe()["device"] == "heart-rate"
    assert statuses[:3] == [SourceStatus.STREAMING, SourceStatus.RECONNECTING, SourceStatus.STREAMING]
    assert strap.connects == 2
    # Each characteristic subscribed once per connection (the beats, and the battery level it notifies).
    assert strap.start_notify_calls == {strap.hrm_uuid: 2, strap.battery_uuid: 2}
    t = [x for _, c in got for x in c.t.tolist()]
    rr = [x for _, c in got for x in c.columns["rr_ms"].tolist()]
    assert all(b > a for a, b in zip(t, t[1:], strict=False))
    assert set(round(r) for r in rr) <= {400, 450, 500}
    assert src.dropped >= 1, (
        src.notifications,
        strap.sent,
    )  # the strap's malformed notifications were dropped, not raised
    assert src.reconnect_s and src.reconnect_s[0] > 1.0
    link_back_to_samples = marks["first"] - marks["back"]
    print(f"reconnection: link back -> samples {link_back_to_samples:.2f} s (backoff + connect + first beat)")
    assert link_back_to_samples < 5.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"adapter": False}, "no Bluetooth adapter"),
        ({"powered": False}, "Bluetooth is off"),
    ],
)
def test_unusable_bluetooth_is_one_clear_line(kwargs: dict[str, bool], message: str) -> None:
    with private_bus(), FakeBlueZ(**kwargs):

        async def main() -> None:
            await BleSource("FakeHR", timeout_s=1.0).start(SessionClock())

        with pytest.raises(SourceError, match=message) as e:
            asyncio.run(main())
    assert "\n" not in str(e.value)


def test_no_bluez_and_no_device() -> None:
    with private_bus():  # a bus without org.bluez

        async def main() -> None:
            await BleSource("FakeHR", timeout_s=1.0).start(SessionClock())

        with pytest.raises(SourceError, match="BlueZ"):
            asyncio.run(main())
        with FakeBlueZ(), pytest.raises(SourceError, match="no matching device"):
            asyncio.run(main())


def test_two_straps_connect_one_at_a_time_then_stream_together() -> None:
    with private_bus(), FakeBlueZ() as bz:
        a = bz.add_device(FakeHeartRateStrap("C0:FF:EE:00:00:01", "FakeHR A"))
        b = bz.add_device(FakeHeartRateStrap("C0:FF:EE:00:00:02", "FakeHR B"))
        a.rr_ms = b.rr_ms = [400.0]

        async def main() -> tuple[list[tuple[float, SampleChunk]], list[tuple[float, SampleChunk]]]:
            clock = SessionClock()
            clock.start()
            sa, sb = BleSource("FakeHR A", timeout_s=5), BleSource("C0:FF:EE:00:00:02", timeout_s=5)
            await asyncio.gather(sa.start(clock), sb.start(clock))
            ga: list[tuple[float, SampleChunk]] = []
            gb: list[tuple[float, SampleChunk]] = []
            await asyncio.gather(_collect(sa, 2.0, ga), _collect(sb, 2.0, gb))
            await asyncio.gather(sa.stop(), sb.stop())
            return ga, gb

        ga, gb = asyncio.run(main())
        assert not a.connected and not b.connected
    assert len(ga) >= 3 and len(gb) >= 3
    assert a.connects == b.connects == 1
    assert bz.in_progress_errors == 0  # scans and connects never overlapped (the fake refuses overlaps)


def test_without_the_radio_lock_the_two_straps_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lock is what keeps two devices on one adapter from colliding: without it BlueZ (here the fake,
    which answers InProgress like BlueZ) refuses the overlapping scan or connect."""
    import contextlib as cl

    import breathsync.sources.ble as ble

    monkeypatch.setattr(ble, "radio_lock", lambda: cl.nullcontext())
    with private_bus(), FakeBlueZ() as bz:
        bz.add_device(FakeHeartRateStrap("C0:FF:EE:00:00:01", "FakeHR A"))
        bz.add_device(FakeHeartRateStrap("C0:FF:EE:00:00:02", "FakeHR B"))

        async def main() -> list[BaseException | None]:
            clock = SessionClock()
            clock.start()
            sa, sb = BleSource("FakeHR A", timeout_s=3), BleSource("FakeHR B", timeout_s=3)
            res = await asyncio.gather(sa.start(clock), sb.start(clock), return_exceptions=True)
            await asyncio.gather(sa.stop(), sb.stop(), return_exceptions=True)
            return list(res)

        results = asyncio.run(main())
        # Measured: one overlap refused with InProgress, and that source failed to start.
        assert bz.in_progress_errors > 0 and any(isinstance(r, SourceError) for r in results)


def test_permission_denied_is_one_clear_line() -> None:
    with private_bus(), FakeBlueZ(deny=True) as bz:
        bz.add_device(FakeHeartRateStrap())

        async def main() -> None:
            clock = SessionClock()
            clock.start()
            await BleSource("FakeHR", timeout_s=2).start(clock)

        with pytest.raises(SourceError) as err:
            asyncio.run(main())
    msg = str(err.value)
    assert "permission" in msg and "\n" not in msg


@pytest.mark.parametrize("value", ["inf", "1e300", "nan", "601", "0", "-1", "soon"])
def test_timeout_must_be_a_sensible_number_of_seconds(value: str) -> None:
    from breathsync.errors import InputError

    with pytest.raises(InputError) as e:
        parse_ble_spec(f"FakeHR,timeout={value}")
    assert str(e.value).startswith("ble: timeout") and "\n" not in str(e.value)
    assert parse_ble_spec("FakeHR,timeout=600").timeout_s == 600.0
    with pytest.raises(ValueError):
        BleSource("FakeHR", timeout_s=float("inf"))
