"""Operator commands, through Flask's CLI runner on the real app and database."""

from __future__ import annotations

import json
import re

import pytest

from wxflow.config import SETTINGS, Config
from wxflow.services import merchants


def run(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    return result


def test_merchant_and_rule_lifecycle(app, ctx):
    created = run(app, "merchant", "create", "--name", "Acme Bank", "--json")
    assert created.exit_code == 0, created.output
    creds = json.loads(created.output)
    assert set(creds) == {"SecretId", "SecretKey", "WebhookSecret"} and creds["SecretId"].startswith("AKID")
    assert merchants.credentials_for(ctx, creds["SecretId"]).secret_key == creds["SecretKey"]

    rule = run(
        app,
        "rule",
        "create",
        "--merchant",
        creds["SecretId"],
        "--liveness",
        "action",
        "--compare",
        "photo",
        "--redirect-prefix",
        "https://acme.example/",
        "--redirect-prefix",
        "https://m.acme.example/",
        "--callback-url",
        "https://acme.example/hook",
        "--max-attempts",
        "2",
        "--threshold",
        "1e-4",
        "--wechat-appid",
        "wx123",
        "--wechat-secret",
        "s3cret",
        "--json",
    )
    assert rule.exit_code == 0, rule.output
    rule_id = json.loads(rule.output)["RuleId"]
    assert re.fullmatch(r"\d{9}", rule_id)

    listed = json.loads(run(app, "rule", "list", "--merchant", creds["SecretId"], "--json").output)
    assert listed == [
        {
            "RuleId": rule_id,
            "Merchant": creds["SecretId"],
            "Liveness": "action",
            "Compare": "photo",
            "RedirectPrefixes": ["https://acme.example/", "https://m.acme.example/"],
            "CallbackUrl": "https://acme.example/hook",
            "MaxAttempts": 2,
            "Threshold": "1e-4",
            "WechatAppId": "wx123",
            "IdCardOcr": False,
            "Disabled": False,
        }
    ]
    assert "s3cret" not in json.dumps(listed)

    disabled = run(app, "rule", "disable", rule_id, "--json")
    assert disabled.exit_code == 0 and json.loads(disabled.output) == {"RuleId": rule_id, "Disabled": True}
    assert json.loads(run(app, "rule", "list", "--merchant", creds["SecretId"], "--json").output)[0]["Disabled"]


def test_modes_not_built_yet_are_refused_never_faked(app, merchant):
    for liveness, compare in (("digit", "none"), ("light", "none"), ("flash", "none")):
        result = run(
            app,
            "rule",
            "create",
            "--merchant",
            merchant.SecretId,
            "--liveness",
            liveness,
            "--compare",
            compare,
            "--redirect-prefix",
            "https://x.example/",
        )
        assert result.exit_code != 0
        assert "UnsupportedOperation" in result.output and "not implemented" in result.output


def test_rule_create_checks_its_input(app, merchant):
    bad = [
        ["--merchant", "AKIDnobody", "--liveness", "silent", "--compare", "none", "--redirect-prefix", "https://x/"],
        ["--merchant", merchant.SecretId, "--liveness", "silent", "--compare", "none", "--redirect-prefix", "x.com"],
        [
            "--merchant",
            merchant.SecretId,
            "--liveness",
            "silent",
            "--compare",
            "none",
            "--redirect-prefix",
            "https://x/",
            "--max-attempts",
            "0",
        ],
        [
            "--merchant",
            merchant.SecretId,
            "--liveness",
            "silent",
            "--compare",
            "none",
            "--redirect-prefix",
            "https://x/",
            "--wechat-appid",
            "wx1",
        ],
    ]
    for args in bad:
        result = run(app, "rule", "create", *args)
        assert result.exit_code != 0 and "Error:" in result.output, args
    assert run(app, "rule", "disable", "000").exit_code != 0


def test_readme_settings_table_matches_the_code(app):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for setting in SETTINGS.values():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{setting.env}` |")), None)
        assert row is not None, f"{setting.env} is missing from the README's settings table"
        assert setting.help in row, f"{setting.env}: README text differs from wxflow/config.py"
    printed = run(app, "settings").output
    assert all(f"`{s.env}`" in printed for s in SETTINGS.values())


def test_openapi_documents_the_device_api(client):
    spec = client.get("/api/openapi.json").get_json()
    paths = spec["paths"]
    assert {
        "/api/v1/flows/{biz_token}",
        "/api/v1/flows/{biz_token}/attempts",
        "/api/v1/flows/{biz_token}/attempts/{attempt_id}",
    } <= set(paths)
    upload = paths["/api/v1/flows/{biz_token}/attempts"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"202", "409", "410", "413"} <= set(upload["responses"])
    assert client.get("/api/docs").status_code == 200


def test_every_tc3_action_is_documented(client):
    from pathlib import Path

    from wxflow.api.faceid.actions import ACTIONS

    post = client.get("/api/openapi.json").get_json()["paths"]["/"]["post"]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    assert set(examples) == set(ACTIONS)
    guide = (Path(__file__).resolve().parents[1] / "docs" / "faceid-api.md").read_text()
    for action in ACTIONS:
        assert f"### {action}" in guide, f"docs/faceid-api.md lacks {action}"


def test_digit_language_is_checked_at_start_up():
    assert Config.from_env({"WXFLOW_DIGIT_LANGUAGE": "en"}).digit_language == "en"
    assert Config.from_env({}).digit_language == "zh"
    with pytest.raises(ValueError, match="zh or en"):
        Config.from_env({"WXFLOW_DIGIT_LANGUAGE": "fr"})
