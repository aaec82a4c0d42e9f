"""European spreadsheet exports: ';' (or tab) between cells and ',' as the decimal point (0,25; -1,5e-3).

Such a file was refused ("has a decimal comma: ... export the file with '.' as the decimal separator") though
nothing in it is ambiguous: its cells are split at ';', so a ',' can only be a decimal comma. It is read now,
bit for bit as its twin written with '.', with a note; what stays ambiguous is refused, naming the cells:
numbers with a ',' and numbers with a '.' in one file, '1,541' alone (a thousands separator?), '1.541,5' and
'1.541.200' ('.' thousands separators). A ','-separated file refuses decimal commas as before.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from conftest import reading_error
from hypothesis import given, settings
from hypothesis import strategies as st

from breathsync.cli import main
from breathsync.errors import RecordingError
from breathsync.io import _inputs, _parse, csvfile, read_recording
from breathsync.io.csvfile import write_recording

NOTE = "numbers read with ',' as the decimal point"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _european(text: str, delimiter: str = ";") -> str:
    """A '.'- and ','-separated text as a European export writes it: ';' (or tab) between cells, ',' in
    numbers."""
    return text.replace(",", delimiter).replace(".", ",")


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype == np.float64 and a.tobytes() == b.tobytes()


def _assert_read_alike(comma: Path, point: Path) -> None:
    """The file of decimal commas reads as its twin with points: the same bits in every column."""
    a, b = read_recording(comma), read_recording(point)
    assert _same_bits(a.time, b.time)
    assert list(a.columns) == list(b.columns)
    for name in a.columns:
        assert _same_bits(a.columns[name], b.columns[name]), name
    assert a.meta == b.meta


def _outcome(path: Path) -> tuple[object, ...]:
    try:
        rec = read_recording(path)
    except RecordingError as err:
        return ("error", err.problem, err.line)
    cols = {name: col.tobytes() for name, col in rec.columns.items()}
    return ("ok", rec.meta, rec.time.tobytes(), cols, rec.notes)


# ------------------------------------------------------------------------------------------ read
ROWS = [
    "0.000,0.25,,1.5e-3",
    "0.040,-0.31,812.5,-1.5e-3",
    "0.080,,NA,2.5E+2",
    "0.120,0.1234567891,,-0.0",
    "0.160,1.541,1012.25,7.",
    "0.200,-.5,,+3.25e-07",
]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_european_export_reads_as_its_twin_with_points(tmp_path: Path, delimiter: str) -> None:
    """Negative numbers, exponents, empty and NA cells: bit for bit what the '.' file gives."""
    text = "# participant: A\ntime,resp,rr_ms,other\n" + "\n".join(ROWS) + "\n"
    point = _write(tmp_path / "point.csv", text.replace(",", delimiter))
    comma = _write(tmp_path / "comma.csv", _european(text, delimiter))
    assert "0,25" in comma.read_text(encoding="utf-8") and "-1,5e-3" in comma.read_text(encoding="utf-8")
    _assert_read_alike(comma, point)
    rec = read_recording(comma)
    assert rec.columns["resp"][1] == -0.31 and np.isnan(rec.columns["resp"][2])
    assert rec.columns["other"][2] == 250.0 and rec.columns["rr_ms"][4] == 1012.25
    assert rec.meta == {"participant": "A"}


def test_a_long_export_over_many_pieces_reads_as_its_twin(tmp_path: Path) -> None:
    """Several of the reader's pieces (READ_CHUNK_BYTES), written as write_recording writes: the fast path."""
    t = np.arange(120_000) / 1000.0
    rng = np.random.default_rng(7)
    resp = np.sin(2 * np.pi * 0.25 * t) + rng.normal(0, 0.01, t.size)
    resp[::997] = np.nan
    rr = np.full(t.size, np.nan)
    rr[::850] = 812.5
    write_recording(tmp_path / "base.csv", t, {"resp": resp, "rr_ms": rr})
    text = (tmp_path / "base.csv").read_text(encoding="utf-8")
    point = _write(tmp_path / "point.csv", text.replace(",", ";"))
    comma = _write(tmp_path / "comma.csv", _european(text))
    assert comma.stat().st_size > 2 * _inputs.READ_CHUNK_BYTES
    _assert_read_alike(comma, point)
    # All of it on the fast path: the slow one, line by line in Python, is never asked.
    with (
        mock.patch.object(_parse, "_scan_rows", side_effect=AssertionError("slow path")),
        mock.patch.object(csvfile, "_scan_rows", side_effect=AssertionError("slow path")),
    ):
        read_recording(comma)
    rec = read_recording(comma)
    assert _same_bits(rec.time, t) and sum(NOTE in n for n in rec.notes) == 1


