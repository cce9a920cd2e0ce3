"""Reference embeddings and comparison on real photos (deepface test set pairs)."""

from __future__ import annotations

import csv
import io

import cv2
import numpy as np
import pytest

from tests.support.data import data_path
from tests.support.media import read_frames, side_by_side
from wxflow.vision.errors import NoFaceInPhoto, SeveralFacesInPhoto
from wxflow.vision.face import compare, detect_faces, detector_input_size, reference_embedding


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


# ----------------------------------------------------------------------------------------------
# Committed calibration on every labelled pair, EXIF rotation, and the second recogniser
# ----------------------------------------------------------------------------------------------

ENGINES = ("w600k_mbf", "dlib_resnet_v1")
# Errors of the committed thresholds on all 300 master.csv pairs (38 same, 262 different) through
# the product path (reference_embedding), as (false accepts, false rejects) at Sim 70 and Sim 80.
# bench/identities.py (data-set face policy: SCRFD at 320 first) agrees except one dlib pair at
# Sim 80 (11 rejects there). dlib's conservative thresholds reject genuine pairs: see
# docs/face-engine.md.
EXPECTED_ERRORS = {
    "w600k_mbf": {70: (0, 0), 80: (0, 0)},
    "dlib_resnet_v1": {70: (0, 2), 80: (0, 10)},
}


@pytest.fixture(scope="module")
def dlib_engines():
    from models.loader import load_engines
    from tests.support.data import model_dir

    return load_engines(model_dir(), threads=1, recogniser="dlib_resnet_v1")


def _all_pairs() -> list[tuple[str, str, bool]]:
    with data_path("faces", "master.csv").open() as fh:
        return [(r["file_x"], r["file_y"], r["Decision"] == "Yes") for r in csv.DictReader(fh)]


@pytest.mark.parametrize("name", ENGINES)
def test_master_pairs_error_counts(name, engines, dlib_engines):
    eng = engines if name == "w600k_mbf" else dlib_engines
    pairs = _all_pairs()
    assert len(pairs) == 300 and sum(s for _, _, s in pairs) == 38
    embs = {f: reference_embedding(_photo(f), eng) for f in {n for a, b, _ in pairs for n in (a, b)}}
    for mark, (fa_expected, fr_expected) in EXPECTED_ERRORS[name].items():
        fa = fr = 0
        for a, b, same in pairs:
            accepted = compare(embs[a], embs[b], name).sim >= mark
            fa += int(accepted and not same)
            fr += int(same and not accepted)
        assert (fa, fr) == (fa_expected, fr_expected), (name, mark, fa, fr)


def test_exif_rotated_photo_is_turned_upright(engines):
    from PIL import Image

    from wxflow.vision.image import decode_image

    upright = _photo("img1.jpg")
    # Store the pixels sideways with "rotate 90 CW to display", as a phone does.
    sideways = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(sideways[:, :, ::-1]).save(buf, format="JPEG", quality=95, exif=exif)
    decoded = decode_image(buf.getvalue(), max_bytes=10 * 1024 * 1024)
    assert decoded.shape == upright.shape
    score = compare(reference_embedding(decoded, engines), reference_embedding(upright, engines))
    assert score.cosine > 0.95
    # Read without the tag, the face lies on its side: the raw pixels must not be what we embed.
    raw = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_COLOR)
    assert raw.shape[:2] == sideways.shape[:2]


def test_both_engines_same_interface(engines, dlib_engines):
    """The same calls give a verdict with either recogniser; only the dimension differs."""
    x, y = _pairs("Yes", 1)[0]
    a, b = _pairs("No", 1)[0]
    for eng, dim in ((engines, 512), (dlib_engines, 128)):
        e1 = reference_embedding(_photo(x), eng)
        assert e1.shape == (dim,) and abs(float(np.linalg.norm(e1)) - 1.0) < 1e-4
        same = compare(e1, reference_embedding(_photo(y), eng), eng.recogniser_name)
        other = compare(reference_embedding(_photo(a), eng), reference_embedding(_photo(b), eng), eng.recogniser_name)
        assert same.sim >= 80 and other.sim < 70, (eng.recogniser_name, same, other)
    with pytest.raises(NoFaceInPhoto):
        reference_embedding(np.full((480, 640, 3), 128, np.uint8), dlib_engines)
    with pytest.raises(SeveralFacesInPhoto):
        reference_embedding(side_by_side(_photo("img1.jpg"), _photo("img2.jpg")), dlib_engines)


def test_fused_embedding_is_normalised_mean():
    from wxflow.vision.face import fuse_embeddings

    rng = np.random.default_rng(1)
    embs = rng.normal(size=(3, 128)).astype(np.float32)
    embs /= np.linalg.norm(embs, axis=1, keepdims=True)
    fused = fuse_embeddings(embs)
    mean = embs.mean(axis=0)
    assert np.allclose(fused, mean / np.linalg.norm(mean), atol=1e-6)


@pytest.mark.parametrize(
    ("shape", "size", "expected"),
    [((480, 640, 3), 320, (320, 256)), ((1280, 720, 3), 320, (192, 320)), ((250, 250, 3), 640, (640, 640))],
)
def test_detector_input_follows_the_aspect(shape, size, expected):
    assert detector_input_size(shape, size) == expected


@pytest.mark.parametrize(("folder", "name"), [("liveportrait", "d13.mp4"), ("grid", "lrwp9a.mpg")])
def test_aspect_fitted_input_finds_the_same_faces(engines, folder, name):
    """The trimmed input drops only blank letterbox rows: same faces, boxes within 2 px."""
    frames, _ = read_frames(data_path("videos", folder, name), 0, 1.0)
    for img in frames[::8]:
        square = detect_faces(img, engines, det_size=320)
        fitted = detect_faces(img, engines, det_size=320, fit_aspect=True)
        assert len(square) == len(fitted) == 1
        assert np.abs(square[0].bbox - fitted[0].bbox).max() < 2.0
        assert np.abs(square[0].kps - fitted[0].kps).max() < 2.0
