"""Liveness on real recordings and built attacks (real models, real data; ~10 s in all)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tests.support.data import data_path
from tests.support.media import clip_bytes, frame_at, photo_attack_video
from wxflow.vision.face import compare, reference_embedding
from wxflow.vision.pipeline import judge_bytes
from wxflow.vision.settings import VisionSettings

pytestmark = pytest.mark.slow


def _video(*parts: str) -> bytes:
    return data_path("videos", *parts).read_bytes()


def _assert_complete(v):
    # Every verdict with a face carries frames, scores, an embedding and JSON-able details.
    assert 1 <= len(v.best_frames) <= VisionSettings().best_frame_count
    assert len(v.best_frame_scores) == len(v.best_frames)
    assert v.embedding is not None and abs(float(np.linalg.norm(v.embedding)) - 1) < 1e-3
    json.dumps(v.details)
    assert "timings_ms" in v.details


@pytest.mark.parametrize(
    "clip", [("grid", "lrwp9a.mpg"), ("liveportrait", "d0.mp4"), ("sadtalker_hdtf", "WDA_KatieHill_000.mp4")]
)
def test_silent_real_clip_passes(engines, clip):
    v = judge_bytes(_video(*clip), "silent", None, engines)
    assert v.passed and v.live_status == 0 and v.result == "Success", v.details.get("antispoof")
    _assert_complete(v)


@pytest.mark.parametrize("still", ["image_F1", "image_F2"])
def test_silent_photo_attack_fails(engines, still):
    img = cv2.imread(str(data_path("pad", "silent_face", f"{still}.jpg")))
    v = judge_bytes(photo_attack_video(img, seconds=3.0, fps=25, seed=1), "silent", None, engines)
    assert not v.passed
    assert (v.live_status, v.result, v.tags) == (1301, "FailedOperation.SilentPictureLiveFail", ["03"])
    _assert_complete(v)


def test_silent_too_short(engines):
    v = judge_bytes(clip_bytes(data_path("videos", "grid", "lrwp9a.mpg"), 0, 1.5), "silent", None, engines)
    assert (v.passed, v.live_status, v.result) == (False, 1303, "FailedOperation.SilentTooShort")


def test_no_face(engines):
    from tests.support.media import encode_video

    frames = [np.full((240, 320, 3), 90 + i, dtype=np.uint8) for i in range(60)]
    v = judge_bytes(encode_video(frames, fps=20), "silent", None, engines)
    assert (v.passed, v.live_status, v.result) == (False, 1102, "FailedOperation.ActionNodetectFace")
    assert v.embedding is None


def test_several_faces_silent(engines):
    from tests.support.media import encode_video, read_frames

    frames, fps = read_frames(data_path("videos", "grid", "lrwp9a.mpg"), 0, 3)
    wide = [np.hstack([f, f[:, ::-1]]) for f in frames]  # the speaker and a mirrored twin
    v = judge_bytes(encode_video(wide, fps=fps), "silent", None, engines)
    assert (v.passed, v.result) == (False, "FailedOperation.SilentMultiFaceFail")


def test_blink_clip(engines):
    data = _video("liveportrait", "d0.mp4")  # a blink at the end, no wide mouth
    ok = judge_bytes(data, "action", {"actions": [2]}, engines)
    assert ok.passed, ok.details["action"]["events"]
    _assert_complete(ok)
    no = judge_bytes(data, "action", {"actions": [1]}, engines)
    assert (no.passed, no.live_status, no.result, no.tags) == (False, 1002, "FailedOperation.ActionOpenMouth", ["02"])


def test_natural_blink_grid(engines):
    v = judge_bytes(_video("grid", "lrwp9a.mpg"), "action", {"actions": [2]}, engines)
    assert v.passed, v.details["action"]


def test_mouth_clip_and_order(engines):
    # d18: the mouth opens wide twice (about 2.2-3.1 s and 4.0-5.1 s) with blinks in between.
    data = _video("liveportrait", "d18.mp4")
    assert judge_bytes(data, "action", {"actions": [1]}, engines).passed
    assert judge_bytes(data, "action", {"actions": [1, 2]}, engines).passed
    # 0-4 s: the first wide opening (2.2-3.1 s), then a blink (3.1-3.2 s), nothing after.
    cut = clip_bytes(data_path("videos", "liveportrait", "d18.mp4"), 0, 4.0)
    seq = judge_bytes(cut, "action", {"actions": [1, 2]}, engines)
    assert seq.passed, seq.details["action"]["events"]
    wrong = judge_bytes(cut, "action", {"actions": [2, 1]}, engines)
    assert (wrong.passed, wrong.result) == (False, "FailedOperation.ActionFirstAction"), wrong.details["action"]
    # Mouth held open for most of the clip: still seen (neutral is not the median).
    held = clip_bytes(data_path("videos", "liveportrait", "d18.mp4"), 3.9, 1.6)
    assert judge_bytes(held, "action", {"actions": [1]}, engines).passed


def test_talking_is_not_open_mouth(engines):
    for clip in (("grid", "lbax4n.mpg"), ("sadtalker_hdtf", "WDA_KatieHill_000.mp4")):
        v = judge_bytes(_video(*clip), "action", {"actions": [1]}, engines)
        assert (v.passed, v.result) == (False, "FailedOperation.ActionOpenMouth"), clip


def test_missing_blink_code(engines):
    # GRID lbbc2a: talking, eyes open throughout.
    v = judge_bytes(_video("grid", "lbbc2a.mpg"), "action", {"actions": [2]}, engines)
    assert (v.passed, v.result) == (False, "FailedOperation.ActionCloseEye")


def test_unsupported_modes_and_actions(engines):
    data = _video("grid", "lrwp9a.mpg")
    with pytest.raises(ValueError):
        judge_bytes(data, "lip", None, engines)
    with pytest.raises(ValueError):
        judge_bytes(data, "action", {"actions": [5]}, engines)
    with pytest.raises(ValueError):
        judge_bytes(data, "digit", None, engines)
    with pytest.raises(ValueError):
        judge_bytes(data, "light", {"colours": ["#FF0000"], "durations_ms": [400]}, engines)
    with pytest.raises(ValueError):
        judge_bytes(data, "action", None, engines)


def test_verdict_embedding_matches_still(engines):
    path = data_path("videos", "grid", "lrwp9a.mpg")
    ref = reference_embedding(frame_at(path, 1.0), engines)
    v = judge_bytes(path.read_bytes(), "silent", None, engines)
    assert compare(ref, v.embedding).sim >= 80
    stranger = reference_embedding(cv2.imread(str(data_path("faces", "img17.jpg"))), engines)
    assert compare(stranger, v.embedding).sim < 70


def test_silent_without_antispoof_never_passes(engines):
    import dataclasses

    crippled = dataclasses.replace(engines, antispoof=None, antispoof_reason="antispoof model missing")
    with pytest.raises(RuntimeError, match="antispoof model missing"):
        judge_bytes(_video("grid", "lrwp9a.mpg"), "silent", None, crippled)


def test_short_clip_meshes_fewer_frames(engines):
    # Cost is benchmarked in bench/liveness.py; here only the schedule that makes it cheaper.
    data = clip_bytes(data_path("videos", "liveportrait", "d12.mp4"), 0, 3)
    silent = judge_bytes(data, "silent", None, engines)
    action = judge_bytes(data, "action", {"actions": [2]}, engines)
    n = silent.details["frames_sampled"]
    assert silent.details["mesh_frames"] < n and action.details["mesh_frames"] < n
    assert "timings_ms" in silent.details and "recapture" in silent.details["timings_ms"]
