"""The live commands' option checks (an audit's findings): each bad option is one line saying what is wrong
and what to do, exit code 2, before anything starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import posix_only

from breathsync.cli import DEMO_S, main

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_signals"
BELT = SAMPLES / "pair_follow_A.csv"
#: What would make a session that is not refused (the old code's) end in a second or two.
QUICK = ["--duration", "5", "--speed", "300", "--quiet"]


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command line in this process; assert exit code 2 with one line on stderr, and return it."""
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors
        code = int(e.code or 0)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


# ------------------------------------------------------------------------- a simulated follower cannot lead
def test_the_demos_simulated_follower_cannot_lead(capsys: pytest.CaptureFixture[str]) -> None:
    # Accepted: the partner was told to change its pace, and the summary credited it with "you"'s changes.
    err = refused(["demo", "--phase", "lead", "--leader", "partner", *QUICK], capsys)
    assert "--leader partner: partner is a simulated follower" in err
    assert err.endswith("lead yourself (--leader you)")  # nothing the demo cannot take (-p)


def test_a_simulated_follower_cannot_lead_a_run(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["run", "-p", f"A=replay:{BELT}", "-p", "B=sim:follow", "--phase", "lead", *QUICK]
    err = refused([*base, "--leader", "B"], capsys)
    assert "--leader B: B is a simulated follower (sim:follow, following A)" in err
    assert "lead yourself (--leader A), or make B a simulated leader" in err and "-p B=sim:lead" in err
    # The default leader is the first participant: the same, said of the default.
    err = refused(["run", "-p", "B=sim:follow", "-p", f"A=replay:{BELT}", "--phase", "lead", *QUICK], capsys)
    assert err.startswith("breathsync: error: --phase lead: the leader is the first participant, B,")
    assert "(--leader A)" in err


def test_a_simulated_leader_still_leads(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "-p", "A=sim:lead,rate=12,seed=1", "-p", "B=sim:follow,seed=2", "--phase", "lead"]
    assert main([*argv, "--leader", "A", "--duration", "20", "--speed", "100", "--quiet"]) == 0


# ------------------------------------------------------------------------------------ paths in the way
def test_a_screenshot_in_a_file_says_it_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    err = refused(["demo", "--screenshot", str(afile / "x.png")], capsys)
    # It said "the folder .../afile does not exist".
    assert f"{afile} is a file, not a folder" in err and "does not exist" not in err
    assert f"e.g. {tmp_path / 'x.png'}" in err


@pytest.mark.parametrize("deeper", [False, True])
def test_a_recording_folder_in_a_file_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], deeper: bool
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    record = afile / "sub" / "deeper" if deeper else afile / "sub"
    err = refused(["demo", "--record", str(record), "--quiet"], capsys)
    # It said "cannot create the recording folder: Not a directory", with nothing to do.
    assert f"--record {record}: {afile} is a file, not a folder" in err and "Not a directory" not in err
    assert f"e.g. --record {tmp_path / record.name}" in err
    assert sorted(os.listdir(tmp_path)) == ["afile"]


@posix_only("/etc/passwd")
def test_the_audits_screenshot_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert "/etc/passwd is a file, not a folder" in refused(
        ["demo", "--screenshot", "/etc/passwd/x.png"], capsys
    )


# --------------------------------------------------------------------------- unknown labels are listed
def test_an_unknown_leader_lists_the_participants(capsys: pytest.CaptureFixture[str]) -> None:
    # It said "leader 'C' is not a participant": the demo's labels cannot be guessed.
    err = refused(["demo", "--phase", "lead", "--leader", "C", "--quiet"], capsys)
    assert err.endswith(
        "--leader C: there is no participant C; lead with one of the participants: you or partner"
    )
    err = refused(
        ["run", "-p", "A=sim:steady", "-p", "B=sim:follow", "--phase", "lead", "--leader", "C"], capsys
    )
    assert err.endswith("one of the participants: A or B")


