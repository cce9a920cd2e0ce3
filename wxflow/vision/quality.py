"""Face quality: size, sharpness, exposure, pose and eyes open, each a number and a pass/fail.

A face that is too small, blurred, badly lit, turned away or with its eyes shut gives a low cosine
against a genuine reference; scored anyway it looks like an impostor and the user is told "not the
same person". Reporting the quality instead lets the caller ask for a better picture
(``LifePhotoPoorQuality``). Limits live in :class:`VisionSettings` (the "face quality" block), with
how they were measured.

Pose comes from SCRFD's 5 keypoints with a simple head model, good to a few degrees near frontal
and enough to separate "facing the camera" from "in profile"; it is not a head-pose estimator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from wxflow.vision.settings import VisionSettings

# Nose-tip depth in front of the eye plane as a fraction of the eye distance (anthropometric
# average, ~38 mm over ~63 mm): turns the nose's sideways / vertical offset into an angle.
NOSE_DEPTH_RATIO = 0.6
# Where the nose tip sits between the eye line (0) and the mouth line (1) on a frontal face: the
# arcface template's value, (71.74 - 51.60) / (92.28 - 51.60).
FRONTAL_NOSE_HEIGHT = 0.495
# 2d106det contour indices of each eye (insightface's 106-point markup): 8 points around the lids.
LEFT_EYE_106 = (35, 36, 33, 37, 39, 42, 40, 41)
RIGHT_EYE_106 = (89, 90, 87, 91, 93, 96, 94, 95)


@dataclass(frozen=True)
class QualityReport:
    """Measured values, the limits they were held to, and which failed (empty = passed)."""

    values: dict[str, float | None]
    limits: dict[str, Any]
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failures": list(self.failures),
            "values": {k: (None if v is None else round(float(v), 3)) for k, v in self.values.items()},
            "limits": dict(self.limits),
        }


def pose_from_kps(kps: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from 5 keypoints (eyes, nose, mouth corners).

    Roll is the eye line's angle. Yaw: the nose's sideways offset from the midline through the eye
    and mouth centres, over the eye distance, is ``NOSE_DEPTH_RATIO * tan(yaw)``. Pitch: how far
    the nose's height between the eye and mouth lines departs from the frontal value, over the
    same depth. Signs: positive yaw = nose towards image right, positive pitch = looking down.
    """
    k = np.asarray(kps, dtype=np.float64)
    le, re, nose, lm, rm = k[0], k[1], k[2], k[3], k[4]
    eye_vec = re - le
    eye_dist = float(np.linalg.norm(eye_vec)) or 1.0
    roll = float(np.degrees(np.arctan2(eye_vec[1], eye_vec[0])))
    # Work in the face's own frame (eye line horizontal) so roll does not leak into yaw/pitch.
    c, s = np.cos(np.radians(-roll)), np.sin(np.radians(-roll))
    rot = np.array([[c, -s], [s, c]])
    eye_mid = (le + re) / 2.0
    mouth_mid = (lm + rm) / 2.0
    n = rot @ (nose - eye_mid)
    m = rot @ (mouth_mid - eye_mid)
    # Midline x at the nose's height, interpolated between the eye centre (0) and mouth centre.
    t = n[1] / m[1] if abs(m[1]) > 1e-6 else 0.0
    offset = n[0] - t * m[0]
    yaw = float(np.degrees(np.arctan2(offset / eye_dist, NOSE_DEPTH_RATIO)))
    height = float(m[1]) or 1.0
    pitch = float(np.degrees(np.arctan2((t - FRONTAL_NOSE_HEIGHT) * height / eye_dist, NOSE_DEPTH_RATIO)))
    return yaw, pitch, roll


