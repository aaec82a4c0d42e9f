"""A replayed chest accelerometer's direction events ("which way is inhale is a guess ...", "the heart's
rhythm confirms ...") are stamped at the samples' time of the decision, so a recording has the same
events at any --speed (they were stamped with the clock, which a fast replay has run ahead of: 21.6 s and
68.7 s at 30x, 35.5 s and 78.7 s at 300x), and a --duration session holds its samples before the end only
(a sample at exactly 120.0 s was recorded at 300x, not at 30x)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

from breathsync.cli import main

H10 = REPO / "sample_signals" / "h10_like_nk_rest5.csv"
PARTNER = "partner=sim:follow,rate=13,coupling=3,delay=0.3,seed=1,fs=25"


def test_the_same_recording_and_events_at_30x_and_300x(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folders = []
    for speed in ("30", "300"):
        rec = tmp_path / f"s{speed}"
        args = ["run", "-p", f"you=replay:{H10}", "-p", PARTNER, "--duration", "120", "--speed", speed]
        assert main([*args, "--quiet", "--record", str(rec)]) == 0
        folders.append(rec)
    capsys.readouterr()
    slow, fast = folders
    events = (slow / "events.csv").read_text(encoding="utf-8")
    assert "which way is inhale is a guess" in events and "the heart's rhythm confirms" in events
    assert (fast / "events.csv").read_text(encoding="utf-8") == events
    for name in ("you.csv", "partner.csv"):
        assert (slow / name).read_bytes() == (fast / name).read_bytes(), name
    rows = [ln for ln in (slow / "partner.csv").read_text(encoding="utf-8").splitlines() if ln[:1].isdigit()]
    assert len(rows) == 3000 and float(rows[-1].split(",")[0]) < 120.0  # [0, 120 s) at 25 Hz


def test_an_inverted_belt_is_said_at_the_same_time_at_any_speed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The "looks inverted" event was stamped with the clock (later at a higher --speed); it is at the breath
    that made the belt look inverted (RespPipeline.inverted_changed_t)."""
    from breathsync.io.csvfile import read_recording, write_recording

    rec = read_recording(REPO / "sample_signals" / "nk_rest5_100hz.csv")
    src = tmp_path / "upside_down.csv"
    write_recording(src, rec.time, {"resp": -rec.columns["resp"]})
    said = []
    for speed in ("20", "300"):
        out = tmp_path / f"s{speed}"
        args = ["run", "-p", f"A=replay:{src}", "--duration", "90", "--speed", speed, "--quiet"]
        assert main([*args, "--record", str(out)]) == 0
        said.append(
            [ln for ln in (out / "events.csv").read_text(encoding="utf-8").splitlines() if "inverted" in ln]
        )
    capsys.readouterr()
    assert len(said[0]) == 1 and said[0] == said[1]
    assert float(said[0][0].split(",")[0]) < 80.0
