"""Two participants whose breathing signals are one recording (a copy of a file, a cut or re-saved copy, one
column named for two people) are said to be so, in one line among analyze's warnings (printed and in the
JSON, whose pair has "identical_signals": true), the report's notes and the --batch row's note: paired with
itself a recording reads as perfect synchrony (`cp rsp_A.csv copy_A.csv; analyze rsp_A.csv copy_A.csv` said
"in sync 100%, mean PLV 1.00" and nothing else). Two people's recordings, and two belts on one person, are
not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from breathsync.analysis import analyse_files, same_samples
from breathsync.batch import IDENTICAL_NOTE, analyse_batch
from breathsync.cli import main
from breathsync.io import read_recording, write_recording
from sample_signals import sample_path

A = sample_path("pair_sync_A.csv")
B = sample_path("pair_sync_B.csv")
ONCE = "at the same times (one recording twice): their synchrony says nothing"


def _copy(tmp_path: Path, how: str) -> Path:
    """pair_sync_A.csv copied, and changed as a copy gets changed on its way."""
    rec = read_recording(A)
    t, y = rec.time, rec.columns["resp"].copy()
    path = tmp_path / f"copy_{how}.csv"
    if how == "copy":
        shutil.copy(A, path)
    elif how == "cut":  # its first 200 s, and named otherwise
        write_recording(path, t[t < 200], {"RSP": y[t < 200]})
    elif how == "gap":  # 20 s of rows left out, a corrupt cell read as missing
        keep = (t < 100) | (t >= 120)
        y[500] = np.nan
        write_recording(path, t[keep], {"resp": y[keep]})
    elif how == "resaved":  # by a program that writes times as sums of steps and values to 3 decimals
        path.write_text(
            "time,resp\n" + "".join(f"{k * 0.04!r},{v:.3f}\n" for k, v in enumerate(y)), encoding="utf-8"
        )
    return path


@pytest.mark.parametrize("how", ["copy", "cut", "gap", "resaved"])
def test_a_copy_of_a_recording_is_said(tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]) -> None:
    copy = _copy(tmp_path, how)
    first = A
    if how == "cut":  # named RSP in the copy: the original's column named so too
        first = tmp_path / "a.csv"
        first.write_text(A.read_text(encoding="utf-8").replace("time,resp,", "time,RSP,"), encoding="utf-8")
    args = [str(first), str(copy)] + (["--column", "RSP"] if how == "cut" else [])
    js = tmp_path / "r.json"
    assert main(["analyze", *args, "--json", str(js)]) == 0
    out = capsys.readouterr().out
    res = json.loads(js.read_text(encoding="utf-8"))
    pair = res["pairs"][0]
    assert pair["identical_signals"] is True
    said = f"{pair['a']}-{pair['b']}: {copy.name} holds the same breathing samples as {first.name} {ONCE}"
    assert [ln[: len(said) + 9] for ln in out.splitlines() if ONCE in ln] == [f"warning: {said}"]
    assert [w for w in res["warnings"] if w.startswith(said)]


def test_report_and_batch_say_it_too(tmp_path: Path) -> None:
    copy = _copy(tmp_path, "copy")
    assert main(["report", str(A), str(copy), "--out", str(tmp_path / "r.html")]) == 0
    assert ONCE in (tmp_path / "r.html").read_text(encoding="utf-8")
    res = analyse_batch([f"{A}+{copy}", f"{A}+{B}"])
    assert not res.failed and [r["note"] for r in res.rows] == [IDENTICAL_NOTE, ""]
    assert [r["identical_signals"] for _, _, j in res.results for r in j["pairs"]] == [True, False]


def test_one_column_named_for_two_people_is_said(tmp_path: Path) -> None:
    rec = read_recording(A)
    path = tmp_path / "lab.csv"
    y = rec.columns["resp"]
    write_recording(path, rec.time, {"RSP_A": y, "RSP_B": y, "EDA": np.ones_like(y)})
    res = analyse_files([str(path)], columns=["RSP_A", "RSP_B"])
    said = f"RSP_A-RSP_B: columns RSP_A and RSP_B of lab.csv hold the same breathing samples {ONCE}"
    assert [w for w in res["warnings"] if w.startswith(said)]


def test_two_people_and_two_belts_on_one_person_are_not_copies(tmp_path: Path) -> None:
    assert not same_samples(read_recording(A), read_recording(B))
    res = analyse_files([str(A), str(B)])
    assert res["pairs"][0]["identical_signals"] is False and not any(ONCE in w for w in res["warnings"])
    rec = read_recording(A)
    y = rec.columns["resp"]
    rng = np.random.default_rng(1)
    # A second belt on the same chest: the same breathing, its own noise (0.5% of the range) and gain.
    chest = tmp_path / "chest.csv"
    write_recording(chest, rec.time, {"resp": 1.1 * y + 0.005 * np.ptp(y) * rng.standard_normal(y.size)})
    assert not same_samples(rec, read_recording(chest))


def test_flat_signals_are_no_evidence(tmp_path: Path) -> None:
    """Two belts that were off (the same constant): nothing says they are one recording."""
    t = np.arange(0, 60, 0.04)
    for name in ("a.csv", "b.csv"):
        write_recording(tmp_path / name, t, {"resp": np.zeros_like(t)})
    assert not same_samples(read_recording(tmp_path / "a.csv"), read_recording(tmp_path / "b.csv"))


def test_the_common_times_are_those_of_a_sort_of_both() -> None:
    """The copy check finds the times two recordings share by a binary search (a sort of both together took
    0.75 GB for two hours at 1 kHz): the same indices as ``np.intersect1d``."""
    from breathsync.analysis import _common_sorted

    rng = np.random.default_rng(1)
    for _ in range(200):
        a = np.unique(rng.integers(0, 500, int(rng.integers(0, 300)))).astype(float)
        b = np.unique(rng.integers(0, 500, int(rng.integers(0, 300)))).astype(float)
        _, ka, kb = np.intersect1d(a, b, assume_unique=True, return_indices=True)
        got_a, got_b = _common_sorted(a, b)
        np.testing.assert_array_equal(got_a, ka)
        np.testing.assert_array_equal(got_b, kb)
