"""A simulated partner follows someone whose breathing is derived from heart beats (a heart-rate strap),
the same at any --speed; and a replayed strap's silences are "no signal" at the times its beats say.

Before: the RR-derived phase is known about a second after the time it describes, and the partner read
only estimates under 0.5 s old, so at 30x (as at 1x) it never followed (the Polar H10 sample: in sync 0 s,
mean PLV 0.26), while at 300x it read phases a real-time partner could not have had (in sync 105 s, PLV
0.91). A replayed strap's short silences were "no signal" only when a snapshot fell inside them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from breathsync.cli import main
from breathsync.io.csvfile import write_recording

RR = REPO / "sample_signals" / "polar_h10_rr.csv"
PARTNER = "partner=sim:follow,rate=13,coupling=3,delay=0.3,seed=1,fs=25"


def _run(tmp_path: Path, source: Path, speed: str, duration: str = "150") -> Path:
    rec = tmp_path / f"{source.stem}{speed}"
    args = ["run", "-p", f"you=replay:{source}", "-p", PARTNER, "--duration", duration, "--speed", speed]
    assert main([*args, "--quiet", "--record", str(rec)]) == 0
    return rec


def test_a_partner_follows_a_strap_the_same_at_30x_and_300x(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow, fast = _run(tmp_path, RR, "30"), _run(tmp_path, RR, "300")
    capsys.readouterr()
    assert (slow / "partner.csv").read_bytes() == (fast / "partner.csv").read_bytes()
    assert (slow / "events.csv").read_text(encoding="utf-8") == (fast / "events.csv").read_text(
        encoding="utf-8"
    )
    pair = json.loads((slow / "session.json").read_text(encoding="utf-8"))["summary"]["pairs"][0]
    assert pair["mean_plv"] > 0.6 and pair["time_in_sync_s"] > 20.0


def test_a_strap_s_silence_is_no_signal_at_the_times_its_beats_say(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Beats every 0.9 s, with one missed (a 1.8-s interval: not a lost strap) and a 6-s silence at 40 s.
    t = np.arange(0.0, 90.0, 0.9)
    t = t[(np.abs(t - 20.7) > 0.01) & ((t < 40.0) | (t > 46.0))]
    rr = np.diff(t, prepend=t[0] - 0.9) * 1000.0
    src = tmp_path / "strap.csv"
    write_recording(src, t, {"rr_ms": rr})
    texts = []
    for speed in ("30", "300"):
        lines = (_run(tmp_path, src, speed, "80") / "events.csv").read_text(encoding="utf-8").splitlines()
        texts.append([ln for ln in lines if ",source_lost," in ln or ",source_back," in ln])
    capsys.readouterr()
    last, back = float(t[t < 40.0][-1]), float(t[t > 46.0][0])
    assert texts[0] == [
        f"{last + 3.5:.3f},source_lost,you,you: no signal",
        f"{back:.3f},source_back,you,you: signal back after {back - last - 3.5:.1f} s",
    ]
    assert texts[1] == texts[0]
