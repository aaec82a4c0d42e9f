"""A recorded device played again: ``replay:DIR/A_ble.csv``, the capture a recording keeps of a Bluetooth
participant's notifications (:mod:`breathsync.io.capture`).

The notifications go, at the session times they arrived, through the same path as a live device's
(:class:`~breathsync.sources.ble.BleSource`): the profile's decoders (new ones with each connection, as
the live source made), the clock mapping of device times onto the arrival times, the beat clock of a
strap, the same checks and drop counts. Its times are the recording's, from the first notification (or,
played with other replays, from the earliest start among them, so that a capture and the recordings of
its session play in step). So a capture replayed gives the samples the session recorded
(tests/ble/test_ble_capture.py checks it), and replayed after a decoder was changed, what the changed
decoder makes of the same bytes. At any ``--speed``: the arrival times are the recorded ones, not the
replay's clock.

What a capture does not hold is not replayed: when a link was lost (only that the next notifications came
on a new connection), the scan, and the commands sent to the device.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections.abc import Iterator
from typing import Any

import devices
from breathsync.dsp.clock import ClockMapper
from breathsync.errors import InputError, RecordingError
from breathsync.io.capture import CAPTURE_SUFFIX, Capture, CaptureRow, read_capture
from breathsync.sources.base import SessionClock, SourceStatus, split_spec
from breathsync.sources.ble import BleSource
from breathsync.sources.replay import MAX_REPLAY_GAP_S

__all__ = ["SPEC_SYNTAX", "CaptureSource", "captured_recording", "is_capture", "parse_capture_spec"]

SPEC_SYNTAX = "replay:DIR/LABEL_ble.csv"


def is_capture(path: str) -> bool:
    """Whether ``path`` is a file holding a capture (its header, after any ``#`` lines, is the capture's)."""
    if not os.path.isfile(path):
        return False
    try:
        read_capture(path)
    except (RecordingError, OSError):
        return False
    return True


def captured_recording(capture: str, recording: str) -> bool:
    """Whether ``recording`` is the samples file of the participant whose device ``capture`` holds: in the
    same folder, ``A.csv`` beside ``A_ble.csv`` (the recorder's names)."""
    name = os.path.basename(capture)
    if (
        not name.endswith(CAPTURE_SUFFIX)
        or os.path.basename(recording) != name[: -len(CAPTURE_SUFFIX)] + ".csv"
    ):
        return False
    try:
        return os.path.samefile(os.path.dirname(capture) or ".", os.path.dirname(recording) or ".")
    except OSError:
        return False


def capture_profile(cap: Capture, device: str | None, without: str) -> devices.Profile:
    """The device profile of a capture: ``device`` where given (it must be the one the capture names, if it
    names one), else its ``# device:`` line. InputError (one line) when there is none (``without``: what to
    do then), it is unknown, or the two disagree."""
    said = cap.meta.get("device")
    if device and said and device != said:
        raise InputError(
            f"{cap.path}: the capture is of a {said} ('# device:' line), not a {device}: leave out DEVICE"
        )
    name = device or said
    if not name:
        raise InputError(f"{cap.path}: the capture names no device (no '# device:' line), {without}")
    try:
        return devices.get_profile(name)
    except KeyError as e:
        raise InputError(f"{cap.path}: {e.args[0]}") from None


def check_stream(cap: Capture, row: CaptureRow, profile: devices.Profile) -> None:
    """RecordingError (naming the line) for a row of a stream the device does not have."""
    if row.stream not in profile.streams:
        raise RecordingError(
            cap.path,
            f"stream {row.stream!r} is not one of {profile.name}'s ({', '.join(profile.streams)}): "
            "is this the device the capture was made with?",
            row.line,
        )


def parse_capture_spec(text: str) -> CaptureSource | None:
    """The capture a ``replay:`` spec names (``replay:DIR/A_ble.csv``), else None (another kind of replay).

    Raises
    ------
    InputError
        A capture with options (it is replayed as it was recorded), or one that cannot be replayed.
    """
    spec = text.strip()
    options: list[tuple[str, str, str]]
    if os.path.exists(spec):
        path, options = spec, []
    else:
        try:
            path, options = split_spec(spec, "replay needs a file")
        except InputError:
            return None  # not a capture's spec: the replay's parser says what is wrong with it
    if not is_capture(path):
        return None
    if options:
        given = ",".join(k + e + v for k, e, v in options)
        raise InputError(
            f"replay: {path} is a device's capture, replayed as it was recorded: it takes no options ({given})"
        )
    return CaptureSource(path)


class CaptureSource(BleSource):
    """A device's recorded notifications, decoded again as they came (see the module docstring)."""

    paced = True
    spec_kind = "replay"

    def __init__(self, path: str, device: str | None = None) -> None:
        super().__init__(os.path.basename(path) or path)
        self.path = path
        cap = read_capture(path)
        self.profile = capture_profile(cap, device, "so it cannot be replayed")
        self.signal = self.profile.signal
        self.extra_columns = self.profile.extra_columns
        # Every row checked now: a capture that cannot be played is refused before the session starts.
        first = last = math.nan
        last_line = 0
        for row in cap.rows():
            check_stream(cap, row, self.profile)
            if row.t - last > MAX_REPLAY_GAP_S:
                # As a recording with such a hole (sources/replay.py): the replay would show "no signal" that long.
                raise RecordingError(
                    path,
                    f"nothing for {row.t - last:.4g} s between lines {last_line} and {row.line} (at most "
                    f"{MAX_REPLAY_GAP_S:g} s): not one session's capture",
                    row.line,
                )
            if math.isnan(first):
                first = row.t
            last, last_line = row.t, row.line
        if math.isnan(first):
            raise RecordingError(path, "the capture holds no notification: nothing to replay")
        #: The first and last notifications' times (the capture's span, session seconds of its recording).
        self.first_time, self.last_time = first, last
        #: The recording time that maps to session time 0 (:func:`~breathsync.sources.replay.align_replays`
        #: gives replays played together one origin; alone, the first notification's time).
        self.origin = first
        self.loop = False  # (as a replay: never loops)
        self._next_s = 0.0
        self._player: asyncio.Task[None] | None = None

    def speed_error(self, speed: float) -> str | None:
        return None  # a recording: any --speed

    async def start(self, clock: SessionClock) -> None:
        self._clock = clock
        rows = read_capture(self.path).rows()
        self.set_status(SourceStatus.STREAMING)
        self._player = asyncio.get_running_loop().create_task(self._play(rows))

    async def _play(self, rows: Iterator[CaptureRow]) -> None:
        assert self._clock is not None and self.profile is not None
        connection = 0
        try:
            for row in rows:
                t = row.t - self.origin  # on the session's time, as the replays played with it
                self._next_s = t
                await self._clock.sleep_until(t)
                if self._stopping:
                    return
                if row.connection != connection:
                    # As the live source's _connect: new decoders and a new device clock for the connection.
                    connection = self._attempt = row.connection
                    self._decoders = {n: spec.decoder() for n, spec in self.profile.streams.items()}
                    self._mapper = ClockMapper()
                if row.stream not in self.profile.streams:  # (checked at the start: the file changed since)
                    raise RecordingError(self.path, f"stream {row.stream!r} is not the device's", row.line)
                self._on_data(row.stream, row.data, arrival=t)
                if self._failure is not None:
                    return
            self.set_status(SourceStatus.ENDED)
        except RecordingError as e:
            self.set_status(SourceStatus.FAILED, str(e))
        finally:
            self._next_s = math.inf
            self._queue.put_nowait(None)

    def next_sample_s(self) -> float:
        return self._next_s

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        if self._player is not None:
            self._player.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._player
        self._queue.put_nowait(None)

    def describe(self) -> dict[str, Any]:
        # A replay (its "# source:" line reads replay:A_ble.csv), of a device's capture.
        d: dict[str, Any] = {"kind": "replay", "file": self.path, "capture": True, "signal": self.signal}
        if self.profile is not None:
            d.update(device=self.profile.name, breathing=self.profile.breathing)
            d["settings"] = dict(self.profile.settings)
        d.update(dropped=self.dropped)
        if self.dropped_by:
            d["dropped_by"] = dict(self.dropped_by)
        return d
