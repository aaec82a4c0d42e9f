"""Offline analysis of recordings: what ``breathsync analyze`` computes and writes as JSON.

Each file is one participant. Its breathing waveform is the ``resp`` column, or derived from the chest
accelerometer (``acc_x, acc_y, acc_z``), from RR intervals (``rr_ms``) or from an ECG's beats. Both the live
(causal) path, exactly as a live session runs it, and the offline (zero-phase) path are run: for a derived
signal the live path derives the waveform causally too (beat by beat, sample by sample, with its inherent
lag), as the session does, and the offline path with the zero-phase derivation. Every pair of files
analysed together is aligned on the time columns (one host time base) and scored for synchrony.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from breathsync import __version__
from breathsync.dsp._types import FloatArray
from breathsync.dsp.group import group_surrogate_need_s, live_group_nulls
from breathsync.dsp.offline import OfflineResult, offline_breathing
from breathsync.dsp.pipeline import PipelineOutput, Quality, RespPipeline
from breathsync.dsp.sync import (
    NULL_EVERY_S,
    SCORE_FS_HZ,
    PairSync,
    SyncConfig,
    kuramoto_order,
    live_surrogate_nulls,
    pair_sync,
    phase_on_grid,
    surrogate_null,
)
from breathsync.errors import InputError, RecordingError
from breathsync.io.csvfile import DERIVED_FROM, INVERT_TRUE, Recording, read_recording
from breathsync.io.session_folder import (
    expand_recording_paths,
    file_identity,
    is_session_folder,
    is_simulate_folder,
    left_out_notes,
    read_session_folder,
    recorded_window_s,
    window_notes,
)

#: The synchrony window when neither the caller nor a recorded session gives one.
DEFAULT_WINDOW_S = 30.0
#: An accelerometer recording with heart beats whose breathing direction the heart's rhythm confirmed for
#: less of it than this gets a warning. The heart confirms it only part of the time even where it follows
#: breathing: about a minute of evidence first, again after every posture change. benchmarks/bench_derived.py
#: prints it: nk_rest5 made into chest motion with 3 posture changes in 5 min 9%, Systole 44%, the ICU
#: patient (whose heart does not follow breathing) 0%; sample_signals/h10_like_nk_rest5.csv 36% (analyze).
HEART_WARN_FRAC = 0.25
#: A recording flat (exactly constant) for this long in all is warned of.
FLAT_WARN_S = 10.0
#: A belt recording clipped (held at a limit of the sensor, :func:`breathsync.dsp.offline.clip_runs`) for this
#: fraction of its length or more is warned of: the tops (bottoms) of the usual breaths, not only of a deep
#: sigh now and then.
CLIP_WARN_FRAC = 0.02
#: Rate of every time series in the JSON output (the issue asks for >= 4 Hz).
OUTPUT_FS_HZ = SCORE_FS_HZ  # the pair series are the windows a session counts its time in sync on


@dataclass
class Participant:
    """One analysed participant stream."""

    label: str
    file: str
    signal: str  # "resp", "acc", "rr" or "ecg"
    t_wave: FloatArray  # the breathing waveform fed to the offline pipeline
    y_wave: FloatArray
    live: PipelineOutput
    offline: OfflineResult
    inverted_suspected: bool
    span_s: float | None = None  # the recording's own time span (its beats', for RR), when known
    #: An accelerometer's breathing direction on the live path (:func:`acc_sign_summary`); None otherwise.
    acc_sign: dict[str, Any] | None = None
    #: The file's column read as the breathing waveform (``--column``); None for the file's own ``resp``.
    column: str | None = None
    #: What turned the signal over: "file" (its ``# invert: true``), "option" (``--invert``) or "" (nothing,
    #: or both, which cancel out).
    flipped_by: str = ""
    #: Where its session took the breathing from (session.json's source ``kind``: "sim", "ble", "replay",
    #: "lsl"); "sim" for a file whose ``# source:`` line says ``sim:``; None when unknown (a plain file).
    source: str | None = None
    #: Whether it is breathsync's simulated breather (:func:`simulated_by`); None when it cannot be told.
    simulated: bool | None = None
    #: What its ``resp`` waveform was derived from before it was recorded (:data:`DERIVED_FROM`: "rr", heart
    #: beats, or "acc", a chest accelerometer, by a partner's breathsync publishing it: the file's
    #: ``# derived_from:`` line); "" for a belt's.
    derived_from: str = ""
    #: Why a ``# derived_from:`` line was not used (a value other than rr or acc), for the warnings; else None.
    derived_note: str | None = None

    @property
    def origin(self) -> str:
        """What its breathing comes from, for every decision made by sensor kind (the shape and clipping
        warnings, ``clipped_frac``, the RR note, :func:`lead_note`): :attr:`derived_from`, else its signal."""
        return self.derived_from or self.signal

    @property
    def duration_s(self) -> float:
        if self.span_s is not None:
            return self.span_s
        return float(self.t_wave[-1] - self.t_wave[0]) if self.t_wave.size > 1 else 0.0


def breathing_waveform(rec: Recording) -> tuple[str, FloatArray, FloatArray]:
    """The breathing waveform of a recording: (signal kind, t, y), derived (zero-phase) when there is no
    belt."""
    kind = rec.signal_kind()
    if kind == "resp":
        return kind, rec.time, rec.columns["resp"]
    if kind == "acc":
        from breathsync.dsp.acc import acc_to_resp_offline

        t_acc, xyz, beats = _acc_and_beats(rec)
        t, y = acc_to_resp_offline(t_acc, xyz, beats=beats)
        return kind, t, y
    if kind == "rr":
        from breathsync.dsp.rr import rr_to_resp_offline

        rec.check_rr_intervals()  # replay checks the same when it loads the file
        rr = rec.columns["rr_ms"]
        ok = np.isfinite(rr)
        t, y = rr_to_resp_offline(rec.time[ok], rr[ok])
        return kind, t, y
    if kind == "ecg":
        from breathsync.dsp.rr import rr_to_resp_offline

        beat_t, rr_ms = rec.ecg_rr()
        t, y = rr_to_resp_offline(beat_t, rr_ms)
        return kind, t, y
    raise RecordingError(
        rec.path, "no breathing signal: needs a resp column, acc_x/acc_y/acc_z, rr_ms, or ecg"
    )


def _acc_and_beats(
    rec: Recording,
) -> tuple[FloatArray, FloatArray, tuple[FloatArray, FloatArray] | None]:
    """An accelerometer recording's samples (times, (n, 3) mG) and its heart beats (times, RR ms), if
    it has any (a Polar H10 recording: they give the breathing axis its sign)."""
    rows = rec.acc_rows()
    xyz = np.column_stack([rec.columns[c][rows] for c in ("acc_x", "acc_y", "acc_z")])
    beat = rec.beat_rows()
    beats = (rec.time[beat], rec.columns["rr_ms"][beat]) if beat.any() else None
    return rec.time[rows], xyz, beats


def live_breathing_waveform(
    rec: Recording, kind: str, sign_log: list[tuple[float, str, int]] | None = None
) -> tuple[FloatArray, FloatArray]:
    """The breathing waveform a live session derives from a recording, causally: the same converters
    as :meth:`breathsync.session._Participant.waveform` (RR beat by beat, an ECG as its beats, an
    accelerometer sample by sample); a belt's ``resp`` as it is. ``sign_log``: an accelerometer's
    sign decisions, second by second (:func:`breathsync.dsp.acc.acc_to_resp_live`)."""
    if kind == "resp":
        return rec.time, rec.columns["resp"]
    if kind in ("rr", "ecg"):
        from breathsync.dsp.rr import RRRespiration

        if kind == "rr":
            ok = np.isfinite(rec.columns["rr_ms"])
            beat_t, rr_ms = rec.time[ok], rec.columns["rr_ms"][ok]
        else:
            beat_t, rr_ms = rec.ecg_rr()
        return RRRespiration().process(beat_t, rr_ms)
    if kind == "acc":
        from breathsync.dsp.acc import acc_to_resp_live

        rec.check_acc_rate()
        t_acc, xyz, beats = _acc_and_beats(rec)
        # Its rate as the session finds it; beats a second at a time beside the accelerometer, as a
        # session receives a Polar H10.
        return acc_to_resp_live(t_acc, xyz, beats, sign_log=sign_log)
    raise RecordingError(rec.path, f"no live derivation for signal {kind!r}")


def analyse_participant(rec: Recording, label: str, *, invert: bool = False) -> Participant:
    """Run the live and the offline path over one recording.

    A recording made with ``--invert`` says so in its metadata (``# invert: true``) and is analysed
    inverted, as its session showed it; ``invert`` flips that (every file's polarity, relative to what its
    metadata says).
    """
    recorded = rec.meta.get("invert", "").strip().lower() in INVERT_TRUE  # another value: a reader's note
    invert = invert != recorded
    kind, t, y = breathing_waveform(rec)
    sign_log: list[tuple[float, str, int]] = []
    lt, ly = live_breathing_waveform(rec, kind, sign_log)
    p = analyse_waveform(t, y, label, file=rec.path, signal=kind, invert=invert, live_wave=(lt, ly))
    p.span_s = float(rec.time[-1] - rec.time[0]) if rec.time.size > 1 else 0.0
    p.column = rec.resp_column
    p.flipped_by = ("file" if recorded else "option") if invert else ""
    p.derived_from, p.derived_note = _derived_from(rec, kind, label)
    if kind == "acc":
        p.acc_sign = acc_sign_summary(sign_log, has_beats=bool(rec.beat_rows().any()))
    return p


def _derived_from(rec: Recording, kind: str, label: str) -> tuple[str, str | None]:
    """What a recording's ``# derived_from:`` line says its breathing waveform was derived from ("rr" or
    "acc", :meth:`Recording.derived_from`), and a warning for a value that is neither (ignored: read as a
    belt). The line describes the file's own ``resp`` column: it is not read for another signal or a
    ``--column``."""
    said, other = rec.derived_from()
    if kind != "resp" or not other:
        return (said if kind == "resp" else ""), None
    return "", (
        f"{label}: '# derived_from: {other}' is neither rr (heart beats) nor acc (a chest "
        "accelerometer): ignored, its breathing is read as a belt's"
    )


def acc_sign_summary(sign_log: list[tuple[float, str, int]], *, has_beats: bool) -> dict[str, Any]:
    """How far an accelerometer's breathing direction (which way is inhale) could be trusted on the live
    path (:attr:`breathsync.dsp.acc.AccRespiration.sign_basis`): the fraction of the recording's seconds
    in which it was not yet set (``none``), a guess (``guess``: from the breath's shape, or kept while
    the heart's rhythm neither agreed nor disagreed) or agreed with the heart's rhythm (``heart``), and
    the times at which it was turned over after it was first set."""
    basis = [b for _, b, _ in sign_log]
    n = max(len(basis), 1)
    flips = [
        t
        for (t, _, k), (_, b0, k0) in zip(sign_log[1:], sign_log[:-1], strict=True)
        if k != k0 and b0 != "none"
    ]
    return {
        "heart_beats": has_beats,
        "basis_frac": {b: round(basis.count(b) / n, 4) for b in ("none", "guess", "heart")},
        "flips_s": [round(t, 1) for t in flips],
    }


def analyse_waveform(
    t: FloatArray,
    y: FloatArray,
    label: str,
    *,
    file: str = "",
    signal: str = "resp",
    invert: bool = False,
    live_wave: tuple[FloatArray, FloatArray] | None = None,
) -> Participant:
    """Run the live and the offline pipeline over one breathing waveform (``live_wave``: a causally
    derived one for the live pipeline, when it differs)."""
    lt, ly = live_wave if live_wave is not None else (t, y)
    pipe = RespPipeline(invert=invert)
    live = pipe.process(lt, ly)
    off = offline_breathing(t, y, invert=invert)
    return Participant(label, file, signal, t, y, live, off, pipe.inverted_suspected)


def _labels(recs: list[Recording], given: list[str | None] | None = None) -> list[str]:
    """Participant labels: ``given`` (a session folder's, or a column's), else the file's ``participant``
    metadata, else A, B, C, ... by position, made unique. A default label skips the labels the other inputs
    declare, in any case: an unlabelled file before one that says ``# participant: A`` is B, not an A
    beside an "A'" (nor an "A" beside an "a")."""
    declared = [
        (given[i] if given else None) or r.meta.get("participant", "").strip() for i, r in enumerate(recs)
    ]
    taken = {lab.casefold() for lab in declared if lab}
    out: list[str] = []
    for i, lab in enumerate(declared):
        if not lab:
            j = i
            while True:
                lab = chr(ord("A") + j % 26) + ("" if j < 26 else str(j))
                if lab.casefold() not in taken and lab not in out:
                    break
                j += 1
        while lab in out:
            lab += "'"
        out.append(lab)
    return out


@dataclass
class PairResult:
    a: Participant
    b: Participant
    live: PairSync
    offline: PairSync
    #: The offline chance level before the cap (the surrogates' 99th percentile; None: too short for them).
    surrogate_offline: float | None = None
    #: The end of the first live window whose chance level came from surrogates (inf: none did); before it the
    #: chance level is the cap for want of history.
    first_surrogate_t: float = math.inf
    #: The cap of the chance level (:attr:`SyncConfig.max_null`).
    cap: float = SyncConfig.max_null


def _first_live_surrogate_t(
    grid: FloatArray, la: FloatArray, lb: FloatArray, fs: float, cfg: SyncConfig, k_first: int
) -> float:
    """When the live chance level first came from surrogates (:func:`live_surrogate_nulls`, as
    :func:`pair_sync` computes it); inf when it never did. Computed on a stretch just long enough (a prefix
    gives the same values: each is computed from the history before it), longer after gaps."""
    known = np.flatnonzero(np.isfinite(la - lb))
    if not known.size:
        return math.inf
    m = int(known[0]) + round((cfg.window_s + 2 * cfg.min_shift_s + 2 * NULL_EVERY_S) * fs)
    while True:
        m = min(m, grid.size)
        hit = np.flatnonzero(np.isfinite(live_surrogate_nulls(la[:m], lb[:m], fs, cfg, k_first=k_first)))
        if hit.size:
            return float(grid[hit[0]])
        if m >= grid.size:
            return math.inf
        m *= 2


def analyse_pair(a: Participant, b: Participant, cfg: SyncConfig) -> PairResult | None:
    """Synchrony of two participants over the time both were recorded; None when they do not overlap."""
    t0 = max(a.live.t[0], b.live.t[0]) if a.live.t.size and b.live.t.size else math.inf
    t1 = min(a.live.t[-1], b.live.t[-1]) if a.live.t.size and b.live.t.size else -math.inf
    if not t1 - t0 >= cfg.window_s:
        return None
    grid = np.arange(math.ceil(t0 * OUTPUT_FS_HZ), math.floor(t1 * OUTPUT_FS_HZ) + 1) / OUTPUT_FS_HZ
    la = phase_on_grid(a.live.t, a.live.phase, grid)
    lb = phase_on_grid(b.live.t, b.live.phase, grid)
    ra = phase_on_grid(a.live.t, a.live.rate_bpm, grid)
    rb = phase_on_grid(b.live.t, b.live.rate_bpm, grid)
    live = pair_sync(grid, la, lb, ra, rb, cfg, causal=True)
    oa = phase_on_grid(a.offline.t, a.offline.phase, grid)
    ob = phase_on_grid(b.offline.t, b.offline.phase, grid)
    ora = phase_on_grid(a.offline.t, a.offline.rate_bpm, grid)
    orb = phase_on_grid(b.offline.t, b.offline.rate_bpm, grid)
    # The grid's rate and first index as pair_sync takes them, so the surrogates are the ones it would compute.
    fs = 1.0 / float(np.median(np.diff(grid))) if grid.size > 1 else 1.0
    k_first = round(float(grid[0]) * fs) if grid.size else 0
    surrogate = surrogate_null(oa, ob, fs, cfg, k_first)  # before the cap: the JSON gives it
    off = pair_sync(grid, oa, ob, ora, orb, cfg, causal=False, null_plv=surrogate)
    first = _first_live_surrogate_t(grid, la, lb, fs, cfg, k_first)
    return PairResult(a, b, live, off, surrogate, first, cfg.max_null)


def cap_figures(pr: PairResult) -> dict[str, float | None]:
    """How far a pair's chance level was the cap, over its scored windows (those with a PLV): live, the share
    at the cap (``chance_capped_frac``) and the share at it for want of history (``chance_no_surrogate_frac``;
    the rest reached it by their surrogates: two breathers too regular for surrogates to tell chance from
    locking); offline, the share at the cap and the surrogates' value before the cap. None when no window
    was scored (the surrogates' value: when the recording is too short for them)."""

    def shares(ps: PairSync) -> tuple[float | None, float | None]:
        ok = np.isfinite(ps.plv)
        n = int(np.count_nonzero(ok))
        if not n:
            return None, None
        capped = ok & (ps.null_plv >= pr.cap)
        history = capped & (ps.t < pr.first_surrogate_t)
        return np.count_nonzero(capped) / n, np.count_nonzero(history) / n

    live, no_surrogate = shares(pr.live)
    offline, _ = shares(pr.offline)
    return {
        "chance_capped_frac": live,
        "chance_no_surrogate_frac": no_surrogate,
        "offline_chance_capped_frac": offline,
        "offline_surrogate_null_plv": pr.surrogate_offline,
    }


#: A pair's chance level is said to be the cap when it was for more than this share of the time scored.
CAP_SAID_FRAC = 0.5


def chance_cap_text(
    capped: float | None,
    no_surrogate: float | None,
    window_s: float,
    *,
    need_s: float | None = None,
    who: str = "these two",
) -> str:
    """What ``analyze`` and ``report`` say beside a pair's (or a group's: ``who``, and the history its
    surrogates need, ``need_s``) chance level when it was the cap for most of the time scored
    (:func:`cap_figures`), else "": "the cap: these two breathe too regularly for surrogates to tell chance
    from locking", "the cap for 64% of the time scored: too little history for surrogates (they need 70 s)"."""
    if capped is None or not capped > CAP_SAID_FRAC:
        return ""
    share = "" if capped >= 0.995 else f" for {percent_text(capped)} of the time scored"
    if no_surrogate is not None and no_surrogate >= capped / 2:
        need = need_s if need_s is not None else window_s + 2 * SyncConfig.min_shift_s
        why = f"too little history for surrogates (they need {need:g} s)"
    else:
        why = f"{who} breathe too regularly for surrogates to tell chance from locking"
    return f"the cap{share}: {why}"


def session_notes(paths: Sequence[str], window_s: float, *, chosen: bool) -> list[str]:
    """What ``analyze`` and ``report`` say first about recorded sessions among ``paths``: a participant left
    out for want of samples, and (unless the window was ``chosen`` with --window) a session's raw files scored
    with another window than the session's (:func:`~breathsync.io.session_folder.window_notes`)."""
    return left_out_notes(paths) + ([] if chosen else window_notes(paths, window_s))


def resolve_window_s(window_s: float | None, paths: Sequence[str]) -> float:
    """The window asked for, else that of the first recorded session folder in ``paths`` (a session is
    scored with the window it was shown with), else :data:`DEFAULT_WINDOW_S`."""
    if window_s is not None:
        return window_s
    return recorded_window_s(paths) or DEFAULT_WINDOW_S


def session_sources(paths: Sequence[str]) -> dict[str, Any]:
    """The source session.json gives each participant of the recorded session folders among ``paths``, by
    the path of its raw file (as :func:`read_inputs` reads it); a participant without one maps to None.
    Plain files and ``breathsync simulate`` folders are not in it."""
    out: dict[str, Any] = {}
    for p in paths:
        if not os.path.isdir(p) or is_simulate_folder(p) or not is_session_folder(p):
            continue
        folder = read_session_folder(p)
        by_label = {
            str(q.get("label")): q.get("source")
            for q in folder.info.get("participants") or []
            if isinstance(q, dict)
        }
        for fp in folder.participants:
            out[fp.path] = by_label.get(fp.label)
    return out


def simulated_by(
    rec: Recording, source: Any = None, *, in_session: bool = False
) -> tuple[str | None, bool | None]:
    """(source kind, simulated) of a recording: the kind its session's session.json gives (``source``, when
    ``in_session``), else "sim" when the file's ``# source:`` line says ``sim:`` (the recorder writes a
    simulated participant's so), else None (unknown). Simulated: True for a ``sim`` source or a file with a
    simulator's ``true_phase`` column (``breathsync simulate``'s files, a replayed simulated participant's
    recording), False for a Bluetooth device (``ble``: a sensor someone wore), None otherwise (a replayed
    file or an LSL stream may be anyone's). The BIDS export's ``simulated`` follows the same rule
    (:func:`breathsync.export_bids._simulated`)."""
    kind: str | None = None
    if in_session:
        if isinstance(source, dict) and isinstance(source.get("kind"), str):
            kind = source["kind"]
        elif isinstance(source, str) and source.strip():
            kind = source.strip().split(":", 1)[0]
    elif rec.meta.get("source", "").strip().lower().startswith("sim:"):
        kind = "sim"
    if kind == "sim" or "true_phase" in rec.columns:
        return kind, True
    return kind, (False if kind == "ble" else None)


def read_inputs(
    paths: Sequence[str], *, rate_hz: float | None = None, columns: Sequence[str] = ()
) -> tuple[list[Recording], list[str]]:
    """The recordings named on a command line, and their labels.

    A recorded session folder stands for its participants' raw files, labelled as in the session.
    ``columns``: the breathing waveform's column in every file, for files not in this format's names (a lab
    export's ``RSP``); two or more make each file that many participants (two belts recorded on one
    system), labelled by column.
    """
    files, given = expand_recording_paths(list(paths))
    seen: dict[tuple[int, int] | str, str] = {}
    for f in files:
        ident = file_identity(f)
        if ident in seen and os.path.exists(f):  # a missing file: the reader says so
            # The same stream twice would be a pair in perfect synchrony with itself.
            earlier = seen[ident]
            what = f"{f} is given twice" if earlier == f else f"{earlier} and {f} are the same file"
            raise InputError(f"{what}: each recording is one participant (give it once)")
        seen[ident] = f
    if not columns:
        recs = [read_recording(p, rate_hz=rate_hz) for p in files]
        return recs, _labels(recs, given)
    recs, labels = [], []
    for path in files:
        # Every column is checked by the reader, against the file's header (its line and its real names).
        first = read_recording(path, rate_hz=rate_hz, resp_column=columns[0], more_columns=columns[1:])
        recs += [first, *(first.with_resp(c) for c in columns[1:])]
        labels += list(columns) if len(columns) > 1 else [""]
    if len(columns) == 1:
        return recs, _labels(recs, [g or None for g in given])
    return recs, _labels(recs, [lab or None for lab in labels])


#: The columns a breathing signal is read from, by its kind (:meth:`Recording.signal_kind`).
_SIGNAL_COLUMNS = {"resp": ("resp",), "acc": ("acc_x", "acc_y", "acc_z"), "rr": ("rr_ms",), "ecg": ("ecg",)}
#: Two recordings are one recording twice when at least this share of the shorter one's times are the other's
#: too, with the same samples there (within :data:`COPY_TOLERANCE` of the signal's range: a copy written back
#: with fewer decimals is still a copy; two people's belts, or two belts on one chest, never agree within a
#: thousandth of their range sample after sample).
COPY_SHARE = 0.9
COPY_TOLERANCE = 1e-3
COPY_MIN_SAMPLES = 20
#: How many of the times two recordings share the copy check looks at first (:func:`_sample_differs`): two
#: recordings of different breathing differ at almost every one, so that decides without comparing every
#: sample (two hours at 1 kHz, compared whole, took 0.5 GB).
COPY_PROBES = 256
#: Rows of each recording the full comparison (:func:`_same_in_pieces`) holds at a time: a few MB, however
#: long the recordings.
COPY_PIECE_ROWS = 1 << 16


def copy_warning(a: Recording, b: Recording, label_a: str, label_b: str) -> str:
    """The warning for two participants whose breathing signals are one recording (:func:`same_samples`)."""
    if a.path == b.path:  # two columns of one file (--column twice), or two streams of one XDF file
        parts = (
            f"{_part_text(a)} and {_part_text(b)}"
            if "xdf_stream" in a.meta or "xdf_stream" in b.meta
            else f"columns {a.resp_column} and {b.resp_column}"
        )
        what = f"{parts} of {_file_text(a.path)} hold the same breathing samples"
    else:
        what = f"{_file_text(b.path)} holds the same breathing samples as {_file_text(a.path)}"
    return (
        f"{label_a}-{label_b}: {what} at the same times (one recording twice): their synchrony says nothing "
        "(a recording is in perfect synchrony with itself); give each participant their own recording"
    )


def _part_text(r: Recording) -> str:
    """Which part of its XDF file a participant's breathing is: a stream, by name and id (two streams of one
    name were "columns None and None"); a CSV file's, its column."""
    if "xdf_stream" in r.meta:
        sid = r.meta.get("xdf_stream_id")
        return f"stream {r.meta['xdf_stream']!r}" + (f" (stream_id {sid})" if sid else "")
    return f"column {r.resp_column}"


def same_samples(a: Recording, b: Recording) -> bool:
    """Whether two recordings hold the same breathing signal: of the same kind, and at the times both have (at
    least :data:`COPY_SHARE` of the shorter one's), the same samples of its columns wherever both have them
    (at least 80% of those times; a copy with a gap cut into it is still a copy). A flat signal, or too few
    samples, is no evidence.

    A few hundred of the shared times are looked at first (:func:`_sample_differs`): two different recordings
    are told apart there. Only when those agree is every sample compared (:func:`_same_in_pieces`), a piece at
    a time."""
    kind = a.signal_kind()
    if kind is None or kind != b.signal_kind():
        return False
    cols = _SIGNAL_COLUMNS[kind]
    if _sample_differs(a, b, cols):
        return False
    return _same_in_pieces(a, b, cols)


def _time_keys(t: FloatArray) -> FloatArray:
    """Times to the microsecond (as the format writes them): a copy written back by another program
    (0.03999999999999915 for 0.04) has the same times."""
    return np.round(t * 1e6)


def _beyond_bound(a: Recording, cols: Sequence[str]) -> FloatArray:
    """Per column, a difference no copy of ``a`` can have at a shared time: :data:`COPY_TOLERANCE` of the range of
    all of ``a``'s values, never under that of the values at the shared times, which :func:`same_samples`
    allows (NaN, which nothing exceeds, for a column without a value)."""
    with np.errstate(invalid="ignore"):  # inf - inf: no bound
        return np.array(
            [COPY_TOLERANCE * (np.fmax.reduce(a.columns[c]) - np.fmin.reduce(a.columns[c])) for c in cols]
            if a.time.size
            else [math.nan] * len(cols)
        )


def _sample_differs(a: Recording, b: Recording, cols: Sequence[str]) -> bool:
    """Whether two recordings differ beyond what :func:`same_samples` allows a copy at some of up to
    :data:`COPY_PROBES` of ``a``'s times spread over the time both span, that ``b`` has too: then they are not
    copies, whatever the rest holds. False says nothing (no shared time among them, or all agree)."""
    if not (a.time.size and b.time.size):
        return False
    t0, t1 = max(a.time[0], b.time[0]), min(a.time[-1], b.time[-1])
    lo, hi = int(np.searchsorted(a.time, t0, "left")), int(np.searchsorted(a.time, t1, "right"))
    if hi <= lo:
        return False
    keys = np.unique(_time_keys(a.time[np.linspace(lo, hi - 1, COPY_PROBES).round().astype(np.intp)]))
    ra, rb = _first_rows_at(a.time, keys), _first_rows_at(b.time, keys)
    found = (ra >= 0) & (rb >= 0)
    va = np.column_stack([a.columns[c][ra[found]] for c in cols])
    vb = np.column_stack([b.columns[c][rb[found]] for c in cols])
    both = np.isfinite(va).all(axis=1) & np.isfinite(vb).all(axis=1)
    if not both.any():
        return False
    return bool(np.any(np.max(np.abs(va[both] - vb[both]), axis=0) > _beyond_bound(a, cols)))


def _first_rows_at(t: FloatArray, keys: FloatArray, width: int = 8) -> NDArray[np.intp]:
    """For each time in ``keys`` (:func:`_time_keys`), the first row of ``t`` at that time, found by a binary
    search; -1 where there is none, or none among the ``width`` rows from where the search puts it (many rows
    just before it at one time: left out, not looked for)."""
    n = t.size
    pos = np.searchsorted(t, (keys - 4.0) / 1e6)  # a row at one of keys' times is at pos or after it
    at = pos[:, None] + np.arange(-1, width)  # each one's row before it too
    kt = np.where((at >= 0) & (at < n), _time_keys(t[np.clip(at, 0, max(n - 1, 0))]), math.nan)
    # The row at the key whose row before it is not (nothing before it is: keys do not decrease).
    first = (kt[:, 1:] == keys[:, None]) & (kt[:, :-1] != keys[:, None])
    j = np.argmax(first, axis=1)
    k = np.arange(keys.size)
    return np.where(first[k, j], at[k, j + 1], -1).astype(np.intp)


def _same_in_pieces(a: Recording, b: Recording, cols: Sequence[str]) -> bool:
    """:func:`same_samples`'s comparison of every shared time, :data:`COPY_PIECE_ROWS` rows of each recording
    at a time: the shared times, with the counts, ranges and largest differences of their samples, added up
    piece by piece; it stops as soon as the verdict is sure to be no (a difference beyond
    :func:`_beyond_bound`, or too many times one has and the other has not)."""
    na_rows, nb_rows = a.time.size, b.time.size
    bound = _beyond_bound(a, cols)
    # Either one's times missing from the other beyond this: fewer than COPY_SHARE of the shorter one's shared,
    # whatever is left (the shared times are at most min(rows); a row to spare for the rounding of COPY_SHARE).
    too_many_missed = (1.0 - COPY_SHARE) / COPY_SHARE * min(na_rows, nb_rows) + 1.0
    pieces_a, pieces_b = _first_of_each_time_pieces(a.time), _first_of_each_time_pieces(b.time)
    none = (np.empty(0, np.intp), np.empty(0))
    rows_a, keys_a = none
    rows_b, keys_b = none
    n_a = n_b = shared = n_both = 0
    lo = np.full(len(cols), np.inf)
    hi = np.full(len(cols), -np.inf)
    diff = np.zeros(len(cols))
    while True:
        if not keys_a.size:
            rows_a, keys_a = next(pieces_a, none)
        if not keys_b.size:
            rows_b, keys_b = next(pieces_b, none)
        if not (keys_a.size and keys_b.size):
            break
        # Up to the first of the two pieces to end, both recordings' times are all in hand.
        end = min(keys_a[-1], keys_b[-1])
        ua, ub = int(np.searchsorted(keys_a, end, "right")), int(np.searchsorted(keys_b, end, "right"))
        ka, kb = _common_sorted(keys_a[:ua], keys_b[:ub])
        va = np.column_stack([a.columns[c][rows_a[ka]] for c in cols])
        vb = np.column_stack([b.columns[c][rows_b[kb]] for c in cols])
        both = np.isfinite(va).all(axis=1) & np.isfinite(vb).all(axis=1)
        if both.any():
            va, vb = va[both], vb[both]
            lo, hi = np.minimum(lo, va.min(axis=0)), np.maximum(hi, va.max(axis=0))
            diff = np.maximum(diff, np.max(np.abs(va - vb), axis=0))
            if np.any(diff > bound):
                return False
        n_a, n_b, shared, n_both = n_a + ua, n_b + ub, shared + ka.size, n_both + int(np.count_nonzero(both))
        if n_a - shared > too_many_missed and n_b - shared > too_many_missed:
            return False
        rows_a, keys_a = rows_a[ua:], keys_a[ua:]
        rows_b, keys_b = rows_b[ub:], keys_b[ub:]
    # What is left of either has no time in the other: counted only.
    n_a += keys_a.size + sum(k.size for _, k in pieces_a)
    n_b += keys_b.size + sum(k.size for _, k in pieces_b)
    if shared < max(COPY_MIN_SAMPLES, COPY_SHARE * min(n_a, n_b)):
        return False
    if n_both < max(COPY_MIN_SAMPLES, 0.8 * shared):
        return False
    span = hi - lo
    if not bool(np.all(span > 0)):
        return False
    return bool(np.all(diff <= COPY_TOLERANCE * span))


def _first_of_each_time_pieces(t: FloatArray) -> Iterator[tuple[NDArray[np.intp], FloatArray]]:
    """The rows of ``t`` that are the first at their time (times are non-decreasing; several RR intervals of one
    notification share its time, and rounding to the microsecond can make two times one), and those times
    (:func:`_time_keys`), for :data:`COPY_PIECE_ROWS` rows of ``t`` at a time."""
    for start in range(0, t.size, COPY_PIECE_ROWS):
        keys = _time_keys(t[start : start + COPY_PIECE_ROWS])
        before = _time_keys(t[start - 1 : start]) if start else np.array([-np.inf])
        first = np.diff(np.concatenate([before, keys])) > 0
        if first.any():  # a piece all at the time before it has none (an empty piece would read as the end)
            yield start + np.flatnonzero(first), keys[first]


def _common_sorted(a: FloatArray, b: FloatArray) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Where two increasing arrays hold the same values: their indices in each, in order (what
    ``np.intersect1d(a, b, assume_unique=True, return_indices=True)`` gives, by a binary search of ``b``
    rather than a sort of both together: for two hours at 1 kHz that sort took 0.75 GB)."""
    if not (a.size and b.size):
        return np.empty(0, np.intp), np.empty(0, np.intp)
    pos = np.minimum(np.searchsorted(b, a), b.size - 1)
    hit = np.flatnonzero(b[pos] == a)
    return hit, pos[hit]


def analyse_files(
    paths: list[str],
    *,
    window_s: float | None = None,
    rate_hz: float | None = None,
    invert: bool = False,
    columns: Sequence[str] = (),
) -> dict[str, Any]:
    """Analyse recordings together; returns the JSON-ready result (see README, "Analysis output").

    ``paths`` and ``columns`` as for :func:`read_inputs`; without ``window_s``, the first session folder's
    window is used (else :data:`DEFAULT_WINDOW_S`).
    """
    return analyse_paths(paths, window_s=window_s, rate_hz=rate_hz, invert=invert, columns=columns)[0]


def analyse_paths(
    paths: list[str],
    *,
    window_s: float | None = None,
    rate_hz: float | None = None,
    invert: bool = False,
    columns: Sequence[str] = (),
) -> tuple[dict[str, Any], Together]:
    """:func:`analyse_files`, and the analysis it comes from (for :func:`summary_text`'s unrounded rates)."""
    chosen = window_s is not None
    window_s = resolve_window_s(window_s, paths)
    recs, labels = read_inputs(paths, rate_hz=rate_hz, columns=columns)
    res = analyse_together(recs, labels, window_s, invert=invert, sources=session_sources(paths))
    res.warnings[:0] = session_notes(paths, window_s, chosen=chosen)
    out: dict[str, Any] = {
        "breathsync_version": __version__,
        "window_s": window_s,
        "participants": [_participant_json(p) for p in res.parts],
        "pairs": _pairs_json(res, window_s),
        "warnings": res.warnings,
    }
    if len(res.parts) >= 3:
        out["group"] = _group_json(res.parts, res.cfg)
    return out, res


@dataclass
class Together:
    """Recordings analysed together: each participant, every pair that overlaps by a window, and what the
    reader and the analysis have to say about them (``warnings``, one line each)."""

    parts: list[Participant]
    pairs: list[PairResult]
    warnings: list[str]
    cfg: SyncConfig
    #: The pairs that could not be scored, by labels: why.
    unscored: dict[tuple[str, str], str] = field(default_factory=dict)
    #: The pairs, by labels, whose breathing signals are one recording twice (:func:`same_samples`).
    identical: set[tuple[str, str]] = field(default_factory=set)


def analyse_together(
    recs: list[Recording],
    labels: list[str],
    window_s: float,
    *,
    invert: bool = False,
    sources: dict[str, Any] | None = None,
) -> Together:
    """Analyse recordings labelled ``labels`` together (``analyze`` and ``report`` both). ``sources``: the
    session's source of each recording from a session folder, by its path (:func:`session_sources`)."""
    parts = [analyse_participant(r, lab, invert=invert) for r, lab in zip(recs, labels, strict=True)]
    for r, p in zip(recs, parts, strict=True):
        known = sources is not None and r.path in sources
        source = (sources or {}).get(r.path)
        p.source, p.simulated = simulated_by(r, source, in_session=known)
    cfg = SyncConfig(window_s=window_s)
    pairs: list[PairResult] = []
    unscored: dict[tuple[str, str], str] = {}
    for a, b in combinations(parts, 2):
        pr = analyse_pair(a, b, cfg)
        if pr is None:
            overlap = _overlap_s(a, b)
            why = _apart_text(a, b) or (
                f"the recordings overlap by {overlap:g} s, less than one {window_s:g}-s window"
            )
            unscored[(a.label, b.label)] = why  # the pair's own line says it (summary_text, the JSON's note)
        else:
            pairs.append(pr)
    warnings = [f"{lab}: {n}" for r, lab in zip(recs, labels, strict=True) for n in r.notes] + [
        w for p in parts for w in _warnings(p)
    ]
    # A copy of a recording (or one column named for two people) is in perfect synchrony with itself: said, not
    # refused (a synthetic pair of identical waveforms is a fixture some use); the JSON's pair says it too.
    identical: set[tuple[str, str]] = set()
    for (ra, la), (rb, lb) in combinations(zip(recs, labels, strict=True), 2):
        if same_samples(ra, rb):
            identical.add((la, lb))
            warnings.append(copy_warning(ra, rb, la, lb))
    return Together(parts, pairs, warnings, cfg, unscored, identical)


def _apart_text(a: Participant, b: Participant) -> str | None:
    """Why two recordings that do not overlap at all cannot be a pair, in ``run``'s words for replays
    (:func:`breathsync.sources.replay.check_replays_overlap`): their spans and the gap between them, in years
    for a file on another clock (Unix time beside times from 0), which "overlap by 0 s" did not tell. None
    when they overlap (or one has no breathing samples)."""
    from breathsync.sources.replay import duration_text

    if not (a.t_wave.size and b.t_wave.size):
        return None
    first, then = sorted((a, b), key=lambda p: float(p.t_wave[0]))
    gap = float(then.t_wave[0]) - float(first.t_wave[-1])
    if gap <= 0.0:
        return None

    def span(p: Participant) -> str:
        return f"{p.label} ({os.path.basename(p.file)}: {float(p.t_wave[0]):.10g} to {float(p.t_wave[-1]):.10g} s)"

    return (
        f"{span(first)} and {span(then)} were not recorded at the same time: {then.label}'s recording starts "
        f"{duration_text(gap)} after {first.label}'s ends; analyse them separately, or shift one file's time "
        "column onto the other's"
    )


def _overlap_s(a: Participant, b: Participant) -> float:
    """How long two participants' live series overlap (s, at least 0)."""
    if not (a.live.t.size and b.live.t.size):
        return 0.0
    return round(max(0.0, min(a.live.t[-1], b.live.t[-1]) - max(a.live.t[0], b.live.t[0])), 1)


def _live_rr_shift_text(p: Participant) -> str:
    """What breathing derived from heart beats live, before it was recorded, keeps offline: its samples are
    stamped at the times they describe (the live wait for the next beat, about 1 s, is not in them), so only
    the live band-pass's phase shift, which depends on the rate (:func:`breathsync.dsp.rr.filter_phase_delay_s`:
    0.29 s behind at 15 breaths/min, 0.80 s ahead at 6)."""
    from breathsync.dsp.rr import filter_phase_delay_s

    ons = np.asarray(p.offline.onsets_s, float)
    text = (
        "derived live by the breathsync that published it: offline it keeps the live band-pass's phase shift"
    )
    if ons.size < 2:
        return f"{text}, which depends on the rate"
    rate = 60.0 / float(np.median(np.diff(ons)))
    shift = filter_phase_delay_s(rate)
    way = "behind" if shift >= 0 else "ahead"
    return f"{text}, about {abs(shift):.2f} s {way} at its {rate:.1f} breaths/min"


def _warnings(p: Participant) -> list[str]:
    w = [p.derived_note] if p.derived_note else []
    # Breathing derived from heart beats (rr, ecg) is never said to look inverted: its direction is
    # physiology's (the heart speeds up on inhale), not a way of wearing anything, and its rise/fall timing is
    # the heart's response rather than the breath's inhale/exhale ratio, so the shape test has nothing there
    # that anyone could act on. The same for such breathing derived by a partner's breathsync (derived_from).
    if p.inverted_suspected and p.origin == "resp":
        looks = f"{p.label}: the signal looks inverted (rises longer than it falls)"
        if p.flipped_by == "file":  # the advice is to undo what turned it over, not to add it again
            w.append(
                f"{looks} as turned over by its file's line '# invert: true' (the session's --invert); if "
                "this belt rises on inhale, remove that line (or analyse with --invert, which flips it back)"
            )
        elif p.flipped_by == "option":
            w.append(f"{looks} as turned over by --invert; if this belt rises on inhale, leave out --invert")
        else:
            w.append(
                f"{looks}; if this belt falls on inhale, add the line '# invert: true' at the top of its file "
                "(--invert flips every file)"
            )
    elif p.inverted_suspected and p.signal == "acc" and p.acc_sign is not None:
        w.append(_acc_inverted_warning(p.label, p.acc_sign))
    elif p.inverted_suspected and p.derived_from == "acc":  # as the session says it of such a stream
        w.append(
            f"{p.label}: the breathing from {p.label}'s chest accelerometer rises longer than it falls: which "
            "way is inhale was set by the breathsync that published it (no belt to check)"
        )
    q = p.offline.quality
    step = _grid_step(p)
    flat_s = min(float(np.count_nonzero(q == Quality.FLAT)) * step, p.duration_s)  # grid samples: <= the span
    if flat_s >= FLAT_WARN_S:
        # As a session says it (the no-rate reason, the live quality): a constant file was only "fewer than two
        # breaths found".
        from breathsync.session_types import clock_text

        w.append(
            f"{p.label}: the signal is flat (exactly constant) for {clock_text(flat_s)} of the "
            f"{clock_text(p.duration_s)}: sensor off or disconnected? (no phase there)"
        )
    clip = _clip_warning(p, step)
    if clip:
        w.append(clip)
    pause = _no_breathing_warning(p, step)
    if pause:
        w.append(pause)
    if len(p.offline.onsets_s) < 2:
        w.append(f"{p.label}: fewer than two breaths found: no breathing rate")
    if p.signal == "rr":
        w.append(f"{p.label}: breathing derived from RR intervals: works best with slow, relaxed breathing")
    elif p.derived_from == "rr":
        w.append(
            f"{p.label}: breathing derived from RR intervals: works best with slow, relaxed breathing "
            f"({_live_rr_shift_text(p)})"
        )
    if p.acc_sign is not None:
        w.extend(_acc_sign_warnings(p.label, p.acc_sign))
    if p.signal == "ecg" and p.t_wave.size == 0:
        w.append(f"{p.label}: no heart beats found in the ECG (flat, too short, or not an ECG)")
    elif p.signal == "ecg":
        w.append(
            f"{p.label}: breathing derived from the ECG's heart beats (RR intervals): works best with slow, "
            "relaxed breathing"
        )
    return w


def _no_breathing_warning(p: Participant, step: float) -> str | None:
    """The stretches without breathing (offline: breath holds, pauses, a belt slipped or off; no phase, no
    onset and no rate interval there), said when they come to :data:`FLAT_WARN_S` or more in all: a 20-s
    breath hold was only a share in the JSON's quality, and the pair's windows around it went unscored
    without a word."""
    from breathsync.session_types import clock_text

    edges = np.flatnonzero(np.diff(np.concatenate(([0], (p.offline.quality == Quality.NO_BREATHING), [0]))))
    starts, stops = edges[::2], edges[1::2]
    total = float((stops - starts).sum()) * step
    if not starts.size or total < FLAT_WARN_S:
        return None
    k = int(np.argmax(stops - starts))
    n = starts.size
    # Whole seconds, rounded alike (a stopwatch's truncation said "0:19" of the "longest 20 s").
    return (
        f"{p.label}: no breathing for {clock_text(round(total))} in {n} stretch{'es' if n > 1 else ''} (the "
        f"longest {round(float(stops[k] - starts[k]) * step)} s, from {clock_text(float(p.offline.t[starts[k]]))}): "
        "a breath hold, or the belt slipped or was off? (no phase, breaths or rate there)"
    )


def _grid_step(p: Participant) -> float:
    """The offline grid's time step (s; 0 for a grid of fewer than two samples)."""
    return float(np.median(np.diff(p.offline.t))) if p.offline.t.size > 1 else 0.0


def _clipped_s(p: Participant, step: float) -> float:
    """How long the offline path found a belt held at a limit of its sensor (its grid samples flagged
    ``clipped``, :func:`breathsync.dsp.offline.clip_runs`): s, at most the recording's span."""
    return min(float(np.count_nonzero(p.offline.clipped)) * step, p.duration_s)


def clipped_frac(p: Participant) -> float | None:
    """The share of a belt's recording (of its time span, ``duration_s``) held at a limit of its sensor, as the
    offline path found it: what the clipping warning gives as a percentage (:func:`_clip_warning`); 0.0 when
    nothing was held there (or the recording has no span). None for breathing derived from an accelerometer,
    RR intervals or an ECG: breathsync computes that waveform, which never holds a value, so a clipped axis or
    ECG would not show; null says it was not measured, where 0.0 would say it was and found nothing. The same
    for such a waveform derived by a partner's breathsync (:attr:`Participant.derived_from`)."""
    if p.origin != "resp":
        return None
    if p.duration_s <= 0.0:
        return 0.0
    return _clipped_s(p, _grid_step(p)) / p.duration_s


def _clip_warning(p: Participant, step: float) -> str | None:
    """A belt held at a limit of its sensor (a belt strapped too tight, a gain too high, a sensor's range too
    small): not a sensor off, and what to do about it. Belts only: a waveform derived from heart beats or an
    accelerometer has no range of its own to reach."""
    clipped = p.offline.clipped
    if p.origin != "resp" or not clipped.size or p.duration_s <= 0.0:
        return None
    from breathsync.session_types import clock_text

    held, where = [], []
    for side, level, word, part in (
        (1, p.offline.clip_levels[0], "maximum", "top"),
        (-1, p.offline.clip_levels[1], "minimum", "bottom"),
    ):
        n = int(np.count_nonzero(clipped == side))
        if n and math.isfinite(level):
            held.append(f"its {word} {level:.6g}")
            where.append(part)
    clipped_s = _clipped_s(p, step)  # clipped_frac(p) is clipped_s / p.duration_s
    if not held or clipped_s < CLIP_WARN_FRAC * p.duration_s:
        return None
    return (
        f"{p.label}: the signal is clipped (held at {' and at '.join(held)}) for "
        f"{percent_text(clipped_s / p.duration_s)} of the {clock_text(p.duration_s)}: the belt is too tight or "
        "the sensor's range too small (loosen the belt, lower the gain or check the sensor's range); breaths "
        f"are still found, but the phase near the {' and the '.join(where)} of each breath is less exact"
    )


def _acc_inverted_warning(label: str, sign: dict[str, Any]) -> str:
    """A chest accelerometer whose breathing rises longer than it falls: there is no belt to turn, and
    breathsync sets which way is inhale itself (the breath's shape, the heart's rhythm)."""
    heart = sign["basis_frac"]["heart"]
    what = f"{label}: the chest accelerometer's breathing rises longer than it falls, "
    if sign["heart_beats"] and heart >= HEART_WARN_FRAC:
        return what + (
            f"though the heart's rhythm confirmed which way is inhale for {percent_text(heart)} of the recording: "
            "this person's inhale may simply be the longer half (no belt to check)"
        )
    return what + (
        "so which way is inhale looks wrong and the phase may be upside down (no belt to check): "
        + (
            "the heart's rhythm seldom confirmed it"
            if sign["heart_beats"]
            else "record the strap's heart beats too (an rr_ms column)"
        )
    )


def _acc_sign_warnings(label: str, sign: dict[str, Any]) -> list[str]:
    """An accelerometer whose breathing direction was seldom confirmed (its phase can be upside down,
    which turns "in step" into "opposite" for a pair)."""
    heart = sign["basis_frac"]["heart"]
    if not sign["heart_beats"]:
        return [
            f"{label}: breathing from a chest accelerometer without heart beats: which way is inhale is "
            "guessed from the breath's shape (inhale shorter than exhale) and can be wrong (phase upside "
            "down); record the strap's heart beats too (an rr_ms column)"
        ]
    if heart < HEART_WARN_FRAC:
        return [
            f"{label}: the heart's rhythm confirmed which way is inhale for only {heart:.0%} of the recording "
            "(it needs about a minute, again after every posture change, and some hearts hardly follow "
            "breathing): elsewhere it is a guess and can be wrong (phase upside down)"
        ]
    return []


def _f(x: FloatArray, nd: int = 4) -> list[float | None]:
    """Floats for JSON: rounded (a -0.0 made 0.0), NaN -> null."""
    r = np.round(np.asarray(x, float), nd) + 0.0
    out: list[float | None] = list(r.tolist())
    for i in np.flatnonzero(~np.isfinite(r)).tolist():
        out[i] = None
    return out


def _decimate(t: FloatArray, *series: FloatArray) -> tuple[FloatArray, ...]:
    """Every k-th grid sample so that the series are at OUTPUT_FS_HZ, starting at the first sample on a
    multiple of 1 / OUTPUT_FS_HZ (the pairs' grid), so participant and pair series share their times."""
    if t.size < 2:
        return (t, *series)
    step = max(1, round(1.0 / (float(np.median(np.diff(t))) * OUTPUT_FS_HZ)))
    on_grid = np.abs(t[:step] * OUTPUT_FS_HZ - np.round(t[:step] * OUTPUT_FS_HZ)) < 1e-6
    first = int(np.argmax(on_grid)) if on_grid.any() else 0
    return (t[first::step], *(s[first::step] for s in series))


def _breath_intervals(p: Participant) -> FloatArray:
    """Intervals between consecutive offline breaths, leaving out those with a gap inside (phase unknown
    somewhere between the two onsets): a 30-s hole is not a 36-s breath."""
    ons = np.asarray(p.offline.onsets_s, float)
    if ons.size < 2:
        return np.empty(0)
    unknown = np.concatenate([[0], np.cumsum(~np.isfinite(p.offline.phase))])
    lo = np.searchsorted(p.offline.t, ons[:-1], side="right")
    hi = np.searchsorted(p.offline.t, ons[1:], side="left")
    clean = unknown[hi] - unknown[lo] == 0
    return np.diff(ons)[clean]


def rate_summary(p: Participant) -> tuple[float | None, float | None]:
    """A person's mean breathing rate, 60 / the mean interval of their offline breaths (intervals with a gap
    inside left out), and its variability, the sample SD of the per-breath rates 60 / interval."""
    iv = _breath_intervals(p)
    mean = 60.0 / float(np.mean(iv)) if iv.size else None
    sd = float(np.std(60.0 / iv, ddof=1)) if iv.size > 1 else None
    return mean, sd


def rate_text(mean: float | None, sd: float | None, unit: str = " breaths/min") -> str:
    """A person's breathing rate as ``analyze`` and ``report`` both print it, to a tenth, from the numbers of
    :func:`rate_summary` (not from the JSON's hundredths: a rounded 4.25 printed to a tenth is "4.2" for a
    value of 4.2537, which is "4.3"): "15.2 ± 1.2 breaths/min", "15.2 breaths/min" or "rate unknown"."""
    if mean is None:
        return "rate unknown"
    if sd is None:
        return f"{mean:.1f}{unit}"
    return f"{mean:.1f} ± {sd:.1f}{unit}"


def acc_sign_text(sign: dict[str, Any] | None) -> str:
    """What a participant's line says of a chest accelerometer's breathing direction (``acc_sign``, as
    ``analyze`` writes it and a session's summary holds it); "" for other signals."""
    if sign is None:
        return ""
    if not sign["heart_beats"]:
        return "; which way is inhale: a guess (no heart beats)"
    return f"; which way is inhale: confirmed by the heart {percent_text(sign['basis_frac']['heart'])} of the time"


def _participant_json(p: Participant) -> dict[str, Any]:
    lt, lph, lrate, lq = _decimate(p.live.t, p.live.phase, p.live.rate_bpm, p.live.quality)
    ot, oph = _decimate(p.offline.t, p.offline.phase)
    ons = p.offline.onsets_s
    rate_mean, rate_sd = rate_summary(p)
    clip = clipped_frac(p)
    q = p.live.quality
    return {
        "label": p.label,
        "file": p.file,
        "signal": p.signal,
        **({"derived_from": p.derived_from} if p.derived_from else {}),
        "source": p.source,
        "simulated": p.simulated,
        **({"column": p.column} if p.column is not None else {}),
        "duration_s": round(p.duration_s, 3),
        "breaths": len(ons),
        "rate_bpm_mean": None if rate_mean is None else round(rate_mean, 2),
        "rate_bpm_sd": None if rate_sd is None else round(rate_sd, 2),
        "inverted_suspected": p.inverted_suspected,
        "clipped_frac": None if clip is None else round(clip, 4),
        **({"acc_sign": p.acc_sign} if p.acc_sign is not None else {}),
        "live_quality_frac": {
            qq.name.lower(): round(float(np.mean(q == qq)), 4) if q.size else 0.0 for qq in Quality
        },
        "phase_live": {"t_s": _f(lt, 2), "rad": _f(lph)},
        "phase_offline": {"t_s": _f(ot, 2), "rad": _f(oph)},
        "offline_band_hz": [round(p.offline.band_hz[0], 4), round(p.offline.band_hz[1], 4)],
        "breaths_live": [
            {"onset_s": round(b.onset_s, 3), "detected_s": round(b.detected_s, 3)} for b in p.live.breaths
        ],
        "breaths_offline": [{"onset_s": round(float(o), 3)} for o in ons],
        "rate_live": {"t_s": _f(lt, 2), "bpm": _f(lrate, 2)},
        "quality_live": {"t_s": _f(lt, 2), "code": [int(v) for v in lq]},
    }


def _pairs_json(res: Together, window_s: float) -> list[dict[str, Any]]:
    """Every pair, each participant with each later one: scored, or with no figures and ``note`` saying
    why (a pair that is not scored is not left out)."""
    scored = {(pr.a.label, pr.b.label): pr for pr in res.pairs}
    out = []
    for a, b in combinations(res.parts, 2):
        pr = scored.get((a.label, b.label))
        if pr is not None:
            entry = _pair_json(pr, window_s)
        else:
            # The same entry as a scored pair's, from a pair with no window: empty series, null summaries.
            empty = PairSync(*(np.empty(0) for _ in fields(PairSync)))
            entry = _pair_json(PairResult(a, b, empty, empty), window_s)
            entry["note"] = f"not scored: {res.unscored.get((a.label, b.label), 'no overlap')}"
        entry["identical_signals"] = (a.label, b.label) in res.identical
        out.append(entry)
    return out


#: What a signal's breathing comes from: two signals of one kind share their derivation's delay (an ECG's is
#: its heart beats, as RR intervals': README, "Breathing from a heart-rate strap or a chest accelerometer").
_SENSOR = {"resp": "a belt", "acc": "a chest accelerometer", "rr": "heart beats", "ecg": "heart beats"}


def signal_text(signal: str, derived_from: str | None = "") -> str:
    """A participant's signal as the summaries name it: "resp", "acc", ...; a waveform derived before it was
    recorded (:attr:`Participant.derived_from`) "resp from heart beats", "resp from a chest accelerometer"."""
    return f"{signal} from {_SENSOR[derived_from]}" if derived_from in DERIVED_FROM else signal


def lead_note(
    a: str,
    signal_a: str,
    b: str,
    signal_b: str,
    offline_leader: str | None,
    offline_lead_s: float | None,
    *,
    derived_a: str = "",
    derived_b: str = "",
) -> str | None:
    """What a pair's lead needs said beside it when its two breathing signals come from different sensors
    (a belt, a chest accelerometer, heart beats: :data:`_SENSOR`): breathing derived from heart beats or
    chest motion comes with the live derivation's own phase shift, which depends on the rates (in the samples'
    times: the live RR band-pass's is 0.29 s behind at 15 breaths/min and 0.80 s ahead at 6,
    :func:`breathsync.dsp.rr.filter_phase_delay_s`; the wait for the next beat delays only when a sample is
    known), so the live lead between them is partly that shift; with the offline (zero-phase) lead,
    ``offline_leader`` (a label or None) and ``offline_lead_s``. None for one kind of sensor.

    ``derived_a``, ``derived_b``: what a ``resp`` waveform was derived from before it was recorded
    (:attr:`Participant.derived_from`), which is its sensor; derived live, as it came, its shift is in the
    recording, so the offline lead includes it too, and the note says so; for one kind of sensor too, when
    only one side's breathing was derived so."""
    oa, ob = derived_a or signal_a, derived_b or signal_b
    sa, sb = _SENSOR.get(oa, oa), _SENSOR.get(ob, ob)
    live = [f"{x}'s" for x, d in ((a, derived_a), (b, derived_b)) if d in DERIVED_FROM]
    if sa == sb and len(live) != 1:  # one kind of sensor, and its delay in both recordings or in neither
        return None
    from breathsync.session_types import first_text  # the words every view uses

    offline = first_text(offline_leader, offline_lead_s) or "no leader"
    if sa == sb:
        # One sensor, but one side's breathing was derived live before it was recorded: its delay is in its
        # recording. The other's is derived here: live the same way (the live lead compares like with like),
        # offline without a delay (the offline lead is mostly that delay).
        return (
            f"{a} ({signal_text(signal_a, derived_a)}) and {b} ({signal_text(signal_b, derived_b)}): "
            f"{live[0]} breathing was derived from {sa} live by the breathsync that published it, the other's "
            "here, live the same way, so their live relative phase and lead compare like with like; offline "
            f"only {live[0]} keeps the live derivation's phase shift, which depends on the rate, so the offline "
            f"lead includes that shift; offline (zero-phase filters): {offline}"
        )
    note = (
        f"{a} ({signal_text(signal_a, derived_a)}) and {b} ({signal_text(signal_b, derived_b)}) are different "
        "sensors: the relative phase and lead between them include the delay of deriving breathing from "
        f"{' and '.join(x for x in (sa, sb) if x != 'a belt')}, which depends on the rates; offline "
        f"(zero-phase filters): {offline}"
    )
    if live:
        were = "was" if len(live) == 1 else "were"
        note += (
            f" ({' and '.join(live)} breathing {were} derived live by the breathsync that published it, so the "
            "offline lead includes the live derivation's phase shift too)"
        )
    return note


def _pair_json(pr: PairResult, window_s: float) -> dict[str, Any]:
    cap = cap_figures(pr)

    def summ(ps: PairSync, extra: dict[str, float | None]) -> dict[str, Any]:
        s: dict[str, Any] = {**ps.summary(window_s), **extra}
        lead = s["leader"]
        s["leader"] = pr.a.label if lead == "a" else (pr.b.label if lead == "b" else None)
        return {k: (round(v, 4) + 0.0 if isinstance(v, float) else v) for k, v in s.items()}  # no -0.0

    lv = pr.live
    live_summary = summ(
        lv,
        {
            "chance_capped_frac": cap["chance_capped_frac"],
            "chance_no_surrogate_frac": cap["chance_no_surrogate_frac"],
        },
    )
    offline_summary = summ(
        pr.offline,
        {
            "chance_capped_frac": cap["offline_chance_capped_frac"],
            "surrogate_null_plv": cap["offline_surrogate_null_plv"],
        },
    )
    live_summary["lead_note"] = (
        lead_note(
            pr.a.label,
            pr.a.signal,
            pr.b.label,
            pr.b.signal,
            offline_summary["leader"],
            offline_summary["lead_s"],
            derived_a=pr.a.derived_from,
            derived_b=pr.b.derived_from,
        )
        if live_summary["mean_plv"] is not None
        else None
    )
    return {
        "a": pr.a.label,
        "b": pr.b.label,
        "window_s": window_s,
        "t_s": _f(lv.t, 2),
        "plv": _f(lv.plv),
        "null_plv": _f(lv.null_plv),
        "sync_score": _f(lv.sync_score),
        "in_sync": _in_sync(lv),
        "relative_phase_rad": _f(lv.rel_phase_rad),
        "lag_s": _f(lv.lag_s, 3),
        "rate_diff_bpm": _f(lv.rate_diff_bpm, 2),
        "summary": live_summary,
        "offline": {
            "plv": _f(pr.offline.plv),
            "null_plv": _f(pr.offline.null_plv),
            "in_sync": _in_sync(pr.offline),
            "relative_phase_rad": _f(pr.offline.rel_phase_rad),
            "summary": offline_summary,
        },
        "note": None,
    }


def _in_sync(ps: PairSync) -> list[bool | None]:
    """In sync per window; null where the window's PLV is unknown (not false: nothing was scored)."""
    return [bool(v) if np.isfinite(p) else None for v, p in zip(ps.in_sync, ps.plv, strict=True)]


def _group_json(parts: list[Participant], cfg: SyncConfig) -> dict[str, Any]:
    """The group's Kuramoto order over the time every participant was recorded; with ``note`` saying why
    when there is no value (no time in common, less than a window of it, or no window with every phase
    known on enough of it), else ``note`` null."""
    labels = [p.label for p in parts]
    n = len(parts)
    if not all(p.live.t.size for p in parts):
        return _no_group(labels, f"not scored: a recording of the {n} has no live phase")
    t0 = max(p.live.t[0] for p in parts)
    t1 = min(p.live.t[-1] for p in parts)
    if not t1 > t0:
        return _no_group(labels, f"not scored: the {n} recordings have no time in common")
    grid = np.arange(math.ceil(t0 * OUTPUT_FS_HZ), math.floor(t1 * OUTPUT_FS_HZ) + 1) / OUTPUT_FS_HZ
    ph = np.vstack([phase_on_grid(p.live.t, p.live.phase, grid) for p in parts])
    r = kuramoto_order(ph, OUTPUT_FS_HZ, cfg.window_s, causal=True, min_coverage=cfg.min_coverage)
    # The chance level a live session had at each window end (breathsync.dsp.group): R of people breathing
    # with no regard for each other is about 0.5 for three, so R alone says little.
    # In the order of the labels, as the session computes it: the same group gives the same level whatever
    # order its files are given in (the surrogates keep one person's time in each, in turn).
    by_label = sorted(range(n), key=lambda i: labels[i])
    nulls = live_group_nulls(ph[by_label], OUTPUT_FS_HZ, cfg, k_first=round(float(grid[0]) * OUTPUT_FS_HZ))
    null = np.where(np.isfinite(nulls), np.minimum(nulls, cfg.max_null), cfg.max_null)
    scored = np.isfinite(r)
    with np.errstate(invalid="ignore"):
        above = scored & (r > null)
    dt = 1.0 / OUTPUT_FS_HZ
    capped = scored & (null >= cfg.max_null)
    no_surrogate = capped & (np.cumsum(np.isfinite(nulls)) == 0)  # before its first surrogate level
    note = None
    if not np.isfinite(r).any():
        common = round(t1 - t0, 1)
        note = (
            f"not scored: the {n} recordings have {common:g} s in common, less than one {cfg.window_s:g}-s window"
            if common < cfg.window_s
            else "not scored: no window with every phase known on enough of it and at its end"
        )
    return {
        "labels": labels,
        "t_s": _f(grid, 2),
        "kuramoto_r": _f(r),
        "null_r": _f(np.where(scored, null, np.nan)),
        "above_chance": [bool(a) if k else None for a, k in zip(above, scored, strict=True)],
        "mean_kuramoto_r": round(float(np.nanmean(r)), 4) if scored.any() else None,
        "mean_null_r": round(float(np.mean(null[scored])), 4) if scored.any() else None,
        "above_chance_s": round(float(above.sum()) * dt, 2) if scored.any() else None,
        "scored_s": round(float(scored.sum()) * dt, 2) if scored.any() else None,
        # As a pair's (cap_figures): how far the level was its cap, and for want of history.
        "chance_capped_frac": round(float(capped.sum() / scored.sum()), 4) if scored.any() else None,
        "chance_no_surrogate_frac": round(float(no_surrogate.sum() / scored.sum()), 4)
        if scored.any()
        else None,
        "chance_need_s": group_surrogate_need_s(n, cfg),
        "note": note,
    }


def _no_group(labels: list[str], note: str) -> dict[str, Any]:
    return {
        "labels": labels,
        "t_s": [],
        "kuramoto_r": [],
        "null_r": [],
        "above_chance": [],
        "mean_kuramoto_r": None,
        "mean_null_r": None,
        "above_chance_s": None,
        "scored_s": None,
        "chance_capped_frac": None,
        "chance_no_surrogate_frac": None,
        "chance_need_s": None,
        "note": note,
    }


def group_text(group: dict[str, Any]) -> str:
    """The group's line, as ``analyze``, ``report`` and the end of a session print it: "group: mean
    Kuramoto order 0.55 (chance level 0.80), above it under 1% of the 4:30 scored", or why there is none
    ("group: not scored: the 3 recordings have no time in common")."""
    from breathsync.session_types import clock_text

    r = group.get("mean_kuramoto_r")
    if r is None:
        return f"group: {group.get('note') or 'not scored'}"
    line = f"group: mean Kuramoto order {r:.2f}"
    above, scored, null = group.get("above_chance_s"), group.get("scored_s"), group.get("mean_null_r")
    if above is None or not scored or null is None:
        return line  # a summary made before the group had a chance level
    cap = chance_cap_text(
        group.get("chance_capped_frac"),
        group.get("chance_no_surrogate_frac"),
        0.0,
        need_s=group.get("chance_need_s"),
        who="these people",
    )
    chance = f"chance level {null:.2f}" + (f", {cap}" if cap else "")
    return f"{line} ({chance}), above it {percent_text(above / scored)} of the {clock_text(scored)} scored"


def percent_text(frac: float) -> str:
    """A fraction as a whole percentage that never rounds to 0% or 100% when it is not."""
    if 0.0 < frac < 0.005:
        return "under 1%"
    if 0.995 <= frac < 1.0:
        return "over 99%"
    return f"{100 * frac:.0f}%"


def _file_text(file: str) -> str:
    """A file as the summary names it: its name, or the whole path for a pipe's file descriptor (a shell's
    ``<(…)`` gives /dev/fd/63, whose name alone, "63", reads as a number)."""
    path = Path(file)
    return file if path.name.isdigit() and str(path.parent) in ("/dev/fd", "/proc/self/fd") else path.name


def leader_text(leader: str | None, lead_s: float | None) -> str:
    """Who breathed first over a pair's summary, as ``analyze`` and ``report`` say it: "when locked, A
    breathed first by 0.67 s", "when locked, in phase"; "" when there is no leader. The lead comes from the
    windows where the pair was locked within a quarter cycle (the Leader definition), not from all the
    windows scored that the mean relative phase is over: its words say so, or a reader turns "+64 deg" at
    the pair's rate into another lead (0.72 s for pair_follow, whose locked windows are at +59 deg)."""
    from breathsync.session_types import first_text  # the words every view uses

    text = first_text(leader, lead_s)
    return f"when locked, {text}" if text else ""


def no_leader_text(
    locked_s: float | None,
    window_s: float | None,
    opposite_s: float | None = None,
    above_chance_s: float | None = None,
    scored_s: float | None = None,
) -> str:
    """Why a pair has no leader, from its summary: never locked (PLV never above its chance level: strangers),
    locked too briefly to mean anything (:func:`has_relative_phase`), locked in opposite phase for a window
    or more (where who is "first" is arbitrary: half a cycle ahead is half a cycle behind; it read "not
    locked" of a pair at PLV 0.97 and -179 deg), locked within a quarter cycle for less than a window (the
    rule of :func:`breathsync.dsp.sync.who_led`; "in sync 100%" of a short pair beside "not locked" read as
    a contradiction), else not locked within a quarter cycle for one window. ``opposite_s``,
    ``above_chance_s`` and ``scored_s`` are the summary's (None: a summary made before they were given,
    which says only the last two). The words of analyze's summary, the report's and the session's."""
    from breathsync.session_types import clock_text

    w = window_s or DEFAULT_WINDOW_S
    if above_chance_s is not None and above_chance_s <= 0:
        return "no leader (never locked: the PLV was never above its chance level)"
    if not has_relative_phase(above_chance_s, window_s, scored_s):
        assert above_chance_s is not None
        brief = clock_text(above_chance_s) if above_chance_s >= 1.0 else "under a second"
        return f"no leader (locked for {brief} in all, less than one {w:g}-s window)"
    if opposite_s is not None and opposite_s >= w and opposite_s > (locked_s or 0.0):
        return (
            f"no leader (locked in opposite phase for {clock_text(opposite_s)}: half a cycle apart, "
            "neither breathes first)"
        )
    if locked_s:
        return (
            f"no leader (locked within a quarter cycle for {clock_text(locked_s)}, less than one "
            f"{w:g}-s window)"
        )
    return "no leader (not locked within a quarter cycle for one window)"


def relative_phase_text(
    rel_phase_rad: float | None,
    above_chance_s: float | None,
    window_s: float | None,
    scored_s: float | None = None,
) -> str:
    """A pair summary's mean relative phase in words: "relative phase +12 deg", or "no relative phase" when
    the pair was locked too briefly for it to mean anything (:func:`has_relative_phase`: the mean of chance
    windows' relative phases is a number without meaning; strangers read "relative phase -110 deg"); ""
    when unknown."""
    from breathsync.session_types import degrees_text

    if rel_phase_rad is None:
        return ""
    if not has_relative_phase(above_chance_s, window_s, scored_s):
        return "no relative phase"
    return f"relative phase {degrees_text(rel_phase_rad)} deg"


def has_relative_phase(above_chance_s: float | None, window_s: float | None, scored_s: float | None) -> bool:
    """Whether a pair summary's mean relative phase means something: its PLV was above its chance level for
    one window or more, or for at least half the time scored (a pair scored for less than a window, locked
    all of it). None: a summary that does not say, given as before."""
    if above_chance_s is None:
        return True
    w = window_s or DEFAULT_WINDOW_S
    return above_chance_s >= (w if scored_s is None else min(w, 0.5 * scored_s))


def summary_text(result: dict[str, Any], parts: Sequence[Participant] | None = None) -> str:
    """A readable summary of an analysis result; ``parts``: the participants it was made from
    (:func:`analyse_paths`), whose rates are printed as ``report`` prints them, from the unrounded numbers
    (without them, from the JSON's hundredths)."""
    from breathsync.session_types import breaths_text, clock_text  # the words every view uses

    lines = []
    for i, p in enumerate(result["participants"]):
        rate = rate_text(
            *(rate_summary(parts[i]) if parts is not None else (p["rate_bpm_mean"], p["rate_bpm_sd"]))
        )
        sim = ", simulated" if p.get("simulated") else ""  # breathsync's simulated breather, not a person
        lines.append(
            f"{p['label']}: {_file_text(p['file'])} ({signal_text(p['signal'], p.get('derived_from'))}){sim}, "
            f"{p['duration_s']:.0f} s, {breaths_text(p['breaths'])}, {rate}{acc_sign_text(p.get('acc_sign'))}"
        )
    for pr in result["pairs"]:
        s = pr["summary"]
        if pr.get("note"):
            lines.append(f"{pr['a']}-{pr['b']}: {pr['note']}")
            continue
        if s["mean_plv"] is None:
            lines.append(f"{pr['a']}-{pr['b']}: no window with both phases known")
            continue
        window = pr.get("window_s", result.get("window_s"))  # a result made by hand may not say it
        led = leader_text(s["leader"], s["lead_s"]) or no_leader_text(
            s.get("locked_s"), window, s.get("opposite_s"), s.get("above_chance_s"), s.get("scored_s")
        )
        rel = relative_phase_text(
            s["mean_relative_phase_rad"], s.get("above_chance_s"), window, s.get("scored_s")
        )
        # The chance level over the windows that were scored (those with a PLV).
        null = np.mean(
            [n for n, v in zip(pr["null_plv"], pr["plv"], strict=True) if v is not None and n is not None]
        )
        windows = "" if window is None else f" in {window:g}-s windows"
        cap = chance_cap_text(
            s.get("chance_capped_frac"), s.get("chance_no_surrogate_frac"), window or DEFAULT_WINDOW_S
        )
        chance = f"chance level {null:.2f}" + (f", {cap}" if cap else "")
        # Of the time scored: the first window ends a window length in, and gaps leave windows out.
        note = f"; {s['lead_note']}" if s.get("lead_note") else ""
        lines.append(
            f"{pr['a']}-{pr['b']}: in sync {percent_text(s['time_in_sync_frac'])} of the {clock_text(s['scored_s'])} "
            f"scored{windows}, "
            f"mean PLV {s['mean_plv']:.2f} ({chance}), {rel}; {led}{note}"
        )
    if "group" in result:
        lines.append(group_text(result["group"]))
    for w in result["warnings"]:
        lines.append(f"warning: {w}")
    return "\n".join(lines)
