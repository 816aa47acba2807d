"""Audience planning: segment ∩ consent per channel ∖ unsubscribed / suppressed ∖ frequency cap → draft rows.

Owns who gets which draft. Drafts are inserted with ``insert_ignore`` on
``idempotency_key = f"{campaign}:{user}:{channel}:{variant}"``, so planning twice inserts nothing new.

Who may get what reads the channel specs (``channels.REGISTRY``): channels that are not ``per_user`` (the ads
channels ``google_ads_rsa``, ``meta_ad``) get no per-user drafts: search and social ads target audiences, not
people. Their eligible users are counted in ``audience``; ``marketing-gen campaign ads`` writes one ad per theme
(``marketing_gen.ads``). A channel whose address is a ``device`` (push) needs one: users without an APNs/FCM token
get no draft there.

A/B variants: ``--variants n`` splits the audience into n arms. Each user is assigned one arm,
``sha256(f"{campaign}:{user}") mod n``, the same arm on every channel of the campaign (so a user sees one
coherent variant) and the same arm on every re-plan (deterministic, no stored randomness).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from marketing_gen.campaigns.eligibility import Recipient, exclusion
from marketing_gen.campaigns.segments import Profile, Segment, parse_segment
from marketing_gen.campaigns.state import DraftStatus
from marketing_gen.channels.base import get_channel
from marketing_gen.db import insert_ignore
from marketing_gen.db.models import Campaign, Device, Draft, Interaction, Item, User, utcnow

INSERT_CHUNK = 1000
CAPPED_STATUSES = ("pending", "generated", "ready", "queued")
"""Drafts of other campaigns that count towards the frequency cap (skipped / failed ones are never sent)."""

DRAFTS = cast(Table, Draft.__table__)


@dataclass
class PlanResult:
    """What one planning pass decided."""

    matched: int = 0
    """Users in the segment."""
    audience: dict[str, int] = field(default_factory=dict)
    """Per channel: users who will get a draft (new or already planned)."""
    excluded: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per channel: users left out, by reason (no_consent, unsubscribed, suppressed, no_address, frequency_cap)."""
    inserted: int = 0
    """Draft rows inserted by this pass (0 on a re-plan)."""


def assign_variant(campaign_id: int, user_id: int, variants: int) -> int:
    """The user's A/B arm in ``[0, variants)``: deterministic, independent of planning order."""
    if variants <= 1:
        return 0
    digest = hashlib.sha256(f"{campaign_id}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % variants


def idempotency_key(campaign_id: int, user_id: int, channel: str, variant: int) -> str:
    """The unique key of one draft."""
    return f"{campaign_id}:{user_id}:{channel}:{variant}"


def _aware(ts: dt.datetime) -> dt.datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)


def _interests(session: Session, user_ids: list[int]) -> dict[int, tuple[str, ...]]:
    out: dict[int, set[str]] = defaultdict(set)
    rows = session.execute(
        select(Interaction.user_id, Item.category)
        .join(Item, Item.id == Interaction.item_id)
        .where(Interaction.user_id.in_(user_ids), Item.category.is_not(None))
        .distinct()
    )
    for uid, cat in rows:
        if cat:
            out[uid].add(cat)
    return {uid: tuple(sorted(cats)) for uid, cats in out.items()}


def _purchases(session: Session, user_ids: list[int]) -> dict[int, tuple[int, dt.datetime]]:
    rows = session.execute(
        select(Interaction.user_id, func.count(), func.max(Interaction.ts))
        .where(Interaction.user_id.in_(user_ids), Interaction.event == "purchase")
        .group_by(Interaction.user_id)
    )
    return {uid: (int(n), _aware(last)) for uid, n, last in rows}


def iter_segment_users(
    session: Session, segment: Segment, *, now: dt.datetime | None = None, chunk: int = 2000
) -> Iterator[User]:
    """Users matching the segment, streamed in id order, loading derived facts only when the segment needs them."""
    now = now or utcnow()
    last_id = 0
    while True:
        users = list(session.scalars(select(User).where(User.id > last_id).order_by(User.id).limit(chunk)))
        if not users:
            return
        last_id = users[-1].id
        ids = [u.id for u in users]
        interests = _interests(session, ids) if "interests" in segment.needs else {}
        purchases = _purchases(session, ids) if "purchases" in segment.needs else {}
        for u in users:
            n, last = purchases.get(u.id, (0, None))
            profile = Profile(
                country=u.country,
                locale=u.locale,
                timezone=u.timezone,
                external_id=u.external_id,
                attributes=u.attributes or {},
                interests=interests.get(u.id, ()),
                purchases=n,
                days_since_purchase=(now - last).total_seconds() / 86400 if last else None,
            )
            if segment.matches(profile):
                yield u


_PLAN_REASONS = {"suppressed": "suppressed", "unsubscribed": "unsubscribed", "consent": "no_consent",
                 "address": "no_address"}  # fmt: skip
"""``eligibility.exclusion`` reason kind → the key ``PlanResult.excluded`` counts it under."""


