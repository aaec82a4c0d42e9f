"""Time columns in the wrong unit on noisy belts: a real impedance belt (the ICU recording, 250 Hz) with its times
in whole milliseconds read as "59996 s, 0 breaths" with only a "sampled at 0.25 Hz" warning, and with a sample
counter as its time column (0, 1, 2, ...) as "74999 s, 9847 breaths" with a hint about milliseconds; a belt with
white noise or mains hum in milliseconds had a hint at most. `run` said nothing of what `analyze` warns of."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from breathsync.cli import main
from breathsync.errors import RecordingError
from breathsync.io import read_recording, write_recording
from breathsync.sources.base import SourceError
from breathsync.sources.replay import parse_replay_spec

ICU = SHARED_DATA / "icu_v102s_250hz.csv"


def _error(path: Path) -> str:
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}:1:")  # the header, where the time column is
    return message


def _icu(tmp_path: Path, name: str, seconds: float | None, time: str) -> Path:
    """The ICU belt (its first ``seconds``), its time column in whole milliseconds or numbering the rows."""
    rec = read_recording(ICU)
    keep = rec.time < seconds if seconds is not None else np.ones(len(rec), bool)
    t = np.round(rec.time[keep] * 1000.0) if time == "ms" else np.arange(np.count_nonzero(keep), dtype=float)
    path = tmp_path / name
    write_recording(path, t, {"resp": rec.columns["resp"][keep]}, time_format="%.0f")
    return path


def test_a_noisy_real_belt_in_milliseconds_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _icu(tmp_path, "icu_ms.csv", 60.0, "ms")
    message = _error(path)
    assert "steps by whole numbers (4)" in message and "the time looks like milliseconds" in message
    assert "divide the time column by 1000" in message
    assert main(["analyze", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err and "milliseconds" in err


def test_a_sample_counter_as_time_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _icu(tmp_path, "icu_rows.csv", None, "rows")
    message = _error(path)
    assert "numbers the rows (0, 1, 2, ...)" in message and "sample numbers" in message
    assert "delete (or rename) the time column and give the sampling rate (--rate HZ" in message
    # What it says works: without the column, at the belt's rate, the file is read.
    plain = tmp_path / "plain.csv"
    plain.write_text(
        "resp\n" + "".join(f"{v:.9g}\n" for v in read_recording(ICU).columns["resp"]), encoding="utf-8"
    )
    assert main(["analyze", str(plain), "--rate", "250"]) == 0
    capsys.readouterr()


def test_a_replay_refuses_them_as_analyze_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for path, said in ((_icu(tmp_path, "ms.csv", 60.0, "ms"), "the time looks like milliseconds"),
                       (_icu(tmp_path, "rows.csv", 120.0, "rows"), "numbers the rows")):  # fmt: skip
        with pytest.raises(SourceError, match=said):
            parse_replay_spec(str(path)).load()
        assert main(["run", "-p", f"A=replay:{path}", "--quiet", "--duration", "5"]) == 2
        _, err = capsys.readouterr()
        assert err.count("\n") == 1 and said in err


@pytest.mark.parametrize(("fs", "step"), [(1000.0, 1.0), (250.0, 4.0), (500.0, 2.0)])
@pytest.mark.parametrize("noise", ["white", "hum"])
def test_white_noise_or_mains_hum_does_not_hide_milliseconds(
    tmp_path: Path, fs: float, step: float, noise: str
) -> None:
    """Noise hides the slow curve from sample to sample, not over blocks of samples."""
    n = int(fs * 60)
    t = np.arange(n) / fs
    rng = np.random.default_rng(7)
    y = np.sin(2 * np.pi * 0.25 * t) + 0.05 * np.sin(2 * np.pi * 0.02 * t)
    if noise == "white":
        y += 0.3 * rng.standard_normal(n)
    else:  # 50 Hz hum over broadband noise (hum alone on a noise-free belt turns as 1 Hz breathing would)
        y += 0.1 * np.sin(2 * np.pi * 50.0 * t) + 0.1 * rng.standard_normal(n)
    path = tmp_path / "noisy.csv"
    write_recording(path, 12_000 + np.arange(n) * step, {"resp": y}, time_format="%.0f")  # not from 0
    assert "the time looks like milliseconds" in _error(path)


def test_low_rate_files_in_seconds_are_still_read(tmp_path: Path) -> None:
    """What is legitimately slow: a real belt at 2 Hz and at 1 Hz (whole seconds from 0) over 5 minutes, the
    ICU belt at 1 Hz, RR intervals on beat times in seconds, Unix-time seconds; none refused or hinted at."""
    icu = read_recording(ICU)
    files = []
    for k, name in ((125, "icu_2hz.csv"), (250, "icu_1hz.csv")):
        path = tmp_path / name
        write_recording(path, icu.time[::k], {"resp": icu.columns["resp"][::k]})
        files.append(path)
    epoch = tmp_path / "epoch.csv"
    write_recording(epoch, icu.time + 1.7e9, {"resp": icu.columns["resp"]}, time_format="%.3f")
    files += [epoch, SHARED_DATA / "polar_h10_rr.csv"]
    for path in files:
        rec = read_recording(path)
        assert not any("milliseconds" in n or "rows" in n for n in rec.notes), (path, rec.notes)


def test_run_gives_the_readers_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A time column in minutes: analyze warned, run said nothing."""
    t = np.arange(0.0, 300.0, 0.01)  # 5 minutes of a belt at 100 Hz, its time column in minutes
    path = tmp_path / "minutes.csv"
    write_recording(path, t / 60.0, {"resp": np.sin(2 * np.pi * 0.25 * t)}, time_format="%.8f")
    notes = read_recording(path).notes
    (said,) = [n for n in notes if "if the time is in minutes" in n]
    assert main(["run", "-p", f"A=replay:{path}", "--quiet", "--speed", "10", "--duration", "2"]) == 0
    out = capsys.readouterr().out
    assert f"warning: A: {said}" in out.splitlines()
