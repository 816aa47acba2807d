"""`marketing-gen db …`"""

from __future__ import annotations

import click

from marketing_gen.cli.groups import db


@db.command()
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
def upgrade(revision: str) -> None:
    """Create or migrate the schema of the configured database (MARKETING_GEN_DATABASE_URL)."""
    from marketing_gen.config import get_settings
    from marketing_gen.db import upgrade as run_upgrade

    url = get_settings().database_url
    run_upgrade(url, revision)
    click.echo(f"database at {url} is at revision {revision}")