def _exclusion(user: User, channel: str) -> str | None:
    """Why ``user`` may not get ``channel``, or None (the counting key of ``PlanResult.excluded``)."""
    reason = exclusion(Recipient.of(user), channel)
    return _PLAN_REASONS[reason.split(":", 1)[0]] if reason else None


def exclusion_reason(user: User, channel: str) -> str | None:
    """Why ``user`` may not get ``channel`` (suppressed, unsubscribed, no_consent, no_address), or None."""
    return _exclusion(user, channel)


def _with_device(session: Session, user_ids: list[int]) -> set[int]:
    return set(session.scalars(select(Device.user_id).where(Device.user_id.in_(user_ids)).distinct()))


FREQUENCY_LOCK = 0x6D67_6663  # "mgfc"
"""First key of the PostgreSQL advisory locks that serialise planning per channel (second key: the channel)."""


def lock_frequency_cap(session: Session, channels: list[str]) -> None:
    """Serialise count-then-insert against other plans on the same channels until this transaction ends.

    PostgreSQL: one transaction-level advisory lock per channel, taken in sorted order (no deadlock between two
    plans). SQLite: the caller's transaction is ``db.serial_scope`` (the write lock is held from its first read).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for channel in sorted(set(channels)):
        key = int.from_bytes(hashlib.sha256(channel.encode()).digest()[:4], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": FREQUENCY_LOCK, "b": key})


def over_cap(
    session: Session, campaign_id: int, channel: str, user_ids: list[int], *, cap: int, since: dt.datetime
) -> set[int]:
    """Users who already have ``cap`` live messages on ``channel`` from other campaigns since ``since``."""
    rows = session.execute(
        select(Draft.user_id)
        .join(Campaign, Campaign.id == Draft.campaign_id)
        .where(
            Draft.user_id.in_(user_ids),
            Draft.channel == channel,
            Draft.campaign_id != campaign_id,
            Draft.status.in_(CAPPED_STATUSES),
            Draft.created_at >= since,
            Campaign.state != "cancelled",
        )
        .group_by(Draft.user_id)
        .having(func.count() >= cap)
    )
    return {uid for (uid,) in rows}


def plan_drafts(
    session: Session,
    campaign: Campaign,
    *,
    frequency_cap: int,
    frequency_window_days: int,
    now: dt.datetime | None = None,
) -> PlanResult:
    """Insert the campaign's missing draft rows (status pending); existing drafts are left untouched.

    Call it inside ``db.serial_scope``: it takes the frequency-cap locks itself, so two campaigns planned at the
    same moment cannot both count a user under the cap and both insert.
    """
    lock_frequency_cap(session, list(campaign.channels))
    now = now or utcnow()
    segment = parse_segment(campaign.segment)
    since = now - dt.timedelta(days=frequency_window_days)
    result = PlanResult(
        audience=dict.fromkeys(campaign.channels, 0), excluded={c: defaultdict(int) for c in campaign.channels}
    )
    already = {
        (uid, ch)
        for uid, ch in session.execute(select(Draft.user_id, Draft.channel).where(Draft.campaign_id == campaign.id))
    }
    batch: list[User] = []

    specs = {channel: get_channel(channel) for channel in campaign.channels}
    to_devices = any(spec.address == "device" for spec in specs.values())

    def flush(users: list[User]) -> None:
        rows = []
        devices = _with_device(session, [u.id for u in users]) if to_devices else set()
        for channel, spec in specs.items():
            eligible = []
            for u in users:
                reason = _exclusion(u, channel)
                if reason is None and spec.address == "device" and u.id not in devices:
                    reason = "no_device"
                if reason:
                    result.excluded[channel][reason] += 1
                else:
                    eligible.append(u.id)
            if not spec.per_user:
                result.audience[channel] += len(eligible)
                continue
            fresh = [uid for uid in eligible if (uid, channel) not in already]
            capped = over_cap(session, campaign.id, channel, fresh, cap=frequency_cap, since=since) if fresh else set()
            result.excluded[channel]["frequency_cap"] += len(capped)
            for uid in eligible:
                if uid in capped:
                    continue
                result.audience[channel] += 1
                variant = assign_variant(campaign.id, uid, campaign.variants)
                rows.append(
                    {
                        "campaign_id": campaign.id,
                        "user_id": uid,
                        "channel": channel,
                        "variant": variant,
                        "idempotency_key": idempotency_key(campaign.id, uid, channel, variant),
                        "status": DraftStatus.PENDING.value,
                        "violations": [],
                        "attempts": 0,
                        "fallback": False,
                        "timings": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        for i in range(0, len(rows), INSERT_CHUNK):
            result.inserted += insert_ignore(session, DRAFTS, rows[i : i + INSERT_CHUNK], ["idempotency_key"])

    for user in iter_segment_users(session, segment, now=now):
        result.matched += 1
        batch.append(user)
        if len(batch) >= INSERT_CHUNK:
            flush(batch)
            batch = []
    if batch:
        flush(batch)
    result.excluded = {c: dict(v) for c, v in result.excluded.items()}
    return result
