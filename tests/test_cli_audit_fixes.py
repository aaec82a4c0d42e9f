"""A user-journey audit of the command line: files after an option, report's help on XDF files, default labels
beside declared ones, run's labels that one file system (or a BIDS export) cannot tell apart, report's duration,
analyze of recordings on two clocks, --headless with --quiet, and 'analyse'."""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

import pytest

from breathsync.cli import main
from breathsync.io.csvfile import read_recording, write_recording

SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"
A = str(SAMPLES / "pair_sync_A.csv")
B = str(SAMPLES / "pair_sync_B.csv")
NK = str(SAMPLES / "nk_rest5_100hz.csv")


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """The one line ``argv`` is refused with (exit code 2, no traceback)."""
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ------------------------------------------------------------------------ 1. files after an option
def test_analyze_takes_a_file_after_an_option(capsys: pytest.CaptureFixture[str]) -> None:
    """``analyze A.csv --window 20 B.csv`` was refused: "unrecognized arguments: B.csv"."""
    assert main(["analyze", A, "--window", "20", B]) == 0
    out = capsys.readouterr().out
    assert "A-B: in sync" in out and "20-s windows" in out


def test_report_takes_a_file_after_an_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "p.html"
    assert main(["report", A, "--out", str(page), B]) == 0
    assert page.is_file() and f"wrote {page}" in capsys.readouterr().out


def test_batch_takes_sessions_after_an_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = tmp_path / "s.csv"
    assert main(["analyze", f"{A}+{B}", "--batch", str(summary), f"{A}+{NK}"]) == 0
    capsys.readouterr()
    with summary.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2


def test_files_after_options_keep_the_errors_said_before(capsys: pytest.CaptureFixture[str]) -> None:
    """Everything the plain parse refused is refused with the same words."""
    err = _error(capsys, ["analyze", "x.csv", "--window", "20", "y.csv", "--window", "30"])
    assert "argument --window: given twice (20 and 30)" in err
    err = _error(capsys, ["export"])
    assert "the following arguments are required: SESSION_DIR, --bids" in err
    err = _error(capsys, ["analyze", "--window", "20"])
    assert "the following arguments are required: FILE" in err
    err = _error(capsys, ["export", "a", "--bids", "x", "b"])
    assert err == "breathsync export: error: unrecognized arguments: b (see breathsync export --help)\n"
    # After '--' a file may look like an option: still a file.
    assert _error(capsys, ["analyze", "--", "-x.csv"]).startswith("breathsync: error: -x.csv: no such file")


def test_decode_takes_its_device_after_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """decode's three optional positionals: a STREAM after --capture is its own error, not "unrecognized"."""
    err = _error(capsys, ["decode", "polar-h10", "--capture", str(tmp_path / "c.csv"), "hrm"])
    assert "decode --capture FILE: give no STREAM or HEX" in err


# ------------------------------------------------------------------------ 2. report's help on XDF
def test_report_help_does_not_offer_xdf_files(capsys: pytest.CaptureFixture[str]) -> None:
    """report refuses an XDF file (replay it, recorded): its help said "CSV/XDF files"."""
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "XDF files" not in text and "CSV/XDF" not in text
    assert "an XDF file is not read here: replay it with run -p A=replay:FILE.xdf --record DIR" in text


# ------------------------------------------------------------------------ 3. default labels
def test_a_default_label_skips_a_label_another_file_declares(capsys: pytest.CaptureFixture[str]) -> None:
    """nk_rest5 (no participant line) before pair_sync_A.csv (``# participant: A``) was "A", and the file that
    says it is A became "A'"."""
    assert main(["analyze", NK, A, "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    labels = [p["label"] for p in res["participants"]]
    assert labels == ["B", "A"]


def test_a_default_label_skips_a_declared_label_in_another_case(tmp_path: Path) -> None:
    from breathsync.analysis import read_inputs

    src = read_recording(A)
    lower = tmp_path / "lower.csv"
    write_recording(lower, src.time, {"resp": src.columns["resp"]}, {"participant": "a"})
    plain = tmp_path / "plain.csv"
    write_recording(plain, src.time, {"resp": src.columns["resp"] * 2.0}, {})
    _, labels = read_inputs([str(plain), str(lower), NK])
    assert labels == ["B", "a", "C"]


# ------------------------------------------------------------------------ 4. run's labels
@pytest.mark.parametrize(
    ("first", "second", "words"),
    [
        (
            "a",
            "A",
            "participants a and A: labels that differ only in case name one file on macOS and Windows",
        ),
        (
            "a-1",
            "a_1",
            "participants a-1 and a_1: labels with the same ASCII letters and digits name one subject",
        ),
    ],
)
def test_run_refuses_labels_one_file_or_subject_cannot_tell_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], first: str, second: str, words: str
) -> None:
    """``-p a=... -p A=...`` ran and wrote a.csv and A_2.csv (one file name on macOS and Windows), whose export
    then failed; refused before anything starts, as CON or NUL are."""
    rec = tmp_path / "rec"
    argv = ["run", "-p", f"{first}=sim:steady", "-p", f"{second}=sim:follow", "--duration", "40"]
    err = _error(capsys, [*argv, "--speed", "40", "--quiet", "--record", str(rec)])
    assert words in err and "e.g. P1 and P2" in err
    assert not rec.exists()


