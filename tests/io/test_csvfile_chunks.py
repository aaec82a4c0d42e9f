"""The recording reader parses a file in chunks (READ_CHUNK_BYTES): tiny chunks put a chunk boundary
everywhere, and reading must not change (the same table, the same error on the same line)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from conftest import posix_only
from hypothesis import given, settings
from hypothesis import strategies as st

from breathsync.errors import RecordingError
from breathsync.io import _inputs, read_recording

ONE_CHUNK = 1 << 30


@contextmanager
def chunk_bytes(size: int) -> Iterator[None]:
    with mock.patch.object(_inputs, "READ_CHUNK_BYTES", size):
        yield


def outcome(path: Path, rate_hz: float | None = None) -> tuple[Any, ...]:
    """What reading gives, comparable: the error (message and line) or the whole recording."""
    try:
        rec = read_recording(path, rate_hz=rate_hz)
    except RecordingError as err:
        return ("error", err.problem, err.line)
    cols = {name: col.tobytes() for name, col in rec.columns.items()}
    flags = [rec.time.flags.writeable, *(col.flags.writeable for col in rec.columns.values())]
    return ("ok", rec.meta, rec.time.tobytes(), list(cols), cols, rec.notes, flags)


def read_error(path: Path, size: int) -> RecordingError:
    with chunk_bytes(size), pytest.raises(RecordingError) as info:
        read_recording(path)
    return info.value


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def rows_text(n: int, start: float = 0.0) -> str:
    return "".join(f"{start + 0.01 * i:.2f},{(i % 7) - 3}\n" for i in range(n))


# ------------------------------------------------------------------------------- random files, any chunk size
COLUMN_SETS = [("time", "resp"), ("time", "resp", "rr_ms"), ("resp",), ("time", "acc_x", "acc_y", "acc_z")]


@st.composite
def recordings(draw: st.DrawFn) -> tuple[bytes, float | None]:
    """A recording file with the quirks the reader accepts, and now and then one it refuses."""
    d = draw(st.sampled_from([",", ";", "\t"]))
    names = draw(st.sampled_from(COLUMN_SETS))
    lines = draw(
        st.lists(
            st.sampled_from(["# participant: Zoë", "# sampling_rate_hz: 10", "# 😀 note", "", " "]),
            max_size=3,
        )
    )
    lines.append(d.join(names))
    t = 0.0
    odd_rows = draw(st.sampled_from([0.0, 0.0, 0.05, 0.2]))  # the share of unusual rows
    for _ in range(draw(st.integers(0, 60))):
        odd = draw(st.floats(0, 1)) < odd_rows
        if odd and draw(st.booleans()):
            lines.append(
                draw(
                    st.sampled_from(
                        ["", "  ", "\t", "# late comment", "1" + d + "2" + d + "3" + d + "4" + d + "5"]
                    )
                )
            )
            continue
        t += draw(st.sampled_from([0.01, 0.01, 0.0, -0.05])) if odd else 0.01
        cells = []
        for name in names:
            value = f"{t:.2f}" if name == "time" else f"{draw(st.integers(-999, 999)) / 100:g}"
            if odd:
                value = draw(
                    st.sampled_from([value, "", " ", f'"{value}"', f" {value} ", "nan", "x", "1e400"])
                )
            cells.append(value)
        lines.append(d.join(cells))
    lines += draw(st.lists(st.sampled_from(["", " ", "\t"]), max_size=3))  # trailing blank lines
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(lines)
    if draw(st.booleans()):
        text += newline
    elif draw(st.booleans()):
        text = text[: len(text) - draw(st.integers(0, 6))]  # a last line cut short (a killed writer)
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text.encode("utf-8"), draw(st.sampled_from([None, 10.0]))


@settings(max_examples=300, deadline=None)
@given(recordings(), st.integers(1, 40))
def test_any_chunk_size_reads_like_one_chunk(
    tmp_path_factory: pytest.TempPathFactory, file: tuple[bytes, float | None], size: int
) -> None:
    data, rate = file
    path = write(tmp_path_factory.mktemp("chunks") / "rec.csv", data)
    with chunk_bytes(ONE_CHUNK):
        whole = outcome(path, rate)
    with chunk_bytes(size):
        assert outcome(path, rate) == whole


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_ends_split_at_every_offset(tmp_path: Path, newline: str) -> None:
    """Every boundary position, '\\r\\n' pairs included: the same table, and a bad cell on the same line."""
    text = newline.join(["# participant: A", "time,resp", *rows_text(30).split("\n")[:-1], ""])
    good = write(tmp_path / "good.csv", text)
    with chunk_bytes(ONE_CHUNK):
        whole = outcome(good)
    assert whole[0] == "ok" and len(whole[2]) == 30 * 8
    bad = write(tmp_path / "bad.csv", text.replace("0.25,", "0.25,x"))
    for size in range(1, 60):
        with chunk_bytes(size):
            assert outcome(good) == whole, size
        err = read_error(bad, size)
        assert err.line == 3 + 25 and "'x1'" in str(err), (size, err)


def test_blank_and_cut_lines_around_boundaries(tmp_path: Path) -> None:
    """Blank lines inside the data and at its end, empty cells, and a cut last line that is dropped."""
    body = "0,1\n\n \n0.01,\n0.02,3\n\t\n\n0.03,4\n" + rows_text(20, start=0.04) + "0.5,1\n\n  \n\n0.51"
    path = write(tmp_path / "rec.csv", "time,resp\n" + body)
    for size in [*range(1, 50), ONE_CHUNK]:
        with chunk_bytes(size):
            rec = read_recording(path)
        assert len(rec) == 25, size
        assert rec.time[-1] == 0.5
        assert np.isnan(rec.columns["resp"][1]) and rec.columns["resp"][3] == 4.0


def test_rows_that_get_shorter_grow_the_arrays(tmp_path: Path) -> None:
    """The arrays are sized from the first rows' length: shorter rows later make them grow."""
    long_rows = "".join(f"{0.001 * i:.12f},{i:.12f}\n" for i in range(200))
    short_rows = "".join(f"{1 + 0.001 * i:g},{i % 10}\n" for i in range(5000))
    path = write(tmp_path / "rec.csv", "time,resp\n" + long_rows + short_rows)
    with chunk_bytes(ONE_CHUNK):
        whole = outcome(path)
    for size in (64, 1000):
        with chunk_bytes(size):
            assert outcome(path) == whole
    assert len(whole[2]) == 5200 * 8


