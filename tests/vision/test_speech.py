"""Digit recognition: the token/word mapping, the match rule, and both recognisers on speech."""

from __future__ import annotations

import pytest

from tests.support.attacks import espeak_available, read_audio, synth_digits_zh
from tests.support.data import data_path, model_dir
from wxflow.vision.speech import en_digits, match_code, zh_digits


def test_zh_tokens_to_digits():
    assert zh_digits("l íng q ī s ì s ān") == "0743"
    assert zh_digits("èr j iǔ w ǒ b ā") == "2958"  # "wo" is the model's usual mishearing of wu
    assert zh_digits("n ǐ h ǎo") == ""
    assert zh_digits("t ā z ì l éi") == "340"  # measured mishearings of san, si, ling


def test_en_words_to_digits():
    assert en_digits("Lay blue at x4 now.") == "4"
    assert en_digits("one two three four") == "1234"
    assert en_digits("F2 to 5") == "225"  # "to" inside a run of digits is a two


def test_match_rule():
    assert match_code("1234", "1234", 1) == (True, 0)
    assert match_code("1284", "1234", 1) == (True, 1)
    assert match_code("1884", "1234", 1)[0] is False
    assert match_code("912345", "1234", 1) == (True, 0)
    # Longer strings must contain the code exactly: no forgiven digit there.
    assert match_code("91284", "1234", 1)[0] is False
    assert match_code("8", "9", 1)[0] is False  # short codes: exact only
    assert match_code("", "1234", 1) == (False, None)


@pytest.mark.slow
def test_whisper_reads_grid_digits():
    from models.asr import get_recogniser

    rec = get_recogniser("en", None, 2)
    for clip in ("brbk7n", "lbax4n", "lwbsza"):
        heard = en_digits(rec.transcribe(read_audio(str(data_path("videos", "grid", f"{clip}.mpg"))), 16000))
        assert heard == clip[4].replace("z", "0"), (clip, heard)  # GRID names zero "z"


@pytest.mark.slow
@pytest.mark.skipif(not espeak_available(), reason="espeak-ng (apt) is needed to synthesise test speech")
def test_sherpa_mandarin_synthetic_digits():
    from models.asr import get_recogniser

    rec = get_recogniser("zh", model_dir(), 2)
    codes = ["1234", "5678", "9012", "3456", "7890", "2468"]
    results = [match_code(zh_digits(rec.transcribe(synth_digits_zh(c), 16000)), c, 1) for c in codes]
    # Synthetic speech only: 76% of 150 seeded random codes pass the rule (65% exact) since the
    # hotword fix, 45% before; all six of these pass today. 4 of 6 leaves room for an onnxruntime
    # or espeak-ng update while still catching a relapse to the old rate.
    assert sum(ok for ok, _ in results) >= 4, results
    # A wrong code is refused even when the recogniser reads the speech well.
    heard = zh_digits(rec.transcribe(synth_digits_zh("1234"), 16000))
    assert match_code(heard, "5678", 1)[0] is False
