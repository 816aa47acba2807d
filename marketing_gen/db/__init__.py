"""Database access: engine per URL, ``session_scope`` transactions, bulk upsert / insert-ignore, migrations.

Owns connections and schema. Does not own business rules (campaigns, recommend own those).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from marketing_gen.config import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the worker write while the CLI reads progress; busy_timeout waits on locks instead of failing.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """One engine per database URL per process (default: settings.database_url)."""
    url = url or get_settings().database_url
    if url.startswith("sqlite"):
        eng = create_engine(url, connect_args={"timeout": 30})
        event.listen(eng, "connect", _sqlite_pragmas)
        return eng
    return create_engine(url, pool_pre_ping=True)


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """A sessionmaker bound to the engine for ``url``."""
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A transaction: commit on success, roll back on any error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def serial_scope(url: str | None = None) -> Iterator[Session]:
    """A transaction that reads and writes as one step against other writers.

    SQLite: ``BEGIN IMMEDIATE`` takes the write lock before the first read (the driver would otherwise read
    outside any transaction and begin one only at the first write), so check-then-write is serialised.
    PostgreSQL: a plain transaction; callers take the row or advisory locks their check needs.
    """
    with session_scope(url) as session:
        if session.get_bind().dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session


def _dialect_insert(session: Session, table: Table) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(f"unsupported database dialect {name!r}")
    return insert(table)


def insert_ignore(session: Session, table: Table, rows: Sequence[dict[str, Any]], conflict: Sequence[str]) -> int:
    """Bulk INSERT … ON CONFLICT (conflict) DO NOTHING; returns how many rows were inserted."""
    if not rows:
        return 0
    pk = list(table.primary_key.columns)[0]
    stmt = _dialect_insert(session, table).on_conflict_do_nothing(index_elements=list(conflict)).returning(pk)
    # rowcount is unreliable for executemany on psycopg; RETURNING counts exactly the inserted rows.
    return len(session.execute(stmt, list(rows)).all())


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Bulk INSERT … ON CONFLICT (conflict) DO UPDATE SET update-columns = excluded values."""
    if not rows:
        return
    ins = _dialect_insert(session, table)
    stmt = ins.on_conflict_do_update(index_elements=list(conflict), set_={c: getattr(ins.excluded, c) for c in update})
    session.execute(stmt, list(rows))


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Run Alembic migrations up to ``revision`` on the database at ``url``."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    command.upgrade(cfg, revision)
