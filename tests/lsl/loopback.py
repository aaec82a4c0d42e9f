"""LSL tests run only inside a network namespace that holds nothing but loopback.

LSL discovery multicasts and broadcasts by default, so no test here may create an outlet or resolve streams
on the host's network. Every test module in this folder ends with ``loopback_only(globals())``, which wraps
each of its ``test_*`` functions: in the normal suite the wrapper does not run the test body. A wrapped
test with no result yet starts a child process with ``unshare -n`` (a new, empty network namespace; needs
root): it brings ``lo`` up, points liblsl at a configuration (env LSLAPICFG) that disables IPv6, limits
discovery to this machine and names 127.0.0.1 as the only peer, and runs there, in one pytest, that test
and the module's other wrapped tests due next in this process (just the one, if one was asked for; see
below), not one child per test (about 2.4 s of start, imports and collection each). Each outer test then passes or fails with its own result there: a failure or error shows the child's
own report (assertion and traceback, captured output); a test the child skipped, did not report or did not
finish is a failure; a missing ``unshare``, ``ip``, root or pylsl is a failure, never a skip. Inside the
child the wrapper first checks that loopback is really the only interface, then runs the body.

A test still running after ``CHILD_TIMEOUT_S`` in the child fails (with every thread's traceback) and the
child ends; the tests it did not get to then run in a new namespace. The tests of one namespace share one
process, and liblsl's state in it, as any tests do in one pytest process. Under pytest-xdist (``-n``) a
module's tests may go to several workers (and ``--dist loadgroup`` keeps no ``xdist_group`` together with
pytest 9.2, pytest-xdist issue #1386): each worker runs in one namespace the module's tests it has been
given, read from its queue, and again for any it is given later.

(A helper module rather than a conftest.py: a second conftest module would shadow ``tests/conftest.py``,
which other tests import as ``conftest``.)
"""

from __future__ import annotations

import faulthandler
import functools
import inspect
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
NETNS_ENV = "BREATHSYNC_LSL_NETNS"
LSL_CONFIG = "[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {127.0.0.1}\n"
# The longest one test (setup, body, teardown) may take in the child, and about the longest it may say nothing.
CHILD_TIMEOUT_S = 180
_WRAPPED = "_breathsync_loopback_only"
_RESULTS_FIXTURE = "_loopback_namespace_results"

# The child: this folder first on sys.path (the test modules' own import of ``loopback`` is then this same
# module), pytest with the ChildReport plugin writing each test's reports to the file given first.
_CHILD_MAIN = (
    "import sys; sys.path.insert(0, sys.argv[1]); import loopback, pytest; "
    "sys.exit(pytest.main(sys.argv[3:], plugins=[loopback.ChildReport(sys.argv[2])]))"
)


def in_loopback_namespace() -> bool:
    """True inside the child started by :func:`_run_in_namespace`; refuses to say so on a real network."""
    if os.environ.get(NETNS_ENV) != "1":
        return False
    names = sorted(name for _, name in socket.if_nameindex())
    if names != ["lo"]:
        raise RuntimeError(f"LSL test outside a loopback-only network namespace (interfaces: {names})")
    if "LSLAPICFG" not in os.environ:
        raise RuntimeError("LSL test without LSLAPICFG")
    return True


