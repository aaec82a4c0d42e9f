"""Tests for the recording CSV format: reader errors, accepted quirks, writers, round trips."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breathsync.errors import InputError, RecordingError
from breathsync.io import Recording, RecordingWriter, read_recording, write_recording
from breathsync.synth import simulate_pair
from sample_signals import sample_path
from sample_signals.generate import PAIRS, write_h10_like, write_pair


def _write(tmp_path: Path, text: str | bytes, name: str = "rec.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def _error(path: Path, rate_hz: float | None = None) -> RecordingError:
    with pytest.raises(RecordingError) as info:
        read_recording(path, rate_hz=rate_hz)
    err = info.value
    message = str(err)
    assert "\n" not in message
    assert str(path) in message
    return err


# ------------------------------------------------------------------------------------------ reader errors
@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", None, ["empty file"]),
        ("\n  \n\n", None, ["empty file"]),
        ("# participant: A\n# only comments\n", 2, ["no header"]),
        ("# participant: A\n0.0,1.0\n0.1,2.0\n", 2, ["no header", "'0.0,1.0'"]),
        ("time|resp\n0|1\n", 1, ["unknown delimiter", "','", "';'", "tab"]),
        ("time resp\n0 1\n", 1, ["unknown delimiter", "'time resp'"]),
        ("time,resp\n0,1\n0.04,2,3\n0.08,3\n", 3, ["3 cells", "header has 2"]),
        ("# a: b\ntime,resp\n0,1\n0.04,abc\n", 4, ["non-numeric", "'abc'", "'resp'"]),
        ("time;resp\n0.5;1,5\n", 2, ["'1,5' has a decimal comma", "decimal separator"]),
        ("# x: y\ntime,resp\n0,1\n0.2,1\n\n0.1,1\n", 6, ["backwards", "0.2", "0.1"]),
        ("time,temp\n0,1\n0.1,2\n", 1, ["no breathing signal", "'temp'", "resp", "rr_ms", "acc_x", "ecg"]),
        ("time,ecg\n0,\n0.1,\n", 1, ["'ecg' hold no numbers"]),
        ("time,acc_x,acc_y\n0,1,2\n", 1, ["incomplete accelerometer", "'acc_z'"]),
        ("time,resp\n0,\n1,\n", 1, ["'resp' hold no numbers"]),
        ("time,resp\n0,1e400\n1,-inf\n", 1, ["'resp' hold no finite numbers", "too large for a number"]),
        ("# a: b\ntime,resp\n\n\n", 2, ["no data rows"]),
        ("time,resp\n0,1\n,2\n", 3, ["time", "empty"]),
        ("time,resp\n0,1\n# note\n0.1,2\n", 3, ["comment line", "before the header"]),
        ("time,resp,resp\n0,1,2\n", 1, ["appears twice"]),
        ("time,resp,\n0,1,2\n", 1, ["column 3 has no name in the header but holds numbers"]),
        ("time,resp\r\n0,1\r\n0.1,x\r\n0.2,3\r\n", 3, ["'x'"]),
        ("time,resp\n0,1\n0.04,1\x002\n", 3, ["'1\\x002'"]),  # a NUL byte is shown, not printed
        ("time,acc_x,acc_y,acc_z\n0,1,1e300,1\n0.04,1,1,1\n", 1, ["'acc_y'", "values up to 1e+300"]),
    ],
)
def test_reader_errors_name_file_line_and_problem(
    tmp_path: Path, text: str, line: int | None, words: list[str]
) -> None:
    err = _error(_write(tmp_path, text))
    assert err.line == line
    if line is not None:
        assert f"rec.csv:{line}:" in str(err)
    for word in words:
        assert word in str(err), (word, str(err))


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        ("time,resp,RSP\ns,V,V\n0,1,2\n0.04,1,2\n", 2, "('s', 'V', 'V')"),
        ("# a: b\ntime;resp\n\ns;mV\n0;1\n", 4, "('s', 'mV')"),
        ('time,resp\n"s","a.u."\n0,1\n', 2, "('\"s\"', '\"a.u.\"')"),
        ("time,resp,RSP\ns,V,\n0,1,2\n", 2, "('s', 'V', '')"),  # a column without a unit
        ("time,resp,RSP\ns,V\n0,1,2\n", 2, "('s', 'V')"),  # fewer cells: still text only
    ],
)
def test_a_units_row_under_the_header_is_named_as_one(
    tmp_path: Path, text: str, line: int, shown: str
) -> None:
    """A lab export's units row (s,V,V) was "non-numeric cell 's' in column 'time'", with nothing to do."""
    err = _error(_write(tmp_path, text))
    assert err.line == line
    assert f"the first row under the header {shown} is text, not numbers: it looks like a units row" in str(
        err
    )
    assert "delete it, or turn it into a '# unit: ...' line above the header" in str(err)


