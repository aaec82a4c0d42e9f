"""Replay of respiration streams from an XDF file (LabRecorder's format): ``replay:FILE.xdf[,stream=NAME]``.

pyxdf reads the file and applies LSL's clock synchronisation (the ClockOffset chunks LabRecorder stores:
every stream's timestamps are moved onto the recording computer's clock), so streams recorded from several
computers share one time base. Each chosen stream is one participant; several participants from one file
replay in lockstep (:func:`~breathsync.sources.replay.align_replays` gives them one origin, the earliest
first timestamp among them).

Which stream: ``stream=NAME``, else the only stream of type Respiration, else (several) the one whose name
is the participant's label or ends with ``-LABEL`` (``breathsync-A`` for A, what ``--publish`` records).
Two streams of one name (two computers, or two sessions of one computer, published ``breathsync-A`` into one
recording) are never guessed between: one line lists them by what tells them apart (their stream id in the
file, LSL source_id, host, length), and ``source_id=ID`` or ``stream_id=N`` picks one.
Which channel: ``channel=LABEL_OR_INDEX``, else :func:`~breathsync.sources.lsl.choose_channel` (the rule an
LSL inlet follows: the channel typed as a respiration waveform, else labelled like one, else RR intervals,
else an ECG, never a rate; two that qualify alike are one line asking for ``,channel=NAME``). RR intervals
replay as the recording format's ``rr_ms`` (breathing derived from them); an ECG replays as the RR
intervals of its heart beats, as a CSV recording's ``ecg`` does. The channel's ``<unit>`` is carried into
a recording of the replay (``# unit:``). A stream a breathsync publisher wrote (``breathsync-A``) says what its
participant's breathing comes from (``desc/breathsync``): a waveform derived from heart beats or a chest
accelerometer replays as ``resp``, with :attr:`XdfReplaySource.derived_from` saying so, as an ``lsl:`` source
of the live stream does (:func:`~breathsync.sources.lsl.derivation`).

Damaged files: pyxdf skips what it cannot read and logs it; its logger is silenced here (its notes go to
nobody's terminal) and what it reports becomes one line: a file whose chunks break off inside its last one
(a recording cut short, e.g. by a crash) replays what is complete, like a CSV file's cut-off last line; any
other damage is refused, naming the file and where it is damaged.

pyxdf is an optional extra (``pip install 'breathsync[xdf]'``), imported only when an XDF file is replayed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from breathsync.dsp._types import FloatArray
from breathsync.errors import InputError, RecordingError
from breathsync.io.csvfile import Recording, check_time_scale
from breathsync.io.session_folder import file_identity
from breathsync.sources.base import SourceError, split_spec
from breathsync.sources.lsl import (
    DERIVED_WORDS,
    PUBLISHER_ELEMENT,
    PUBLISHER_FIELDS,
    ChannelInfo,
    choose_channel,
    derivation,
)
from breathsync.sources.replay import ReplaySource

__all__ = ["XdfReplaySource", "XdfStream", "is_xdf_path", "parse_xdf_spec", "read_xdf_streams"]

SPEC_SYNTAX = "replay:FILE.xdf[,stream=NAME][,source_id=ID][,stream_id=N][,channel=LABEL_OR_INDEX][,loop]"
RESP_TYPES = ("respiration", "resp", "breathing")


@dataclass(frozen=True)
class XdfStream:
    """One stream of an XDF file, timestamps already clock-synchronised by pyxdf."""

    name: str
    type: str
    labels: list[str]
    channel_format: str
    t: FloatArray
    values: np.ndarray  # (samples, channels)
    #: label, type and unit of each channel (desc/channels/channel, https://github.com/sccn/xdf/wiki/Meta-Data)
    channels: tuple[ChannelInfo, ...] = ()
    nominal_srate: float = 0.0  # 0: irregular rate (one sample per event, e.g. per heart beat)
    #: What tells two streams of one name apart: the stream's id in the file (the StreamId its chunks carry,
    #: https://github.com/sccn/xdf/wiki/Specifications; pyxdf's ``stream_id``), and the header's ``source_id``
    #: and ``hostname`` (LSL's; "" where missing).
    stream_id: int = 0
    source_id: str = ""
    hostname: str = ""
    #: What a breathsync publisher says of the participant whose stream it is (``desc/breathsync``, as
    #: :func:`breathsync.sources.lsl.publisher_description` reads it from a live stream); empty otherwise.
    publisher: Mapping[str, str] = field(default_factory=dict)


def is_xdf_path(path: str) -> bool:
    return path.lower().endswith((".xdf", ".xdfz"))


def _first(d: Any, key: str, default: str = "") -> str:
    v = d.get(key) if isinstance(d, dict) else None
    if isinstance(v, list) and v:
        v = v[0]
    return v if isinstance(v, str) else default


def _channels(info: dict[str, Any], n: int) -> list[ChannelInfo]:
    """The ``n`` channels a stream header describes (XDF meta-data conventions,
    https://github.com/sccn/xdf/wiki/Meta-Data: ``desc/channels/channel`` with ``label``, ``type``,
    ``unit``); empty fields where it says nothing."""
    out: list[ChannelInfo] = []
    desc = info.get("desc")
    desc = desc[0] if isinstance(desc, list) and desc else desc
    chans = desc.get("channels") if isinstance(desc, dict) else None
    chans = chans[0] if isinstance(chans, list) and chans else chans
    items = chans.get("channel") if isinstance(chans, dict) else None
    for ch in items or []:
        out.append(ChannelInfo(_first(ch, "label"), _first(ch, "type"), _first(ch, "unit")))
    return (out + [ChannelInfo("")] * n)[:n]


def _publisher(info: dict[str, Any]) -> dict[str, str]:
    """:func:`breathsync.sources.lsl.publisher_description` of a stream header as pyxdf gives it (each element a
    list of its occurrences)."""
    desc = info.get("desc")
    desc = desc[0] if isinstance(desc, list) and desc else desc
    if not isinstance(desc, dict):
        return {}
    about = desc.get(PUBLISHER_ELEMENT)
    about = about[0] if isinstance(about, list) and about else about
    if not isinstance(about, dict):
        return {}
    out = {k: _first(about, k).strip() for k in PUBLISHER_FIELDS}
    acq = desc.get("acquisition")
    acq = acq[0] if isinstance(acq, list) and acq else acq
    if _first(acq, "manufacturer").strip() == PUBLISHER_ELEMENT:
        out["software_version"] = _first(acq, "software_version").strip()
    return {k: v for k, v in out.items() if v}


def _srate(info: dict[str, Any]) -> float:
    try:
        rate = float(_first(info, "nominal_srate", "0") or 0)
    except ValueError:
        return 0.0
    return rate if np.isfinite(rate) and rate > 0 else 0.0


_CACHE: dict[tuple[str, float, int], tuple[list[XdfStream], str]] = {}


class _Collect(logging.Handler):
    """Keeps the messages pyxdf logs at ERROR (damage it skipped) instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.errors.append(record.getMessage().splitlines()[0])


