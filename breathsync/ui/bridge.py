"""The session on its own thread, snapshots to the Qt UI thread.

Why a thread and not qasync: the session's asyncio loop must live as long as the session (bleak keeps one
loop for a BLE connection's whole life), and running it in a background thread that owns it keeps the UI
responsive without adding qasync as a dependency. The thread builds the session (reading replay files
happens there too), runs it, and hands every snapshot to the UI thread through a Qt signal (a queued
connection: Qt delivers it in the receiver's thread). The UI thread never waits on a device or a file; it
only asks the loop to do things with ``call_soon_threadsafe``.

Recording can be switched on and off during a session: the relay sink forwards chunks and snapshots to a
:class:`~breathsync.recorder.Recorder` while one is set. The recorder is opened and closed on the loop's
thread, so the UI thread never touches the files. A recording turned on after the session began, or off
before it ended, holds part of the session, and its folder says so (see :mod:`breathsync.recorder`): the
relay tells the recorder where it begins (the session time of the last snapshot before it), the sources'
counters then and at its end, the devices' last notifications before it (a battery level read as a device
connected), and that it was stopped from the dashboard.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from breathsync.errors import InputError
from breathsync.live import DASHBOARD_STOP
from breathsync.session import Session
from breathsync.session_types import SessionInfo, Snapshot
from breathsync.sources.base import Packet, SampleChunk

__all__ = ["SessionRunner"]

log = logging.getLogger(__name__)


class _Relay:
    """The sink the runner adds to its session: snapshots to the UI, chunks and snapshots to a recorder."""

    def __init__(self, runner: SessionRunner) -> None:
        self.runner = runner
        self.recorder: Any = None  # breathsync.recorder.Recorder while recording
        self.info: SessionInfo | None = None
        #: The session time of the last snapshot handed on (None before the first): a recording turned on
        #: now holds what comes after it.
        self.last_t: float | None = None
        self._began = False  # the session has handed on samples or snapshots: a recording now is part of it
        #: Each participant's last device notification of each stream (a recording begun later keeps those
        #: that still hold: the battery level).
        self._last_packets: dict[str, dict[str, Packet]] = {}

    def open(self, info: SessionInfo) -> None:
        self.info = info

    def on_chunk(self, label: str, chunk: SampleChunk) -> None:
        self._began = True
        if self.recorder is not None:
            try:
                self.recorder.on_chunk(label, chunk)
            except Exception as e:
                self.recorder_failed(e)

    def on_packets(self, label: str, packets: Sequence[Packet]) -> None:
        """A device's notifications, to the recording's capture while one is on (else let go, but for the
        last of each stream)."""
        last = self._last_packets.setdefault(label, {})
        for pk in packets:
            last[pk.stream] = pk
        if self.recorder is not None:
            try:
                self.recorder.on_packets(label, packets)
            except Exception as e:
                self.recorder_failed(e)

    def on_snapshot(self, snap: Snapshot) -> None:
        if self.recorder is not None:
            try:
                self.recorder.on_snapshot(snap)
            except Exception as e:
                self.recorder_failed(e)
        self.last_t = snap.t_s
        self._began = True
        self.runner.snapshot.emit(snap)

    def close(self, info: SessionInfo) -> None:
        self.info = info
        self.stop_recording(None)  # the session ended: its recording ends with it

    def _sources(self) -> dict[str, Any] | None:
        """Each participant's source description as it is now (its counters), None without a session."""
        session = getattr(self.runner, "session", None)
        if session is None:
            return None
        try:
            return {str(p.get("label")): p.get("source") for p in session.describe().participants}
        except Exception:  # a description is not worth a recording
            log.debug("no source descriptions", exc_info=True)
            return None

    # -- recording (always on the loop's thread)
    def start_recording(self, path: str) -> None:
        if self.recorder is not None or self.info is None:
            return
        from breathsync.recorder import Recorder

        rec = Recorder(path)
        try:
            if self._began:  # turned on during the session: the folder holds what comes from now on
                rec.open(
                    self.info,
                    from_s=self.last_t if self.last_t is not None else 0.0,
                    sources=self._sources(),
                    carried={label: list(last.values()) for label, last in self._last_packets.items()},
                )
            else:
                rec.open(self.info)
        except Exception as e:
            self.runner.recording.emit("error", str(e) or type(e).__name__)
            return
        self.recorder = rec
        self.runner.recording.emit("started", path)

    def stop_recording(self, why: str | None = DASHBOARD_STOP) -> None:
        """Close the recording; ``why``: how it stopped while the session goes on (None: the session ended),
        which its events.csv ends with."""
        rec, self.recorder = self.recorder, None
        if rec is None or self.info is None:
            return
        try:
            if why is None:
                rec.close(self.info)
            else:
                rec.close(self.info, stopped=why, sources=self._sources())
        except Exception as e:
            self.runner.recording.emit("error", str(e) or type(e).__name__)
            return
        self.runner.recording.emit("stopped", rec.path)

    def recorder_failed(self, e: Exception) -> None:
        rec, self.recorder = self.recorder, None
        with_reason = getattr(rec, "error", None) or str(e) or type(e).__name__
        self.runner.recording.emit("error", with_reason)


