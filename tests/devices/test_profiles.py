"""The registry: lookup, scan matching, streams and the breathing signal each profile feeds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import devices
from breathsync.sources.base import SIGNAL_COLUMNS

REPO = Path(__file__).resolve().parents[2]


def test_registry_names_and_lookup() -> None:
    assert set(devices.PROFILES) == {"heart-rate", "polar-h10", "gdx-rb"}
    with pytest.raises(KeyError, match="known: gdx-rb, heart-rate, polar-h10"):
        devices.get_profile("zephyr")
    with pytest.raises(KeyError, match="no stream"):
        devices.get_profile("polar-h10").stream("ppg")


def test_match_most_specific_first() -> None:
    # The Heart Rate Service's UUID from its profile (only devices/ writes UUIDs), in the short forms an
    # advertisement may give: "180d", "0x180D".
    hrs = devices.get_profile("heart-rate").service_uuids[0]
    short = hrs[4:8]
    assert devices.full_uuid(short) == hrs and devices.full_uuid("0x" + short.upper()) == hrs
    assert devices.match_profile("Polar H10 1A2B3C4D", [short]).name == "polar-h10"  # type: ignore[union-attr]
    assert devices.match_profile("TICKR 1234", ["0x" + short.upper()]).name == "heart-rate"  # type: ignore[union-attr]
    assert devices.match_profile("GDX-RB 0K1", []).name == "gdx-rb"  # type: ignore[union-attr]
    # A service no profile has (5 above the Heart Rate Service: Human Interface Device, a keyboard).
    other = f"{int(short, 16) + 5:04x}"
    assert all(devices.full_uuid(other) not in p.service_uuids for p in devices.PROFILES.values())
    assert devices.match_profile("Keyboard", [other]) is None


def test_signal_columns_are_the_sessions() -> None:
    for p in devices.PROFILES.values():
        spec = p.stream(p.signal_stream)
        assert spec.signal == p.signal
        assert set(spec.signal_columns) == set(SIGNAL_COLUMNS[p.signal])
        ctl = p.controller()
        assert ctl.start_steps(), p.name
        for step in ctl.start_steps():
            if isinstance(step, devices.Subscribe):
                assert step.stream in p.streams


def test_decoding_modules_import_no_io() -> None:
    """The layers rule: decoding modules are pure (no asyncio, bleak, Qt)."""
    for path in (REPO / "devices").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        for bad in ("asyncio", "bleak", "PyQt6", "pyqtgraph"):
            assert not any(m == bad or m.startswith(bad + ".") for m in names), (path, bad)


def test_the_polar_h10_gives_rr_intervals_beside_its_accelerometer() -> None:
    """The H10's Heart Rate Measurement is an extra stream: RR intervals (rr_ms) next to the ACC signal,
    for the accelerometer's sign; the generic strap's RR IS its signal, so it has no extra stream."""
    h10 = devices.get_profile("polar-h10")
    assert h10.signal == "acc" and h10.extra_streams == ("hrm",) and h10.extra_columns == ("rr_ms",)
    hrm = h10.stream("hrm")
    assert hrm.signal == "rr" and hrm.signal_columns == {"rr_ms": "rr_ms"}
    subscribed = {s.stream for s in h10.controller().start_steps() if isinstance(s, devices.Subscribe)}
    assert "hrm" in subscribed
    assert not set(h10.extra_columns) & set(SIGNAL_COLUMNS[h10.signal])
    hr = devices.get_profile("heart-rate")
    assert (
        hr.signal == "rr" and hr.signal_stream == "hrm" and hr.extra_streams == () and hr.extra_columns == ()
    )
    for p in devices.PROFILES.values():
        for name in p.extra_streams:
            assert name != p.signal_stream and p.stream(name).signal_columns


def test_an_extra_stream_must_be_another_stream_with_columns() -> None:
    from dataclasses import replace

    h10 = devices.get_profile("polar-h10")
    for bad in (("ppg",), ("pmd",), ("control",)):
        with pytest.raises(ValueError, match="extra stream"):
            replace(h10, extra_streams=bad)
    with pytest.raises(ValueError, match="repeats columns"):
        replace(h10, extra_streams=("acc",))  # the signal's own columns again
