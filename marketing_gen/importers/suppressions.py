"""Import a store's existing suppression list (CSV / JSONL): emails, phones or user ids not to be marketed to.

Owns file → opt-outs. Each row names a user by ``user_id`` (the store's external id), ``email`` or ``phone``
(E.164, or national with a ``country`` column), and optionally a ``channel`` (email, sms, push, ads,
google_ads_rsa, meta_ad, or ``all``). Without a channel an email row stops email, a phone row stops SMS and a
user-id row stops every channel (the user is ``suppressed``). Each batch is one transaction that stores the
entries, records the opt-outs AND cancels the users' open drafts and not-yet-sent outbox rows
(``campaigns.eligibility``). Entries are kept (``suppression_entries``): a user imported later that matches one is
opted out on arrival (``apply_stored_suppressions``, called by the users importer).
Does not own the consent rule itself (``campaigns.eligibility``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from marketing_gen.campaigns.eligibility import ALL_CHANNELS, Cancelled, lock_users, opt_out, suppress
from marketing_gen.channels.base import consent_flags, marketing_channels
from marketing_gen.db import insert_ignore, serial_scope
from marketing_gen.db.models import SuppressionEntry, User, utcnow
from marketing_gen.errors import InvalidRequest
from marketing_gen.importers.phones import region_of, to_e164
from marketing_gen.importers.readers import open_source
from marketing_gen.importers.report import ImportReport
from marketing_gen.importers.writes import check_schema

KEYS = ("user_id", "email", "phone")
"""Columns that name a user; a row needs at least one."""

ENTRIES: Table = SuppressionEntry.__table__  # type: ignore[assignment]

_DEFAULT_CHANNEL = {"user_id": "all", "email": "email", "phone": "sms"}
_PHONE_NOISE = re.compile(r"[\s\-().]")


def channel_values() -> tuple[str, ...]:
    """What the optional ``channel`` column accepts: a marketing channel, a consent flag (``ads``), or ``all``."""
    channels = marketing_channels()
    return (*channels, *sorted(set(consent_flags()) - set(channels)), "all")


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
    accepted = channel_values()
    if raw_channel and raw_channel not in accepted and raw_channel not in ALL_CHANNELS:
        return [], [("channel", f"unknown channel {raw_channel!r}; use one of {', '.join(accepted)}")]
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
            try:  # E.164, as the users importer stores phones (a national number needs the row's country)
                text = to_e164(text, region_of(str(values.get("country") or "") or None))
            except ValueError as exc:
                problems.append(("phone", str(exc)))
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


def _opt_out(session: Session, wanted: dict[str, set[int]], counts: dict[str, int]) -> Cancelled:
    """Opt out ``channel → user ids`` (``all`` = suppress); counts (user, channel) pairs newly / already in effect."""
    users = {u.id: u for u in lock_users(session, (uid for ids in wanted.values() for uid in ids))}
    for channel, ids in wanted.items():
        for uid in ids:
            user = users[uid]
            done = user.suppressed or (channel not in ALL_CHANNELS and channel in (user.unsubscribed_channels or []))
            counts["updated" if done else "imported"] += 1
    everything = wanted.get("all", set()) | wanted.get("*", set())
    cancelled = suppress(session, [users[uid] for uid in sorted(everything)])
    for channel, ids in sorted(wanted.items()):
        if channel not in ALL_CHANNELS:
            cancelled.add(opt_out(session, [users[uid] for uid in sorted(ids - everything)], channel))
    return cancelled


def _store(session: Session, entries: list[_Entry], source: str) -> int:
    """Keep the entries (so users imported later are opted out on arrival); returns how many were new."""
    now = utcnow()
    rows = {
        (e.key, e.value, e.channel): {
            "kind": e.key,
            "value": e.value,
            "channel": e.channel,
            "source": source,
            "created_at": now,
        }  # fmt: skip
        for e in entries
    }
    return insert_ignore(session, ENTRIES, list(rows.values()), ["kind", "value", "channel"])


def _apply(session: Session, entries: list[_Entry], report: ImportReport, state: _Run) -> None:
    """Store, match, lock and opt out one batch (the caller's transaction)."""
    unique = {(e.key, e.value, e.channel) for e in entries}
    new = _store(session, entries, state.source)
    report.imported += new
    report.updated += len(unique) - new
    matches = _match(session, entries)
    wanted: dict[str, set[int]] = {}
    for e in entries:
        ids = matches.get((e.key, e.value), [])
        if not ids:
            state.unmatched += 1
            report.warn(e.row, e.key, f"no user with {e.key} {e.value!r} yet: kept, applied when one is imported")
        for uid in ids:
            wanted.setdefault(e.channel, set()).add(uid)
    state.cancelled.add(_opt_out(session, wanted, state.users))


def apply_stored_suppressions(session: Session, user_ids: Sequence[int]) -> dict[str, int]:
    """Opt out the given (just imported) users who match a stored suppression entry, in the caller's transaction;
    returns ``{"opted_out": (user, channel) pairs newly opted out, "cancelled_drafts": n, "cancelled_outbox": n}``."""
    counts = {"imported": 0, "updated": 0}
    if not user_ids:
        return {"opted_out": 0, "cancelled_drafts": 0, "cancelled_outbox": 0}
    users = session.execute(
        select(User.id, User.external_id, func.lower(User.email), User.phone).where(User.id.in_(list(user_ids)))
    ).all()
    keys: dict[tuple[str, str], list[int]] = {}
    for uid, external_id, email, phone in users:
        keys.setdefault(("user_id", external_id), []).append(uid)
        if email:
            keys.setdefault(("email", email), []).append(uid)
        if phone:
            keys.setdefault(("phone", normalize_phone(phone)), []).append(uid)
    wanted: dict[str, set[int]] = {}
    for kind in KEYS:
        values = sorted(v for k, v in keys if k == kind)
        if not values:
            continue
        for value, channel in session.execute(
            select(SuppressionEntry.value, SuppressionEntry.channel).where(
                SuppressionEntry.kind == kind, SuppressionEntry.value.in_(values)
            )
        ):
            wanted.setdefault(channel, set()).update(keys[(kind, value)])
    cancelled = _opt_out(session, wanted, counts) if wanted else Cancelled()
    return {"opted_out": counts["imported"], "cancelled_drafts": cancelled.drafts, "cancelled_outbox": cancelled.outbox}


def has_stored_suppressions(session: Session) -> bool:
    """Whether any suppression list was imported (users imports skip the check otherwise)."""
    return session.scalar(select(SuppressionEntry.id).limit(1)) is not None


@dataclass
class _Run:
    source: str
    cancelled: Cancelled = field(default_factory=Cancelled)
    users: dict[str, int] = field(default_factory=lambda: {"imported": 0, "updated": 0})
    unmatched: int = 0


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
    state = _Run(source=f"import:{source.path.name}"[:64])
    batch: list[_Entry] = []

    def flush(entries: Iterable[_Entry]) -> None:
        with serial_scope(url) as session:
            _apply(session, list(entries), report, state)
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
    report.count_table("suppression_entries", report.imported, report.updated)
    report.tables["users_opted_out"] = {**state.users, "unmatched_entries": state.unmatched}
    report.tables["cancelled"] = state.cancelled.to_dict()
    return report
