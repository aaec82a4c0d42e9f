"""Which channel of an LSL stream is read, and as what (run inside a loopback-only network namespace, see
loopback.py): the channel's <type> and <unit> from the stream description (the XDF meta-data conventions,
https://github.com/sccn/xdf/wiki/Meta-Data), rates never, two belts not guessed, RR intervals as rr, an ECG
refused; the unit and the stream's name in a recording."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import posix_only
from loopback import loopback_only

from breathsync.sources.base import SampleChunk, SessionClock, SourceError
from breathsync.sources.lsl import LslSource

pytestmark = posix_only("network namespaces (unshare -n)")


@contextmanager
def _outlet(
    name: str,
    kind: str,
    channels: list[tuple[str, str, str]],
    srate: float,
    sample: Callable[[int], list[float]],
) -> Iterator[None]:
    """An outlet whose description lists (label, type, unit) per channel, pushing ``sample(k)`` every 50 ms."""
    import pylsl

    info = pylsl.StreamInfo(name, kind, len(channels), srate, pylsl.cf_float32, f"{name}-id")
    chans = info.desc().append_child("channels")
    for label, ctype, unit in channels:
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("type", ctype)
        ch.append_child_value("unit", unit)
    outlets = [pylsl.StreamOutlet(info)]
    stop = threading.Event()

    def push() -> None:
        k = 0
        while not stop.is_set():
            outlets[0].push_sample(sample(k), pylsl.local_clock())
            k += 1
            time.sleep(0.05)

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    try:
        yield
    finally:
        stop.set()
        pusher.join()
        outlets.clear()  # the stream goes away


def _pull(src: LslSource, want: int, timeout_s: float = 30.0) -> list[SampleChunk]:
    """Stream ``src`` until ``want`` samples have arrived, it ends (its error is raised) or ``timeout_s``
    (a fixed pull of a second or so got nothing at all where resolving the stream took longer)."""
    got: list[SampleChunk] = []

    async def main() -> None:
        clock = SessionClock()
        clock.start()
        await src.start(clock)

        async def pull() -> None:
            async for chunk in src.stream():
                got.append(chunk)

        puller = asyncio.create_task(pull())
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        while not puller.done() and sum(len(c) for c in got) < want and loop.time() < end:
            await asyncio.sleep(0.05)
        await src.stop()
        await puller

    asyncio.run(main())
    return got


def _start_error(src: LslSource) -> str:
    with pytest.raises(SourceError) as e:
        asyncio.run(src.start(SessionClock()))
    return str(e.value)


RATE_AND_WAVE = [("RespirationRate", "RATE", "breaths/min"), ("BreathingWaveform", "RESP", "mV")]


def test_the_waveform_not_the_rate_with_its_unit() -> None:
    """RespirationRate (breaths/min) was read as the waveform: the first label containing "resp"."""
    with _outlet("Respiration", "Respiration", RATE_AND_WAVE, 20.0, lambda k: [15.0 + k % 3, float(k)]):
        src = LslSource("Respiration", timeout_s=5.0)
        got = _pull(src, 12)
        y = np.concatenate([c.columns["resp"] for c in got])
        assert y.size >= 10 and np.all(np.diff(y) == 1.0)  # the waveform's 0, 1, 2 ... not the rate's 15-17
        d = src.describe()
        assert (d["channel"], d["signal"], d["unit"]) == ("BreathingWaveform", "resp", "resp: mV")
        err = _start_error(LslSource("Respiration", timeout_s=5.0, channel="RespirationRate"))
        assert err.startswith(
            "lsl: stream 'Respiration': channel 'RespirationRate' is a rate (breaths/min), not a breathing waveform"
        )


def test_two_respiration_channels_are_refused_naming_them() -> None:
    chans = [("RESP_A", "RESP", "mV"), ("RESP_B", "RESP", "mV")]
    with _outlet("belts", "Respiration", chans, 20.0, lambda k: [1.0, 2.0]):
        assert _start_error(LslSource("belts", timeout_s=5.0)) == (
            "lsl: stream 'belts' has 2 respiration channels ('RESP_A' (RESP, mV), 'RESP_B' (RESP, mV)): add "
            ",channel=NAME to choose one"
        )
        src = LslSource("belts", timeout_s=5.0, channel="RESP_B")
        y = np.concatenate([c.columns["resp"] for c in _pull(src, 5)])
        assert y.size and np.all(y == 2.0)


def test_rr_intervals_arrive_as_rr_and_an_ecg_is_refused() -> None:
    """An irregular-rate stream of RR intervals was read as a belt (resp = 850, 898.6 ...); an ECG named
    with ,channel=ECG ran as a belt (37.7 breaths/min)."""
    import pylsl

    rr = [850.0, 898.6, 872.7]
    with _outlet("PolarH10-RR", "RR", [("rr_ms", "RR", "ms")], pylsl.IRREGULAR_RATE, lambda k: [rr[k % 3]]):
        src = LslSource("PolarH10-RR", timeout_s=5.0)
        got = _pull(src, 6)
        assert src.signal == "rr" and src.describe()["signal"] == "rr" and "unit" not in src.describe()
        assert all(set(c.columns) == {"rr_ms"} for c in got)
        assert set(np.round(np.concatenate([c.columns["rr_ms"] for c in got]), 1)) <= set(rr)
    chans = [("Fz", "EEG", "microvolts"), ("ECG", "ECG", "mV")]
    with _outlet("amp", "EEG", chans, 250.0, lambda k: [0.0, 0.0]):
        err = _start_error(LslSource("amp", timeout_s=5.0, channel="ECG"))
        assert err.startswith(
            "lsl: stream 'amp': channel 'ECG' is an ECG: for a live stream breathsync derives breathing from RR "
            "intervals, not from a raw ECG"
        )
        assert "\n" not in err


@pytest.mark.parametrize(("unit", "value"), [("", 0.85), ("ms", 0.0)])
def test_rr_intervals_no_heart_gives_fail_the_source(
    unit: str, value: float, capsys: pytest.CaptureFixture[str]
) -> None:
    """RR intervals in seconds without a unit, or all 0, ran as "0 breaths, rate unknown" with exit 0: a
    replay refuses such a file; a live stream fails once its first 10 intervals are all outside 300-2000 ms."""
    import pylsl

    from breathsync.cli import main

    with _outlet("strap", "RR", [("rr_ms", "RR", unit)], pylsl.IRREGULAR_RATE, lambda k: [value]):
        src = LslSource("strap", timeout_s=5.0)
        with pytest.raises(SourceError) as e:
            _pull(src, 10**6)
        assert str(e.value) == (
            "lsl: stream 'strap': channel 'rr_ms': none of its first 10 RR intervals is between 300 and 2000 ms "
            f"(30-200 beats/min; the last was {value:.4g}): check that it sends RR intervals in milliseconds "
            "(unit ms) or seconds (unit s)"
        )
        code = main(["run", "-p", "A=lsl:strap,timeout=5", "--duration", "3", "--quiet"])
    assert code != 0
    assert "none of its first 10 RR intervals" in capsys.readouterr().err
    # A real strap's intervals, artefacts among them, run on.
    rr = [850.0, 0.0, 872.7]
    with _outlet("strap", "RR", [("rr_ms", "RR", "ms")], pylsl.IRREGULAR_RATE, lambda k: [rr[k % 3]]):
        got = _pull(LslSource("strap", timeout_s=5.0), 12)
        assert sum(c.columns["rr_ms"].size for c in got) > 10


def test_the_recording_names_the_stream_and_its_unit(tmp_path: Path) -> None:
    """The recording said "# source: lsl" (no stream) and had no "# unit:" line."""
    from breathsync.cli import main
    from breathsync.io.csvfile import read_recording

    wave: Callable[[int], list[float]] = lambda k: [15.0, float(np.sin(2 * np.pi * 0.25 * k * 0.05))]  # noqa: E731
    out = tmp_path / "rec"
    with _outlet("Respiration", "Respiration", RATE_AND_WAVE, 20.0, wave):
        code = main(
            ["run", "-p", "A=lsl:Respiration,timeout=5", "--duration", "3", "--quiet", "--record", str(out)]
        )
    assert code == 0
    meta: dict[str, Any] = read_recording(str(out / "A.csv")).meta
    assert (meta["source"], meta["unit"]) == ("lsl:Respiration", "resp: mV")


loopback_only(globals())  # every test above runs in a loopback-only network namespace