@contextlib.contextmanager
def _pyxdf_quiet() -> Iterator[_Collect]:
    """pyxdf's own logger (not the global logging set-up) sends nothing to stderr while a file is read:
    its warnings ("Segments and clock-segments differ", "effective sampling rate ... differs") are notes
    about a valid file; its errors are collected and reported as one line."""
    logger = logging.getLogger("pyxdf")
    collect = _Collect()
    propagate = logger.propagate
    logger.addHandler(collect)  # a handler of its own: Python's last-resort stderr handler stays out
    logger.propagate = False
    try:
        # NumPy's warnings on a damaged clock-offset chunk (overflow, invalid value in its clock fit) are not
        # for the user either: the time stamps that come out are checked like a CSV's.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            yield collect
    finally:
        logger.removeHandler(collect)
        logger.propagate = propagate


def xdf_damage(path: str) -> tuple[str, str] | None:
    """Where the chunk structure of an XDF file breaks, from its chunk lengths (the contents are not read):
    None when every chunk is whole; ``("cut", why)`` when the file ends inside its last chunk (a recording
    that did not finish); ``("bad", why)`` for any other damage."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            if fh.read(4) != b"XDF:":
                return "bad", "it does not start with 'XDF:'"
            pos = 4
            while pos < size:
                head = fh.read(1)
                nbytes = head[0]
                if nbytes not in (1, 4, 8):
                    return "bad", f"invalid chunk length at byte {pos}"
                raw = fh.read(nbytes)
                if len(raw) < nbytes:
                    return "cut", f"cut short: it ends inside a chunk at byte {pos}"
                length = int.from_bytes(raw, "little")
                if length < 2:
                    return "bad", f"invalid chunk length at byte {pos}"
                end = pos + 1 + nbytes + length
                if end > size:
                    return "cut", f"cut short: it ends inside a chunk at byte {pos}"
                fh.seek(end)
                pos = end
    except OSError as e:
        return "bad", e.strerror or str(e)
    return None


def read_xdf_streams(path: str) -> list[XdfStream]:
    """Every stream of an XDF file (read once per file version); SourceError with one line when it cannot."""
    return _read_xdf(path)[0]


def _read_xdf(path: str) -> tuple[list[XdfStream], str]:
    """(the streams, "" or how the file was cut short: only its complete part is used)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SourceError(f"replay: {path}: no such file: check the path") from None  # as for a CSV
    except OSError as e:
        raise SourceError(f"replay: {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(
        st.st_mode
    ):  # pyxdf would block on a pipe nothing writes to, or read a device for ever
        raise SourceError(
            f"replay: {path}: not a regular file: give an XDF file (a pipe or a device cannot be one)"
        )
    key = (os.path.abspath(path), st.st_mtime, st.st_size)
    if key in _CACHE:
        return _CACHE[key]
    try:
        import pyxdf
    except ImportError:
        raise InputError(f"replay: {path}: reading XDF needs pyxdf: pip install 'breathsync[xdf]'") from None
    with _pyxdf_quiet() as log:
        try:
            raw, _header = pyxdf.load_xdf(path, synchronize_clocks=True)
        except Exception as e:  # pyxdf raises many kinds on a damaged file
            damage = xdf_damage(path)
            why = damage[1] if damage is not None else f"{type(e).__name__}: {e}".splitlines()[0]
            raise SourceError(f"replay: {path}: not a readable XDF file ({why})") from None
    note = ""
    if log.errors:
        damage = xdf_damage(path)
        if damage is None or damage[0] != "cut":
            where = damage[1] if damage is not None else log.errors[0]
            raise SourceError(
                f"replay: {path}: damaged XDF file ({where}): parts of it cannot be read; replay an intact "
                "copy of the recording"
            )
        note = damage[1]
    out = []
    for s in raw:
        info = s.get("info", {})
        name = _first(info, "name")
        try:
            t = np.asarray(s.get("time_stamps", []), dtype=float).reshape(-1)
            fmt = _first(info, "channel_format")
            n = int(_first(info, "channel_count", "0") or 0)
            if fmt == "string":
                values = np.empty((t.size, n), dtype=object)
            elif t.size == 0:  # a stream without a single sample (reshape cannot size it)
                values = np.empty((0, max(n, 0)))
            else:
                values = np.asarray(s.get("time_series", []), dtype=float).reshape(t.size, -1)
                n = values.shape[1]
        except (TypeError, ValueError) as e:
            raise SourceError(
                f"replay: {path}: stream {name!r} cannot be read as numbers ({str(e).splitlines()[0]})"
            ) from None
        chans = _channels(info, n)
        labels = [c.label for c in chans]
        out.append(
            XdfStream(
                name,
                _first(info, "type"),
                labels,
                fmt,
                t,
                values,
                tuple(chans),
                _srate(info),
                _stream_id(info),
                _first(info, "source_id"),
                _first(info, "hostname"),
                _publisher(info),
            )
        )
    _CACHE.clear()  # keep one file: several participants of one file share it
    _CACHE[key] = (out, note)
    return out, note


