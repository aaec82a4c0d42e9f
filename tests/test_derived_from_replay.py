"""A recording whose ``resp`` a partner's breathsync derived (``# derived_from: rr``, written by a session that
joined the partner's published stream) replays as derived breathing, as it was live: ``--invert`` refused
before the session, the RR note, no clipped share, and a recording of the replay keeps the line. It replayed as
a belt's."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_main
from test_derived_from import _pair

from breathsync.io.csvfile import read_recording
from breathsync.sources.replay import ReplaySource


def test_the_replay_says_what_its_breathing_was_derived_from(tmp_path: Path) -> None:
    belt, derived = _pair(tmp_path, "rr")
    assert (ReplaySource(str(derived)).signal, ReplaySource(str(derived)).derived_from) == ("resp", "rr")
    assert ReplaySource(str(derived)).describe()["derived_from"] == "rr"
    plain = ReplaySource(str(belt))
    assert plain.derived_from == "" and "derived_from" not in plain.describe()
    (tmp_path / "other").mkdir()
    _, other = _pair(tmp_path / "other", "ecg")
    assert ReplaySource(str(other)).derived_from == ""  # neither rr nor acc: a belt's, as analyze reads it


def test_invert_on_a_replay_of_derived_breathing_is_refused(tmp_path: Path) -> None:
    belt, derived = _pair(tmp_path, "rr")
    r = run_main("run", "-p", f"A=replay:{belt}", "-p", f"B=replay:{derived}", "--invert", "B", "--quiet")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "--invert B" in r.stderr and "heart beats" in r.stderr, r.stderr


def test_a_session_replaying_it_treats_it_as_derived_and_records_it_so(tmp_path: Path) -> None:
    belt, derived = _pair(tmp_path, "rr")
    rec = tmp_path / "rec"
    args = ["run", "-p", f"A=replay:{belt}", "-p", f"B=replay:{derived}", "--speed", "300", "--quiet"]
    r = run_main(*args, "--duration", "120", "--record", str(rec))
    assert r.returncode == 0, r.stderr
    info = json.loads((rec / "session.json").read_text(encoding="utf-8"))
    parts = info["summary"]["participants"]
    assert parts["B"]["clipped_frac"] is None and parts["A"]["clipped_frac"] == 0.0
    events = (rec / "events.csv").read_text(encoding="utf-8")
    assert "B: breathing derived from heart beats (RR) by the breathsync publishing it" in events
    assert "check the belt" not in events and "loosen the belt" not in events
    assert read_recording(str(rec / "B.csv")).derived_from() == ("rr", "")
    assert read_recording(str(rec / "A.csv")).derived_from() == ("", "")
