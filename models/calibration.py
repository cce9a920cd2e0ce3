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


# ----------------------------------------------------------------------------------------------
# Measuring a calibration (pure numpy on scores; the benchmarks and `models calibrate` call these)
# ----------------------------------------------------------------------------------------------

# A FAR claimed at a threshold needs enough impostor pairs above it to mean anything: with fewer
# than this many, the 95% interval of the rate spans a factor of ~1.5 or more and one mislabelled
# pair moves it visibly. ``models calibrate`` refuses such claims.
MIN_IMPOSTORS_ABOVE = 30


def threshold_at_far(impostor: Any, far: float) -> tuple[float, int]:
    """The lowest cosine ``t`` with at most ``far`` of the impostor scores strictly above it, and
    how many impostor pairs are above ``t`` (the support of the claim)."""
    import numpy as np

    scores = np.asarray(impostor, dtype=np.float64).ravel()
    k = int(np.floor(far * scores.size))
    if k <= 0:
        return float(scores.max()), 0
    # The (k+1)-th largest score: exactly k scores lie above it (ties aside).
    part = np.partition(scores, scores.size - k - 1)
    t = float(part[scores.size - k - 1])
    return t, int((scores > t).sum())


def extrapolate_tail(impostor: Any, target_far: float, fit_fars: tuple[float, ...] = (1e-3, 1e-4, 1e-5)) -> float:
    """Cosine at ``target_far`` from a straight line through log10(FAR) against the thresholds at
    ``fit_fars``. Past the last well-supported point the empirical tail is set by label noise
    (the same person under two names), not by the recogniser, so we extend the measured slope."""
    import numpy as np

    xs = [threshold_at_far(impostor, f)[0] for f in fit_fars]
    ys = [float(np.log10(f)) for f in fit_fars]
    slope, intercept = np.polyfit(xs, ys, 1)  # log10(FAR) = slope * t + intercept, slope < 0
    return float((np.log10(target_far) - intercept) / slope)


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n (well-behaved near 0 and 1)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson_interval(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (conservative) binomial interval; used for FARs, where k is often 0 or tiny."""
    from scipy.stats import beta

    if n <= 0:
        return 0.0, 1.0
    lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def cv_accuracy(scores: Any, same: Any, folds: Any) -> tuple[float, float, list[float]]:
    """LFW-protocol accuracy: for each fold, the threshold that maximises accuracy on the other
    folds is applied to it. Returns mean, (population) std and the per-fold accuracies."""
    import numpy as np

    scores = np.asarray(scores, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    folds = np.asarray(folds)
    accs: list[float] = []
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        cands = np.unique(scores[train])
        # Accuracy of "same if score > t" for every candidate t, by sorting once.
        order = np.argsort(scores[train])
        s_sorted, y_sorted = scores[train][order], same[train][order]
        neg_at_or_below = np.cumsum(~y_sorted)
        pos_total = int(y_sorted.sum())
        pos_at_or_below = np.cumsum(y_sorted)
        idx = np.searchsorted(s_sorted, cands, side="right") - 1
        correct = neg_at_or_below[idx] + (pos_total - pos_at_or_below[idx])
        t = float(cands[int(np.argmax(correct))])
        accs.append(float(((scores[test] > t) == same[test]).mean()))
    return float(np.mean(accs)), float(np.std(accs)), accs


def anchors_from_thresholds(t70: float, t80: float, t50: float, t60: float, genuine_median: float) -> list[list[float]]:
    """A monotone anchor list: Sim 50/60/70/80 at the given cosines, 95 at the genuine median
    (pushed above the 80 anchor if needed), cosine 0 -> Sim 1 and the ends -1 -> 0, 1 -> 100."""
    pts = [(-1.0, 0.0), (0.0, 1.0), (t50, 50.0), (t60, 60.0), (t70, 70.0), (t80, 80.0)]
    g = max(genuine_median, t80 + 0.5 * (1.0 - t80))
    pts.append((g, 95.0))
    pts.append((1.0, 100.0))
    cos = [c for c, _ in pts]
    if any(b <= a for a, b in zip(cos, cos[1:], strict=False)):
        raise ValueError(f"measured thresholds are not increasing: {pts}")
    return [[round(c, 4), s] for c, s in pts]


def write_recogniser_calibration(recogniser: str, entry: dict[str, Any], path: Path | None = None) -> Path:
    """Replace one recogniser's block in calibration.json (others kept) and drop cached curves."""
    path = path or CALIBRATION_PATH
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    data.setdefault("recognisers", {})[recogniser] = entry
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    load_calibration.cache_clear()
    _anchors.cache_clear()
    return path


class UnsupportedClaim(ValueError):
    """A FAR would be claimed at a threshold with too few impostor pairs above it."""


def fit_calibration(genuine: Any, impostor: Any, mode: str, meta: dict[str, Any]) -> dict[str, Any]:
    """A calibration block (anchors, where each came from, the measurement) from pair scores.

    ``mode="conservative"`` (a public benchmark such as LFW, easier than the users' own
    population): Sim 70 at the FAR 1e-5 threshold and Sim 80 at the FAR 1e-6 threshold
    extrapolated from the 1e-3..1e-5 tail; Sim 50 / 60 at FAR 1e-3 / 1e-4.
    ``mode="in_domain"`` (consented pairs of the deployment's own users): Sim 70 at FAR 1e-3 and
    Sim 80 at FAR 1e-4 as the spec defines them; Sim 50 at FAR 1e-2, Sim 60 halfway.
    Raises UnsupportedClaim when a claimed empirical FAR has fewer than MIN_IMPOSTORS_ABOVE
    impostor pairs above its threshold (the extrapolated 1e-6 is labelled as an estimate instead).
    """
    import numpy as np

    gen = np.asarray(genuine, dtype=np.float64)
    imp = np.asarray(impostor, dtype=np.float64)
    fars = (1e-3, 1e-4, 1e-5) if mode == "conservative" else (1e-2, 1e-3, 1e-4)
    measured: dict[str, dict[str, Any]] = {}
    for far in fars:
        t, above = threshold_at_far(imp, far)
        if above < MIN_IMPOSTORS_ABOVE:
            raise UnsupportedClaim(
                f"FAR {far:g} needs at least {MIN_IMPOSTORS_ABOVE} impostor pairs above its threshold; "
                f"{imp.size} impostor pairs give {above} (need about {int(MIN_IMPOSTORS_ABOVE / far):,} pairs)"
            )
        measured[f"{far:g}"] = {
            "cosine": round(t, 4),
            "impostor_pairs_above": above,
            "tar": round(float((gen > t).mean()), 4),
        }
    g_med = float(np.median(gen))
    sources: dict[str, str] = {}
    if mode == "conservative":
        t50, t60, t70 = (measured[k]["cosine"] for k in ("0.001", "0.0001", "1e-05"))
        t80 = extrapolate_tail(imp, 1e-6)
        measured["1e-06 (extrapolated)"] = {
            "cosine": round(t80, 4),
            "impostor_pairs_above": int((imp > t80).sum()),
            "tar": round(float((gen > t80).mean()), 4),
        }
        sources = {
            "50": "empirical FAR 1e-3",
            "60": "empirical FAR 1e-4",
            "70 (千一)": (
                "empirical FAR 1e-5: 100x stricter than the spec's 1e-3, because impostor scores"
                " run higher among East Asian faces than on this benchmark"
            ),
            "80 (万一)": (
                "FAR 1e-6 extrapolated (log10 FAR linear in cosine through 1e-3, 1e-4, 1e-5);"
                " the empirical 1e-6 point is set by label noise"
            ),
        }
    else:
        t50 = measured["0.01"]["cosine"]
        t70, t80 = measured["0.001"]["cosine"], measured["0.0001"]["cosine"]
        t60 = round((t50 + t70) / 2.0, 4)
        sources = {
            "50": "empirical FAR 1e-2",
            "60": "halfway",
            "70 (千一)": "empirical FAR 1e-3",
            "80 (万一)": "empirical FAR 1e-4",
        }
    sources["95"] = "genuine-pair median cosine"
    anchors = anchors_from_thresholds(t70, t80, t50, t60, g_med)
    return {
        "anchors": anchors,
        "mode": mode,
        "anchor_sources": sources,
        "measurement": {
            **meta,
            "genuine_pairs": int(gen.size),
            "impostor_pairs": int(imp.size),
            "at_far": measured,
            "genuine_median_cosine": round(g_med, 4),
            "impostor_mean_cosine": round(float(imp.mean()), 4),
            "min_impostors_above_for_a_claim": MIN_IMPOSTORS_ABOVE,
        },
    }
