"""The deliver step: queued outbox rows → an adapter, at most once per row, with the outcome per row.

Per row, in this order (each step its own short transaction):
1. re-check consent / unsubscribe / suppression (a row whose user opted out since is ``skipped``) and quiet
   hours (the row keeps ``queued`` with ``not_before`` = when the window opens);
2. **claim**: ``queued → sending`` with a fresh ``attempt_id`` (compare-and-set: two workers never both win);
3. call the adapter (rate-limited; transient errors retried with exponential backoff);
4. record ``sent`` + the provider's message id (and a ``sent`` feedback event), or ``failed`` with the reason,
   or ``uncertain`` when the provider may have taken it — only if the row still carries our attempt id.
A worker killed between 2 and 4 leaves the row in ``sending``: ``reconcile_stale`` asks the adapter about
rows older than ``sending_timeout_s`` and never resends one the provider may have accepted.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sqlalchemy import func, or_, select, update

from marketing_gen.campaigns.eligibility import Recipient, exclusion  # the one consent rule (docs/consent.md)
from marketing_gen.config import Settings, get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Campaign, OutboxMessage, User, as_utc, utcnow
from marketing_gen.delivery.base import (
    Adapter,
    OutboundMessage,
    PermanentSendError,
    RateLimiter,
    Reconciled,
    TransientSendError,
    UncertainSendError,
)
from marketing_gen.delivery.files import FileAdapter
from marketing_gen.delivery.quiet import in_window, next_allowed, parse_quiet_hours, zone
from marketing_gen.delivery.send_time import next_send_at, preferred_hours
from marketing_gen.delivery.smtp import SmtpAdapter
from marketing_gen.delivery.webhook import WebhookAdapter
from marketing_gen.errors import InvalidRequest

log = logging.getLogger(__name__)

ADAPTERS: dict[str, type[SmtpAdapter] | type[WebhookAdapter] | type[FileAdapter]] = {
    "file": FileAdapter,
    "smtp": SmtpAdapter,
    "webhook": WebhookAdapter,
}
"""Adapter name → class."""

STOPPED = ("paused", "cancelled")


class OutboxState(str, Enum):
    """Where an outbox row is."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    SKIPPED = "skipped"
    UNCERTAIN = "uncertain"


def build_adapter(name: str, settings: Settings) -> Adapter:
    """The adapter called ``name``, configured from ``settings``."""
    cls = ADAPTERS.get(name)
    if cls is None:
        raise InvalidRequest(f"--adapter {name!r}: choose one of {', '.join(ADAPTERS)}")
    return cls(settings)


@dataclass
class SendReport:
    """What one send call did; every row it looked at lands in one count."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    """Consent withdrawn / unsubscribed / suppressed since the draft was queued."""
    waiting: int = 0
    """Held back by quiet hours or the campaign's send time (``not_before`` set)."""
    retry_later: int = 0
    """Transient errors after every inline retry: back to ``queued`` with a backoff."""
    uncertain: int = 0
    not_claimed: int = 0
    """Another worker had it, or it was no longer queued."""
    errors: list[str] = field(default_factory=list)
    message_ids: dict[int, str] = field(default_factory=dict)
    """outbox id → provider message id, for rows sent by this call."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output (message ids left out)."""
        return {
            "sent": self.sent,
            "failed": self.failed,
            "skipped": self.skipped,
            "waiting": self.waiting,
            "retry_later": self.retry_later,
            "uncertain": self.uncertain,
            "not_claimed": self.not_claimed,
            "errors": self.errors[:20],
        }


def _outbound(row: OutboxMessage, user: User, attempt_id: str) -> OutboundMessage:
    """What an adapter sends (or reconciles) for one outbox row."""
    return OutboundMessage(
        outbox_id=row.id,
        draft_id=row.draft_id,
        campaign_id=row.campaign_id,
        user_id=row.user_id,
        user_external_id=user.external_id,
        channel=row.channel,
        attempt_id=attempt_id,
        recipient=Recipient.of(user).address_for(row.channel),
        payload=dict(row.payload or {}),
    )