# ------------------------------------------------------------------------------- errors in a later chunk
LATER = 300  # the problem's data row; at 64 bytes a chunk it is many chunks in


@pytest.mark.parametrize(
    ("bad_row", "words"),
    [
        ("3.00,abc", ["non-numeric cell 'abc'", "'resp'"]),
        ("3.00", ["row has 1 cell but the header has 2"]),
        ("0.50,1", ["time goes backwards (2.99 s then 0.5 s)"]),
        (",1", ["time cell is empty or not finite (nan)"]),
        ('3.00,"1" and more', ["non-numeric cell", "'resp'"]),
    ],
)
def test_errors_in_a_later_chunk_name_their_line(tmp_path: Path, bad_row: str, words: list[str]) -> None:
    text = "# participant: A\n\ntime,resp\n" + rows_text(LATER) + bad_row + "\n" + rows_text(50, start=3.01)
    path = write(tmp_path / "rec.csv", text)
    line = 3 + LATER + 1
    for size in (*range(1, 12), 64, 4096, ONE_CHUNK):  # at 1 byte, a chunk is one line
        err = read_error(path, size)
        assert err.line == line, (size, str(err))
        for word in words:
            assert word in str(err), (size, word, str(err))


def test_empty_time_cell_found_by_the_slow_path_in_a_later_chunk(tmp_path: Path) -> None:
    """A cut last line sends the reader down the slow path, which names an empty time cell as such."""
    text = "time,resp\n" + rows_text(LATER) + ",1\n" + rows_text(50, start=3.01) + "3.5"
    path = write(tmp_path / "rec.csv", text)
    for size in (7, 64, ONE_CHUNK):
        err = read_error(path, size)
        assert err.line == 1 + LATER + 1 and "empty time cell" in str(err), (size, str(err))


def test_first_bad_line_wins_over_a_later_chunk(tmp_path: Path) -> None:
    """An empty time cell early (which the fast path reads as NaN) and a bad cell chunks later: the slow
    path names the first of them, as when the file is read at once."""
    text = "time,resp\n0,1\n,2\n" + rows_text(LATER, start=0.02) + "9,x\n"
    path = write(tmp_path / "rec.csv", text)
    for size in (5, 64, ONE_CHUNK):
        err = read_error(path, size)
        assert err.line == 3 and "empty time cell" in str(err), (size, str(err))


# ------------------------------------------------------------------------------- UTF-8 across boundaries
def test_multibyte_characters_at_every_boundary(tmp_path: Path) -> None:
    meta = "Zoë 😀 – Ω"
    text = f"\ufeff# participant: {meta}\r\n# ✓ free comment\r\ntime,resp,température\r\n0,1,2\r\n0.5,2,3\r\n"
    path = write(tmp_path / "rec.csv", text)
    for size in range(1, len(text.encode()) + 2):
        with chunk_bytes(size):
            rec = read_recording(path)
        assert rec.meta == {"participant": meta}, size
        assert list(rec.columns) == ["resp", "température"]
        assert rec.columns["température"].tolist() == [2.0, 3.0]


def test_a_bom_counts_only_at_the_start_of_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "rec.csv", "\ufefftime,resp\n" + rows_text(40) + "\ufeff0.4,1\n")
    for size in (*range(1, 20), ONE_CHUNK):
        err = read_error(path, size)
        assert err.line == 42 and "non-numeric cell '\\ufeff0.4'" in str(err), (size, str(err))


