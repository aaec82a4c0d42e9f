"""A participant from a Lab Streaming Layer (LSL) stream: ``lsl:STREAM-NAME``.

The stream is found by name (a partner on another computer running ``breathsync ... --publish``, or any LSL
respiration stream), then a worker thread pulls its chunks without blocking (``pull_chunk(timeout=0)`` and
short waits), so the asyncio loop never waits on the network. Timestamps: the sender's ``local_clock()``
plus the inlet's ``time_correction()`` (refreshed every few seconds) gives this computer's LSL clock; minus
the LSL time at which the session started gives session seconds.

A breathsync publisher's stream (``--publish``, :mod:`breathsync.lsl_out`) says in its description
(``desc/breathsync``) what its participant's breathing comes from: its ``resp`` channel is a breathing
waveform in every case, but one derived from heart beats (``signal`` rr) or a chest accelerometer (acc) is
not a belt's. The source says so (:attr:`LslSource.derived_from`; ``derived_from`` and ``publisher`` in its
description), for the session to treat it as derived breathing; a stream without that description reads as
before.

A stream that stops sending for ``lost_after_s``, or whose connection breaks, is "no signal"; the worker
then resolves the name again and opens what it finds under it, checking what it carries as at the start,
and the source is "streaming" again when samples come back. liblsl's own recovery (``recover=True``) is
not used: it reconnects to a new outlet of the same source_id (a partner's breathsync restarted within a
second or two: ``breathsync-<host>-<label>`` each time) without a word, so breathing that now came from
heart beats, or RR intervals where there was a waveform, was read as the old stream.

pylsl is an optional extra (``pip install 'breathsync[lsl]'``), imported only when an LSL source or the
publisher is used. liblsl's own log (its version, the configuration file it read, a partner's stream that
broke off, which breathsync reports itself as "no signal") is kept off the terminal: see
:func:`liblsl_config`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from breathsync.errors import InputError
from breathsync.sources.base import (
    DERIVED_RR_NO_SIGNAL_S,
    RR_NO_SIGNAL_S,
    SIGNAL_COLUMNS,
    SampleChunk,
    SessionClock,
    Source,
    SourceError,
    SourceStatus,
    real_time_error,
    spec_seconds,
    split_spec,
)

__all__ = [
    "ChannelChoice",
    "ChannelInfo",
    "LslSource",
    "channel_infos",
    "channel_kind",
    "channel_labels",
    "choose_channel",
    "derivation",
    "import_pylsl",
    "label_words",
    "liblsl_config",
    "parse_lsl_spec",
    "pick_channel",
    "publisher_description",
]

SPEC_SYNTAX = "lsl:STREAM-NAME[,timeout=S][,channel=LABEL_OR_INDEX]"
#: Channel labels read as the breathing waveform (case-insensitive): the first four say so exactly, the
#: last two are weaker (a channel whose label merely contains resp or breath counts with them).
RESP_LABELS = ("resp", "respiration", "breathing", "resp_belt", "belt", "wave")
#: Channel types of a respiration waveform (XDF meta-data conventions, https://github.com/sccn/xdf/wiki/Meta-Data,
#: give each channel a ``<type>``; breathsync's own --publish types its waveform RESP).
RESP_TYPES = ("resp", "respiration", "breathing")
#: RR intervals, as the recording format's ``rr_ms`` (README, "Recording format"): by label, or by type on
#: an irregular-rate stream.
RR_LABELS = ("rr", "rr_ms", "ibi", "ibi_ms")
RR_TYPES = ("rr", "ibi")
ECG_NAMES = ("ecg", "ekg")
_ECG_LABEL = re.compile(r"^(ecg|ekg)(?![a-z])")
# A unit per minute: breaths/min, 1/min, min^-1, bpm, rpm, cpm (a rate, never a waveform).
_PER_MINUTE = re.compile(r"/\s*min|per\s*min|min\s*\^?\s*-\s*1|\b[bcr]pm\b", re.IGNORECASE)
# A label's words: runs of letters, split where the case changes (RespirationRate, ECG_HR, HRValue).
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
#: Label words that name a rate (see :func:`channel_kind`).
_RATE_WORDS = frozenset(
    {"rate", "hr", "bpm", "rpm", "brpm", "heartrate", "pulserate", "resprate", "respirationrate"}
    | {"respiratoryrate", "breathrate", "breathingrate"}
)
# A volume per minute: airflow (L/min, ml/min, lpm), not a rate.
_FLOW_UNIT = re.compile(r"\s*(?:[mu\u00b5]?l|lit(?:re|er)s?|cc|s?lpm)(?![a-z])", re.IGNORECASE)
_MILLISECONDS = ("ms", "msec", "millisecond", "milliseconds")
_SECONDS = ("s", "sec", "second", "seconds")
_TC_REFRESH_S = 5.0  # how often the clock offset to the sender is read again
_POLL_S = 0.05  # wait between non-blocking pulls
_RESOLVE_EVERY_S = 2.0  # while the stream is silent: look for it again by name
#: RR intervals: when none of a stream's first this many is one a heart gives (300-2000 ms), the stream is
#: refused (all 0, or seconds without a unit): as a replay refuses such a file (Recording.check_rr_intervals).
RR_CHECK_FIRST = 10
#: The longest ``timeout=`` (s): time enough to start the partner's computer; liblsl's resolver takes a
#: double, and a huge one (1e300) made it give up at once with a false "not found".
MAX_TIMEOUT_S = 3600.0
#: The element of a stream's description in which a breathsync publisher (breathsync.lsl_out) describes the
#: participant whose stream it is, and the fields read from it (``participant``, ``signal``: what their
#: breathing comes from, ``source``: the kind of source, ``device``: a known wearable's profile).
PUBLISHER_ELEMENT = "breathsync"
PUBLISHER_FIELDS = ("participant", "signal", "source", "device")
#: A publisher's ``signal`` whose breathing waveform is derived, not measured: heart beats (``rr``) or a chest
#: accelerometer (``acc``). Its ``resp`` channel is then that derived waveform (README, "Breathing from a
#: heart-rate strap or a chest accelerometer").
DERIVED_SIGNALS = ("rr", "acc")
#: Words for what a derived waveform comes from (``breathing`` in an ``lsl:`` or XDF replay's description).
DERIVED_WORDS = {
    "rr": "derived from heart beats (RR intervals) by the breathsync that published the stream",
    "acc": "derived from a chest accelerometer by the breathsync that published the stream, which set which "
    "way is inhale",
}


#: liblsl's log level on stderr when the user's own configuration sets none: -3, loguru's FATAL, the quietest
#: liblsl accepts (``[log] level``, -3 to 9, 0 = INFO, the default; liblsl src/api_config.cpp). Its INFO
#: lines (its version, the configuration file read) and its ERR lines about a partner's stream that broke off
#: and is being reconnected, which breathsync says itself ("no signal"), landed in the live view and on stderr.
LIBLSL_LOG_LEVEL = -3
_liblsl_configured = False


def _liblsl_config_files() -> list[str]:
    """Where liblsl looks for its configuration, in its order (liblsl src/api_config.cpp,
    ``api_config::api_config``, https://github.com/sccn/liblsl): the file named by the environment variable
    LSLAPICFG, then ``lsl_api.cfg`` in the working folder, ``~/lsl_api/lsl_api.cfg``,
    ``/etc/lsl_api/lsl_api.cfg``. It reads the first one it can open, and only that one."""
    env = os.environ.get("LSLAPICFG")
    return [
        *([env] if env else []),
        "lsl_api.cfg",
        os.path.expanduser("~/lsl_api/lsl_api.cfg"),
        "/etc/lsl_api/lsl_api.cfg",
    ]


def _configures_log(text: str) -> bool | None:
    """Whether a liblsl configuration sets ``[log] level`` or ``[log] file`` (a log file of the user's own,
    which liblsl then writes at its default level and keeps off stderr); None when liblsl would not parse it.
    liblsl's INI rules (src/util/inireader.cpp): a line is blank, a comment (``;`` first), a ``[section]``, or
    ``key = value``; anything else fails the whole file, and so does a key given twice (why a level is not
    simply added to a file that has one)."""
    section = ""
    for line in text.split("\n"):
        if not line.strip(" \t\r") or line.startswith(";"):
            continue
        if line.startswith("["):
            end = line.find("]")
            if end < 0:
                return None
            section = line[1:end]
            continue
        key, eq, _ = line.partition("=")
        if not eq:
            return None
        if section == "log" and key.strip(" \t\r") in ("level", "file"):
            return True
    return False


def liblsl_config() -> str | None:
    """The configuration to give liblsl (``lsl_set_config_content``) so that its own log stays off the
    terminal: the user's configuration file, the one liblsl would read itself (:func:`_liblsl_config_files`),
    word for word, with ``[log] level =`` :data:`LIBLSL_LOG_LEVEL` added; just that when there is no file.
    Every setting of the user's stays (KnownPeers, ports, SessionID). None, leaving liblsl to read its
    configuration itself and say what it finds, when the file sets a ``[log] level`` or ``file`` (the log is
    theirs to set), LSLAPICFG names a file that cannot be read (liblsl says so), or the file liblsl would read
    cannot be read as text or would not parse (liblsl reports its error)."""
    env = os.environ.get("LSLAPICFG")
    for k, name in enumerate(_liblsl_config_files()):
        try:
            with open(name, "rb") as fh:
                data = fh.read()
        except OSError:
            if (env and k == 0) or os.path.exists(name):  # named, or there but unreadable: liblsl's to report
                return None
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if _configures_log(text) is not False:
            return None
        sep = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{sep}[log]\nlevel = {LIBLSL_LOG_LEVEL}\n"
    return f"[log]\nlevel = {LIBLSL_LOG_LEVEL}\n"


def _quiet_liblsl(pylsl: ModuleType) -> None:
    """Give liblsl :func:`liblsl_config`, once, before anything else of liblsl's runs (it reads its
    configuration at its first use and never again: a later call does nothing). A liblsl older than 1.17.7
    cannot be given one (pylsl raises NotImplementedError): its log stays as it is."""
    global _liblsl_configured
    if _liblsl_configured:
        return
    _liblsl_configured = True
    content = liblsl_config()
    setter = getattr(pylsl, "set_config_content", None)
    if content is None or setter is None:
        return
    with contextlib.suppress(NotImplementedError, AttributeError, OSError, ValueError):
        setter(content)


def import_pylsl() -> ModuleType:
    """pylsl, or an InputError saying how to install it (one line). liblsl's own log is quieted the first time
    (:func:`liblsl_config`)."""
    try:
        import pylsl
    except (ImportError, OSError, RuntimeError) as e:  # RuntimeError: pylsl without its liblsl
        raise InputError(
            f"LSL needs pylsl ({type(e).__name__}: {e}): pip install 'breathsync[lsl]'"
        ) from None
    _quiet_liblsl(pylsl)
    return pylsl


@dataclass(frozen=True)
class ChannelInfo:
    """One channel of a stream's description: its ``label``, ``type`` and ``unit`` (the fields of a
    ``desc/channels/channel`` element in the XDF meta-data conventions,
    https://github.com/sccn/xdf/wiki/Meta-Data); "" where not given."""

    label: str
    type: str = ""
    unit: str = ""


