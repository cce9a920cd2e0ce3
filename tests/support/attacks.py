"""Build attack and challenge media for liveness tests and the benchmark, from the shared data.

Nothing is written to the repository. What each builder makes, and how:
- :func:`synth_digits_zh` / :func:`synth_digits_en`: spoken digits synthesised with espeak-ng
  (test speech only; never reported as real-speech accuracy).
- :func:`relit_frames`: a real clip relit by a screen's colour sequence along the face's geometry
  (the face mesh's depth: nose and forehead catch more of the screen's light than the cheeks'
  sides). The positive light-mode clips are synthesised this way; no real recording exists.
- :func:`uniformly_lit`: frames (e.g. a photo moved by hand) tinted by the sequence uniformly, as
  a flat print or screen in front of the phone's screen would be.
- :func:`screen_replay`: a real clip as re-filmed from a display: gamma, moire and glare.
- :func:`with_audio`: mux frames with a PCM track (dubbing, shifted or removed sound).
- :func:`lip_synced_digits`: a real talking clip whose sound track is replaced by synthesised
  digits, each laid on one of the clip's own mouth-opening peaks (the positive digit-mode clip:
  no recording of a person reading a code exists in the data).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from fractions import Fraction
from typing import Any

import cv2
import numpy as np

PINYIN_DIGITS = ("ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3")
EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def _espeak(text: str, voice: str, speed: int) -> tuple[np.ndarray, int]:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
    return pcm, rate


def _to16k(pcm: np.ndarray, rate: int) -> np.ndarray:
    if rate == 16000:
        return pcm
    n = int(round(pcm.size * 16000 / rate))
    return np.interp(np.linspace(0, pcm.size - 1, n), np.arange(pcm.size), pcm).astype(np.float32)


def synth_digits_zh(code: str, speed: int = 130) -> np.ndarray:
    """Mandarin digits (espeak-ng ``cmn-latn-pinyin``), 16 kHz mono float, 0.3 s silence each side."""
    pcm, rate = _espeak(", ".join(PINYIN_DIGITS[int(c)] for c in code), "cmn-latn-pinyin", speed)
    pad = np.zeros(4800, dtype=np.float32)
    return np.concatenate([pad, _to16k(pcm, rate), pad])


def synth_digits_en(code: str, speed: int = 150) -> np.ndarray:
    pcm, rate = _espeak(", ".join(EN_DIGITS[int(c)] for c in code), "en-us", speed)
    pad = np.zeros(4800, dtype=np.float32)
    return np.concatenate([pad, _to16k(pcm, rate), pad])


def with_audio(frames: list[np.ndarray], fps: float, audio: np.ndarray | None, rate: int = 16000) -> bytes:
    """An mp4 (H.264 + AAC) of BGR frames and a mono float track (None: no audio stream)."""
    import av

    buf = io.BytesIO()
    h, w = frames[0].shape[:2]
    w2, h2 = w // 2 * 2, h // 2 * 2
    with av.open(buf, mode="w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        vs.width, vs.height, vs.pix_fmt = w2, h2, "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "20"}
        as_ = None
        if audio is not None:
            as_ = out.add_stream("aac", rate=rate)
            as_.layout = "mono"
        for img in frames:
            for p in vs.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img[:h2, :w2]), format="bgr24")):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
        if as_ is not None and audio is not None:
            pcm = np.clip(audio, -1, 1).astype(np.float32)
            step = 1024
            for i in range(0, pcm.size, step):
                chunk = pcm[i : i + step]
                af = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
                af.sample_rate = rate
                af.pts = i
                for p in as_.encode(af):
                    out.mux(p)
            for p in as_.encode():
                out.mux(p)
    return buf.getvalue()


def read_audio(path: str, rate: int = 16000) -> np.ndarray:
    """A real file's first audio track as mono float PCM."""
    import av

    chunks = []
    with av.open(str(path)) as c:
        res = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for f in c.decode(c.streams.audio[0]):
            chunks += [x.to_ndarray() for x in res.resample(f)]
        chunks += [x.to_ndarray() for x in res.resample(None)]
    return np.clip(np.concatenate(chunks, axis=1)[0], -1, 1).astype(np.float32)


