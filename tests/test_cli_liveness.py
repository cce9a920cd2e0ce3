"""`flask liveness judge` on real clips (the lead wires cli_liveness.register into wxflow/cli.py;
the test registers it itself so it runs either way)."""

from __future__ import annotations

import json

import pytest

from tests.support.data import data_path
from wxflow import cli_liveness

pytestmark = pytest.mark.slow


def _cli(app, *args):
    if "liveness" not in app.cli.commands:
        cli_liveness.register(app)
    return app.test_cli_runner().invoke(args=list(args))


def test_judge_action_json(app):
    clip = str(data_path("videos", "liveportrait", "d0.mp4"))
    res = _cli(app, "liveness", "judge", clip, "--mode", "action", "--challenge", "2", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.strip().splitlines()[-1])
    assert out["passed"] is True and out["live_status"] == 0
    assert out["best_frame_scores"] and {"detect", "face_mesh", "decode", "total"} <= set(out["timings_ms"])
    res = _cli(app, "liveness", "judge", clip, "--mode", "action", "--challenge", '{"actions": [1]}', "--json")
    out = json.loads(res.output.strip().splitlines()[-1])
    assert (out["passed"], out["live_status"], out["tags"]) == (False, 1002, ["02"])


def test_judge_light_wrong_sequence(app):
    seq = '{"colours": ["#FF0000", "#00FF00", "#0000FF", "#FFFFFF"], "durations_ms": [500, 500, 500, 500]}'
    clip = str(data_path("videos", "grid", "lrwp9a.mpg"))
    res = _cli(app, "liveness", "judge", clip, "--mode", "light", "--challenge", seq, "--json")
    out = json.loads(res.output.strip().splitlines()[-1])
    assert (out["passed"], out["live_status"], out["tags"]) == (False, 1301, ["07"])