@dataclass(frozen=True)
class ChannelChoice:
    """The channel a participant reads, and as what.

    ``signal``: ``"resp"`` (a breathing waveform), ``"rr"`` (RR intervals, the recording format's
    ``rr_ms``: breathing is derived from them) or ``"ecg"`` (an ECG: an XDF replay plays its heart beats,
    a live stream refuses it). ``scale`` turns the channel's values into the signal's unit (RR intervals
    given in seconds: 1000). ``unit``: the channel's ``<unit>``, "" when not given."""

    index: int
    label: str
    signal: str
    unit: str = ""
    scale: float = 1.0


def channel_labels(info: Any) -> list[str]:
    """The channel labels in an LSL stream's metadata (``desc/channels/channel/label``); "" where missing."""
    return [ch.label for ch in channel_infos(info)]


def channel_infos(info: Any) -> list[ChannelInfo]:
    """The channels an LSL stream's metadata describes (``desc/channels/channel``: label, type, unit, the
    layout of the XDF meta-data conventions, https://github.com/sccn/xdf/wiki/Meta-Data); one per channel,
    empty fields where the description says nothing."""
    out: list[ChannelInfo] = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(out) < info.channel_count():
        out.append(ChannelInfo(ch.child_value("label"), ch.child_value("type"), ch.child_value("unit")))
        ch = ch.next_sibling("channel")
    out += [ChannelInfo("")] * (info.channel_count() - len(out))
    return out


