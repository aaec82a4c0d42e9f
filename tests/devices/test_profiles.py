"""The registry: lookup, scan matching, streams and the breathing signal each profile feeds."""

from __future__ import annotations

import ast
import re
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
    assert devices.match_profile("Polar H10 1A2B3C4D", ["180d"]).name == "polar-h10"  # type: ignore[union-attr]
    assert devices.match_profile("TICKR 1234", ["0x180D"]).name == "heart-rate"  # type: ignore[union-attr]
    assert devices.match_profile("GDX-RB 0K1", []).name == "gdx-rb"  # type: ignore[union-attr]
    assert devices.match_profile("Keyboard", ["1812"]) is None


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


def test_no_uuid_outside_devices() -> None:
    uuid = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
    for path in (REPO / "breathsync").rglob("*.py"):
        assert not uuid.search(path.read_text()), path
