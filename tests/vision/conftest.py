"""Fixtures for the vision tests: one Engines object per session (loading costs ~1.5 s)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.data import model_dir


@pytest.fixture(scope="session")
def engines() -> Any:
    from models.loader import load_engines

    return load_engines(model_dir(), threads=2)


@pytest.fixture(scope="session")
def settings() -> Any:
    from wxflow.vision.settings import VisionSettings

    return VisionSettings()