def sendable_ids(
    campaign_id: int | None, adapter: str, *, settings: Settings | None = None, now: dt.datetime | None = None
) -> list[int]:
    """Queued rows (of the campaign, or all) that ``adapter`` can send and whose ``not_before`` has passed."""
    settings = settings or get_settings()
    channels = ADAPTERS[adapter].channels if adapter in ADAPTERS else None
    now = now or utcnow()
    with session_scope(settings.database_url) as s:
        q = (
            select(OutboxMessage.id)
            .join(Campaign, Campaign.id == OutboxMessage.campaign_id)
            .where(
                OutboxMessage.state == OutboxState.QUEUED.value,
                or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= now),
                Campaign.state.not_in(STOPPED),
            )
            .order_by(OutboxMessage.id)
        )
        if campaign_id is not None:
            q = q.where(OutboxMessage.campaign_id == campaign_id)
        if channels is not None:
            q = q.where(OutboxMessage.channel.in_(channels))
        return list(s.scalars(q))


def plan_send(campaign_id: int | None, adapter: str, *, settings: Settings | None = None) -> list[list[int]]:
    """Batches (``send_batch_size``) of the outbox rows ``adapter`` should send now."""
    settings = settings or get_settings()
    if adapter not in ADAPTERS:
        raise InvalidRequest(f"--adapter {adapter!r}: choose one of {', '.join(ADAPTERS)}")
    ids = sendable_ids(campaign_id, adapter, settings=settings)
    size = settings.send_batch_size
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _load_messages(ids: Sequence[int], url: str) -> list[tuple[OutboxMessage, User, dict[str, Any]]]:
    """Queued rows among ``ids`` of running campaigns, with their user and their campaign's options."""
    with session_scope(url) as s:
        rows = s.execute(
            select(OutboxMessage, User, Campaign.options)
            .join(User, User.id == OutboxMessage.user_id)
            .join(Campaign, Campaign.id == OutboxMessage.campaign_id)
            .where(
                OutboxMessage.id.in_(list(ids)),
                OutboxMessage.state == OutboxState.QUEUED.value,
                Campaign.state.not_in(STOPPED),
            )
            .order_by(OutboxMessage.id)
        ).all()
        s.expunge_all()  # a user with two channels appears twice
    return [(r, u, dict(o or {})) for r, u, o in rows]


def _send_hours(rows: list[tuple[OutboxMessage, User, dict[str, Any]]], url: str, default_tz: str) -> dict[int, int]:
    """outbox id → the local hour it should go out at (``options.send_hour``, per user with ``send_time=user``)."""
    per_user = {u.id for _, u, o in rows if o.get("send_time") == "user"}
    preferred: dict[int, int] = {}
    if per_user:
        with session_scope(url) as s:
            preferred = preferred_hours(s, per_user, default_tz)
    out: dict[int, int] = {}
    for row, user, opts in rows:
        hour = preferred.get(user.id) if opts.get("send_time") == "user" else None
        if hour is None and opts.get("send_hour") is not None:
            hour = int(opts["send_hour"])
        if hour is not None:
            out[row.id] = hour
    return out


def _set(url: str, outbox_id: int, values: dict[str, Any], *, attempt_id: str | None = None) -> bool:
    """Compare-and-set one row: ``queued`` (no attempt id) or ``sending`` with our attempt id."""
    cond = [OutboxMessage.id == outbox_id]
    if attempt_id is None:
        cond.append(OutboxMessage.state == OutboxState.QUEUED.value)
    else:
        cond += [OutboxMessage.state == OutboxState.SENDING.value, OutboxMessage.attempt_id == attempt_id]
    with session_scope(url) as s:
        res = s.execute(update(OutboxMessage).where(*cond).values(updated_at=utcnow(), **values))
        return bool(res.rowcount)  # type: ignore[attr-defined]


def _record_sent(url: str, row: OutboxMessage, attempt_id: str, provider_id: str) -> bool:
    from marketing_gen.feedback.events import record_event

    now = utcnow()
    with session_scope(url) as s:
        res = s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row.id,
                OutboxMessage.state == OutboxState.SENDING.value,
                OutboxMessage.attempt_id == attempt_id,
            )
            .values(
                state=OutboxState.SENT.value,
                sent_at=now,
                provider_message_id=provider_id[:256],
                error=None,
                updated_at=now,
            )
        )
        if not res.rowcount:  # type: ignore[attr-defined]
            return False
        record_event(
            s,
            draft_id=row.draft_id,
            user_id=row.user_id,
            channel=row.channel,
            event="sent",
            ts=now,
            event_id=f"outbox:{row.id}",
            payload={"provider_message_id": provider_id[:256]},
        )
        return True


