"""`marketing-gen db …`"""

from __future__ import annotations

import click

from marketing_gen.cli.groups import db, echo_json, json_option


@db.command()
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
@json_option
def upgrade(revision: str, as_json: bool) -> None:
    """Create or migrate the schema of the configured database (MARKETING_GEN_DATABASE_URL)."""
    from marketing_gen.config import get_settings
    from marketing_gen.db import upgrade as run_upgrade

    url = get_settings().database_url
    run_upgrade(url, revision)
    shown = url.split("@")[-1] if "@" in url else url  # no credentials in the output
    if as_json:
        echo_json({"database": shown, "revision": revision})
    else:
        click.echo(f"database at {shown} is at revision {revision}")