@pytest.mark.parametrize("size", [1, 7, 23, 64])
def test_any_chunk_size_reads_a_european_export_alike(tmp_path: Path, size: int) -> None:
    rows = [f"{k * 0.24 + float(r.split(',')[0]):.3f},{r.split(',', 1)[1]}" for k in range(5) for r in ROWS]
    comma = _write(tmp_path / "comma.csv", _european("time,resp,rr_ms,other\n" + "\n".join(rows) + "\n"))
    whole = _outcome(comma)
    assert whole[0] == "ok"
    with mock.patch.object(_inputs, "READ_CHUNK_BYTES", size):
        assert _outcome(comma) == whole


def test_the_note_says_it_once_and_analyze_prints_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = np.arange(0, 120, 0.04)
    for label, shift in (("A", 0.0), ("B", 0.3)):
        write_recording(tmp_path / f"{label}.csv", t, {"resp": np.sin(2 * np.pi * 0.25 * t + shift)})
        _write(
            tmp_path / f"eu_{label}.csv", _european((tmp_path / f"{label}.csv").read_text(encoding="utf-8"))
        )
    rec = read_recording(tmp_path / "eu_A.csv")
    notes = [n for n in rec.notes if NOTE in n]
    assert len(notes) == 1 and "'0,000000', at line 2" in notes[0] and "';'-separated" in notes[0]
    assert not read_recording(tmp_path / "A.csv").notes  # a file with points gets none
    assert main(["analyze", str(tmp_path / "eu_A.csv"), str(tmp_path / "eu_B.csv")]) == 0
    out = capsys.readouterr()
    said = (out.out + out.err).splitlines()
    assert sum(NOTE in line for line in said) == 2  # once for each file
    assert any(line.startswith("warning: A: " + NOTE) for line in said)


def test_a_quoted_note_with_commas_beside_decimal_commas(tmp_path: Path) -> None:
    """A column breathsync does not read, its notes quoted with ',' and ';' in them: left out as text."""
    rows = [
        f'{i * 0.04:.2f};{(i % 9) / 10:.1f};"{"eyes closed; then open, calm" if i % 50 == 0 else ""}"'
        for i in range(3000)
    ]
    point = _write(tmp_path / "point.csv", "time;resp;note\n" + "\n".join(rows) + "\n")
    comma = _write(tmp_path / "comma.csv", point.read_text(encoding="utf-8").replace(".", ","))
    a, b = read_recording(comma), read_recording(point)
    assert _same_bits(a.time, b.time) and _same_bits(a.columns["resp"], b.columns["resp"])
    assert "note" not in a.columns and any("column 'note' holds text" in n for n in a.notes)
    assert any(NOTE in n for n in a.notes) and not any(NOTE in n for n in b.notes)


def test_a_thousands_looking_comma_reads_beside_decimal_commas(tmp_path: Path) -> None:
    """'1,541' alone may be 1541; beside '0,25' the file's comma is its decimal point."""
    rec = read_recording(_write(tmp_path / "c.csv", "time;resp\n0;1,541\n1;2,5\n2;0,25\n"))
    assert rec.columns["resp"].tolist() == [1.541, 2.5, 0.25]


