"""A partner whose source fails at its start (a device not found, a stream not published) ends a pair's
session at once: it used to run the other person alone to its end, or a simulated partner alone to its
--duration, and say only at the end that the partner never came. A group keeps going while two are left."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from conftest import breathing, run_collecting

from breathsync.live import SessionEnd, report_end
from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock, SourceError, SourceStatus
from breathsync.sources.memory import MemorySource

SPEED = 25.0
FAIL_AT_S = 3.0  # the failing start gives up this far into the session (a scan's timeout)
#: A session that ends at the failure ends by then (its --duration is 60 s; 15 s is room for a busy machine).
ENDS_BY_S = FAIL_AT_S + 15.0
WHY = "ble:Polar H10: no matching device found within 3 s (is it worn, switched on ...)"


class _NotFound(MemorySource):
    """A device that is never found: its start waits ``FAIL_AT_S`` of session time, then fails."""

    async def start(self, clock: SessionClock) -> None:
        await clock.sleep_until(FAIL_AT_S)
        raise SourceError(WHY)


def _belt(seed: int) -> MemorySource:
    t, y, _ = breathing(duration_s=120, fs_hz=25, rate_bpm=12, seed=seed)
    return MemorySource(t, {"resp": y}, name=f"belt{seed}")


def _never(name: str = "strap") -> _NotFound:
    t, y, _ = breathing(duration_s=120, fs_hz=25, rate_bpm=12, seed=9)
    return _NotFound(t, {"resp": y}, name=name)


def _events(folder: Path) -> list[dict[str, str]]:
    with open(folder / "events.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def _run(
    specs: list[ParticipantSpec], tmp_path: Path, duration_s: float | None = 60.0
) -> tuple[float, int, str]:
    session = Session(specs, SessionClock(SPEED), SessionConfig())
    session.add_sink(Recorder(tmp_path / "rec"))
    snaps = run_collecting(session, duration_s)  # type: ignore[arg-type]
    final = snaps[-1]
    err = io.StringIO()
    code = report_end(SessionEnd(summary=None, final=final), out=io.StringIO(), err=err)
    return final.t_s, code, err.getvalue()


def test_a_pair_ends_when_the_partners_device_is_not_found(tmp_path: Path) -> None:
    t_end, code, err = _run([ParticipantSpec("A", _belt(1)), ParticipantSpec("B", _never())], tmp_path)
    assert FAIL_AT_S <= t_end < ENDS_BY_S  # not the 60 s of --duration with A alone
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"breathsync: error: participant B: {WHY}")
    end = [e for e in _events(tmp_path / "rec") if e["kind"] == "session_end"]
    assert len(end) == 1
    assert "B's source failed at the start, leaving A without a partner" in end[0]["text"]
    # What A gave until then is recorded.
    with open(tmp_path / "rec" / "A.csv", encoding="utf-8") as f:
        rows = [r for r in f if r[:1].isdigit()]
    assert len(rows) > FAIL_AT_S * 25 * 0.8


def test_without_a_duration_too(tmp_path: Path) -> None:
    t_end, code, _ = _run([ParticipantSpec("A", _never()), ParticipantSpec("B", _belt(2))], tmp_path, None)
    assert t_end < ENDS_BY_S and code == 2  # B's belt holds 120 s


def test_a_simulated_partner_is_not_left_alone_to_the_duration(tmp_path: Path) -> None:
    """The person's device is not found: the simulated partner alone is nothing to practise with."""
    specs = [ParticipantSpec("A", _never()), ParticipantSpec("B", _belt(3), simulated=True)]
    t_end, code, _ = _run(specs, tmp_path)
    assert t_end < ENDS_BY_S and code == 2
    end = [e for e in _events(tmp_path / "rec") if e["kind"] == "session_end"]
    assert "leaving only the simulated B without a partner" in end[0]["text"]


def test_a_group_goes_on_while_two_are_left(tmp_path: Path) -> None:
    specs = [
        ParticipantSpec("A", _belt(1)),
        ParticipantSpec("B", _belt(2)),
        ParticipantSpec("C", _never()),
    ]
    session = Session(specs, SessionClock(SPEED), SessionConfig())
    snaps = run_collecting(session, 40.0)
    assert snaps[-1].t_s > 39.0
    assert snaps[-1].participants[2].source_status == SourceStatus.FAILED.value
    assert any(p.plv == p.plv for p in snaps[-1].pairs if {p.a, p.b} == {"A", "B"})  # A and B were scored