def send_outbox(
    outbox_ids: Sequence[int],
    *,
    adapter: str,
    settings: Settings | None = None,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> SendReport:
    """Send the queued rows among ``outbox_ids`` through ``adapter``; see the module docstring for the steps."""
    settings = settings or get_settings()
    url = settings.database_url
    report = SendReport()
    window = parse_quiet_hours(settings.quiet_hours)
    quiet_channels = set(settings.quiet_channels)
    conn = build_adapter(adapter, settings)
    limiter = RateLimiter(conn.rate_per_s)
    rows = _load_messages(outbox_ids, url)
    hours = _send_hours(rows, url, settings.default_timezone)
    with conn:
        for row, user, _opts in rows:
            if conn.channels is not None and row.channel not in conn.channels:
                continue
            clock = now or utcnow()
            reason = exclusion(Recipient.of(user), row.channel)
            if reason is not None:
                report.skipped += 1
                if not dry_run:
                    _set(url, row.id, {"state": OutboxState.SKIPPED.value, "error": f"not sent: {reason}"})
                continue
            tz = zone(user.timezone, settings.default_timezone)
            quiet = row.channel in quiet_channels
            hour = hours.get(row.id)
            if quiet and window is not None and hour is not None and in_window(hour, window):
                hour = None  # a preferred hour inside the quiet window is ignored, never a reason to wait forever
            wait: tuple[dt.datetime, str] | None = None
            if quiet and (opens := next_allowed(clock, tz, window)) is not None:
                wait = (opens, f"quiet hours: waits until {opens:%Y-%m-%d %H:%M} UTC")
            elif (at := next_send_at(clock, tz, hour)) is not None:
                wait = (at, f"send time: local hour {hour}, waits until {at:%Y-%m-%d %H:%M} UTC")
            if wait is not None:
                report.waiting += 1
                if not dry_run:
                    _set(url, row.id, {"not_before": wait[0], "error": wait[1]})
                continue
            if dry_run:
                report.sent += 1
                continue
            _send_one(conn, limiter, row, user, url, settings, report)
    return report


def _send_one(
    conn: Adapter,
    limiter: RateLimiter,
    row: OutboxMessage,
    user: User,
    url: str,
    settings: Settings,
    report: SendReport,
) -> None:
    attempt_id = uuid.uuid4().hex
    claimed_at = utcnow()
    claim = {
        "state": OutboxState.SENDING.value,
        "attempt_id": attempt_id,
        "claimed_at": claimed_at,
        "attempts": OutboxMessage.attempts + 1,
        "adapter": conn.name,
    }
    # 2. claim: only a queued row whose not_before has passed
    with session_scope(url) as s:
        res = s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row.id,
                OutboxMessage.state == OutboxState.QUEUED.value,
                or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= claimed_at),
            )
            .values(updated_at=claimed_at, **claim)
        )
        if not res.rowcount:  # type: ignore[attr-defined]
            report.not_claimed += 1
            return
    message = _outbound(row, user, attempt_id)
    # 3. send, retrying transient errors in place with exponential backoff
    last_error = ""
    for attempt in range(settings.send_max_attempts):
        limiter.wait()
        try:
            provider_id = conn.send(message)
        except TransientSendError as exc:
            last_error = str(exc)
            if attempt + 1 < settings.send_max_attempts:
                time.sleep(settings.send_backoff_s * 2**attempt)
            continue
        except PermanentSendError as exc:
            report.failed += 1
            report.errors.append(f"outbox {row.id}: {exc}")
            _set(url, row.id, {"state": OutboxState.FAILED.value, "error": str(exc)[:512]}, attempt_id=attempt_id)
            return
        except UncertainSendError as exc:
            report.uncertain += 1
            report.errors.append(f"outbox {row.id}: {exc}")
            _set(url, row.id, {"state": OutboxState.UNCERTAIN.value, "error": str(exc)[:512]}, attempt_id=attempt_id)
            return
        # 4. record
        if _record_sent(url, row, attempt_id, provider_id):
            report.sent += 1
            report.message_ids[row.id] = provider_id
        return
    delay = settings.send_backoff_s * 2**settings.send_max_attempts
    report.retry_later += 1
    report.errors.append(f"outbox {row.id}: {last_error}")
    _set(
        url,
        row.id,
        {
            "state": OutboxState.QUEUED.value,
            "not_before": utcnow() + dt.timedelta(seconds=delay),
            "error": f"transient, will retry: {last_error}"[:512],
        },
        attempt_id=attempt_id,
    )