def test_a_sampling_rate_with_a_decimal_comma(tmp_path: Path) -> None:
    rows = "".join(f"{i / 12.5:.2f};{np.sin(i / 5):.4f}\n" for i in range(400))
    comma = _write(tmp_path / "c.csv", "# sampling_rate_hz: 12,5\ntime;resp\n" + rows.replace(".", ","))
    rec = read_recording(comma)
    assert rec.meta["sampling_rate_hz"] == "12.5" and rec.sampling_rate_hz() == pytest.approx(12.5)
    assert not any("sampling_rate_hz" in n for n in rec.notes)  # read: no "is not a sampling rate"
    # Metadata of a file with points is as it was: "12,5" is no rate there.
    point = _write(tmp_path / "p.csv", "# sampling_rate_hz: 12,5\n# device: belt, v1.2\ntime;resp\n" + rows)
    rec = read_recording(point)
    assert rec.meta == {"sampling_rate_hz": "12,5", "device": "belt, v1.2"}
    assert any("is not a sampling rate" in n for n in rec.notes)


def test_a_short_row_of_decimal_commas_is_counted_not_called_comma_separated(tmp_path: Path) -> None:
    message = reading_error(_write(tmp_path / "c.csv", "time;resp;rr_ms\n0,00;0,25;\n0,04;0,31\n"))
    assert ":3: row has 2 cells but the header has 3" in message and "','-separated" not in message


# ------------------------------------------------------------------------------------------ refused
@pytest.mark.parametrize(
    ("text", "line", "said"),
    [
        # A comma after points: both cells named, each with its line.
        (
            "time;resp\n0.00;0.25\n0.04;0,31\n",
            3,
            "the number '0,31' has a decimal comma (this line) but '0.00' a decimal point (line 2)",
        ),
        # A point after commas.
        (
            "time;resp\n0,00;0,25\n0,04;0.31\n",
            3,
            "the number '0,00' has a decimal comma (line 2) but '0.31' a decimal point (this line)",
        ),
        (
            "time\tresp\n0.5\t1,5\n",
            2,
            "the number '1,5' has a decimal comma but '0.5' a decimal point (both on this line)",
        ),
        # '1.541' beside decimal commas: a '.' thousands separator, or a decimal point.
        (
            "time;resp\n0,0;0,5\n1,0;1.541\n",
            3,
            "the number '0,0' has a decimal comma (line 2) and '1.541' a '.' (this line), a thousands separator (1541) or a "
            "decimal point",
        ),
    ],
)
def test_decimal_commas_beside_decimal_points_are_refused_naming_both(
    tmp_path: Path, text: str, line: int, said: str
) -> None:
    message = reading_error(_write(tmp_path / "mix.csv", text))
    assert f"mix.csv:{line}: {said}" in message
    assert "one decimal separator throughout" in message


def test_a_mix_far_apart_is_named_at_its_lines(tmp_path: Path) -> None:
    """Points in the first pieces, a comma 100,000 lines on: the fast path's pieces, then the cell."""
    rows = [f"{i * 0.01:.2f};{(i % 7) / 10:.1f}" for i in range(120_000)]
    rows[100_000] = rows[100_000].replace(".", ",")
    message = reading_error(_write(tmp_path / "far.csv", "time;resp\n" + "\n".join(rows) + "\n"))
    assert (
        f"far.csv:100002: the number '{rows[100_000].split(';')[0]}' has a decimal comma (this line)"
        in message
    )
    assert "but '0.00' a decimal point (line 2)" in message
    # And the other way round: commas first, a point far below.
    rows = [r.replace(".", ",") for r in rows]
    rows[110_000] = rows[110_000].replace(",", ".")
    message = reading_error(_write(tmp_path / "far2.csv", "time;resp\n" + "\n".join(rows) + "\n"))
    assert "far2.csv:110002: the number '0,00' has a decimal comma (line 2) but" in message


