"""Liveness judging of a decoded recording: silent, action, digit (LIP), light (reflect), flash.

Code choices (spec sections 4 and 6), kept here in one table so transports map them unchanged:

| situation                               | live_status | result                                | tag |
|-----------------------------------------|-------------|---------------------------------------|-----|
| passed                                  | 0           | Success                               |     |
| no face / face in too few frames        | 1102        | FailedOperation.ActionNodetectFace    | 09  |
| several comparable faces                | 1302 / 1002 | FailedOperation.SilentMultiFaceFail   | 08  |
| person changed during the recording     | 1302 / 1002 | FailedOperation.LivessDetectFake      | 08  |
| face too dark / too bright              | 1201 / 1202 | FailedOperation.ActionLightDark/Strong| 09  |
| face too near / too far                 | 1203 / 1204 | FailedOperation.ActionFaceClose/Far   | 10  |
| silent: recording under 2 s             | 1303        | FailedOperation.SilentTooShort        |     |
| silent: anti-spoof says recapture       | 1301        | FailedOperation.SilentPictureLiveFail | 03  |
| action: blink / open mouth never seen   | 1002        | FailedOperation.ActionCloseEye / ...OpenMouth | 02 |
| action: nod / shake never seen          | 1002        | FailedOperation.ActionFirstAction     | 02  |
| action: all seen, wrong order           | 1002        | FailedOperation.ActionFirstAction     | 02  |
| action: recording too short             | 1107        | FailedOperation.VideoDurationExceeded |     |
| digit: no audio / no voice              | 1101        | FailedOperation.LipVoiceRecognize     |     |
| digit: voice too low                    | 1106        | FailedOperation.LipVoiceLow           |     |
| digit: lips do not move                 | 1109        | FailedOperation.LipMoveSmall          | 12  |
| digit: sound not in sync with the lips  | 1002        | FailedOperation.LivessDetectFake      | 12  |
| digit: wrong digits heard               | 1103        | FailedOperation.LipVoiceRecognize     |     |
| digit: recording too short (< 1.5 s)    | 1107        | FailedOperation.LipSizeError          |     |
| light/flash: colour not followed / flat | 1301        | FailedOperation.LivessDetectFake      | 07  |
| flash: no blink before the colours      | 1002        | FailedOperation.ActionCloseEye        | 02  |

1102 ("face incomplete") is the spec's only integer for a missing face; the several-faces
result has no action-mode twin, so both modes use SilentMultiFaceFail (1302 silent/light/flash,
1002 action/digit). Nod and shake have no result code of their own: ActionFirstAction ("the
action was not done as issued") is the closest. 1205 is not used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wxflow.vision.face import DetectedFace, detect_faces, dominant_face, embed_crops, face_crop, fuse_embeddings
from wxflow.vision.settings import VisionSettings
from wxflow.vision.signals import FaceSeries, face_series, planar_residual
from wxflow.vision.synthesis import animated_patch_score
from wxflow.vision.types import DecodedVideo, Frame, LivenessVerdict

ACTION_OPEN_MOUTH = 1
ACTION_BLINK = 2
ACTION_NOD = 3
ACTION_SHAKE = 4
SUPPORTED_ACTIONS = {ACTION_OPEN_MOUTH: "open_mouth", ACTION_BLINK: "blink", ACTION_NOD: "nod", ACTION_SHAKE: "shake"}
KNOWN_UNSUPPORTED_ACTIONS: dict[int, str] = {}
MODES = ("silent", "action", "digit", "light", "flash")


@dataclass
class FrameFaces:
    frame: Frame
    main: DetectedFace | None
    rivals: list[DetectedFace] = field(default_factory=list)
    embedding: np.ndarray | None = None
    """The main face's embedding once computed (the identity check and the best frames share it)."""
    quality: dict[str, float] | None = None
    """``frame_quality`` of the main face once computed."""


