"""`analyze -` said "-: no such file: check the path"; `analyze --json OUT` with an OUT that cannot be written was
refused after the analysis (which can take minutes), not before it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_main

from breathsync import analysis
from breathsync.cli import main

SAMPLE = REPO / "sample_signals" / "pair_sync_A.csv"


def test_a_dash_says_standard_input_is_not_read(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "-"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "-: reading from standard input as '-' is not supported: save the data to a file" in err
    assert "no such file" not in err


def _no_analysis(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the analysis ran")


@pytest.mark.parametrize(
    ("where", "said"),
    [
        (lambda tmp: SAMPLE / "out.json", f"{SAMPLE} is a file, not a folder"),
        (lambda tmp: tmp / "missing" / "out.json", "the folder"),
        (lambda tmp: tmp, "that is a folder: give a file name"),
    ],
)
def test_an_unwritable_json_path_is_refused_before_the_analysis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], where: Any, said: str
) -> None:
    monkeypatch.setattr(analysis, "analyse_paths", _no_analysis)
    out_path = where(tmp_path)
    assert main(["analyze", str(SAMPLE), "--json", str(out_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and f"--json {out_path}: {said}" in err
    assert "Traceback" not in err


def test_a_writable_json_path_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "out.json"
    assert main(["analyze", str(SAMPLE), "--json", str(out_path)]) == 0
    assert out_path.read_text(encoding="utf-8").startswith("{")
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # the writability probe left nothing
    capsys.readouterr()


@pytest.mark.parametrize(("window", "ok"), [("5", True), ("600", True), ("4.99", False), ("600.01", False)])
def test_the_window_bounds_are_the_documented_5_to_600_s(window: str, ok: bool, tmp_path: Path) -> None:
    # The README's "--window S: 5 to 600 s", read from the numbers, not from the constants the code uses.
    a, b = (REPO / "sample_signals" / f"pair_sync_{x}.csv" for x in "AB")
    js = tmp_path / "out.json"
    r = run_main("analyze", a, b, "--window", window, "--json", js)
    assert r.returncode == (0 if ok else 2), r.stderr
    if ok:
        assert js.exists()
    else:
        assert len(r.stderr.strip().splitlines()) == 1 and "--window" in r.stderr and not js.exists()
        assert "Traceback" not in r.stderr
