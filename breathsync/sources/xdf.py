"""Replay of respiration streams from an XDF file (LabRecorder's format): ``replay:FILE.xdf[,stream=NAME]``.

pyxdf reads the file and applies LSL's clock synchronisation (the ClockOffset chunks LabRecorder stores:
every stream's timestamps are moved onto the recording computer's clock), so streams recorded from several
computers share one time base. Each chosen stream is one participant; several participants from one file
replay in lockstep (:func:`~breathsync.sources.replay.align_replays` gives them one origin, the earliest
first timestamp among them).

Which stream: ``stream=NAME``, else the only stream of type Respiration, else (several) the one whose name
is the participant's label or ends with ``-LABEL`` (``breathsync-A`` for A, what ``--publish`` records).
Which channel: ``channel=LABEL_OR_INDEX``, else one labelled resp (or similar), else the only one.

pyxdf is an optional extra (``pip install 'breathsync[xdf]'``), imported only when an XDF file is replayed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from breathsync.dsp._types import FloatArray
from breathsync.errors import InputError
from breathsync.io.csvfile import Recording
from breathsync.sources.base import SourceError
from breathsync.sources.lsl import pick_channel
from breathsync.sources.replay import ReplaySource

__all__ = ["XdfReplaySource", "XdfStream", "is_xdf_path", "parse_xdf_spec", "read_xdf_streams"]

SPEC_SYNTAX = "replay:FILE.xdf[,stream=NAME][,channel=LABEL_OR_INDEX][,loop]"
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


def is_xdf_path(path: str) -> bool:
    return path.lower().endswith((".xdf", ".xdfz"))


def _first(d: Any, key: str, default: str = "") -> str:
    v = d.get(key) if isinstance(d, dict) else None
    if isinstance(v, list) and v:
        v = v[0]
    return v if isinstance(v, str) else default


def _labels(info: dict[str, Any], n: int) -> list[str]:
    labels: list[str] = []
    desc = info.get("desc")
    desc = desc[0] if isinstance(desc, list) and desc else desc
    chans = desc.get("channels") if isinstance(desc, dict) else None
    chans = chans[0] if isinstance(chans, list) and chans else chans
    items = chans.get("channel") if isinstance(chans, dict) else None
    for ch in items or []:
        labels.append(_first(ch, "label"))
    return (labels + [""] * n)[:n]


_CACHE: dict[tuple[str, float, int], list[XdfStream]] = {}


def read_xdf_streams(path: str) -> list[XdfStream]:
    """Every stream of an XDF file (read once per file version); SourceError with one line when it cannot."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise SourceError(f"replay: {path}: {e.strerror or e}") from None
    key = (os.path.abspath(path), st.st_mtime, st.st_size)
    if key in _CACHE:
        return _CACHE[key]
    try:
        import pyxdf
    except ImportError:
        raise InputError(f"replay: {path}: reading XDF needs pyxdf: pip install 'breathsync[xdf]'") from None
    try:
        raw, _header = pyxdf.load_xdf(path, synchronize_clocks=True)
    except Exception as e:  # pyxdf raises many kinds on a damaged file
        raise SourceError(f"replay: {path}: not a readable XDF file ({type(e).__name__}: {e})") from None
    out = []
    for s in raw:
        info = s.get("info", {})
        t = np.asarray(s.get("time_stamps", []), dtype=float).reshape(-1)
        fmt = _first(info, "channel_format")
        n = int(_first(info, "channel_count", "0") or 0)
        if fmt == "string":
            values = np.empty((t.size, n), dtype=object)
        else:
            values = np.asarray(s.get("time_series", []), dtype=float).reshape(t.size, -1)
            n = values.shape[1]
        out.append(XdfStream(_first(info, "name"), _first(info, "type"), _labels(info, n), fmt, t, values))
    _CACHE.clear()  # keep one file: several participants of one file share it
    _CACHE[key] = out
    return out


def _describe(streams: list[XdfStream]) -> str:
    return ", ".join(f"{s.name!r} ({s.type or 'no type'})" for s in streams) or "none"


