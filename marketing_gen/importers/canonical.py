"""Canonical-format imports: users, items, interactions, recommendations from CSV / JSONL.

Owns the file → rows → database loop: validate each row, skip and report bad ones, resolve external ids in
bulk, write batches (one transaction each) through ``writes``. Does not own parsing rules (``rows``) or the
Online Retail format (``online_retail``).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Table, case, delete, func, select
from sqlalchemy.exc import DBAPIError

from marketing_gen.channels.base import consent_flags
from marketing_gen.db import session_scope
from marketing_gen.db.models import Device, Interaction, Item, Recommendation, User
from marketing_gen.errors import InvalidRequest, ServerError
from marketing_gen.importers.readers import Source, open_source
from marketing_gen.importers.report import ImportReport
from marketing_gen.importers.rows import (
    DeviceRow,
    InteractionRow,
    ItemRow,
    RecommendationRow,
    UserRow,
    describe_validation_error,
)
from marketing_gen.importers.writes import LOOKUP_CHUNK, check_schema, resolve_ids, write_rows

BATCH_SIZE = 5000
"""Rows per batch; each batch is one transaction."""

USERS: Table = User.__table__  # type: ignore[assignment]
ITEMS: Table = Item.__table__  # type: ignore[assignment]
INTERACTIONS: Table = Interaction.__table__  # type: ignore[assignment]
RECOMMENDATIONS: Table = Recommendation.__table__  # type: ignore[assignment]
DEVICES: Table = Device.__table__  # type: ignore[assignment]
DEVICE_KEY = ["user_id", "platform", "token", "topic"]


@dataclass
class _Entry:
    row: int
    model: Any
    extras: dict[str, Any] | None


@dataclass(frozen=True)
class _Kind:
    name: str
    model: type[BaseModel]
    required: tuple[str, ...]
    known: frozenset[str]
    key: Callable[[Any], tuple[Any, ...]]
    has_attributes: bool
    parse: Callable[[dict[str, Any]], Any] | None = None


def _fields(model: type[BaseModel]) -> frozenset[str]:
    """The columns a row model reads: its fields, and for users the ``<flag>_consent`` column of each consent flag
    of the channel registry (collected into ``UserRow.consents``)."""
    known = frozenset(model.model_fields) - {"price_currency"}
    if "consents" in known:
        known = (known - {"consents"}) | {f"{flag}_consent" for flag in consent_flags()}
    return known


KINDS: dict[str, _Kind] = {
    "users": _Kind("users", UserRow, ("user_id",), _fields(UserRow), lambda m: (m.user_id,), True),
    "items": _Kind(
        "items", ItemRow, ("item_id", "title"), _fields(ItemRow), lambda m: (m.item_id,), True, ItemRow.from_record
    ),
    "interactions": _Kind(
        "interactions",
        InteractionRow,
        ("user_id", "item_id", "event", "timestamp"),
        _fields(InteractionRow),
        lambda m: (m.user_id, m.item_id, m.event, m.timestamp),
        False,
    ),
    "recommendations": _Kind(
        "recommendations",
        RecommendationRow,
        ("user_id", "item_id", "rank"),
        _fields(RecommendationRow),
        lambda m: (m.user_id, m.item_id),
        False,
    ),
    "devices": _Kind(
        "devices",
        DeviceRow,
        ("user_id", "platform"),
        _fields(DeviceRow),
        lambda m: (m.user_id, m.platform, m.token or "", m.topic or ""),
        False,
    ),
}
"""The canonical file kinds, their required columns and duplicate keys."""


def users_consent_set(ins: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """On update keep a consent's timestamp and source when the flag did not change."""
    out: dict[str, Any] = {}
    for ch in consent_flags():
        flag = f"consent_{ch}"
        if flag not in keys:
            continue
        same = USERS.c[flag] == ins.excluded[flag]
        for suffix in ("_at", "_source"):
            col = flag + suffix
            keep = func.coalesce(USERS.c[col], ins.excluded[col])
            out[col] = case((same, keep), else_=ins.excluded[col])
    return out