def _embeddings(frames: list[FrameFaces], engines: Any) -> np.ndarray:
    """Embeddings of the main faces of ``frames``, computing (in one batch) only those not yet known."""
    todo = [ff for ff in frames if ff.embedding is None]
    if todo:
        # face_crop: the configured recogniser's own alignment (arcface crop or dlib chip).
        fresh = embed_crops([face_crop(ff.frame.image, ff.main, engines) for ff in todo], engines)
        for ff, emb in zip(todo, fresh, strict=True):
            ff.embedding = emb
    return np.stack([ff.embedding for ff in frames])


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
    """Detector pass on ``detect_frames`` frames spread over the clip (SCRFD is the dearest
    per-frame stage; the face mesh follows the face on every frame)."""
    out: list[FrameFaces] = []
    for frame in _spread(video.frames, max(3, settings.detect_frames)):
        faces = detect_faces(
            frame.image, engines, det_size=settings.det_size_video, threshold=settings.det_threshold, fit_aspect=True
        )
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
    for ff in analysed:
        if ff.main is not None and ff.quality is None:
            ff.quality = frame_quality(ff.frame.image, ff.main)
    scored = [(ff, ff.quality) for ff in analysed if ff.main is not None and ff.quality is not None]
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
        embs = _embeddings([ff for ff, _ in chosen[: max(1, settings.embed_top_k)]], engines)
        # Average-embedding fusion of the best frames: measured better than score fusion and than
        # one frame on the talking-face clips (bench/face.py fusion, docs/face-engine.md).
        verdict.embedding = fuse_embeddings(embs)
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
    # The model-free recapture cue: screen moire on the face (wxflow/vision/recapture.py).
    from wxflow.vision.recapture import moire_score

    moire = moire_score([ff.frame.image for ff in picked], [ff.main.bbox for ff in picked])
    details["recapture"] = {**moire, "moire_max": settings.recapture_moire_max}
    timer.lap("recapture")
    if median < settings.silent_live_threshold:
        v = _fail(1301, "FailedOperation.SilentPictureLiveFail", "suspected recapture (photo or screen)", ["03"])
    elif moire["moire"] > settings.recapture_moire_max:
        v = _fail(1301, "FailedOperation.SilentPictureLiveFail", "screen moire on the face: recaptured", ["03"])
    else:
        v = LivenessVerdict(passed=True, live_status=0, result="Success", message="live")
    v.details.update(details)
    return v


# ----------------------------------------------------------------------------------------------
# Action: mediapipe face mesh signals
# ----------------------------------------------------------------------------------------------


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
    events += _head_events(signals, settings, stats)
    events.sort(key=lambda ev: ev["t"])
    return events, stats


def _head_events(
    signals: dict[str, list[float | None]], settings: VisionSettings, stats: dict[str, float]
) -> list[dict[str, Any]]:
    """Nod (pitch) and shake (yaw) events: a swing about the person's own neutral pose (median).

    A nod needs the pitch to leave the neutral by ``nod_degrees`` one way (and come back: the
    run ends); a shake needs the yaw to pass the neutral by a third of
    ``shake_degrees`` on BOTH sides and swing through ``shake_degrees`` (turning one way only, or
    talking with small head moves, is not a shake).
    """
    out: list[dict[str, Any]] = []
    if "yaw" not in signals:
        return out
    t = np.array(signals["t"], dtype=np.float64)
    for key, action, name, thr in (
        ("pitch", ACTION_NOD, "nod", settings.nod_degrees),
        ("yaw", ACTION_SHAKE, "shake", settings.shake_degrees),
    ):
        x = np.array([v if v is not None else np.nan for v in signals[key]], dtype=np.float64)
        if np.sum(~np.isnan(x)) < 3:
            continue
        neutral = float(np.nanmedian(x))
        d = x - neutral
        stats[f"{key}_swing"] = round(float(np.nanmax(d) - np.nanmin(d)), 2)
        with np.errstate(invalid="ignore"):
            away = np.abs(d) > (thr / 2.0 if action == ACTION_NOD else thr / 3.0)
        # Excursions closer than 1 s belong to one gesture (down-up, left-right-left).
        runs = _runs(away)
        merged: list[list[int]] = []
        for s0, e0 in runs:
            if merged and t[s0] - t[merged[-1][1] - 1] < 1.0:
                merged[-1][1] = e0
            else:
                merged.append([s0, e0])
        for s0, e0 in merged:
            seg = d[s0:e0]
            both = float(np.nanmax(seg)) > thr / 3.0 and float(np.nanmin(seg)) < -thr / 3.0
            if action == ACTION_NOD:
                # A nod goes one way from neutral and back: its size is the excursion. Talking
                # rocks the head both ways; counting that swing let talking clips 'nod'.
                swing = float(np.nanmax(np.abs(seg)))
            else:
                swing = float(np.nanmax(seg) - np.nanmin(seg))
            if swing >= thr and (action == ACTION_NOD or both):
                out.append(
                    {
                        "action": action,
                        "name": name,
                        "t": round(float(t[s0]), 3),
                        "t_end": round(float(t[e0 - 1]), 3),
                        "swing": round(swing, 1),
                    }
                )
    return out


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


