"""A recorded session's own files that are not recordings, given where a recording is read: ``analyze DIR/*.csv``
(a natural glob) failed on events.csv with "rows are a median 25 s apart ... is the time in milliseconds or
nanoseconds?", and ``<label>_live.csv`` and pairs.csv with "no breathing signal column ... use --column". Each is
now named as what it is, with what to give instead (the participant's raw recording, or the session folder), as
session.json is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from breathsync.cli import main
from breathsync.errors import RecordingError
from breathsync.io import read_recording


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session recorded by ``breathsync run --record`` (40 s of two simulated breathers)."""
    out = tmp_path_factory.mktemp("own") / "s1"
    args = ["run", "-p", "you=sim:steady", "-p", "partner=sim:follow", "--record", str(out)]
    assert main([*args, "--duration", "40", "--speed", "50", "--quiet"]) == 0
    assert {p.name for p in out.glob("*.csv")} >= {"events.csv", "pairs.csv", "you_live.csv", "you.csv"}
    return out


def _error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["analyze", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_a_glob_of_the_folder_gets_one_clear_line(session: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in session.glob("*.csv"))  # as the shell expands DIR/*.csv: events.csv first
    err = _error(capsys, *files)
    assert f"{session / 'events.csv'}:1: breathsync's session events, not a recording" in err
    assert (
        f"give the participants' raw recordings (you.csv, partner.csv, beside it) or the session folder ({session})"
        in err
    )
    assert "milliseconds" not in err


@pytest.mark.parametrize(
    ("name", "line", "said"),
    [
        ("you_live.csv", 2, "breathsync's live output of participant 'you' (what the live view showed"),
        ("pairs.csv", 1, "breathsync's live pair synchrony (one row per snapshot), not a recording"),
        ("events.csv", 1, "breathsync's session events, not a recording"),
    ],
)
def test_each_output_is_named(
    session: Path, capsys: pytest.CaptureFixture[str], name: str, line: int, said: str
) -> None:
    err = _error(capsys, str(session / name))
    assert f"{session / name}:{line}: {said}" in err and "--column" not in err
    assert f"or the session folder ({session})" in err
    if name == "you_live.csv":
        assert "give the participant's raw recording (you.csv, beside it)" in err


def test_the_recorders_names_are_the_ones_recognised(session: Path) -> None:
    """What _own_files recognises is what the recorder writes (it may not import the recorder)."""
    from breathsync import recorder
    from breathsync.io import _own_files

    assert ("time", *recorder.LIVE_COLUMNS) == _own_files.LIVE_HEADER
    assert _own_files.PAIR_FIELDS == recorder.PAIR_FIELDS
    assert (session / "events.csv").read_text(encoding="utf-8").splitlines()[0] == ",".join(
        _own_files.EVENTS_HEADER
    )


def test_copies_without_their_hash_lines_are_named_by_their_header(session: Path, tmp_path: Path) -> None:
    for name, said in (("you_live.csv", "live output"), ("pairs.csv", "live pair synchrony")):
        lines = (session / name).read_text(encoding="utf-8").splitlines(keepends=True)
        bare = tmp_path / name.replace(".csv", "_copy.csv")
        bare.write_text("".join(ln for ln in lines if not ln.startswith("#")), encoding="utf-8")
        with pytest.raises(RecordingError, match=said) as info:
            read_recording(bare)
        assert info.value.line == 1 and "session folder it came from" in str(info.value)


def test_outside_its_folder_the_live_file_says_what_to_give(session: Path, tmp_path: Path) -> None:
    shutil.copy(session / "you_live.csv", tmp_path / "you_live.csv")
    with pytest.raises(RecordingError) as info:
        read_recording(tmp_path / "you_live.csv")
    assert "give the participant's raw recording (LABEL.csv) or the session folder it came from" in str(
        info.value
    )


def test_a_live_files_column_named_with_column_is_still_read(session: Path) -> None:
    """--column wave reads the live waveform on purpose: that is not refused."""
    rec = read_recording(session / "you_live.csv", resp_column="wave")
    assert rec.signal_kind() == "resp" and rec.resp_column == "wave"


def test_the_raw_recordings_are_read_as_before(session: Path) -> None:
    for name in ("you.csv", "partner.csv"):
        assert read_recording(session / name).signal_kind() == "resp"
