"""The Windows skips of tests/conftest.py (``posix_only``, ``symlink_or_skip``) skip on Windows only: on Linux,
where CI runs, every test they mark runs as before, and a missing tool or service is a failure, never a skip."""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import pytest
from conftest import posix_only, symlink_or_skip

PLATFORMS = [("linux", False), ("darwin", False), ("cygwin", False), ("win32", True)]


def test_posix_only_skips_on_windows_and_nowhere_else(monkeypatch: pytest.MonkeyPatch) -> None:
    mark = posix_only("os.mkfifo").mark
    assert mark.name == "skipif" and mark.kwargs == {"reason": "not on Windows: os.mkfifo"}
    assert mark.args == (sys.platform == "win32",)
    if sys.platform != "win32":
        assert mark.args == (False,)  # here: nothing it marks is skipped
    for platform, skipped in PLATFORMS:
        with monkeypatch.context() as m:
            m.setattr(sys, "platform", platform)
            assert posix_only("x").mark.args == (skipped,), platform


def test_no_test_is_skipped_by_a_mark_outside_windows(request: pytest.FixtureRequest) -> None:
    """Over the tests collected with this one (the whole suite in a full run): every skipif mark is
    posix_only's, so off Windows none of them skips (a missing /dev/full or mkfifo used to be a skip
    anywhere; it is a failure now where CI runs)."""
    for item in request.session.items:
        for mark in item.iter_markers("skipif"):
            assert str(mark.kwargs.get("reason", "")).startswith("not on Windows"), item.nodeid
            assert mark.args == (sys.platform == "win32",), item.nodeid
        assert not list(item.iter_markers("skip")), item.nodeid


def test_a_refused_symlink_is_a_skip_on_windows_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(self: Path, target: object) -> None:
        raise OSError(errno.EPERM, "A required privilege is not held by the client")

    monkeypatch.setattr(Path, "symlink_to", refused)
    for platform, skipped in PLATFORMS:
        with monkeypatch.context() as m, pytest.raises(pytest.skip.Exception if skipped else OSError):
            m.setattr(sys, "platform", platform)
            symlink_or_skip(tmp_path / "link", tmp_path / "target")


def test_a_symlink_is_made_where_it_can_be(tmp_path: Path) -> None:
    target = tmp_path / "target.csv"
    target.write_text("time,resp\n", encoding="utf-8")
    symlink_or_skip(tmp_path / "link.csv", target)  # on Windows without Developer Mode: skipped here
    assert (tmp_path / "link.csv").is_symlink() and (tmp_path / "link.csv").read_text(encoding="utf-8")
