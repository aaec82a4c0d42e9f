"""--publish only at --speed 1 (run inside a loopback-only network namespace, see loopback.py)."""

from __future__ import annotations

import pytest
from conftest import posix_only
from loopback import loopback_only

from breathsync.errors import InputError
from breathsync.lsl_out import LslPublisher
from breathsync.sources.base import SessionClock

pytestmark = posix_only("network namespaces (unshare -n)")


@pytest.mark.parametrize("speed", ["10", "0.5"])
def test_publish_only_in_real_time(speed: str, capsys: pytest.CaptureFixture[str]) -> None:
    """At --speed 10 the stamps were base + t/10: a stream declaring 20 Hz delivered 200 samples/s, time-
    compressed against every other stream of a lab recording. Refused with one line, before any outlet."""
    import pylsl

    from breathsync.cli import main

    for cmd in (["run", "-p", "A=sim:steady", "-p", "B=sim:follow"], ["demo"]):
        code = main([*cmd, "--publish", "--speed", speed, "--quiet", "--duration", "5"])
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        (line,) = err.strip().splitlines()
        assert line == (
            f"breathsync: error: --publish at --speed {speed}: LSL streams are stamped in real time, and a "
            "session at another speed would be compressed or stretched in time against every other stream "
            "recorded with it; publish at --speed 1"
        )
    assert not pylsl.resolve_byprop("name", "breathsync-events", 1, 1.0)  # nothing was published
    with pytest.raises(InputError, match="publish at --speed 1"):
        LslPublisher(SessionClock(speed=float(speed)))
    assert LslPublisher(SessionClock(speed=1.0)).lsl_time(0.0) > 0  # speed 1 is published as before


def test_sessions_started_again_from_the_dashboard_are_published(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run --publish` published the session it started with; one started again from the window (Start
    after Stop) was not. The command line gives the window its way of publishing, which refuses a speed
    set to other than 1 in the window as the command line does."""
    import breathsync.ui
    from breathsync.cli import main
    from breathsync.live import build_session
    from breathsync.session import SessionConfig

    seen: dict[str, object] = {}

    def fake_dashboard(parts, **kw):  # type: ignore[no-untyped-def]
        prepare = kw["prepare"]
        assert any(isinstance(x, LslPublisher) for x in kw["session"]._sinks)  # the first one, as before
        again = build_session(parts, speed=1.0, config=SessionConfig())
        prepare(again)
        seen["published"] = any(isinstance(x, LslPublisher) for x in again._sinks)
        with pytest.raises(InputError, match="publish at --speed 1"):
            prepare(build_session(parts, speed=10.0, config=SessionConfig()))
        from breathsync.ui.app import DashboardResult

        return DashboardResult(error="closed by the test")

    monkeypatch.setattr(breathsync.ui, "display_available", lambda: True)
    monkeypatch.setattr(breathsync.ui, "run_dashboard", fake_dashboard)
    assert main(["run", "-p", "A=sim:steady", "--publish", "--duration", "5"]) == 2
    assert seen == {"published": True}
    assert "closed by the test" in capsys.readouterr().err


loopback_only(globals())  # every test above runs in a loopback-only network namespace


def test_a_pair_sample_says_how_long_before_its_stamp_its_window_ended() -> None:
    """The Synchrony sample is stamped when the view showed it; for a strap the window it scored ended a
    median 1.7 s before (up to 4.4 s in one recording), which LabRecorder users could not see."""
    from view_snapshots import pair, snapshot

    from breathsync.lsl_out import PAIR_CHANNELS

    class Outlet:
        def __init__(self) -> None:
            self.pushed: list[tuple[list[float], float]] = []

        def push_sample(self, values: list[float], stamp: float) -> None:
            self.pushed.append((values, stamp))

    pub = LslPublisher(SessionClock(1.0))
    out = Outlet()
    pub._pairs[("A", "B")] = out
    pub._started = True
    pub.on_snapshot(snapshot(t_s=60.0, pairs=(pair(window_end_s=58.3),)))
    values, stamp = out.pushed[0]
    assert len(values) == len(PAIR_CHANNELS) and PAIR_CHANNELS[-1] == ("window_age", "seconds")
    assert values[-1] == pytest.approx(1.7)
    assert stamp == pytest.approx(pub.lsl_time(60.0))
