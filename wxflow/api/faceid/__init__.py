"""The FaceID-compatible endpoint: ``POST /`` with TC3-HMAC-SHA256, Tencent's envelopes."""

from wxflow.api.faceid.endpoint import blueprint

__all__ = ["blueprint"]
