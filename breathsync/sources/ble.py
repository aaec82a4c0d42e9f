"""A participant from a BLE wearable: ``ble:ADDRESS`` or ``ble:NAME-PREFIX`` (any device of ``devices.PROFILES``).

``ADDRESS`` is what bleak calls the device's address, which is what ``breathsync scan`` prints: a Bluetooth
address (``C0:FF:EE:00:00:01``) on Linux and Windows, and on macOS the UUID CoreBluetooth gives the device on
that Mac (``B9EA5233-37EF-...``, 8-4-4-4-12 hex digits; macOS never shows the Bluetooth address, and another
Mac gives the same device another UUID). Both are matched whatever their case.

What the device is and how to talk to it comes from its profile in :mod:`devices` (recognised in the scan
by advertised services or name); this module only executes the profile's steps with bleak and never knows
a UUID. The flow:

- **Scan and connect one device at a time** (a per-event-loop lock around scan + connect: BlueZ answers
  ``InProgress`` to concurrent scans/connects), connecting with the ``BLEDevice`` from the scan (an
  address string would make bleak scan again). Then the devices stream concurrently.
- **Start**: the profile's start steps in order (subscribe; writes, waiting for the device's reply where
  the step names a reply stream). **Stop**: the stop steps (a Polar strap left streaming drains its
  battery), then disconnect.
- **Notifications** go to the stream's decoder; malformed ones, and packets the decoder marks
  :data:`devices.DROPPED` (a bad checksum, a value outside the device's range), are dropped and counted
  (``dropped``, by why in ``dropped_by``), never raised and never a sample, and said in the status detail
  ("17 of 70 notifications dropped: 17 malformed (...)"), which the session makes rate-limited
  ``source_detail`` events: while streaming, while "no signal" after its reason, and drops while
  reconnecting once it streams again. Any other exception from a
  decoder is a bug in it, not a bad packet: the stream raises :class:`DecoderFault` ("internal error of
  the ... decoder"), an :class:`~breathsync.errors.InternalError`, and the session ends on it (exit 1). Samples of the profile's breathing signal become :class:`SampleChunk` s on session time:
  device timestamps through :class:`~breathsync.dsp.clock.ClockMapper` (Polar frames, GDX sample index),
  RR intervals through :class:`~breathsync.dsp.clock.BeatClock` (arrival times; a strap sends no time).
  A profile's extra streams (the Polar H10's RR intervals beside its accelerometer) become chunks of the
  same participant, in the chunk contract of :attr:`~breathsync.sources.base.Source.extra_columns`: every
  chunk carries the signal's columns and the extra ones, NaN where a row has none. Each stream keeps its
  own clock and its own last time (a beat is older than the newest accelerometer sample when it arrives).
- **Link loss**: status RECONNECTING, reconnection with backoff on a NEW client (a reused bleak client can
  deliver callbacks twice), start steps (so each subscription) exactly once per connection, then
  STREAMING again. It never gives up; after each failed attempt the status detail says which attempt,
  how long ago the link was lost, why it failed (device not found, a start refused: "in its charger") and
  when it tries again (the waits double). ``reconnect_s`` records, per reconnection, seconds from the link loss to the first
  sample after it. Device times are mapped afresh on each connection (a new ``ClockMapper``).
- **A connection that sends nothing**: once the start steps have run, a breathing stream without a
  notification for :data:`_SILENT_S` makes the status NO_SIGNAL, saying it is connected and subscribed but
  nothing came (a strap not worn); its first notification makes it STREAMING again.
- **No adapter / Bluetooth off / permission denied / no BlueZ**: :class:`SourceError` with one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import devices
from breathsync.dsp.clock import BeatClock, ClockMapper
from breathsync.errors import InputError, InternalError
from breathsync.sources.base import (
    Packet,
    SampleChunk,
    SessionClock,
    Source,
    SourceError,
    SourceStatus,
    real_time_error,
    spec_seconds,
    split_spec,
)

__all__ = ["BleSource", "DecoderFault", "Found", "is_address", "parse_ble_spec", "radio_lock", "scan"]

SPEC_SYNTAX = "ble:ADDRESS|NAME-PREFIX[,timeout=S]"
_ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$")
#: The address bleak gives a device on macOS (BLEDevice.address: "UUID on macOS"): CoreBluetooth's
#: per-Mac identifier of the peripheral, never its Bluetooth address.
_UUID_ADDRESS = re.compile(r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")
_REPLY_TIMEOUT_S = 5.0
_CONNECT_TIMEOUT_S = 10.0
_BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
#: A connection whose breathing stream sends nothing for this long (s) after its start steps is "no signal",
#: saying so (a strap not worn, a belt switched off): connected and subscribed, but nothing came.
_SILENT_S = 10.0
#: How long undoing a start that failed or was interrupted may take, per part (the stop steps, then the
#: disconnect): short, as it may run after Ctrl-C.
_UNDO_TIMEOUT_S = 2.0
#: The longest ``timeout=`` (s): a scan holds the radio (other participants' devices wait for it).
MAX_TIMEOUT_S = 600.0

_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
#: Per event loop (one session), the devices the sources have found, by upper-case address: a source
#: matching by name skips a device another source already has (two participants never share a strap).
_claims: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, BleSource]] = (
    weakref.WeakKeyDictionary()
)


def radio_lock() -> asyncio.Lock:
    """The lock that makes scans and connects on this event loop happen one at a time."""
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        lock = _locks[loop] = asyncio.Lock()
    return lock


#: What to do when BlueZ (over the system D-Bus) refuses this user: its D-Bus policy
#: (/etc/dbus-1/system.d/bluetooth.conf) decides who may use it; the policy BlueZ ships (src/bluetooth.conf)
#: allows the members of the "bluetooth" group, and a new group takes effect at the next login.
_BLUEZ_ACCESS = (
    "check that your user may use BlueZ (its D-Bus policy; on many systems, membership of the 'bluetooth' "
    "group, then log in again)"
)


def bluetooth_error(e: BaseException, where: str = "ble") -> SourceError:
    """One clear line for what bleak / D-Bus / the OS said when Bluetooth is unusable."""
    from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakDBusError

    if isinstance(e, BleakBluetoothNotAvailableError):
        r = BleakBluetoothNotAvailableReason
        why = {
            r.NO_BLUETOOTH: "no Bluetooth adapter found",
            r.NO_BLE_CENTRAL_ROLE: "the Bluetooth adapter cannot act as a BLE central",
            r.POWERED_OFF: "Bluetooth is off: turn it on (e.g. bluetoothctl power on) and try again",
            r.DENIED_BY_USER: "permission to use Bluetooth was refused when the system asked: allow it for "
            "this terminal (or Python) in the system's privacy settings, then try again",
            r.DENIED_BY_SYSTEM: "Bluetooth is blocked by a system policy: ask the computer's administrator",
            r.DENIED_BY_UNKNOWN: "permission to use Bluetooth denied: allow it for this terminal (or Python) in "
            "the system's privacy settings, or ask the computer's administrator",
        }.get(e.reason, f"Bluetooth not available ({e})")
        return SourceError(f"{where}: {why}")
    if isinstance(e, BleakDBusError):
        name = e.dbus_error
        if name in ("org.freedesktop.DBus.Error.AccessDenied", "org.bluez.Error.NotPermitted"):
            return SourceError(f"{where}: permission to use Bluetooth denied ({name}): {_BLUEZ_ACCESS}")
        if name == "org.bluez.Error.NotReady":
            return SourceError(f"{where}: Bluetooth is off: turn it on and try again")
        if name in ("org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"):
            return SourceError(
                f"{where}: the Bluetooth service (BlueZ) is not running: start the bluetooth service and "
                "check that Bluetooth is on"
            )
        return SourceError(f"{where}: Bluetooth error {name}: {e.dbus_error_details or ''}".rstrip(": "))
    if isinstance(e, PermissionError):
        return SourceError(
            f"{where}: permission to use Bluetooth denied ({e.strerror or e}): {_BLUEZ_ACCESS}"
        )
    if isinstance(e, (FileNotFoundError, ConnectionRefusedError)):
        return SourceError(
            f"{where}: no Bluetooth service (the system D-Bus or BlueZ is not running): start the system "
            "D-Bus and the bluetooth service, and check that Bluetooth is on"
        )
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return SourceError(f"{where}: {text}")


class DecoderFault(InternalError):
    """A device decoder raised something other than :class:`devices.DecodeError` on a notification: a bug in
    the decoder, not bad bytes. The session ends on it, as on any bug (its message says so); it is not counted as a
    dropped packet."""


@dataclass(frozen=True)
class Found:
    """A device seen in a scan that matches a profile."""

    name: str
    address: str
    rssi: int | None
    profile: devices.Profile
    device: Any  # bleak's BLEDevice: connect with this, not with the address


async def scan(
    timeout_s: float = 5.0, want: Callable[[Found], bool] | None = None, where: str = "scan"
) -> list[Found]:
    """Matching devices seen within ``timeout_s`` (strongest first); stops early when ``want`` matches one.

    Takes :func:`radio_lock` itself; raises :class:`SourceError` when Bluetooth is unusable.
    """
    async with radio_lock():
        return await _scan_unlocked(timeout_s, want, where)


async def _scan_unlocked(
    timeout_s: float,
    want: Callable[[Found], bool] | None,
    where: str,
    unsupported: dict[str, str] | None = None,
) -> list[Found]:
    """As :func:`scan`, without the lock; ``unsupported`` (when given) gets the devices seen that match no
    profile, name by address."""
    try:
        from bleak import BleakScanner
    except ImportError as e:  # pragma: no cover - bleak is a dependency
        raise SourceError(f"{where}: bleak is not installed ({e})") from None
    found: dict[str, Found] = {}
    hit = asyncio.Event()

    def seen(device: Any, adv: Any) -> None:
        name = adv.local_name or device.name or ""
        prof = devices.match_profile(name, list(adv.service_uuids or ()))
        if prof is None:
            if unsupported is not None:
                unsupported[device.address] = name
            return
        if unsupported is not None:  # its name and services came in separate advertisements
            unsupported.pop(device.address, None)
        f = Found(name, device.address, adv.rssi, prof, device)
        found[device.address] = f
        if want is not None and want(f):
            hit.set()

    try:
        async with BleakScanner(detection_callback=seen, scanning_mode="active"):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hit.wait(), timeout_s)
    except Exception as e:
        raise bluetooth_error(e, where) from None
    return sorted(found.values(), key=lambda f: -(f.rssi if f.rssi is not None else -999))


class BleSource(Source):
    """One participant's breathing signal from a BLE wearable found by address or name prefix.

    Parameters
    ----------
    target : str
        A device address as ``breathsync scan`` prints it (``AA:BB:CC:DD:EE:FF``; on macOS a UUID,
        ``B9EA5233-37EF-...``) or the start of the advertised name.
    timeout_s : float
        How long :meth:`start` scans for the device before giving up with a :class:`SourceError`.
    """

    #: How the source is given on the command line (its messages begin "ble:TARGET: ...").
    spec_kind = "ble"

    def __init__(self, target: str, *, timeout_s: float = 10.0) -> None:
        super().__init__()
        target = target.strip()
        if not target:
            raise InputError(f"ble needs an address or a name: {SPEC_SYNTAX}")
        if not 0 < timeout_s <= MAX_TIMEOUT_S:
            raise ValueError(f"timeout_s must be in (0, {MAX_TIMEOUT_S:g}]")
        self.target = target
        self.timeout_s = float(timeout_s)
        self.found: Found | None = None
        self.profile: devices.Profile | None = None
        self.signal = "resp"
        #: Notifications (GDX: packets) dropped: malformed, or decoded but unusable (a bad checksum, a value
        #: outside the device's range: see :data:`devices.DROPPED`; of a heart-rate notification only its
        #: impossible RR intervals go, counted once; of any notification, its samples whose mapped time is
        #: not after the stream's previous one, counted once, as "out of order"); ``dropped_by`` counts
        #: them by why.
        self.dropped = 0
        self.dropped_by: dict[str, int] = {}
        self._last_drop: dict[str, str] = {}  # per stream: why its last notification was dropped
        self.notifications = 0
        self.connections = 0
        self._attempt = 0  # connection attempts (each with fresh decoders)
        self._captured_attempt = 0  # the attempt of the last captured notification
        self._captured_connection = 0  # a captured notification's connection: 1, 2, ... (see _on_data)
        self.reconnect_s: list[float] = []
        self._clock: SessionClock | None = None
        self._client: Any = None
        self._controller: devices.Controller | None = None
        self._decoders: dict[str, devices.StreamDecoder] = {}
        self._waiters: dict[str, asyncio.Future[devices.Decoded]] = {}
        self._mapper = ClockMapper()
        self._beats: dict[str, BeatClock] = {}  # per stream of RR intervals
        self._last_t: dict[str, float] = {}  # per stream: its times only ever increase
        self._queue: asyncio.Queue[SampleChunk | None] = asyncio.Queue()
        self._stopping = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self._lost_at: float | None = None
        #: Why the last reconnection attempt failed (None: connected, or no attempt has failed).
        self.last_reconnect_error: str | None = None
        #: A decoder's bug (see :meth:`_decoder_failed`): the source has failed with it.
        self._failure: DecoderFault | None = None
        #: The device's battery level (percent) where it has the profile's battery stream, else None.
        self.battery_pct: float | None = None
        self._battery_client: Any = None  # the connection whose battery level has been asked for
        self._battery_task: asyncio.Task[None] | None = None
        self._extra_problem: dict[str, str] = {}  # per extra stream: its decoder's problem ("": none)
        self._drop_reason: dict[str, str] = {}  # per kind of drop ("malformed"): the last one's reason
        self._detail_said = ""  # the streaming detail this source last set (see _refresh_detail)
        self._dropped_said = 0  # ``dropped`` when a detail last said the drops (see _refresh_detail)
        self._no_signal_reason = ""  # why "no signal", as its status change said it (see set_status)
        self._signal_notes = 0  # notifications of the breathing stream since the last start steps ended
        self._silent = False  # "no signal" because the connection has sent nothing (see _watch_silence)
        self._silence_task: asyncio.Task[None] | None = None
        self._connected_s = 0.0  # session time the last start steps ended (connected and subscribed)
        #: Upper-case addresses this source must not take when matching by name: the devices other
        #: participants of the session give by address (set by :func:`breathsync.live.build_session`).
        self.avoid: frozenset[str] = frozenset()
        self._connecting = False  # start steps running (start() or a reconnection attempt)
        self._link_lost = False  # ... and the link went while they ran
        self._step = ""  # the start step running, for messages
        self._wrote = False  # a command of the start steps was written on this connection

    @property
    def connected_s(self) -> float:
        """Session time this device last connected (its start steps ended: at the start or a reconnection);
        NaN before its first connection."""
        return self._connected_s if self.connections else math.nan

    def _matches(self, f: Found) -> bool:
        if is_address(self.target):
            return f.address.upper() == self.target.upper()
        return self._name_matches(f.name) and not self._taken(f.address)

    def _name_matches(self, name: str) -> bool:
        """Whether ``name`` starts with the target (whatever the case: "polar h10" finds "Polar H10 ...")."""
        return name.casefold().startswith(self.target.casefold())

    def _taken(self, address: str) -> bool:
        """Whether another participant of this session has the device, or gives its address."""
        a = address.upper()
        if a in self.avoid:
            return True
        with contextlib.suppress(RuntimeError):  # no running loop: no session
            other = _claims.get(asyncio.get_running_loop(), {}).get(a)
            return other is not None and other is not self
        return False

    def _claim(self, address: str) -> None:
        _claims.setdefault(asyncio.get_running_loop(), {})[address.upper()] = self

    def _release(self) -> None:
        with contextlib.suppress(RuntimeError):
            mine = _claims.get(asyncio.get_running_loop(), {})
            for a in [a for a, src in mine.items() if src is self]:
                del mine[a]

    def _not_found(
        self, where: str, seen: list[Found], unsupported: dict[str, str] | None = None
    ) -> SourceError:
        """Why the scan found no device for the target: one line naming what it did see."""
        others = unsupported or {}
        if is_address(self.target):
            same = [(n, a) for a, n in others.items() if a.upper() == self.target.upper()]
        else:
            same = [(n, a) for a, n in others.items() if self._name_matches(n)]
        if same:
            name, address = same[0]
            shown = f"{name} ({address})" if name else address
            kinds = "; ".join(p.title for p in devices.PROFILES.values())
            return SourceError(
                f"{where}: {shown} was seen, but it is not a device breathsync supports (it reads: {kinds}); "
                "`breathsync scan` lists the supported devices in range"
            )
        taken = [f for f in seen if not is_address(self.target) and self._name_matches(f.name)]
        if taken:
            f = taken[0]
            return SourceError(
                f"{where}: {f.name} ({f.address}) matches, but another participant of this session has it; "
                "give each participant their own device (its address or whole name: `breathsync scan` lists them)"
            )
        listed = ", ".join(f"{f.name or '?'} ({f.address})" for f in seen[:5]) + (
            ", ..." if len(seen) > 5 else ""
        )
        why = (
            f"{where}: no matching device found within {self.timeout_s:g} s "
            "(is it worn, switched on and not connected to another app? many straps only switch on when worn; "
            + (f"seen: {listed}" if seen else "no supported device was seen")
            + ")"
        )
        if _ADDRESS.match(self.target) and any(_UUID_ADDRESS.match(f.address) for f in seen):
            # macOS: the devices seen have UUIDs as their addresses, so a Bluetooth address never matches.
            why += (
                "; this computer knows devices by a UUID, not by their Bluetooth address: give the ADDRESS "
                "`breathsync scan` prints on it, or the start of the name"
            )
        return SourceError(why)

    def _lost_text(self) -> str:
        """What a start (or a reconnection's start) that lost the link says."""
        step = f" ({self._step})" if self._step else ""
        return (
            f"ble:{self.target}: the link was lost during start{step}: keep the device close and switched on, "
            "then try again"
        )

    def _lacks(self, characteristic: str) -> SourceError:
        """A characteristic of the profile that the device does not have: said in the profile's words."""
        assert self.profile is not None
        prof = self.profile
        u = devices.full_uuid(characteristic)
        spec = next((s for s in prof.streams.values() if devices.full_uuid(s.characteristic) == u), None)
        # A stream of samples is named by its description; a control point or a command characteristic by
        # the breathing signal it serves.
        what = _words(spec.description if spec is not None and spec.signal_columns else prof.breathing)
        which = f"no {spec.name!r} characteristic" if spec is not None else "a characteristic missing"
        device = self.found.name if self.found is not None and self.found.name else "the device"
        maker = f"{prof.maker}'s" if prof.maker else "its maker's"
        return SourceError(
            f"ble:{self.target}: {device} lacks the {what} of a {prof.title} ({which}): it may be another "
            f"model, or its firmware too old: update it with {maker} app, then try again"
        )

    # ------------------------------------------------------------------------------ Source
    def speed_error(self, speed: float) -> str | None:
        """Why this source cannot run at ``speed`` (it runs in real time), or None."""
        return real_time_error(f"ble:{self.target}", "a live device", speed)

    async def start(self, clock: SessionClock) -> None:
        why = self.speed_error(clock.speed)
        if why:
            raise SourceError(why)
        self._clock = clock
        where = f"ble:{self.target}"
        async with radio_lock():
            unsupported: dict[str, str] = {}
            seen = await _scan_unlocked(self.timeout_s, self._matches, where, unsupported)
            hits = [f for f in seen if self._matches(f)]
            if not hits:
                raise self._not_found(where, seen, unsupported)
            self.found = hits[0]
            self._claim(hits[0].address)  # no other participant's name matches it now
            self.profile = hits[0].profile
            self.signal = self.profile.signal
            self.extra_columns = self.profile.extra_columns
            try:
                # A link lost while the start steps run fails this start (saying so); the source reconnects
                # by itself only once it has started (see _on_disconnect).
                await self._connect()
            except (SourceError, DecoderFault):
                self._release()
                raise
            except Exception as e:
                self._release()
                raise bluetooth_error(e, where) from None
            except BaseException:
                self._release()
                raise
        self.set_status(SourceStatus.STREAMING)
        self._watch_silence()

    async def stream(self) -> AsyncIterator[SampleChunk]:
        while True:
            chunk = await self._queue.get()
            if chunk is None:
                if self._failure is not None:
                    await self.stop()  # stop the device's streams now, not when the session ends
                    raise self._failure
                return
            yield chunk

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        # The reconnection and a battery read under way, before the stop steps and the disconnect.
        for task in (self._reconnect_task, self._battery_task, self._silence_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._reconnect_task = self._battery_task = self._silence_task = None
        client, self._client = self._client, None
        if client is not None:
            if client.is_connected and self._controller is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._run_steps(client, self._controller.stop_steps()), 5.0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 5.0)
        self._release()
        self._queue.put_nowait(None)

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": "ble", "target": self.target, "signal": self.signal}
        if self.found is not None:
            d.update(device=self.found.profile.name, name=self.found.name, address=self.found.address)
            d["breathing"] = self.found.profile.breathing
            d["settings"] = dict(self.found.profile.settings)  # how the device was set up, for session.json
        d.update(dropped=self.dropped, reconnections=len(self.reconnect_s), notifications=self.notifications)
        if self.dropped_by:
            d["dropped_by"] = dict(self.dropped_by)
        if self.packets_not_captured:
            d["packets_not_captured"] = self.packets_not_captured
        if self.battery_pct is not None:  # the last level the device gave (session.json keeps the final one)
            d["battery_pct"] = self.battery_pct
        return d

    # ------------------------------------------------------------------------------ connection
    async def _connect(self) -> None:
        """A new client, connected, with the start steps run on it (caller holds the radio lock)."""
        from bleak import BleakClient

        assert self.found is not None and self.profile is not None
        client = BleakClient(self.found.device, disconnected_callback=self._on_disconnect)
        self._link_lost = False
        self._step = ""
        self._wrote = False
        self._decoders = {name: spec.decoder() for name, spec in self.profile.streams.items()}
        self._attempt += 1
        # Device time belongs to the connection (the GDX counts samples from 0 again, fresh decoders keep
        # no state): a mapper kept from the last connection would map the new samples onto the old clock.
        self._mapper = ClockMapper()
        controller = self._controller = self.profile.controller()
        # Tracked from before the connect: a link lost right after it reads as lost (not as bleak's "not
        # connected"), and a connect interrupted by Ctrl-C or stop() is disconnected, not left half open.
        self._client = client
        self._connecting = True
        try:
            await client.connect(timeout=_CONNECT_TIMEOUT_S)
            await self._run_steps(client, controller.start_steps())
            if self._link_lost:
                raise SourceError(self._lost_text())
        except BaseException as e:
            self._client = None
            # A failed or interrupted start (Ctrl-C, a reply that never came) may have started a stream:
            # stop it before the disconnect (ble.md section 2), or the strap measures on until its battery
            # is empty.
            lost = self._lost_text() if self._link_lost else None  # (before the stop steps change _step)
            await self._undo_start(client, controller)
            if lost is not None and isinstance(e, Exception) and not isinstance(e, DecoderFault):
                # Whatever bleak said of the write that met the lost link: what happened is the link loss.
                raise SourceError(lost) from None
            raise
        finally:
            self._connecting = False
        self.connections += 1
        self._signal_notes = 0  # (a GDX-RB answers its commands on its breathing stream: not counted)
        self._connected_s = self._clock.now() if self._clock is not None else 0.0

    async def _undo_start(self, client: Any, controller: devices.Controller) -> None:
        """After start steps that failed or were interrupted: once any command was written, the stop steps
        (while the link holds), then the disconnect; each within :data:`_UNDO_TIMEOUT_S`, and run to the
        end even when the task is cancelled meanwhile (the cancellation is raised after)."""

        async def undo() -> None:
            if self._wrote and client.is_connected:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._run_steps(client, controller.stop_steps()), _UNDO_TIMEOUT_S)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), _UNDO_TIMEOUT_S)

        task = asyncio.ensure_future(undo())
        cancelled = False
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError

    async def _run_steps(self, client: Any, steps: list[devices.Step]) -> None:
        from bleak.exc import BleakCharacteristicNotFoundError

        for step in steps:
            if isinstance(step, devices.Subscribe):
                self._step = f"subscribing to {step.stream}"
                try:
                    await client.start_notify(step.characteristic, self._callback(step.stream))
                except BleakCharacteristicNotFoundError:
                    raise self._lacks(step.characteristic) from None
                continue
            self._step = step.what or "a command"
            fut: asyncio.Future[devices.Decoded] | None = None
            if step.reply is not None:
                fut = asyncio.get_running_loop().create_future()
                self._waiters[step.reply] = fut
                self._last_drop.pop(step.reply, None)
            size = step.chunk or len(step.data) or 1
            self._wrote = True  # from here the device may have started something (see _undo_start)
            for k in range(0, max(len(step.data), 1), size):
                try:
                    await client.write_gatt_char(
                        step.characteristic, step.data[k : k + size], response=step.response
                    )
                except BleakCharacteristicNotFoundError:
                    raise self._lacks(step.characteristic) from None
            if fut is not None:
                try:
                    rec = await asyncio.wait_for(fut, _REPLY_TIMEOUT_S)
                except TimeoutError:
                    # A reply that came but was dropped (a bad checksum) says more than "no reply".
                    why = self._last_drop.get(step.reply or "")
                    more = f" (what came was dropped: {why})" if why else ""
                    raise SourceError(
                        f"ble:{self.target}: no reply to {step.what or 'a command'}{more}"
                    ) from None
                if rec.info.get("ok") is False:
                    why = str(rec.info.get("error") or "refused")
                    # The device's own text may say "... failed: why" already: said once.
                    why = why.partition(" failed: ")[2] or why
                    raise SourceError(f"ble:{self.target}: {step.what or 'a command'} failed: {why}")

    def _on_disconnect(self, client: Any) -> None:
        if self._stopping or client is not self._client:
            return
        self._client = None
        if self._connecting:
            # The link went while start steps ran (start(), or an attempt of _reconnect): that start fails,
            # saying so, now rather than at a reply's timeout. No reconnection of its own: a start that
            # failed leaves nothing running (a reconnection here used to bring back a participant the
            # session had marked failed, and nobody read its samples).
            self._link_lost = True
            lost = SourceError(self._lost_text())
            for fut in self._waiters.values():
                if not fut.done():
                    fut.set_exception(lost)
            return
        self._lost_at = time.monotonic()
        self.set_status(
            SourceStatus.RECONNECTING, f"{self.found.name if self.found else self.target}: link lost"
        )
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        """Reconnect with backoff until it works or the source stops, saying after each failed attempt why.

        It never gives up: in a training session a strap taken off, put in its charger or carried out of
        range is usually back minutes later, and a participant who then had to restart the whole session
        would lose more than a "reconnecting" that says what is wrong. The status detail (what the views
        show) names the attempt, the time since the link was lost and the last failure, e.g. "Polar H10
        1A2B: link lost 2 min ago; attempt 14 failed: start ACC failed: ... device is in its charger
        (status 13); trying again in 8 s".
        """
        attempt = 0
        lost_at = self._lost_at if self._lost_at is not None else time.monotonic()
        name = self.found.name if self.found else self.target
        while not self._stopping:
            wait_s = _BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)]
            await asyncio.sleep(wait_s)
            attempt += 1
            seen: bool | None = None  # whether a scan of this attempt saw the device
            try:
                async with radio_lock():
                    if self._stopping:
                        return
                    if attempt > 2 and attempt % 3 == 0:
                        # BlueZ may have forgotten the device: look for it again, by the address found at
                        # the start and by nothing else (a name prefix could match another person's strap).
                        hits = await _scan_unlocked(2.0, self._is_mine, f"ble:{self.target}")
                        hits = [f for f in hits if self._is_mine(f)]
                        seen = bool(hits)
                        if hits:
                            self.found = hits[0]
                    await self._connect()
            except asyncio.CancelledError:
                raise
            except DecoderFault:
                return  # the source has failed (its stream raises it): no more attempts
            except Exception as e:
                why = self._connect_failure(e)
                if seen is False:
                    why = f"not seen in a scan, {why}"
                self.last_reconnect_error = why
                # The wait before the next attempt (the loop's next sleep): it doubles up to 8 s, so it is
                # said as that one wait, not as a period ("every 0.5 s" was said of waits growing to 8 s).
                next_s = _BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)]
                self.set_detail(
                    f"{name}: link lost {_duration(time.monotonic() - lost_at)} ago; attempt {attempt} failed: "
                    f"{why}; trying again in {next_s:g} s"
                )
                continue
            self.last_reconnect_error = None
            self.set_status(SourceStatus.STREAMING, "reconnected")
            self._watch_silence()
            return

    def _is_mine(self, f: Found) -> bool:
        """Whether ``f`` is the device this source found at its start (by address)."""
        return self.found is not None and f.address.upper() == self.found.address.upper()

    def _connect_failure(self, e: BaseException) -> str:
        """Why a reconnection attempt failed, in words (no ``ble:TARGET:`` prefix: the detail names it)."""
        from bleak.exc import BleakDBusError, BleakDeviceNotFoundError, BleakError

        away = "out of range, switched off or connected to another app?"
        # BlueZ forgot the device (bleak: "device 'dev_C0_FF_EE_00_00_01' not found"): not seen lately.
        forgotten = (
            isinstance(e, BleakError) and re.fullmatch(r"device '[^']*' not found", str(e)) is not None
        )
        if isinstance(e, (TimeoutError, BleakDeviceNotFoundError)) or forgotten:
            return f"device not found ({away})"
        if isinstance(e, BleakDBusError) and e.dbus_error in (
            "org.bluez.Error.Failed",
            "org.bluez.Error.NotAvailable",
            "org.bluez.Error.AbortedByRemote",
        ):
            said = e.dbus_error_details or e.dbus_error
            return f"could not connect ({said}: {away})"
        text = str(e if isinstance(e, SourceError) else bluetooth_error(e, f"ble:{self.target}"))
        return text.removeprefix(f"ble:{self.target}: ")

    # ------------------------------------------------------------------------------ notifications
    def _callback(self, stream: str) -> Callable[[Any, bytearray], None]:
        def on_notify(_char: Any, data: bytearray) -> None:
            self._on_data(stream, bytes(data))

        return on_notify

    def _on_data(self, stream: str, data: bytes, arrival: float | None = None) -> None:
        """A notification of ``stream``: decoded, its samples mapped and queued. ``arrival``: its session
        time (default: now; a replayed capture gives the recorded one)."""
        if arrival is None:
            arrival = self._clock.now() if self._clock is not None else 0.0
        self.notifications += 1
        dec = self._decoders.get(stream)
        if dec is None:
            return
        if self.profile is not None and stream == self.profile.signal_stream and not self._connecting:
            self._signal_notes += 1
            if self._silent:  # the connection that sent nothing sends now
                self._silent = False
                if self.status is SourceStatus.NO_SIGNAL:
                    self.set_status(SourceStatus.STREAMING)
        if self.capture:  # a recording keeps the bytes (Source.capture)
            # Numbered 1, 2, ... by the connections that sent anything: attempts that failed before a
            # notification came are not counted (after one reconnection a capture said 1, then 6).
            if self._captured_attempt != self._attempt:
                self._captured_attempt = self._attempt
                self._captured_connection += 1
            self.hold_packet(Packet(arrival, self._captured_connection, stream, data))
        try:
            records = dec.feed(data)
        except devices.DecodeError as e:
            self._drop(stream, "malformed", str(e))
            return
        except Exception as e:
            # Not bad bytes (a decoder raises only DecodeError on those): a bug in the decoder. Counting it as
            # a dropped packet hid it; it fails this source instead, saying so.
            self._decoder_failed(stream, e)
            return
        self._after_decode(stream, dec, records)
        assert self.profile is not None
        spec = self.profile.streams[stream]
        emits = stream == self.profile.signal_stream or stream in self.profile.extra_streams
        for rec in records:
            if rec.kind == devices.DROPPED:  # a bad checksum, an impossible value: never a sample or a reply
                self._drop(stream, str(rec.info.get("drop", "dropped")), str(rec.info.get("reason", "")))
            elif emits and spec.signal_columns and len(rec):
                self._emit(stream, rec, spec, arrival)
            else:
                fut = self._waiters.get(stream)
                if fut is not None and not fut.done() and not len(rec):
                    fut.set_result(rec)

    def _after_decode(self, stream: str, dec: devices.StreamDecoder, records: list[devices.Decoded]) -> None:
        """What a notification says beside its samples: a battery level (a record's ``info["battery_pct"]``)
        and what the stream's decoder finds wrong with the signal (its ``problem``: a strap without skin
        contact, a sensor that sends no beat intervals; see :meth:`_stream_problem`); and on the first
        notification of a connection that streams, the battery level is asked for (:meth:`_read_battery`)."""
        for rec in records:
            pct = rec.info.get("battery_pct") if rec.kind != devices.DROPPED else None
            if pct is not None:
                self.battery_pct = float(pct)
        problem = getattr(dec, "problem", None)
        if isinstance(problem, str):
            self._stream_problem(stream, problem)
        client = self._client
        if (
            client is not None
            and client is not self._battery_client
            and self.status in (SourceStatus.STREAMING, SourceStatus.NO_SIGNAL)
            and self.profile is not None
            and self.profile.battery_stream is not None
        ):
            self._battery_client = client
            self._battery_task = asyncio.get_running_loop().create_task(
                self._read_battery(client, self.profile.battery_stream)
            )

    async def _read_battery(self, client: Any, stream: str) -> None:
        """Read the battery level once on this connection, and follow it when the device notifies it.

        A device without the characteristic has no battery level (``battery_pct`` stays None: "n/a"), and a
        read that fails is no fault of the source: the level is a convenience, the breathing is what counts.
        """
        assert self.profile is not None
        uuid = self.profile.streams[stream].characteristic
        try:
            char = next((c for svc in client.services for c in svc.characteristics if c.uuid == uuid), None)
            if char is None:
                return
            if "read" in char.properties:
                data = await client.read_gatt_char(char)
                if client is self._client:
                    self._on_data(stream, bytes(data))
            if "notify" in char.properties and client is self._client and not self._stopping:
                await client.start_notify(char, self._callback(stream))
        except asyncio.CancelledError:
            raise
        except Exception:
            return  # a link lost meanwhile, a device that refuses the read: no level, and no error

    def _stream_problem(self, stream: str, problem: str) -> None:
        """Say what a stream's decoder finds wrong (``problem``, "" when nothing), on every notification.

        On the breathing signal's own stream (a heart-rate strap's beats) the source has no signal: status
        NO_SIGNAL with the problem as its reason (the session makes it an event), and STREAMING again once
        the decoder is content. On an extra stream (the Polar H10's beats beside its accelerometer) the
        breathing goes on: the problem is in the status detail while it lasts (:meth:`_refresh_detail`)."""
        assert self.profile is not None
        if stream == self.profile.signal_stream:
            name = self.found.name if self.found is not None else self.target
            if problem and self.status in (SourceStatus.STREAMING, SourceStatus.NO_SIGNAL):
                # Nothing happens when it says so already.
                self.set_status(SourceStatus.NO_SIGNAL, f"{name}: {problem}")
            elif not problem and self.status is SourceStatus.NO_SIGNAL:
                self.set_status(SourceStatus.STREAMING)
        else:
            self._extra_problem[stream] = problem
            self._refresh_detail()  # (also said again after a status change: a reconnection's "reconnected")

    def set_status(self, status: SourceStatus, reason: str = "") -> None:
        """:meth:`Source.set_status`, and what the drops need of it: "no signal" said again with the reason
        it has (a strap without skin contact says so on every notification) is nothing new, even when the
        drops since have been added to that reason (:meth:`_refresh_detail`); and drops the status could not
        say (while reconnecting: its detail is the attempts) are said once the source streams again."""
        if status is SourceStatus.NO_SIGNAL and self.status is status and reason == self._no_signal_reason:
            return
        if status is SourceStatus.NO_SIGNAL:
            self._no_signal_reason = reason
            self._dropped_said = self.dropped  # the drops until now were said while streaming, or are old
        super().set_status(status, reason)
        if status is SourceStatus.STREAMING and self.dropped > self._dropped_said:
            self._refresh_detail()

    def _drops_text(self) -> str:
        """What was dropped: "17 of 70 notifications dropped: 17 malformed (...)" ("" when nothing)."""
        if not self.dropped:
            return ""
        kinds = "; ".join(
            f"{n} {why}" + (f" ({self._drop_reason[why]})" if self._drop_reason.get(why, why) != why else "")
            for why, n in self.dropped_by.items()
        )
        return f"{self.dropped} of {self.notifications} notifications dropped: {kinds}"

    def _refresh_detail(self) -> None:
        """The status detail while streaming: what an extra stream's decoder finds wrong (a Polar H10's
        beats without skin contact) and what was dropped ("17 of 70 notifications dropped: 17 malformed
        (...)"), in one line; the session makes its changes ``source_detail`` events, rate-limited. A detail
        this source did not set (the "reconnected" of a status change) is replaced only by one to say, never
        by nothing. While "no signal" (a strap without skin contact), drops since the status came are added
        to its reason ("...: no skin contact; 3 of 40 notifications dropped: ..."); while reconnecting they
        are said once it streams again (:meth:`set_status`). Not for a replayed capture (:attr:`paced`): its
        recording's session said it as it came, and a replay's events are the same at any ``--speed``."""
        if self.paced:
            return
        if self.status is SourceStatus.NO_SIGNAL:
            if self.dropped > self._dropped_said:
                self._dropped_said = self.dropped
                self.set_detail(f"{self._no_signal_reason}; {self._drops_text()}")
            return
        if self.status is not SourceStatus.STREAMING:
            return
        parts = [p for p in self._extra_problem.values() if p]
        if self.dropped:
            parts.append(self._drops_text())
        name = self.found.name if self.found is not None and self.found.name else self.target
        detail = f"{name}: {'; '.join(parts)}" if parts else ""
        if detail == self.status_reason or not (detail or self.status_reason == self._detail_said):
            return
        self._detail_said = detail
        self._dropped_said = self.dropped
        self.set_detail(detail)

    def _watch_silence(self) -> None:
        """After the start steps of a connection: if its breathing stream sends nothing within
        :data:`_SILENT_S`, the source is "no signal", saying that it is connected and subscribed but nothing
        came (a strap not worn sends nothing at all; before, the participant showed "no signal" without a
        reason, and the session ended on "no samples ... (streaming)"). Its first notification makes it
        streaming again."""
        if self._silence_task is not None:
            self._silence_task.cancel()
        self._silent = False
        self._silence_task = asyncio.get_running_loop().create_task(self._silence_after(self._client))

    async def _silence_after(self, client: Any) -> None:
        await asyncio.sleep(_SILENT_S)
        if self._stopping or client is not self._client or self._signal_notes:
            return
        if self.status is not SourceStatus.STREAMING:
            return
        assert self.profile is not None
        name = self.found.name if self.found is not None and self.found.name else self.target
        if self.profile.signal == "resp":
            hint = "is it switched on and worn?"
        else:
            hint = "is the strap worn, with its electrodes moistened?"
        t = int(self._connected_s)
        self._silent = True
        self.set_status(
            SourceStatus.NO_SIGNAL,
            f"{name}: connected and subscribed at {t // 60}:{t % 60:02d}, but no notification has come since: "
            f"{hint}",
        )

    def _decoder_failed(self, stream: str, e: Exception) -> None:
        """A decoder raised something else than :class:`devices.DecodeError`: the source stops (its stream
        raises :class:`DecoderFault`, on which the session ends, closing its recording, and the command
        exits 1 with the traceback), no more notifications are decoded, and a start step waiting for a reply gets the error."""
        if self._failure is not None:
            return
        device = self.profile.name if self.profile is not None else "device"
        fault = DecoderFault(
            f"{self.spec_kind}:{self.target}: internal error of the {device} {stream!r} decoder ({type(e).__name__}: {e}): "
            "a bug in breathsync, not bad bytes from the device; please report it"
        )
        fault.__cause__ = e
        self._failure = fault
        self._decoders = {}
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(fault)
        self._queue.put_nowait(None)

    def _drop(self, stream: str, why: str, reason: str) -> None:
        """Count a dropped notification or packet (``dropped``, and by category in ``dropped_by``), and say
        it in the status detail (:meth:`_refresh_detail`)."""
        self.dropped += 1
        self.dropped_by[why] = self.dropped_by.get(why, 0) + 1
        self._last_drop[stream] = self._drop_reason[why] = reason or why
        self._refresh_detail()  # said, not only counted (the views, events.csv)

    def _emit(self, stream: str, rec: devices.Decoded, spec: devices.StreamSpec, arrival: float) -> None:
        try:
            cols = {
                mine: np.asarray(rec.columns[theirs], dtype=np.float64)
                for mine, theirs in spec.signal_columns.items()
            }
        except KeyError:
            return  # a record of this stream without the signal (e.g. a GDX sensor not enabled)
        if rec.device_t_s is not None:
            x = np.asarray(rec.device_t_s, dtype=np.float64)
            self._mapper.update(x[-1], arrival)
            t = self._mapper.to_host(x)
        elif spec.signal == "rr":
            # BeatClock times only the beats it accepts (a finite RR interval above 0): keep those rows. The
            # decoders drop such intervals themselves (a DROPPED record, counted above); one that let them
            # through is counted here, so that no interval goes uncounted.
            rr = next(iter(cols.values()))
            beat = np.isfinite(rr) & (rr > 0)
            if not beat.all():
                shown = ", ".join(f"{x:g}" for x in rr[~beat])
                self._drop(stream, "out of range", f"RR {shown} ms is not a beat (not above 0 ms)")
                cols = {k: v[beat] for k, v in cols.items()}
                if not beat.any():
                    return
            clock = self._beats.get(stream)
            if clock is None:
                clock = self._beats[stream] = BeatClock()
            t = clock.update(cols[next(iter(cols))], arrival)
        else:
            n = len(rec)
            t = np.full(n, arrival)
        keep = np.isfinite(t) & (t > self._last_t.get(stream, -np.inf)) & (t >= 0.0)
        if not keep.all():
            # Not after the stream's previous sample (the device clock's mapping moved back when the first
            # frames came late) or before the session: not a sample, but counted, as every dropped packet.
            self._drop(
                stream,
                "out of order",
                f"{int((~keep).sum())} of {keep.size} samples not after the previous one (or before the start)",
            )
        if not keep.any():
            return
        t = t[keep]
        self._last_t[stream] = float(t[-1])
        assert self.profile is not None
        if self._lost_at is not None and stream == self.profile.signal_stream:
            self.reconnect_s.append(time.monotonic() - self._lost_at)
            self._lost_at = None
        # The chunk contract: the signal's columns then the extra ones, in every chunk (in that order), NaN
        # where a row has none.
        main = self.profile.streams[self.profile.signal_stream].signal_columns
        out = {
            c: cols[c][keep] if c in cols else np.full(t.size, np.nan) for c in (*main, *self.extra_columns)
        }
        self._queue.put_nowait(SampleChunk(t, out))


