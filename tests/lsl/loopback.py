"""LSL tests run only inside a network namespace that holds nothing but loopback.

LSL discovery multicasts and broadcasts by default, so no test here may create an outlet or resolve streams
on the host's network. Every test module in this folder ends with ``loopback_only(globals())``, which wraps
each of its ``test_*`` functions: in the normal suite the wrapper does not run the test body; it re-runs that
one test (its node id) in a child process started with ``unshare -n`` (a new, empty network namespace; needs
root), brings ``lo`` up, and points liblsl at a configuration (env LSLAPICFG) that disables IPv6, limits
discovery to this machine and names 127.0.0.1 as the only peer. The outer test passes or fails with the
child; a missing ``unshare``, ``ip``, root or pylsl is a failure, never a skip. Inside the child the wrapper
first checks that loopback is really the only interface, then runs the body.

(A helper module rather than a conftest.py: a second conftest module would shadow ``tests/conftest.py``,
which other tests import as ``conftest``.)
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
NETNS_ENV = "BREATHSYNC_LSL_NETNS"
LSL_CONFIG = "[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {127.0.0.1}\n"
CHILD_TIMEOUT_S = 180


def in_loopback_namespace() -> bool:
    """True inside the child started by :func:`pytest_pyfunc_call`; refuses to say so on a real network."""
    if os.environ.get(NETNS_ENV) != "1":
        return False
    names = sorted(name for _, name in socket.if_nameindex())
    if names != ["lo"]:
        raise RuntimeError(f"LSL test outside a loopback-only network namespace (interfaces: {names})")
    if "LSLAPICFG" not in os.environ:
        raise RuntimeError("LSL test without LSLAPICFG")
    return True


def _run_in_namespace(nodeid: str) -> None:
    cfg = Path(tempfile.mkdtemp(prefix="breathsync-lslcfg-")) / "lsl_api.cfg"
    cfg.write_text(LSL_CONFIG, encoding="utf-8")
    env = dict(os.environ, LSLAPICFG=str(cfg), **{NETNS_ENV: "1"})
    env.pop("PYTEST_CURRENT_TEST", None)
    cmd = [
        "unshare",
        "-n",
        "sh",
        "-c",
        'ip link set lo up && exec "$0" -m pytest -q -p no:cacheprovider "$1"',
        sys.executable,
        nodeid,
    ]
    try:
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"could not run the test in a loopback-only network namespace: {e}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            f"in the loopback-only namespace (exit {proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}",
            pytrace=False,
        )
    if " passed" not in proc.stdout:
        pytest.fail(f"the namespaced run did not pass:\n{proc.stdout[-3000:]}", pytrace=False)


def _wrap(fn: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(fn)  # keeps the signature: pytest still provides the fixtures
    def wrapper(*args: Any, **kwargs: Any) -> None:
        if in_loopback_namespace():
            fn(*args, **kwargs)
            return
        current = os.environ.get("PYTEST_CURRENT_TEST", "")
        nodeid = current.rsplit(" ", 1)[0]
        if not nodeid:
            pytest.fail("cannot tell which test is running (PYTEST_CURRENT_TEST)", pytrace=False)
        _run_in_namespace(nodeid)

    return wrapper


def loopback_only(namespace: dict[str, Any]) -> None:
    """Wrap every ``test_*`` function of a module (pass ``globals()``) as the module docstring says."""
    for name, obj in list(namespace.items()):
        if name.startswith("test_") and callable(obj):
            namespace[name] = _wrap(obj)