def _signals_dict(series: FaceSeries) -> dict[str, list[float | None]]:
    return series.to_json()


def judge_action(
    video: DecodedVideo,
    series: FaceSeries,
    actions: list[int],
    settings: VisionSettings,
    timer: Timer,
) -> LivenessVerdict:
    events, stats = detect_action_events(_signals_dict(series), settings)
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
    v.details["action"] = {"issued": actions, "events": events, "stats": stats}
    return v


# ----------------------------------------------------------------------------------------------
# Digit (LIP)
# ----------------------------------------------------------------------------------------------


def parse_digit(challenge: dict[str, Any] | None, settings: VisionSettings) -> tuple[str, str]:
    """(code, language) of a digit challenge {"code": "1234", "language": "zh"|"en"}."""
    if not challenge or "code" not in challenge:
        raise ValueError("digit mode needs a challenge {'code': '1234'}")
    code = str(challenge["code"]).strip()
    if not code.isdigit() or not 1 <= len(code) <= 8:
        raise ValueError("digit code must be 1-8 digits")
    language = str(challenge.get("language") or settings.digit_language)
    if language not in ("zh", "en"):
        raise ValueError(f"digit language {language!r} is not supported (zh, en)")
    return code, language


def judge_digit(
    video: DecodedVideo,
    series: FaceSeries,
    code: str,
    language: str,
    engines: Any,
    settings: VisionSettings,
    timer: Timer,
) -> LivenessVerdict:
    from wxflow.vision import speech
    from wxflow.vision.signals import lip_audio_sync, voice_activity

    va = voice_activity(video.audio, video.sample_rate)
    lip = series.mouth[series.valid]
    lip_range = float(np.percentile(lip, 95) - np.percentile(lip, 5)) if lip.size >= 3 else 0.0
    info: dict[str, Any] = {
        "code_length": len(code),
        "language": language,
        "has_audio": video.audio is not None,
        "voiced_s": va["voiced_s"],
        "voice_level_dbfs": va["level_dbfs"],
        "noise_floor_dbfs": va["floor_dbfs"],
        "lip_range": round(lip_range, 4),
    }
    timer.lap("voice_activity")

    def done(v: LivenessVerdict) -> LivenessVerdict:
        v.details["digit"] = info
        return v

    if not va["present"] or va["voiced_s"] < settings.voice_min_seconds:
        return done(_fail(1101, "FailedOperation.LipVoiceRecognize", "no voice in the recording"))
    if va["level_dbfs"] is not None and va["level_dbfs"] < settings.voice_min_dbfs:
        return done(_fail(1106, "FailedOperation.LipVoiceLow", f"voice too low ({va['level_dbfs']} dBFS)"))
    if lip_range < settings.lip_motion_min:
        return done(_fail(1109, "FailedOperation.LipMoveSmall", "the lips do not move", ["12"]))
    assert video.audio is not None
    sync, lag = lip_audio_sync(series, video.audio, video.sample_rate, video.audio_offset)
    info.update(lip_sync=round(sync, 4), lip_sync_lag_s=round(lag, 3), lip_sync_min=settings.lip_sync_min)
    timer.lap("lip_sync")
    if sync < settings.lip_sync_min:
        return done(_fail(1002, "FailedOperation.LivessDetectFake", "the voice does not follow the lips", ["12"]))
    from models.asr import get_recogniser

    recogniser = get_recogniser(language, engines.model_dir, engines.threads)
    transcript = recogniser.transcribe(video.audio, video.sample_rate)
    heard = speech.transcript_digits(language, transcript)
    ok, mismatches = speech.match_code(heard, code, settings.digit_max_mismatch)
    timer.lap("speech")
    # The heard digits are kept (they explain a failure); the issued code is the caller's to log.
    info.update(heard=heard, mismatches=mismatches, recogniser=type(recogniser).__name__)
    if not ok:
        return done(_fail(1103, "FailedOperation.LipVoiceRecognize", "the spoken digits do not match the code"))
    return done(LivenessVerdict(passed=True, live_status=0, result="Success", message="code read aloud"))