def _stream_id(info: dict[str, Any]) -> int:
    """The stream's id in the file (pyxdf's ``stream_id``: the StreamId its chunks carry)."""
    v = info.get("stream_id")
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _describe(streams: list[XdfStream]) -> str:
    return ", ".join(f"{s.name!r} ({s.type or 'no type'})" for s in streams) or "none"


def _identify(s: XdfStream) -> str:
    """One stream among others of its name: its stream id, source_id, host and length."""
    about = [f"source_id {s.source_id!r}"] if s.source_id else []
    about += [f"host {s.hostname!r}"] if s.hostname else []
    if s.t.size >= 2:
        about.append(f"{float(s.t[-1] - s.t[0]):.0f} s")
    else:
        about.append(f"{s.t.size} sample{'' if s.t.size == 1 else 's'}")
    return f"stream_id {s.stream_id}: {', '.join(about)}"


def _listed(streams: list[XdfStream]) -> str:
    return "; ".join(f"{s.name!r}, {_identify(s)}" for s in streams) or "none"


def _one(path: str, hits: list[XdfStream], what: str) -> XdfStream:
    """The only stream in ``hits``, or InputError listing them (``what`` says how they were found) and how to
    pick one: ``,source_id=`` when that tells them apart, ``,stream_id=`` always does."""
    if len(hits) == 1:
        return hits[0]
    ids = [s.source_id for s in hits]
    how = ",source_id=ID or ,stream_id=N" if all(ids) and len(set(ids)) == len(ids) else ",stream_id=N"
    raise InputError(
        f"replay: {path} has {len(hits)} {what} ({'; '.join(_identify(s) for s in hits)}): add {how} to "
        "choose one"
    )


