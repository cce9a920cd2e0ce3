"""Face detection (SCRFD), alignment and embedding, and photo-to-photo comparison.

Two recognisers sit behind the same functions, chosen when the engines are loaded
(``Engines.recogniser_kind``): insightface w600k_mbf (arcface-template 112x112 crop from SCRFD's 5
keypoints) and dlib's ResNet (dlib's own 5-point predictor run in SCRFD's box, then dlib's 150x150
face chip). Callers only see :func:`face_crop`, :func:`embed_crops` and :func:`reference_embedding`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from wxflow.vision.errors import NoFaceInPhoto, PoorQualityPhoto, SeveralFacesInPhoto
from wxflow.vision.settings import VisionSettings
from wxflow.vision.types import CompareScore

# insightface's arcface template: where the 5 keypoints (eyes, nose, mouth corners) land in the
# 112x112 crop the recogniser was trained on. Alignment must match it or embeddings degrade.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


@dataclass(frozen=True)
class DetectedFace:
    bbox: np.ndarray  # x1, y1, x2, y2 in image pixels
    kps: np.ndarray  # 5x2: left eye, right eye, nose, left mouth corner, right mouth corner
    score: float

    @property
    def width(self) -> float:
        return float(self.bbox[2] - self.bbox[0])

    @property
    def height(self) -> float:
        return float(self.bbox[3] - self.bbox[1])

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def to_json(self) -> dict[str, Any]:
        return {
            "bbox": [round(float(v), 1) for v in self.bbox],
            "score": round(self.score, 3),
        }


def detector_input_size(shape: tuple[int, ...], det_size: int) -> tuple[int, int]:
    """SCRFD input (width, height): the longer side ``det_size``, the shorter one the image's
    aspect rounded up to SCRFD's coarsest stride (32).

    insightface letterboxes into the input at the same scale either way (the longer side sets
    it), so a square input only adds blank rows: 320x256 instead of 320x320 for a 4:3 frame is a
    fifth less detector work for the same boxes.
    """
    h, w = shape[:2]
    stride = 32
    short = int(np.ceil(det_size * min(h, w) / max(h, w) / stride)) * stride
    short = min(det_size, max(stride, short))
    return (det_size, short) if w >= h else (short, det_size)


def detect_faces(
    img: np.ndarray, engines: Any, det_size: int = 640, threshold: float = 0.5, fit_aspect: bool = False
) -> list[DetectedFace]:
    """All faces SCRFD finds in a BGR image, largest first.

    ``fit_aspect`` trims the detector input to the image's aspect (``detector_input_size``): the
    video frames use it. Compare photos keep the square input their published error counts and
    thresholds were measured with (the boxes move by up to ~2 px, which moves a dlib chip enough
    to change one decision in 300 pairs).

    A close-up selfie whose face fills or overflows the frame is missed by SCRFD-500M (its anchors
    stop short of frame-sized faces), so when nothing is found the image is retried inside a border
    of a quarter of its size and the boxes are shifted back.
    """
    detector = engines.detector
    # SCRFD keeps det_thresh on the object; set it per call so photo and video callers can differ.
    detector.det_thresh = threshold
    size = detector_input_size(img.shape, det_size) if fit_aspect else (det_size, det_size)
    bboxes, kpss = detector.detect(img, input_size=size)
    if len(bboxes) == 0:
        pad = max(img.shape[:2]) // 4
        padded = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        size = detector_input_size(padded.shape, det_size) if fit_aspect else (det_size, det_size)
        bboxes, kpss = detector.detect(padded, input_size=size)
        if len(bboxes):
            bboxes = bboxes.copy()
            bboxes[:, :4] -= pad
            kpss = kpss - pad
    faces = [
        DetectedFace(bbox=b[:4].astype(np.float32), kps=k.astype(np.float32), score=float(b[4]))
        for b, k in zip(bboxes, kpss, strict=True)
    ]
    faces.sort(key=lambda f: f.area, reverse=True)
    return faces


def _similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama 1991) mapping src points onto dst; 2x3 matrix.

    The same estimate insightface's norm_crop gets from skimage, without skimage's deprecated
    ``estimate`` call and its import cost.
    """
    src = src.astype(np.float64)
    dst = dst.astype(np.float64)
    n = src.shape[0]
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / n
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(cov) < 0:
        d[1] = -1.0
    rot = u @ np.diag(d) @ vt
    var_src = (src_c**2).sum() / n
    scale = (s * d).sum() / var_src if var_src > 0 else 1.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = dst_mean - scale * rot @ src_mean
    return m


def align_face(img: np.ndarray, kps: np.ndarray, size: int = 112) -> np.ndarray:
    """The face warped onto the arcface template: a size x size BGR crop."""
    import cv2

    dst = ARCFACE_TEMPLATE * (size / 112.0)
    m = _similarity_transform(np.asarray(kps, dtype=np.float32), dst)
    return cv2.warpAffine(img, m, (size, size), borderValue=0.0)


