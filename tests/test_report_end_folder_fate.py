"""The end of a live command says what became of a recording folder the recorder found changed (a fault-
injection audit): a folder deleted and made again read "recorded to DIR until 0:19" and "stays readable in
DIR" (a new, empty folder); a file deleted, "what it held is gone; what was recorded until then stays
readable"; a folder moved (where to not known), "not recorded: DIR was deleted"."""

from __future__ import annotations

import io
from pathlib import Path

from breathsync.live import SessionEnd, report_end


def _end(folder: Path, error: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    end = SessionEnd(
        None,
        None,
        [str(folder)],
        recording_error=f"recording stopped: {error}",
        recording_error_t_s=19.4,
        recording_error_folder=str(folder),
    )
    return report_end(end, out, err), out.getvalue(), err.getvalue()


def test_a_folder_deleted_and_made_again(tmp_path: Path) -> None:
    code, out, err = _end(tmp_path, f"the folder {tmp_path} was deleted (and made again) during the session")
    assert code == 1
    assert out == f"not recorded: {tmp_path} was deleted during the session (and made again, empty)\n"
    assert err.endswith("was deleted (and made again) during the session; nothing of it is left\n"), err
    assert "stays readable" not in err


def test_a_file_deleted(tmp_path: Path) -> None:
    code, out, err = _end(
        tmp_path, f"{tmp_path / 'A.csv'} was deleted during the session: what it held is gone"
    )
    assert (
        code == 1
        and out == f"recorded to {tmp_path} until 0:19 of the session (then the recording stopped)\n"
    )
    assert err.endswith(
        f"what it held is gone; the rest of what was recorded until then stays readable in {tmp_path}\n"
    ), err


def test_a_folder_moved_to_a_place_not_known(tmp_path: Path) -> None:
    folder = tmp_path / "moved_away"  # not there any more
    code, out, err = _end(
        folder,
        f"the folder {folder} was moved or renamed during the session: what was recorded until then is where "
        "it was moved",
    )
    assert code == 1
    assert out == f"recorded to {folder} until 0:19 of the session, then it was moved or renamed\n"
    assert "deleted" not in out + err and err.endswith("is where it was moved\n"), err


def test_a_folder_deleted(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    code, out, err = _end(folder, f"the folder {folder} was deleted during the session")
    assert code == 1
    assert out == f"not recorded: {folder} was deleted during the session\n"
    assert err.endswith(f"nothing of it is left ({folder} no longer exists)\n"), err


def test_a_folder_moved_and_made_again_at_its_old_path(tmp_path: Path) -> None:
    """The review: moved away (where to not known here, or the dashboard's old path) and a folder made again
    at the old path: "recorded to OLD until 0:19 (then the recording stopped)" beside "is where it was moved;
    what was recorded until then stays readable in OLD"."""
    code, out, err = _end(
        tmp_path,
        f"the folder {tmp_path} was moved or renamed during the session: what was recorded until then is where "
        "it was moved",
    )
    assert code == 1
    assert out == f"recorded to {tmp_path} until 0:19 of the session, then it was moved or renamed\n"
    assert "stays readable" not in err and err.endswith("is where it was moved\n"), err


def test_a_folder_moved_to_where_the_command_names_it(tmp_path: Path) -> None:
    new = tmp_path / "new"
    new.mkdir()
    code, out, err = _end(
        new, f"the folder {tmp_path / 'old'} was moved or renamed during the session (to {new})"
    )
    assert code == 1 and out == f"recorded to {new} until 0:19 of the session (then the recording stopped)\n"
    assert err.endswith(f"(to {new}); what was recorded until then stays readable in {new}\n"), err
