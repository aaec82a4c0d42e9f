"""choose_channel: the one rule an LSL inlet and an XDF replay follow to pick a stream's breathing channel
from its description (label, <type>, <unit>: https://github.com/sccn/xdf/wiki/Meta-Data). No network."""

from __future__ import annotations

import pytest

from breathsync.errors import InputError
from breathsync.lsl_out import PARTICIPANT_CHANNELS
from breathsync.sources.lsl import ChannelInfo, channel_kind, choose_channel


def _ch(*specs: tuple[str, str, str] | str) -> list[ChannelInfo]:
    return [ChannelInfo(s) if isinstance(s, str) else ChannelInfo(*s) for s in specs]


def _pick(channels: list[ChannelInfo], wanted: str | None = None, irregular: bool = False) -> tuple[str, str]:
    c = choose_channel(channels, wanted, "s", irregular=irregular)
    return c.label, c.signal


def test_breathsyncs_own_published_stream_reads_resp() -> None:
    """--publish sends resp (RESP), wave (RESP_FILTERED), phase, rate (breaths/min) and quality."""
    chans = [ChannelInfo(label, kind, unit) for label, unit, kind in PARTICIPANT_CHANNELS]
    assert _pick(chans) == ("resp", "resp")
    assert choose_channel(chans, None, "s").unit == "a.u."


@pytest.mark.parametrize(
    ("channel", "kind"),
    [
        (("RespirationRate", "RATE", "breaths/min"), "rate"),
        (("RR", "", "rpm"), "rate"),  # a monitor's respiratory rate, not RR intervals
        (("resp", "", "1/min"), "rate"),
        (("heart_rate", "", "bpm"), "rate"),
        (("ECG_HR", "ECG", "bpm"), "rate"),  # a heart rate, not the ECG
        (("rr_ms", "", "ms"), "rr"),
        (("IBI", "", ""), "rr"),
        (("beat", "RR", "ms"), "rr"),
        (("ECG", "", "mV"), "ecg"),
        (("ecg_lead2", "", "mV"), "ecg"),
        (("x", "EKG", ""), "ecg"),
        (("BreathingWaveform", "RESP", "mV"), "resp"),
        (("chest", "Respiration", ""), "resp"),
        (("resp", "", "V"), "other"),  # by label only: see the label tiers
        (("ecgx", "", ""), "other"),
    ],
)
def test_channel_kind(channel: tuple[str, str, str], kind: str) -> None:
    assert channel_kind(ChannelInfo(*channel), irregular=True) == kind


@pytest.mark.parametrize(
    ("channel", "kind"),
    [
        # "rate" inside another word is no rate: these were refused when named, skipped when not.
        (("Resp calibrated", "", "mV"), "other"),
        (("RSP integrated", "", ""), "other"),
        (("generated", "", ""), "other"),
        (("separate", "", ""), "other"),
        (("Resp calibrated", "RESP", ""), "resp"),
        # "rate" or "HR" as a word of the label, however written.
        (("RespirationRate", "", ""), "rate"),
        (("resp_rate", "", ""), "rate"),
        (("Rate", "", ""), "rate"),
        (("RRate", "", ""), "rate"),
        (("HR", "", ""), "rate"),
        (("Heart Rate", "", ""), "rate"),
        (("heartrate", "", ""), "rate"),
        (("ECG_HR", "", ""), "rate"),  # the docstring's heart rate: a rate, not the ECG, even without a unit
        (("ECG_HR", "ECG", ""), "rate"),
        (("HRV", "", ""), "other"),
        # A respiration type wins over a volume per minute (airflow is a waveform), not over breaths/min.
        (("Flow", "RESP", "L/min"), "resp"),
        (("airflow", "Respiration", "ml/min"), "resp"),
        (("Flow", "", "L/min"), "other"),
        (("RespirationRate", "RESP", "breaths/min"), "rate"),
        (("x", "Breathing", "bpm"), "rate"),
    ],
)
def test_rate_is_a_word_of_the_label_and_a_respiration_type_wins(
    channel: tuple[str, str, str], kind: str
) -> None:
    assert channel_kind(ChannelInfo(*channel), irregular=False) == kind