@pytest.mark.parametrize(
    ("cell", "said"),
    [
        ("1.541,5", "'1.541,5' has thousands separators ('.') and a decimal comma"),
        ("1.541.200", "'1.541.200' has thousands separators ('.')"),
        ("-12.345.678,25", "'-12.345.678,25' has thousands separators ('.') and a decimal comma"),
    ],
)
def test_dot_thousands_separators_are_refused(tmp_path: Path, cell: str, said: str) -> None:
    message = reading_error(_write(tmp_path / "g.csv", f"time;resp\n0,00;0,25\n0,04;{cell}\n0,08;0,5\n"))
    assert f"g.csv:3: the number {said}" in message
    assert "export the file without digit grouping (no thousands separator)" in message


def test_thousands_looking_commas_alone_are_refused_as_before(tmp_path: Path) -> None:
    """No number of the file says whether '1,541' is 1.541 or 1541: today's words, at its line."""
    message = reading_error(_write(tmp_path / "u.csv", "time;rr_ms\n0;812\n1;1,012\n2;1,541\n3;990\n"))
    assert (
        "u.csv:3: the number '1,012' has a comma: a decimal comma (1.012) or a thousands separator (1012)"
        in message
    )


@pytest.mark.parametrize(
    ("text", "line", "said"),
    [
        (
            'time,resp\n0.00,0.5\n0.04,"0,25"\n',
            3,
            "the number '0,25' has a decimal comma: breathsync reads numbers",
        ),
        ("time,resp\n0,00;0,25\n0,04;0,31\n", 2, "the header is ','-separated but this row is ';'-separated"),
        (
            'time,resp\n0,"1,541"\n0.1,2\n',
            2,
            "the number '1,541' has a comma: a decimal comma (1.541) or a thousands separator",
        ),
    ],
)
def test_a_comma_separated_file_refuses_decimal_commas_as_before(
    tmp_path: Path, text: str, line: int, said: str
) -> None:
    message = reading_error(_write(tmp_path / "c.csv", text))
    assert f"c.csv:{line}: {said}" in message and NOTE not in message


def test_a_refused_mix_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "mix.csv", "time;resp\n0,00;0,25\n0,04;0.31\n")
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1 and f"{path}:3:" in err


# ------------------------------------------------------------------------------------------ fast = slow
CELLS = [
    "0,25",
    "-1,5e-3",
    "1,541",
    "0.5",
    "1.541",
    "7",
    "",
    "NA",
    "1.541,5",
    "1,541,200",
    "x",
    '"0,5"',
    "5,",
    '"a; 1.5"',
    '"b; 2,5"',
    " 0,75 ",
]


@st.composite
def european_files(draw: st.DrawFn) -> str:
    """';' or tab files whose numbers mix what a European export, an English one and a hand write."""
    d = draw(st.sampled_from([";", "\t"]))
    names = draw(st.sampled_from([("time", "resp"), ("time", "resp", "note"), ("resp", "rr_ms")]))
    lines = [d.join(names)]
    usual = draw(st.sampled_from(["0,25", "0.5", "7"]))
    for i in range(draw(st.integers(1, 40))):
        cells = []
        for name in names:
            if name == "time":
                cells.append(f"{i / 10:.2f}".replace(".", "," if "," in usual else "."))
            elif draw(st.floats(0, 1)) < 0.9:
                cells.append(usual)
            else:
                cells.append(draw(st.sampled_from(CELLS)))
        lines.append(d.join(cells))
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None)
@given(european_files(), st.integers(1, 30))
def test_the_fast_path_reads_as_the_slow_path(
    tmp_path_factory: pytest.TempPathFactory, text: str, size: int
) -> None:
    """The fast path (numpy's parser over pieces, its ',' made '.') gives what the slow one, cell by cell,
    gives: the same table, the same note, the same error on the same line, in pieces of any size."""
    path = tmp_path_factory.mktemp("eu") / "rec.csv"
    _write(path, text)
    whole = _outcome(path)
    with mock.patch.object(_parse, "_loadtxt", lambda *args, **kwargs: None):
        assert _outcome(path) == whole  # the slow path only
    with mock.patch.object(_inputs, "READ_CHUNK_BYTES", size):
        assert _outcome(path) == whole
