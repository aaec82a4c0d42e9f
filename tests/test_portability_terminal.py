"""Windows: the terminal view redraws in place with escape sequences (cursor up, erase below), which the
classic Windows console (Windows 10's cmd and PowerShell 5) shows as text (``←[3F←[J``, the frames piling
up) unless ENABLE_VIRTUAL_TERMINAL_PROCESSING is set on the stdout handle. The view now sets it there, and
prints one line a second, as into a file, when it cannot. Simulated here with sys.platform "win32" and a fake
kernel32: no real ctypes call."""

from __future__ import annotations

import ctypes
import io
from typing import Any

import pytest

from breathsync import terminal
from breathsync.terminal import ENABLE_VIRTUAL_TERMINAL_PROCESSING, STD_OUTPUT_HANDLE, TerminalView

HANDLE = 1234


class FakeKernel32:
    """The three console calls, on a console whose mode starts as ``mode`` (None: not a console)."""

    def __init__(self, mode: int | None = 0x0003, set_ok: bool = True) -> None:
        self.mode = mode
        self.set_ok = set_ok
        self.calls: list[tuple[Any, ...]] = []

    def GetStdHandle(self, which: int) -> int:
        self.calls.append(("GetStdHandle", which))
        return HANDLE

    def GetConsoleMode(self, handle: int, ref: Any) -> int:
        self.calls.append(("GetConsoleMode", handle))
        if self.mode is None:
            return 0
        ref._obj.value = self.mode  # what the real call writes through the pointer
        return 1

    def SetConsoleMode(self, handle: int, mode: int) -> int:
        self.calls.append(("SetConsoleMode", handle, mode))
        if not self.set_ok:
            return 0
        self.mode = mode
        return 1


class Console(io.StringIO):
    """stdout as a terminal."""

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return 1


def _windows(monkeypatch: pytest.MonkeyPatch, k: FakeKernel32) -> None:
    monkeypatch.setattr("sys.platform", "win32")
    monkeypatch.setattr(terminal, "_kernel32", lambda: k)


def test_windows_console_gets_escape_sequences_turned_on(monkeypatch: pytest.MonkeyPatch) -> None:
    k = FakeKernel32(mode=0x0003)
    _windows(monkeypatch, k)
    view = TerminalView(out=Console())
    assert view.in_place and view.min_gap < 1.0
    assert ("GetStdHandle", STD_OUTPUT_HANDLE) in k.calls
    assert ("SetConsoleMode", HANDLE, 0x0003 | ENABLE_VIRTUAL_TERMINAL_PROCESSING) in k.calls
    assert k.mode == 0x0007


def test_a_console_that_has_them_on_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    k = FakeKernel32(mode=0x0007)  # Windows Terminal, or set by the shell
    _windows(monkeypatch, k)
    assert TerminalView(out=Console()).in_place
    assert not [c for c in k.calls if c[0] == "SetConsoleMode"]


@pytest.mark.parametrize(
    "k",
    [
        FakeKernel32(mode=0x0003, set_ok=False),  # a Windows before 10 refuses the flag
        FakeKernel32(mode=None),  # NUL: says it is a terminal, but is no console
    ],
    ids=["refused", "not-a-console"],
)
def test_without_them_the_view_prints_a_line_a_second(
    monkeypatch: pytest.MonkeyPatch, k: FakeKernel32
) -> None:
    _windows(monkeypatch, k)
    view = TerminalView(out=Console())
    assert not view.in_place and view.min_gap == 1.0


def test_no_console_call_where_the_output_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    k = FakeKernel32()
    _windows(monkeypatch, k)
    assert not TerminalView(out=io.StringIO()).in_place
    assert k.calls == []


def test_elsewhere_a_terminal_redraws_without_asking_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_kernel32() -> Any:
        raise AssertionError("kernel32 asked for outside Windows")

    for platform in ("linux", "darwin"):
        monkeypatch.setattr("sys.platform", platform)
        monkeypatch.setattr(terminal, "_kernel32", no_kernel32)
        assert TerminalView(out=Console()).in_place


def test_the_fake_writes_where_ctypes_reads() -> None:
    # The fake's way of answering GetConsoleMode is what the view reads back (a DWORD passed by reference).
    from ctypes import wintypes

    mode = wintypes.DWORD()
    FakeKernel32(mode=0x0005).GetConsoleMode(HANDLE, ctypes.byref(mode))
    assert mode.value == 0x0005
