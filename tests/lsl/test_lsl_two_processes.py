"""Two breathsync processes over LSL (inside a loopback-only network namespace, see conftest.py): one runs a
session with ``--publish``, the other joins its participant as a partner with ``-p B=lsl:breathsync-X``."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
from conftest import posix_only, run_breathsync
from loopback import loopback_only

from breathsync.dsp.resample import GridResampler

pytestmark = posix_only("network namespaces (unshare -n)")

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_signals" / "nk_rest5_100hz.csv"


def _rows(path: Path) -> tuple[list[str], np.ndarray]:
    with open(path, newline="", encoding="utf-8") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    reader = csv.reader(lines)
    header = next(reader)
    data = np.array([[float(x) if x else np.nan for x in row] for row in reader if row])
    return header, data


def _start(folder: Path) -> float:
    info = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    return datetime.fromisoformat(info["start_utc"]).timestamp()


def test_partner_joins_from_another_process(tmp_path: Path) -> None:
    pub_dir, join_dir = tmp_path / "publisher", tmp_path / "joiner"
    publisher = subprocess.Popen(
        [sys.executable, "-m", "breathsync", "run", "--quiet", "-p", f"X=replay:{SAMPLE}", "--publish",
         "--duration", "40", "--record", str(pub_dir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        joiner = run_breathsync(
            "run", "--quiet", "-p", "A=sim:steady,rate=15,seed=3", "-p", "B=lsl:breathsync-X,timeout=20",
            "--duration", "12", "--record", str(join_dir), cwd=REPO, timeout=90,
        )  # fmt: skip
    finally:
        publisher.terminate()  # SIGTERM: the session ends cleanly and closes its recording
        pub_out, pub_err = publisher.communicate(timeout=30)
    assert joiner.returncode == 0, joiner.stdout + joiner.stderr
    assert publisher.returncode == 0, pub_out + pub_err
    assert "publishing LSL streams" in pub_err

    info = json.loads((join_dir / "session.json").read_text(encoding="utf-8"))
    b = next(p for p in info["participants"] if p["label"] == "B")
    assert b["source"]["kind"] == "lsl" and b["source"]["stream"] == "breathsync-X"

    # What B's process received is what X's process published, on the right times: X's breathing on the
    # 20-Hz grid before the live filters (breathsync.dsp.resample.GridResampler's value for each grid time,
    # from the 100-Hz samples around it), so B's pipeline filters it once.
    hdr, got = _rows(join_dir / "B.csv")
    assert hdr[:2] == ["time", "resp"]
    hdr_live, live = _rows(pub_dir / "X_live.csv")
    assert hdr_live[:2] == ["time", "wave"]
    assert got.shape[0] > 150  # about 20 Hz for most of the 12 s
    offset = _start(join_dir) - _start(pub_dir)  # publisher session time = joiner time + offset
    t_pub = got[:, 0] + offset
    k = np.clip(np.searchsorted(live[:, 0], t_pub), 1, live.shape[0] - 1)
    k = np.where(np.abs(live[k - 1, 0] - t_pub) < np.abs(live[k, 0] - t_pub), k - 1, k)
    # session.json start times are wall-clock (ms) while session time is monotonic: allow 50 ms
    assert np.max(np.abs(live[k, 0] - t_pub)) < 0.05
    hdr_raw, raw = _rows(pub_dir / "X.csv")
    col = hdr_raw.index("resp")
    grid = GridResampler(20.0, 2.0).process(raw[:, 0], raw[:, col])

    def published_at(step: int) -> np.ndarray:
        """What X published at the grid points ``step`` grid steps from those the clocks point to."""
        g = live[np.clip(k + step, 0, live.shape[0] - 1), 0]
        at = np.clip(np.searchsorted(grid.t, g - 1e-6), 0, grid.t.size - 1)
        return np.where(np.abs(grid.t[at] - g) < 1e-6, grid.y[at], np.nan)

    # The two sessions' start times are wall-clock milliseconds, taken at other moments than their monotonic
    # zeros: the mapping can land a grid step (50 ms) off. One alignment within a step must match exactly.
    matches = []
    for step in (-1, 0, 1):
        published = published_at(step)
        ok = np.isfinite(got[:, 1]) & np.isfinite(published)
        if ok.sum() > 150 and np.allclose(got[ok, 1], published[ok], rtol=1e-4, atol=1e-5):
            matches.append(step)
            assert not np.allclose(
                got[ok, 1], live[np.clip(k + step, 0, live.shape[0] - 1)][ok, 1], rtol=1e-2
            )
    assert len(matches) == 1, matches  # exactly one alignment: what was received is what was published
    # and the joiner's session took B as a partner of A
    hdr_pairs, pairs = _rows(join_dir / "pairs.csv")
    assert "A-B_plv" in hdr_pairs and pairs.shape[0] > 50
    assert "\nB: " in joiner.stdout


loopback_only(globals())  # every test above runs in a loopback-only network namespace
