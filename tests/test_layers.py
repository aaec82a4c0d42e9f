"""The layer rules, checked on the source (ast and tokens, nothing imported or run).

- Layers, lowest first: dsp < devices, io < sources < session < sinks, faces and commands. No module imports
  a higher layer (imports inside functions and under TYPE_CHECKING count too); devices and io, side by side,
  do not import each other.
- breathsync/dsp is pure computation: no Qt, plotting, asyncio, Bluetooth, network or logging, and no file
  I/O.
- Only devices/ knows BLE UUIDs: no 128-bit UUID anywhere else, and no 16-bit short UUID ("180d",
  "0x2A37", 0x2A37) written as a value in code, tests included (prose in comments and docstrings may name
  them). Code that needs one takes it from the profile (``devices.get_profile(...).service_uuids``).

A new module must be given its layer in :data:`LAYERS` (the test says so).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Module name prefixes by layer, lowest first. A module belongs to the layer of its longest matching prefix.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # The package itself (its version) and the one-line error every layer may raise.
    ("foundation", ("breathsync", "breathsync.errors")),
    ("dsp", ("breathsync.dsp", "breathsync.synth")),
    ("devices and io", ("devices", "breathsync.io")),
    ("sources", ("breathsync.sources",)),
    ("session", ("breathsync.session", "breathsync.session_types")),
    (
        "sinks, faces and commands",
        (
            "breathsync.recorder",
            "breathsync.terminal",
            "breathsync.ui",
            "breathsync.lsl_out",
            "breathsync.report",
            "breathsync.export_bids",
            "breathsync.live",
            "breathsync.analysis",
            "breathsync.batch",
            "breathsync.cli",
            "breathsync.entry",
            "breathsync.__main__",
        ),
    ),
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in [*(REPO / "breathsync").rglob("*.py"), *(REPO / "devices").glob("*.py")]:
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _layer(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[0]
            ):
                best = (len(prefix), rank)
    return None if best is None else best[1]


def _imports(module: str, path: Path) -> set[str]:
    """Every module ``module`` imports (absolute names; ``from X import Y`` gives X and X.Y)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return out


def test_every_module_has_a_layer() -> None:
    missing = sorted(m for m in _modules() if _layer(m) is None)
    assert not missing, f"give these modules a layer in LAYERS of tests/test_layers.py: {missing}"


def test_no_module_imports_a_higher_layer() -> None:
    mods = _modules()
    wrong = []
    for module, path in sorted(mods.items()):
        mine = _layer(module)
        if mine is None:
            continue
        for dep in sorted(_imports(module, path) & set(mods)):
            theirs = _layer(dep)
            if theirs is not None and theirs > mine:
                wrong.append(f"{module} ({LAYERS[mine][0]}) imports {dep} ({LAYERS[theirs][0]})")
    assert not wrong, "imports of a higher layer:\n" + "\n".join(wrong)


def test_devices_and_io_do_not_import_each_other() -> None:
    mods = _modules()
    for module, path in mods.items():
        deps = _imports(module, path)
        if module == "devices" or module.startswith("devices."):
            assert not any(d.startswith("breathsync.io") for d in deps), module
        if module.startswith("breathsync.io"):
            assert not any(d == "devices" or d.startswith("devices.") for d in deps), module


def test_the_import_graph_check_finds_a_higher_import(tmp_path: Path) -> None:
    """The check itself: a dsp module importing the session (directly, relatively or in a function)."""
    for text in (
        "from breathsync.session import Session\n",
        "def f():\n    import breathsync.sources.base\n",
        "from ..session_types import Snapshot\n",
    ):
        path = tmp_path / "x.py"
        path.write_text(text, encoding="utf-8")
        deps = _imports("breathsync.dsp.x", path)
        ranks = [r for r in map(_layer, deps) if r is not None]
        assert ranks and max(ranks) > LAYERS.index(next(x for x in LAYERS if x[0] == "dsp")), text


DSP_FORBIDDEN = (
    "PyQt6",
    "PyQt5",
    "PySide6",
    "PySide2",
    "pyqtgraph",
    "matplotlib",
    "asyncio",
    "bleak",
    "dbus_fast",
    "socket",
    "pylsl",
    "logging",
    "io",
    "os",
    "pathlib",
    "shutil",
    "tempfile",
    "pickle",
    "csv",
    "gzip",
)
#: Calls that read or write files (a name or an attribute, e.g. open(), np.save(), path.write_text()).
FILE_CALLS = {
    "open",
    "read_text",
    "write_text",
    "read_bytes",
    "write_bytes",
    "load",
    "loadtxt",
    "genfromtxt",
    "save",
    "savez",
    "savez_compressed",
    "savetxt",
    "tofile",
    "fromfile",
    "memmap",
    "read_csv",
    "to_csv",
}


def _dsp_problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        for name in names:
            if name.split(".")[0] in DSP_FORBIDDEN:
                out.append(f"{path.name}:{node.lineno}: imports {name}")
        if isinstance(node, ast.Call):
            f = node.func
            called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if called in FILE_CALLS:
                out.append(f"{path.name}:{node.lineno}: calls {called}() (file I/O)")
    return out


