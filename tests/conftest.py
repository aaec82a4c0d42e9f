"""Shared test helpers: synthetic breathing with a known phase."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """No run without ../shared/data: tests read the recordings there (some decide at collection which files
    to read), and without them dozens fail or error on a missing file, or read nothing and pass. One line
    instead, before any test (and before xdist starts its workers), and a failed run, never a skip."""
    if not SHARED_DATA.is_dir():
        raise pytest.UsageError(
            f"{SHARED_DATA} is missing: the tests need the project's shared data folder beside the repo "
            "(../shared/data, the recordings the tests read)"
        )


def posix_only(lacks: str) -> pytest.MarkDecorator:
    """Skip a test (or a parameter, a module's ``pytestmark``) on Windows only, which lacks ``lacks`` (e.g.
    "os.mkfifo", "POSIX file modes"). The condition is ``sys.platform == "win32"`` and nothing else: on Linux,
    where CI runs, and on macOS the test runs as ever, and a missing tool or service there is a failure, never
    a skip (tests/test_posix_only.py checks it)."""
    return pytest.mark.skipif(sys.platform == "win32", reason=f"not on Windows: {lacks}")


def symlink_or_skip(link: Path, target: str | os.PathLike[str]) -> None:
    """``link.symlink_to(target)``; on Windows, where making a symbolic link needs Developer Mode (or an
    administrator), a refusal skips the test. Elsewhere an error is the test's failure, as before."""
    try:
        link.symlink_to(target)
    except OSError:
        if sys.platform == "win32":
            pytest.skip("not on Windows without Developer Mode: symbolic links")
        raise


def in_chunks(process: Any, t: np.ndarray, y: np.ndarray, sizes: list[int]) -> list[Any]:
    """``process`` (a streaming stage's ``process(t, y)``) fed ``t, y`` in chunks of ``sizes`` samples (the rest
    in one last chunk): its outputs, for the chunk-size invariance tests."""
    parts, i = [], 0
    cuts = np.cumsum(sizes)
    for c in [*cuts[cuts < t.size].tolist(), t.size]:
        parts.append(process(t[i:c], y[i:c]))
        i = c
    return parts


def assert_pipeline_chunk_invariant(t: np.ndarray, y: np.ndarray, sizes: list[int]) -> None:
    """The live pipeline's output for ``t, y`` is the same fed whole or in chunks of ``sizes`` samples: phase,
    rate, quality and breaths."""
    from breathsync.dsp.pipeline import PipelineOutput, RespPipeline

    whole = RespPipeline().process(t, y)
    joined = PipelineOutput.concat(in_chunks(RespPipeline().process, t, y, sizes))
    np.testing.assert_array_equal(joined.phase, whole.phase)
    np.testing.assert_array_equal(joined.rate_bpm, whole.rate_bpm)
    np.testing.assert_array_equal(joined.quality, whole.quality)
    assert joined.breaths == whole.breaths


def breathing(
    duration_s: float = 120.0,
    fs_hz: float = 50.0,
    rate_bpm: float = 15.0,
    inhale_frac: float = 0.4,
    noise: float = 0.02,
    seed: int = 0,
    t0: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, y, true_phase): a belt-like waveform with inhale shorter than exhale.

    The phase runs 0 -> pi during the inhale (first ``inhale_frac`` of each cycle) and pi -> 2*pi during
    the exhale; y = (1 - cos(phase)) / 2, so troughs are inhale onsets.
    """
    rng = np.random.default_rng(seed)
    t = t0 + np.arange(0.0, duration_s, 1.0 / fs_hz)
    cyc = t * rate_bpm / 60.0
    frac = cyc % 1.0
    ph = np.where(
        frac < inhale_frac,
        np.pi * frac / inhale_frac,
        np.pi + np.pi * (frac - inhale_frac) / (1 - inhale_frac),
    )
    y = 0.5 * (1 - np.cos(ph)) + noise * rng.standard_normal(t.size)
    return t, y, ph


def circ_err_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.abs(np.angle(np.exp(1j * (a - b)))))


@pytest.fixture
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"{SHARED_DATA} missing: the tests need ../shared/data beside the repo"
    return SHARED_DATA


def make_session_folder(
    path: Path, info: dict[str, Any] | None = None, meta: dict[str, str] | None = None, ecg: bool = False
) -> Path:
    """A small session folder: participants A and B (60 s of breathing at 25 Hz each, plus a small ECG
    column with ``ecg``; ``meta``: extra metadata lines), session.json updated with ``info``."""
    from breathsync.io.csvfile import write_recording

    path.mkdir()
    t = np.arange(0, 60, 0.04)
    for i, lab in enumerate(("A", "B")):
        cols = {"resp": np.sin(2 * np.pi * 0.25 * t + i)}
        if ecg:
            cols["ecg"] = 0.004 * np.sin(2 * np.pi * 1.2 * t)
        write_recording(path / f"{lab}.csv", t, cols, {"participant": lab, **(meta or {})})
    d: dict[str, Any] = {
        "format": "breathsync-session",
        "participants": [
            {"label": "A", "source": {"kind": "sim"}},
            {"label": "B", "source": {"kind": "sim"}},
        ],
        "files": {
            "A.csv": {"kind": "raw", "participant": "A"},
            "B.csv": {"kind": "raw", "participant": "B"},
        },
    }
    d.update(info or {})
    (path / "session.json").write_text(json.dumps(d), encoding="utf-8")
    return path


def run_breathsync(
    *args: str | os.PathLike[str],
    timeout: float = 60,
    cwd: str | os.PathLike[str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    stdout: IO[Any] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m breathsync *args`` in a child process, as text, its stdout and stderr captured.

    The child runs this checkout's code whatever ``cwd`` is: :data:`REPO` goes first on its PYTHONPATH (the
    environment's may name an editable install of another clone, which ``-m`` would otherwise import
    outside the repo).

    ``extra_env``: variables set on top of this process's environment (e.g. QT_QPA_PLATFORM); ``stdout``:
    an open file to send the child's stdout to instead of capturing it (stderr is captured either way).
    """
    env = {**os.environ, **(extra_env or {})}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "breathsync", *args],
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )


