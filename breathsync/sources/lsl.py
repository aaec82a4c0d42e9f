"""A participant from a Lab Streaming Layer (LSL) stream: ``lsl:STREAM-NAME``.

The stream is found by name (a partner on another computer running ``breathsync ... --publish``, or any LSL
respiration stream), then a worker thread pulls its chunks without blocking (``pull_chunk(timeout=0)`` and
short waits), so the asyncio loop never waits on the network. Timestamps: the sender's ``local_clock()``
plus the inlet's ``time_correction()`` (refreshed every few seconds) gives this computer's LSL clock; minus
the LSL time at which the session started gives session seconds.

A stream that stops sending for ``lost_after_s`` is "no signal"; the worker then keeps trying (liblsl
recovers a stream with the same source_id on its own, and the worker resolves the name again to pick up a
stream that came back under a new identity) and the source is "streaming" again when samples come back.

pylsl is an optional extra (``pip install 'breathsync[lsl]'``), imported only when an LSL source or the
publisher is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import numpy as np

from breathsync.errors import InputError
from breathsync.sources.base import (
    SampleChunk,
    SessionClock,
    Source,
    SourceError,
    SourceStatus,
    real_time_error,
    spec_seconds,
    split_spec,
)

__all__ = ["LslSource", "channel_labels", "import_pylsl", "parse_lsl_spec", "pick_channel"]

SPEC_SYNTAX = "lsl:STREAM-NAME[,timeout=S][,channel=LABEL_OR_INDEX]"
#: Channel labels read as the breathing waveform, in order of preference (case-insensitive).
RESP_LABELS = ("resp", "respiration", "breathing", "resp_belt", "belt", "wave")
_TC_REFRESH_S = 5.0  # how often the clock offset to the sender is read again
_POLL_S = 0.05  # wait between non-blocking pulls
_RESOLVE_EVERY_S = 2.0  # while the stream is silent: look for it again by name
#: The longest ``timeout=`` (s): time enough to start the partner's computer; liblsl's resolver takes a
#: double, and a huge one (1e300) made it give up at once with a false "not found".
MAX_TIMEOUT_S = 3600.0


def import_pylsl() -> ModuleType:
    """pylsl, or an InputError saying how to install it (one line)."""
    try:
        import pylsl
    except (ImportError, OSError, RuntimeError) as e:  # RuntimeError: pylsl without its liblsl
        raise InputError(
            f"LSL needs pylsl ({type(e).__name__}: {e}): pip install 'breathsync[lsl]'"
        ) from None
    return pylsl


def channel_labels(info: Any) -> list[str]:
    """The channel labels in an LSL stream's metadata (``desc/channels/channel/label``); "" where missing."""
    labels: list[str] = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(labels) < info.channel_count():
        labels.append(ch.child_value("label"))
        ch = ch.next_sibling("channel")
    labels += [""] * (info.channel_count() - len(labels))
    return labels


def pick_channel(labels: list[str], wanted: str | None, stream: str, what: str = "lsl: stream") -> int:
    """Index of the breathing channel: ``wanted`` (a label or an index), else a respiration label, else the
    only channel; InputError naming the stream (``what`` says what kind: an LSL stream, or a stream of an XDF
    file) and its channels when it cannot tell."""
    if wanted is not None:
        lower = [lab.lower() for lab in labels]
        if wanted.lower() in lower:
            return lower.index(wanted.lower())
        if wanted.isdigit() and int(wanted) < len(labels):
            return int(wanted)
        raise InputError(
            f"{what} {stream!r} has no channel {wanted!r} (channels: {_list(labels)}): "
            f"give ,channel= one of these labels or an index from 0 to {len(labels) - 1}"
        )
    lower = [lab.lower() for lab in labels]
    for name in RESP_LABELS:
        if name in lower:
            return lower.index(name)
    for k, lab in enumerate(lower):
        if "resp" in lab or "breath" in lab:
            return k
    if len(labels) == 1:
        return 0
    raise InputError(
        f"{what} {stream!r} has {len(labels)} channels ({_list(labels)}) and none is labelled resp: "
        "add ,channel=LABEL_OR_INDEX"
    )


