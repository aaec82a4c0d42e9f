"""session.json checks (a huge number, a window out of range, a label leaving the folder), no absolute
path in a recorded session or its BIDS export, and the BIDS unit of an ECG column."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import bids_validator_issues, make_session_folder, run_main

from breathsync.batch import analyse_batch
from breathsync.cli import main
from breathsync.dsp.sync import WINDOW_MAX_S, WINDOW_MIN_S
from breathsync.errors import RecordingError
from breathsync.export_bids import declared_units, export_bids
from breathsync.io.session_folder import read_session_folder, recorded_window_s

REPO = Path(__file__).resolve().parents[1]


make_folder = make_session_folder


COMMANDS = [
    ["analyze", "{s}"],
    ["report", "{s}", "--out", "{tmp}/r.html"],
    ["export", "{s}", "--bids", "{tmp}/bids"],
    ["run", "-p", "A=replay:{s}", "--quiet", "--duration", "1"],
]
IDS = ["analyze", "report", "export", "replay"]


# ------------------------------------------------------------------------------------ a huge integer
@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_a_5000_digit_number_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    s = make_folder(tmp_path / "s", {"settings": {"window_s": 12345}})
    sj = s / "session.json"
    # json.loads: ValueError (int digits limit)
    sj.write_text(sj.read_text(encoding="utf-8").replace("12345", "9" * 5000), encoding="utf-8")
    with pytest.raises(RecordingError) as e:
        read_session_folder(s)
    assert str(e.value).startswith(str(sj)) and "number too long" in str(e.value)
    code = main([c.format(s=s, tmp=tmp_path) for c in command])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1, err
    assert str(sj) in err and "number too long" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------ the window
BAD_WINDOWS = ["0.001", "1", "4.99", "600.5", "1e9", "1e300", "-5", "0", "Infinity", "NaN"]


@pytest.mark.parametrize("window", BAD_WINDOWS)
def test_a_recorded_window_out_of_range_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], window: str
) -> None:
    s = make_folder(tmp_path / "s", {"settings": {"window_s": 12345}})
    sj = s / "session.json"
    sj.write_text(sj.read_text(encoding="utf-8").replace("12345", window), encoding="utf-8")
    with pytest.raises(RecordingError) as e:
        recorded_window_s([str(s)])
    msg = str(e.value)
    assert msg.startswith(str(sj)) and '"window_s"' in msg and "\n" not in msg
    assert f"{WINDOW_MIN_S:g} to {WINDOW_MAX_S:g} s" in msg and "--window" in msg
    for command in (["analyze", str(s)], ["report", str(s), "--out", str(tmp_path / "r.html")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and str(sj) in err and '"window_s"' in err, err
    res = analyse_batch([str(s)])
    assert [item for item, _ in res.failed] == [str(s)] and '"window_s"' in res.failed[0][1]
    # An explicit --window does not need the recorded one.
    assert main(["analyze", str(s), "--window", "30"]) == 0


@pytest.mark.parametrize("window", [WINDOW_MIN_S, 30, WINDOW_MAX_S])
def test_a_recorded_window_in_range_is_used(tmp_path: Path, window: float) -> None:
    s = make_folder(tmp_path / "s", {"settings": {"window_s": window}})
    assert recorded_window_s([str(s)]) == float(window)


# ------------------------------------------------------------------------------------ labels
@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_a_label_never_reads_outside_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    s = make_folder(tmp_path / "s")
    shutil.copy(s / "A.csv", tmp_path / "x.csv")  # the file "../x" would name
    info = json.loads((s / "session.json").read_text(encoding="utf-8"))
    info["participants"][0]["label"] = "../x"
    del info["files"]["A.csv"]
    (s / "session.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(RecordingError) as e:
        read_session_folder(s)
    assert str(e.value).startswith(str(s / "session.json")) and "'../x'" in str(e.value)
    code = main([c.format(s=s, tmp=tmp_path) for c in command])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "'../x'" in err, err


def test_a_label_without_files_entry_still_names_its_csv(tmp_path: Path) -> None:
    s = make_folder(tmp_path / "s", {"files": None})
    assert [Path(p.path).name for p in read_session_folder(s).participants] == ["A.csv", "B.csv"]


# ------------------------------------------------------------------------------------ privacy
@pytest.fixture(scope="module")
def private_session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A session replaying a file under a folder named after a person (absolute path), recorded."""
    base = tmp_path_factory.mktemp("priv")
    home = base / "Jane Doe"
    home.mkdir()
    src = home / "belt.csv"
    shutil.copy(REPO / "sample_signals" / "nk_rest5_100hz.csv", src)  # resp, ecg, ppg
    rec = base / "rec"
    r = run_main(
        "run", "-p", f"A=replay:{src}", "-p", "B=sim:follow,rate=13,coupling=1,seed=1",
        "--duration", "60", "--speed", "100", "--quiet", "--record", str(rec), timeout=180,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return base, rec


def _texts(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` as text (gzip unpacked)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
            out[str(p.relative_to(folder))] = raw.decode("utf-8", "replace")
    return out


def test_no_absolute_path_in_the_recording(private_session: tuple[Path, Path]) -> None:
    base, rec = private_session
    texts = _texts(rec)
    assert {"session.json", "A.csv", "B.csv", "A_live.csv"} <= set(texts)
    for name, text in texts.items():
        assert str(base) not in text and "Jane Doe" not in text, name
    info = json.loads(texts["session.json"])
    assert info["participants"][0]["source"]["file"] == "belt.csv"
    assert info["sources"]["A"] == "replay:belt.csv"
    meta = [ln for ln in texts["A.csv"].splitlines() if ln.startswith("#")]
    assert "# source: replay:belt.csv" in meta


def test_the_recording_still_analyses_and_replays(private_session: tuple[Path, Path], tmp_path: Path) -> None:
    base, rec = private_session
    assert main(["analyze", str(rec), "--json", str(tmp_path / "r.json")]) == 0
    assert [
        p["label"] for p in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["participants"]
    ] == ["A", "B"]
    again = tmp_path / "again"
    r = run_main(
        "run", "-p", f"A=replay:{rec}", "--duration", "5", "--speed", "100", "--quiet", "--record", str(again),
        timeout=180,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    src = json.loads((again / "session.json").read_text(encoding="utf-8"))["participants"][0]["source"]
    assert src["file"] == "A.csv" and src["folder"] == "rec" and src["participant"] == "A"
    for name, text in _texts(again).items():
        assert str(base) not in text and str(tmp_path) not in text, name


def test_no_absolute_path_in_the_bids_export(private_session: tuple[Path, Path], tmp_path: Path) -> None:
    base, rec = private_session
    out = tmp_path / "bids"
    export_bids(rec, out)
    for name, text in _texts(out).items():
        assert str(base) not in text and "Jane Doe" not in text, name
    side = json.loads(
        (out / "sub-A/beh/sub-A_task-breathsync_recording-raw_physio.json").read_text(encoding="utf-8")
    )
    assert side["breathsyncSource"]["file"] == "belt.csv"


def test_an_older_recording_with_a_full_path_exports_without_it(tmp_path: Path) -> None:
    full = "/home/Jane Doe/study/belt.csv"
    s = make_folder(tmp_path / "s")
    info = json.loads((s / "session.json").read_text(encoding="utf-8"))
    info["participants"][0]["source"] = {"kind": "replay", "file": full, "folder": "/home/Jane Doe/rec/"}
    (s / "session.json").write_text(json.dumps(info), encoding="utf-8")
    out = tmp_path / "bids"
    export_bids(s, out)
    for name, text in _texts(out).items():
        assert "Jane Doe" not in text, name
    side = json.loads(
        (out / "sub-A/beh/sub-A_task-breathsync_recording-raw_physio.json").read_text(encoding="utf-8")
    )
    assert side["breathsyncSource"] == {"kind": "replay", "file": "belt.csv", "folder": "rec"}


# ------------------------------------------------------------------------------------ ECG unit
def test_declared_units() -> None:
    assert declared_units("resp: arbitrary units, rising on inhale; ecg: mV") == {
        "resp": "arbitrary units",
        "ecg": "mV",
    }
    assert declared_units("acc_x/acc_y/acc_z: milli-g") == dict.fromkeys(
        ("acc_x", "acc_y", "acc_z"), "milli-g"
    )
    assert declared_units(None) == {} and declared_units("no colon here") == {}


def _raw_side(out: Path, sub: str = "A") -> dict[str, Any]:
    p = out / f"sub-{sub}/beh/sub-{sub}_task-breathsync_recording-raw_physio.json"
    return dict(json.loads(p.read_text(encoding="utf-8")))


def test_ecg_units_come_from_the_recording(tmp_path: Path) -> None:
    declared = make_folder(tmp_path / "d", meta={"unit": "resp: arbitrary units; ecg: mV"}, ecg=True)
    export_bids(declared, tmp_path / "b1")
    side = _raw_side(tmp_path / "b1")
    assert side["cardiac"]["Units"] == "mV" and side["respiratory"]["Units"] == "arbitrary"
    unknown = make_folder(tmp_path / "u", ecg=True)
    export_bids(unknown, tmp_path / "b2")
    assert _raw_side(tmp_path / "b2")["cardiac"]["Units"] == "n/a"  # not "uV": the format defines no ECG unit


def test_the_bids_validator_accepts_the_ecg_export(
    private_session: tuple[Path, Path], tmp_path: Path
) -> None:
    _, rec = private_session
    out = tmp_path / "bids"
    export_bids(rec, out)
    side = _raw_side(out)
    assert "cardiac" in side["Columns"] and side["cardiac"]["Units"] == "n/a"
    issues = bids_validator_issues(out)
    assert not [i for i in issues if i[0] == "error"], issues


# ------------------------------------------------------------------------------------ several sessions
@pytest.mark.parametrize(
    "command", [["analyze"], ["report", "--out", "{tmp}/r.html"]], ids=["analyze", "report"]
)
def test_several_session_folders_are_not_merged_into_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    # They were: one session's A paired with the other's B on unrelated clocks, repeated labels renamed.
    s1, s2 = make_folder(tmp_path / "s1"), make_folder(tmp_path / "s2")
    args = [command[0], str(s1), str(s2), *(c.format(tmp=tmp_path) for c in command[1:])]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "several session folders" in err and "--batch" in err
    assert not (tmp_path / "r.html").exists()
    assert main([command[0], str(s1), *(c.format(tmp=tmp_path) for c in command[1:])]) == 0  # one is fine
    assert main(["analyze", str(s1), str(s2), "--batch", str(tmp_path / "study.csv")]) == 0  # a study


# ------------------------------------------------------------------------------------ an unreadable folder
@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_a_folder_that_cannot_be_read_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """A recorded folder whose permissions keep its files from being listed (chmod 000) was "not a
    breathsync session folder (no session.json)". Permissions are mocked: the tests may run as root."""
    import os

    s = make_folder(tmp_path / "s")
    real_scandir, real_stat = os.scandir, os.stat

    def denied(path: Any, real: Any, inside: bool) -> Any:
        # As with chmod 000: the folder itself can be seen; its list and what is in it cannot.
        if (Path(path).parent if inside else Path(path)) == s:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", lambda p=".": denied(p, real_scandir, False))
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: denied(p, lambda q: real_stat(q, *a, **k), True))
    code = main([c.format(s=s, tmp=tmp_path) for c in command])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "cannot read the folder (Permission denied)" in err and "not a breathsync" not in err, err
