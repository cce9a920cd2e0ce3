"""Reference embeddings and comparison on real photos (deepface test set pairs)."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from tests.support.data import data_path
from tests.support.media import side_by_side
from wxflow.vision.errors import NoFaceInPhoto, SeveralFacesInPhoto
from wxflow.vision.face import compare, detect_faces, reference_embedding


def _photo(name: str) -> np.ndarray:
    img = cv2.imread(str(data_path("faces", name)))
    assert img is not None
    return img


def _pairs(decision: str, n: int) -> list[tuple[str, str]]:
    with data_path("faces", "master.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["Decision"] == decision]
    return [(r["file_x"], r["file_y"]) for r in rows[:n]]


def test_embedding_is_normalised(engines):
    emb = reference_embedding(_photo("img1.jpg"), engines)
    assert emb.shape == (512,)
    assert abs(float(np.linalg.norm(emb)) - 1.0) < 1e-4


def test_no_face(engines):
    blank = np.full((480, 640, 3), 200, dtype=np.uint8)
    cv2.rectangle(blank, (100, 100), (300, 300), (20, 90, 160), -1)
    with pytest.raises(NoFaceInPhoto):
        reference_embedding(blank, engines)


def test_several_faces_side_by_side(engines):
    composite = side_by_side(_photo("img1.jpg"), _photo("img2.jpg"))
    with pytest.raises(SeveralFacesInPhoto):
        reference_embedding(composite, engines)


def test_small_background_face_tolerated(engines):
    main = cv2.resize(_photo("img1.jpg"), (600, 800))
    other = _photo("img17.jpg")
    f = detect_faces(other, engines)[0]
    x1, y1, x2, y2 = (int(v) for v in f.bbox)
    pad = (x2 - x1) // 3
    crop = other[max(0, y1 - pad) : y2 + pad, max(0, x1 - pad) : x2 + pad]
    small = cv2.resize(crop, (120, int(120 * crop.shape[0] / crop.shape[1])))
    main[10 : 10 + small.shape[0], 10 : 10 + small.shape[1]] = small  # a poster behind the user
    faces = detect_faces(main, engines)
    assert len(faces) >= 2 and faces[1].area < 0.2 * faces[0].area
    reference_embedding(main, engines)  # no error: the small face is background


def test_same_person_above_pass_mark(engines):
    for x, y in _pairs("Yes", 6):
        score = compare(reference_embedding(_photo(x), engines), reference_embedding(_photo(y), engines))
        assert score.sim >= 70, (x, y, score)


def test_different_people_below_pass_mark(engines):
    for x, y in _pairs("No", 12):
        score = compare(reference_embedding(_photo(x), engines), reference_embedding(_photo(y), engines))
        assert score.sim < 70, (x, y, score)


def test_compare_identical_embedding_is_100():
    v = np.random.default_rng(0).normal(size=512).astype(np.float32)
    s = compare(v, v)
    assert s.cosine == pytest.approx(1.0) and s.sim == pytest.approx(100.0)
