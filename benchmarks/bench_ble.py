"""Wearables: the live path's cost per notification for two devices, and reconnection time.

    python benchmarks/bench_ble.py [--minutes 10] [--reconnects 5]

1. Live path cost, CPU only (no radio): ten minutes of notifications from a Polar H10 (ACC at 50 Hz in
   frames of 10 samples, with the strap's timestamps, breathing-like chest motion, plus its own HRM
   notifications, whose RR intervals give the accelerometer its sign) and a heart-rate strap (one HRM
   notification a second with RR intervals), interleaved as they would arrive. For each notification:
   decode (devices/), map to the host clock (ClockMapper / BeatClock), derive the breathing waveform
   (dsp/acc.py, dsp/rr.py) and run the live pipeline (dsp/pipeline.py). Median and 99th percentile per
   notification, per device.
2. A recording's capture of those notifications (``<label>_ble.csv``): its size per hour, written by the
   recorder.
3. Reconnection (needs dbus-daemon, as the BLE tests): bleak's real BlueZ backend against the fake BlueZ of
   tests/ble/fakebluez.py; a heart-rate strap drops its link, comes back after 1 s; time from "back in range"
   to the first new samples, over ``--reconnects`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path

import numpy as np
from _common import table

import devices
from breathsync.dsp.acc import AccRespiration
from breathsync.dsp.clock import BeatClock, ClockMapper
from breathsync.dsp.pipeline import RespPipeline
from breathsync.dsp.rr import RRRespiration
from devices.heart_rate import encode_hrm
from devices.polar_pmd import encode_frame

POLAR_EPOCH_NS = 946_684_800 * 10**9  # 2000-01-01 in Unix ns (ble.md section 2)


FS_ACC = 50.0


def notifications(minutes: float) -> list[tuple[float, str, bytes]]:
    """(arrival s, kind, bytes) of both devices, in arrival order: "acc" and "h10hrm" the Polar H10's, "hrm"
    the strap's."""
    rng = np.random.default_rng(0)
    fs, frame = FS_ACC, 10
    n = int(minutes * 60 * fs)
    t = np.arange(n) / fs
    breath = np.sin(2 * np.pi * 0.25 * t)
    acc = np.column_stack([30 * breath, 10 * breath, 1000 + 5 * breath]) + rng.normal(0, 3, (n, 3))
    acc = np.rint(acc).astype(int)
    device_t0_ns = 700_000_000 * 10**9  # the strap's own clock, far from the host's
    events: list[tuple[float, str, bytes]] = []
    for k in range(0, n, frame):
        last = k + frame - 1
        ts = device_t0_ns + round(last / fs * 1e9)
        arrival = last / fs + 0.02 + rng.exponential(0.03)
        events.append((arrival, "acc", encode_frame(2, ts, acc[k : k + frame])))
    beat_t = np.cumsum(0.8 + 0.08 * np.sin(2 * np.pi * 0.25 * np.arange(int(minutes * 80)) * 0.8))
    for b in range(1, beat_t.size):
        if beat_t[b] > t[-1]:
            break
        rr = (beat_t[b] - beat_t[b - 1]) * 1000
        events.append((beat_t[b] + 0.05 + rng.exponential(0.05), "hrm", encode_hrm(75, [rr])))
        events.append((beat_t[b] + 0.05 + rng.exponential(0.05), "h10hrm", encode_hrm(75, [rr])))
    events.sort(key=lambda e: e[0])
    return events


def live_path(events: list[tuple[float, str, bytes]], minutes: float) -> list[list[str]]:
    acc_dec = devices.get_profile("polar-h10").stream("acc").decoder()
    hrm_dec = devices.get_profile("heart-rate").stream("hrm").decoder()
    h10_hrm_dec = devices.get_profile("polar-h10").stream("hrm").decoder()
    mapper, beats, h10_beats = ClockMapper(), BeatClock(), BeatClock()
    acc_resp, rr_resp = AccRespiration(fs_hz=FS_ACC), RRRespiration()
    pipe_a, pipe_b = RespPipeline(), RespPipeline()  # as a session makes them
    cost: dict[str, list[float]] = {"acc": [], "h10hrm": [], "hrm": []}
    for arrival, kind, data in events:
        t0 = time.perf_counter()
        if kind == "acc":
            for d in acc_dec.feed(data):
                if d.kind != "acc":
                    continue
                # As the BLE source does (sources/ble.py, _emit): the frame's last sample is the point that
                # arrived; feeding all ten with one arrival refitted the clock up to ten times a frame (a
                # 99th percentile of 8.8-10.2 ms that no session paid).
                mapper.update(d.device_t_s[-1], arrival)
                host = mapper.to_host(d.device_t_s)
                xyz = np.column_stack([d.columns["acc_x"], d.columns["acc_y"], d.columns["acc_z"]])
                ty, y = acc_resp.process(host, xyz)
                pipe_a.process(ty, y)
        elif kind == "h10hrm":  # the H10's own beats: the accelerometer's sign
            for d in h10_hrm_dec.feed(data):
                rr = d.columns.get("rr_ms", np.empty(0))
                if rr.size:
                    acc_resp.process_rr(h10_beats.update(rr, arrival), rr)
        else:
            for d in hrm_dec.feed(data):
                rr = d.columns.get("rr_ms", np.empty(0))
                if rr.size:
                    bt = beats.update(rr, arrival)
                    ty, y = rr_resp.process(bt, rr)
                    pipe_b.process(ty, y)
        cost[kind].append(time.perf_counter() - t0)
    rows = []
    for kind, name in (
        ("acc", "Polar H10 ACC frame (10 samples at 50 Hz)"),
        ("h10hrm", "Polar H10 HRM (its RR: the ACC's sign)"),
        ("hrm", "heart-rate strap HRM"),
    ):
        c = np.array(cost[kind]) * 1e6
        rows.append([name, str(c.size), f"{np.median(c):.0f}", f"{np.percentile(c, 99):.0f}"])
    total = sum(sum(v) for v in cost.values())
    rows.append(["both devices, whole run", "", f"{100 * total / (minutes * 60):.2f}% of one core", ""])
    return rows


