"""Measure w600k_mbf impostor cosines on LFW (deep-funneled) to place the Sim thresholds.

Usage: python bench/calibrate_lfw.py [--shared ../shared] [--out /tmp/lfw_emb.npz]
Embeds every image of <shared>/data/lfw-dev (SCRFD at 320, then 640 if nothing found; the face
nearest the centre, as LFW is labelled), then reports the empirical cosine quantiles of ALL
different-identity pairs and the same-identity pair distribution. Data is read in place.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.loader import load_engines  # noqa: E402
from wxflow.vision.face import align_face, detect_faces, embed_crops  # noqa: E402


def centre_face(img, engines):
    for size in (320, 640):
        faces = detect_faces(img, engines, det_size=size, threshold=0.3)
        if faces:
            h, w = img.shape[:2]
            c = np.array([w / 2, h / 2])
            return min(faces, key=lambda f: np.linalg.norm((f.bbox[:2] + f.bbox[2:]) / 2 - c))
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--out", default="/tmp/lfw_emb.npz")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    root = Path(args.shared) / "data" / "lfw-dev"
    out = Path(args.out)
    if out.exists():
        z = np.load(out, allow_pickle=True)
        embs, labels, missed = z["embs"], list(z["labels"]), int(z["missed"])
    else:
        engines = load_engines(Path(args.shared) / "models", threads=args.threads)
        files = sorted(root.glob("*/*.jpg"))
        embs_l, labels, missed = [], [], 0
        t0 = time.time()
        for i, f in enumerate(files):
            img = cv2.imread(str(f))
            face = centre_face(img, engines)
            if face is None:
                missed += 1
                continue
            embs_l.append(embed_crops([align_face(img, face.kps)], engines)[0])
            labels.append(f.parent.name)
            if i % 1000 == 0:
                print(i, len(files), f"{time.time() - t0:.0f}s", flush=True)
        embs = np.stack(embs_l).astype(np.float32)
        np.savez(out, embs=embs, labels=np.array(labels), missed=missed)
    lab = np.array(labels)
    _, ids = np.unique(lab, return_inverse=True)
    n = len(embs)
    neg = []
    pos = []
    for i in range(0, n, 512):
        s = embs[i : i + 512] @ embs.T
        same = ids[i : i + 512, None] == ids[None, :]
        rows = np.arange(i, min(i + 512, n))[:, None]
        upper = np.arange(n)[None, :] > rows
        neg.append(s[upper & ~same])
        pos.append(s[upper & same])
    neg = np.concatenate(neg)
    pos = np.concatenate(pos)
    res = {
        "images_embedded": int(n),
        "images_without_face": missed,
        "identities": int(ids.max() + 1),
        "impostor_pairs": int(neg.size),
        "genuine_pairs": int(pos.size),
    }
    neg_sorted = np.sort(neg)[::-1]
    for far in (1e-3, 1e-4, 1e-5, 1e-6):
        k = max(1, int(far * neg.size))
        thr = float(neg_sorted[k - 1])
        res[f"cos_at_far_{far:g}"] = round(thr, 4)
        res[f"tar_at_far_{far:g}"] = round(float((pos > thr).mean()), 4)
    res["impostor_max"] = round(float(neg_sorted[0]), 4)
    res["impostor_mean"] = round(float(neg.mean()), 4)
    res["genuine_median"] = round(float(np.median(pos)), 4)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
