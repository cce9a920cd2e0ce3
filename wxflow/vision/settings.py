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

    # ============================ liveness block (issue 4) ============================
    # --- intake ---
    max_sampled_frames: int = 90
    """Adaptive sampling: at most this many frames per recording. A 3 s clip keeps sample_fps
    (45 frames); a 20 s one drops to 4.5 fps instead of paying for 300 frames."""
    audio_rate: int = 16000
    """Audio is decoded to mono float PCM at this rate (what both speech recognisers expect)."""
    detect_frames: int = 12
    """The face detector (and multi-face check) runs on this many frames spread over the clip;
    the face mesh tracks every sampled frame. SCRFD is the dearest per-frame stage."""
    mesh_fps_silent: float = 5.0
    """Adaptive mesh schedule, silent mode: every k-th sampled frame with k = sample rate / this
    (3 at 15 fps), dense around a possible blink or mouth opening (``face_series``)."""
    mesh_fps_action: float = 7.5
    """Adaptive mesh schedule, action mode (k = 2 at 15 fps; 1, i.e. every frame, for long
    clips sampled under 15 fps): nod, shake and a held open mouth last far longer than 133 ms."""
    mesh_refine_ratio: float = 0.85
    """Adaptive mesh: eyes below this fraction of their running neutral openness (the blink
    threshold is 0.55) make the schedule dense and backfill the frames skipped before."""
    mesh_refine_mouth: float = 0.45
    """Adaptive mesh: a mouth opening above this (of the mouth width; 'open mouth' needs 0.6)
    makes the schedule dense too."""
    identity_frames: int = 3
    """Frames spread over the clip (first, middle, last at 3) whose embeddings must agree with
    each other and with the embed_top_k best frames (same person throughout, and the compared
    face is that person). 3 + the best frames, not 5 + the best frames: the best frames'
    embeddings are needed anyway, so the check costs 3 embeddings instead of 5, with the best
    frames adding points inside the clip."""
    identity_min_cosine: float = 0.3
    """Lowest cosine between any two of those embeddings before the verdict says 'person
    changed' (tag 08). Same-person frames of the real clips: >= 0.55; strangers: < 0.25."""

    # --- face quality gates (codes 1201-1205) ---
    face_too_far: float = 0.12
    """Median face box width / shorter frame side below this -> too far (1204)."""
    face_too_near: float = 0.85
    """Median face box width / shorter frame side above this -> too near (1203)."""
    too_dark: float = 40.0
    """Median face luma (0-255) below this -> too dark (1201)."""
    too_bright: float = 225.0
    """Median face luma above this -> too bright (1202)."""

    # --- head actions (nod 3, shake 4) ---
    nod_degrees: float = 16.0
    """How far a nod must take the pitch from the person's neutral (one way), degrees, from the
    mesh's 3-D points. Set above the natural head motion of talking: the 21 real clips reach at
    most 13.4 deg (HDTF KatieHill); at 12 deg, counted as a swing, 5 talking clips 'nodded'. No clip
    holds a deliberate nod, so the rate at which real nods reach 16 deg is unmeasured: nod is not
    issued."""
    shake_degrees: float = 18.0
    """Yaw swing of a head shake, degrees; it must reach past neutral on both sides by a third
    of this each."""

    # --- silent cues ---
    planar_residual_max: float = 0.012
    """Silent mode: landmark motion that a single homography explains to within this fraction of
    the inter-ocular distance (median over frames), with no blink, is a photo moved in a hand."""

    synthesis_patch_max: float = 0.3
    """Every mode fails (tag 04 synthesis) when the clip's motion is confined to a pasted box
    (wxflow/vision/synthesis.py) by more than this. Measured: the 21 real clips 0-0.04, 43 3-s
    windows of them at most 0.175 (LivePortrait d13), light-mode positives (synthesised) 0.13,
    the SadTalker clips 0.54-0.58."""
    still_mouth_range_min: float = 0.08
    """Silent mode: a recording with no blink, a mouth opening that varies less than this (p95 - p5,
    in mouth widths) AND eye openness that varies less than ``still_eye_range_min`` is a still
    face moved in front of the camera (1301, tag 03). Measured: 8 stills moved by hand <= 0.046;
    43 3-s windows of real clips 0.002-0.84 (the two under 0.08 blink or move their eyes)."""
    still_eye_range_min: float = 0.1
    """See ``still_mouth_range_min``: (p95 - p5) / median of eye openness. Stills by hand
    0.046-0.078; real 3-s windows 0.079-2.2 (the lowest one talks: mouth range 0.22)."""
    silent_require_motion: bool = True
    """Apply the still-face rule above in silent mode (docs/liveness.md says what it may cost)."""

    recapture_moire_max: float = 150.0
    """Silent mode fails (1301) when the whitened spectral peak of the face (screen moire,
    wxflow/vision/recapture.py) exceeds this, whatever MiniFASNet says. Measured (bench/liveness.py):
    21 real clips 4.5-41 (GRID MPEG-1 block artefacts the highest), built screen replays
    1,600-10,600. Validated only against our synthetic grating: see docs/liveness.md."""

    # --- digit (LIP) ---
    digit_language: str = "zh"
    """Recogniser language when the challenge names none: "zh" (sherpa-onnx) or "en" (whisper)."""
    voice_min_dbfs: float = -38.0
    """Speech frames must reach this RMS level (dBFS) at the 90th percentile, else 'voice too low'."""
    voice_min_seconds: float = 0.4
    """At least this much voiced audio, else 'voice not recognised'."""
    lip_motion_min: float = 0.05
    """Range (95th - 5th percentile) of the mouth opening while talking; below -> 'no lip movement'."""
    lip_sync_min: float = 0.25
    """Correlation between the audio envelope and the lip opening (best lag within +-0.3 s);
    below -> dubbed or replayed sound track."""
    digit_max_mismatch: int = 1
    """Codes of 4+ digits pass with at most this many wrong digits (same length); measured FAR in
    docs/liveness.md. Shorter codes must match exactly."""

    # --- light (reflect) and flash ---
    light_min_corr: float = 0.6
    """Correlation of the face's colour with the issued sequence (best plausible lag) to pass."""
    light_max_lag_s: float = 0.6
    """Latest plausible start of the screen's colour after its scheduled time (display and camera
    pipeline latency)."""
    light_min_spatial: float = 0.12
    """Coefficient of variation of the relative colour response over face regions (forehead,
    nose, cheeks, chin, jaw sides): a flat photo or screen responds uniformly (~0.03)."""

    # --- best frames ---
    best_frame_count: int = 3
    """How many best frames a verdict carries (1..10; the API asks for 2-10)."""
    embed_top_k: int = 3
    """The verdict embedding is the normalised mean over this many best frames."""

    # --- face quality (compare photos and best frames; wxflow/vision/quality.py) ---
    # Limits measured on shared/data (faces/, lfw-dev, every real video's frames): each sits
    # outside the range those normal photos reach, so only clearly bad pictures are refused.
    # Figures in docs/face-engine.md.
    quality_gate: bool = True
    """Refuse a compare photo that fails any limit below (PoorQualityPhoto) instead of scoring it."""
    min_eye_distance_px: float = 20.0
    """Eye-centre distance in the original image. The recogniser's crop puts ~35 px between the
    eyes; below 20 the crop is an upscaled blur and genuine scores fall."""
    min_sharpness: float = 15.0
    """Variance of the Laplacian of the inner grey 112x112 aligned face (size-normalised
    sharpness). Normal pictures: faces/ >= 454, lfw-dev >= 35, video frames >= 100; a Gaussian
    blur of sigma 15 on a 600 px face reads 28, sigma 30 under 15."""
    min_brightness: float = 40.0
    """Mean grey level (0-255) of the inner face; below it the face is under-exposed. Normal
    pictures read 75-191."""
    max_brightness: float = 225.0
    """Mean grey level (0-255) of the inner face; above it the face is washed out."""
    max_clipped_fraction: float = 0.5
    """Fraction of inner-face pixels at 0-5 or 250-255 above which exposure fails."""
    max_yaw_deg: float = 40.0
    """Head turn estimated from the 5 keypoints (nose offset against the eye/mouth midline)."""
    max_pitch_deg: float = 35.0
    """Head nod estimated from the 5 keypoints (nose height between the eye and mouth lines)."""
    max_roll_deg: float = 40.0
    """Tilt of the eye line. Alignment undoes roll, so only extreme tilts fail."""
    min_eye_open: float = 0.10
    """Eye opening (lid gap / eye width, 2d106det contour), the more open eye of the two. Open
    eyes read 0.24-0.42 on faces/, >= 0.12 on lfw-dev (squints); blink frames dip to 0.08.
    Skipped when the landmark model is absent."""
