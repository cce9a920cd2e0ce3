"""LFW benchmark: protocol accuracy on the pairs file, and FAR/TAR over every pair of images read.

Usage:
  python bench/lfw.py --lfw-dir ../shared/data/lfw-dev --pairs ../shared/data/lfw-dev/pairs.txt \
      [--engine w600k_mbf|dlib_resnet_v1] [--threads 1] [--json]

- Accuracy: the standard View-2 protocol on the folds the pairs file holds (lfw-dev's holds folds
  1-5 of the official ten, 600 pairs each): for each fold, the threshold that maximises accuracy on
  the other folds is applied to it; mean and std over folds ("10-fold style" with 5 folds).
- FAR/TAR: every image under --lfw-dir is embedded (folder = identity); every different-identity
  pair is an impostor pair (tens of millions) and every same-identity pair a genuine one. The
  thresholds at FAR 1e-3 .. 1e-5 are empirical; FAR 1e-6 is also extrapolated from the tail,
  because past ~1e-5 the highest impostor scores are label noise (one person under two names).
- Embeddings are cached under var/bench-cache (gitignored), keyed by engine and file list, so a
  rerun only redoes the arithmetic. Images are read in place, never copied.

The same embedding helpers serve bench/identities.py and ``flask models calibrate``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from models.calibration import extrapolate_tail, threshold_at_far  # noqa: E402

PIPELINE_VERSION = "2"  # bump when detection/alignment for data sets changes (invalidates caches)
CACHE_DIR = REPO / "var" / "bench-cache"  # gitignored; WXFLOW_BENCH_CACHE overrides (tests)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def default_model_dir() -> Path:
    env = os.environ.get("WXFLOW_MODEL_DIR")
    return Path(env) if env else REPO.parent / "shared" / "models"


def dataset_face(img: np.ndarray, engines: Any) -> Any:
    """The face a data set labels: the one nearest the image centre (LFW is centred on the named
    person; a second person is often in the shot). SCRFD at 320 first, 640 when that finds nothing,
    with a lower score threshold (0.3) than the product uses: here we know a face is there."""
    from wxflow.vision.face import detect_faces

    h, w = img.shape[:2]
    centre = np.array([w / 2.0, h / 2.0])
    for size in (320, 640):
        faces = detect_faces(img, engines, det_size=size, threshold=0.3)
        if faces:
            return min(faces, key=lambda f: float(np.linalg.norm((f.bbox[:2] + f.bbox[2:]) / 2.0 - centre)))
    return None


def list_identity_images(root: Path) -> list[Path]:
    """Every image one folder down (``Identity/file``), sorted."""
    return sorted(p for p in root.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)


def embed_files(
    root: Path, files: list[Path], engines: Any, engine_name: str, progress: bool = True, flip: bool = False
) -> dict[str, Any]:
    """Embed each file's data-set face; cached in var/bench-cache by engine and file list.

    Returns ``embs`` (N x dim, rows of missed images are zero), ``ok`` (bool mask), ``rel``
    (paths relative to root), ``labels`` (folder names), ``stage_ms`` (median per stage) and
    ``images_per_s`` (wall-clock over the embedding run, cached runs report the original).
    """
    import cv2

    from wxflow.vision.face import embed_crops, face_crop

    rel = [str(p.relative_to(root)) for p in files]
    parts = [PIPELINE_VERSION, engine_name + ("+flip" if flip else ""), str(root.resolve()), *rel]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    cache_dir = Path(os.environ.get("WXFLOW_BENCH_CACHE", str(CACHE_DIR)))
    cache = cache_dir / f"{root.name}-{engine_name}{'-flip' if flip else ''}-{key}.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
        return {
            "embs": z["embs"],
            "ok": z["ok"],
            "rel": rel,
            "labels": [r.split("/")[0] for r in rel],
            **meta,
            "cached": True,
        }
    dim = int(getattr(engines, "embedding_dim", 512))
    embs = np.zeros((len(files), dim), dtype=np.float32)
    ok = np.zeros(len(files), dtype=bool)
    times: dict[str, list[float]] = {"decode": [], "detect": [], "align": [], "embed": []}
    t_start = time.perf_counter()
    for i, path in enumerate(files):
        t0 = time.perf_counter()
        img = cv2.imread(str(path))
        t1 = time.perf_counter()
        face = dataset_face(img, engines) if img is not None else None
        t2 = time.perf_counter()
        times["decode"].append(t1 - t0)
        times["detect"].append(t2 - t1)
        if face is None:
            continue
        crop = face_crop(img, face, engines)
        t3 = time.perf_counter()
        if flip:
            # Test-time augmentation: the mean of the crop's and its mirror's embeddings.
            pair = embed_crops([crop, np.ascontiguousarray(crop[:, ::-1])], engines)
            mean = pair.mean(axis=0)
            embs[i] = mean / (np.linalg.norm(mean) or 1.0)
        else:
            embs[i] = embed_crops([crop], engines)[0]
        t4 = time.perf_counter()
        times["align"].append(t3 - t2)
        times["embed"].append(t4 - t3)
        ok[i] = True
        if progress and i % 500 == 0:
            print(f"[{engine_name}] {i}/{len(files)} {time.perf_counter() - t_start:.0f}s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - t_start
    meta = {
        "stage_ms": {k: round(1000.0 * float(np.median(v)), 2) if v else None for k, v in times.items()},
        "images_per_s": round(len(files) / wall, 2) if wall > 0 else None,
        "threads": int(getattr(engines, "threads", 1)),
    }
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(cache, embs=embs, ok=ok, meta=np.array(json.dumps(meta)))
    return {"embs": embs, "ok": ok, "rel": rel, "labels": [r.split("/")[0] for r in rel], **meta, "cached": False}


def all_pair_scores(
    embs: np.ndarray, labels: list[str], block: int = 1024
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cosines of every unordered pair: (genuine scores, impostor scores, impostor index pairs of
    the 200 highest impostor scores, for inspection)."""
    _, ids = np.unique(np.asarray(labels), return_inverse=True)
    n = len(embs)
    gen: list[np.ndarray] = []
    imp: list[np.ndarray] = []
    top: list[tuple[float, int, int]] = []
    for i in range(0, n, block):
        s = embs[i : i + block] @ embs.T
        rows = np.arange(i, min(i + block, n))[:, None]
        upper = np.arange(n)[None, :] > rows
        same = ids[i : i + block, None] == ids[None, :]
        gen.append(s[upper & same])
        neg_mask = upper & ~same
        imp.append(s[neg_mask])
        masked = np.where(neg_mask, s, -2.0)
        flat = np.argpartition(masked.ravel(), -200)[-200:]
        for f in flat:
            r, c = divmod(int(f), n)
            top.append((float(masked.ravel()[f]), i + r, c))
    top.sort(reverse=True)
    return np.concatenate(gen), np.concatenate(imp), np.array([[a, b] for _, a, b in top[:200]], dtype=np.int64)