def capture_size(events: list[tuple[float, str, bytes]], minutes: float) -> list[list[str]]:
    """What a recording's capture of these notifications (``<label>_ble.csv``) takes, per hour: written by
    the recorder itself into a temporary folder."""
    import tempfile

    from breathsync.recorder import Recorder
    from breathsync.session_types import SessionInfo
    from breathsync.sources.base import Packet

    who = {"acc": ("H10", "acc"), "h10hrm": ("H10", "hrm"), "hrm": ("strap", "hrm")}
    with tempfile.TemporaryDirectory() as tmp:
        rec = Recorder(Path(tmp) / "rec")
        parts = [{"label": "H10", "source": {"kind": "ble", "device": "polar-h10"}}]
        parts.append({"label": "strap", "source": {"kind": "ble", "device": "heart-rate"}})
        info = SessionInfo(parts, {}, "", "bench")
        rec.open(info)
        cost = []
        for arrival, kind, data in events:
            label, stream = who[kind]
            t0 = time.perf_counter()
            rec.on_packets(label, [Packet(arrival, 1, stream, data)])  # (a session hands over a snapshot's)
            cost.append(time.perf_counter() - t0)
        rec.close(info)
        rows = []
        for label, what in (
            ("H10", "Polar H10 (ACC 50 Hz in frames of 10, and HRM)"),
            ("strap", "heart-rate strap"),
        ):
            size = (Path(tmp) / "rec" / f"{label}_ble.csv").stat().st_size
            rows.append([what, f"{size / minutes * 60 / 1e6:.2f} MB", ""])
        c = np.array(cost) * 1e6
        rows.append(
            [
                "writing it, per notification",
                "",
                f"{np.median(c):.1f} us median, {np.percentile(c, 99):.0f} p99",
            ]
        )
    return rows


def reconnections(runs: int) -> list[list[str]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ble"))
    from fakebluez import FakeBlueZ, FakeHeartRateStrap, private_bus  # type: ignore[import-not-found]

    from breathsync.sources.base import SessionClock, SourceStatus
    from breathsync.sources.ble import parse_ble_spec

    times = []
    for _ in range(runs):
        with private_bus(), FakeBlueZ() as bz:
            strap = FakeHeartRateStrap()
            strap.rr_ms = [400.0, 450.0, 500.0, 450.0]
            bz.add_device(strap)

            async def main(strap: FakeHeartRateStrap = strap, bz: FakeBlueZ = bz) -> float:
                clock = SessionClock()
                clock.start()
                src = parse_ble_spec("FakeHR,timeout=5")
                await src.start(clock)
                got: list[float] = []

                async def pump() -> None:
                    async for _ch in src.stream():
                        got.append(time.monotonic())

                task = asyncio.create_task(pump())
                while len(got) < 3:
                    await asyncio.sleep(0.02)
                await asyncio.to_thread(bz.drop_link, strap)
                while src.status is not SourceStatus.RECONNECTING:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(1.0)
                await asyncio.to_thread(bz.set_reachable, strap)
                back = time.monotonic()
                while not any(x > back for x in got):
                    await asyncio.sleep(0.01)
                first = next(x for x in got if x > back)
                await src.stop()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return first - back

            times.append(asyncio.run(main()))
    a = np.array(times)
    return [
        [
            "back in range -> samples flowing",
            f"{np.median(a):.2f}",
            f"{a.min():.2f}-{a.max():.2f}",
            str(a.size),
        ]
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--reconnects", type=int, default=5)
    args = ap.parse_args()
    print(f"1. Live path per notification, two devices, {args.minutes:g} min (us)")
    events = notifications(args.minutes)
    print(table(live_path(events, args.minutes), ["notification", "count", "median", "p99"]))
    print("\n2. A recording's capture of the notifications (<label>_ble.csv)")
    print(table(capture_size(events, args.minutes), ["device", "size per hour", "cost"]))
    print("\n3. Reconnection against the fake BlueZ (s)")
    print(table(reconnections(args.reconnects), ["what", "median", "range", "runs"]))


if __name__ == "__main__":
    main()
