"""The group's Kuramoto order R a live session shows is analyze's for the same window: the window ends on
analyze's 10-Hz grid and is made of the samples on it, over everyone in the session (it used to be computed
on the 20-Hz samples, over windows ending at any of them, and of whoever was receiving)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from conftest import run_collecting

from breathsync.cli import main
from breathsync.recorder import Recorder
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.sources.base import SessionClock
from breathsync.sources.memory import MemorySource
from breathsync.synth import simulate_group

LABELS = "ABC"


def _group(
    duration_s: float, coupling: float, seed: int, labels: str = LABELS, last_until_s: float = math.inf
) -> list[ParticipantSpec]:
    """Simulated belts at 50 Hz, one per label; the last one's ends at ``last_until_s``."""
    n = len(labels)
    k = np.full((n, n), coupling)
    rates = [12.0, 13.0, 14.5, 12.5][:n]
    g = simulate_group(duration_s, fs_hz=50.0, rates_bpm=rates, coupling=k, seed=seed)
    specs = []
    for i, x in enumerate(labels):
        keep = g.t < (last_until_s if i == n - 1 else math.inf)
        specs.append(ParticipantSpec(x, MemorySource(g.t[keep], {"resp": g.resp[i][keep]}, name=x)))
    return specs


def test_the_live_group_order_is_analyzes_for_the_same_window(tmp_path: Path) -> None:
    # Weakly coupled: R wanders between about 0.4 and 0.9, so a window off by a sample shows.
    rec = tmp_path / "rec"
    session = Session(_group(160.0, 0.06, seed=4), SessionClock(60.0), SessionConfig())
    session.add_sink(Recorder(rec))
    snaps = run_collecting(session, 160.0)
    js = tmp_path / "a.json"
    assert main(["analyze", str(rec), "--json", str(js)]) == 0
    group = json.loads(js.read_text(encoding="utf-8"))["group"]
    assert group["labels"] == list(LABELS)
    t = np.asarray(group["t_s"], float)
    r = np.array([np.nan if v is None else v for v in group["kuramoto_r"]], float)

    shown = [(s.group_window_end_s, s.group_r) for s in snaps if math.isfinite(s.group_r)]
    assert len(shown) > 40
    ends = np.array([e for e, _ in shown])
    live = np.array([v for _, v in shown])
    k = np.searchsorted(t, ends - 1e-6)
    assert np.all(k < t.size)
    np.testing.assert_allclose(t[k], ends, atol=1e-6)  # every window shown is one of analyze's
    assert np.isfinite(r[k]).all()
    np.testing.assert_allclose(live, r[k], atol=2e-4)  # the same R, to the recorded samples' rounding
    assert live.max() - live.min() > 0.2  # a series that moves (a constant would match anything)
    # No R before a whole window's worth (80%) of everyone's samples, as analyze.
    assert ends.min() >= 0.8 * SessionConfig().window_s - 1e-6


def test_no_group_order_while_someone_has_no_signal() -> None:
    """With D's belt silent from 60 s, the R shown was the order of A, B and C under the group's name (as
    a pair's view, the group's shows nothing while one of its people has no signal)."""
    specs = _group(120.0, 0.3, seed=2, labels="ABCD", last_until_s=60.0)
    snaps = run_collecting(Session(specs, SessionClock(60.0), SessionConfig()), 120.0)
    before = [s for s in snaps if 45.0 <= s.t_s <= 58.0]
    after = [s for s in snaps if s.t_s >= 75.0]
    assert before and after
    assert all(math.isfinite(s.group_r) and s.group_r > 0.5 for s in before)
    assert all(s.participant("D").receiving is False for s in after)
    assert all(math.isnan(s.group_r) and math.isnan(s.group_window_end_s) for s in after)
