"""Unusable packets from a live device are dropped and counted, never recorded: the audit's GDX-RB case.

A fake belt streaming through bleak's real BlueZ backend sends, between its measurement packets, the packet
of the audit (a bad checksum and a force of 1e6 N), then the same with a good checksum. Before the fix the
first was accepted as samples (1e6 N in the chunks, ``dropped: 0``).
"""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
from conftest import posix_only
from fakebluez import FakeBlueZ, FakeGdxRb, private_bus
from streaming import start_streaming

from breathsync.sources.base import SampleChunk
from breathsync.sources.ble import BleSource
from devices.gdx import checksum

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")

AUDIT = bytes.fromhex("201107660606000100002474490000c07f")
AUDIT_GOOD_SUM = AUDIT[:3] + bytes([checksum(AUDIT)]) + AUDIT[4:]


def test_bad_checksum_and_impossible_force_are_dropped_and_counted() -> None:
    with private_bus(), FakeBlueZ() as bz:
        belt = bz.add_device(FakeGdxRb())

        async def main() -> tuple[BleSource, list[SampleChunk]]:
            src = BleSource("GDX-RB", timeout_s=5)
            _clock, got, task = await start_streaming(src)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(bz.call, lambda: belt.send_packet(AUDIT))
            await asyncio.sleep(0.5)
            await asyncio.to_thread(bz.call, lambda: belt.send_packet(AUDIT_GOOD_SUM))
            await asyncio.sleep(1.0)
            await src.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 5.0)
            return src, got

        src, got = asyncio.run(main())
        sent = np.concatenate([v[:, 0] for v in belt.sent])
    force = np.concatenate([c.columns["resp"] for c in got])
    assert len(force) >= 15 and np.abs(force).max() < 3.0  # the belt's breathing, never 1e6 N
    np.testing.assert_array_equal(force, sent[: len(force)])  # and every good sample kept, in order
    assert src.dropped == 2 and src.dropped_by == {"bad checksum": 1, "out of range": 1}
    d = src.describe()
    assert d["dropped"] == 2 and d["dropped_by"] == {"bad checksum": 1, "out of range": 1}
    t = np.concatenate([c.t for c in got])
    assert np.all(np.diff(t) > 0)
