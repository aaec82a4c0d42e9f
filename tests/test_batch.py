"""Batch analysis of a study: a row per pair, failures listed without stopping the rest."""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import breathing, make_session_folder, run_breathsync, run_main

from breathsync.batch import SUMMARY_COLUMNS, analyse_batch, write_summary
from breathsync.io.csvfile import write_recording

SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"


def test_a_study_with_a_broken_session(tmp_path: Path) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_text("time,resp\n0,1\n0.1,oops\n", encoding="utf-8")
    items = [
        f"{SAMPLES / 'pair_sync_A.csv'}+{SAMPLES / 'pair_sync_B.csv'}",
        f"{broken}+{SAMPLES / 'pair_sync_B.csv'}",
        f"{SAMPLES / 'pair_strangers_A.csv'}+{SAMPLES / 'pair_strangers_B.csv'}",
        str(tmp_path / "not_a_session"),
    ]
    (tmp_path / "not_a_session").mkdir()
    summary = tmp_path / "study.csv"
    r = run_main("analyze", *items, "--batch", str(summary), "--json", str(tmp_path / "j"), timeout=120)
    assert r.returncode == 2  # some failed: said, after finishing the others
    assert "Traceback" not in r.stderr
    assert "2 of 4 sessions analysed" in r.stdout and "2 of 4 sessions failed" in r.stderr
    assert "broken.csv:3" in r.stderr and "not_a_session" in r.stderr
    rows = list(csv.DictReader(summary.open(encoding="utf-8")))
    assert [list(rows[0])] == [SUMMARY_COLUMNS] and len(rows) == 2
    in_sync, strangers = (float(x["time_in_sync_frac"]) for x in rows)
    assert in_sync > 0.8 and strangers < 0.3
    # Named by their position among the inputs: the first and the third.
    assert sorted(f.name for f in (tmp_path / "j").glob("*.json")) == [
        "001_pair_sync_A.json",
        "003_pair_strangers_A.json",
    ]
    if sys.platform != "win32":  # POSIX file modes
        assert all(f.stat().st_mode & 0o777 == 0o600 for f in (tmp_path / "j").glob("*.json"))


