"""Replay source: pacing by the session clock, lockstep of files, loop, end, spec parsing, session folders."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import breathing

from breathsync.errors import InputError
from breathsync.io.csvfile import write_recording
from breathsync.sources.base import SampleChunk, SessionClock, SourceError, SourceStatus
from breathsync.sources.replay import ReplaySource, align_replays, parse_replay_spec

SPEED = 200.0


def _csv(path: Path, t0: float = 0.0, duration_s: float = 20.0, fs: float = 25.0, **meta: str) -> Path:
    t, y, ph = breathing(duration_s=duration_s, fs_hz=fs, t0=t0)
    write_recording(path, t, {"resp": y, "true_phase": ph, "empty": np.full(t.size, np.nan)}, meta or None)
    return path


async def _collect(
    sources: list[ReplaySource], clock: SessionClock, until_s: float | None = None
) -> list[list[tuple[float, SampleChunk]]]:
    """Run the sources on one clock; per source, (clock.now() on arrival, chunk)."""
    out: list[list[tuple[float, SampleChunk]]] = [[] for _ in sources]
    for s in sources:
        await s.start(clock)
    clock.start()

    async def run(k: int) -> None:
        async for chunk in sources[k].stream():
            out[k].append((clock.now(), chunk))
            if until_s is not None and chunk.t[-1] >= until_s:
                await sources[k].stop()

    await asyncio.gather(*(run(k) for k in range(len(sources))))
    return out


def test_pacing_follows_the_clock_and_never_runs_ahead(tmp_path: Path) -> None:
    src = ReplaySource(_csv(tmp_path / "a.csv", t0=100.0))
    clock = SessionClock(speed=SPEED)
    (got,) = asyncio.run(_collect([src], clock))
    t = np.concatenate([c.t for _, c in got])
    assert t[0] == pytest.approx(0.0)  # origin = the recording's first time
    assert t.size == 500 and (np.diff(t) > 0).all()
    np.testing.assert_allclose(t, np.arange(500) / 25.0, atol=1e-9)
    for now, chunk in got:
        assert chunk.t[-1] <= now + 1e-9  # never a sample from the future
    # (Not lagging is test_a_stalled_replay_catches_up_to_the_clock_at_once: a wall-clock bound here, 10 ms,
    # failed on a loaded machine.)
    spans = [c.t[-1] - c.t[0] for _, c in got]
    assert np.median(spans) <= 0.5  # chunks of about 0.1 s, not the whole file at once
    assert len(got) > 20
    assert src.status is SourceStatus.ENDED
    # columns: the signal, plus numeric columns worth passing on; an all-empty column is not
    assert set(got[0][1].columns) == {"resp", "true_phase"}
    assert src.signal == "resp"
    assert src.describe() == {
        "kind": "replay",
        "file": str(tmp_path / "a.csv"),
        "signal": "resp",
        "loop": False,
    }


def test_two_files_replay_in_lockstep_on_their_time_columns(tmp_path: Path) -> None:
    a = ReplaySource(_csv(tmp_path / "a.csv", t0=1000.0, duration_s=10.0))
    b = ReplaySource(_csv(tmp_path / "b.csv", t0=1003.0, duration_s=10.0))
    assert align_replays([a, b]) == pytest.approx(1000.0)
    clock = SessionClock(speed=SPEED)
    got_a, got_b = asyncio.run(_collect([a, b], clock))
    ta = np.concatenate([c.t for _, c in got_a])
    tb = np.concatenate([c.t for _, c in got_b])
    assert ta[0] == pytest.approx(0.0) and tb[0] == pytest.approx(3.0)  # b starts 3 s later
    first_b_arrival = got_b[0][0]
    assert first_b_arrival >= 3.0  # b delivered nothing before session time 3
    # while both play, what each has delivered lies within a chunk or two of the other
    for now, chunk in got_b:
        if now < 10.0:
            delivered_a = max(c.t[-1] for n, c in got_a if n <= now + 0.3)
            assert abs(delivered_a - chunk.t[-1]) < 1.0


def test_loop_restarts_seamlessly_with_increasing_times(tmp_path: Path) -> None:
    src = ReplaySource(_csv(tmp_path / "a.csv", t0=5.0, duration_s=4.0), loop=True)
    clock = SessionClock(speed=SPEED)
    (got,) = asyncio.run(_collect([src], clock, until_s=13.0))
    t = np.concatenate([c.t for _, c in got])
    assert (np.diff(t) > 0).all()
    np.testing.assert_allclose(np.diff(t), 0.04, atol=1e-9)  # the loop joint is one ordinary step
    assert t[-1] >= 13.0 and t.size >= 3 * 100
    resp = np.concatenate([c.columns["resp"] for _, c in got])
    np.testing.assert_array_equal(resp[100:200], resp[:100])  # the same recording again
    assert src.status is SourceStatus.STREAMING  # stopped, not ended
    assert src.describe()["loop"] is True


def test_acc_and_rr_recordings_carry_their_signal_columns(tmp_path: Path) -> None:
    t = np.arange(0, 10, 0.04)
    acc = {c: np.sin(t + k) * 100 for k, c in enumerate(("acc_x", "acc_y", "acc_z"))}
    write_recording(tmp_path / "acc.csv", t, {**acc, "rr_ms": np.full(t.size, np.nan)})
    beats = np.cumsum(np.full(12, 0.8))
    write_recording(tmp_path / "rr.csv", beats, {"rr_ms": np.full(12, 800.0)})
    a = ReplaySource(tmp_path / "acc.csv")
    r = ReplaySource(tmp_path / "rr.csv")
    assert a.signal == "acc" and r.signal == "rr"
    got_a, got_r = asyncio.run(_collect([a, r], SessionClock(speed=SPEED)))
    assert set(got_a[0][1].columns) == {"acc_x", "acc_y", "acc_z"}
    assert sum(len(c) for _, c in got_r) == 12


def _h10_file(path: Path, duration_s: float = 10.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A Polar H10 recording: ACC rows at 25 Hz and beat rows (rr_ms, empty acc cells) interleaved, one
    beat on the same time as an ACC sample (its own row). Returns (acc times, beat times, rr)."""
    t = np.round(np.arange(0, duration_s, 0.04), 6)
    beat_t = np.round(np.arange(0.81, duration_s, 0.83), 6)
    beat_t[2] = t[50]  # a beat at a sample's time
    rr = 800.0 + 10 * np.arange(beat_t.size)
    tt = np.concatenate([t, beat_t])
    order = np.argsort(tt, kind="stable")
    nan = np.full(beat_t.size, np.nan)
    cols = {
        c: np.concatenate([np.sin(t + k) * 100, nan])[order]
        for k, c in enumerate(("acc_x", "acc_y", "acc_z"))
    }
    cols["rr_ms"] = np.concatenate([np.full(t.size, np.nan), rr])[order]
    write_recording(path, tt[order], cols)
    return t, beat_t, rr