def _list(labels: list[str]) -> str:
    return ", ".join(lab or f"#{k}" for k, lab in enumerate(labels))


class LslSource(Source):
    """One participant's breathing waveform from an LSL stream found by name.

    Parameters
    ----------
    name : str
        The stream's name (e.g. ``breathsync-A``, what ``--publish`` on the other computer announces).
    timeout_s : float
        How long :meth:`start` looks for the stream before giving up with a :class:`SourceError`.
    channel : str, optional
        The channel to read (label or index); default: a channel labelled resp (or similar), else the only one.
    lost_after_s : float
        Seconds without samples after which the source reports "no signal".
    """

    signal = "resp"

    def __init__(
        self,
        name: str,
        *,
        timeout_s: float = 10.0,
        channel: str | None = None,
        lost_after_s: float = 2.0,
    ) -> None:
        super().__init__()
        if not name:
            raise InputError(f"lsl needs a stream name: {SPEC_SYNTAX}")
        if not (0 < timeout_s <= MAX_TIMEOUT_S and 0 < lost_after_s < math.inf):
            raise ValueError(
                f"timeout_s must be in (0, {MAX_TIMEOUT_S:g}] and lost_after_s positive and finite"
            )
        self.name = name
        self.timeout_s = float(timeout_s)
        self.channel = channel
        self.lost_after_s = float(lost_after_s)
        self._pylsl: ModuleType | None = None
        self._inlet: Any = None
        self._uid = ""
        self._index = 0
        self._base = 0.0  # this computer's LSL time at session time 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: asyncio.Queue[SampleChunk | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stream_info: dict[str, Any] = {}

    # ------------------------------------------------------------------------------ blocking helpers
    def _open(self, timeout_s: float) -> bool:
        """Resolve the name and open an inlet (blocking; worker thread or ``to_thread``)."""
        lsl = self._pylsl
        assert lsl is not None
        found = lsl.resolve_byprop("name", self.name, 1, timeout_s)
        if not found:
            return False
        inlet = lsl.StreamInlet(found[0], max_buflen=30, recover=True)
        full = inlet.info(timeout=max(timeout_s, 2.0))
        labels = channel_labels(full)
        self._index = pick_channel(labels, self.channel, self.name)
        if full.channel_format() == lsl.cf_string:
            raise InputError(f"lsl: stream {self.name!r} carries text, not a breathing signal")
        inlet.open_stream(timeout=max(timeout_s, 2.0))
        self._inlet = inlet
        self._uid = full.uid()
        self.stream_info = {
            "type": full.type(),
            "channel": labels[self._index] or str(self._index),
            "nominal_srate": full.nominal_srate(),
            "source_id": full.source_id(),
        }
        return True

    def _close_inlet(self) -> None:
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            with contextlib.suppress(Exception):
                inlet.close_stream()
            del inlet

    # ------------------------------------------------------------------------------ Source
    def speed_error(self, speed: float) -> str | None:
        """Why this source cannot run at ``speed`` (it runs in real time), or None."""
        return real_time_error(f"lsl:{self.name}", "a live stream", speed)

    async def start(self, clock: SessionClock) -> None:
        why = self.speed_error(clock.speed)
        if why:
            raise SourceError(why)
        try:
            self._pylsl = import_pylsl()
        except InputError as e:
            raise SourceError(str(e)) from None
        self._stop.clear()
        try:
            ok = await asyncio.to_thread(self._open, self.timeout_s)
        except InputError as e:
            raise SourceError(str(e)) from None
        except Exception as e:  # liblsl errors: one line
            raise SourceError(f"lsl: cannot open stream {self.name!r}: {e}") from None
        if not ok:
            raise SourceError(
                f"lsl: no stream named {self.name!r} found within {self.timeout_s:g} s: is it published "
                "(breathsync run ... --publish on the other computer) on this local network?"
            )
        self._base = self._pylsl.local_clock() - clock.now()
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._thread = threading.Thread(target=self._pump, name=f"lsl-{self.name}", daemon=True)
        self._thread.start()
        self.set_status(SourceStatus.STREAMING)

    async def stream(self) -> AsyncIterator[SampleChunk]:
        if self._queue is None:
            raise SourceError("lsl: start() first")
        while True:
            chunk = await self._queue.get()
            if chunk is None:
                return
            yield chunk

    async def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join, 5.0)
        if self._queue is not None:
            self._queue.put_nowait(None)

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": "lsl", "stream": self.name, "signal": self.signal}
        d.update(self.stream_info)
        return d

    # ------------------------------------------------------------------------------ worker thread
    def _post(self, fn: Any, *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(fn, *args)

    def _pump(self) -> None:
        """Pull chunks until stopped; runs on its own thread and never touches session state directly."""
        tc = 0.0
        tc_at = -math.inf
        last_t = -math.inf  # session time of the last delivered sample
        last_data = time.monotonic()
        last_resolve = time.monotonic()
        silent = False
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if self._inlet is None or (silent and now - last_resolve >= _RESOLVE_EVERY_S):
                    last_resolve = now
                    self._reopen()
                    if self._inlet is None:
                        self._stop.wait(_POLL_S)
                        continue
                    tc_at = -math.inf
                try:
                    data, ts = self._inlet.pull_chunk(timeout=0.0, max_samples=1024)
                    if len(ts) and now - tc_at >= _TC_REFRESH_S:
                        with contextlib.suppress(Exception):  # keep the previous offset on a timeout
                            tc = float(self._inlet.time_correction(timeout=1.0))
                            tc_at = now
                except Exception as e:  # LostError: the stream went away and cannot be recovered
                    self._close_inlet()
                    if not silent:
                        silent = True
                        self._post(self.set_status, SourceStatus.NO_SIGNAL, f"stream {self.name} lost ({e})")
                    continue
                if len(ts):
                    t = np.asarray(ts, dtype=float) + tc - self._base
                    y = np.asarray(data, dtype=float).reshape(len(ts), -1)[:, self._index]
                    # Deliver increasing times after session start only (a sample older than the last
                    # one, e.g. after the clock offset moved, is dropped).
                    prev = np.maximum.accumulate(np.concatenate(([max(last_t, 0.0)], t[:-1])))
                    keep = t > prev
                    if keep.any():
                        t, y = t[keep], y[keep]
                        last_t = float(t[-1])
                        assert self._queue is not None
                        self._post(self._queue.put_nowait, SampleChunk(t, {"resp": y}))
                    last_data = now
                    if silent:
                        silent = False
                        self._post(self.set_status, SourceStatus.STREAMING, "")
                elif not silent and now - last_data > self.lost_after_s:
                    silent = True
                    last_resolve = now
                    self._post(
                        self.set_status,
                        SourceStatus.NO_SIGNAL,
                        f"stream {self.name}: nothing for {self.lost_after_s:g} s",
                    )
                self._stop.wait(_POLL_S)
        finally:
            self._close_inlet()

    def _reopen(self) -> None:
        """Look for the stream again by name; switch to it when it came back under a new identity."""
        lsl = self._pylsl
        assert lsl is not None
        try:
            found = lsl.resolve_byprop("name", self.name, 1, 0.5)
        except Exception:
            return
        if not found or (self._inlet is not None and found[0].uid() == self._uid):
            return
        self._close_inlet()
        with contextlib.suppress(Exception):
            self._open(1.0)


def parse_lsl_spec(text: str) -> LslSource:
    """An LSL source from the command-line text after ``lsl:``: ``NAME[,timeout=S][,channel=C]``."""
    name, options = split_spec(text, f"lsl needs a stream name: {SPEC_SYNTAX}")
    kwargs: dict[str, Any] = {}
    for key, eq, value in options:
        if key == "timeout" and eq:
            kwargs["timeout_s"] = spec_seconds("lsl", key, value, MAX_TIMEOUT_S)
        elif key == "channel" and eq and value:
            kwargs["channel"] = value
        else:
            raise InputError(f"lsl: unknown option {key + eq + value!r} in {text!r}: {SPEC_SYNTAX}")
    return LslSource(name, **kwargs)
