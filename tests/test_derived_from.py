"""Breathing a partner's breathsync derived from heart beats or a chest accelerometer (an ``lsl:`` source joining
its published stream, an XDF replay of it: ``Source.derived_from``) arrives as a ``resp`` waveform. Its
recording says so (``# derived_from: rr``), and ``analyze``, ``report`` and ``--batch`` read it as derived, as
the session treated it: no belt advice, no ``clipped_frac``, the RR note, and a ``lead_note`` beside a belt.
It was recorded as a plain ``resp`` and analysed as a belt ("if this belt falls on inhale, add the line
'# invert: true'", a clipped_frac, and no word that the lead between a belt and heart-beat breathing includes
the derivation's delay)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import breathing, run_collecting

from breathsync.analysis import analyse_paths, lead_note, summary_text
from breathsync.batch import analyse_batch
from breathsync.dsp.rr import filter_phase_delay_s
from breathsync.export_bids import export_bids
from breathsync.io.csvfile import read_recording, write_recording
from breathsync.recorder import Recorder
from breathsync.report import build_report
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock
from breathsync.sources.memory import MemorySource

#: What analyze says of a belt only.
BELT_WORDS = ("belt", "# invert", "--invert", "clipped")


def _pair(tmp_path: Path, derived: str | None) -> tuple[Path, Path]:
    """A belt (A) and, written by hand as a session's recorder writes a partner's published stream, B's
    breathing: rising longer than it falls (a belt's "looks inverted"), held at its top a quarter of the
    time (a belt's "clipped"), 1.3 s behind A; with a ``# derived_from:`` line when ``derived``."""
    t, a, _ = breathing(300.0, 25.0, 10.0, inhale_frac=0.4, seed=1)
    _, b, _ = breathing(300.0, 25.0, 10.0, inhale_frac=0.8, seed=2, t0=-1.3)
    b = np.minimum(b, np.percentile(b, 75))
    belt = tmp_path / "A.csv"
    write_recording(belt, t, {"resp": a}, {"participant": "A", "signal": "resp"})
    lines = ["# participant: B", "# source: lsl:breathsync-B", "# signal: resp"]
    if derived is not None:
        lines.append(f"# derived_from: {derived}")
    lines += ["# unit: resp: a.u.", "time,resp"]
    lines += [f"{ti:.2f},{bi:.6f}" for ti, bi in zip(t, b, strict=True)]
    other = tmp_path / "B.csv"
    other.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return belt, other


def _analyse(paths: list[Path]) -> tuple[dict[str, Any], str]:
    res, together = analyse_paths([str(p) for p in paths])
    return res, summary_text(res, together.parts)


def _b_warnings(res: dict[str, Any]) -> list[str]:
    return [w for w in res["warnings"] if w.startswith("B:")]


def test_breathing_derived_from_heart_beats_beside_a_belt(tmp_path: Path) -> None:
    res, text = _analyse(list(_pair(tmp_path, "rr")))
    a, b = res["participants"]
    assert (b["signal"], b["derived_from"], b["clipped_frac"]) == ("resp", "rr", None)
    assert "derived_from" not in a and isinstance(a["clipped_frac"], float)  # the belt, as before
    assert b["inverted_suspected"]  # the shape, as the JSON describes it: nothing to act on
    said = _b_warnings(res)
    assert not [w for w in said if any(x in w for x in BELT_WORDS)], said
    # Its samples are stamped at the times they describe: offline it keeps the live band-pass's phase shift
    # at its rate, not the ~1.3 s a live session waits for it ("about 1.3 s behind, offline too").
    (w,) = said
    assert w.startswith(
        "B: breathing derived from RR intervals: works best with slow, relaxed breathing (derived live by the "
        "breathsync that published it: offline it keeps the live band-pass's phase shift, about "
    )
    m = re.search(r"about (\d+\.\d+) s (behind|ahead) at its (\d+\.\d) breaths/min\)$", w)
    assert m is not None, w
    shift = filter_phase_delay_s(float(m.group(3)))
    assert float(m.group(1)) == pytest.approx(abs(shift), abs=0.006) and (m.group(2) == "behind") == (
        shift >= 0
    )
    assert abs(shift) < 1.0
    note = res["pairs"][0]["summary"]["lead_note"]
    assert note is not None and note.startswith(
        "A (resp) and B (resp from heart beats) are different sensors: the relative phase and lead between "
        "them include the delay of deriving breathing from heart beats"
    )
    assert note.endswith(
        "(B's breathing was derived live by the breathsync that published it, so the offline lead includes "
        "the live derivation's phase shift too)"
    )
    assert "B: B.csv (resp from heart beats), 300 s" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("A-B:"))
    assert line.endswith("; " + note)


def test_breathing_derived_from_a_chest_accelerometer_gets_the_sessions_words(tmp_path: Path) -> None:
    res, text = _analyse(list(_pair(tmp_path, "acc")))
    b = res["participants"][1]
    assert (b["derived_from"], b["clipped_frac"], "acc_sign" in b) == ("acc", None, False)
    assert _b_warnings(res) == [
        "B: the breathing from B's chest accelerometer rises longer than it falls: which way is inhale was set "
        "by the breathsync that published it (no belt to check)"
    ]
    note = res["pairs"][0]["summary"]["lead_note"]
    assert note is not None and "B (resp from a chest accelerometer)" in note
    assert "B: B.csv (resp from a chest accelerometer)" in text


def test_without_the_line_it_is_a_belt_as_before(tmp_path: Path) -> None:
    """The same samples without ``# derived_from:``: a belt, with a belt's advice (what derived breathing
    got before)."""
    res, text = _analyse(list(_pair(tmp_path, None)))
    b = res["participants"][1]
    assert "derived_from" not in b and isinstance(b["clipped_frac"], float) and b["clipped_frac"] > 0.2
    said = _b_warnings(res)
    assert any("if this belt falls on inhale, add the line '# invert: true'" in w for w in said), said
    assert any("the belt is too tight" in w for w in said), said
    assert res["pairs"][0]["summary"]["lead_note"] is None
    assert "B: B.csv (resp), 300 s" in text


@pytest.mark.parametrize("value", ["ecg", "belt", "yes"])
def test_a_value_other_than_rr_or_acc_is_said_and_ignored(tmp_path: Path, value: str) -> None:
    res, _ = _analyse(list(_pair(tmp_path, value)))
    b = res["participants"][1]
    assert "derived_from" not in b and isinstance(b["clipped_frac"], float)
    assert _b_warnings(res)[0] == (
        f"B: '# derived_from: {value}' is neither rr (heart beats) nor acc (a chest accelerometer): ignored, "
        "its breathing is read as a belt's"
    )
    assert res["pairs"][0]["summary"]["lead_note"] is None


def test_a_file_that_says_invert_too_is_read_as_it_says_without_belt_advice(tmp_path: Path) -> None:
    """The session never writes both lines (it drops --invert for derived breathing); a file given both by
    hand is read flipped, as every file's ``# invert: true`` is, and gets no belt advice either way."""
    belt, derived = _pair(tmp_path, "rr")
    text = derived.read_text(encoding="utf-8")
    derived.write_text(
        text.replace("# derived_from: rr\n", "# derived_from: rr\n# invert: true\n"), encoding="utf-8"
    )
    assert read_recording(derived).meta.get("invert") == "true"
    res, _ = _analyse([belt, derived])
    b = res["participants"][1]
    assert (b["derived_from"], b["clipped_frac"]) == ("rr", None)
    said = _b_warnings(res)
    assert not [w for w in said if any(x in w for x in BELT_WORDS)], said
    assert res["pairs"][0]["summary"]["lead_note"] is not None


def test_report_and_batch_say_it_too(tmp_path: Path) -> None:
    belt, derived = _pair(tmp_path, "rr")
    res, _ = _analyse([belt, derived])
    page = build_report([str(belt), str(derived)])
    assert "<td>resp from heart beats</td>" in page
    assert "A (resp) and B (resp from heart beats) are different sensors" in page
    assert "add the line" not in page and "the belt is too tight" not in page
    (row,) = analyse_batch([f"{belt}+{derived}"]).rows
    assert row["lead_note"] == res["pairs"][0]["summary"]["lead_note"]
    assert row["clipped_frac_b"] is None and row["clipped_frac_a"] is not None
    assert (row["derived_from_a"], row["derived_from_b"]) == (None, "rr")


# ------------------------------------------------------------------------------------ recorded by a session
class _PublishedStrap(MemorySource):
    """A partner's published breathing that its breathsync derived from heart beats, as an ``lsl:`` source
    describes it (``derived_from`` said once it streams)."""

    derived_from = "rr"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "derived_from": self.derived_from}


