"""A recording folder deleted during the session: the recording stops at once with an alarm that says so,
and the end of the command says nothing is left there (it said the recording "stays readable in gone")."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from conftest import breathing, run_collecting

from breathsync.live import SessionEnd, report_end
from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock
from breathsync.sources.memory import MemorySource


def test_a_deleted_folder_stops_the_recording_and_the_end_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    t, ya, _ = breathing(duration_s=40, fs_hz=25, rate_bpm=12, seed=1)
    _, yb, _ = breathing(duration_s=40, fs_hz=25, rate_bpm=12, seed=2)
    wall = [0.0]
    rec = Recorder(folder, clock=lambda: wall[0])

    class DeleteAt20:  # deletes the folder at 20 s of session time (as a user's `rm -r` would)
        def open(self, info: object) -> None: ...
        def on_chunk(self, label: str, chunk: object) -> None: ...
        def on_snapshot(self, snap: object) -> None:
            wall[0] += 1.0  # the recorder's flush clock: one flush per snapshot
            if snap.t_s >= 20.0 and folder.exists():  # type: ignore[attr-defined]
                shutil.rmtree(folder)

        def close(self, info: object) -> None: ...

    specs = [
        ParticipantSpec("A", MemorySource(t, {"resp": ya})),
        ParticipantSpec("B", MemorySource(t, {"resp": yb})),
    ]
    session = Session(specs, SessionClock(100.0), SessionConfig())
    session.add_sink(DeleteAt20())
    session.add_sink(rec)
    snaps = run_collecting(session, 35.0)
    assert rec.error is not None and "was deleted during the session" in rec.error
    assert 20.0 <= rec.error_t_s < 25.0
    assert any("was deleted during the session" in a for a in snaps[-1].alarms)
    out, err = io.StringIO(), io.StringIO()
    code = report_end(
        SessionEnd(
            session.summary(),
            snaps[-1],
            recorded_to=[str(folder)],
            recording_error=rec.error,
            recording_error_t_s=rec.error_t_s,
            recording_error_folder=str(folder),
        ),
        out,
        err,
    )
    assert code == 1
    assert f"not recorded: {folder} was deleted during the session" in out.getvalue()
    assert "recorded to" not in out.getvalue()
    assert "stays readable" not in err.getvalue()
    assert f"nothing of it is left ({folder} no longer exists)" in err.getvalue()


def test_a_stopped_recording_whose_folder_is_there_stays_readable(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    folder.mkdir()
    out, err = io.StringIO(), io.StringIO()
    end = SessionEnd(
        None, None, [str(folder)], "recording stopped: No space left on device", 9.0, str(folder)
    )
    assert report_end(end, out, err) == 1
    assert f"recorded to {folder} until 0:09 of the session (then the recording stopped)" in out.getvalue()
    assert f"stays readable in {folder}" in err.getvalue()
