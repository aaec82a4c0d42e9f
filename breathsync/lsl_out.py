"""The LSL publisher (``--publish``): a session sink that announces the session as Lab Streaming Layer streams,
so LabRecorder can record it beside EEG or video, and a partner on another computer can join with
``-p LABEL=lsl:breathsync-LABEL``.

Streams (``HOST`` below is a short hash of this computer's name, so that the ids are stable from one run to
the next, which lets LSL inlets and LabRecorder reconnect after a restart, and differ between computers):

- ``breathsync-<label>``, type ``Respiration``, 20 Hz float32, one per participant whose breathing comes
  from this computer: channels ``resp`` (the breathing waveform on the grid before the live filters, rising
  on inhale: what a partner joining through this stream filters, once; in the unit the source measures it
  in, :func:`resp_unit`), ``wave`` (the live filtered waveform the view draws), ``phase`` (radians, 0 =
  inhale onset), ``rate`` (breaths per minute), ``quality`` (0 ok, 1 warm-up, 2 gap, 3 flat, 4 no
  breathing); NaN where unknown. source_id ``breathsync-HOST-<label>``. ``<breathsync>`` in its description
  says the participant, the ``signal`` the breathing comes from (``resp`` a belt or a recording of breathing,
  ``acc`` a chest accelerometer, ``rr`` heart beats: ``resp`` is then derived from it), the ``source`` kind
  and, for a known wearable, its ``device`` profile.

  A participant's stream is announced when the participant's first samples come, not when the session
  opens: only then is its description final (a Bluetooth device is known once the scan found it: until then
  it said ``resp`` for a Polar H10), and LSL gives a consumer the description once, when it connects, so a
  stream is announced once and keeps it (announced early and again later, LabRecorder and a partner's
  inlet would hold the first, wrong one, or see two streams). A consumer looking for it sooner waits (a
  partner's ``lsl:`` source for its ``timeout``; LabRecorder records a stream that was selected but
  missing at the start once it appears, https://github.com/labstreaminglayer/App-LabRecorder/pull/38); a
  participant who never gives a sample is never announced.
- ``breathsync-sync-<a>-<b>``, type ``Synchrony``, irregular (one sample per snapshot, about 10 Hz): the
  pair's ``sync_score``, ``plv``, ``null_plv``, ``in_sync``, ``rel_phase`` (radians, > 0: a ahead),
  ``lag`` (seconds), ``window_age`` (seconds: stamp - window_age is where the scored window ended).
- ``breathsync-sync-group``, type ``Synchrony``, irregular (one sample per snapshot, as a pair's), only in a
  session of three or more people: the group's Kuramoto order ``r`` over the window (0-1), its chance level
  ``null_r`` (0-1: the 99% quantile of the R of time-shifted copies of the group, :mod:`breathsync.dsp.group`,
  capped at ``null_cap``, and the cap itself until the surrogates have the history they need), ``above_chance``
  (1 when ``r > null_r``, else 0; NaN when R is unknown) and ``window_age`` (seconds, as a pair's); NaN
  where unknown: before the first window, and while one of the group has no signal. source_id
  ``breathsync-HOST-sync-group``. ``<breathsync>`` in its description names the ``participants`` (their
  labels comma-separated, in the order the labels sort: the order of the chance level's rows, so the same
  group has the same description and level whatever order its people were given in), the ``window_s`` and
  the ``null_cap``.
- ``breathsync-events``, type ``Markers``, irregular strings: one JSON object per session event
  (``{"kind": ..., "text": ..., "participants": [...]}``), plus ``session_start`` (the session's own ``session_end``
  event says why it ended; one is added at the close only if it did not come).

Participants who themselves come from an LSL stream are not published again (they already are, by the
computer they breathe at; publishing them again under the same name would loop).

Timestamps: session time ``t`` is sent as ``base + t`` on LSL's ``local_clock()``, where ``base`` is read
once, when the session clock has started, as ``local_clock() - clock.now()``: one fixed mapping for every
stream of the session. Only a session at ``--speed 1`` is published (:func:`publish_speed_error`): LSL stamps
are real time, and a replay at speed 10 stamped so would deliver 200 samples/s from a stream declaring 20 Hz,
time-compressed against every other stream of a lab recording; stamped in real time instead, its breathing
rates and sync windows would be 10 times too fast. Neither is honest data.
"""

from __future__ import annotations

import hashlib
import json
import math
import socket
from collections.abc import Mapping
from itertools import combinations
from typing import Any

import numpy as np

