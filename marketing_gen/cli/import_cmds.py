"""`marketing-gen import …` (users, items, interactions, recommendations, devices, online-retail, brand,
suppressions) and `bench import`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from marketing_gen.cli.groups import STDIN, bench, echo_json, import_, input_file
from marketing_gen.errors import ClientError

_HELP = {
    "users": "Import users: user_id,email,first_name,last_name,locale,country,phone,"
    "email_consent,sms_consent,push_consent[,ads_consent,timezone,apns_token,fcm_token]; phones are stored "
    "in E.164 (national numbers read in the user's country); other columns go to attributes.",
    "devices": "Import push devices: user_id,platform (apns|fcm),token[,topic]; FCM rows may give a topic "
    "instead of a token. Users must be imported first.",
    "items": "Import items: item_id,title,description,category,price,currency,url,in_stock[,image_url]; "
    "prices like $1,299.00 or £2.55; other columns go to attributes.",
    "interactions": "Import interactions: user_id,item_id,event (view|cart|purchase|rating),timestamp,"
    "quantity[,value]. Users and items must be imported first.",
    "recommendations": "Import upstream recommendations: user_id,item_id,rank,score.",
    "online-retail": "Import a UCI Online Retail invoice file (InvoiceNo,StockCode,Description,Quantity,"
    "InvoiceDate,UnitPrice,CustomerID,Country) as users, items and purchases.",
    "brand": "Import the brand JSON (name, voice, banned_terms, postal_address, website_url, "
    "unsubscribe_url_template, offer_policy); updates the store's single brand row.",
    "suppressions": "Import the store's suppression list: user_id,email,phone[,channel,country] (one of the first "
    "three per row). Without channel an email stops email, a phone stops SMS, a user id stops every channel. Matched "
    "users' open drafts and unsent outbox rows are cancelled at once; entries are kept, so users imported later that "
    "match are opted out on arrival.",
}


def _print_text(report: Any) -> None:
    d = report.to_dict(max_errors=20)
    extra = f", {report.duplicates} duplicate(s)" if report.duplicates else ""
    click.echo(
        f"{Path(report.path).name} ({report.kind}): {report.imported} imported, {report.updated} updated, "
        f"{report.rejected} rejected{extra} in {report.seconds:.2f} s"
    )
    if len(report.tables) > 1:
        for table, counts in report.tables.items():
            click.echo(f"  {table}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    warnings = report.to_dict(max_errors=5)
    for label, items, more in (
        ("rejected", d["errors"], d["errors_truncated"]),
        ("warning", warnings["warnings"], warnings["warnings_truncated"]),
    ):
        for e in items:
            where = f"row {e['row']}" if e["row"] is not None else "file"
            click.echo(f"  {label}: {where} {e['field']}: {e['reason']}", err=True)
        if more:
            click.echo(f"  … and {more} more {label} message(s) (--json shows up to 100)", err=True)


def _run_import(kind: str, path: Path, as_json: bool, batch_size: int) -> None:
    from marketing_gen.config import get_settings
    from marketing_gen.importers import import_file

    url = get_settings().database_url
    progress = not as_json and sys.stderr.isatty()
    try:
        with input_file(path) as readable:
            report = import_file(kind, readable, url=url, batch_size=batch_size, progress=progress)
        if str(path) == STDIN:
            report.path = "<stdin>"
    except ClientError as exc:
        if as_json:
            echo_json(
                {
                    "imported": 0,
                    "updated": 0,
                    "rejected": 0,
                    "errors": [{"row": None, "field": "file", "reason": str(exc)}],
                    "errors_truncated": 0,
                    "fatal": str(exc),
                }
            )
        raise
    if as_json:
        echo_json(report.to_dict())
    else:
        _print_text(report)
    if not report.ok:
        if not as_json:
            why = "every row was rejected" if report.rejected else "the file has no data rows"
            click.echo(f"nothing was imported: {why}", err=True)
        click.get_current_context().exit(1)


def _make_command(kind: str) -> None:
    @import_.command(name=kind, help=_HELP[kind] + " PATH `-` reads standard input.")
    @click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object with counts and errors.")
    @click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(1, 100_000),
                  help="Rows per transaction.")  # fmt: skip
    def command(path: Path, as_json: bool, batch_size: int) -> None:
        _run_import(kind, path, as_json, batch_size)


for _kind in _HELP:
    _make_command(_kind)


@bench.command(name="import")
@click.option("--rows", default=100_000, show_default=True, type=click.IntRange(1), help="Interaction rows.")
@click.option("--database-url", default=None, help="Also time a temporary database on this PostgreSQL server.")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_import(rows: int, database_url: str | None, batch_size: int, as_json: bool) -> None:
    """Time importing ROWS generated interactions (plus their users and items) into a fresh database."""
    from marketing_gen.devtools.import_bench import run_import_benchmark

    results = run_import_benchmark(rows, database_url=database_url, batch_size=batch_size)
    if as_json:
        echo_json({"rows": rows, "batch_size": batch_size, "results": results})
        return
    click.echo(f"{'database':<11} {'step':<26} {'rows':>8} {'seconds':>8} {'cpu s':>7} {'rows/s':>9}")
    for r in results:
        click.echo(
            f"{r['database']:<11} {r['step']:<26} {r['rows']:>8} {r['seconds']:>8.2f} {r['cpu_seconds']:>7.2f} "
            f"{r['rows_per_s'] or 0:>9}"
        )
    click.echo("seconds: wall clock; cpu s: this process only (PostgreSQL's server work is not in it)")
