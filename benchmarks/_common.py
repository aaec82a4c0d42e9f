"""Helpers shared by the benchmark scripts: where the data is, loading, table printing."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLES = REPO / "sample_signals"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def data_file(name: str) -> Path | None:
    """A real recording by name: in ../shared/data when present, else its copy in sample_signals/ (which has
    no copy of the ICU recording); None, with a note on stderr, when neither has it (the figures are then
    not the README's, and the note says so)."""
    for d in (SHARED_DATA, SAMPLES):
        if (d / name).exists():
            return d / name
    print(
        f"note: {name} is in neither {SHARED_DATA} nor {SAMPLES}: left out, so pooled figures differ "
        "from the README's",
        file=sys.stderr,
    )
    return None


def default_belt_files() -> list[Path]:
    """The real belt recordings (:func:`data_file`)."""
    names = ["nk_rest5_100hz.csv", "biosppy_resp_1000hz.csv", "icu_v102s_250hz.csv"]
    return [p for p in map(data_file, names) if p is not None]


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, sep, *body])
