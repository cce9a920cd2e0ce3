"""Liveness judging of a decoded recording: silent (anti-spoof net) and action (blink / open mouth).

Code choices (spec section 6), kept here in one table so transports map them unchanged:

| situation                          | live_status | result                               | tag |
|------------------------------------|-------------|--------------------------------------|-----|
| passed                             | 0           | Success                              |     |
| no face / face in too few frames   | 1102        | FailedOperation.ActionNodetectFace   | 09  |
| several comparable faces           | 1302 / 1002 | FailedOperation.SilentMultiFaceFail  | 08  |
| silent: recording under 2 s        | 1303        | FailedOperation.SilentTooShort       |     |
| silent: anti-spoof says recapture  | 1301        | FailedOperation.SilentPictureLiveFail| 03  |
| action: blink never seen           | 1002        | FailedOperation.ActionCloseEye       | 02  |
| action: open mouth never seen      | 1002        | FailedOperation.ActionOpenMouth      | 02  |
| action: all seen, wrong order      | 1002        | FailedOperation.ActionFirstAction    | 02  |
| action: recording too short        | 1107        | FailedOperation.VideoDurationExceeded|     |

1102 ("face incomplete") is the spec's only integer for a missing face; the several-faces
result has no action-mode twin, so both modes use SilentMultiFaceFail (1302 silent, 1002 action).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wxflow.vision.face import DetectedFace, align_face, detect_faces, dominant_face, embed_crops
from wxflow.vision.settings import VisionSettings
from wxflow.vision.types import DecodedVideo, Frame, LivenessVerdict

ACTION_OPEN_MOUTH = 1
ACTION_BLINK = 2
SUPPORTED_ACTIONS = {ACTION_OPEN_MOUTH: "open_mouth", ACTION_BLINK: "blink"}
KNOWN_UNSUPPORTED_ACTIONS = {3: "nod", 4: "shake"}
MODES = ("silent", "action")

# mediapipe face-mesh indices (refined, 478 points). EAR corners p1/p4 and lid pairs p2-p6, p3-p5.
_LEFT_EYE = (33, 160, 158, 133, 153, 144)
_RIGHT_EYE = (362, 385, 387, 263, 373, 380)
_LIP_UPPER_INNER, _LIP_LOWER_INNER = 13, 14
_MOUTH_LEFT, _MOUTH_RIGHT = 61, 291


@dataclass
class FrameFaces:
    frame: Frame
    main: DetectedFace | None
    rivals: list[DetectedFace] = field(default_factory=list)


class Timer:
    """Collects per-stage wall times in ms for ``details['timings_ms']``."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.ms[name] = round(self.ms.get(name, 0.0) + (now - self._t) * 1000.0, 1)
        self._t = now


def _fail(live_status: int, result: str, message: str, tags: list[str] | None = None) -> LivenessVerdict:
    return LivenessVerdict(passed=False, live_status=live_status, result=result, message=message, tags=tags or [])


def parse_actions(challenge: dict[str, Any] | None) -> list[int]:
    """The issued action codes; ValueError for a missing challenge or an unsupported action."""
    if not challenge or "actions" not in challenge:
        raise ValueError("action mode needs a challenge {'actions': [..]}")
    raw = challenge["actions"]
    if isinstance(raw, str):
        raw = [a for a in raw.replace(" ", "").split(",") if a]
    actions = [int(a) for a in raw]
    if not actions:
        raise ValueError("action challenge is empty")
    for a in actions:
        if a in KNOWN_UNSUPPORTED_ACTIONS:
            raise ValueError(f"action {a} ({KNOWN_UNSUPPORTED_ACTIONS[a]}) is not supported yet")
        if a not in SUPPORTED_ACTIONS:
            raise ValueError(f"unknown action code {a}")
    return actions


# ----------------------------------------------------------------------------------------------
# Faces per frame, best frames, embedding
# ----------------------------------------------------------------------------------------------


def analyse_faces(video: DecodedVideo, engines: Any, settings: VisionSettings) -> list[FrameFaces]:
    out: list[FrameFaces] = []
    for frame in video.frames:
        faces = detect_faces(frame.image, engines, det_size=settings.det_size_video, threshold=settings.det_threshold)
        main, rivals = dominant_face(faces, settings.second_face_ratio)
        out.append(FrameFaces(frame=frame, main=main, rivals=rivals))
    return out


