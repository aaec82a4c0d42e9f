"""Source specs with double-quoted values: a lab file whose column names hold a comma can be replayed.

The audit's case: header ``"time","Resp, Belt A","Resp, Belt B"``; ``analyze lab.csv --column "Resp, Belt
A"`` worked, but ``run -p 'A=replay:lab.csv,column=Resp, Belt A'`` said ``unknown option 'Belt A'`` and
``column="Resp, Belt A"`` failed the same way (split_spec, and replay's own splitting, cut at every comma).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest
from conftest import breathing, run_main

from breathsync.errors import InputError
from breathsync.sources.base import split_spec
from breathsync.sources.ble import parse_ble_spec
from breathsync.sources.replay import parse_replay_spec

MISSING = "replay needs a file"


def _two_belts(path: Path) -> Path:
    t, a, _ = breathing(duration_s=120.0, fs_hz=25.0, rate_bpm=12.0, seed=1)
    _, b, _ = breathing(duration_s=120.0, fs_hz=25.0, rate_bpm=12.0, seed=2, t0=-0.5)
    lines = ['"time","Resp, Belt A","Resp, Belt B"']
    lines += [f"{x:.2f},{y:.4f},{z:.4f}" for x, y, z in zip(t, a, b, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "head", "options"),
    [
        ('lab.csv,column="Resp, Belt A"', "lab.csv", [("column", "=", "Resp, Belt A")]),
        ('"lab, day 2.csv" , loop', "lab, day 2.csv", [("loop", "", "")]),
        ('a.csv, column = " x " ,rate=5', "a.csv", [("column", "=", " x "), ("rate", "=", "5")]),
        ('a.csv,column="say ""hi"""', "a.csv", [("column", "=", 'say "hi"')]),
        ('a.csv,column="a=b"', "a.csv", [("column", "=", "a=b")]),
        ("x=1.csv,loop", "x=1.csv", [("loop", "", "")]),
        ('"Polar H10 1A2B",timeout=5', "Polar H10 1A2B", [("timeout", "=", "5")]),
        # Every spec without quotes splits as before.
        ("C0:FF:EE:00:00:01", "C0:FF:EE:00:00:01", []),
        (" a.csv , loop ,participant= B ", "a.csv", [("loop", "", ""), ("participant", "=", "B")]),
    ],
)
def test_split_spec(text: str, head: str, options: list[tuple[str, str, str]]) -> None:
    assert split_spec(text, MISSING) == (head, options)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('lab.csv,column="Resp, Belt A', r"replay: unterminated quote in .*close it with a second \""),
        ('"lab.csv,loop', "unterminated quote"),
        ("a.csv,,loop", r"replay: an empty option in 'a.csv,,loop' \(two commas in a row"),
        ("a.csv,loop,", "an empty option"),
        ("a.csv,rate=5,rate=6", r"replay: rate= is given twice in 'a.csv,rate=5,rate=6': give it once"),
        ("a.csv,loop,loop", "replay: loop is given twice"),
        (",loop", "^replay needs a file$"),
        ('"",loop', "^replay needs a file$"),
    ],
)
def test_split_spec_errors_are_one_clear_line(text: str, says: str) -> None:
    with pytest.raises(InputError, match=says) as e:
        split_spec(text, MISSING)
    assert "\n" not in str(e.value)


def test_replay_a_column_whose_name_holds_a_comma(tmp_path: Path) -> None:
    path = _two_belts(tmp_path / "lab.csv")
    src = parse_replay_spec(f'{path},column="Resp, Belt A"')
    assert src.column == "Resp, Belt A"
    rec = src.load()
    assert rec.signal_kind() == "resp" and np.isfinite(rec.columns["resp"]).all()
    np.testing.assert_array_equal(rec.columns["resp"], rec.columns["Resp, Belt A"])
    # The path in quotes too, with the options after it.
    assert parse_replay_spec(f'"{path}",column="Resp, Belt B",loop').loop


def test_unquoted_comma_says_to_quote(tmp_path: Path) -> None:
    path = _two_belts(tmp_path / "lab.csv")
    with pytest.raises(
        InputError, match=r"""unknown option 'Belt A'.* double quotes, .*single quotes: """
    ) as e:
        parse_replay_spec(f"{path},column=Resp, Belt A")
    # The advice works when pasted into a shell in place of the option (the double quotes alone did not: a
    # shell strips them, and the same error came back).
    advice = str(e.value).split("single quotes: ", 1)[1].split(")", 1)[0]
    assert advice == """'column="Resp, Belt A"'"""
    (arg,) = shlex.split(f"A=replay:{path},{advice}")
    src = parse_replay_spec(arg.split("=", 1)[1].removeprefix("replay:"))
    assert src.column == "Resp, Belt A"


def test_a_quoted_path_with_commas(tmp_path: Path) -> None:
    path = _two_belts(tmp_path / "lab, day 2.csv")
    src = parse_replay_spec(f'"{path}",column="Resp, Belt A",loop')
    assert src.path == str(path) and src.loop and src.column == "Resp, Belt A"
    assert parse_replay_spec(str(path)).path == str(path)  # unquoted and without options, as before


def test_run_replays_two_belts_of_one_file(tmp_path: Path) -> None:
    path = _two_belts(tmp_path / "lab.csv")
    out = tmp_path / "rec"
    r = run_main(
        "run",
        "-p",
        f'A=replay:{path},column="Resp, Belt A"',
        "-p",
        f'B=replay:{path},column="Resp, Belt B"',
        "--duration",
        "20",
        "--speed",
        "60",
        "--quiet",
        "--record",
        str(out),
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert (out / "A.csv").exists() and (out / "B.csv").exists()
    r = run_main("run", "-p", f'A=replay:{path},column="Resp, Belt A', "--quiet", timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "unterminated quote" in r.stderr


def test_ble_and_xdf_option_messages(tmp_path: Path) -> None:
    assert parse_ble_spec('"Polar H10 1A2B",timeout=5').target == "Polar H10 1A2B"
    with pytest.raises(InputError, match="ble: timeout= needs a number of seconds"):
        parse_ble_spec("Polar H10,timeout=")
    with pytest.raises(InputError, match="ble: timeout= is given twice"):
        parse_ble_spec("Polar H10,timeout=5,timeout=6")
    from breathsync.sources.xdf import parse_xdf_spec

    with pytest.raises(InputError, match="replay: stream= needs a stream name"):
        parse_xdf_spec(f"{tmp_path / 'x.xdf'},stream=")
    with pytest.raises(InputError, match="replay: channel= is given twice"):
        parse_xdf_spec(f"{tmp_path / 'x.xdf'},channel=0,channel=1")