def publisher_description(info: Any) -> dict[str, str]:
    """What a breathsync publisher says of the participant whose stream this is (``info``: a stream's
    information with its full description, as an inlet gets it): the fields of its ``desc/breathsync``
    element that it gives (:data:`PUBLISHER_FIELDS`, as :mod:`breathsync.lsl_out` writes them), and the
    publishing breathsync's ``software_version`` (``desc/acquisition``). Empty for a stream of another
    publisher, which has no such element."""
    desc = info.desc()
    about = desc.child(PUBLISHER_ELEMENT)
    if about.empty():
        return {}
    out = {k: about.child_value(k).strip() for k in PUBLISHER_FIELDS}
    acq = desc.child("acquisition")
    if not acq.empty() and acq.child_value("manufacturer").strip() == PUBLISHER_ELEMENT:
        out["software_version"] = acq.child_value("software_version").strip()
    return {k: v for k, v in out.items() if v}


def derivation(publisher: Mapping[str, str], choice: ChannelChoice) -> str:
    """What the chosen channel's breathing waveform was derived from, by what its publisher says
    (:func:`publisher_description`): ``"rr"`` (heart beats) or ``"acc"`` (a chest accelerometer) for a
    breathsync participant whose breathing comes from them; ``""`` for a belt's, another publisher's stream,
    or a channel read as something else than a waveform (RR intervals, an ECG: their signal says it)."""
    signal = publisher.get("signal", "")
    return signal if signal in DERIVED_SIGNALS and choice.signal == "resp" else ""


