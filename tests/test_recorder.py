"""Recorder: the session folder it writes, its errors (not empty, unwritable, disk full) and crash safety."""

from __future__ import annotations

import csv
import errno
import json
import math
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, breathing, posix_only, run_breathsync

from breathsync.analysis import analyse_files
from breathsync.errors import InputError, RecordingError
from breathsync.io.csvfile import RecordingWriter, read_recording
from breathsync.io.session_folder import read_session_folder
from breathsync.recorder import Recorder, RecorderError
from breathsync.session_types import Event, PairView, ParticipantView, SessionInfo, Snapshot, TrainingView
from breathsync.sources.base import SampleChunk

FS = 25.0
GRID_HZ = 20.0


def _info(labels: Sequence[str] = ("A", "B")) -> SessionInfo:
    return SessionInfo(
        participants=[
            {
                "label": lab,
                "source": {"kind": "memory", "name": f"test {lab}"},
                "signal": "resp",
                "invert": False,
            }
            for lab in labels
        ],
        settings={"phase": "match", "window_s": 30.0, "speed": 1.0},
        start_utc="2025-01-01T10:00:00.000+00:00",
        software_version="0.1.0",
    )


def _view(label: str, t: np.ndarray, q: float = 0.0) -> ParticipantView:
    n = t.size
    ph = (t * 2 * np.pi / 4.0) % (2 * np.pi)
    return ParticipantView(
        label=label,
        source=f"memory:{label}",
        source_status="streaming",
        status_reason="",
        signal="resp",
        receiving=True,
        t_s=float(t[-1]) if n else math.nan,
        phase_rad=float(ph[-1]) if n else math.nan,
        rate_bpm=15.0,
        quality="ok",
        breaths=0,
        inverted_suspected=False,
        new_t=t,
        new_wave=np.sin(ph),
        new_phase=ph,
        new_rate=np.full(n, 15.0),
        new_quality=np.full(n, q),
    )


def _snapshot(
    seq: int, t_s: float, views: tuple[ParticipantView, ...], events: tuple[Event, ...] = ()
) -> Snapshot:
    pair = PairView("A", "B", 0.9, 0.5, 0.8, True, 0.1, 0.05, 0.2, 1.0, 1.0, window_end_s=12.5)
    return Snapshot(
        seq=seq,
        t_s=t_s,
        participants=views,
        pairs=(pair,),
        group_r=math.nan,
        training=TrainingView("match", "matching", 30.0, 0.0, False),
        events=events,
    )


