"""A cheap look at an upload before it is stored: is it a video at all, and within the duration limit?"""

from __future__ import annotations

import io

from wxflow.vision.errors import VideoDecodeFailed, VideoDurationExceeded


def probe_video(data: bytes, max_seconds: float) -> float:
    """Return the duration in seconds, or raise the spec's error for the upload."""
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            streams = container.streams.video
            if not streams:
                raise VideoDecodeFailed("the file has no video track")
            stream = streams[0]
            duration = None
            if container.duration:
                duration = container.duration / 1_000_000
            elif stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            if duration is None:
                # Browser webm often lacks a duration header: read packet times instead.
                last = 0.0
                for packet in container.demux(stream):
                    if packet.pts is not None and packet.time_base:
                        last = max(last, float(packet.pts * packet.time_base))
                        if last > max_seconds:
                            break
                duration = last
            # Decode one frame: a header alone does not prove the video is readable.
            container.seek(0)
            next(container.decode(video=0))
    except (VideoDecodeFailed, VideoDurationExceeded):
        raise
    except StopIteration:
        raise VideoDecodeFailed("the video has no decodable frame") from None
    except Exception as exc:  # PyAV raises many error types for corrupt input
        raise VideoDecodeFailed(f"the video could not be decoded ({type(exc).__name__})") from None
    if duration > max_seconds:
        raise VideoDurationExceeded(f"the video lasts {duration:.1f} s; the limit is {max_seconds:g} s")
    return duration