def frame_quality(img: np.ndarray, face: DetectedFace) -> dict[str, float]:
    """Sharpness, frontality and size of a face, each in [0, 1], and their weighted score.

    Frontality comes from the 5 keypoints: the nose sits midway between the eyes when the head
    faces the camera (yaw) and the eye line is level (roll).
    """
    import cv2

    h, w = img.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in face.bbox)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    crop = img[y1:y2, x1:x2]
    sharp = 0.0
    if crop.size:
        grey = cv2.cvtColor(cv2.resize(crop, (112, 112)), cv2.COLOR_BGR2GRAY)
        # Variance of the Laplacian on a size-normalised crop: ~50 blurry, 300+ crisp.
        sharp = float(min(1.0, cv2.Laplacian(grey, cv2.CV_64F).var() / 300.0))
    le, re, nose = face.kps[0], face.kps[1], face.kps[2]
    eye_dist = float(np.linalg.norm(re - le)) or 1.0
    yaw = abs(float(nose[0] - (le[0] + re[0]) / 2.0)) / eye_dist
    roll = abs(float(np.degrees(np.arctan2(re[1] - le[1], re[0] - le[0]))))
    frontal = float(max(0.0, 1.0 - 2.0 * yaw) * max(0.0, 1.0 - roll / 45.0))
    size = float(min(1.0, face.width / (0.35 * min(h, w))))
    score = 0.4 * sharp + 0.4 * frontal + 0.2 * size
    return {"sharp": round(sharp, 3), "frontal": round(frontal, 3), "size": round(size, 3), "score": round(score, 4)}


def best_frames(
    analysed: list[FrameFaces], settings: VisionSettings, count: int
) -> list[tuple[FrameFaces, dict[str, float]]]:
    scored = [(ff, frame_quality(ff.frame.image, ff.main)) for ff in analysed if ff.main is not None]
    scored.sort(key=lambda x: x[1]["score"], reverse=True)
    return scored[: max(1, count)]


def _finish(
    verdict: LivenessVerdict,
    analysed: list[FrameFaces],
    engines: Any,
    settings: VisionSettings,
    timer: Timer,
) -> LivenessVerdict:
    """Attach best frames, their scores and the embedding; every verdict with a face gets them."""
    count = max(1, min(10, settings.best_frame_count))
    chosen = best_frames(analysed, settings, max(count, settings.embed_top_k))
    if chosen:
        verdict.best_frames = [ff.frame.image for ff, _ in chosen[:count]]
        verdict.best_frame_scores = [round(100.0 * q["score"], 2) for _, q in chosen[:count]]
        crops = [align_face(ff.frame.image, ff.main.kps) for ff, _ in chosen[: max(1, settings.embed_top_k)]]
        embs = embed_crops(crops, engines)
        mean = embs.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        verdict.embedding = (mean / norm if norm > 0 else embs[0]).astype(np.float32)
        verdict.details["best_frames"] = [{"t": ff.frame.t, **q, "face": ff.main.to_json()} for ff, q in chosen[:count]]
        # Consistency of identity across the chosen frames: a low value hints at a face swap.
        verdict.details["best_frame_min_cosine"] = round(float((embs @ verdict.embedding).min()), 4)
    timer.lap("best_frames_embed")
    verdict.details["timings_ms"] = timer.ms
    return verdict


# ----------------------------------------------------------------------------------------------
# Silent: MiniFASNetV2
# ----------------------------------------------------------------------------------------------


def antispoof_input(img: np.ndarray, face: DetectedFace, scale: float = 2.7) -> np.ndarray:
    """MiniFASNetV2 input [1,3,80,80]: the box enlarged ``scale`` x about its centre, clipped to the
    image, resized to 80x80, BGR, float CHW with raw 0-255 values (as the weights were trained)."""
    import cv2

    h, w = img.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in face.bbox)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    bw, bh = (x2 - x1) * scale, (y2 - y1) * scale
    nx1, ny1 = int(max(0, round(cx - bw / 2))), int(max(0, round(cy - bh / 2)))
    nx2, ny2 = int(min(w, round(cx + bw / 2))), int(min(h, round(cy + bh / 2)))
    crop = img[ny1:ny2, nx1:nx2]
    if crop.size == 0:
        crop = img
    patch = cv2.resize(crop, (80, 80)).astype(np.float32)
    return np.ascontiguousarray(patch.transpose(2, 0, 1)[None])