@pytest.mark.parametrize(
    "text",
    [
        "time,resp\ns,1\n0,1\n",  # a number in it: not a units row
        "time,resp\n0,1\ns,V\n",  # not the first row
    ],
)
def test_other_text_rows_are_not_units_rows(tmp_path: Path, text: str) -> None:
    err = _error(_write(tmp_path, text))
    assert "units row" not in str(err) and "non-numeric cell 's' in column 'time'" in str(err)


@pytest.mark.parametrize(
    ("header", "data", "names"),
    [
        ('"time","Resp, Belt A","Resp, Belt B"', "0,1,2", ["Resp, Belt A", "Resp, Belt B"]),
        # more commas inside the quotes than semicolons between the names: the delimiter is still ';'
        ('time;"Resp, Belt, A, B";resp', "0;1;2", ["Resp, Belt, A, B", "resp"]),
        ('"time"\t"a ""quoted"" name"\tresp', "0\t1\t2", ['a "quoted" name', "resp"]),
        ("'time', 'resp'", "0,1", ["resp"]),
        ('time,"resp', "0,1", ["resp"]),  # an unbalanced quote: read as before (outer quotes dropped)
    ],
)
def test_a_quoted_header_name_may_hold_the_delimiter(
    tmp_path: Path, header: str, data: str, names: list[str]
) -> None:
    """Excel quotes a name with the delimiter in it; the header used to be split inside the quotes."""
    rows = "".join(data.replace("0", f"{k / 10:g}", 1) + "\n" for k in range(40))
    rec = read_recording(_write(tmp_path, header + "\n" + rows), resp_column=names[0])
    assert list(rec.columns)[: len(names)] == names
    assert rec.columns["resp"][0] == 1 and len(rec) == 40


def test_missing_time_column_asks_for_rate(tmp_path: Path) -> None:
    path = _write(tmp_path, "# sampling_rate_hz: 50\nresp\n0.1\n0.2\n")
    err = _error(path)
    assert "(--rate HZ; in a replay: rate=HZ)" in str(err)
    assert "sampling_rate_hz: 50" in str(err)
    assert err.line == 2


def test_missing_file_and_not_utf8(tmp_path: Path) -> None:
    err = _error(tmp_path / "nope.csv")
    assert "no such file" in str(err)
    err = _error(_write(tmp_path, b"time,resp\n0,1\n0.1,\xff\n"))
    assert err.line == 3
    assert "UTF-8" in str(err)


def test_gzip_and_utf16_files_are_named_as_such(tmp_path: Path) -> None:
    import gzip

    text = "time,resp\n0,1\n0.1,2\n"
    err = _error(_write(tmp_path, gzip.compress(text.encode())))
    assert "gzip-compressed" in str(err) and "gunzip" in str(err)
    err = _error(_write(tmp_path, text.encode("utf-16")))
    assert "UTF-16" in str(err)


