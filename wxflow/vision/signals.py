"""Per-frame face signals from the mediapipe face mesh, and audio voice activity.

Every signal is a time series over the sampled frames (NaN where the mesh found no face), kept so
a verdict can explain itself. Pure functions of frames, audio and settings; the only model is the
FaceMesh object the caller's engines hand out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wxflow.vision.types import DecodedVideo

# mediapipe face-mesh indices (refined, 478 points). EAR corners p1/p4 and lid pairs p2-p6, p3-p5.
LEFT_EYE = (33, 160, 158, 133, 153, 144)
RIGHT_EYE = (362, 385, 387, 263, 373, 380)
LIP_UPPER_INNER, LIP_LOWER_INNER = 13, 14
MOUTH_LEFT, MOUTH_RIGHT = 61, 291
CHEEK_RIGHT_SIDE, CHEEK_LEFT_SIDE = 234, 454  # the subject's right / left face edge
FOREHEAD, CHIN, NOSE_TIP = 10, 152, 1
EYE_OUTER = (33, 263)
# Inner lip contour: its shape change is the lip motion that speech makes.
INNER_LIPS = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)


def ear(pts: np.ndarray, idx: tuple[int, ...]) -> float:
    """Eye aspect ratio: mean lid gap over eye width (falls to ~0 when the eye closes)."""
    p1, p2, p3, p4, p5, p6 = (pts[i, :2] for i in idx)
    horiz = float(np.linalg.norm(p1 - p4)) or 1e-6
    return float((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2.0 * horiz))


def mouth_opening(pts: np.ndarray) -> float:
    """Inner-lip gap over mouth width (0 closed; scale-free, so the face's distance does not matter)."""
    width = float(np.linalg.norm(pts[MOUTH_LEFT, :2] - pts[MOUTH_RIGHT, :2])) or 1e-6
    return float(np.linalg.norm(pts[LIP_UPPER_INNER, :2] - pts[LIP_LOWER_INNER, :2])) / width


def head_angles(pts: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) in degrees from the mesh's 3-D points (x, y in pixels, z scaled as x).

    Yaw is the angle of the cheek-to-cheek line out of the image plane, pitch that of the
    forehead-to-chin line; their signs are arbitrary, only swings about the neutral matter.
    """
    d = pts[CHEEK_LEFT_SIDE] - pts[CHEEK_RIGHT_SIDE]
    yaw = float(np.degrees(np.arctan2(d[2], np.hypot(d[0], d[1]))))
    v = pts[CHIN] - pts[FOREHEAD]
    pitch = float(np.degrees(np.arctan2(v[2], np.hypot(v[0], v[1]))))
    return yaw, pitch


@dataclass
class FaceSeries:
    """Signals over the sampled frames; arrays share the length of ``t`` (NaN: no mesh)."""

    t: np.ndarray
    landmarks: list[np.ndarray | None]
    ear_left: np.ndarray
    ear_right: np.ndarray
    mouth: np.ndarray
    yaw: np.ndarray
    pitch: np.ndarray
    lip_energy: np.ndarray
    face_size: np.ndarray
    centre_x: np.ndarray
    centre_y: np.ndarray
    brightness: np.ndarray
    sharpness: np.ndarray
    frame_index: np.ndarray | None = None
    """Index into ``video.frames`` of each entry (None: every sampled frame, in order)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> np.ndarray:
        return ~np.isnan(self.mouth)

    def to_json(self) -> dict[str, list[float | None]]:
        def r(a: np.ndarray, nd: int = 3) -> list[float | None]:
            return [None if np.isnan(x) else round(float(x), nd) for x in a]

        return {
            "t": [round(float(x), 3) for x in self.t],
            "ear_left": r(self.ear_left),
            "ear_right": r(self.ear_right),
            "mouth": r(self.mouth),
            "yaw": r(self.yaw, 1),
            "pitch": r(self.pitch, 1),
            "lip_energy": r(self.lip_energy),
            "face_size": r(self.face_size),
            "centre_x": r(self.centre_x),
            "centre_y": r(self.centre_y),
            "brightness": r(self.brightness, 1),
            "sharpness": r(self.sharpness, 1),
        }


def _face_patch_stats(img: np.ndarray, pts: np.ndarray) -> tuple[float, float]:
    """Mean luma and Laplacian variance (on a 112 px normalised crop) of the mesh's box."""
    import cv2

    h, w = img.shape[:2]
    x1, y1 = (int(max(0, v)) for v in pts[:, :2].min(axis=0))
    x2, y2 = int(min(w, pts[:, 0].max())), int(min(h, pts[:, 1].max()))
    crop = img[y1:y2, x1:x2]
    if crop.size == 0:
        return float("nan"), float("nan")
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    sharp = float(cv2.Laplacian(cv2.resize(grey, (112, 112)), cv2.CV_64F).var())
    return float(grey.mean()), sharp


def face_series(
    video: DecodedVideo, engines: Any, stride: int = 1, refine_ratio: float = 0.85, refine_mouth: float = 0.45
) -> FaceSeries:
    """Run one FaceMesh over the frames in time order (it tracks across frames).

    ``stride`` 1 meshes every sampled frame. ``stride`` k > 1 is the adaptive schedule: every
    k-th frame, but wherever the eyes read less open than ``refine_ratio`` of their running
    neutral (a blink may be under way) or the mouth opens past ``refine_mouth`` (of its width),
    the skipped frames just before it are meshed too and the schedule stays dense until both
    are back. A blink (100-400 ms) always shows, partly closed,
    on some frame of a 5-7.5 fps grid; the dense frames around it then resolve it as the full
    schedule would. The series holds the meshed frames only (``frame_index`` says which).
    """
    import cv2

    n = len(video.frames)
    rows: dict[int, tuple[np.ndarray, dict[str, float], np.ndarray]] = {}
    openness: list[tuple[float, float]] = []
    mesh = engines.new_face_mesh(max_num_faces=1)

    def process(i: int) -> bool:
        """Mesh frame i; True when its eyes look less open than the running neutral."""
        img = video.frames[i].image
        h, w = img.shape[:2]
        res = mesh.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        if not res.multi_face_landmarks:
            rows[i] = (np.empty(0), {}, np.empty(0))
            return False
        lm = res.multi_face_landmarks[0].landmark
        # Pixel units (z shares x's scale), so non-square frames do not skew ratios or angles.
        pts = np.array([(p.x * w, p.y * h, p.z * w) for p in lm], dtype=np.float64)
        vals: dict[str, float] = {"ear_left": ear(pts, LEFT_EYE), "ear_right": ear(pts, RIGHT_EYE)}
        vals["mouth"] = mouth_opening(pts)
        vals["yaw"], vals["pitch"] = head_angles(pts)
        x1, y1 = pts[:, :2].min(axis=0)
        x2, y2 = pts[:, :2].max(axis=0)
        vals["face_size"] = (x2 - x1) / float(min(h, w))
        vals["centre_x"] = (x1 + x2) / 2.0 / w
        vals["centre_y"] = (y1 + y2) / 2.0 / h
        vals["brightness"], vals["sharpness"] = _face_patch_stats(img, pts)
        # Lip shape for the motion energy: centred on the mouth, scaled by the eye distance, so
        # the head's own motion is removed.
        iod = float(np.linalg.norm(pts[EYE_OUTER[0], :2] - pts[EYE_OUTER[1], :2])) or 1e-6
        lips = pts[list(INNER_LIPS), :2]
        rows[i] = (pts, vals, (lips - lips.mean(axis=0)) / iod)
        openness.append((vals["ear_left"], vals["ear_right"]))
        if stride <= 1 or len(openness) < 3:
            return len(openness) < 3
        neutral = np.percentile(np.array(openness), 75, axis=0)
        ratio = max(vals["ear_left"] / max(1e-6, neutral[0]), vals["ear_right"] / max(1e-6, neutral[1]))
        return bool(ratio < refine_ratio or vals["mouth"] > refine_mouth)

    try:
        i, last = 0, -1
        while i < n:
            if process(i) and stride > 1:
                # Backfill the frames skipped since the last meshed one, then go dense.
                for j in range(last + 1, i):
                    if j not in rows:
                        process(j)
                last, i = i, i + 1
            else:
                last, i = i, i + max(1, stride)
        if n and (n - 1) not in rows:
            process(n - 1)
    finally:
        mesh.close()

    idx = sorted(rows)
    m = len(idx)
    keys = ("ear_left", "ear_right", "mouth", "yaw", "pitch", "face_size", "centre_x", "centre_y")
    cols = {k: np.full(m, np.nan) for k in (*keys, "brightness", "sharpness")}
    landmarks: list[np.ndarray | None] = []
    lip_energy = np.full(m, np.nan)
    lips_prev: np.ndarray | None = None
    for k, i in enumerate(idx):
        pts, vals, lips = rows[i]
        if not vals:
            landmarks.append(None)
            lips_prev = None
            continue
        landmarks.append(pts)
        for key, val in vals.items():
            cols[key][k] = val
        if lips_prev is not None:
            lip_energy[k] = float(np.linalg.norm(lips - lips_prev, axis=1).mean())
        lips_prev = lips
    return FaceSeries(
        t=np.array([video.frames[i].t for i in idx], dtype=np.float64),
        landmarks=landmarks,
        lip_energy=lip_energy,
        frame_index=np.array(idx, dtype=np.int64),
        **cols,
    )


def planar_residual(series: FaceSeries, stride: int = 1) -> float:
    """Median (over frames) of how far the landmarks are from where ONE homography from the first
    mesh frame puts them, as a fraction of the eye distance.

    A photo moved in a hand is a plane: a homography explains its landmarks up to mesh jitter. A
    real face turns (parallax between nose and cheeks), blinks and moves its mouth: it leaves
    residuals a plane cannot absorb.
    """
    import cv2

    ref: np.ndarray | None = None
    out: list[float] = []
    for pts in series.landmarks[::stride]:
        if pts is None:
            continue
        if ref is None:
            ref = pts
            continue
        hmat, _ = cv2.findHomography(ref[:, :2], pts[:, :2], 0)
        if hmat is None:
            continue
        proj = cv2.perspectiveTransform(ref[None, :, :2].astype(np.float64), hmat)[0]
        iod = float(np.linalg.norm(pts[EYE_OUTER[0], :2] - pts[EYE_OUTER[1], :2])) or 1e-6
        out.append(float(np.median(np.linalg.norm(proj - pts[:, :2], axis=1))) / iod)
    return float(np.median(out)) if out else float("nan")


def robust_neutral(x: np.ndarray, q: float) -> float:
    return float(np.nanpercentile(x, q)) if np.any(~np.isnan(x)) else float("nan")


# ----------------------------------------------------------------------------------------------
# Audio
# ----------------------------------------------------------------------------------------------


def audio_envelope(audio: np.ndarray, rate: int, hop_s: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """(times, RMS level in dBFS) over 40 ms windows every ``hop_s``, after removing DC."""
    win = int(0.04 * rate)
    hop = max(1, int(hop_s * rate))
    x = audio.astype(np.float64) - float(np.mean(audio)) if audio.size else audio.astype(np.float64)
    if x.size < win:
        return np.zeros(0), np.zeros(0)
    n = 1 + (x.size - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    rms = np.sqrt(np.mean(x[idx] ** 2, axis=1)) + 1e-9
    return (np.arange(n) * hop + win / 2) / rate, 20.0 * np.log10(rms)


def voice_activity(audio: np.ndarray | None, rate: int) -> dict[str, Any]:
    """Energy voice activity: frames 12 dB above the recording's own noise floor (10th
    percentile) and above -55 dBFS. Returns the voiced seconds, the voiced level (90th percentile
    dBFS) and the per-window mask for the timeline."""
    if audio is None or audio.size < rate // 10:
        return {"present": False, "voiced_s": 0.0, "level_dbfs": None, "floor_dbfs": None, "t": [], "db": []}
    t, db = audio_envelope(audio, rate)
    floor = float(np.percentile(db, 10))
    voiced = (db > floor + 12.0) & (db > -55.0)
    hop = float(t[1] - t[0]) if t.size > 1 else 0.02
    level = float(np.percentile(db[voiced], 90)) if voiced.any() else float(np.percentile(db, 90))
    return {
        "present": True,
        "voiced_s": round(float(voiced.sum()) * hop, 3),
        "level_dbfs": round(level, 1),
        "floor_dbfs": round(floor, 1),
        "t": t,
        "db": db,
        "voiced": voiced,
    }


def lip_audio_sync(
    series: FaceSeries, audio: np.ndarray, rate: int, offset: float, max_lag_s: float = 0.3
) -> tuple[float, float]:
    """Best correlation (and its lag, s) between the audio loudness and the lip opening.

    Speech opens the mouth as it gets loud; a dubbed track (someone else's voice, or this voice
    at another time) does not follow these lips. Both series are put on the frame times, the
    audio envelope is linear RMS, and lags up to ``max_lag_s`` either way are tried (phones and
    encoders shift audio against video by up to ~200 ms).
    """
    t_env, db = audio_envelope(audio, rate)
    if t_env.size < 5:
        return 0.0, 0.0
    amp = 10.0 ** (db / 20.0)
    valid = series.valid
    t = series.t[valid]
    lip = series.mouth[valid]
    if t.size < 8 or np.std(lip) < 1e-6:
        return 0.0, 0.0
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.066
    best, best_lag = -1.0, 0.0
    for lag in np.arange(-max_lag_s, max_lag_s + 1e-9, min(step, 0.04)):
        a = np.interp(t + lag - offset, t_env, amp, left=np.nan, right=np.nan)
        ok = ~np.isnan(a)
        if ok.sum() < 8 or np.std(a[ok]) < 1e-9:
            continue
        c = float(np.corrcoef(a[ok], lip[ok])[0, 1])
        if c > best:
            best, best_lag = c, float(lag)
    return best, best_lag
