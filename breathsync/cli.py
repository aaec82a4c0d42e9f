"""The ``breathsync`` command line."""

from __future__ import annotations

import argparse
import contextlib
import copy
import errno
import json
import math
import os
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from breathsync import __version__
from breathsync.dsp.sync import WINDOW_MAX_S, WINDOW_MIN_S
from breathsync.errors import InputError, RecordingError, output_errors
from breathsync.io.csvfile import MAX_RATE_HZ, MIN_RATE_HZ, breathing_column_problem

if TYPE_CHECKING:
    from breathsync.session import Session

MAX_SIM_SAMPLES = 10_000_000  # simulate: per file
#: The demo's length (s): its recording's, sample_signals/nk_rest5_100hz.csv (0 to 299.99 s at 100 Hz). A
#: longer --duration left "you" without a signal from 4:59 on (a test checks the file's length).
DEMO_S = 300.0


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help, wrapped only at spaces: textwrap's default also breaks after a hyphen, which cut the
    device names the help lists ("new-" at the end of a line, "strap" on the next; "polar-" / "h10"), and
    inside a word longer than a line, which cut a source's syntax ("replay:FILE.xdf[,st" / "ream=NAME]...")."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False, break_long_words=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(
            " ".join(text.split()),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
            break_long_words=False,
        )


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage stays available through --help), help wrapped at spaces."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)
        #: The commands' parsers by name (build_parser fills it): an unknown option is said by its command's.
        self.commands: Mapping[str, argparse.ArgumentParser] = {}

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """An option that takes one value is given once (:class:`_Once`): the same for every command."""
        if args and str(args[0]).startswith("-") and kwargs.get("action", "store") == "store":
            kwargs["action"] = _Once
        return super().add_argument(*args, **kwargs)


class _CommandParser(_Parser):
    """A command's parser: its files may come before, between or after its options (``analyze A.csv --window
    20 B.csv``: the plain parse took the files up to the first option and refused the rest as "unrecognized
    arguments"). argparse's intermixed parse cannot be the top level's (it refuses a subcommand's positional),
    so each command's own arguments are parsed here: the top level hands them to :meth:`parse_known_args`."""

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._intermixing:  # Python 3.11's parse_known_intermixed_args parses through this method
            return super().parse_known_args(args, namespace)
        arg_list = list(sys.argv[1:] if args is None else args)
        # The plain parse first: whatever it refuses is refused with its words, as before; only arguments it
        # left over that are not options (files after an option) are parsed again, intermixed. Not after '--'
        # (whose files may look like options: the intermixed parse would take them for options).
        parsed, extra = super().parse_known_args(arg_list, copy.copy(namespace))
        if "--" in arg_list or all(x.startswith("-") and x != "-" for x in extra):  # '-': stdin, a file
            return parsed, extra
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(arg_list, namespace)
        finally:
            self._intermixing = False


class _Once(argparse.Action):
    """An option taking one value, refused when given again: ``--leader A --leader B`` and ``--record d1
    --record d2`` silently took the last."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option: str | None = None,
    ) -> None:
        given: set[str] = getattr(namespace, "_once_given", set())
        if self.dest in given:
            first, again = (
                f"{v:g}" if isinstance(v, float) else str(v) for v in (getattr(namespace, self.dest), values)
            )
            raise argparse.ArgumentError(
                self, f"given twice ({first} and {again}): give it once, with the value you mean"
            )
        namespace._once_given = given | {self.dest}
        setattr(namespace, self.dest, values)


def _between(lo: float, hi: float, unit: str = "") -> Callable[[str], float]:
    """An argparse type: a number in [lo, hi] (a window shorter than a breath, a sampling rate that
    cannot hold breathing, a speed the sources cannot keep up with are mistakes, not settings)."""

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (math.isfinite(v) and lo <= v <= hi):
            raise argparse.ArgumentTypeError(f"expected a number from {lo:g} to {hi:g}{unit}, got {text!r}")
        return v

    return parse


def _path(text: str) -> str:
    """An argparse type: a file or folder path, not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty value")
    return text


def _column_name(text: str) -> str:
    """An argparse type: a column name as a header holds it (outer spaces and quotes dropped, as the reader
    drops them), not empty, not the time column and not a column read by its meaning (ecg, rr_ms, acc_*)."""
    name = text.strip().strip('"').strip("'").strip()
    if not name:
        raise argparse.ArgumentTypeError("expected a column name, got an empty value")
    problem = breathing_column_problem(name, "--column")
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return name


def _check_columns(columns: Sequence[str]) -> None:
    """``--column`` names each person's breathing column once: the same column twice would be a perfect pair
    of one belt with itself."""
    for i, name in enumerate(columns):
        if name in columns[:i]:
            raise InputError(
                f"--column {name} is given twice: give each person's breathing column once (the same column "
                "twice would be one belt paired with itself)"
            )


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return v


#: The longest ``scan --timeout``: that of a participant's ``ble:...,timeout=`` (breathsync.sources.ble's
#: MAX_TIMEOUT_S, not imported here: it would load the Bluetooth code for every command).
SCAN_MAX_S = 600.0
_WINDOW = _between(WINDOW_MIN_S, WINDOW_MAX_S, " s")
_RATE = _between(MIN_RATE_HZ, MAX_RATE_HZ, " Hz")  # a file's sampling rate (replay's rate= takes the same)


def _session_files(folder: Path) -> set[str] | None:
    """The files a session folder's session.json says are the session's (with session.json itself); None
    without a readable session.json (then every file in the folder counts)."""
    try:
        listed = json.loads((folder / "session.json").read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError, RecursionError):  # (arrays nested 100,000 deep)
        return None
    return {"session.json", *(listed if isinstance(listed, dict) else ())}