def test_an_accelerometer_with_heart_beats_plays_both_in_the_chunk_contract(tmp_path: Path) -> None:
    t, beat_t, rr = _h10_file(tmp_path / "h10.csv")
    src = ReplaySource(tmp_path / "h10.csv", loop=True)
    assert src.signal == "acc" and src.extra_columns == ("rr_ms",)
    (got,) = asyncio.run(_collect([src], SessionClock(speed=SPEED), until_s=2 * 10.0 - 0.5))
    chunks = [c for _, c in got]
    assert all(list(c.columns) == ["acc_x", "acc_y", "acc_z", "rr_ms"] for c in chunks)
    ct = np.concatenate([c.t for c in chunks])
    crr = np.concatenate([c.columns["rr_ms"] for c in chunks])
    cx = np.concatenate([c.columns["acc_x"] for c in chunks])
    assert np.all(np.diff(ct) >= 0)
    first = ct < 10.0
    beat = np.isfinite(crr)
    np.testing.assert_allclose(ct[first & beat], beat_t)
    np.testing.assert_allclose(crr[first & beat], rr)
    assert np.isnan(cx[beat]).all() and np.isfinite(cx[~beat]).all()
    np.testing.assert_allclose(ct[first & ~beat], t)
    # The loop goes on one accelerometer step after the last sample (beats are no samples of its rate).
    np.testing.assert_allclose(ct[~first & ~beat][:5], t[:5] + 10.0, atol=1e-6)
    # Without beats: no extra columns.
    write_recording(tmp_path / "acc.csv", t, {c: np.ones(t.size) for c in ("acc_x", "acc_y", "acc_z")})
    assert ReplaySource(tmp_path / "acc.csv").extra_columns == ()
    assert ReplaySource(tmp_path / "missing.csv").extra_columns == ()


