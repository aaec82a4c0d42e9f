"""What the "looks inverted" note says, by signal: a belt can be checked (worn the other way round); a chest
accelerometer has no belt, and breathsync sets which way is inhale itself; breathing derived from heart beats
has a direction set by physiology (the heart speeds up on inhale), so it is never said to look inverted."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from conftest import breathing, run_collecting

from breathsync.analysis import _acc_inverted_warning, analyse_files
from breathsync.io.csvfile import write_recording
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.session_types import Snapshot
from breathsync.sources.base import SessionClock
from breathsync.sources.replay import ReplaySource

#: Inhale 80% of the cycle at 10/min: long enough that even the RR-derived waveform rises longer than it
#: falls (its shape is the heart's response, softened: at 70% it does not).
INHALE_FRAC, RATE_BPM = 0.8, 10.0
#: The sessions' --speed: what is said, and when, is the same at any speed (tests/test_session_events_speed.py),
#: so the fastest offered (1 s for 300 s of session; 5 s at 60x).
SPEED = 300.0


def _beats(t: np.ndarray, y: np.ndarray, rr0: float = 900.0, depth: float = 100.0) -> tuple[Any, Any]:
    """Heart beats whose RR interval shortens as the breath goes in (y high): beat times, RR ms."""
    bt, rr = [], []
    now = float(t[0]) + 0.5
    while now < t[-1]:
        r = rr0 - depth * float(np.interp(now, t, y))
        now += r / 1000.0
        bt.append(now)
        rr.append(r)
    return np.array(bt[:-1]), np.array(rr[:-1])


def _files(tmp_path: Path) -> dict[str, Path]:
    t, y, _ = breathing(300.0, 25.0, RATE_BPM, inhale_frac=INHALE_FRAC, noise=0.01, seed=3)
    bt, rr = _beats(t, y)
    rng = np.random.default_rng(1)
    acc = {
        "acc_x": 5 * rng.standard_normal(t.size),
        "acc_y": 3 + 2 * rng.standard_normal(t.size),
        "acc_z": 1000 + 20 * y + rng.standard_normal(t.size),
    }
    # A Polar H10's file: accelerometer rows and beat rows interleaved in time order.
    times = np.concatenate([t, bt])
    order = np.argsort(times, kind="stable")
    h10 = {c: np.concatenate([v, np.full(bt.size, np.nan)])[order] for c, v in acc.items()}
    h10["rr_ms"] = np.concatenate([np.full(t.size, np.nan), rr])[order]
    paths = {k: tmp_path / f"{k}.csv" for k in ("belt", "rr", "acc")}
    write_recording(paths["belt"], t, {"resp": y})
    write_recording(paths["rr"], bt, {"rr_ms": rr})
    write_recording(paths["acc"], times[order], h10)
    return paths


def _events(path: Path) -> tuple[list[str], list[Snapshot]]:
    parts = [ParticipantSpec("A", ReplaySource(path)), ParticipantSpec("B", ReplaySource(path))]
    snaps = run_collecting(Session(parts, SessionClock(SPEED), SessionConfig()), 300.0)
    texts = [e.text for s in snaps for e in s.events if e.kind == "inverted_signal" and "A" in e.participants]
    return texts, snaps


def test_a_belt_is_still_told_to_be_checked(tmp_path: Path) -> None:
    path = _files(tmp_path)["belt"]
    res = analyse_files([str(path)])
    assert res["participants"][0]["inverted_suspected"]
    assert any("if this belt falls on inhale, add the line '# invert: true'" in w for w in res["warnings"])
    texts, _ = _events(path)
    assert texts == ["A: the signal looks inverted (rises longer than it falls): check the belt"]


def test_breathing_from_heart_beats_is_never_said_to_be_inverted(tmp_path: Path) -> None:
    """Its direction is physiology's, not a way of wearing anything, and nothing can be done about its shape."""
    path = _files(tmp_path)["rr"]
    res = analyse_files([str(path)])
    assert res["participants"][0]["inverted_suspected"]  # the shape, as the JSON describes it
    assert not [w for w in res["warnings"] if "inverted" in w or "belt" in w], res["warnings"]
    texts, snaps = _events(path)
    assert texts == []
    assert not any(s.participant("A").inverted_suspected for s in snaps)  # the dashboard's "(inverted?)"


