"""Model-free recapture cue for silent liveness: screen moire as a sharp periodic peak in the
spatial spectrum of the face.

A display filmed by a camera leaves a grating on the picture: the screen's pixel grid beats
against the sensor's (moire), a periodic pattern of a few pixels' period at some angle. A skin
texture has a smooth, falling spectrum. On a window of the face (native pixels: resizing would
move the grating's frequency), high-passed, Hann-windowed and averaged over several frames (the
power spectrum ignores where the grating sits, so a moving face does not blur it), each
frequency's power is divided by the median power of its own ring (same radial frequency): a
whitened spectrum. Its maximum in the band of 2.4-8.3 px periods is the moire score: ~4-40 on
real recordings, thousands on a clean grating. Pure: numpy and OpenCV over frames and boxes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BAND = (0.12, 0.42)
"""Radial frequencies (cycles per pixel) searched: periods of 2.4-8.3 px, short of Nyquist."""


def _window(img: np.ndarray, bbox: Sequence[float], side: int) -> np.ndarray:
    """A side x side grey window centred on the face (a little above the box centre: nose and
    cheeks, away from hair and background), shifted to stay inside the image."""
    import cv2

    h, w = img.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in bbox)
    cx, cy = (x1 + x2) / 2.0, y1 + 0.45 * (y2 - y1)
    x0 = int(np.clip(round(cx - side / 2), 0, max(0, w - side)))
    y0 = int(np.clip(round(cy - side / 2), 0, max(0, h - side)))
    grey = cv2.cvtColor(img[y0 : y0 + side, x0 : x0 + side], cv2.COLOR_BGR2GRAY).astype(np.float32)
    # High-pass: remove the face's shading, keep texture and any grating.
    return grey - cv2.GaussianBlur(grey, (0, 0), 3)


def moire_score(images: Sequence[np.ndarray], boxes: Sequence[Sequence[float]]) -> dict[str, float | int]:
    """Whitened spectral peak of the face windows of ``images`` (their face ``boxes``).

    Returns {"moire": peak, "period_px": period of the peak, "window": side in px, "frames": n}.
    The window side is 0.55 x the median face width, within 32-128 px (even).
    """
    if not images:
        return {"moire": 0.0, "period_px": 0.0, "window": 0, "frames": 0}
    widths = [float(b[2]) - float(b[0]) for b in boxes]
    h, w = images[0].shape[:2]
    side = int(np.clip(0.55 * float(np.median(widths)), 32, min(128, h, w))) // 2 * 2
    hann = np.outer(np.hanning(side), np.hanning(side)).astype(np.float32)
    power = np.zeros((side, side), np.float64)
    used = 0
    for img, box in zip(images, boxes, strict=True):
        win = _window(img, box, side)
        if win.shape != (side, side):
            continue
        power += np.abs(np.fft.fftshift(np.fft.fft2(win * hann))) ** 2
        used += 1
    if not used:
        return {"moire": 0.0, "period_px": 0.0, "window": side, "frames": 0}
    f = np.fft.fftshift(np.fft.fftfreq(side))
    fx, fy = np.meshgrid(f, f)
    r = np.hypot(fx, fy)
    band = (r >= BAND[0]) & (r <= BAND[1])
    ring = np.round(r * side).astype(int)
    white = np.zeros_like(power)
    for k in np.unique(ring[band]):
        sel = band & (ring == k)
        white[sel] = power[sel] / max(1e-12, float(np.median(power[sel])))
    peak = int(np.argmax(np.where(band, white, 0.0)))
    return {
        "moire": round(float(white.flat[peak]), 2),
        "period_px": round(1.0 / max(1e-9, float(r.flat[peak])), 2),
        "window": side,
        "frames": used,
    }
