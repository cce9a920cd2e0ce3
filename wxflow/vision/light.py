"""Light (reflect) liveness: does the face reflect the issued colour sequence, like a 3-D face?

The device shows the challenge's colours full screen while recording. Two tests, both on the
face-mesh regions of each sampled frame:

1. Following: the face's mean colour, channel by channel, must correlate with the issued
   sequence shifted by some lag in [0, ``light_max_lag_s``] (screen and camera latency). A clip
   recorded under another sequence, or none, does not follow this one.
2. Shape: the response relative to the region's own brightness (screen light / ambient light)
   must differ between regions. Screen light comes from the front, ambient light from elsewhere,
   so on a 3-D face the nose, forehead, cheeks and jaw sides respond differently; a flat photo or a
   screen, lit by the same sequence, responds in the same proportion everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wxflow.vision.signals import EYE_OUTER, FaceSeries
from wxflow.vision.types import DecodedVideo

# Face regions by mesh landmarks: patches around these points are averaged per region.
REGIONS: dict[str, tuple[int, ...]] = {
    "forehead": (10, 151, 9, 108, 337),
    "nose": (1, 4, 5, 195, 197),
    "cheek_r": (205, 50, 101, 118),
    "cheek_l": (425, 280, 330, 347),
    "chin": (152, 175, 199, 200),
    "side_r": (234, 93, 132, 227),
    "side_l": (454, 323, 361, 447),
}


def _hex_bgr(value: str) -> np.ndarray:
    v = value.lstrip("#")
    if len(v) != 6:
        raise ValueError(f"colour {value!r} is not #RRGGBB")
    r, g, b = (int(v[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    return np.array([b, g, r], dtype=np.float64)


def parse_light(challenge: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a light/flash challenge: {"colours": ["#RRGGBB", ...], "durations_ms": [...],
    "start_ms": int (when the first colour shows, on the recording's clock; default 0)}."""
    if not challenge or "colours" not in challenge:
        raise ValueError("light mode needs a challenge {'colours': [...], 'durations_ms': [...]}")
    colours = list(challenge["colours"])
    durations = [int(d) for d in challenge.get("durations_ms", [])]
    if len(colours) < 3 or len(durations) != len(colours):
        raise ValueError("light challenge needs >= 3 colours, each with a duration")
    if any(d < 100 or d > 3000 for d in durations):
        raise ValueError("light colour durations must be 100-3000 ms")
    for c in colours:
        _hex_bgr(c)
    return {"colours": colours, "durations_ms": durations, "start_ms": int(challenge.get("start_ms", 0))}


