"""Outcome events per draft: validate, resolve to a draft, store once (duplicates reported, never counted twice).

An event names its draft by ``draft_id`` or by ``(campaign_id, user_id, channel, variant)``. Its dedup key is
``id:<event_id>`` when the sender gives an id, else ``<draft>:<event>:<UTC timestamp>``; storage is
``INSERT … ON CONFLICT DO NOTHING`` on that key, so re-importing a file or a retried webhook changes nothing.
``unsubscribe`` and ``complaint`` events also opt their user out (``campaigns.eligibility``) in the same
transaction: open drafts and not-yet-sent outbox rows on that channel stop at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from marketing_gen.campaigns.eligibility import Cancelled, lock_users, opt_out, suppress
from marketing_gen.db import insert_ignore, serial_scope
from marketing_gen.db.models import Draft, FeedbackEvent, User
from marketing_gen.delivery.suppression import apply_delivery_outcomes
from marketing_gen.errors import InvalidRequest

EVENTS: tuple[str, ...] = (
    "sent",
    "delivered",
    "open",
    "click",
    "convert",
    "unsubscribe",
    "complaint",
    "bounce",
    "reply_picked",
)
"""Every outcome the feedback loop knows."""

OPT_OUT_EVENTS = ("unsubscribe", "complaint", "bounce")
"""Events that stop marketing to their user and cancel open work: an unsubscribe (that channel), a spam complaint or
hard bounce (every channel: the user is suppressed)."""

MAX_ERRORS = 50
"""At most this many per-row messages are kept in an ``IngestReport`` (counts stay exact)."""

_KNOWN_KEYS = {"draft_id", "campaign_id", "user_id", "channel", "variant", "event", "timestamp", "value", "event_id"}
_CHUNK = 500


@dataclass
class IngestReport:
    """What one ingestion did with its rows; every row lands in exactly one count."""

    recorded: int = 0
    """New events stored."""
    duplicates: int = 0
    """Rows whose event was already stored (or repeated within the batch)."""
    unknown_drafts: int = 0
    """Well-formed rows that name no existing draft."""
    rejected: int = 0
    """Malformed rows: unknown event, bad timestamp, no draft reference."""
    errors: list[str] = field(default_factory=list)
    """The first ``MAX_ERRORS`` problems, one line each, with the row number."""
    cancelled: Cancelled = field(default_factory=Cancelled)
    """Open drafts and unsent outbox rows stopped by the file's unsubscribe / complaint events."""

    def note(self, message: str) -> None:
        """Keep a problem line (bounded)."""
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "unknown_drafts": self.unknown_drafts,
            "rejected": self.rejected,
            "cancelled": self.cancelled.to_dict(),
            "errors": list(self.errors),
        }


@dataclass(frozen=True)
class _Parsed:
    row_no: int
    event: str
    ts: dt.datetime
    value: float | None
    event_id: str | None
    draft_id: int | None
    key: tuple[int, int, str, int] | None  # (campaign_id, user_id, channel, variant)
    extra: dict[str, Any]


def parse_timestamp(value: Any) -> dt.datetime:
    """ISO 8601 string, epoch seconds or datetime → aware UTC datetime (naive input is taken as UTC)."""
    if isinstance(value, dt.datetime):
        ts = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ts = dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            ts = dt.datetime.fromtimestamp(float(text), tz=dt.timezone.utc)
        except ValueError:
            try:
                ts = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError as exc:
                raise InvalidRequest(f"timestamp {value!r} is not ISO 8601 or epoch seconds") from exc
    else:
        raise InvalidRequest(f"timestamp {value!r} is missing or not a date")
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.timezone.utc)
    return ts.astimezone(dt.timezone.utc)


def dedup_key(draft_id: int | None, event: str, ts: dt.datetime, event_id: str | None = None) -> str:
    """The unique key an event is stored under (explicit event id wins over draft+event+timestamp)."""
    if event_id:
        return f"id:{event_id}"[:256]
    return f"{draft_id}:{event}:{ts.astimezone(dt.timezone.utc).isoformat()}"