def test_a_belt_labelled_calibrated_is_read_not_the_ecg_beside_it() -> None:
    """'Resp calibrated' beside an ECG: the ECG's heart beats were replayed instead of the belt, and
    ,channel=Resp calibrated was refused as "a rate (its label says so)"."""
    chans = _ch(("ECG", "ECG", "mV"), ("Resp calibrated", "", "mV"))
    assert _pick(chans) == ("Resp calibrated", "resp")
    assert _pick(chans, "resp calibrated") == ("Resp calibrated", "resp")
    assert _pick(_ch("ECG", "generated", "RSP integrated")) == ("ECG", "ecg")
    assert _pick(_ch("RSP integrated"), "0") == ("RSP integrated", "resp")
    assert _pick(_ch(("airflow", "RESP", "L/min"), "HR")) == ("airflow", "resp")
    with pytest.raises(InputError, match=r"channel 'resp_rate' is a rate \(its label says so\)"):
        choose_channel(_ch("resp", "resp_rate"), "resp_rate", "s")


def test_rr_type_needs_an_irregular_stream() -> None:
    """Type RR on a regularly sampled stream is no list of beats (labels rr/rr_ms/ibi always are)."""
    assert channel_kind(ChannelInfo("beat", "RR", "ms"), irregular=False) == "other"
    assert channel_kind(ChannelInfo("rr_ms", "", ""), irregular=False) == "rr"


def test_automatic_choice_order() -> None:
    # Typed waveform before labels; rates never.
    assert _pick(_ch(("Respiration", "", ""), ("belt", "RESP", "V"))) == ("belt", "resp")
    assert _pick(_ch(("RespirationRate", "RATE", "breaths/min"), "chest_breathing")) == (
        "chest_breathing",
        "resp",
    )
    # A waveform before RR intervals before an ECG.
    assert _pick(_ch("ecg", "rr_ms", "Resp")) == ("Resp", "resp")
    assert _pick(_ch("ecg", "rr_ms")) == ("rr_ms", "rr")
    assert _pick(_ch("Fz", "ecg")) == ("ecg", "ecg")
    # The only channel, whatever its label; but not a rate.
    assert _pick(_ch("")) == ("0", "resp")
    with pytest.raises(
        InputError, match=r"one channel, 'rate' \(breaths/min\), a rate, not a breathing waveform"
    ):
        choose_channel(_ch(("rate", "", "breaths/min")), None, "s")
    with pytest.raises(InputError, match=r"none is a respiration channel .*: add ,channel=LABEL_OR_INDEX"):
        choose_channel(_ch("x", "y"), None, "s")


@pytest.mark.parametrize(
    ("channels", "listed"),
    [
        (
            _ch(("RESP_A", "RESP", "mV"), ("RESP_B", "RESP", "mV")),
            "2 respiration channels ('RESP_A' (RESP, mV), 'RESP_B'",
        ),
        (_ch("resp", "Respiration"), "2 respiration channels ('resp', 'Respiration')"),
        (_ch("rr_ms", "ibi"), "2 RR-interval channels ('rr_ms', 'ibi')"),
        (_ch("ECG I", "ECG II"), "2 ECG channels ('ECG I', 'ECG II')"),
    ],
)
def test_several_alike_are_never_guessed(channels: list[ChannelInfo], listed: str) -> None:
    with pytest.raises(InputError) as e:
        choose_channel(channels, None, "belts", "lsl: stream")
    msg = str(e.value)
    assert msg.startswith(f"lsl: stream 'belts' has {listed}") and msg.endswith(
        ": add ,channel=NAME to choose one"
    )


def test_a_named_channel() -> None:
    chans = _ch(("RespirationRate", "RATE", "breaths/min"), ("Wave", "", "mV"), ("rr", "", "s"), "ECG")
    assert _pick(chans, "wave") == ("Wave", "resp")
    assert _pick(chans, "1") == ("Wave", "resp")
    rr = choose_channel(chans, "rr", "s")
    assert (rr.signal, rr.scale) == ("rr", 1000.0)  # seconds, given to the session as milliseconds
    assert _pick(chans, "ECG") == ("ECG", "ecg")
    with pytest.raises(
        InputError, match=r"channel 'RespirationRate' is a rate \(breaths/min\), not a breathing"
    ):
        choose_channel(chans, "0", "s")
    with pytest.raises(InputError, match="no channel 'z'"):
        choose_channel(chans, "z", "s")
