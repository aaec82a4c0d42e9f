"""Reading session folders: a damaged session.json gives one line naming the problem (exit 2 at the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import make_session_folder

from breathsync.cli import main
from breathsync.errors import RecordingError
from breathsync.io.session_folder import read_session_folder

make_folder = make_session_folder


def test_a_good_folder(tmp_path: Path) -> None:
    folder = read_session_folder(make_folder(tmp_path / "s", {"no_samples": []}))
    assert folder.labels == ["A", "B"]


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"no_samples": 5}, '"no_samples" is a number, expected a list of participant labels'),
        ({"no_samples": ["C", 3]}, 'an entry of "no_samples" is a number'),
        ({"files": ["A.csv"]}, '"files" is a list, expected an object'),
        ({"files": {"A.csv": "raw"}}, "\"files\" entry 'A.csv' is a string, expected an object"),
        (
            {"files": {"A.csv": {"kind": "raw", "participant": 1}}},
            '"participant" is a number, expected a string',
        ),
        ({"participants": [{"label": "A"}, {"label": "A"}]}, "participant label 'A' appears twice"),
    ],
)
def test_fields_of_the_wrong_type(tmp_path: Path, info: dict[str, Any], expected: str) -> None:
    s = make_folder(tmp_path / "s", info)
    with pytest.raises(RecordingError) as e:
        read_session_folder(s)
    msg = str(e.value)
    assert expected in msg and "\n" not in msg and msg.startswith(str(s / "session.json"))
    assert "damaged" in msg and "restore it" in msg


@pytest.mark.parametrize(
    "command",
    [
        ["analyze", "{s}"],
        ["report", "{s}", "--out", "{tmp}/r.html"],
        ["export", "{s}", "--bids", "{tmp}/bids"],
        ["run", "-p", "A=replay:{s}", "--quiet", "--duration", "1"],
    ],
    ids=["analyze", "report", "export", "replay"],
)
def test_no_samples_not_a_list_in_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    s = make_folder(tmp_path / "s", {"no_samples": 5})
    code = main([c.format(s=s, tmp=tmp_path) for c in command])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and '"no_samples" is a number' in err


def test_binary_session_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = make_folder(tmp_path / "s")
    (s / "session.json").write_bytes(b"\xcc\xff\x00binary")
    with pytest.raises(RecordingError) as e:
        read_session_folder(s)
    msg = str(e.value)
    assert "not a text (JSON) file" in msg and "byte 0xcc" in msg and "codec" not in msg
    assert main(["analyze", str(s)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "not a text (JSON) file" in err


def test_a_file_is_not_a_session_folder(tmp_path: Path) -> None:
    s = make_folder(tmp_path / "s")
    with pytest.raises(RecordingError) as e:
        read_session_folder(s / "A.csv")
    assert "is a file, not a session folder" in str(e.value) and "run --record" in str(e.value)
    with pytest.raises(RecordingError, match="no such folder"):
        read_session_folder(tmp_path / "none")