def user_values(m: UserRow, extras: dict[str, Any] | None, *, now: dt.datetime, source: str) -> dict[str, Any]:
    """A validated users row → column values (only the columns the row gives)."""
    given = m.model_fields_set
    row: dict[str, Any] = {"external_id": m.user_id}
    for col in ("email", "first_name", "last_name", "locale", "country", "phone", "timezone"):  # not the tokens
        if col in given:
            row[col] = getattr(m, col)
    if "locale" in row and row["locale"] is None:
        row["locale"] = "en"
    for ch in consent_flags():
        flag = m.consents.get(ch)
        if flag is not None:
            row[f"consent_{ch}"] = flag
            row[f"consent_{ch}_at"] = now
            row[f"consent_{ch}_source"] = source
    if extras is not None:
        row["attributes"] = extras
    return row


def item_values(m: ItemRow, extras: dict[str, Any] | None) -> dict[str, Any]:
    """A validated items row → column values (only the columns the row gives)."""
    given = m.model_fields_set
    row: dict[str, Any] = {"external_id": m.item_id, "title": m.title}
    for col in ("description", "category", "url", "image_url"):
        if col in given:
            row[col] = getattr(m, col)
    if "price" in given:
        row["price"] = m.price
    currency = m.currency or m.price_currency
    if currency:
        row["currency"] = currency
    if m.in_stock is not None:
        row["in_stock"] = m.in_stock
    if extras is not None:
        row["attributes"] = extras
    return row


