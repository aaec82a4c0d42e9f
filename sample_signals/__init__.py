"""Sample recordings shipped with breathsync (see sample_signals/README.md)."""

from __future__ import annotations

from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent


def sample_path(name: str) -> Path:
    """Path of a shipped sample recording, e.g. ``sample_path("nk_rest5_100hz.csv")``."""
    return SAMPLES_DIR / name
