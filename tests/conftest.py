"""Shared test helpers: synthetic breathing with a known phase."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def breathing(
    duration_s: float = 120.0,
    fs_hz: float = 50.0,
    rate_bpm: float = 15.0,
    inhale_frac: float = 0.4,
    noise: float = 0.02,
    seed: int = 0,
    t0: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, y, true_phase): a belt-like waveform with inhale shorter than exhale.

    The phase runs 0 -> pi during the inhale (first ``inhale_frac`` of each cycle) and pi -> 2*pi during
    the exhale; y = (1 - cos(phase)) / 2, so troughs are inhale onsets.
    """
    rng = np.random.default_rng(seed)
    t = t0 + np.arange(0.0, duration_s, 1.0 / fs_hz)
    cyc = t * rate_bpm / 60.0
    frac = cyc % 1.0
    ph = np.where(
        frac < inhale_frac,
        np.pi * frac / inhale_frac,
        np.pi + np.pi * (frac - inhale_frac) / (1 - inhale_frac),
    )
    y = 0.5 * (1 - np.cos(ph)) + noise * rng.standard_normal(t.size)
    return t, y, ph


def circ_err_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.abs(np.angle(np.exp(1j * (a - b)))))


@pytest.fixture
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"{SHARED_DATA} missing: the tests need ../shared/data beside the repo"
    return SHARED_DATA
