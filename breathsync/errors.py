"""Errors that reach the user as one clear line (the CLI prints them and exits with code 2)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


class InputError(Exception):
    """Bad input from a file, a device or the command line.

    The message is one line that says what is wrong and what to do; the CLI prints it without a traceback
    and exits with code 2.
    """


class InternalError(Exception):
    """A bug in breathsync found while it runs (a device decoder that raised something unexpected, say): not
    bad input. A session ends on it, keeping what it recorded, and it reaches the user with its traceback
    (exit code 1)."""


class RecordingError(InputError):
    """A recording file cannot be used: names the file, the line (when there is one) and the problem."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


@contextlib.contextmanager
def output_errors(path: object, what: str) -> Iterator[None]:
    """Writing an output the user named: an OSError (unwritable folder, full disk) becomes the one-line
    InputError "PATH: cannot write WHAT (reason)". A reader that went away (``--json /dev/stdout | head``)
    stays a BrokenPipeError: the CLI's quiet exit, as on stdout, not an error of the path."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as e:
        raise InputError(f"{path}: cannot write {what} ({e.strerror})") from None


def file_in_the_way(path: str | os.PathLike[str]) -> Path | None:
    """The nearest existing folder above ``path`` when it is not a folder but a file (or another non-folder,
    such as a device), which no folder or file can be made in: ``afile`` for ``afile/sub``, ``/etc/passwd``
    for ``/etc/passwd/x.png``; None when the nearest existing one is a folder (or nothing above exists).
    For messages that name what is in the way ("Not a directory" did not)."""
    for parent in Path(path).parents:  # as given: a relative path's end at "."
        try:
            if parent.exists():
                return None if parent.is_dir() else parent
        except OSError:
            return None
    return None