@pytest.mark.parametrize(
    ("rows", "rate", "words"),
    [
        # nanoseconds written as seconds: the grid index would overflow
        ([(1_700_000_000_000_000_000 + 40_000_000 * i, i % 5) for i in range(50)], None, ["1.7e+18 s"]),
        # milliseconds written as seconds: 40-ms samples read as 40-s rows
        ([(40 * i, i % 5) for i in range(50)], None, ["median 40 s apart", "milliseconds"]),
        # a 1e9-s jump would need a grid of 2e10 samples
        ([(0.0, 0), (1e9, 1), (1e9 + 0.04, 0)], None, ["spans", "48 h"]),
        ([(None, v) for v in (0, 1, 0)], 1e-300, ["at a sampling rate of 1e-300 Hz", "--rate", "rate=HZ"]),
        ([(None, v) for v in range(20)], 0.001, ["median 1e+03 s apart", "--rate"]),
    ],
)
def test_times_that_are_not_seconds_are_refused(
    tmp_path: Path, rows: list[tuple[float | None, int]], rate: float | None, words: list[str]
) -> None:
    if rate is None:
        text = "time,resp\n" + "".join(f"{t},{v}\n" for t, v in rows)
    else:
        text = "resp\n" + "".join(f"{v}\n" for _, v in rows)
    err = _error(_write(tmp_path, text), rate_hz=rate)
    for word in words:
        assert word in str(err), (word, str(err))


def test_quoted_numbers_are_numbers(tmp_path: Path) -> None:
    rec = read_recording(_write(tmp_path, 'time,resp\n"0","1.5"\n"0.04", "2"\n0.08,3\n'))
    assert rec.time.tolist() == [0.0, 0.04, 0.08]
    assert rec.columns["resp"].tolist() == [1.5, 2.0, 3.0]


def test_unix_time_in_seconds_is_accepted(tmp_path: Path) -> None:
    text = "time,resp\n" + "".join(f"{1_700_000_000 + 0.04 * i:.6f},{i % 5}\n" for i in range(100))
    rec = read_recording(_write(tmp_path, text))
    assert rec.time[0] == pytest.approx(1_700_000_000)


def test_an_xdf_file_is_pointed_to_replay(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, b"XDF:\x01\x02\xff\xfe", name="lab.xdf"))
    assert "an XDF file" in str(err) and "replay:" in str(err)


def test_recording_error_is_an_input_error() -> None:
    assert issubclass(RecordingError, InputError)


# ------------------------------------------------------------------------------------------ accepted quirks
def test_bom_crlf_no_final_newline_blank_lines_and_meta(tmp_path: Path) -> None:
    text = "\ufeff# participant: A\r\n# just a remark\r\n# device: belt: v2\r\ntime,resp\r\n0,1\r\n\r\n0.5,2"
    rec = read_recording(_write(tmp_path, text))
    assert rec.meta == {"participant": "A", "device": "belt: v2"}
    np.testing.assert_array_equal(rec.time, [0.0, 0.5])
    np.testing.assert_array_equal(rec.columns["resp"], [1.0, 2.0])


def test_trailing_blank_lines_semicolon_tab_and_spaces(tmp_path: Path) -> None:
    for delimiter in (",", ";", "\t"):
        text = f"time{delimiter}resp\n0{delimiter} 1.5\n0.1{delimiter}2.5 \n\n  \n\n"
        rec = read_recording(_write(tmp_path, text))
        np.testing.assert_array_equal(rec.columns["resp"], [1.5, 2.5])


def test_empty_cells_are_nan_and_equal_times_allowed(tmp_path: Path) -> None:
    text = "time,resp,rr_ms\n0,1,\n0,2,\n0.5,,812\n0.5,,\n"
    rec = read_recording(_write(tmp_path, text))
    np.testing.assert_array_equal(rec.time, [0, 0, 0.5, 0.5])
    np.testing.assert_array_equal(rec.columns["resp"], [1, 2, np.nan, np.nan])
    np.testing.assert_array_equal(rec.columns["rr_ms"], [np.nan, np.nan, 812, np.nan])
    assert rec.signal_kind() == "resp"


