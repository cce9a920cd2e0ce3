"""Domain errors of the vision layer, each carrying the spec's codes so transports can map them."""

from __future__ import annotations


class VisionError(Exception):
    """A problem with the input media (not a crash).

    ``result`` is the PaaS ``FailedOperation.*`` code, ``err_code`` the SaaS integer code.
    """

    result = "FailedOperation.UnKnown"
    err_code = 4

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImageDecodeFailed(VisionError):
    result = "FailedOperation.ImageDecodeFailed"
    err_code = 2009


class ImageSizeTooLarge(VisionError):
    result = "FailedOperation.ImageSizeTooLarge"
    err_code = 2009


class NoFaceInPhoto(VisionError):
    result = "FailedOperation.LifePhotoDetectNoFaces"
    err_code = 2010


class SeveralFacesInPhoto(VisionError):
    result = "FailedOperation.LifePhotoDetectFaces"
    err_code = 2012


class VideoDecodeFailed(VisionError):
    result = "FailedOperation.VideoDecodeFailed"
    err_code = 1104


class VideoDurationExceeded(VisionError):
    result = "FailedOperation.VideoDurationExceeded"
    err_code = 1107


class VideoTooShort(VisionError):
    result = "FailedOperation.SilentTooShort"
    err_code = 1303


class VideoSizeTooLarge(VisionError):
    result = "FailedOperation.VideoDurationExceeded"
    err_code = 1107


class PoorQualityPhoto(VisionError):
    """The compare photo's face fails a quality limit (size, sharpness, exposure, pose, eyes);
    ``report`` is the quality report's JSON so the caller can say which limit and by how much."""

    result = "FailedOperation.LifePhotoPoorQuality"
    err_code = 2009

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report or {}
