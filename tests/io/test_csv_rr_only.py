"""A file of RR intervals without a time column (one ``rr_ms`` column, as Kubios, Elite HRV and Polar apps export
them) is timed by the running sum of its intervals: it was refused ("no 'time' column: pass the sampling rate"),
and with ``--rate 1`` it read each beat one second after the last, which gave 9.0 breaths/min for breathing at
12/min (beats are not evenly spaced)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from breathsync.cli import main
from breathsync.errors import RecordingError
from breathsync.io import read_recording
from breathsync.sources.base import SourceError
from breathsync.sources.replay import parse_replay_spec

BPM = 12.0  # the breathing in the intervals (respiratory sinus arrhythmia at 0.2 Hz)


def _rsa_intervals(duration_s: float = 300.0) -> np.ndarray:
    """RR intervals (ms) of a heart at 80/min whose interval swings by +-60 ms with breathing at 12/min."""
    t, rr = [0.0], []
    while t[-1] < duration_s:
        r = 750.0 + 60.0 * np.sin(2 * np.pi * BPM / 60.0 * t[-1])
        rr.append(r)
        t.append(t[-1] + r / 1000.0)
    return np.round(np.array(rr))


def _rr_only(path: Path, rr: np.ndarray, header: str = "rr_ms") -> Path:
    path.write_text(header + "\n" + "".join(f"{r:.0f}\n" for r in rr), encoding="utf-8")
    return path


def _rate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[dict[str, object], str]:
    assert main(["analyze", *args, "--json", "-"]) == 0
    out, err = capsys.readouterr()
    (participant,) = json.loads(out)["participants"]
    return participant, err


def test_beats_are_timed_by_the_running_sum_of_their_intervals(tmp_path: Path) -> None:
    rr = _rsa_intervals()
    rec = read_recording(_rr_only(tmp_path / "rr.csv", rr))
    assert rec.time_from_rr and not rec.time_from_rate and rec.signal_kind() == "rr"
    # The first beat at its own interval (time 0 is the beat before it), each next one an interval later.
    np.testing.assert_allclose(rec.time, np.cumsum(rr) / 1000.0)
    assert rec.time[0] == pytest.approx(rr[0] / 1000.0) and rec.notes == ()


def test_analyze_finds_the_breathing_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _rr_only(tmp_path / "rr.csv", _rsa_intervals())
    participant, _ = _rate(capsys, str(path))
    assert participant["signal"] == "rr"
    assert participant["rate_bpm_mean"] == pytest.approx(BPM, abs=0.3)  # it was 9.0 with --rate 1
    assert participant["duration_s"] == pytest.approx(300.0, abs=2.0)


def test_a_rate_is_ignored_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _rr_only(tmp_path / "rr.csv", _rsa_intervals())
    participant, _ = _rate(capsys, str(path), "--rate", "1")
    assert participant["rate_bpm_mean"] == pytest.approx(BPM, abs=0.3)
    assert main(["analyze", str(path), "--rate", "1"]) == 0
    out = capsys.readouterr().out
    assert "warning: A: --rate 1 ignored: the file is a series of RR intervals" in out


def test_other_columns_go_along(tmp_path: Path) -> None:
    rr = _rsa_intervals(60.0)
    path = tmp_path / "hr.csv"
    path.write_text("rr_ms,hr_bpm\n" + "".join(f"{r:.0f},{60000 / r:.1f}\n" for r in rr), encoding="utf-8")
    rec = read_recording(path)
    assert rec.time_from_rr and list(rec.columns) == ["rr_ms", "hr_bpm"]


@pytest.mark.parametrize(
    ("cell", "what"),
    [
        ("", "a blank line among the RR intervals"),
        ("NA", "an empty (or NA) rr_ms cell"),
        ("0", "rr_ms 0 "),
        ("-800", "rr_ms -800"),
    ],
)
def test_a_missing_or_impossible_interval_is_refused_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cell: str, what: str
) -> None:
    """A missing beat would shift every later beat by an unknown time: refused, naming the line."""
    rr = [f"{r:.0f}" for r in _rsa_intervals(60.0)]
    rr[9] = cell
    path = tmp_path / "gap.csv"
    path.write_text("# device: strap\nrr_ms\n" + "\n".join(rr) + "\n", encoding="utf-8")
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    message = str(info.value)
    assert message.startswith(f"{path}:12: {what}") and "running sum" in message and "\n" not in message
    assert main(["analyze", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err


def test_an_empty_cell_of_a_two_column_file_is_refused(tmp_path: Path) -> None:
    rr = _rsa_intervals(60.0)
    path = tmp_path / "hr.csv"
    path.write_text("rr_ms,hr_bpm\n" + "".join(f"{'' if k == 4 else f'{r:.0f}'},70\n" for k, r in enumerate(rr)),
                    encoding="utf-8")  # fmt: skip
    with pytest.raises(RecordingError, match=r"hr.csv:6: an empty \(or NA\) rr_ms cell"):
        read_recording(path)


def test_blank_lines_around_the_intervals_are_harmless(tmp_path: Path) -> None:
    rr = _rsa_intervals(60.0)
    path = tmp_path / "rr.csv"
    path.write_text("rr_ms\n\n" + "".join(f"{r:.0f}\n" for r in rr) + "\n\n", encoding="utf-8")
    np.testing.assert_allclose(read_recording(path).time, np.cumsum(rr) / 1000.0)


def test_a_sampled_file_without_time_still_needs_a_rate(tmp_path: Path) -> None:
    """An ECG with its beats' RR intervals on some rows is sampled: a rate is needed, as before."""
    path = tmp_path / "ecg.csv"
    path.write_text("ecg,rr_ms\n" + "".join(f"{np.sin(k / 10):.3f},{800 if k % 200 == 0 else ''}\n"
                                             for k in range(2000)), encoding="utf-8")  # fmt: skip
    with pytest.raises(RecordingError, match="no 'time' column: pass the sampling rate"):
        read_recording(path)


def test_a_replay_plays_the_beats_and_refuses_a_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rr = _rsa_intervals()
    path = _rr_only(tmp_path / "rr.csv", rr)
    src = parse_replay_spec(str(path))
    assert src.signal == "rr"
    np.testing.assert_allclose(src.load().time, np.cumsum(rr) / 1000.0)
    with pytest.raises(SourceError) as info:
        parse_replay_spec(f"{path},rate=1").load()
    assert "series of RR intervals" in str(info.value) and "leave rate= out" in str(info.value)
    assert main(["run", "-p", f"A=replay:{path}", "--quiet", "--speed", "300", "--duration", "300"]) == 0
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if ln.startswith("A: replay:")]
    rate = re.search(r"([0-9.]+) breaths/min", line)
    assert rate is not None and float(rate.group(1)) == pytest.approx(BPM, abs=0.5), line
    assert main(["run", "-p", f"A=replay:{path},rate=1", "--quiet", "--duration", "5"]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "leave rate= out" in err