def test_an_unknown_inverted_label_lists_the_participants(capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(["run", "-p", f"A=replay:{BELT}", "-p", "B=sim:follow", "--invert", "C"], capsys)
    # It said "no such participant".
    assert err.endswith("--invert C: there is no participant C; give one of the participants: A or B")


# ------------------------------------------------------------------------ an option given twice
@pytest.mark.parametrize(
    ("argv", "option", "values"),
    [
        (["run", "-p", "A=sim:steady", "--phase", "lead", "--leader", "A", "--leader", "B"], "--leader", "A and B"),
        (["run", "-p", "A=sim:steady", "--record", "d1", "--record", "d2"], "--record", "d1 and d2"),
        (["demo", "--duration", "10", "--duration", "20"], "--duration", "10 and 20"),
        (["demo", "--phase", "match", "--phase", "lead"], "--phase", "match and lead"),
        (["demo", "--coupling", "1", "--coupling", "2"], "--coupling", "1 and 2"),
        (["run", "-p", "A=sim:steady", "--screenshot", "a.png", "--screenshot", "b.png"], "--screenshot", "a.png and b.png"),
        (["analyze", "x.csv", "--window", "30", "--window", "40"], "--window", "30 and 40"),
        (["analyze", "x.csv", "--json", "a.json", "--json", "b.json"], "--json", "a.json and b.json"),
    ],
)  # fmt: skip
def test_a_single_valued_option_given_twice_is_refused(
    argv: list[str],
    option: str,
    values: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # They silently took the last (a recording in d2 when d1 was meant, or the other leader).
    monkeypatch.chdir(tmp_path)
    if argv[0] != "analyze":  # (the old code ran these: quickly)
        argv = [*argv, *(["--duration", "1"] if "--duration" not in argv else []), "--speed", "300"]
        argv += [] if "--screenshot" in argv else ["--quiet"]
    err = refused(argv, capsys)
    assert f"argument {option}: given twice ({values}): give it once" in err
    assert os.listdir(tmp_path) == []


def test_repeatable_options_stay_repeatable(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "run",
        "-p",
        "A=sim:steady,seed=1",
        "-p",
        "B=sim:follow,seed=2",
        "--duration",
        "5",
        "--speed",
        "100",
    ]
    assert main([*argv, "--quiet", "--quiet"]) == 0


# ----------------------------------------------------------------- --invert of breathing that has a direction
@pytest.mark.parametrize(
    ("sample", "says"),
    [
        ("polar_h10_rr.csv", "A's breathing comes from heart beats, whose direction is set by physiology"),
        (
            "h10_like_nk_rest5.csv",
            "A's breathing comes from a chest accelerometer, whose direction breathsync sets",
        ),
    ],
)
def test_invert_is_refused_for_breathing_derived_from_beats_or_an_accelerometer(
    sample: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Accepted, and recorded as "# invert: true" (the README: RR-derived breathing's direction is physiology's).
    rec = tmp_path / "rec"
    argv = [
        "run",
        "-p",
        f"A=replay:{SAMPLES / sample}",
        "-p",
        "B=sim:follow",
        "--invert",
        "A",
        "--record",
        str(rec),
    ]
    err = refused([*argv, "--quiet", "--duration", "5", "--speed", "100"], capsys)
    assert says in err and err.endswith(
        "drop --invert A (it is for a breathing belt worn so that it falls on inhale)"
    )
    assert not rec.exists()


def test_invert_is_taken_for_a_belt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "rec"
    argv = ["run", "-p", f"A=replay:{BELT}", "-p", "B=sim:follow", "--invert", "A", "--record", str(rec)]
    assert main([*argv, "--quiet", "--duration", "5", "--speed", "100"]) == 0
    assert "# invert: true" in (rec / "A.csv").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------- the demo's length
def test_the_demo_is_as_long_as_its_recording(capsys: pytest.CaptureFixture[str]) -> None:
    from breathsync.io.csvfile import read_recording

    rec = read_recording(SAMPLES / "nk_rest5_100hz.csv")
    assert rec.time[-1] - rec.time[0] + (rec.time[1] - rec.time[0]) == pytest.approx(DEMO_S)
    # "you" had no signal from 4:59 to 7:00, and the demo exited 0.
    err = refused(["demo", "--duration", "420", "--speed", "300", "--quiet"], capsys)
    assert "--duration 420: the demo's recording is 300 s long (5 min)" in err
    assert "give --duration 300 or less" in err
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(300 s long, so the demo lasts at most 300 s)" in out
    assert "--duration S stop after S seconds of session time (default and longest 300" in out
