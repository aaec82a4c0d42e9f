"""What a fault-injection audit found at the command line: a session.json nested too deeply beside an existing
output file gave a RecursionError traceback; an empty path read ": no such file"; a live --duration of
1e-320 s (or 1e308 s) was taken; simulate --out naming a file said "cannot create the folder (File
exists)". Each is now one line, exit 2, saying what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO, run_main

SAMPLE = REPO / "sample_signals" / "pair_sync_A.csv"


def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_session_json_nested_too_deeply_beside_an_existing_output(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "A.csv").write_bytes(SAMPLE.read_bytes())
    (folder / "session.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    out = tmp_path / "out.json"
    out.write_text("{}", encoding="utf-8")
    r = run_main("analyze", folder, "--json", out)
    assert r.returncode == 2
    assert "session.json: bad JSON (nested too deeply)" in _one_line(r.stderr)
    page = tmp_path / "r.html"
    page.write_text("", encoding="utf-8")
    r = run_main("report", folder, "--out", page)
    assert r.returncode == 2 and "nested too deeply" in _one_line(r.stderr)


@pytest.mark.parametrize(("command", "name"), [("analyze", "FILE"), ("report", "SESSION_DIR|FILE")])
def test_an_empty_path_is_said_to_be_empty(command: str, name: str) -> None:
    r = run_main(command, "")
    assert r.returncode == 2
    assert f"argument {name}: expected a path, got an empty value" in _one_line(r.stderr)


@pytest.mark.parametrize("duration", ["1e-320", "0.5", "1e308", "86401"])
def test_a_live_duration_is_from_a_second_to_a_day(duration: str) -> None:
    r = run_main("run", "-p", "A=sim:steady", "-p", "B=sim:steady", "--quiet", f"--duration={duration}")
    assert r.returncode == 2
    assert f"--duration: expected a number from 1 to 86400 s, got '{duration}'" in _one_line(r.stderr)


def test_simulate_into_a_file_says_it_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "good.csv"
    f.write_text("kept\n", encoding="utf-8")
    r = run_main("simulate", "--out", f, "--duration", "5")
    assert r.returncode == 2
    assert "good.csv is a file, not a folder: give --out a new folder's name" in _one_line(r.stderr)
    assert f.read_text(encoding="utf-8") == "kept\n"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("rec") / "s"
    r = run_main(
        "run", "-p", "A=sim:steady", "-p", "B=sim:steady", "--duration", "40", "--speed", "200", "--quiet",
        "--record", d,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return d


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_a_window_that_is_no_number_is_said(recorded: Path, tmp_path: Path) -> None:
    """session.json's settings "window_s": "x" was left unsaid (the default window used), where -5 or NaN
    were refused."""
    d = _copy(recorded, tmp_path / "s")
    text = (d / "session.json").read_text(encoding="utf-8")
    assert '"window_s": 30.0' in text
    (d / "session.json").write_text(text.replace('"window_s": 30.0', '"window_s": "x"'), encoding="utf-8")
    r = run_main("analyze", d)
    assert r.returncode == 2
    assert (
        'session.json: settings "window_s" is "x", not a number of seconds: the session description is damaged'
        in (_one_line(r.stderr))
    )
    assert run_main("analyze", d, "--window", "30").returncode == 0


def test_an_events_file_that_is_a_folder_says_what_to_do(recorded: Path, tmp_path: Path) -> None:
    d = _copy(recorded, tmp_path / "s")
    (d / "events.csv").unlink()
    (d / "events.csv").mkdir()
    r = run_main("export", "--bids", tmp_path / "bids", d)
    assert r.returncode == 2
    assert "events.csv: is a directory, not a recording file: move events.csv out of the session folder" in (
        _one_line(r.stderr)
    )
