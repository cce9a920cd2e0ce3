"""Model registry, loader and calibration."""

from __future__ import annotations

import shutil

import pytest

from models.calibration import cosine_to_sim, sim_threshold_cosine
from models.registry import ModelFileError, get_entry, list_models, load_manifest, verify
from tests.support.data import model_dir


def test_manifest_entries_complete():
    roles = {e["role"] for e in load_manifest()}
    assert {"detector", "recogniser", "antispoof", "face_mesh"} <= roles
    for e in load_manifest():
        assert len(e["sha256"]) == 64 and e["licence"] and e["source"]


def test_all_models_verified():
    rows = {r["name"]: r for r in list_models(model_dir())}
    for name in ("scrfd_500m", "w600k_mbf", "minifasnet_v2", "mediapipe_face_mesh"):
        assert rows[name]["present"] and rows[name]["verified"], rows[name]


def test_missing_and_altered_files(tmp_path):
    entry = get_entry("minifasnet_v2")
    with pytest.raises(ModelFileError, match="missing: looked for"):
        verify(entry, tmp_path)
    with pytest.raises(ModelFileError, match="no model directory"):
        verify(entry, None)
    target = tmp_path / entry["source"]["model_dir"]
    target.parent.mkdir(parents=True)
    shutil.copyfile(model_dir() / entry["source"]["model_dir"], target)
    assert verify(entry, tmp_path) == target
    with target.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02")
    with pytest.raises(ModelFileError, match="altered"):
        verify(entry, tmp_path)


def test_engines_without_antispoof(tmp_path):
    from models.loader import load_engines

    e = load_engines(tmp_path, threads=1)
    assert e.antispoof is None and "minifasnet_v2" in (e.antispoof_reason or "")
    assert e.detector is not None and e.recogniser is not None


def test_calibration_curve():
    assert cosine_to_sim(1.0) == 100.0
    assert cosine_to_sim(0.0) < 2.0
    assert cosine_to_sim(-1.0) == 0.0
    assert cosine_to_sim(0.361) == pytest.approx(70.0)
    assert sim_threshold_cosine(80.0) > sim_threshold_cosine(70.0) == pytest.approx(0.361)
    xs = [i / 200 for i in range(-200, 201)]
    ys = [cosine_to_sim(x) for x in xs]
    assert ys == sorted(ys)
    with pytest.raises(KeyError):
        cosine_to_sim(0.5, "no_such_model")
