"""Reading and writing recordings (the breathsync CSV format: see :mod:`breathsync.io.csvfile`)."""

from __future__ import annotations

from breathsync.io.csvfile import (
    Recording,
    RecordingWriter,
    SignalKind,
    read_recording,
    write_recording,
)

__all__ = ["Recording", "RecordingWriter", "SignalKind", "read_recording", "write_recording"]
