"""``breathsync export --bids`` on damaged session folders: one line and exit code 2 (no traceback), what a
killed recorder leaves is accepted, and a failed export leaves nothing behind (all or nothing)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import run_breathsync

from breathsync import export_bids as export_module
from breathsync.cli import main
from breathsync.errors import InputError
from breathsync.export_bids import export_bids

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rec = tmp_path_factory.mktemp("rec") / "sess1"
    r = run_breathsync(
        "run", "-p", "A=sim:steady,seed=1", "-p", "B=sim:follow,seed=2",
        "--quiet", "--duration", "90", "--speed", "300", "--goal", "5", "--record", str(rec),
        timeout=120, cwd=REPO,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return rec


@pytest.fixture
def sess(recorded: Path, tmp_path: Path) -> Path:
    """A fresh copy of the recorded session, to damage."""
    return Path(shutil.copytree(recorded, tmp_path / "sess"))


def export(capsys: pytest.CaptureFixture[str], session: Path | str, out: Path | str) -> tuple[int, str]:
    """Run ``breathsync export SESSION --bids OUT`` in this process: (exit code, stderr)."""
    code = main(["export", str(session), "--bids", str(out)])
    return code, capsys.readouterr().err


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    d = json.loads(path.read_text(encoding="utf-8"))
    change(d)
    path.write_text(json.dumps(d), encoding="utf-8")


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def nothing_left_beside(out: Path) -> bool:
    """No half-written dataset and no temporary folder next to OUT."""
    return not out.exists() and not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]


def cut_live_header(s: Path) -> None:
    (s / "A_live.csv").write_bytes((s / "A_live.csv").read_bytes()[:200])


def non_numeric_live_cell(s: Path) -> None:
    lines = (s / "A_live.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[20].split(",")
    cells[1] = "xyz"
    lines[20] = ",".join(cells)
    (s / "A_live.csv").write_text("".join(lines), encoding="utf-8")


def one_row(s: Path) -> None:
    lines = (s / "A.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    head = [ln for ln in lines if ln.startswith("#") or ln.startswith("time")]
    (s / "A.csv").write_text("".join(head) + lines[len(head)], encoding="utf-8")


def equal_times(s: Path) -> None:
    out = []
    for ln in (s / "A.csv").read_text(encoding="utf-8").splitlines():
        if ln.startswith("#") or ln.startswith("time"):
            out.append(ln)
        else:
            out.append("5.0," + ln.split(",", 1)[1])
    (s / "A.csv").write_text("\n".join(out) + "\n", encoding="utf-8")


def source_as_text(s: Path) -> None:
    edit_json(s / "session.json", lambda d: d["participants"][0].__setitem__("source", "sim:steady"))


def no_samples_number(s: Path) -> None:
    edit_json(s / "session.json", lambda d: d.__setitem__("no_samples", 5))


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "events time abc": (
        lambda s: (s / "events.csv").write_text(
            "time,kind,participants,text\nabc,in_sync,A;B,A and B\n", encoding="utf-8"
        ),
        "events.csv:2: time 'abc' is not a number",
    ),
    "events binary": (
        lambda s: (s / "events.csv").write_bytes(b"time,kind\n\xcc\xff\xfe\x00\x81"),
        "events.csv:2: not a text file",
    ),
    "live binary": (
        lambda s: (s / "A_live.csv").write_bytes(b"\xcc\xff\xfe\x00\x81"),
        "A_live.csv:1: not a text",
    ),
    "live empty": (lambda s: (s / "A_live.csv").write_bytes(b""), "A_live.csv: no header row"),
    "live cut in its header": (cut_live_header, "A_live.csv: no header row"),
    "live non-numeric cell": (non_numeric_live_cell, "A_live.csv:21: non-numeric cell 'xyz'"),
    "raw one row": (one_row, "A.csv: cannot export: one sample"),
    "raw one heart beat": (
        lambda s: (s / "A.csv").write_text("time,rr_ms\n1.0,800\n", encoding="utf-8"),
        "A.csv: cannot export: 1 heart beat, too few for an RR-derived breathing waveform; remove this",
    ),
    "raw eleven heart beats": (
        lambda s: (s / "A.csv").write_text(
            "time,rr_ms\n" + "".join(f"{1 + 0.8 * k:.1f},800\n" for k in range(11)), encoding="utf-8"
        ),
        "A.csv: cannot export: 11 heart beats, too few for an RR-derived breathing waveform; remove this",
    ),
    "raw equal times": (equal_times, "all at 5 s"),
    "source is text": (source_as_text, "participant 'A': \"source\" is a string, expected an object"),
    "no_samples a number": (no_samples_number, '"no_samples" is a number, expected a list'),
    "session.json binary": (
        lambda s: (s / "session.json").write_bytes(b"\xcc" + bytes(range(256))),
        "not a text (JSON) file",
    ),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_folder_gives_one_line_and_writes_nothing(
    case: str, sess: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage, expected = DAMAGE[case]
    damage(sess)
    out = tmp_path / "bids"
    code, err = export(capsys, sess, out)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("breathsync: error: ") and expected in err, err
    assert nothing_left_beside(out)


def test_damage_through_the_command(sess: Path, tmp_path: Path) -> None:
    """The real command: one line on stderr, exit 2, no traceback."""
    one_row(sess)
    r = run_breathsync("export", str(sess), "--bids", str(tmp_path / "o"), timeout=60, cwd=REPO)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    assert "RuntimeWarning" not in r.stderr


def test_events_row_cut_mid_write_is_dropped(sess: Path, tmp_path: Path) -> None:
    """What kill -9 leaves: the last row cut; the complete rows are exported."""
    (sess / "events.csv").write_text(
        "time,kind,participants,text\n36.194,in_sync,A;B,A and B are in sync\n38.03", encoding="utf-8"
    )
    out = tmp_path / "bids"
    export_bids(sess, out)
    with gzip.open(
        out / "sub-A/beh/sub-A_task-breathsync_recording-live_physioevents.tsv.gz", "rt", encoding="utf-8"
    ) as fh:
        rows = [ln.rstrip("\n").split("\t") for ln in fh]
    assert rows == [["36.194", "0", "in_sync", "A and B are in sync"]]


def test_events_cut_inside_its_header_or_empty_means_no_events(sess: Path, tmp_path: Path) -> None:
    for i, text in enumerate(["", "time,ki"]):
        (sess / "events.csv").write_text(text, encoding="utf-8")
        out = tmp_path / f"bids{i}"
        export_bids(sess, out)
        with gzip.open(
            out / "sub-A/beh/sub-A_task-breathsync_recording-live_physioevents.tsv.gz", "rt", encoding="utf-8"
        ) as fh:
            assert fh.read() == ""


def test_live_row_cut_mid_write_is_dropped(sess: Path, tmp_path: Path) -> None:
    text = (sess / "A_live.csv").read_text(encoding="utf-8")
    n_rows = sum(1 for ln in text.splitlines() if ln[:1].isdigit())
    # a row cut after two cells
    (sess / "A_live.csv").write_text(text.rstrip("\n") + "\n123.45,0.1", encoding="utf-8")
    out = tmp_path / "bids"
    export_bids(sess, out)
    with gzip.open(
        out / "sub-A/beh/sub-A_task-breathsync_recording-live_physio.tsv.gz", "rt", encoding="utf-8"
    ) as fh:
        assert sum(1 for _ in fh) == n_rows


def test_failed_export_leaves_nothing_and_the_retry_works(sess: Path, tmp_path: Path) -> None:
    good = (sess / "B.csv").read_bytes()
    (sess / "B.csv").write_bytes(b"\xcc\xff binary")  # the second participant: A was already exported before
    out = tmp_path / "deep" / "bids"
    with pytest.raises(InputError, match=r"B\.csv"):
        export_bids(sess, out)
    assert not (tmp_path / "deep").exists()  # not even the parent folder it created
    (sess / "B.csv").write_bytes(good)
    written = export_bids(sess, out)
    assert {p.parent.parent.name for p in written if p.parent.name == "beh"} == {"sub-A", "sub-B"}
    assert [p.name for p in out.parent.iterdir()] == ["bids"]


def test_failed_export_into_a_dataset_leaves_it_as_it_was(
    sess: Path, recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bids"
    other = Path(shutil.copytree(recorded, tmp_path / "other"))
    edit_json(
        other / "session.json",
        lambda d: [p.__setitem__("label", "X" + p["label"]) for p in d["participants"]],
    )
    edit_json(
        other / "session.json",
        lambda d: [f.__setitem__("participant", "X" + f["participant"]) for f in d["files"].values() if "participant" in f],
    )  # fmt: skip
    export_bids(other, out)
    before = tree(out)
    equal_times(sess)  # A.csv: nothing to export
    code, err = export(capsys, sess, out)
    assert code == 2 and "all at 5 s" in err
    assert tree(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bids")]


def test_a_move_failing_half_way_is_rolled_back(
    sess: Path, recorded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "bids"
    out.mkdir()
    (out / "dataset_description.json").write_text(
        '{"Name": "mine", "BIDSVersion": "1.10.0"}\n', encoding="utf-8"
    )
    (out / "participants.tsv").write_text(
        "participant_id\tbreathsync_label\tsignal\nsub-Z\tZ\tresp\n", encoding="utf-8"
    )
    before = tree(out)
    real_rename = os.rename
    calls = []

    def failing_rename(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> None:
        calls.append(a)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        real_rename(a, b)

    monkeypatch.setattr(export_module.os, "rename", failing_rename)
    with pytest.raises(InputError, match=r"No space left on device.*nothing was exported"):
        export_bids(sess, out)
    assert tree(out) == before and sorted(p.name for p in out.iterdir()) == sorted(
        ["dataset_description.json", "participants.tsv"]
    )
    monkeypatch.setattr(export_module.os, "rename", real_rename)
    export_bids(sess, out)
    # The older table's row is kept, with n/a in the columns it did not have.
    assert (out / "participants.tsv").read_text(encoding="utf-8").splitlines() == [
        "participant_id\tbreathsync_label\tsignal\tsource\tsimulated",
        "sub-Z\tZ\tresp\tn/a\tn/a",
        "sub-A\tA\tresp\tsim\tyes",
        "sub-B\tB\tresp\tsim\tyes",
    ]


def test_labels_that_collide_after_sanitising(
    sess: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def rename(d: dict) -> None:
        new = {"A": "A-1", "B": "A1"}
        for p in d["participants"]:
            p["label"] = new[p["label"]]
        for f in d["files"].values():
            if "participant" in f:
                f["participant"] = new[f["participant"]]

    edit_json(sess / "session.json", rename)
    out = tmp_path / "bids"
    code, err = export(capsys, sess, out)
    assert code == 2 and len(err.splitlines()) == 1
    assert "'A-1' and 'A1' map to the same BIDS subject sub-A1" in err and "already there" not in err
    assert nothing_left_beside(out)


def test_bids_target_is_a_file(sess: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "afile"
    target.write_text("mine\n", encoding="utf-8")
    code, err = export(capsys, sess, target)
    assert code == 2 and "afile: is a file, not a folder" in err and len(err.splitlines()) == 1
    assert target.read_text(encoding="utf-8") == "mine\n"


def test_session_is_a_csv_file(sess: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = export(capsys, sess / "A.csv", tmp_path / "o")
    assert code == 2 and len(err.splitlines()) == 1
    assert "A.csv: is a file, not a session folder" in err and "run --record" in err
    assert "no such folder" not in err


def test_values_that_are_not_json_numbers_in_session_json(sess: Path, tmp_path: Path) -> None:
    """JSON readers accept NaN; the BIDS sidecars must not contain it."""
    edit_json(
        sess / "session.json", lambda d: d["participants"][0]["source"].__setitem__("rate_bpm", float("nan"))
    )
    out = tmp_path / "bids"
    export_bids(sess, out)
    side = json.loads(
        (out / "sub-A/beh/sub-A_task-breathsync_recording-raw_physio.json").read_text(encoding="utf-8")
    )
    assert side["breathsyncSource"]["rate_bpm"] is None


def test_adding_to_a_dataset_whose_parent_folder_is_read_only(
    sess: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temporary folder goes inside the dataset when it cannot go beside it."""
    out = tmp_path / "bids"
    out.mkdir()
    real_mkdtemp = export_module.tempfile.mkdtemp

    def mkdtemp(prefix: str, dir: Path) -> str:
        if Path(dir) != out:
            raise PermissionError(13, "Permission denied")
        return real_mkdtemp(prefix=prefix, dir=dir)

    monkeypatch.setattr(export_module.tempfile, "mkdtemp", mkdtemp)
    export_bids(sess, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "README", "dataset_description.json", "derivatives", "participants.json", "participants.tsv", "sub-A",
        "sub-B",
    ]  # fmt: skip
    monkeypatch.setattr(export_module.tempfile, "mkdtemp", real_mkdtemp)
    with pytest.raises(InputError, match="cannot create the folder"):
        monkeypatch.setattr(export_module.tempfile, "mkdtemp", mkdtemp)
        export_bids(sess, tmp_path / "new")  # a new dataset: its parent must be writable
    assert not (tmp_path / "new").exists()


