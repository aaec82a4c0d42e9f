"""analyze takes the folder 'breathsync simulate' writes (A.csv, B.csv, no session.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from breathsync.cli import main


def test_analyze_takes_a_simulate_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "sim"
    assert main(["simulate", "--out", str(folder), "--duration", "120", "--coupling", "2"]) == 0
    out = tmp_path / "r.json"
    assert main(["analyze", str(folder), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "A: A.csv (resp)" in printed and "B: B.csv (resp)" in printed
    result = json.loads(out.read_text(encoding="utf-8"))
    assert [p["label"] for p in result["participants"]] == ["A", "B"]
    assert result["pairs"][0]["summary"]["mean_plv"] > 0.5


def test_a_folder_with_only_one_of_the_files_is_still_refused(tmp_path: Path) -> None:
    folder = tmp_path / "sim"
    assert main(["simulate", "--out", str(folder), "--duration", "60"]) == 0
    (folder / "B.csv").unlink()
    assert main(["analyze", str(folder)]) == 2