def schedule(challenge: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(starts, ends, BGR colours in [0, 1]) of the sequence on the recording's clock (s)."""
    c = parse_light(challenge)
    d = np.array(c["durations_ms"], dtype=np.float64) / 1000.0
    starts = c["start_ms"] / 1000.0 + np.concatenate([[0.0], np.cumsum(d)[:-1]])
    return starts, starts + d, [_hex_bgr(x) for x in c["colours"]]


def expected_colours(challenge: dict[str, Any], t: np.ndarray) -> np.ndarray:
    """The screen's colour (BGR, [0, 1]) at each time; black before and after the sequence."""
    starts, ends, colours = schedule(challenge)
    out = np.zeros((t.size, 3))
    for s, e, col in zip(starts, ends, colours, strict=True):
        out[(t >= s) & (t < e)] = col
    return out


def region_colours(video: DecodedVideo, series: FaceSeries) -> np.ndarray:
    """[frames, regions, 3] mean BGR over small patches around each region's landmarks (NaN
    where the mesh found no face)."""
    names = list(REGIONS)
    frames = video.frames if series.frame_index is None else [video.frames[i] for i in series.frame_index]
    out = np.full((len(frames), len(names), 3), np.nan)
    for i, (frame, pts) in enumerate(zip(frames, series.landmarks, strict=True)):
        if pts is None:
            continue
        img = frame.image
        h, w = img.shape[:2]
        iod = float(np.linalg.norm(pts[EYE_OUTER[0], :2] - pts[EYE_OUTER[1], :2])) or 20.0
        r = max(2, int(0.06 * iod))
        for j, name in enumerate(names):
            acc = []
            for k in REGIONS[name]:
                x, y = int(pts[k, 0]), int(pts[k, 1])
                patch = img[max(0, y - r) : min(h, y + r + 1), max(0, x - r) : min(w, x + r + 1)]
                if patch.size:
                    acc.append(patch.reshape(-1, 3).mean(axis=0))
            if acc:
                out[i, j] = np.mean(acc, axis=0)
    return out


def _following(face: np.ndarray, t: np.ndarray, challenge: dict[str, Any], max_lag: float) -> tuple[float, float]:
    """Best (correlation, lag) of the face's colour with the sequence over plausible lags."""
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.066
    best, best_lag = -1.0, 0.0
    f = face - face.mean(axis=0)
    for lag in np.arange(0.0, max_lag + 1e-9, min(step, 0.05)):
        e = expected_colours(challenge, t - lag)
        e = e - e.mean(axis=0)
        if float(np.abs(e).sum()) < 1e-9:
            continue
        # Pooled over the three channels: the response of each channel to its own screen channel.
        c = float(np.corrcoef(f.reshape(-1), e.reshape(-1))[0, 1])
        if c > best:
            best, best_lag = c, float(lag)
    return best, best_lag


def judge_light_signals(
    video: DecodedVideo, series: FaceSeries, challenge: dict[str, Any], settings: Any, t_from: float = 0.0
) -> dict[str, Any]:
    """The light rule over the frames from ``t_from`` on. Returns the decision and its figures."""
    cols = region_colours(video, series)
    t = series.t
    ok = (~np.isnan(cols).any(axis=(1, 2))) & (t >= t_from)
    out: dict[str, Any] = {"frames": int(ok.sum())}
    if ok.sum() < 8:
        out.update(passed=False, reason="face not tracked through the colour sequence")
        return out
    cols, t = cols[ok], t[ok]
    face = cols.mean(axis=1)
    corr, lag = _following(face, t, challenge, settings.light_max_lag_s)
    e = expected_colours(challenge, t - lag)
    # Per region: least-squares response to the screen, channel by channel, over the region's
    # mean level: the ratio screen light / ambient light, which only geometry makes vary.
    rel = []
    x = e - e.mean(axis=0)
    for j in range(cols.shape[1]):
        y = cols[:, j, :]
        # A channel that touches the sensor's ceiling cannot show how much light it received.
        chans = [c for c in range(3) if float(y[:, c].max()) < 248.0 and float(x[:, c] @ x[:, c]) > 1e-9]
        if not chans:
            rel.append(np.nan)
            continue
        slopes = [float((x[:, c] @ (y[:, c] - y[:, c].mean())) / float(x[:, c] @ x[:, c])) for c in chans]
        rel.append(sum(slopes) / max(1e-6, float(y[:, chans].mean(axis=0).sum())))
    rel_a = np.array(rel)
    known = rel_a[~np.isnan(rel_a)]
    spatial = float(np.std(known) / max(1e-6, abs(float(np.mean(known))))) if known.size >= 3 else 0.0
    out.update(
        correlation=round(corr, 4),
        lag_s=round(lag, 3),
        spatial_cv=round(spatial, 4),
        region_response={k: None if np.isnan(v) else round(float(v), 4) for k, v in zip(REGIONS, rel_a, strict=True)},
        min_correlation=settings.light_min_corr,
        min_spatial_cv=settings.light_min_spatial,
    )
    if corr < settings.light_min_corr:
        out.update(passed=False, reason="the face's colour does not follow the issued sequence")
    elif spatial < settings.light_min_spatial:
        out.update(passed=False, reason="uniform response to the screen's light: a flat surface")
    else:
        out.update(passed=True, reason="face follows the sequence with a 3-D response")
    return out