def choose_stream(
    path: str,
    streams: list[XdfStream],
    name: str | None,
    label: str | None,
    source_id: str | None = None,
    stream_id: int | None = None,
) -> XdfStream:
    """The stream a participant replays (see the module); InputError naming what the file has.

    ``source_id`` and ``stream_id`` narrow the file's streams first (none left: InputError listing them);
    then ``name`` picks among those left, else the rule of the module does. Two streams that fit alike are
    refused, never guessed between (the first of them was replayed without a word)."""
    pool = streams
    if stream_id is not None:
        pool = [s for s in pool if s.stream_id == stream_id]
        if not pool:
            raise InputError(
                f"replay: {path} has no stream with stream_id {stream_id} (streams: {_listed(streams)})"
            )
    if source_id is not None:
        pool = [s for s in pool if s.source_id == source_id]
        if not pool:
            raise InputError(
                f"replay: {path} has no stream with source_id {source_id!r}"
                f"{' and stream_id ' + str(stream_id) if stream_id is not None else ''} (streams: "
                f"{_listed(streams)})"
            )
    if name is not None:
        hits = [s for s in pool if s.name == name] or [s for s in pool if s.name.lower() == name.lower()]
        if not hits:
            if pool is streams:
                raise InputError(
                    f"replay: {path} has no stream named {name!r} (streams: {_describe(streams)})"
                )
            raise InputError(
                f"replay: {path} has no stream named {name!r} with that source_id or stream_id (streams: "
                f"{_listed(streams)})"
            )
        return _one(path, hits, f"streams named {name!r}")
    if pool is not streams and len(pool) == 1:
        return pool[0]  # picked by its source_id or stream_id, whatever its type (as by its name)
    resp = [s for s in pool if s.type.lower() in RESP_TYPES]
    if not resp:
        raise InputError(
            f"replay: {path} has no stream of type Respiration (streams: {_describe(pool)}): add ,stream=NAME"
        )
    if len(resp) == 1:
        return resp[0]
    if label is not None:
        low = label.lower()
        named = [s for s in resp if s.name.lower() == low or s.name.lower().endswith(("-" + low, " " + low))]
        if named:
            return _one(path, named, f"Respiration streams named after participant {label!r}")
    if len({s.name for s in resp}) < len(resp):  # a name alone would not choose: say what does
        _one(path, resp, "Respiration streams")
    raise InputError(
        f"replay: {path} has {len(resp)} Respiration streams ({_describe(resp)}): add ,stream=NAME"
    )


