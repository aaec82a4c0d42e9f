"""A session of three or more: its summary (session.json, the printed lines) gives the group's mean Kuramoto
order R, as analyze of the recording does; the live view showed R, but only analyze kept it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from breathsync.cli import main

GROUP = [
    "-p",
    "A=sim:steady,seed=1",
    "-p",
    "B=sim:follow,partner=A,seed=2",
    "-p",
    "C=sim:follow,partner=A,seed=3",
]


def _session_and_analyze(tmp_path: Path, argv: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The group of a session recorded with ``run`` ARGV, from its session.json, and from analyze of the
    recording's folder."""
    rec = tmp_path / "rec"
    assert main(["run", *argv, "--quiet", "--record", str(rec)]) == 0
    group = json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]["group"]
    js = tmp_path / "a.json"
    assert main(["analyze", str(rec), "--json", str(js)]) == 0
    return group, json.loads(js.read_text(encoding="utf-8"))["group"]


@pytest.mark.parametrize("speed", ["40", "300"])
def test_a_groups_summary_has_analyzes_mean_r(
    tmp_path: Path, speed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group, full = _session_and_analyze(tmp_path, [*GROUP, "--duration", "80", "--speed", speed])
    out = capsys.readouterr().out
    assert group["labels"] == ["A", "B", "C"]
    analyzed = full["mean_kuramoto_r"]
    # The same windows of the same phases: equal to analyze's, whatever the speed.
    assert analyzed is not None and 0.5 < analyzed <= 1.0
    assert group["mean_kuramoto_r"] == pytest.approx(analyzed, abs=1e-4)
    assert f"group: mean Kuramoto order {analyzed:.2f}" in out

    # 80 s: the chance level is its cap, for want of history (surrogates need 70 s), and the line says so.
    assert group["chance_no_surrogate_frac"] == 1.0 and group["mean_null_r"] == 0.9
    assert "the cap: too little history for surrogates (they need 70 s)" in out


# A and a follower of A, and a stranger at 17/min: R hovers near its chance level.
TRIO = [
    "-p",
    "A=sim:steady,seed=1",
    "-p",
    "B=sim:follow,partner=A,seed=2",
    "-p",
    "C=sim:steady,rate=17,seed=3",
]


@pytest.mark.parametrize("speed", ["40", "300"])
def test_a_groups_chance_level_is_analyzes(
    tmp_path: Path, speed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The group's chance level (breathsync.dsp.group) is computed at the same whole 5 s of session time from
    # the same samples as analyze computes it, so the time above it, the mean level and the shares at the
    # cap are analyze's, whatever the speed; and its surrogates leave the cap once there is history.
    group, full = _session_and_analyze(tmp_path, [*TRIO, "--duration", "250", "--speed", speed])
    keys = ("mean_kuramoto_r", "above_chance_s", "scored_s", "mean_null_r", "chance_capped_frac")
    for key in (*keys, "chance_no_surrogate_frac", "chance_need_s"):
        assert full[key] is not None and group[key] == pytest.approx(full[key], abs=1e-4), key
    levels = [v for v in full["null_r"] if v is not None]
    assert min(levels) < 0.85 and 0.1 < full["chance_no_surrogate_frac"] < 0.3  # the cap only at first
    # Between a pair breathing together and a stranger: above the level some of the time, not all of it.
    assert 0.0 < full["above_chance_s"] < 0.9 * full["scored_s"]
    assert "(chance level 0." in capsys.readouterr().out


def test_a_pair_has_no_group(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    assert (
        main(["run", *GROUP[:4], "--duration", "40", "--speed", "100", "--quiet", "--record", str(rec)]) == 0
    )
    assert "group" not in json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]


def test_a_group_without_a_common_window_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 20 s: the 30-s window never fills, so no window had everyone's phase: null, not 0.
    rec = tmp_path / "rec"
    assert main(["run", *GROUP, "--duration", "20", "--speed", "100", "--quiet", "--record", str(rec)]) == 0
    group = json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]["group"]
    assert group["mean_kuramoto_r"] is None
    assert group["note"] == "not scored: the session (20 s) was shorter than one 30-s window"
    assert f"group: {group['note']}" in capsys.readouterr().out


def test_a_window_longer_than_the_history_is_scored_as_analyze_scores_it(tmp_path: Path) -> None:
    # --window 400: the participants' rings held 305 s, so every window was unknown live (no PLV, no group R)
    # where analyze of the recording gave them (the review of the group summary).
    rec = tmp_path / "rec"
    argv = ["run", *GROUP, "--window", "400", "--duration", "450", "--speed", "300", "--phase", "free"]
    assert main([*argv, "--quiet", "--record", str(rec)]) == 0
    summary = json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]
    js = tmp_path / "a.json"
    assert main(["analyze", str(rec), "--json", str(js)]) == 0
    analyzed = json.loads(js.read_text(encoding="utf-8"))
    assert analyzed["group"]["mean_kuramoto_r"] is not None
    assert summary["group"]["mean_kuramoto_r"] == pytest.approx(
        analyzed["group"]["mean_kuramoto_r"], abs=1e-4
    )
    live_plv = [p["mean_plv"] for p in summary["pairs"]]
    assert None not in live_plv
    assert live_plv == pytest.approx([p["summary"]["mean_plv"] for p in analyzed["pairs"]], abs=1e-4)
