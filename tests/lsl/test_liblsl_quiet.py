"""liblsl's own log stays off the terminal (run inside a loopback-only network namespace, see loopback.py).

With ``--publish`` or an ``lsl:`` source, liblsl wrote its own lines to stderr, into the live view: its
version and configuration file (``common.cpp:82 INFO| git:...``) at its first use, and ``data_receiver.cpp
ERR| Stream transmission broke off ... re-connecting...`` whenever a partner's stream went away, which
breathsync reports itself ("no signal"). Its level is now set below them unless the user's own liblsl
configuration sets a log level or a log file; every other setting of theirs stays.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import posix_only, run_breathsync
from loopback import loopback_only

pytestmark = posix_only("network namespaces (unshare -n)")

#: A line of liblsl's log (loguru's: "... file.cpp:82    INFO| ..."), at any level.
LIBLSL_LINE = re.compile(r"\.cpp:\d+\s+(INFO|WARN|ERR|FATL)\|")

#: A partner's stream that goes away under an inlet (liblsl logs ERR "Stream transmission broke off"), with
#: pylsl taken as breathsync takes it (argv[1] "breathsync") or directly ("plain": the control).
GONE = """
import sys
if sys.argv[1] == "breathsync":
    from breathsync.sources.lsl import import_pylsl
    lsl = import_pylsl()
else:
    import pylsl as lsl
out = lsl.StreamOutlet(lsl.StreamInfo("gone", "Respiration", 1, 20.0, lsl.cf_float32, "gone-1"))
print("session", out.get_info().session_id())  # [lab] SessionID of the configuration liblsl used
inlet = lsl.StreamInlet(lsl.resolve_byprop("name", "gone", 1, 10.0)[0], recover=False)
inlet.open_stream(timeout=10.0)
out.push_sample([1.0])
assert inlet.pull_sample(timeout=10.0)[0] == [1.0]
del out
try:
    for _ in range(100):
        inlet.pull_sample(timeout=0.5)
except lsl.util.LostError:
    print("lost")
"""


def _liblsl_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if LIBLSL_LINE.search(line)]


def _gone(mode: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", GONE, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_publish_writes_no_liblsl_lines(tmp_path: Path) -> None:
    r = run_breathsync(
        "run", "-p", "A=sim:steady,rate=15,seed=1", "-p", "B=sim:follow,seed=2", "--publish",
        "--duration", "3", "--quiet", cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "publishing LSL streams" in r.stderr  # breathsync's own words stay
    assert _liblsl_lines(r.stderr) == [], r.stderr


def test_a_partner_stream_that_breaks_off_is_not_logged_by_liblsl(tmp_path: Path) -> None:
    env = dict(os.environ)
    plain = _gone("plain", env, tmp_path)
    assert plain.returncode == 0 and "lost" in plain.stdout, plain.stderr
    # The control: liblsl left to itself says so (and its version) on stderr.
    assert any("Stream transmission broke off" in line for line in _liblsl_lines(plain.stderr)), plain.stderr
    quiet = _gone("breathsync", env, tmp_path)
    assert quiet.returncode == 0 and "lost" in quiet.stdout, quiet.stderr
    assert _liblsl_lines(quiet.stderr) == [], quiet.stderr


def test_a_level_in_the_users_lsl_api_cfg_is_theirs(tmp_path: Path) -> None:
    """LSLAPICFG names the user's file; it sets [log] level = 0 (INFO): liblsl logs as they asked."""
    cfg = Path(os.environ["LSLAPICFG"]).read_text(encoding="utf-8")  # the namespace's (loopback.py)
    mine = tmp_path / "mine.cfg"
    mine.write_text(cfg + "[log]\nlevel = 0\n", encoding="utf-8")
    r = _gone("breathsync", {**os.environ, "LSLAPICFG": str(mine)}, tmp_path)
    assert r.returncode == 0 and "lost" in r.stdout, r.stderr
    lines = _liblsl_lines(r.stderr)
    assert any(f"Configuration loaded from {mine}" in line for line in lines), r.stderr


@pytest.mark.parametrize("where", ["LSLAPICFG", "working folder", "home"])
def test_the_users_config_file_still_applies(where: str, tmp_path: Path) -> None:
    """The file liblsl would read (LSLAPICFG's, else ./lsl_api.cfg, else ~/lsl_api/lsl_api.cfg) still applies,
    here its [lab] SessionID, with liblsl's log kept off stderr."""
    work, home = tmp_path / "work", tmp_path / "home"
    (home / "lsl_api").mkdir(parents=True)
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    env["HOME"] = str(home)
    cfg = {"working folder": work / "lsl_api.cfg", "home": home / "lsl_api" / "lsl_api.cfg"}.get(where)
    if cfg is None:
        cfg = env["LSLAPICFG"] = str(tmp_path / "mine.cfg")
    Path(cfg).write_text(
        "; the user's\n[ports]\nIPv6 = disable\n[lab]\nSessionID = theirs\n", encoding="utf-8"
    )
    r = _gone("breathsync", env, work)
    assert r.returncode == 0 and "lost" in r.stdout, r.stderr
    assert "session theirs" in r.stdout.splitlines()
    assert _liblsl_lines(r.stderr) == [], r.stderr


def test_a_log_file_of_the_users_is_theirs(tmp_path: Path) -> None:
    """[log] file: liblsl writes it at its own level (breathsync adds none), and nothing to stderr but
    loguru's one line saying where it logs."""
    log = tmp_path / "liblsl.log"
    mine = tmp_path / "mine.cfg"
    mine.write_text(
        Path(os.environ["LSLAPICFG"]).read_text(encoding="utf-8") + f"[log]\nfile = {log}\n", encoding="utf-8"
    )
    r = _gone("breathsync", {**os.environ, "LSLAPICFG": str(mine)}, tmp_path)
    assert r.returncode == 0 and "lost" in r.stdout, r.stderr
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "File verbosity level: 0" in text and "Stream transmission broke off" in text


loopback_only(globals())  # every test above runs in a loopback-only network namespace