def reconcile_stale(
    *, settings: Settings | None = None, campaign_id: int | None = None, now: dt.datetime | None = None
) -> dict[str, int]:
    """Rows stuck in ``sending`` longer than ``sending_timeout_s`` (their worker died): ask their adapter.

    ``sent`` → recorded as sent; ``not_sent`` (the adapter can prove it) → back to ``queued``; ``unknown`` →
    ``uncertain`` with instructions — never resent automatically. Returns counts by outcome.
    """
    settings = settings or get_settings()
    url = settings.database_url
    cutoff = (now or utcnow()) - dt.timedelta(seconds=settings.sending_timeout_s)
    with session_scope(url) as s:
        q = (
            select(OutboxMessage, User)
            .join(User, User.id == OutboxMessage.user_id)
            .where(OutboxMessage.state == OutboxState.SENDING.value, OutboxMessage.claimed_at < cutoff)
        )
        if campaign_id is not None:
            q = q.where(OutboxMessage.campaign_id == campaign_id)
        stale = s.execute(q).all()
        s.expunge_all()
    counts: Counter[str] = Counter()
    for row, user in stale:
        adapter = build_adapter(row.adapter or settings.delivery_adapter, settings)
        message = _outbound(row, user, row.attempt_id or "")
        verdict, provider_id = adapter.reconcile(message)
        attempt = row.attempt_id or ""
        if verdict == Reconciled.SENT:
            if _record_sent(url, row, attempt, provider_id or f"reconciled:{attempt}"):
                counts["sent"] += 1
        elif verdict == Reconciled.NOT_SENT:
            back = {"state": OutboxState.QUEUED.value, "error": "reconciled: not sent"}
            if _set(url, row.id, back, attempt_id=attempt):
                counts["requeued"] += 1
        elif _set(
            url,
            row.id,
            {
                "state": OutboxState.UNCERTAIN.value,
                "error": (
                    f"worker died during the {row.adapter} call (attempt {attempt}); check the provider's log, then "
                    f"`marketing-gen outbox resolve {row.id} --sent` or `--resend`"
                )[:512],
            },
            attempt_id=attempt,
        ):
            counts["uncertain"] += 1
    return dict(counts)


def resolve_uncertain(outbox_id: int, *, sent: bool, settings: Settings | None = None) -> str:
    """An operator's verdict on an ``uncertain`` row: it was delivered (``sent``) or it may go again (``queued``)."""
    settings = settings or get_settings()
    with session_scope(settings.database_url) as s:
        row = s.get(OutboxMessage, outbox_id)
        if row is None:
            raise InvalidRequest(f"outbox row {outbox_id} does not exist (see `marketing-gen outbox status`)")
        if row.state != OutboxState.UNCERTAIN.value:
            raise InvalidRequest(f"outbox row {outbox_id} is {row.state}, not uncertain: nothing to resolve")
        row.state = OutboxState.SENT.value if sent else OutboxState.QUEUED.value
        row.error = "resolved by operator: " + ("delivered" if sent else "resend")
        if sent:
            row.sent_at = row.sent_at or utcnow()
        return row.state


def outbox_status(*, campaign_id: int | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """Counts by state (overall and per channel), rows waiting on quiet hours / backoff, the oldest ``sending``."""
    settings = settings or get_settings()
    now = utcnow()
    with session_scope(settings.database_url) as s:
        where = [] if campaign_id is None else [OutboxMessage.campaign_id == campaign_id]
        states = dict.fromkeys((st.value for st in OutboxState), 0)
        by_channel: dict[str, dict[str, int]] = {}
        for channel, state, n in s.execute(
            select(OutboxMessage.channel, OutboxMessage.state, func.count())
            .where(*where)
            .group_by(OutboxMessage.channel, OutboxMessage.state)
        ):
            states[state] = states.get(state, 0) + int(n)
            by_channel.setdefault(channel, {})[state] = int(n)
        waiting = int(
            s.scalar(
                select(func.count()).where(
                    *where, OutboxMessage.state == OutboxState.QUEUED.value, OutboxMessage.not_before > now
                )
            )
            or 0
        )
        oldest = s.scalar(
            select(func.min(OutboxMessage.claimed_at)).where(*where, OutboxMessage.state == OutboxState.SENDING.value)
        )
    return {
        "campaign_id": campaign_id,
        "total": sum(states.values()),
        "states": states,
        "by_channel": by_channel,
        "waiting": waiting,
        "oldest_sending_at": as_utc(oldest).isoformat() if oldest else None,
    }
