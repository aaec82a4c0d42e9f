"""The dashboard (PyQt6 + pyqtgraph): a thin view over a live session's snapshots.

Importing this package does not import Qt; :func:`run_dashboard` does.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from breathsync.ui.app import DashboardResult

__all__ = ["display_available", "run_dashboard"]


def display_available() -> bool:
    """Whether a window can be shown: a Qt platform chosen explicitly, or a desktop session."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_dashboard(*args: Any, **kwargs: Any) -> DashboardResult:
    """Open the dashboard and run a session in it (see :func:`breathsync.ui.app.run_dashboard`)."""
    from breathsync.ui.app import run_dashboard as run

    return run(*args, **kwargs)