def run_main(*args: str | os.PathLike[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The ``breathsync`` command run in this process (:func:`breathsync.entry.main`, what
    ``python -m breathsync`` runs), as :func:`run_breathsync` reports a child: exit code, stdout and stderr
    as text. Saves a child's start and NumPy/SciPy imports (about 1 s each) where a test is about what the
    command says and its exit code, not about the process (signals, file descriptors, the environment, the
    interpreter's own output): those keep :func:`run_breathsync`.

    As the interpreter would: ``SystemExit`` (argparse's errors) gives its code, and any other exception
    escaping the command is written to stderr as a traceback, with exit code 1. ``timeout``: where POSIX
    timers are (a real-time SIGALRM, in the main thread), a command still running after it is stopped by a
    ``BaseException`` raised there (not an ``Exception``, which the command's own handlers would take for a
    fault of the machine), which gives a traceback and exit code 1, as a child's timeout fails its test."""
    import contextlib
    import io
    import signal
    import threading
    import traceback

    from breathsync.entry import main

    out, err = io.StringIO(), io.StringIO()
    argv = [os.fspath(a) for a in args]

    class Expired(BaseException):  # not an Exception: the command's own handlers must not take it for theirs
        pass

    def expired(signum: int, frame: object) -> None:
        raise Expired(f"breathsync {' '.join(argv)}: still running after {timeout:g} s")

    timer = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGALRM, expired) if timer else None
    if timer:
        signal.setitimer(signal.ITIMER_REAL, timeout)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code: int | str | None = main(argv)
        except SystemExit as e:
            code = e.code
        except (Exception, Expired):
            traceback.print_exc(file=err)
            code = 1
        finally:
            if timer:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, before)
    if isinstance(code, str):  # sys.exit("text"): the text on stderr, exit code 1
        print(code, file=err)
        code = 1
    return subprocess.CompletedProcess(argv, code or 0, out.getvalue(), err.getvalue())


def bids_validator_issues(folder: Path, timeout_s: float = 180) -> list[tuple[str, str, str | None]]:
    """(severity, code, subCode) of every issue the BIDS project's own validator (bids-validator-deno, a dev
    dependency, offline) reports on ``folder``."""
    validator = Path(sysconfig.get_path("scripts")) / "bids-validator-deno"
    r = subprocess.run(
        [str(validator), str(folder), "--format", "json"],
        capture_output=True,
        encoding="utf-8",  # Deno writes UTF-8 whatever the locale (Windows: not the ANSI code page)
        timeout=timeout_s,
    )
    report = json.loads(r.stdout)
    issues = [(i["severity"], i["code"], i.get("subCode")) for i in report["issues"]["issues"]]
    errors = [i for i in issues if i[0] == "error"]
    assert errors or r.returncode == 0, r.stderr
    return issues


def reading_error(path: Path, rate_hz: float | None = None) -> str:
    """The reader's error for ``path`` (read with ``rate_hz``), checked to be one line naming the file."""
    from breathsync.io.csvfile import RecordingError, read_recording

    with pytest.raises(RecordingError) as info:
        read_recording(path, rate_hz)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def run_collecting(
    session: Any,
    duration_s: float | None,
    until: Callable[[Any], bool] | None = None,
    why: str = "the test saw what it waited for",
) -> list[Any]:
    """Run a :class:`breathsync.session.Session` for ``duration_s`` of session time (None: until its sources
    end); its snapshots.

    ``until``: end the session at the first snapshot for which it holds, ``duration_s`` being then the
    longest it may take, not a wait: a test waiting for something to happen ends when it has, loaded or not.
    The final snapshot (the last one returned) comes right after, as the session stops. ``why``: the stop's
    words (a user's Ctrl-C: ``breathsync.live.stop_words(signal.SIGINT)``)."""
    import asyncio

    snaps: list[Any] = []

    class Collect:
        def open(self, info: object) -> None: ...
        def on_chunk(self, label: str, chunk: object) -> None: ...
        def on_snapshot(self, snap: Any) -> None:
            snaps.append(snap)
            if until is not None and until(snap):
                session.request_stop(why)

        def close(self, info: object) -> None: ...

    session.add_sink(Collect())
    asyncio.run(session.run(duration_s))
    return snaps


def ble_session_info(device: str, label: str = "A") -> Any:
    """The SessionInfo of a session with one participant on a Bluetooth ``device`` (a profile's name), for
    tests that drive a Recorder directly."""
    from breathsync.session_types import SessionInfo

    return SessionInfo(
        participants=[{"label": label, "source": {"kind": "ble", "device": device}}],
        settings={},
        start_utc="2026-11-29T12:00:00.000+00:00",
        software_version="test",
    )