def test_every_session_is_analysed_or_failed_once_and_outputs_are_numbered_by_position(
    tmp_path: Path,
) -> None:
    """An unreadable pair, a recorded session, a single file (no pair): one analysed, two failed (the
    no-pair session was counted both ways: "2 of 3 analysed" then "2 failed"), and the JSON of the
    recorded session, the second input, is 002_ (it was 001_, numbered by success), with none for the
    session without a pair."""
    junk = tmp_path / "junk2.bin"
    junk.write_bytes(np.random.default_rng(2).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    good = SAMPLES / "pair_sync_A.csv"
    rec1 = make_session_folder(tmp_path / "rec1")
    summary, out = tmp_path / "bj2.csv", tmp_path / "bj2"
    r = run_main("analyze", f"{junk}+{good}", rec1, good, "--batch", summary, "--json", out, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "1 of 3 sessions analysed, 1 pair" in r.stdout
    assert "2 of 3 sessions failed" in r.stderr
    failed = [line for line in r.stderr.splitlines() if line.startswith("  ")]
    assert len(failed) == 2 and "junk2.bin" in failed[0]
    assert failed[1].startswith(f"  {good}: no pair to score: one participant")
    assert [f.name for f in out.glob("*.json")] == ["002_rec1.json"]
    rows = list(csv.DictReader(summary.open(encoding="utf-8")))
    assert [row["session"] for row in rows] == [str(rec1)]


def test_recordings_that_do_not_overlap_fail_with_the_reason(tmp_path: Path) -> None:
    from breathsync.io.csvfile import write_recording

    t = np.arange(0, 60, 0.04)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_recording(a, t, {"resp": np.sin(2 * np.pi * 0.25 * t)}, {})
    write_recording(b, t + 100, {"resp": np.sin(2 * np.pi * 0.25 * t)}, {})
    r = run_main("analyze", f"{a}+{b}", "--batch", tmp_path / "s.csv", "--json", tmp_path / "j")
    assert r.returncode == 2
    assert "0 of 1 session analysed, 0 pairs" in r.stdout and "1 of 1 session failed" in r.stderr
    assert "the 2 recordings overlap by less than one 30-s window" in r.stderr
    assert not list((tmp_path / "j").glob("*.json"))


def test_a_summary_that_cannot_be_written_is_refused_before_the_analysis(tmp_path: Path) -> None:
    """A study of many sessions used to find out only at the end that the summary had nowhere to go."""
    pair = f"{SAMPLES / 'pair_sync_A.csv'}+{SAMPLES / 'pair_sync_B.csv'}"
    for out, said in (
        (tmp_path / "no" / "such" / "s.csv", "no folder"),
        (tmp_path, "is a folder"),
    ):
        r = run_main("analyze", pair, "--batch", str(out))
        assert r.returncode == 2 and said in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert "analysed" not in r.stdout and "[" not in r.stderr  # refused before any session, no progress
    notfolder = tmp_path / "taken"
    notfolder.write_text("", encoding="utf-8")
    r = run_main("analyze", pair, "--batch", str(tmp_path / "s.csv"), "--json", str(notfolder))
    assert r.returncode == 2 and "is a file" in r.stderr
    if sys.platform != "win32":  # Windows has no /dev/stdout
        ok = run_breathsync("analyze", pair, "--batch", "/dev/stdout")
        assert ok.returncode == 0 and ok.stdout.startswith(",".join(SUMMARY_COLUMNS[:2]))


def test_a_bug_is_not_reported_as_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception that is not the input's (a bug in the analysis) was listed beside the broken files as
    "TypeError: ..." with exit 2, the code for bad input, and no traceback. It is now an internal error:
    the rest of the study is analysed, the traceback is shown for a report, and the exit code is 1."""
    import breathsync.batch as batch
    from breathsync.cli import main

    real = batch.analyse_files

    def analyse(paths: list[str], **kw: Any) -> Any:
        if "strangers" in paths[0]:
            raise TypeError("a bug in the analysis")
        return real(paths, **kw)

    monkeypatch.setattr(batch, "analyse_files", analyse)
    items = [f"{SAMPLES / f'pair_{x}_A.csv'}+{SAMPLES / f'pair_{x}_B.csv'}" for x in ("sync", "strangers")]
    rc = main(["analyze", *items, "--batch", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "1 of 2 sessions failed" in err and "internal error (TypeError: a bug in the analysis)" in err
    assert "Traceback" in err and "please report" in err
    # the other session was analysed
    assert len(list(csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8")))) == 1


def test_a_pair_that_cannot_be_scored_still_has_its_row(tmp_path: Path) -> None:
    """Three participants, C recorded from 40 s: A-C and B-C overlap by 20 s, less than the 30-s window. The
    session got rows for A-B only ("1 pair"), the other two said only in the JSON's warnings; the README
    promises one row per pair. They now have rows with empty pair figures and a note, and are listed."""
    from breathsync.batch import analyse_batch, write_summary
    from breathsync.io.csvfile import write_recording

    t = np.arange(0, 60, 0.04)
    paths = []
    for k, (name, t0) in enumerate((("a", 0.0), ("b", 0.0), ("c", 40.0))):
        paths.append(tmp_path / f"{name}.csv")
        # each its own phase: identical waveforms at the same times are one recording twice (a note of its own)
        write_recording(paths[-1], t + t0, {"resp": np.sin(2 * np.pi * 0.25 * t + 0.3 * k)}, {})
    item = "+".join(str(p) for p in paths)
    res = analyse_batch([item])
    assert not res.failed and len(res.results) == 1  # analysed, not failed: every input in one of the two
    assert [(r["a"], r["b"]) for r in res.rows] == [("A", "B"), ("A", "C"), ("B", "C")]
    scored, *unscored = res.rows
    assert scored["note"] == "" and scored["mean_plv"] is not None
    for row in unscored:
        assert row["mean_plv"] is None and row["time_in_sync_frac"] is None and row["leader"] is None
        assert re.fullmatch(
            r"not scored: the recordings overlap by \d+(\.\d)? s, less than one 30-s window", row["note"]
        )
        assert row["overlap_s"] == pytest.approx(20, abs=1) and row["rate_a_bpm"] is not None
    assert [(s, pair) for s, pair, _ in res.unscored] == [(item, "A-C"), (item, "B-C")]
    write_summary(str(tmp_path / "s.csv"), res.rows)
    rows = list(csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8")))
    assert len(rows) == 3 and rows[1]["mean_plv"] == "" and "not scored" in rows[1]["note"]


def test_a_pair_that_cannot_be_scored_is_said_on_the_terminal(tmp_path: Path) -> None:
    """A three-person session where C joins for the last 20 s: the pairs with C overlap by less than a
    window; their rows have a note, and the terminal names them (the table used to drop them without a
    word)."""
    from breathsync.io.csvfile import write_recording

    t = np.arange(0.0, 120.0, 0.04)
    files = []
    for k, (label, t0) in enumerate((("A", 0.0), ("B", 0.0), ("C", 100.0))):
        f = tmp_path / f"{label}.csv"
        rows = 1.0 - np.cos(2 * np.pi * 0.25 * t + 0.3 * k)  # each its own: not one recording twice
        write_recording(str(f), t + t0, {"resp": rows}, {"participant": label})
        files.append(str(f))
    r = run_main("analyze", "+".join(files), "--batch", str(tmp_path / "s.csv"), timeout=120)
    assert r.returncode == 0, r.stderr
    assert "3 pairs (2 not scored)" in r.stdout, r.stdout
    assert "pair A-C: not scored" in r.stderr and "pair B-C: not scored" in r.stderr, r.stderr
    table = list(csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8")))
    assert [bool(x["note"]) for x in table] == [False, True, True]


@pytest.mark.parametrize(
    ("items", "said"),
    [
        (["{rec}", "{rec}"], "is given twice"),
        (["{rec}", "{rec}/../rec"], "is given twice (as"),
        (["{a}+{b}", "{b}+{a}"], "is given twice (as"),
        (["+"], "has an empty part"),
        (["{a}+"], "has an empty part"),
    ],
)
def test_a_session_given_twice_or_an_empty_part_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], items: list[str], said: str
) -> None:
    """The same folder twice wrote two identical rows (a study would count the pair twice); '+' was read as
    the current folder ("would overwrite a file of the session folder ...")."""
    from breathsync.cli import main

    rec = make_session_folder(tmp_path / "rec")
    a, b = SAMPLES / "pair_sync_A.csv", SAMPLES / "pair_sync_B.csv"
    args = [x.format(rec=rec, a=a, b=b) for x in items]
    summary = tmp_path / "s.csv"
    assert main(["analyze", *args, "--batch", str(summary)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and said in err and "--batch" in err, err
    assert not summary.exists()  # refused before any analysis


def test_the_summary_gives_each_belts_clipped_share(tmp_path: Path) -> None:
    # A belt held at its median (too tight) and one within its range, then a partner whose breathing comes
    # from heart beats: its share is not measured (empty), not 0.
    t, y, _ = breathing(duration_s=150.0, fs_hz=25, rate_bpm=10, seed=3)
    write_recording(tmp_path / "a.csv", t, {"resp": np.minimum(y, np.median(y))}, {"participant": "A"})
    write_recording(tmp_path / "b.csv", t, {"resp": y}, {"participant": "B"})
    t_b = np.cumsum(np.full(180, 0.8))
    rr = 800.0 + 40.0 * np.sin(2 * np.pi * t_b / 6.0)
    write_recording(tmp_path / "c.csv", t_b, {"rr_ms": rr}, {"participant": "C"})
    items = [f"{tmp_path / 'a.csv'}+{tmp_path / 'b.csv'}", f"{tmp_path / 'b.csv'}+{tmp_path / 'c.csv'}"]
    write_summary(str(tmp_path / "s.csv"), analyse_batch(items).rows)
    rows = list(csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8")))
    cols = list(rows[0])  # added after the group's mean R (a study's scripts may read columns by position)
    at = cols.index("group_mean_kuramoto_r") + 1
    assert cols[at : at + 2] == ["clipped_frac_a", "clipped_frac_b"]
    assert 0.3 < float(rows[0]["clipped_frac_a"]) < 0.6 and float(rows[0]["clipped_frac_b"]) == 0.0
    assert float(rows[1]["clipped_frac_a"]) == 0.0 and rows[1]["clipped_frac_b"] == ""


def test_batch_dash_writes_the_summary_to_stdout(tmp_path: Path, monkeypatch: Any) -> None:
    """``--batch -`` wrote a file named '-' ("1 pair: -"); it is stdout, alone there (the count goes to
    stderr), as analyze's ``--json -``."""
    monkeypatch.chdir(tmp_path)
    item = f"{SAMPLES / 'pair_sync_A.csv'}+{SAMPLES / 'pair_sync_B.csv'}"
    r = run_main("analyze", item, "--batch", "-")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(r.stdout.splitlines()))
    assert len(rows) == 1 and list(rows[0]) == list(SUMMARY_COLUMNS)
    assert rows[0]["a"] == "A" and float(rows[0]["time_in_sync_frac"]) > 0.9
    assert "1 of 1 session analysed, 1 pair: stdout" in r.stderr
    assert not (tmp_path / "-").exists()