def _record(tmp_path: Path) -> Path:
    t, a, _ = breathing(120.0, 25.0, 10.0, seed=4)
    _, b, _ = breathing(120.0, 25.0, 10.0, seed=5, t0=-1.3)
    session = Session(
        [
            ParticipantSpec("A", MemorySource(t, {"resp": a})),
            ParticipantSpec("B", _PublishedStrap(t, {"resp": b}, name="breathsync-B")),
        ],
        SessionClock(300.0),
        SessionConfig(phase="match"),
    )
    folder = tmp_path / "rec"
    session.add_sink(Recorder(folder))
    run_collecting(session, 120.0)
    return folder


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _record(tmp_path_factory.mktemp("derived"))


def test_the_recording_says_what_the_breathing_was_derived_from(recorded: Path) -> None:
    assert read_recording(recorded / "B.csv").meta.get("derived_from") == "rr"
    assert read_recording(recorded / "B.csv").meta.get("signal") == "resp"
    assert "derived_from" not in read_recording(recorded / "A.csv").meta  # a belt's file: as before
    header = (recorded / "B.csv").read_text(encoding="utf-8").splitlines()
    assert "# derived_from: rr" in header[: header.index("time,resp")]


def test_analyze_of_the_recording_reads_it_as_derived(recorded: Path) -> None:
    res, _ = _analyse([recorded])
    a, b = res["participants"]
    assert (b["derived_from"], b["clipped_frac"]) == ("rr", None)
    assert "derived_from" not in a and a["clipped_frac"] is not None
    note = res["pairs"][0]["summary"]["lead_note"]
    assert note is not None and "B (resp from heart beats)" in note
    assert any(w.startswith("B: breathing derived from RR intervals") for w in res["warnings"])


