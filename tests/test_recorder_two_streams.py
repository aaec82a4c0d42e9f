"""The recorder with a two-stream participant: a chest accelerometer with the same person's heart beats
(``rr_ms`` beside ``acc_x/y/z``, declared up front as ``extra_columns``), whose rows interleave out of time
order. The raw file holds both, in non-decreasing time; a row too late is dropped and counted."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from breathsync.io.csvfile import read_recording
from breathsync.recorder import REORDER_S, Recorder
from breathsync.session_types import SessionInfo
from breathsync.sources.base import SampleChunk

ACC = ("acc_x", "acc_y", "acc_z")
FS_HZ = 50.0


def _info(extra: bool = True) -> SessionInfo:
    entry = {"label": "A", "source": {"kind": "ble", "device": "polar-h10"}, "signal": "acc", "invert": False}
    if extra:
        entry["extra_columns"] = ["rr_ms"]
    return SessionInfo(
        participants=[entry],
        settings={"speed": 1.0},
        start_utc="2025-01-01T10:00:00.000+00:00",
        software_version="0.1.0",
    )


def _acc(t: np.ndarray) -> SampleChunk:
    z = 1000.0 + np.round(50 * np.sin(2 * np.pi * 0.25 * t))
    return SampleChunk(
        t, {"acc_x": np.zeros(t.size), "acc_y": -150.0 + 0 * t, "acc_z": z, "rr_ms": t * np.nan}
    )


def _beats(t: np.ndarray, rr: np.ndarray) -> SampleChunk:
    return SampleChunk(t, {**{c: t * np.nan for c in ACC}, "rr_ms": rr})


def _live_like(rec: Recorder, now: list[float], seconds: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As from a Polar H10: an ACC frame every 0.2 s (arriving as its last sample is taken), a beat
    notification every 0.8 s telling of the beat 0.8-1.4 s before (older than the newest ACC sample).
    Wall time follows session time (speed 1). Returns (acc times, beat times, rr)."""
    t_acc = np.round(np.arange(0.0, seconds, 1 / FS_HZ), 6)
    beat_t = np.arange(0.6, seconds - 1.5, 0.8)
    rr = 800.0 + np.round(40 * np.sin(2 * np.pi * 0.25 * beat_t), 3)
    k_beat = 0
    for k in range(0, t_acc.size, 10):
        frame = t_acc[k : k + 10]
        now[0] = 1000.0 + float(frame[-1])
        # The first chunk is a beat (the header must still have acc_x/y/z).
        while k_beat < beat_t.size and beat_t[k_beat] + 0.8 + 0.6 * (k_beat % 2) <= frame[-1]:
            rec.on_chunk("A", _beats(beat_t[k_beat : k_beat + 1], rr[k_beat : k_beat + 1]))
            k_beat += 1
        rec.on_chunk("A", _acc(frame))
    assert k_beat == beat_t.size
    return t_acc, beat_t, rr


def test_two_streams_out_of_order_are_written_in_time_order(tmp_path: Path) -> None:
    now = [1000.0]
    rec = Recorder(tmp_path / "r", clock=lambda: now[0])
    rec.open(_info())
    first_beat = _beats(np.array([0.1]), np.array([790.0]))
    rec.on_chunk("A", first_beat)  # before any accelerometer sample
    t_acc, beat_t, rr = _live_like(rec, now, 30.0)
    rec.close(_info())
    got = read_recording(tmp_path / "r" / "A.csv")
    assert list(got.columns) == [*ACC, "rr_ms"]
    assert np.all(np.diff(got.time) >= 0)
    beat = np.isfinite(got.columns["rr_ms"])
    np.testing.assert_allclose(got.time[beat], np.r_[0.1, beat_t], atol=1e-6)
    np.testing.assert_allclose(got.columns["rr_ms"][beat], np.r_[790.0, rr])
    assert np.isnan(np.column_stack([got.columns[c][beat] for c in ACC])).all()
    np.testing.assert_allclose(got.time[~beat], t_acc, atol=1e-6)
    assert np.isfinite(np.column_stack([got.columns[c][~beat] for c in ACC])).all()
    assert got.meta["unit"] == "acc_x/acc_y/acc_z: milli-g; rr_ms: milliseconds"
    sj = json.loads((tmp_path / "r" / "session.json").read_text(encoding="utf-8"))
    assert "late_rows" not in sj and sj["rows"] == t_acc.size + beat_t.size + 1


def test_rows_are_held_for_the_reorder_window_only(tmp_path: Path) -> None:
    """Crash safety: what is older than REORDER_S of recording time reaches the OS within a second of wall
    time; a quiet source's held rows are written once it has been quiet REORDER_S of wall time."""
    now = [1000.0]
    rec = Recorder(tmp_path / "r", clock=lambda: now[0])
    rec.open(_info())
    _live_like(rec, now, 20.0)
    now[0] += 0.01
    rec.flush()
    on_disk = read_recording(tmp_path / "r" / "A.csv")
    assert 20.0 - 0.02 - REORDER_S - 0.2 <= on_disk.time[-1] <= 20.0 - REORDER_S
    now[0] += REORDER_S  # nothing more comes (a link lost): everything held is written, and flushed
    rec.flush()
    assert read_recording(tmp_path / "r" / "A.csv").time[-1] == pytest.approx(20.0 - 1 / FS_HZ)
    rec.close(_info())


def test_a_row_too_late_is_dropped_and_counted(tmp_path: Path) -> None:
    now = [1000.0]
    rec = Recorder(tmp_path / "r", clock=lambda: now[0])
    rec.open(_info())
    t_acc, beat_t, _rr = _live_like(rec, now, 10.0)
    rec.on_chunk("A", _beats(np.array([2.0, 9.5]), np.array([700.0, 710.0])))  # 2.0: written past it
    rec.close(_info())
    got = read_recording(tmp_path / "r" / "A.csv")
    assert np.all(np.diff(got.time) >= 0)
    rr = got.columns["rr_ms"]
    assert 700.0 not in rr and 710.0 in rr
    assert np.isfinite(rr).sum() == beat_t.size + 1 and (~np.isfinite(rr)).sum() == t_acc.size
    sj = json.loads((tmp_path / "r" / "session.json").read_text(encoding="utf-8"))
    assert sj["late_rows"] == {"A": 1}
    assert any("late_rows" in w for w in sj["warnings"])


def test_a_single_stream_source_is_written_as_it_comes(tmp_path: Path) -> None:
    """No extra columns: no reorder buffer (rows reach the OS within a second, as before); a row older than
    the last one written is still dropped, now counted."""
    now = [1000.0]
    rec = Recorder(tmp_path / "r", clock=lambda: now[0])
    rec.open(_info(extra=False))
    rec.on_chunk("A", SampleChunk(np.arange(0.0, 5.0, 0.02), {c: np.ones(250) for c in ACC}))
    rec.on_chunk("A", SampleChunk(np.array([1.0]), {c: np.ones(1) for c in ACC}))
    now[0] += 1.0
    rec.flush()
    assert read_recording(tmp_path / "r" / "A.csv").time[-1] == pytest.approx(4.98)
    rec.close(_info(extra=False))
    got = read_recording(tmp_path / "r" / "A.csv")
    assert list(got.columns) == list(ACC) and len(got) == 250
    assert json.loads((tmp_path / "r" / "session.json").read_text(encoding="utf-8"))["late_rows"] == {"A": 1}
    assert not math.isnan(got.time[-1])
