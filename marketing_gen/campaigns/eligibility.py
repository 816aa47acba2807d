"""Who may still get a message: the consent rule every step applies, and opt-outs that cancel open work at once.

Owns three things, so that planning, generate, render, deliver and every opt-out entry point apply one rule:
- ``exclusion(recipient, channel)``: why a user may not get a channel now (``suppressed``, ``unsubscribed:email``,
  ``consent:sms``, ``address:sms``), or None;
- ``blocked_drafts(session, refs)``: that rule for a batch of drafts in ONE query on ``users`` (row-share locked on
  PostgreSQL, so an opt-out committing meanwhile either is seen or waits for this transaction and then cancels
  what it wrote);
- ``opt_out(session, user, channel)`` / ``cancel_open_work``: an unsubscribe or suppression, and the cancelling of
  the user's unfinished drafts and not-yet-sent outbox rows on the affected channels, in the caller's transaction.

Does not own where opt-outs come from (``api/tracking``, ``feedback/events``, ``importers/suppressions``) nor how
steps batch drafts (``pipeline``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from marketing_gen.campaigns.state import UNFINISHED, DraftStatus, maybe_complete
from marketing_gen.channels.base import all_channels, consent_flags, get_channel, marketing_channels
from marketing_gen.db.models import Draft, OutboxMessage, User, utcnow

ALL_CHANNELS = ("all", "*")
"""Unsubscribe values that cover every channel."""

NOT_SENT = ("queued",)
"""Outbox states an opt-out still stops (``sending`` may already be with the provider; the rest have left)."""

STOPPED_OUTBOX = "skipped"
"""Outbox state of a row an opt-out stopped before sending (``delivery.send`` uses it for the same reason)."""

OPEN = (*UNFINISHED, DraftStatus.IN_REVIEW.value)
"""Draft statuses an opt-out cancels: not yet in the outbox (waiting for a reviewer included)."""

CHUNK = 1000
"""Users per UPDATE … WHERE user_id IN (…) when an opt-out covers many users."""


@dataclass(frozen=True)
class Recipient:
    """The consent facts of one user, as every step checks them."""

    user_id: int
    suppressed: bool
    unsubscribed: frozenset[str]
    consent: frozenset[str]
    """Granted consent flags (``channels.consent_flags``: ``email``, ``ads``, ``sms``, ``push``)."""
    email: str | None
    phone: str | None

    @classmethod
    def of(cls, row: Any) -> Recipient:
        """From a ``User`` or a row with the columns of ``recipient_columns()``."""
        return cls(
            user_id=int(row.id),
            suppressed=bool(row.suppressed),
            unsubscribed=frozenset(str(c).strip().lower() for c in (row.unsubscribed_channels or [])),
            consent=frozenset(flag for flag in consent_flags() if getattr(row, f"consent_{flag}")),
            email=row.email,
            phone=row.phone,
        )

    def address_for(self, channel: str) -> str | None:
        """The email or phone a message on ``channel`` goes to (None: the channel has no such address, or the user)."""
        spec = all_channels().get(channel)
        kind = spec.address if spec is not None else None
        return self.email if kind == "email" else self.phone if kind == "phone" else None


def recipient_columns() -> tuple[Any, ...]:
    """The ``users`` columns ``Recipient.of`` reads (one consent column per registered flag)."""
    users = User.__table__.c
    flags = (users[f"consent_{flag}"] for flag in consent_flags())
    return (users.id, users.suppressed, users.unsubscribed_channels, *flags, users.email, users.phone)


def covers(unsubscribed: str, channel: str) -> bool:
    """Whether an unsubscribe from ``unsubscribed`` (a channel, a consent flag, or ``all``) covers ``channel``."""
    value = unsubscribed.strip().lower()
    spec = all_channels().get(channel)
    return value in ALL_CHANNELS or value == channel or (spec is not None and value == spec.consent_flag)


def covered_channels(unsubscribed: str) -> list[str]:
    """Every marketing channel an unsubscribe value covers (``ads`` → both ad channels, ``all`` → all)."""
    return [c for c in marketing_channels() if covers(unsubscribed, c)]


def exclusion(recipient: Recipient, channel: str) -> str | None:
    """Why ``recipient`` may not get ``channel`` now, or None: ``suppressed``, ``unsubscribed:<channel>``,
    ``consent:<flag>`` (no consent), ``address:<channel>`` (no email / phone)."""
    if recipient.suppressed:
        return "suppressed"
    if any(covers(u, channel) for u in recipient.unsubscribed):
        return f"unsubscribed:{channel}"
    spec = get_channel(channel)
    if spec.consent_flag is not None and spec.consent_flag not in recipient.consent:
        return f"consent:{spec.consent_flag}"
    if spec.address in ("email", "phone") and not recipient.address_for(channel):
        return f"address:{channel}"
    return None


def load_recipients(session: Session, user_ids: Iterable[int], *, lock: bool = False) -> dict[int, Recipient]:
    """The recipients of ``user_ids`` in one query; ``lock`` takes a share lock on their rows (PostgreSQL)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    stmt = select(*recipient_columns()).where(User.id.in_(ids)).order_by(User.id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(read=True)
    return {row.id: Recipient.of(row) for row in session.execute(stmt)}


def blocked_drafts(session: Session, drafts: Sequence[tuple[int, int, str]], *, lock: bool = True) -> dict[int, str]:
    """For ``(draft_id, user_id, channel)`` triples: draft id → skip reason of those whose user no longer qualifies.

    One query for the whole batch. A user who no longer exists blocks with ``user deleted``.
    """
    recipients = load_recipients(session, (uid for _, uid, _ in drafts), lock=lock)
    blocked: dict[int, str] = {}
    for draft_id, user_id, channel in drafts:
        recipient = recipients.get(user_id)
        reason = "user deleted" if recipient is None else exclusion(recipient, channel)
        if reason:
            blocked[draft_id] = reason
    return blocked


@dataclass
class Cancelled:
    """What one opt-out stopped."""

    drafts: int = 0
    """Unfinished drafts now ``skipped``."""
    outbox: int = 0
    """Outbox rows not yet sent, now ``skipped`` with the reason in ``error`` (their drafts ``skipped`` too)."""

    def add(self, other: Cancelled) -> None:
        """Sum another opt-out's counts into this one."""
        self.drafts += other.drafts
        self.outbox += other.outbox

    def to_dict(self) -> dict[str, int]:
        """Plain dict for JSON output."""
        return {"drafts": self.drafts, "outbox": self.outbox}


def _cancel(session: Session, user_ids: Sequence[int], channel: str | None, reason: str, out: Cancelled) -> set[int]:
    """Skip unfinished drafts and cancel unsent outbox rows of ``user_ids`` (on ``channel``, or all); campaign ids."""
    ids = list(user_ids)
    now = utcnow()
    drafts = [Draft.user_id.in_(ids), Draft.status.in_(OPEN)]
    outbox = [OutboxMessage.user_id.in_(ids), OutboxMessage.state.in_(NOT_SENT)]
    if channel is not None:
        drafts.append(Draft.channel == channel)
        outbox.append(OutboxMessage.channel == channel)
    skip = {"status": DraftStatus.SKIPPED.value, "skip_reason": reason, "updated_at": now}
    rows = session.execute(update(Draft).where(*drafts).values(**skip).returning(Draft.campaign_id)).all()
    out.drafts += len(rows)
    stopped = session.execute(
        update(OutboxMessage)
        .where(*outbox)
        .values(state=STOPPED_OUTBOX, error=f"not sent: {reason}", updated_at=now)
        .returning(OutboxMessage.draft_id)
    ).all()
    out.outbox += len(stopped)
    if stopped:
        session.execute(
            update(Draft)
            .where(Draft.id.in_([did for (did,) in stopped]), Draft.status == DraftStatus.QUEUED.value)
            .values(**skip)
        )
    return {cid for (cid,) in rows}


def _complete(session: Session, campaign_ids: Iterable[int]) -> None:
    for campaign_id in sorted(set(campaign_ids)):
        maybe_complete(session, campaign_id)


def cancel_open_work(session: Session, user_ids: Sequence[int], channels: Iterable[str]) -> Cancelled:
    """Skip the users' unfinished drafts and cancel their not-yet-sent outbox rows on ``channels``.

    Runs in the caller's transaction (the opt-out and its cancellation commit together). The skip reason names
    the draft's channel: ``unsubscribed:email``.
    """
    out = Cancelled()
    touched: set[int] = set()
    for start in range(0, len(user_ids), CHUNK):
        for channel in sorted(set(channels)):
            touched |= _cancel(session, user_ids[start : start + CHUNK], channel, f"unsubscribed:{channel}", out)
    _complete(session, touched)
    return out


def opt_out(session: Session, users: Sequence[User], channel: str) -> Cancelled:
    """Unsubscribe ``users`` from ``channel`` (a channel, a consent flag, or ``all``) and cancel their open work.

    Idempotent; in the caller's transaction. The caller should hold the users' rows (``lock_users``).
    """
    value = channel.strip().lower()
    now = utcnow()
    for user in users:
        if value not in (user.unsubscribed_channels or []):
            # Assign a new list: in-place mutation of a JSON column is not tracked by the ORM.
            user.unsubscribed_channels = [*(user.unsubscribed_channels or []), value]
            user.unsubscribed_at = now
    session.flush()
    return cancel_open_work(session, [u.id for u in users], covered_channels(value))


def suppress(session: Session, users: Sequence[User]) -> Cancelled:
    """Suppress ``users`` (no marketing on any channel) and cancel all their open work, skip reason ``suppressed``."""
    out = Cancelled()
    if not users:
        return out
    for user in users:
        user.suppressed = True
    session.flush()
    touched: set[int] = set()
    for start in range(0, len(users), CHUNK):
        touched |= _cancel(session, [u.id for u in users[start : start + CHUNK]], None, "suppressed", out)
    _complete(session, touched)
    return out


def lock_user(session: Session, user_id: int) -> User | None:
    """The user row, locked for update on PostgreSQL (SQLite callers use ``db.serial_scope``)."""
    return session.get(User, user_id, with_for_update=session.get_bind().dialect.name == "postgresql")


def lock_users(session: Session, user_ids: Iterable[int]) -> list[User]:
    """The users' rows in id order (no deadlock between two callers), locked for update on PostgreSQL."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    out: list[User] = []
    for start in range(0, len(ids), CHUNK):
        stmt = select(User).where(User.id.in_(ids[start : start + CHUNK])).order_by(User.id)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        out.extend(session.scalars(stmt))
    return out