def _session(rec: Recorder, duration_s: float = 70.0, step_s: float = 0.1) -> dict[str, np.ndarray]:
    """Feed a two-person session through the recorder: chunks every step_s, a snapshot after each."""
    info = _info()
    rec.open(info)
    data = {
        "A": breathing(duration_s=duration_s, fs_hz=FS, rate_bpm=15.0, seed=1),
        "B": breathing(duration_s=duration_s, fs_hz=FS, rate_bpm=15.0, seed=2, t0=0.3),
    }
    grid = np.arange(0.0, duration_s, 1 / GRID_HZ)
    edges = np.arange(step_s, duration_s + step_s, step_s)
    prev = -1.0
    for k, edge in enumerate(edges):
        for lab, (t, y, ph) in data.items():
            sel = (t > prev) & (t <= edge)
            if sel.any():
                extra = {"true_phase": ph[sel]}
                if lab == "B" and k == 50:  # a column that appears later: not in the file's header
                    extra["battery"] = np.full(int(sel.sum()), 80.0)
                rec.on_chunk(lab, SampleChunk(t[sel], {"resp": y[sel], **extra}))
        g = grid[(grid > prev) & (grid <= edge)]
        events: tuple[Event, ...] = ()
        if k == 10:
            events = (Event(edge, "in_sync", 'A and B: in sync, "well done", really', ("A", "B")),)
        views = (_view("A", g), _view("B", g, q=1.0))
        rec.on_snapshot(_snapshot(k, float(edge), views, events))
        if k == 20:  # a snapshot repeating old samples must not duplicate rows
            rec.on_snapshot(_snapshot(k, float(edge), (_view("A", g), _view("B", g))))
        prev = edge
    info.extra["summary"] = {"pairs": [{"a": "A", "b": "B", "time_in_sync_s": 12.5, "mean_plv": math.nan}]}
    info.extra["end_utc"] = "2025-01-01T10:01:10.000+00:00"
    info.extra["duration_s"] = duration_s
    rec.close(info)
    return {lab: d[0][d[0] <= edges[-1]] for lab, d in data.items()}  # what was sent


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _read_csv_numeric(path: Path) -> tuple[list[str], np.ndarray]:
    """The derived files (live, pairs) have no breathing column: read them as plain numeric CSV."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    header = lines[0].split(",")
    rows = [[float(c) if c else math.nan for c in ln.split(",")] for ln in lines[1:]]
    return header, np.array(rows).reshape(len(rows), len(header))


def test_round_trip_session_folder(tmp_path: Path) -> None:
    d = tmp_path / "deep" / "rec"
    rec = Recorder(d)
    sent = _session(rec)
    assert rec.error is None
    assert sorted(p.name for p in d.iterdir()) == [
        "A.csv", "A_live.csv", "B.csv", "B_live.csv", "events.csv", "pairs.csv", "session.json",
    ]  # fmt: skip
    if sys.platform != "win32":  # POSIX file modes: health data, the owner's only
        assert _mode(d) == 0o700
        for f in d.iterdir():
            assert _mode(f) == 0o600, f.name

    # raw files: every sample, exactly once, in the recording format with metadata
    for lab in ("A", "B"):
        r = read_recording(d / f"{lab}.csv")
        assert r.meta["participant"] == lab and r.meta["signal"] == "resp"
        assert r.meta["source"] == f"memory:test {lab}"
        np.testing.assert_allclose(r.time, sent[lab], atol=1e-6)
        assert list(r.columns) == ["resp", "true_phase"]  # the late 'battery' column is not added
        assert r.signal_kind() == "resp"

    # live files: only new samples, no duplicates
    header, live = _read_csv_numeric(d / "A_live.csv")
    assert header == ["time", "wave", "phase_rad", "rate_bpm", "quality"]
    np.testing.assert_allclose(live[:, 0], np.arange(0.0, 70.0, 0.05), atol=1e-6)
    _, live_b = _read_csv_numeric(d / "B_live.csv")
    assert set(live_b[:, 4]) == {1.0}  # the repeated snapshot wrote nothing

    header, pairs = _read_csv_numeric(d / "pairs.csv")
    assert header == ["time", "A-B_plv", "A-B_null_plv", "A-B_sync_score", "A-B_in_sync", "A-B_rel_phase_rad",
                      "A-B_lag_s", "A-B_window_end_s"]  # fmt: skip
    assert pairs.shape[0] == 700 and (np.diff(pairs[:, 0]) > 0).all()
    np.testing.assert_allclose(pairs[0, 1:], [0.9, 0.5, 0.8, 1.0, 0.1, 0.05, 12.5])

    with open(d / "events.csv", newline="", encoding="utf-8") as fh:
        events = list(csv.reader(fh))
    assert events == [["time", "kind", "participants", "text"],
                      ["1.100", "in_sync", "A;B", 'A and B: in sync, "well done", really']]  # fmt: skip

    info = json.loads((d / "session.json").read_text(encoding="utf-8"))
    assert info["start_utc"] == "2025-01-01T10:00:00.000+00:00"
    assert info["end_utc"] == "2025-01-01T10:01:10.000+00:00" and info["duration_s"] == 70.0
    assert info["summary"]["pairs"][0]["mean_plv"] is None  # NaN -> null
    assert [p["label"] for p in info["participants"]] == ["A", "B"]
    assert info["settings"]["window_s"] == 30.0 and info["software_version"] == "0.1.0"
    assert info["sources"] == {"A": "memory:test A", "B": "memory:test B"}
    assert info["participants"][0]["source"] == {"kind": "memory", "name": "test A"}
    assert info["files"]["A.csv"] == {"kind": "raw", "participant": "A", "holds": "raw samples"}
    assert {f["kind"] for f in info["files"].values()} == {"raw", "live", "pairs", "events"}
    assert any("battery" in w for w in info["warnings"])

    folder = read_session_folder(d)
    assert folder.labels == ["A", "B"] and folder.participants[0].live_path == str(d / "A_live.csv")
    result = analyse_files([str(d)])
    assert [p["label"] for p in result["participants"]] == ["A", "B"]
    assert result["participants"][0]["file"] == str(d / "A.csv")
    assert result["pairs"] and result["pairs"][0]["summary"]["time_in_sync_frac"] > 0.5

    rec.close(_info())  # idempotent
    assert json.loads((d / "session.json").read_text(encoding="utf-8"))["end_utc"] == info["end_utc"]


def test_session_json_is_written_at_once(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "r")
    rec.open(_info(["Anna Lee", "pairs", "x/y"]))
    info = json.loads((tmp_path / "r" / "session.json").read_text(encoding="utf-8"))
    assert info["end_utc"] is None and info["start_utc"].startswith("2025-01-01")
    # labels that are not file names, or are taken by the session's own files, get safe names
    raws = {v["participant"]: k for k, v in info["files"].items() if v["kind"] == "raw"}
    assert raws == {"Anna Lee": "Anna_Lee.csv", "pairs": "participant_pairs.csv", "x/y": "x_y.csv"}
    rec.on_chunk("x/y", SampleChunk(np.arange(3.0), {"resp": np.ones(3)}))
    rec.close(_info(["Anna Lee", "pairs", "x/y"]))
    assert read_recording(tmp_path / "r" / "x_y.csv").meta["participant"] == "x/y"
    folder = read_session_folder(tmp_path / "r")  # participants without samples are left out
    assert folder.labels == ["x/y"]


def test_not_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "A.csv").write_text("time,resp\n0,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"old is not empty: choose a new folder") as e:
        Recorder(tmp_path / "old").open(_info())
    assert "\n" not in str(e.value)
    assert (tmp_path / "old" / "A.csv").read_text(encoding="utf-8") == "time,resp\n0,1\n"  # untouched
    (tmp_path / "empty").mkdir()
    Recorder(tmp_path / "empty").open(_info())  # an existing empty folder is fine
    if sys.platform != "win32":  # POSIX file modes
        assert _mode(tmp_path / "empty") == 0o700


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match=r"file/sub: cannot create the recording folder: Not a directory"):
        Recorder(tmp_path / "file" / "sub").open(_info())
    with pytest.raises(InputError, match="exists and is not a folder"):
        Recorder(tmp_path / "file").open(_info())


class _FullDisk(RecordingWriter):
    """A writer on a full disk: the kernel's ENOSPC, as writing to /dev/full gives."""

    def append(self, time_chunk: object, chunk: Mapping[str, object]) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_stops_the_recording_loudly(tmp_path: Path) -> None:
    d = tmp_path / "r"

    def factory(path: str, columns: Sequence[str], meta: Mapping[str, str]) -> RecordingWriter:
        cls = _FullDisk if path.endswith("B.csv") else RecordingWriter
        return cls(path, columns, meta)

    rec = Recorder(d, writer_factory=factory)
    rec.open(_info())
    t, y, _ = breathing(duration_s=4.0, fs_hz=FS)
    rec.on_chunk("A", SampleChunk(t[:50], {"resp": y[:50]}))
    rec.on_snapshot(_snapshot(0, 2.0, (_view("A", np.arange(0, 2, 0.05)),)))
    with pytest.raises(
        RecorderError, match=r"^recording stopped: No space left on device \(writing .*r/B.csv\)$"
    ):
        rec.on_chunk("B", SampleChunk(t[:50], {"resp": y[:50]}))
    assert rec.error is not None and rec.error.startswith("recording stopped: No space left on device")
    rec.on_chunk("A", SampleChunk(t[50:], {"resp": y[50:]}))  # stopped: nothing more, no second raise
    rec.close(_info())  # the first error was already raised
    assert len(read_recording(d / "A.csv")) == 50  # what was written before stays readable
    _, live = _read_csv_numeric(d / "A_live.csv")
    assert live.shape[0] == 40
    info = json.loads((d / "session.json").read_text(encoding="utf-8"))
    assert info["recording_error"] == rec.error and info["end_utc"]