def test_whitespace_only_cell_is_nan_via_slow_path(tmp_path: Path) -> None:
    rec = read_recording(_write(tmp_path, "time,resp,ecg\n0,1, \n0.1,2,3\n"))
    np.testing.assert_array_equal(rec.columns["ecg"], [np.nan, 3.0])


def test_no_time_column_with_rate(tmp_path: Path) -> None:
    rec = read_recording(_write(tmp_path, "resp\n1\n2\n3\n4\n"), rate_hz=4.0)
    np.testing.assert_allclose(rec.time, [0.0, 0.25, 0.5, 0.75])
    assert rec.sampling_rate_hz() == pytest.approx(4.0)
    with pytest.raises(RecordingError, match="positive"):
        read_recording(_write(tmp_path, "resp\n1\n"), rate_hz=0.0)


def test_time_column_wins_over_rate(tmp_path: Path) -> None:
    rec = read_recording(_write(tmp_path, "time,resp\n0,1\n0.5,2\n"), rate_hz=100.0)
    np.testing.assert_array_equal(rec.time, [0.0, 0.5])


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("time,resp,rr_ms,acc_x,acc_y,acc_z", "resp"),
        ("time,rr_ms,acc_x,acc_y,acc_z", "acc"),
        ("time,rr_ms,ecg", "rr"),
        ("time,ecg,ppg", "ecg"),
    ],
)
def test_signal_kind_priority(tmp_path: Path, header: str, kind: str) -> None:
    n = header.count(",") + 1
    row = ",".join(["0"] + ["1"] * (n - 1))
    rec = read_recording(_write(tmp_path, f"{header}\n{row}\n"))
    assert rec.signal_kind() == kind


def test_recording_is_read_only(tmp_path: Path) -> None:
    rec = read_recording(_write(tmp_path, "time,resp\n0,1\n0.1,2\n"))
    with pytest.raises(ValueError):
        rec.columns["resp"][0] = 5.0
    with pytest.raises(AttributeError):
        rec.path = "x"  # type: ignore[misc]
    assert len(rec) == 2
    assert "2 rows" in repr(rec)


# ------------------------------------------------------------------------------------------ writers
def test_write_read_round_trip_and_file_mode(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(2000) / 100.0 + 1.7e9  # host clock in epoch seconds
    cols = {
        "resp": rng.standard_normal(2000),
        "rr_ms": np.where(rng.random(2000) < 0.02, rng.uniform(600, 1200, 2000), np.nan),
        "acc_x": rng.integers(-2000, 2000, 2000).astype(np.float64),
    }
    path = tmp_path / "out.csv"
    write_recording(path, t, cols, {"participant": "A", "sampling_rate_hz": "100"})
    if sys.platform != "win32":  # POSIX file modes
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    rec = read_recording(path)
    assert rec.meta == {"participant": "A", "sampling_rate_hz": "100"}
    np.testing.assert_allclose(rec.time, t, rtol=0, atol=1e-6)
    np.testing.assert_allclose(rec.columns["resp"], cols["resp"], rtol=5e-9)
    np.testing.assert_array_equal(rec.columns["acc_x"], cols["acc_x"])  # integers exact
    np.testing.assert_allclose(rec.columns["rr_ms"], cols["rr_ms"], rtol=5e-9)  # NaN positions equal
    assert list(rec.columns) == ["resp", "rr_ms", "acc_x"]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        min_size=1,
        max_size=30,
    )
)
def test_float32_values_round_trip_exactly(
    tmp_path_factory: pytest.TempPathFactory, values: list[float]
) -> None:
    path = tmp_path_factory.mktemp("rt") / "r.csv"
    v32 = np.asarray(values, dtype=np.float32)
    v = v32.astype(np.float64)
    write_recording(path, np.arange(v32.size) * 0.01, {"resp": v, "extra": v}, {})
    rec = read_recording(path)
    np.testing.assert_array_equal(rec.columns["extra"].astype(np.float32), v32)  # '%.9g' identifies float32
    # The breathing column too, but for the samples the reader read as missing, with a note, as corrupt
    # (hypothesis found one: a 12 among zeros, over 10x the column's range outside it).
    back = rec.columns["resp"]
    missing = np.isnan(back)
    assert not missing.any() or any("read as missing" in n for n in rec.notes)
    np.testing.assert_array_equal(back[~missing].astype(np.float32), v32[~missing])


