"""``flask --app app registry ...``: the local authority (identities, bank cards, phones) and the audit."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from wxflow.errors import ServiceError
from wxflow.services import authority

registry_group = AppGroup("registry", help="The local authority: identities, bank cards, phone numbers; audit.")


def _report(report: authority.ImportReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    click.echo(f"added: {report.added}\nupdated: {report.updated}\nerrors: {len(report.errors)}")
    for error in report.errors:
        click.echo(f"  line {error['line']}: {error['reason']}")


def _run(fn, *args: object) -> authority.ImportReport:  # noqa: ANN001 - any importer
    try:
        return fn(current_app.extensions["wxflow"], *args)
    except ServiceError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message('en-US')}") from None


@registry_group.command("import")
@click.option("--csv", "csv_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--photos", "photo_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True)
def registry_import(csv_path: str, photo_dir: str | None, as_json: bool) -> None:
    """Identities from a CSV (id_card,name[,photo,validity_begin,validity_end,status]) and a photo folder."""
    _report(_run(authority.import_csv, Path(csv_path), Path(photo_dir) if photo_dir else None), as_json)


@registry_group.command("import-bankcards")
@click.option("--csv", "csv_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def registry_import_bankcards(csv_path: str, as_json: bool) -> None:
    """Bank cards from a CSV (card,name[,id_card,phone,bank,account_type,state])."""
    _report(_run(authority.import_bank_cards, Path(csv_path)), as_json)


@registry_group.command("import-phones")
@click.option("--csv", "csv_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def registry_import_phones(csv_path: str, as_json: bool) -> None:
    """Phone numbers from a CSV (phone,name,id_card[,carrier,status,in_network_since])."""
    _report(_run(authority.import_phones, Path(csv_path)), as_json)


@registry_group.command("audit")
@click.option("--since", help="ISO date or time (UTC); default: everything.")
@click.option("--merchant-id", type=int)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
def registry_audit(since: str | None, merchant_id: int | None, fmt: str) -> None:
    """Export the identity-check audit (masked subjects, result, billed or not) as CSV or JSON lines."""
    start = None
    if since:
        start = datetime.fromisoformat(since)
        if start.tzinfo is None:
            from datetime import UTC

            start = start.replace(tzinfo=UTC)
    rows = authority.audit_rows(current_app.extensions["wxflow"], start, merchant_id)
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=authority.AUDIT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    click.echo(out.getvalue(), nl=False)


def register(app: Flask) -> None:
    app.cli.add_command(registry_group)
