"""Plain result types shared by the vision pipelines and their callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One decoded video frame: presentation time in seconds and a BGR uint8 image."""

    t: float
    image: np.ndarray


@dataclass
class DecodedVideo:
    frames: list[Frame]
    duration: float
    width: int
    height: int
    codec: str
    container: str
    audio: np.ndarray | None = None
    """The first audio track as mono float32 PCM in [-1, 1] at ``sample_rate``; None without one."""
    sample_rate: int = 16000
    audio_offset: float = 0.0
    """Time of the first audio sample on the frames' clock (``Frame.t``), in seconds."""
    sample_fps: float = 0.0
    """The rate frames were actually sampled at (adaptive: lower for long recordings)."""


@dataclass
class LivenessVerdict:
    """What the liveness step concluded about one recording.

    ``live_status`` is 0 on success, otherwise the SaaS integer code of the spec (1002, 1301, ...);
    ``result`` is "Success" or the PaaS ``FailedOperation.*`` code; ``tags`` are LivenessInfoTag reasons.
    """

    passed: bool
    live_status: int
    result: str
    message: str
    tags: list[str] = field(default_factory=list)
    best_frames: list[np.ndarray] = field(default_factory=list)
    best_frame_scores: list[float] = field(default_factory=list)
    embedding: np.ndarray | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CompareScore:
    cosine: float
    sim: float
