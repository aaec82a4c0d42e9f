"""The terminal view writes a participant's quality in words: "no signal", not "no_signal"."""

from __future__ import annotations

import math
from dataclasses import replace

from view_snapshots import snapshot

from breathsync.terminal import render


def test_no_signal_is_written_without_its_underscore() -> None:
    snap = snapshot()
    quiet = replace(
        snap.participants[0], quality="no_signal", receiving=False, phase_rad=math.nan, rate_bpm=math.nan
    )
    snap = replace(snap, participants=(quiet, *snap.participants[1:]))
    for width in (None, 60, 40):
        text = render(snap, width=width) if width else render(snap)
        assert "no_signal" not in text, text
        assert "no signal" in text
