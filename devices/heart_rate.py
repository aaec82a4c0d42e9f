"""Standard Bluetooth Heart Rate Service (any BLE heart-rate strap): Heart Rate Measurement decoding.

Facts: Bluetooth SIG Heart Rate Service / GATT Specification Supplement (characteristic 0x2A37), as
summarised with test vectors in ../shared/notes/ble.md section 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices._base import (
    Decoded,
    DecodeError,
    FixedController,
    Profile,
    StreamSpec,
    Subscribe,
    dropped,
    need,
)
from devices.battery import BATTERY_STREAM

HEART_RATE_SERVICE = "0000180d-0000-1000-8000-00805f9b34fb"
HEART_RATE_MEASUREMENT = "00002a37-0000-1000-8000-00805f9b34fb"

#: RR intervals are sent in units of 1/1024 s.
RR_UNITS_PER_S = 1024.0

#: RR intervals (ms) kept; one outside is dropped (the notification's others are kept). The Heart Rate Service sets no range
#: (an RR is any uint16 in 1/1024 s, up to 64 s), so these limits are ours, and generous: under 200 ms is a
#: heart over 300 beats/min (no human heart; maximal heart rates are near 220) and over 6000 ms a pause of
#: 6 s between beats (a strap that lost contact, not a beat). Plausible-but-odd beats within the limits are
#: the RR pipeline's business (its artefact limits are narrower: breathsync/dsp/rr.py).
RR_LIMITS_MS = (200.0, 6000.0)


@dataclass(frozen=True)
class HeartRateMeasurement:
    """One decoded Heart Rate Measurement notification.

    ``contact``: None when the strap does not support contact detection (flag bits 2..1 = 0 or 1),
    else True/False. ``rr_ms``: RR intervals in milliseconds, oldest first (may be empty).
    """

    hr_bpm: int
    contact: bool | None
    energy_kj: int | None
    rr_ms: tuple[float, ...]


def decode_hrm(data: bytes) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement (0x2A37) value; :class:`DecodeError` on malformed bytes."""
    data = bytes(data)
    need(data, 2, "heart rate measurement")
    flags = data[0]
    pos = 1
    if flags & 0x01:
        need(data, 3, "heart rate measurement (uint16 heart rate)")
        hr = int.from_bytes(data[1:3], "little")
        pos = 3
    else:
        hr = data[1]
        pos = 2
    # Bits 2..1: 0 or 1 = contact feature not supported (bit 1 alone does NOT mean contact), 2 = supported
    # and no contact, 3 = supported and contact.
    contact_bits = (flags >> 1) & 0x03
    contact = None if contact_bits < 2 else contact_bits == 3
    energy = None
    if flags & 0x08:
        need(data, pos + 2, "heart rate measurement (energy expended)")
        energy = int.from_bytes(data[pos : pos + 2], "little")
        pos += 2
    rr: tuple[float, ...] = ()
    if flags & 0x10:
        rest = data[pos:]
        if len(rest) % 2:
            raise DecodeError(f"heart rate measurement: odd number of RR bytes ({len(rest)})")
        raw = np.frombuffer(rest, dtype="<u2")
        rr = tuple((raw.astype(np.float64) * (1000.0 / RR_UNITS_PER_S)).tolist())
    elif len(data) > pos:
        # Trailing bytes without the RR flag are not RR intervals: ignore them rather than guess.
        pass
    return HeartRateMeasurement(hr_bpm=hr, contact=contact, energy_kj=energy, rr_ms=rr)


def encode_hrm(
    hr_bpm: int,
    rr_ms: tuple[float, ...] | list[float] = (),
    contact: bool | None = None,
    energy_kj: int | None = None,
) -> bytes:
    """Build a Heart Rate Measurement value (for tests and fake straps); RR rounded to 1/1024 s."""
    flags = 0
    body = b""
    if hr_bpm > 255:
        flags |= 0x01
        body += int(hr_bpm).to_bytes(2, "little")
    else:
        body += bytes([int(hr_bpm)])
    if contact is not None:
        flags |= 0x06 if contact else 0x04
    if energy_kj is not None:
        flags |= 0x08
        body += int(energy_kj).to_bytes(2, "little")
    if len(rr_ms):
        flags |= 0x10
        for r in rr_ms:
            body += round(r * RR_UNITS_PER_S / 1000.0).to_bytes(2, "little")
    return bytes([flags]) + body


#: Notifications in a row without an RR interval, from a strap that does not say its contact is lost, after
#: which it is taken to send none. Optical sensors (Polar OH1, Verity Sense) send heart rate only (notes
#: ble.md section 4); a strap sends about one notification a second, and a chest strap just put on gives its
#: first intervals within a few.
NO_RR_AFTER = 10
#: Notifications in a row saying "no skin contact" (contact detection supported, contact not detected) after
#: which the wearer is told: a moment without contact while moving is no news.
NO_CONTACT_AFTER = 3

#: What :attr:`HrmDecoder.problem` says, for the wearer: what is wrong, then what to do.
NO_CONTACT = "no skin contact: moisten the electrodes and tighten the strap"
NO_RR = (
    "heart rate arrives but no beat intervals: this sensor cannot give breathing; use a chest strap that "
    "sends RR intervals"
)
NO_HEART_BEAT = "heart rate 0 and no beat intervals: put the strap on, moisten the electrodes and tighten it"
#: :data:`NO_RR` of a strap that did send beat intervals on this connection: it can give breathing, and its
#: beats stopped (a strap slipping, a wearer moving), so the sensor is not to be replaced.
RR_STOPPED = "heart rate arrives but its beat intervals stopped: check that the strap is worn snugly"
#: :data:`NO_RR` of a strap whose beats come beside its breathing signal (the Polar H10's accelerometer): the
#: breathing goes on, only which way is inhale waits for the heart.
NO_RR_BESIDE = (
    "heart rate arrives but no beat intervals: which way is inhale stays a guess until they come; check that "
    "the strap is worn snugly"
)