def _carries(signal: str, origin: str) -> str:
    return f"{signal} derived from {origin}" if origin else signal


def _per_minute(unit: str) -> bool:
    return bool(_PER_MINUTE.search(unit))


def label_words(label: str) -> list[str]:
    """A channel label's words, lower case: split on anything but letters and where the case changes
    (``RespirationRate``, ``resp_rate``, ``ECG_HR``, ``HRValue`` -> ``hr``, ``value``)."""
    return [w.lower() for w in _WORDS.findall(label)]


def _rate_label(label: str) -> bool:
    """The label names a rate: a word ``rate``, ``hr`` (heart rate), ``bpm``/``rpm``, or one written as a
    single word (``heartrate``, ``resprate``); "rate" inside another word (``calibrated``, ``generated``,
    ``separate``, ``integrated``) is not one."""
    return any(w in _RATE_WORDS for w in label_words(label))


def _rate_unit(unit: str) -> bool:
    """A count per minute (breaths/min, 1/min, min^-1, bpm, rpm, cpm); a volume per minute (L/min, ml/min,
    lpm: airflow, a waveform) is not a rate."""
    return _per_minute(unit) and not _FLOW_UNIT.match(unit)


def channel_kind(ch: ChannelInfo, irregular: bool) -> str:
    """What a channel holds, from its description: ``"ecg"``, ``"rate"`` (a rate per minute: breathing or
    heart rate, never a waveform), ``"rr"`` (RR intervals), ``"resp"`` (typed as a respiration waveform)
    or ``"other"``.

    The recording format's rules (README, "Recording format"): an ECG is read for its heart beats, RR
    intervals (``rr_ms``) as beats. In a stream description, case-insensitive, the first that applies:

    - type RATE is a rate;
    - type RESP, Respiration or Breathing is a respiration waveform, whatever its label, unless its unit is
      a count per minute (``breaths/min``: the respiratory rate); a volume per minute (``L/min``) is
      airflow, a waveform;
    - a unit counting per minute (``breaths/min``, ``bpm``, ``1/min``) or a label with the word "rate" or
      "HR" in it (``RespirationRate``, ``resp_rate``, ``Heart Rate``, ``ECG_HR``: a heart rate, not the
      ECG; but not ``Resp calibrated`` or ``generated``) is a rate; clinical monitors call the
      respiratory rate "RR", which its unit (``rpm``) tells apart from RR intervals;
    - type ECG/EKG or a label ``ecg...`` is an ECG;
    - a label rr, rr_ms or ibi, or type RR/IBI on an irregular-rate stream (one sample per beat; LSL's
      nominal rate 0) is RR intervals."""
    label, kind, unit = ch.label.strip().lower(), ch.type.strip().lower(), ch.unit.strip()
    if kind == "rate":
        return "rate"
    if kind in RESP_TYPES:
        return "rate" if _rate_unit(unit) else "resp"
    if _rate_unit(unit) or _rate_label(ch.label):
        return "rate"
    if kind in ECG_NAMES or _ECG_LABEL.match(label):
        return "ecg"
    if label in RR_LABELS or (kind in RR_TYPES and irregular):
        return "rr"
    return "other"


def _looks_resp(label: str) -> int:
    """How strongly a label (of a channel without a respiration type) says breathing: 2 an exact
    respiration label, 1 one containing resp/breath or a belt/wave label, 0 not at all."""
    low = label.strip().lower()
    if low in RESP_LABELS[:4]:
        return 2
    if "resp" in low or "breath" in low or low in RESP_LABELS[4:]:
        return 1
    return 0


def _names(channels: list[ChannelInfo], ks: list[int]) -> str:
    out = []
    for k in ks:
        ch = channels[k]
        about = ", ".join(x for x in (ch.type.strip(), ch.unit.strip()) if x)
        out.append(repr(ch.label or f"#{k}") + (f" ({about})" if about else ""))
    return ", ".join(out)


