"""A source that plays arrays held in memory: the stand-in for a real source in tests (the way httpx swaps a
real transport for a mock one), and for feeding computed signals into a session."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from breathsync.dsp._types import FloatArray
from breathsync.sources.base import SampleChunk, SessionClock, Source, SourceError, SourceStatus


class MemorySource(Source):
    """Plays ``columns`` sampled at session times ``t``, paced by the session clock.

    ``fail_at_s``: raise an error at that session time (a source that breaks); ``silent_from_s`` /
    ``silent_until_s``: deliver nothing in between (a link that drops, then comes back); ``behind_s``:
    deliver each sample this long after its time (a source that cannot keep up with a fast clock);
    ``paced=False``: stand in for a device (see :attr:`Source.paced`).
    """

    def __init__(
        self,
        t: FloatArray,
        columns: dict[str, FloatArray],
        signal: str = "resp",
        *,
        chunk_s: float = 0.1,
        fail_at_s: float | None = None,
        silent_from_s: float | None = None,
        silent_until_s: float | None = None,
        behind_s: float = 0.0,
        paced: bool = True,
        name: str = "memory",
    ) -> None:
        super().__init__()
        self.signal = signal
        self.paced = paced
        self._behind = behind_s
        self._t = np.asarray(t, float)
        self._cols = {k: np.asarray(v, float) for k, v in columns.items()}
        self._chunk_s = chunk_s
        self._fail_at = fail_at_s
        self._silent = (silent_from_s, silent_until_s)
        self._clock: SessionClock | None = None
        self._stopped = False
        self._name = name
        self._i = 0  # the next sample to give

    async def start(self, clock: SessionClock) -> None:
        if self._t.size == 0:
            raise SourceError(f"{self._name}: nothing to play")
        self._clock = clock
        self.set_status(SourceStatus.STREAMING)

    async def stream(self) -> AsyncIterator[SampleChunk]:
        assert self._clock is not None, "start() first"
        n = self._t.size
        t_next = float(self._t[0])
        lo, hi = self._silent
        while self._i < n and not self._stopped:
            i = self._i
            t_next += self._chunk_s
            await self._clock.sleep_until(t_next + self._behind)
            # Everything up to now: one chunk per wake fell behind a fast clock for good (at --speed 100,
            # 10 s of session time within a minute on a machine whose timers wake a millisecond late).
            upto = self._clock.now() - self._behind
            if upto > t_next + self._chunk_s:  # behind: catch up, keeping the chunk boundaries on their grid
                t_next += self._chunk_s * math.floor((upto - t_next) / self._chunk_s)
            if self._fail_at is not None and t_next >= self._fail_at:
                raise SourceError(f"{self._name}: simulated failure")
            j = int(np.searchsorted(self._t, min(t_next, upto), side="right"))
            if j > i:
                sl = slice(i, j)
                self._i = j
                t = self._t[sl]
                if lo is not None and hi is not None:
                    keep = (t < lo) | (t >= hi)  # the silence: no samples in [lo, hi)
                    if not keep.all():
                        if not keep.any():
                            continue
                        yield SampleChunk(t[keep], {k: v[sl][keep] for k, v in self._cols.items()})
                        continue
                yield SampleChunk(t, {k: v[sl] for k, v in self._cols.items()})
        if not self._stopped:
            self.set_status(SourceStatus.ENDED)

    async def stop(self) -> None:
        self._stopped = True

    def next_sample_s(self) -> float:
        return float(self._t[self._i]) if self._i < self._t.size else math.inf

    def describe(self) -> dict[str, Any]:
        return {"kind": "memory", "name": self._name, "signal": self.signal}