def _int(row: Mapping[str, Any], name: str) -> int | None:
    raw = row.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise InvalidRequest(f"{name}={raw!r} is not an integer")
    try:
        return int(str(raw).strip()) if not isinstance(raw, int) else raw
    except ValueError as exc:
        raise InvalidRequest(f"{name}={raw!r} is not an integer") from exc


def _parse(row_no: int, row: Mapping[str, Any]) -> _Parsed:
    if not isinstance(row, Mapping):
        raise InvalidRequest("row is not an object")
    event = str(row.get("event") or "").strip().lower()
    if event not in EVENTS:
        raise InvalidRequest(f"event={row.get('event')!r} is not one of {', '.join(EVENTS)}")
    if row.get("timestamp") in (None, "") and not row.get("event_id"):
        raise InvalidRequest("needs a timestamp (or an event_id) so duplicates can be recognised")
    ts = parse_timestamp(row["timestamp"]) if row.get("timestamp") not in (None, "") else _now()
    raw_value = row.get("value")
    try:
        value = float(raw_value) if raw_value not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"value={raw_value!r} is not a number") from exc
    draft_id = _int(row, "draft_id")
    key = None
    if draft_id is None:
        campaign_id, user_id, variant = _int(row, "campaign_id"), _int(row, "user_id"), _int(row, "variant")
        channel = str(row.get("channel") or "").strip()
        if campaign_id is None or user_id is None or not channel:
            raise InvalidRequest("needs draft_id, or campaign_id + user_id + channel (+ variant, default 0)")
        key = (campaign_id, user_id, channel, variant or 0)
    event_id = str(row["event_id"]).strip() if row.get("event_id") not in (None, "") else None
    extra = {k: v for k, v in row.items() if k not in _KNOWN_KEYS and v not in (None, "")}
    return _Parsed(row_no, event, ts, value, event_id, draft_id, key, extra)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _chunks(seq: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _resolve(session: Session, parsed: list[_Parsed]) -> dict[Any, tuple[int, int, str]]:
    """draft_id or key tuple → (draft_id, user_id, channel), in one query per chunk."""
    found: dict[Any, tuple[int, int, str]] = {}
    ids = sorted({p.draft_id for p in parsed if p.draft_id is not None})
    for chunk in _chunks(ids):
        q = select(Draft.id, Draft.user_id, Draft.channel).where(Draft.id.in_(chunk))
        for did, uid, ch in session.execute(q):
            found[did] = (did, uid, ch)
    keys = sorted({p.key for p in parsed if p.key is not None})
    for chunk in _chunks(keys):
        q = select(Draft.id, Draft.campaign_id, Draft.user_id, Draft.channel, Draft.variant).where(
            tuple_(Draft.campaign_id, Draft.user_id, Draft.channel, Draft.variant).in_(list(chunk))
        )
        for did, cid, uid, ch, var in session.execute(q):
            found[(cid, uid, ch, var)] = (did, uid, ch)
    return found


def record_events(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert FeedbackEvent rows (dicts with dedup_key) ignoring known keys; returns how many were new."""
    return insert_ignore(session, FeedbackEvent.__table__, rows, conflict=["dedup_key"])


def record_event(
    session: Session,
    *,
    draft_id: int | None,
    user_id: int | None,
    channel: str | None,
    event: str,
    ts: dt.datetime | None = None,
    value: float | None = None,
    payload: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> bool:
    """Store one event inside the caller's transaction; False when it was a duplicate.

    ``draft_id`` may be None only with an ``event_id`` (e.g. an unsubscribe whose draft was deleted).
    """
    if draft_id is None and not event_id:
        raise InvalidRequest("an event without a draft needs an event_id")
    if event not in EVENTS:
        raise InvalidRequest(f"event={event!r} is not one of {', '.join(EVENTS)}")
    ts = ts or _now()
    row = {
        "draft_id": draft_id,
        "user_id": user_id,
        "channel": channel,
        "event": event,
        "ts": ts,
        "value": value,
        "dedup_key": dedup_key(draft_id, event, ts, event_id),
        "payload": payload or {},
        "created_at": _now(),
    }
    return record_events(session, [row]) == 1


def ingest_events(rows: Iterable[Mapping[str, Any]], *, url: str | None = None) -> IngestReport:
    """Validate, resolve and store outcome events; unknown drafts and duplicates are reported, not stored."""
    report = IngestReport()
    parsed: list[_Parsed] = []
    for row_no, row in enumerate(rows, start=1):
        try:
            parsed.append(_parse(row_no, row))
        except InvalidRequest as exc:
            report.rejected += 1
            report.note(f"row {row_no}: rejected: {exc}")
    if not parsed:
        return report
    with serial_scope(url) as session:
        drafts = _resolve(session, parsed)
        to_insert: dict[str, dict[str, Any]] = {}
        now = _now()
        for p in parsed:
            ref = p.draft_id if p.draft_id is not None else p.key
            hit = drafts.get(ref)
            if hit is None:
                report.unknown_drafts += 1
                report.note(f"row {p.row_no}: unknown draft {ref}")
                continue
            did, uid, channel = hit
            key = dedup_key(did, p.event, p.ts, p.event_id)
            if key in to_insert:
                report.duplicates += 1
                continue
            to_insert[key] = {
                "draft_id": did,
                "user_id": uid,
                "channel": channel,
                "event": p.event,
                "ts": p.ts,
                "value": p.value,
                "dedup_key": key,
                "payload": p.extra,
                "created_at": now,
            }
        batch = list(to_insert.values())
        for chunk in _chunks(batch, 1000):
            new = record_events(session, chunk)
            report.recorded += new
            report.duplicates += len(chunk) - new
        apply_delivery_outcomes(session, batch)  # hard bounces / complaints → suppression (and shared addresses)
        # Duplicates too: an opt-out must hold even if its event was stored before opt-outs were applied.
        report.cancelled = apply_opt_outs(session, [(r["user_id"], r["channel"], r["event"]) for r in batch])
    return report


def apply_opt_outs(session: Session, events: Sequence[tuple[int, str, str]]) -> Cancelled:
    """Apply ``(user_id, channel, event)`` opt-outs in the caller's transaction: ``unsubscribe`` → that channel,
    ``complaint`` / ``bounce`` → suppression (every channel); each cancels the user's open work at once."""
    wanted = sorted({(uid, ch, ev) for uid, ch, ev in events if ev in OPT_OUT_EVENTS and uid is not None})
    out = Cancelled()
    if not wanted:
        return out
    users = {u.id: u for u in lock_users(session, [uid for uid, _, _ in wanted])}
    suppressed = [users[uid] for uid in sorted({uid for uid, _, ev in wanted if ev != "unsubscribe"}) if uid in users]
    out.add(suppress(session, suppressed))
    by_channel: dict[str, list[User]] = {}
    for uid, channel, event in wanted:
        if event == "unsubscribe" and uid in users:
            by_channel.setdefault(channel, []).append(users[uid])
    for channel, chosen in sorted(by_channel.items()):
        out.add(opt_out(session, chosen, channel))
    return out


def load_event_rows(path: str | Path) -> list[dict[str, Any]]:
    """Read events from .csv (header row), .jsonl/.ndjson (one object a line) or .json (a list of objects)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidRequest(f"events file {path} does not exist")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8-sig")
    if suffix == ".csv":
        return [dict(r) for r in csv.DictReader(text.splitlines())]
    if suffix in (".jsonl", ".ndjson"):
        rows = []
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidRequest(f"{path}:{line_no}: not JSON ({exc.msg}); fix or remove that line") from exc
        return rows
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"{path}: not JSON ({exc.msg})") from exc
        if not isinstance(data, list):
            raise InvalidRequest(f"{path}: expected a JSON list of event objects")
        return data
    raise InvalidRequest(f"{path}: unknown format {suffix!r}; use .csv, .jsonl or .json")
