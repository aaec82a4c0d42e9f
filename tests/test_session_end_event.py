"""Every session's events end with one session_end event saying why it ended: its duration over, every
source ended, stopped (with the signal's or the dashboard's words). There was one only when a bug ended it
or only simulated partners were left, so a researcher reading events.csv could not tell a session stopped
with Ctrl-C from one that ran its course. Also: a Ctrl-C while the command is still importing ends it with
exit 130 and no traceback."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import breathing, run_collecting

from breathsync.live import stop_words
from breathsync.session import ParticipantSpec, Session
from breathsync.session_types import Event, Snapshot
from breathsync.sources.base import SessionClock
from breathsync.sources.memory import MemorySource
from breathsync.sources.sim import SimSource

ROOT = Path(__file__).resolve().parents[1]


def _ends(events: list[Event]) -> list[Event]:
    return [e for e in events if e.kind == "session_end"]


def _all_events(snaps: list[Snapshot]) -> list[Event]:
    return [e for s in snaps for e in s.events]


def _sims() -> Session:
    return Session(
        [
            ParticipantSpec("A", SimSource("steady", rate_bpm=12.0, seed=1)),
            ParticipantSpec("B", SimSource("steady", rate_bpm=12.0, seed=2)),
        ],
        SessionClock(100.0),
    )


def test_a_session_that_runs_its_duration_says_so_at_its_end() -> None:
    snaps = run_collecting(_sims(), 20.0)
    ends = _ends(_all_events(snaps))
    assert [(e.t_s, e.text) for e in ends] == [(20.0, "the session ends: its duration (20 s) is over")]
    assert ends[0] in snaps[-1].events  # in the final snapshot, so the recording has it


def test_a_session_whose_sources_all_ended_says_so() -> None:
    t, y, _ = breathing(duration_s=30.0, fs_hz=25, rate_bpm=12, seed=1)
    session = Session(
        [
            ParticipantSpec("A", MemorySource(t, {"resp": y})),
            ParticipantSpec("B", MemorySource(t, {"resp": -y})),
        ],
        SessionClock(100.0),
    )
    ends = _ends(_all_events(run_collecting(session, None)))  # type: ignore[arg-type]
    assert [e.text for e in ends] == ["the session ends: every source has ended"]
    assert 29.9 < ends[0].t_s <= 30.0  # at the last sample, whatever the speed


def test_a_stopped_session_says_why_with_the_first_reason() -> None:
    session = _sims()

    async def main() -> Snapshot:
        run = asyncio.create_task(session.run(600.0))
        while session.clock.now() < 10.0:
            await asyncio.sleep(0.01)
        session.request_stop("stopped with Ctrl-C")
        session.request_stop("its window was closed")  # a second request does not change why
        return await run

    final = asyncio.run(main())
    ends = _ends(list(final.events))
    assert [e.text for e in ends] == ["the session ends: stopped with Ctrl-C"]
    assert 10.0 <= ends[0].t_s < 20.0


def test_stop_words_name_the_signal() -> None:
    assert stop_words(signal.SIGINT) == "stopped with Ctrl-C"
    assert stop_words(signal.SIGTERM) == "stopped by SIGTERM"
    if hasattr(signal, "SIGHUP"):
        assert stop_words(signal.SIGHUP) == "its terminal closed"
    assert stop_words(250) == "stopped by signal 250"


def test_the_command_is_the_entry_that_catches_a_ctrl_c_while_importing() -> None:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert doc["project"]["scripts"]["breathsync"] == "breathsync.entry:main"
    assert "breathsync.entry import main" in (ROOT / "breathsync" / "__main__.py").read_text(encoding="utf-8")


def test_a_ctrl_c_while_importing_ends_with_130_and_no_traceback() -> None:
    # The Ctrl-C arrives, deterministically, as NumPy is being imported (what takes the command's first
    # fraction of a second): a finder raises KeyboardInterrupt there, as the signal would.
    script = """
import sys
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            raise KeyboardInterrupt
        return None
sys.meta_path.insert(0, CtrlC())
from breathsync.entry import main
sys.exit(main(["analyze", "x.csv"]))
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 130, r.stderr
    assert r.stderr == "" and r.stdout == ""


def test_the_session_names_the_pair_its_goal_counts() -> None:
    """Three people, B and C locked: the training view names B-C (the pair in sync longest), which the
    dashboard's plot shows; with nobody in sync, the first pair."""
    from breathsync.sources.base import PhaseProbe

    probes = {"B": PhaseProbe()}
    session = Session(
        [
            ParticipantSpec("A", SimSource("steady", rate_bpm=9.0, seed=1)),
            ParticipantSpec("B", SimSource("steady", rate_bpm=12.0, seed=2)),
            ParticipantSpec(
                "C", SimSource("follow", rate_bpm=12.5, coupling=3.0, delay_s=0.2, seed=3, probe=probes["B"])
            ),
        ],
        SessionClock(100.0),
        probes=probes,
    )
    snaps = run_collecting(session, 120.0)
    assert snaps[0].training.pair == ("A", "B")
    assert snaps[-1].pairs and any(pv.in_sync for pv in snaps[-1].pairs if (pv.a, pv.b) == ("B", "C"))
    assert snaps[-1].training.pair == ("B", "C")
