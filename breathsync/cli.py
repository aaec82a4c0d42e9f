"""The ``breathsync`` command line."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from breathsync import __version__
from breathsync.errors import InputError


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage stays available through --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="breathsync",
        description="Breathing-synchrony biofeedback: breathing phase, breaths, rate and pair synchrony.",
    )
    p.add_argument("--version", action="version", version=f"breathsync {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    a = sub.add_parser(
        "analyze",
        help="analyse recordings (one CSV per participant) and their pair synchrony",
        description="Analyse breathing recordings: per person breaths, rate, live and offline phase; "
        "per pair PLV, chance-corrected sync score, time in sync, relative phase, who led.",
    )
    a.add_argument("files", nargs="+", metavar="FILE", help="recording CSV files (one per participant)")
    a.add_argument("--json", metavar="OUT", help="write the full result as JSON to OUT ('-' = stdout)")
    a.add_argument(
        "--window",
        type=_positive,
        default=30.0,
        metavar="S",
        help="PLV window in seconds (default 30)",
    )
    a.add_argument(
        "--rate", type=_positive, metavar="HZ", help="sampling rate for files without a time column"
    )
    a.add_argument("--invert", action="store_true", help="the belts fall on inhale: flip their polarity")
    return p


def _cmd_analyze(args: argparse.Namespace) -> int:
    from breathsync.analysis import analyse_files, summary_text

    for f in args.files:
        if os.path.isdir(f):
            raise InputError(f"{f}: is a folder; give the recording CSV files of the participants")
    result = analyse_files(args.files, window_s=args.window, rate_hz=args.rate, invert=args.invert)
    text = json.dumps(result, separators=(",", ":"), allow_nan=False)
    if args.json == "-":
        sys.stdout.write(text + "\n")
        return 0
    print(summary_text(result))
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except OSError as e:
            raise InputError(f"{args.json}: cannot write the JSON output ({e.strerror})") from None
        print(f"wrote {args.json}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``breathsync`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "analyze":
            return _cmd_analyze(args)
    except InputError as e:
        print(f"breathsync: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    parser.error(f"unknown command {args.command!r}")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
