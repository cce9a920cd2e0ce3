"""The end user's device API (H5 page, mini-program): REST with flask-smorest, documented at /api/docs."""

from wxflow.api.device.flows import blueprint

__all__ = ["blueprint"]