# ------------------------------------------------------------------------ 5. report's duration
def test_report_gives_the_duration_analyze_gives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0 to 299.96 s (a 300-s recording at 25 Hz) was "Duration 4:59" beside analyze's "300 s"."""
    page = tmp_path / "p.html"
    assert main(["report", A, B, "--out", str(page)]) == 0
    assert main(["analyze", A, B]) == 0
    assert "300 s" in capsys.readouterr().out
    assert "Duration 5:00;" in page.read_text(encoding="utf-8")


# ------------------------------------------------------------------------ 6. two clocks
def test_analyze_says_when_recordings_are_on_two_clocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """B's times in Unix time beside A's from 0: "not scored: the recordings overlap by 0 s" (run said why)."""
    src = read_recording(B)
    unix = tmp_path / "unixB.csv"
    write_recording(unix, src.time + 1714550400.0, {"resp": src.columns["resp"]}, {"participant": "B"})
    assert main(["analyze", A, str(unix)]) == 0
    out = capsys.readouterr().out
    assert (
        "A-B: not scored: A (pair_sync_A.csv: 0 to 299.96 s) and B (unixB.csv: 1714550400 to 1714550700 s) were "
        "not recorded at the same time: B's recording starts 1.715e+09 s (54.3 years) after A's ends; analyse "
        "them separately, or shift one file's time column onto the other's"
    ) in out
    page = tmp_path / "p.html"
    assert main(["report", str(unix), A, "--out", str(page)]) == 0  # the report says it too
    assert "B's recording starts 1.715e+09 s (54.3 years) after A's ends" in html.unescape(
        page.read_text(encoding="utf-8")
    )


def test_analyze_still_gives_the_overlap_of_recordings_that_overlap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = read_recording(B)
    late = src.time >= 280.0
    b = tmp_path / "b_end.csv"
    write_recording(b, src.time[late], {"resp": src.columns["resp"][late]}, {"participant": "B"})
    assert main(["analyze", A, str(b)]) == 0
    assert (
        "A-B: not scored: the recordings overlap by 19.9 s, less than one 30-s window"
        in capsys.readouterr().out
    )


# ------------------------------------------------------------------------ 7. small
def test_analyse_is_analyze_without_cluttering_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyse", A, B]) == 0
    assert "A-B: in sync" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "analyse " not in capsys.readouterr().out.replace("analyse recordings", "")
    err = _error(capsys, ["analyse", "--bogus", A])
    assert err.startswith("breathsync analyze: error: unrecognized arguments: --bogus")
    # Nor is it one more choice to list to someone who mistyped a command.
    err = _error(capsys, ["anlyze", A])
    assert "invalid choice: 'anlyze'" in err and "'analyze'" in err and "analyse" not in err


# ------------------------------------------------------------------------ outputs that were inputs
@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["analyze", A, "--json"], "--json"),
        (["report", A, "--out"], "--out"),
        (["analyze", f"{A}+{B}", "--batch"], "--batch"),
    ],
)
def test_a_recording_given_after_an_output_option_is_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], option: str
) -> None:
    """With files allowed after options, ``analyze A.csv --json B.csv C.csv`` took B.csv as the JSON's name and
    wrote over the recording (the review of the change that allowed them)."""
    rec = tmp_path / "B.csv"
    rec.write_bytes(Path(B).read_bytes())
    other = tmp_path / "C.csv"
    other.write_bytes((SAMPLES / "pair_follow_A.csv").read_bytes())
    err = _error(capsys, [*command, str(rec), str(other)])
    assert err.startswith(f"breathsync: error: {option} {rec}: {rec} exists and is ")
    assert "is it a recording given after" in err
    assert rec.read_bytes() == Path(B).read_bytes()


def test_outputs_of_their_own_kind_are_still_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    js, study = tmp_path / "out.json", tmp_path / "study.csv"
    for _ in range(2):
        assert main(["analyze", A, B, "--json", str(js)]) == 0
        assert main(["analyze", f"{A}+{B}", "--batch", str(study)]) == 0
    assert json.loads(js.read_text(encoding="utf-8"))["pairs"]
    assert study.read_text(encoding="utf-8").startswith("session,a,b,")
