"""Live time in sync is window-end time, as `analyze` counts it: a dropout adds nothing, and the total does
not depend on --speed (the audit: a 20-s gap in A's file, live 214 / 233 / 230 s at --speed 10 / 100 / 300
where analyze of the same folders said 218 s)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import REPO, run_collecting

from breathsync.cli import main
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock
from breathsync.sources.replay import ReplaySource

SAMPLES = REPO / "sample_signals"


def _gap_file(tmp_path: Path) -> Path:
    """pair_sync_A.csv without its samples from 100 to 120 s (a belt that dropped out for 20 s)."""
    out = []
    header_seen = False
    for line in (SAMPLES / "pair_sync_A.csv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not header_seen:
            header_seen = header_seen or not line.startswith("#")
            out.append(line)
            continue
        if not 100.0 <= float(line.split(",")[0]) < 120.0:
            out.append(line)
    path = tmp_path / "gap_A.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def _analyzed_pair(folder: Path, tmp_path: Path) -> dict[str, Any]:
    js = tmp_path / f"{folder.name}.json"
    assert main(["analyze", str(folder), "--json", str(js)]) == 0
    pair: dict[str, Any] = json.loads(js.read_text(encoding="utf-8"))["pairs"][0]
    return pair


def _analyzed_in_sync_s(folder: Path, tmp_path: Path) -> float:
    pair = _analyzed_pair(folder, tmp_path)
    t = np.asarray(pair["t_s"], float)
    return float(sum(1 for v in pair["in_sync"] if v)) * float(np.median(np.diff(t)))


@pytest.mark.parametrize("speed", ["100", "300"])
def test_live_time_in_sync_is_analyzes_at_any_speed(
    speed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gap = _gap_file(tmp_path)
    rec = tmp_path / f"gs{speed}"
    code = main(
        ["run", "-p", f"A=replay:{gap}", "-p", f"B=replay:{SAMPLES / 'pair_sync_B.csv'}",
         "--speed", speed, "--quiet", "--record", str(rec)]
    )  # fmt: skip
    assert code == 0
    summary = json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]["pairs"][0]
    live = summary["time_in_sync_s"]
    offline = _analyzed_in_sync_s(rec, tmp_path)
    assert 200.0 < offline < 240.0
    # The same windows (the session counts on analyze's 10-Hz grid), the same phases, the same chance levels.
    assert live == pytest.approx(offline, abs=1e-6), (live, offline)
    # and so the same summary: mean PLV, relative phase and who led, over the same windows (they used to be
    # averaged over the snapshots, whose spacing in session time depends on the speed).
    an = _analyzed_pair(rec, tmp_path)["summary"]
    assert summary["mean_plv"] == pytest.approx(an["mean_plv"], abs=1e-4)
    assert summary["mean_relative_phase_rad"] == pytest.approx(an["mean_relative_phase_rad"], abs=1e-4)
    assert an["leader"] is not None and summary["leader"] == an["leader"]
    assert summary["lead_s"] == pytest.approx(an["lead_s"], abs=1e-3)


def test_a_frozen_window_adds_nothing_and_the_gap_shows_no_signal(tmp_path: Path) -> None:
    """During A's 20-s gap the pair's window end stands at A's last sample: the time in sync must not grow,
    and A shows "no signal" 2 s of session time after its last sample, even at 300x (the wall-clock floor of
    0.25 s was 75 s of session time there)."""
    gap = _gap_file(tmp_path)
    specs = [
        ParticipantSpec("A", ReplaySource(gap)),
        ParticipantSpec("B", ReplaySource(SAMPLES / "pair_sync_B.csv")),
    ]
    snaps = run_collecting(Session(specs, SessionClock(300.0), SessionConfig()), 140.0)
    during = [s for s in snaps if 100.5 <= s.t_s <= 119.0]
    assert during
    totals = [s.pairs[0].time_in_sync_s for s in during]
    assert max(totals) - min(totals) <= 0.05 * 2  # at most the last grid steps before the gap
    quiet = [s for s in during if s.t_s >= 102.5]
    assert quiet and all(s.participant("A").quality == "no_signal" for s in quiet)
    assert all(not s.pairs[0].in_sync for s in quiet)
    # Until A is seen to have no signal the window end stands at its last sample; then there is no window
    # (no end, no chance level): not the last window's end beside empty figures, which analyze scores.
    for s in during:
        pv = s.pairs[0]
        if s.participant("A").quality == "no_signal":
            assert np.isnan([pv.window_end_s, pv.null_plv, pv.plv]).all(), s.t_s
        else:
            assert pv.window_end_s < 100.0, s.t_s
    lost = [e for s in snaps for e in s.events if e.kind == "source_lost"]
    back = [e for s in snaps for e in s.events if e.kind == "source_back"]
    # At the first snapshot 2 s after the last sample (at 300x snapshots come up to 6 s of session apart).
    assert len(lost) == 1 and 101.5 <= lost[0].t_s <= 110.0
    assert len(back) == 1 and 119.5 <= back[0].t_s <= 128.0 and "signal back after" in back[0].text


def test_pairs_csv_gives_analyzes_figures_for_every_window_it_names(tmp_path: Path) -> None:
    """Once one of a pair had no signal (a 20-s gap, a partner's file over), pairs.csv went on naming the last
    window's end with empty figures: rows for window end 99.9 with no PLV where analyze gives 0.97. Every row
    that names a window gives analyze's PLV for it; the rows without a signal name none."""
    rec = tmp_path / "rec"
    code = main(
        ["run", "-p", f"A=replay:{_gap_file(tmp_path)}", "-p", f"B=replay:{SAMPLES / 'pair_sync_B.csv'}",
         "--duration", "150", "--speed", "100", "--quiet", "--record", str(rec)]
    )  # fmt: skip
    assert code == 0
    pair = _analyzed_pair(rec, tmp_path)
    by_t = {round(t, 1): v for t, v in zip(pair["t_s"], pair["plv"], strict=True)}
    lines = [
        ln for ln in (rec / "pairs.csv").read_text(encoding="utf-8").splitlines() if not ln.startswith("#")
    ]
    head = lines[0].split(",")
    named = blank = 0
    for line in lines[1:]:
        row = dict(zip(head, line.split(","), strict=True))
        if not row["A-B_window_end_s"]:
            blank += 100.0 < float(row["time"]) < 120.0
            assert not row["A-B_plv"] and not row["A-B_null_plv"], row
            continue
        want = by_t.get(round(float(row["A-B_window_end_s"]), 1))
        if want is not None:
            named += 1
            assert row["A-B_plv"] and abs(float(row["A-B_plv"]) - want) <= 1e-3, row
    assert named > 20 and blank > 0, (named, blank)


def test_the_sessions_chance_level_is_analyzes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The session recomputed the chance level 5 s after its last recomputation, wherever its snapshots
    fell, and analyze on fixed 5-s marks: for the same recorded session, pairs.csv (and the BIDS pairsync
    file made from it) and analyze's JSON differed by up to 0.038 in 26 of 172 windows, and in_sync in 5.
    Both now compute it at each whole 5 s of session time over the 180 s ending there, on the same 2-Hz
    samples."""
    rec = tmp_path / "rec"
    code = main(
        ["run", "-p", f"A=replay:{SAMPLES / 'pair_follow_A.csv'}", "-p", f"B=replay:{SAMPLES / 'pair_follow_B.csv'}",
         "--speed", "100", "--quiet", "--record", str(rec)]
    )  # fmt: skip
    assert code == 0
    js = tmp_path / "a.json"
    assert main(["analyze", str(rec), "--json", str(js)]) == 0
    pair = json.loads(js.read_text(encoding="utf-8"))["pairs"][0]
    t = np.asarray(pair["t_s"], float)
    null = np.array([np.nan if v is None else v for v in pair["null_plv"]])
    lines = [
        ln for ln in (rec / "pairs.csv").read_text(encoding="utf-8").splitlines() if not ln.startswith("#")
    ]
    head = lines[0].split(",")
    diffs = []
    for line in lines[1:]:
        row = dict(zip(head, line.split(","), strict=True))
        if not row["A-B_window_end_s"]:
            continue
        end = float(row["A-B_window_end_s"])
        # analyze's 10-Hz point at or before the end: the level holds from one whole 5 s to the next, and
        # those marks are on both grids, so a 20-Hz end between two 10-Hz points has the earlier one's level
        # (every row counts: at a busy machine's few snapshots, only the ends on the 10-Hz grid were too few).
        k = int(np.searchsorted(t, end + 1e-6)) - 1
        if 0 <= k < t.size and end - t[k] < 0.1 - 1e-6:
            diffs.append(abs(float(row["A-B_null_plv"]) - null[k]))
    assert len(diffs) > 30 and np.isfinite(diffs).all()
    assert max(diffs) <= 1e-3, max(diffs)  # the files' 4-decimal rounding (0.038 before)


def test_live_time_in_sync_does_not_depend_on_how_far_apart_the_snapshots_fall(tmp_path: Path) -> None:
    """A weakly coupled pair, whose PLV hovers at the chance level: the windows a fast run passed between two
    snapshots were all judged with the newest chance level, so the total read 37.05 s at 30x and 34.75 s at
    300x (snapshots up to 6 s of session time apart). Each window is now judged with its own time's."""
    assert main(["simulate", "--out", str(tmp_path), "--duration", "250", "--coupling", "0.15",
                 "--seed", "5", "--rate-a", "12", "--rate-b", "13"]) == 0  # fmt: skip
    totals = []
    for speed in (30.0, 300.0):
        specs = [ParticipantSpec(x, ReplaySource(tmp_path / f"{x}.csv")) for x in "AB"]
        session = Session(specs, SessionClock(speed), SessionConfig())
        snaps = run_collecting(session, 250.0)
        totals.append(snaps[-1].pairs[0].time_in_sync_s)
        # Every mark passed had its whole history in the rings (a stall beyond their spare room would not).
        assert [ps.sync.cut_marks for ps in session._pairs] == [0], speed
    assert 20.0 < totals[0] < 200.0  # partly in sync: the chance level decides
    assert totals[1] == pytest.approx(totals[0], abs=1e-6), totals


def test_the_live_view_shows_the_windows_scored(tmp_path: Path) -> None:
    """What the views and pairs.csv show is the latest window scored: one of analyze's 10-Hz windows, with
    the PLV and the verdict analyze gives it (the view used to be computed again on the session's 20-Hz
    grid: two thirds of its windows were not analyze's, and their PLVs differed by up to 0.002)."""
    rec = tmp_path / "strangers"
    code = main(
        ["run", "-p", f"A=replay:{SAMPLES / 'pair_strangers_A.csv'}",
         "-p", f"B=replay:{SAMPLES / 'pair_strangers_B.csv'}",
         "--speed", "25", "--quiet", "--record", str(rec), "--duration", "150"]
    )  # fmt: skip
    assert code == 0
    pair = _analyzed_pair(rec, tmp_path)
    t = np.asarray(pair["t_s"], float)
    a_plv = np.array([np.nan if v is None else v for v in pair["plv"]], float)
    lines = [
        ln for ln in (rec / "pairs.csv").read_text(encoding="utf-8").splitlines() if not ln.startswith("#")
    ]
    head = lines[0].split(",")
    rows = np.array([[float(x) if x else np.nan for x in ln.split(",")] for ln in lines[1:]])
    end, plv, ins = (rows[:, head.index(f"A-B_{f}")] for f in ("window_end_s", "plv", "in_sync"))
    shown = np.isfinite(plv)
    assert shown.sum() > 40
    k = np.searchsorted(t, end[shown] - 1e-6)
    assert np.all(k < t.size)
    np.testing.assert_allclose(t[k], end[shown], atol=1e-6)  # every window shown is one of analyze's
    # The same PLV (to the recorded phases' rounding) and the same verdict.
    np.testing.assert_allclose(a_plv[k], plv[shown], atol=2e-4)
    assert [bool(pair["in_sync"][i]) for i in k] == [bool(v) for v in ins[shown]]


def test_no_window_is_scored_before_both_people_began(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pair's first scoring starts where both had samples: the window ends before (nothing in common) were
    judged out of sync one by one, as far back as the rings reach (28 pairs: a third of a second of CPU at
    the start of a session of eight)."""
    from breathsync.sources.memory import MemorySource
    from breathsync.synth import simulate_group

    g = simulate_group(90.0, fs_hz=50.0, rates_bpm=[12.0, 12.5], seed=1)
    late = g.t >= 40.0  # B's belt starts 40 s after A's
    specs = [
        ParticipantSpec("A", MemorySource(g.t, {"resp": g.resp[0]})),
        ParticipantSpec("B", MemorySource(g.t[late], {"resp": g.resp[1][late]})),
    ]
    session = Session(specs, SessionClock(100.0), SessionConfig())
    judged: list[float] = []
    real = Session._judge_windows

    def spy(self: Session, ps: Any, first: int, step: int, ins: list[bool]) -> None:
        judged.append(first / self._fs)
        real(self, ps, first, step, ins)

    monkeypatch.setattr(Session, "_judge_windows", spy)
    snaps = run_collecting(session, 80.0)
    assert judged and min(judged) >= 40.0 - 1e-9
    last = snaps[-1].pairs[0]
    assert last.window_end_s > 75.0 and np.isfinite(last.plv)  # and scoring went on from there