@posix_only("/dev/full")
def test_real_dev_full_write_error(tmp_path: Path) -> None:
    """The error raised by the kernel on a full device, through the recorder's own flush."""

    class DevFull(RecordingWriter):
        def flush(self) -> None:
            super().flush()
            with open("/dev/full", "w", encoding="utf-8") as fh:
                fh.write("x")
                fh.flush()

    now = [0.0]
    rec = Recorder(tmp_path / "r", writer_factory=DevFull, clock=lambda: now[0])
    rec.open(_info())
    rec.on_chunk("A", SampleChunk(np.arange(5.0), {"resp": np.ones(5)}))  # no flush yet: < 1 s
    now[0] = 1.0
    with pytest.raises(RecorderError, match=r"No space left on device \(writing .*A.csv\)"):
        rec.on_chunk("A", SampleChunk(np.arange(5.0, 8.0), {"resp": np.ones(3)}))
    assert len(read_recording(tmp_path / "r" / "A.csv")) == 8


def test_flushes_once_a_second_of_wall_time(tmp_path: Path) -> None:
    now = [100.0]
    rec = Recorder(tmp_path / "r", clock=lambda: now[0])
    rec.open(_info())
    a = tmp_path / "r" / "A.csv"
    rec.on_chunk("A", SampleChunk(np.arange(10.0), {"resp": np.ones(10)}))
    now[0] += 0.5
    rec.on_chunk("A", SampleChunk(np.arange(10.0, 20.0), {"resp": np.ones(10)}))
    assert _data_rows(a) == 0  # header only: rows still in the buffer
    now[0] += 0.6
    rec.on_snapshot(_snapshot(0, 20.0, (_view("A", np.arange(0, 20, 0.05)),)))  # any call flushes
    assert len(read_recording(a)) == 20
    rec.on_chunk("A", SampleChunk(np.arange(20.0, 25.0), {"resp": np.ones(4)}))  # a source's bug: skipped
    rec.on_chunk("A", SampleChunk(np.arange(20.0, 25.0), {"resp": np.ones(5)}))
    rec.close(_info())
    assert len(read_recording(a)) == 25
    assert (
        "A: a chunk was not recorded"
        in json.loads((tmp_path / "r" / "session.json").read_text(encoding="utf-8"))["warnings"][0]
    )