class _Importer:
    """One run of one canonical import (state: the report, id caches, duplicate keys)."""

    def __init__(self, kind: _Kind, source: Source, url: str | None, batch_size: int) -> None:
        self.kind = kind
        self.source = source
        self.url = url
        self.batch_size = batch_size
        self.report = ImportReport(kind=kind.name, path=str(source.path))
        self.now = dt.datetime.now(dt.timezone.utc)
        self.source_tag = f"import:{source.path.name}"[:64]
        self.seen: dict[tuple[Any, ...], int] = {}
        self.user_ids: dict[str, int] = {}
        self.item_ids: dict[str, int] = {}
        self.warned_currency = False
        self.rec_items: dict[int, set[int]] = {}
        self.suppression_list: bool | None = None

    def run(self, progress: bool) -> ImportReport:
        from tqdm import tqdm

        if self.source.format == "csv":
            ignored = [c for c in self.source.columns if c not in self.kind.known]
            if ignored and not self.kind.has_attributes:
                self.report.warn(None, ", ".join(ignored), "column(s) not used for this kind; ignored")
        batch: dict[tuple[Any, ...], _Entry] = {}
        bar = tqdm(
            total=self.source.estimated_rows or None,
            unit="row",
            file=sys.stderr,
            disable=not progress,
            desc=f"import {self.kind.name}",
        )
        with bar:
            for rec in self.source.records():
                bar.update(1)
                if rec.error is not None or rec.values is None:
                    self.report.reject(rec.row, [("row", rec.error or "unreadable row")])
                    continue
                entry = self._validate(rec.row, rec.values)
                if entry is None:
                    continue
                key = self.kind.key(entry.model)
                earlier = self.seen.get(key)
                if earlier is not None:
                    self.report.duplicates += 1
                    what = "/".join(str(k) for k in key)
                    reason = f"duplicate of row {earlier} ({what}); this later row wins"
                    self.report.warn(rec.row, self.kind.required[0], reason)
                self.seen[key] = rec.row
                batch.pop(key, None)  # keep file order: the later row goes to the end
                batch[key] = entry
                if len(batch) >= self.batch_size:
                    self._flush(batch)
                    batch = {}
            if batch:
                self._flush(batch)
        if self.kind.name == "recommendations" and self.rec_items:
            self._remove_stale_recommendations()
        return self.report

    def _remove_stale_recommendations(self) -> None:
        """The file replaces each listed user's upstream list: drop their upstream items it no longer has."""
        users = sorted(self.rec_items)
        removed = 0
        with session_scope(self.url) as session:
            for start in range(0, len(users), LOOKUP_CHUNK):
                chunk = users[start : start + LOOKUP_CHUNK]
                stmt = select(RECOMMENDATIONS.c.id, RECOMMENDATIONS.c.user_id, RECOMMENDATIONS.c.item_id).where(
                    RECOMMENDATIONS.c.source == "upstream", RECOMMENDATIONS.c.user_id.in_(chunk)
                )
                stale = [id_ for id_, uid, iid in session.execute(stmt) if iid not in self.rec_items[uid]]
                for i in range(0, len(stale), LOOKUP_CHUNK):
                    ids = stale[i : i + LOOKUP_CHUNK]
                    session.execute(delete(RECOMMENDATIONS).where(RECOMMENDATIONS.c.id.in_(ids)))
                removed += len(stale)
        if removed:
            self.report.tables["recommendations_removed"] = {"deleted": removed}
            self.report.warn(None, "item_id", f"removed {removed} earlier upstream recommendation(s) of these users")

    def _validate(self, row: int, values: dict[str, Any]) -> _Entry | None:
        try:
            parse = self.kind.parse or self.kind.model.model_validate
            model = parse(values)
        except ValidationError as exc:
            self.report.reject(row, describe_validation_error(exc))
            return None
        extras = None
        if self.kind.has_attributes:
            extra_cols = [k for k in values if k not in self.kind.known and k]
            if extra_cols:
                extras = {k: values[k] for k in extra_cols if values[k] not in ("", None)}
        if isinstance(model, ItemRow):
            if model.currency and model.price_currency and model.currency != model.price_currency:
                self.report.reject(
                    row,
                    [("price", f"price symbol means {model.price_currency} but currency is {model.currency}")],
                )
                return None
            if model.price is not None and not (model.currency or model.price_currency) and not self.warned_currency:
                self.warned_currency = True
                self.report.warn(row, "currency", "no currency column and no symbol on the price: new items get USD")
        return _Entry(row, model, extras)

    def _flush(self, batch: dict[tuple[Any, ...], _Entry]) -> None:
        entries = list(batch.values())
        rows_span = f"rows {min(e.row for e in entries)}–{max(e.row for e in entries)}"
        try:
            with session_scope(self.url) as session:
                if self.kind.name == "users":
                    rows = [user_values(e.model, e.extras, now=self.now, source=self.source_tag) for e in entries]
                    counts = write_rows(
                        session, USERS, rows, ["external_id"], extra_set=users_consent_set, touch="updated_at"
                    )
                    self._apply_suppressions(session, [r["external_id"] for r in rows])
                    self._write_user_devices(session, entries)
                elif self.kind.name == "items":
                    rows = [item_values(e.model, e.extras) for e in entries]
                    counts = write_rows(session, ITEMS, rows, ["external_id"], touch="updated_at")
                else:
                    counts = self._write_linked(session, entries)
        except DBAPIError as exc:
            done = self.report.imported + self.report.updated
            raise ServerError(
                f"{self.source.path}: batch {self.report.batches + 1} ({rows_span}) failed and was rolled back "
                f"({type(exc.orig).__name__}: {str(exc.orig).strip().splitlines()[0]}); {done} rows from earlier "
                "batches were committed. Fix the problem and re-run the import: it updates, never duplicates."
            ) from exc
        self.report.batches += 1
        self.report.imported += counts[0]
        self.report.updated += counts[1]
        self.report.count_table(self.kind.name, *counts)

    def _apply_suppressions(self, session: Any, external_ids: list[str]) -> None:
        """Users on a stored suppression list are opted out as they arrive (same transaction as their rows)."""
        from marketing_gen.importers.suppressions import apply_stored_suppressions, has_stored_suppressions

        if self.suppression_list is None:
            self.suppression_list = has_stored_suppressions(session)
        if not self.suppression_list:
            return
        ids = list(session.scalars(select(USERS.c.id).where(USERS.c.external_id.in_(external_ids))))
        applied = apply_stored_suppressions(session, ids)
        if applied["opted_out"]:
            totals = self.report.tables.setdefault("suppression_list", dict.fromkeys(applied, 0))
            for key, n in applied.items():
                totals[key] += n

    def _write_user_devices(self, session: Any, entries: list[_Entry]) -> None:
        """The users file's ``apns_token`` / ``fcm_token`` columns → device rows (counted under ``devices``)."""
        tokens = [(e.model.user_id, p, t) for e in entries for p, t in (("apns", e.model.apns_token),
                  ("fcm", e.model.fcm_token)) if t]  # fmt: skip
        if not tokens:
            return
        resolve_ids(session, USERS, (u for u, _, _ in tokens), self.user_ids)
        rows = [device_values(self.user_ids[u], p, t, None) for u, p, t in tokens]
        self.report.count_table("devices", *write_rows(session, DEVICES, rows, DEVICE_KEY, touch="updated_at"))

    def _write_devices(self, session: Any, entries: list[_Entry]) -> tuple[int, int]:
        resolve_ids(session, USERS, (e.model.user_id for e in entries), self.user_ids)
        rows = []
        for e in entries:
            m = e.model
            if m.user_id not in self.user_ids:
                self.report.reject(e.row, [("user_id", f"unknown user_id {m.user_id!r} (import users first)")])
                continue
            rows.append(device_values(self.user_ids[m.user_id], m.platform, m.token, m.topic))
        return write_rows(session, DEVICES, rows, DEVICE_KEY, touch="updated_at") if rows else (0, 0)

    def _write_linked(self, session: Any, entries: list[_Entry]) -> tuple[int, int]:
        if isinstance(entries[0].model, DeviceRow):
            return self._write_devices(session, entries)
        resolve_ids(session, USERS, (e.model.user_id for e in entries), self.user_ids)
        resolve_ids(session, ITEMS, (e.model.item_id for e in entries), self.item_ids)
        rows = []
        for e in entries:
            m = e.model
            problems = []
            if m.user_id not in self.user_ids:
                problems.append(("user_id", f"unknown user_id {m.user_id!r} (import users first)"))
            if m.item_id not in self.item_ids:
                problems.append(("item_id", f"unknown item_id {m.item_id!r} (import items first)"))
            if problems:
                self.report.reject(e.row, problems)
                continue
            row: dict[str, Any] = {"user_id": self.user_ids[m.user_id], "item_id": self.item_ids[m.item_id]}
            if isinstance(m, InteractionRow):
                row.update(event=m.event, ts=m.timestamp, quantity=m.quantity)
                if "value" in m.model_fields_set:
                    row["value"] = m.value
            else:
                row.update(source="upstream", rank=m.rank, score=m.score, generated_at=self.now)
                self.rec_items.setdefault(row["user_id"], set()).add(row["item_id"])
            rows.append(row)
        if isinstance(entries[0].model, InteractionRow):
            return write_rows(session, INTERACTIONS, rows, ["user_id", "item_id", "event", "ts"])
        return write_rows(session, RECOMMENDATIONS, rows, ["user_id", "source", "item_id"])


