"""Hand-made snapshots for the views' tests (terminal and dashboard): the views only draw what a snapshot
holds, so a test can set exactly the fields it checks without running a session."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from breathsync.session_types import PairView, ParticipantView, Snapshot, TrainingView


def participant(label: str, **kw: Any) -> ParticipantView:
    d: dict[str, Any] = {
        "label": label,
        "source": "sim:steady",
        "source_status": "streaming",
        "status_reason": "",
        "signal": "resp",
        "receiving": True,
        "t_s": 60.0,
        "phase_rad": 1.0,
        "rate_bpm": 12.0,
        "quality": "ok",
        "breaths": 10,
        "inverted_suspected": False,
        "new_t": np.empty(0),
        "new_wave": np.empty(0),
        "new_phase": np.empty(0),
        "new_rate": np.empty(0),
        "new_quality": np.empty(0),
    }
    d.update(kw)
    return ParticipantView(**d)


def pair(a: str = "A", b: str = "B", **kw: Any) -> PairView:
    d: dict[str, Any] = {
        "a": a,
        "b": b,
        "plv": 0.9,
        "null_plv": 0.3,
        "sync_score": 0.86,
        "in_sync": True,
        "rel_phase_rad": math.radians(20.0),
        "lag_s": 0.28,
        "rate_diff_bpm": 0.1,
        "time_in_sync_s": 30.0,
        "sync_run_s": 12.0,
    }
    d.update(kw)
    return PairView(**d)


def snapshot(
    labels: tuple[str, ...] = ("A", "B"),
    *,
    pairs: tuple[PairView, ...] | None = None,
    training: TrainingView | None = None,
    t_s: float = 60.0,
    seq: int = 1,
    **kw: Any,
) -> Snapshot:
    parts = tuple(kw.pop("participants", None) or (participant(x) for x in labels))
    if pairs is None:
        pairs = (pair(labels[0], labels[1]),) if len(labels) == 2 else ()
    if training is None:
        training = TrainingView(
            phase="match", stage="matching", goal_s=60.0, progress_s=12.0, goal_reached=False
        )
    return Snapshot(
        seq=seq,
        t_s=t_s,
        participants=parts,
        pairs=pairs,
        group_r=math.nan,
        training=training,
        **kw,
    )


def lead_training(leader: str = "A", follower: str = "B", **kw: Any) -> TrainingView:
    base = TrainingView(
        phase="lead",
        stage="leading",
        goal_s=60.0,
        progress_s=60.0,
        goal_reached=True,
        leader=leader,
        follower=follower,
        rate_tracking_error_bpm=0.5,
        follower_lag_s=0.3,
    )
    return replace(base, **kw)