def test_an_accelerometer_is_not_told_to_check_a_belt(tmp_path: Path) -> None:
    path = _files(tmp_path)["acc"]
    res = analyse_files([str(path)])
    p = res["participants"][0]
    assert p["inverted_suspected"] and p["acc_sign"]["basis_frac"]["heart"] > 0.5
    (said,) = [w for w in res["warnings"] if "rises longer than it falls" in w]
    assert "belt falls on inhale" not in said and "# invert" not in said
    assert said.startswith(
        "A: the chest accelerometer's breathing rises longer than it falls, though the heart's rhythm confirmed "
        "which way is inhale for "
    )
    assert said.endswith(
        "of the recording: this person's inhale may simply be the longer half (no belt to check)"
    )
    texts, _ = _events(path)
    assert len(texts) == 1 and "check the belt" not in texts[0] and "no belt to check" in texts[0], texts
    assert texts[0].startswith("A: the accelerometer's breathing rises longer than it falls")


@pytest.mark.parametrize(
    ("beats", "heart", "tail"),
    [
        (False, 0.0, "record the strap's heart beats too (an rr_ms column)"),
        (True, 0.1, "the heart's rhythm seldom confirmed it"),
    ],
)
def test_an_unconfirmed_accelerometer_direction_says_what_to_do(beats: bool, heart: float, tail: str) -> None:
    sign = {"heart_beats": beats, "basis_frac": {"none": 0.1, "guess": 0.9 - heart, "heart": heart}}
    said = _acc_inverted_warning("A", sign)
    assert said == (
        "A: the chest accelerometer's breathing rises longer than it falls, so which way is inhale looks wrong "
        f"and the phase may be upside down (no belt to check): {tail}"
    )


@pytest.mark.parametrize(
    ("kind", "advice"),
    [
        ("replay", "replay a file that has the strap's heart beats too (an rr_ms column)"),
        ("ble", "record the strap's heart beats too"),
    ],
)
def test_the_session_says_what_to_do_for_an_accelerometer_without_beats(kind: str, advice: str) -> None:
    source = SimpleNamespace(signal="acc", extra_columns=(), describe=lambda: {"kind": kind})
    p = SimpleNamespace(label="A", source=source, sign_basis="guess", beats_seen=0)
    said = Session._inverted_text(Session.__new__(Session), p)  # type: ignore[arg-type]
    assert said == (
        "A: the accelerometer's breathing rises longer than it falls, so which way is inhale looks wrong and the "
        f"phase may be upside down (no belt to check): {advice}"
    )


def test_a_simulated_partner_is_never_told_to_check_a_belt(tmp_path: Path) -> None:
    """The same belt-shaped breathing (inhale 80% of the cycle) from a simulated partner: no belt to check.
    (The demo's partner, pulled into step with a real breather, rose 0.55 of its cycles and was warned.)"""
    path = _files(tmp_path)["belt"]
    parts = [
        ParticipantSpec("A", ReplaySource(path), simulated=True),
        ParticipantSpec("B", ReplaySource(path)),
    ]
    snaps = run_collecting(Session(parts, SessionClock(SPEED), SessionConfig()), 300.0)
    warned = {p for s in snaps for e in s.events if e.kind == "inverted_signal" for p in e.participants}
    assert warned == {"B"}  # the person's belt still is
    assert not any(s.participant("A").inverted_suspected for s in snaps)
    assert any(s.participant("B").inverted_suspected for s in snaps)


def test_a_belt_turned_over_is_told_to_undo_what_turned_it(tmp_path: Path) -> None:
    """A belt that looks inverted only because its file says '# invert: true' (recorded with --invert) was
    told to add that line, which it already had; turned over by --invert, to add the line too."""
    t, y, _ = breathing(300.0, 25.0, RATE_BPM, inhale_frac=INHALE_FRAC, noise=0.01, seed=3)
    marked, plain = tmp_path / "marked.csv", tmp_path / "plain.csv"
    write_recording(marked, t, {"resp": -y}, {"invert": "true"})  # turned over when read: y, inverted-looking
    write_recording(plain, t, {"resp": -y})
    res = analyse_files([str(marked)])
    assert res["participants"][0]["inverted_suspected"]
    (w,) = [w for w in res["warnings"] if "looks inverted" in w]
    assert "remove that line" in w and "add the line" not in w
    res = analyse_files([str(plain)], invert=True)
    (w,) = [w for w in res["warnings"] if "looks inverted" in w]
    assert "leave out --invert" in w and "add the line" not in w
    # Both together cancel out: the file is read as it is, and it does not look inverted.
    assert not analyse_files([str(marked)], invert=True)["participants"][0]["inverted_suspected"]
