"""LSL tests run only inside a network namespace that holds nothing but loopback.

LSL discovery multicasts and broadcasts by default, so no test here may create an outlet or resolve streams
on the host's network. Every test function in this folder is therefore run twice over: the outer pytest run
(the normal suite) does not execute the test body; it re-runs that one test in a child process started with
``unshare -n`` (a new, empty network namespace; needs root), brings ``lo`` up, and points liblsl at a
configuration (env LSLAPICFG) that disables IPv6, limits discovery to this machine and names 127.0.0.1 as
the only peer. The outer test passes or fails with the child; a missing ``unshare``, ``ip``, root or pylsl is
a failure, never a skip.

Inside the child, every test first checks that loopback is really the only interface.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

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


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if in_loopback_namespace():
        return None  # the real run: pytest calls the test function
    cfg = Path(tempfile.mkdtemp(prefix="breathsync-lslcfg-")) / "lsl_api.cfg"
    cfg.write_text(LSL_CONFIG)
    env = dict(os.environ, LSLAPICFG=str(cfg), **{NETNS_ENV: "1"})
    cmd = [
        "unshare",
        "-n",
        "sh",
        "-c",
        'ip link set lo up && exec "$0" -m pytest -q -p no:cacheprovider "$1"',
        sys.executable,
        pyfuncitem.nodeid,
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
    return True