def test_a_gap_in_the_raw_samples_is_exported_as_na(sess: Path, tmp_path: Path) -> None:
    # A source lost for 12 s: the export interpolated 300 made-up samples across the hole and called it
    # arrival jitter.
    lines = (sess / "A.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    head = [ln for ln in lines if ln.startswith("#") or ln.startswith("time")]
    rows = [ln for ln in lines if ln not in head]
    kept = [ln for ln in rows if not 40.0 <= float(ln.split(",")[0]) < 52.0]
    assert len(rows) - len(kept) > 250
    (sess / "A.csv").write_text("".join(head + kept), encoding="utf-8")
    out = tmp_path / "bids"
    export_bids(sess, out)
    beh = out / "sub-A" / "beh"
    side = json.loads((beh / "sub-A_task-breathsync_recording-raw_physio.json").read_text(encoding="utf-8"))
    assert "1 gap(s)" in side["breathsyncProcessing"]
    # Its samples are uniform but for the gap: not "arrival jitter", and kept as they were.
    steps = np.diff([float(ln.split(",")[0]) for ln in kept])
    assert np.ptp(steps[steps < 1.0]) < 1e-6
    assert "jitter" not in side["breathsyncProcessing"] and "uniform at" in side["breathsyncProcessing"]
    assert "interpolated" not in side["breathsyncProcessing"]
    with gzip.open(beh / "sub-A_task-breathsync_recording-raw_physio.tsv.gz", "rt", encoding="utf-8") as fh:
        resp = [ln.split("\t")[side["Columns"].index("respiratory")].strip() for ln in fh]
    t = side["StartTime"] + np.arange(len(resp)) / side["SamplingFrequency"]
    na = np.array([v == "n/a" for v in resp])
    assert na[(t > 40.1) & (t < 51.9)].all()
    assert not na[(t < 39.9) | (t > 52.1)].any()


def test_a_label_with_no_ascii_letter_says_ascii() -> None:
    # "é" was told it "has no letter or digit"; it is a letter, just not one BIDS allows.
    from breathsync.errors import InputError
    from breathsync.export_bids import bids_label

    assert bids_label("Zoë 2") == "Zo2"
    with pytest.raises(InputError, match=r"'é' has no ASCII letter or digit \(a-z, A-Z, 0-9\)"):
        bids_label("é")