from breathsync import __version__
from breathsync.dsp.sync import SyncConfig
from breathsync.errors import InputError
from breathsync.export_bids import declared_units
from breathsync.io.csvfile import DERIVED_FROM
from breathsync.recorder import device_unit
from breathsync.session_types import SessionInfo, Snapshot
from breathsync.sources.base import SampleChunk, SessionClock
from breathsync.sources.lsl import import_pylsl

__all__ = [
    "GROUP_CHANNELS",
    "GROUP_STREAM",
    "PAIR_CHANNELS",
    "PARTICIPANT_CHANNELS",
    "LslPublisher",
    "publish_speed_error",
    "published_signal",
    "resp_unit",
    "stream_name",
]

PREFIX = "breathsync"
#: Arbitrary units: breathing derived from an accelerometer or heart beats, or a source that names no unit.
ARBITRARY_UNIT = "a.u."
#: (label, unit, LSL channel type) of a participant's Respiration stream: the ``desc/channels/channel``
#: elements of the XDF meta-data conventions (https://github.com/sccn/xdf/wiki/Meta-Data: per channel a
#: ``label``, its measurement ``unit`` and its content ``type``), which LabRecorder stores in the XDF file and
#: a partner's ``lsl:`` source reads to choose the channel and carry its unit. ``resp``'s unit here is the
#: default: each participant's is :func:`resp_unit`.
PARTICIPANT_CHANNELS = (
    # The breathing waveform as measured, before the live filters: a partner joining through this stream,
    # or an XDF replay of it, filters it once (the filtered wave, fed to them, came out phase-late).
    ("resp", ARBITRARY_UNIT, "RESP"),
    ("wave", "a.u.", "RESP_FILTERED"),  # the live filtered waveform, as the live view draws it
    ("phase", "radians", "Phase"),
    ("rate", "breaths/min", "Rate"),
    ("quality", "code", "Quality"),
)
#: (label, unit) of a pair's Synchrony stream.
PAIR_CHANNELS = (
    ("sync_score", "0-1"),
    ("plv", "0-1"),
    ("null_plv", "0-1"),
    ("in_sync", "0/1"),
    ("rel_phase", "radians"),
    ("lag", "seconds"),
    # How long before the sample's timestamp its window ended (the pair's latest common sample's 0.1-s mark): the stamp
    # is when the view showed it; stamp - window_age is the end of the breathing it scored (behind by the
    # pipelines' delay, more for breathing from heart beats). An age, not an LSL time: float32 holds it.
    ("window_age", "seconds"),
)

#: The name of the group's Synchrony stream (a session of three or more people).
GROUP_STREAM = f"{PREFIX}-sync-group"
#: (label, unit) of the group's Synchrony stream.
GROUP_CHANNELS = (
    ("r", "0-1"),  # the Kuramoto order R of everyone's phase over the window (the views' "group order R")
    # Its chance level (breathsync.dsp.group): the cap (null_cap in the description) until the surrogates
    # have the history they need.
    ("null_r", "0-1"),
    ("above_chance", "0/1"),  # r > null_r; NaN when R is unknown
    ("window_age", "seconds"),  # as a pair's: stamp - window_age is where the group's window ended
)


def stream_name(label: str) -> str:
    """The name under which a participant's Respiration stream is published."""
    return f"{PREFIX}-{label}"


def publish_speed_error(speed: float) -> str | None:
    """Why a session at ``speed`` cannot be published (see the module's Timestamps), or None at speed 1."""
    if speed == 1.0:
        return None
    return (
        f"--publish at --speed {speed:g}: LSL streams are stamped in real time, and a session at another "
        "speed would be compressed or stretched in time against every other stream recorded with it; "
        "publish at --speed 1"
    )


def published_signal(participant: Mapping[str, Any]) -> str:
    """What a participant's breathing comes from, as their stream's description says it (``signal``): their
    signal, or, for a ``resp`` derived before it reached this session (a partner's published strap joined
    through ``lsl:``, a replay of its recording: the source's ``derived_from``), what it was derived from, so
    that a session joining this stream treats it as derived too (it said ``resp``: a belt)."""
    signal = str(participant.get("signal", "resp"))
    source = participant.get("source")
    derived = source.get("derived_from") if isinstance(source, dict) else None
    return str(derived) if signal == "resp" and derived in DERIVED_FROM else signal


