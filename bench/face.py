"""Face engine benchmarks: per-stage latency, worker memory, multi-frame fusion, quality ranges.

  python bench/face.py latency [--engine NAME] [--repeat 30]   # 640x480 JPEG, 1 and 2 threads
  python bench/face.py rss [--engine NAME]                      # worker RSS with all face models
  python bench/face.py fusion [--engine NAME] [--k 3]           # average embedding vs score fusion
  python bench/face.py quality                                  # quality values on normal data

Real data is read in place from ../shared/data. Wall-clock figures belong here, not in tests.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data"


def _model_dir() -> Path:
    return Path(os.environ.get("WXFLOW_MODEL_DIR", str(REPO.parent / "shared" / "models")))


def _engines(engine: str, threads: int) -> Any:
    from models.loader import load_engines

    return load_engines(_model_dir(), threads=threads, recogniser=engine)


def _test_jpeg() -> bytes:
    """A 640x480 JPEG of a real face (img1.jpg resized; the face fills about half the height)."""
    img = cv2.imread(str(DATA / "faces" / "img1.jpg"))
    h, w = img.shape[:2]
    side = min(w, int(h * 4 / 3))
    x0 = (w - side) // 2
    crop = img[: int(side * 3 / 4), x0 : x0 + side]
    ok, buf = cv2.imencode(".jpg", cv2.resize(crop, (640, 480)), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


def latency(engine: str, repeat: int) -> dict[str, Any]:
    from wxflow.vision.face import detect_faces, embed_crops, face_crop
    from wxflow.vision.image import decode_image

    data = _test_jpeg()
    out: dict[str, Any] = {"engine": engine, "image": "640x480 JPEG", "repeat": repeat}
    for threads in (1, 2):
        engines = _engines(engine, threads)
        stages: dict[str, list[float]] = {"decode": [], "detect": [], "align": [], "embed": [], "total": []}
        for i in range(repeat + 3):
            t0 = time.perf_counter()
            img = decode_image(data, max_bytes=10 * 1024 * 1024)
            t1 = time.perf_counter()
            face = detect_faces(img, engines, det_size=640)[0]
            t2 = time.perf_counter()
            crop = face_crop(img, face, engines)
            t3 = time.perf_counter()
            embed_crops([crop], engines)
            t4 = time.perf_counter()
            if i < 3:
                continue  # warm-up: first runs allocate onnxruntime arenas
            for k, v in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0), strict=True):
                stages[k].append(1000.0 * v)
        out[f"threads_{threads}_ms"] = {k: round(float(np.median(v)), 2) for k, v in stages.items()}
    return out


def rss(engine: str) -> dict[str, Any]:
    """Resident memory of a fresh process after loading every face model and one compare."""
    import resource

    from wxflow.vision.face import reference_embedding
    from wxflow.vision.image import decode_image

    def now_mb() -> float:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return float("nan")

    before = now_mb()
    engines = _engines(engine, 1)
    loaded = now_mb()
    reference_embedding(decode_image(_test_jpeg(), 10 * 1024 * 1024), engines)
    after = now_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "engine": engine,
        "rss_mb_before_load": round(before, 1),
        "rss_mb_models_loaded": round(loaded, 1),
        "rss_mb_after_one_compare": round(after, 1),
        "peak_rss_mb": round(peak, 1),
        "models": sorted(engines.paths),
    }


def _clip_frames(path: str, every: int = 2, max_frames: int = 120) -> list[np.ndarray]:
    cap = cv2.VideoCapture(path)
    frames: list[np.ndarray] = []
    i = 0
    while len(frames) < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        if i % every == 0:
            frames.append(frame)
        i += 1
    cap.release()
    return frames


def _frame_score(img: np.ndarray, face: Any) -> float:
    """Rank frames as the liveness step does: sharp, frontal and large first."""
    from wxflow.vision.quality import measure

    q = measure(img, face)
    frontal = max(0.0, 1.0 - abs(q["yaw_deg"] or 0.0) / 45.0) * max(0.0, 1.0 - abs(q["roll_deg"] or 0.0) / 45.0)
    return 0.4 * min(1.0, (q["sharpness"] or 0.0) / 300.0) + 0.4 * frontal + 0.2 * min(1.0, q["eye_distance_px"] / 60.0)


def fusion(engine: str, k: int) -> dict[str, Any]:
    """Same-person and impostor scores of a video probe under three policies.

    Each real talking-face clip is split in half. Its first half plays the enrolled photo (the
    single best frame); the second half is the verification video, from which the ``k`` best
    frames are either averaged into one embedding ("average") or each compared and the cosines
    averaged ("score"), against "single" (the best frame alone). Genuine: a clip's probe against
    its own reference. Impostor: against other people's references (the other clips, clustered by
    identity because several GRID clips show the same speaker, and the 25 photos of faces/).
    """
    from wxflow.vision.face import detect_faces, dominant_face, embed_crops, face_crop, fuse_embeddings

    engines = _engines(engine, 2)
    clips = sorted(
        glob.glob(str(DATA / "videos" / "sadtalker_hdtf" / "*.mp4"))
        + glob.glob(str(DATA / "videos" / "liveportrait" / "*.mp4"))
        + glob.glob(str(DATA / "videos" / "grid" / "*.mpg"))
    )
    refs: dict[str, np.ndarray] = {}
    probes: dict[str, np.ndarray] = {}
    for clip in clips:
        frames = _clip_frames(clip)
        scored = []
        for idx, img in enumerate(frames):
            main, _ = dominant_face(detect_faces(img, engines, det_size=320), 0.35)
            if main is not None:
                scored.append((idx, _frame_score(img, main), img, main))
        half = len(frames) // 2
        first = sorted((s for s in scored if s[0] < half), key=lambda s: -s[1])
        second = sorted((s for s in scored if s[0] >= half), key=lambda s: -s[1])[:k]
        if not first or not second:
            continue
        name = Path(clip).parent.name + "/" + Path(clip).stem
        refs[name] = embed_crops([face_crop(first[0][2], first[0][3], engines)], engines)[0]
        probes[name] = embed_crops([face_crop(img, f, engines) for _, _, img, f in second], engines)
    # Identity clusters among clips: reference-to-reference cosine above 0.5 is the same person
    # (w600k genuine median 0.64, impostors ~0; for dlib's compressed scale use 0.93).
    link = 0.93 if engines.recogniser_kind == "dlib" else 0.5
    names = sorted(refs)
    ident = {n: n for n in names}
    for a in names:
        for b in names:
            if a < b and float(refs[a] @ refs[b]) > link:
                ident[b] = ident[a]
    photos: dict[str, np.ndarray] = {}
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from identities import labelled_files
    from lfw import dataset_face

    files, _, _ = labelled_files(DATA / "faces")
    for f in files:
        img = cv2.imread(str(f))
        face = dataset_face(img, engines)
        if face is not None:
            photos["faces/" + f.name] = embed_crops([face_crop(img, face, engines)], engines)[0]

    def score(policy: str, probe: np.ndarray, ref: np.ndarray) -> float:
        if policy == "single":
            return float(probe[0] @ ref)
        if policy == "average":
            return float(fuse_embeddings(probe) @ ref)
        return float((probe @ ref).mean())

    out: dict[str, Any] = {"engine": engine, "k": k, "clips": len(names), "identities": len(set(ident.values()))}
    for policy in ("single", "average", "score"):
        gen = np.array([score(policy, probes[n], refs[n]) for n in names])
        imp = [score(policy, probes[n], refs[m]) for n in names for m in names if ident[m] != ident[n]]
        imp += [score(policy, probes[n], e) for n in names for e in photos.values()]
        imp_a = np.array(imp)
        spread = float(np.sqrt((gen.var() + imp_a.var()) / 2.0)) or 1.0
        out[policy] = {
            "genuine_mean": round(float(gen.mean()), 4),
            "genuine_min": round(float(gen.min()), 4),
            "impostor_mean": round(float(imp_a.mean()), 4),
            "impostor_max": round(float(imp_a.max()), 4),
            "impostor_pairs": int(imp_a.size),
            "d_prime": round(float((gen.mean() - imp_a.mean()) / spread), 3),
        }
    return out


def quality_ranges() -> dict[str, Any]:
    """Min / 1st percentile / median / max of each quality value on normal pictures."""
    from wxflow.vision.face import detect_faces
    from wxflow.vision.quality import measure

    engines = _engines("w600k_mbf", 2)
    sets: dict[str, list[tuple[np.ndarray, int]]] = {
        "faces": [(cv2.imread(f), 640) for f in sorted(glob.glob(str(DATA / "faces" / "img*.jpg")))],
        "lfw-dev (every 25th)": [
            (cv2.imread(f), 640) for f in sorted(glob.glob(str(DATA / "lfw-dev" / "*" / "*.jpg")))[::25]
        ],
    }
    clips = sorted(glob.glob(str(DATA / "videos" / "*" / "*.mp*")))
    sets["video frames (every 6th)"] = [(fr, 320) for c in clips for fr in _clip_frames(c, every=6, max_frames=40)]
    out: dict[str, Any] = {}
    for name, items in sets.items():
        rows = []
        for img, size in items:
            faces = detect_faces(img, engines, det_size=size)
            if faces:
                rows.append(measure(img, faces[0], engines))
        stats: dict[str, Any] = {"n": len(rows)}
        for key in rows[0]:
            vals = np.array([r[key] for r in rows if r[key] is not None], dtype=float)
            stats[key] = {
                "min": round(float(vals.min()), 2),
                "p1": round(float(np.percentile(vals, 1)), 2),
                "median": round(float(np.median(vals)), 2),
                "max": round(float(vals.max()), 2),
            }
        out[name] = stats
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["latency", "rss", "fusion", "quality"])
    ap.add_argument("--engine", default="w600k_mbf")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--k", type=int, default=3)
    args = ap.parse_args()
    if args.what == "latency":
        res = latency(args.engine, args.repeat)
    elif args.what == "rss":
        res = rss(args.engine)
    elif args.what == "fusion":
        res = fusion(args.engine, args.k)
    else:
        res = quality_ranges()
    print(json.dumps(res, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
