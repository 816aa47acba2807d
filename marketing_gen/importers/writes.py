"""Bulk writes for importers: insert-or-update with exact new/updated counts, external-id resolution.

Owns the SQL the importers run (Core statements, one executemany per group, never row-by-row ORM).
Does not parse or validate rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Table, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from marketing_gen.db import get_engine
from marketing_gen.errors import InvalidRequest

LOOKUP_CHUNK = 5000
"""External ids per ``IN (…)`` lookup: well under SQLite's 32,766 bound parameters."""

SetClause = Callable[[Any, tuple[str, ...]], dict[str, Any]]
"""Given the dialect ``insert`` construct and the group's columns, extra ``SET`` expressions for the update."""


def check_schema(url: str | None) -> None:
    """Raise InvalidRequest when the database has no schema yet."""
    engine = get_engine(url)
    if not inspect(engine).has_table("users"):
        shown = make_url(str(engine.url)).render_as_string(hide_password=True)
        raise InvalidRequest(f"database {shown} has no tables: run `marketing-gen db upgrade` first")


def _insert(session: Session, table: Table) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _norm(value: Any) -> Any:
    # SQLite hands timestamps back naive (UTC, as written); PostgreSQL aware. Compare both as naive UTC.
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def write_rows(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    conflict: Sequence[str],
    *,
    extra_set: SetClause | None = None,
    touch: str | None = None,
) -> tuple[int, int]:
    """Insert new rows and update existing ones (matched on ``conflict``); returns (inserted, updated).

    Rows may carry different column sets (a JSONL key absent in one row must not blank the column):
    each distinct set is one bulk statement. ``touch`` names a timestamp column set to now on update.
    Rows must be unique on ``conflict`` within the call.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    inserted = updated = 0
    for keys, group in groups.items():
        ins = _insert(session, table).on_conflict_do_nothing(index_elements=list(conflict))
        if session.get_bind().dialect.name == "sqlite":
            # sqlite3's executemany rowcount is exact and cheaper than RETURNING; when some rows existed,
            # the update below re-applies the just-inserted rows too (same values, harmless).
            new_rows = cast(CursorResult[Any], session.execute(ins, group)).rowcount
            existing = [] if new_rows == len(group) else group
        else:
            returned = session.execute(ins.returning(*(table.c[k] for k in conflict)), group).all()
            new_rows = len(returned)
            new = {tuple(_norm(v) for v in r) for r in returned}
            existing = (
                [] if new_rows == len(group) else [r for r in group if tuple(_norm(r[k]) for k in conflict) not in new]
            )
        inserted += new_rows
        updated += len(group) - new_rows
        if not existing:
            continue
        ins = _insert(session, table)
        set_ = {k: ins.excluded[k] for k in keys if k not in conflict}
        if extra_set is not None:
            set_.update(extra_set(ins, keys))
        if not set_:
            continue
        if touch:
            set_[touch] = dt.datetime.now(dt.timezone.utc)
        session.execute(ins.on_conflict_do_update(index_elements=list(conflict), set_=set_), existing)
    return inserted, updated


def resolve_ids(session: Session, table: Table, external_ids: Iterable[str], cache: dict[str, int]) -> None:
    """Fill ``cache`` (external id → database id) for the ids not in it yet; unknown ids stay absent."""
    wanted = sorted({e for e in external_ids if e not in cache})
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        stmt = select(table.c.external_id, table.c.id).where(table.c.external_id.in_(chunk))
        cache.update({ext: id_ for ext, id_ in session.execute(stmt)})
