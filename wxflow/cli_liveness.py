"""`flask --app app liveness judge VIDEO --mode ... [--challenge VALUE] --json`: judge one file.

A transport like the others: it parses, calls the vision pipeline once and prints the verdict.
The challenge value is the JSON the API issues ({"actions": [2, 1]}, {"code": "1234"},
{"colours": [...], "durations_ms": [...], "start_ms": 300}); for action and digit modes the
short forms "2,1" and "1234" are accepted too.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

MODES = ("silent", "action", "digit", "light", "flash")


def parse_challenge_value(mode: str, value: str | None) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    text = value.strip()
    if text.startswith("{"):
        parsed = json.loads(text)
        if not isinstance(parsed, dict):
            raise click.BadParameter("challenge JSON must be an object")
        return parsed
    if mode == "action":
        return {"actions": [int(a) for a in text.split(",") if a.strip()]}
    if mode == "digit":
        return {"code": text}
    raise click.BadParameter(f"{mode} mode takes the challenge as JSON")


def register(app: Any) -> None:
    group = AppGroup("liveness", help="Liveness engine tools.")

    @group.command("judge")
    @click.argument("video", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--mode", type=click.Choice(MODES), required=True)
    @click.option("--challenge", "challenge_value", default=None, help="The issued challenge (JSON or short form).")
    @click.option("--language", default=None, help="Digit mode: zh (default) or en.")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON line.")
    def judge(video: Path, mode: str, challenge_value: str | None, language: str | None, as_json: bool) -> None:
        from wxflow.vision.errors import VisionError
        from wxflow.vision.liveness import judge_video
        from wxflow.vision.settings import VisionSettings
        from wxflow.vision.video import decode_video

        ext = current_app.extensions["wxflow"]
        challenge = parse_challenge_value(mode, challenge_value)
        if language and mode == "digit":
            challenge = dict(challenge or {}, language=language)
        settings = VisionSettings(
            max_video_bytes=ext.config.max_video_bytes, max_video_seconds=ext.config.max_video_seconds
        )
        t0 = time.perf_counter()
        engines = ext.engines()
        load_ms = round((time.perf_counter() - t0) * 1000.0, 1)
        data = video.read_bytes()
        t1 = time.perf_counter()
        try:
            decoded = decode_video(data, settings)
        except VisionError as exc:
            out = {"passed": False, "live_status": exc.err_code, "result": exc.result, "message": exc.message}
            out.update(tags=[], best_frame_scores=[], timings_ms={"load_models": load_ms})
            click.echo(json.dumps(out) if as_json else f"FAIL {exc.err_code} {exc.result}: {exc.message}")
            raise SystemExit(1) from None
        decode_ms = round((time.perf_counter() - t1) * 1000.0, 1)
        try:
            verdict = judge_video(decoded, mode, challenge, engines, settings)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        timings = dict(verdict.details.get("timings_ms", {}))
        timings.update(decode=decode_ms, load_models=load_ms)
        timings["total"] = round((time.perf_counter() - t1) * 1000.0, 1)
        out = {
            "passed": verdict.passed,
            "live_status": verdict.live_status,
            "result": verdict.result,
            "message": verdict.message,
            "tags": verdict.tags,
            "best_frame_scores": verdict.best_frame_scores,
            "timings_ms": timings,
            "details": {k: v for k, v in verdict.details.items() if k not in ("signals", "timings_ms")},
        }
        if as_json:
            click.echo(json.dumps(out, default=_plain))
        else:
            state = "PASS" if verdict.passed else f"FAIL {verdict.live_status} {verdict.result}"
            click.echo(f"{state} tags={verdict.tags} {verdict.message} ({timings['total']} ms)")

    app.cli.add_command(group)


def _plain(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