def test_truncated_last_line_stays_readable(tmp_path: Path) -> None:
    d = tmp_path / "r"
    _session(Recorder(d), duration_s=40.0)
    with open(d / "A.csv", "a", encoding="utf-8") as fh:  # a kill in the middle of a row
        fh.write("40.04,0.51")
    assert len(read_recording(d / "A.csv")) == 1000
    assert analyse_files([str(d)])["participants"][0]["duration_s"] > 39


def test_analyze_folder_errors(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(RecordingError, match="not a breathsync session folder"):
        analyse_files([str(tmp_path / "plain")])
    d = tmp_path / "r"
    _session(Recorder(d), duration_s=35.0)
    (d / "session.json").write_text('{"participants": [', encoding="utf-8")
    with pytest.raises(RecordingError, match=r"session.json:1: bad JSON"):
        analyse_files([str(d)])
    (d / "session.json").write_text('{"participants": "A\tB"}', encoding="utf-8")  # a raw tab in a string
    with pytest.raises(
        RecordingError, match=r"session.json:1: bad JSON \(Invalid control character, column 20\)"
    ):
        analyse_files([str(d)])
    (d / "session.json").write_text(
        json.dumps({"participants": [{"label": "A"}, {"label": "Z"}]}), encoding="utf-8"
    )
    with pytest.raises(RecordingError, match=r"Z.csv: missing: session.json lists it"):
        read_session_folder(d)


# ---------------------------------------------------------------------------------- the real thing
def _data_rows(path: Path) -> int:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return 0
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return max(len(lines) - 1, 0)


@posix_only("SIGKILL")
def test_kill_9_loses_at_most_about_a_second(tmp_path: Path) -> None:
    d = tmp_path / "rec"
    speed = 5.0
    cmd = [sys.executable, "-m", "breathsync", "run", "--participant", "A=sim:steady",
           "--participant", "B=sim:follow", "--record", str(d), "--speed", str(speed),
           "--duration", "600", "--headless"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while _data_rows(d / "A.csv") < 100:
            assert proc.poll() is None, (
                f"run exited early: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
            assert time.monotonic() < deadline, "no recording after 30 s"
            time.sleep(0.1)
        time.sleep(1.5)
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = datetime.now().astimezone()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    csvs = sorted(d.glob("*.csv"))
    assert {"A.csv", "B.csv"} <= {p.name for p in csvs}
    for p in csvs:
        if p.name in ("A.csv", "B.csv"):
            assert len(read_recording(p)) > 0
        elif p.name == "events.csv":
            with open(p, newline="", encoding="utf-8") as fh:
                assert next(csv.reader(fh)) == ["time", "kind", "participants", "text"]
        else:
            header, table = _read_csv_numeric_tolerant(p)
            assert header[0] == "time" and table.shape[1] == len(header)
    out = tmp_path / "out.json"
    res = run_breathsync("analyze", str(d), "--json", str(out), cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr
    assert {p["label"] for p in json.loads(out.read_text(encoding="utf-8"))["participants"]} == {"A", "B"}
    # rows lost: the last sample of A against the session time at the kill (start_utc from session.json)
    start = datetime.fromisoformat(json.loads((d / "session.json").read_text(encoding="utf-8"))["start_utc"])
    t_kill = (killed_at - start).total_seconds() * speed
    last = float(read_recording(d / "A.csv").time[-1])
    assert t_kill - last < 10.0, f"lost {t_kill - last:.1f} s of session time"


def _read_csv_numeric_tolerant(path: Path) -> tuple[list[str], np.ndarray]:
    """Like _read_csv_numeric, but drops a last line cut short by the kill (as read_recording does)."""
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    tmp = path.with_suffix(".check")
    tmp.write_text(text, encoding="utf-8")
    try:
        return _read_csv_numeric(tmp)
    finally:
        tmp.unlink()


def test_pairs_csv_leaves_in_sync_empty_where_the_plv_is_unknown(tmp_path: Path) -> None:
    # in_sync was written 0 there, so the mean of the column counted unknown windows as out of sync.
    rec = Recorder(tmp_path / "rec")
    rec.open(_info())
    g = np.arange(0.0, 1.0, 1 / GRID_HZ)
    unknown = PairView("A", "B", math.nan, 0.9, math.nan, False, math.nan, math.nan, 0.0, 0.0, 0.0)
    known = PairView("A", "B", 0.5, 0.9, 0.0, False, 0.1, 0.05, 0.0, 0.0, 0.0)
    for k, pair in enumerate((unknown, known)):
        snap = _snapshot(k, float(k + 1), (_view("A", g + k), _view("B", g + k)))
        rec.on_snapshot(replace(snap, pairs=(pair,)))
    rec.close(_info())
    header, pairs = _read_csv_numeric(tmp_path / "rec" / "pairs.csv")
    col = header.index("A-B_in_sync")
    assert math.isnan(pairs[0, col]) and math.isnan(pairs[0, header.index("A-B_sync_score")])
    assert pairs[1, col] == 0.0


def test_a_replayed_files_units_are_carried_into_the_recording(tmp_path: Path) -> None:
    """The ``# unit:`` line of a replayed file reaches the recorded file and the BIDS export (an ECG whose
    unit only the file knows exported as "n/a"); an RR series found in a file's ECG keeps the format's RR
    unit, since the file's units are those of the ECG."""
    from breathsync.cli import main
    from breathsync.export_bids import export_bids
    from breathsync.io.csvfile import write_recording

    t = np.arange(0.0, 40.0, 0.004)
    beats = np.mod(t, 0.8) < 0.02  # a crude ECG: a spike at 75 beats/min
    cols = {"resp": np.sin(2 * np.pi * 0.25 * t), "ecg": np.where(beats, 1.2, 0.0)}
    write_recording(
        tmp_path / "a.csv", t, cols, {"participant": "A", "unit": "resp: arbitrary units; ecg: mV"}
    )
    write_recording(tmp_path / "b.csv", t, {"ecg": cols["ecg"]}, {"participant": "B", "unit": "ecg: mV"})
    out = tmp_path / "rec"
    args = ["run", "-p", f"A=replay:{tmp_path / 'a.csv'}", "-p", f"B=replay:{tmp_path / 'b.csv'}"]
    assert main([*args, "--record", str(out), "--duration", "30", "--speed", "30", "--quiet"]) == 0
    a, b = read_recording(out / "A.csv"), read_recording(out / "B.csv")
    assert a.meta["unit"] == "resp: arbitrary units; ecg: mV" and "ecg" in a.columns
    assert list(b.columns) == ["rr_ms"] and b.meta["unit"] == "rr_ms: milliseconds"
    export_bids(out, tmp_path / "bids")
    side = json.loads(
        (tmp_path / "bids/sub-A/beh/sub-A_task-breathsync_recording-raw_physio.json").read_text(
            encoding="utf-8"
        )
    )
    assert side["cardiac"]["Units"] == "mV"
