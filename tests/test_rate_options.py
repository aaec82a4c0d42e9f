"""The sampling rate of a file without a time column: ``--rate HZ`` (analyze, report, --batch) and
``replay:FILE,rate=HZ``; the reader's message names both, since a replay and report had no such option."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import breathing, run_main

from breathsync.cli import main
from breathsync.errors import InputError
from breathsync.io.csvfile import RATE_OPTIONS, read_recording
from breathsync.sources.replay import parse_replay_spec

FS = 25.0


def _no_time(path: Path, seed: int = 1, header: str = "resp") -> Path:
    _, y, _ = breathing(duration_s=120.0, fs_hz=FS, rate_bpm=12.0, seed=seed)
    path.write_text(header + "\n" + "".join(f"{v:.4f}\n" for v in y), encoding="utf-8")
    return path


def test_the_reader_names_both_ways_to_give_the_rate(tmp_path: Path) -> None:
    plain = _no_time(tmp_path / "plain.csv")
    timeish = tmp_path / "timeish.csv"
    timeish.write_text(
        "Timestamp,resp\n" + "".join(f"{k / FS:.2f},{k % 50}\n" for k in range(500)), encoding="utf-8"
    )
    for path in (plain, timeish):
        with pytest.raises(InputError) as e:
            read_recording(path)
        assert "(--rate HZ; in a replay: rate=HZ)" in str(e.value), str(e.value)
        assert RATE_OPTIONS in str(e.value)
    r = run_main("report", str(plain), "--out", str(tmp_path / "r.html"), timeout=60)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "rate=HZ" in r.stderr


def test_report_takes_rate(tmp_path: Path) -> None:
    a, b = _no_time(tmp_path / "a.csv", 1), _no_time(tmp_path / "b.csv", 2)
    out = tmp_path / "r.html"
    assert main(["report", str(a), str(b), "--rate", str(FS), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "Duration 2:00" in page or "Duration 1:59" in page  # 3000 rows at 25 Hz
    r = run_main("report", str(a), "--rate", "0", timeout=60)
    assert r.returncode == 2 and "--rate" in r.stderr and len(r.stderr.splitlines()) == 1


def test_a_replay_takes_rate(tmp_path: Path) -> None:
    path = _no_time(tmp_path / "belt.csv")
    src = parse_replay_spec(f"{path},rate={FS:g}")
    rec = src.load()
    assert rec.time_from_rate and rec.time[1] == pytest.approx(1 / FS) and len(rec) == 3000
    assert src.describe()["rate_hz"] == FS
    out = tmp_path / "rec"
    args = ["run", "-p", f"A=replay:{path},rate=25", "-p", "B=sim:steady,rate=12,seed=1"]
    assert main([*args, "--record", str(out), "--duration", "30", "--speed", "60", "--quiet"]) == 0
    a = read_recording(out / "A.csv")
    assert a.meta["source"] == "replay:belt.csv,rate=25"
    np.testing.assert_allclose(np.diff(a.time[:50]), 1 / FS, atol=1e-6)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("{path},rate=0", "rate=0 is not a sampling rate"),
        ("{path},rate=abc", "rate=abc is not a sampling rate"),
        ("{path},rate", "rate= is not a sampling rate"),
        ("{path},rate=25,rate=50", "rate= is given twice"),
        ("{timed},rate=25", "rate=25 is for a file without a time column, and this one has one"),
        ("{folder},rate=25", "rate= applies to a file without a time column"),
    ],
)
def test_a_replay_rate_that_cannot_be_used_is_one_line(tmp_path: Path, spec: str, says: str) -> None:
    path = _no_time(tmp_path / "belt.csv")
    timed = tmp_path / "timed.csv"
    timed.write_text(
        "time,resp\n" + "".join(f"{k / FS:.2f},{k % 50}\n" for k in range(500)), encoding="utf-8"
    )
    folder = tmp_path / "session"
    from conftest import make_session_folder

    make_session_folder(folder)
    r = run_main(
        "run", "-p", "A=replay:" + spec.format(path=path, timed=timed, folder=folder), "-p", "B=sim:steady",
        "--quiet", "--duration", "1", timeout=60,
    )  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert says in r.stderr
