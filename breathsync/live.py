"""Wiring for the live commands (``run``, ``demo``): source specs -> sources -> session -> sinks, run on one
asyncio loop with clean shutdown on Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from breathsync.errors import InputError
from breathsync.session import ParticipantSpec, Session, SessionConfig
from breathsync.session_types import Sink, Snapshot
from breathsync.sources.base import PhaseProbe, SessionClock, Source

SOURCE_KINDS = ("replay", "sim", "lsl", "ble")


@dataclass
class ParticipantArg:
    """``LABEL=SOURCE`` from the command line."""

    label: str
    spec: str


def parse_participant(text: str) -> ParticipantArg:
    label, sep, spec = text.partition("=")
    label = label.strip()
    if not sep or not label or not spec.strip():
        raise InputError(
            f"--participant {text!r}: expected LABEL=SOURCE, e.g. A=replay:file.csv or B=sim:follow"
        )
    if not label.replace("_", "").replace("-", "").isalnum():
        raise InputError(f"--participant {text!r}: a label is letters, digits, '-' or '_'")
    return ParticipantArg(label, spec.strip())


def build_source(arg: ParticipantArg, labels: Sequence[str], probes: dict[str, PhaseProbe]) -> Source:
    """A source from its spec: ``replay:PATH[,loop][,participant=L]`` (``replay:FILE.xdf[,stream=NAME]``),
    ``sim:MODE[,key=value...]``,
    ``lsl:STREAM-NAME[,timeout=S][,channel=C]`` or ``ble:ADDRESS|NAME-PREFIX[,timeout=S]``."""
    kind, sep, rest = arg.spec.partition(":")
    if not sep or kind not in SOURCE_KINDS:
        raise InputError(
            f"participant {arg.label}: unknown source {arg.spec!r}; use one of "
            + ", ".join(f"{k}:..." for k in SOURCE_KINDS)
        )
    if kind == "ble":
        from breathsync.sources.ble import parse_ble_spec

        return parse_ble_spec(rest)
    if kind == "lsl":
        from breathsync.sources.lsl import parse_lsl_spec

        return parse_lsl_spec(rest)
    if kind == "replay":
        from breathsync.sources.xdf import is_xdf_path

        if is_xdf_path(rest.split(",")[0].strip()):
            from breathsync.sources.xdf import parse_xdf_spec

            return parse_xdf_spec(rest, arg.label)
        from breathsync.sources.replay import parse_replay_spec

        return parse_replay_spec(rest, arg.label)
    from breathsync.sources.sim import parse_sim_spec

    src = parse_sim_spec(rest)
    if getattr(src, "mode", "") == "follow":
        partner = getattr(src, "partner", None) or next((x for x in labels if x != arg.label), None)
        if partner is None or partner not in labels or partner == arg.label:
            raise InputError(f"participant {arg.label}: sim:follow needs another participant to follow")
        src.probe = probes.setdefault(partner, PhaseProbe())
    return src


def build_session(
    participants: Sequence[ParticipantArg],
    *,
    speed: float = 1.0,
    config: SessionConfig | None = None,
    invert: Sequence[str] = (),
) -> Session:
    labels = [p.label for p in participants]
    if len(set(labels)) != len(labels):
        raise InputError("participant labels must be different")
    if not 1 <= len(labels) <= 8:
        raise InputError("give 1 to 8 participants")
    for lab in invert:
        if lab not in labels:
            raise InputError(f"--invert {lab}: no such participant")
    probes: dict[str, PhaseProbe] = {}
    sources = [build_source(p, labels, probes) for p in participants]
    from breathsync.sources.replay import align_replays

    align_replays(sources)
    specs = [
        ParticipantSpec(p.label, s, p.label in invert) for p, s in zip(participants, sources, strict=True)
    ]
    try:
        return Session(specs, SessionClock(speed), config, probes=probes)
    except ValueError as e:
        raise InputError(str(e)) from None


async def _run(session: Session, duration_s: float | None) -> Snapshot:
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # Windows: no handlers
            loop.add_signal_handler(sig, session.request_stop)
            installed.append(sig)
    try:
        return await session.run(duration_s)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def run_session(session: Session, sinks: Sequence[Sink], duration_s: float | None) -> Snapshot:
    """Run a session to its end (or Ctrl-C) with these sinks; returns the final snapshot."""
    for s in sinks:
        session.add_sink(s)
    try:
        return asyncio.run(_run(session, duration_s))
    except KeyboardInterrupt:  # where signal handlers are not available: the session closed its sinks
        if session.latest is None:
            raise
        return session.latest


def summary_lines(summary: dict[str, Any]) -> list[str]:
    out = []
    for label, p in summary["participants"].items():
        rate = f"{p['mean_rate_bpm']:.1f} breaths/min" if p["mean_rate_bpm"] is not None else "rate unknown"
        out.append(f"{label}: {p['source']}, {p['breaths']} breaths, {rate} ({p['final_status']})")
    for pr in summary["pairs"]:
        plv = f"mean PLV {pr['mean_plv']:.2f}" if pr["mean_plv"] is not None else "no PLV"
        led = f", {pr['leader']} breathed first" if pr["leader"] else ""
        conv = ""
        d0, d1 = pr.get("rate_diff_first_min_bpm"), pr.get("rate_diff_last_min_bpm")
        if d0 is not None and d1 is not None:
            conv = f", rates {d0:.1f} -> {d1:.1f} /min apart (first -> last minute)"
        out.append(f"{pr['a']}-{pr['b']}: in sync {pr['time_in_sync_s']:.0f} s, {plv}{led}{conv}")
    tr = summary["training"]
    if tr["phase"] != "free":
        out.append(
            f"training: {tr['phase']} ({tr['stage']}), goal {'reached' if tr['goal_reached'] else 'not reached'}"
        )
    return out
