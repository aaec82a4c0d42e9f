"""What the command line does where Windows differs: output in a code page that cannot hold a file's name,
and a closed pipe that Windows reports as EINVAL."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

SAMPLES = REPO / "sample_signals"


def test_a_name_the_output_encoding_cannot_hold_is_escaped_not_a_traceback(tmp_path: Path) -> None:
    # Windows writes redirected output in the ANSI code page (cp1252): `analyze 呼吸_A.csv B.csv > out.txt`
    # ended on a UnicodeEncodeError with nothing printed (exit 1), and a finished session's summary too.
    a = tmp_path / "呼吸_A.csv"
    shutil.copy(SAMPLES / "pair_sync_A.csv", a)
    env = {**os.environ, "PYTHONIOENCODING": "cp1252", "PYTHONUTF8": "0"}
    r = subprocess.run(
        [sys.executable, "-m", "breathsync", "analyze", str(a), str(SAMPLES / "pair_sync_B.csv")],
        capture_output=True,
        env=env,
        timeout=60,
    )
    out, err = r.stdout.decode("cp1252"), r.stderr.decode("cp1252")
    assert r.returncode == 0, err
    assert "A: \\u547c\\u5438_A.csv (resp)" in out and "A-B: in sync" in out
    assert "15.2 ± 1.3 breaths/min" in out  # what cp1252 has is written as it is
    assert "Traceback" not in err


def test_windows_einval_on_a_closed_pipe_is_the_reader_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Windows reports a write to a closed pipe as OSError(EINVAL), not BrokenPipeError (cpython issue
    # 79935): `analyze --json - | more` quitting early read as "a fault of the machine", exit 1.
    import io

    from breathsync import cli

    class Closed(io.StringIO):
        def flush(self) -> None:
            raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "stdout", Closed())
    assert cli._reader_gone(OSError(errno.EINVAL, "Invalid argument"))
    assert cli._reader_gone(BrokenPipeError())
    assert not cli._reader_gone(OSError(errno.ENOSPC, "No space left on device"))
    assert not cli._reader_gone(OSError(errno.EINVAL, "Invalid argument", "some.csv"))  # a file's own error
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # stdout still takes a flush: a real EINVAL
    assert not cli._reader_gone(OSError(errno.EINVAL, "Invalid argument"))
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(sys, "stdout", Closed())
    assert not cli._reader_gone(OSError(errno.EINVAL, "Invalid argument"))  # elsewhere EINVAL is EINVAL
