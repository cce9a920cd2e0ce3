"""Operator commands for the face engine: ``flask --app app models list|calibrate`` and ``compare``.

Registered by :func:`register` (wxflow/cli.py calls it). Models load here on demand, in the
command's own process; nothing runs at import time.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

REPO_ROOT = Path(__file__).resolve().parents[1]

models_group = AppGroup("models", help="Model files, their licences and the Sim calibration.")


def _config() -> Any:
    return current_app.extensions["wxflow"].config


def _engines(engine: str | None) -> Any:
    from models.loader import load_engines

    cfg = _config()
    return load_engines(cfg.model_dir, threads=int(cfg.ort_threads), recogniser=engine or cfg.recogniser)


def _bench() -> Any:
    """The data-set helpers shared with bench/lfw.py (embedding cache, pair scores, pairs file)."""
    bench_dir = str(REPO_ROOT / "bench")
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    import lfw

    return lfw


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def models_list(as_json: bool) -> None:
    """Every model in the manifest: role, licence, and whether its file is present and verified."""
    from models.registry import list_models

    rows = list_models(_config().model_dir)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        state = "verified" if r["verified"] else ("ALTERED" if r["present"] else "missing")
        if r["optional"] and not r["verified"]:
            state += " (optional)"
        click.echo(f"{r['name']:26s} {r['role']:11s} {state:20s} {r['licence']}")
        if r["problem"] and r["present"]:
            click.echo(f"{'':26s} {r['problem']}")


@models_group.command("calibrate")
@click.option(
    "--lfw-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), help="LFW-style folder per identity."
)
@click.option(
    "--pairs",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="LFW pairs file (recorded with the figures).",
)
@click.option(
    "--faces-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder per identity of the deployment's own consented users (in-domain calibration).",
)
@click.option("--engine", default=None, help="Recogniser (default: the configured one).")
@click.option("--dry-run", is_flag=True, help="Print the calibration without writing models/calibration.json.")
@click.option("--json", "as_json", is_flag=True)
def models_calibrate(
    lfw_dir: Path | None, pairs: Path | None, faces_dir: Path | None, engine: str | None, dry_run: bool, as_json: bool
) -> None:
    """Measure the cosine -> Sim curve and write it to models/calibration.json.

    With --lfw-dir (a public benchmark) the curve is conservative: Sim 70 at LFW's FAR 1e-5 and
    Sim 80 at its extrapolated FAR 1e-6. With --faces-dir (your own users) Sim 70 / 80 sit at that
    population's FAR 1e-3 / 1e-4, and a FAR that fewer than 30 impostor pairs above the threshold
    would support is refused.
    """
    from models.calibration import UnsupportedClaim, fit_calibration, write_recogniser_calibration

    if (lfw_dir is None) == (faces_dir is None):
        raise click.UsageError("give exactly one of --lfw-dir (with --pairs) or --faces-dir")
    lfw = _bench()
    engines = _engines(engine)
    name = engines.recogniser_name
    root = lfw_dir or faces_dir
    assert root is not None
    files = lfw.list_identity_images(root)
    if not files:
        raise click.UsageError(f"{root} holds no Identity/photo images")
    data = lfw.embed_files(root, files, engines, name, progress=False)
    keep = [i for i, ok in enumerate(data["ok"]) if ok]
    gen, imp, _ = lfw.all_pair_scores(data["embs"][keep], [data["labels"][i] for i in keep])
    meta: dict[str, Any] = {
        "data_set": str(root),
        "date": date.today().isoformat(),
        "pipeline": "SCRFD 500m (320, then 640; score 0.3; face nearest the centre) -> "
        + (
            "dlib 5-point predictor + 150x150 chip -> dlib ResNet"
            if engines.recogniser_kind == "dlib"
            else "arcface 5-point alignment 112x112 -> w600k_mbf"
        )
        + " -> L2 norm -> cosine",
        "command": "flask --app app models calibrate "
        + (f"--lfw-dir {lfw_dir} --pairs {pairs}" if lfw_dir else f"--faces-dir {faces_dir}")
        + f" --engine {name}",
        "images": len(files),
        "images_without_face": len(files) - len(keep),
        "identities": len({data["labels"][i] for i in keep}),
    }
    if lfw_dir is not None and pairs is not None:
        res = lfw.run(lfw_dir, pairs, name, int(engines.threads), Path(_config().model_dir))
        meta["lfw_protocol"] = {
            "pairs_file": str(pairs),
            "folds": res["folds"],
            "accuracy": res["accuracy"],
            "accuracy_std": res["accuracy_std"],
        }
    try:
        entry = fit_calibration(gen, imp, "conservative" if lfw_dir else "in_domain", meta)
    except UnsupportedClaim as exc:
        raise click.ClickException(f"refusing to calibrate: {exc}") from exc
    if not dry_run:
        path = write_recogniser_calibration(name, entry)
        entry = {**entry, "written_to": str(path)}
    if as_json:
        click.echo(json.dumps(entry, ensure_ascii=False))
    else:
        click.echo(f"{name}: anchors {entry['anchors']}")
        for far, row in entry["measurement"]["at_far"].items():
            above = row["impostor_pairs_above"]
            click.echo(f"  FAR {far}: cosine {row['cosine']} TAR {row['tar']} impostor pairs above {above}")
        if not dry_run:
            click.echo(f"written to {entry['written_to']}")


@click.command("compare")
@with_appcontext
@click.argument("photo_a", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("photo_b", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--engine", default=None, help="Recogniser (default: the configured one).")
@click.option("--json", "as_json", is_flag=True)
def compare_command(photo_a: Path, photo_b: Path, engine: str | None, as_json: bool) -> None:
    """Compare the faces of two photos: cosine, Sim, the 千一 / 万一 verdicts and each face's quality."""
    from dataclasses import replace

    from wxflow.vision.errors import VisionError
    from wxflow.vision.face import compare, reference_face
    from wxflow.vision.image import decode_image
    from wxflow.vision.settings import VisionSettings

    engines = _engines(engine)
    # The operator wants the numbers even for a poor photo: report quality, do not refuse.
    settings = replace(VisionSettings(), quality_gate=False)
    faces = []
    for path in (photo_a, photo_b):
        try:
            img = decode_image(path.read_bytes(), max_bytes=50 * 1024 * 1024)
            faces.append(reference_face(img, engines, settings))
        except VisionError as exc:
            raise click.ClickException(f"{path}: {exc.result}: {exc.message}") from exc
    score = compare(faces[0].embedding, faces[1].embedding, engines.recogniser_name)
    out = {
        "recogniser": engines.recogniser_name,
        "cosine": score.cosine,
        "sim": score.sim,
        "pass_1e-3 (Sim>=70)": score.sim >= 70.0,
        "pass_1e-4 (Sim>=80)": score.sim >= 80.0,
        "quality": {str(p): f.quality.to_json() for p, f in zip((photo_a, photo_b), faces, strict=True)},
    }
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(f"recogniser {out['recogniser']}: cosine {score.cosine:.4f}  Sim {score.sim:.2f}")
    click.echo(
        f"千一 (Sim 70): {'same person' if score.sim >= 70 else 'not accepted'}   "
        f"万一 (Sim 80): {'same person' if score.sim >= 80 else 'not accepted'}"
    )
    for p, f in zip((photo_a, photo_b), faces, strict=True):
        q = f.quality.to_json()
        vals = ", ".join(f"{k} {v}" for k, v in q["values"].items())
        click.echo(f"{p.name}: quality {'ok' if q['passed'] else 'POOR (' + ', '.join(q['failures']) + ')'}: {vals}")


def register(app: Flask) -> None:
    app.cli.add_command(models_group)
    app.cli.add_command(compare_command)
