"""ID-card OCR on the two specimen cards: latency per card and rotation, and field accuracy.

Usage:
  python bench/ocr.py [--data-dir ../shared/data/idcard/chineseocr] [--repeats 3] [--back] [--json]

Each specimen is read upright and rotated 90, 180 and 270 degrees (the daiyongming file is stored
upside down, so its "0" is already a 180-degree card). ``read_card`` (find + deskew the card, decide the
orientation, OCR, parse) is timed ``--repeats`` times after one warm-up read; the median and the worst
are printed. Accuracy: exact matches of name, gender, nation, birth, address and ID number against the
printed values, per reading and in total.

``--back`` adds the back side (签发机关, 有效期限) in the four orientations. No back-side specimen exists,
so these cards are *rendered* (tests/support/cards.py: PIL + WenQuanYi Micro Hei): their latency is a
fair figure (same size and pipeline), their field accuracy is not a claim about real cards.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from wxflow.vision.idcard import read_card  # noqa: E402

FIELDS = ("name", "gender", "nation", "birth", "address", "id_number")
# What is printed on the specimen cards.
TRUTH: dict[str, dict[str, str]] = {
    "card_front_specimen_xiaojing_horizontal.png": {
        "name": "小静",
        "gender": "女",
        "nation": "汉",
        "birth": "1987/9/17",
        "address": "北京市海淀区西北旺东路100号中关村科技园",
        "id_number": "370782198709170246",
    },
    "idcard-demo_front_specimen_daiyongming_rotated180.jpeg": {
        "name": "代用名",
        "gender": "男",
        "nation": "汉",
        "birth": "2013/5/6",  # as printed: it disagrees with the number (the cross-check flags it)
        "address": "湖南省长沙市开福区巡道街幸福小区居民组",
        "id_number": "430512198908131367",
    },
}
ROTATIONS = {0: None, 90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def _timed_row(card: str, degrees: int, frame: np.ndarray, truth: dict[str, str], repeats: int) -> dict[str, Any]:
    read_card(frame)  # warm-up: model sessions and caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        reading = read_card(frame)
        times.append((time.perf_counter() - start) * 1000)
    got = {f: getattr(reading, f) for f in truth}
    correct = [f for f in truth if got[f] == truth[f]]
    return {
        "card": card,
        "rotation": degrees,
        "size": f"{frame.shape[1]}x{frame.shape[0]}",
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "correct": len(correct),
        "fields": len(truth),
        "wrong": {f: got[f] for f in truth if f not in correct},
    }


def bench(data_dir: Path, repeats: int) -> list[dict[str, Any]]:
    rows = []
    for file_name, truth in TRUTH.items():
        image = cv2.imread(str(data_dir / file_name))
        if image is None:
            raise SystemExit(f"cannot read {data_dir / file_name}")
        for degrees, code in ROTATIONS.items():
            frame: np.ndarray = image if code is None else cv2.rotate(image, code)
            rows.append(_timed_row(file_name, degrees, frame, truth, repeats))
    return rows


def bench_back(repeats: int) -> list[dict[str, Any]]:
    """Rendered back sides (no specimen exists): latency in the four orientations."""
    from tests.support.cards import BACK_AUTHORITY, BACK_VALIDITY, rendered_back

    truth = {"authority": BACK_AUTHORITY, "valid_date": BACK_VALIDITY}
    return [
        _timed_row("rendered back (not a specimen)", degrees, rendered_back(rotation=degrees), truth, repeats)
        for degrees in ROTATIONS
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "idcard" / "chineseocr")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--back", action="store_true", help="also time rendered back sides")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = bench(args.data_dir, args.repeats)
    backs = bench_back(args.repeats) if args.back else []
    if args.json:
        print(json.dumps(rows + backs, ensure_ascii=False, indent=2))
        return
    print(f"{'card':<58} {'rot':>4} {'size':>10} {'median ms':>10} {'max ms':>8} {'fields':>7}  wrong")
    for r in rows + backs:
        print(
            f"{r['card']:<58} {r['rotation']:>4} {r['size']:>10} {r['median_ms']:>10} {r['max_ms']:>8} "
            f"{r['correct']}/{r['fields']:<5}  {json.dumps(r['wrong'], ensure_ascii=False) if r['wrong'] else ''}"
        )
    total = sum(r["correct"] for r in rows)
    print(f"field accuracy: {total}/{len(rows) * len(FIELDS)} ({100 * total / (len(rows) * len(FIELDS)):.1f}%)")
    print(f"latency median over all readings: {statistics.median(r['median_ms'] for r in rows):.1f} ms")
    if backs:
        print(f"back side (rendered) latency median: {statistics.median(r['median_ms'] for r in backs):.1f} ms")


if __name__ == "__main__":
    main()
