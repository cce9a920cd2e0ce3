"""Liveness benchmark: confusion table over every mode, and judge timings.

  python bench/liveness.py                 # table + timings, human-readable
  python bench/liveness.py --json          # one JSON document
  python bench/liveness.py --no-digit      # skip the speech recogniser cases (saves ~30 s)
  python bench/liveness.py --only timing   # only the one-core timing of a 3 s 640x480 clip

Bona fide clips are the real recordings in ../shared/data/videos (read in place, never copied),
judged against challenges they satisfy: their labels below come from the data README's
descriptions (d0 blinks, d12 turns its head, ...). BPCER per mode = rejected / judged.

Attacks (APCER per kind, in the mode each targets), all built in memory from the shared data by
tests/support (how each is made is printed with the table):
- photo_by_hand: a printed photo (pad/silent_face F1 print, F2 tablet screen) animated by
  media.photo_attack_video: a slow random walk of rotation (< 2 deg), scale and shift (< 6 px).
- live_still_by_hand: the same animation of a still that carries no recapture texture (T1/T2
  live captures, a frame of a real clip): an ideal print or an injected photo.
- photo_lit_uniformly: a photo moved by hand, tinted by the colour sequence in the same
  proportion everywhere (attacks.uniformly_lit), judged in light mode.
- replay_wrong_challenge: a real clip judged against a challenge it does not satisfy (an
  action it does not contain, another colour sequence, no colour at all, a wrong digit).
- screen_replay: a real clip as re-filmed off a display (attacks.screen_replay: display gamma
  and lifted blacks, a moire grating of 3-5 px period at a random angle, a glare patch), H.264.
- sadtalker: the AI-generated talking heads in pad/synthetic_sadtalker, as they are.
Light and flash positives are SYNTHESISED: real clips relit by the sequence along the face
mesh's depth (attacks.relit_frames). No real recording of a face under a colour screen exists.

Timings: a 3 s 640x480 clip (LivePortrait d12, 0-3 s, centre 4:3 crop upscaled) judged in
silent and action modes with onnxruntime and OpenCV on one thread and the process pinned to one
CPU; median of ``--repeat`` runs after a warm-up. The machine is shared: figures are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from wxflow.services.challenges import ISSUED_ACTIONS  # noqa: E402 - the actions challenges really draw

SHARED = Path(os.environ.get("WXFLOW_SHARED_DIR", str(REPO.parent / "shared")))
DATA = SHARED / "data"
VIDEOS = DATA / "videos"

SEQ_A = {
    "colours": ["#FF0000", "#00FFFF", "#0000FF", "#FFFF00", "#00FF00", "#FF00FF", "#FFFFFF"],
    "durations_ms": [420, 350, 510, 330, 460, 390, 480],
    "start_ms": 300,
}
SEQ_B = {
    "colours": ["#00FF00", "#FF00FF", "#FFFFFF", "#0000FF", "#FF0000", "#FFFF00", "#00FFFF"],
    "durations_ms": [380, 520, 300, 450, 340, 560, 410],
    "start_ms": 300,
}

# What each real clip contains, from the data README (actions: 1 open mouth, 2 blink, 3 nod,
# 4 shake). "has": challenges it satisfies (bona fide); "lacks": actions it does not contain
# (a replay of it against them is an attack). No clip contains a deliberate nod.
ACTION_LABELS: dict[str, dict[str, list[list[int]]]] = {
    "liveportrait/d0.mp4": {"has": [[2]], "lacks": [[1], [3]]},  # blink at the end
    "liveportrait/d6.mp4": {"has": [[1]], "lacks": [[3]]},  # mouth wide open
    "liveportrait/d10.mp4": {"has": [[1]], "lacks": [[3]]},  # wide-open mouth, wink
    "liveportrait/d12.mp4": {"has": [[4]], "lacks": [[3]]},  # talking, head turns
    "liveportrait/d18.mp4": {"has": [[1], [1, 2]], "lacks": [[3]]},  # mouth opens twice, blinks
    "liveportrait/d3.mp4": {"has": [], "lacks": [[3]]},
    "liveportrait/d13.mp4": {"has": [], "lacks": [[3]]},
    "liveportrait/d19.mp4": {"has": [], "lacks": [[3]]},
    "grid/lrwp9a.mpg": {"has": [[2]], "lacks": [[1], [3], [4]]},  # natural blink mid-clip
    "grid/lbbc2a.mpg": {"has": [], "lacks": [[1], [2], [3], [4]]},  # eyes open throughout
    "grid/bbaf2n.mpg": {"has": [], "lacks": [[1], [3], [4]]},
    "grid/brbk7n.mpg": {"has": [], "lacks": [[1], [3], [4]]},
    "grid/lbax4n.mpg": {"has": [], "lacks": [[1], [3], [4]]},
    "grid/lwbsza.mpg": {"has": [], "lacks": [[1], [3], [4]]},
    "grid/sbia1a.mpg": {"has": [], "lacks": [[1], [3], [4]]},
    "grid/sbwe5n.mpg": {"has": [], "lacks": [[1], [3], [4]]},
    "grid/id2_vcd_swwp2s.mpg": {"has": [], "lacks": [[1], [3], [4]]},
    "sadtalker_hdtf/WDA_KatieHill_000.mp4": {"has": [[2]], "lacks": [[1], [3]]},  # natural blinks
    "sadtalker_hdtf/RD_Radio2_000.mp4": {"has": [[2]], "lacks": [[1], [3]]},
    "sadtalker_hdtf/WDA_AlexandriaOcasioCortez_000.mp4": {"has": [[2]], "lacks": [[1], [3]]},
    "sadtalker_hdtf/WDA_BobMenendez_000.mp4": {"has": [[2]], "lacks": [[1], [3]]},
}
# Clips over the 20 s intake limit are judged on their first LONG_CUT_S seconds.
LONG_CUT_S = 15.0
SCREEN_SOURCES = (
    "grid/lrwp9a.mpg",
    "grid/bbaf2n.mpg",
    "liveportrait/d0.mp4",
    "liveportrait/d12.mp4",
    "liveportrait/d19.mp4",
    "sadtalker_hdtf/WDA_KatieHill_000.mp4",
    "sadtalker_hdtf/RD_Radio2_000.mp4",
)
LIGHT_SOURCES = ("grid/lrwp9a.mpg", "liveportrait/d12.mp4", "sadtalker_hdtf/WDA_KatieHill_000.mp4")

HOW = {
    "photo_by_hand": "pad/silent_face F1 (print) and F2 (tablet) stills, photo_attack_video jitter, 3 s 640x480",
    "live_still_by_hand": "T1/T2 live stills and a frame of d0/lrwp9a, same jitter: no recapture texture",
    "photo_lit_uniformly": "F1 and T1 moved by hand, tinted by the sequence uniformly (strength 0.25)",
    "replay_vs_unissued_action": "real clips vs nod (3) or shake (4), which the service does not issue yet: "
    "talking heads swing past the nod threshold, and no clip holds a deliberate nod to tune it on",
    "replay_wrong_challenge": "real clips vs an action they lack, relit clips vs another sequence, unlit "
    "clips vs a sequence, GRID vs a wrong digit, flash clip without the blink first",
    "screen_replay": "attacks.screen_replay (gamma 0.8, blacks +8%, moire 3-5 px, glare) on 3 s of real clips",
    "sadtalker": "pad/synthetic_sadtalker clips as they are (8 s, 640x1024)",
}


@dataclass
class Case:
    kind: str  # "bona_fide" or an attack kind
    mode: str
    name: str
    build: Callable[[], bytes]
    challenge: dict[str, Any] | None = None
    note: str = ""


@dataclass
class Outcome:
    case: Case
    passed: bool
    live_status: int
    result: str
    tags: list[str]
    ms: float
    figures: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.case.kind,
            "mode": self.case.mode,
            "name": self.case.name,
            "challenge": self.case.challenge,
            "note": self.case.note,
            "passed": self.passed,
            "live_status": self.live_status,
            "result": self.result,
            "tags": self.tags,
            "ms": self.ms,
            "figures": self.figures,
        }


# ----------------------------------------------------------------------------------------------
# Media builders (memoised: several cases share a built clip)
# ----------------------------------------------------------------------------------------------

_CACHE: dict[tuple[Any, ...], bytes] = {}


def _memo(key: tuple[Any, ...], make: Callable[[], bytes]) -> Callable[[], bytes]:
    def get() -> bytes:
        if key not in _CACHE:
            _CACHE[key] = make()
        return _CACHE[key]

    return get


def _duration(path: Path) -> float:
    import av

    with av.open(str(path)) as c:
        return float(c.duration or 0) / 1e6


def real_clip(rel: str) -> Callable[[], bytes]:
    from tests.support.media import clip_bytes

    path = VIDEOS / rel

    def make() -> bytes:
        if _duration(path) > 20.0:
            return clip_bytes(path, 0, LONG_CUT_S)
        return path.read_bytes()

    return _memo(("real", rel), make)


def _frames(rel: str, start: float, seconds: float) -> tuple[list[np.ndarray], float]:
    from tests.support.media import read_frames

    return read_frames(VIDEOS / rel, start, seconds)


def _still(name: str) -> np.ndarray:
    from tests.support.media import frame_at

    if name.startswith("image_"):
        img = cv2.imread(str(DATA / "pad" / "silent_face" / f"{name}.jpg"))
        assert img is not None, name
        return img
    rel, t = name.split("@")
    return frame_at(VIDEOS / rel, float(t))


def _decoded_frames(data: bytes) -> list[np.ndarray]:
    import io

    import av

    with av.open(io.BytesIO(data)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def photo_by_hand(name: str, seed: int) -> Callable[[], bytes]:
    from tests.support.media import photo_attack_video

    return _memo(("photo", name, seed), lambda: photo_attack_video(_still(name), seconds=3.0, fps=25, seed=seed))


def photo_lit(name: str, seed: int, seq: dict[str, Any]) -> Callable[[], bytes]:
    from tests.support.attacks import uniformly_lit
    from tests.support.media import encode_video

    def make() -> bytes:
        frames = _decoded_frames(photo_by_hand(name, seed)())
        return encode_video(uniformly_lit(frames, 25, seq, strength=0.25), fps=25)

    return _memo(("photo_lit", name, seed, json.dumps(seq)), make)


def relit(rel: str, seq: dict[str, Any]) -> Callable[[], bytes]:
    from tests.support.attacks import relit_frames
    from tests.support.media import encode_video

    def make() -> bytes:
        frames, fps = _frames(rel, 0, 3.0)
        return encode_video(relit_frames(frames, fps, seq, strength=0.25), fps=fps)

    return _memo(("relit", rel, json.dumps(seq)), make)


def flash_clip(with_blink: bool) -> tuple[Callable[[], bytes], dict[str, Any]]:
    """lrwp9a: its blink (2.55-3.0 s) first, then 0-2.6 s relit by a sequence starting 0.45 s in;
    without the blink: the first 8 unlit frames, then the same relit part."""
    from tests.support.attacks import relit_frames
    from tests.support.media import encode_video

    seq = dict(SEQ_A, start_ms=450, durations_ms=[300, 250, 300, 250, 300, 250, 300])

    def make() -> bytes:
        path = "grid/lrwp9a.mpg"
        blink, fps = _frames(path, 2.55, 0.45)
        rest, _ = _frames(path, 0, 2.6)
        lit = relit_frames(rest, fps, dict(seq, start_ms=0), strength=0.25)
        return encode_video((blink if with_blink else rest[:8]) + lit, fps=fps)

    return _memo(("flash", with_blink), make), seq


def screen(rel: str, seed: int) -> Callable[[], bytes]:
    from tests.support.attacks import screen_replay
    from tests.support.media import encode_video

    def make() -> bytes:
        frames, fps = _frames(rel, 0, 3.0)
        return encode_video(screen_replay(frames, seed=seed), fps=fps)

    return _memo(("screen", rel, seed), make)


def clip_640x480(rel: str = "liveportrait/d12.mp4") -> bytes:
    """3 s of a real clip as a 640x480 recording: centre 4:3 crop, resized."""
    from tests.support.media import encode_video

    frames, fps = _frames(rel, 0, 3.0)
    out = []
    for f in frames:
        h, w = f.shape[:2]
        ch = min(h, int(w * 3 / 4))
        cw = int(ch * 4 / 3)
        y0, x0 = (h - ch) // 2, (w - cw) // 2
        out.append(cv2.resize(f[y0 : y0 + ch, x0 : x0 + cw], (640, 480), interpolation=cv2.INTER_LINEAR))
    return encode_video(out, fps=fps)


# ----------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------


def real_clips() -> list[str]:
    out = []
    for folder in ("grid", "liveportrait", "sadtalker_hdtf"):
        for p in sorted((VIDEOS / folder).glob("*")):
            if p.suffix in (".mpg", ".mp4"):
                out.append(f"{folder}/{p.name}")
    return out


def build_cases(digit: bool) -> list[Case]:
    cases: list[Case] = []
    clips = real_clips()
    # Silent: every real clip is bona fide.
    for rel in clips:
        cases.append(Case("bona_fide", "silent", rel, real_clip(rel)))
    # Action: labelled positives; every lacked action is a replay against the wrong challenge.
    for rel in clips:
        label = ACTION_LABELS.get(rel, {"has": [], "lacks": [[3]]})
        for acts in label["has"]:
            cases.append(Case("bona_fide", "action", rel, real_clip(rel), {"actions": acts}))
        for acts in label["lacks"]:
            # The service issues only 1 (mouth) and 2 (blink); nod and shake are measured apart.
            kind = "replay_wrong_challenge" if set(acts) <= set(ISSUED_ACTIONS) else "replay_vs_unissued_action"
            cases.append(Case(kind, "action", rel, real_clip(rel), {"actions": acts}))
    # Digit (English, GRID: each sentence holds one digit: the 5th letter of the stem's last 6).
    if digit:
        for rel in [c for c in clips if c.startswith("grid/")]:
            d = Path(rel).stem[-6:][4].replace("z", "0")  # lwbsza: "s zero"
            wrong = str((int(d) + 4) % 10)
            cases.append(Case("bona_fide", "digit", rel, real_clip(rel), {"code": d, "language": "en"}))
            cases.append(
                Case("replay_wrong_challenge", "digit", rel, real_clip(rel), {"code": wrong, "language": "en"})
            )
    # Light: synthesised positives; the same vs another sequence; unlit clips; lit photos.
    for rel in LIGHT_SOURCES:
        note = "synthesised: relit along the face mesh"
        cases.append(Case("bona_fide", "light", rel, relit(rel, SEQ_A), SEQ_A, note))
        cases.append(Case("replay_wrong_challenge", "light", rel, relit(rel, SEQ_A), SEQ_B, "relit by A, judged vs B"))
        cases.append(Case("replay_wrong_challenge", "light", rel, real_clip(rel), SEQ_A, "unlit real clip"))
    for name, seed in (("image_F1", 2), ("image_T1", 2)):
        cases.append(Case("photo_lit_uniformly", "light", name, photo_lit(name, seed, SEQ_A), SEQ_A))
    # Flash: synthesised positive (blink, then relit); the same colours without the blink first.
    ok, seq = flash_clip(True)
    no, _ = flash_clip(False)
    cases.append(Case("bona_fide", "flash", "grid/lrwp9a.mpg", ok, seq, "synthesised: blink then relit"))
    cases.append(Case("replay_wrong_challenge", "flash", "grid/lrwp9a.mpg", no, seq, "no blink before the colours"))
    # Silent attacks.
    for name in ("image_F1", "image_F2"):
        for seed in (0, 1):
            cases.append(Case("photo_by_hand", "silent", f"{name} seed {seed}", photo_by_hand(name, seed)))
    for name in ("image_T1", "image_T2", "liveportrait/d0.mp4@1.0", "grid/lrwp9a.mpg@1.0"):
        cases.append(Case("live_still_by_hand", "silent", name, photo_by_hand(name, 0)))
    for seed, rel in enumerate(SCREEN_SOURCES):
        cases.append(Case("screen_replay", "silent", f"{rel} seed {seed}", screen(rel, seed)))
    for p in sorted((DATA / "pad" / "synthetic_sadtalker").glob("*.mp4")):
        cases.append(Case("sadtalker", "silent", p.name, _memo(("sad", p.name), p.read_bytes)))
    return cases


def _figures(v: Any) -> dict[str, Any]:
    d = v.details
    out: dict[str, Any] = {}
    if "antispoof" in d:
        out["minifasnet_median"] = d["antispoof"]["median_live_prob"]
    if "recapture" in d:
        out["recapture"] = {k: d["recapture"][k] for k in ("moire", "score") if k in d["recapture"]}
    if "cues" in d:
        out["cues"] = d["cues"]
    if "synthesis" in d:
        out["synthesis_patch"] = d["synthesis"].get("score")
    if "action" in d:
        out["events"] = [(e["action"], e["t"]) for e in d["action"].get("events", [])]
    if "light" in d:
        out["light"] = {k: d["light"].get(k) for k in ("correlation", "spatial_cv")}
    if "digit" in d:
        out["digit"] = {k: d["digit"].get(k) for k in ("heard", "lip_sync")}
    return out


def run_cases(cases: list[Case], engines: Any, settings: Any, progress: bool) -> list[Outcome]:
    from wxflow.vision.pipeline import judge_bytes

    outcomes = []
    for i, case in enumerate(cases):
        data = case.build()
        t = time.perf_counter()
        v = judge_bytes(data, case.mode, case.challenge, engines, settings)
        ms = round((time.perf_counter() - t) * 1000.0, 1)
        o = Outcome(case, v.passed, v.live_status, v.result, list(v.tags), ms, _figures(v))
        outcomes.append(o)
        if progress:
            print(
                f"  [{i + 1}/{len(cases)}] {case.kind:22s} {case.mode:6s} {case.name:45s} "
                f"{'PASS' if v.passed else 'fail ' + str(v.live_status):10s} {ms:7.0f} ms",
                file=sys.stderr,
                flush=True,
            )
    return outcomes


def confusion(outcomes: list[Outcome]) -> dict[str, Any]:
    bpcer: dict[str, Any] = {}
    apcer: dict[str, Any] = {}
    for o in outcomes:
        if o.case.kind == "bona_fide":
            row = bpcer.setdefault(o.case.mode, {"n": 0, "rejected": 0, "rejected_cases": []})
            row["n"] += 1
            if not o.passed:
                row["rejected"] += 1
                row["rejected_cases"].append(f"{o.case.name} {o.case.challenge or ''} -> {o.live_status}")
        else:
            key = f"{o.case.kind}/{o.case.mode}"
            row = apcer.setdefault(key, {"n": 0, "accepted": 0, "accepted_cases": []})
            row["n"] += 1
            if o.passed:
                row["accepted"] += 1
                row["accepted_cases"].append(f"{o.case.name} {o.case.challenge or ''}")
    for row in bpcer.values():
        row["bpcer"] = round(row["rejected"] / row["n"], 4)
    for row in apcer.values():
        row["apcer"] = round(row["accepted"] / row["n"], 4)
    return {"bpcer": bpcer, "apcer": apcer}


# ----------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------


def timing(repeat: int, settings: Any) -> dict[str, Any]:
    """Median judge time of a 3 s 640x480 clip on one core (silent, action)."""
    from models.loader import load_engines
    from wxflow.vision.liveness import judge_video
    from wxflow.vision.video import decode_video

    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[-1]})
    cv2.setNumThreads(1)
    engines = load_engines(_model_dir(), threads=1)
    data = clip_640x480()
    out: dict[str, Any] = {"clip": "d12 0-3 s, 640x480 H.264", "repeat": repeat, "cpu": cpus[-1]}
    for mode, challenge in (("silent", None), ("action", {"actions": [2]})):
        totals: list[float] = []
        decodes: list[float] = []
        stages: dict[str, list[float]] = {}
        for i in range(repeat + 1):
            t0 = time.perf_counter()
            video = decode_video(data, settings)
            t1 = time.perf_counter()
            v = judge_video(video, mode, challenge, engines, settings)
            t2 = time.perf_counter()
            if i == 0:
                continue  # warm-up
            decodes.append((t1 - t0) * 1000.0)
            totals.append((t2 - t1) * 1000.0)
            for k, x in v.details.get("timings_ms", {}).items():
                stages.setdefault(k, []).append(float(x))
        out[mode] = {
            "judge_ms_median": round(statistics.median(totals), 1),
            "judge_ms_min": round(min(totals), 1),
            "judge_ms_max": round(max(totals), 1),
            "decode_ms_median": round(statistics.median(decodes), 1),
            "stages_ms_median": {k: round(statistics.median(x), 1) for k, x in stages.items()},
            "frames_sampled": v.details.get("frames_sampled"),
            "mesh_frames": v.details.get("mesh_frames"),
        }
    os.sched_setaffinity(0, set(cpus))
    return out


def _settings(pairs: list[str]) -> Any:
    import dataclasses

    from wxflow.vision.settings import VisionSettings

    base = VisionSettings()
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        current = getattr(base, key)
        changes[key] = type(current)(value) if not isinstance(current, bool) else value.lower() in ("1", "true")
    return dataclasses.replace(base, **changes)


def _model_dir() -> Path:
    return Path(os.environ.get("WXFLOW_MODEL_DIR", str(SHARED / "models")))


# ----------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    if "confusion" in report:
        conf = report["confusion"]
        print("BPCER (bona fide rejected), real clips; light/flash positives are SYNTHESISED (relit along the mesh)")
        print(f"  {'mode':8s} {'n':>3s} {'rej':>4s} {'BPCER':>7s}  rejected")
        for mode, row in conf["bpcer"].items():
            rej = "; ".join(row["rejected_cases"])
            print(f"  {mode:8s} {row['n']:3d} {row['rejected']:4d} {row['bpcer']:7.1%}  {rej}")
        print("APCER (attacks accepted) per attack kind / mode")
        print(f"  {'kind/mode':36s} {'n':>3s} {'acc':>4s} {'APCER':>7s}  accepted")
        for key, row in conf["apcer"].items():
            acc = "; ".join(row["accepted_cases"])
            print(f"  {key:36s} {row['n']:3d} {row['accepted']:4d} {row['apcer']:7.1%}  {acc}")
        print("How each attack is built:")
        for k, v in HOW.items():
            print(f"  {k}: {v}")
        silent = [o for o in report["cases"] if o["mode"] == "silent"]
        print("Silent-mode figures (MiniFASNet median live prob; recapture cue):")
        for o in silent:
            f = o["figures"]
            print(
                f"  {o['kind']:20s} {o['name']:45s} {'PASS' if o['passed'] else 'fail':5s} "
                f"p={f.get('minifasnet_median')} recapture={f.get('recapture')}"
            )
        print(f"table wall time {report['table_s']:.0f} s")
    if "timing" in report:
        t = report["timing"]
        print(f"Timing: {t['clip']}, one CPU, onnxruntime 1 thread, median of {t['repeat']} (after a warm-up)")
        for mode in ("silent", "action"):
            m = t[mode]
            print(
                f"  {mode:7s} judge {m['judge_ms_median']:6.0f} ms (min {m['judge_ms_min']:.0f}, max "
                f"{m['judge_ms_max']:.0f}); decode {m['decode_ms_median']:.0f} ms; mesh frames "
                f"{m['mesh_frames']}/{m['frames_sampled']}; stages {m['stages_ms_median']}"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    ap.add_argument("--only", choices=("table", "timing"), default=None)
    ap.add_argument("--no-digit", action="store_true", help="skip the digit (speech) cases")
    ap.add_argument("--repeat", type=int, default=7, help="timing repetitions per mode")
    ap.add_argument("--quiet", action="store_true", help="no per-case progress on stderr")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a VisionSettings field, e.g. --set mesh_fps_action=1000 (every frame meshed)",
    )
    args = ap.parse_args(argv)
    settings = _settings(args.set)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    report: dict[str, Any] = {"settings_overrides": args.set}
    if args.only in (None, "timing"):
        report["timing"] = timing(args.repeat, settings)
    if args.only in (None, "table"):
        from models.loader import load_engines

        engines = load_engines(_model_dir(), threads=1)
        t0 = time.perf_counter()
        outcomes = run_cases(build_cases(digit=not args.no_digit), engines, settings, progress=not args.quiet)
        report["table_s"] = round(time.perf_counter() - t0, 1)
        report["confusion"] = confusion(outcomes)
        report["cases"] = [o.to_json() for o in outcomes]
        report["how"] = HOW
    if args.json:
        print(json.dumps(report, default=lambda o: o.item() if isinstance(o, np.generic) else str(o)))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