def mouth_opening(frames: list[np.ndarray]) -> np.ndarray:
    """The face mesh's mouth opening per frame (inner-lip gap / mouth width, as the liveness
    signals measure it; NaN where no face is found)."""
    import mediapipe as mp

    from wxflow.vision.signals import mouth_opening as opening_of

    out = np.full(len(frames), np.nan)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True) as mesh:
        for i, img in enumerate(frames):
            h, w = img.shape[:2]
            res = mesh.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            if not res.multi_face_landmarks:
                continue
            lm = res.multi_face_landmarks[0].landmark
            out[i] = opening_of(np.array([(p.x * w, p.y * h) for p in lm]))
    return out


def mouth_peaks(opening: np.ndarray, fps: float, count: int, min_gap_s: float, margin_s: float = 0.3) -> list[float]:
    """Times (s) of the ``count`` widest mouth openings at least ``min_gap_s`` apart, in time order.

    A peak is a local maximum of the lightly smoothed opening; the widest are taken first, so
    each digit lands where the real speaker's mouth opens most (a syllable's nucleus)."""
    x = np.nan_to_num(opening, nan=float(np.nanmin(opening)) if np.isfinite(opening).any() else 0.0)
    x = np.convolve(x, np.ones(3) / 3.0, mode="same")
    lo, hi = int(round(margin_s * fps)), len(x) - int(round(margin_s * fps))
    candidates = [i for i in range(max(1, lo), min(len(x) - 1, hi)) if x[i] >= x[i - 1] and x[i] > x[i + 1]]
    chosen: list[int] = []
    for i in sorted(candidates, key=lambda k: -x[k]):
        if all(abs(i - j) >= min_gap_s * fps for j in chosen):
            chosen.append(i)
        if len(chosen) == count:
            break
    if len(chosen) < count:
        raise ValueError(f"only {len(chosen)} mouth openings {min_gap_s} s apart; {count} needed")
    return sorted(i / fps for i in chosen)


def _syllable(text: str, voice: str, speed: int) -> np.ndarray:
    pcm, rate = _espeak(text, voice, speed)
    pcm = _to16k(pcm, rate)
    loud = np.flatnonzero(np.abs(pcm) > 0.01)
    return pcm[loud[0] : loud[-1] + 1] if loud.size else pcm


