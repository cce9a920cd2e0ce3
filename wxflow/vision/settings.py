"""Limits and thresholds of the vision layer, in one frozen dataclass with documented defaults.

The service layer builds one from its own settings (or uses the defaults) and passes it in; the
vision functions never read the environment.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VisionSettings:
    # --- intake limits (spec section 4: photos <= 3 MB, videos <= 8 MB and <= 20 s) ---
    max_image_bytes: int = 3 * 1024 * 1024
    """Largest encoded (decoded from base64) compare photo accepted."""
    max_image_pixels: int = 40_000_000
    """Decompression-bomb guard: refuse images whose header claims more pixels than this."""
    max_video_bytes: int = 8 * 1024 * 1024
    """Largest encoded video accepted."""
    max_video_seconds: float = 20.0
    """Longest recording accepted (FailedOperation.VideoDurationExceeded beyond it)."""
    max_video_pixels: int = 1920 * 1920
    """Frames larger than this (width x height) are refused as undecodable input."""

    # --- sampling ---
    sample_fps: float = 15.0
    """Frames are kept by presentation timestamp at this rate, whatever the source frame rate.
    15, not 10: a blink lasts 100-300 ms and at 10 fps a quick one shows in one frame or none."""
    max_frame_side: int = 960
    """Sampled frames are downscaled so the longer side is at most this (cost bound for 1080p)."""

    # --- detection ---
    det_size_photo: int = 640
    """SCRFD input side for compare photos (faces may be small)."""
    det_size_video: int = 320
    """SCRFD input side for video frames (a selfie face fills the frame; 4x cheaper than 640)."""
    det_threshold: float = 0.5
    """SCRFD score below which a box is not a face."""
    second_face_ratio: float = 0.35
    """A second face whose box area is at least this fraction of the largest face counts as
    'several faces'; a much smaller background face is tolerated."""
    min_face_frames_ratio: float = 0.6
    """Fraction of sampled frames that must show a face; fewer -> face-not-detected failure."""
    multi_face_frames_ratio: float = 0.3
    """Fraction of face frames showing a comparable second face -> several-faces failure."""

    # --- silent liveness ---
    min_silent_seconds: float = 2.0
    """Silent mode needs a recording at least this long (spec: SilentTooShort, 1303)."""
    silent_frames: int = 8
    """How many frames (spread over the clip) MiniFASNet scores."""
    silent_live_threshold: float = 0.3
    """Median MiniFASNet live probability below which a silent recording fails (1301).
    Measured (2026-12-04): 25 real clips median >= 0.64 (lowest d19 0.64, d18 0.65, d0 0.79, the
    rest >= 0.97); photo/screen attacks built from pad/silent_face F1/F2 <= 0.001. 0.3 sits between
    with margin on both sides."""
    antispoof_scale: float = 2.7
    """Box enlargement for MiniFASNetV2 (the scale the weights were trained with)."""

    # --- action liveness ---
    blink_drop_ratio: float = 0.55
    """A blink is an eye-openness dip below this fraction of the person's own neutral value."""
    mouth_open_ratio: float = 0.35
    """Mouth opening (inner-lip gap / mouth width) must exceed the neutral value by this absolute
    amount AND reach mouth_open_min to count as 'open mouth'."""
    mouth_open_min: float = 0.6
    """Absolute inner-lip gap / mouth width needed for 'open mouth'. Measured peaks while only
    talking: GRID 0.18-0.46, HDTF 0.29-0.53, LivePortrait d3 0.56, d13 0.33; deliberate wide
    openings: d18 0.83-0.85, d6 0.67-1.32, d10 0.61-0.74."""
    action_min_seconds: float = 1.0
    """Action recordings shorter than this are refused as too short to show anything."""

    # --- best frames ---
    best_frame_count: int = 3
    """How many best frames a verdict carries (1..10; the API asks for 2-10)."""
    embed_top_k: int = 3
    """The verdict embedding is the normalised mean over this many best frames."""