def test_writer_rejects_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    with pytest.raises(ValueError, match="non-decreasing"):
        write_recording(path, [0.0, 1.0, 0.5], {"resp": [1, 2, 3]}, {})
    with pytest.raises(ValueError, match="shape"):
        write_recording(path, [0.0, 1.0], {"resp": [1, 2, 3]}, {})
    with pytest.raises(ValueError, match="column name"):
        write_recording(path, [0.0], {"re,sp": [1]}, {})
    with pytest.raises(ValueError, match="one line"):
        write_recording(path, [0.0], {"resp": [1]}, {"note": "a\nb"})
    with pytest.raises(RecordingError, match="cannot write"):
        write_recording(tmp_path / "missing" / "x.csv", [0.0], {"resp": [1]}, {})
    assert not path.exists()


def test_streaming_writer_readable_while_open_and_after_close(tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    with RecordingWriter(path, ["resp", "rr_ms"], {"participant": "B"}) as writer:
        if sys.platform != "win32":  # POSIX file modes
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        writer.append(np.arange(10) / 25.0, {"resp": np.arange(10.0)})
        writer.flush()
        mid = read_recording(path)
        assert len(mid) == 10
        assert np.isnan(mid.columns["rr_ms"]).all()
        writer.append([0.4, 0.4], {"resp": [10.0, 11.0], "rr_ms": [850.0, 860.0]})
        with pytest.raises(ValueError, match="backwards"):
            writer.append([0.1], {"resp": [1.0]})
        with pytest.raises(ValueError, match="unknown column"):
            writer.append([0.5], {"ecg": [1.0]})
    assert writer.closed
    rec = read_recording(path)
    assert len(rec) == 12
    assert rec.meta["participant"] == "B"
    np.testing.assert_array_equal(rec.columns["rr_ms"][-2:], [850.0, 860.0])


def test_streaming_writer_does_not_overwrite_by_default(tmp_path: Path) -> None:
    path = tmp_path / "exists.csv"
    path.write_text("precious", encoding="utf-8")
    with pytest.raises(RecordingError, match="already exists"):
        RecordingWriter(path, ["resp"])
    assert path.read_text(encoding="utf-8") == "precious"
    path.chmod(0o644)
    with RecordingWriter(path, ["resp"], overwrite=True) as writer:
        writer.append([0.0], {"resp": [1.0]})
    if sys.platform != "win32":  # POSIX file modes
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("tail", ["0.1", "0.12,", "0.12,0.5", "0.12,0.5,", "0.12,0.5,0.3"])
def test_killed_writer_partial_last_line(tmp_path: Path, tail: str) -> None:
    """Header time,resp,ecg: a cut row with fewer than 3 cells does not parse and is dropped."""
    path = tmp_path / "killed.csv"
    writer = RecordingWriter(path, ["resp", "ecg"])
    writer.append([0.0, 0.04, 0.08], {"resp": [1.0, 2.0, 3.0], "ecg": [0.1, 0.2, 0.3]})
    writer.close()
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(tail)  # a row cut short by a kill, no newline
    rec = read_recording(path)
    if tail.count(",") == 2:
        assert len(rec) == 4  # parses: kept (the reader cannot know it was cut); empty cell = NaN
        assert rec.columns["resp"][-1] == 0.5
        assert np.isnan(rec.columns["ecg"][-1]) == tail.endswith(",")
    else:
        assert len(rec) == 3  # does not parse: dropped
        np.testing.assert_array_equal(rec.columns["resp"], [1.0, 2.0, 3.0])


def test_bad_last_line_with_newline_is_still_an_error(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "time,resp\n0,1\n0.1\n"))
    assert err.line == 3


