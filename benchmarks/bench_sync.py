"""Synchrony accuracy: PLV error on synthetic pairs of known coupling, and the chance-corrected ``in_sync``
on pseudo-pairs of unrelated real recordings and on strongly coupled pairs.

    python benchmarks/bench_sync.py [--extra FILE.csv ...]

``--extra``: more belt recordings (any CSV with a ``resp`` column) for parts 2 and 3, e.g. the out-of-sample
recording that benchmarks/fetch_systole.py writes.

1. Synthetic pairs (breathsync.synth, stochastic Kuramoto at 15 / 16.8 breaths/min, diffusion 0.05,
   K = 0 ... 0.5 rad/s, 4 seeds x 600 s at 25 Hz): the true windowed PLV (30 s, from the generator's true
   phases) against the PLV measured from the waveforms by the live and by the offline path. Error =
   mean |measured - true| over windows.
2. Pseudo-pairs: every pair of different real recordings (belts, and the RR-derived breathing of the Polar
   H10 file), plus each recording against itself shifted by half its length; time columns restarted at 0
   so they overlap. None of them breathed together: ``in_sync`` should be rare (goal <= 5% of windows).
3. Strongly coupled: synthetic pairs with K = 0.5 two-way, and each real belt against a copy of itself
   delayed by 0.3 s with 5% noise (goal >= 95% of windows in sync).
4. Groups of three (the group's Kuramoto order R and its chance level, breathsync.dsp.group, as analyze
   gives them): every three of the real recordings of 2 min or more and their halves, none from one
   recording twice, and three uncoupled simulated breathers at 12-18/min (6 seeds x 600 s): none breathed
   together (R above chance should be rare); against three and five simulated breathers
   coupled all to all (K = 0.5, 4 seeds x 600 s) and each real belt with two delayed noisy copies of
   itself (0.3 and 0.6 s later, 5% noise): R above chance on most windows.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from _common import data_file, default_belt_files, table

from breathsync.analysis import _group_json, analyse_pair, analyse_waveform
from breathsync.dsp.sync import SyncConfig, phase_on_grid, windowed_plv
from breathsync.io.csvfile import read_recording
from breathsync.synth import simulate_group, simulate_pair

CFG = SyncConfig(window_s=30.0)


def synthetic_rows() -> list[list[str]]:
    rows = []
    for k in (0.0, 0.05, 0.1, 0.2, 0.5):
        e_live, e_off, true_m, live_in = [], [], [], []
        for seed in range(4):
            g = simulate_pair(600, fs_hz=25.0, k_ab=k, k_ba=k, seed=seed)
            a = analyse_waveform(g.t, g.resp[0], "A")
            b = analyse_waveform(g.t, g.resp[1], "B")
            pr = analyse_pair(a, b, CFG)
            assert pr is not None
            grid = pr.live.t
            ta = phase_on_grid(g.t, g.phase[0], grid)
            tb = phase_on_grid(g.t, g.phase[1], grid)
            fs = 1 / np.median(np.diff(grid))
            true_c, _, _ = windowed_plv(ta, tb, fs, CFG.window_s, causal=True)
            true_o, _, _ = windowed_plv(ta, tb, fs, CFG.window_s, causal=False)
            m = np.isfinite(pr.live.plv) & (grid > grid[0] + 60)
            e_live.append(np.mean(np.abs(pr.live.plv[m] - true_c[m])))
            mo = np.isfinite(pr.offline.plv) & (grid > grid[0] + 60)
            e_off.append(np.mean(np.abs(pr.offline.plv[mo] - true_o[mo])))
            true_m.append(np.mean(true_c[m]))
            live_in.append(np.mean(pr.live.in_sync[m]))
        rows.append(
            [
                f"K={k:g}",
                f"{np.mean(true_m):.2f}",
                f"{np.mean(e_live):.3f}",
                f"{np.mean(e_off):.3f}",
                f"{100 * np.mean(live_in):.0f}%",
            ]
        )
    return rows


def _participants(extra: Sequence[Path] = ()) -> list:
    """(kind, name, t, y, beats): a belt's waveform, or an RR file's beats (time, RR ms) with its offline
    waveform as t, y; the RR live path derives its own waveform causally, as a session does."""
    parts = []
    for p in [*default_belt_files(), *extra]:
        rec = read_recording(p)
        parts.append(("belt", p.name, rec.time - rec.time[0], rec.columns["resp"], None))
    rr = data_file("polar_h10_rr.csv")
    if rr is not None:
        from breathsync.dsp.rr import rr_to_resp_offline

        rec = read_recording(rr)
        bt, rrv = rec.time - rec.time[0], rec.columns["rr_ms"]
        t, y = rr_to_resp_offline(bt, rrv)
        parts.append(("rr", rr.name, t, y, (bt, rrv)))
    return parts


def _analyse(t, y, name, beats=None):
    """analyse_waveform with, for RR, the live side fed the causal RR derivation (as a session and
    ``analyze`` do), not the zero-phase one."""
    if beats is None:
        return analyse_waveform(t, y, name)
    from breathsync.dsp.rr import RRRespiration, rr_to_resp_offline

    bt, rrv = beats
    ok = np.isfinite(rrv)
    t, y = rr_to_resp_offline(bt[ok], rrv[ok])
    return analyse_waveform(t, y, name, signal="rr", live_wave=RRRespiration().process(bt[ok], rrv[ok]))


def _frac(a, b) -> tuple[float, float, int]:
    pr = analyse_pair(a, b, CFG)
    if pr is None:
        return float("nan"), float("nan"), 0
    m = np.isfinite(pr.live.plv)
    mo = np.isfinite(pr.offline.plv)
    return float(np.mean(pr.live.in_sync[m])), float(np.mean(pr.offline.in_sync[mo])), int(m.sum())


def pseudo_and_coupled_rows(extra: Sequence[Path] = ()) -> tuple[list[list[str]], list[list[str]]]:
    parts = _participants(extra)
    an = {name: _analyse(t, y, name, beats) for _, name, t, y, beats in parts}
    pseudo, w_live, w_off = [], [], []
    for (_, na, *_), (_, nb, *_) in itertools.combinations(parts, 2):
        fl, fo, n = _frac(an[na], an[nb])
        if n:
            pseudo.append([f"{na} x {nb}", f"{100 * fl:.1f}%", f"{100 * fo:.1f}%", str(n)])
            w_live.append((fl, n))
            w_off.append((fo, n))
    for _, name, t, y, beats in parts:
        half = t[-1] / 2
        if half < 2 * CFG.window_s:
            continue
        if beats is None:
            first = t < half
            a = analyse_waveform(t[first], y[first], "1st")
            b = analyse_waveform(t[~first] - half, y[~first], "2nd")
        else:  # each half its own recording of beats
            bt, rrv = beats
            first = bt < half
            a = _analyse(None, None, "1st", (bt[first], rrv[first]))
            b = _analyse(None, None, "2nd", (bt[~first] - half, rrv[~first]))
        fl, fo, n = _frac(a, b)
        if n:
            pseudo.append([f"{name} 1st x 2nd half", f"{100 * fl:.1f}%", f"{100 * fo:.1f}%", str(n)])
            w_live.append((fl, n))
            w_off.append((fo, n))
    tot = sum(n for _, n in w_live)
    pseudo.append(
        [
            "all pseudo-pairs (window-weighted)",
            f"{100 * sum(f * n for f, n in w_live) / tot:.1f}%",
            f"{100 * sum(f * n for f, n in w_off) / tot:.1f}%",
            str(tot),
        ]
    )
    coupled = []
    rng = np.random.default_rng(0)
    for kind, name, t, y, _ in parts:
        if kind != "belt" or t[-1] < 2 * CFG.window_s:
            continue
        ok = np.isfinite(y)
        y2 = np.interp(t - 0.3, t[ok], y[ok]) + 0.05 * np.nanstd(y) * rng.standard_normal(t.size)
        y2[~ok] = np.nan
        fl, fo, n = _frac(an[name], analyse_waveform(t, y2, "copy"))
        coupled.append(
            [f"{name} x itself 0.3 s later + noise", f"{100 * fl:.1f}%", f"{100 * fo:.1f}%", str(n)]
        )
    for seed in range(4):
        g = simulate_pair(600, fs_hz=25.0, k_ab=0.5, k_ba=0.5, seed=seed)
        fl, fo, n = _frac(analyse_waveform(g.t, g.resp[0], "A"), analyse_waveform(g.t, g.resp[1], "B"))
        coupled.append([f"synthetic K=0.5 seed {seed}", f"{100 * fl:.1f}%", f"{100 * fo:.1f}%", str(n)])
    return pseudo, coupled


GROUP_MIN_S = 120.0  # part 4's real pieces: long enough for the chance level to leave its cap


def _group_row(name: str, parts: list) -> tuple[list[str], float, float] | None:
    g = _group_json(parts, CFG)
    if not g["scored_s"]:
        return None
    share = g["above_chance_s"] / g["scored_s"]
    row = [name, f"{g['mean_kuramoto_r']:.2f}", f"{g['mean_null_r']:.2f}", f"{100 * share:.1f}%"]
    # How much of the time the level was its cap (0.9): there, "above chance" means R over 0.9.
    return [*row, f"{100 * g['chance_capped_frac']:.0f}%", f"{g['scored_s']:.0f}"], share, g["scored_s"]


def group_rows(extra: Sequence[Path] = ()) -> tuple[list[list[str]], list[list[str]]]:
    """Part 4: pseudo-groups of three unrelated recordings (or halves of them), and coupled groups."""
    pieces = []
    for _, name, t, y, beats in _participants(extra):
        if t[-1] < GROUP_MIN_S:
            continue  # under two minutes in common: the chance level is its cap for the first 70 s
        pieces.append((name, name, _analyse(t, y, name, beats)))
        half = t[-1] / 2
        if half < GROUP_MIN_S:
            continue
        if beats is None:
            first = t < half
            a = analyse_waveform(t[first], y[first], "1st")
            b = analyse_waveform(t[~first] - half, y[~first], "2nd")
        else:  # each half its own recording of beats, as in part 2
            bt, rrv = beats
            first = bt < half
            a = _analyse(None, None, "1st", (bt[first], rrv[first]))
            b = _analyse(None, None, "2nd", (bt[~first] - half, rrv[~first]))
        pieces.append((name, f"{name} 1st half", a))
        pieces.append((name, f"{name} 2nd half", b))
    pseudo, shares = [], []
    for trio in itertools.combinations(pieces, 3):
        if len({src for src, _, _ in trio}) < 3:
            continue  # one recording twice: its halves are one person's breathing
        got = _group_row(" x ".join(label for _, label, _ in trio), [p for _, _, p in trio])
        if got is not None:
            pseudo.append(got[0])
            shares.append(got[1:])
    for seed in range(6):  # strangers: three uncoupled simulated breathers at 12-18/min
        rates = tuple(12.0 + np.random.default_rng(seed + 100).uniform(0.0, 6.0, 3))
        g = simulate_group(600.0, fs_hz=25.0, rates_bpm=rates, seed=seed)
        rates_s = "/".join(f"{r:.1f}" for r in rates)
        parts = [analyse_waveform(g.t, g.resp[i], f"P{i}") for i in range(3)]
        got = _group_row(f"synthetic strangers at {rates_s}/min, seed {seed}", parts)
        if got is not None:
            pseudo.append(got[0])
            shares.append(got[1:])
    tot = sum(n for _, n in shares)
    if tot:
        pseudo.append(
            [
                "all pseudo-groups (time-weighted)",
                "",
                "",
                f"{100 * sum(f * n for f, n in shares) / tot:.1f}%",
                "",
                f"{tot:.0f}",
            ]
        )
    coupled = []
    for n in (3, 5):
        for seed in range(4):
            c = np.full((n, n), 0.5)
            g = simulate_group(600.0, fs_hz=25.0, rates_bpm=tuple(14.0 + np.arange(n)), coupling=c, seed=seed)
            parts = [analyse_waveform(g.t, g.resp[i], f"P{i}") for i in range(n)]
            got = _group_row(f"synthetic {n}, K=0.5 seed {seed}", parts)
            if got is not None:
                coupled.append(got[0])
    rng = np.random.default_rng(0)
    for _, name, t, y, beats in _participants(extra):
        if beats is not None or t[-1] < GROUP_MIN_S:
            continue
        ok = np.isfinite(y)
        copies = []
        for lag in (0.3, 0.6):
            y2 = np.interp(t - lag, t[ok], y[ok]) + 0.05 * np.nanstd(y) * rng.standard_normal(t.size)
            y2[~ok] = np.nan
            copies.append(analyse_waveform(t, y2, f"+{lag:g} s"))
        got = _group_row(
            f"{name} and 2 copies 0.3, 0.6 s later + noise", [analyse_waveform(t, y, name), *copies]
        )
        if got is not None:
            coupled.append(got[0])
    return pseudo, coupled


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--extra", nargs="+", type=Path, default=[], metavar="FILE", help="more belt recordings")
    args = ap.parse_args()
    print("1. PLV error on synthetic pairs (30-s windows, 4 seeds x 600 s)")
    print(
        table(
            synthetic_rows(), ["coupling", "true PLV", "live PLV error", "offline PLV error", "live in_sync"]
        )
    )
    pseudo, coupled = pseudo_and_coupled_rows(args.extra)
    head = ["pair", "in_sync live", "in_sync offline", "windows"]
    print("\n2. Pseudo-pairs of unrelated real recordings (goal <= 5%)")
    print(table(pseudo, head))
    print("\n3. Strongly coupled pairs (goal >= 95%)")
    print(table(coupled, head))
    g_pseudo, g_coupled = group_rows(args.extra)
    g_head = ["group of three", "mean R", "mean chance level", "R above chance", "level at cap", "scored s"]
    print("\n4. Pseudo-groups of three unrelated recordings: R above its chance level")
    print(table(g_pseudo, g_head))
    print("\n   Coupled groups")
    print(table(g_coupled, ["group", *g_head[1:]]))


if __name__ == "__main__":
    main()