def test_two_of_three_failing_end_the_group(tmp_path: Path) -> None:
    specs = [
        ParticipantSpec("A", _belt(1)),
        ParticipantSpec("B", _never("s1")),
        ParticipantSpec("C", _never("s2")),
    ]
    t_end, code, err = _run(specs, tmp_path)
    assert t_end < ENDS_BY_S and code == 2
    assert "participant B:" in err and "participant C:" in err
    end = [e for e in _events(tmp_path / "rec") if e["kind"] == "session_end"]
    assert "B and C's sources failed at the start, leaving A without a partner" in end[0]["text"]


def test_a_source_that_fails_mid_session_does_not_end_it(tmp_path: Path) -> None:
    """Only a start that failed: a partner who delivered and then failed keeps the other going (as before)."""

    class _Dies(MemorySource):
        async def stream(self):  # type: ignore[no-untyped-def]
            async for chunk in super().stream():
                if float(chunk.t[0]) > 10.0:
                    raise SourceError("the belt's battery is flat")
                yield chunk

    t, y, _ = breathing(duration_s=120, fs_hz=25, rate_bpm=12, seed=4)
    session = Session(
        [ParticipantSpec("A", _belt(1)), ParticipantSpec("B", _Dies(t, {"resp": y}, name="d"))],
        SessionClock(SPEED),
        SessionConfig(),
    )
    snaps = run_collecting(session, 30.0)
    assert snaps[-1].t_s > 29.0


def _short_belt(seed: int, until_s: float) -> MemorySource:
    t, y, _ = breathing(duration_s=until_s, fs_hz=25, rate_bpm=12, seed=seed)
    return MemorySource(t, {"resp": y}, name=f"short{seed}")


def test_a_partner_whose_source_has_ended_is_not_left_to_practise_with(tmp_path: Path) -> None:
    """A's recording ended at 2 s, then B's start failed: C alone is no pair (C was counted as one of two)."""
    specs = [
        ParticipantSpec("A", _short_belt(1, 2.0)),
        ParticipantSpec("B", _never()),
        ParticipantSpec("C", _belt(3)),
    ]
    t_end, code, _ = _run(specs, tmp_path)
    assert t_end < ENDS_BY_S and code == 2
    end = [e for e in _events(tmp_path / "rec") if e["kind"] == "session_end"]
    assert "B's source failed at the start, leaving C without a partner" in end[0]["text"]


def test_simulated_partners_alone_do_not_run_to_the_duration(tmp_path: Path) -> None:
    """The one person's device is not found: two simulated partners are left, nothing to practise with."""
    specs = [
        ParticipantSpec("A", _never()),
        ParticipantSpec("B", _belt(2), simulated=True),
        ParticipantSpec("C", _belt(3), simulated=True),
    ]
    t_end, code, _ = _run(specs, tmp_path)
    assert t_end < ENDS_BY_S and code == 2
    end = [e for e in _events(tmp_path / "rec") if e["kind"] == "session_end"]
    assert "leaving only the simulated B and C without a partner" in end[0]["text"]


def test_every_start_failing_says_so(tmp_path: Path) -> None:
    """Both fail at once: the end names both, not one as "left without a partner"."""
    specs = [ParticipantSpec("A", _never("s1")), ParticipantSpec("B", _never("s2"))]
    t_end, code, err = _run(specs, tmp_path)
    assert t_end < ENDS_BY_S and code == 2
    assert "participant A:" in err and "participant B:" in err
    end = [e for e in _events(tmp_path / "rec") if e["kind"] == "session_end"]
    assert len(end) == 1 and "without a partner" not in end[0]["text"], end


def test_the_lead_phase_ends_without_its_leader(tmp_path: Path) -> None:
    """In the lead phase the training is the leader's and the follower's: B and C went on matching to the
    --duration under "A and B: breathe together; then A leads" with A's device never found."""
    specs = [ParticipantSpec("A", _never()), ParticipantSpec("B", _belt(2)), ParticipantSpec("C", _belt(3))]
    session = Session(specs, SessionClock(SPEED), SessionConfig(phase="lead", leader="A"))
    session.add_sink(Recorder(tmp_path / "rec"))
    snaps = run_collecting(session, 60.0)
    assert snaps[-1].t_s < ENDS_BY_S
    end = [e for e in _events(tmp_path / "rec") if e["kind"] == "session_end"]
    assert "A's source failed at the start, and the lead phase is A's and B's (A leads)" in end[0]["text"]


def test_the_free_phase_goes_on_without_one_of_three(tmp_path: Path) -> None:
    specs = [ParticipantSpec("A", _never()), ParticipantSpec("B", _belt(2)), ParticipantSpec("C", _belt(3))]
    snaps = run_collecting(Session(specs, SessionClock(SPEED), SessionConfig(phase="free")), 30.0)
    assert snaps[-1].t_s > 29.0
