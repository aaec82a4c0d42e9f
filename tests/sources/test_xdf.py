"""XDF replay: streams picked by type or name, LSL clock synchronisation applied, lockstep participants.

The XDF files are written here from the format's specification (https://github.com/sccn/xdf/wiki/Specifications):
the magic ``XDF:``, then chunks ``[NumLengthBytes][Length][Tag][Content]``: FileHeader (1), StreamHeader (2),
Samples (3), ClockOffset (4), StreamFooter (6).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from breathsync.cli import main
from breathsync.errors import InputError
from breathsync.live import ParticipantArg, build_session
from breathsync.sources.base import SampleChunk, SessionClock, SourceError
from breathsync.sources.replay import align_replays
from breathsync.sources.xdf import XdfReplaySource, parse_xdf_spec, read_xdf_streams


# ------------------------------------------------------------------------------------- a tiny writer
def _varlen(n: int) -> bytes:
    if n < 256:
        return b"\x01" + struct.pack("<B", n)
    if n < 2**32:
        return b"\x04" + struct.pack("<I", n)
    return b"\x08" + struct.pack("<Q", n)


def _chunk(tag: int, content: bytes) -> bytes:
    body = struct.pack("<H", tag) + content
    return _varlen(len(body)) + body


Channel = str | tuple[str, str, str]  # a label, or (label, type, unit)


def _channel_xml(ch: Channel) -> str:
    """One ``desc/channels/channel`` element (https://github.com/sccn/xdf/wiki/Meta-Data)."""
    if isinstance(ch, str):
        return f"<channel><label>{ch}</label></channel>"
    label, kind, unit = ch
    return f"<channel><label>{label}</label><type>{kind}</type><unit>{unit}</unit></channel>"


def _header_xml(name: str, kind: str, labels: Sequence[Channel], srate: float, fmt: str) -> bytes:
    chans = "".join(_channel_xml(ch) for ch in labels)
    return (
        f'<?xml version="1.0"?><info><name>{name}</name><type>{kind}</type>'
        f"<channel_count>{len(labels)}</channel_count><nominal_srate>{srate}</nominal_srate>"
        f"<channel_format>{fmt}</channel_format><source_id>{name}-id</source_id><version>1.1</version>"
        f"<created_at>0</created_at><uid>{name}-uid</uid><session_id>default</session_id>"
        f"<hostname>test</hostname><desc><channels>{chans}</channels></desc></info>"
    ).encode()


class XdfWriter:
    def __init__(self) -> None:
        self.buf = bytearray(b"XDF:")
        self.buf += _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')

    def header(
        self, sid: int, name: str, kind: str, labels: Sequence[Channel], srate: float, fmt: str
    ) -> None:
        self.buf += _chunk(2, struct.pack("<I", sid) + _header_xml(name, kind, labels, srate, fmt))

    def samples(self, sid: int, t: np.ndarray, values: np.ndarray) -> None:
        out = bytearray(struct.pack("<I", sid) + _varlen(len(t)))
        for ts, row in zip(t, values, strict=True):
            out += b"\x08" + struct.pack("<d", ts) + struct.pack(f"<{len(row)}f", *row)
        self.buf += _chunk(3, bytes(out))

    def markers(self, sid: int, t: list[float], text: list[str]) -> None:
        out = bytearray(struct.pack("<I", sid) + _varlen(len(t)))
        for ts, s in zip(t, text, strict=True):
            b = s.encode()
            out += b"\x08" + struct.pack("<d", ts) + _varlen(len(b)) + b
        self.buf += _chunk(3, bytes(out))

    def clock_offset(self, sid: int, collected: float, offset: float) -> None:
        self.buf += _chunk(4, struct.pack("<I", sid) + struct.pack("<dd", collected, offset))

    def footer(self, sid: int, first: float, last: float, n: int) -> None:
        xml = (
            f'<?xml version="1.0"?><info><first_timestamp>{first}</first_timestamp>'
            f"<last_timestamp>{last}</last_timestamp><sample_count>{n}</sample_count></info>"
        )
        self.buf += _chunk(6, struct.pack("<I", sid) + xml.encode())


# Stream A: on the recording computer's clock (offset 0), 20 Hz, channels phase and resp, from t = 1000 s.
A_T = 1000.0 + np.arange(1200) / 20.0
A_Y = np.sin(2 * np.pi * 0.25 * A_T).astype(np.float32)
# Stream B: another computer whose clock reads 5000 s ahead and drifts 1 ms/s: the recorder measured the
# offsets (ClockOffset chunks); starts at 1001.998 s on the recorder's clock, 25 Hz.
B_R = 6002.0 + np.arange(1500) / 25.0  # B's own timestamps


def _b_offset(collected: float) -> float:
    return -5000.0 - 0.001 * (collected - 6000.0)


B_TRUE = B_R + np.array([_b_offset(r) for r in B_R])  # on the recorder's clock
B_Y = np.cos(2 * np.pi * 0.2 * B_R).astype(np.float32)


def _write(path: Path) -> Path:
    w = XdfWriter()
    w.header(1, "breathsync-A", "Respiration", ["phase", "resp"], 20.0, "float32")
    w.header(2, "chest belt B", "Respiration", ["Resp"], 25.0, "float32")
    w.header(3, "events", "Markers", ["event"], 0.0, "string")
    for k in range(0, 1200, 100):  # interleaved chunks, as LabRecorder writes them
        w.samples(1, A_T[k : k + 100], np.column_stack([np.zeros(100), A_Y[k : k + 100]]))
        j = k * 1500 // 1200
        w.samples(2, B_R[j : j + 125], B_Y[j : j + 125, None])
        w.clock_offset(1, A_T[k], 0.0)
        w.clock_offset(2, B_R[j], _b_offset(B_R[j]))
    w.markers(3, [1001.0, 1030.0], ["start", "half"])
    w.footer(1, A_T[0], A_T[-1], A_T.size)
    w.footer(2, B_R[0], B_R[-1], B_R.size)
    path.write_bytes(bytes(w.buf))
    return path


@pytest.fixture
def xdf_file(tmp_path: Path) -> Path:
    return _write(tmp_path / "session.xdf")


def test_reads_streams_with_clock_synchronisation(xdf_file: Path) -> None:
    streams = {s.name: s for s in read_xdf_streams(str(xdf_file))}
    assert set(streams) == {"breathsync-A", "chest belt B", "events"}
    a, b = streams["breathsync-A"], streams["chest belt B"]
    assert a.labels == ["phase", "resp"] and b.labels == ["Resp"]
    np.testing.assert_allclose(a.t, A_T, atol=1e-6)
    np.testing.assert_allclose(b.t, B_TRUE, atol=1e-4)  # moved onto the recorder's clock, drift included


async def _play(sources: list[XdfReplaySource], speed: float) -> list[list[SampleChunk]]:
    clock = SessionClock(speed)
    out: list[list[SampleChunk]] = [[] for _ in sources]
    for s in sources:
        await s.start(clock)
    clock.start()

    async def run(k: int) -> None:
        async for chunk in sources[k].stream():
            out[k].append(chunk)

    await asyncio.gather(*(run(k) for k in range(len(sources))))
    return out


def test_two_participants_from_one_file_replay_in_lockstep(xdf_file: Path) -> None:
    a = parse_xdf_spec(str(xdf_file), "A")  # two Respiration streams: picked by the label (breathsync-A)
    b = parse_xdf_spec(f"{xdf_file},stream=chest belt B", "B")
    assert align_replays([a, b]) == pytest.approx(1000.0)
    got_a, got_b = asyncio.run(_play([a, b], speed=200.0))
    ta = np.concatenate([c.t for c in got_a])
    ya = np.concatenate([c.columns["resp"] for c in got_a])
    tb = np.concatenate([c.t for c in got_b])
    yb = np.concatenate([c.columns["resp"] for c in got_b])
    # Session time 0 is the file's first respiration sample; B's samples at their synchronised times.
    np.testing.assert_allclose(ta, A_T - 1000.0, atol=1e-6)
    np.testing.assert_allclose(ya, A_Y, rtol=1e-6)  # the resp channel, not phase
    np.testing.assert_allclose(tb, B_TRUE - 1000.0, atol=1e-4)
    assert tb[0] == pytest.approx(1.998, abs=1e-4)  # 6002 on B's clock, offset -5000.002
    np.testing.assert_allclose(yb, B_Y, rtol=1e-6)
    d = b.describe()
    assert (d["kind"], d["format"], d["stream"], d["channel"]) == ("replay", "xdf", "chest belt B", "Resp")


def test_stream_choice_and_errors(tmp_path: Path, xdf_file: Path) -> None:
    assert parse_xdf_spec(f"{xdf_file}", "B").chosen.name == "chest belt B"  # type: ignore[union-attr]
    with pytest.raises(InputError, match=r"2 Respiration streams .* add ,stream=NAME"):
        parse_xdf_spec(str(xdf_file), "C")
    with pytest.raises(InputError, match=r"no stream named 'nope'.*'events' \(Markers\)"):
        parse_xdf_spec(f"{xdf_file},stream=nope", "A")
    with pytest.raises(InputError, match="carries text"):
        parse_xdf_spec(f"{xdf_file},stream=events", "A")
    with pytest.raises(InputError, match="no channel 'x'"):
        parse_xdf_spec(f"{xdf_file},stream=breathsync-A,channel=x", "A")
    assert parse_xdf_spec(f"{xdf_file},stream=breathsync-A,channel=0,loop", "A").loop
    with pytest.raises(InputError, match="unknown option"):
        parse_xdf_spec(f"{xdf_file},speed=2", "A")
    with pytest.raises(SourceError, match=r"missing\.xdf"):
        parse_xdf_spec(str(tmp_path / "missing.xdf"), "A")
    bad = tmp_path / "bad.xdf"
    bad.write_bytes(b"not an xdf file at all")
    with pytest.raises(SourceError, match=r"bad\.xdf: not a readable XDF file"):
        parse_xdf_spec(str(bad), "A")
    only_markers = XdfWriter()
    only_markers.header(1, "events", "Markers", ["e"], 0.0, "string")
    only_markers.markers(1, [1.0], ["x"])
    path = tmp_path / "markers.xdf"
    path.write_bytes(bytes(only_markers.buf))
    with pytest.raises(InputError, match="no stream of type Respiration"):
        parse_xdf_spec(str(path), "A")


def test_one_stream_replayed_for_two_participants_is_refused(xdf_file: Path, tmp_path: Path) -> None:
    same = f"replay:{xdf_file},stream=chest belt B"
    with pytest.raises(InputError, match=r"participants A and B both replay .*stream 'chest belt B'"):
        build_session([ParticipantArg("A", same), ParticipantArg("B", same)])
    a = f"replay:{xdf_file},stream=breathsync-A,channel=resp"
    with pytest.raises(InputError, match=r"both replay .*stream 'breathsync-A', channel 'resp'"):
        build_session(
            [ParticipantArg("A", a), ParticipantArg("B", f"replay:{xdf_file},stream=breathsync-A,channel=1")]
        )
    # Two belts in one stream whose channels have the same label are two people: told apart by index.
    t = 1000.0 + np.arange(1200) / 20.0
    w = XdfWriter()
    w.header(1, "belts", "Respiration", ["Resp", "Resp"], 20.0, "float32")
    w.samples(1, t, np.column_stack([np.sin(0.5 * t), np.cos(0.4 * t)]).astype(np.float32))
    w.footer(1, t[0], t[-1], t.size)
    dup = tmp_path / "dup.xdf"
    dup.write_bytes(bytes(w.buf))
    build_session(
        [ParticipantArg("A", f"replay:{dup},channel=0"), ParticipantArg("B", f"replay:{dup},channel=1")]
    )


def test_run_command_replays_an_xdf_session(xdf_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_session([ParticipantArg("A", f"replay:{xdf_file}"), ParticipantArg("B", f"replay:{xdf_file}")])
    code = main(
        ["run", "-p", f"A=replay:{xdf_file}", "-p", f"B=replay:{xdf_file}", "--speed", "100", "--quiet"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "A: replay" in out and "B: replay" in out
    assert "A-B:" in out


def test_without_pyxdf_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    path = _write(tmp_path / "other.xdf")
    monkeypatch.setitem(sys.modules, "pyxdf", None)  # import pyxdf -> ImportError
    with pytest.raises(
        InputError, match=r"other\.xdf: reading XDF needs pyxdf: pip install 'breathsync\[xdf\]'"
    ):
        parse_xdf_spec(str(path), "A")


# ------------------------------------------------------------------------------------- damaged files
T20 = np.arange(1200) / 20.0
Y20 = np.sin(2 * np.pi * 0.25 * T20).astype(np.float32)


def _belt(chunks: int = 12) -> tuple[XdfWriter, list[int]]:
    """One Respiration stream in ``chunks`` samples chunks; also the byte offset where each chunk starts."""
    w = XdfWriter()
    w.header(1, "belt", "Respiration", ["resp"], 20.0, "float32")
    starts = []
    n = T20.size // chunks
    for k in range(0, T20.size, n):
        starts.append(len(w.buf))
        w.samples(1, T20[k : k + n], Y20[k : k + n, None])
    return w, starts


def test_a_valid_file_prints_nothing(xdf_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    """pyxdf's notes about a valid file ("Stream 3: Segments and clock-segments differ") went to stderr."""
    import logging

    from conftest import run_breathsync

    parse_xdf_spec(f"{xdf_file}", "B")
    assert not [r for r in caplog.records if r.name.startswith("pyxdf")]  # not passed on to the root logger
    logger = logging.getLogger("pyxdf")
    assert logger.propagate and not logger.handlers  # its logger silenced only while reading
    parts = ["-p", f"A=replay:{xdf_file}", "-p", f"B=replay:{xdf_file}"]
    r = run_breathsync("run", *parts, "--quiet", "--duration", "3", "--speed", "20", timeout=120)
    assert r.returncode == 0 and r.stderr == ""


def test_a_mis_encoded_chunk_is_one_line_naming_the_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """pyxdf logged its own traceback ("Error reading chunk length ... invalid variable-length integer"),
    skipped the rest of the file, and the run went on with what was left (exit 0, 0 breaths)."""
    w, starts = _belt()
    buf = bytearray(w.buf)
    buf[starts[6]] = 2  # a chunk length that is neither 1, 4 nor 8 bytes long
    path = tmp_path / "misencoded.xdf"
    path.write_bytes(bytes(buf))
    with pytest.raises(SourceError) as e:
        parse_xdf_spec(str(path), "A")
    assert str(e.value) == (
        f"replay: {path}: damaged XDF file (invalid chunk length at byte {starts[6]}): parts of it cannot be "
        "read; replay an intact copy of the recording"
    )
    assert capfd.readouterr().err == ""
    assert not [r for r in caplog.records if r.name.startswith("pyxdf")]
    code = main(["run", "-p", f"A=replay:{path}", "--quiet", "--duration", "5", "--speed", "50"])
    err = capfd.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "damaged XDF file" in err and "Traceback" not in err


def test_a_file_cut_short_replays_its_complete_part(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A recording that did not finish (LabRecorder killed): like a CSV file's cut-off last line, the
    incomplete last chunk is dropped and the rest replays; session.json says so."""
    w, starts = _belt()
    path = tmp_path / "cut.xdf"
    path.write_bytes(bytes(w.buf[: starts[8] + 300]))  # inside the 9th of 12 chunks
    src = parse_xdf_spec(str(path), "A")
    assert capfd.readouterr().err == ""
    np.testing.assert_allclose(src.load().time, T20[:800], atol=1e-9)
    assert src.describe()["damage"].startswith(f"cut short: it ends inside a chunk at byte {starts[8]}")


def test_a_stream_without_samples_says_so(tmp_path: Path) -> None:
    """It was "breathsync: error: cannot reshape array of size 0 into shape (0,newaxis)"."""
    w = XdfWriter()
    w.header(1, "belt", "Respiration", ["resp"], 20.0, "float32")
    path = tmp_path / "empty.xdf"
    path.write_bytes(bytes(w.buf))
    with pytest.raises(SourceError, match=rf"^replay: {path}: XDF stream 'belt' has no samples: nothing to"):
        parse_xdf_spec(str(path), "A")
    w.header(2, "belt 2", "Respiration", ["resp"], 20.0, "float32")
    w.samples(2, T20, Y20[:, None])
    path.write_bytes(bytes(w.buf))
    with pytest.raises(
        SourceError, match=r"'belt' has no samples: choose another with ,stream=NAME .*'belt 2'"
    ):
        parse_xdf_spec(f"{path},stream=belt", "A")


def test_a_bad_channel_names_the_xdf_file(xdf_file: Path) -> None:
    """It said "lsl: stream ... has no channel '5'"."""
    with pytest.raises(SourceError) as e:
        parse_xdf_spec(f"{xdf_file},stream=breathsync-A,channel=5", "A")
    assert str(e.value).startswith(f"replay: {xdf_file}: XDF stream 'breathsync-A' has no channel '5'")
    assert "lsl" not in str(e.value)


@pytest.mark.parametrize(
    ("t", "says"),
    [
        (
            np.concatenate([T20[:100], T20[100:] + 1e7]),
            r"the recording spans 2.78e\+03 h in XDF stream 'belt' \(at most 48 h is accepted\)",
        ),
        (T20 + 1e12, r"time values reach 1e\+12 s in XDF stream 'belt'"),
    ],
    ids=["a 1e7-s gap", "beyond 1e11 s"],
)
def test_time_stamps_that_are_not_a_breathing_recordings_are_one_line(
    tmp_path: Path, t: np.ndarray, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """They used to replay: silence for four months, or times no clock gives."""
    w = XdfWriter()
    w.header(1, "belt", "Respiration", ["resp"], 20.0, "float32")
    w.samples(1, t, Y20[:, None])
    path = tmp_path / "clock.xdf"
    path.write_bytes(bytes(w.buf))
    with pytest.raises(SourceError, match=rf"^replay: {path}: {says}: its time stamps are damaged$"):
        parse_xdf_spec(str(path), "A")
    assert main(["run", "--participant", f"A=replay:{path}", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "its time stamps are damaged" in err


def test_a_damaged_clock_offset_chunk_sends_no_numpy_warnings(tmp_path: Path) -> None:
    # pyxdf's clock fit on absurd offsets let NumPy's RuntimeWarnings through to stderr (the rule: one line).
    import contextlib
    import warnings

    w = XdfWriter()
    w.header(1, "belt", "Respiration", ["resp"], 20.0, "float32")
    w.samples(1, A_T[:600], A_Y[:600, None])
    for k, off in ((0, 0.0), (200, 1e308), (400, -1e308), (599, 1e-320)):
        w.clock_offset(1, A_T[k], off)
    w.footer(1, A_T[0], A_T[599], 600)
    path = tmp_path / "damaged.xdf"
    path.write_bytes(bytes(w.buf))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.suppress(InputError):
            read_xdf_streams(str(path))
    assert [str(c.message) for c in caught if issubclass(c.category, RuntimeWarning)] == []


# ------------------------------------------------------------------------------------- which channel, as what
# Channel <type> and <unit> as the XDF meta-data conventions lay them out (https://github.com/sccn/xdf/wiki/Meta-Data).
T25 = np.arange(3000) / 25.0  # 120 s at 25 Hz
WAVE15 = np.sin(2 * np.pi * 0.25 * T25).astype(np.float32)  # 15 breaths/min


def _one_stream(
    path: Path, name: str, kind: str, channels: list[Channel], t: np.ndarray, cols: np.ndarray
) -> Path:
    srate = 0.0 if kind in ("RR", "IBI") else 1.0 / float(np.median(np.diff(t)))
    w = XdfWriter()
    w.header(1, name, kind, channels, srate, "float32")
    w.samples(1, t, cols.astype(np.float32))
    w.footer(1, t[0], t[-1], t.size)
    path.write_bytes(bytes(w.buf))
    return path


def _summary_rate(path: Path, spec: str, capsys: pytest.CaptureFixture[str]) -> float:
    """The breathing rate a run reports for participant A (its session summary)."""
    import re

    code = main(["run", "-p", f"A=replay:{spec}", "--speed", "100", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    m = re.search(r"^A: .*?, \d+ breaths, ([\d.]+) breaths/min", out, re.MULTILINE)
    assert m, out
    return float(m.group(1))


def test_a_rate_channel_is_never_the_waveform(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The audit's Respiration stream: RespirationRate (breaths/min, type RATE) before BreathingWaveform
    (type RESP). The first label containing "resp" was taken: 25.6 breaths/min of noise, true 15."""
    rng = np.random.default_rng(3)
    rate = 15 + rng.normal(0, 3, T25.size)
    chans: list[Channel] = [("RespirationRate", "RATE", "breaths/min"), ("BreathingWaveform", "RESP", "mV")]
    path = _one_stream(
        tmp_path / "rate.xdf", "Respiration", "Respiration", chans, T25, np.column_stack([rate, WAVE15])
    )
    src = parse_xdf_spec(str(path), "A")
    assert (src.chosen_channel, src.channel_label, src.signal) == (1, "BreathingWaveform", "resp")
    np.testing.assert_allclose(src.load().columns["resp"], WAVE15, rtol=1e-6)
    assert _summary_rate(path, str(path), capsys) == pytest.approx(15.0, abs=0.3)
    # Named on purpose: a rate is not a breathing waveform, one line.
    with pytest.raises(SourceError) as e:
        parse_xdf_spec(f"{path},channel=RespirationRate", "A")
    assert str(e.value) == (
        f"replay: {path}: XDF stream 'Respiration': channel 'RespirationRate' is a rate (breaths/min), not a "
        "breathing waveform: give ,channel= the breathing waveform's label (channels: RespirationRate, "
        "BreathingWaveform)"
    )
    # A clinical monitor's "RR" is the respiratory rate when its unit says per minute, not RR intervals.
    chans = [("RR", "", "rpm"), ("Resp", "", "")]
    path2 = _one_stream(
        tmp_path / "rr_rate.xdf", "Monitor", "Respiration", chans, T25, np.column_stack([rate, WAVE15])
    )
    assert parse_xdf_spec(str(path2), "A").channel_label == "Resp"


def test_two_respiration_channels_are_not_guessed(tmp_path: Path) -> None:
    """RESP_A and RESP_B (two belts on one amplifier) silently played RESP_A."""
    chans: list[Channel] = [("Fz", "EEG", "microvolts"), ("RESP_A", "RESP", "mV"), ("RESP_B", "RESP", "mV")]
    cols = np.column_stack([np.zeros(T25.size), WAVE15, -WAVE15])
    path = _one_stream(tmp_path / "amp.xdf", "actiCHamp-Aux", "EEG", chans, T25, cols)
    with pytest.raises(SourceError) as e:
        parse_xdf_spec(f"{path},stream=actiCHamp-Aux", "A")
    assert str(e.value) == (
        f"replay: {path}: XDF stream 'actiCHamp-Aux' has 2 respiration channels ('RESP_A' (RESP, mV), "
        "'RESP_B' (RESP, mV)): add ,channel=NAME to choose one"
    )
    b = parse_xdf_spec(f"{path},stream=actiCHamp-Aux,channel=resp_b", "B")
    np.testing.assert_allclose(b.load().columns["resp"], -WAVE15, rtol=1e-6)
    # Untyped channels, by label: two that say resp alike are refused too; an exact "resp" label wins over
    # one that merely contains it.
    path = _one_stream(
        tmp_path / "untyped.xdf", "belts", "Respiration", ["resp_1", "resp_2"], T25, cols[:, 1:]
    )
    with pytest.raises(
        SourceError, match=r"2 respiration channels \('resp_1', 'resp_2'\): add ,channel=NAME"
    ):
        parse_xdf_spec(str(path), "A")
    path = _one_stream(tmp_path / "exact.xdf", "belts", "Respiration", ["resp_x", "Resp"], T25, cols[:, 1:])
    assert parse_xdf_spec(str(path), "A").channel_label == "Resp"


def _beats(duration_s: float, mean_ms: float = 850.0) -> tuple[np.ndarray, np.ndarray]:
    """Beat times and RR intervals (ms) with respiratory sinus arrhythmia at 15 breaths/min."""
    t, beats, rr = 0.0, [], []
    while t < duration_s:
        r = mean_ms + 60.0 * np.sin(2 * np.pi * 0.25 * t)
        t += r / 1000.0
        beats.append(t)
        rr.append(r)
    return np.asarray(beats), np.asarray(rr)


def test_rr_intervals_replay_as_rr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An irregular-rate stream of RR intervals (channel rr_ms, unit ms) played as a belt: resp = 850, 898.6..."""
    beats, rr = _beats(180.0)
    path = _one_stream(
        tmp_path / "rr.xdf", "PolarH10-RR", "RR", [("rr_ms", "RR", "ms")], 1000.0 + beats, rr[:, None]
    )
    src = parse_xdf_spec(f"{path},stream=PolarH10-RR", "A")
    rec = src.load()
    assert src.signal == "rr" and "resp" not in rec.columns
    np.testing.assert_allclose(rec.columns["rr_ms"], rr, rtol=1e-6)
    assert src.describe()["signal"] == "rr" and "unit" not in src.describe()
    assert _summary_rate(path, f"{path},stream=PolarH10-RR", capsys) == pytest.approx(15.0, abs=0.5)
    # Typed IBI in seconds, on an irregular stream: RR intervals, given to the session in milliseconds.
    path = _one_stream(
        tmp_path / "ibi.xdf", "strap", "IBI", [("interval", "IBI", "s")], beats, rr[:, None] / 1000
    )
    src = parse_xdf_spec(f"{path},stream=strap", "A")
    assert src.signal == "rr"
    np.testing.assert_allclose(src.load().columns["rr_ms"], rr, rtol=1e-5)
    path = _one_stream(tmp_path / "odd.xdf", "strap", "IBI", [("rr", "RR", "beats")], beats, rr[:, None])
    with pytest.raises(
        SourceError, match=r"channel 'rr' holds RR intervals in 'beats': breathsync reads them"
    ):
        parse_xdf_spec(f"{path},stream=strap", "A")


@pytest.mark.parametrize(
    ("unit", "scale", "value"),
    [("", 1 / 1000, None), ("ms", 1.0, 0.0), ("s", 1.0, 0.0), ("", 1.0, -850.0)],
)
def test_rr_intervals_no_heart_gives_are_refused_like_a_csv_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], unit: str, scale: float, value: float | None
) -> None:
    """RR intervals in seconds without a unit, or all 0, replayed as "0 breaths, rate unknown", exit 0: the
    CSV replay and analyze refuse them (Recording.check_rr_intervals)."""
    beats, rr = _beats(120.0)
    y = rr * scale if value is None else np.full(rr.size, value)
    path = _one_stream(tmp_path / "rr.xdf", "strap", "RR", [("rr_ms", "RR", unit)], beats, y[:, None])
    with pytest.raises(SourceError) as e:
        parse_xdf_spec(f"{path},stream=strap", "A")
    assert str(e.value) == (
        f"replay: {path}: XDF stream 'strap', channel 'rr_ms' holds no heart-beat intervals between 300 and "
        "2000 ms (30-200 beats/min): check that it is RR intervals, in milliseconds (unit ms) or seconds "
        "(unit s)"
    )
    assert main(["run", "-p", f"A=replay:{path},stream=strap", "--speed", "100", "--quiet"]) != 0
    assert "holds no heart-beat intervals" in capsys.readouterr().err


def test_a_belt_labelled_calibrated_replays_not_the_ecg_beside_it(tmp_path: Path) -> None:
    """'Resp calibrated' counted as a rate (its label contains "rate"): the ECG beside it was replayed as
    heart beats instead of the belt, and ,channel=Resp calibrated was refused."""
    ecg = np.sin(2 * np.pi * 1.2 * T25) ** 21  # sharp peaks, 72 beats/min
    chans: list[Channel] = [("ECG", "ECG", "mV"), ("Resp calibrated", "", "mV")]
    path = _one_stream(tmp_path / "amp.xdf", "amp", "Respiration", chans, T25, np.column_stack([ecg, WAVE15]))
    for spec in (str(path), f"{path},channel=Resp calibrated"):
        src = parse_xdf_spec(spec, "A")
        assert (src.channel_label, src.signal) == ("Resp calibrated", "resp")
        np.testing.assert_allclose(src.load().columns["resp"], WAVE15, rtol=1e-6)


def test_an_ecg_channel_replays_as_its_heart_beats_like_a_csv_ecg(tmp_path: Path) -> None:
    """,channel=ECG played the raw ECG as a belt (37.7 breaths/min). A CSV recording's ecg column replays
    as the RR intervals of its beats (README, "Recording format"); an XDF ECG channel does the same."""
    from conftest import REPO

    from breathsync.io.csvfile import read_recording
    from breathsync.sources.replay import ReplaySource

    nk = read_recording(str(REPO / "sample_signals" / "nk_rest5_100hz.csv"))
    t, ecg = nk.time[:12000], nk.columns["ecg"][:12000]  # 120 s at 100 Hz
    csv = tmp_path / "ecg.csv"
    csv.write_text(
        "time,ecg\n" + "".join(f"{a:.4f},{b:.9g}\n" for a, b in zip(t, ecg, strict=True)), encoding="utf-8"
    )
    chans: list[Channel] = [("Fz", "EEG", "microvolts"), ("ECG", "ECG", "mV")]
    path = _one_stream(tmp_path / "ecg.xdf", "amp", "EEG", chans, t, np.column_stack([np.zeros(t.size), ecg]))
    x = parse_xdf_spec(f"{path},stream=amp,channel=ECG", "A")
    c = ReplaySource(str(csv))
    c.load()
    assert x.signal == c.signal == "rr"
    assert x._cols["rr_ms"].size > 100  # about 70 beats/min
    np.testing.assert_allclose(x._t, c._t, atol=1e-4)
    np.testing.assert_allclose(x._cols["rr_ms"], c._cols["rr_ms"], atol=0.1)
    assert "unit" not in x.describe()  # the RR intervals' unit is the format's (rr_ms), not the ECG's mV
    # Automatic choice: the ECG when the stream has no respiration or RR channel.
    assert parse_xdf_spec(f"{path},stream=amp", "A").channel_label == "ECG"
    # Too slow to find beats: one line.
    slow = _one_stream(
        tmp_path / "slow.xdf", "amp", "EEG", chans, t[::5], np.column_stack([t[::5] * 0, ecg[::5]])
    )
    with pytest.raises(
        SourceError, match=r"'ECG': its ECG is sampled at 20 Hz, too slowly to find heart beats"
    ):
        parse_xdf_spec(f"{slow},stream=amp", "A")


def test_the_channel_unit_goes_into_the_recording(tmp_path: Path) -> None:
    """<unit>mV</unit> was lost: the recording had no "# unit:" line and exports said "arbitrary"."""
    from breathsync.io.csvfile import read_recording

    path = _one_stream(
        tmp_path / "belt.xdf", "belt", "Respiration", [("resp", "RESP", "mV")], T25, WAVE15[:, None]
    )
    beats, rr = _beats(120.0)
    rr_path = _one_stream(tmp_path / "rr.xdf", "strap", "RR", [("rr_ms", "RR", "ms")], beats, rr[:, None])
    assert parse_xdf_spec(str(path), "A").describe()["unit"] == "resp: mV"
    out = tmp_path / "rec"
    parts = ["-p", f"A=replay:{path}", "-p", f"B=replay:{rr_path},stream=strap"]
    code = main(["run", *parts, "--speed", "100", "--quiet", "--duration", "20", "--record", str(out)])
    assert code == 0
    assert read_recording(str(out / "A.csv")).meta["unit"] == "resp: mV"
    assert read_recording(str(out / "B.csv")).meta["unit"] == "rr_ms: milliseconds"
