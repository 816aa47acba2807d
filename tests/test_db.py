"""Schema and bulk-write helpers on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, inspect, select

from marketing_gen.db import get_engine, insert_ignore, session_scope, upsert
from marketing_gen.db.models import Base, Item, User


def test_migrations_create_every_table(any_db_url: str) -> None:
    tables = set(inspect(get_engine(any_db_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_upsert_updates_instead_of_duplicating(any_db_url: str) -> None:
    rows = [{"external_id": "u1", "first_name": "Ann", "locale": "en"}]
    with session_scope(any_db_url) as s:
        upsert(s, User.__table__, rows, conflict=["external_id"], update=["first_name"])
    with session_scope(any_db_url) as s:
        upsert(s, User.__table__, [{**rows[0], "first_name": "Anna"}], conflict=["external_id"], update=["first_name"])
    with session_scope(any_db_url) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1
        assert s.scalar(select(User.first_name)) == "Anna"


def test_insert_ignore_counts_only_new_rows(any_db_url: str) -> None:
    row = {"external_id": "sku1", "title": "Mug", "currency": "GBP"}
    with session_scope(any_db_url) as s:
        assert insert_ignore(s, Item.__table__, [row], conflict=["external_id"]) == 1
    with session_scope(any_db_url) as s:
        assert insert_ignore(s, Item.__table__, [row], conflict=["external_id"]) == 0
        assert s.scalar(select(func.count()).select_from(Item)) == 1
