"""What a researcher's tools read from the BIDS export: declared units, BIDS column names, sessions of one
study in one dataset, the pair synchrony as a derivative, simulated participants flagged, device makers."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import bids_validator_issues, make_session_folder

from breathsync import __version__
from breathsync.errors import InputError
from breathsync.export_bids import export_bids


def raw_side(out: Path, sub: str = "A", ses: str | None = None) -> dict[str, Any]:
    folder = f"sub-{sub}" + (f"/ses-{ses}" if ses else "")
    stem = f"sub-{sub}" + (f"_ses-{ses}" if ses else "")
    return dict(
        json.loads(
            (out / folder / "beh" / f"{stem}_task-breathsync_recording-raw_physio.json").read_text(
                encoding="utf-8"
            )
        )
    )


def tsv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")), delimiter="\t"))


def edit_session(folder: Path, **participant_fields: dict[str, Any]) -> None:
    info = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    for p in info["participants"]:
        p.update(participant_fields.get(p["label"], {}))
    (folder / "session.json").write_text(json.dumps(info), encoding="utf-8")


def write_pairs_csv(folder: Path, n: int = 20) -> np.ndarray:
    """A pairs.csv as the recorder writes it (A-B, one row per snapshot at 10 Hz); returns the rel phases."""
    t = 30.0 + np.arange(n) / 10
    rel = np.linspace(-0.3, 0.4, n)
    lines = [
        "# holds: live pair synchrony, one row per snapshot; columns <a>-<b>_<field>",
        "# pairs: A-B",
        "time,A-B_plv,A-B_null_plv,A-B_sync_score,A-B_in_sync,A-B_rel_phase_rad,A-B_lag_s,A-B_window_end_s",
    ]
    for k in range(n):
        plv = "" if k == 0 else "0.8"  # the first window unknown: empty cells
        in_sync = "" if k == 0 else "1"
        lines.append(
            f"{t[k]:.3f},{plv},0.5,{'' if k == 0 else '0.6'},{in_sync},{rel[k]:.4f},{rel[k]:.4f},{t[k] - 0.05:.3f}"
        )
    (folder / "pairs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rel


# ------------------------------------------------------------------------------------ units, names
def test_a_declared_unit_wins_over_the_formats_default(tmp_path: Path) -> None:
    # '# unit: resp: mV; ecg: mV' exported resp as "arbitrary" (the format's default won) and ecg as mV.
    s = make_session_folder(tmp_path / "s", meta={"unit": "resp: mV; ecg: mV"}, ecg=True)
    export_bids(s, tmp_path / "bids")
    side = raw_side(tmp_path / "bids")
    assert side["respiratory"]["Units"] == "mV" and side["cardiac"]["Units"] == "mV"
    # Spelled out units become the symbols BIDS recommends; nothing declared keeps the format's default.
    t = make_session_folder(tmp_path / "t", meta={"unit": "resp: arbitrary units, rising on inhale"})
    export_bids(t, tmp_path / "b2")
    assert raw_side(tmp_path / "b2")["respiratory"]["Units"] == "arbitrary"


def test_an_acceleration_in_g_is_exported_in_si_units() -> None:
    # "mg" in a BIDS sidecar is a milligram, "g" a gram: g-units become m/s^2 with standard gravity.
    from breathsync.export_bids import _acceleration_in_si

    cols = {"acc_x": np.array([1000.0, -500.0]), "acc_y": np.array([1.0, 0.5]), "resp": np.array([1.0, 2.0])}
    units = {"acc_x": "mg", "acc_y": "g", "resp": "arbitrary"}
    note = _acceleration_in_si(cols, units)
    np.testing.assert_allclose(cols["acc_x"], [9.80665, -4.903325])
    np.testing.assert_allclose(cols["acc_y"], [9.80665, 4.903325])
    np.testing.assert_allclose(cols["resp"], [1.0, 2.0])  # not an accelerometer: left alone
    assert units == {"acc_x": "m/s^2", "acc_y": "m/s^2", "resp": "arbitrary"}
    assert "acc_x from mg" in note and "acc_y from g" in note
    already = {"acc_z": np.array([9.8])}
    assert _acceleration_in_si(already, {"acc_z": "m/s^2"}) == "" and already["acc_z"][0] == 9.8


def test_breathing_and_ecg_columns_have_the_bids_names(tmp_path: Path) -> None:
    s = make_session_folder(tmp_path / "s", ecg=True)
    out = tmp_path / "bids"
    export_bids(s, out)
    side = raw_side(out)
    assert side["Columns"] == ["respiratory", "cardiac"]
    assert "resp" not in side and "ecg" not in side  # the descriptions are under the exported names
    assert (
        "breathing" in side["respiratory"]["Description"]
        and "electrocardiogram" in side["cardiac"]["Description"]
    )
    with gzip.open(
        out / "sub-A/beh/sub-A_task-breathsync_recording-raw_physio.tsv.gz", "rt", encoding="utf-8"
    ) as fh:
        first = fh.readline().rstrip("\n").split("\t")
    assert len(first) == 2


# ------------------------------------------------------------------------------------ sessions
def test_a_study_of_dyad_sessions_is_one_dataset(tmp_path: Path) -> None:
    # Every dyad session has participants A and B: the second export was refused ("sub-A is already there").
    one = make_session_folder(tmp_path / "one")
    two = make_session_folder(tmp_path / "two")
    edit_session(two, B={"source": {"kind": "replay", "file": "b.csv"}})
    out = tmp_path / "study"
    export_bids(one, out, session_label="1")
    export_bids(two, out, session_label="2")
    for sub in ("A", "B"):
        for ses in ("1", "2"):
            assert raw_side(out, sub, ses)["Columns"] == ["respiratory"]
    rows = tsv(out / "participants.tsv")
    assert [r["participant_id"] for r in rows] == ["sub-A", "sub-B"]  # one row per subject, not per session
    assert rows[1]["source"] == "mixed"  # B: simulated in one session, a replayed file in the other
    sessions = tsv(out / "sub-B" / "sub-B_sessions.tsv")
    assert [(r["session_id"], r["source"], r["simulated"]) for r in sessions] == [
        ("ses-1", "sim", "yes"),
        ("ses-2", "replay", "n/a"),
    ]
    with pytest.raises(InputError, match=r"sub-A ses-2 is already there"):
        export_bids(two, out, session_label="2")
    with pytest.raises(InputError, match=r"session folders.*session label"):
        export_bids(two, out)
    with pytest.raises(InputError, match=r"letters and digits only.*'pre1'"):
        export_bids(two, out, session_label="pre-1")
    issues = bids_validator_issues(out)
    assert not [i for i in issues if i[0] == "error"], issues


# ------------------------------------------------------------------------------------ pair synchrony
def test_the_pair_synchrony_is_a_derivative(tmp_path: Path) -> None:
    s = make_session_folder(tmp_path / "s", info={"settings": {"window_s": 30.0}})
    rel = write_pairs_csv(s)
    out = tmp_path / "bids"
    export_bids(s, out, session_label="1")
    deriv = out / "derivatives" / "breathsync"
    desc = json.loads((deriv / "dataset_description.json").read_text(encoding="utf-8"))
    assert desc["DatasetType"] == "derivative"
    assert desc["GeneratedBy"][0]["Name"] == "breathsync" and desc["GeneratedBy"][0]["Version"] == __version__
    files = {}
    for me, partner in (("A", "B"), ("B", "A")):
        p = deriv / f"sub-{me}/ses-1/beh/sub-{me}_ses-1_task-breathsync_desc-pairsync_beh.tsv"
        rows = tsv(p)
        side = json.loads(p.with_suffix(".json").read_text(encoding="utf-8"))
        assert set(rows[0]) <= set(side)  # every column described
        assert side["rel_phase_rad"]["Units"] == "rad" and side["lag_s"]["Units"] == "s"
        assert {r["partner_id"] for r in rows} == {f"sub-{partner}"} and len(rows) == rel.size
        assert rows[0]["plv"] == "n/a" and rows[0]["in_sync"] == "n/a" and rows[1]["in_sync"] == "1"
        assert rows[1]["window_s"] == "30" and float(rows[1]["null_plv"]) == 0.5
        files[me] = np.array([float(r["rel_phase_rad"]) for r in rows])
    np.testing.assert_allclose(files["A"], rel, atol=1e-4)
    np.testing.assert_allclose(files["B"], -rel, atol=1e-4)  # each from its own point of view
    issues = bids_validator_issues(out)
    assert not [i for i in issues if i[0] == "error"], issues


def test_a_damaged_pairs_file_is_one_line(tmp_path: Path) -> None:
    s = make_session_folder(tmp_path / "s")
    write_pairs_csv(s)
    text = (s / "pairs.csv").read_text(encoding="utf-8").splitlines()
    text[5] = "31.0,oops,0.5,,,,,"
    (s / "pairs.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"pairs.csv:6: non-numeric cell 'oops'.*move pairs.csv out"):
        export_bids(s, tmp_path / "bids")
    assert not (tmp_path / "bids").exists()


# ------------------------------------------------------------------------------------ simulated, maker
def test_simulated_participants_are_flagged_and_no_source_kind_is_a_manufacturer(tmp_path: Path) -> None:
    s = make_session_folder(tmp_path / "s")
    edit_session(s, A={"source": {"kind": "ble", "device": "polar-h10", "name": "Polar H10 1234"}})
    out = tmp_path / "bids"
    export_bids(s, out)
    rows = {r["participant_id"]: r for r in tsv(out / "participants.tsv")}
    assert rows["sub-A"]["simulated"] == "no" and rows["sub-B"]["simulated"] == "yes"
    described = json.loads((out / "participants.json").read_text(encoding="utf-8"))
    assert "simulated" in described and "yes" in described["simulated"]["Levels"]
    a, b = raw_side(out, "A"), raw_side(out, "B")
    assert a["Manufacturer"] == "Polar Electro" and a["ManufacturersModelName"] == "H10"
    assert "Manufacturer" not in b and b["breathsyncSourceKind"] == "sim"  # was "Manufacturer": "sim"
    # The maker comes from the device's profile in devices/; a generic heart-rate strap names none.
    edit_session(
        s,
        A={"source": {"kind": "ble", "device": "gdx-rb"}},
        B={"source": {"kind": "ble", "device": "heart-rate"}},
    )
    export_bids(s, tmp_path / "b2")
    a, b = raw_side(tmp_path / "b2", "A"), raw_side(tmp_path / "b2", "B")
    assert a["Manufacturer"] == "Vernier" and "GDX-RB" in a["ManufacturersModelName"]
    assert "Manufacturer" not in b and "ManufacturersModelName" not in b


# ------------------------------------------------------------------------------------ what export takes
def test_a_folder_of_csv_files_is_told_what_export_takes(tmp_path: Path) -> None:
    # It was told to "give recording CSV files", which export refuses ("is a file, not a session folder").
    folder = tmp_path / "csvs"
    folder.mkdir()
    (folder / "a.csv").write_text("time,resp\n0,1\n0.04,2\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        export_bids(folder, tmp_path / "bids")
    msg = str(e.value)
    assert "no session.json" in msg and "--record" in msg and "give recording CSV files" not in msg


# ------------------------------------------------------------------------------------ case
def test_subjects_that_differ_only_in_case_are_refused(tmp_path: Path) -> None:
    # A session with participants "A" and "a" (the recorder writes A.csv and a_2.csv) exported sub-A and
    # sub-a: on macOS and Windows one folder, where the second participant's files replaced the first's.
    s = make_session_folder(tmp_path / "s")
    (s / "B.csv").rename(s / "a_2.csv")
    info = json.loads((s / "session.json").read_text(encoding="utf-8"))
    info["participants"][1]["label"] = "a"
    info["files"] = {
        "A.csv": {"kind": "raw", "participant": "A"},
        "a_2.csv": {"kind": "raw", "participant": "a"},
    }
    (s / "session.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(
        InputError, match=r"'A' and 'a' map to BIDS subjects sub-A and sub-a, which differ only in case"
    ):
        export_bids(s, tmp_path / "bids")
    assert not (tmp_path / "bids").exists()
    # Across sessions of one dataset: sub-a beside an earlier session's sub-A.
    one = make_session_folder(tmp_path / "one")
    export_bids(one, tmp_path / "study", session_label="1")
    two = make_session_folder(tmp_path / "two")
    edit_session(two, A={"label": "a"})
    info = json.loads((two / "session.json").read_text(encoding="utf-8"))
    info["files"]["A.csv"]["participant"] = "a"
    (two / "session.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(InputError, match=r"sub-a differs from the dataset's sub-A only in case"):
        export_bids(two, tmp_path / "study", session_label="2")
    assert sorted(p.name for p in (tmp_path / "study").iterdir() if p.name.startswith("sub-")) == [
        "sub-A",
        "sub-B",
    ]
