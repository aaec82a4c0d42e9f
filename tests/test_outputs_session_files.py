"""A recording given on its own still belongs to its session folder: `--json`, `--out` and `--batch` used
to replace the folder's other files (B_live.csv became JSON, events.csv a study table, and export then
called the folder damaged) when its CSVs were named one by one; naming the folder was already refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_session_folder

from breathsync.cli import main


@pytest.mark.parametrize(
    ("argv", "victim"),
    [
        (["analyze", "{a}", "{b}", "--json", "{d}/B_live.csv"], "B_live.csv"),
        (["report", "{a}", "{b}", "--out", "{d}/events.csv"], "events.csv"),
        (["analyze", "{a}+{b}", "--batch", "{d}/events.csv"], "events.csv"),
    ],
)
def test_an_output_never_replaces_a_file_of_an_input_recordings_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], victim: str
) -> None:
    d = make_session_folder(tmp_path / "s")
    if not (d / victim).exists():  # as a recorder writes it, and lists it in session.json
        (d / victim).write_text("kept\n", encoding="utf-8")
        meta = json.loads((d / "session.json").read_text(encoding="utf-8"))
        meta["files"][victim] = {"kind": "events" if victim == "events.csv" else "live"}
        (d / "session.json").write_text(json.dumps(meta), encoding="utf-8")
    before = (d / victim).read_bytes()
    names = {"a": str(d / "A.csv"), "b": str(d / "B.csv"), "d": str(d)}
    code = main([x.format(**names) for x in argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "would overwrite a file of the session folder" in err
    assert (d / victim).read_bytes() == before


def test_an_output_beside_the_recordings_can_be_made_again(tmp_path: Path) -> None:
    """Not a file of the session (session.json does not list it): the same command can be run twice (the
    first version of the check refused the second run)."""
    d = make_session_folder(tmp_path / "s")
    for _ in range(2):
        assert main(["analyze", str(d / "A.csv"), str(d / "B.csv"), "--json", str(d / "mine.json")]) == 0
        assert main(["analyze", str(d), "--json", str(d / "whole.json")]) == 0
    assert (d / "mine.json").stat().st_size > 0 and (d / "whole.json").stat().st_size > 0


def test_an_input_spelt_another_way_is_still_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files were told apart by their spelling: on macOS's case-insensitive file system `--json rec/a.csv`
    is rec/A.csv, and realpath does not fold case there, so an input could be replaced. Now by the file's
    identity; a second name for the same file (a hard link here, as a name in another case is there) is
    refused like the file itself."""
    import os

    d = make_session_folder(tmp_path / "s")
    os.link(d / "A.csv", d / "a_other_name.csv")
    before = (d / "A.csv").read_bytes()
    code = main(["analyze", str(d / "A.csv"), str(d / "B.csv"), "--json", str(d / "a_other_name.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "is one of the input files" in err and err.count("\n") == 1, err
    # A second name for a file the session folder lists, with that folder's recordings named one by one.
    if not (d / "Session.JSON").exists():  # a case-insensitive file system (Windows): the same name already
        os.link(d / "session.json", d / "Session.JSON")
    code = main(["analyze", str(d / "A.csv"), str(d / "B.csv"), "--json", str(d / "Session.JSON")])
    err = capsys.readouterr().err
    assert code == 2 and "would overwrite a file of the session folder" in err, err
    assert (d / "A.csv").read_bytes() == before and json.loads(
        (d / "session.json").read_text(encoding="utf-8")
    )["participants"]
