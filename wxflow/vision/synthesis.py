"""Model-free synthesis cue: a face animated inside a box pasted into a still picture.

Talking-head generators driven from one portrait (SadTalker's "still" mode, and reenactment or
face-swap tools that work on a face crop) render the face region frame by frame and paste it back
into the unchanged source picture. Over the clip, the per-pixel temporal change is then confined to
an axis-aligned rectangle: inside it everything moves a little (the whole crop is re-rendered,
background included), and just outside it nothing moves at all. A camera never records that: a
real person's motion follows the silhouette of the head and shoulders (curved, touching a
bounding box at a few points), and sensor and codec noise do not stop at a straight line.

The score, per side of the moving region's bounding box that lies inside the image: the fraction
of the side's length with motion in a thin strip just inside it, times the fraction that is dead
in a strip just outside it. The third-best side is the score (a pasted box shows three or four
such sides; an image border never counts). Measured (bench/liveness.py, docs/liveness.md): 21
real clips 0-0.04 (3-s windows of them up to 0.175), the two SadTalker clips 0.54 and 0.58. Pure:
numpy and OpenCV over frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

WORK_SIDE = 320
"""Frames are subsampled to about this side first: the cue needs the box's edges, not texture."""


def _grey_stack(images: Sequence[np.ndarray], step: int) -> np.ndarray:
    """The green channel (most of luma) of every ``step``-th pixel, as float frames. No colour
    conversion or filtering: cheap, and the per-pixel temporal change this cue reads is not a
    texture that aliasing could fake."""
    first = images[0][::step, ::step, 1]
    out = np.empty((len(images), first.shape[0], first.shape[1]), np.float32)
    for i, img in enumerate(images):
        out[i] = img[::step, ::step, 1]
    return out


def animated_patch_score(images: Sequence[np.ndarray], face_box: Sequence[float]) -> dict[str, Any]:
    """How much the clip's motion looks confined to a pasted rectangle (0 = not at all, 1 = fully).

    ``images`` are the sampled frames (BGR, one size), ``face_box`` the face's median box
    (x1, y1, x2, y2) in their pixels. Returns the score with the box and per-side figures.
    """
    import cv2

    if len(images) < 3:
        return {"score": 0.0, "frames": len(images)}
    h, w = images[0].shape[:2]
    step = max(1, round(max(h, w) / WORK_SIDE))
    scale = 1.0 / step
    greys = _grey_stack(images, step)
    motion = cv2.blur(greys.std(axis=0), (3, 3))
    # What counts as moving is relative to the clip's own still parts (its noise floor), but never
    # below one grey level: a quiet real background must not read as 'moving'.
    floor = float(np.percentile(motion, 10))
    threshold = max(1.0, 4.0 * floor)
    moving = (motion > threshold).astype(np.uint8)
    x1, y1, x2, y2 = (float(v) * scale for v in face_box)
    kernel = max(3, int((x2 - x1) * 0.08)) | 1
    closed = cv2.morphologyEx(moving, cv2.MORPH_CLOSE, np.ones((kernel, kernel), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    H, W = moving.shape
    cx, cy = int(np.clip((x1 + x2) / 2, 0, W - 1)), int(np.clip((y1 + y2) / 2, 0, H - 1))
    label = labels[cy, cx]
    base = {"frames": len(images), "noise_floor": round(floor, 3), "threshold": round(threshold, 2)}
    if label == 0:
        return {"score": 0.0, **base}
    bx, by, bw, bh, _ = (int(v) for v in stats[label])
    strip = s = max(2, int(0.03 * bw))
    sides: dict[str, dict[str, float]] = {}
    # (strip just inside the side, strip just outside it); sides run along axis 0.
    right, bottom = bx + bw, by + bh
    candidates = {
        "left": (moving[by:bottom, bx : bx + strip], motion[by:bottom, max(0, bx - 2 * strip) : max(0, bx - strip)]),
        "right": (moving[by:bottom, right - strip : right], motion[by:bottom, right + strip : right + 2 * strip]),
        "top": (moving[by : by + strip, bx:right].T, motion[max(0, by - 2 * strip) : max(0, by - strip), bx:right].T),
        "bottom": (moving[bottom - strip : bottom, bx:right].T, motion[bottom + s : bottom + 2 * s, bx:right].T),
    }
    for name, (inside, outside) in candidates.items():
        if outside.size == 0 or outside.shape[1] == 0:
            continue  # the box reaches the image border on this side
        coverage = float(inside.any(axis=1).mean())
        dead = float((outside < threshold).all(axis=1).mean())
        sides[name] = {"inside_moving": round(coverage, 3), "outside_dead": round(dead, 3)}
    products = sorted((s["inside_moving"] * s["outside_dead"] for s in sides.values()), reverse=True)
    score = products[2] if len(products) >= 3 else 0.0
    return {
        "score": round(float(score), 3),
        **base,
        "box": [round(v / scale) for v in (bx, by, bx + bw, by + bh)],
        "sides": sides,
    }
