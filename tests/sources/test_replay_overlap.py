"""Replays on times that never meet (another clock, another day) are refused before the session starts: the
session waited for ever, showing "no signal" for the later file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import breathing, run_main

from breathsync.errors import InputError
from breathsync.io.csvfile import write_recording
from breathsync.live import ParticipantArg, build_session
from breathsync.sources.replay import MAX_REPLAY_GAP_S, ReplaySource, check_replays_overlap


def _csv(path: Path, t0: float, duration_s: float = 40.0) -> Path:
    t, y, _ = breathing(duration_s=duration_s, fs_hz=25.0, t0=t0)
    write_recording(path, t, {"resp": y})
    return path


def test_two_replays_on_times_that_never_meet_are_refused(tmp_path: Path) -> None:
    ok = _csv(tmp_path / "ok.csv", 0.0)
    epoch = _csv(tmp_path / "time_epoch.csv", 1.7e9)
    parts = [ParticipantArg("A", f"replay:{ok}"), ParticipantArg("B", f"replay:{epoch}")]
    with pytest.raises(InputError) as info:
        build_session(parts)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("participants A (ok.csv: 0 to 39.96 s) and B (time_epoch.csv: 1700000000 to")
    assert "B's recording starts 1.7e+09 s (53.9 years) after A's ends" in message
    assert "shift one file's time column" in message
    # The same whatever order they are given in.
    with pytest.raises(InputError, match=r"participants A \(ok.csv.* and B \(time_epoch"):
        build_session(parts[::-1])


def test_the_command_line_says_so_in_one_line_and_records_nothing(tmp_path: Path) -> None:
    ok = _csv(tmp_path / "ok.csv", 0.0)
    later = _csv(tmp_path / "later.csv", 3700.0)
    out = tmp_path / "rec"
    r = run_main(
        "run",
        "-p",
        f"A=replay:{ok}",
        "-p",
        f"B=replay:{later},loop",
        "--speed",
        "300",
        "--headless",
        "--record",
        out,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "B's recording starts 3660 s (61 min) after A's ends" in r.stderr
    assert not out.exists()


def test_overlapping_replays_and_a_chain_of_them_are_accepted(tmp_path: Path) -> None:
    a = ReplaySource(_csv(tmp_path / "a.csv", 0.0))
    b = ReplaySource(_csv(tmp_path / "b.csv", 30.0))  # overlaps a
    c = ReplaySource(_csv(tmp_path / "c.csv", 60.0))  # overlaps b only: someone always plays
    check_replays_overlap([("A", a), ("B", b), ("C", c)])
    d = ReplaySource(_csv(tmp_path / "d.csv", 75.0, duration_s=1.0))  # inside c
    check_replays_overlap([("A", a), ("C", c), ("D", d), ("B", b)])
    e = ReplaySource(_csv(tmp_path / "e.csv", 1000.0))
    with pytest.raises(
        InputError, match=r"participants C \(c\.csv: 60 to 99.96 s\) and E .* starts 900 s \(15 min\) after"
    ):
        check_replays_overlap([("E", e), ("A", a), ("B", b), ("C", c)])


def test_one_replay_and_other_sources_are_left_alone(tmp_path: Path) -> None:
    late = _csv(tmp_path / "late.csv", 1.7e9)
    build_session([ParticipantArg("A", f"replay:{late}"), ParticipantArg("B", "sim:steady")])
    assert np.isfinite(ReplaySource(late).first_time)


def test_a_short_pause_between_recordings_is_accepted_a_long_one_refused(tmp_path: Path) -> None:
    """A few seconds or minutes with nothing playing (one sitting, a participant who stepped out) is a short
    "no signal"; only a gap of more than MAX_REPLAY_GAP_S (another clock, another day) is refused."""
    a = ReplaySource(_csv(tmp_path / "a.csv", 0.0, duration_s=90.0))
    b = ReplaySource(_csv(tmp_path / "b.csv", 92.0))  # 2.04 s after a ends
    check_replays_overlap([("A", a), ("B", b)])
    c = ReplaySource(_csv(tmp_path / "c.csv", 89.96 + MAX_REPLAY_GAP_S))
    check_replays_overlap([("A", a), ("C", c)])
    d = ReplaySource(_csv(tmp_path / "d.csv", 89.96 + MAX_REPLAY_GAP_S + 1.0))
    with pytest.raises(InputError, match=r"D's recording starts 601 s \(10 min\) after A's ends"):
        check_replays_overlap([("A", a), ("D", d)])


def test_a_looping_replay_and_a_late_one(tmp_path: Path) -> None:
    a90 = _csv(tmp_path / "a90.csv", 0.0, duration_s=90.0)
    b_late = _csv(tmp_path / "b_late.csv", 92.0)
    build_session([ParticipantArg("A", f"replay:{a90},loop"), ParticipantArg("B", f"replay:{b_late}")])
    # A loop fills the session, but not another clock's gap: B would never show.
    epoch = _csv(tmp_path / "epoch.csv", 1.7e9)
    with pytest.raises(InputError) as info:
        build_session([ParticipantArg("A", f"replay:{a90},loop"), ParticipantArg("B", f"replay:{epoch}")])
    message = str(info.value)
    assert "\n" not in message
    assert "after A's ends (looping A does not fill it: B would show no signal that long)" in message