def _same_file(a: Path, b: Path) -> bool:
    """Whether two existing paths are the same file (or folder): by the file system's identity, so a name
    spelt in another case on a case-insensitive file system is the same file, as are links to it."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them is not there (or cannot be looked at): not the same
        return False


#: Existing files an analysis output (JSON, HTML) may not replace: by their names, recordings and their kin.
_RECORDING_SUFFIXES = (".csv", ".tsv", ".txt", ".xdf", ".xdfz", ".gz")


def _check_not_a_recording(out: str, option: str, batch: bool = False) -> None:
    """Refuse an output that would replace an existing recording that is not among the inputs: files may
    follow options (``analyze A.csv --json B.csv C.csv`` takes B.csv as the JSON's name), so a file meant as an
    input after ``--json``, ``--out`` or ``--batch`` would be overwritten. ``--json`` and ``--out`` refuse an
    existing file with a recording's suffix (.csv, .xdf, ...); ``--batch``, whose output is a CSV, an existing
    file that is not a batch summary (its first row not the summary's header)."""
    target = Path(out)
    if out == "-" or not target.is_file():
        return
    if batch:
        try:
            with open(target, encoding="utf-8", errors="replace") as fh:
                first = next((ln for ln in (fh.readline() for _ in range(64)) if ln.strip()), "")
        except OSError:
            return  # said by the write, as before
        from breathsync.batch import SUMMARY_COLUMNS

        if not first or first.startswith(",".join(SUMMARY_COLUMNS[:2])):
            return
        what, new = "not a batch summary (its first row is not the summary's header)", "study.csv"
    elif target.suffix.lower() in _RECORDING_SUFFIXES:
        what, new = f"a {target.suffix} file", "result.json" if option == "--json" else "report.html"
    else:
        return
    raise InputError(
        f"{option} {out}: {out} exists and is {what}, which would be overwritten (is it a recording given after "
        f"{option}, which takes the next argument as its file?): give a new file name, e.g. {option} {new}"
    )


def _check_not_an_input(
    out: str, inputs: Sequence[str], option: str, replaceable: Sequence[str] = ()
) -> None:
    """Refuse an output path that would overwrite an input: one of the input files, or a file of an input
    session folder (the files its session.json lists; every file of a folder without one), also when the
    folder's recordings are named one by one, except the ``replaceable`` names (the outputs a command writes
    there itself, e.g. report.html). An output of an earlier run beside the recordings may be replaced."""
    target = Path(out)
    if not target.exists() or target.is_dir():
        return
    for item in inputs:
        for part in item.split("+"):  # batch items join a session's files with '+'
            src = Path(part)
            if src.is_dir():
                folder, listed = src.resolve(), _session_files(src)
            elif src.exists():
                if _same_file(src, target):
                    raise InputError(
                        f"{option} {out} is one of the input files: write the output somewhere else"
                    )
                # A recording given on its own still belongs to its session folder (session.json beside it).
                folder = src.resolve().parent
                listed = _session_files(folder)
                if listed is None:
                    continue
            else:
                continue
            if not _same_file(target.resolve().parent, folder) or target.name in replaceable:
                continue
            # By the file itself, not its spelling: on a case-insensitive file system (macOS, Windows)
            # rec/a.csv is rec/A.csv.
            if listed is None or any(_same_file(folder / name, target) for name in listed):
                raise InputError(
                    f"{option} {out} would overwrite a file of the session folder {folder}: "
                    "write the output somewhere else"
                )


def run_description() -> str:
    """``run --help``'s description: every source's syntax, taken from its module (SPEC_SYNTAX), so the help
    cannot fall behind what the sources accept."""
    from breathsync.sources import ble, capture, lsl, replay, sim, xdf

    return (
        "Run a live session. SOURCE is one of: "
        f"{replay.SPEC_SYNTAX} (a recording CSV file, or one participant of a session folder written by "
        "--record; column=: the breathing waveform's column of a lab export, the only column played; rate=: "
        "the sampling rate of a file without a time column); "
        f"{xdf.SPEC_SYNTAX} (an XDF file, e.g. from LabRecorder); "
        f"{capture.SPEC_SYNTAX} (a recorded wearable's notifications, decoded again as they came); "
        f"{sim.SPEC_SYNTAX} (a simulated partner; {sim.SPEC_OPTIONS}); "
        f"{lsl.SPEC_SYNTAX} (a Lab Streaming Layer stream); "
        f"{ble.SPEC_SYNTAX} (a wearable; `breathsync scan` lists them)."
    )


def device_streams() -> str:
    """``decode --help``'s device list, from the registry (``devices.PROFILES``): each device with its streams,
    e.g. ``polar-h10 (hrm, control, pmd, acc, ecg)``. A new profile appears here without editing the CLI."""
    import devices

    return ", ".join(f"{p.name} ({', '.join(p.streams)})" for p in devices.PROFILES.values())


def device_names() -> str:
    """The device profiles' names, from ``devices.PROFILES``: ``polar-h10, gdx-rb or heart-rate``."""
    import devices

    *most, last = devices.PROFILES
    return f"{', '.join(most)} or {last}" if most else last


def device_titles() -> str:
    """``scan --help``'s list of what it finds: each profile's title and name, from ``devices.PROFILES``."""
    import devices

    return "; ".join(f"{p.title}: {p.name}" for p in devices.PROFILES.values())


def build_parser() -> _Parser:
    from breathsync.sources.base import MAX_SPEED

    p = _Parser(
        prog="breathsync",
        description="Breathing-synchrony biofeedback: breathing phase, breaths, rate and pair synchrony.",
    )
    p.add_argument("--version", action="version", version=f"breathsync {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)
    p.commands = sub.choices  # (filled as the commands are added below)

    a = sub.add_parser(
        "analyze",
        help="analyse recordings (one CSV per participant) and their pair synchrony",
        description="Analyse breathing recordings: per person breaths, rate, live and offline phase; "
        "per pair PLV, chance-corrected sync score, time in sync, relative phase, who led.",
    )
    a.add_argument(
        "files",
        nargs="+",
        type=_path,
        metavar="FILE",
        help="recording CSV files (one per participant) or session folders written by --record",
    )
    a.add_argument(
        "--json", type=_path, metavar="OUT", help="write the full result as JSON to OUT ('-' = stdout)"
    )
    a.add_argument(
        "--window",
        type=_WINDOW,
        metavar="S",
        help=f"PLV window in seconds, {WINDOW_MIN_S:g} to {WINDOW_MAX_S:g} (default: a recorded session's "
        "own window, else 30)",
    )
    a.add_argument(
        "--rate",
        type=_RATE,
        metavar="HZ",
        help="sampling rate for files without a time column (a file with one ignores it, or is refused when "
        "its time column steps 1000 times slower or 60 times faster: milliseconds or minutes)",
    )
    a.add_argument(
        "--column",
        action="append",
        default=[],
        type=_column_name,
        metavar="NAME",
        help="the breathing waveform's column in every file, for files that do not name it 'resp' (a lab "
        "export's RSP); give it twice or more when a file holds several people's belts (each column a "
        "participant, labelled by its name)",
    )
    a.add_argument(
        "--invert",
        action="store_true",
        help="the belts fall on inhale: flip their polarity (a file recorded with run --invert is already "
        "flipped; this flips it back)",
    )
    a.add_argument(
        "--batch",
        type=_path,
        metavar="SUMMARY_CSV",
        help="a study: analyse each FILE argument on its own (a session folder, or files joined with '+', "
        "e.g. a1.csv+b1.csv) and write one row per pair to SUMMARY_CSV ('-' = stdout); --json then names a folder, for "
        "one NNN_name.json per analysed session, NNN its position among the arguments. A session that "
        "cannot be read or has no pair to score (one participant, recordings that do not overlap) "
        "fails: it is listed at the end, without a row or a JSON, and the exit code is 2",
    )

    def live_options(
        sp: argparse.ArgumentParser, duration_help: str = "stop after S seconds of session time"
    ) -> None:
        sp.add_argument("--record", type=_path, metavar="DIR", help="record everything to a new folder DIR")
        sp.add_argument(
            "--phase",
            choices=("match", "lead", "free"),
            default="match",
            help="training phase (default match)",
        )
        # From a second (a session of 1e-320 s was taken, and one of 1e308 s) to a day, as simulate's.
        sp.add_argument("--duration", type=_between(1.0, 86_400.0, " s"), metavar="S", help=duration_help)
        sp.add_argument(
            "--speed",
            type=_between(0.1, MAX_SPEED),
            default=1.0,
            metavar="X",
            help=f"replay/simulate X times faster, 0.1 to {MAX_SPEED:g} (default 1)",
        )
        sp.add_argument(
            "--window",
            type=_WINDOW,
            default=30.0,
            metavar="S",
            help=f"sync window, {WINDOW_MIN_S:g} to {WINDOW_MAX_S:g} s (default 30)",
        )
        sp.add_argument(
            "--goal",
            type=_between(1.0, 86_400.0, " s"),
            default=60.0,
            metavar="S",
            help="hold sync S seconds (default 60)",
        )
        sp.add_argument(
            "--leader", metavar="LABEL", help="lead phase: who leads (default the first participant)"
        )
        sp.add_argument("--headless", action="store_true", help="terminal view instead of the dashboard")
        sp.add_argument("--quiet", action="store_true", help="no live view, only the summary at the end")
        sp.add_argument(
            "--publish",
            action="store_true",
            help="publish breathing, phase, sync score and events as LSL streams, visible on the local "
            "network (needs breathsync[lsl]; at --speed 1 only: LSL streams are stamped in real time)",
        )
        sp.add_argument(
            "--screenshot",
            type=_path,
            metavar="FILE",
            help="dashboard: save a picture of the window (.png, .jpg or .bmp) after the run and close it "
            "(works without a display)",
        )

    r = sub.add_parser(
        "run",
        help="a live session: each participant's source, synchrony as it happens",
        description=run_description(),
    )
    r.add_argument(
        "--participant",
        "-p",
        action="append",
        required=True,
        metavar="LABEL=SOURCE",
        help="a participant and the source of their breathing (repeat for each person)",
    )
    r.add_argument(
        "--invert", action="append", default=[], metavar="LABEL", help="LABEL's belt falls on inhale"
    )
    live_options(r)

    d = sub.add_parser(
        "demo",
        help="practise with no hardware: you (a real recording) and a simulated partner who follows you",
        description="The main job on built-in data: participant 'you' replayed from a real belt recording in "
        f"sample_signals ({DEMO_S:g} s long, so the demo lasts at most {DEMO_S:g} s), and a simulated partner "
        "who falls into step with you.",
    )
    live_options(
        d,
        f"stop after S seconds of session time (default and longest {DEMO_S:g}: the length of the recording)",
    )
    # The demo's partner follows closely, so that the demo shows the whole practice (finding the rhythm, in
    # sync, the goal): beside the real, irregular breather of nk_rest5 (16.5 +- 4.3/min), 300 s at --speed
    # 100 gave 54 s in sync and no goal at coupling 1, 121 s at 2, 200 s and the goal at 3, 232 s at 4.
    d.add_argument(
        "--coupling",
        type=_between(0.0, 10.0, " rad/s"),
        default=3.0,
        metavar="K",
        help="how closely the partner follows, 0 to 10 rad/s (default 3; 1 is a looser partner)",
    )

    rp = sub.add_parser(
        "report",
        help="a self-contained HTML report of a session (or recordings analysed together)",
        description="Write an HTML page with each person's breathing and rate over time, the sync score with "
        "the in-sync stretches, a polar histogram of the relative phase, time in sync, who led, and the "
        "definitions. Pictures are embedded (SVG): one file to keep or send.",
    )
    rp.add_argument(
        "paths",
        nargs="+",
        type=_path,
        metavar="SESSION_DIR|FILE",
        help="one folder written by --record, or recording CSV files (one per participant; an XDF file is "
        "not read here: replay it with run -p A=replay:FILE.xdf --record DIR, then report DIR)",
    )
    rp.add_argument(
        "--out",
        type=_path,
        metavar="FILE.html",
        help="where to write ('-' = stdout; default: SESSION_DIR/report.html; report.html here for CSV files)",
    )
    rp.add_argument(
        "--window",
        type=_WINDOW,
        metavar="S",
        help="PLV window in seconds (default: the session's own, else 30)",
    )
    rp.add_argument(
        "--rate",
        type=_RATE,
        metavar="HZ",
        help="sampling rate for files without a time column (as for analyze)",
    )
    rp.add_argument(
        "--column",
        action="append",
        default=[],
        type=_column_name,
        metavar="NAME",
        help="the breathing waveform's column in every file (as for analyze)",
    )

    x = sub.add_parser(
        "export",
        help="export a recorded session folder for research tools (BIDS physiological recordings)",
        description="Export a session folder written by --record as BIDS physiological recordings.",
    )
    x.add_argument("session", metavar="SESSION_DIR", help="a folder written by --record")
    x.add_argument(
        "--bids", type=_path, required=True, metavar="OUT_DIR", help="the BIDS dataset folder to write"
    )
    x.add_argument(
        "--session",
        dest="bids_session",
        metavar="LABEL",
        help="the BIDS session label (letters and digits), so that several sessions of a study go to one "
        "dataset: sub-A/ses-LABEL/...",
    )

    s = sub.add_parser(
        "simulate",
        help="write a synthetic pair with known coupling and true phases",
        description="Write a synthetic pair (A.csv, B.csv: time, resp, true_phase) with known coupling.",
    )
    s.add_argument("--out", type=_path, required=True, metavar="DIR", help="folder to write (created)")
    s.add_argument(
        "--duration", type=_between(1.0, 86_400.0, " s"), required=True, metavar="S", help="seconds"
    )
    s.add_argument(
        "--coupling",
        type=_between(0.0, 10.0, " rad/s"),
        default=0.5,
        metavar="K",
        help="two-way coupling, 0 to 10 rad/s (0 = none)",
    )
    s.add_argument("--seed", type=_seed, default=0, metavar="N", help="random seed")
    rate = _between(2.0, 40.0, " breaths/min")
    s.add_argument("--rate-a", type=rate, default=15.0, metavar="BPM", help="A's natural rate, 2 to 40")
    s.add_argument("--rate-b", type=rate, default=16.0, metavar="BPM", help="B's natural rate, 2 to 40")
    s.add_argument(
        "--fs",
        type=_between(1.0, 1000.0, " Hz"),
        default=25.0,
        metavar="HZ",
        help="sampling rate, 1 to 1000 Hz, at least 6 samples per breath of the faster rate (default 25)",
    )

    dc = sub.add_parser(
        "decode",
        help="decode a wearable's notification bytes into samples (JSON lines), for adding or debugging a device",
        usage="breathsync decode [-h] DEVICE STREAM HEX [HEX ...]\n       breathsync decode [-h] --capture FILE [DEVICE]",
        description="Decode notifications of DEVICE's STREAM given in hex and print the decoded samples as "
        "JSON lines (one per sample; device_t_s = time on the device's clock). Spaces and colons in HEX are "
        "ignored; ',' separates notifications, fed in order to one decoder (GDX chunks are reassembled, Polar "
        "sample spacing uses the previous frame); '-' reads notifications from stdin, a line at a time (one or "
        "more per line, ',' between them), and "
        f"prints each as its line arrives. Devices (streams): {device_streams()}.",
    )
    dc.add_argument(
        "device",
        nargs="?",
        metavar="DEVICE",
        help=f"the device profile: {device_names()}",
    )
    dc.add_argument(
        "stream", nargs="?", metavar="STREAM", help="the device's stream, e.g. hrm, acc, measurement"
    )
    dc.add_argument("hex", nargs="*", metavar="HEX", help="notification bytes in hex (or '-' for stdin)")
    dc.add_argument(
        "--capture",
        metavar="FILE",
        help="decode a recording's capture of a device's notifications (<label>_ble.csv, written by run "
        "--record for a ble: participant) instead of HEX: each record with the notification's time_s "
        "(session s), connection and stream; a malformed notification prints as dropped, and decoding goes "
        "on (DEVICE: only for a capture that names none)",
    )

    sc = sub.add_parser(
        "scan",
        help="list nearby BLE wearables that breathsync can read (name, address, RSSI, device profile)",
        description=f"Scan for BLE wearables matching a device profile ({device_titles()}) and print name, "
        "address, RSSI and profile, strongest first; use the name or address as "
        "--participant A=ble:NAME-OR-ADDRESS.",
    )
    sc.add_argument(
        "--timeout",
        type=_between(0.5, SCAN_MAX_S, " s"),
        default=5.0,
        metavar="S",
        help=f"seconds to scan (default 5, at most {SCAN_MAX_S:g})",
    )
    return p


def _cmd_scan(args: argparse.Namespace) -> int:
    import asyncio

    from breathsync.sources.base import SourceError
    from breathsync.sources.ble import scan

    found = asyncio.run(scan(args.timeout))
    if not found:  # a device problem, not a fault of breathsync: one line, exit 2
        raise SourceError(
            f"scan: no supported BLE device found within {args.timeout:g} s: is it worn and switched on? many "
            "straps only switch on when worn (and one connected to another app is not seen)"
        )
    # Columns as wide as what they hold: an address is 17 characters on Linux and Windows, but a 36-character
    # UUID on macOS (and a name may be longer than 24).
    name_w = max(24, *(len(f.name or "?") for f in found))
    addr_w = max(17, *(len(f.address) for f in found))
    print(f"{'NAME':<{name_w}} {'ADDRESS':<{addr_w}} {'RSSI':>5}  PROFILE")
    for f in found:
        rssi = "" if f.rssi is None else str(f.rssi)
        print(f"{f.name or '?':<{name_w}} {f.address:<{addr_w}} {rssi:>5}  {f.profile.name}")
    return 0


def _check_batch_items(items: Sequence[str]) -> None:
    """Each session once, each whole: an item with an empty part ('+', 'A.csv+') was read as the current
    folder, and a session given twice wrote two rows that a study would count twice."""
    seen: dict[tuple[str, ...], str] = {}
    for item in items:
        parts = item.split("+")
        if not all(p.strip() for p in parts):
            raise InputError(
                f"--batch: {item!r} has an empty part: a session is a folder, a file, or files joined with '+' "
                "(A.csv+B.csv)"
            )
        key = tuple(sorted(os.path.realpath(p) for p in parts))
        if key in seen:
            same = f"as {seen[key]!r} " if seen[key] != item else ""
            raise InputError(
                f"--batch: the session {item!r} is given twice ({same}too): give each once, or its pairs "
                "would count twice in the summary"
            )
        seen[key] = item


def _cmd_batch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from breathsync.batch import analyse_batch, json_name, progress_bar, summary_csv, write_summary

    _check_columns(args.column)
    if args.json == "-":
        raise InputError("with --batch, --json names a folder for one JSON file per session, not '-'")
    _check_batch_items(args.files)
    to_stdout = args.batch == "-"  # the summary CSV alone on stdout, for a pipe (as analyze's --json -)
    if not to_stdout:
        _check_not_an_input(args.batch, args.files, "--batch")
        _check_not_a_recording(args.batch, "--batch", batch=True)
        # Before hours of analysis, not after: the summary's folder must be there to write in (the JSON folder
        # is made if missing, so only an existing non-folder is refused).
        target = Path(args.batch)
        parent = target.parent if str(target.parent) else Path(".")
        if target.is_dir():
            raise InputError(f"--batch {args.batch}: is a folder; give a file name for the summary CSV")
        if not parent.is_dir():
            raise InputError(
                f"--batch {args.batch}: no folder {parent}; create it or write the summary elsewhere"
            )
        if not os.access(target if target.exists() else parent, os.W_OK):  # /dev/stdout: the device itself
            raise InputError(f"--batch {args.batch}: cannot write there; choose a folder you can write to")
    if args.json and Path(args.json).exists() and not Path(args.json).is_dir():
        raise InputError(f"--json {args.json}: is a file; with --batch, --json names a folder")
    res = analyse_batch(
        args.files,
        window_s=args.window,
        rate_hz=args.rate,
        invert=args.invert,
        columns=args.column,
        progress=progress_bar(),
    )
    if to_stdout:
        _write_stdout(summary_csv(res.rows))
    else:
        write_summary(args.batch, res.rows)
    if args.json:
        folder = Path(args.json)
        with output_errors(folder, "the JSON results"):
            folder.mkdir(parents=True, exist_ok=True)
            for position, item, result in res.results:
                _write_private(folder / json_name(position, item), json.dumps(result, allow_nan=False) + "\n")
    sessions = f"{len(args.files)} session" + ("" if len(args.files) == 1 else "s")
    pairs = f"{len(res.rows)} pair" + ("" if len(res.rows) == 1 else "s")
    if res.unscored:
        pairs += f" ({len(res.unscored)} not scored)"
    where = "stdout" if to_stdout else args.batch
    print(
        f"{len(res.results)} of {sessions} analysed, {pairs}: {where}",
        file=sys.stderr if to_stdout else sys.stdout,
    )
    for item, pair, note in res.unscored:
        print(f"  {item}: pair {pair}: {note}", file=sys.stderr)
    if res.failed:
        # Every session is analysed or failed (a session without a pair is a failure): these add up.
        print(f"{len(res.failed)} of {sessions} failed:", file=sys.stderr)
        for item, why in res.failed:
            print(f"  {item}: {why}", file=sys.stderr)
        if res.internal:
            # Bugs, not bad input: their tracebacks, for a report, and exit 1 as for any crash.
            for item, tb in res.internal:
                print(f"\n{item}:\n{tb}", file=sys.stderr, end="")
            print("please report the internal errors above (with their tracebacks)", file=sys.stderr)
            return 1
        return 2
    return 0


def _write_private(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` readable by its owner only (every phase series is health data, like the recordings),
    replacing the file atomically (a failed write keeps the previous one)."""
    from breathsync.io.csvfile import write_private_text

    write_private_text(path, text)


def _check_json_path(path: str) -> None:
    """``analyze --json OUT``: refused before the analysis, not after it, when OUT cannot be written (a folder, a
    folder that does not exist or is a file, no permission)."""
    import tempfile

    from breathsync.errors import file_in_the_way

    target = Path(path)
    if target.is_dir():
        raise InputError(f"--json {path}: that is a folder: give a file name, e.g. {target / 'result.json'}")
    folder = target.parent
    if not folder.is_dir():
        blocking = file_in_the_way(target)
        if blocking is not None:
            raise InputError(
                f"--json {path}: {blocking} is a file, not a folder, so nothing can be saved in it: choose a file "
                f"in a folder, e.g. {blocking.parent / target.name}"
            )
        raise InputError(
            f"--json {path}: the folder {folder} does not exist: create it or choose another folder"
        )
    try:
        if target.is_file():
            with open(target, "ab"):  # opened for writing, not changed
                pass
        elif not target.exists():
            # A real try, not os.access: read-only file systems, and root ignores permission bits.
            fd, probe = tempfile.mkstemp(prefix=".breathsync-", suffix=".tmp", dir=folder)
            os.close(fd)
            os.unlink(probe)
    except OSError as e:
        raise InputError(
            f"--json {path}: cannot write there ({e.strerror or e}): choose another file"
        ) from None


def _cmd_analyze(args: argparse.Namespace) -> int:
    from breathsync.analysis import analyse_paths, summary_text

    if args.batch:
        return _cmd_batch(args)
    _check_columns(args.column)
    if args.json and args.json != "-":
        _check_not_an_input(args.json, args.files, "--json")
        _check_not_a_recording(args.json, "--json")
        _check_json_path(args.json)
    result, analysed = analyse_paths(
        args.files, window_s=args.window, rate_hz=args.rate, invert=args.invert, columns=args.column
    )
    text = json.dumps(result, separators=(",", ":"), allow_nan=False)
    if args.json == "-":
        _write_stdout(text + "\n")
        return 0
    print(summary_text(result, analysed.parts))
    if args.json:
        with output_errors(args.json, "the JSON output"):
            _write_private(args.json, text + "\n")
        print(f"wrote {args.json}")
    return 0


def _cmd_live(args: argparse.Namespace, process: bool) -> int:
    """``run`` and ``demo``; ``process``: the command is this process (it exits when this returns)."""
    from breathsync.live import (
        ParticipantArg,
        SessionEnd,
        build_session,
        parse_participant,
        report_end,
        run_session,
        stop_signals_ignored,
    )
    from breathsync.session import SessionConfig
    from breathsync.session_types import Sink

    if args.command == "demo":
        from sample_signals import sample_path

        you = sample_path("nk_rest5_100hz.csv")
        parts = [
            ParticipantArg("you", f"replay:{you}"),
            ParticipantArg("partner", f"sim:follow,coupling={args.coupling:g},delay=0.3,rate=13,seed=1"),
        ]
        invert: list[str] = []
        if args.duration is not None and args.duration > DEMO_S:
            raise InputError(
                f"--duration {args.duration:g}: the demo's recording is {DEMO_S:g} s long ({DEMO_S / 60:g} min), "
                f"so the demo lasts at most that: give --duration {DEMO_S:g} or less (or run with your own "
                "recording: breathsync run -p you=replay:FILE -p partner=sim:follow)"
            )
        duration = args.duration if args.duration is not None else DEMO_S
    else:
        parts = [parse_participant(x) for x in args.participant]
        invert = args.invert
        duration = args.duration
    if args.leader is not None and args.phase != "lead":
        raise InputError("--leader only applies to --phase lead")
    if args.publish:
        from breathsync.lsl_out import publish_speed_error

        why = publish_speed_error(args.speed)  # before any file is read or source built
        if why:
            raise InputError(why)
    if args.screenshot is not None:  # checked before any file is read or source built: not after the run
        if args.headless or args.quiet:
            raise InputError("--screenshot pictures the dashboard: drop --headless / --quiet")
        from breathsync.ui import check_screenshot_path

        check_screenshot_path(args.screenshot)
    config = SessionConfig(window_s=args.window, phase=args.phase, goal_s=args.goal, leader=args.leader)
    try:
        session = build_session(
            parts, speed=args.speed, config=config, invert=invert, demo=args.command == "demo"
        )
    except ValueError as e:
        raise InputError(str(e)) from None
    from breathsync.dsp.sync import SCORE_FS_HZ, SyncConfig

    # A run in sync begins at the end of the first window known on enough of it (min_coverage of --window
    # after the start, at the earliest), and counts its window ends in sync, 1 / SCORE_FS_HZ each, the first
    # included: the goal is reached one step before first_s + goal at the earliest. Said at the start (the
    # summary said only "goal not reached"), not refused (a short try of the match phase is fine).
    first_s = SyncConfig().min_coverage * args.window
    least = round(first_s + args.goal - 1.0 / SCORE_FS_HZ, 6)
    if duration is not None and args.phase != "free" and duration < least:
        after = "the goal is reached" if args.phase == "match" else "the leader is told to change pace"
        # The demo lasts at most its recording: no longer --duration to give there.
        longer = "" if args.command == "demo" and least > DEMO_S else "a longer --duration, or "
        session.warn(
            f"the goal (in sync for {args.goal:g} s) cannot be reached in {duration:g} s: a run in sync starts "
            f"when a {args.window:g}-s window is first known, {first_s:g} s in at the earliest, so {after} at "
            f"{least:g} s at the earliest: give {longer}a shorter --goal or --window"
        )
    if args.record:
        from breathsync.errors import file_in_the_way
        from breathsync.recorder import prepare_folder

        blocking = file_in_the_way(args.record)
        if blocking is not None:  # it said "cannot create the recording folder: Not a directory"
            raise InputError(
                f"--record {args.record}: {blocking} is a file, not a folder, so the recording folder cannot be "
                f"made in it: choose a new folder elsewhere, e.g. --record {blocking.parent / Path(args.record).name}"
            )
        prepare_folder(args.record)  # an unusable folder is an error now, before any window or source
    prepare: Callable[[Session], None] | None = None
    if args.publish:
        from breathsync.lsl_out import LslPublisher

        def publish(s: Session) -> None:
            """Publish a session on LSL. The dashboard calls this for each session started from its window
            too, whose speed can be changed there: LslPublisher refuses any speed but 1 (one line)."""
            s.add_sink(LslPublisher(s.clock))

        prepare = publish
        prepare(session)  # before the view: the dashboard runs this session too
        print("publishing LSL streams breathsync-* (visible on the local network)", file=sys.stderr)
    from breathsync.ui import display_available

    if args.screenshot is not None or (not args.headless and not args.quiet and display_available()):
        from breathsync.ui import run_dashboard

        res = run_dashboard(
            parts,
            session=session,
            config=config,
            speed=args.speed,
            invert=invert,
            duration_s=duration,
            record_path=args.record,
            screenshot=args.screenshot,
            prepare=prepare,
        )
        if res.fault is not None:
            raise res.fault  # a bug, with its traceback (the window said "internal error")
        if res.error:
            raise InputError(res.error)
        # The session has ended: a second Ctrl-C must not cut the report of its end.
        with stop_signals_ignored(restore=not process):
            code = report_end(
                SessionEnd(
                    res.summary,
                    res.final,
                    res.recorded_to,
                    recording_error=res.recording_error,
                    recording_error_t_s=res.recording_error_t_s,
                    recording_error_folder=res.recording_error_folder,
                )
            )
        if args.screenshot is not None:
            if res.screenshot is None:  # the path was checked before the session: a fault of the moment
                why = res.screenshot_error or "the window was closed before the session ended"
                print(f"breathsync: error: {args.screenshot}: screenshot not saved: {why}", file=sys.stderr)
                return code or 1
            print(f"wrote {args.screenshot}")
        return code
    sinks: list[Sink] = []
    end = SessionEnd(None, None, [args.record] if args.record else [], blank_line=True)
    recorder = None
    if args.record:
        from breathsync.recorder import Recorder

        recorder = Recorder(args.record)
        sinks.append(recorder)
    if not args.quiet:
        from breathsync.terminal import TerminalView

        sinks.append(TerminalView())
    end.final = run_session(session, sinks, duration)
    # The session has ended: a second Ctrl-C must not cut the report of its end.
    with stop_signals_ignored(restore=not process):
        end.summary = session.summary()
        if recorder is not None and recorder.error is not None:
            end.recording_error, end.recording_error_t_s = recorder.error, recorder.error_t_s
            end.recording_error_folder = recorder.path
            if recorder.path != args.record:  # the folder was moved during the session: where it is now
                end.recorded_to = [recorder.path]
        return report_end(end)


#: decode -: the longest line read from stdin (characters). A notification is at most 512 bytes (the
#: longest attribute value, Bluetooth Core Specification Vol 3 Part F 3.2.9), 1024 hex digits: this leaves room
#: for many per line, and keeps a stream without line ends (``cat /dev/zero``) from filling the memory.
MAX_DECODE_LINE = 1_000_000


def _stdin_lines() -> Iterator[str]:
    """stdin line by line as it arrives (``decode -`` on a live pipe), each at most MAX_DECODE_LINE long.

    Read as bytes where there are bytes: a byte that is not text is "not hex", not a UnicodeDecodeError."""
    buf = getattr(sys.stdin, "buffer", None)
    n = 0
    while True:
        raw = (
            buf.readline(MAX_DECODE_LINE + 1) if buf is not None else sys.stdin.readline(MAX_DECODE_LINE + 1)
        )
        if not raw:
            return
        n += 1
        line = raw.decode("ascii", errors="replace") if isinstance(raw, bytes) else raw
        if len(line.rstrip("\r\n")) > MAX_DECODE_LINE:
            raise InputError(
                f"stdin line {n}: longer than {MAX_DECODE_LINE} characters: give one notification (or a few, "
                "separated by ',') per line"
            )
        yield line


def _cmd_decode(args: argparse.Namespace) -> int:
    """Decode notification by notification, writing each record as it is decoded: with '-', line by line as
    stdin brings them, each output line flushed (a live pipe shows each notification when it comes, and an
    endless input runs in bounded memory)."""
    import devices

    if args.capture is not None:
        if args.stream is not None:
            raise InputError(
                "decode --capture FILE: give no STREAM or HEX (the capture says the stream of each notification)"
            )
        return _decode_capture(args.capture, args.device)
    if args.device is None or args.stream is None or not args.hex:
        missing = "DEVICE" if args.device is None else "STREAM" if args.stream is None else "HEX"
        raise InputError(
            f"decode: {missing} is missing: give DEVICE STREAM HEX... (e.g. breathsync decode heart-rate hrm "
            "10503f03), or --capture FILE; see breathsync decode --help"
        )
    try:
        spec = devices.get_profile(args.device).stream(args.stream)
    except KeyError as e:
        raise InputError(str(e.args[0])) from None
    from_stdin = args.hex == ["-"]
    lines: Iterable[str] = _stdin_lines() if from_stdin else ["".join(args.hex)]
    decoder = spec.decoder()
    i = 0
    for line in lines:
        for chunk in (x.strip().replace(" ", "").replace(":", "") for x in line.split(",")):
            if not chunk:
                continue
            i += 1
            where = f"{args.device} {args.stream}"
            if from_stdin or "," in line:
                where += f" notification {i}"
            try:
                data = bytes.fromhex(chunk)
            except ValueError:
                raise InputError(f"{where}: not hex bytes: {chunk[:40]!r}") from None
            try:
                decoded = decoder.feed(data)
            except devices.DecodeError as e:
                raise InputError(f"{where}: {e}") from None
            for d in decoded:
                for rec in d.records():
                    sys.stdout.write(json.dumps(rec, allow_nan=False) + "\n")
            if from_stdin:
                sys.stdout.flush()
    if not i:
        raise InputError("no bytes given: HEX is empty")
    pending = int(getattr(decoder, "pending", 0))
    if pending:
        raise InputError(
            f"{args.device} {args.stream}: incomplete packet at the end ({pending} byte{'' if pending == 1 else 's'})"
        )
    return 0


def _decode_capture(path: str, device: str | None) -> int:
    """``decode --capture FILE``: a recording's notifications decoded again, each record as a JSON line with
    the notification's time, connection and stream; decoders start afresh with each connection, as the live
    source's did. A notification the decoder refuses is printed as dropped (as the live source dropped it)."""
    import devices
    from breathsync.io.capture import read_capture
    from breathsync.sources.capture import capture_profile, check_stream

    cap = read_capture(path)
    profile = capture_profile(
        cap, device, f"give it, e.g. breathsync decode --capture {path} polar-h10 ({device_names()})"
    )
    decoders: dict[str, devices.StreamDecoder] = {}
    connection = rows = 0
    out = sys.stdout
    for row in cap.rows():
        rows += 1
        if row.connection != connection:
            connection, decoders = row.connection, {}
        dec = decoders.get(row.stream)
        if dec is None:
            check_stream(cap, row, profile)
            dec = decoders[row.stream] = profile.streams[row.stream].decoder()
        where = {"time_s": row.t, "connection": row.connection, "stream": row.stream}
        try:
            decoded = dec.feed(row.data)
        except devices.DecodeError as e:
            rec = {
                "kind": devices.DROPPED,
                "drop": "malformed",
                "reason": str(e),
                "packet_hex": row.data.hex(),
            }
            out.write(json.dumps({**where, **rec}, allow_nan=False) + "\n")
            continue
        for d in decoded:
            for rec in d.records():
                out.write(json.dumps({**where, **rec}, allow_nan=False) + "\n")
    if not rows:
        raise RecordingError(path, "the capture holds no notification: nothing to decode")
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from breathsync.io.csvfile import MIN_SAMPLES_PER_BREATH, write_recording
    from breathsync.synth import simulate_pair

    out = Path(args.out)
    fastest = max(args.rate_a, args.rate_b)
    need = MIN_SAMPLES_PER_BREATH * fastest / 60.0  # the reader's aliasing rule (csvfile)
    if args.fs < need:
        raise InputError(
            f"--fs {args.fs:g} Hz is too slow for breathing at {fastest:g}/min (it would alias to a slower "
            f"rhythm): use --fs {math.ceil(need):d} or more, or a slower --rate-a/--rate-b"
        )
    n = args.duration * args.fs
    if n > MAX_SIM_SAMPLES:
        raise InputError(
            f"--duration {args.duration:g} s at --fs {args.fs:g} Hz is {n:.3g} samples per file "
            f"(at most {MAX_SIM_SAMPLES:.0e}): shorten it or lower --fs"
        )
    if out.exists() and not out.is_dir():
        raise InputError(
            f"{out} is a file, not a folder: give --out a new folder's name (nothing was overwritten)"
        )
    taken = [out / f for f in ("A.csv", "B.csv") if (out / f).exists()]
    if taken:
        raise InputError(f"{taken[0]} already exists: choose a new --out folder (nothing was overwritten)")
    try:
        if not out.is_dir():
            # Owner-only, as recordings and BIDS roots are (0700: the same tools read both, and a folder
            # made for breathing data should not be readable by others); an existing folder is left as it is.
            from breathsync.recorder import FOLDER_MODE

            out.mkdir(parents=True, mode=FOLDER_MODE)
            os.chmod(out, FOLDER_MODE)  # whatever the umask
    except OSError as e:
        raise InputError(f"{out}: cannot create the folder ({e.strerror})") from None
    g = simulate_pair(
        args.duration,
        fs_hz=args.fs,
        rate_a_bpm=args.rate_a,
        rate_b_bpm=args.rate_b,
        k_ab=args.coupling,
        k_ba=args.coupling,
        seed=args.seed,
    )
    params = (
        f"simulate_pair(duration_s={args.duration:g}, fs_hz={args.fs:g}, rate_a_bpm={args.rate_a:g}, "
        f"rate_b_bpm={args.rate_b:g}, k_ab={args.coupling:g}, k_ba={args.coupling:g}, seed={args.seed})"
    )
    plv60 = g.plv(0, 1, 60.0) if args.duration >= 60 else float("nan")
    for i, label in enumerate(("A", "B")):
        meta = {
            "participant": label,
            "source": f"breathsync.synth.{params}",
            "sampling_rate_hz": f"{args.fs:g}",
            "unit": "resp: arbitrary units, rising on inhale; true_phase: rad, 0 = inhale onset",
        }
        if math.isfinite(plv60):  # none for a recording shorter than the window (it used to say "nan")
            meta["true_plv_60s"] = f"{plv60:.3f}"
        try:
            write_recording(out / f"{label}.csv", g.t, {"resp": g.resp[i], "true_phase": g.phase[i]}, meta)
        except OSError as e:
            raise InputError(f"{out}: cannot write ({e.strerror})") from None
    truth = f"true 60-s PLV {plv60:.2f}" if math.isfinite(plv60) else "no true 60-s PLV: shorter than 60 s"
    print(f"wrote {out / 'A.csv'} and {out / 'B.csv'} ({truth})")
    return 0


def _write_stdout(text: str) -> None:
    """Write ``text`` to stdout whole. Unbuffered (``python -u``, PYTHONUNBUFFERED), a raw write may take
    only part of it when the reader goes away, and the text layer drops the rest without an error: the
    command then ended with 0 under ``| head -c 100``. The loop's next write raises the broken pipe."""
    buf = getattr(sys.stdout, "buffer", None)
    if buf is None:  # a text-only stream (a test's capture)
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    view = memoryview(text.encode(sys.stdout.encoding or "utf-8"))
    while view:
        n = buf.write(view)
        view = view[n if n is not None else 0 :]
    buf.flush()


def _silence_stdout() -> None:
    """Point stdout at the null device so that the interpreter's final flush cannot fail again."""
    import contextlib
    import io
    import os

    with contextlib.suppress(OSError):
        sys.stdout.flush()
    # ValueError / UnsupportedOperation: no real file descriptor behind stdout (tests capture it).
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _lenient_output() -> None:
    """Text that the output's encoding cannot hold is written escaped (``\\u547c``) instead of ending the
    command on a UnicodeEncodeError: on Windows, output redirected to a file or a pipe is in the ANSI code
    page (cp1252), which has no letters for a file named 呼吸_A.csv, and a finished session's summary was lost
    to a traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "strict") == "strict":
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def _reader_gone(e: OSError) -> bool:
    """Whether an OSError is the reader of our output going away. Python says BrokenPipeError, except on
    Windows, where a write to a closed pipe fails with EINVAL (cpython issue 79935): then stdout no
    longer takes a flush."""
    if isinstance(e, BrokenPipeError):
        return True
    if sys.platform != "win32" or e.errno != errno.EINVAL or e.filename is not None:
        return False
    try:
        sys.stdout.flush()
    except OSError:
        return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``breathsync`` command; returns the exit code."""
    _lenient_output()
    parser = build_parser()
    arg_list = list(sys.argv[1:] if argv is None else argv)
    # 'analyse', the spelling of the help's own words, is analyze too. Not a choice of the parser's (nor an
    # alias=): it would be listed in every "invalid choice" line and, as an alias, in the commands' help.
    # The command is the first argument that is not an option (the top level's options take no value).
    first = next((i for i, x in enumerate(arg_list) if not x.startswith("-")), None)
    if first is not None and arg_list[first] == "analyse":
        arg_list[first] = "analyze"
    args, extra = parser.parse_known_args(arg_list)
    if extra:
        # Said by the command's own parser: "breathsync analyze: ... (see breathsync analyze --help)", the help
        # that lists its options (the top level's said "see breathsync --help", which does not).
        sub = parser.commands.get(args.command) if args.command else None
        (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "analyze":
            return _cmd_analyze(args)
        if args.command in ("run", "demo"):
            return _cmd_live(args, process=argv is None)
        if args.command == "simulate":
            return _cmd_simulate(args)
        if args.command == "decode":
            return _cmd_decode(args)
        if args.command == "scan":
            return _cmd_scan(args)
        if args.command == "report":
            import os.path

            from breathsync.report import write_report

            out = args.out or (
                os.path.join(args.paths[0], "report.html") if os.path.isdir(args.paths[0]) else "report.html"
            )
            _check_columns(args.column)
            if out == "-":  # the page alone on stdout, for a pipe (as analyze's --json -)
                from breathsync.report import build_report

                page = build_report(args.paths, window_s=args.window, columns=args.column, rate_hz=args.rate)
                _write_stdout(page)
                return 0
            _check_not_an_input(out, args.paths, "--out", replaceable=("report.html",))
            _check_not_a_recording(out, "--out")
            write_report(args.paths, out, window_s=args.window, columns=args.column, rate_hz=args.rate)
            print(f"wrote {out}")
            return 0
        if args.command == "export":
            from breathsync.export_bids import export_bids

            out_dir = Path(args.bids)
            before = {p.name for p in out_dir.glob("sub-*")} if out_dir.is_dir() else set()
            files = export_bids(args.session, args.bids, session_label=args.bids_session)
            print(f"wrote {len(files)} files to {args.bids}")
            from breathsync.io.session_folder import left_out_notes

            for note in left_out_notes([args.session]):  # as analyze and report say it
                print(f"note: {note}")
            # A BIDS subject is a person: a label already in the dataset (from another session) is taken to be
            # the same person, which A and B of two different pairs are not.
            again = sorted(
                {p.relative_to(out_dir).parts[0] for p in files if p.is_relative_to(out_dir)} & before
            )
            if again:
                print(
                    f"note: {', '.join(again)} already had a session in {args.bids}: each is taken to be the "
                    "same person as there (a label names one person across a dataset: for several pairs, "
                    "record them as D01A, D01B, D02A, ...)"
                )
            return 0
    except InputError as e:
        print(f"breathsync: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``| head``): stop quietly, as command-line tools do.
        _silence_stdout()
        return 141
    except OSError as e:
        if _reader_gone(e):  # Windows' way of saying BrokenPipeError
            _silence_stdout()
            return 141
        # A machine fault outside the input (a full disk or /dev/full as stdout): one line, no traceback.
        _silence_stdout()
        where = f"{e.filename}: " if e.filename else ""
        print(
            f"breathsync: error: {where}{e.strerror or e} (a fault of the machine, not of the input: "
            "check the disk and where the output goes)",
            file=sys.stderr,
        )
        return 1
    except MemoryError:
        # A recording bigger than this machine's memory (the longest accepted, 48 h at 1 kHz, is 173 million
        # rows).
        print(
            f"breathsync: error: {args.command}: not enough memory for this input: split long recordings "
            "into parts (or resample them) and analyse the parts",
            file=sys.stderr,
        )
        return 1
    parser.error(f"unknown command {args.command!r}")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
