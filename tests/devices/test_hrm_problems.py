"""What a heart-rate strap's notifications say is wrong with its signal (``HrmDecoder.problem``): no skin
contact (the contact flag, decoded but never used before), or heart rate without beat intervals (an optical
sensor: Polar OH1 / Verity Sense give no RR, notes ble.md section 4). Before, such a strap showed "no
signal" forever with no reason."""

from __future__ import annotations

import devices
from devices.heart_rate import (
    NO_CONTACT,
    NO_CONTACT_AFTER,
    NO_HEART_BEAT,
    NO_RR,
    NO_RR_AFTER,
    NO_RR_BESIDE,
    RR_STOPPED,
    HrmDecoder,
    encode_hrm,
)


def _feed(
    dec: HrmDecoder, n: int, hr: int = 70, rr: list[float] | None = None, contact: bool | None = None
) -> list[str]:
    out = []
    for _ in range(n):
        dec.feed(encode_hrm(hr, rr or [], contact=contact))
        out.append(dec.problem)
    return out


def test_heart_rate_without_beat_intervals_is_said_after_some_notifications() -> None:
    dec = HrmDecoder()
    assert dec.problem == ""
    said = _feed(dec, NO_RR_AFTER + 2)  # an optical sensor: contact not supported, no RR
    assert said == [""] * (NO_RR_AFTER - 1) + [NO_RR] * 3
    assert NO_RR.startswith("heart rate arrives but no beat intervals: this sensor cannot give breathing")
    assert _feed(dec, 1, rr=[800.0]) == [""]  # a beat: the signal is there
    assert _feed(dec, NO_RR_AFTER - 1, contact=True) == [""] * (NO_RR_AFTER - 1)  # counted afresh


def test_no_skin_contact_is_said_and_lasts_until_beats_come() -> None:
    dec = HrmDecoder()
    assert _feed(dec, 1, rr=[800.0], contact=True) == [""]
    said = _feed(dec, NO_CONTACT_AFTER + 1, hr=0, contact=False)
    assert said == [""] * (NO_CONTACT_AFTER - 1) + [NO_CONTACT] * 2
    assert NO_CONTACT == "no skin contact: moisten the electrodes and tighten the strap"
    # Contact back but no beats yet: still no signal, and still the same advice, until a beat comes...
    assert _feed(dec, 2, contact=True) == [NO_CONTACT] * 2
    assert _feed(dec, 1, rr=[790.0], contact=True) == [""]
    # ... or until so many notifications without beats that the other problem is the one to say (this
    # strap sent beats before: they stopped, the sensor is not one that cannot send them).
    _feed(dec, NO_CONTACT_AFTER, contact=False)
    assert _feed(dec, NO_RR_AFTER, contact=True)[-1] == RR_STOPPED


def test_a_moment_without_contact_is_no_news() -> None:
    dec = HrmDecoder()
    for _ in range(5):
        assert _feed(dec, NO_CONTACT_AFTER - 1, contact=False) == [""] * (NO_CONTACT_AFTER - 1)
        assert _feed(dec, 1, rr=[800.0], contact=True) == [""]


def test_heart_rate_zero_without_contact_support_says_to_put_the_strap_on() -> None:
    dec = HrmDecoder()
    assert _feed(dec, NO_RR_AFTER, hr=0)[-1] == NO_HEART_BEAT
    assert NO_HEART_BEAT.endswith("put the strap on, moisten the electrodes and tighten it")


def test_the_problem_changes_no_decoded_record() -> None:
    """``breathsync decode`` prints what it printed before (README's vectors): the problem is the decoder's
    judgement over notifications, not a field of one."""
    dec = HrmDecoder()
    for _ in range(NO_RR_AFTER + 1):
        (rec,) = dec.feed(bytes.fromhex("00 2A"))
    assert dec.problem == NO_RR
    assert rec.records() == [{"kind": "hrm", "hr_bpm": 42, "contact": None, "energy_kj": None, "rr_ms": []}]


def test_the_polar_h10_says_what_missing_beats_mean_beside_its_accelerometer() -> None:
    """The H10's breathing is its accelerometer's: beats without intervals do not make it "a sensor that
    cannot give breathing"; only which way is inhale waits for them."""
    dec = devices.get_profile("polar-h10").stream("hrm").decoder()
    for _ in range(NO_RR_AFTER):
        dec.feed(encode_hrm(70, [], contact=True))
    assert dec.problem == NO_RR_BESIDE and "which way is inhale stays a guess" in NO_RR_BESIDE  # type: ignore[attr-defined]
    strap = devices.get_profile("heart-rate").stream("hrm").decoder()
    for _ in range(NO_RR_AFTER):
        strap.feed(encode_hrm(70, [], contact=True))
    assert strap.problem == NO_RR  # type: ignore[attr-defined]


def test_a_strap_whose_beats_stop_is_not_told_to_be_replaced() -> None:
    """A chest strap that sent beat intervals, then none (slipping): its sensor can give breathing, so the
    wearer is told to check the fit, not to use another strap."""
    dec = HrmDecoder()
    dec.feed(bytes([0x10, 70, 0x00, 0x04]))  # 70 beats/min and one RR interval (1024/1024 s)
    for _ in range(NO_RR_AFTER):
        dec.feed(bytes([0x00, 70]))  # heart rate only
    assert dec.problem == RR_STOPPED
    fresh = HrmDecoder()
    for _ in range(NO_RR_AFTER):
        fresh.feed(bytes([0x00, 70]))
    assert fresh.problem == NO_RR
