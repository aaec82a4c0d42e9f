"""Regenerate the synthetic sample pairs: ``python -m sample_signals.generate [--out DIR]``.

Three pairs of breathers, 300 s at 25 Hz, made by :func:`breathsync.synth.simulate_pair` with fixed
seeds (the output is deterministic). Each participant gets one file with the columns ``time``
(s), ``resp`` (belt-like waveform, a.u., rising on inhale) and ``true_phase`` (rad, the simulated
phase: 0 = inhale onset, pi = end of inhale), and ``# key: value`` lines naming the generator, its
parameters and the seed.

- ``pair_sync``: two-way strong coupling (0.5 rad/s each way), natural rates 15.0 and 15.6
  breaths/min: locked and nearly in phase.
- ``pair_follow``: B follows A one-way (0.8 rad/s) reacting to A's phase 0.7 s ago, natural rates
  15.0 and 14.5 breaths/min: B breathes about 0.75 s after A.
- ``pair_strangers``: no coupling, 0.25 and 0.28 Hz (15.0 and 16.8 breaths/min, 0.03 Hz apart):
  the chance-level PLV that a synchrony display must not call "sync".

Numbers are written with 4 decimals (time with 2: exact at 25 Hz) to keep the folder small.

And one Polar H10-like recording, ``h10_like_nk_rest5.csv``: what breathsync records from a Polar H10
(accelerometer rows at 50 Hz and heart-beat rows, interleaved in time order), made from the real
``nk_rest5_100hz.csv``: the chest motion is :func:`breathsync.synth.chest_accelerometer` of its belt
(one posture change, seed 5), the beats are the R peaks of its ECG (:func:`breathsync.dsp.ecg.ecg_to_rr`)
with RR rounded to the strap's 1/1024 s. Real breathing and a real heart (with its respiratory sinus
arrhythmia), simulated strap.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from breathsync.dsp.ecg import ecg_to_rr
from breathsync.io import read_recording, write_recording
from breathsync.synth import BreathShape, SynthGroup, chest_accelerometer, simulate_pair
from sample_signals import SAMPLES_DIR

DURATION_S = 300.0
FS_HZ = 25.0
DIFFUSION = 0.05
# Participant A: a short pause after exhale and an occasional sigh; B: a shallower breather.
SHAPE_A = BreathShape(inhale_fraction=0.40, pause_fraction=0.05, sigh_rate_per_min=0.2)
SHAPE_B = BreathShape(inhale_fraction=0.42, amplitude=0.8, amplitude_cv=0.12)
FORMATS = {"resp": "%.4f", "true_phase": "%.4f"}
TIME_FORMAT = "%.2f"


@dataclass(frozen=True)
class PairSpec:
    """One synthetic pair: file stem, description and simulate_pair arguments."""

    name: str
    what: str
    rate_a_bpm: float
    rate_b_bpm: float
    k_ab: float
    k_ba: float
    delay_s: float
    seed: int

    def simulate(self) -> SynthGroup:
        """Run the simulation for this pair."""
        return simulate_pair(
            DURATION_S,
            fs_hz=FS_HZ,
            rate_a_bpm=self.rate_a_bpm,
            rate_b_bpm=self.rate_b_bpm,
            k_ab=self.k_ab,
            k_ba=self.k_ba,
            delay_s=self.delay_s,
            diffusion=DIFFUSION,
            shape=(SHAPE_A, SHAPE_B),
            seed=self.seed,
        )

    def call(self) -> str:
        """The simulate_pair call, as recorded in the files."""
        return (
            f"breathsync.synth.simulate_pair(duration_s={DURATION_S:g}, fs_hz={FS_HZ:g}, "
            f"rate_a_bpm={self.rate_a_bpm:g}, rate_b_bpm={self.rate_b_bpm:g}, k_ab={self.k_ab:g}, "
            f"k_ba={self.k_ba:g}, delay_s={self.delay_s:g}, diffusion={DIFFUSION:g}, "
            f"shape=(SHAPE_A, SHAPE_B), seed={self.seed})"
        )


PAIRS: tuple[PairSpec, ...] = (
    PairSpec("pair_sync", "two-way strongly coupled, in sync", 15.0, 15.6, 0.5, 0.5, 0.0, 101),
    PairSpec("pair_follow", "B follows A one-way, 0.7 s reaction lag", 15.0, 14.5, 0.0, 0.8, 0.7, 102),
    PairSpec("pair_strangers", "uncoupled, 0.03 Hz apart", 15.0, 16.8, 0.0, 0.0, 0.0, 103),
)


def write_pair(spec: PairSpec, out_dir: Path) -> SynthGroup:
    """Simulate ``spec`` and write ``<name>_A.csv`` and ``<name>_B.csv`` into ``out_dir``."""
    group = spec.simulate()
    shapes = {"A": SHAPE_A, "B": SHAPE_B}
    for index, who in enumerate("AB"):
        meta = {
            "participant": who,
            "pair": f"{spec.name}: {spec.what}",
            "source": f"{spec.call()}, participant {who} (index {index})",
            "shape": repr(shapes[who]),
            "generator": "python -m sample_signals.generate",
            "sampling_rate_hz": f"{FS_HZ:g}",
            "unit": "resp: arbitrary units, rising on inhale; true_phase: rad, 0 = inhale onset",
            "true_plv_60s": f"{group.plv(window_s=60.0):.2f}",
        }
        write_recording(
            out_dir / f"{spec.name}_{who}.csv",
            group.t,
            {"resp": group.resp[index], "true_phase": group.phase[index]},
            meta,
            time_format=TIME_FORMAT,
            value_format=FORMATS,
        )
    return group


H10_NAME = "h10_like_nk_rest5.csv"
H10_SOURCE = "nk_rest5_100hz.csv"
H10_ACC_HZ = 50.0
H10_SEED = 5
RR_UNIT_S = 1.0 / 1024.0
"""The Heart Rate Measurement's RR resolution (Bluetooth Heart Rate Service: RR in 1/1024 s)."""


