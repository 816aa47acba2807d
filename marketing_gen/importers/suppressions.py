"""Import a store's existing suppression list (CSV / JSONL): emails, phones or user ids not to be marketed to.

Owns file → opt-outs. Each row names a user by ``user_id`` (the store's external id), ``email`` or ``phone``, and
optionally a ``channel`` (email, sms, push, ads, google_ads_rsa, meta_ad, or ``all``). Without a channel an email
row stops email, a phone row stops SMS and a user-id row stops every channel (the user is ``suppressed``). Each
batch is one transaction that records the opt-outs AND cancels the users' open drafts and not-yet-sent outbox rows
(``campaigns.eligibility``). Rows that match no user are reported: the list applies to users already imported.
Does not own the consent rule itself (``campaigns.eligibility``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketing_gen.campaigns.eligibility import ALL_CHANNELS, Cancelled, lock_users, opt_out, suppress
from marketing_gen.contexts import CONSENT_FOR_CHANNEL
from marketing_gen.db import serial_scope
from marketing_gen.db.models import User
from marketing_gen.errors import InvalidRequest
from marketing_gen.importers.readers import open_source
from marketing_gen.importers.report import ImportReport
from marketing_gen.importers.writes import check_schema

KEYS = ("user_id", "email", "phone")
"""Columns that name a user; a row needs at least one."""

CHANNEL_VALUES = (*CONSENT_FOR_CHANNEL, *sorted(set(CONSENT_FOR_CHANNEL.values()) - set(CONSENT_FOR_CHANNEL)), "all")
"""What the optional ``channel`` column accepts."""

_DEFAULT_CHANNEL = {"user_id": "all", "email": "email", "phone": "sms"}
_PHONE_NOISE = re.compile(r"[\s\-().]")


def normalize_phone(value: str) -> str:
    """``+44 (0)20-7946 0958`` → ``+44020794 60958`` without spaces, dashes, dots and brackets."""
    return _PHONE_NOISE.sub("", value.strip())


def _phone_sql(column: Any) -> Any:
    expr = column
    for ch in (" ", "-", "(", ")", "."):
        expr = func.replace(expr, ch, "")
    return expr


@dataclass(frozen=True)
class _Entry:
    row: int
    key: str
    """Which column named the user: user_id, email or phone."""
    value: str
    """The value, normalised for matching (lower-cased email, phone without separators)."""
    channel: str


def _entries(row: int, values: dict[str, Any]) -> tuple[list[_Entry], list[tuple[str, str]]]:
    """The opt-outs one row asks for, or its problems."""
    raw_channel = str(values.get("channel") or "").strip().lower()
    if raw_channel and raw_channel not in CHANNEL_VALUES and raw_channel not in ALL_CHANNELS:
        return [], [("channel", f"unknown channel {raw_channel!r}; use one of {', '.join(CHANNEL_VALUES)}")]
    entries: list[_Entry] = []
    problems: list[tuple[str, str]] = []
    for key in KEYS:
        text = str(values.get(key) or "").strip()
        if not text:
            continue
        if key == "email":
            if "@" not in text or any(c in text for c in "\r\n\t "):
                problems.append(("email", f"not an email address: {text!r}"))
                continue
            text = text.lower()
        elif key == "phone":
            text = normalize_phone(text)
            if not re.fullmatch(r"\+?\d{5,20}", text):
                problems.append(("phone", f"not a phone number: {values.get(key)!r}"))
                continue
        entries.append(_Entry(row, key, text, raw_channel or _DEFAULT_CHANNEL[key]))
    if not entries and not problems:
        problems.append(("row", f"names no user: give one of {', '.join(KEYS)}"))
    return entries, problems


def _match(session: Session, entries: list[_Entry]) -> dict[tuple[str, str], list[int]]:
    """(key, value) → matching user ids, one query per key column."""
    found: dict[tuple[str, str], list[int]] = {}
    by_key: dict[str, set[str]] = {}
    for e in entries:
        by_key.setdefault(e.key, set()).add(e.value)
    columns = {
        "user_id": User.external_id,
        "email": func.lower(User.email),
        "phone": _phone_sql(User.phone),
    }
    for key, values in by_key.items():
        column = columns[key]
        for uid, value in session.execute(select(User.id, column).where(column.in_(sorted(values)))):
            found.setdefault((key, str(value)), []).append(int(uid))
    return found


def _apply(session: Session, entries: list[_Entry], report: ImportReport, cancelled: Cancelled) -> None:
    """Match, lock and opt out one batch (the caller's transaction)."""
    matches = _match(session, entries)
    users = {u.id: u for u in lock_users(session, (uid for ids in matches.values() for uid in ids))}
    wanted: dict[str, set[int]] = {}
    for e in entries:
        ids = matches.get((e.key, e.value), [])
        if not ids:
            report.warn(e.row, e.key, f"no user with {e.key} {e.value!r} (import users first, then this file again)")
            continue
        for uid in ids:
            user = users[uid]
            done = user.suppressed or (e.channel != "all" and e.channel in (user.unsubscribed_channels or []))
            report.updated += int(done)
            report.imported += int(not done)
            wanted.setdefault(e.channel, set()).add(uid)
    everything = wanted.pop("all", set()) | wanted.pop("*", set())
    cancelled.add(suppress(session, [users[uid] for uid in sorted(everything)]))
    for channel, ids in sorted(wanted.items()):
        cancelled.add(opt_out(session, [users[uid] for uid in sorted(ids - everything)], channel))


def import_suppressions(
    path: str | Path, *, url: str | None = None, batch_size: int = 5000, progress: bool = False
) -> ImportReport:
    """Apply a suppression list: every matched user is opted out and their open work cancelled, batch by batch."""
    from tqdm import tqdm

    if batch_size < 1:
        raise InvalidRequest(f"batch_size must be at least 1, got {batch_size}")
    source = open_source(path)
    if source.format == "csv" and not set(KEYS) & set(source.columns):
        raise InvalidRequest(
            f"{path}: needs a user_id, email or phone column; the header has {', '.join(source.columns)}. "
            "Nothing was imported."
        )
    check_schema(url)
    report = ImportReport(kind="suppressions", path=str(source.path))
    cancelled = Cancelled()
    batch: list[_Entry] = []

    def flush(entries: Iterable[_Entry]) -> None:
        with serial_scope(url) as session:
            _apply(session, list(entries), report, cancelled)
        report.batches += 1

    bar = tqdm(total=source.estimated_rows or None, unit="row", file=sys.stderr, disable=not progress,
               desc="import suppressions")  # fmt: skip
    with bar:
        for rec in source.records():
            bar.update(1)
            if rec.error is not None or rec.values is None:
                report.reject(rec.row, [("row", rec.error or "unreadable row")])
                continue
            entries, problems = _entries(rec.row, rec.values)
            if problems:
                report.reject(rec.row, problems)
                continue
            batch.extend(entries)
            if len(batch) >= batch_size:
                flush(batch)
                batch = []
        if batch:
            flush(batch)
    report.count_table("users", report.imported, report.updated)
    report.tables["cancelled"] = cancelled.to_dict()
    return report