def parse_pairs(path: Path) -> tuple[list[tuple[str, str, bool, int]], int]:
    """LFW pairs file -> [(rel_a, rel_b, same, fold)], number of folds."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    n_folds, n = int(lines[0][0]), int(lines[0][1])
    out: list[tuple[str, str, bool, int]] = []
    for k, parts in enumerate(lines[1:]):
        fold = k // (2 * n)
        if len(parts) == 3:
            name, i, j = parts
            out.append((f"{name}/{name}_{int(i):04d}.jpg", f"{name}/{name}_{int(j):04d}.jpg", True, fold))
        else:
            a, i, b, j = parts
            out.append((f"{a}/{a}_{int(i):04d}.jpg", f"{b}/{b}_{int(j):04d}.jpg", False, fold))
    return out, n_folds


def far_table(gen: np.ndarray, imp: np.ndarray) -> dict[str, Any]:
    """Thresholds, support and TAR at FAR 1e-3..1e-6 (1e-6 also extrapolated)."""
    out: dict[str, Any] = {}
    for far in (1e-3, 1e-4, 1e-5, 1e-6):
        t, above = threshold_at_far(imp, far)
        out[f"{far:.0e}".replace("e-0", "e-")] = {
            "threshold": round(t, 4),
            "impostor_pairs_above": above,
            "tar": round(float((gen > t).mean()), 4),
        }
    t6 = extrapolate_tail(imp, 1e-6)
    out["1e-6_extrapolated"] = {
        "threshold": round(t6, 4),
        "impostor_pairs_above": int((imp > t6).sum()),
        "tar": round(float((gen > t6).mean()), 4),
        "method": "log10(FAR) linear in threshold through the 1e-3, 1e-4, 1e-5 points",
    }
    return out


def run(
    lfw_dir: Path, pairs_file: Path, engine: str, threads: int, model_dir: Path, flip: bool = False
) -> dict[str, Any]:
    from models.calibration import cv_accuracy
    from models.loader import load_engines

    engines = load_engines(model_dir, threads=threads, recogniser=engine)
    files = list_identity_images(lfw_dir)
    data = embed_files(lfw_dir, files, engines, engine, flip=flip)
    embs, ok, rel = data["embs"], data["ok"], data["rel"]
    index = {r: i for i, r in enumerate(rel)}
    pairs, n_folds = parse_pairs(pairs_file)
    scores, same, folds, missing = [], [], [], 0
    for a, b, s, f in pairs:
        ia, ib = index.get(a), index.get(b)
        if ia is None or ib is None or not ok[ia] or not ok[ib]:
            missing += 1
            scores.append(-1.0)  # no face found: the pair counts as "different" (a protocol error)
        else:
            scores.append(float(embs[ia] @ embs[ib]))
        same.append(s)
        folds.append(f)
    acc, std, per_fold = cv_accuracy(scores, same, folds)
    keep = np.flatnonzero(ok)
    labels = [data["labels"][i] for i in keep]
    gen, imp, top = all_pair_scores(embs[keep], labels)
    table = far_table(gen, imp)
    return {
        "engine": engine,
        "data_set": str(lfw_dir),
        "pairs_file": str(pairs_file),
        "folds": n_folds,
        "pairs_listed": len(pairs),
        "pairs_without_face": missing,
        "accuracy": round(acc, 5),
        "accuracy_std": round(std, 5),
        "fold_accuracies": [round(a, 4) for a in per_fold],
        "images": len(files),
        "no_face": int((~ok).sum()),
        "identities": len(set(labels)),
        "genuine_pairs": int(gen.size),
        "impostor_pairs": int(imp.size),
        "threshold_far_1e-3": table["1e-3"]["threshold"],
        "threshold_far_1e-4": table["1e-4"]["threshold"],
        "tar_at_far_1e-3": table["1e-3"]["tar"],
        "tar_at_far_1e-4": table["1e-4"]["tar"],
        "far_table": table,
        "genuine_median": round(float(np.median(gen)), 4),
        "impostor_mean": round(float(imp.mean()), 4),
        "top_impostor_pairs": [
            {
                "a": labels[a] + "/" + Path(rel[keep[a]]).name,
                "b": labels[b] + "/" + Path(rel[keep[b]]).name,
                "cosine": round(float(embs[keep[a]] @ embs[keep[b]]), 4),
            }
            for a, b in top[:40]
        ],
        "images_per_s": data["images_per_s"],
        "stage_ms_median": data["stage_ms"],
        "embed_threads": data["threads"],
        "embeddings_cached": data["cached"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lfw-dir", required=True, type=Path)
    ap.add_argument("--pairs", required=True, type=Path)
    ap.add_argument("--engine", default="w600k_mbf", help="recogniser: w600k_mbf or dlib_resnet_v1")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model-dir", type=Path, default=default_model_dir())
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--flip", action="store_true", help="average each face's embedding with its mirror image's")
    args = ap.parse_args()
    res = run(args.lfw_dir, args.pairs, args.engine, args.threads, args.model_dir, flip=args.flip)
    if args.json:
        print(json.dumps(res))
        return
    r = res
    print(f"engine {r['engine']}: {r['images']} images ({r['no_face']} without a face), {r['identities']} identities")
    print(f"accuracy {100 * r['accuracy']:.2f}% +- {100 * r['accuracy_std']:.2f} over {r['folds']} folds")
    for far, row in r["far_table"].items():
        above = row["impostor_pairs_above"]
        print(f"FAR {far:>18s}: cosine {row['threshold']:.4f}  TAR {100 * row['tar']:.2f}%  above {above}")
    print(f"{r['genuine_pairs']} genuine / {r['impostor_pairs']} impostor pairs; {r['images_per_s']} images/s")
    print(f"median ms per stage: {r['stage_ms_median']}")


if __name__ == "__main__":
    main()