# ----------------------------------------------------------------------------------------------
# Light and flash
# ----------------------------------------------------------------------------------------------


def judge_light(
    video: DecodedVideo,
    series: FaceSeries,
    challenge: dict[str, Any],
    settings: VisionSettings,
    timer: Timer,
    t_from: float = 0.0,
) -> LivenessVerdict:
    from wxflow.vision.light import judge_light_signals

    res = judge_light_signals(video, series, challenge, settings, t_from=t_from)
    timer.lap("light")
    if res["passed"]:
        v = LivenessVerdict(passed=True, live_status=0, result="Success", message=res["reason"])
    else:
        v = _fail(1301, "FailedOperation.LivessDetectFake", res["reason"], ["07"])
    v.details["light"] = res
    return v


def judge_flash(
    video: DecodedVideo,
    series: FaceSeries,
    challenge: dict[str, Any],
    settings: VisionSettings,
    timer: Timer,
) -> LivenessVerdict:
    """Blink before the colours start (plus the plausible lag), then the light rule after it."""
    from wxflow.vision.light import schedule

    starts, _, _ = schedule(challenge)
    light_from = float(starts[0])
    events, stats = detect_action_events(_signals_dict(series), settings)
    blinks = [ev for ev in events if ev["action"] == ACTION_BLINK and ev["t"] < light_from + settings.light_max_lag_s]
    if not blinks:
        v = _fail(1002, "FailedOperation.ActionCloseEye", "no blink before the colour sequence", ["02"])
        v.details["action"] = {"issued": [ACTION_BLINK], "events": events, "stats": stats}
        return v
    v = judge_light(video, series, challenge, settings, timer, t_from=light_from)
    v.details["action"] = {"issued": [ACTION_BLINK], "events": events, "stats": stats}
    return v


# ----------------------------------------------------------------------------------------------
# Checks every mode shares
# ----------------------------------------------------------------------------------------------


def quality_gate(series: FaceSeries, settings: VisionSettings) -> LivenessVerdict | None:
    """Too dark / bright / near / far, from the median over frames with a face (a passing
    moment of glare is no reason to fail)."""
    if not series.valid.any():
        return None
    lum = float(np.nanmedian(series.brightness))
    size = float(np.nanmedian(series.face_size))
    if lum < settings.too_dark:
        return _fail(1201, "FailedOperation.ActionLightDark", f"face too dark (luma {lum:.0f})", ["09"])
    if lum > settings.too_bright:
        return _fail(1202, "FailedOperation.ActionLightStrong", f"face too bright (luma {lum:.0f})", ["09"])
    if size > settings.face_too_near:
        return _fail(1203, "FailedOperation.ActionFaceClose", f"face too near ({size:.2f} of the frame)", ["10"])
    if size < settings.face_too_far:
        return _fail(1204, "FailedOperation.ActionFaceFar", f"face too far ({size:.2f} of the frame)", ["10"])
    return None