class HrmDecoder:
    """Stream decoder for 0x2A37 notifications: one :class:`Decoded` with ``rr_ms`` (no device time), and
    a DROPPED record with the RR intervals outside :data:`RR_LIMITS_MS` when there are any.

    An RR of 0 (a uint16 can hold it; no beat lasts 0 ms) is under the lower limit like any other: dropped
    and counted, never a sample (it used to pass as ``rr_ms [0.0]``, then the live source discarded it
    without counting it). Adding it to the next interval adds nothing.

    An interval under the lower limit is an extra detection splitting a beat (a double-counted R wave):
    its time is added to the next interval, so that the running sum of intervals, the strap's only clock
    (:class:`~breathsync.dsp.clock.BeatClock`), keeps its time (dropping a 150-ms split left the next two
    minutes of beats 139 ms early, too little for the clock to re-anchor). One over the upper limit is
    dropped; the clock re-anchors after such a jump.

    ``problem`` says what is wrong with the strap's signal in words for the wearer, "" while nothing is:
    :data:`NO_CONTACT` after :data:`NO_CONTACT_AFTER` notifications in a row that report no skin contact
    (the contact flag: supported and not detected); :data:`NO_RR` (or :data:`NO_HEART_BEAT` when the heart
    rate is 0; :data:`RR_STOPPED` once the strap had sent RR intervals) after :data:`NO_RR_AFTER` in a row
    without an RR interval from a strap not reporting lost contact. It lasts until an RR interval arrives (contact back but no beats yet is still no signal), or
    until the other problem takes over. ``no_rr``: what to say instead of :data:`NO_RR` (a strap whose
    beats come beside another breathing signal: :data:`NO_RR_BESIDE`)."""

    def __init__(self, no_rr: str = NO_RR) -> None:
        self._no_rr_text = no_rr
        self._carry_ms = 0.0  # an extra detection's time, added to the next interval
        self._no_rr = 0  # notifications in a row without RR, contact not reported lost
        self._no_contact = 0  # notifications in a row reporting no skin contact
        self._rr_seen = False  # a beat interval came on this connection: the sensor can give them
        self.problem = ""

    def _judge(self, m: HeartRateMeasurement) -> None:
        if m.rr_ms:
            self._no_rr = self._no_contact = 0
            self._rr_seen = True
            self.problem = ""
        elif m.contact is False:
            self._no_contact += 1
            self._no_rr = 0
            if self._no_contact >= NO_CONTACT_AFTER:
                self.problem = NO_CONTACT
        else:
            self._no_contact = 0
            self._no_rr += 1
            if self._no_rr >= NO_RR_AFTER:
                if m.hr_bpm == 0:
                    self.problem = NO_HEART_BEAT
                elif self._rr_seen and self._no_rr_text == NO_RR:
                    self.problem = RR_STOPPED
                else:
                    self.problem = self._no_rr_text

    def feed(self, data: bytes) -> list[Decoded]:
        m = decode_hrm(data)
        self._judge(m)
        info = {"hr_bpm": m.hr_bpm, "contact": m.contact, "energy_kj": m.energy_kj}
        lo, hi = RR_LIMITS_MS
        kept: list[float] = []
        bad: list[float] = []
        for r in m.rr_ms:
            r = float(r)
            if r > hi:
                bad.append(r)
                self._carry_ms = 0.0
                continue
            r += self._carry_ms
            if r < lo:
                bad.append(r - self._carry_ms)
                self._carry_ms = r
                continue
            self._carry_ms = 0.0
            kept.append(r)
        rec = Decoded("hrm", {"rr_ms": np.asarray(kept, dtype=np.float64)}, None, info)
        if not bad:
            return [rec]
        # Each RR interval is a beat of its own: the impossible ones go, the others of the notification stay.
        shown = ", ".join(f"{x:g}" for x in bad)
        why = (
            f"heart rate measurement: RR {shown} ms outside {lo:g}..{hi:g} ms (the other intervals kept; one "
            "too short is an extra detection, added to the next interval)"
        )
        return [rec, dropped("out of range", why, data, Decoded("hrm", {"rr_ms": np.asarray(bad)}))]


HRM_STREAM = StreamSpec(
    name="hrm",
    characteristic=HEART_RATE_MEASUREMENT,
    decoder=HrmDecoder,
    description="Heart Rate Measurement (0x2A37): heart rate, sensor contact, energy, RR intervals",
    signal="rr",
    signal_columns={"rr_ms": "rr_ms"},
    units={"rr_ms": "milliseconds"},
)


def heart_rate_profile() -> Profile:
    """Any strap with the standard Heart Rate Service: breathing derived from RR intervals."""
    return Profile(
        name="heart-rate",
        title="BLE heart-rate strap (Heart Rate Service)",
        service_uuids=(HEART_RATE_SERVICE,),
        name_prefixes=(),
        streams={"hrm": HRM_STREAM, "battery": BATTERY_STREAM},
        controller=lambda: FixedController(start=[Subscribe(HEART_RATE_MEASUREMENT, "hrm")], stop=[]),
        signal="rr",
        signal_stream="hrm",
        breathing="RR-derived (respiratory sinus arrhythmia): works best with slow, relaxed breathing",
        battery_stream="battery",
    )
