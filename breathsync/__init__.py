"""breathsync: breathing-synchrony biofeedback.

Two people wear respiration belts or heart-rate straps; breathsync extracts each person's breathing phase
live and tells how well their breathing is synchronised (phase coherence corrected for chance).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