def identity_consistency(analysed: list[FrameFaces], engines: Any, settings: VisionSettings) -> dict[str, Any]:
    """Embeddings of frames spread over the clip and of the best frames: the lowest pairwise
    cosine and where.

    The best frames (the ones the verdict's embedding is fused from, for the compare step) are
    part of the set, so the face that is compared is checked against the one seen from the first
    frame to the last, and their embeddings are computed once for both uses.
    """
    with_face = [ff for ff in analysed if ff.main is not None]
    spread = _spread(with_face, max(2, settings.identity_frames))
    best = [ff for ff, _ in best_frames(analysed, settings, max(1, settings.embed_top_k))]
    chosen = {id(ff) for ff in (*spread, *best)}
    picked = [ff for ff in with_face if id(ff) in chosen]
    if len(picked) < 2:
        return {"min_cosine": None, "frames": len(picked)}
    embs = _embeddings(picked, engines)
    sims = embs @ embs.T
    i, j = np.unravel_index(int(np.argmin(sims)), sims.shape)
    return {
        "min_cosine": round(float(sims[i, j]), 4),
        "between_s": [picked[i].frame.t, picked[j].frame.t],
        "frames": len(picked),
        "t": [ff.frame.t for ff in picked],
        "threshold": settings.identity_min_cosine,
    }


def _spread_range(x: np.ndarray) -> float | None:
    """p95 - p5 of the valid values: how far a signal moves, ignoring single-frame mesh glitches."""
    x = x[~np.isnan(x)]
    return float(np.percentile(x, 95) - np.percentile(x, 5)) if x.size else None


def _silent_cues(series: FaceSeries, settings: VisionSettings) -> dict[str, Any]:
    """Model-free cues beside MiniFASNet. ``still`` (no blink, mouth and eyes fixed) decides when
    ``silent_require_motion`` is on; the planar residual only explains (it overlaps, docs/liveness.md)."""
    events, _ = detect_action_events(_signals_dict(series), settings)
    blinks = sum(1 for ev in events if ev["action"] == ACTION_BLINK)
    mouth = _spread_range(series.mouth)
    eyes = (series.ear_left + series.ear_right) / 2.0
    eye_spread = _spread_range(eyes)
    eye_median = float(np.nanmedian(eyes)) if series.valid.any() else float("nan")
    eye_range = eye_spread / eye_median if eye_spread is not None and eye_median > 0 else None
    still = (
        blinks == 0
        and mouth is not None
        and eye_range is not None
        and mouth < settings.still_mouth_range_min
        and eye_range < settings.still_eye_range_min
    )
    return {
        "planar_residual": round(planar_residual(series), 5),
        "blinks": blinks,
        "mouth_range": None if mouth is None else round(mouth, 4),
        "eye_range": None if eye_range is None else round(eye_range, 4),
        "still": still,
    }


# ----------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------


def parse_challenge(mode: str, challenge: dict[str, Any] | None, settings: VisionSettings) -> dict[str, Any]:
    """Validate the challenge for ``mode``; ValueError for a missing or malformed one."""
    if mode not in MODES:
        raise ValueError(f"liveness mode {mode!r} is not supported (supported: {', '.join(MODES)})")
    if mode == "action":
        return {"actions": parse_actions(challenge)}
    if mode == "digit":
        code, language = parse_digit(challenge, settings)
        return {"code": code, "language": language}
    if mode in ("light", "flash"):
        from wxflow.vision.light import parse_light

        return parse_light(challenge)
    return {}