class XdfReplaySource(ReplaySource):
    """Plays one respiration stream of an XDF file, paced by the session clock like a CSV replay.

    ``derived_from`` (:attr:`ReplaySource.derived_from`, the same contract as a CSV replay's): what the
    replayed waveform was derived from by the chosen stream's publisher (a breathsync stream's
    ``desc/breathsync/signal``: "rr" heart beats, "acc" a chest accelerometer; :func:`derivation`), read with
    the file (reading it when asked first; "" while it cannot be read, for a belt's or another publisher's
    stream, and for RR intervals or an ECG, whose signal says it); a value assigned stands for the file's,
    whether the file was read before or after.

    Parameters
    ----------
    path : str
        The XDF file.
    stream : str, optional
        The stream's name (default: see :func:`choose_stream`).
    source_id, stream_id : optional
        Which of several streams (of one name): its LSL source_id, its stream id in the file.
    channel : str, optional
        The channel's label or index (default: one labelled resp, else the only one).
    label : str, optional
        The participant's label, to pick among several Respiration streams.
    loop : bool
        Start again at the end.
    """

    def __init__(
        self,
        path: str,
        *,
        stream: str | None = None,
        channel: str | None = None,
        label: str | None = None,
        loop: bool = False,
        chunk_s: float = 0.1,
        source_id: str | None = None,
        stream_id: int | None = None,
    ) -> None:
        super().__init__(path, loop=loop, chunk_s=chunk_s)
        self.stream_name = stream
        self.source_id = source_id
        self.stream_id = stream_id
        self.channel = channel
        self.label = label
        self.chosen: XdfStream | None = None
        self.chosen_index = -1  # the chosen stream's place in the file
        self.chosen_channel = -1  # and its channel's in the stream
        self.channel_label = ""
        self.damage = ""  # the file was cut short: what is replayed (session.json says so)

    def load(self) -> Recording:
        if self._rec is not None:
            return self._rec
        try:
            streams, self.damage = _read_xdf(self.path)
            s = choose_stream(
                self.path, streams, self.stream_name, self.label, self.source_id, self.stream_id
            )
            if s.channel_format == "string":
                raise InputError(
                    f"replay: {self.path}: stream {s.name!r} carries text, not a breathing signal"
                )
            if s.t.size == 0:
                cut = f" (the file is {self.damage})" if self.damage else ""
                others = [x for x in streams if x is not s and x.t.size and x.channel_format != "string"]
                todo = (
                    f"choose another with ,stream=NAME (streams: {_describe(others)})"
                    if others
                    else "nothing to replay"
                )
                raise InputError(f"replay: {self.path}: XDF stream {s.name!r} has no samples{cut}: {todo}")
            where = f"replay: {self.path}: XDF stream"
            choice = choose_channel(
                list(s.channels), self.channel, s.name, where, irregular=s.nominal_srate == 0
            )
        except SourceError:
            raise
        except InputError as e:
            raise SourceError(str(e)) from None
        k = choice.index
        y = s.values[:, k].astype(float) * choice.scale
        ok = np.isfinite(s.t)
        t, y = s.t[ok], y[ok]
        order = np.argsort(t, kind="stable")
        t, y = t[order], y[order]
        if t.size < 2 or not np.isfinite(y).any():
            what = "fewer than two samples" if t.size < 2 else "no valid values (all NaN or infinite)"
            raise SourceError(
                f"replay: {self.path}: XDF stream {s.name!r} has {what} in channel "
                f"{s.labels[k] or str(k)!r}: nothing to replay"
            )
        try:  # the same plausibility as a CSV's time column: a damaged clock would replay for years
            check_time_scale(
                f"replay: {self.path}", t, f"in XDF stream {s.name!r}", "its time stamps are damaged"
            )
        except InputError as e:
            raise SourceError(str(e)) from None
        if choice.signal == "rr":
            try:  # as a CSV replay and analyze refuse them: all 0, negative, or seconds without a unit
                Recording(self.path, {}, t, {"rr_ms": y}).check_rr_intervals()
            except RecordingError:
                from breathsync.dsp.rr import RR_MAX_MS, RR_MIN_MS

                raise SourceError(
                    f"replay: {self.path}: XDF stream {s.name!r}, channel {choice.label!r} holds no heart-beat "
                    f"intervals between {RR_MIN_MS:g} and {RR_MAX_MS:g} ms (30-200 beats/min): check that it is "
                    "RR intervals, in milliseconds (unit ms) or seconds (unit s)"
                ) from None
        t.flags.writeable = False
        y.flags.writeable = False
        meta = {
            "xdf_stream": s.name,
            "xdf_stream_id": str(s.stream_id),
            "xdf_type": s.type,
            "channel": s.labels[k] or str(k),
        }
        if choice.signal == "resp" and choice.unit:
            # The channel's <unit> as a "# unit:" line says it (README, "Recording format"): ReplaySource
            # carries it into a recording of the replay. RR intervals play in milliseconds (rr_ms) and an
            # ECG as the RR intervals of its beats: their units are the format's.
            meta["unit"] = f"resp: {choice.unit}"
        column = {"resp": "resp", "rr": "rr_ms", "ecg": "ecg"}[choice.signal]
        rec = Recording(self.path, meta, t, {column: y})
        steps = np.diff(t)
        steps = steps[steps > 0]
        step = float(np.median(steps)) if steps.size else self.chunk_s
        self._period = float(t[-1] - t[0]) + step
        if choice.signal == "ecg":
            self._t, self._cols = self._ecg_beats(s.name, choice.label, t, y)
            self._plays_ecg_beats = True
            self._signal = "rr"
        else:
            self._t, self._cols = t, {column: y}
            self._signal = choice.signal
        # The file's word for derived_from (ReplaySource's property: an assigned value stands for it).
        self._file_derived = derivation(s.publisher, choice)
        self.chosen = s
        # By identity: two streams of one name compare their sample arrays (a list's index() raised on it).
        self.chosen_index = next(k for k, x in enumerate(streams) if x is s)
        self.chosen_channel = k
        self.channel_label = s.labels[k] or str(k)
        self._rec = rec
        return rec

    def _ecg_beats(
        self, stream: str, label: str, t: FloatArray, ecg: FloatArray
    ) -> tuple[FloatArray, dict[str, FloatArray]]:
        """An ECG channel played as a CSV recording's ``ecg`` column is (README, "Recording format"): the RR
        intervals of its heart beats, each at the time of the beat that ends it."""
        from breathsync.dsp.ecg import MIN_FS_HZ, ecg_to_rr

        steps = np.diff(t)
        steps = steps[steps > 0]
        fs = 1.0 / float(np.median(steps)) if steps.size else 0.0
        where = f"replay: {self.path}: XDF stream {stream!r}, channel {label!r}"
        if fs < MIN_FS_HZ:
            raise SourceError(
                f"{where}: its ECG is sampled at {fs:.3g} Hz, too slowly to find heart beats (at least "
                f"{MIN_FS_HZ:g} Hz): choose a respiration or RR-interval channel with ,channel=NAME"
            )
        beat_t, rr_ms = ecg_to_rr(t, ecg)
        if beat_t.size == 0:
            raise SourceError(f"{where}: no heart beats found in its ECG (flat or too short?)")
        beat_t.flags.writeable = False
        rr_ms.flags.writeable = False
        return beat_t, {"rr_ms": rr_ms}

    def stream_key(self) -> tuple[object, ...]:
        """The file, the stream's place in it and the channel's (reads the file): two participants may
        replay one XDF file, each their own stream or channel."""
        self.load()
        return (file_identity(self.path), f"stream {self.chosen_index}", f"channel {self.chosen_channel}")

    def stream_text(self) -> str:
        name = self.chosen.name if self.chosen is not None else ""
        return f"{os.path.realpath(self.path)}, stream {name!r}, channel {self.channel_label!r}"

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["format"] = "xdf"
        if self.damage:
            d["damage"] = f"{self.damage}; only its complete part was replayed"
        if self.chosen is not None:
            d["stream"] = self.chosen.name
            d["channel"] = self.channel_label
            # Which stream of that name, should the file hold two (another computer's, another session's).
            d["stream_id"] = self.chosen.stream_id
            if self.chosen.source_id:
                d["source_id"] = self.chosen.source_id
            if self.derived_from in DERIVED_WORDS:  # as an lsl: source of the live stream says it
                d["derived_from"] = self.derived_from
                d["breathing"] = DERIVED_WORDS[self.derived_from]
            if self.chosen.publisher:
                d["publisher"] = dict(self.chosen.publisher)
        elif self.stream_name is not None:
            d["stream"] = self.stream_name
        return d


