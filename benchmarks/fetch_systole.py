"""Fetch an unseen real belt recording for an out-of-sample accuracy check, as a CSV in the project's format.

    python benchmarks/fetch_systole.py [--out FILE.csv]
    python benchmarks/bench_accuracy.py benchmarks/.data/systole_task1_resp_1000hz.csv
    python benchmarks/bench_sync.py --extra benchmarks/.data/systole_task1_resp_1000hz.csv
    python benchmarks/bench_derived.py benchmarks/.data/systole_task1_resp_1000hz.csv

The live pipeline's settings were chosen on the recordings in ../shared/data, so bench_accuracy's figures
on them are in-sample. This recording was not used for any choice. It is the respiration channel of the
"Task1" dataset (with its ECG, recorded at the same time: an unseen check of the breathing derived from
the heart beats too) that the Systole package (Legrand et al., https://github.com/LegrandNico/systole) ships in
its source distribution: a young healthy participant during an emotional task (valence rating of neutral
and disgusting images), 1000 Hz, about 25 min, described in Legrand et al. (2020), Sci. Rep. 10,
doi:10.1038/s41598-020-71858-2. It has movement artefacts, sighs and irregular stretches: it is not a
clean resting belt.

How it is fetched: ``pip download`` of systole's sdist from the package index (the only network this
project's machines have), then the two arrays are read from the archive with ``numpy.load`` (no pickle)
and written unchanged, with a time column, by breathsync's own CSV writer. Systole is GPL-3.0: the data is
used here as input, nothing of it is copied into this repository (benchmarks/.data/ is not tracked).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from breathsync.io.csvfile import write_recording  # noqa: E402

PACKAGE = "systole==0.3.1"
MEMBERS = {  # column: member of the sdist
    "resp": "systole-0.3.1/src/systole/datasets/Task1_Respiration.npy",
    "ecg": "systole-0.3.1/src/systole/datasets/Task1_ECG.npy",
}
FS_HZ = 1000.0  # the dataset's sampling frequency (systole.datasets.import_dataset1's documentation)
DEFAULT_OUT = REPO / "benchmarks" / ".data" / "systole_task1_resp_1000hz.csv"


def fetch(out: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            PACKAGE,
            "-d",
            tmp,
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        (sdist,) = Path(tmp).glob("systole-*.tar.gz")
        cols = {}
        with tarfile.open(sdist) as tar:
            for col, member in MEMBERS.items():
                fh = tar.extractfile(member)
                if fh is None:
                    raise SystemExit(f"{sdist.name}: no {member}")
                cols[col] = np.load(io.BytesIO(fh.read()), allow_pickle=False).astype(np.float64)
    n = min(c.size for c in cols.values())
    if any(c.size != n for c in cols.values()):
        raise SystemExit(f"{sdist.name}: the channels differ in length ({[c.size for c in cols.values()]})")
    out.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(n) / FS_HZ
    meta = {
        "participant": "systole-task1",
        "source": f"{PACKAGE} sdist, datasets/Task1_Respiration.npy and Task1_ECG.npy (GPL-3.0; Legrand et al. "
        "2020, doi:10.1038/s41598-020-71858-2)",
        "sampling_rate_hz": f"{FS_HZ:g}",
        "unit": "resp: as recorded; ecg: as recorded (the dataset does not say)",
    }
    if out.exists():
        out.unlink()
    write_recording(out, t, cols, meta)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"CSV to write (default {DEFAULT_OUT})")
    args = ap.parse_args()
    path = fetch(args.out)
    print(path)


if __name__ == "__main__":
    main()
