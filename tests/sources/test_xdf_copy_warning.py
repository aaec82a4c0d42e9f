"""Two participants replaying two streams of one XDF file that hold the same samples get the copy warning
naming the streams: it said "columns None and None of dup.xdf" (an XDF stream has no column name)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_xdf import XdfWriter

from breathsync.cli import main

CHANNELS = [("resp", "RESP", "a.u.")]


def _one_recording_twice(path: Path) -> None:
    w = XdfWriter()
    for sid, name in ((1, "breathsync-A"), (3, "breathsync-B")):
        w.header(sid, name, "Respiration", CHANNELS, 20.0, "float32")
    t = 5000 + np.arange(1200) / 20.0
    y = np.sin(2 * np.pi * 0.25 * t).astype(np.float32)[:, None]
    for sid in (1, 3):
        w.samples(sid, t, y)
        w.clock_offset(sid, t[0], 0.0)
        w.clock_offset(sid, t[-1], 0.0)
        w.footer(sid, t[0], t[-1], t.size)
    path.write_bytes(bytes(w.buf))


def test_the_copy_warning_names_the_two_streams(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "dup.xdf"
    _one_recording_twice(f)
    args = ["run", "-p", f"A=replay:{f},stream=breathsync-A", "-p", f"B=replay:{f},stream=breathsync-B"]
    assert main([*args, "--speed", "200", "--quiet"]) == 0
    out = capsys.readouterr()
    said = out.out + out.err
    assert (
        "A-B: stream 'breathsync-A' (stream_id 1) and stream 'breathsync-B' (stream_id 3) of dup.xdf hold the "
        "same breathing samples" in said
    ), said
    assert "None" not in said
