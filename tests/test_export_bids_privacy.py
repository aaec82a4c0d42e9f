"""A BIDS export carries no Bluetooth address and no device serial; session.json, the owner's, keeps them.

A shared dataset is read by others: a device's address or serial identifies the device, and through it
the person who wore it. The maker and model stay (from the device's profile, and the advertised name
without its serial).
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import make_session_folder

from breathsync.export_bids import Redactor, export_bids, shared_source

# A macOS device UUID (built, not written out: tests/test_layers.py looks for BLE UUIDs outside devices/).
MAC_UUID = str(uuid.UUID(int=0xB9EA523337EF4DD687A82A875E821C46)).upper()

POLAR = {
    "kind": "ble",
    "target": "Polar H10 A1B2",  # the start of its name, as typed after ble:
    "signal": "resp",
    "device": "polar-h10",
    "name": "Polar H10 A1B2C3D4",
    "address": "A0:9E:1A:00:00:10",
    "breathing": "chest accelerometer (PMD ACC): chest motion projected on its main axis",
    "dropped": 0,
    "reconnections": 1,
}
BELT = {
    "kind": "ble",
    "target": MAC_UUID.lower(),  # macOS: the UUID it gives the device
    "signal": "resp",
    "device": "gdx-rb",
    "name": "GDX-RB 0K1002R5",
    "address": MAC_UUID,
    "breathing": "belt force in newtons: the breathing waveform itself",
    "dropped": 2,
    "dropped_by": {"malformed": 2},
    "reconnections": 0,
}
#: What session.json holds that identifies the devices (and a partial serial, typed as the target).
SECRETS = ("A0:9E:1A:00:00:10", "A1B2C3D4", "A1B2", "0K1002R5", MAC_UUID)
ADDRESS_LIKE = re.compile(
    r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
)
EVENTS = (
    "time,kind,participants,text\n"
    "1.000,source_lost,A,A: reconnecting\n"
    '2.500,source_back,A,"A: reconnected after 1.5 s (ble:Polar H10 A1B2, Polar H10 A1B2C3D4)"\n'
    f'3.000,alarm,B,"B: source failed: ble:{MAC_UUID.lower()}: no matching device found '
    f'within 10 s (seen: GDX-RB 0K1002R5 at {MAC_UUID}, other at 11:22:33:44:55:66)"\n'
    "4.000,in_sync,A;B,in sync\n"
)


def _session(tmp_path: Path) -> Path:
    s = make_session_folder(tmp_path / "s")
    info = json.loads((s / "session.json").read_text(encoding="utf-8"))
    info["participants"][0].update(source=POLAR, signal="resp")
    info["participants"][1].update(source=BELT, signal="resp")
    info["files"].update({f"{lab}_live.csv": {"kind": "live", "participant": lab} for lab in ("A", "B")})
    (s / "session.json").write_text(json.dumps(info), encoding="utf-8")
    (s / "events.csv").write_text(EVENTS, encoding="utf-8")
    for lab in ("A", "B"):
        (s / f"{lab}_live.csv").write_text(
            "time,wave,phase_rad,rate_bpm,quality\n"
            + "".join(f"{k / 20:.2f},0.1,1.0,12,0\n" for k in range(200)),
            encoding="utf-8",
        )
    return s


def _texts(folder: Path) -> dict[str, str]:
    out = {}
    for p in folder.rglob("*"):
        if p.is_file():
            data = gzip.decompress(p.read_bytes()) if p.name.endswith(".gz") else p.read_bytes()
            out[str(p.relative_to(folder))] = data.decode("utf-8")
    return out


def _raw_sidecar(out: Path, sub: str) -> dict[str, Any]:
    p = out / f"sub-{sub}/beh/sub-{sub}_task-breathsync_recording-raw_physio.json"
    return dict(json.loads(p.read_text(encoding="utf-8")))


def test_no_address_or_serial_reaches_the_export(tmp_path: Path) -> None:
    s = _session(tmp_path)
    export_bids(s, tmp_path / "bids")
    texts = _texts(tmp_path / "bids")
    assert len(texts) > 10
    for name, text in texts.items():
        for secret in SECRETS:
            assert secret.lower() not in text.lower(), (name, secret)
        assert not ADDRESS_LIKE.search(text), (name, ADDRESS_LIKE.search(text))
    # The owner's session.json still has them (useful to the user: which strap was whose).
    local = (s / "session.json").read_text(encoding="utf-8")
    assert all(x in local for x in ("A0:9E:1A:00:00:10", "Polar H10 A1B2C3D4", "GDX-RB 0K1002R5"))


def test_the_maker_model_and_the_events_stay(tmp_path: Path) -> None:
    s = _session(tmp_path)
    out = tmp_path / "bids"
    export_bids(s, out)
    a, b = _raw_sidecar(out, "A"), _raw_sidecar(out, "B")
    assert a["Manufacturer"] == "Polar Electro" and a["ManufacturersModelName"] == "H10"
    assert b["Manufacturer"] == "Vernier"
    src = a["breathsyncSource"]
    assert src["advertised_model"] == "Polar H10" and src["device"] == "polar-h10"
    assert src["reconnections"] == 1 and not {"address", "target", "name"} & set(src)
    assert b["breathsyncSource"]["advertised_model"] == "GDX-RB"
    assert b["breathsyncSource"]["dropped_by"] == {"malformed": 2}
    ev = gzip.decompress(
        (out / "sub-B/beh/sub-B_task-breathsync_recording-live_physioevents.tsv.gz").read_bytes()
    ).decode("utf-8")
    assert "B: source failed: ble:[address]: no matching device found within 10 s" in ev
    assert "GDX-RB [serial] at [address], other at [address]" in ev
    ev_a = gzip.decompress(
        (out / "sub-A/beh/sub-A_task-breathsync_recording-live_physioevents.tsv.gz").read_bytes()
    ).decode("utf-8")
    assert "A: reconnected after 1.5 s (ble:Polar H10 [serial], Polar H10 [serial])" in ev_a
    assert "in sync" in ev_a


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("Polar H10 A1B2C3D4", "Polar H10"),
        ("GDX-RB 0K1002R5", "GDX-RB"),
        ("HRM-Pro:123456", "HRM-Pro"),
        ("Polar OH1 7A1B2C3D", "Polar OH1"),
        ("Polar H10 ABCDEFAB", "Polar H10"),  # a device ID may be all letters A-F
        ("Forerunner 945", "Forerunner 945"),
        ("C0FFEE01", None),  # nothing but an ID
    ],
)
def test_the_advertised_model_is_the_name_without_its_serial(name: str, model: str | None) -> None:
    shared = shared_source({"kind": "ble", "name": name, "address": "C0:FF:EE:00:00:01"}, Redactor([]))
    assert shared.get("advertised_model") == model and "address" not in shared


def test_other_sources_are_kept_but_redacted() -> None:
    r = Redactor([POLAR])
    assert shared_source({"kind": "sim", "mode": "follow"}, r) == {"kind": "sim", "mode": "follow"}
    lsl = shared_source({"kind": "lsl", "stream": "belt A1B2C3D4 at A0:9E:1A:00:00:10"}, r)
    assert lsl == {"kind": "lsl", "stream": "belt [serial] at [address]"}
