"""Migration 0002_review_send: the migrated schema equals the ORM models, and it downgrades cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from marketing_gen.db import get_engine
from marketing_gen.db.models import Base


def test_migrated_schema_matches_the_models(any_db_url: str) -> None:
    with get_engine(any_db_url).connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        tables = set(inspect(conn).get_table_names())
    assert {"review_actions", "accounts", "web_sessions"} <= tables


def test_downgrade_to_0001_and_back(any_db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from marketing_gen.db import MIGRATIONS_DIR, upgrade

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", any_db_url.replace("%", "%%"))
    command.downgrade(cfg, "0001")
    with get_engine(any_db_url).connect() as conn:
        assert "accounts" not in inspect(conn).get_table_names()
        assert "attempt_id" not in {c["name"] for c in inspect(conn).get_columns("outbox")}
    upgrade(any_db_url)
    with get_engine(any_db_url).connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
