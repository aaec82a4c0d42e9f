"""Reading and writing files where Windows (and older Pythons there) differ from Linux: os.set_blocking and
os.fchmod that do not exist or refuse a disk file, text-mode descriptors, and files another program holds
open. CI runs Linux only, so each test takes the Windows behaviour away from (or adds it to) the os module."""

from __future__ import annotations

import ast
import errno
import json
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import REPO, make_session_folder, posix_only

from breathsync.io.csvfile import read_recording
from breathsync.io.session_folder import read_session_folder

SAMPLES = REPO / "sample_signals"


def _set_blocking_for_pipes_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.set_blocking as on Windows with Python 3.12+: a pipe only; a disk file is an OSError."""
    real = os.set_blocking

    def set_blocking(fd: int, blocking: bool) -> None:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        real(fd, blocking)

    monkeypatch.setattr(os, "set_blocking", set_blocking)


@pytest.mark.parametrize("windows", ["python 3.11: no os.set_blocking", "python 3.12+: pipes only"])
def test_inputs_are_read_without_os_set_blocking(
    windows: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # open_input() called os.set_blocking on every input: on Windows every recording, session.json and
    # replayed file failed to open (an AttributeError's traceback on 3.11, "cannot read the file" on 3.12+).
    if windows.startswith("python 3.11"):
        monkeypatch.delattr(os, "set_blocking", raising=False)  # not there at all on Windows with 3.11
    else:
        _set_blocking_for_pipes_only(monkeypatch)
    rec = read_recording(SAMPLES / "pair_sync_A.csv")
    assert rec.signal_kind() == "resp" and rec.time.size > 1000
    folder = read_session_folder(make_session_folder(tmp_path / "session"))
    assert [p.label for p in folder.participants] == ["A", "B"]
    assert read_recording(folder.participants[1].path).time.size == 1500


@posix_only("os.mkfifo")
def test_a_named_pipe_is_still_made_blocking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The one input that needs os.set_blocking (a named pipe, opened non-blocking so that opening it cannot
    # hang) still gets it: its reads wait for the writer instead of failing on EAGAIN.
    calls: list[bool] = []
    real = os.set_blocking

    def set_blocking(fd: int, blocking: bool) -> None:
        assert stat.S_ISFIFO(os.fstat(fd).st_mode), "os.set_blocking on a file that is not a pipe"
        calls.append(blocking)
        real(fd, blocking)

    monkeypatch.setattr(os, "set_blocking", set_blocking)
    fifo = tmp_path / "belt.csv"
    os.mkfifo(fifo)
    t = np.arange(0, 60, 0.04)
    text = "time,resp\n" + "".join(f"{x:.2f},{np.sin(x):.4f}\n" for x in t)

    def writer() -> None:  # a program writing the recording into the pipe, in two parts
        with open(fifo, "w", encoding="utf-8") as out:
            half = len(text) // 2
            out.write(text[:half])
            out.flush()
            out.write(text[half:])

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        rec = read_recording(fifo)
    finally:
        thread.join()
    assert rec.time.size == t.size
    assert calls == [True]


def _record(folder: Path) -> int:
    from breathsync import cli

    return cli.main(
        [
            *("run", "-p", "A=sim:steady", "-p", "B=sim:follow"),
            *("--duration", "5", "--speed", "50", "--quiet", "--record", str(folder)),
        ]
    )


def _assert_complete(folder: Path) -> None:
    """A whole recording: session.json with its end, and every CSV readable with rows."""
    session = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    assert session["end_utc"] and session["duration_s"] == pytest.approx(5, abs=0.5)
    assert "recording_error" not in session
    names = {"A.csv", "B.csv", "A_live.csv", "B_live.csv", "pairs.csv", "events.csv"}
    assert names | {"session.json"} == {p.name for p in folder.iterdir()}  # no temporary file left
    for name in names:
        rows = [x for x in (folder / name).read_text(encoding="utf-8").splitlines() if not x.startswith("#")]
        assert rows[0].startswith("time,") and (len(rows) > 1 or name == "events.csv"), name
    assert [p.label for p in read_session_folder(folder).participants] == ["A", "B"]


def test_recording_without_os_fchmod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Windows gained os.fchmod in Python 3.13: on 3.11 and 3.12 every --record stopped at its start on an
    # AttributeError (session.json's first write).
    monkeypatch.delattr(os, "fchmod", raising=False)  # not there at all on Windows before Python 3.13
    assert _record(tmp_path / "rec") == 0
    _assert_complete(tmp_path / "rec")


#: A stand-in for Windows' O_BINARY: a bit no flag of this system's os.open uses, taken off before the real call.
FAKE_O_BINARY = 1 << 28


def _watch_opens(monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, int], list[tuple[str, object]]]:
    """Give os the fake O_BINARY; returns the flags each path was opened with by os.open and the (mode,
    newline) of each os.fdopen."""
    assert not any(getattr(os, n) & FAKE_O_BINARY for n in dir(os) if n.startswith("O_"))
    monkeypatch.setattr(os, "O_BINARY", FAKE_O_BINARY, raising=False)
    flags_of: dict[str, int] = {}
    fdopens: list[tuple[str, object]] = []
    real_open, real_fdopen = os.open, os.fdopen

    def fake_open(path: str | os.PathLike[str], flags: int, *args: Any, **kwargs: Any) -> int:
        flags_of[os.fspath(path)] = flags
        return real_open(path, flags & ~FAKE_O_BINARY, *args, **kwargs)

    def fake_fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fdopens.append((mode, kwargs.get("newline", "the default")))
        return real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "fdopen", fake_fdopen)
    return flags_of, fdopens


@pytest.mark.parametrize("overwrite", [False, True])
def test_recording_writer_opens_its_file_binary(
    overwrite: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without O_BINARY, Windows' C runtime writes every "\n" of a recording as "\r\n" (newline="\n" is
    # Python's translation only).
    from breathsync.io.csvfile import RecordingWriter

    flags_of, _ = _watch_opens(monkeypatch)
    path = tmp_path / "A.csv"
    if overwrite:
        path.write_text("old\n", encoding="utf-8")
    with RecordingWriter(path, ["resp"], overwrite=overwrite) as w:
        w.append([0.0, 0.04], {"resp": [1.0, 2.0]})
    assert flags_of[str(path)] & FAKE_O_BINARY
    assert path.read_bytes() == b"time,resp\n0.000000,1\n0.040000,2\n"


def test_a_recording_is_written_through_binary_descriptors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # <label>.csv, <label>_live.csv, pairs.csv and events.csv were opened without O_BINARY, and session.json
    # with Python's default newline: on Windows all of them got "\r\n" line ends though LF is the format.
    flags_of, fdopens = _watch_opens(monkeypatch)
    folder = tmp_path / "rec"
    assert _record(folder) == 0
    _assert_complete(folder)
    csvs = {"A.csv", "B.csv", "A_live.csv", "B_live.csv", "pairs.csv", "events.csv"}
    opened = {Path(p).name: f for p, f in flags_of.items() if Path(p).parent == folder}
    assert csvs <= set(opened)
    for name in csvs:
        assert opened[name] & FAKE_O_BINARY, f"{name} opened without O_BINARY"
    # session.json is written through tempfile.mkstemp (which opens with O_BINARY where it exists itself) and
    # os.fdopen: every file opened for writing as text says its line end.
    written = [newline for mode, newline in fdopens if "w" in mode and "b" not in mode]
    # The CSVs, and session.json at the start, at each participant's first sample and at the end.
    assert len(written) == len(csvs) + 4
    assert set(written) <= {"\n", ""}
    for p in folder.iterdir():
        assert b"\r" not in p.read_bytes(), p.name


def _windows_replace(
    monkeypatch: pytest.MonkeyPatch, target: str, refused: Callable[[int], bool]
) -> list[str]:
    """os.replace as Windows does it while another program holds ``target`` (a file name) open: the n-th
    call onto it (from 1) is refused with a PermissionError when ``refused(n)``; other files are replaced.
    Returns the calls onto ``target``. No wait between tries."""
    from breathsync.io import csvfile

    monkeypatch.setattr(csvfile, "REPLACE_RETRY_S", 0.0)
    real = os.replace
    calls: list[str] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if os.path.basename(dst) == target:
            calls.append(os.fspath(dst))
            if refused(len(calls)):
                exc = PermissionError(errno.EACCES, "Access is denied", os.fspath(src), None, os.fspath(dst))
                exc.winerror = 5  # type: ignore[attr-defined]  # ERROR_ACCESS_DENIED: set on Windows only
                raise exc
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return calls


def _temporary_files(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".*")]


def test_an_output_held_open_for_a_moment_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A virus scanner or an indexer reading the previous file lets go within moments: the replace is tried
    # again instead of ending the command.
    from breathsync.io.csvfile import write_private_text

    out = tmp_path / "summary.csv"
    out.write_text("previous\n", encoding="utf-8")
    calls = _windows_replace(monkeypatch, "summary.csv", lambda n: n <= 2)
    write_private_text(out, "pair,plv\n", "A-B,0.9\n")
    assert len(calls) == 3
    assert out.read_text(encoding="utf-8") == "pair,plv\nA-B,0.9\n"
    assert _temporary_files(tmp_path) == []


def test_an_output_open_in_another_program_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Excel keeps an open file from being replaced for as long as it shows it: one line that names the file
    # and what to do (exit code 2), the previous file as it was, no temporary file left beside it.
    from breathsync import cli
    from breathsync.io import csvfile

    out = tmp_path / "result.json"
    out.write_text("previous\n", encoding="utf-8")
    calls = _windows_replace(monkeypatch, "result.json", lambda n: True)
    a, b = SAMPLES / "pair_sync_A.csv", SAMPLES / "pair_sync_B.csv"
    assert cli.main(["analyze", str(a), str(b), "--json", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(calls) == csvfile.REPLACE_TRIES
    assert err == [
        f"breathsync: error: {out}: cannot write the JSON output (Access is denied: is result.json open in "
        "another program, such as a spreadsheet, a viewer or a virus scanner? close it and run again)"
    ]
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert _temporary_files(tmp_path) == []


def test_a_permission_error_off_windows_is_not_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On Linux and macOS a rename refused is the folder's permissions (a sticky /tmp), never a program holding
    # the file: raised at once, in its own words.
    from breathsync.io.csvfile import write_private_text

    calls: list[str] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(os.fspath(dst))
        raise PermissionError(errno.EPERM, "Operation not permitted", os.fspath(src), None, os.fspath(dst))

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(PermissionError) as caught:
        write_private_text(tmp_path / "out.json", "{}\n")
    assert caught.value.strerror == "Operation not permitted"
    assert len(calls) == 1
    assert _temporary_files(tmp_path) == []


@pytest.mark.parametrize("refusals", [2, None])
def test_export_with_participants_tsv_open_in_a_spreadsheet(
    refusals: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Adding a session to a dataset replaces its participants.tsv, which a study keeps open in a spreadsheet.
    from breathsync import cli

    assert _record(tmp_path / "rec") == 0
    study = tmp_path / "study"
    assert cli.main(["export", str(tmp_path / "rec"), "--bids", str(study), "--session", "1"]) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in study.rglob("*") if p.is_file()}
    calls = _windows_replace(monkeypatch, "participants.tsv", lambda n: refusals is None or n <= refusals)
    code = cli.main(["export", str(tmp_path / "rec"), "--bids", str(study), "--session", "2"])
    err = capsys.readouterr().err.splitlines()
    if refusals is not None:  # let go of within the tries
        assert code == 0, err
        assert len(calls) == 3 and (study / "sub-A" / "ses-2").is_dir()
    else:
        assert code == 2
        assert len(err) == 1 and err[0].startswith(
            f"breathsync: error: {study}: cannot write the BIDS dataset "
        )
        assert "is participants.tsv open in another program" in err[0] and "close it and run again" in err[0]
        assert not (study / "sub-A" / "ses-2").exists()
        # All or nothing: the tables replaced before participants.tsv (each subject's sessions.tsv,
        # participants.json, sessions.json) are put back; they listed a ses-2 that was not exported.
        after = {p: p.read_bytes() for p in study.rglob("*") if p.is_file()}
        assert after == before
    assert _temporary_files(tmp_path) == []  # the staged export removed


@pytest.mark.parametrize("held", ["a moment at each write", "at the start", "at the end"])
def test_recording_with_session_json_held_open(
    held: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # session.json is replaced at the start and at the end of a session: a virus scanner holding it for a
    # moment no longer stops the recording; held for good, one line that names it, and no temporary file.
    # (At each participant's first sample it is replaced too, in one try: refused, it waits for the end.)
    refused = {
        # Twice at the start; at the first participant's first sample, once (not tried again: the second's
        # goes through); twice at the end.
        "a moment at each write": lambda n: n not in (3, 5, 8),
        "at the start": lambda n: True,
        "at the end": lambda n: n > 1,
    }[held]
    calls = _windows_replace(monkeypatch, "session.json", refused)
    folder = tmp_path / "rec"
    code = _record(folder)
    err = capsys.readouterr().err.splitlines()
    assert _temporary_files(folder) == []
    if held == "a moment at each write":
        assert code == 0, err
        assert len(calls) == 8
        _assert_complete(folder)
    elif held == "at the start":
        assert code == 2
        assert err == [
            f"breathsync: error: {folder}: cannot write the recording folder: Access is denied: is session.json "
            "open in another program, such as a spreadsheet, a viewer or a virus scanner? close it and run again"
        ]
    else:
        assert code == 1 and len(err) == 1
        assert err[0].startswith("breathsync: error: recording stopped at ")  # the session's last moment
        assert err[0].endswith(
            " of the session: Access is denied: is session.json open in another program, such as a spreadsheet, "
            "a viewer or a virus scanner? keep it closed while a session records (writing "
            f"{folder / 'session.json'}); what was recorded until then stays readable in {folder}"
        )
        session = json.loads((folder / "session.json").read_text(encoding="utf-8"))  # as the start wrote it
        assert session["end_utc"] is None and session["start_utc"]


def test_every_text_the_package_writes_asks_for_lf_line_ends() -> None:
    # On Windows, text written without newline= gets CRLF: the BIDS export's sidecars, TSVs and READMEs did
    # ("one session always exports to the same bytes" held on one OS only). Every write_text and every
    # text-mode open for writing in the package names its line ends.
    import ast

    root = Path(__file__).resolve().parents[1]
    missing = []
    for path in [*(root / "breathsync").rglob("*.py"), *(root / "devices").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            kw = {k.arg for k in node.keywords}
            mode = next((a.value for a in node.args[1:2] if isinstance(a, ast.Constant)), None)
            mode = next(
                (
                    k.value.value
                    for k in node.keywords
                    if k.arg == "mode" and isinstance(k.value, ast.Constant)
                ),
                mode,
            )
            writes_text = name == "write_text" or (
                name in ("open", "fdopen")
                and isinstance(mode, str)
                and set(mode) & set("wax")
                and "b" not in mode
            )
            if writes_text and "newline" not in kw:
                missing.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not missing, missing


def _opens_text(node: ast.Call) -> bool:
    """A call that reads or writes a file as text: read_text, write_text, or open/fdopen in a text mode."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else None  # None: open(...)
    if name in ("read_text", "write_text"):
        return True
    if name not in ("open", "fdopen") or (name == "open" and owner in ("os", "tarfile")):
        return False
    # The mode: open(f, mode), io.open(f, mode), os.fdopen(fd, mode), gzip.open(f, mode); path.open(mode).
    at = 1 if owner in (None, "io", "os", "gzip") else 0
    given = [*node.args[at : at + 1], *(k.value for k in node.keywords if k.arg == "mode")]
    if not given:
        return owner != "gzip"  # gzip.open reads bytes unless asked
    mode = given[0].value if isinstance(given[0], ast.Constant) else None
    if not isinstance(mode, str):
        return False  # not a mode: a recorder's or a sink's open(info)
    return "b" not in mode and (owner != "gzip" or "t" in mode)