class SessionRunner(QObject):
    """Runs one session at a time on a background thread.

    Signals: ``snapshot(Snapshot)`` for every published snapshot; ``finished(Snapshot | None, dict)`` with
    the final snapshot and ``Session.summary()``; ``failed(str)`` when the session could not be built or
    started (one line); ``recording(state, text)`` with state ``started`` (text: the folder), ``stopped``
    or ``error`` (text: why).
    """

    snapshot = pyqtSignal(object)
    finished = pyqtSignal(object, object)
    failed = pyqtSignal(str)
    recording = pyqtSignal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: Session | None = None
        self._relay: _Relay | None = None
        self._stop_requested = False
        self._done = True
        self._lock = threading.Lock()
        #: The last session's bug, if it ended on one (not bad input: :class:`breathsync.errors.InputError`
        #: or a machine fault, OSError): the command line raises it once the window closed.
        self.fault: BaseException | None = None

    @property
    def running(self) -> bool:
        """A session is being built or runs (False once ``finished`` or ``failed`` was emitted)."""
        return not self._done and self._thread is not None and self._thread.is_alive()

    @property
    def session(self) -> Session | None:
        return self._session

    @property
    def info(self) -> SessionInfo | None:
        """The running (or last) session's description, as it opened its sinks (None before that)."""
        relay = self._relay
        return relay.info if relay is not None else None

    def start(
        self,
        factory: Callable[[], Session],
        duration_s: float | None = None,
        record_dir: str | None = None,
    ) -> None:
        """Build (``factory()``, on the session thread) and run a session; returns at once."""
        if self.running:
            raise RuntimeError("a session is already running")
        if self._thread is not None:
            self._thread.join(5.0)  # the previous session's thread is only returning from its loop
        self._done = False
        self.fault = None
        self._stop_requested = False
        self._session = None
        self._relay = None  # (its info is the last session's)
        self._loop = None
        self._thread = threading.Thread(
            target=self._main, args=(factory, duration_s, record_dir), name="breathsync-session", daemon=True
        )
        self._thread.start()

    def _main(self, factory: Callable[[], Session], duration_s: float | None, record_dir: str | None) -> None:
        try:
            asyncio.run(self._run(factory, duration_s, record_dir))
        except Exception as e:  # reported to the UI, never a traceback in its face
            log.debug("session failed", exc_info=True)
            self._done = True
            text = str(e) or type(e).__name__
            if not isinstance(e, (InputError, OSError)):
                # A bug: the window says so, and the command line raises it with its traceback (exit 1)
                # instead of reading it as bad input (exit 2).
                self.fault = e
                text = f"internal error ({type(e).__name__}: {text}): a bug in breathsync, please report it"
            self.failed.emit(text)

    async def _run(
        self, factory: Callable[[], Session], duration_s: float | None, record_dir: str | None
    ) -> None:
        session = factory()
        relay = _Relay(self)
        session.add_sink(relay)
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._session = session
            self._relay = relay
            stop_now = self._stop_requested
        if stop_now:
            self._done = True
            self.finished.emit(None, session.summary())
            return
        if record_dir:
            # Opened right after the session opens its sinks (the relay holds the session's description).
            self._loop.call_soon(relay.start_recording, record_dir)
        final = await session.run(duration_s)
        self._done = True
        self.finished.emit(final, session.summary())

    def _call(self, fn: Callable[..., Any], *args: Any) -> bool:
        with self._lock:
            loop = self._loop
        if loop is None or loop.is_closed():
            return False
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop closed in between
            return False
        return True

    def stop(self, why: str = DASHBOARD_STOP) -> None:
        """Ask the session to end (it publishes its final snapshot and ``finished``); ``why`` ends its
        session_end event's text."""
        with self._lock:
            self._stop_requested = True
            session = self._session
        if session is not None:
            self._call(session.request_stop, why)

    def start_recording(self, path: str) -> bool:
        """Start recording the running session into the new folder ``path`` (see ``recording``)."""
        relay = self._relay
        return relay is not None and self.running and self._call(relay.start_recording, path)

    def stop_recording(self, why: str = DASHBOARD_STOP) -> bool:
        """Stop recording while the session goes on; ``why`` ends the recording's events.csv."""
        relay = self._relay
        return relay is not None and self.running and self._call(relay.stop_recording, why)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the session thread to end (only for shutting down and tests); True when it has."""
        t = self._thread
        if t is None:
            return True
        t.join(timeout_s)
        return not t.is_alive()