def choose_channel(
    channels: list[ChannelInfo],
    wanted: str | None,
    stream: str,
    what: str = "lsl: stream",
    *,
    irregular: bool = False,
) -> ChannelChoice:
    """The channel of a stream a participant reads, for an LSL inlet and an XDF replay alike.

    ``wanted`` (``,channel=``: a label, case-insensitive, or an index) is taken as it is, unless it is a
    rate (refused). Otherwise: the channel typed as a respiration waveform, else the one labelled like one
    (an exact resp/respiration/breathing label before one that merely contains resp or breath), else the
    RR-interval channel, else the ECG, else the only channel; rates (:func:`channel_kind`) never. When two
    or more channels qualify alike (two belts ``RESP_A`` and ``RESP_B``), none is guessed: InputError
    listing them. ``what`` names the stream's kind in messages; ``irregular``: the stream has no nominal
    rate (LSL's 0: one sample per event).

    Raises
    ------
    InputError
        One line naming the stream, its channels and how to choose (``,channel=NAME``).
    """
    labels = [ch.label for ch in channels]
    if wanted is not None:
        lower = [lab.lower() for lab in labels]
        if wanted.lower() in lower:
            k = lower.index(wanted.lower())
        elif wanted.isdigit() and int(wanted) < len(labels):
            k = int(wanted)
        else:
            raise InputError(
                f"{what} {stream!r} has no channel {wanted!r} (channels: {_list(labels)}): "
                f"give ,channel= one of these labels or an index from 0 to {len(labels) - 1}"
            )
        return _choice(channels, k, stream, what, irregular)
    kinds = [channel_kind(ch, irregular) for ch in channels]
    typed = [k for k, kind in enumerate(kinds) if kind == "resp"]
    untyped = [k for k, kind in enumerate(kinds) if kind == "other"]
    tiers = [
        ("respiration channels", typed),
        ("respiration channels", [k for k in untyped if _looks_resp(labels[k]) == 2]),
        ("respiration channels", [k for k in untyped if _looks_resp(labels[k]) == 1]),
        ("RR-interval channels", [k for k, kind in enumerate(kinds) if kind == "rr"]),
        ("ECG channels", [k for k, kind in enumerate(kinds) if kind == "ecg"]),
    ]
    for name, ks in tiers:
        if len(ks) == 1:
            return _choice(channels, ks[0], stream, what, irregular)
        if ks:
            raise InputError(
                f"{what} {stream!r} has {len(ks)} {name} ({_names(channels, ks)}): add ,channel=NAME to "
                "choose one"
            )
    if len(channels) == 1 and kinds[0] == "other":
        return _choice(channels, 0, stream, what, irregular)
    if len(channels) == 1:  # a rate
        raise InputError(
            f"{what} {stream!r} has one channel, {_names(channels, [0])}, a rate, not a breathing waveform: "
            "choose a stream with the breathing waveform"
        )
    raise InputError(
        f"{what} {stream!r} has {len(labels)} channels ({_list(labels)}) and none is a respiration "
        "channel (type RESP or a label such as resp): add ,channel=LABEL_OR_INDEX"
    )


def _choice(channels: list[ChannelInfo], k: int, stream: str, what: str, irregular: bool) -> ChannelChoice:
    ch = channels[k]
    kind = channel_kind(ch, irregular)
    label = ch.label or str(k)
    unit = ch.unit.strip()
    if kind == "rate":
        about = unit or ch.type.strip() or "its label says so"
        raise InputError(
            f"{what} {stream!r}: channel {label!r} is a rate ({about}), not a breathing waveform: give "
            f",channel= the breathing waveform's label (channels: {_list([c.label for c in channels])})"
        )
    if kind == "rr":
        low = unit.lower()
        if low in _SECONDS:
            return ChannelChoice(k, label, "rr", unit, 1000.0)
        if low and low not in _MILLISECONDS:
            raise InputError(
                f"{what} {stream!r}: channel {label!r} holds RR intervals in {unit!r}: breathsync reads "
                "them in milliseconds (unit ms) or seconds (unit s)"
            )
        return ChannelChoice(k, label, "rr", unit)
    return ChannelChoice(k, label, "ecg" if kind == "ecg" else "resp", unit)


def pick_channel(labels: list[str], wanted: str | None, stream: str, what: str = "lsl: stream") -> int:
    """:func:`choose_channel`'s index for channels known by their labels only."""
    return choose_channel([ChannelInfo(lab) for lab in labels], wanted, stream, what).index


def _list(labels: list[str]) -> str:
    return ", ".join(lab or f"#{k}" for k, lab in enumerate(labels))


