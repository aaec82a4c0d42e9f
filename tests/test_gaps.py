"""A short gap in one participant's signal (a Bluetooth dropout) does not blank the pair's synchrony: a
belt's live pipeline resumes the breathing it left (README, "Gaps"), and so does a derived waveform's: a
heart-rate strap's beats after a dropout, a chest accelerometer after a posture change. Only the windows
ending where a phase is unknown (the dropout itself, and the moment the phase takes to resume) have no PLV:
a window is scored when both phases are known at its end (tests/dsp/test_sync_end_known.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from breathsync.analysis import analyse_files
from breathsync.dsp.pipeline import Quality

SAMPLES = Path(__file__).resolve().parent.parent / "sample_signals"


def _without(src: Path, dst: Path, t0: float, t1: float) -> Path:
    """``src`` with its rows in [t0, t1) left out (a dropout: no samples, not NaN)."""
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    head = [ln for ln in lines if ln.startswith("#") or ln.startswith("time")]
    rows = [ln for ln in lines if ln[:1].isdigit() and not t0 <= float(ln.split(",")[0]) < t1]
    dst.write_text("".join(head + rows), encoding="utf-8")
    return dst


def test_a_belt_dropout_keeps_the_pairs_plv(tmp_path: Path) -> None:
    b_gap = _without(SAMPLES / "pair_sync_B.csv", tmp_path / "B.csv", 150.0, 153.5)
    res = analyse_files([str(SAMPLES / "pair_sync_A.csv"), str(b_gap)])
    pair = res["pairs"][0]
    t = np.array(pair["t_s"])
    around = (t >= 120) & (t <= 250)
    # Started over, B had no phase for ~10 s: no PLV for ~30 s. Resumed: none only where B has no phase.
    assert _plv_unknown(pair, 120.0, 250.0) == _phase_unknown(res, pair, 120.0, 250.0)
    assert 0 < len(_plv_unknown(pair, 120.0, 250.0)) <= 45  # the 3.5 s left out and the phase's resumption
    assert np.mean(np.array(pair["in_sync"])[around] == True) > 0.9  # noqa: E712 (null is not True)
    b = res["participants"][1]
    pt = np.array(b["phase_live"]["t_s"])
    known = np.array([v is not None for v in b["phase_live"]["rad"]])
    assert not known[(pt > 150.2) & (pt < 153.4)].any()  # unknown in the gap itself
    assert known[(pt >= 154.5) & (pt < 170.0)].all()


def _plv_unknown(pair: dict[str, Any], t0: float, t1: float) -> list[float]:
    t = np.array(pair["t_s"])
    plv = np.array([np.nan if v is None else v for v in pair["plv"]])
    return [float(x) for x in t[(t >= t0) & (t <= t1) & ~np.isfinite(plv)]]


def _phase_unknown(res: dict[str, Any], pair: dict[str, Any], t0: float, t1: float) -> list[float]:
    """The pair's window ends in [t0, t1] where either participant's live phase is unknown."""
    t = np.array(pair["t_s"])
    unknown = np.zeros(t.size, bool)
    for p in res["participants"]:
        pt = np.round(np.array(p["phase_live"]["t_s"]), 1)
        known = {float(x) for x, v in zip(pt, p["phase_live"]["rad"], strict=True) if v is not None}
        unknown |= np.array([round(float(x), 1) not in known for x in t])
    return [float(x) for x in t[(t >= t0) & (t <= t1) & unknown]]


def test_an_accelerometer_resumes_after_a_posture_change_and_the_pair_keeps_its_plv() -> None:
    """The H10 sample turns at 174 s: while gravity is re-estimated the accelerometer has no output for
    about 3 s; the waveform comes back near the level it left, so the live pipeline resumes the breathing
    rather than warming up again (8-10 s without a phase, then ~30 s without a PLV: 181-210 s). The first PLV
    comes at 54 s: the waveform is unknown until its direction is first set (21.5 s)."""
    res = analyse_files([str(SAMPLES / "h10_like_nk_rest5.csv"), str(SAMPLES / "nk_rest5_100hz.csv")])
    p = res["participants"][0]
    t = np.array(p["quality_live"]["t_s"])
    q = np.array(p["quality_live"]["code"])
    gap = np.flatnonzero(q == Quality.GAP)
    gap = gap[t[gap] > 60]
    assert gap.size, "the sample's posture change leaves a gap in the accelerometer's waveform"
    back = t[gap[-1]]
    pt = np.array(p["phase_live"]["t_s"])
    known = np.array([v is not None for v in p["phase_live"]["rad"]])
    assert known[(pt >= back + 1.0) & (pt < back + 15.0)].all()
    # No PLV only for the window ends in the accelerometer's gap (3.8 s), not ~30 s of them.
    pair = res["pairs"][0]
    assert _plv_unknown(pair, 60.0, 285.0) == _phase_unknown(res, pair, 60.0, 285.0)
    assert 0 < len(_plv_unknown(pair, 60.0, 285.0)) <= 45


def test_a_strap_dropout_keeps_the_pairs_plv(tmp_path: Path) -> None:
    """A heart-rate strap (the H10 sample's beats alone) silent for 4 s: the RR converter starts its
    band-pass over at the waveform's midline and the live pipeline resumes the breathing it left."""
    lines = (SAMPLES / "h10_like_nk_rest5.csv").read_text(encoding="utf-8").splitlines()
    head = lines.index(next(ln for ln in lines if ln.startswith("time")))
    cols = lines[head].split(",")
    ti, ri = cols.index("time"), cols.index("rr_ms")
    rows = [ln.split(",") for ln in lines[head + 1 :]]
    beats = [(c[ti], c[ri]) for c in rows if c[ri] and not 150.0 <= float(c[ti]) < 154.0]
    strap = tmp_path / "strap.csv"
    strap.write_text("time,rr_ms\n" + "".join(f"{a},{b}\n" for a, b in beats), encoding="utf-8")
    res = analyse_files([str(strap), str(SAMPLES / "nk_rest5_100hz.csv")])
    p = res["participants"][0]
    assert p["signal"] == "rr"
    pt = np.array(p["phase_live"]["t_s"])
    known = np.array([v is not None for v in p["phase_live"]["rad"]])
    assert not known[(pt > 151.0) & (pt < 153.0)].any()  # unknown in the dropout itself
    assert known[(pt >= 156.0) & (pt < 175.0)].all()  # back soon after, not 8-10 s of warm-up later
    pair = res["pairs"][0]
    assert _plv_unknown(pair, 60.0, 285.0) == _phase_unknown(res, pair, 60.0, 285.0)
    assert 0 < len(_plv_unknown(pair, 60.0, 285.0)) <= 60  # the 4-s dropout and the phase's resumption


def _session_with(
    partner: object, duration_s: float = 200.0, speed: float = 200.0
) -> tuple[object, list[object]]:
    from conftest import breathing, run_collecting

    from breathsync.session import ParticipantSpec, Session, SessionConfig
    from breathsync.sources.base import SessionClock
    from breathsync.sources.memory import MemorySource

    t, y, _ = breathing(duration_s=duration_s + 60, fs_hz=25, seed=1)
    specs = [ParticipantSpec("A", MemorySource(t, {"resp": y})), ParticipantSpec("B", partner)]  # type: ignore[arg-type]
    s = Session(specs, SessionClock(speed), SessionConfig(window_s=30.0))
    return s, run_collecting(s, duration_s)


def test_a_session_keeps_the_pairs_plv_through_a_belts_dropout() -> None:
    from conftest import breathing

    from breathsync.sources.memory import MemorySource

    t, y, _ = breathing(duration_s=260, fs_hz=25, seed=1)
    dropping = MemorySource(t, {"resp": y}, silent_from_s=100.0, silent_until_s=104.0)
    # While the belt is silent (from 2 s into the dropout, "no signal") there is no PLV; before and right
    # after it, whenever both are receiving, there is: the pair does not wait ~30 s for a new window. (By
    # the published state, not by session time: at speed 200 a 10-ms stall of the machine delays the belt's
    # first chunk after the dropout by 2 s of session time, and it was flaky, failing about 1 run in 8.)
    # Except for a window ending where the belt's phase is not yet back (it resumes in about 0.4 s): a window
    # is scored when both phases are known at its end (or none is shown: the window before the dropout).
    # At 50x: the 6 s after the dropout are 0.12 s of wall time for a snapshot to fall in (at 200x, 30 ms: a
    # loaded CI machine published none there once).
    session, snaps = _session_with(dropping, speed=50.0)
    ring = session._parts[1].ring  # type: ignore[attr-defined]

    def b_known_at(t_s: float) -> bool:
        k = round(t_s * ring.fs_hz)
        return bool(np.isfinite(ring.window(k, k, "phase")[0]))

    published: list[Any] = snaps
    late = [sn for sn in published if 90.0 <= sn.t_s <= 190.0 and all(p.receiving for p in sn.participants)]
    assert late
    for sn in late:
        pv = sn.pairs[0]
        end = pv.window_end_s
        assert np.isfinite(pv.plv) or not np.isfinite(end) or not b_known_at(end), (sn.t_s, end)
    assert all(np.isfinite(sn.pairs[0].plv) for sn in late if sn.t_s >= 110.0)
    assert any(104.0 < sn.t_s < 110.0 for sn in late)  # soon after the dropout


def test_a_source_that_knows_its_signal_only_once_started_gets_that_signals_pipeline() -> None:
    """A Bluetooth source says "resp" until it has read the device (a strap: "rr"; a Polar H10: "acc")."""
    import asyncio

    from breathsync.sources.memory import MemorySource

    class Strap(MemorySource):
        async def start(self, clock: object) -> None:
            await asyncio.sleep(0.3)  # connecting: the session publishes snapshots meanwhile
            self.signal = "rr"
            await super().start(clock)  # type: ignore[arg-type]

    beats = np.cumsum(np.full(300, 0.8))
    strap = Strap(beats, {"rr_ms": np.full(300, 800.0)})
    strap.signal = "resp"
    session, _ = _session_with(strap, duration_s=30.0)
    from breathsync.dsp.rr import RRRespiration

    b = session._parts[1]  # type: ignore[attr-defined]
    assert isinstance(b.converter, RRRespiration)  # the beats became breathing, not a belt's samples
