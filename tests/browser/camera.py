"""A fake camera for Chromium: a real clip written as YUV4MPEG2 (y4m) at test time, never committed.

Chromium's ``--use-file-for-fake-video-capture`` plays a y4m file as the camera, looping it. A y4m is
a one-line header and raw I420 frames, so PyAV (already a dependency) decodes the clip and numpy
writes the frames: no ffmpeg binary is needed.
"""

from __future__ import annotations

from pathlib import Path


def write_y4m(source: Path, target: Path, start: float = 0.0, seconds: float = 3.0, fps: int = 25) -> Path:
    """Decode ``seconds`` of ``source`` from ``start`` and write them to ``target`` as y4m at ``fps``."""
    import av

    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        width, height = stream.width // 2 * 2, stream.height // 2 * 2
        frames: list[bytes] = []
        next_t = start
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base) if frame.pts is not None else next_t
            if t + 1e-6 < next_t:
                continue
            if t >= start + seconds:
                break
            planes = frame.reformat(width=width, height=height, format="yuv420p").to_ndarray()
            data = planes.tobytes()
            # Repeat or skip frames so the file plays at ``fps`` in real time.
            while next_t <= t + 1e-6 and next_t < start + seconds:
                frames.append(data)
                next_t += 1.0 / fps
    if not frames:
        raise ValueError(f"no frames decoded from {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for data in frames:
            out.write(b"FRAME\n")
            out.write(data)
    return target
