"""The dashboard (PyQt6 + pyqtgraph): a thin view over a live session's snapshots.

Importing this package does not import Qt; :func:`run_dashboard` does.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from breathsync.errors import InputError, file_in_the_way

if TYPE_CHECKING:
    from breathsync.ui.app import DashboardResult

__all__ = ["SCREENSHOT_SUFFIXES", "check_screenshot_path", "display_available", "run_dashboard"]

#: Picture formats ``--screenshot`` writes (Qt's own PNG and BMP writers and the JPEG plugin PyQt6 ships).
SCREENSHOT_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def display_available() -> bool:
    """Whether a window can be shown: a Qt platform chosen explicitly, or a desktop session.

    Linux and the like: an X11 or Wayland display. macOS and Windows always have a desktop, but a process
    started over SSH cannot show a window on it (on macOS the Cocoa window would open on the Mac's own
    screen, if at all), so there the session is a desktop one unless SSH_CONNECTION or SSH_TTY says SSH;
    QT_QPA_PLATFORM still counts. A DISPLAY does not there: PyQt6's wheels for macOS and Windows draw
    with Cocoa and Windows' own windows, never on an X server (`ssh -X` to a Mac with XQuartz sets one).
    """
    env = os.environ
    if env.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform in ("win32", "darwin"):
        return not (env.get("SSH_CONNECTION") or env.get("SSH_TTY"))
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def check_screenshot_path(path: str) -> None:
    """InputError (one line) unless a picture can be written to ``path``: a file name with a picture suffix
    in a folder that exists and takes new files. Checked before a session starts, so that a session is never
    run for a picture that cannot be saved."""
    opt = f"--screenshot {path}"
    if not path.strip():
        raise InputError("--screenshot needs a file name, e.g. --screenshot dashboard.png")
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{opt}: that is a folder: give a file name, e.g. {target / 'dashboard.png'}")
    if target.suffix.lower() not in SCREENSHOT_SUFFIXES:
        raise InputError(
            f"{opt}: the picture is saved as PNG: give a file name ending in .png, e.g. "
            f"{target.with_suffix('.png')} (.jpg and .bmp work too)"
        )
    folder = target.parent
    if not folder.is_dir():
        blocking = file_in_the_way(target)
        if blocking is not None:  # it said "the folder /etc/passwd does not exist" of a file
            raise InputError(
                f"{opt}: {blocking} is a file, not a folder, so nothing can be saved in it: choose a file in "
                f"a folder, e.g. {blocking.parent / target.name}"
            )
        raise InputError(f"{opt}: the folder {folder} does not exist: create it or choose another folder")
    try:
        if target.exists():
            with open(target, "ab"):  # opened for writing, not changed
                pass
        else:  # a real try, not os.access: read-only file systems, and root ignores permission bits
            fd, probe = tempfile.mkstemp(prefix=".breathsync-", suffix=".tmp", dir=folder)
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(probe)
    except OSError as e:
        raise InputError(
            f"{opt}: cannot write there ({e.strerror or e}): choose a file in a folder you can write to"
        ) from None


def run_dashboard(*args: Any, **kwargs: Any) -> DashboardResult:
    """Open the dashboard and run a session in it (see :func:`breathsync.ui.app.run_dashboard`)."""
    from breathsync.ui.app import run_dashboard as run

    return run(*args, **kwargs)
