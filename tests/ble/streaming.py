"""Starting a BleSource in a test and collecting what it streams."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from breathsync.sources.base import SampleChunk, SessionClock
from breathsync.sources.ble import BleSource


async def start_streaming(src: BleSource) -> tuple[SessionClock, list[SampleChunk], asyncio.Task[None]]:
    """Start ``src`` on a fresh session clock and collect its chunks in the background: (clock, the list the
    chunks go into, the collecting task, which ends when the source stops)."""
    clock = SessionClock()
    clock.start()
    await src.start(clock)
    got: list[SampleChunk] = []

    async def pump() -> None:
        async for ch in src.stream():
            got.append(ch)

    return clock, got, asyncio.create_task(pump())


async def until(cond: Callable[[], object], timeout_s: float = 10.0, step_s: float = 0.05) -> bool:
    """Wait, without blocking the event loop, until ``cond()`` holds or ``timeout_s`` has passed; whether it
    holds."""
    for _ in range(int(timeout_s / step_s)):
        if cond():
            return True
        await asyncio.sleep(step_s)
    return bool(cond())
