"""A recording whose ``resp`` a partner's breathsync derived (``# derived_from: rr``, written by a session that
joined the partner's published stream) replays as derived breathing, as it was live: ``--invert`` refused
before the session, the RR note, no clipped share, and a recording of the replay keeps the line. It replayed as
a belt's."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import breathing, run_main
from test_derived_from import _pair

from breathsync.io.csvfile import read_recording, write_recording
from breathsync.lsl_out import ARBITRARY_UNIT, published_signal, resp_unit
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
    # A recording, replayed: stamped at the times it describes, it keeps the live band-pass's phase shift, not
    # the ~1.3 s a live session waits for its samples (the note said "about 1.3 s behind").
    note = next(ln for ln in events.splitlines() if "B: breathing derived from heart beats (RR)" in ln)
    assert "derived from heart beats (RR) live by the breathsync that published it" in note, note
    assert "0.29 s behind at 15 breaths/min, 0.80 s ahead at 6" in note and "1.3 s" not in note, note
    assert "check the belt" not in events and "loosen the belt" not in events
    assert read_recording(str(rec / "B.csv")).derived_from() == ("rr", "")
    assert read_recording(str(rec / "A.csv")).derived_from() == ("", "")


def test_a_session_publishing_derived_breathing_it_joined_or_replayed_says_where_it_came_from() -> None:
    # Re-published (--publish) by a session that joined a partner's strap through lsl: or replayed its
    # recording, the stream said "signal: resp": a session joining it took it for a belt.
    joined = {"signal": "resp", "source": {"kind": "lsl", "derived_from": "rr", "unit": "resp: mV"}}
    assert published_signal(joined) == "rr" and resp_unit(joined) == ARBITRARY_UNIT
    belt = {"signal": "resp", "source": {"kind": "replay", "unit": "resp: mV"}}
    assert published_signal(belt) == "resp" and resp_unit(belt) == "mV"
    assert published_signal({"signal": "acc", "source": {"kind": "ble"}}) == "acc"
    assert (
        published_signal({"signal": "resp", "source": {"derived_from": "ecg"}}) == "resp"
    )  # not a derivation


def test_a_replayed_derived_waveforms_missed_beat_is_no_lost_partner(tmp_path: Path) -> None:
    # Breathing another breathsync derived from heart beats comes as beats are accepted: a missed beat leaves
    # a few seconds without a sample (4 s here), which the live join allows (4.5 s) and a replay allowed only
    # 3.5 s of ("B: no signal" at every missed beat).
    t, y, _ = breathing(duration_s=90.0, fs_hz=4.0, rate_bpm=10, seed=2)
    keep = (t < 40.0) | (t >= 44.0)
    belt, derived = tmp_path / "A.csv", tmp_path / "B.csv"
    write_recording(belt, t, {"resp": y}, {"participant": "A"})
    write_recording(derived, t[keep], {"resp": y[keep]}, {"participant": "B", "derived_from": "rr"})
    rec = tmp_path / "rec"
    args = ["run", "-p", f"A=replay:{belt}", "-p", f"B=replay:{derived}", "--speed", "300", "--quiet"]
    assert run_main(*args, "--record", str(rec)).returncode == 0
    assert ",source_lost," not in (rec / "events.csv").read_text(encoding="utf-8")
