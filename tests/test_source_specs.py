"""`breathsync run --help` lists every source's syntax as its module defines it (SPEC_SYNTAX), and so does the
README: neither can fall behind what the sources accept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run_breathsync

from breathsync.sources import ble, lsl, replay, sim, xdf

README = Path(__file__).resolve().parents[1] / "README.md"
SPECS = [replay.SPEC_SYNTAX, xdf.SPEC_SYNTAX, sim.SPEC_SYNTAX, lsl.SPEC_SYNTAX, ble.SPEC_SYNTAX]


@pytest.fixture(scope="module")
def run_help() -> str:
    r = run_breathsync("run", "--help", timeout=60)
    assert r.returncode == 0, r.stderr
    return " ".join(r.stdout.split())  # argparse wraps lines at spaces only


@pytest.mark.parametrize("spec", SPECS)
def test_run_help_and_readme_give_each_sources_syntax(run_help: str, spec: str) -> None:
    assert spec in run_help
    assert f"`{spec}`" in README.read_text()


def test_replays_options_are_all_in_its_syntax() -> None:
    """column= and rate= were missing from run's help; the spec parser's options are the syntax's."""
    accepted = set(re.findall(r"\[,(\w+)", replay.SPEC_SYNTAX))
    assert accepted == {"loop", "participant", "column", "rate"}
    for mode, keys in sim._MODE_KEYS.items():
        assert f"{mode}: {', '.join(k + '=' for k in keys)}" in sim.SPEC_OPTIONS
