"""Heart Rate Measurement (0x2A37) decoding: the vectors of ../shared/notes/ble.md section 1."""

from __future__ import annotations

import pytest

from devices import DecodeError, get_profile
from devices.heart_rate import decode_hrm, encode_hrm


def h(s: str) -> bytes:
    return bytes.fromhex(s)


def test_uint8_hr_contact_not_supported() -> None:  # pycycling tests
    m = decode_hrm(h("00 2A"))
    assert (m.hr_bpm, m.contact, m.energy_kj, m.rr_ms) == (42, None, None, ())


def test_bit1_alone_is_not_contact() -> None:  # OpenTracks tests; a known bug of public parsers
    m = decode_hrm(h("02 3C"))
    assert m.hr_bpm == 60 and m.contact is None


def test_uint16_hr() -> None:  # OpenTracks tests
    assert decode_hrm(h("01 01 01")).hr_bpm == 257


def test_energy_and_rr_in_ms() -> None:  # blevalueparser tests
    m = decode_hrm(h("18 AA BB 01 CC 01"))
    assert m.hr_bpm == 170 and m.energy_kj == 443
    assert m.rr_ms == pytest.approx((460 * 1000 / 1024,))  # 449.2 ms, not raw 1/1024 units
    assert m.rr_ms[0] == pytest.approx(449.2, abs=0.05)


def test_contact_supported_not_detected_and_detected() -> None:  # blevalueparser tests
    assert decode_hrm(h("04 AA")).contact is False
    assert decode_hrm(h("06 AA")).contact is True


def test_trailing_bytes_without_rr_flag_are_not_rr() -> None:  # another known bug: not reading the flags
    m = decode_hrm(h("00 48 CC 01"))
    assert m.hr_bpm == 72 and m.rr_ms == ()


def test_several_rr_oldest_first() -> None:
    m = decode_hrm(h("10 48 00 04 00 02"))
    assert m.rr_ms == (1000.0, 500.0)


@pytest.mark.parametrize(
    ("hexs", "msg"),
    [
        ("", "truncated"),
        ("00", "truncated"),
        ("01 48", "uint16"),
        ("08 48 01", "energy"),
        ("10 48 00", "odd"),
    ],
)
def test_malformed(hexs: str, msg: str) -> None:
    with pytest.raises(DecodeError, match=msg):
        decode_hrm(h(hexs))


def test_encode_round_trip() -> None:
    data = encode_hrm(300, [800.0, 812.5], contact=True, energy_kj=12)
    m = decode_hrm(data)
    assert (m.hr_bpm, m.contact, m.energy_kj) == (300, True, 12)
    assert m.rr_ms == pytest.approx((800.0, 812.5), abs=0.5)


def test_stream_decoder_record() -> None:
    (d,) = get_profile("heart-rate").stream("hrm").decoder().feed(h("18 AA BB 01 CC 01"))
    assert d.kind == "hrm" and d.device_t_s is None
    (rec,) = d.records()
    assert rec["hr_bpm"] == 170 and rec["energy_kj"] == 443 and rec["contact"] is None
    assert rec["rr_ms"] == [pytest.approx(449.21875)]
