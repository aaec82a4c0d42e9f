"""`breathsync run --help` lists every source's syntax as its module defines it (SPEC_SYNTAX), and so does the
README: neither can fall behind what the sources accept."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import run_breathsync, run_main, symlink_or_skip

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
    assert f"`{spec}`" in README.read_text(encoding="utf-8")


def test_replays_options_are_all_in_its_syntax() -> None:
    """column= and rate= were missing from run's help; the spec parser's options are the syntax's."""
    accepted = set(re.findall(r"\[,(\w+)", replay.SPEC_SYNTAX))
    assert accepted == {"loop", "participant", "column", "rate"}
    for mode, keys in sim._MODE_KEYS.items():
        assert f"{mode}: {', '.join(k + '=' for k in keys)}" in sim.SPEC_OPTIONS


SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"


def test_one_recording_replayed_for_two_participants_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was a pair in perfect synchrony with itself (analyze already refused the same file twice)."""
    from breathsync.errors import InputError
    from breathsync.live import ParticipantArg, build_session

    src = SAMPLES / "pair_sync_A.csv"
    monkeypatch.chdir(SAMPLES)
    link = tmp_path / "again.csv"
    symlink_or_skip(link, src)
    hard = tmp_path / "hard.csv"
    try:
        os.link(src, hard)  # a hard link is the same file too (the real path cannot tell)
    except OSError:  # another file system than the checkout's: a copy would be another file
        hard = link
    for other in (str(src), "pair_sync_A.csv", f"{link},loop", str(hard)):
        parts = [ParticipantArg("A", f"replay:{src}"), ParticipantArg("B", f"replay:{other}")]
        with pytest.raises(InputError, match=r"participants A and B both replay .*pair_sync_A.csv.*own"):
            build_session(parts)
    r = run_main("run", "-p", f"A=replay:{src}", "-p", f"B=replay:{src}", "--quiet", timeout=60)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "both replay" in r.stderr
    # Two people's recordings, or two columns of one file (two belts on one system), are two participants.
    build_session([ParticipantArg("A", f"replay:{src}"), ParticipantArg("B", "replay:pair_sync_B.csv")])