def parse_xdf_spec(text: str, label: str | None = None) -> XdfReplaySource:
    """An XDF replay from the text after ``replay:``:
    ``FILE.xdf[,stream=NAME][,source_id=ID][,stream_id=N][,channel=C][,loop]``
    (double quotes keep commas: ``"lab, day 2.xdf",stream="Belt, A"``).

    Checks the file and the stream choice at once (InputError, one line).
    """
    path, options = split_spec(text, f"replay needs a file: {SPEC_SYNTAX}")
    return xdf_source(path, options, text, label)


def xdf_source(
    path: str, options: list[tuple[str, str, str]], text: str, label: str | None = None
) -> XdfReplaySource:
    """:func:`parse_xdf_spec` once the spec ``text`` is split into its path and options."""
    kwargs: dict[str, Any] = {}
    for key, eq, value in options:
        if key == "loop" and not eq:
            kwargs["loop"] = True
        elif key in ("stream", "channel", "source_id") and eq and value:
            kwargs[key] = value
        elif key == "stream_id" and eq and value.isdigit() and value.isascii():
            kwargs[key] = int(value)
        elif key in ("stream", "channel", "source_id", "stream_id") and eq:
            what = {
                "stream": "a stream name",
                "channel": "a channel label or index",
                "source_id": "the stream's LSL source_id",
                "stream_id": "the stream's id in the file, a whole number",
            }[key]
            raise InputError(f"replay: {key}= needs {what}: {SPEC_SYNTAX}")
        else:
            raise InputError(f"replay: unknown option {key + eq + value!r} in {text!r}: {SPEC_SYNTAX}")
    src = XdfReplaySource(path, label=label, **kwargs)
    src.load()
    return src
