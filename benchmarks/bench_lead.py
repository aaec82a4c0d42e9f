"""The lead phase's "the leader changed pace": the old rule (the live rate, 60 / mean breath interval over
40 s, moved 2/min from its value at the instruction) against the breath-interval test of
:mod:`breathsync.dsp.pace`.

    python benchmarks/bench_lead.py [--explore] [--no-e2e] [--old-tree DIR]

1. False alarms: every real breathing recording (people who do not change pace on purpose: the belts of
   ../shared/data and sample_signals/, and the breathing a session derives from the Polar H10 files), run
   through the live pipeline; an instruction pretended every 20 s from 60 s on (with 60 s after it left);
   how many of them either rule says "changed pace" within 60 s. The same on simulated steady breathers.
2. Latency: simulated leaders (:class:`breathsync.sources.sim.SimSource` ``lead``, seeds 1-8) told at 70 s,
   changing pace from 90 s (12 -> 10, 8, 15/min; ramps 10-60 s): the time from the start of the change to
   the decision; misses (no decision within the ramp + 60 s) and early decisions (before the change).
3. End to end: ``breathsync run`` of a ``sim:lead`` and a ``sim:follow`` (seeds 1-8) in the lead phase, the
   follower's "following" time after the change (90 s), the session of this tree (and of ``--old-tree``,
   another checkout, e.g. ``git worktree add /tmp/wt_lead HEAD``, to compare with).

Both rules are judged at a 10-Hz grid of window ends, with only what the live pipeline had confirmed by
then, as the session does. ``--explore`` also prints the figures of other settings of the test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _common import REPO, SAMPLES, SHARED_DATA, table

from breathsync.analysis import live_breathing_waveform
from breathsync.dsp import pace
from breathsync.dsp.pipeline import PipelineOutput, Quality, RespPipeline
from breathsync.io.csvfile import read_recording
from breathsync.sources.sim import SimSource
from breathsync.synth import DIFFUSION

STEP_S = 0.1  # window ends judged every 0.1 s (the session's 10-Hz grid)
OLD_CHANGE_BPM = 2.0


@dataclass(frozen=True)
class Rule:
    name: str
    k: float = pace.K
    h: float = pace.H
    min_change_bpm: float = pace.MIN_CHANGE_BPM
    z_clip: float = pace.Z_CLIP


NEW = Rule("new")


@dataclass
class Track:
    """The live pipeline's output for one breather: grid times and rates, onsets, confirmations, and
    whether the signal was tracked through each interval."""

    t: np.ndarray
    rate: np.ndarray
    onset: np.ndarray
    detected: np.ndarray
    valid: np.ndarray


def track(t: np.ndarray, y: np.ndarray) -> Track:
    out: PipelineOutput = RespPipeline().process(t, y)
    onset = np.array([b.onset_s for b in out.breaths])
    det = np.array([b.detected_s for b in out.breaths])
    bad_t = out.t[out.quality != int(Quality.OK)]  # as the session: tracked all the way between onsets
    valid = np.ones(onset.size, dtype=bool)
    if onset.size:
        valid[0] = False
        for i in range(1, onset.size):
            j0, j1 = np.searchsorted(bad_t, [onset[i - 1], onset[i]])
            valid[i] = j1 == j0
    return Track(out.t, out.rate_bpm, onset, det, valid)


def _median_rate(tr: Track, t0: float, t1: float) -> float:
    r = tr.rate[(tr.t > t0) & (tr.t <= t1)]
    r = r[np.isfinite(r)]
    return float(np.median(r)) if r.size else np.nan


def old_decision(tr: Track, at_s: float, until_s: float) -> float | None:
    """The old rule: the median live rate over 5 s against that over the 10 s before the instruction."""
    r0 = _median_rate(tr, at_s - 10.0, at_s)
    for now in np.arange(at_s + STEP_S, until_s + 1e-9, STEP_S):
        d = _median_rate(tr, now - 5.0, now) - r0
        if abs(d) >= OLD_CHANGE_BPM:
            return float(now)
    return None


def new_decision(tr: Track, at_s: float, until_s: float, rule: Rule = NEW) -> float | None:
    """The breath-interval CUSUM, fed each interval at the window end that first knows it."""
    base = pace.baseline_before(tr.onset, tr.detected, at_s, valid=tr.valid)
    if base is None:
        return None
    det = pace.PaceChange(base, k=rule.k, h=rule.h, min_change_bpm=rule.min_change_bpm, z_clip=rule.z_clip)
    for i in range(1, tr.onset.size):
        if tr.onset[i] <= at_s or not tr.valid[i]:
            continue
        if tr.detected[i] > until_s:
            break
        det.add(float(tr.onset[i] - tr.onset[i - 1]))
        if det.changed:
            return float(np.ceil(tr.detected[i] / STEP_S - 1e-9) * STEP_S)
    return None


# ------------------------------------------------------------------------------------------ recordings
def _recordings(extra: Sequence[Path] = ()) -> list[tuple[str, Path]]:
    seen: set[str] = set()
    out = []
    for d in (SHARED_DATA, SAMPLES, None):
        for p in sorted(d.glob("*.csv")) if d is not None else extra:
            if p.name.startswith("pair_"):
                continue  # synthetic: in the simulated rows
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            out.append((p.name, p))
    return out


def recording_tracks(extra: Sequence[Path] = ()) -> list[tuple[str, Track, float]]:
    out = []
    for name, path in _recordings(extra):
        rec = read_recording(path)
        kind = rec.signal_kind()
        if kind is None:
            continue
        if kind == "ecg" and "resp" not in rec.columns:
            continue
        t, y = live_breathing_waveform(rec, kind)
        out.append((f"{name} ({kind})", track(t, y), float(rec.time[-1])))
    return out


def sim_steady_tracks() -> list[tuple[str, Track, float]]:
    out = []
    for rate in (6.0, 12.0, 18.0):
        for seed in range(1, 5):
            src = SimSource("steady", rate_bpm=rate, seed=seed)
            c = src.generate_until(600.0)
            out.append((f"sim steady {rate:g}/min s{seed}", track(c.t, c.columns["resp"]), 600.0))
    for pair in ("sync", "follow", "strangers"):
        for who in "AB":
            rec = read_recording(SAMPLES / f"pair_{pair}_{who}.csv")
            out.append((f"pair_{pair}_{who}", track(rec.time, rec.columns["resp"]), float(rec.time[-1])))
    return out


def false_alarms(
    tracks: list[tuple[str, Track, float]], rules: list[Rule], every_s: float = 20.0
) -> tuple[list[list[str]], list[int], int]:
    rows, totals, n_all = [], [0] * (1 + len(rules)), 0
    for name, tr, end in tracks:
        ats = np.arange(60.0, end - 60.0 + 1e-9, every_s)
        if ats.size == 0:
            rows.append([name, "", "0", *["-"] * (1 + len(rules))])
            continue
        hits = [sum(old_decision(tr, a, a + 60.0) is not None for a in ats)]
        hits += [sum(new_decision(tr, a, a + 60.0, r) is not None for a in ats) for r in rules]
        iv = np.diff(tr.onset)[tr.valid[1:]]
        spread = f"{np.mean(60 / iv):.1f} +- {np.std(60 / iv):.1f}"
        rows.append([name, spread, str(ats.size), *[str(h) for h in hits]])
        totals = [a + b for a, b in zip(totals, hits, strict=True)]
        n_all += int(ats.size)
    rows.append(["all", "", str(n_all), *[f"{h} ({100 * h / max(n_all, 1):.0f}%)" for h in totals]])
    return rows, totals, n_all


# ----------------------------------------------------------------------------------------------- latency
SCENARIOS = [(12.0, 10.0, 10.0), (12.0, 10.0, 40.0), (12.0, 8.0, 10.0), (12.0, 8.0, 40.0), (12.0, 8.0, 60.0),
             (12.0, 15.0, 10.0), (12.0, 15.0, 40.0), (12.0, 15.0, 60.0)]  # fmt: skip
AT_S, CHANGE_S = 70.0, 90.0


def latency(
    rules: list[Rule], seeds: range, diffusion: float = DIFFUSION
) -> tuple[list[list[str]], list[tuple[list[float], int, int]]]:
    """The latency table, and per rule (old first) over all scenarios: the latencies (a miss counted as the
    ramp + 60 s), the misses and the early decisions. ``diffusion``: the leaders' phase diffusion (the
    simulator's default: about 12% breath-to-breath interval variation at 12/min)."""
    rows = []
    pooled: list[tuple[list[float], int, int]] = [([], 0, 0) for _ in range(1 + len(rules))]
    for r0, r1, ramp in SCENARIOS:
        res: list[list[float]] = [[] for _ in range(1 + len(rules))]
        miss, early = [0] * len(res), [0] * len(res)
        for seed in seeds:
            src = SimSource(
                "lead", rate_bpm=r0, to_bpm=r1, ramp_s=ramp, after_s=CHANGE_S, seed=seed, diffusion=diffusion
            )
            c = src.generate_until(CHANGE_S + ramp + 70.0)
            tr = track(c.t, c.columns["resp"])
            until = CHANGE_S + ramp + 60.0
            ds = [old_decision(tr, AT_S, until)] + [new_decision(tr, AT_S, until, r) for r in rules]
            for i, d in enumerate(ds):
                lats, m, e = pooled[i]
                if d is None:
                    miss[i] += 1
                    pooled[i] = ([*lats, ramp + 60.0], m + 1, e)
                elif d < CHANGE_S:
                    early[i] += 1
                    pooled[i] = (lats, m, e + 1)
                else:
                    res[i].append(d - CHANGE_S)
                    pooled[i] = ([*lats, d - CHANGE_S], m, e)
        cells = []
        for i, lat in enumerate(res):
            med = f"{np.median(lat):.1f}" if lat else "-"
            rng = f"{min(lat):.0f}-{max(lat):.0f}" if lat else "-"
            cells.append(f"{med} ({rng}) m{miss[i]} e{early[i]}")
        rows.append([f"{r0:g}->{r1:g} in {ramp:g} s", *cells])
    return rows, pooled


