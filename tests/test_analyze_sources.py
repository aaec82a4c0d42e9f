"""What analyze, report and --batch say beside the numbers: which participants are simulated, a lead between
different sensors, the group's value (or why there is none)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import make_session_folder

from breathsync.analysis import analyse_files, analyse_paths, group_text, summary_text
from breathsync.batch import SUMMARY_COLUMNS, analyse_batch, write_summary
from breathsync.io.csvfile import write_recording
from breathsync.report import build_report

SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"
#: One person's belt and the same person's chest accelerometer with heart beats (made from that belt).
BELT = str(SAMPLES / "nk_rest5_100hz.csv")
CHEST = str(SAMPLES / "h10_like_nk_rest5.csv")


def _set_sources(folder: Path, sources: dict[str, Any]) -> None:
    info = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    for p in info["participants"]:
        p["source"] = sources[p["label"]]
    (folder / "session.json").write_text(json.dumps(info), encoding="utf-8")


def _people(result: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {p["label"]: (p["source"], p["simulated"]) for p in result["participants"]}


# ------------------------------------------------------------------------------------ simulated participants
def test_a_sessions_simulated_participant_is_flagged(tmp_path: Path) -> None:
    """``breathsync demo --record``: analyze's JSON gave 'you' and 'partner' alike; session.json knows
    partner is ``sim:``. A replayed file may be anyone's (unknown), a Bluetooth device was worn (false)."""
    s = make_session_folder(tmp_path / "s")
    _set_sources(s, {"A": {"kind": "replay", "file": "x.csv"}, "B": {"kind": "sim", "mode": "follow"}})
    result, together = analyse_paths([str(s)])
    assert _people(result) == {"A": ("replay", None), "B": ("sim", True)}
    lines = summary_text(result, together.parts).splitlines()
    assert lines[0].startswith("A: A.csv (resp), 60 s") and lines[1].startswith(
        "B: B.csv (resp), simulated, 60 s"
    )
    _set_sources(s, {"A": {"kind": "ble", "device": "gdx-rb"}, "B": "sim:steady"})  # a short source text too
    assert _people(analyse_files([str(s)])) == {"A": ("ble", False), "B": ("sim", True)}


def test_a_plain_files_simulation_is_known_only_from_the_file(tmp_path: Path) -> None:
    """Plain files: unknown (null), unless the file says it is the simulator's (its ``# source: sim:`` line,
    as the recorder writes it, or a simulator's ``true_phase`` column)."""
    t = np.arange(0, 60, 0.04)
    ph = (2 * np.pi * 0.25 * t) % (2 * np.pi)
    write_recording(tmp_path / "a.csv", t, {"resp": np.sin(ph)}, {"participant": "A"})
    write_recording(
        tmp_path / "b.csv", t, {"resp": np.sin(ph + 1)}, {"participant": "B", "source": "sim:follow,rate=12"}
    )
    write_recording(tmp_path / "c.csv", t, {"resp": np.sin(ph + 2), "true_phase": ph}, {"participant": "C"})
    write_recording(tmp_path / "d.csv", t, {"resp": np.sin(ph + 3)}, {"participant": "D", "source": "ble:x"})
    result = analyse_files([str(tmp_path / f"{x}.csv") for x in "abcd"])
    assert _people(result) == {"A": (None, None), "B": ("sim", True), "C": (None, True), "D": (None, None)}


def test_batch_and_report_mark_the_simulated_participant(tmp_path: Path) -> None:
    s = make_session_folder(tmp_path / "s")
    _set_sources(s, {"A": {"kind": "replay", "file": "x.csv"}, "B": {"kind": "sim", "mode": "follow"}})
    res = analyse_batch([str(s)])
    write_summary(str(tmp_path / "b.csv"), res.rows)
    rows = list(csv.DictReader((tmp_path / "b.csv").open(encoding="utf-8")))
    assert list(rows[0]) == SUMMARY_COLUMNS
    assert (rows[0]["simulated_a"], rows[0]["simulated_b"]) == ("", "true")
    _set_sources(s, {"A": {"kind": "ble", "device": "gdx-rb"}, "B": {"kind": "sim"}})
    assert [(r["simulated_a"], r["simulated_b"]) for r in analyse_batch([str(s)]).rows] == [("false", "true")]
    page = build_report([str(s)])
    assert "B <span class='note'>(simulated)</span>" in page
    assert "A <span class='note'>(simulated)</span>" not in page
    # In the pair's cell too: a practice with a simulated partner does not read as two people there.
    assert "<td>A – B <span class='note'>(simulated)</span></td>" in page


