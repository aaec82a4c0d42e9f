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
(bytes built with ``devices.heart_rate.encode_hrm``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

import devices
from devices.heart_rate import encode_hrm

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
        conf.write_text(BUS_CONFIG.format(socket=sock))
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
            self.bluez.emit_changed(c.path, CHAR, {"Value": Variant("ay", bytes(data))})

    # hooks for subclasses
    def on_connected(self) -> None: ...

    def on_disconnected(self) -> None: ...

    def on_notify_started(self, char: FakeChar) -> None: ...


class FakeHeartRateStrap(FakeDevice):
    """A strap streaming HRM notifications: one per beat, RR cycling through ``rr_ms``, sent in real time."""

    def __init__(self, address: str = "C0:FF:EE:00:00:01", name: str = "FakeHR 0001", **kw: Any) -> None:
        hr = devices.get_profile("heart-rate")
        self.hrm_uuid = hr.stream("hrm").characteristic
        super().__init__(
            address=address,
            name=name,
            uuids=list(hr.service_uuids),
            services={hr.service_uuids[0]: [FakeChar(self.hrm_uuid, ["notify"])]},
            **kw,
        )
        self.rr_ms: list[float] = [800.0, 850.0, 900.0, 850.0, 800.0, 750.0, 700.0, 750.0]
        self.sent = 0
        self.garbage_every = 0  # send a malformed notification after every n-th good one (0: never)
        self._task: asyncio.Task[None] | None = None

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
            self.notify(self.hrm_uuid, encode_hrm(60000 // int(rr), [rr], contact=True))
            self.sent += 1
            if self.garbage_every and self.sent % self.garbage_every == 0:
                self.notify(self.hrm_uuid, bytes([0x10, 60, 0x01]))  # odd RR bytes: malformed
            k += 1


class FakeBlueZ:
    """The fake org.bluez service, running on its own thread until :meth:`close`."""

    def __init__(self, *, adapter: bool = True, powered: bool = True) -> None:
        self.objects: dict[str, dict[str, dict[str, Variant]]] = {}
        self.devices: dict[str, FakeDevice] = {}
        self.discovering = False
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
    def add_device(self, dev: FakeDevice) -> FakeDevice:
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

    def set_reachable(self, dev: FakeDevice, reachable: bool = True) -> None:
        def s() -> None:
            dev.reachable = reachable

        self.call(s)

    def _disconnect(self, dev: FakeDevice) -> None:
        if not dev.connected:
            return
        dev.connected = False
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
                            "Value": Variant("ay", b""),
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
            self._loop.create_task(self._connect_device(dev, msg))
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
            self.emit_changed(path, CHAR, {"Notifying": Variant("b", True)})
            dev.on_notify_started(c)
            return Message.new_method_return(msg)
        if member == "StopNotify":
            c.notifying = False
            self.emit_changed(path, CHAR, {"Notifying": Variant("b", False)})
            return Message.new_method_return(msg)
        if member == "ReadValue":
            return Message.new_method_return(msg, "ay", [self.objects[path][CHAR]["Value"].value])
        if member == "WriteValue":
            data = bytes(msg.body[0])
            dev.writes.append((c.uuid, data))
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
