"""Samples a BLE source cannot use because their mapped time is not after the stream's previous one are counted.

When a Polar H10's first frames arrive late, the device clock's mapping moves back as earlier arrivals come,
and a few samples of the next frames map before the last one given: they cannot be given (times only ever
increase), and before they were discarded without a count (the audit's jitter case: 15 of 6000 samples, with
``dropped: 0``). Now each notification that loses samples so is counted in ``dropped``, as "out of order"
in ``dropped_by``, like every other notification the source cannot use in full.
"""

from __future__ import annotations

import numpy as np

import devices
from breathsync.sources.ble import BleSource
from devices.polar_pmd import ACC, encode_frame

RATE_HZ = 50
N = 10  # samples per frame
STRAP_NS = 599_616_000 * 10**9  # the strap's clock after a power-down (2019-01-01)


class _Clock:
    """A session clock the test sets: the arrival time of the next notification."""

    t = 0.0

    def now(self) -> float:
        return self.t


def test_samples_not_after_the_previous_one_are_counted() -> None:
    src = BleSource("Polar H10")
    prof = devices.get_profile("polar-h10")
    src.profile, src.signal, src.extra_columns = prof, prof.signal, prof.extra_columns
    src._decoders = {name: spec.decoder() for name, spec in prof.streams.items()}
    clock = src._clock = _Clock()  # type: ignore[assignment]
    delays = np.full(300, 0.01)
    delays[0] += 0.3  # the first frame arrives 300 ms late (slow connection parameters at the start)
    lost_in: list[int] = []  # notifications some of whose samples were not given
    given = 0
    for k, delay in enumerate(delays):
        last = (k + 1) * N - 1
        frame = encode_frame(ACC, STRAP_NS + round(last * 1e9 / RATE_HZ), np.tile([0, -150, 1000], (N, 1)))
        clock.t = 1.0 + last / RATE_HZ + delay
        src._on_data("pmd", frame)
        out = 0
        while not src._queue.empty():
            chunk = src._queue.get_nowait()
            assert chunk is not None
            out += len(chunk)
        if out < N:
            lost_in.append(k)
        given += out
    assert lost_in and given < N * len(delays)  # the case: samples could not be given
    assert src.dropped == len(lost_in) and src.dropped_by == {"out of order": len(lost_in)}
    assert src.describe()["dropped_by"] == {"out of order": len(lost_in)}