def live_probability(img: np.ndarray, face: DetectedFace, engines: Any, scale: float = 2.7) -> float:
    session = engines.antispoof
    logits = session.run(None, {session.get_inputs()[0].name: antispoof_input(img, face, scale)})[0][0]
    z = np.exp(logits - logits.max())
    return float(z[1] / z.sum())


def _spread(items: list[Any], n: int) -> list[Any]:
    """n items evenly spread over the list (all of them if fewer)."""
    if len(items) <= n:
        return items
    idx = np.linspace(0, len(items) - 1, n).round().astype(int)
    return [items[i] for i in idx]


def judge_silent(
    video: DecodedVideo, analysed: list[FrameFaces], engines: Any, settings: VisionSettings, timer: Timer
) -> LivenessVerdict:
    if engines.antispoof is None:
        # Never pass a silent check we cannot run.
        raise RuntimeError(engines.antispoof_reason or "silent liveness model not loaded")
    with_face = [ff for ff in analysed if ff.main is not None]
    picked = _spread(with_face, settings.silent_frames)
    probs = [live_probability(ff.frame.image, ff.main, engines, settings.antispoof_scale) for ff in picked]
    timer.lap("antispoof")
    median = float(np.median(probs))
    details = {
        "antispoof": {
            "model": "minifasnet_v2",
            "median_live_prob": round(median, 4),
            "mean_live_prob": round(float(np.mean(probs)), 4),
            "min_live_prob": round(float(np.min(probs)), 4),
            "threshold": settings.silent_live_threshold,
            "frames": [{"t": ff.frame.t, "p": round(p, 4)} for ff, p in zip(picked, probs, strict=True)],
        }
    }
    if median < settings.silent_live_threshold:
        v = _fail(1301, "FailedOperation.SilentPictureLiveFail", "suspected recapture (photo or screen)", ["03"])
    else:
        v = LivenessVerdict(passed=True, live_status=0, result="Success", message="live")
    v.details.update(details)
    return v


# ----------------------------------------------------------------------------------------------
# Action: mediapipe face mesh signals
# ----------------------------------------------------------------------------------------------


def _ear(pts: np.ndarray, idx: tuple[int, ...]) -> float:
    p1, p2, p3, p4, p5, p6 = (pts[i] for i in idx)
    horiz = float(np.linalg.norm(p1 - p4)) or 1e-6
    return float((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2.0 * horiz))


def mesh_signals(video: DecodedVideo, engines: Any) -> dict[str, list[float | None]]:
    """Per sampled frame: left/right eye aspect ratio and mouth opening (inner-lip gap / mouth
    width), from the face mesh in pixel units (so non-square frames do not skew the ratios)."""
    import cv2

    mesh = engines.new_face_mesh(max_num_faces=1)
    t_list: list[float | None] = []
    left: list[float | None] = []
    right: list[float | None] = []
    mouth: list[float | None] = []
    try:
        for frame in video.frames:
            h, w = frame.image.shape[:2]
            res = mesh.process(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))
            t_list.append(frame.t)
            if not res.multi_face_landmarks:
                left.append(None)
                right.append(None)
                mouth.append(None)
                continue
            lm = res.multi_face_landmarks[0].landmark
            pts = np.array([(p.x * w, p.y * h) for p in lm], dtype=np.float64)
            left.append(_ear(pts, _LEFT_EYE))
            right.append(_ear(pts, _RIGHT_EYE))
            width = float(np.linalg.norm(pts[_MOUTH_LEFT] - pts[_MOUTH_RIGHT])) or 1e-6
            mouth.append(float(np.linalg.norm(pts[_LIP_UPPER_INNER] - pts[_LIP_LOWER_INNER])) / width)
    finally:
        mesh.close()
    return {"t": t_list, "ear_left": left, "ear_right": right, "mouth": mouth}


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where mask is True."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, m in enumerate(mask):
        if m and start is None:
            start = i
        elif not m and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(mask)))
    return runs


