"""Locate the shared test data (real faces; never copied into the repo).

``WXFLOW_SHARED_DIR`` (default ``<repo>/../shared``). Absent data skips the test with the reason,
except under ``CI=true`` where a silently skipped suite would hide a broken setup: there it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_root() -> Path:
    return Path(os.environ.get("WXFLOW_SHARED_DIR", str(REPO_ROOT.parent / "shared")))


def _missing(what: str) -> None:
    reason = f"shared test data missing: {what} (set WXFLOW_SHARED_DIR)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def shared_path(*parts: str) -> Path:
    """``<shared>/<parts...>``; skips (or fails under CI=true) if it does not exist."""
    path = shared_root().joinpath(*parts)
    if not path.exists():
        _missing(str(path))
    return path


def data_path(*parts: str) -> Path:
    return shared_path("data", *parts)


def model_dir() -> Path:
    return shared_path("models")