def resp_unit(participant: Mapping[str, Any]) -> str:
    """The unit of a participant's published ``resp`` channel, from their entry in the session's description
    (``SessionInfo.participants``), as the recorder chooses the raw file's (``Recorder._open_raw``): what the
    entry or its source declares (a replay's file: ``# unit: resp: mV``), else what its device's profile says
    (:func:`breathsync.recorder.device_unit`: a GDX-RB belt's newtons), else arbitrary units. Breathing derived
    from an accelerometer (a Polar H10) or from heart beats is in arbitrary units, whatever its source's."""
    signal = str(participant.get("signal", ""))
    if signal != "resp" or published_signal(participant) != "resp":
        return ARBITRARY_UNIT
    source = participant.get("source")
    declared = participant.get("unit") or (source.get("unit") if isinstance(source, dict) else None)
    text = declared or device_unit(source, signal)
    unit = declared_units(str(text)).get("resp") if text else None  # "resp: mV" -> "mV"
    return unit or ARBITRARY_UNIT


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


class LslPublisher:
    """A :class:`~breathsync.session_types.Sink` publishing the session as LSL streams (see the module).

    Parameters
    ----------
    clock : SessionClock
        The session's clock, for the session time -> LSL time mapping.

    Raises
    ------
    InputError
        The clock does not run at speed 1 (:func:`publish_speed_error`), or pylsl is not installed
        (``pip install 'breathsync[lsl]'``).
    """

    def __init__(self, clock: SessionClock) -> None:
        why = publish_speed_error(clock.speed)
        if why:
            raise InputError(why)
        self._lsl = import_pylsl()
        self.clock = clock
        self._base: float | None = None
        self._host = _host_tag()
        self._people: dict[str, Any] = {}
        self._fs = 20.0
        #: Participants to announce at their first chunk (:meth:`on_chunk`), by label: their entry in the
        #: session's description, the dict the session completes before that chunk reaches the sinks.
        self._waiting: dict[str, Mapping[str, Any]] = {}
        self._pairs: dict[tuple[str, str], Any] = {}
        self._group: Any = None  # the group's Synchrony outlet (3+ participants)
        self._markers: Any = None
        self._started = False
        self._ended = False  # the session's own session_end event was marked (it says why)
        self.names: list[str] = []  # every stream published, for the user

    # ------------------------------------------------------------------------------ time
    def lsl_time(self, t_s: float) -> float:
        """LSL ``local_clock()`` time of session time ``t_s``."""
        if self._base is None:
            self._base = self._lsl.local_clock() - self.clock.now()
        return self._base + t_s

    # ------------------------------------------------------------------------------ Sink
    def open(self, info: SessionInfo) -> None:
        lsl = self._lsl
        self._fs = float(info.settings.get("pipeline", {}).get("fs_hz", 20.0))
        labels = [p["label"] for p in info.participants]
        # Participants' streams wait for their first samples (see the module): a description is final then.
        self._waiting = {p["label"]: p for p in info.participants if p["source"].get("kind") != "lsl"}
        window_s = str(info.settings.get("window_s", ""))
        for a, b in combinations(labels, 2):
            si = self._synchrony_info(f"sync-{a}-{b}", PAIR_CHANNELS)
            self._describe(si.desc(), pair=f"{a}-{b}", window_s=window_s)
            self._pairs[(a, b)] = lsl.StreamOutlet(si)
        if len(labels) >= 3:
            self._group = self._group_outlet(labels, window_s)
        si = lsl.StreamInfo(
            f"{PREFIX}-events",
            "Markers",
            1,
            lsl.IRREGULAR_RATE,
            lsl.cf_string,
            f"{PREFIX}-{self._host}-events",
        )
        self._describe(si.desc(), format="JSON: kind, text, participants")
        self._markers = lsl.StreamOutlet(si)
        self.names = [stream_name(x) for x in self._waiting]
        self.names += [f"{PREFIX}-sync-{a}-{b}" for a, b in self._pairs]
        if self._group is not None:
            self.names.append(GROUP_STREAM)
        self.names.append(f"{PREFIX}-events")

    def _synchrony_info(self, suffix: str, channels: tuple[tuple[str, str], ...]) -> Any:
        """The StreamInfo of a Synchrony stream ``breathsync-<suffix>`` (a pair's or the group's), with its
        channels' labels and units."""
        lsl = self._lsl
        si = lsl.StreamInfo(
            f"{PREFIX}-{suffix}",
            "Synchrony",
            len(channels),
            lsl.IRREGULAR_RATE,
            lsl.cf_float32,
            f"{PREFIX}-{self._host}-{suffix}",
        )
        chans = si.desc().append_child("channels")
        for name, unit in channels:
            ch = chans.append_child("channel")
            ch.append_child_value("label", name)
            ch.append_child_value("unit", unit)
        return si

    def _group_outlet(self, labels: list[str], window_s: str) -> Any:
        """The group's Synchrony stream (see the module), announced with the pairs' at the session's start."""
        si = self._synchrony_info("sync-group", GROUP_CHANNELS)
        # In the order the labels sort: the session's chance level takes the group's rows in that order
        # (breathsync.dsp.group), so the same people give the same description whatever order they came in.
        self._describe(
            si.desc(),
            participants=",".join(sorted(labels)),
            window_s=window_s,
            null_cap=f"{SyncConfig().max_null:g}",  # the session's chance levels are capped at the default
        )
        return self._lsl.StreamOutlet(si)

    def _announce(self, p: Mapping[str, Any]) -> None:
        """Create a participant's Respiration stream from their description as it now is (final: see the
        module)."""
        lsl = self._lsl
        label = str(p["label"])
        si = lsl.StreamInfo(
            stream_name(label),
            "Respiration",
            len(PARTICIPANT_CHANNELS),
            self._fs,
            lsl.cf_float32,
            f"{PREFIX}-{self._host}-{label}",
        )
        desc = si.desc()
        chans = desc.append_child("channels")
        units = {"resp": resp_unit(p)}
        for name, unit, kind in PARTICIPANT_CHANNELS:
            ch = chans.append_child("channel")
            ch.append_child_value("label", name)
            ch.append_child_value("unit", units.get(name, unit))
            ch.append_child_value("type", kind)
        source = p.get("source")
        source = source if isinstance(source, dict) else {}
        about = {
            "participant": label,
            "signal": published_signal(p),
            "source": str(source.get("kind", "")),
        }
        if isinstance(source.get("device"), str):  # a known wearable's profile (never its name or address)
            about["device"] = source["device"]
        self._describe(desc, **about)
        self._people[label] = lsl.StreamOutlet(si)

    @staticmethod
    def _describe(desc: Any, **fields: str) -> None:
        acq = desc.append_child("acquisition")
        acq.append_child_value("manufacturer", "breathsync")
        acq.append_child_value("software_version", __version__)
        bs = desc.append_child(PREFIX)
        for k, v in fields.items():
            bs.append_child_value(k, v)

    def on_chunk(self, label: str, chunk: SampleChunk) -> None:
        # The session completed this participant's description before their first chunk reached the sinks
        # (Session._refresh_description): announce their stream now, once.
        p = self._waiting.pop(label, None)
        if p is not None:
            self._announce(p)

    def on_snapshot(self, snap: Snapshot) -> None:
        if not self._started:
            self._started = True
            self._marker(0.0, "session_start", "session started", ())
        for pv in snap.participants:
            out = self._people.get(pv.label)
            if out is None or pv.new_t.size == 0:
                continue
            raw = pv.new_raw if pv.new_raw.size == pv.new_t.size else np.full(pv.new_t.size, np.nan)
            data = np.column_stack([raw, pv.new_wave, pv.new_phase, pv.new_rate, pv.new_quality])
            stamps = [self.lsl_time(float(t)) for t in pv.new_t]
            out.push_chunk(data.astype(np.float32), stamps)
        for pr in snap.pairs:
            out = self._pairs.get((pr.a, pr.b))
            if out is None:
                continue
            age = snap.t_s - pr.window_end_s  # NaN before there is a window
            values = [pr.sync_score, pr.plv, pr.null_plv, pr.in_sync_value, pr.rel_phase_rad, pr.lag_s, age]
            out.push_sample(values, self.lsl_time(snap.t_s))
        if self._group is not None:
            r, null = snap.group_r, snap.group_chance
            known = math.isfinite(r) and math.isfinite(null)
            above = float(r > null) if known else math.nan
            age = snap.t_s - snap.group_window_end_s  # NaN before there is a window
            self._group.push_sample([r, null, above, age], self.lsl_time(snap.t_s))
        for ev in snap.events:
            self._marker(ev.t_s, ev.kind, ev.text, ev.participants)
            self._ended = self._ended or ev.kind == "session_end"

    def _marker(self, t_s: float, kind: str, text: str, who: tuple[str, ...]) -> None:
        if self._markers is None:
            return
        msg = json.dumps({"kind": kind, "text": text, "participants": list(who)})
        t = t_s if math.isfinite(t_s) else self.clock.now()
        self._markers.push_sample([msg], self.lsl_time(t))

    def close(self, info: SessionInfo) -> None:
        # Only when the session's own session_end did not come (a session whose final snapshot failed).
        if self._markers is not None and self._started and not self._ended:
            self._marker(self.clock.now(), "session_end", "session ended", ())
        # Dropping the outlets withdraws the streams from the network.
        self._people.clear()
        self._waiting.clear()
        self._pairs.clear()
        self._group = None
        self._markers = None
