"""analyze says when a belt is clipped (held at a limit of its sensor: strapped too tight, a gain too high), with
what to do, instead of calling it flat ("sensor off"), and still finds its breaths."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from conftest import breathing

from breathsync.analysis import CLIP_WARN_FRAC, analyse_files, percent_text
from breathsync.cli import main
from breathsync.io.csvfile import read_recording, write_recording

CLIPPED = re.compile(
    r"A: the signal is clipped \(held at (?P<held>.+?)\) for (?P<pct>\d+)% of the (?P<dur>\d+:\d\d): the belt is "
    r"too tight or the sensor's range too small \(loosen the belt, lower the gain or check the sensor's range\); "
    r"breaths are still found, but the phase near the (?P<where>.+) of each breath is less exact"
)


def _analyse(path: Path, **kw: bool) -> tuple[list[str], list[str], dict[str, object]]:
    """(the clipping warnings, the flat warnings, the participant's JSON)."""
    res = analyse_files([str(path)], **kw)  # type: ignore[arg-type]
    clip = [w for w in res["warnings"] if "clipped" in w]
    flat = [w for w in res["warnings"] if "flat (exactly constant)" in w]
    return clip, flat, res["participants"][0]


def _written(
    tmp_path: Path, name: str, t: np.ndarray, y: np.ndarray, meta: dict[str, str] | None = None
) -> Path:
    path = tmp_path / name
    write_recording(path, t, {"resp": y}, meta)
    return path


def _level(path: Path, side: str) -> float:
    """The clipped level as read back from the file (written with 9 significant digits)."""
    y = read_recording(path).columns["resp"]
    return float(np.max(y) if side == "top" else np.min(y))


def test_a_clipped_belt_is_said_clipped_with_its_level_and_share_not_flat(tmp_path: Path) -> None:
    t, y, _ = breathing(300.0, 25.0, 6.0, seed=2)  # slow: each clipped top is held 3 s, past flat_s
    unclipped = _analyse(_written(tmp_path, "fine.csv", t, y))
    assert unclipped[0] == [] and unclipped[1] == []
    top = np.percentile(y, 50)
    path = _written(tmp_path, "tight.csv", t, np.minimum(y, top))
    clip, flat, part = _analyse(path)
    assert flat == []  # it was "flat (exactly constant) for 2:27 of the 4:59: sensor off or disconnected?"
    (w,) = clip
    m = CLIPPED.fullmatch(w)
    assert m, w
    assert m["held"] == f"its maximum {_level(path, 'top'):.6g}"
    assert m["where"] == "top"
    assert m["dur"] == "4:59"
    assert 40 <= int(m["pct"]) <= 52, w  # held above its median: about half of the time
    # Its breaths are still found, as on the unclipped belt (one every 10 s).
    assert abs(len(part["breaths_offline"]) - len(unclipped[2]["breaths_offline"])) <= 1  # type: ignore[arg-type]
    assert len(part["breaths_offline"]) >= 28  # type: ignore[arg-type]


def test_clipped_at_both_ends_and_a_flat_stretch_are_told_apart(tmp_path: Path) -> None:
    t, y, _ = breathing(300.0, 25.0, 14.0, seed=3)
    y = np.clip(y, np.percentile(y, 20), np.percentile(y, 85))
    y[(t >= 100.0) & (t < 160.0)] = 0.25  # and a belt that fell off for a minute: a constant reading
    path = _written(tmp_path, "both.csv", t, y)
    clip, flat, _ = _analyse(path)
    (f,) = flat
    assert f.startswith("A: the signal is flat (exactly constant) for 1:00 of the 4:59"), f
    (w,) = clip
    m = CLIPPED.fullmatch(w)
    assert m, w
    assert (
        m["held"] == f"its maximum {_level(path, 'top'):.6g} and at its minimum {_level(path, 'bottom'):.6g}"
    )
    assert m["where"] == "top and the bottom"
    # 15% + 20% of the four minutes of breathing: of the 4:59, about 28%.
    assert 20 <= int(m["pct"]) <= 30, w


def test_an_inverted_belt_is_said_clipped_as_its_file_reads(tmp_path: Path) -> None:
    """Worn so that inhaling makes the reading fall (``# invert: true``): the belt's limit is still its file's
    maximum, whichever way the breathing is turned."""
    t, y, _ = breathing(300.0, 25.0, 12.0, seed=4)
    y = -np.minimum(y, np.percentile(y, 60))  # clipped at the inhale, read falling
    path = _written(tmp_path, "inv.csv", t, y, {"invert": "true"})
    clip, flat, _ = _analyse(path)
    assert flat == []
    (w,) = clip
    m = CLIPPED.fullmatch(w)
    assert m, w
    assert m["held"] == f"its minimum {_level(path, 'bottom'):.6g}"
    assert m["where"] == "bottom"


def test_a_real_belt_clipped_is_warned_of_and_a_sigh_now_and_then_is_not(
    shared_data: Path, tmp_path: Path
) -> None:
    rec = read_recording(shared_data / "nk_rest5_100hz.csv")
    t, y = rec.time, rec.columns["resp"]
    path = _written(tmp_path, "nk80.csv", t, np.minimum(y, np.percentile(y, 80)))
    clip, flat, _ = _analyse(path)
    assert flat == []
    (w,) = clip
    m = CLIPPED.fullmatch(w)
    assert m, w
    assert 12 <= int(m["pct"]) <= 20, w  # the grid's held runs of the 20% above the level
    # Only the deepest breaths' tops (above the 99.5th percentile): under the warning's 2%.
    path = _written(tmp_path, "nk995.csv", t, np.minimum(y, np.percentile(y, 99.5)))
    assert _analyse(path)[:2] == ([], [])


# The analyze JSON gives every participant its clipped share ("clipped_frac", the session summary's name): for a
# belt, the share of the recording held at the sensor's limit, 0.0 when nothing was; null for breathing derived
# from an accelerometer or heart beats, whose waveform breathsync computes (it never holds a value).


def _json_parts(tmp_path: Path, *paths: Path) -> list[dict[str, object]]:
    """The participants of ``analyze PATHS --json``, as the file reads back."""
    out = tmp_path / "out.json"
    assert main(["analyze", *map(str, paths), "--json", str(out)]) == 0
    parts: list[dict[str, object]] = json.loads(out.read_text(encoding="utf-8"))["participants"]
    return parts


def test_the_json_gives_a_clipped_belt_its_share_and_an_unclipped_one_zero(tmp_path: Path) -> None:
    t, y, _ = breathing(300.0, 25.0, 6.0, seed=2)
    fine = _written(tmp_path, "fine.csv", t, y)
    tight = _written(tmp_path, "tight.csv", t, np.minimum(y, np.percentile(y, 50)))
    (part_fine,) = _json_parts(tmp_path, fine)
    assert part_fine["clipped_frac"] == 0.0 and isinstance(part_fine["clipped_frac"], float)
    (w,), _, _ = _analyse(tight)
    m = CLIPPED.fullmatch(w)
    assert m, w
    (part,) = _json_parts(tmp_path, tight)
    frac = part["clipped_frac"]
    assert isinstance(frac, float) and 0.40 <= frac <= 0.52  # held above its median: about half of the time
    assert percent_text(frac) == f"{m['pct']}%"  # the warning's share
    assert frac == round(frac, 4)  # to 4 decimals, as the session's


def test_the_share_counts_both_limits_and_not_a_flat_stretch(tmp_path: Path) -> None:
    t, y, _ = breathing(300.0, 25.0, 14.0, seed=3)
    clipped = np.clip(y, np.percentile(y, 20), np.percentile(y, 85))
    clipped[(t >= 100.0) & (t < 160.0)] = 0.25  # a belt that fell off for a minute: flat, not clipped
    (w,), _, part = _analyse(_written(tmp_path, "both.csv", t, clipped))
    m = CLIPPED.fullmatch(w)
    assert m, w
    frac = part["clipped_frac"]
    assert isinstance(frac, float) and 0.20 <= frac <= 0.30  # 15% + 20% of the four minutes of breathing
    assert percent_text(frac) == f"{m['pct']}%"
    off = y.copy()
    off[(t >= 100.0) & (t < 160.0)] = 0.25
    clip, flat, part = _analyse(_written(tmp_path, "off.csv", t, off))
    assert clip == [] and len(flat) == 1 and part["clipped_frac"] == 0.0


def test_a_share_under_the_warning_is_given_too(tmp_path: Path) -> None:
    """The warning waits for 2%; the JSON gives what there is."""
    t, y, _ = breathing(300.0, 25.0, 14.0, seed=3)
    clip, _, part = _analyse(_written(tmp_path, "deep.csv", t, np.minimum(y, np.percentile(y, 95))))
    assert clip == []
    frac = part["clipped_frac"]
    assert isinstance(frac, float) and 0.0 < frac < CLIP_WARN_FRAC


def test_an_inverted_belt_has_the_share_of_its_file(tmp_path: Path) -> None:
    t, y, _ = breathing(300.0, 25.0, 12.0, seed=4)
    y = -np.minimum(y, np.percentile(y, 60))
    inverted = _analyse(_written(tmp_path, "inv.csv", t, y, {"invert": "true"}))[2]["clipped_frac"]
    as_is = _analyse(_written(tmp_path, "as_is.csv", t, y))[2]["clipped_frac"]
    assert isinstance(inverted, float) and inverted > CLIP_WARN_FRAC
    assert inverted == as_is
    assert _analyse(_written(tmp_path, "inv.csv", t, y), invert=True)[2]["clipped_frac"] == as_is


def test_breathing_derived_from_heart_beats_or_an_accelerometer_has_no_share() -> None:
    """Not measured (null), not 0.0: the waveform is breathsync's own computation, which never holds a value at
    a limit, whatever the strap's sensor did."""
    from sample_signals import sample_path

    for name, signal in (("polar_h10_rr.csv", "rr"), ("h10_like_nk_rest5.csv", "acc")):
        res = analyse_files([str(sample_path(name))])
        (part,) = res["participants"]
        assert part["signal"] == signal and part["clipped_frac"] is None
        assert "clipped_frac" in json.loads(json.dumps(res))["participants"][0]  # written as null
