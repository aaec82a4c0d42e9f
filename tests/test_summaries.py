"""What analyze and report print: the same numbers (the JSON's), and what a live session's summary says of a
chest accelerometer's direction; the batch line's plural."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from conftest import posix_only, run_main

from breathsync.analysis import analyse_files, rate_text, summary_text
from breathsync.cli import main
from breathsync.io.csvfile import read_recording, write_recording
from breathsync.report import build_report
from sample_signals import sample_path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nk_rest5_100hz.csv", "16.5 ± 4.1"),  # SD 4.147: analyze printed the JSON's 4.15 as "4.2"
        ("h10_like_nk_rest5.csv", None),  # SD 4.2537 when this was written: analyze "4.2", report "4.3"
    ],
)
def test_analyze_and_report_print_the_same_rate(
    name: str, expected: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """analyze printed the JSON's rate SD (to the hundredth) to a tenth, report the unrounded SD: both now
    print the unrounded number to a tenth (the JSON keeps its hundredths)."""
    path = str(sample_path(name))
    assert main(["analyze", path]) == 0
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("A:")]
    printed = re.search(r"(\d+\.\d ± \d+\.\d) breaths/min", line)
    assert printed is not None, line
    if expected is not None:
        assert printed.group(1) == expected
    page = html.unescape(build_report([path]))
    assert f"<td>{printed.group(1)}</td>" in page
    p = analyse_files([path])["participants"][0]
    mean, sd = (float(x) for x in printed.group(1).split(" ± "))
    assert abs(p["rate_bpm_mean"] - mean) < 0.051 and abs(p["rate_bpm_sd"] - sd) < 0.051  # the same number


def test_a_rate_is_printed_to_a_tenth() -> None:
    assert rate_text(16.4876, 4.2537) == "16.5 ± 4.3 breaths/min"
    assert rate_text(15.0, None) == "15.0 breaths/min" and rate_text(None, None) == "rate unknown"


def test_analyze_says_which_way_is_inhale_for_an_accelerometer(tmp_path: Path) -> None:
    """As `breathsync run`'s summary does: how much of the time the heart confirmed it, or that it is a guess."""
    h10 = str(sample_path("h10_like_nk_rest5.csv"))
    res = analyse_files([h10, str(sample_path("nk_rest5_100hz.csv"))])
    heart = res["participants"][0]["acc_sign"]["basis_frac"]["heart"]
    lines = summary_text(res).splitlines()
    assert lines[0].endswith(
        f"breaths/min; which way is inhale: confirmed by the heart {heart:.0%} of the time"
    )
    assert "which way is inhale" not in lines[1]  # a belt
    rec = read_recording(h10)
    rows = rec.acc_rows()
    no_beats = tmp_path / "acc_only.csv"
    write_recording(no_beats, rec.time[rows], {c: rec.columns[c][rows] for c in ("acc_x", "acc_y", "acc_z")})
    res = analyse_files([str(no_beats)])
    assert res["participants"][0]["acc_sign"]["heart_beats"] is False
    assert (
        summary_text(res)
        .splitlines()[0]
        .endswith("breaths/min; which way is inhale: a guess (no heart beats)")
    )


def test_batch_says_1_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    item = f"{sample_path('pair_sync_A.csv')}+{sample_path('pair_sync_B.csv')}"
    assert main(["analyze", item, "--batch", str(tmp_path / "s.csv")]) == 0
    assert (
        capsys.readouterr().out.splitlines()[-1] == f"1 of 1 session analysed, 1 pair: {tmp_path / 's.csv'}"
    )
    other = f"{sample_path('pair_strangers_A.csv')}+{sample_path('pair_strangers_B.csv')}"  # (one session twice is refused)
    r = run_main("analyze", item, other, "--batch", str(tmp_path / "t.csv"), timeout=120)
    assert r.stdout.splitlines()[-1].endswith("2 pairs: " + str(tmp_path / "t.csv")), r.stdout


@posix_only("/dev/fd")
def test_a_pipe_is_named_by_its_whole_path(capsys: pytest.CaptureFixture[str]) -> None:
    # `analyze <(cat A.csv)` named the file "63" (the name of /dev/fd/63), which read as a number.
    import os
    import threading

    data = sample_path("nk_rest5_100hz.csv").read_bytes()
    r, w = os.pipe()

    def feed() -> None:
        with os.fdopen(w, "wb") as fh:
            fh.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        assert main(["analyze", f"/dev/fd/{r}"]) == 0
    finally:
        writer.join()
        os.close(r)
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("A:")]
    assert line.startswith(f"A: /dev/fd/{r} (resp)"), line


def test_json_numbers_are_never_minus_zero() -> None:
    import json

    import numpy as np

    from breathsync.analysis import _f

    assert json.dumps(_f(np.array([-0.00001, -0.5, np.nan]))) == "[0.0, -0.5, null]"
