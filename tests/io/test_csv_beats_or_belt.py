"""A belt in whole ADC counts is not a list of RR intervals, and a note with a number above the header is a note.

- A headerless belt at 50 Hz, 1000 + 15 sin(2 pi 0.25 t) + noise in whole counts, was told it "looks like a
  list of RR intervals" and to add the header rr_ms, also with --rate 50; under a header named with --column
  and --rate, it was warned to rename it rr_ms. Its sample-to-sample changes are quantisation and noise, so the
  old test (do the changes follow a curve?) failed on it. The values' own autocorrelation over a few lags
  tells a waveform (correlated over many samples) from heart beats (turning within a few beats).
- "Device: Polar H10" above "Sampling rate: 100 Hz" above the header was an "unknown delimiter in header":
  the search for the real header stopped at the note's number.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from conftest import reading_error

from breathsync.cli import main
from breathsync.io import read_recording
from sample_signals import sample_path

RR_HINT = "looks like a list of RR intervals"


def _belt(rate_hz: float, swing: float, noise: float, bpm: float = 15.0, seed: int = 0) -> np.ndarray:
    """120 s of a belt in whole ADC counts around 1000 (a heart's range in ms): a swing of ``swing`` counts
    peak to peak, breathing at about ``bpm`` with a wandering phase, and white noise of sd ``noise``."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, 120, 1 / rate_hz)
    phase = 2 * np.pi * bpm / 60 * t + 0.3 * np.cumsum(rng.normal(0, 1, t.size)) / np.sqrt(rate_hz)
    return np.round(1000 + swing / 2 * np.sin(phase) + rng.normal(0, noise, t.size))


def _column(name: str, column: str) -> np.ndarray:
    with sample_path(name).open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return np.array([float(row[column]) for row in rows])


def _real_belt() -> np.ndarray:
    """The real belt of sample_signals (NeuroKit2's, 100 Hz) scaled to whole counts of a 12-bit ADC."""
    resp = _column("nk_rest5_100hz.csv", "resp")
    return np.round((resp - resp.min()) / (resp.max() - resp.min()) * 4095)


def _write_values(path: Path, values: np.ndarray, header: str = "") -> Path:
    path.write_text(
        (header + "\n" if header else "") + "".join(f"{v:.0f}\n" for v in values), encoding="utf-8"
    )
    return path


BELTS = {
    # The reviewer's two: a 30-count swing (15 amplitude) with noise sd 0.8, and a 400-count swing with sd 2.
    "50 Hz, swing 30, noise 0.8": (50, 30, 0.8, 15),
    "50 Hz, swing 400, noise 2": (50, 400, 2, 15),
    "50 Hz, swing 800, noise 2": (50, 800, 2, 15),
    "10 Hz, swing 30, noise 0.8": (10, 30, 0.8, 15),
    "10 Hz, swing 400, noise 2, 30/min": (10, 400, 2, 30),
    "10 Hz, swing 10, noise 3, 20/min": (10, 10, 3, 20),
    "100 Hz, swing 20, noise 5": (100, 20, 5, 15),
    "100 Hz, swing 400, noise 2, 40/min": (100, 400, 2, 40),
    "1000 Hz, swing 10, noise 3": (1000, 10, 3, 20),
    "1000 Hz, swing 400, noise 2": (1000, 400, 2, 15),
}


@pytest.mark.parametrize("belt", BELTS, ids=list(BELTS))
def test_a_headerless_belt_in_counts_is_not_called_rr_intervals(tmp_path: Path, belt: str) -> None:
    rate, swing, noise, bpm = BELTS[belt]
    path = _write_values(tmp_path / "belt.txt", _belt(rate, swing, noise, bpm))
    for rate_hz in (None, float(rate)):
        message = reading_error(path, rate_hz)
        assert "no header row" in message and RR_HINT not in message and "rr_ms" not in message


def test_the_real_belt_in_counts_is_not_called_rr_intervals(tmp_path: Path) -> None:
    path = _write_values(tmp_path / "belt.txt", _real_belt())
    for rate_hz in (None, 100.0):
        message = reading_error(path, rate_hz)
        assert "no header row" in message and RR_HINT not in message


def test_the_reviewers_belt_through_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_values(tmp_path / "f", _belt(50, 30, 0.8))
    assert main(["analyze", str(path), "--rate", "50"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:1: no header row" in err and "RR intervals" not in err and "rr_ms" not in err


@pytest.mark.parametrize("belt", ["50 Hz, swing 30, noise 0.8", "10 Hz, swing 400, noise 2, 30/min"])
def test_a_belt_named_with_column_and_a_rate_is_not_warned_of(tmp_path: Path, belt: str) -> None:
    rate, swing, noise, bpm = BELTS[belt]
    path = _write_values(tmp_path / "b.csv", _belt(rate, swing, noise, bpm), header="Belt")
    rec = read_recording(path, float(rate), resp_column="Belt")
    assert not any("RR intervals" in n or "rr_ms" in n for n in rec.notes)


def test_the_real_belt_named_with_column_is_not_warned_of(tmp_path: Path) -> None:
    path = _write_values(tmp_path / "b.csv", _real_belt(), header="Belt")
    rec = read_recording(path, 100.0, resp_column="Belt")
    assert not any("RR intervals" in n for n in rec.notes)


# ------------------------------------------------------------------------------------------ true positives
def test_the_real_rr_list_headerless_gets_the_hint(tmp_path: Path) -> None:
    """The real Polar H10 strap's RR intervals (sample_signals, as ../shared/data), slow paced breathing of
    about 16 beats a breath: as smooth as RR intervals come."""
    rr = _column("polar_h10_rr.csv", "rr_ms")
    path = _write_values(tmp_path / "rr.txt", rr)
    message = reading_error(path)
    assert f"{path}:1: no header row" in message and RR_HINT in message
    assert "(817 to 1182" in message and "add the header line rr_ms" in message
    # A rate of 50 Hz given for it: it turns far faster than breathing sampled at 50 Hz could.
    assert RR_HINT in reading_error(path, 50.0)
    # Any stretch of 20 beats of it too.
    for start in range(0, rr.size - 20, 20):
        assert RR_HINT in reading_error(_write_values(tmp_path / "part.txt", rr[start : start + 20]))


def test_the_real_rr_list_named_with_column_and_a_rate_is_warned_of(tmp_path: Path) -> None:
    path = _write_values(tmp_path / "b.csv", _column("polar_h10_rr.csv", "rr_ms"), header="X")
    rec = read_recording(path, 50.0, resp_column="X")
    assert any("looks like RR intervals in milliseconds (817 to 1182)" in n for n in rec.notes)


# ------------------------------------------------------------------------------------------ notes above the header
def test_a_note_with_a_number_above_the_header_is_passed_over(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("Device: Polar H10\nSampling rate: 100 Hz\ntime,resp\n0,1\n0.1,2\n", encoding="utf-8")
    message = reading_error(path)
    assert f"{path}:1: the first line, 'Device: Polar H10', looks like a note, not a header" in message
    assert "line 3, 'time,resp', like the header" in message and "unknown delimiter" not in message


def test_a_delimited_note_with_numbers_is_passed_over_too(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("Polar H10 export\nSample rate;130\n\ntime;resp\n0;1\n0.1;2\n", encoding="utf-8")
    message = reading_error(path)
    assert f"{path}:1: the first line, 'Polar H10 export', looks like a note" in message
    assert "line 4, 'time;resp', like the header" in message


def test_a_data_row_below_a_header_with_another_delimiter_still_stops_the_search(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("time resp\n0 1\nx,y\n0,1\n", encoding="utf-8")
    assert "unknown delimiter in header 'time resp'" in reading_error(path)
