"""The model-free silent cues that decide: a synthesised face pasted into a still picture (tag 04),
and a still face moved in front of the camera with no blink and no facial motion (tag 03).

Real clips and the SadTalker clips are read in place from ../shared/data; the still attacks are
built by tests/support/media.photo_attack_video (a slow random walk of rotation, scale and shift).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.support.data import data_path
from tests.support.media import clip_bytes, frame_at, photo_attack_video
from wxflow.vision.pipeline import judge_bytes
from wxflow.vision.settings import VisionSettings
from wxflow.vision.synthesis import animated_patch_score

pytestmark = pytest.mark.slow


def _scene(shape: str, noise: float, n: int = 30, seed: int = 0) -> tuple[list[np.ndarray], tuple[int, int, int, int]]:
    """A 240x320 textured scene whose 'face' region (box 110,60-210,180) changes every frame.

    ``shape`` "box": the whole rectangle is re-rendered (a generator's pasted crop); "head": only
    an ellipse inside it moves, as a real head's outline does. ``noise``: camera noise everywhere.
    """
    rng = np.random.default_rng(seed)
    scene = rng.integers(40, 200, (240, 320, 3)).astype(np.float32)
    box = (110, 60, 210, 180)
    x1, y1, x2, y2 = box
    yy, xx = np.mgrid[y1:y2, x1:x2]
    inside = np.ones((y2 - y1, x2 - x1), bool)
    if shape == "head":
        inside = ((xx - (x1 + x2) / 2) / 45) ** 2 + ((yy - (y1 + y2) / 2) / 55) ** 2 <= 1.0
    frames = []
    for i in range(n):
        f = scene.copy()
        moved = np.roll(scene[y1:y2, x1:x2], i % 7, axis=1) + rng.normal(0, 4.0, (y2 - y1, x2 - x1, 3))
        f[y1:y2, x1:x2][inside] = moved[inside]
        if noise:
            f += rng.normal(0, noise, f.shape)
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
    return frames, box


@pytest.mark.parametrize("noise", [0.0, 2.5])
def test_patch_score_finds_a_pasted_box_not_a_moving_head(noise):
    limit = VisionSettings().synthesis_patch_max
    pasted = animated_patch_score(*_scene("box", noise))
    head = animated_patch_score(*_scene("head", noise))
    assert pasted["score"] > limit > head["score"], (pasted, head)
    assert len(pasted["sides"]) == 4


@pytest.mark.parametrize("name", ["still1.mp4", "still_e.mp4"])
def test_sadtalker_clips_fail_as_synthesis(engines, name):
    clip = clip_bytes(data_path("pad", "synthetic_sadtalker", name), 0.0, 3.0)
    silent = judge_bytes(clip, "silent", None, engines)
    assert (silent.passed, silent.live_status, silent.result, silent.tags) == (
        False,
        1301,
        "FailedOperation.LivessDetectFake",
        ["04"],
    ), silent.details.get("synthesis")
    # A generated clip can be driven to do actions too: the cue runs in every mode.
    action = judge_bytes(clip, "action", {"actions": [2]}, engines)
    assert (action.passed, action.live_status, action.tags) == (False, 1002, ["04"])


# Windows where the mouth hardly moves (measured mouth range 0.03 and 0.002): d10 6-9 s still has
# eye motion (0.37), d3 4.4-7.4 s blinks three times. The still rule must let both through.
@pytest.mark.parametrize(
    "clip", [("grid", "lrwp9a.mpg", 0.0), ("liveportrait", "d10.mp4", 6.0), ("liveportrait", "d3.mp4", 4.4)]
)
def test_real_clips_are_neither_pasted_nor_still(engines, clip):
    folder, name, start = clip
    v = judge_bytes(clip_bytes(data_path("videos", folder, name), start, 3.0), "silent", None, engines)
    assert v.passed, v.details.get("cues")
    assert v.details["synthesis"]["score"] < VisionSettings().synthesis_patch_max
    assert v.details["cues"]["still"] is False


@pytest.mark.parametrize("source", ["grid/lrwp9a.mpg@1.0", "image_T1"])
def test_a_live_still_moved_by_hand_fails_silent(engines, source):
    """A frame of a real clip, or pad's live capture T1: no recapture texture at all."""
    if source.startswith("image_"):
        frame = cv2.imread(str(data_path("pad", "silent_face", f"{source}.jpg")))
    else:
        rel, t = source.split("@")
        frame = frame_at(data_path("videos", *rel.split("/")), float(t))
    v = judge_bytes(photo_attack_video(frame, seconds=3.0, fps=25, seed=0), "silent", None, engines)
    assert (v.passed, v.live_status, v.result, v.tags) == (False, 1301, "FailedOperation.SilentPictureLiveFail", ["03"])
    cues = v.details["cues"]
    assert cues["still"] and cues["blinks"] == 0
    # MiniFASNet alone would have let it through: the texture is a live face's.
    assert v.details["antispoof"]["median_live_prob"] >= VisionSettings().silent_live_threshold
    # And the rule can be switched off by an operator who measures otherwise.
    off = judge_bytes(
        photo_attack_video(frame, seconds=3.0, fps=25, seed=0),
        "silent",
        None,
        engines,
        VisionSettings(silent_require_motion=False),
    )
    assert off.passed and off.details["cues"]["still"]