def detect_action_events(
    signals: dict[str, list[float | None]], settings: VisionSettings
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Blink and open-mouth events with their times, thresholds relative to the person's neutral.

    Neutral = the 75th percentile of eye openness and the 20th of mouth opening over frames with a
    face. A blink needs BOTH eyes below ``blink_drop_ratio`` x neutral (a wink
    or a squint of one eye is not a blink). An open mouth needs the opening to exceed neutral by
    ``mouth_open_ratio`` AND reach ``mouth_open_min``: speech opens the lips ~0.1-0.3 of the mouth
    width, a deliberate 'open your mouth' 0.5+.
    """
    t = np.array(signals["t"], dtype=np.float64)
    valid = np.array([v is not None for v in signals["mouth"]])
    stats: dict[str, float] = {"frames_with_mesh": int(valid.sum())}
    if valid.sum() < 3:
        return [], stats
    el = np.array([v if v is not None else np.nan for v in signals["ear_left"]], dtype=np.float64)
    er = np.array([v if v is not None else np.nan for v in signals["ear_right"]], dtype=np.float64)
    mo = np.array([v if v is not None else np.nan for v in signals["mouth"]], dtype=np.float64)
    # Neutral from percentiles, not the median: someone asked to open their mouth may hold it open
    # for most of a short clip (the median would then be "open"), and one asked to close their
    # eyes may keep them shut for a while. Eyes are open, and the mouth closed, at least a quarter
    # of any honest recording.
    n_el = float(np.nanpercentile(el, 75))
    n_er = float(np.nanpercentile(er, 75))
    n_mo = float(np.nanpercentile(mo, 20))
    stats.update(
        {
            "neutral_ear_left": round(n_el, 4),
            "neutral_ear_right": round(n_er, 4),
            "neutral_mouth": round(n_mo, 4),
            "min_eye_ratio": round(float(np.nanmin(np.fmax(el / n_el, er / n_er))), 4),
            "max_mouth": round(float(np.nanmax(mo)), 4),
        }
    )
    events: list[dict[str, Any]] = []
    with np.errstate(invalid="ignore"):
        closed = np.fmax(el / n_el, er / n_er) < settings.blink_drop_ratio
        mouth_thr = max(n_mo + settings.mouth_open_ratio, settings.mouth_open_min)
        opened = mo > mouth_thr
    stats["mouth_threshold"] = round(mouth_thr, 4)
    for s, e in _runs(closed & valid):
        ratio = float(np.nanmin(np.fmax(el[s:e] / n_el, er[s:e] / n_er)))
        events.append(
            {
                "action": ACTION_BLINK,
                "name": "blink",
                "t": round(float(t[s]), 3),
                "t_end": round(float(t[e - 1]), 3),
                "depth": round(ratio, 3),
            }
        )
    for s, e in _runs(opened & valid):
        events.append(
            {
                "action": ACTION_OPEN_MOUTH,
                "name": "open_mouth",
                "t": round(float(t[s]), 3),
                "t_end": round(float(t[e - 1]), 3),
                "peak": round(float(np.nanmax(mo[s:e])), 3),
            }
        )
    events.sort(key=lambda ev: ev["t"])
    return events, stats


def match_actions(actions: list[int], events: list[dict[str, Any]]) -> tuple[bool, int | None, str]:
    """Whether the issued actions occur as a subsequence of the events, in order.

    Returns (ok, missing_action, reason): missing_action is the first issued action never seen at
    all (None if each was seen somewhere, i.e. the failure is the order).
    """
    after = -1.0
    for a in actions:
        nxt = next((ev for ev in events if ev["action"] == a and ev["t"] > after), None)
        if nxt is None:
            if not any(ev["action"] == a for ev in events):
                return False, a, f"{SUPPORTED_ACTIONS[a]} not seen"
            return False, None, f"{SUPPORTED_ACTIONS[a]} not seen in the issued order"
        # The next action must begin after this one has ended.
        after = nxt["t_end"]
    return True, None, "all actions seen in order"


def judge_action(
    video: DecodedVideo,
    actions: list[int],
    engines: Any,
    settings: VisionSettings,
    timer: Timer,
) -> LivenessVerdict:
    signals = mesh_signals(video, engines)
    timer.lap("face_mesh")
    events, stats = detect_action_events(signals, settings)
    ok, missing, reason = match_actions(actions, events)
    timer.lap("action_events")
    if ok:
        v = LivenessVerdict(passed=True, live_status=0, result="Success", message=reason)
    elif missing == ACTION_BLINK:
        v = _fail(1002, "FailedOperation.ActionCloseEye", reason, ["02"])
    elif missing == ACTION_OPEN_MOUTH:
        v = _fail(1002, "FailedOperation.ActionOpenMouth", reason, ["02"])
    else:
        v = _fail(1002, "FailedOperation.ActionFirstAction", reason, ["02"])

    def compact(xs: list[float | None]) -> list[float | None]:
        return [None if x is None else round(x, 3) for x in xs]

    v.details["action"] = {
        "issued": actions,
        "events": events,
        "stats": stats,
        "signals": {k: compact(vals) for k, vals in signals.items()},
    }
    return v


# ----------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------


def judge_video(
    video: DecodedVideo,
    mode: str,
    challenge: dict[str, Any] | None,
    engines: Any,
    settings: VisionSettings | None = None,
) -> LivenessVerdict:
    """Judge one decoded recording. ``mode``: "silent" or "action" (challenge {"actions": [2, 1]}).

    ValueError for an unknown mode or an unsupported action (the app refuses those earlier);
    RuntimeError when the needed model is not loaded (never a pass).
    """
    settings = settings or VisionSettings()
    if mode not in MODES:
        raise ValueError(f"liveness mode {mode!r} is not supported (supported: {', '.join(MODES)})")
    actions = parse_actions(challenge) if mode == "action" else []
    timer = Timer()
    base = {
        "mode": mode,
        "duration_s": round(video.duration, 3),
        "frames_sampled": len(video.frames),
        "size": [video.width, video.height],
        "codec": video.codec,
    }
    if mode == "silent" and video.duration < settings.min_silent_seconds:
        v = _fail(
            1303,
            "FailedOperation.SilentTooShort",
            f"recording is {video.duration:.1f} s, need > {settings.min_silent_seconds:.0f} s",
        )
        v.details.update(base)
        v.details["timings_ms"] = timer.ms
        return v
    if mode == "action" and video.duration < settings.action_min_seconds:
        v = _fail(1107, "FailedOperation.VideoDurationExceeded", "recording too short for the actions")
        v.details.update(base)
        v.details["timings_ms"] = timer.ms
        return v

    analysed = analyse_faces(video, engines, settings)
    timer.lap("detect")
    n = len(analysed)
    n_face = sum(1 for ff in analysed if ff.main is not None)
    n_multi = sum(1 for ff in analysed if ff.main is not None and ff.rivals)
    base.update({"frames_with_face": n_face, "frames_with_several_faces": n_multi})
    if n_face == 0 or n_face < settings.min_face_frames_ratio * n:
        v = _fail(
            1102,
            "FailedOperation.ActionNodetectFace",
            "no face found" if n_face == 0 else f"face found in only {n_face}/{n} frames",
            ["09"],
        )
        v.details.update(base)
        return _finish(v, analysed, engines, settings, timer) if n_face else _no_face(v, timer)
    if n_multi >= settings.multi_face_frames_ratio * n_face:
        v = _fail(
            1302 if mode == "silent" else 1002,
            "FailedOperation.SilentMultiFaceFail",
            f"several faces in {n_multi}/{n_face} frames",
            ["08"],
        )
        v.details.update(base)
        return _finish(v, analysed, engines, settings, timer)

    if mode == "silent":
        v = judge_silent(video, analysed, engines, settings, timer)
    else:
        v = judge_action(video, actions, engines, settings, timer)
    v.details.update(base)
    return _finish(v, analysed, engines, settings, timer)


def _no_face(v: LivenessVerdict, timer: Timer) -> LivenessVerdict:
    v.details["timings_ms"] = timer.ms
    return v
