"""FAR and TAR of the committed calibration on any set of labelled faces, with 95% intervals.

Usage:
  python bench/identities.py --faces-dir DIR [--engine w600k_mbf|dlib_resnet_v1] [--json]

DIR is either folder-per-identity (``Person/photo.jpg``, like lfw-dev) or a flat folder with a
``master.csv`` of labelled pairs (``file_x,file_y,Decision``; the deepface set in shared/data/faces):
there identities are the groups linked by "Yes" pairs, and only files the CSV names are used.
Every same-identity pair is genuine and every different-identity pair an impostor. At the shipped
千一 (Sim 70) and 万一 (Sim 80) cosines it reports FAR and TAR with 95% intervals (Clopper-Pearson
for FAR, often 0 or a handful of pairs; Wilson for TAR) and the pair counts behind them.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lfw import all_pair_scores, default_model_dir, embed_files, list_identity_images  # noqa: E402

from models.calibration import clopper_pearson_interval, sim_threshold_cosine, wilson_interval  # noqa: E402


def labelled_files(faces_dir: Path) -> tuple[list[Path], list[str], int]:
    """Files and identity labels of a data set; the third value counts labelled "No" pairs that
    fall inside one derived identity (0 for a consistent CSV)."""
    folders = list_identity_images(faces_dir)
    if folders:
        return folders, [p.parent.name for p in folders], 0
    master = faces_dir / "master.csv"
    if not master.exists():
        raise SystemExit(f"{faces_dir}: neither Identity/photo folders nor a master.csv")
    with master.open(newline="") as fh:
        rows = [(r["file_x"], r["file_y"], r["Decision"].strip().lower() == "yes") for r in csv.DictReader(fh)]
    names = sorted({n for a, b, _ in rows for n in (a, b)})
    parent = {n: n for n in names}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b, same in rows:
        if same:
            parent[find(a)] = find(b)
    conflicts = sum(1 for a, b, same in rows if not same and find(a) == find(b))
    return [faces_dir / n for n in names], [find(n) for n in names], conflicts


def evaluate(faces_dir: Path, engine: str, threads: int, model_dir: Path) -> dict[str, Any]:
    from models.loader import load_engines

    files, labels, conflicts = labelled_files(faces_dir)
    engines = load_engines(model_dir, threads=threads, recogniser=engine)
    # embed_files labels by folder; flat sets get the derived labels instead.
    data = embed_files(faces_dir, files, engines, engine, progress=False)
    ok = data["ok"]
    keep = np.flatnonzero(ok)
    lab = [labels[i] for i in keep]
    gen, imp, _ = all_pair_scores(data["embs"][keep], lab)
    out: dict[str, Any] = {
        "engine": engine,
        "data_set": str(faces_dir),
        "images": len(files),
        "no_face": int((~ok).sum()),
        "identities": len(set(lab)),
        "label_conflicts": conflicts,
        "genuine_pairs": int(gen.size),
        "impostor_pairs": int(imp.size),
    }
    for sim, far_name in ((70, "1e-3"), (80, "1e-4")):
        t = sim_threshold_cosine(float(sim), engine)
        fa = int((imp > t).sum())
        ta = int((gen > t).sum())
        far_lo, far_hi = clopper_pearson_interval(fa, int(imp.size))
        tar_lo, tar_hi = wilson_interval(ta, int(gen.size))
        out[f"threshold_{far_name}"] = round(t, 4)
        out[f"far_at_{far_name}_threshold"] = fa / imp.size if imp.size else None
        out[f"far_at_{far_name}_threshold_ci95"] = [far_lo, far_hi]
        out[f"false_accepts_at_{far_name}_threshold"] = fa
        out[f"tar_at_{far_name}_threshold"] = ta / gen.size if gen.size else None
        out[f"tar_at_{far_name}_threshold_ci95"] = [round(tar_lo, 5), round(tar_hi, 5)]
        out[f"true_accepts_at_{far_name}_threshold"] = ta
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces-dir", required=True, type=Path)
    ap.add_argument("--engine", default="w600k_mbf")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model-dir", type=Path, default=default_model_dir())
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = evaluate(args.faces_dir, args.engine, args.threads, args.model_dir)
    if args.json:
        print(json.dumps(res))
        return
    print(
        f"{res['engine']} on {res['data_set']}: {res['images']} images, {res['identities']} identities, "
        f"{res['genuine_pairs']} genuine / {res['impostor_pairs']} impostor pairs"
    )
    for far in ("1e-3", "1e-4"):
        lo, hi = res[f"far_at_{far}_threshold_ci95"]
        tlo, thi = res[f"tar_at_{far}_threshold_ci95"]
        print(
            f"at the {far} threshold (cosine {res[f'threshold_{far}']}): FAR {res[f'far_at_{far}_threshold']:.2e} "
            f"[{lo:.1e}, {hi:.1e}] ({res[f'false_accepts_at_{far}_threshold']} pairs), "
            f"TAR {100 * res[f'tar_at_{far}_threshold']:.2f}% [{100 * tlo:.2f}, {100 * thi:.2f}]"
        )


if __name__ == "__main__":
    main()