def test_dsp_is_pure_computation() -> None:
    # synth.py is in the dsp layer (LAYERS above): the same purity (it left the scan out).
    paths = [*sorted((REPO / "breathsync" / "dsp").glob("*.py")), REPO / "breathsync" / "synth.py"]
    assert len(paths) > 5
    problems = [p for path in paths for p in _dsp_problems(path)]
    assert not problems, "breathsync/dsp must stay pure (no UI, I/O, network, logging):\n" + "\n".join(
        problems
    )


def test_the_dsp_check_finds_io_and_ui(tmp_path: Path) -> None:
    for text, what in (
        ("import logging\n", "imports logging"),
        ("from PyQt6.QtCore import QTimer\n", "imports PyQt6.QtCore"),
        ("import asyncio\n", "imports asyncio"),
        ("def f(p):\n    with open(p) as fh:\n        return fh.read()\n", "calls open()"),
        ("import numpy as np\n\ndef f(x):\n    np.save('x.npy', x)\n", "calls save()"),
        ("def f(p, s):\n    p.write_text(s)\n", "calls write_text()"),
    ):
        path = tmp_path / "m.py"
        path.write_text(text, encoding="utf-8")
        assert any(what in p for p in _dsp_problems(path)), text


# ------------------------------------------------------------------------------------------------ UUIDs

UUID128 = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
SHORT = re.compile(r"^(0[xX])?([0-9a-fA-F]{4})$")
#: 16-bit UUIDs the Bluetooth SIG assigns (its "Assigned Numbers" document): GATT services 0x1800-0x18FF,
#: units 0x2700-0x27FF, declarations 0x2800-0x28FF, descriptors 0x2900-0x29FF, characteristics
#: 0x2A00-0x2BFF. A 4-hex-digit value in these ranges, written as a whole string or a hex number, is taken
#: as a UUID (hex data such as "003C" lies outside them; hex data inside them can be written with a space:
#: "18 3C").
SIG_RANGES = ((0x18 << 8, (0x18 << 8) | 0xFF), (0x27 << 8, (0x2B << 8) | 0xFF))  # not as literals: see above


def _short_uuid(value: int) -> bool:
    return any(lo <= value <= hi for lo, hi in SIG_RANGES)


def _outside_devices() -> list[Path]:
    paths = []
    for top in ("breathsync", "tests", "benchmarks", "sample_signals"):
        paths += sorted((REPO / top).rglob("*.py"))
    return paths


def _short_uuid_literals(text: str) -> list[tuple[int, str]]:
    """(line, token) of every string or number in code that is a whole 16-bit SIG UUID (not prose)."""
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NUMBER:
            m = SHORT.match(tok.string)
            if m and m.group(1) and _short_uuid(int(m.group(2), 16)):
                found.append((tok.start[0], tok.string))
        elif tok.type == tokenize.STRING:
            try:
                value = ast.literal_eval(tok.string)
            except (ValueError, SyntaxError):  # an f-string part
                continue
            if isinstance(value, str):
                m = SHORT.match(value.strip())
                if m and _short_uuid(int(m.group(2), 16)):
                    found.append((tok.start[0], tok.string))
    return found


def test_no_uuid_outside_devices() -> None:
    paths = _outside_devices()
    assert REPO / "tests" / "devices" / "test_profiles.py" in paths
    wrong, short = [], []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(REPO)
        wrong += [f"{rel}: {m.group(0)}" for m in UUID128.finditer(text)]
        short += [f"{rel}:{line}: {tok}" for line, tok in _short_uuid_literals(text)]
    hint = (
        "\nA 4-hex-digit string or hex number in the SIG's ranges (18xx, 27xx-2Bxx) is taken for a 16-bit "
        'UUID. If it is data, not a UUID (a byte vector such as "1818"), write its bytes with a space between '
        'them, "18 18" (bytes.fromhex reads both the same), or a number in decimal (6168 for 0x1818).'
    )
    assert not wrong + short, (
        "BLE UUIDs outside devices/ (take them from the profile, e.g. "
        "devices.get_profile('heart-rate').service_uuids):\n"
        + "\n".join(wrong + short)
        + (hint if short else "")
    )


@pytest.mark.parametrize(
    ("text", "hits"),
    [
        ('match(["180d"])\n', 1),
        ('x = "0x2A37"\n', 1),
        ("x = 0x2A37\n", 1),
        ("x = 0x2902  # the CCCD\n", 1),
        ('x = " 1812 "\n', 1),
        ('decode("003C")\n', 0),  # hex data, outside the SIG ranges
        ('decode("18 3C")\n', 0),
        ('"""Heart Rate Measurement (0x2A37): prose."""\n', 0),
        ("# service 0x180D\n", 0),
        ("x = 6167\n", 0),  # a decimal number is not written as a UUID
    ],
)
def test_the_short_uuid_check(text: str, hits: int) -> None:
    assert len(_short_uuid_literals(text)) == hits
