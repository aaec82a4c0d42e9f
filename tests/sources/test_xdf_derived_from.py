"""``XdfReplaySource.derived_from``: what the replayed waveform was derived from, by the chosen stream's
publisher (``desc/breathsync/signal``), read with the file; a value assigned stands for the file's, as for a
CSV replay (``ReplaySource.derived_from``). An assigned value used to be overwritten when the file was read
(the first ask for the signal, the stream or ``derived_from`` itself), so that what stood depended on when
it was assigned.

The files are written as tests/sources/test_xdf.py writes them, with a stream header of our own here for
the publisher's description (what ``--publish`` puts in ``desc/breathsync``; tests/lsl has the same through
liblsl and LabRecorder's layout).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from test_xdf import XdfWriter, _chunk

from breathsync.sources.xdf import XdfReplaySource

T = 100.0 + np.arange(1200) / 20.0  # 60 s at 20 Hz


def _header(w: XdfWriter, sid: int, name: str, publisher_signal: str | None) -> None:
    about = (
        f"<breathsync><participant>A</participant><signal>{publisher_signal}</signal><source>ble</source>"
        "<device>hrm</device></breathsync>"
        if publisher_signal is not None
        else ""
    )
    xml = (
        f'<?xml version="1.0"?><info><name>{name}</name><type>Respiration</type>'
        "<channel_count>1</channel_count><nominal_srate>20.0</nominal_srate>"
        f"<channel_format>float32</channel_format><source_id>{name}-id</source_id><version>1.1</version>"
        f"<created_at>{sid}</created_at><uid>uid-{sid}</uid><session_id>default</session_id>"
        "<hostname>test</hostname><desc><channels><channel><label>resp</label><type>RESP</type>"
        f"<unit>a.u.</unit></channel></channels>{about}</desc></info>"
    )
    w.buf += _chunk(2, struct.pack("<I", sid) + xml.encode())


@pytest.fixture
def lab_file(tmp_path: Path) -> Path:
    """``breathsync-A``, breathing a breathsync derived from a heart-rate strap, and ``belt``, another
    publisher's belt."""
    w = XdfWriter()
    _header(w, 1, "breathsync-A", "rr")
    _header(w, 2, "belt", None)
    y = np.sin(2 * np.pi * 0.25 * T)[:, None].astype(np.float32)
    for sid in (1, 2):
        w.samples(sid, T, y)
        w.clock_offset(sid, T[0], 0.0)
        w.footer(sid, T[0], T[-1], T.size)
    path = tmp_path / "lab.xdf"
    path.write_bytes(bytes(w.buf))
    return path


def test_the_publishers_word_is_read_with_the_file(lab_file: Path) -> None:
    a = XdfReplaySource(str(lab_file), stream="breathsync-A")
    assert (a.signal, a.derived_from) == ("resp", "rr")
    d = a.describe()
    assert d["derived_from"] == "rr" and d["breathing"].startswith("derived from heart beats")
    belt = XdfReplaySource(str(lab_file), stream="belt")
    assert (belt.signal, belt.derived_from) == ("resp", "")
    assert not {"derived_from", "breathing"} & set(belt.describe())


def test_a_value_assigned_before_the_file_is_read_stands(lab_file: Path) -> None:
    a = XdfReplaySource(str(lab_file), stream="breathsync-A")
    a.derived_from = ""
    a.load()  # reading the file used to put the publisher's "rr" back
    assert a.derived_from == ""
    assert not {"derived_from", "breathing"} & set(a.describe())
    belt = XdfReplaySource(str(lab_file), stream="belt")
    belt.derived_from = "acc"
    assert belt.signal == "resp"  # reads the file
    assert belt.derived_from == "acc"
    d = belt.describe()
    assert d["derived_from"] == "acc" and d["breathing"].startswith("derived from a chest accelerometer")


def test_a_value_assigned_after_the_file_is_read_stands_as_before(lab_file: Path) -> None:
    a = XdfReplaySource(str(lab_file), stream="breathsync-A")
    a.load()
    a.derived_from = ""
    assert a.derived_from == "" and "derived_from" not in a.describe()