def device_values(user_id: int, platform: str, token: str | None, topic: str | None) -> dict[str, Any]:
    """One ``devices`` row (``""`` for a missing token or topic, so the unique key holds on every database)."""
    return {"user_id": user_id, "platform": platform, "token": token or "", "topic": topic or ""}


def import_file(
    kind: str,
    path: str | Path,
    *,
    url: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: bool = False,
) -> ImportReport:
    """Import a users / items / interactions / recommendations / online-retail / brand / suppressions file.

    Bad rows are skipped and reported; problems that would import nothing (unreadable file, missing required
    column, no schema) raise InvalidRequest before anything is written. Each batch is one transaction.
    """
    started = time.perf_counter()
    if kind == "online-retail":
        from marketing_gen.importers.online_retail import import_online_retail

        report = import_online_retail(path, url=url, batch_size=batch_size, progress=progress)
    elif kind == "brand":
        from marketing_gen.importers.brand import import_brand

        report = import_brand(path, url=url)
    elif kind == "suppressions":
        from marketing_gen.importers.suppressions import import_suppressions

        report = import_suppressions(path, url=url, batch_size=batch_size, progress=progress)
    elif kind in KINDS:
        if batch_size < 1:
            raise InvalidRequest(f"batch_size must be at least 1, got {batch_size}")
        spec = KINDS[kind]
        source = open_source(path, required=spec.required)
        check_schema(url)
        report = _Importer(spec, source, url, batch_size).run(progress)
    else:
        choices = ", ".join([*KINDS, "online-retail", "brand", "suppressions"])
        raise InvalidRequest(f"unknown import kind {kind!r}: use one of {choices}")
    report.seconds = time.perf_counter() - started
    return report