def test_every_text_file_is_opened_with_an_encoding() -> None:
    # Without encoding=, Windows reads and writes text in its ANSI code page (cp1252), not UTF-8. Ruff's
    # PLW1514 is a preview rule (not used: see pyproject) and misses path.read_text()/write_text()/open()
    # where it cannot tell that the object is a Path; this looks at every such call in the package, the
    # tests and the benchmarks.
    missing = []
    for folder in ("breathsync", "devices", "tests", "benchmarks"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and _opens_text(node)
                    and not any(k.arg == "encoding" for k in node.keywords)
                ):
                    missing.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not missing, missing


def test_the_encoding_check_finds_text_opens() -> None:
    def found(code: str) -> bool:
        return _opens_text(ast.parse(code).body[0].value)  # type: ignore[attr-defined]

    for code in ("open(p)", "open(p, 'w')", "p.open()", "p.open('r+')", "p.read_text()", "(d / 'x').write_text(s)",
                 "os.fdopen(fd, 'w')", "gzip.open(p, 'rt')", "io.open(p, mode='a')"):  # fmt: skip
        assert found(code), code
    for code in ("open(p, 'rb')", "p.open('wb')", "os.open(p, flags)", "os.fdopen(fd, 'rb')", "gzip.open(p)",
                 "tarfile.open(p)", "rec.open(info)", "Recorder(d).open(_info())"):  # fmt: skip
        assert not found(code), code