def eye_openness(lmk106: np.ndarray) -> tuple[float, float]:
    """Lid gap over eye width for each eye, from the 2d106det contour (about 0.3-0.45 open, under
    0.1 shut). Order: the eye on the image's left, then the one on its right."""
    out = []
    for idx in (LEFT_EYE_106, RIGHT_EYE_106):
        pts = np.asarray(lmk106, dtype=np.float64)[list(idx)]
        width = float(pts[:, 0].max() - pts[:, 0].min()) or 1.0
        # Lid gap: spread of the contour across the eye's axis (robust to which index is a corner).
        axis = pts[pts[:, 0].argmax()] - pts[pts[:, 0].argmin()]
        axis = axis / (np.linalg.norm(axis) or 1.0)
        normal = np.array([-axis[1], axis[0]])
        proj = (pts - pts.mean(axis=0)) @ normal
        out.append(float(proj.max() - proj.min()) / width)
    return out[0], out[1]


def landmarks_106(img: np.ndarray, bbox: np.ndarray, engines: Any) -> np.ndarray | None:
    """2d106det landmarks (106 x 2, image pixels) for a face box, or None without the model."""
    model = getattr(engines, "landmarks", None)
    if model is None:
        return None
    from insightface.app.common import Face

    face = Face(bbox=np.asarray(bbox, dtype=np.float32))
    return np.asarray(model.get(img, face), dtype=np.float32)


def _inner_face(img: np.ndarray, kps: np.ndarray) -> np.ndarray:
    """The inner region (brows to chin, cheek to cheek) of the grey 112x112 aligned face. Measured
    on the aligned crop, sharpness is size-normalised, and exposure ignores hair and background."""
    from wxflow.vision.face import align_face

    grey = cv2.cvtColor(align_face(img, kps), cv2.COLOR_BGR2GRAY)
    return grey[30:104, 20:92]


def measure(img: np.ndarray, face: Any, engines: Any | None = None) -> dict[str, float | None]:
    """The quality numbers of one detected face (see :class:`VisionSettings` for their meaning)."""
    kps = np.asarray(face.kps, dtype=np.float64)
    eye_dist = float(np.linalg.norm(kps[1] - kps[0]))
    inner = _inner_face(img, face.kps)
    sharpness = float(cv2.Laplacian(inner, cv2.CV_64F).var())
    brightness = float(inner.mean())
    clipped = float(((inner <= 5) | (inner >= 250)).mean())
    yaw, pitch, roll = pose_from_kps(kps)
    eye_open: float | None = None
    lmk = landmarks_106(img, face.bbox, engines) if engines is not None else None
    if lmk is not None:
        eye_open = max(eye_openness(lmk))
    return {
        "eye_distance_px": eye_dist,
        "face_width_px": float(face.bbox[2] - face.bbox[0]),
        "sharpness": sharpness,
        "brightness": brightness,
        "clipped_fraction": clipped,
        "yaw_deg": yaw,
        "pitch_deg": pitch,
        "roll_deg": roll,
        "eye_open": eye_open,
    }


def judge(values: dict[str, float | None], settings: VisionSettings) -> QualityReport:
    """Hold measured values to the settings' limits."""
    s = settings
    limits: dict[str, Any] = {
        "eye_distance_px": {"min": s.min_eye_distance_px},
        "sharpness": {"min": s.min_sharpness},
        "brightness": {"min": s.min_brightness, "max": s.max_brightness},
        "clipped_fraction": {"max": s.max_clipped_fraction},
        "yaw_deg": {"max_abs": s.max_yaw_deg},
        "pitch_deg": {"max_abs": s.max_pitch_deg},
        "roll_deg": {"max_abs": s.max_roll_deg},
        "eye_open": {"min": s.min_eye_open},
    }
    failures: list[str] = []
    for name, lim in limits.items():
        v = values.get(name)
        if v is None:
            continue  # not measured (eyes without the landmark model): neither pass nor fail
        if ("min" in lim and v < lim["min"]) or ("max" in lim and v > lim["max"]):
            failures.append(name)
        elif "max_abs" in lim and abs(v) > lim["max_abs"]:
            failures.append(name)
    return QualityReport(values=values, limits=limits, failures=failures)


def assess(img: np.ndarray, face: Any, engines: Any | None, settings: VisionSettings | None = None) -> QualityReport:
    """Measure and judge one face: the report a compare photo or best frame carries."""
    return judge(measure(img, face, engines), settings or VisionSettings())
