"""breathsync's own output files that are not recordings (part of :mod:`breathsync.io.csvfile`): a recorded
session's ``<label>_live.csv`` (what the live view showed), ``pairs.csv`` (the live pair synchrony) and
``events.csv`` (the session's events), given where a recording is read (``analyze DIR/*.csv``). They are named
as what they are, with what to give instead (:func:`own_output_problem`), as a session's ``session.json`` is.
Imports :mod:`breathsync.io._recording` only.

The recorder (``breathsync/recorder.py``, a higher layer this one may not import) writes them; what is
recognised here is checked against what it writes by ``tests/io/test_csv_own_outputs.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

from breathsync.io._recording import _quote

#: The start of the ``# holds:`` line of a live file and of pairs.csv (the recorder's "holds" metadata).
LIVE_HOLDS = "live pipeline output"
PAIRS_HOLDS = "live pair synchrony"
#: Their headers, for a copy without its '#' lines: the recorder's LIVE_COLUMNS and PAIR_FIELDS after "time",
#: and events.csv's (which has no '#' lines).
LIVE_HEADER = ("time", "wave", "phase_rad", "rate_bpm", "quality")
PAIR_FIELDS = ("plv", "null_plv", "sync_score", "in_sync", "rel_phase_rad", "lag_s", "window_end_s")
EVENTS_HEADER = ("time", "kind", "participants", "text")
#: The session folder's description of its files (session_folder.SESSION_FILE).
SESSION_FILE = "session.json"
#: Raw recordings named in a message, at most.
SHOWN_FILES = 4


def _kind(meta: Mapping[str, str], names: Sequence[str]) -> str | None:
    """ "live", "pairs", "events" or None, by the ``# holds:`` line or, without one, by the header."""
    holds = meta.get("holds", "").strip()
    lower = tuple(n.strip().lower() for n in names)
    if holds.startswith(LIVE_HOLDS) or lower == LIVE_HEADER:
        return "live"
    pair_columns = lower[1:]
    if holds.startswith(PAIRS_HOLDS) or (
        lower[:1] == ("time",)
        and pair_columns
        and len(pair_columns) % len(PAIR_FIELDS) == 0
        and all("-" in c and c.endswith(tuple("_" + f for f in PAIR_FIELDS)) for c in pair_columns)
    ):
        return "pairs"
    if lower == EVENTS_HEADER:
        return "events"
    return None


def _raw_files(folder: str) -> dict[str, str] | None:
    """The session folder's raw recordings by participant label, from its session.json ("files": kind "raw"),
    in session order; None without a readable session.json."""
    try:
        with open(os.path.join(folder, SESSION_FILE), encoding="utf-8") as fh:
            files = json.load(fh).get("files")
    except (OSError, ValueError, AttributeError):
        return None
    raw: dict[str, str] = {}
    if isinstance(files, dict):
        for file, what in files.items():
            # A plain file name (inside the folder), a raw recording's, with its participant's label.
            if (
                os.path.basename(file) == file
                and isinstance(what, dict)
                and what.get("kind") == "raw"
                and isinstance(what.get("participant"), str)
            ):
                raw[what["participant"]] = file
    return raw


def own_output_problem(path: str, meta: Mapping[str, str], names: Sequence[str]) -> str | None:
    """What a breathsync output that is no recording is, and what to give instead, for a message; None for
    any other file."""
    kind = _kind(meta, names)
    if kind is None:
        return None
    folder = os.path.dirname(path) or "."
    raw = _raw_files(folder)
    label = meta.get("participant", "").strip()
    if kind == "live":
        who = f" of participant {_quote(label)}" if label else ""
        what = (
            f"breathsync's live output{who} (what the live view showed: wave, phase_rad, rate_bpm, quality)"
        )
        stem = os.path.basename(path)
        own = (raw or {}).get(label)
        if own is None and stem.lower().endswith("_live.csv"):
            guess = stem[: -len("_live.csv")] + ".csv"
            own = guess if os.path.isfile(os.path.join(folder, guess)) else None
        files = [own] if own else []
        whose = "the participant's raw recording"
    else:
        what = (
            "breathsync's live pair synchrony (one row per snapshot)"
            if kind == "pairs"
            else "breathsync's session events"
        )
        files = list((raw or {}).values())
        whose = "the participants' raw recordings"
    if files:
        shown = ", ".join(files[:SHOWN_FILES]) + (", ..." if len(files) > SHOWN_FILES else "")
        instead = f"{whose} ({shown}, beside it)"
    else:
        instead = f"{whose} (LABEL.csv)"
    where = f"the session folder ({folder})" if raw is not None else "the session folder it came from"
    return f"{what}, not a recording: give {instead} or {where}"