def test_a_byte_that_is_not_utf8_in_a_later_chunk_names_its_line(tmp_path: Path) -> None:
    data = ("time,resp\n" + rows_text(LATER)).encode() + b"3.00,\xff\n" + rows_text(10, start=3.01).encode()
    path = write(tmp_path / "rec.csv", data)
    for size in (3, 64, ONE_CHUNK):
        err = read_error(path, size)
        assert err.line == 1 + LATER + 1 and "not UTF-8 text (byte 0xff)" in str(err), (size, str(err))


def test_a_byte_that_is_not_utf8_after_a_bom_is_named_where_it_is(tmp_path: Path) -> None:
    """With a byte-order mark, the message named the byte 3 bytes before the bad one (``utf-8-sig`` counts
    from after the mark), and the line before it when the bad byte opened a line."""
    data = b"\xef\xbb\xbftime,resp\n0,1\n\xff.01,2\n"
    path = write(tmp_path / "rec.csv", data)
    for size in (3, 64, ONE_CHUNK):
        err = read_error(path, size)
        assert err.line == 3 and "not UTF-8 text (byte 0xff)" in str(err), (size, str(err))


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_byte_that_is_not_utf8_is_on_its_line_whatever_the_line_ends(
    tmp_path: Path, newline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file with lone '\\r' line ends named line 1 for every bad byte (only '\\n' was counted); a '\\r\\n'
    split between two blocks of the count is one line end."""
    text = ("time,resp\n" + rows_text(LATER)).replace("\n", newline)
    path = write(tmp_path / "rec.csv", text.encode() + b"3.00,\xff" + newline.encode())
    monkeypatch.setattr(_inputs, "READ_CHUNK_BYTES", 7)  # blocks end everywhere, also inside '\r\n'
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    assert info.value.line == 1 + LATER + 1 and "byte 0xff" in str(info.value), str(info.value)


def test_a_byte_that_is_not_utf8_wins_over_an_earlier_bad_row(tmp_path: Path) -> None:
    """The whole file must be UTF-8 before its rows are judged, however early the bad row is."""
    data = ("time,resp\n0,1\n0.01,x\n" + rows_text(LATER, start=0.02)).encode() + b"9,\xe2\x82\n"
    path = write(tmp_path / "rec.csv", data)
    for size in (3, 64, ONE_CHUNK):
        err = read_error(path, size)
        assert err.line == 3 + LATER + 1 and "byte 0xe2" in str(err), (size, str(err))


def test_a_header_error_waits_for_the_utf8_check(tmp_path: Path) -> None:
    path = write(tmp_path / "rec.csv", b"time|resp\n" + rows_text(LATER).encode() + b"\xc3(\n")
    err = read_error(path, 16)
    assert err.line == 1 + LATER + 1 and "byte 0xc3" in str(err)


# ------------------------------------------------------------------------------- a pipe
@posix_only("os.mkfifo")
def test_a_pipe_is_read_like_a_file(tmp_path: Path) -> None:
    """A pipe cannot be read twice (the slow path and error messages read the file again)."""
    text = 'time,resp\n0,1\n0.01,"2"\n' + rows_text(40, start=0.02) + "0.1,1\n"
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)

    def read_through_pipe() -> tuple[Any, ...]:
        writer = threading.Thread(
            target=fifo.write_text, args=(text,), kwargs={"encoding": "utf-8"}, daemon=True
        )
        writer.start()
        try:
            return outcome(fifo)
        finally:
            writer.join(timeout=10)

    with chunk_bytes(16):
        got = read_through_pipe()
    assert got[0] == "error" and "backwards" in got[1] and got[2] == 44
    with chunk_bytes(16):
        assert read_through_pipe()[1:] == outcome(write(tmp_path / "file.csv", text))[1:]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("empty_row", ["{d}", " {d} "])
def test_a_row_of_empty_cells_is_a_blank_line(tmp_path: Path, delimiter: str, empty_row: str) -> None:
    """A spreadsheet's empty row (",," or a line of tabs) is skipped like a blank line, on both paths. A line of
    tabs used to be a row of NaN on the fast path and a blank line on the slow one, so a missing time after it
    was named one line too far; ",," was an "empty time cell" error."""
    rows = [f"{0.04 * i:.2f}{delimiter}{i}" for i in range(LATER)]
    rows[5] = empty_row.format(d=delimiter)  # two empty cells, as many as the header names
    path = write(tmp_path / "rec.csv", f"time{delimiter}resp\n" + "\n".join(rows) + "\n")
    for size in (3, 64, ONE_CHUNK):
        with chunk_bytes(size):
            rec = read_recording(path)
        assert len(rec) == LATER - 1 and 0.2 not in rec.time, size
    rows[20] = f"{delimiter}7"  # a missing time after the empty row: named on its own line (line 22)
    path = write(tmp_path / "bad.csv", f"time{delimiter}resp\n" + "\n".join(rows) + "\n")
    for size in (3, 64, ONE_CHUNK):
        err = read_error(path, size)
        assert err.line == 22 and "time" in str(err), (size, str(err))
