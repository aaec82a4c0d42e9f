"""An XDF file with two streams of one name (two computers, or two sessions of one computer, publishing
``breathsync-A`` into one LabRecorder file) is refused with one line listing them by what tells them apart;
``source_id=`` or ``stream_id=`` picks one. The first was replayed without a word.

The files are written as tests/sources/test_xdf.py writes them (the format's specification,
https://github.com/sccn/xdf/wiki/Specifications), with a stream header of our own here for the LSL
``source_id`` and ``hostname`` each stream has.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from test_xdf import XdfWriter, _chunk

from breathsync.cli import main
from breathsync.errors import InputError
from breathsync.sources.xdf import parse_xdf_spec

CHANNELS = "".join(
    f"<channel><label>{label}</label><type>{kind}</type><unit>{unit}</unit></channel>"
    for label, kind, unit in (("resp", "RESP", "a.u."), ("rate", "Rate", "breaths/min"))
)
T = 5000.0 + np.arange(1200) / 20.0  # 60 s at 20 Hz


def _header(w: XdfWriter, sid: int, name: str, source_id: str, host: str) -> None:
    xml = (
        f'<?xml version="1.0"?><info><name>{name}</name><type>Respiration</type>'
        "<channel_count>2</channel_count><nominal_srate>20.0</nominal_srate>"
        f"<channel_format>float32</channel_format><source_id>{source_id}</source_id><version>1.1</version>"
        f"<created_at>{sid}</created_at><uid>uid-{sid}</uid><session_id>default</session_id>"
        f"<hostname>{host}</hostname><desc><channels>{CHANNELS}</channels></desc></info>"
    )
    w.buf += _chunk(2, struct.pack("<I", sid) + xml.encode())


def _write(path: Path, streams: list[tuple[int, str, str, str, float]], n: int = T.size) -> Path:
    """Streams (id, name, source_id, host, breaths per minute), ``n`` samples each."""
    w = XdfWriter()
    for sid, name, source_id, host, _ in streams:
        _header(w, sid, name, source_id, host)
    for sid, *_, bpm in streams:
        y = np.sin(2 * np.pi * bpm / 60.0 * T[:n])
        w.samples(sid, T[:n], np.column_stack([y, np.full(n, bpm)]).astype(np.float32))
        w.clock_offset(sid, T[0], 0.0)
        w.clock_offset(sid, T[n - 1], 0.0)
        w.footer(sid, T[0], T[n - 1], n)
    path.write_bytes(bytes(w.buf))
    return path


@pytest.fixture
def two_hosts(tmp_path: Path) -> Path:
    """breathsync-A from two computers (their own source_id and host, as --publish gives), and B."""
    return _write(
        tmp_path / "lab.xdf",
        [
            (1, "breathsync-A", "breathsync-1111aaaa-A", "lab-pc-1", 15.0),
            (2, "breathsync-A", "breathsync-2222bbbb-A", "lab-pc-2", 12.0),
            (3, "breathsync-B", "breathsync-1111aaaa-B", "lab-pc-1", 10.0),
        ],
    )


@pytest.fixture
def two_sessions(tmp_path: Path) -> Path:
    """breathsync-A from two sessions of one computer: same source_id, same host."""
    return _write(
        tmp_path / "twice.xdf",
        [
            (1, "breathsync-A", "breathsync-1111aaaa-A", "lab-pc-1", 15.0),
            (2, "breathsync-A", "breathsync-1111aaaa-A", "lab-pc-1", 12.0),
        ],
    )


def _refused(spec: str, label: str = "A") -> str:
    with pytest.raises(InputError) as e:
        parse_xdf_spec(spec, label)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def _played_bpm(spec: str, label: str = "A") -> float:
    """Which stream a spec replays, by the breathing rate its rate channel holds (not replayed: the file's)."""
    src = parse_xdf_spec(spec, label)
    assert src.chosen is not None
    return float(src.chosen.values[0, 1])


@pytest.mark.parametrize("option", ["", ",stream=breathsync-A", ",stream=BREATHSYNC-A"])
def test_two_streams_of_one_name_are_refused_listing_them(two_hosts: Path, option: str) -> None:
    msg = _refused(f"{two_hosts}{option}")
    assert msg.startswith(f"replay: {two_hosts} has 2 ")
    assert "stream_id 1: source_id 'breathsync-1111aaaa-A', host 'lab-pc-1', 60 s" in msg
    assert "stream_id 2: source_id 'breathsync-2222bbbb-A', host 'lab-pc-2', 60 s" in msg
    assert msg.endswith("add ,source_id=ID or ,stream_id=N to choose one")
    assert "breathsync-B" not in msg


def test_source_id_or_stream_id_picks_one(two_hosts: Path) -> None:
    assert _played_bpm(f"{two_hosts},source_id=breathsync-2222bbbb-A") == 12.0
    assert _played_bpm(f"{two_hosts},source_id=breathsync-1111aaaa-A") == 15.0
    assert _played_bpm(f"{two_hosts},stream_id=2") == 12.0
    assert _played_bpm(f"{two_hosts},stream=breathsync-A,stream_id=1") == 15.0
    assert _played_bpm(f"{two_hosts},stream=breathsync-A,source_id=breathsync-2222bbbb-A") == 12.0
    assert _played_bpm(str(two_hosts), "B") == 10.0  # a name the file has once: as before
    src = parse_xdf_spec(f"{two_hosts},stream_id=2", "A")
    d = src.describe()
    assert (d["stream"], d["stream_id"], d["source_id"]) == ("breathsync-A", 2, "breathsync-2222bbbb-A")


def test_one_computer_twice_can_only_be_told_apart_by_stream_id(two_sessions: Path) -> None:
    msg = _refused(str(two_sessions))
    assert "stream_id 1: source_id 'breathsync-1111aaaa-A', host 'lab-pc-1', 60 s" in msg
    assert "stream_id 2: source_id 'breathsync-1111aaaa-A', host 'lab-pc-1', 60 s" in msg
    assert msg.endswith("add ,stream_id=N to choose one")
    msg = _refused(f"{two_sessions},source_id=breathsync-1111aaaa-A")  # both have it
    assert msg.endswith("add ,stream_id=N to choose one")
    assert _played_bpm(f"{two_sessions},stream_id=2") == 12.0


def test_a_choice_the_file_does_not_have(two_hosts: Path) -> None:
    msg = _refused(f"{two_hosts},stream_id=7")
    assert msg.startswith(
        f"replay: {two_hosts} has no stream with stream_id 7 (streams: 'breathsync-A', stream_id 1"
    )
    assert "'breathsync-B', stream_id 3: source_id 'breathsync-1111aaaa-B', host 'lab-pc-1', 60 s" in msg
    assert _refused(f"{two_hosts},source_id=nope").startswith(
        f"replay: {two_hosts} has no stream with source_id 'nope'"
    )
    assert "no stream named 'breathsync-B' with that source_id or stream_id" in _refused(
        f"{two_hosts},stream=breathsync-B,stream_id=1"
    )
    for bad in ("stream_id=x", "stream_id=-1", "stream_id=", "source_id="):
        assert _refused(f"{two_hosts},{bad}").startswith(f"replay: {bad.split('=')[0]}= needs ")
    assert "is given twice" in _refused(f"{two_hosts},stream_id=1,stream_id=2")


def test_the_command_line_says_it_in_one_line_and_exits_2(
    two_hosts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "-p", f"A=replay:{two_hosts}", "--duration", "2", "--speed", "10", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("breathsync: error: ") and "stream_id 2: source_id 'breathsync-2222bbbb-A'" in err
    # Both computers' A in one session, each chosen: session.json says which stream each replayed.
    rec = tmp_path / "rec"
    code = main(
        ["run", "-p", f"A=replay:{two_hosts},stream_id=1", "-p", f"B=replay:{two_hosts},stream_id=2",
         "--duration", "2", "--speed", "10", "--quiet", "--record", str(rec)]
    )  # fmt: skip
    capsys.readouterr()
    assert code == 0
    info = json.loads((rec / "session.json").read_text(encoding="utf-8"))
    got = {p["label"]: (p["source"]["stream_id"], p["source"]["source_id"]) for p in info["participants"]}
    assert got == {"A": (1, "breathsync-1111aaaa-A"), "B": (2, "breathsync-2222bbbb-A")}
