"""The registry: lookup, scan matching, streams and the breathing signal each profile feeds."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import devices
from breathsync import export_bids
from breathsync.sources.base import SIGNAL_COLUMNS

REPO = Path(__file__).resolve().parents[2]


def test_registry_lookup() -> None:
    """Works for any set of profiles: a new device needs no change here (README: Adding a device)."""
    for name, p in devices.PROFILES.items():
        assert p.name == name and devices.get_profile(name) is p
    known = ", ".join(sorted(devices.PROFILES))
    with pytest.raises(KeyError, match=re.escape(f"unknown device 'zephyr' (known: {known})")):
        devices.get_profile("zephyr")
    with pytest.raises(KeyError, match="no stream"):
        devices.get_profile("polar-h10").stream("ppg")


def test_the_built_in_devices_stay() -> None:
    builtin = {"heart-rate", "polar-h10", "gdx-rb"}
    assert builtin <= set(devices.PROFILES), (
        f"a built-in device profile is gone: {sorted(builtin - set(devices.PROFILES))} (adding one needs no "
        "change here: each profile is checked by test_profile_invariants)"
    )


UUID128 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: A unit BIDS reads (appendix "Units": SI symbols with SI prefixes, in CMIXF-12: "N", "mV", "uV", "m/s^2"),
#: or "arbitrary", the export's word for arbitrary units: what a profile's unit must export as
#: (breathsync.export_bids.bids_unit turns the recorder's spellings, "newtons", "milli-g", into symbols).
_SI_UNIT = (
    r"(?:da|[YZEPTGMkhdcmunpfazy])?"
    r"(?:m|g|s|A|K|mol|cd|rad|sr|Hz|N|Pa|J|W|C|V|F|Ohm|S|Wb|T|H|lm|lx|Bq|Gy|Sv|kat|L|degC)(?:\^-?[0-9]+)?"
)
BIDS_UNIT = re.compile(rf"^(?:arbitrary|(?:1|{_SI_UNIT})(?:[./]{_SI_UNIT})*)$")


@pytest.mark.parametrize("name", list(devices.PROFILES))
def test_profile_invariants(name: str) -> None:
    """What the BLE source, the session, `breathsync scan` and `decode` rely on, for every registered profile
    (a new one is checked here without editing this file; the README's "Adding a device" lists the fields)."""
    p = devices.PROFILES[name]
    why = f"profile {name!r}: "
    # Names and words the user sees.
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", p.name), why + "name: lower-case words joined by '-'"
    for field in ("title", "breathing"):
        text = getattr(p, field)
        assert text.strip() and "\n" not in text, why + f"{field}: one non-empty line"
    json.dumps(p.settings)  # settings go to session.json
    # Recognisable in a scan; UUIDs in the 128-bit lower-case form (devices.full_uuid), known only here.
    assert p.service_uuids or p.name_prefixes, why + "needs service_uuids or name_prefixes to be found"
    assert p.name_prefixes or not p.name_required, why + "name_required without name_prefixes"
    assert all(UUID128.match(u) for u in p.service_uuids), why + "service UUIDs: use devices.full_uuid"
    # A device advertising what its profile says is recognised as this profile (a more generic profile
    # registered before it would take it: more specific profiles go first in devices.PROFILES).
    advertised = (p.name_prefixes[0] + " 0001") if p.name_prefixes else None
    assert devices.match_profile(advertised, p.service_uuids) is p, why + "matched as another profile"
    # Streams: each with a description and a fresh stateful decoder per call.
    assert p.streams, why + "no streams"
    for key, spec in p.streams.items():
        assert spec.description.strip(), why + f"stream {key!r}: a description (decode --help)"
        assert UUID128.match(spec.characteristic), why + f"stream {key!r}: characteristic UUID"
        d1, d2 = spec.decoder(), spec.decoder()
        assert d1 is not d2 and callable(getattr(d1, "feed", None)), why + f"stream {key!r}: decoder()"
        if spec.signal_columns:
            assert spec.signal in SIGNAL_COLUMNS, why + f"stream {key!r}: signal {spec.signal!r}"
        # Each signal column's unit, declared (the recording's "# unit:" line, BIDS "Units" and the LSL
        # channel's unit come from here, not from the column's name), as a unit BIDS reads.
        for column in spec.signal_columns:
            unit = spec.units.get(column)
            assert unit, why + f"stream {key!r}: signal column {column!r} has no unit (StreamSpec.units)"
            assert BIDS_UNIT.match(export_bids.bids_unit(unit)), (
                why + f"stream {key!r}: unit {unit!r} of {column!r} is not a unit BIDS accepts: give its "
                "symbol (N, mm, uV, m/s^2) or a spelling breathsync.export_bids knows (newtons, milli-g)"
            )
    # The breathing signal: which one, from which stream, filling exactly the session's columns for it.
    assert p.signal in SIGNAL_COLUMNS, why + f"signal must be one of {sorted(SIGNAL_COLUMNS)}"
    assert p.signal_stream in p.streams, why + "signal_stream must name one of the streams"
    main = p.streams[p.signal_stream]
    assert main.signal == p.signal and set(main.signal_columns) == set(SIGNAL_COLUMNS[p.signal]), (
        why + f"the signal stream must fill {SIGNAL_COLUMNS[p.signal]}"
    )
    # Start and stop steps: a fresh controller per connection; streams subscribed before a write waits
    # for its reply on them (indications before commands); the signal and extra streams subscribed.
    assert p.controller() is not p.controller(), why + "controller() must make a new controller"
    ctl = p.controller()
    start, stop = ctl.start_steps(), ctl.stop_steps()
    assert start, why + "no start steps"
    subscribed: set[str] = set()
    for step in start:
        if isinstance(step, devices.Subscribe):
            assert step.stream in p.streams, why + f"subscribes unknown stream {step.stream!r}"
            assert step.characteristic == p.streams[step.stream].characteristic, why + "subscribe UUID"
            subscribed.add(step.stream)
        else:
            assert isinstance(step, devices.Write) and UUID128.match(step.characteristic), why + "write"
            assert step.reply is None or step.reply in subscribed, (
                why + f"{step.what or 'a write'} waits for a reply on {step.reply!r} before subscribing to it"
            )
    for needed in (p.signal_stream, *p.extra_streams):
        assert needed in subscribed, why + f"stream {needed!r} is never subscribed"
    # The battery level is read after connecting where the device has it, never a start step (a device
    # without the service must still start).
    assert p.battery_stream is None or p.battery_stream not in subscribed, (
        why + "the battery stream is read after connecting, not subscribed by a start step"
    )
    for step in stop:
        assert not isinstance(step, devices.Write) or step.reply is None or step.reply in subscribed


def test_match_most_specific_first() -> None:
    # The Heart Rate Service's UUID from its profile (only devices/ writes UUIDs), in the short forms an
    # advertisement may give: "180d", "0x180D".
    hrs = devices.get_profile("heart-rate").service_uuids[0]
    short = hrs[4:8]
    assert devices.full_uuid(short) == hrs and devices.full_uuid("0x" + short.upper()) == hrs
    assert devices.match_profile("Polar H10 1A2B3C4D", [short]).name == "polar-h10"  # type: ignore[union-attr]
    assert devices.match_profile("TICKR 1234", ["0x" + short.upper()]).name == "heart-rate"  # type: ignore[union-attr]
    assert devices.match_profile("GDX-RB 0K1", []).name == "gdx-rb"  # type: ignore[union-attr]
    # A service no profile has (5 above the Heart Rate Service: Human Interface Device, a keyboard).
    other = f"{int(short, 16) + 5:04x}"
    assert all(devices.full_uuid(other) not in p.service_uuids for p in devices.PROFILES.values())
    assert devices.match_profile("Keyboard", [other]) is None


def test_decoding_modules_import_no_io() -> None:
    """The layers rule: decoding modules are pure (no asyncio, bleak, Qt)."""
    for path in (REPO / "devices").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        for bad in ("asyncio", "bleak", "PyQt6", "pyqtgraph"):
            assert not any(m == bad or m.startswith(bad + ".") for m in names), (path, bad)


def test_the_polar_h10_gives_rr_intervals_beside_its_accelerometer() -> None:
    """The H10's Heart Rate Measurement is an extra stream: RR intervals (rr_ms) next to the ACC signal,
    for the accelerometer's sign; the generic strap's RR IS its signal, so it has no extra stream."""
    h10 = devices.get_profile("polar-h10")
    assert h10.signal == "acc" and h10.extra_streams == ("hrm",) and h10.extra_columns == ("rr_ms",)
    hrm = h10.stream("hrm")
    assert hrm.signal == "rr" and hrm.signal_columns == {"rr_ms": "rr_ms"}
    subscribed = {s.stream for s in h10.controller().start_steps() if isinstance(s, devices.Subscribe)}
    assert "hrm" in subscribed
    assert not set(h10.extra_columns) & set(SIGNAL_COLUMNS[h10.signal])
    hr = devices.get_profile("heart-rate")
    assert (
        hr.signal == "rr" and hr.signal_stream == "hrm" and hr.extra_streams == () and hr.extra_columns == ()
    )
    for p in devices.PROFILES.values():
        for name in p.extra_streams:
            assert name != p.signal_stream and p.stream(name).signal_columns


def test_an_extra_stream_must_be_another_stream_with_columns() -> None:
    from dataclasses import replace

    h10 = devices.get_profile("polar-h10")
    for bad in (("ppg",), ("pmd",), ("control",)):
        with pytest.raises(ValueError, match="extra stream"):
            replace(h10, extra_streams=bad)
    with pytest.raises(ValueError, match="repeats columns"):
        replace(h10, extra_streams=("acc",))  # the signal's own columns again


def test_the_invariants_catch_a_faulty_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks above, on profiles a contributor could write."""
    from dataclasses import replace

    from devices._base import FixedController

    hr = devices.get_profile("heart-rate")
    hrm = hr.stream("hrm")
    short = hr.service_uuids[0][4:8]
    control = devices.get_profile("polar-h10").stream("control")

    def reply_first() -> FixedController:
        steps = [
            devices.Write(control.characteristic, b"\x01", reply="control"),
            *hr.controller().start_steps(),
        ]
        return FixedController(start=steps, stop=[])

    shared = reply_first()
    no_unit = {**hr.streams, "hrm": replace(hrm, units={})}
    long_unit = {**hr.streams, "hrm": replace(hrm, units={"rr_ms": "millimetres"})}
    fresh = hr.controller
    # The last four advertise a name only: with the generic strap's service they would be matched as it.
    faulty = [
        (replace(hr, controller=lambda: FixedController(start=[], stop=[])), "no start steps"),
        (
            replace(
                hr,
                controller=lambda: FixedController(start=[devices.Write(hrm.characteristic, b"")], stop=[]),
            ),
            "'hrm' is never subscribed",
        ),
        (
            replace(hr, streams={**hr.streams, "control": control}, controller=reply_first),
            "waits for a reply on 'control' before subscribing",
        ),
        (replace(hr, name="hr-clone"), "matched as another profile"),  # heart-rate, before it, takes it
        (
            replace(hr, name="short", service_uuids=(short,), name_prefixes=("Short",)),
            "use devices.full_uuid",
        ),
        (
            replace(hr, name="odd", service_uuids=(), signal="acc", name_prefixes=("X",)),
            "the signal stream must fill",
        ),
        (replace(hr, name="Polar_H10", service_uuids=(), name_prefixes=("Y",)), "lower-case words"),
        (
            replace(hr, name="shared", service_uuids=(), name_prefixes=("Z",), controller=lambda: shared),
            "a new controller",
        ),
        (
            replace(hr, name="no-unit", service_uuids=(), name_prefixes=("V",), streams=no_unit),
            "signal column 'rr_ms' has no unit",
        ),
        (
            replace(hr, name="long-unit", service_uuids=(), name_prefixes=("U",), streams=long_unit),
            "unit 'millimetres' of 'rr_ms' is not a unit BIDS accepts",
        ),
        (replace(hr, name="fine", service_uuids=(), name_prefixes=("W",), controller=fresh), None),
    ]
    for p, msg in faulty:
        monkeypatch.setitem(devices.PROFILES, p.name, p)
        if msg is None:
            test_profile_invariants(p.name)
        else:
            with pytest.raises(AssertionError, match=re.escape(msg)):
                test_profile_invariants(p.name)
        monkeypatch.undo()


def test_another_polar_sensor_with_the_raw_data_service_is_no_h10() -> None:
    """A Polar Verity Sense or OH1 has the H10's raw-data (PMD) service and no chest motion to breathe by:
    it was listed by scan as a polar-h10, and run then failed with "start ACC failed: invalid sample rate"."""
    from devices.polar_pmd import PMD_SERVICE

    assert devices.match_profile("Polar H10 1A2B3C4D", []).name == "polar-h10"  # type: ignore[union-attr]
    assert devices.match_profile(None, [PMD_SERVICE]).name == "polar-h10"  # type: ignore[union-attr]
    for other in ("Polar Sense B5D3E12F", "Polar OH1 1A2B3C4D"):
        found = devices.match_profile(other, [PMD_SERVICE])
        assert found is None or found.name != "polar-h10", other


def test_every_built_in_signal_column_has_the_unit_its_recordings_have_always_said() -> None:
    """The units moved from a table of column names (breathsync/recorder.py) into the profiles: the same
    words, so recordings, BIDS sidecars and LSL metadata stay as they were."""
    assert devices.get_profile("gdx-rb").units == {"resp": "newtons"}
    assert devices.get_profile("heart-rate").units == {"rr_ms": "milliseconds"}
    h10 = devices.get_profile("polar-h10")
    assert h10.units == {"acc_x": "milli-g", "acc_y": "milli-g", "acc_z": "milli-g", "rr_ms": "milliseconds"}
    assert h10.stream("acc").units == h10.stream("pmd").units


@pytest.mark.parametrize(
    ("units", "msg"),
    [
        ({"force": "newtons"}, "a unit for 'force', which is not a signal column"),
        ({"resp": ""}, "unit '' of 'resp'"),
        ({"resp": "N; rr_ms: ms"}, "without ';' or ','"),
        ({"resp": "N, rising on inhale"}, "without ';' or ','"),
    ],
)
def test_a_stream_refuses_a_unit_its_recording_could_not_say(units: dict[str, str], msg: str) -> None:
    """A unit goes into a "# unit:" line ("resp: newtons; rr_ms: milliseconds"), which ';' and ',' cut."""
    gdx = devices.get_profile("gdx-rb").stream("response")
    with pytest.raises(ValueError, match=re.escape(msg)):
        devices.StreamSpec("s", gdx.characteristic, gdx.decoder, "d", "resp", {"resp": "force_n"}, units)