def test_an_ecg_recording_plays_as_its_heart_beats(shared_data: Path, tmp_path: Path) -> None:
    lines = [
        ln
        for ln in (shared_data / "nk_rest5_100hz.csv").read_text(encoding="utf-8").splitlines()
        if not ln.startswith("#")
    ]
    names = lines[0].split(",")
    cols = np.loadtxt(lines[1:6001], delimiter=",", ndmin=2)  # the first 60 s
    t, ecg = cols[:, names.index("time")] + 50.0, cols[:, names.index("ecg")]
    write_recording(tmp_path / "ecg.csv", t, {"ecg": ecg})
    src = ReplaySource(tmp_path / "ecg.csv")
    assert src.signal == "rr"
    (got,) = asyncio.run(_collect([src], SessionClock(speed=SPEED)))
    assert {name for _, c in got for name in c.columns} == {"rr_ms"}
    beat_t = np.concatenate([c.t for _, c in got])
    rr = np.concatenate([c.columns["rr_ms"] for _, c in got])
    # About 86 beats a minute (NeuroKit2 finds 431 in the whole 300 s); each RR interval is the time
    # from the previous beat, stamped at the beat that ends it, on the session's clock (origin: 50 s).
    assert 75 <= beat_t.size <= 95
    np.testing.assert_allclose(rr[1:], np.diff(beat_t) * 1000.0, atol=2e-3)  # times stamped to the us
    assert 0.0 < beat_t[0] < 2.0 and beat_t[-1] < 60.0
    assert src.status is SourceStatus.ENDED
    # Too slow for R peaks, or no beats at all: one line.
    write_recording(tmp_path / "slow.csv", t[::4], {"ecg": ecg[::4]})
    with pytest.raises(SourceError, match=r"slow\.csv: its ECG is sampled at 25 Hz"):
        asyncio.run(ReplaySource(tmp_path / "slow.csv").start(SessionClock(speed=SPEED)))
    write_recording(tmp_path / "flat.csv", t, {"ecg": np.zeros(t.size)})
    with pytest.raises(SourceError, match=r"flat\.csv: no heart beats found in its ECG"):
        asyncio.run(ReplaySource(tmp_path / "flat.csv").start(SessionClock(speed=SPEED)))


def test_start_errors_are_one_line_source_errors(tmp_path: Path) -> None:
    clock = SessionClock(speed=SPEED)
    with pytest.raises(SourceError, match=r"missing\.csv: no such file") as e:
        asyncio.run(ReplaySource(tmp_path / "missing.csv").start(clock))
    assert "\n" not in str(e.value)
    (tmp_path / "nosig.csv").write_text("time,temperature\n0,36.5\n1,36.6\n", encoding="utf-8")
    with pytest.raises(SourceError, match="no breathing signal"):
        asyncio.run(ReplaySource(tmp_path / "nosig.csv").start(clock))
    slow = np.arange(0.0, 60.0, 0.5)  # a 2-Hz accelerometer: too slow for the breathing low-pass
    write_recording(tmp_path / "slow.csv", slow, {c: np.ones(slow.size) for c in ("acc_x", "acc_y", "acc_z")})
    with pytest.raises(SourceError, match=r"slow\.csv: its accelerometer is sampled at 2 Hz, too slowly"):
        asyncio.run(ReplaySource(tmp_path / "slow.csv").start(clock))
    (tmp_path / "bad.csv").write_text("time,resp\n0,1\n1,x\n2,3\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"bad\.csv:3: non-numeric"):
        asyncio.run(ReplaySource(tmp_path / "bad.csv").start(clock))


def test_parse_spec(tmp_path: Path) -> None:
    f = _csv(tmp_path / "a.csv")
    s = parse_replay_spec(str(f), "A")
    assert s.path == str(f) and not s.loop
    s = parse_replay_spec(f"{f},loop", None)
    assert s.loop
    comma = _csv(tmp_path / "with,comma.csv")
    assert parse_replay_spec(str(comma), "A").path == str(comma)
    # a missing file is only an error when the source starts (SourceError), not at parsing
    assert parse_replay_spec(str(tmp_path / "later.csv"), "A").path.endswith("later.csv")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "needs a file"),
        (",loop", "needs a file"),
        ("{f},lop", "unknown option 'lop'"),
        ("{f},loop=yes", "unknown option"),
        ("{f},participant=", "participant= needs a label"),
        ("{f},participant=A", "applies to a session folder"),
    ],
)
def test_parse_spec_errors(tmp_path: Path, spec: str, message: str) -> None:
    f = _csv(tmp_path / "a.csv")
    with pytest.raises(InputError, match=message) as e:
        parse_replay_spec(spec.format(f=f), "A")
    assert "\n" not in str(e.value)