def test_the_bids_export_says_the_breathing_is_not_a_belts(recorded: Path, tmp_path: Path) -> None:
    out = tmp_path / "bids"
    export_bids(recorded, out)

    def resp_description(label: str) -> str:
        side = json.loads(
            (
                out / f"sub-{label}" / "beh" / f"sub-{label}_task-breathsync_recording-raw_physio.json"
            ).read_text(encoding="utf-8")
        )
        return str(side["respiratory"]["Description"])

    assert "not a belt: derived from heart beats" in resp_description("B")
    assert "not a belt" not in resp_description("A")


def test_one_sensor_derived_live_on_one_side_only_gets_a_note() -> None:
    # Heart beats on both sides, but B's breathing was derived live before it was recorded: its delay is in
    # its recording, A's is derived here offline without one; the lead between them includes it.
    note = lead_note("A", "rr", "B", "resp", "A", 1.3, derived_b="rr")
    assert note is not None and "B's breathing was derived from heart beats live" in note
    assert lead_note("A", "acc", "B", "resp", None, None, derived_b="acc") is not None
    assert lead_note("A", "rr", "B", "ecg", None, None) is None  # derived the same way, here
    assert lead_note("A", "resp", "B", "resp", None, None, derived_a="rr", derived_b="rr") is None


def _beats_beside_derived(tmp_path: Path) -> tuple[Path, Path]:
    """A's heart beats as a strap's RR file (``rr_ms``: analyze derives the breathing) and B's breathing, derived
    from the same beats live beat by beat, as a partner's breathsync publishes it and a session records it
    (``resp`` with ``# derived_from: rr``)."""
    from breathsync.dsp.rr import RRRespiration

    _, a, _ = breathing(300.0, 25.0, 8.0, seed=1)
    beats = [0.5]
    while beats[-1] < 299.5:  # the heart speeds up on inhale
        beats.append(beats[-1] + 0.9 - 0.08 * a[min(int(beats[-1] * 25.0), a.size - 1)] / np.std(a))
    bt, rr = np.array(beats[1:]), np.diff(beats) * 1000.0
    strap = tmp_path / "A.csv"
    write_recording(strap, bt, {"rr_ms": rr}, {"participant": "A", "signal": "rr"})
    live = RRRespiration()
    out = [live.process(bt[k : k + 1], rr[k : k + 1]) for k in range(bt.size)]
    tb, yb = np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])
    derived = tmp_path / "B.csv"
    write_recording(
        derived, tb, {"resp": yb}, {"participant": "B", "source": "lsl:breathsync-B", "derived_from": "rr"}
    )
    return strap, derived


def test_heart_beats_beside_breathing_derived_from_heart_beats_live_get_the_note_everywhere(
    tmp_path: Path,
) -> None:
    # One sensor on both sides (heart beats), but only B's recording carries the live derivation's delay:
    # the printed line, the JSON, the report and --batch all say so (no note would leave it unsaid).
    strap, derived = _beats_beside_derived(tmp_path)
    res, text = _analyse([strap, derived])
    a, b = res["participants"]
    assert (a["signal"], a.get("derived_from"), b["signal"], b["derived_from"]) == ("rr", None, "resp", "rr")
    note = res["pairs"][0]["summary"]["lead_note"]
    assert note is not None and note.startswith(
        "A (rr) and B (resp from heart beats): B's breathing was derived from heart beats live by the "
        "breathsync that published it"
    )
    assert "offline (zero-phase filters): " in note and "different sensors" not in note
    (pair_line,) = [ln for ln in text.splitlines() if ln.startswith("A-B:")]
    assert pair_line.endswith(f"; {note}")
    page = build_report([str(strap), str(derived)])
    assert "<td>resp from heart beats</td>" in page
    assert (
        "A (rr) and B (resp from heart beats): B&#x27;s breathing was derived from heart beats live" in page
    )
    (row,) = analyse_batch([f"{strap}+{derived}"]).rows
    assert row["lead_note"] == note
    assert (row["derived_from_a"], row["derived_from_b"]) == (None, "rr")
