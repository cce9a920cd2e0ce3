"""Face engine operator commands: models list, models calibrate, compare (real models and photos)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask

from tests.support.data import data_path, model_dir
from wxflow.cli_face import register


@pytest.fixture
def cli(tmp_path, monkeypatch):
    # Only the face commands and the config they read: no database or Redis is involved.
    monkeypatch.setenv("WXFLOW_BENCH_CACHE", str(tmp_path / "cache"))
    app = Flask("face-cli-test")
    app.extensions["wxflow"] = SimpleNamespace(
        config=SimpleNamespace(model_dir=model_dir(), ort_threads=1, recogniser="w600k_mbf")
    )
    register(app)
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def test_models_list(cli):
    res = cli("models", "list", "--json")
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.output)}
    assert {"scrfd_500m", "w600k_mbf", "dlib_resnet_v1", "dlib_shape_5"} <= set(rows)
    assert all(rows[n]["verified"] for n in ("scrfd_500m", "w600k_mbf", "dlib_resnet_v1", "dlib_shape_5"))
    text = cli("models", "list").output
    assert "public domain" in text and "non-commercial" in text


def test_compare_prints_scores_verdicts_and_quality(cli):
    a, b = str(data_path("faces", "img1.jpg")), str(data_path("faces", "img2.jpg"))
    res = cli("compare", a, b, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["sim"] >= 80 and out["pass_1e-3 (Sim>=70)"] and out["pass_1e-4 (Sim>=80)"]
    assert set(out["quality"]) == {a, b} and all(q["passed"] for q in out["quality"].values())
    other = json.loads(cli("compare", a, str(data_path("faces", "img17.jpg")), "--json").output)
    assert other["sim"] < 70 and not other["pass_1e-3 (Sim>=70)"]
    text = cli("compare", a, b, "--engine", "dlib_resnet_v1").output
    assert "dlib_resnet_v1" in text and "same person" in text and "quality ok" in text


def test_compare_reports_no_face(cli, tmp_path):
    import cv2
    import numpy as np

    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((300, 300, 3), 180, np.uint8))
    res = cli("compare", str(blank), str(data_path("faces", "img1.jpg")))
    assert res.exit_code != 0 and "LifePhotoDetectNoFaces" in res.output


def _identity_folders(tmp_path: Path) -> Path:
    """The deepface photos as Identity/photo symlinks (the files stay where they are)."""
    with data_path("faces", "master.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    group: dict[str, str] = {}
    for r in rows:
        for n in (r["file_x"], r["file_y"]):
            group.setdefault(n, n)
    for r in rows:
        if r["Decision"] == "Yes":
            old, new = group[r["file_y"]], group[r["file_x"]]
            group = {k: (new if v == old else v) for k, v in group.items()}
    root = tmp_path / "people"
    for name, ident in group.items():
        d = root / Path(ident).stem
        d.mkdir(parents=True, exist_ok=True)
        (d / name).symlink_to(data_path("faces", name))
    return root


def test_calibrate_refuses_claims_too_few_pairs_support(cli, tmp_path):
    root = _identity_folders(tmp_path)
    res = cli("models", "calibrate", "--faces-dir", str(root), "--dry-run")
    # 25 photos give 262 impostor pairs: FAR 1e-2 would rest on 2 pairs above the threshold.
    assert res.exit_code != 0
    assert "refusing to calibrate" in res.output and "at least 30" in res.output
    res = cli("models", "calibrate", "--dry-run")
    assert res.exit_code != 0 and "exactly one of" in res.output
