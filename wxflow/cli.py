"""Operator commands: ``flask --app app <group> <command>``. Each prints JSON with ``--json``."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from wxflow.config import SETTINGS
from wxflow.errors import ServiceError
from wxflow.services import merchants
from wxflow.services.context import ServiceContext

log = logging.getLogger(__name__)


def _ctx() -> ServiceContext:
    return current_app.extensions["wxflow"]


def _emit(data: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    elif isinstance(data, dict):
        for key, value in data.items():
            click.echo(f"{key}: {value}")
    else:
        for row in data:
            click.echo("  ".join(f"{k}={v}" for k, v in row.items()))


def _fail(exc: ServiceError) -> None:
    raise click.ClickException(f"{exc.code}: {exc.message('en-US')}")


db_group = AppGroup("db", help="Database schema.")


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations up to the newest schema."""
    _ctx().db.upgrade()
    click.echo("database is at the newest schema")


merchant_group = AppGroup("merchant", help="Merchants and their API credentials.")


@merchant_group.command("create")
@click.option("--name", required=True)
@click.option("--json", "as_json", is_flag=True)
def merchant_create(name: str, as_json: bool) -> None:
    """Create a merchant; prints SecretId, SecretKey and WebhookSecret (shown once)."""
    try:
        creds = merchants.create_merchant(_ctx(), name)
    except ServiceError as exc:
        _fail(exc)
        return
    data = asdict(creds)
    data.pop("id")
    _emit(data, as_json)


rule_group = AppGroup("rule", help="Rules: one business flow each.")


@rule_group.command("create")
@click.option("--merchant", "merchant_secret_id", required=True, help="The merchant's SecretId.")
@click.option("--liveness", type=click.Choice(["silent", "action", "digit", "light", "flash"]), required=True)
@click.option("--compare", type=click.Choice(["photo", "authority", "none"]), required=True)
@click.option("--redirect-prefix", "redirect_prefixes", multiple=True, required=True)
@click.option("--callback-url")
@click.option("--max-attempts", type=int)
@click.option("--threshold", type=click.Choice(["1e-3", "1e-4"]), default="1e-3", show_default=True)
@click.option("--wechat-appid")
@click.option("--wechat-secret")
@click.option(
    "--id-card-ocr/--no-id-card-ocr",
    default=False,
    show_default=True,
    help="Read the user's ID card (both sides) before the selfie step.",
)
@click.option("--json", "as_json", is_flag=True)
def rule_create(as_json: bool, **options: Any) -> None:
    """Create a rule; prints its RuleId."""
    options["redirect_prefixes"] = list(options["redirect_prefixes"])
    try:
        rule_id = merchants.create_rule(_ctx(), **options)
    except ServiceError as exc:
        _fail(exc)
        return
    _emit({"RuleId": rule_id}, as_json)


@rule_group.command("list")
@click.option("--merchant", "merchant_secret_id")
@click.option("--json", "as_json", is_flag=True)
def rule_list(merchant_secret_id: str | None, as_json: bool) -> None:
    """List rules, optionally of one merchant."""
    _emit(merchants.list_rules(_ctx(), merchant_secret_id), as_json)


@rule_group.command("update")
@click.argument("rule_id")
@click.option(
    "--id-card-ocr/--no-id-card-ocr",
    default=None,
    help="Turn the ID-card OCR step on or off (flows already started keep theirs).",
)
@click.option("--json", "as_json", is_flag=True)
def rule_update(rule_id: str, id_card_ocr: bool | None, as_json: bool) -> None:
    """Change a rule's options."""
    if id_card_ocr is None:
        raise click.UsageError("nothing to change: give --id-card-ocr or --no-id-card-ocr")
    try:
        merchants.set_id_card_ocr(_ctx(), rule_id, id_card_ocr)
    except ServiceError as exc:
        _fail(exc)
        return
    _emit({"RuleId": rule_id, "IdCardOcr": id_card_ocr}, as_json)


@rule_group.command("disable")
@click.argument("rule_id")
@click.option("--json", "as_json", is_flag=True)
def rule_disable(rule_id: str, as_json: bool) -> None:
    """Disable a rule: DetectAuth with it is refused from now on."""
    try:
        merchants.disable_rule(_ctx(), rule_id)
    except ServiceError as exc:
        _fail(exc)
        return
    _emit({"RuleId": rule_id, "Disabled": True}, as_json)


encryption_group = AppGroup("encryption", help="Envelope encryption of TC3 fields (the Encryption object).")


@encryption_group.command("public-key")
def encryption_public_key() -> None:
    """Print the RSA public key merchants wrap their AES-256 field keys with (RSA-OAEP, SHA-256)."""
    from wxflow.services import envelope

    click.echo(envelope.public_key(_ctx()), nl=False)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--no-maintenance", is_flag=True, help="Do not schedule the periodic sweep from this worker.")
def worker_command(burst: bool, no_maintenance: bool) -> None:
    """Run an RQ worker: models load and are verified once, before the work loop."""
    from rq import Worker
    from rq.serializers import JSONSerializer

    from wxflow.jobs import maintenance, runtime

    ctx = _ctx()
    engines = ctx.engines()
    log.info("models loaded and verified: %s", ", ".join(sorted(engines.paths)))
    if engines.antispoof is None:
        log.warning("silent liveness is unavailable: %s", engines.antispoof_reason)
    runtime.install(ctx)
    if not no_maintenance:
        maintenance.schedule_next()
    worker = Worker(ctx.queue.all, connection=ctx.queue.connection, serializer=JSONSerializer)
    worker.work(burst=burst, with_scheduler=True, logging_level=ctx.config.log_level)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="RQ worker processes to start beside it.")
def serve_command(host: str, port: int, workers: int) -> None:
    """Run the web app and RQ workers together: the embedded, single-machine deployment."""
    from werkzeug.serving import run_simple

    ctx = _ctx()
    # Start the embedded Redis here, so the workers connect to this one instead of racing to start it.
    ctx.queue.connection.ping()
    children = [
        subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], env=os.environ.copy())
        for _ in range(workers)
    ]

    def _stop(*_: Any) -> None:
        for child in children:
            child.terminate()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    click.echo(f"wxflow on http://{host}:{port}  (OpenAPI at /api/docs)")
    try:
        run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


@click.command("settings")
def settings_command() -> None:
    """Print the settings table (Markdown) that the README shows."""
    click.echo("| Variable | Default | Meaning |\n|---|---|---|")
    for setting in SETTINGS.values():
        default = "(see meaning)" if setting.default in ("", None) else f"`{setting.default}`"
        click.echo(f"| `{setting.env}` | {default} | {setting.help} |")


def register(app: Flask) -> None:
    from wxflow import cli_face, cli_liveness

    cli_face.register(app)
    cli_liveness.register(app)
    commands = (
        db_group,
        merchant_group,
        rule_group,
        encryption_group,
        worker_command,
        serve_command,
        settings_command,
    )
    for command in commands:
        app.cli.add_command(command)
    from wxflow import cli_identity

    cli_identity.register(app)