def is_address(target: str) -> bool:
    """Whether a ``ble:`` target is a device address (a Bluetooth address, or the UUID bleak gives a device
    on macOS) rather than the start of a name."""
    return bool(_ADDRESS.match(target) or _UUID_ADDRESS.match(target))


def _words(text: str) -> str:
    """The head of a profile's one-line description: before any colon, without a 16-bit id ("(0x2A37)")."""
    return re.sub(r"\s*\(0x[0-9A-Fa-f]+\)", "", text.split(":", 1)[0]).strip()


def _duration(s: float) -> str:
    """``45 s``, ``3 min``, ``1 h 5 min``: how long ago, for a status line."""
    if s < 90:
        return f"{max(s, 0.0):.0f} s"
    m = round(s / 60)
    if m < 60:
        return f"{m} min"
    return f"{m // 60} h" + (f" {m % 60} min" if m % 60 else "")


def parse_ble_spec(text: str) -> BleSource:
    """A BLE source from the command-line text after ``ble:``: ``ADDRESS|NAME-PREFIX[,timeout=S]``."""
    target, options = split_spec(text, f"ble needs an address or a name: {SPEC_SYNTAX}")
    kwargs: dict[str, Any] = {}
    for key, eq, value in options:
        if key == "timeout" and eq:
            kwargs["timeout_s"] = spec_seconds("ble", key, value, MAX_TIMEOUT_S)
        else:
            raise InputError(f"ble: unknown option {key + eq + value!r} in {text!r}: {SPEC_SYNTAX}")
    return BleSource(target, **kwargs)