# ------------------------------------------------------------------------------------ different sensors
@pytest.fixture(scope="module")
def belt_and_chest() -> tuple[dict[str, Any], str]:
    result, together = analyse_paths([BELT, CHEST])
    return result, summary_text(result, together.parts)


def test_a_lead_between_different_sensors_is_said_to_include_the_derivations_delay(
    belt_and_chest: tuple[dict[str, Any], str],
) -> None:
    """A belt and the same person's chest accelerometer: the live lead (0.17 s) is the derivation's delay,
    the offline lead 0.00 s; analyze named a leader without a word of it."""
    result, text = belt_and_chest
    pair = result["pairs"][0]
    note = pair["summary"]["lead_note"]
    assert note is not None and "different sensors" in note and "chest accelerometer" in note
    off = pair["offline"]["summary"]
    assert off["lead_s"] is not None and "offline (zero-phase filters): " in note
    line = next(ln for ln in text.splitlines() if ln.startswith(f"{pair['a']}-{pair['b']}:"))
    assert line.endswith("; " + note)


def test_batch_and_report_carry_the_offline_lead_and_the_note(
    belt_and_chest: tuple[dict[str, Any], str], tmp_path: Path
) -> None:
    result, _ = belt_and_chest
    off = result["pairs"][0]["offline"]["summary"]
    rows = analyse_batch([f"{BELT}+{CHEST}"]).rows
    assert rows[0]["lead_note"] == result["pairs"][0]["summary"]["lead_note"]
    assert rows[0]["offline_leader"] == off["leader"] and rows[0]["offline_lead_s"] == off["lead_s"]
    assert rows[0]["offline_mean_relative_phase_deg"] == pytest.approx(
        np.degrees(off["mean_relative_phase_rad"]), abs=0.051
    )
    page = build_report([BELT, CHEST])
    assert "are different sensors: the relative phase and lead between them include the delay" in page


def test_one_kind_of_sensor_has_no_lead_note() -> None:
    result = analyse_files([str(SAMPLES / "pair_follow_A.csv"), str(SAMPLES / "pair_follow_B.csv")])
    assert result["pairs"][0]["summary"]["lead_note"] is None
    assert result["pairs"][0]["summary"]["leader"] == "A"  # a leader, and nothing to say beside it


# ------------------------------------------------------------------------------------ the group
def _three(tmp_path: Path, starts: tuple[float, float, float], length: float = 100.0) -> list[str]:
    t = np.arange(0.0, length, 0.04)
    files = []
    for k, (label, t0) in enumerate(zip("ABC", starts, strict=True)):
        f = tmp_path / f"{label}.csv"
        write_recording(
            f, t + t0, {"resp": 1.0 - np.cos(2 * np.pi * 0.25 * t + 0.3 * k)}, {"participant": label}
        )
        files.append(str(f))
    return files


@pytest.mark.parametrize(
    ("starts", "said"),
    [
        ((0.0, 50.0, 110.0), "group: not scored: the 3 recordings have no time in common"),
        (
            (0.0, 0.0, 80.0),
            "group: not scored: the 3 recordings have 20 s in common, less than one 30-s window",
        ),
    ],
)
def test_a_group_without_common_time_says_why(
    tmp_path: Path, starts: tuple[float, float, float], said: str
) -> None:
    """Three recordings without a window in common: analyze's group line disappeared without a word."""
    result, together = analyse_paths(_three(tmp_path, starts))
    assert result["group"]["mean_kuramoto_r"] is None
    assert f"group: {result['group']['note']}" == said
    assert said in summary_text(result, together.parts).splitlines()


def test_the_groups_value_is_in_the_batch_and_the_report(tmp_path: Path) -> None:
    files = _three(tmp_path, (0.0, 0.0, 0.0))
    result = analyse_files(files)
    r = result["group"]["mean_kuramoto_r"]
    assert r is not None and result["group"]["note"] is None
    rows = analyse_batch(["+".join(files)]).rows
    assert len(rows) == 3 and all(row["group_mean_kuramoto_r"] == r for row in rows)
    # The group's chance level: its share of the scored time above it, and the mean level, on every row.
    g = result["group"]
    share = round(g["above_chance_s"] / g["scored_s"], 4)
    assert all(row["group_above_chance_frac"] == share for row in rows)
    assert all(row["group_mean_null_r"] == g["mean_null_r"] is not None for row in rows)
    assert list(SUMMARY_COLUMNS)[-2:] == ["group_above_chance_frac", "group_mean_null_r"]  # added at the end
    assert group_text(g) in build_report(files) and "(chance level " in group_text(g)
    two = analyse_batch(["+".join(files[:2])]).rows
    assert two[0]["group_mean_kuramoto_r"] is None  # no group of two
    assert two[0]["group_above_chance_frac"] is None and two[0]["group_mean_null_r"] is None
