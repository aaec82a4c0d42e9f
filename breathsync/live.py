"""Wiring for the live commands (``run``, ``demo``): source specs -> sources -> session -> sinks, run on one
asyncio loop with clean shutdown on Ctrl-C, SIGTERM and SIGHUP (Windows: Ctrl-C and Ctrl-Break)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, TextIO

from breathsync.errors import InputError
from breathsync.recorder import FILE_LOST_WORDS, MOVED_WORDS, REMADE_WORDS, file_stem
from breathsync.session import NOT_INVERTIBLE, ParticipantSpec, Session, SessionConfig
from breathsync.session_types import (
    ParticipantView,
    Sink,
    Snapshot,
    breaths_text,
    clock_text,
    no_samples_lines,
)
from breathsync.sources.base import PhaseProbe, SessionClock, Source, SourceStatus

SOURCE_KINDS = ("replay", "sim", "lsl", "ble")


@dataclass
class ParticipantArg:
    """``LABEL=SOURCE`` from the command line."""

    label: str
    spec: str


#: The longest participant label. Labels name files: the recording's ``LABEL.csv`` and ``LABEL_live.csv``
#: (ASCII stems, at most 12 + 64 + 9 characters with a "participant_" prefix and "_live.csv") and the BIDS
#: export's ``sub-LABEL_task-breathsync_recording-live_physioevents.tsv.gz``: all well under the 255 bytes a
#: file name may have on common file systems (ext4, APFS, NTFS).
MAX_LABEL = 64

#: Device names Windows reserves as file names, in any case and with any extension (Microsoft, "Naming
#: Files, Paths, and Namespaces"): a recording's ``CON.csv`` cannot be written there, or copied there from
#: another computer, so these labels are refused on every OS. Listed here because Python's own checks differ
#: by version (``PureWindowsPath.is_reserved`` is deprecated in 3.13 and gone in 3.15; ``os.path.isreserved``
#: is 3.13+ and Windows only).
WINDOWS_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in "123456789\u00b9\u00b2\u00b3"}
)


def parse_participant(text: str) -> ParticipantArg:
    label, sep, spec = text.partition("=")
    label = label.strip()
    if not sep or not label or not spec.strip():
        raise InputError(
            f"--participant {text!r}: expected LABEL=SOURCE, e.g. A=replay:file.csv or B=sim:follow"
        )
    if not label.replace("_", "").replace("-", "").isalnum():
        raise InputError(f"--participant {text!r}: a label is letters, digits, '-' or '_'")
    if not any(c.isascii() and c.isalnum() for c in label):
        # Refused now, not after the session: 'breathsync export --bids' names a subject by these (a BIDS
        # label is ASCII letters and digits) and could not export the recording.
        raise InputError(
            f"--participant {text!r}: a label needs at least one ASCII letter or digit (a-z, A-Z, 0-9), "
            f"which a BIDS export names the person by: e.g. {label}1 or P1"
        )
    device = file_stem(label)  # "CON_" and "CONé" are written as CON.csv too
    if device.upper() in WINDOWS_DEVICE_NAMES:
        raise InputError(
            f"--participant {text!r}: {device} is a device name on Windows, so the recording's {device}.csv "
            f"could not be written or copied there: choose another label, e.g. {label}1"
        )
    if label == "events" or label.startswith("sync-"):
        # --publish announces this person as breathsync-<label>, which would be the name (and source_id) of
        # breathsync's own Markers stream, breathsync-events, or of a Synchrony stream (breathsync-sync-A-B,
        # breathsync-sync-group): LabRecorder and a partner's lsl: source would pick the wrong one.
        own = (
            "events stream" if label == "events" else "pair and group synchrony streams (breathsync-sync-...)"
        )
        raise InputError(
            f"--participant {text!r}: breathsync-{label} is the Lab Streaming Layer name of breathsync's own "
            f"{own}, which --publish would give this person too: choose another label, e.g. "
            f"{label.replace('-', '')}1"
        )
    if len(label) > MAX_LABEL:
        # Checked before anything starts: a 300-character label ran the session, then failed to record it
        # ("File name too long").
        raise InputError(
            f"--participant {label[:20]}...: a label is at most {MAX_LABEL} characters (this one has {len(label)})"
        )
    return ParticipantArg(label, spec.strip())


def build_source(arg: ParticipantArg, labels: Sequence[str], probes: dict[str, PhaseProbe]) -> Source:
    """A source from its spec (each source module's ``SPEC_SYNTAX``; ``breathsync run --help`` lists them):
    ``replay:PATH[,loop][,participant=L][,column=NAME][,rate=HZ]`` (``replay:FILE.xdf[,stream=NAME]...``),
    ``sim:MODE[,key=value...]``, ``lsl:STREAM-NAME[,timeout=S][,channel=C]`` or
    ``ble:ADDRESS|NAME-PREFIX[,timeout=S]``."""
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
        from breathsync.sources.capture import parse_capture_spec

        captured = parse_capture_spec(rest)  # a device's capture (<label>_ble.csv of a recording)
        if captured is not None:
            return captured
        from breathsync.sources.replay import parse_replay_spec

        return parse_replay_spec(rest, arg.label)
    from breathsync.sources.sim import parse_sim_spec

    src = parse_sim_spec(rest)
    src.start_s = 0.0  # with the session, at any --speed
    if getattr(src, "mode", "") == "follow":
        others = [x for x in labels if x != arg.label]
        if not others:
            raise InputError(
                f"participant {arg.label}: sim:follow needs another participant to follow "
                "(add one with --participant)"
            )
        # Without partner=, the first other participant in the order given.
        partner: str = getattr(src, "partner", None) or others[0]
        if partner == arg.label:
            raise InputError(
                f"participant {arg.label}: sim:follow,partner={partner}: a partner cannot follow itself; "
                f"follow {_or(others)}"
            )
        if partner not in labels:
            raise InputError(
                f"participant {arg.label}: sim:follow,partner={partner}: there is no participant {partner}; "
                f"the participants are {', '.join(labels)}"
            )
        src.probe = probes.setdefault(partner, PhaseProbe())
        src.follows = partner  # described in session.json: whose cue the dashboard shows (cue_choice)
    return src


def _or(labels: Sequence[str]) -> str:
    """``A``, ``A or B``, ``A, B or C``."""
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def _check_labels_apart(labels: Sequence[str]) -> None:
    """Refuse two labels that name one person's files: labels differing only in case (``A`` and ``a``: on
    macOS's and Windows's case-insensitive file systems A.csv and a.csv are one file; the recorder wrote
    a_2.csv, which an export of the folder then refused), or only in what is not a letter or digit (``a-1``
    and ``a_1``), which a BIDS export drops from a subject's label (:func:`breathsync.export_bids._subjects`
    refuses both). Said before anything starts, not by the export after the session."""
    seen: dict[str, str] = {}
    for label in labels:
        key = re.sub(r"[^A-Za-z0-9]", "", label).casefold() or label
        other = seen.setdefault(key, label)
        if other == label:
            continue
        if other.casefold() == label.casefold():
            why = (
                "labels that differ only in case name one file on macOS and Windows "
                f"({file_stem(other)}.csv) and one subject in a BIDS export: choose labels that differ in more "
                "than case"
            )
        else:
            sub = re.sub(r"[^A-Za-z0-9]", "", label)
            why = (
                f"labels with the same ASCII letters and digits name one subject in a BIDS export (sub-{sub}: "
                "a BIDS label keeps only those): choose labels that differ in their ASCII letters or digits"
            )
        raise InputError(f"participants {other} and {label}: {why}, e.g. P1 and P2")


def build_session(
    participants: Sequence[ParticipantArg],
    *,
    speed: float = 1.0,
    config: SessionConfig | None = None,
    invert: Sequence[str] = (),
    demo: bool = False,
) -> Session:
    """The session of these participants (each source built and checked, one line and InputError for what
    cannot be: before anything starts). ``demo``: the participants are the demo's (its messages then suggest
    nothing the demo cannot take, such as another source)."""
    labels = [p.label for p in participants]
    if len(set(labels)) != len(labels):
        raise InputError("participant labels must be different")
    _check_labels_apart(labels)
    if not 1 <= len(labels) <= 8:
        raise InputError("give 1 to 8 participants")
    if (
        config is not None
        and config.phase == "lead"
        and config.leader is not None
        and config.leader not in labels
    ):
        # The session said "leader 'C' is not a participant": the demo's labels (you, partner) cannot be guessed.
        raise InputError(
            f"--leader {config.leader}: there is no participant {config.leader}; lead with one of the "
            f"participants: {_or(labels)}"
        )
    for lab in invert:
        if lab not in labels:
            raise InputError(
                f"--invert {lab}: there is no participant {lab}; give one of the participants: {_or(labels)}"
            )
        spec = next(p.spec for p in participants if p.label == lab)
        if spec.partition(":")[0] == "sim":
            raise InputError(
                f"--invert {lab}: {lab} is a simulated partner, whose breathing rises on inhale; --invert is "
                "for a belt worn so that it falls on inhale: drop it"
            )
    probes: dict[str, PhaseProbe] = {}
    sources = [build_source(p, labels, probes) for p in participants]
    for p, src in zip(participants, sources, strict=True):
        # A live stream or device cannot go faster than real time: said now, before anything starts (no
        # recording folder, no window), not by the source's start at the end of a whole session.
        speed_error = getattr(src, "speed_error", None)
        why = speed_error(speed) if callable(speed_error) else None
        if why:
            raise InputError(f"participant {p.label}: {why}")
    from breathsync.sources.replay import ReplaySource, align_replays, check_replays_overlap

    align_replays(sources)
    # Replays on times that never meet (another clock, another day) would wait for ever: said now.
    check_replays_overlap([(p.label, s) for p, s in zip(participants, sources, strict=True)])
    _check_ble_targets(participants, sources)
    _check_invert_signals(participants, sources, invert)
    _check_leader(participants, sources, config, demo)
    played: dict[tuple[object, ...], tuple[str, ReplaySource]] = {}
    for p, src in zip(participants, sources, strict=True):
        if isinstance(src, ReplaySource):
            key = src.stream_key()
            if key in played:
                first, first_src = played[key]
                what = first_src.stream_text()
                if os.path.realpath(src.path) != os.path.realpath(first_src.path):  # a hard link
                    what += f" ({p.label}'s {src.path} is the same file)"
                raise InputError(
                    f"participants {first} and {p.label} both replay {what}: a recording is one "
                    "person's breathing (with itself it is a pair in perfect synchrony); give each their own"
                )
            played[key] = (p.label, src)
    specs = [
        ParticipantSpec(p.label, s, p.label in invert, simulated=p.spec.partition(":")[0] == "sim")
        for p, s in zip(participants, sources, strict=True)
    ]
    try:
        session = Session(specs, SessionClock(speed), config, probes=probes)
    except ValueError as e:
        raise InputError(str(e)) from None
    # A copy of a recording (another file, the same samples) is in perfect synchrony with itself: said, as
    # analyze says it, not refused (one file by two paths is refused above).
    from breathsync.analysis import copy_warning, same_samples

    replays = [
        (p.label, s) for p, s in zip(participants, sources, strict=True) if isinstance(s, ReplaySource)
    ]
    # What the reader noticed in a replayed file (a time column that looks like minutes or milliseconds, a
    # declared rate its time column contradicts, corrupt samples read as missing): said, as analyze says it.
    for label, src in replays:
        for note in src.load().notes:
            session.warn(f"{label}: {note}", (label,))
    for (la, a), (lb, b) in combinations(replays, 2):
        ra, rb = a.load(), b.load()
        if same_samples(ra, rb):
            session.warn(copy_warning(ra, rb, la, lb), (la, lb))
    from breathsync.sources.capture import CaptureSource, captured_recording

    for lc, c in ((p.label, s) for p, s in zip(participants, sources, strict=True)):
        if not isinstance(c, CaptureSource):
            continue
        for lr, r in replays:
            if captured_recording(c.path, r.path):
                session.warn(
                    f"{lc}-{lr}: {os.path.basename(c.path)} is the capture of the device that {os.path.basename(r.path)} "
                    "was recorded from (one recording twice): their synchrony says nothing (a recording is in "
                    "perfect synchrony with itself); give each participant their own recording",
                    (lc, lr),
                )
    return session


def _check_invert_signals(
    participants: Sequence[ParticipantArg], sources: Sequence[Source], invert: Sequence[str]
) -> None:
    """``--invert`` is for a belt worn so that it falls on inhale. Breathing derived from heart beats (RR
    intervals, an ECG's beats) rises on inhale by physiology (the heart speeds up), and a chest
    accelerometer's direction is set by breathsync itself (the breath's shape, confirmed by the heart's
    rhythm): flipping either only turns a right direction upside down, and it was recorded as
    ``# invert: true``. A replay's signal is known once its file is read (here: the replays were read to
    align them); a device's or a stream's only once it is connected, where the session drops the flip with an
    alarm (:meth:`breathsync.session.Session._drop_invert`)."""
    why = NOT_INVERTIBLE
    for p, src in zip(participants, sources, strict=True):
        # A waveform derived elsewhere (an XDF replay of a partner's published strap) says so once read.
        origin = src.derived_from or src.signal
        if p.label in invert and origin in why:
            raise InputError(
                f"--invert {p.label}: {p.label}'s breathing {why[origin]}: drop --invert {p.label} "
                "(it is for a breathing belt worn so that it falls on inhale)"
            )


def _check_leader(
    participants: Sequence[ParticipantArg],
    sources: Sequence[Source],
    config: SessionConfig | None,
    demo: bool,
) -> None:
    """The lead phase's leader changes pace for the follower to follow: a simulated follower (``sim:follow``)
    cannot, its pace being its partner's. It was told to change pace, and the summary credited it with the
    changes of the person it follows. The README's simulated leader is ``sim:lead`` (it changes pace by
    itself); ``sim:steady`` and ``sim:pacer`` keep theirs, and the summary says so."""
    from breathsync.sources.sim import SimSource

    if config is None or config.phase != "lead" or not participants:
        return
    leader = config.leader or participants[0].label
    src = next(s for p, s in zip(participants, sources, strict=True) if p.label == leader)
    if not (isinstance(src, SimSource) and src.mode == "follow"):
        return
    simulated = {p.label for p in participants if p.spec.partition(":")[0] == "sim"}
    people = [p.label for p in participants if p.label not in simulated]
    follows = src.follows
    you = follows if follows in people else people[0] if people else None
    what = f"a simulated follower (sim:follow, following {follows})" if follows else "a simulated follower"
    if config.leader is not None:
        head = f"--leader {leader}: {leader} is {what}"
    else:
        head = f"--phase lead: the leader is the first participant, {leader}, {what}"
    remedies = [f"lead yourself (--leader {you})"] if you is not None else []
    if not demo:
        remedies.append(
            f"make {leader} a simulated leader, which changes pace by itself (-p {leader}=sim:lead)"
        )
    raise InputError(
        f"{head}, which only follows and cannot change pace for anyone to follow: {', or '.join(remedies)}"
    )


def _check_ble_targets(participants: Sequence[ParticipantArg], sources: Sequence[Source]) -> None:
    """One device for two participants is refused up front (the second would only time out, saying the device
    was not found): the same address in any case, or the same name. Each source matching by name is told the
    addresses the others give, so that it never takes one of them."""
    from breathsync.io.session_folder import file_identity
    from breathsync.sources.ble import BleSource, is_address
    from breathsync.sources.capture import CaptureSource

    captured: dict[object, str] = {}
    for p, s in zip(participants, sources, strict=True):
        if isinstance(s, CaptureSource):
            key = file_identity(s.path)
            if key in captured:
                raise InputError(
                    f"participants {captured[key]} and {p.label} both replay {s.path}: a device's capture is "
                    "one person's breathing; give each their own"
                )
            captured[key] = p.label
    ble = [
        (p.label, s)
        for p, s in zip(participants, sources, strict=True)
        if isinstance(s, BleSource) and not isinstance(s, CaptureSource)  # a capture uses no radio
    ]
    given: dict[str, str] = {}
    for label, src in ble:
        key = src.target.upper() if is_address(src.target) else "name:" + src.target.casefold()
        if key in given:
            how = "address" if is_address(src.target) else "name"
            raise InputError(
                f"participants {given[key]} and {label} both give ble:{src.target} (the same {how}): a device is "
                "one person's breathing; give each their own (`breathsync scan` lists the devices in range)"
            )
        given[key] = label
    for label, src in ble:
        src.avoid = frozenset(s.target.upper() for other, s in ble if other != label and is_address(s.target))


def stop_signals() -> tuple[signal.Signals, ...]:
    """The signals that end a live session cleanly (sources stopped, recording closed with its summary):
    Ctrl-C, ``kill`` and, where they exist, the terminal being closed (SIGHUP, not on Windows) and Windows'
    Ctrl-Break (SIGBREAK, Windows only: Windows sends no SIGTERM). Windows delivers the closing of the
    console window as SIGBREAK too, but ends the process right after (Python's handler runs later): that one
    is handled by :func:`ended_on_console_close`."""
    sigs = [signal.SIGINT, signal.SIGTERM]
    for name in ("SIGHUP", "SIGBREAK"):
        sig = getattr(signal, name, None)
        if sig is not None:
            sigs.append(sig)
    return tuple(sigs)


_STOP_WORDS = {
    "SIGINT": "stopped with Ctrl-C",
    "SIGBREAK": "stopped with Ctrl-Break",
    "SIGHUP": "its terminal closed",
}


def stop_words(sig: int) -> str:
    """Why a session stopped on this signal, for its session_end event ("the session ends: stopped with
    Ctrl-C")."""
    try:
        name = signal.Signals(sig).name
    except ValueError:
        return f"stopped by signal {sig}"
    return _STOP_WORDS.get(name, f"stopped by {name}")


#: The session_end event's reason when Windows' console window was closed (ended_on_console_close).
CONSOLE_CLOSED = "its console window was closed"
#: The dashboard's session_end reasons: its Stop button (``breathsync.ui``'s ``SessionRunner.stop``, also how
#: a recording is stopped while the session goes on) and its window closed (``DashboardWindow.closeEvent``).
DASHBOARD_STOP = "stopped from the dashboard"
WINDOW_CLOSED = "its window was closed"
#: The session_end reasons (after "the session ends: ") of a session its user stopped, besides
#: :func:`stop_words`' ("stopped by SIGTERM"): Windows' console closed, the dashboard's, and "stopped",
#: :meth:`Session.request_stop`'s own.
USER_STOPS = frozenset({*_STOP_WORDS.values(), CONSOLE_CLOSED, DASHBOARD_STOP, WINDOW_CLOSED, "stopped"})


#: A participant who gave no samples before the user stopped the session this soon (s) after its start, or
#: after the participant's device (last) connected, is a note, not an error: a Bluetooth device takes up to
#: 10 s to be found and connected (longer after a slow scan), and 10 s more before a connection that sends
#: nothing is said to (sources/ble.py). Later, the session ran without that person: exit 2.
USER_STOP_GRACE_S = 20.0


def stopped_too_soon(p: ParticipantView, t_s: float) -> bool:
    """Whether a user's stop at session time ``t_s`` came too soon for participant ``p`` to have given
    samples: its source still starting (connecting), or ``t_s`` within :data:`USER_STOP_GRACE_S` of the
    session's start or of when its device last connected (:attr:`ParticipantView.connected_s`: a strap found
    after a slow scan at 0:15 and stopped at 0:22 had 7 s, not 22)."""
    if p.source_status == SourceStatus.STARTING.value:
        return True
    since = p.connected_s if math.isfinite(p.connected_s) else 0.0
    return t_s - max(since, 0.0) <= USER_STOP_GRACE_S


def stopped_by_user(final: Snapshot | None) -> bool:
    """Whether the session whose final snapshot this is was stopped by its user (Ctrl-C, a signal, the
    dashboard), as its session_end event says: not at its duration, when its sources had ended, on a source
    that failed at the start, or on a bug."""
    for e in reversed(final.events if final is not None else ()):
        if e.kind == "session_end":
            why = e.text.removeprefix("the session ends: ")
            return why in USER_STOPS or why.startswith("stopped by ")
    return False


@contextlib.contextmanager
def stop_signals_ignored(restore: bool = True) -> Iterator[None]:
    """For what a live command does after its session has ended (the summary, where it was recorded): the
    stop signals do nothing, so a second Ctrl-C pressed while the first one's clean end is being reported does
    not turn it into an interrupted command (exit 130 after a complete recording). Everything is already
    closed by then, and it takes milliseconds. The previous handlers come back afterwards, unless
    ``restore`` is False: the command is the process, which exits next (Python puts the default action back
    for the signals that had a Python handler while it shuts down, so a Ctrl-C then would still kill it;
    an ignored signal stays ignored). Main thread only (elsewhere, nothing changes)."""
    previous: dict[signal.Signals, Any] = {}
    for sig in stop_signals():
        with contextlib.suppress(OSError, ValueError):
            previous[sig] = signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        if restore:
            for sig, old in previous.items():
                signal.signal(sig, old if old is not None else signal.SIG_DFL)


#: Windows' console control events after which the process is ended once the handlers return
#: (HandlerRoutine, Microsoft's console docs): the console window closed (CTRL_CLOSE_EVENT, 2), log-off (5)
#: and shutdown (6) (the last two reach only processes without windows).
CONSOLE_END_EVENTS = frozenset({2, 5, 6})
#: How long a console handler waits for the session to end and its recording to close: Windows ends the
#: process about 5 s after the console window is closed, whatever its handlers do.
CONSOLE_END_WAIT_S = 4.0
_WINDOWS = sys.platform == "win32"
_CONSOLE_CALLBACKS: list[Any] = []  # ctypes callbacks given to Windows, never freed (one per live command)


def _install_console_handler(routine: Callable[[int], bool]) -> Callable[[], None] | None:
    """Windows only: put ``routine`` first in the process's console control handlers (kernel32's
    SetConsoleCtrlHandler); returns what removes it, or None when the console refuses it (no console)."""
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    proto = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)  # type: ignore[attr-defined,unused-ignore]
    kernel32.SetConsoleCtrlHandler.argtypes = (proto, wintypes.BOOL)
    kernel32.SetConsoleCtrlHandler.restype = wintypes.BOOL
    callback = proto(lambda event: bool(routine(int(event))))
    # Kept for the life of the process: Windows may still be returning through it on its own thread when
    # the handler is removed, or keep it if the removal fails.
    _CONSOLE_CALLBACKS.append(callback)
    if not kernel32.SetConsoleCtrlHandler(callback, True):
        return None
    return lambda: kernel32.SetConsoleCtrlHandler(callback, False)


@contextlib.contextmanager
def ended_on_console_close(request_stop: Callable[[], None]) -> Iterator[threading.Event]:
    """Windows: closing the console window ends a live command cleanly, as Ctrl-C does.

    Windows tells the process in a console control event on a thread of its own, and ends the process as
    soon as the handlers return; the C runtime's handler, behind Python's SIGBREAK, returns at once, so the
    recording was left without its summary and its last second. This handler comes first: it calls
    ``request_stop`` (which must be safe to call from any thread) and waits, at most CONSOLE_END_WAIT_S, for
    the event this yields, which the caller sets once the session has ended and its files are closed. Other
    events (Ctrl-C, Ctrl-Break) go on to Python's handlers. Elsewhere, nothing is installed."""
    done = threading.Event()
    remove = None
    if _WINDOWS:

        def routine(event: int) -> bool:
            if event not in CONSOLE_END_EVENTS:
                return False
            request_stop()
            done.wait(CONSOLE_END_WAIT_S)
            return True

        with contextlib.suppress(OSError, AttributeError):
            remove = _install_console_handler(routine)
    try:
        yield done
    finally:
        done.set()
        if remove is not None:
            with contextlib.suppress(OSError):
                remove()


async def _run(session: Session, duration_s: float | None) -> Snapshot:
    loop = asyncio.get_running_loop()
    installed = []
    previous: dict[signal.Signals, Any] = {}

    def stop_soon(why: str = CONSOLE_CLOSED) -> None:  # from any thread
        with contextlib.suppress(RuntimeError):  # the loop has closed: the session is over
            loop.call_soon_threadsafe(session.request_stop, why)

    def handler(signum: int, frame: Any) -> None:
        stop_soon(stop_words(signum))

    for sig in stop_signals():
        try:
            loop.add_signal_handler(sig, session.request_stop, stop_words(sig))
            installed.append(sig)
        except NotImplementedError:
            # Windows' event loops have no signal handlers: a plain one, which asks the loop to stop the
            # session (the proactor loop is the signal module's wakeup fd, so a signal wakes it). Main
            # thread only.
            with contextlib.suppress(OSError, RuntimeError, ValueError):
                previous[sig] = signal.signal(sig, handler)
        except (RuntimeError, ValueError):  # not the main thread, or a signal this system cannot catch
            pass
    with ended_on_console_close(stop_soon) as ended:
        try:
            return await session.run(duration_s)
        finally:
            ended.set()  # the session has ended and closed its sinks: Windows may end the process now
            for sig in installed:
                loop.remove_signal_handler(sig)
            for sig, old in previous.items():
                signal.signal(sig, old if old is not None else signal.SIG_DFL)


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
    """The end-of-session summary in lines, for ``run``'s output and the dashboard. A pair's line says its
    mean relative phase and who breathed first in ``analyze``'s words (:func:`breathsync.analysis.leader_text`:
    "when locked, B breathed first by 0.31 s"; a pair locked in opposite phase read "in sync 0 s, mean PLV
    1.00" and nothing more, where the dial said "opposite phase"); a participant's, the notifications its
    device sent that were dropped (the summary's ``dropped`` and ``dropped_by`` where the session gives them,
    as session.json's source entry counts them)."""
    from breathsync.analysis import (
        acc_sign_text,
        group_text,
        leader_text,
        no_leader_text,
        relative_phase_text,
    )

    out = []
    for label, p in summary["participants"].items():
        rate = (
            f"{p['mean_rate_bpm']:.1f} breaths/min"
            if p["mean_rate_bpm"] is not None
            else f"rate unknown: {p.get('no_rate_why', 'no rate')}"
        )
        direction = acc_sign_text(p.get("acc_sign"))  # as analyze says it
        out.append(
            f"{label}: {p['source']}, {breaths_text(p['breaths'])}, {rate} ({p['final_status']}){direction}"
            f"{dropped_text(p)}"
        )
    for pr in summary["pairs"]:
        conv = ""
        d0, d1 = pr.get("rate_diff_first_min_bpm"), pr.get("rate_diff_last_min_bpm")
        if d0 is not None and d1 is not None:
            conv = f", rates {d0:.1f} -> {d1:.1f} /min apart (first -> last minute)"
        if pr["time_in_sync_s"] is None:  # no window was scored: as analyze says it
            out.append(f"{pr['a']}-{pr['b']}: {pr.get('note') or 'no window with both phases known'}{conv}")
            continue
        plv = f"mean PLV {pr['mean_plv']:.2f}" if pr["mean_plv"] is not None else "no PLV"
        rel = relative_phase_text(
            pr.get("mean_relative_phase_rad"),
            pr.get("above_chance_s"),
            pr.get("window_s"),
            pr.get("scored_s"),
        )
        phase = f", {rel}" if rel else ""
        # Who breathed first, from the windows locked within a quarter cycle (the session's who_led), as
        # analyze says it; none: not locked so for one window (a pair in opposite phase, a PLV at chance).
        led = leader_text(pr["leader"], pr.get("lead_s")) or no_leader_text(
            pr.get("locked_s"),
            pr.get("window_s"),
            pr.get("opposite_s"),
            pr.get("above_chance_s"),
            pr.get("scored_s"),
        )
        out.append(
            f"{pr['a']}-{pr['b']}: in sync {math.floor(pr['time_in_sync_s'])} s, {plv}{phase}{conv}; {led}"
        )
    group = summary.get("group")
    if group is not None:  # as analyze says it
        out.append(group_text({**group, "note": group.get("note") or "no window with every phase known"}))
    if summary["training"]["phase"] != "free":
        out.append(training_line(summary["training"]))
    out += [f"warning: {w}" for w in summary.get("warnings", ())]
    return out


def dropped_text(p: dict[str, Any]) -> str:
    """What a participant's device sent that was dropped, for the summary line ("; 17 of 70 notifications
    dropped: 17 malformed"), from its summary's ``dropped``, ``dropped_by`` and ``notifications``; "" when
    nothing was (or the summary does not say)."""
    n = p.get("dropped")
    if not n:
        return ""
    total = p.get("notifications")
    of = f" of {total}" if total else ""
    kinds = ", ".join(f"{k} {why}" for why, k in (p.get("dropped_by") or {}).items())
    return f"; {n}{of} notifications dropped" + (f": {kinds}" if kinds else "")


def training_line(tr: dict[str, Any]) -> str:
    """The summary's training line: the goal, and in the lead phase whether the leader changed pace and the
    follower followed ("training: lead (leading), goal reached at 0:57; A changed pace at 1:35, B followed
    from 1:52 for 1:08 in all")."""
    at = tr.get("goal_reached_at_s")
    goal = "goal reached" + (f" at {clock_text(at)}" if at is not None else "")
    text = f"training: {tr['phase']} ({tr['stage']}), {goal if tr['goal_reached'] else 'goal not reached'}"
    lead, fol = tr.get("leader"), tr.get("follower")
    if tr["phase"] != "lead" or not tr["goal_reached"] or lead is None or fol is None:
        return text
    changed = tr.get("leader_changed_at_s")
    if changed is None:
        return f"{text}; {lead} did not change pace, so {fol} had nothing to follow"
    text += f"; {lead} changed pace at {clock_text(changed)}"
    if not tr.get("following"):
        return f"{text}, {fol} did not follow"
    return (
        f"{text}, {fol} followed from {clock_text(tr['following_at_s'])} "
        f"for {clock_text(tr.get('following_s', math.nan))} in all"
    )


def source_failures(final: Snapshot | None) -> list[str]:
    """One phrase per participant whose source failed, with why (what the source said: it names the
    device, stream or file and what to do) and, when it had sent samples, how far it got."""
    out = []
    for p in final.participants if final is not None else ():
        if p.source_status != SourceStatus.FAILED.value:
            continue
        why = p.status_reason or "no reason given"
        if math.isfinite(p.t_s):
            out.append(
                f"participant {p.label}: the source failed after {clock_text(p.t_s)} of samples: {why}"
            )
        else:
            out.append(f"participant {p.label}: {why}")
    return out


@dataclass
class SessionEnd:
    """How a live session ended, for :func:`report_end`."""

    summary: dict[str, Any] | None
    final: Snapshot | None
    recorded_to: Sequence[str] = ()
    recording_error: str | None = None  # Recorder.error: the recording stopped on a write error
    recording_error_t_s: float = math.nan  # ... at about this session time
    recording_error_folder: str | None = None  # ... in this one of recorded_to
    blank_line: bool = False  # a blank line before the summary (after the terminal view)


def report_end(end: SessionEnd, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the end of a live command and return its exit code.

    stdout: the summary and where the session was recorded (until when, if the recording stopped). stderr:
    standing alarms, then one line per problem: the recording stopped on a write error (exit code 1: a fault
    of this machine, such as a full disk; what was written before it stays readable), and participants whose
    source failed (exit code 2, also after the session ran: the recording and the summary hold what came
    before; several failures share the line), or who gave no samples in the whole session (exit code 2; one
    who gave none before the user stopped the session is a "note:" line, exit 0: :func:`stopped_by_user`).
    0 when none of these happened.
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    if end.summary is not None:
        lines = ["session summary:", *summary_lines(end.summary)]
        print("\n".join(["", *lines] if end.blank_line else lines), file=out)
    for a in end.final.alarms if end.final is not None else ():
        if a != end.recording_error:  # said below, as the error
            print(f"alarm: {a}", file=err)
    t = end.recording_error_t_s
    when = f"{clock_text(t)} of the session" if math.isfinite(t) else "the start of the session"
    stopped_in = end.recording_error_folder if end.recording_error is not None else None
    why = (end.recording_error or "").removeprefix("recording stopped: ")
    # What the recorder found of its folder (breathsync.recorder.Recorder._check_folder's words): deleted
    # (gone, or made again in its place: a new, empty folder), moved elsewhere, or one file of it lost.
    remade = REMADE_WORDS in why
    # Moved away from the folder named here (not the new place the recorder went on to name: "(to NEW)", which
    # the command gives as recorded_to), whether or not something is at its old path again.
    moved = MOVED_WORDS in why and not why.endswith(f"(to {stopped_in})")
    gone = [f for f in end.recorded_to if not os.path.isdir(f) or (f == stopped_in and (remade or moved))]
    for folder in end.recorded_to:
        if folder == stopped_in and moved:
            print(f"recorded to {folder} until {when}, then it was moved or renamed", file=out)
            continue
        if folder in gone:
            again = " (and made again, empty)" if remade and folder == stopped_in else ""
            print(f"not recorded: {folder} was deleted during the session{again}", file=out)
            continue
        stopped = f" until {when} (then the recording stopped)" if folder == stopped_in else ""
        print(f"recorded to {folder}{stopped}", file=out)
    code = 0
    # A participant who gave nothing before the user stopped the session (Ctrl-C 1 s in, while the devices
    # were still connecting) is no bad input: said, exit 0, as the README promises of Ctrl-C. Over a whole
    # session (its duration, its sources' end) it is: exit 2.
    # Early: for every such participant, its source still starting (connecting), or within USER_STOP_GRACE_S
    # of the start or of its device's (last) connection (stopped_too_soon). A strap that sent nothing for ten
    # minutes before Ctrl-C (how a session without --duration ends) is still exit 2.
    final = end.final
    early = (
        final is not None
        and stopped_by_user(final)
        and all(
            stopped_too_soon(p, final.t_s)
            for p in final.participants
            if not p.delivered and p.source_status != "failed"
        )
    )
    quiet = no_samples_lines(final, stopped=early)
    if early and quiet:
        print(f"note: {'; '.join(quiet)}", file=err)
        quiet = []
    failures = source_failures(end.final) + quiet
    if failures:
        print(f"breathsync: error: {'; '.join(failures)}", file=err)
        code = 2
    if end.recording_error is not None:
        if moved:
            kept = ""  # moved away from the folder named here: the recorder's words say where it is
        elif remade:
            kept = "; nothing of it is left"
        elif stopped_in in gone:
            kept = f"; nothing of it is left ({stopped_in} no longer exists)"
        elif FILE_LOST_WORDS in why:  # one file deleted or replaced: the others are there
            kept = f"; the rest of what was recorded until then stays readable in {stopped_in}"
        elif stopped_in:
            kept = f"; what was recorded until then stays readable in {stopped_in}"
        else:
            kept = ""
        print(f"breathsync: error: recording stopped at {when}: {why}{kept}", file=err)
        code = 1
    return code
