"""BIDS export of a recorded session, checked against the specification's required fields."""

from __future__ import annotations

import gzip
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, bids_validator_issues, make_session_folder, run_breathsync, run_main

from breathsync.export_bids import export_bids

NAME = re.compile(
    r"^sub-[A-Za-z0-9]+_task-[A-Za-z0-9]+(_recording-[A-Za-z0-9]+)?_(physio|physioevents)\.(tsv\.gz|json)$"
)


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rec = tmp_path_factory.mktemp("s") / "rec"
    r = run_breathsync(
        "run",
        "-p", "A=sim:steady,rate=12,seed=1",
        "-p", "B=sim:follow,rate=12,coupling=1.5,delay=0.3,seed=2",
        "-p", "C=replay:sample_signals/polar_h10_rr.csv",
        "--record", str(rec), "--duration", "90", "--speed", "60", "--quiet", "--phase", "match", "--goal", "10",
        timeout=120, cwd=REPO,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return rec


def test_bids_files_have_the_required_fields(session_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bids"
    written = export_bids(session_dir, out)
    desc = json.loads((out / "dataset_description.json").read_text(encoding="utf-8"))
    assert desc["Name"] and desc["BIDSVersion"]
    header = (out / "participants.tsv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split("\t")[0] == "participant_id"
    physio = [p for p in written if p.name.endswith("_physio.tsv.gz")]
    assert {p.parent.parent.name for p in physio} == {"sub-A", "sub-B", "sub-C"}
    for p in written:
        if p.parent.name == "beh" and "derivatives" not in p.parts:  # the raw dataset's files
            assert NAME.match(p.name), p.name
    for p in physio:
        side = json.loads(p.with_name(p.name.replace(".tsv.gz", ".json")).read_text(encoding="utf-8"))
        for key in ("SamplingFrequency", "StartTime", "Columns"):
            assert key in side, (p.name, key)
        assert side["SamplingFrequency"] > 0 and len(set(side["Columns"])) == len(side["Columns"])
        with gzip.open(p, "rt", encoding="utf-8") as fh:
            rows = [ln.rstrip("\n").split("\t") for ln in fh]
        assert rows and all(len(r) == len(side["Columns"]) for r in rows)  # no header line, same width
        float(rows[0][0]) if rows[0][0] != "n/a" else None  # numeric from the first line: no header
    raw_a = json.loads(
        (out / "sub-A/beh/sub-A_task-breathsync_recording-raw_physio.json").read_text(encoding="utf-8")
    )
    assert raw_a["SamplingFrequency"] == pytest.approx(25.0) and "respiratory" in raw_a["Columns"]
    raw_c = json.loads(
        (out / "sub-C/beh/sub-C_task-breathsync_recording-raw_physio.json").read_text(encoding="utf-8")
    )
    assert raw_c["SamplingFrequency"] == pytest.approx(4.0) and "breathsyncProcessing" in raw_c


def test_events_are_on_the_live_recording_timeline(session_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bids"
    export_bids(session_dir, out)
    beh = out / "sub-B" / "beh"
    side = json.loads(
        (beh / "sub-B_task-breathsync_recording-live_physioevents.json").read_text(encoding="utf-8")
    )
    assert side["Columns"][:2] == ["onset", "duration"]  # BIDS 1.11: onset first
    live_side = json.loads(
        (beh / "sub-B_task-breathsync_recording-live_physio.json").read_text(encoding="utf-8")
    )
    assert side["OnsetSource"] in live_side["Columns"]
    ts_col = live_side["Columns"].index(side["OnsetSource"])
    with gzip.open(beh / "sub-B_task-breathsync_recording-live_physio.tsv.gz", "rt", encoding="utf-8") as fh:
        ts = np.array([float(ln.split("\t")[ts_col]) for ln in fh])
    # The timestamp column is the session time of each row: StartTime, then one row per 1/fs.
    assert ts[0] == pytest.approx(live_side["StartTime"], abs=1e-3)
    np.testing.assert_allclose(np.diff(ts), 1.0 / live_side["SamplingFrequency"], atol=2e-3)
    with gzip.open(
        beh / "sub-B_task-breathsync_recording-live_physioevents.tsv.gz", "rt", encoding="utf-8"
    ) as fh:
        ev = [ln.rstrip("\n").split("\t") for ln in fh if ln.strip()]
    assert ev, "the session had events (in sync, goal reached)"
    for onset, duration, _kind, _msg in ev:
        assert ts[0] - 5 <= float(onset) <= ts[-1] + 2 and float(duration) == 0
    assert {"in_sync", "goal_reached"} & {e[2] for e in ev}


def test_the_official_bids_validator_finds_no_error(session_dir: Path, tmp_path: Path) -> None:
    # bids-validator 3 (the BIDS project's own, a dev dependency: bids-validator-deno on PyPI) checks
    # the export against the specification's schema. Only the dataset-level fields a user must fill in
    # (Authors, License) may be left as warnings. It found two errors before (events' onset not the first
    # column, no OnsetSource) and six kinds of warnings (gzip headers, no README, PhysioType, TaskName).
    out = tmp_path / "bids"
    export_bids(session_dir, out)
    issues = bids_validator_issues(out)
    assert not [i for i in issues if i[0] == "error"], issues
    allowed = {"TOO_FEW_AUTHORS", "NO_AUTHORS", "JSON_KEY_RECOMMENDED"}
    assert {i[1] for i in issues} <= allowed, issues
    assert {i[2] for i in issues if i[1] == "JSON_KEY_RECOMMENDED"} <= {
        "License",
        "HEDVersion",
        "SourceDatasets",
    }


def test_export_command_and_its_errors(session_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    r = run_main("export", str(session_dir), "--bids", str(out), timeout=60)
    assert r.returncode == 0, r.stderr
    assert (out / "sub-A").is_dir()
    again = run_main("export", str(session_dir), "--bids", str(out), timeout=60)
    assert again.returncode == 2 and "already there" in again.stderr and len(again.stderr.splitlines()) == 1
    bad = run_main("export", str(tmp_path), "--bids", str(tmp_path / "x"), timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_export_session_labels_put_a_study_in_one_dataset(session_dir: Path, tmp_path: Path) -> None:
    """`--session`: a study's sessions are one BIDS dataset (the same labels were refused: "sub-A is already
    there"); only the same subject and session twice is refused. A label already there is the same person."""
    out = tmp_path / "study"
    for label in ("1", "2"):
        r = run_main("export", str(session_dir), "--bids", str(out), "--session", label, timeout=60)
        assert r.returncode == 0, r.stderr
        # the second session's A and B are taken to be the first's: said, as a pair study needs other labels
        assert ("note: sub-A, sub-B, sub-C already had a session" in r.stdout) == (label == "2"), r.stdout
    assert {p.name for p in (out / "sub-A").iterdir() if p.is_dir()} == {"ses-1", "ses-2"}
    assert (out / "participants.tsv").read_text(encoding="utf-8").count("sub-A") == 1
    again = run_main("export", str(session_dir), "--bids", str(out), "--session", "2", timeout=60)
    assert again.returncode == 2 and len(again.stderr.splitlines()) == 1, again.stderr
    issues = bids_validator_issues(out)
    assert not [i for i in issues if i[0] == "error"], issues


def test_the_same_session_exports_to_the_same_bytes(session_dir: Path, tmp_path: Path) -> None:
    # No time or file name in the gzip headers: two exports of one session are identical.
    one, two = tmp_path / "one", tmp_path / "two"
    export_bids(session_dir, one)
    export_bids(session_dir, two)
    files = sorted(p.relative_to(one) for p in one.rglob("*.tsv.gz"))
    assert len(files) == 9
    for rel in files:
        assert (one / rel).read_bytes() == (two / rel).read_bytes(), rel


def test_a_belt_run_inverted_is_exported_rising_on_inhale(tmp_path: Path) -> None:
    # run --invert A: the raw export kept the belt's own polarity while its sidecar said "rising on inhale".
    rec = tmp_path / "rec"
    # (Replayed belts: --invert of a simulated partner is refused.)
    samples = REPO / "sample_signals"
    r = run_main(
        "run", "-p", f"A=replay:{samples / 'pair_sync_A.csv'}", "-p", f"B=replay:{samples / 'pair_sync_B.csv'}",
        "--invert", "A", "--duration", "30", "--speed", "60", "--quiet", "--record", str(rec), timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = tmp_path / "bids"
    export_bids(rec, out)
    for label, sign in (("A", -1.0), ("B", 1.0)):
        beh = out / f"sub-{label}" / "beh"
        side = json.loads(
            (beh / f"sub-{label}_task-breathsync_recording-raw_physio.json").read_text(encoding="utf-8")
        )
        with gzip.open(
            beh / f"sub-{label}_task-breathsync_recording-raw_physio.tsv.gz", "rt", encoding="utf-8"
        ) as fh:
            got = np.array([float(ln.split("\t")[side["Columns"].index("respiratory")]) for ln in fh])
        lines = [
            ln
            for ln in (rec / f"{label}.csv").read_text(encoding="utf-8").splitlines()
            if not ln.startswith("#")
        ]
        cols = lines[0].split(",")
        raw = np.array([float(ln.split(",")[cols.index("resp")]) for ln in lines[1:]])
        np.testing.assert_allclose(got, sign * raw, rtol=1e-6)
        assert ("flipped" in side.get("breathsyncProcessing", "")) == (label == "A")


def test_a_session_label_with_ses_or_too_long_is_one_line_with_a_usable_suggestion(
    session_dir: Path, tmp_path: Path
) -> None:
    """`--session ses-01` suggested 'ses01' (which would make ses-ses01); a 300-character label failed late,
    on the file system's name length."""
    r = run_main("export", str(session_dir), "--bids", str(tmp_path / "a"), "--session", "ses-01")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "give one such as '01'" in r.stderr, r.stderr
    r = run_main("export", str(session_dir), "--bids", str(tmp_path / "b"), "--session", "x" * 300)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "at most 64" in r.stderr, r.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_strap_is_exported_with_its_tachogram_from_the_first_beat_and_its_waveform_said_derived(
    tmp_path: Path,
) -> None:
    """An RR participant: its tachogram was the first interval from t = 0, before the first beat (0.7 s), and
    its breathing waveform's description said "column resp of the breathsync recording", which has none."""
    session = make_session_folder(tmp_path / "rec")
    beats = 0.7 + np.cumsum(np.r_[0.0, 0.8 + 0.1 * np.sin(2 * np.pi * 0.25 * np.arange(1, 200) * 0.8)])
    rr = np.r_[800.0, np.diff(beats) * 1000.0]
    rows = "".join(f"{b:.4f},{r:.1f}\n" for b, r in zip(beats, rr, strict=True))
    (session / "A.csv").write_text("# participant: A\ntime,rr_ms\n" + rows, encoding="utf-8")
    out = tmp_path / "bids"
    export_bids(session, out)
    physio = next((out / "sub-A").rglob("*_recording-raw_physio.tsv.gz"))
    side = json.loads(physio.with_name(physio.name.replace(".tsv.gz", ".json")).read_text(encoding="utf-8"))
    with gzip.open(physio, "rt", encoding="utf-8") as f:
        table = np.array(
            [[float("nan") if c == "n/a" else float(c) for c in ln.rstrip("\n").split("\t")] for ln in f]
        )
    t = side["StartTime"] + np.arange(len(table)) / side["SamplingFrequency"]
    tach = table[:, side["Columns"].index("rr_ms")]
    assert np.isnan(tach[t < beats[0] - 1e-9]).all() and np.isfinite(tach[(t > 1.0) & (t < beats[-1])]).all()
    assert "derived from the recording's rr_ms" in side["respiratory"]["Description"]


def test_a_simulated_participants_true_phase_is_exported_in_radians(
    session_dir: Path, tmp_path: Path
) -> None:
    """``run -p B=sim:...``: B.csv's ``true_phase`` had no ``# unit:`` line and BIDS said "arbitrary"."""
    out = tmp_path / "bids"
    export_bids(session_dir, out)
    for sub in ("A", "B"):
        p = out / f"sub-{sub}/beh/sub-{sub}_task-breathsync_recording-raw_physio.json"
        side = json.loads(p.read_text(encoding="utf-8"))
        assert side["true_phase"]["Units"] == "rad"
    # One row per window end in the pair synchrony derivative, whatever the speed it was recorded at.
    p = out / "derivatives/breathsync/sub-A/beh/sub-A_task-breathsync_desc-pairsync_beh.tsv"
    rows = [ln.split("\t") for ln in p.read_text(encoding="utf-8").splitlines()]
    col = rows[0].index("window_end_s")
    for partner in ("sub-B", "sub-C"):
        ends = [r[col] for r in rows[1:] if r[0] == partner and r[col] != "n/a"]
        assert ends and len(ends) == len(set(ends)), partner


def _pairs_csv(folder: Path, rows: list[tuple[float, str, float]]) -> None:
    """A pairs.csv for A-B: per row (time, plv, window end); the other figures follow the plv."""
    lines = [
        "# holds: live pair synchrony, one row per snapshot; columns <a>-<b>_<field>",
        "time,A-B_plv,A-B_null_plv,A-B_sync_score,A-B_in_sync,A-B_rel_phase_rad,A-B_lag_s,A-B_window_end_s",
    ]
    for t, plv, end in rows:
        lines.append(f"{t},{plv},0.5,{plv},{'1' if plv else ''},0.1,0.2,{end}")
    (folder / "pairs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _pairsync(out: Path, sub: str) -> tuple[list[dict[str, str]], dict[str, object]]:
    p = out / f"derivatives/breathsync/sub-{sub}/beh/sub-{sub}_task-breathsync_desc-pairsync_beh.tsv"
    lines = p.read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    side = json.loads(p.with_suffix(".json").read_text(encoding="utf-8"))
    return [dict(zip(head, ln.split("\t"), strict=True)) for ln in lines[1:]], side


def test_the_pair_synchrony_derivative_has_one_row_per_window_end(tmp_path: Path) -> None:
    """A fast replay's snapshots repeat a window (pairs.csv at --speed 50: the same window_end_s and figures
    on several rows), and the sidecar said "about 10 per second". Repeats are one row (the first published);
    the same window end with other figures keeps the last; an unknown window end is kept unless repeated."""
    s = make_session_folder(tmp_path / "s", info={"settings": {"window_s": 30.0}})
    _pairs_csv(
        s,
        [
            (1.0, "", math.nan),  # not scored yet
            (1.1, "", math.nan),  # the same: left out
            (1.2, "0.7", 30.0),
            (1.3, "0.7", 30.0),  # published again unchanged: left out
            (1.4, "0.7", 30.0),  # again
            (1.5, "0.75", 31.2),
            (1.6, "0.8", 31.2),  # the same window end, other figures: replaces the row before
            (1.7, "0.8", 32.5),
        ],
    )
    out = tmp_path / "bids"
    export_bids(s, out)
    for sub in ("A", "B"):
        rows, side = _pairsync(out, sub)
        got = [(r["time"], r["window_end_s"], r["plv"]) for r in rows]
        assert got == [
            ("1", "n/a", "n/a"),
            ("1.2", "30", "0.7"),
            ("1.6", "31.2", "0.8"),
            ("1.7", "32.5", "0.8"),
        ], sub
        text = str(side["Description"])
        assert "10 per second" not in text and "breathsync analyze" in text and "speed" in text
    readme = (out / "derivatives/breathsync/README").read_text(encoding="utf-8")
    assert "10 per second" not in readme and "breathsync analyze" in readme


def test_an_older_recordings_blank_rows_after_a_partner_ended_do_not_replace_the_last_window(
    tmp_path: Path,
) -> None:
    """Before the session gave no window end once one of a pair had no signal, pairs.csv went on with the last
    window's end and empty figures: the export kept that blank row in place of the window's own (B-C's last
    window, PLV 0.97 in analyze, exported as n/a)."""
    s = make_session_folder(tmp_path / "s", info={"settings": {"window_s": 30.0}})
    _pairs_csv(s, [(299.9, "0.97", 299.9), (300.0, "", 299.9), (301.0, "", 299.9), (302.0, "", math.nan)])
    export_bids(s, tmp_path / "bids")
    rows, _ = _pairsync(tmp_path / "bids", "A")
    assert [(r["time"], r["window_end_s"], r["plv"]) for r in rows] == [
        ("299.9", "299.9", "0.97"),
        ("302", "n/a", "n/a"),
    ]


def test_a_pairs_file_without_window_ends_keeps_its_distinct_rows(tmp_path: Path) -> None:
    """A recording from before ``window_end_s``: its rows' windows are unknown, so only exact repeats go."""
    s = make_session_folder(tmp_path / "s")
    lines = ["time,A-B_plv,A-B_null_plv,A-B_sync_score,A-B_in_sync,A-B_rel_phase_rad,A-B_lag_s"]
    lines += ["1.0,0.7,0.5,0.4,1,0.1,0.2", "1.1,0.7,0.5,0.4,1,0.1,0.2", "1.2,0.71,0.5,0.42,1,0.1,0.2"]
    (s / "pairs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    export_bids(s, tmp_path / "bids")
    rows, _ = _pairsync(tmp_path / "bids", "A")
    assert [(r["time"], r["plv"]) for r in rows] == [("1", "0.7"), ("1.2", "0.71")]
