"""Face quality: pose geometry, limits on real photos, and the specific refusal of bad photos."""

from __future__ import annotations

import csv
from dataclasses import replace

import cv2
import numpy as np
import pytest

from tests.support.data import data_path
from wxflow.vision.errors import PoorQualityPhoto
from wxflow.vision.face import ARCFACE_TEMPLATE, detect_faces, reference_face
from wxflow.vision.quality import assess, eye_openness, judge, pose_from_kps


def _photo(name: str) -> np.ndarray:
    img = cv2.imread(str(data_path("faces", name)))
    assert img is not None
    return img


def _master_files() -> list[str]:
    with data_path("faces", "master.csv").open() as fh:
        return sorted({n for r in csv.DictReader(fh) for n in (r["file_x"], r["file_y"])})


def test_pose_of_the_frontal_template_is_zero():
    yaw, pitch, roll = pose_from_kps(ARCFACE_TEMPLATE)
    assert abs(yaw) < 1.0 and abs(pitch) < 1.0 and abs(roll) < 1.0


def test_pose_signs_and_roll_invariance():
    k = ARCFACE_TEMPLATE.astype(np.float64).copy()
    turned = k.copy()
    turned[2, 0] += 10.0  # nose towards image right
    yaw, _, _ = pose_from_kps(turned)
    assert yaw > 20.0
    down = k.copy()
    down[2, 1] += 8.0  # nose nearer the mouth line: looking down
    assert pose_from_kps(down)[1] > 10.0
    # Rotating the whole face by 30 degrees changes roll only.
    a = np.radians(30.0)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    tilted = (k - k.mean(axis=0)) @ rot.T + k.mean(axis=0)
    yaw_t, pitch_t, roll_t = pose_from_kps(tilted)
    assert roll_t == pytest.approx(30.0, abs=0.5)
    assert abs(yaw_t) < 1.0 and abs(pitch_t) < 1.0


def test_eye_openness_separates_open_from_shut():
    lmk = np.zeros((106, 2))
    for idx, cx in (((35, 36, 33, 37, 39, 42, 40, 41), 0.0), ((89, 90, 87, 91, 93, 96, 94, 95), 100.0)):
        # Corners at +-15, lids at +-5 (open: gap 10 over width 30).
        pts = [(-15, 0), (-7, 5), (0, 5), (7, 5), (15, 0), (7, -5), (0, -5), (-7, -5)]
        for i, (x, y) in zip(idx, pts, strict=True):
            lmk[i] = (cx + x, y)
    open_l, open_r = eye_openness(lmk)
    assert open_l == pytest.approx(1 / 3, abs=0.01) and open_r == pytest.approx(1 / 3, abs=0.01)
    shut = lmk.copy()
    shut[:, 1] *= 0.1
    assert max(eye_openness(shut)) < 0.05


def test_judge_reports_each_failure(settings):
    good = {
        "eye_distance_px": 60.0,
        "sharpness": 300.0,
        "brightness": 120.0,
        "clipped_fraction": 0.0,
        "yaw_deg": 5.0,
        "pitch_deg": 5.0,
        "roll_deg": 2.0,
        "eye_open": 0.3,
    }
    assert judge(good, settings).passed
    assert judge({**good, "eye_open": None}, settings).passed  # not measured: not a failure
    bad = {**good, "yaw_deg": -60.0, "brightness": 10.0}
    report = judge(bad, settings)
    assert not report.passed and set(report.failures) == {"yaw_deg", "brightness"}
    assert report.to_json()["limits"]["yaw_deg"] == {"max_abs": settings.max_yaw_deg}


def test_normal_photos_pass(engines, settings):
    """Every labelled photo of the deepface set is a usable photo: none may be refused."""
    failed = {}
    for name in _master_files():
        img = _photo(name)
        report = assess(img, detect_faces(img, engines)[0], engines, settings)
        if not report.passed:
            failed[name] = report.to_json()
    assert failed == {}


def test_tiny_photo_refused(engines):
    img = _photo("img1.jpg")
    tiny = cv2.resize(img, (0, 0), fx=0.06, fy=0.06, interpolation=cv2.INTER_AREA)
    with pytest.raises(PoorQualityPhoto) as err:
        reference_face(tiny, engines)
    assert err.value.result == "FailedOperation.LifePhotoPoorQuality"
    assert "eye_distance_px" in err.value.report["failures"]


def test_blurred_photo_refused(engines):
    img = _photo("img1.jpg")
    blurred = cv2.GaussianBlur(img, (0, 0), 30)
    with pytest.raises(PoorQualityPhoto) as err:
        reference_face(blurred, engines)
    assert err.value.report["failures"] == ["sharpness"]


def test_dark_photo_refused(engines):
    img = _photo("img1.jpg")
    dark = (img.astype(np.float32) * 0.12).astype(np.uint8)
    with pytest.raises(PoorQualityPhoto) as err:
        reference_face(dark, engines)
    assert "brightness" in err.value.report["failures"]


def test_gate_off_reports_instead(engines, settings):
    dark = (_photo("img1.jpg").astype(np.float32) * 0.12).astype(np.uint8)
    ref = reference_face(dark, engines, replace(settings, quality_gate=False))
    assert not ref.quality.passed and ref.embedding.shape == (512,)