def _folder(tmp_path: Path) -> Path:
    d = tmp_path / "session"
    d.mkdir()
    _csv(d / "Anna.csv", t0=10.0, duration_s=8.0, participant="Anna")
    t, y, _ = breathing(duration_s=8.0, fs_hz=25.0, t0=12.0, rate_bpm=10.0)
    write_recording(d / "Ben.csv", t, {"resp": y})
    info = {
        "format": "breathsync-session",
        "participants": [{"label": "Anna"}, {"label": "Ben"}],
        "files": {
            "Anna.csv": {"kind": "raw", "participant": "Anna"},
            "Ben.csv": {"kind": "raw", "participant": "Ben"},
        },
    }
    (d / "session.json").write_text(json.dumps(info), encoding="utf-8")
    return d


def test_replay_of_a_session_folder_participant(tmp_path: Path) -> None:
    d = _folder(tmp_path)
    assert parse_replay_spec(str(d), None).participant == "Anna"  # the folder's first
    assert parse_replay_spec(str(d), "Ben").participant == "Ben"  # the command line's label
    a = parse_replay_spec(f"{d},participant=Anna", "X")  # participant= wins over the label
    b = parse_replay_spec(f"{d},loop,participant=Ben", "Y")
    assert a.path == str(d / "Anna.csv") and b.loop
    assert a.describe()["participant"] == "Anna" and a.describe()["folder"] == str(d)
    align_replays([a, b])
    got_a, got_b = asyncio.run(_collect([a, b], SessionClock(speed=SPEED), until_s=12.0))
    assert got_a[0][1].t[0] == pytest.approx(0.0)
    assert got_b[0][1].t[0] == pytest.approx(2.0)


def test_session_folder_errors(tmp_path: Path) -> None:
    d = _folder(tmp_path)
    with pytest.raises(InputError, match=r"no participant 'Cleo' .*it has Anna, Ben") as e:
        parse_replay_spec(f"{d},participant=Cleo", None)
    assert "\n" not in str(e.value)
    with pytest.raises(InputError, match=r"no participant 'A' .*it has Anna, Ben.*participant=LABEL"):
        parse_replay_spec(str(d), "A")
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="not a breathsync session folder"):
        parse_replay_spec(str(tmp_path / "plain"), "A")


def test_a_stalled_replay_catches_up_to_the_clock_at_once(tmp_path: Path) -> None:
    """Driven by a fake clock, so no timing: after a 5-s stall (a busy machine, a fast --speed) the next
    chunk holds every sample up to the clock, not one more 0.1-s chunk of them."""
    fake = [0.0]
    clock = SessionClock(1.0, time_fn=lambda: fake[0])
    src = ReplaySource(_csv(tmp_path / "a.csv"))

    async def main() -> list[SampleChunk]:
        await src.start(clock)
        clock.start()
        chunks = src.stream()
        fake[0] = 5.0  # the stall
        first = await chunks.__anext__()
        fake[0] = 5.2
        second = await chunks.__anext__()
        await src.stop()
        return [first, second]

    first, second = asyncio.run(main())
    np.testing.assert_allclose(first.t, np.arange(0, 126) / 25.0)  # 0 .. 5.0 s: all of it, at once
    np.testing.assert_allclose(second.t, np.arange(126, 131) / 25.0)  # then on from there, to 5.2 s