def write_h10_like(out_dir: Path) -> Path:
    """Write :data:`H10_NAME` into ``out_dir`` (module docstring) and return its path."""
    src = read_recording(SAMPLES_DIR / H10_SOURCE)
    t_acc, xyz, _ = chest_accelerometer(
        src.time, src.columns["resp"], seed=H10_SEED, fs_hz=H10_ACC_HZ, posture_changes=1
    )
    beat_t, rr_ms = ecg_to_rr(src.time, src.columns["ecg"])
    rr_ms = np.round(rr_ms / 1000.0 / RR_UNIT_S) * RR_UNIT_S * 1000.0
    # Interleaved as breathsync's recorder writes a Polar H10: a row per sample and a row per beat, NaN
    # (an empty cell) in the other stream's columns.
    t = np.concatenate([t_acc, beat_t])
    order = np.argsort(t, kind="stable")
    none_b, none_a = np.full(beat_t.size, np.nan), np.full(t_acc.size, np.nan)
    cols = {
        c: np.concatenate([np.round(xyz[:, k]) + 0.0, none_b])[order]
        for k, c in enumerate(("acc_x", "acc_y", "acc_z"))
    }
    cols["rr_ms"] = np.concatenate([none_a, rr_ms])[order]
    meta = {
        "participant": "A",
        "device": "Polar H10 (simulated strap)",
        "source": (
            f"{H10_SOURCE}: accelerometer = breathsync.synth.chest_accelerometer(its belt, seed={H10_SEED}, "
            f"fs_hz={H10_ACC_HZ:g}, posture_changes=1); beats = breathsync.dsp.ecg.ecg_to_rr(its ECG), "
            "RR rounded to 1/1024 s"
        ),
        "generator": "python -m sample_signals.generate",
        "unit": "acc_x/acc_y/acc_z: milli-g; rr_ms: milliseconds",
    }
    path = out_dir / H10_NAME
    write_recording(
        path,
        t[order],
        cols,
        meta,
        time_format="%.3f",
        value_format={"acc_x": "%.0f", "acc_y": "%.0f", "acc_z": "%.0f", "rr_ms": "%.3f"},
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Write every pair and print a summary table."""
    parser = argparse.ArgumentParser(prog="python -m sample_signals.generate", description=__doc__)
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR, help="output folder (default: here)")
    args = parser.parse_args(argv)
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"{'pair':16s} {'rate A':>7s} {'rate B':>7s} {'PLV 60s':>8s} {'B after A (s)':>14s}")
    for spec in PAIRS:
        group = write_pair(spec, out_dir)
        rates = [60.0 / float(np.mean(np.diff(o))) for o in group.onsets]
        print(
            f"{spec.name:16s} {rates[0]:7.2f} {rates[1]:7.2f} {group.plv():8.2f} "
            f"{group.mean_lag_s(0, 1):14.2f}"
        )
    print(f"wrote {write_h10_like(out_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