class ChildReport:
    """The child's pytest plugin: one JSON line per test started and per report (setup, call, teardown; a
    collection error), flushed at once; a test still running after CHILD_TIMEOUT_S dumps every thread's
    traceback to ``<report>.hang`` and ends the process (faulthandler, which needs no working Python)."""

    def __init__(self, path: str) -> None:
        self.out = open(path, "a", encoding="utf-8")  # noqa: SIM115 (open for the whole session)
        self.hang = open(path + ".hang", "w", encoding="utf-8")  # noqa: SIM115

    def _write(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        self._write({"start": item.nodeid})
        faulthandler.dump_traceback_later(CHILD_TIMEOUT_S, exit=True, file=self.hang)
        try:
            return (yield)
        finally:
            faulthandler.cancel_dump_traceback_later()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._write(
            {
                "nodeid": report.nodeid,
                "when": report.when,
                "outcome": report.outcome,
                "xfail": hasattr(report, "wasxfail"),
                "text": report.longreprtext,
                "crash": str(getattr(getattr(report.longrepr, "reprcrash", None), "message", "")),
                "sections": [[title, text] for title, text in report.sections],
            }
        )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._write({"collect": report.nodeid, "text": report.longreprtext})


class NamespaceRun:
    """The child's reports on some of one module's tests (:func:`_run_in_namespace`)."""

    def __init__(self) -> None:
        self.reports: dict[str, list[dict[str, Any]]] = {}  # per node id: its start, then each report
        self.problems: list[str] = []  # collection errors, exit codes, output: what went wrong
        # Per node id: the child died or hung after the test had passed (a crash at the interpreter's exit,
        # a thread that never ends): not a pass, though its own reports are complete.
        self.after: dict[str, str] = {}

    def failure(self, nodeid: str) -> str | None:
        """None if ``nodeid`` ran in the namespace and passed; else the failure text for the outer test."""
        reports = self.reports.get(nodeid)
        if reports is None:
            return "did not run in the loopback-only namespace:\n" + "\n".join(self.problems)
        parts, passed = [], False
        for r in reports:
            if "hang" in r or "died" in r:
                parts.append(r.get("hang") or r["died"])
            elif r["outcome"] == "failed":
                what = "failed" if r["when"] == "call" else f"error at {r['when']}"
                crash = r.get("crash", "").partition("\n")[0]
                parts.append(f"{what} in the loopback-only namespace: {crash}\n{r['text']}")
                parts += [f"{'-' * 10} {title} {'-' * 10}\n{text}" for title, text in r["sections"]]
            elif r["outcome"] == "skipped":
                how = "xfailed" if r["xfail"] else "skipped"
                parts.append(f"{how} in the loopback-only namespace, which is a failure here:\n{r['text']}")
            elif r["when"] == "call":
                passed = r["outcome"] == "passed"
        if parts:
            return "\n".join(parts)
        if not passed or [r["when"] for r in reports] != ["setup", "call", "teardown"]:
            return (
                f"did not finish in the loopback-only namespace ({[r['when'] for r in reports]}):\n"
                + "\n".join(self.problems)
            )
        return self.after.get(nodeid)


def _run_in_namespace(nodeids: list[str], workdir: Path) -> NamespaceRun:
    """Run ``nodeids`` (of one module) in one pytest in a loopback-only network namespace; a test that hangs
    ends that child, and the tests it did not get to run in a new one."""
    cfg = workdir / "lsl_api.cfg"
    cfg.write_text(LSL_CONFIG, encoding="utf-8")
    env = dict(os.environ, LSLAPICFG=str(cfg), **{NETNS_ENV: "1"})
    env.pop("PYTEST_CURRENT_TEST", None)
    run = NamespaceRun()
    todo = list(nodeids)
    for attempt in range(len(nodeids)):
        report = workdir / f"report-{attempt}.jsonl"
        report.touch()
        cmd = [
            "unshare",
            "-n",
            "sh",
            "-c",
            'ip link set lo up && exec "$0" "$@"',
            sys.executable,
            "-c",
            _CHILD_MAIN,
            str(HERE),
            str(report),
            "-q",
            "-p",
            "no:cacheprovider",
            *todo,
        ]
        out = workdir / f"output-{attempt}.txt"
        with open(out, "w+b") as output:
            try:
                proc = subprocess.Popen(
                    cmd, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
                )
            except OSError as e:
                run.problems.append(f"could not start a loopback-only network namespace: {e}")
                return run
            # The child may say nothing for CHILD_TIMEOUT_S (it ends a test that takes longer itself), and a
            # bit more: then it is stuck outside a test, and stopped.
            last, size = time.monotonic(), -1
            try:
                while proc.poll() is None:
                    if report.stat().st_size != size:
                        last, size = time.monotonic(), report.stat().st_size
                    elif time.monotonic() - last > CHILD_TIMEOUT_S + 30:
                        run.problems.append(
                            f"the namespace's pytest said nothing for {CHILD_TIMEOUT_S + 30} s: stopped"
                        )
                        break
                    time.sleep(0.1)
            finally:  # stuck, or the outer run interrupted (Ctrl+C): the child and what it started end
                if proc.poll() is None:  # not waited for yet: still its process group's leader
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            output.seek(0)
            text = output.read().decode("utf-8", "replace")
        started = None
        for line in report.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                r = json.loads(line)
            except ValueError:  # a line cut short by the child's end: what it was about did not finish
                continue
            if "start" in r:
                started = r["start"]
                run.reports[started] = []
            elif "collect" in r:
                run.problems.append(f"collecting {r['collect']} failed in the namespace:\n{r['text']}")
            else:
                run.reports.setdefault(r["nodeid"], []).append(r)
                if r["when"] == "teardown":
                    started = None
        ended = f"the namespace's pytest ended with exit code {proc.returncode}:\n{text[-6000:]}"
        run.problems.append(ended)
        hang_file = Path(f"{report}.hang")
        hang = hang_file.read_text(encoding="utf-8", errors="replace") if hang_file.exists() else ""
        if started is None:
            # Done, or ended outside a test. Exit codes 0 and 1 are pytest's own (1: a test failed, said by
            # its reports); anything else (a crash at the interpreter's exit, a child stopped for saying
            # nothing: a thread that never ends) is no pass for the tests this child ran.
            if proc.returncode not in (0, 1):
                for nodeid in todo:
                    run.after[nodeid] = (
                        f"the loopback-only namespace's pytest died or hung after its tests: {ended}"
                    )
            break  # what did not run says so
        if hang:
            run.reports[started].append(
                {"hang": f"still running after {CHILD_TIMEOUT_S} s in the loopback-only namespace:\n{hang}"}
            )
        else:  # the child died in this test (a crash in liblsl): the tests after it run in a new one
            run.reports[started].append(
                {"died": f"the loopback-only namespace's pytest died in this test: {ended}"}
            )
        todo = todo[todo.index(started) + 1 :] if started in todo else []
        if not todo:
            break
    return run


def _upcoming(session: pytest.Session) -> list[pytest.Item] | None:
    """The tests this pytest-xdist worker has been given and not yet started, in order (the one running
    first); None outside a worker. Read from xdist's WorkerInteractor (its queue of item indices): if that
    ever changes, an empty list, and each test then runs in a namespace of its own, as before."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    for plugin in session.config.pluginmanager.get_plugins():
        if type(plugin).__name__ == "WorkerInteractor" and hasattr(plugin, "torun"):
            try:
                with plugin.torun.lock() as queue:
                    indices = [plugin.item_index, plugin.nextitem_index, *queue]
                return [session.items[i] for i in indices if isinstance(i, int) and not isinstance(i, bool)]
            except Exception:  # another xdist: one test at a time
                return []
    return []


class _ModuleRuns:
    """A module's results in the namespace, run as needed: when a test has none yet, one namespace runs it
    with the module's other wrapped tests due next in this process (on this xdist worker, those it has been
    given; without xdist, the rest of the session's)."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.module = request.module
        self.session = request.session
        self.runs: dict[str, NamespaceRun] = {}

    def failure(self, item: pytest.Item) -> str | None:
        if item.nodeid not in self.runs:
            due = _upcoming(self.session)
            if due is None:
                items = self.session.items
                due = items[items.index(item) :] if item in items else []
            nodeids = [item.nodeid]
            for other in due:
                if (
                    getattr(other, "module", None) is self.module
                    and getattr(getattr(other, "obj", None), _WRAPPED, False)
                    and other.nodeid not in self.runs
                    and other.nodeid not in nodeids
                ):
                    nodeids.append(other.nodeid)
            workdir = Path(tempfile.mkdtemp(prefix="breathsync-lsl-"))
            try:
                run = _run_in_namespace(nodeids, workdir)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            self.runs.update(dict.fromkeys(nodeids, run))
        # Used once: a test run again (a rerun plugin) gets a namespace of its own, not this result.
        return self.runs.pop(item.nodeid).failure(item.nodeid)


@pytest.fixture(scope="module")
def _loopback_namespace_results(request: pytest.FixtureRequest) -> _ModuleRuns:
    """The module's namespace runs (:class:`_ModuleRuns`)."""
    return _ModuleRuns(request)


def _wrap(fn: Callable[..., None]) -> Callable[..., None]:
    sig = inspect.signature(fn)
    takes_request = "request" in sig.parameters

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        request: pytest.FixtureRequest = kwargs["request"] if takes_request else kwargs.pop("request")
        if in_loopback_namespace():
            fn(*args, **kwargs)
            return
        runs: _ModuleRuns = request.getfixturevalue(_RESULTS_FIXTURE)
        failure = runs.failure(request.node)
        if failure is not None:
            pytest.fail(failure, pytrace=False)

    if not takes_request:  # pytest provides the test's fixtures and ``request``, for the wrapper
        params = list(sig.parameters.values())
        request_param = inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY)
        wrapper.__signature__ = sig.replace(parameters=[*params, request_param])  # type: ignore[attr-defined]
    setattr(wrapper, _WRAPPED, True)
    return wrapper


def loopback_only(namespace: dict[str, Any]) -> None:
    """Wrap every ``test_*`` function of a module (pass ``globals()``) as the module docstring says, and give
    it the fixture that runs them in the namespace."""
    for name, obj in list(namespace.items()):
        if name.startswith("test_") and callable(obj):
            namespace[name] = _wrap(obj)
    namespace[_RESULTS_FIXTURE] = _loopback_namespace_results


def stream_channels(info: Any) -> list[tuple[str, str]]:
    """The (label, unit) of each channel an LSL stream's description declares (for the tests' checks)."""
    out = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        out.append((ch.child_value("label"), ch.child_value("unit")))
        ch = ch.next_sibling("channel")
    return out