# ------------------------------------------------------------------------------------------- end to end
def e2e(tree: Path, seeds: range) -> list[dict[str, float | None]]:
    out = []
    env = dict(os.environ, PYTHONPATH=str(tree), QT_QPA_PLATFORM="offscreen")
    for s in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            rec = Path(tmp) / "rec"
            cmd = [
                sys.executable, "-m", "breathsync", "run",
                "-p", f"A=sim:lead,rate=12,after=90,ramp=40,to=8,seed={s}",
                "-p", f"B=sim:follow,rate=12,coupling=1.5,delay=0.3,seed={s + 10}",
                "--phase", "lead", "--duration", "240", "--speed", "60", "--headless", "--quiet",
                "--record", str(rec),
            ]  # fmt: skip
            subprocess.run(cmd, env=env, cwd=tmp, check=True, capture_output=True, timeout=300)
            tr = json.loads((rec / "session.json").read_text(encoding="utf-8"))["summary"]["training"]
            out.append({k: tr.get(k) for k in ("instructed_at_s", "leader_changed_at_s", "following_at_s")})
    return out


def _t(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--explore", action="store_true", help="also other settings of the new test")
    ap.add_argument("--no-e2e", action="store_true", help="leave out the end-to-end runs")
    ap.add_argument("--old-tree", type=Path, help="a checkout of the code before, for the end-to-end runs")
    ap.add_argument(
        "extra", nargs="*", type=Path, help="more recordings for the false alarms (e.g. a held-out one)"
    )
    args = ap.parse_args()
    rules = [NEW]
    if args.explore:
        rules += [
            Rule(f"k{k:g} h{h:g} d{d:g} c{c:g}", k=k, h=h, min_change_bpm=d, z_clip=c)
            for k, h in ((0.75, 5.0), (1.0, 3.0), (1.0, 4.0), (1.0, 5.0))
            for d in (1.5, 2.0)
            for c in (3.0, 4.0, 99.0)
        ]
    names = ["old", *[r.name for r in rules]]
    print(
        f"new: CUSUM of log intervals in baseline SDs (baseline {pace.BASELINE_S:g} s, SD >= {pace.MIN_SD:g}), "
        f"z clipped to {pace.Z_CLIP:g}, K = {pace.K:g}, H = {pace.H:g}, at least {pace.MIN_N} intervals, "
        f"the last {pace.RECENT_N} >= {pace.MIN_CHANGE_BPM:g}/min from the baseline's rate\n"
    )
    print("1. False alarms: instructions every 20 s from 60 s, 'changed pace' within 60 s")
    real = recording_tracks(args.extra)
    rows, fa_real, n_real = false_alarms(real, rules)
    print(table(rows, ["recording (live)", "rate/min, breath to breath", "instructions", *names]))
    print()
    rows, fa_sim, n_sim = false_alarms(sim_steady_tracks(), rules)
    print(table(rows, ["simulated, steady", "rate/min, breath to breath", "instructions", *names]))
    print()
    print(
        f"2. Latency (s) from the start of the change (at {CHANGE_S:g} s; told at {AT_S:g} s), seeds 1-8: "
        "median (range), m: missed, e: early (before the change)"
    )
    rows, pooled = latency(rules, range(1, 9))
    print(table(rows, ["leader", *names]))
    print()
    print(
        f"The same with regular leaders (phase diffusion {DIFFUSION / 4:g} rad^2/s, a quarter of the default)"
    )
    print(table(latency(rules, range(1, 9), DIFFUSION / 4)[0], ["leader", *names]))
    print()
    print("Summary (latency over all leaders, a miss counted as the ramp + 60 s)")
    rows = [
        [
            name,
            f"{fr}/{n_real}",
            f"{fs}/{n_sim}",
            f"{np.median(lat):.1f}",
            f"{np.mean(lat):.1f}",
            str(m),
            str(e),
        ]
        for name, fr, fs, (lat, m, e) in zip(names, fa_real, fa_sim, pooled, strict=True)
    ]
    print(
        table(rows, ["rule", "false alarms, real", "simulated", "latency median", "mean", "missed", "early"])
    )
    if args.no_e2e:
        return
    print()
    print("3. End to end: breathsync run, A=sim:lead 12->8/min from 90 s over 40 s, B=sim:follow; seeds 1-8")
    trees = [("this tree", REPO)] + ([("old tree", args.old_tree)] if args.old_tree else [])
    res = {name: e2e(tree, range(1, 9)) for name, tree in trees}
    rows = []
    for i, s in enumerate(range(1, 9)):
        row = [str(s)]
        for name, _ in trees:
            r = res[name][i]
            fol = r["following_at_s"]
            row += [
                _t(r["instructed_at_s"]),
                _t(r["leader_changed_at_s"]),
                _t(fol),
                _t(None if fol is None else fol - 90.0),
            ]
        rows.append(row)
    hdr = ["seed"]
    for name, _ in trees:
        hdr += [f"{name}: told", f"{name}: changed", f"{name}: following", f"{name}: after change"]
    print(table(rows, hdr))
    for name, _ in trees:
        runs = res[name]
        lat = [f - 90.0 for r in runs if (f := r["following_at_s"]) is not None]
        told = sum(r["instructed_at_s"] is not None for r in runs)
        if lat:
            print(
                f"{name}: told in {told} of {len(runs)} runs; following in {len(lat)}, "
                f"{np.median(lat):.1f} s after the change began (median; {min(lat):.1f}-{max(lat):.1f})"
            )
        else:
            print(f"{name}: told in {told} of {len(runs)} runs; following in none")


if __name__ == "__main__":
    main()
