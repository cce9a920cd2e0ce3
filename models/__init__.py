"""Model registry, loader and score calibration for the vision layer.

Importing this package loads nothing: :func:`models.loader.load_engines` does, once per process.
"""

from models.registry import ModelFileError, list_models, load_manifest, resolve, verify

__all__ = ["ModelFileError", "list_models", "load_manifest", "resolve", "verify"]
