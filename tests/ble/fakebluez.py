"""A fake BlueZ on a private D-Bus system bus, for running bleak's real BlueZ backend without hardware.

``private_bus()`` starts ``dbus-daemon`` (Debian package ``dbus``) with a generated config (``<type>system``,
a unix socket in a temp dir, allow-all policy) and points ``DBUS_SYSTEM_BUS_ADDRESS`` at it. It FAILS when
dbus-daemon is missing: these tests must not silently skip in CI.

:class:`FakeBlueZ` owns the name ``org.bluez`` on that bus and answers bleak's calls with dbus-fast's
low-level message API, on its own thread and event loop (so the code under test can use ``asyncio.run``
as the command line does): ObjectManager at ``/``, Adapter1 at ``/org/bluez/hci0``, Device1 objects with
advertisement data and a periodic RSSI PropertiesChanged while discovering, Connect -> Connected, exported
GATT objects, ServicesResolved; StartNotify -> Notifying; notifications as Value PropertiesChanged; link
loss (ServicesResolved=false, Connected=false, GATT objects removed).

:class:`FakeHeartRateStrap` is a strap that streams Heart Rate Measurements with RR intervals in real time
(bytes built with ``devices.heart_rate.encode_hrm``), with the standard Battery Service (a settable level);
it can also send no RR intervals (an optical sensor) or report no skin contact. :class:`FakePolarH10` adds the PMD service: a control
point answering get-settings/start/stop with F0 indications, ACC frames at the requested rate; :class:`FakeGdxRb` a Vernier respiration belt (chunked command packets,
measurement packets of force and rate). Every device
logs what the central did in order (``events``: connect, subscribe, write, disconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

import devices
from devices.battery import BATTERY_SERVICE
from devices.heart_rate import encode_hrm

# bleak installs dbus-fast on Linux only. On Windows this module is imported for its names, and every test that
# uses it is skipped there (posix_only("D-Bus and BlueZ")).
if sys.platform != "win32":
    from dbus_fast import BusType, Message, MessageType, Variant
    from dbus_fast.aio import MessageBus

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""

OM = "org.freedesktop.DBus.ObjectManager"
PROPS = "org.freedesktop.DBus.Properties"
ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
SERVICE = "org.bluez.GattService1"
CHAR = "org.bluez.GattCharacteristic1"
ADAPTER_PATH = "/org/bluez/hci0"


@contextlib.contextmanager
def private_bus() -> Iterator[str]:
    """A private system bus for the duration of the block; yields its address (also exported)."""
    exe = shutil.which("dbus-daemon")
    if exe is None:
        raise RuntimeError("dbus-daemon not found: apt-get install dbus (the BLE tests need it; no skip)")
    with tempfile.TemporaryDirectory(prefix="fakebluez-") as tmp:
        sock = Path(tmp) / "system_bus_socket"
        conf = Path(tmp) / "bus.conf"
        conf.write_text(BUS_CONFIG.format(socket=sock), encoding="utf-8")
        proc = subprocess.Popen(
            [exe, f"--config-file={conf}", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            address = proc.stdout.readline().strip()
            if not address:
                raise RuntimeError(f"dbus-daemon did not start (exit code {proc.poll()})")
            old = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address
            try:
                yield address
            finally:
                if old is None:
                    os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
                else:
                    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = old
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def dev_path(address: str) -> str:
    return f"{ADAPTER_PATH}/dev_{address.upper().replace(':', '_')}"


@dataclass
class FakeChar:
    uuid: str
    flags: list[str]
    #: Called with the written bytes (on the fake's loop); may call ``device.notify``.
    on_write: Callable[[bytes], None] | None = None
    path: str = ""
    notifying: bool = False
    #: What a read gives until a notification (or :meth:`FakeDevice.set_value`) changes it.
    value: bytes = b""


@dataclass
class FakeDevice:
    """A peripheral: advertisement data, GATT layout and behaviour hooks."""

    address: str
    name: str
    uuids: list[str]
    services: dict[str, list[FakeChar]]
    rssi: int = -60
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    #: While False, Connect fails (out of range / switched off).
    reachable: bool = True
    connected: bool = False
    bluez: FakeBlueZ | None = None
    connects: int = 0
    start_notify_calls: dict[str, int] = field(default_factory=dict)
    writes: list[tuple[str, bytes]] = field(default_factory=list)
    reads: dict[str, int] = field(default_factory=dict)  # ReadValue calls by characteristic
    #: What the central did, in order: ("connect",), ("subscribe", uuid), ("write", uuid, bytes),
    #: ("disconnect",) (link loss included). Tests check orderings on it (indications before commands,
    #: stop commands before the disconnect).
    events: list[tuple[Any, ...]] = field(default_factory=list)
    #: Every notification sent to the central, in order: (characteristic uuid, bytes).
    notified: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def path(self) -> str:
        return dev_path(self.address)

    def char(self, uuid: str) -> FakeChar:
        u = devices.full_uuid(uuid)
        return next(c for cs in self.services.values() for c in cs if c.uuid == u)

    def notify(self, uuid: str, data: bytes) -> None:
        """Send a notification (fake's loop only); dropped unless connected and notifying."""
        c = self.char(uuid)
        if self.bluez is not None and self.connected and c.notifying:
            self.notified.append((c.uuid, bytes(data)))
            self.bluez.emit_changed(c.path, CHAR, {"Value": Variant("ay", bytes(data))})

    def set_value(self, uuid: str, data: bytes) -> None:
        """Change what a characteristic holds (fake's loop only): what reads give from now on, notified to a
        central that subscribed to it."""
        c = self.char(uuid)
        c.value = bytes(data)
        obj = self.bluez.objects.get(c.path) if self.bluez is not None else None
        if obj is not None and CHAR in obj:
            obj[CHAR]["Value"] = Variant("ay", c.value)
        self.notify(uuid, c.value)

    # hooks for subclasses
    def on_connected(self) -> None: ...

    def on_disconnected(self) -> None: ...

    def on_notify_started(self, char: FakeChar) -> None: ...


class FakeHeartRateStrap(FakeDevice):
    """A strap streaming HRM notifications: one per beat, RR cycling through ``rr_ms``, sent in real time.

    It has the standard Battery Service (Battery Level readable and notifying) at ``battery`` percent, or
    none with ``battery=None``; :meth:`set_battery` changes the level. ``send_rr = False`` makes it an
    optical sensor (heart rate, no RR intervals: a Polar OH1, a Verity Sense); ``contact`` is the sensor
    contact it reports (None: not supported; False: no skin contact, and then no RR intervals either).
    """

    def __init__(
        self,
        address: str = "C0:FF:EE:00:00:01",
        name: str = "FakeHR 0001",
        *,
        battery: int | None = 87,
        **kw: Any,
    ) -> None:
        hr = devices.get_profile("heart-rate")
        self.hrm_uuid = hr.stream("hrm").characteristic
        services = {hr.service_uuids[0]: [FakeChar(self.hrm_uuid, ["notify"])]}
        self.battery_uuid = hr.stream(hr.battery_stream or "").characteristic
        if battery is not None:
            services[BATTERY_SERVICE] = [
                FakeChar(self.battery_uuid, ["read", "notify"], value=bytes([battery]))
            ]
        super().__init__(address=address, name=name, uuids=list(hr.service_uuids), services=services, **kw)
        self.rr_ms: list[float] = [800.0, 850.0, 900.0, 850.0, 800.0, 750.0, 700.0, 750.0]
        self.sent = 0
        self.garbage_every = 0  # send a malformed notification after every n-th good one (0: never)
        self.send_rr = True
        self.contact: bool | None = True
        self._task: asyncio.Task[None] | None = None

    def set_battery(self, pct: int) -> None:
        """The Battery Level from now on (fake's loop: call it through :meth:`FakeBlueZ.call`)."""
        self.set_value(self.battery_uuid, bytes([pct]))

    def on_notify_started(self, char: FakeChar) -> None:
        if char.uuid == self.hrm_uuid and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._beats())

    def on_disconnected(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _beats(self) -> None:
        k = 0
        while self.connected:
            rr = self.rr_ms[k % len(self.rr_ms)]
            await asyncio.sleep(rr / 1000.0)
            beats = [rr] if self.send_rr and self.contact is not False else []
            self.notify(self.hrm_uuid, encode_hrm(60000 // int(rr), beats, contact=self.contact))
            self.sent += 1
            if self.garbage_every and self.sent % self.garbage_every == 0:
                self.notify(self.hrm_uuid, bytes([0x10, 60, 0x01]))  # odd RR bytes: malformed
            k += 1


class FakePolarH10(FakeHeartRateStrap):
    """A Polar H10: the Heart Rate Service (as :class:`FakeHeartRateStrap`) plus the PMD service.

    PMD control point (write + indicate): commands ``01 <type>`` (get settings), ``02 <type> <settings>``
    (start), ``03 <type>`` (stop), parsed here from the documented layout (ble.md section 2), each answered
    with an indication ``F0 <op> <type> <status> 00 [settings]``. An indication is only delivered when the
    central enabled indications first (as on the strap: otherwise the reply is lost; ``unheard_replies``
    counts those). Only ACC is streamed; ECG start is answered "not supported" (status 3) by this fake.

    PMD data (notify): ACC frame type 1 (int16 x, y, z milli-g) built with ``devices.polar_pmd.encode_frame``,
    ``frame_samples`` samples per frame at the requested rate, paced in real time; the timestamp is the
    strap's clock (ns since 2000-01-01, started at 2019-01-01 as after a power-down) at the LAST sample.
    The motion: 1 g on z plus a chest-breathing oscillation of ``breath_hz`` on all three axes.

    Odd straps: ``reply_delay_s`` delays every control point reply (the command itself acts at once),
    ``unanswered_ops`` lists op codes that act but are never answered, ``pmd=False`` leaves the PMD service
    out (heart rate only, as on old firmware).
    """

    #: ns from 2000-01-01 to 2019-01-01 (the H10's clock after a power-down)
    CLOCK_AFTER_RESET_NS = 599_616_000 * 1_000_000_000
    ACC_RATES = (25, 50, 100, 200)
    ACC_RANGES = (2, 4, 8)

    def __init__(
        self,
        address: str = "A0:9E:1A:00:00:10",
        name: str = "Polar H10 A1B2C3D4",
        *,
        pmd: bool = True,
        **kw: Any,
    ) -> None:
        from devices import polar_pmd

        super().__init__(address=address, name=name, **kw)
        self.control_uuid = devices.full_uuid(polar_pmd.PMD_CONTROL)
        self.data_uuid = devices.full_uuid(polar_pmd.PMD_DATA)
        if pmd:  # pmd=False: a strap without the PMD service (as on old firmware): heart rate only
            self.services[polar_pmd.PMD_SERVICE] = [
                FakeChar(polar_pmd.PMD_CONTROL, ["read", "write", "indicate"], on_write=self._on_command),
                FakeChar(polar_pmd.PMD_DATA, ["notify"]),
            ]
        self.reply_delay_s = 0.0  # each control point reply comes this late (the command acts at once)
        self.unanswered_ops: set[int] = set()  # commands (op codes) that act but are never answered
        self.breath_hz = 0.25
        self.breath_mg = (30.0, -20.0, 60.0)
        self.in_charger = False  # every start is refused with status 13 while True
        self.acc_rate: int | None = None  # streaming ACC at this rate, or None
        self.acc_range: int | None = None
        self.acc_starts = 0
        self.acc_stops = 0  # stop commands that stopped a running stream
        self.unheard_replies = 0
        self.commands: list[tuple[bytes, bytes]] = []  # (command, reply)
        self.frames: list[bytes] = []  # ACC frames sent
        self.frame_samples = 0  # 0: rate // 10 (a frame every 0.1 s)
        self._acc_task: asyncio.Task[None] | None = None

    # -------------------------------------------------------------- control point
    def _on_command(self, data: bytes) -> None:
        reply = self._answer(data)
        self.commands.append((data, reply))
        if data[:1] and data[0] in self.unanswered_ops:
            return
        if self.reply_delay_s > 0:
            asyncio.get_running_loop().call_later(self.reply_delay_s, self._reply, reply)
        else:
            self._reply(reply)

    def _reply(self, reply: bytes) -> None:
        if not self.char(self.control_uuid).notifying:
            self.unheard_replies += 1
        self.notify(self.control_uuid, reply)

    def _answer(self, data: bytes) -> bytes:
        if len(data) < 2:
            return bytes([0xF0, data[0] if data else 0, 0, 4, 0])  # invalid length
        op, meas = data[0], data[1]

        def status(code: int, tail: bytes = b"") -> bytes:
            return bytes([0xF0, op, meas, code, 0]) + tail

        if meas not in (0x00, 0x02):
            return status(2)  # invalid measurement type
        if op == 0x01:
            if meas == 0x02:  # rates 25/50/100/200, 16 bit, ranges 2/4/8 G
                tail = bytes([0x00, 4]) + b"".join(r.to_bytes(2, "little") for r in self.ACC_RATES)
                tail += bytes([0x01, 1]) + (16).to_bytes(2, "little")
                tail += bytes([0x02, 3]) + b"".join(g.to_bytes(2, "little") for g in self.ACC_RANGES)
                return status(0, tail)
            return status(0, bytes.fromhex("00 01 82 00 01 01 0E 00"))  # ECG 130 Hz, 14 bit
        if op == 0x02:
            if self.in_charger:
                return status(13)
            if meas == 0x00:
                return status(3)  # this fake streams no ECG
            if self.acc_rate is not None:
                return status(6)  # already in that state
            fields: dict[int, int] = {}
            pos = 2
            while pos < len(data):  # <type> <count=1> <u16 value>
                if pos + 4 > len(data) or data[pos + 1] != 1:
                    return status(4)
                fields[data[pos]] = int.from_bytes(data[pos + 2 : pos + 4], "little")
                pos += 4
            if fields.get(0x00) not in self.ACC_RATES:
                return status(8)
            if fields.get(0x01, 16) != 16:
                return status(7)
            if fields.get(0x02) not in self.ACC_RANGES:
                return status(9)
            self.acc_rate, self.acc_range = fields[0x00], fields[0x02]
            self.acc_starts += 1
            self._acc_task = asyncio.get_running_loop().create_task(self._stream_acc(self.acc_rate))
            return status(0)
        if op == 0x03:
            if meas == 0x02 and self.acc_rate is not None:
                self._stop_acc()
                self.acc_stops += 1
                return status(0)
            return status(6)  # already in that state (not measuring)
        return status(1)  # invalid op code

    def _stop_acc(self) -> None:
        self.acc_rate = None
        if self._acc_task is not None:
            self._acc_task.cancel()
            self._acc_task = None

    def on_notify_started(self, char: FakeChar) -> None:
        super().on_notify_started(char)
        if char.uuid == self.data_uuid and self.acc_rate is not None and self._acc_task is None:
            # left streaming (by an earlier connection): frames flow again as soon as the data is subscribed
            self._acc_task = asyncio.get_running_loop().create_task(self._stream_acc(self.acc_rate))

    def on_disconnected(self) -> None:
        # The strap keeps its measurement on after a disconnect (ble.md: a strap left streaming stays awake;
        # polar-ble-sdk issues #186 and #255: ERROR_ALREADY_IN_STATE on the next start after an app was
        # killed): ``acc_rate`` stays set and a start answers status 6 until a stop; only the sending stops.
        super().on_disconnected()
        if self._acc_task is not None:
            self._acc_task.cancel()
            self._acc_task = None

    # -------------------------------------------------------------- data
    def motion(self, t_s: np.ndarray) -> np.ndarray:
        """(n, 3) milli-g at strap times ``t_s`` (seconds since streaming started)."""
        w = np.sin(2 * np.pi * self.breath_hz * np.asarray(t_s, dtype=np.float64))
        x, y, z = (a * w for a in self.breath_mg)
        return np.round(np.stack([x, y - 150.0, z + 1000.0], axis=1))

    async def _stream_acc(self, rate: int) -> None:
        from devices.polar_pmd import ACC, encode_frame

        loop = asyncio.get_running_loop()
        n = self.frame_samples or max(1, rate // 10)
        t0 = loop.time()
        ts0 = self.CLOCK_AFTER_RESET_NS + round(t0 * 1e9)  # the strap clock when streaming started
        k = 0  # samples sent
        while self.connected and self.acc_rate == rate:
            last = k + n - 1
            await asyncio.sleep(max(0.0, t0 + last / rate - loop.time()))
            idx = np.arange(k, k + n)
            frame = encode_frame(ACC, ts0 + round(last * 1e9 / rate), self.motion(idx / rate))
            self.frames.append(frame)
            self.notify(self.data_uuid, frame)
            k += n


class FakeGdxRb(FakeDevice):
    """A Vernier GDX-RB: command characteristic (write without response) and response characteristic (notify).

    Commands arrive in chunks of at most 20 bytes and are reassembled until the buffer holds byte[1] bytes;
    each packet ``58 <len> <counter> <checksum> <command> <payload>`` is checked (checksum, the rolling
    counter going down from FE) and answered on the response characteristic with
    ``58 06 <counter> <checksum> <command> 00``; ``bad_packets`` counts the ones that failed a check.
    ``1B`` sets the period (``FF 00 <us u32>``), ``18`` starts the sensors of ``FF 01 <mask u32>``, ``19``
    stops. While started, measurement packets built with ``devices.gdx.encode_measurement`` carry
    ``samples_per_packet`` samples of every enabled sensor each, paced in real time and sent in 20-byte
    chunks: sensor 1 = force in newtons (a breathing waveform), sensor 2 = the belt's rate in breaths/min
    (NaN for the first ``rate_after`` samples), other sensors 0.
    """

    def __init__(self, address: str = "D4:36:39:00:00:20", name: str = "GDX-RB 0K1002R5", **kw: Any) -> None:
        from devices import gdx

        self.command_uuid = devices.full_uuid(gdx.GDX_COMMAND)
        self.response_uuid = devices.full_uuid(gdx.GDX_RESPONSE)
        super().__init__(
            address=address,
            name=name,
            uuids=[gdx.GDX_SERVICE],
            services={
                gdx.GDX_SERVICE: [
                    FakeChar(gdx.GDX_COMMAND, ["write-without-response", "write"], on_write=self._on_chunk),
                    FakeChar(gdx.GDX_RESPONSE, ["notify"]),
                ]
            },
            **kw,
        )
        self.breath_hz = 0.25
        self.samples_per_packet = 3
        self.rate_after = 5
        self.period_us: int | None = None
        self.mask: int | None = None  # measuring these sensors, or None
        self.starts = 0
        self.stops = 0  # stop commands that stopped a running measurement
        self.bad_packets = 0
        self.commands: list[bytes] = []  # reassembled command packets
        self.sent: list[np.ndarray] = []  # (samples, sensors) values of each measurement packet
        self._buf = bytearray()
        self._expect_counter = 0xFE
        self._task: asyncio.Task[None] | None = None

    def on_connected(self) -> None:
        self._buf.clear()
        self._expect_counter = 0xFE  # a new connection: the central's counter starts again

    def on_disconnected(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _send(self, packet: bytes) -> None:
        for k in range(0, len(packet), 20):
            self.notify(self.response_uuid, packet[k : k + 20])

    def send_packet(self, packet: bytes) -> None:
        """Send any packet (e.g. a corrupted one) in 20-byte chunks between two measurement packets (on the
        fake's loop: call it through :meth:`FakeBlueZ.call`)."""
        self._send(packet)

    def _on_chunk(self, data: bytes) -> None:
        self._buf += data
        while len(self._buf) >= 2 and len(self._buf) >= self._buf[1]:
            n = self._buf[1]
            packet = bytes(self._buf[:n])
            del self._buf[:n]
            self._on_packet(packet)

    def _on_packet(self, p: bytes) -> None:
        from devices.gdx import encode_measurement

        self.commands.append(p)
        ok = len(p) >= 5 and p[0] == 0x58 and (sum(p) - p[3]) & 0xFF == p[3] and p[2] == self._expect_counter
        if len(p) >= 3:
            self._expect_counter = (p[2] - 1) & 0xFF
        if not ok:
            self.bad_packets += 1
            return
        cmd, payload = p[4], p[5:]
        reply = bytearray([0x58, 6, p[2], 0, cmd, 0])
        reply[3] = sum(reply) & 0xFF
        self._send(bytes(reply))
        if cmd == 0x1B:
            self.period_us = int.from_bytes(payload[2:6], "little")
        elif cmd == 0x18:
            self.mask = int.from_bytes(payload[2:6], "little")
            self.starts += 1
            self._task = asyncio.get_running_loop().create_task(self._measure(self.mask, encode_measurement))
        elif cmd == 0x19 and self.mask is not None:
            self.mask = None
            self.stops += 1
            if self._task is not None:
                self._task.cancel()
                self._task = None

    def values(self, k: np.ndarray, sensors: list[int], period_s: float) -> np.ndarray:
        """(len(k), len(sensors)) values of samples ``k``."""
        t = np.asarray(k, dtype=np.float64) * period_s
        cols = []
        for s in sensors:
            if s == 1:
                cols.append(2.0 + 0.5 * np.sin(2 * np.pi * self.breath_hz * t))
            elif s == 2:
                cols.append(np.where(np.asarray(k) < self.rate_after, np.nan, 60.0 * self.breath_hz))
            else:
                cols.append(np.zeros(len(t)))
        return np.stack(cols, axis=1).astype(np.float32).astype(np.float64)

    async def _measure(self, mask: int, encode: Callable[..., bytes]) -> None:
        loop = asyncio.get_running_loop()
        period_s = (self.period_us or 100_000) / 1e6
        sensors = [i for i in range(32) if mask >> i & 1]
        n = self.samples_per_packet
        t0 = loop.time()
        k = 0
        counter = 0
        while self.connected and self.mask == mask:
            await asyncio.sleep(max(0.0, t0 + (k + n - 1) * period_s - loop.time()))
            v = self.values(np.arange(k, k + n), sensors, period_s)
            self.sent.append(v)
            self._send(encode(v, sensors, counter))
            counter = (counter + 1) & 0xFF
            k += n


D = TypeVar("D", bound=FakeDevice)


class FakeBlueZ:
    """The fake org.bluez service, running on its own thread until :meth:`close`."""

    def __init__(self, *, adapter: bool = True, powered: bool = True, deny: bool = False) -> None:
        self.objects: dict[str, dict[str, dict[str, Variant]]] = {}
        self.devices: dict[str, FakeDevice] = {}
        self.discovering = False
        self.deny = deny  # answer discovery with org.bluez.Error.NotPermitted (no permission)
        self.connecting = 0  # connections under way: BlueZ refuses a second one with InProgress
        self.in_progress_errors = 0  # how often a client overlapped scans or connects
        self.discovery_filters: list[dict[str, Any]] = []
        if adapter:
            self.objects[ADAPTER_PATH] = {
                ADAPTER: {
                    "Address": Variant("s", "00:11:22:33:44:55"),
                    "Name": Variant("s", "fakehci"),
                    "Powered": Variant("b", powered),
                    "Discovering": Variant("b", False),
                    "Roles": Variant("as", ["central", "peripheral"]),
                }
            }
        self._loop = asyncio.new_event_loop()
        self._bus: MessageBus | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="fakebluez", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"fake BlueZ did not start: {self._error!r}")

    # ------------------------------------------------------------------ thread plumbing
    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._connect())
        except BaseException as e:  # reported to the constructor
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self._adv_task = self._loop.create_task(self._advertise())
        self._loop.run_forever()

    async def _connect(self) -> None:
        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        bus.add_message_handler(self._handle)
        await bus.request_name("org.bluez")
        self._bus = bus

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn()`` on the fake's loop and return its result (thread-safe)."""
        fut: Future[Any] = Future()

        def run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as e:
                fut.set_exception(e)

        self._loop.call_soon_threadsafe(run)
        return fut.result(10)

    def close(self) -> None:
        def stop() -> None:
            for d in self.devices.values():
                d.connected = False
                d.on_disconnected()
            self._adv_task.cancel()
            if self._bus is not None:
                self._bus.disconnect()
            self._loop.call_later(0.05, self._loop.stop)

        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(stop)
            self._thread.join(5)

    def __enter__(self) -> FakeBlueZ:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ signals
    def _send(self, msg: Message) -> None:
        if self._bus is not None and self._bus.connected:
            self._bus.send(msg)

    def emit_changed(self, path: str, iface: str, changed: dict[str, Variant]) -> None:
        self.objects.setdefault(path, {}).setdefault(iface, {}).update(changed)
        self._send(Message.new_signal(path, PROPS, "PropertiesChanged", "sa{sv}as", [iface, changed, []]))

    def _added(self, path: str, ifaces: dict[str, dict[str, Variant]]) -> None:
        self.objects[path] = ifaces
        self._send(Message.new_signal("/", OM, "InterfacesAdded", "oa{sa{sv}}", [path, ifaces]))

    def _removed(self, path: str) -> None:
        ifaces = self.objects.pop(path, None)
        if ifaces:
            self._send(Message.new_signal("/", OM, "InterfacesRemoved", "oas", [path, list(ifaces)]))

    # ------------------------------------------------------------------ devices
    def add_device(self, dev: D) -> D:
        """Make ``dev`` visible (as if BlueZ had seen its advertisement)."""

        def add() -> None:
            dev.bluez = self
            self.devices[dev.path] = dev
            props: dict[str, Variant] = {
                "Address": Variant("s", dev.address),
                "AddressType": Variant("s", "random"),
                "Name": Variant("s", dev.name),
                "Alias": Variant("s", dev.name),
                "Adapter": Variant("o", ADAPTER_PATH),
                "Paired": Variant("b", False),
                "Bonded": Variant("b", False),
                "Trusted": Variant("b", False),
                "Blocked": Variant("b", False),
                "LegacyPairing": Variant("b", False),
                "Connected": Variant("b", False),
                "ServicesResolved": Variant("b", False),
                "UUIDs": Variant("as", [devices.full_uuid(u) for u in dev.uuids]),
                "RSSI": Variant("n", dev.rssi),
                "ManufacturerData": Variant(
                    "a{qv}", {k: Variant("ay", v) for k, v in dev.manufacturer_data.items()}
                ),
                "ServiceData": Variant("a{sv}", {}),
            }
            self._added(dev.path, {DEVICE: props})

        self.call(add)
        return dev

    def drop_link(self, dev: FakeDevice, reachable: bool = False) -> None:
        """Link loss: the device goes out of range (Connect fails until :meth:`set_reachable`)."""

        def drop() -> None:
            dev.reachable = reachable
            self._disconnect(dev)

        self.call(drop)

    def forget(self, dev: FakeDevice) -> None:
        """BlueZ forgets the device (its temporary device timed out): its object goes until :meth:`add_device`."""
        self.call(lambda: self._removed(dev.path))

    def set_reachable(self, dev: FakeDevice, reachable: bool = True) -> None:
        def s() -> None:
            dev.reachable = reachable

        self.call(s)

    def _disconnect(self, dev: FakeDevice) -> None:
        if not dev.connected:
            return
        dev.connected = False
        dev.events.append(("disconnect",))
        dev.on_disconnected()
        self.emit_changed(dev.path, DEVICE, {"ServicesResolved": Variant("b", False)})
        self.emit_changed(dev.path, DEVICE, {"Connected": Variant("b", False)})
        for p in [p for p in self.objects if p.startswith(dev.path + "/")]:
            self._removed(p)
        for cs in dev.services.values():
            for c in cs:
                c.notifying = False

    def _export_gatt(self, dev: FakeDevice) -> None:
        handle = 0x000C
        for suuid, chars in dev.services.items():
            spath = f"{dev.path}/service{handle:04x}"
            self._added(
                spath,
                {
                    SERVICE: {
                        "UUID": Variant("s", devices.full_uuid(suuid)),
                        "Device": Variant("o", dev.path),
                        "Primary": Variant("b", True),
                        "Handle": Variant("q", handle),
                    }
                },
            )
            sp = spath
            handle += 1
            for c in chars:
                c.uuid = devices.full_uuid(c.uuid)
                c.path = f"{sp}/char{handle:04x}"
                c.notifying = False
                self._added(
                    c.path,
                    {
                        CHAR: {
                            "UUID": Variant("s", c.uuid),
                            "Service": Variant("o", sp),
                            "Value": Variant("ay", c.value),
                            "Notifying": Variant("b", False),
                            "Flags": Variant("as", c.flags),
                            "Handle": Variant("q", handle),
                            "MTU": Variant("q", 247),
                        }
                    },
                )
                handle += 2
            handle += 1

    async def _connect_device(self, dev: FakeDevice, msg: Message) -> None:
        """As BlueZ: Connected=true, then the reply to Connect, then the GATT objects, ServicesResolved."""
        await asyncio.sleep(0.02)
        if not dev.connected:
            dev.connected = True
            dev.connects += 1
            dev.events.append(("connect",))
            self.emit_changed(dev.path, DEVICE, {"Connected": Variant("b", True)})
        self._send(Message.new_method_return(msg))
        if f"{dev.path}/service000c" in self.objects:
            return
        self._export_gatt(dev)
        await asyncio.sleep(0.02)
        self.emit_changed(dev.path, DEVICE, {"ServicesResolved": Variant("b", True)})
        dev.on_connected()

    async def _advertise(self) -> None:
        """While discovering: an RSSI change per device every 0.2 s (bleak reports what changes)."""
        k = 0
        while True:
            await asyncio.sleep(0.2)
            if not self.discovering:
                continue
            k += 1
            for dev in list(self.devices.values()):
                if dev.path in self.objects and not dev.connected:
                    self.emit_changed(dev.path, DEVICE, {"RSSI": Variant("n", dev.rssi - (k % 3))})

    # ------------------------------------------------------------------ method calls
    def _handle(self, msg: Message) -> Message | bool | None:
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        try:
            return self._dispatch(msg)
        except _DBusError as e:
            return Message.new_error(msg, e.name, e.text)

    def _dispatch(self, msg: Message) -> Message | bool | None:
        iface, member, path = msg.interface, msg.member, msg.path or ""
        if iface == OM and member == "GetManagedObjects":
            return Message.new_method_return(msg, "a{oa{sa{sv}}}", [self.objects])
        if iface == PROPS:
            obj = self.objects.get(path)
            if obj is None:
                raise _DBusError("org.freedesktop.DBus.Error.UnknownObject", path)
            if member == "GetAll":
                return Message.new_method_return(msg, "a{sv}", [obj.get(msg.body[0], {})])
            if member == "Get":
                v = obj.get(msg.body[0], {}).get(msg.body[1])
                if v is None:
                    raise _DBusError("org.freedesktop.DBus.Error.InvalidArgs", msg.body[1])
                return Message.new_method_return(msg, "v", [v])
            if member == "Set":
                self.emit_changed(path, msg.body[0], {msg.body[1]: msg.body[2]})
                return Message.new_method_return(msg)
        if path not in self.objects:
            raise _DBusError("org.freedesktop.DBus.Error.UnknownObject", f"no object {path}")
        if iface == ADAPTER:
            return self._adapter(msg, member)
        if iface == DEVICE:
            return self._device(msg, member, self.devices[path])
        if iface == CHAR:
            return self._char(msg, member, path)
        raise _DBusError("org.freedesktop.DBus.Error.UnknownMethod", f"{iface}.{member}")

    def _adapter(self, msg: Message, member: str | None) -> Message | bool:
        powered = self.objects[ADAPTER_PATH][ADAPTER]["Powered"].value
        if member == "SetDiscoveryFilter":
            self.discovery_filters.append({k: v.value for k, v in msg.body[0].items()})
            return Message.new_method_return(msg)
        if member == "StartDiscovery":
            if not powered:
                raise _DBusError("org.bluez.Error.NotReady", "Resource Not Ready")
            if self.deny:
                raise _DBusError("org.bluez.Error.NotPermitted", "Operation not permitted")
            if self.discovering:  # BlueZ: one discovery per client at a time (ble.md section 5)
                self.in_progress_errors += 1
                raise _DBusError("org.bluez.Error.InProgress", "Operation already in progress")
            self.discovering = True
            self.emit_changed(ADAPTER_PATH, ADAPTER, {"Discovering": Variant("b", True)})
            return Message.new_method_return(msg)
        if member == "StopDiscovery":
            self.discovering = False
            self.emit_changed(ADAPTER_PATH, ADAPTER, {"Discovering": Variant("b", False)})
            return Message.new_method_return(msg)
        if member == "RemoveDevice":
            return Message.new_method_return(msg)
        raise _DBusError("org.freedesktop.DBus.Error.UnknownMethod", f"Adapter1.{member}")

    def _device(self, msg: Message, member: str | None, dev: FakeDevice) -> Message | bool:
        if member == "Connect":
            if not dev.reachable:
                raise _DBusError("org.bluez.Error.Failed", "le-connection-abort-by-remote")
            if self.connecting or self.discovering:  # one LE connection attempt at a time, not while scanning
                self.in_progress_errors += 1
                raise _DBusError("org.bluez.Error.InProgress", "Operation already in progress")
            self.connecting += 1
            task = self._loop.create_task(self._connect_device(dev, msg))
            task.add_done_callback(lambda _t: setattr(self, "connecting", self.connecting - 1))
            return True
        if member == "Disconnect":
            self._disconnect(dev)
            return Message.new_method_return(msg)
        raise _DBusError("org.freedesktop.DBus.Error.UnknownMethod", f"Device1.{member}")

    def _char(self, msg: Message, member: str | None, path: str) -> Message:
        dev = next(d for d in self.devices.values() if path.startswith(d.path + "/"))
        c = next(c for cs in dev.services.values() for c in cs if c.path == path)
        if member == "StartNotify":
            dev.start_notify_calls[c.uuid] = dev.start_notify_calls.get(c.uuid, 0) + 1
            c.notifying = True
            dev.events.append(("subscribe", c.uuid))
            self.emit_changed(path, CHAR, {"Notifying": Variant("b", True)})
            dev.on_notify_started(c)
            return Message.new_method_return(msg)
        if member == "StopNotify":
            c.notifying = False
            self.emit_changed(path, CHAR, {"Notifying": Variant("b", False)})
            return Message.new_method_return(msg)
        if member == "ReadValue":
            dev.reads[c.uuid] = dev.reads.get(c.uuid, 0) + 1
            return Message.new_method_return(msg, "ay", [self.objects[path][CHAR]["Value"].value])
        if member == "WriteValue":
            data = bytes(msg.body[0])
            dev.writes.append((c.uuid, data))
            dev.events.append(("write", c.uuid, data))
            if c.on_write is not None:
                self._loop.call_soon(c.on_write, data)
            return Message.new_method_return(msg)
        raise _DBusError("org.freedesktop.DBus.Error.UnknownMethod", f"GattCharacteristic1.{member}")


class _DBusError(Exception):
    def __init__(self, name: str, text: str) -> None:
        super().__init__(text)
        self.name = name
        self.text = text


def wait_for(cond: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll ``cond`` until true or ``timeout_s`` (True when it became true)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()
