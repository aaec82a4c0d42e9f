"""Faults of the machine while recording (a fault-injection audit): a full disk or a folder made read-only
at the end still leaves a session.json with its end; a recording that cannot start leaves nothing behind; a
file deleted or replaced, or the folder moved, during the session is said, in one line, as it is.

A full disk is simulated (the kernel's ENOSPC raised by a writer or by the temporary file session.json is
replaced through), not mounted."""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
from conftest import posix_only

import breathsync.recorder as recorder
from breathsync.errors import InputError
from breathsync.io.csvfile import RecordingWriter, read_recording
from breathsync.io.session_folder import left_out_notes
from breathsync.recorder import Recorder, RecorderError
from breathsync.session_types import Event, SessionInfo, Snapshot, TrainingView
from breathsync.sources.base import SampleChunk


def _info() -> SessionInfo:
    return SessionInfo(
        participants=[
            {"label": lab, "source": {"kind": "memory", "name": lab}, "signal": "resp", "invert": False}
            for lab in ("A", "B")
        ],
        settings={"phase": "match"},
        start_utc="2025-01-01T10:00:00.000+00:00",
        software_version="0.1.0",
    )


def _snap(t_s: float, events: tuple[Event, ...] = ()) -> Snapshot:
    return Snapshot(
        seq=int(t_s),
        t_s=t_s,
        participants=(),
        pairs=(),
        group_r=math.nan,
        training=TrainingView("match", "matching", 30.0, 0.0, False),
        events=events,
    )


def _chunk(t0: float, n: int = 25) -> SampleChunk:
    t = t0 + np.arange(n) / 25.0
    return SampleChunk(t, {"resp": np.sin(t)})


