"""Face detection (SCRFD), alignment and embedding (w600k_mbf), and photo-to-photo comparison."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from wxflow.vision.errors import NoFaceInPhoto, SeveralFacesInPhoto
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


def detect_faces(img: np.ndarray, engines: Any, det_size: int = 640, threshold: float = 0.5) -> list[DetectedFace]:
    """All faces SCRFD finds in a BGR image, largest first.

    A close-up selfie whose face fills or overflows the frame is missed by SCRFD-500M (its anchors
    stop short of frame-sized faces), so when nothing is found the image is retried inside a border
    of a quarter of its size and the boxes are shifted back.
    """
    detector = engines.detector
    # SCRFD keeps det_thresh on the object; set it per call so photo and video callers can differ.
    detector.det_thresh = threshold
    bboxes, kpss = detector.detect(img, input_size=(det_size, det_size))
    if len(bboxes) == 0:
        pad = max(img.shape[:2]) // 4
        padded = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        bboxes, kpss = detector.detect(padded, input_size=(det_size, det_size))
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


def embed_crops(crops: list[np.ndarray], engines: Any) -> np.ndarray:
    """Embeddings (N x 512, L2-normalised rows) of aligned 112x112 BGR crops, one batch."""
    if not crops:
        return np.zeros((0, 512), dtype=np.float32)
    feats = np.asarray(engines.recogniser.get_feat(crops), dtype=np.float32).reshape(len(crops), -1)
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return feats / norms


def embed(img: np.ndarray, face: DetectedFace, engines: Any) -> np.ndarray:
    """L2-normalised 512-d embedding of one detected face."""
    return embed_crops([align_face(img, face.kps)], engines)[0]


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


def reference_embedding(img: np.ndarray, engines: Any, settings: VisionSettings | None = None) -> np.ndarray:
    """The embedding of the one person in a compare photo.

    Raises NoFaceInPhoto when SCRFD finds no face and SeveralFacesInPhoto when two faces of
    comparable size are present (we cannot tell whom to compare).
    """
    settings = settings or VisionSettings()
    faces = detect_faces(img, engines, det_size=settings.det_size_photo, threshold=settings.det_threshold)
    main, rivals = dominant_face(faces, settings.second_face_ratio)
    if main is None:
        raise NoFaceInPhoto("no face found in the photo")
    if rivals:
        raise SeveralFacesInPhoto(f"{1 + len(rivals)} faces of comparable size in the photo")
    return embed(img, main, engines)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(_l2(np.asarray(a, dtype=np.float64)), _l2(np.asarray(b, dtype=np.float64))))


def compare(a: np.ndarray, b: np.ndarray, recogniser: str = "w600k_mbf") -> CompareScore:
    """Cosine of two embeddings and its calibrated Sim (0-100; 70 = FAR 1e-3, 80 = FAR 1e-4)."""
    from models.calibration import cosine_to_sim

    cos = cosine(a, b)
    return CompareScore(cosine=round(cos, 6), sim=round(cosine_to_sim(cos, recogniser), 2))
