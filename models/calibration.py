"""Map a recogniser's raw cosine to the FaceID ``Sim`` scale (0-100).

Each recogniser has a monotone piecewise-linear curve through anchor points in
``calibration.json``: Sim 70 sits at the cosine of the 千一 operating point and Sim 80 at the
万一 one (see that file for how each point was measured, on what data and when). A curve, not
a formula, because the two published operating points must land exactly where they were measured.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")


@lru_cache(maxsize=1)
def load_calibration() -> dict[str, Any]:
    with CALIBRATION_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=16)
def _anchors(recogniser: str) -> tuple[tuple[float, float], ...]:
    table = load_calibration()["recognisers"]
    if recogniser not in table:
        raise KeyError(f"no Sim calibration for recogniser {recogniser!r} (have: {', '.join(table)})")
    points = tuple((float(c), float(s)) for c, s in table[recogniser]["anchors"])
    cos = [c for c, _ in points]
    sims = [s for _, s in points]
    # Refuse a curve that is not strictly increasing: a bad edit must not silently reorder scores.
    if any(b <= a for a, b in zip(cos, cos[1:], strict=False)) or any(
        b < a for a, b in zip(sims, sims[1:], strict=False)
    ):
        raise ValueError(f"calibration anchors for {recogniser!r} are not monotone: {points}")
    return points


def cosine_to_sim(cosine: float, recogniser: str = "w600k_mbf") -> float:
    """Sim in [0, 100] for a cosine in [-1, 1]; monotone non-decreasing, clamped at both ends."""
    points = _anchors(recogniser)
    c = float(cosine)
    if c <= points[0][0]:
        return points[0][1]
    if c >= points[-1][0]:
        return points[-1][1]
    for (c0, s0), (c1, s1) in zip(points, points[1:], strict=False):
        if c <= c1:
            return s0 + (s1 - s0) * (c - c0) / (c1 - c0)
    return points[-1][1]  # unreachable: the last anchor bounds c


def sim_threshold_cosine(sim: float, recogniser: str = "w600k_mbf") -> float:
    """The cosine at which ``cosine_to_sim`` reaches ``sim`` (inverse of the curve)."""
    points = _anchors(recogniser)
    if sim <= points[0][1]:
        return points[0][0]
    for (c0, s0), (c1, s1) in zip(points, points[1:], strict=False):
        if sim <= s1:
            return c0 + (c1 - c0) * (sim - s0) / (s1 - s0) if s1 > s0 else c0
    return points[-1][0]