class LslSource(Source):
    """One participant's breathing from an LSL stream found by name: a breathing waveform (``resp``), or
    RR intervals (``rr``: one sample per heart beat, breathing derived from them as from a heart-rate
    strap's), whichever channel :func:`choose_channel` picks when the stream is opened. RR intervals no heart
    gives (none of the first :data:`RR_CHECK_FIRST` between 300 and 2000 ms: all 0, or seconds without a
    unit) fail the source with one line, as a replay refuses such a file.

    A breathsync publisher's waveform derived from heart beats or a chest accelerometer (its description's
    ``signal``, :func:`derivation`) arrives as ``resp`` like a belt's, and :attr:`derived_from` says what it
    came from. RR-derived breathing comes as the publisher accepts beats: it is "no signal" only after
    :data:`~breathsync.sources.base.DERIVED_RR_NO_SIGNAL_S` without samples (or ``lost_after_s``
    when longer).

    Parameters
    ----------
    name : str
        The stream's name (e.g. ``breathsync-A``, what ``--publish`` on the other computer announces).
    timeout_s : float
        How long :meth:`start` looks for the stream before giving up with a :class:`SourceError`.
    channel : str, optional
        The channel to read (label or index); default: see :func:`choose_channel`.
    lost_after_s : float
        Seconds without samples after which the source reports "no signal" (longer for RR-derived
        breathing: see above and :attr:`no_signal_after_s`).
    """

    signal = "resp"
    #: What the breathing waveform was derived from, by its publisher's description: "rr" (heart beats),
    #: "acc" (a chest accelerometer), or "" (measured as it is, or not said: a belt, another publisher's
    #: stream); known once the stream is open.
    derived_from = ""

    def __init__(
        self,
        name: str,
        *,
        timeout_s: float = 10.0,
        channel: str | None = None,
        lost_after_s: float = 2.0,
    ) -> None:
        super().__init__()
        if not name:
            raise InputError(f"lsl needs a stream name: {SPEC_SYNTAX}")
        if not (0 < timeout_s <= MAX_TIMEOUT_S and 0 < lost_after_s < math.inf):
            raise ValueError(
                f"timeout_s must be in (0, {MAX_TIMEOUT_S:g}] and lost_after_s positive and finite"
            )
        self.name = name
        self.timeout_s = float(timeout_s)
        self.channel = channel
        self.lost_after_s = float(lost_after_s)
        self._pylsl: ModuleType | None = None
        self._inlet: Any = None
        self._uid = ""
        self._index = 0
        self._scale = 1.0  # the channel's values times this: the signal's unit (RR in seconds -> ms)
        self.signal = "resp"  # "rr" for a channel of RR intervals; known once the stream is open
        self.derived_from = ""  # "rr"/"acc": a publisher's derived waveform; known with the signal
        #: What a breathsync publisher says of its participant (:func:`publisher_description`); {} otherwise.
        self.publisher: dict[str, str] = {}
        self._signal_known = False
        self._refused = ""  # why a stream back under this name is not read (said once)
        self._base = 0.0  # this computer's LSL time at session time 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: asyncio.Queue[SampleChunk | SourceError | None] | None = None
        self._rr_seen = 0  # RR intervals checked so far (the first RR_CHECK_FIRST), and how many were
        self._rr_ok = 0  # in the range a heart gives
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stream_info: dict[str, Any] = {}

    # ------------------------------------------------------------------------------ blocking helpers
    def _open(self, timeout_s: float) -> bool:
        """Resolve the name and open an inlet (blocking; worker thread or ``to_thread``)."""
        lsl = self._pylsl
        assert lsl is not None
        found = lsl.resolve_byprop("name", self.name, 1, timeout_s)
        if not found:
            return False
        # recover=False: a broken connection is the worker's to reopen, with the checks above (module docstring).
        inlet = lsl.StreamInlet(found[0], max_buflen=30, recover=False)
        full = inlet.info(timeout=max(timeout_s, 2.0))
        if full.channel_format() == lsl.cf_string:
            raise InputError(f"lsl: stream {self.name!r} carries text, not a breathing signal")
        irregular = full.nominal_srate() == lsl.IRREGULAR_RATE
        choice = choose_channel(channel_infos(full), self.channel, self.name, irregular=irregular)
        if choice.signal == "ecg":
            raise InputError(
                f"lsl: stream {self.name!r}: channel {choice.label!r} is an ECG: for a live stream breathsync "
                "derives breathing from RR intervals, not from a raw ECG (an ECG is read for its heart beats "
                "in a recording only): stream the RR intervals (a channel labelled rr_ms, in ms) or a "
                "breathing waveform, and name it with ,channel=NAME"
            )
        publisher = publisher_description(full)
        origin = derivation(publisher, choice)
        # The stream came back as something else (the session set itself up for what it carried first).
        if self._signal_known and (choice.signal, origin) != (self.signal, self.derived_from):
            raise InputError(
                f"lsl: stream {self.name!r} now carries {_carries(choice.signal, origin)}, not "
                f"{_carries(self.signal, self.derived_from)} as before"
            )
        self._index, self._scale = choice.index, choice.scale
        self.signal, self._signal_known = choice.signal, True
        self.derived_from, self.publisher = origin, publisher
        labels = channel_labels(full)
        inlet.open_stream(timeout=max(timeout_s, 2.0))
        self._inlet = inlet
        self._uid = full.uid()
        self.stream_info = {
            "type": full.type(),
            "channel": labels[self._index] or str(self._index),
            "nominal_srate": full.nominal_srate(),
            "source_id": full.source_id(),
        }
        # The channel's <unit>, as a recording's "# unit:" line gives it (README, "Recording format"); RR
        # intervals are delivered in milliseconds whatever their stream's unit (the format's rr_ms).
        if choice.signal == "resp" and choice.unit:
            self.stream_info["unit"] = f"resp: {choice.unit}"
        return True

    def _close_inlet(self) -> None:
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            with contextlib.suppress(Exception):
                inlet.close_stream()
            del inlet

    @property
    def no_signal_after_s(self) -> float:
        """Seconds without samples after which the source reports "no signal": ``lost_after_s``; for RR
        intervals at least :data:`~breathsync.sources.base.RR_NO_SIGNAL_S` (3.5 s, as a strap of the session's
        own: the stream said "no signal" at one missed beat at 60 beats/min or slower); for a publisher's
        RR-derived breathing, which comes as beats are accepted, at least
        :data:`~breathsync.sources.base.DERIVED_RR_NO_SIGNAL_S` (4.5 s)."""
        if self.signal == "rr":  # RR intervals: one missed beat at 40/min is 3 s without a sample
            return max(self.lost_after_s, RR_NO_SIGNAL_S)
        if self.derived_from != "rr":
            return self.lost_after_s
        return max(self.lost_after_s, DERIVED_RR_NO_SIGNAL_S)

    # ------------------------------------------------------------------------------ Source
    def speed_error(self, speed: float) -> str | None:
        """Why this source cannot run at ``speed`` (it runs in real time), or None."""
        return real_time_error(f"lsl:{self.name}", "a live stream", speed)

    async def start(self, clock: SessionClock) -> None:
        why = self.speed_error(clock.speed)
        if why:
            raise SourceError(why)
        try:
            self._pylsl = import_pylsl()
        except InputError as e:
            raise SourceError(str(e)) from None
        self._stop.clear()
        self._rr_seen = self._rr_ok = 0
        try:
            ok = await asyncio.to_thread(self._open, self.timeout_s)
        except InputError as e:
            raise SourceError(str(e)) from None
        except Exception as e:  # liblsl errors: one line
            raise SourceError(f"lsl: cannot open stream {self.name!r}: {e}") from None
        if not ok:
            raise SourceError(
                f"lsl: no stream named {self.name!r} found within {self.timeout_s:g} s: is it published "
                "(breathsync run ... --publish on the other computer) on this local network? (--publish "
                "announces a participant at their first samples: for a device still connecting there, give a "
                "longer ,timeout=)"
            )
        self._base = self._pylsl.local_clock() - clock.now()
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._thread = threading.Thread(target=self._pump, name=f"lsl-{self.name}", daemon=True)
        self._thread.start()
        self.set_status(SourceStatus.STREAMING)

    async def stream(self) -> AsyncIterator[SampleChunk]:
        if self._queue is None:
            raise SourceError("lsl: start() first")
        while True:
            chunk = await self._queue.get()
            if chunk is None:
                return
            if isinstance(chunk, SourceError):
                raise chunk
            yield chunk

    async def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join, 5.0)
        if self._queue is not None:
            self._queue.put_nowait(None)

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": "lsl", "stream": self.name, "signal": self.signal}
        d.update(self.stream_info)
        if self.derived_from:
            d["derived_from"] = self.derived_from
            d["breathing"] = DERIVED_WORDS[self.derived_from]
        if self.publisher:  # what a breathsync publisher says of its participant (no host, no address)
            d["publisher"] = dict(self.publisher)
        return d

    # ------------------------------------------------------------------------------ worker thread
    def _post(self, fn: Any, *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(fn, *args)

    def _pump(self) -> None:
        """Pull chunks until stopped; runs on its own thread and never touches session state directly."""
        from breathsync.dsp.rr import RR_MAX_MS, RR_MIN_MS

        lost_after_s = self.no_signal_after_s  # what the stream carries is known: it was opened
        tc = 0.0
        tc_at = -math.inf
        last_t = -math.inf  # session time of the last delivered sample
        last_data = time.monotonic()
        last_resolve = time.monotonic()
        silent = False
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                # A stream that is there but refused (it came back as something else) is looked at again every
                # few seconds, as a silent one, not at every poll.
                wait = _RESOLVE_EVERY_S if self._refused or self._inlet is not None else 0.0
                if (self._inlet is None or silent) and now - last_resolve >= wait:
                    last_resolve = now
                    self._reopen()
                    if self._inlet is None:
                        self._stop.wait(_POLL_S)
                        continue
                    tc_at = -math.inf
                try:
                    data, ts = self._inlet.pull_chunk(timeout=0.0, max_samples=1024)
                    if len(ts) and now - tc_at >= _TC_REFRESH_S:
                        with contextlib.suppress(Exception):  # keep the previous offset on a timeout
                            tc = float(self._inlet.time_correction(timeout=1.0))
                            tc_at = now
                except Exception as e:  # LostError: the stream went away and cannot be recovered
                    self._close_inlet()
                    if not silent:
                        silent = True
                        self._post(self.set_status, SourceStatus.NO_SIGNAL, f"stream {self.name} lost ({e})")
                    continue
                if len(ts):
                    t = np.asarray(ts, dtype=float) + tc - self._base
                    y = np.asarray(data, dtype=float).reshape(len(ts), -1)[:, self._index] * self._scale
                    # Deliver increasing times after session start only (a sample older than the last
                    # one, e.g. after the clock offset moved, is dropped).
                    prev = np.maximum.accumulate(np.concatenate(([max(last_t, 0.0)], t[:-1])))
                    keep = t > prev
                    if keep.any():
                        t, y = t[keep], y[keep]
                        last_t = float(t[-1])
                        assert self._queue is not None
                        if self.signal == "rr" and self._rr_seen < RR_CHECK_FIRST:
                            first = y[: RR_CHECK_FIRST - self._rr_seen]
                            self._rr_seen += first.size
                            self._rr_ok += int(np.count_nonzero((first >= RR_MIN_MS) & (first <= RR_MAX_MS)))
                            if self._rr_seen >= RR_CHECK_FIRST and self._rr_ok == 0:
                                label = self.stream_info.get("channel", str(self._index))
                                why = SourceError(
                                    f"lsl: stream {self.name!r}: channel {label!r}: none of its first "
                                    f"{RR_CHECK_FIRST} RR intervals is between {RR_MIN_MS:g} and {RR_MAX_MS:g} ms "
                                    f"(30-200 beats/min; the last was {float(first[-1]):.4g}): check that it sends RR "
                                    "intervals in milliseconds (unit ms) or seconds (unit s)"
                                )
                                self._post(self._queue.put_nowait, why)
                                return
                        column = SIGNAL_COLUMNS[self.signal][0]  # resp, or rr_ms for RR intervals
                        self._post(self._queue.put_nowait, SampleChunk(t, {column: y}))
                    last_data = now
                    if silent:
                        silent = False
                        self._post(self.set_status, SourceStatus.STREAMING, "")
                elif not silent and now - last_data > lost_after_s:
                    silent = True
                    last_resolve = now
                    self._post(
                        self.set_status,
                        SourceStatus.NO_SIGNAL,
                        f"stream {self.name}: nothing for {lost_after_s:g} s",
                    )
                self._stop.wait(_POLL_S)
        finally:
            self._close_inlet()

    def _reopen(self) -> None:
        """Look for the stream again by name; switch to it when it came back under a new identity."""
        lsl = self._pylsl
        assert lsl is not None
        try:
            found = lsl.resolve_byprop("name", self.name, 1, 0.5)
        except Exception:
            return
        if not found or (self._inlet is not None and found[0].uid() == self._uid):
            return
        self._close_inlet()
        try:
            if self._open(1.0):
                self._refused = ""  # read again: a later refusal is news again
        except InputError as exc:
            # Back, but carrying something else (another signal, no usable channel): it stays "no signal", and
            # says why once (it stayed silent with the reason "nothing for 2 s").
            why = f"{exc}: it is not read (join it again in a new session)"
            if why != self._refused:
                self._refused = why
                self._post(self.set_detail, why)
        except Exception:
            pass


def parse_lsl_spec(text: str) -> LslSource:
    """An LSL source from the command-line text after ``lsl:``: ``NAME[,timeout=S][,channel=C]``."""
    name, options = split_spec(text, f"lsl needs a stream name: {SPEC_SYNTAX}")
    kwargs: dict[str, Any] = {}
    for key, eq, value in options:
        if key == "timeout" and eq:
            kwargs["timeout_s"] = spec_seconds("lsl", key, value, MAX_TIMEOUT_S)
        elif key == "channel" and eq and value:
            kwargs["channel"] = value
        else:
            raise InputError(f"lsl: unknown option {key + eq + value!r} in {text!r}: {SPEC_SYNTAX}")
    return LslSource(name, **kwargs)