def choose_stream(path: str, streams: list[XdfStream], name: str | None, label: str | None) -> XdfStream:
    """The stream a participant replays (see the module); InputError naming what the file has."""
    if name is not None:
        hits = [s for s in streams if s.name == name] or [
            s for s in streams if s.name.lower() == name.lower()
        ]
        if not hits:
            raise InputError(f"replay: {path} has no stream named {name!r} (streams: {_describe(streams)})")
        return hits[0]
    resp = [s for s in streams if s.type.lower() in RESP_TYPES]
    if not resp:
        raise InputError(
            f"replay: {path} has no stream of type Respiration (streams: {_describe(streams)}): add ,stream=NAME"
        )
    if len(resp) == 1:
        return resp[0]
    if label is not None:
        for s in resp:
            low = s.name.lower()
            if low == label.lower() or low.endswith(("-" + label.lower(), " " + label.lower())):
                return s
    raise InputError(
        f"replay: {path} has {len(resp)} Respiration streams ({_describe(resp)}): add ,stream=NAME"
    )


class XdfReplaySource(ReplaySource):
    """Plays one respiration stream of an XDF file, paced by the session clock like a CSV replay.

    Parameters
    ----------
    path : str
        The XDF file.
    stream : str, optional
        The stream's name (default: see :func:`choose_stream`).
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
    ) -> None:
        super().__init__(path, loop=loop, chunk_s=chunk_s)
        self.stream_name = stream
        self.channel = channel
        self.label = label
        self.chosen: XdfStream | None = None
        self.channel_label = ""

    def load(self) -> Recording:
        if self._rec is not None:
            return self._rec
        try:
            s = choose_stream(self.path, read_xdf_streams(self.path), self.stream_name, self.label)
            if s.channel_format == "string":
                raise InputError(
                    f"replay: {self.path}: stream {s.name!r} carries text, not a breathing signal"
                )
            k = pick_channel(s.labels, self.channel, s.name)
        except SourceError:
            raise
        except InputError as e:
            raise SourceError(str(e)) from None
        y = s.values[:, k].astype(float)
        ok = np.isfinite(s.t)
        t, y = s.t[ok], y[ok]
        order = np.argsort(t, kind="stable")
        t, y = t[order], y[order]
        if t.size < 2 or not np.isfinite(y).any():
            raise SourceError(f"replay: {self.path}: stream {s.name!r} has no samples")
        t.flags.writeable = False
        y.flags.writeable = False
        meta = {"xdf_stream": s.name, "xdf_type": s.type, "channel": s.labels[k] or str(k)}
        rec = Recording(self.path, meta, t, {"resp": y})
        self.chosen = s
        self.channel_label = s.labels[k] or str(k)
        self._cols = {"resp": y}
        self._t = t
        steps = np.diff(t)
        steps = steps[steps > 0]
        step = float(np.median(steps)) if steps.size else self.chunk_s
        self._period = float(t[-1] - t[0]) + step
        self._signal = "resp"
        self._rec = rec
        return rec

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["format"] = "xdf"
        if self.chosen is not None:
            d["stream"] = self.chosen.name
            d["channel"] = self.channel_label
        elif self.stream_name is not None:
            d["stream"] = self.stream_name
        return d


def parse_xdf_spec(text: str, label: str | None = None) -> XdfReplaySource:
    """An XDF replay from the text after ``replay:``: ``FILE.xdf[,stream=NAME][,channel=C][,loop]``.

    Checks the file and the stream choice at once (InputError, one line).
    """
    path, *options = (part.strip() for part in text.split(","))
    kwargs: dict[str, Any] = {}
    for opt in options:
        key, eq, value = (s.strip() for s in opt.partition("="))
        if key == "loop" and not eq:
            kwargs["loop"] = True
        elif key in ("stream", "channel") and eq and value:
            kwargs[key] = value
        else:
            raise InputError(f"replay: unknown option {opt!r} in {text!r}: {SPEC_SYNTAX}")
    src = XdfReplaySource(path, label=label, **kwargs)
    src.load()
    return src
