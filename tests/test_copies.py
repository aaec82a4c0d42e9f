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

from breathsync import analysis
from breathsync.analysis import _same_in_pieces, _sample_differs, analyse_files, same_samples
from breathsync.batch import IDENTICAL_NOTE, analyse_batch
from breathsync.cli import main
from breathsync.io import read_recording, write_recording
from breathsync.io.csvfile import Recording
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


def _with(rec: Recording, t: np.ndarray | None = None, **cols: np.ndarray) -> Recording:
    """``rec`` with other times or columns (in memory: what a copy written otherwise reads back as)."""
    return Recording(rec.path, dict(rec.meta), rec.time if t is None else t, {**rec.columns, **cols})


def _variants() -> dict[str, tuple[Recording, bool]]:
    """pair_sync_A.csv and copies of it: each with whether it is one recording with the original (the rule:
    the same samples, within a thousandth of the range, at at least 90% of the shorter one's times)."""
    rec = read_recording(A)
    y = rec.columns["resp"]
    small, large = y.copy(), y.copy()
    small[3000] += 0.5e-3 * np.ptp(y)  # within the tolerance (a value written back with fewer decimals)
    large[3000] += 0.01 * np.ptp(y)  # one sample changed: not the same samples
    return {
        "identical": (_with(rec), True),
        "offset by 10 s": (_with(rec, rec.time + 10.0), False),  # the same breathing at other times
        "offset by half a sample": (_with(rec, rec.time + 0.02), False),  # no time in common
        "one sample nudged": (_with(rec, resp=small), True),
        "one sample changed": (_with(rec, resp=large), False),
        "inverted": (_with(rec, resp=-y), False),  # the samples turned over are other samples
        # '# invert: true' added: the file's samples are the same (analyze turns both the same way or not)
        "marked inverted": (Recording(rec.path, {**rec.meta, "invert": "true"}, rec.time, rec.columns), True),
        "other person": (read_recording(B), False),
    }


@pytest.mark.parametrize("name", list(_variants()))
def test_verdicts_of_a_recording_and_its_copies(name: str) -> None:
    """The sample check decides nothing a copy's full comparison would not: both give the rule's verdict."""
    original = read_recording(A)
    other, same = _variants()[name]
    assert same_samples(original, other) is same
    assert same_samples(other, original) is same
    assert _same_in_pieces(original, other, ("resp",)) is same  # the full comparison on its own


def test_two_recordings_are_told_apart_by_the_sample_without_the_full_comparison(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    full: list[tuple[str, str]] = []

    def counted(a: Recording, b: Recording, cols: tuple[str, ...]) -> bool:
        full.append((a.path, b.path))
        return _same_in_pieces(a, b, cols)

    monkeypatch.setattr(analysis, "_same_in_pieces", counted)
    rec_a, rec_b = read_recording(A), read_recording(B)
    assert _sample_differs(rec_a, rec_b, ("resp",))
    assert not same_samples(rec_a, rec_b)
    y = rec_a.columns["resp"]
    chest = _with(rec_a, resp=1.1 * y + 0.005 * np.ptp(y) * np.random.default_rng(1).standard_normal(y.size))
    assert not same_samples(rec_a, chest)  # a second belt on one chest
    assert not same_samples(rec_a, _with(rec_a, resp=-y))
    assert full == []
    # A copy agrees on the sample: every sample is compared then.
    copy = _copy(tmp_path, "resaved")
    assert not _sample_differs(rec_a, read_recording(copy), ("resp",))
    assert same_samples(rec_a, read_recording(copy))
    assert full == [(str(A), str(copy))]


@pytest.mark.parametrize("piece", [1, 3, 64])
def test_the_full_comparison_holds_a_piece_at_a_time(monkeypatch: pytest.MonkeyPatch, piece: int) -> None:
    """Every sample compared, but never more rows of a recording at once than a piece; cut anywhere into
    pieces, the verdicts are those of a comparison of the whole (several RR intervals at one time too)."""
    seen: list[int] = []
    keys = analysis._time_keys

    def recorded(t: np.ndarray) -> np.ndarray:
        seen.append(t.size)
        return keys(t)

    monkeypatch.setattr(analysis, "COPY_PIECE_ROWS", piece)
    monkeypatch.setattr(analysis, "_time_keys", recorded)
    rng = np.random.default_rng(3)
    for _ in range(150):
        n = int(rng.integers(0, 200))
        t = np.cumsum(rng.choice([0.0, 1.0, 1.0, 2.0], n) * 0.25)  # steps of 0, 1 and 2: shared times
        y = np.round(800 + 60 * rng.standard_normal(n))
        a = Recording("a.csv", {}, t, {"rr_ms": y})
        keep = rng.random(n) > rng.choice([0.0, 0.05, 0.3])
        yb = np.where(rng.random(n) < 0.02, np.nan, y + rng.choice([0.0, 1e-3, 1.0]) * (rng.random(n) < 0.01))
        b = Recording("b.csv", {}, t[keep] + rng.choice([0.0, 4e-7, 0.25]), {"rr_ms": yb[keep]})
        seen.clear()
        assert _same_in_pieces(a, b, ("rr_ms",)) is _same_whole(a, b), (n, piece)
        assert max(seen, default=0) <= piece
        assert same_samples(a, b) is _same_whole(a, b)  # with the sample first


def _same_whole(a: Recording, b: Recording) -> bool:
    """The rule compared on whole arrays (as the copy check did before it compared in pieces), for one column."""
    ka, kb = np.round(a.time * 1e6), np.round(b.time * 1e6)
    ia = np.flatnonzero(np.concatenate([[True], np.diff(ka) > 0])) if ka.size else np.empty(0, int)
    ib = np.flatnonzero(np.concatenate([[True], np.diff(kb) > 0])) if kb.size else np.empty(0, int)
    _, ca, cb = np.intersect1d(ka[ia], kb[ib], assume_unique=True, return_indices=True)
    if ca.size < max(20, 0.9 * min(ia.size, ib.size)):
        return False
    va, vb = a.columns["rr_ms"][ia[ca]], b.columns["rr_ms"][ib[cb]]
    both = np.isfinite(va) & np.isfinite(vb)
    if np.count_nonzero(both) < max(20, 0.8 * ca.size) or np.ptp(va[both]) <= 0:
        return False
    return bool(np.all(np.abs(va[both] - vb[both]) <= 1e-3 * np.ptp(va[both])))
