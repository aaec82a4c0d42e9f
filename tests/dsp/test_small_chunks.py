"""The paths a live chunk's few samples take (a short-input filter, a few-bin fit) are the array paths'
arithmetic: the same values to the bit, so that how a stream is chunked never changes a result."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from breathsync.dsp import _sos
from breathsync.dsp.pipeline import RespPipeline
from breathsync.dsp.resample import SECOND_BOX, _line_at_centre_few, _line_at_centre_many


def _designs() -> list[np.ndarray]:
    return [
        signal.butter(1, 0.05, "high", fs=20.0, output="sos"),
        np.vstack(
            (
                signal.butter(1, 0.05, "high", fs=20.0, output="sos"),
                signal.butter(2, 1.0, "low", fs=20.0, output="sos"),
            )
        ),
        signal.butter(4, (0.1, 0.6), "band", fs=4.0, output="sos"),
        signal.cheby1(3, 1.0, 0.3, "low", fs=4.0, output="sos"),
    ]


@pytest.mark.parametrize("design", range(4))
def test_the_short_input_filter_is_scipys_to_the_bit(design: int) -> None:
    sos = _designs()[design]
    rng = np.random.default_rng(design)
    for n in [1, 2, 3, 7, 16, _sos.SHORT_N, _sos.SHORT_N + 1, 200]:
        for _ in range(20):
            x = np.cumsum(rng.standard_normal(n)) * rng.uniform(0.01, 1e3) + rng.uniform(-1e4, 1e4)
            zi = signal.sosfilt_zi(sos) * rng.uniform(-1e4, 1e4) + rng.standard_normal((sos.shape[0], 2))
            want, want_zf = signal.sosfilt(sos, x, zi=zi)
            got, got_zf = _sos.sosfilt(sos, x, zi)
            assert got.shape == want.shape and got_zf.shape == want_zf.shape
            assert got.tobytes() == want.tobytes() and got_zf.tobytes() == want_zf.tobytes()
    # Channels in columns (a 3-axis accelerometer), as scipy's along axis 0.
    for n in [1, 10, _sos.SHORT_N + 5]:
        x = rng.standard_normal((n, 3)) * 500.0
        zi = signal.sosfilt_zi(sos)[:, :, None] * x[0][None, None, :]
        want, want_zf = signal.sosfilt(sos, x, axis=0, zi=zi)
        got, got_zf = _sos.sosfilt(sos, x, zi)
        assert got.tobytes() == want.tobytes() and got_zf.tobytes() == want_zf.tobytes()
    # Chained calls carry the state as scipy's does over the whole input.
    x = rng.standard_normal(500)
    zi = signal.sosfilt_zi(sos) * x[0]
    whole, _ = signal.sosfilt(sos, x, zi=zi)
    parts, z = [], zi
    for i in range(0, 500, 3):
        y, z = _sos.sosfilt(sos, x[i : i + 3], z)
        parts.append(y)
    assert np.concatenate(parts).tobytes() == whole.tobytes()


def test_the_few_bin_fit_is_the_arrays_to_the_bit() -> None:
    rng = np.random.default_rng(1)
    fs = 20.0
    for trial in range(300):
        n = int(rng.integers(5, 80))
        base = rng.uniform(0, 1e9) if trial % 2 else rng.uniform(0, 1e3)  # host times of ~1e9 s too
        tt = base + np.sort(rng.uniform(0, n / 100.0, n))
        tt = np.unique(tt)
        yy = rng.standard_normal(tt.size) * rng.uniform(0.1, 1e3)
        ks = np.arange(int(np.ceil(tt[0] * fs)), int(np.floor(tt[-1] * fs)) + 1)
        g = ks / fs
        i_lo = np.searchsorted(tt, (ks - 0.5) / fs, side="right")
        i_g = np.searchsorted(tt, g, side="left")
        i_hi = np.searchsorted(tt, (ks + 0.5) / fs, side="right")
        fit = (i_g > i_lo) & (i_hi > i_g)
        if not fit.any():
            continue
        hw = 0.5 * (1.0 + SECOND_BOX)  # the kernel's samples, as GridResampler takes them
        k_lo = np.searchsorted(tt, (ks[fit] - hw) / fs, side="right")
        k_hi = np.searchsorted(tt, (ks[fit] + hw) / fs, side="right")
        args = (tt, yy, g[fit], k_lo, k_hi, hw / fs, min(1.0, SECOND_BOX) / fs)
        assert _line_at_centre_few(*args).tobytes() == _line_at_centre_many(*args).tobytes()


def test_a_stream_in_small_chunks_costs_the_pipeline_no_array_filter_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What made a live chunk cost 0.6 ms: scipy's filter call per chunk. It is not made for chunks
    of a few samples (and their output is the whole stream's, by the chunking tests)."""
    calls = []
    real = signal.sosfilt

    def counting(*a: object, **k: object) -> object:
        calls.append(1)
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(_sos.signal, "sosfilt", counting)
    t = np.arange(0, 60, 0.01)
    y = np.sin(2 * np.pi * t / 4.0)
    p = RespPipeline()
    for i in range(0, t.size, 10):
        p.process(t[i : i + 10], y[i : i + 10])
    assert calls == []
    p.process(60.0 + np.arange(0, 5, 0.01), np.sin(np.arange(0, 5, 0.01)))  # a 5-s chunk
    assert len(calls) == 1