def _no_space(*_a: object, **_k: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _session_json(folder: Path) -> dict[str, object]:
    return json.loads((folder / "session.json").read_text(encoding="utf-8"))


def _events(folder: Path) -> list[str]:
    return (folder / "events.csv").read_text(encoding="utf-8").splitlines()


def test_a_full_disk_still_ends_session_json_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F1: B.csv's writes fail (the disk is full), and so would the new file session.json is replaced
    through: session.json was left with "end_utc": null, no recording_error, and events.csv without a
    word of the stop. Now it is rewritten in place (its block is allocated)."""
    d = tmp_path / "r"

    class Filling(RecordingWriter):
        def append(self, time_chunk: object, chunk: Mapping[str, object]) -> None:
            if self.path.endswith("B.csv"):
                _no_space()
            super().append(time_chunk, chunk)  # type: ignore[arg-type]

    rec = Recorder(d, writer_factory=Filling)
    rec.open(_info())
    rec.on_chunk("A", _chunk(0.0))
    rec.on_snapshot(_snap(1.0, (Event(0.5, "note", "a held event"),)))
    rec.on_snapshot(_snap(2.0))
    with pytest.raises(RecorderError, match="No space left on device"):
        rec.on_chunk("B", _chunk(0.0))
    monkeypatch.setattr(recorder.tempfile, "mkstemp", _no_space)  # no new file on the full disk
    rec.close(_info())  # the first error was already raised
    info = _session_json(d)
    assert info["end_utc"] and info["recording_error"] == rec.error
    assert info["recorded_to_s"] == 2.0
    assert any("rewritten in place" in w for w in info["warnings"])  # type: ignore[union-attr]
    last = _events(d)[-1]
    assert last.startswith("2.000,recording_stopped,,recording stopped at 0:02 (2.0 s) of the session: ")
    assert "No space left on device" in last
    assert len(read_recording(d / "A.csv")) == 25
    assert not list(d.glob(".session-*"))
    # analyze, report and export say it too (they said nothing of the error).
    assert (
        f"{d}: the recording stopped at 2 s of the session, on an error: No space left on device"
        in " ".join(left_out_notes([str(d)]))
    )


def test_a_read_only_folder_at_the_end_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """F4: the folder takes no new file at the end (made read-only): every file was written, and session.json
    is rewritten in place with its end; no error (it said the recording "stopped" at the end)."""
    d = tmp_path / "r"
    rec = _a_second_of_a(d)

    def denied(*_a: object, **_k: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(recorder.tempfile, "mkstemp", denied)
    rec.close(_info())
    assert rec.error is None
    info = _session_json(d)
    assert info["end_utc"] and "recording_error" not in info
    assert any("rewritten in place" in w and "Permission denied" in w for w in info["warnings"])  # type: ignore[union-attr]


def test_when_session_json_cannot_be_ended_at_all_the_data_is_said_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "r"
    rec = Recorder(d)
    rec.open(_info())
    rec.on_chunk("A", _chunk(0.0))
    exc = PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    def fail(*_a: object, **_k: object) -> None:
        raise exc

    monkeypatch.setattr(recorder.tempfile, "mkstemp", fail)
    monkeypatch.setattr(Recorder, "_rewrite_session_json", lambda self, e: fail())
    with pytest.raises(RecorderError) as raised:
        rec.close(_info())
    assert str(raised.value) == (
        f"recording stopped: Permission denied (writing {d / 'session.json'}): everything was recorded, only "
        "the end of session.json (end_utc, summary) could not be written"
    )
    assert len(read_recording(d / "A.csv")) == 25


def test_an_in_place_rewrite_a_full_disk_refuses_from_its_first_byte_leaves_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy-on-write file system with a full disk refuses even the blocks a file has: nothing is written,
    the session.json there (without its end) is kept, and the end does not call it damaged (the review: it
    did, of an intact file); analyze says it did not close."""
    d = tmp_path / "r"
    rec = Recorder(d)
    rec.open(_info())
    rec.on_chunk("A", _chunk(0.0))
    before = (d / "session.json").read_text(encoding="utf-8")
    monkeypatch.setattr(recorder.tempfile, "mkstemp", _no_space)
    monkeypatch.setattr(os, "write", _no_space)
    with pytest.raises(RecorderError, match="No space left on device") as raised:
        rec.close(_info())
    monkeypatch.undo()
    assert "damaged" not in str(raised.value)
    assert (d / "session.json").read_text(encoding="utf-8") == before


def test_a_recording_that_cannot_start_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F8: the disk full at the start: session.json and an empty events.csv were left, and the retry was
    refused ("not empty: choose a new folder")."""
    d = tmp_path / "new"
    monkeypatch.setattr(Recorder, "_open_events", lambda self: _no_space())
    with pytest.raises(InputError) as raised:
        Recorder(d).open(_info())
    assert str(raised.value) == (
        f"{d}: cannot write the recording folder: No space left on device: free some space, or record elsewhere"
    )
    assert not d.exists()  # it made the folder: it goes too
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="free some space"):
        Recorder(empty).open(_info())
    assert empty.is_dir() and not list(empty.iterdir())  # not its folder: kept, empty
    monkeypatch.undo()
    Recorder(empty).open(_info())  # the retry, once there is room
    assert (empty / "session.json").is_file()


def _a_second_of_a(d: Path) -> Recorder:
    """A recorder into ``d`` that has A's first second and one snapshot."""
    rec = Recorder(d)
    rec.open(_info())
    rec.on_chunk("A", _chunk(0.0))
    rec.on_snapshot(_snap(1.0))
    return rec


def _recording(d: Path) -> tuple[Recorder, list[float]]:
    wall = [0.0]
    rec = Recorder(d, clock=lambda: wall[0])
    rec.open(_info())
    rec.on_chunk("A", _chunk(0.0))
    rec.on_chunk("B", _chunk(0.0))
    rec.on_snapshot(_snap(1.0))
    wall[0] = 5.0
    return rec, wall


@posix_only("deleting a file another program holds open")
def test_a_deleted_file_stops_the_recording_and_says_which(tmp_path: Path) -> None:
    """F2: rm DIR/A.csv during the session went unnoticed: exit 0, "recorded to DIR", its data gone."""
    d = tmp_path / "r"
    rec, _wall = _recording(d)
    (d / "A.csv").unlink()
    with pytest.raises(RecorderError) as raised:
        rec.on_chunk("A", _chunk(1.0))
    assert str(raised.value) == (
        f"recording stopped: {d / 'A.csv'} was deleted during the session: what it held is gone"
    )
    assert rec.error_t_s == 1.0
    rec.close(_info())
    assert _session_json(d)["recording_error"] == rec.error  # the folder is still its own: it ends


@posix_only("replacing a file another program holds open")
def test_a_replaced_file_stops_the_recording(tmp_path: Path) -> None:
    d = tmp_path / "r"
    rec, _wall = _recording(d)
    (d / "B.csv").unlink()
    (d / "B.csv").write_text("time,resp\n", encoding="utf-8")
    with pytest.raises(RecorderError, match=r"B\.csv was (replaced|deleted) during the session"):
        rec.on_snapshot(_snap(2.0))


@posix_only("deleting a folder whose files are open")
def test_a_folder_deleted_and_made_again_is_said_and_left_alone(tmp_path: Path) -> None:
    """F2: rm -rf DIR && mkdir DIR: not "recorded to DIR"; and the new, empty folder gets no session.json
    of files it does not have."""
    d = tmp_path / "r"
    rec, _wall = _recording(d)
    shutil.rmtree(d)
    d.mkdir()
    with pytest.raises(RecorderError) as raised:
        rec.on_chunk("A", _chunk(1.0))
    assert (
        str(raised.value)
        == f"recording stopped: the folder {d} was deleted (and made again) during the session"
    )
    rec.close(_info())
    assert not list(d.iterdir())


@posix_only("renaming a folder whose files are open")
def test_a_moved_folder_is_said_moved_not_deleted(tmp_path: Path) -> None:
    """F3: the folder renamed during the session was reported "deleted; nothing of it is left", while all of
    it was in its new place."""
    d, moved = tmp_path / "r", tmp_path / "moved"
    rec, _wall = _recording(d)
    d.rename(moved)
    with pytest.raises(RecorderError) as raised:
        rec.on_chunk("A", _chunk(1.0))
    said = str(raised.value)
    assert said.startswith(f"recording stopped: the folder {d} was moved or renamed during the session")
    assert "deleted" not in said
    rec.close(_info())
    assert len(read_recording(moved / "A.csv")) == 50  # the chunk written as it was noticed too
    if sys.platform.startswith("linux"):  # the system says where it went: its session.json ends there
        assert said.endswith(f" (to {moved})") and rec.path == str(moved)
        assert _session_json(moved)["end_utc"]
    else:
        assert said.endswith(": what was recorded until then is where it was moved")
    assert not d.exists()


def test_an_unclosed_folder_is_said_by_analyze_report_and_export(tmp_path: Path) -> None:
    """A session.json without its end (a crash, a kill, a write failure): its notes say so."""
    d = tmp_path / "r"
    rec = Recorder(d)
    rec.open(_info())
    rec.on_chunk("A", _chunk(0.0, 200))
    rec.on_chunk("B", _chunk(0.0, 200))
    rec.flush()  # never closed
    notes = left_out_notes([str(d)])
    assert (
        f"{d}: the recording did not close (a crash, a kill or a write failure): its last seconds may be "
        "missing, and session.json has no end (no end_utc, no summary)"
    ) in notes
    rec.close(_info())
    assert not any("did not close" in n for n in left_out_notes([str(d)]))


@pytest.mark.parametrize("flaky", ["folder", "A.csv"])
def test_a_moment_a_path_cannot_be_looked_at_stops_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flaky: str
) -> None:
    """The review: one EIO from os.stat (a network file system's timeout) stopped the recording, saying the
    folder "was moved or renamed ... (to the same folder)" or that A.csv "was deleted"; it is no evidence of
    either, and the check of that moment is skipped."""
    d = tmp_path / "r"
    rec, _wall = _recording(d)
    target = str(d if flaky == "folder" else d / "A.csv")
    real = os.stat
    failed: list[str] = []

    def once(path: object, *a: object, **k: object) -> os.stat_result:
        if str(path) == target and not failed:
            failed.append(target)
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))
        return real(path, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", once)
    rec.on_chunk("A", _chunk(1.0))  # the once-a-second check: no RecorderError
    assert failed == [target] and rec.error is None and rec.path == str(d)
    monkeypatch.undo()
    rec.close(_info())
    assert _session_json(d)["end_utc"]


def test_an_in_place_rewrite_that_stops_half_way_puts_the_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review: on a copy-on-write file system a full disk can refuse even the blocks a file has; the
    in-place rewrite stopped half-way left session.json no JSON at all, and the end said "everything was
    recorded". The file before is put back, and the shorter text (one line) tried: here it goes in."""
    d = tmp_path / "r"
    rec = _a_second_of_a(d)
    monkeypatch.setattr(recorder.tempfile, "mkstemp", _no_space)
    real = os.write
    calls: list[bytes] = []

    def half_way(fd: int, data: object) -> int:
        calls.append(bytes(data))  # type: ignore[call-overload]
        if len(calls) == 1:
            return real(fd, calls[-1][:300])
        if len(calls) == 2:
            _no_space()
        return real(fd, data)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "write", half_way)
    rec.close(_info())  # ended after all: no error
    monkeypatch.undo()
    info = _session_json(d)
    assert info["end_utc"] and (d / "session.json").read_text(encoding="utf-8").count("\n") == 1  # one line
    assert any("rewritten in place" in w for w in info["warnings"])  # type: ignore[union-attr]


def test_a_rewrite_that_cannot_be_undone_is_said_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "r"
    rec = _a_second_of_a(d)
    monkeypatch.setattr(recorder.tempfile, "mkstemp", _no_space)
    real = os.write
    calls: list[int] = []

    def then_nothing(fd: int, data: object) -> int:
        calls.append(fd)
        if len(calls) == 1:
            return real(fd, bytes(data)[:300])  # type: ignore[call-overload]
        _no_space()
        return 0

    monkeypatch.setattr(os, "write", then_nothing)
    with pytest.raises(RecorderError, match=r"session\.json was left damaged by its rewrite"):
        rec.close(_info())
    monkeypatch.undo()
