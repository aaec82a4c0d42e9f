"""The HTML session report: self-contained, with its pictures and numbers."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
from conftest import run_main

from breathsync.report import build_report

SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"


def test_report_of_a_recorded_session(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    r = run_main(
        "run", "-p", "A=sim:steady,rate=12,seed=1", "-p", "B=sim:follow,rate=13,coupling=1,seed=2",
        "--record", str(rec), "--duration", "120", "--speed", "60", "--quiet", timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run_main("report", str(rec), timeout=120)
    assert r.returncode == 0, r.stderr
    page = (rec / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 4  # breathing, rates, sync score, polar histogram
    assert "A – B" in page and "time in sync" in page and "Definitions" in page and "who led" in page
    # Self-contained: nothing fetched from elsewhere.
    assert not re.search(r"""(src|href)=["']https?:""", page)


def test_report_of_csv_files_and_errors(tmp_path: Path) -> None:
    page = build_report([str(SAMPLES / "pair_sync_A.csv"), str(SAMPLES / "pair_sync_B.csv")])
    assert "A – B" in page and "<svg" in page
    r = run_main("report", str(tmp_path / "none"), timeout=60)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr


def test_report_when_no_breathing_waveform_can_be_derived(tmp_path: Path) -> None:
    """Three heart beats give no RR-derived waveform at all: analyze reports no breaths, and so does report.
    (RR intervals of 0 ms, used here before, are now refused as not being RR intervals in ms.)"""
    rr0 = tmp_path / "m_rr0.csv"
    rr0.write_text("time,rr_ms\n0.8,800\n1.6,800\n2.4,800\n", encoding="utf-8")
    out = tmp_path / "m.html"
    r = run_main("report", str(rr0), "--out", str(out), timeout=60)
    assert r.returncode == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    assert "no breathing waveform could be derived" in page and "<svg" in page
    page = build_report([str(rr0), str(SAMPLES / "pair_sync_A.csv")])  # with a usable recording too
    assert "no breathing waveform could be derived" in page


def test_the_report_carries_analyzes_notes(tmp_path: Path) -> None:
    from breathsync.analysis import analyse_files
    from breathsync.io.csvfile import read_recording, write_recording

    rec = read_recording(SAMPLES / "h10_like_nk_rest5.csv")
    rows = rec.acc_rows()
    acc_only = tmp_path / "acc_only.csv"
    cols = {c: rec.columns[c][rows] for c in ("acc_x", "acc_y", "acc_z")}
    write_recording(acc_only, rec.time[rows], cols, {"participant": "A"})
    paths = [str(acc_only), str(SAMPLES / "polar_h10_rr.csv")]
    warnings = analyse_files(paths)["warnings"]
    assert len(warnings) == 2  # the accelerometer's guessed direction, the RR-derived breathing's limits
    page = build_report(paths)
    notes = re.findall(r"<li>(.*?)</li>", page)
    assert notes == [html.escape(w) for w in warnings]
    assert "<li>" not in build_report([str(SAMPLES / "pair_sync_A.csv"), str(SAMPLES / "pair_sync_B.csv")])


def test_the_reports_summary_row_is_analyzes() -> None:
    """Who led and the time in sync come from the same pair summary analyze prints (the report recomputed
    the time in sync from the in-sync series and worded the leader its own way: "B by 0.05 s")."""
    from breathsync.analysis import analyse_files, leader_text, percent_text

    paths = [str(SAMPLES / "pair_sync_A.csv"), str(SAMPLES / "pair_sync_B.csv")]
    s = analyse_files(paths)["pairs"][0]["summary"]
    page = html.unescape(build_report(paths))
    # (Both marked simulated: the generator's files carry their true phase.)
    row = re.search(
        r"<tr><td>A <span[^>]*>\(simulated\)</span> – B <span[^>]*>\(simulated\)</span></td>(.*?)</tr>", page
    )
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert cells[-1] == leader_text(s["leader"], s["lead_s"]) != ""  # as analyze words it
    assert cells[0].endswith(f"({percent_text(s['time_in_sync_frac'])})")
    # The clock is that share of the time scored (the windows with a PLV).
    pr = analyse_files(paths)["pairs"][0]
    step = float(np.median(np.diff(pr["t_s"])))
    scored = sum(v is not None for v in pr["plv"]) * step
    m, sec = cells[0].split(" ")[0].split(":")
    assert abs(60 * int(m) + int(sec) - s["time_in_sync_frac"] * scored) <= 1.0


def test_the_report_names_a_pair_it_could_not_score(tmp_path: Path) -> None:
    # The pair note moved from the warnings to the pair's own line in analyze; the report then said nothing.
    from breathsync.io.csvfile import read_recording, write_recording
    from sample_signals import sample_path

    src = read_recording(str(sample_path("pair_sync_B.csv")))
    late = src.time >= 280.0
    b = tmp_path / "b_end.csv"
    write_recording(b, src.time[late], {"resp": src.columns["resp"][late]}, {"participant": "B"})
    page = html.unescape(build_report([str(sample_path("pair_sync_A.csv")), str(b)]))
    assert "A-B: not scored: the recordings overlap by 19.9 s, less than one 30-s window" in page


def test_out_dash_writes_the_page_to_stdout(tmp_path: Path, monkeypatch: Any) -> None:
    """``--out -`` wrote a file named '-' (and said "wrote -"); it is stdout, as analyze's ``--json -``."""
    monkeypatch.chdir(tmp_path)
    r = run_main("report", str(SAMPLES / "pair_sync_A.csv"), str(SAMPLES / "pair_sync_B.csv"), "--out", "-")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("<!DOCTYPE html>") and r.stdout.rstrip().endswith("</html>")
    assert "A – B" in r.stdout and "wrote" not in r.stdout
    assert not (tmp_path / "-").exists()
