"""The ``breathsync`` command's entry point, before anything heavy is imported.

Importing the command line takes NumPy and SciPy, a fraction of a second in which a Ctrl-C would end the
command with a KeyboardInterrupt traceback: caught here, it ends the command quietly with the exit code a
shell gives an interrupted command (130), as a Ctrl-C does once the command runs (:func:`breathsync.cli.main`).
"""

from __future__ import annotations

from collections.abc import Sequence

#: The exit code of a command ended by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``breathsync`` command (see :func:`breathsync.cli.main`); 130 on a Ctrl-C at any point."""
    try:
        from breathsync.cli import main as cli_main

        return cli_main(argv)
    except KeyboardInterrupt:
        return INTERRUPTED