def _l2(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def dlib_chip(img: np.ndarray, face: DetectedFace, engines: Any) -> np.ndarray:
    """dlib's 150x150 RGB face chip: its 5-point predictor run inside the SCRFD box, then
    ``get_face_chip`` (padding 0.25), the alignment dlib's ResNet was trained with. SCRFD's own
    keypoints are a different markup (eye centres, nose tip), so they cannot stand in for dlib's."""
    import dlib

    rgb = np.ascontiguousarray(img[:, :, ::-1])
    x1, y1, x2, y2 = (int(round(float(v))) for v in face.bbox)
    # SCRFD boxes reach the hairline, dlib's own detector boxes start near the brows; the
    # predictor copes: on 300 LFW pairs trimming the box top by 15% changed nothing (99.0% both)
    # and by 25% cost 3 points, so the box is passed as is.
    shape = engines.shape_predictor(rgb, dlib.rectangle(x1, y1, x2, y2))
    return np.asarray(dlib.get_face_chip(rgb, shape, size=150, padding=0.25))


def face_crop(img: np.ndarray, face: DetectedFace, engines: Any) -> np.ndarray:
    """The aligned crop the configured recogniser expects (arcface 112x112 BGR, or dlib's chip)."""
    if getattr(engines, "recogniser_kind", "insightface") == "dlib":
        return dlib_chip(img, face, engines)
    return align_face(img, face.kps)


def embed_crops(crops: list[np.ndarray], engines: Any) -> np.ndarray:
    """Embeddings (N x dim, L2-normalised rows) of crops made by :func:`face_crop`, one batch."""
    dim = int(getattr(engines, "embedding_dim", 512))
    if not crops:
        return np.zeros((0, dim), dtype=np.float32)
    if getattr(engines, "recogniser_kind", "insightface") == "dlib":
        feats = np.asarray([np.asarray(v) for v in engines.recogniser.compute_face_descriptor(crops)])
    else:
        feats = np.asarray(engines.recogniser.get_feat(crops))
    feats = feats.astype(np.float32).reshape(len(crops), -1)
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return feats / norms


def embed(img: np.ndarray, face: DetectedFace, engines: Any) -> np.ndarray:
    """L2-normalised embedding of one detected face (512-d w600k_mbf, 128-d dlib)."""
    return embed_crops([face_crop(img, face, engines)], engines)[0]


def fuse_embeddings(embs: np.ndarray) -> np.ndarray:
    """One template from several frames' embeddings: the normalised mean.

    Measured against score fusion (mean of per-frame cosines) on the talking-face clips: see
    docs/face-engine.md. Averaging also keeps one vector per verdict, which is what is stored.
    """
    embs = np.asarray(embs, dtype=np.float32)
    mean = embs.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm > 0 else embs[0]).astype(np.float32)


def dominant_face(
    faces: list[DetectedFace], second_face_ratio: float
) -> tuple[DetectedFace | None, list[DetectedFace]]:
    """The largest face and the other faces big enough to be a second person in the shot.

    A face whose area is below ``second_face_ratio`` of the largest is background (a passer-by,
    a poster) and does not make the shot ambiguous.
    """
    if not faces:
        return None, []
    main = faces[0]
    rivals = [f for f in faces[1:] if f.area >= second_face_ratio * main.area]
    return main, rivals


@dataclass(frozen=True)
class ReferenceFace:
    """The one face of a compare photo: where it is, its embedding and its quality report."""

    face: DetectedFace
    embedding: np.ndarray
    quality: Any  # wxflow.vision.quality.QualityReport


def reference_face(img: np.ndarray, engines: Any, settings: VisionSettings | None = None) -> ReferenceFace:
    """Detect, check and embed the one person of a compare photo.

    Raises NoFaceInPhoto when SCRFD finds no face, SeveralFacesInPhoto when two faces of comparable
    size are present (we cannot tell whom to compare), and PoorQualityPhoto when the face fails a
    quality limit (too small, blurred, too dark or bright, turned away, eyes shut) with
    ``settings.quality_gate`` on: such a photo would give a low score that looks like an impostor.
    """
    from wxflow.vision.quality import assess

    settings = settings or VisionSettings()
    faces = detect_faces(img, engines, det_size=settings.det_size_photo, threshold=settings.det_threshold)
    main, rivals = dominant_face(faces, settings.second_face_ratio)
    if main is None:
        raise NoFaceInPhoto("no face found in the photo")
    if rivals:
        raise SeveralFacesInPhoto(f"{1 + len(rivals)} faces of comparable size in the photo")
    report = assess(img, main, engines, settings)
    if settings.quality_gate and not report.passed:
        raise PoorQualityPhoto(f"photo quality too poor: {', '.join(report.failures)}", report.to_json())
    return ReferenceFace(face=main, embedding=embed(img, main, engines), quality=report)


def reference_embedding(img: np.ndarray, engines: Any, settings: VisionSettings | None = None) -> np.ndarray:
    """The embedding of the one person in a compare photo (see :func:`reference_face` for errors)."""
    return reference_face(img, engines, settings).embedding


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(_l2(np.asarray(a, dtype=np.float64)), _l2(np.asarray(b, dtype=np.float64))))


def compare(a: np.ndarray, b: np.ndarray, recogniser: str = "w600k_mbf") -> CompareScore:
    """Cosine of two embeddings and its calibrated Sim (0-100; 70 = FAR 1e-3, 80 = FAR 1e-4)."""
    from models.calibration import cosine_to_sim

    cos = cosine(a, b)
    return CompareScore(cosine=round(cos, 6), sim=round(cosine_to_sim(cos, recogniser), 2))
