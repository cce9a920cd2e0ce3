"""Text detection and recognition with RapidOCR (PP-OCRv4 det/rec + angle classifier, bundled ONNX models).

Pure: images (BGR arrays) in, text boxes out. The engine loads once per process on first use.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

_ENGINE: Any = None
_LOCK = threading.Lock()


@dataclass(frozen=True)
class TextBox:
    text: str
    score: float
    points: tuple[tuple[float, float], ...]  # four corners, clockwise from top-left of the text

    @property
    def center(self) -> tuple[float, float]:
        xs, ys = zip(*self.points, strict=True)
        return sum(xs) / 4, sum(ys) / 4

    @property
    def height(self) -> float:
        ys = [p[1] for p in self.points]
        return max(ys) - min(ys)

    @property
    def left(self) -> float:
        return min(p[0] for p in self.points)

    @property
    def right(self) -> float:
        return max(p[0] for p in self.points)


def engine() -> Any:
    global _ENGINE
    if _ENGINE is None:
        with _LOCK:
            if _ENGINE is None:
                from rapidocr_onnxruntime import RapidOCR

                _ENGINE = RapidOCR()
    return _ENGINE


def read_text(image: np.ndarray) -> list[TextBox]:
    """Every text line found in a BGR image."""
    result, _ = engine()(image)
    return [
        TextBox(str(text), float(score), tuple((float(x), float(y)) for x, y in points))
        for points, text, score in (result or [])
    ]