def lip_synced_audio(
    frames: list[np.ndarray],
    fps: float,
    code: str,
    *,
    language: str = "zh",
    speed: int | None = None,
    min_gap_s: float = 0.6,
    noise_dbfs: float = -50.0,
    seed: int = 0,
) -> np.ndarray:
    """SYNTHESISED speech of ``code`` (espeak-ng) aligned to the real lip motion of ``frames``:
    16 kHz mono float, as long as the frames.

    Each digit is synthesised on its own (Mandarin ``cmn-latn-pinyin`` or English ``en-us``) and
    centred on one of the clip's widest mouth openings (:func:`mouth_peaks` over the face mesh's
    mouth signal), in time order, so the voice gets loud where these lips open. A faint noise
    floor (``noise_dbfs``, seeded) stands in for a room. Test speech only: never a measure of
    accuracy on real speech.
    """
    peaks = mouth_peaks(mouth_opening(frames), fps, len(code), min_gap_s)
    if language == "zh":
        sylls = [_syllable(PINYIN_DIGITS[int(c)], "cmn-latn-pinyin", speed or 130) for c in code]
    elif language == "en":
        sylls = [_syllable(EN_DIGITS[int(c)], "en-us", speed or 150) for c in code]
    else:
        raise ValueError(f"no synthetic voice for language {language!r}")
    n = int(round(len(frames) / fps * 16000))
    audio = np.random.default_rng(seed).normal(0.0, 10.0 ** (noise_dbfs / 20.0), n).astype(np.float32)
    for t, syl in zip(peaks, sylls, strict=True):
        syl = syl / max(1e-6, float(np.abs(syl).max())) * 0.8
        at = max(0, min(n - syl.size, int(round(t * 16000)) - syl.size // 2))
        audio[at : at + syl.size] += syl[: n - at]
    return audio


def lip_synced_digits(path: str | Any, code: str, *, start: float = 0.0, seconds: float = 4.0, **options: Any) -> bytes:
    """A real talking clip (``seconds`` from ``start`` of ``path``) whose own sound is replaced
    by the code read aloud in synthesised speech aligned to its lips (:func:`lip_synced_audio`,
    which takes ``options``): an mp4 (H.264 + AAC). The positive digit-mode clip: the data holds
    no recording of a person reading a code, so the lips are real and the voice is not."""
    from tests.support.media import read_frames

    frames, fps = read_frames(path, start, seconds)
    if not frames:
        raise ValueError(f"no frames in {path} from {start} s")
    return with_audio(frames, fps, lip_synced_audio(frames, fps, code, **options))


# ---------------------------------------------------------------------------------------------
# Light
# ---------------------------------------------------------------------------------------------


def colour_at(challenge: dict[str, Any], t: float) -> np.ndarray:
    """The screen's BGR colour in [0, 1] at time ``t`` of a light challenge (black outside)."""
    from wxflow.vision.light import schedule

    starts, ends, colours = schedule(challenge)
    for s, e, c in zip(starts, ends, colours, strict=True):
        if s <= t < e:
            return c
    return np.zeros(3)


def _depth_weight_map(pts: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Per-pixel screen-light weight over the face from the mesh's depth: points nearer the
    screen (smaller z: nose, forehead centre) catch more light, the sides of the face less."""
    h, w = shape
    z = pts[:, 2]
    near = (z.max() - z) / max(1e-6, float(z.max() - z.min()))
    weight = 0.25 + 0.75 * near**1.5
    acc = np.zeros((h, w), np.float32)
    cnt = np.zeros((h, w), np.float32)
    xs = np.clip(pts[:, 0].astype(int), 0, w - 1)
    ys = np.clip(pts[:, 1].astype(int), 0, h - 1)
    np.add.at(acc, (ys, xs), weight.astype(np.float32))
    np.add.at(cnt, (ys, xs), 1.0)
    iod = float(np.linalg.norm(pts[33, :2] - pts[263, :2])) or 20.0
    k = int(iod * 0.5) // 2 * 2 + 1
    acc = cv2.GaussianBlur(acc, (k, k), 0)
    cnt = cv2.GaussianBlur(cnt, (k, k), 0)
    hull = cv2.convexHull(pts[:, :2].astype(np.int32))
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    mask = cv2.GaussianBlur(mask.astype(np.float32), (k, k), 0)
    return np.where(cnt > 1e-4, acc / np.maximum(cnt, 1e-4), 0.0) * mask


def relit_frames(
    frames: list[np.ndarray], fps: float, challenge: dict[str, Any], strength: float = 0.35, lag: float = 0.15
) -> list[np.ndarray]:
    """Synthesised positive light-mode frames: each frame relit by the colour the screen shows at
    ``t - lag``, weighted over the face by its mesh geometry (and a faint 8% spill on the rest of
    the scene). Not a real recording: a model of one."""
    import mediapipe as mp

    out: list[np.ndarray] = []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True) as mesh:
        wmap = None
        for i, img in enumerate(frames):
            h, w = img.shape[:2]
            res = mesh.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            if res.multi_face_landmarks:
                lm = res.multi_face_landmarks[0].landmark
                pts = np.array([(p.x * w, p.y * h, p.z * w) for p in lm])
                wmap = _depth_weight_map(pts, (h, w))
            colour = colour_at(challenge, i / fps - lag)
            f = img.astype(np.float32)
            gain = 0.08 + (wmap[..., None] if wmap is not None else 0.0) * strength
            f = f + gain * colour[None, None, :] * f
            out.append(np.clip(f, 0, 255).astype(np.uint8))
    return out


def uniformly_lit(
    frames: list[np.ndarray], fps: float, challenge: dict[str, Any], strength: float = 0.3, lag: float = 0.15
) -> list[np.ndarray]:
    """The attack: a flat print/screen lit by the sequence, the same response everywhere."""
    out = []
    for i, img in enumerate(frames):
        colour = colour_at(challenge, i / fps - lag)
        f = img.astype(np.float32)
        out.append(np.clip(f + strength * colour[None, None, :] * f, 0, 255).astype(np.uint8))
    return out


def screen_replay(frames: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """A real clip as a camera films it off a display: display gamma and lifted blacks, a moire
    pattern (beat of the pixel grid against the sensor), and a soft glare patch."""
    rng = np.random.default_rng(seed)
    h, w = frames[0].shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0.2, 1.2)
    period = rng.uniform(3.0, 5.0)
    moire = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    gx, gy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.1, 0.4) * h
    glare = np.exp(-(((xx - gx) / (0.25 * w)) ** 2 + ((yy - gy) / (0.2 * h)) ** 2))
    out = []
    for img in frames:
        f = img.astype(np.float32) / 255.0
        f = 0.08 + 0.85 * f**0.8
        f = f * (0.88 + 0.12 * moire[..., None]) + 0.35 * glare[..., None]
        out.append(np.clip(f * 255.0, 0, 255).astype(np.uint8))
    return out