def judge_video(
    video: DecodedVideo,
    mode: str,
    challenge: dict[str, Any] | None,
    engines: Any,
    settings: VisionSettings | None = None,
) -> LivenessVerdict:
    """Judge one decoded recording in ``mode`` (silent, action, digit, light, flash).

    ValueError for an unknown mode or a malformed challenge (the app refuses those earlier);
    RuntimeError / ModelFileError when the needed model is not loaded (never a pass).
    """
    settings = settings or VisionSettings()
    parsed = parse_challenge(mode, challenge, settings)
    timer = Timer()
    base: dict[str, Any] = {
        "mode": mode,
        "duration_s": round(video.duration, 3),
        "frames_sampled": len(video.frames),
        "sample_fps": video.sample_fps,
        "size": [video.width, video.height],
        "codec": video.codec,
        "has_audio": video.audio is not None,
    }

    def early(v: LivenessVerdict) -> LivenessVerdict:
        v.details.update(base)
        v.details["timings_ms"] = timer.ms
        return v

    if mode in ("silent", "light", "flash") and video.duration < settings.min_silent_seconds:
        return early(
            _fail(
                1303,
                "FailedOperation.SilentTooShort",
                f"recording is {video.duration:.1f} s, need > {settings.min_silent_seconds:.0f} s",
            )
        )
    if mode == "action" and video.duration < settings.action_min_seconds:
        return early(_fail(1107, "FailedOperation.VideoDurationExceeded", "recording too short for the actions"))
    if mode == "digit" and video.duration < 1.5:
        return early(_fail(1107, "FailedOperation.LipSizeError", "recording too short to read the code"))

    analysed = analyse_faces(video, engines, settings)
    timer.lap("detect")
    n = len(analysed)
    n_face = sum(1 for ff in analysed if ff.main is not None)
    n_multi = sum(1 for ff in analysed if ff.main is not None and ff.rivals)
    base.update({"frames_detected": n, "frames_with_face": n_face, "frames_with_several_faces": n_multi})
    several_code = 1302 if mode in ("silent", "light", "flash") else 1002
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
            several_code, "FailedOperation.SilentMultiFaceFail", f"several faces in {n_multi}/{n_face} frames", ["08"]
        )
        v.details.update(base)
        return _finish(v, analysed, engines, settings, timer)
    identity = identity_consistency(analysed, engines, settings)
    base["identity"] = identity
    timer.lap("identity")
    if identity["min_cosine"] is not None and identity["min_cosine"] < settings.identity_min_cosine:
        v = _fail(several_code, "FailedOperation.LivessDetectFake", "the person changed during the recording", ["08"])
        v.details.update(base)
        return _finish(v, analysed, engines, settings, timer)

    # A face animated inside a box pasted into a still picture (talking-head generators): every
    # mode, since a generated clip can be driven to blink, speak or turn as well as to sit still.
    face_box = np.median(np.array([ff.main.bbox for ff in analysed if ff.main is not None]), axis=0)
    patch = animated_patch_score([f.image for f in video.frames], face_box)
    base["synthesis"] = {**patch, "max": settings.synthesis_patch_max}
    timer.lap("synthesis")
    if patch["score"] > settings.synthesis_patch_max:
        fake_code = 1301 if mode in ("silent", "light", "flash") else 1002
        message = "the face moves inside a pasted box: a synthesised video"
        v = _fail(fake_code, "FailedOperation.LivessDetectFake", message, ["04"])
        v.details.update(base)
        return _finish(v, analysed, engines, settings, timer)

    # Adaptive mesh schedule: silent and action modes mesh every k-th frame and go dense only
    # around a possible blink; digit (lip sync), light and flash (colour timing) need every frame.
    mesh_fps = {"silent": settings.mesh_fps_silent, "action": settings.mesh_fps_action}.get(mode)
    stride = max(1, int(video.sample_fps / mesh_fps)) if mesh_fps and video.sample_fps else 1
    series = face_series(
        video, engines, stride=stride, refine_ratio=settings.mesh_refine_ratio, refine_mouth=settings.mesh_refine_mouth
    )
    timer.lap("face_mesh")
    base["mesh_frames"] = len(series.t)
    base["signals"] = series.to_json()
    gate = quality_gate(series, settings)
    if gate is not None:
        gate.details.update(base)
        return _finish(gate, analysed, engines, settings, timer)

    if mode == "silent":
        v = judge_silent(video, analysed, engines, settings, timer)
        cues = _silent_cues(series, settings)
        v.details["cues"] = cues
        timer.lap("cues")
        if v.passed and settings.silent_require_motion and cues["still"]:
            kept = v.details
            v = _fail(
                1301,
                "FailedOperation.SilentPictureLiveFail",
                "no natural facial motion (no blink; mouth and eyes fixed): a still picture held to the camera",
                ["03"],
            )
            v.details.update(kept)
    elif mode == "action":
        v = judge_action(video, series, parsed["actions"], settings, timer)
    elif mode == "digit":
        v = judge_digit(video, series, parsed["code"], parsed["language"], engines, settings, timer)
    elif mode == "light":
        v = judge_light(video, series, parsed, settings, timer)
    else:
        v = judge_flash(video, series, parsed, settings, timer)
    v.details.update(base)
    return _finish(v, analysed, engines, settings, timer)


def _no_face(v: LivenessVerdict, timer: Timer) -> LivenessVerdict:
    v.details["timings_ms"] = timer.ms
    return v
