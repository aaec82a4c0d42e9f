"""`breathsync scan` finding nothing: one line with what to check, exit code 2 (a device problem, as README's
exit codes have it), not exit 1 (an internal error)."""

from __future__ import annotations

import pytest
from conftest import posix_only
from fakebluez import FakeBlueZ, FakeGdxRb, private_bus

from breathsync.cli import main

pytestmark = posix_only("D-Bus and BlueZ (dbus-daemon, dbus-fast)")


def test_scan_with_nothing_found_is_one_line_with_a_hint_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with private_bus(), FakeBlueZ() as bz:
        bz.add_device(FakeGdxRb("D4:36:39:00:00:30", "GDX-FOR 071001"))  # seen, but nothing breathsync reads
        code = main(["scan", "--timeout", "1"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (code, out)
    assert err == (
        "breathsync: error: scan: no supported BLE device found within 1 s: is it worn and switched on? many "
        "straps only switch on when worn (and one connected to another app is not seen)\n"
    )