def test_bad_line_before_a_truncated_last_line_is_reported(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "time,resp\n0,1\n0.1,x\n0.2,3\n0.3"))
    assert err.line == 3


# ------------------------------------------------------------------------------------------ shipped samples
@pytest.mark.parametrize(
    ("name", "kind", "rate"),
    [
        ("nk_rest5_100hz.csv", "resp", 100.0),
        ("biosppy_resp_1000hz.csv", "resp", 1000.0),
        ("polar_h10_rr.csv", "rr", None),
        ("pair_sync_A.csv", "resp", 25.0),
        ("pair_follow_B.csv", "resp", 25.0),
        ("pair_strangers_A.csv", "resp", 25.0),
    ],
)
def test_shipped_samples_parse(name: str, kind: str, rate: float | None) -> None:
    rec = read_recording(sample_path(name))
    assert isinstance(rec, Recording)
    assert rec.signal_kind() == kind
    assert len(rec) > 100
    if rate is not None:
        assert rec.sampling_rate_hz() == pytest.approx(rate, rel=1e-6)


def test_generator_is_deterministic_and_matches_shipped_files(tmp_path: Path) -> None:
    spec = PAIRS[1]
    group = write_pair(spec, tmp_path)
    for index, who in enumerate("AB"):
        fresh = read_recording(tmp_path / f"{spec.name}_{who}.csv")
        shipped = read_recording(sample_path(f"{spec.name}_{who}.csv"))
        assert fresh.meta == shipped.meta
        np.testing.assert_array_equal(fresh.time, shipped.time)
        np.testing.assert_allclose(fresh.columns["resp"], shipped.columns["resp"], atol=2e-4)
        np.testing.assert_allclose(fresh.columns["true_phase"], group.phase[index], atol=1e-4)
        assert (tmp_path / f"{spec.name}_{who}.csv").read_bytes() == sample_path(
            f"{spec.name}_{who}.csv"
        ).read_bytes()


def test_the_h10_like_sample_is_regenerated_bit_for_bit(tmp_path: Path) -> None:
    path = write_h10_like(tmp_path)
    assert path.read_bytes() == sample_path(path.name).read_bytes()
    rec = read_recording(path)
    assert rec.signal_kind() == "acc"
    assert rec.sampling_rate_hz(rec.acc_rows()) == pytest.approx(50.0)
    rr = rec.columns["rr_ms"][rec.beat_rows()]
    assert rr.size > 300 and np.all(np.abs(rr * 1.024 - np.round(rr * 1.024)) < 1e-3)  # whole 1/1024 s


def test_synth_pair_round_trips_through_the_format(tmp_path: Path) -> None:
    g = simulate_pair(20.0, seed=11)
    path = tmp_path / "synth.csv"
    write_recording(path, g.t, {"resp": g.resp[0], "true_phase": g.phase[0]}, {"participant": "A"})
    rec = read_recording(path)
    np.testing.assert_allclose(rec.columns["resp"], g.resp[0], rtol=5e-9, atol=1e-12)
    np.testing.assert_allclose(rec.time, g.t, atol=1e-6)


def test_a_recording_is_written_the_same_in_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """write_recording formats a long recording a block of rows at a time (a whole day's text took several
    times its arrays' memory): the file is byte for byte the one written in one piece."""
    from breathsync.io import csvfile

    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.001, 0.02, 1000))
    cols = {"resp": rng.normal(size=1000), "rr_ms": np.where(rng.random(1000) < 0.3, np.nan, 800.0)}
    monkeypatch.setattr(csvfile, "WRITE_BLOCK_ROWS", 10**9)
    write_recording(tmp_path / "whole.csv", t, cols, {"participant": "A"})
    for rows in (1, 7, 999, 1000):
        monkeypatch.setattr(csvfile, "WRITE_BLOCK_ROWS", rows)
        write_recording(tmp_path / f"{rows}.csv", t, cols, {"participant": "A"})
        assert (tmp_path / f"{rows}.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes(), rows
