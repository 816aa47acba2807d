"""Campaign rows and their state machine: create, transition, counts by draft status, status report.

States: ``created → planned → running → completed``; ``paused`` (resume → running) and ``cancelled``
from any non-final state. Tasks of a paused or cancelled campaign do nothing; drafts stay as they are,
so ``resume`` (or ``campaign run``) picks up exactly the unfinished work.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, cast

from sqlalchemy import CursorResult, case, func, select, update
from sqlalchemy.orm import Session

from marketing_gen.campaigns.segments import parse_segment
from marketing_gen.channels.base import all_channels, marketing_channels
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Campaign, Draft, OutboxMessage, utcnow
from marketing_gen.errors import InvalidRequest, NotFound


class CampaignState(str, Enum):
    """Where a campaign is in its life."""

    CREATED = "created"
    PLANNED = "planned"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class DraftStatus(str, Enum):
    """Where a draft is in the pipeline; ``pending/generated/ready`` are unfinished."""

    PENDING = "pending"
    GENERATED = "generated"
    IN_REVIEW = "in_review"
    """Rendered, waiting for a reviewer (campaigns with ``approval: required``)."""
    READY = "ready"
    """Rendered (and approved where approval is required): goes to the outbox."""
    QUEUED = "queued"
    FAILED = "failed"
    SKIPPED = "skipped"
    REJECTED = "rejected"
    """A reviewer rejected it (the reason is in ``skip_reason`` and the review audit trail)."""


UNFINISHED = (DraftStatus.PENDING.value, DraftStatus.GENERATED.value, DraftStatus.READY.value)
STATUS_NAMES = tuple(s.value for s in DraftStatus)

_ALLOWED: dict[CampaignState, set[CampaignState]] = {
    CampaignState.CREATED: {CampaignState.PLANNED, CampaignState.PAUSED, CampaignState.CANCELLED},
    CampaignState.PLANNED: {
        CampaignState.RUNNING,
        CampaignState.COMPLETED,
        CampaignState.PAUSED,
        CampaignState.CANCELLED,
    },
    CampaignState.RUNNING: {
        CampaignState.PLANNED,
        CampaignState.COMPLETED,
        CampaignState.PAUSED,
        CampaignState.CANCELLED,
    },
    CampaignState.PAUSED: {CampaignState.RUNNING, CampaignState.CANCELLED},
    # A re-run of a completed campaign re-plans: new eligible users become drafts.
    CampaignState.COMPLETED: {CampaignState.PLANNED},
    CampaignState.CANCELLED: set(),
}

APPROVAL_MODES = ("required", "none")
"""``required``: rendered drafts wait in ``in_review`` for a reviewer; ``none``: they go straight to the outbox."""


def needs_approval(campaign: Campaign) -> bool:
    """Whether the campaign's drafts wait for a reviewer before the outbox."""
    return (campaign.options or {}).get("approval", "none") == "required"


def _offer_dict(text: str | None, discount_pct: Any, code: str | None, ends_at: Any) -> dict[str, Any]:
    offer: dict[str, Any] = {}
    if text:
        offer["text"] = text
    if discount_pct is not None:
        try:
            pct = Decimal(str(discount_pct))
        except InvalidOperation as exc:
            raise InvalidRequest(f"--discount-pct must be a number, got {discount_pct!r}") from exc
        if not 0 < pct < 100:
            raise InvalidRequest(f"--discount-pct must be between 0 and 100, got {discount_pct}")
        offer["discount_pct"] = str(pct)
    if code:
        offer["code"] = code
    if ends_at:
        try:
            offer["ends_at"] = dt.date.fromisoformat(str(ends_at)).isoformat()
        except ValueError as exc:
            raise InvalidRequest(f"--offer-ends must be a date like 2026-12-01, got {ends_at!r}") from exc
    return offer


def check_channels(channels: Sequence[str]) -> list[str]:
    """The campaign's channels, stripped and de-duplicated in order; InvalidRequest for none or an unknown one."""
    chans = list(dict.fromkeys(c.strip() for c in channels if c and c.strip()))
    allowed = marketing_channels()  # social replies are answered, not campaigned
    if not chans:
        raise InvalidRequest(f"--channels: give at least one of {', '.join(allowed)}")
    unknown = [c for c in chans if c not in allowed]
    if unknown:
        raise InvalidRequest(f"--channels: unknown channel(s) {unknown}; use {', '.join(allowed)}")
    return chans


def create_campaign(
    *,
    name: str,
    channels: Sequence[str],
    segment: str = "",
    offer_text: str | None = None,
    discount_pct: Any = None,
    offer_code: str | None = None,
    offer_ends: Any = None,
    variants: int = 1,
    options: dict[str, Any] | None = None,
    url: str | None = None,
    approval: str = "none",
) -> int:
    """Validate and insert a campaign in state ``created``; returns its id.

    ``approval="required"`` (the CLI's and review page's default) holds rendered drafts for a reviewer;
    the library default ``"none"`` keeps the unattended flow for scripts and tests.
    """
    if approval not in APPROVAL_MODES:
        raise InvalidRequest(f"--approval {approval!r}: choose one of {', '.join(APPROVAL_MODES)}")
    chans = check_channels(channels)
    if not 1 <= variants <= 16:
        raise InvalidRequest(f"--variants must be between 1 and 16, got {variants}")
    parse_segment(segment)  # syntax errors surface at create time, not in a worker
    offer = _offer_dict(offer_text, discount_pct, offer_code, offer_ends)
    with session_scope(url) as s:
        brand_id = s.scalar(select(Brand.id).order_by(Brand.id).limit(1))
        row = Campaign(
            name=name,
            brand_id=brand_id,
            channels=chans,
            segment=segment or "",
            offer=offer,
            variants=variants,
            state=CampaignState.CREATED.value,
            options={**(options or {}), "approval": approval},
        )
        s.add(row)
        s.flush()
        return int(row.id)


def load_campaign(session: Session, campaign_id: int) -> Campaign:
    """The campaign row, or ``NotFound`` with what to do."""
    row = session.get(Campaign, campaign_id)
    if row is None:
        raise NotFound(f"campaign {campaign_id} does not exist (see `marketing-gen campaign list`)")
    return row


def transition(session: Session, campaign: Campaign, to: CampaignState) -> bool:
    """Move ``campaign`` to ``to`` if allowed (compare-and-set on the current state); False if it moved meanwhile."""
    current = CampaignState(campaign.state)
    if current == to:
        return True
    if to not in _ALLOWED[current]:
        raise InvalidRequest(f"campaign {campaign.id} is {current.value}: cannot go to {to.value}")
    values: dict[str, Any] = {"state": to.value}
    if to == CampaignState.RUNNING and campaign.started_at is None:
        values["started_at"] = utcnow()
    if to in (CampaignState.COMPLETED, CampaignState.CANCELLED):
        values["finished_at"] = utcnow()
    if to == CampaignState.PLANNED:
        values["finished_at"] = None
    res = cast(
        "CursorResult[Any]",
        session.execute(
            update(Campaign).where(Campaign.id == campaign.id, Campaign.state == current.value).values(**values)
        ),
    )
    session.refresh(campaign)
    return bool(res.rowcount)


def set_state(campaign_id: int, to: CampaignState, *, url: str | None = None) -> str:
    """Transition a campaign by id (pause / resume / cancel); returns the new state."""
    with session_scope(url) as s:
        row = load_campaign(s, campaign_id)
        transition(s, row, to)
        return row.state


def draft_counts(session: Session, campaign_id: int, statuses: Iterable[str] = STATUS_NAMES) -> dict[str, int]:
    """Drafts of the campaign by status (every status present, zero when none)."""
    counts = dict.fromkeys(statuses, 0)
    for status, n in session.execute(
        select(Draft.status, func.count()).where(Draft.campaign_id == campaign_id).group_by(Draft.status)
    ):
        counts[status] = counts.get(status, 0) + int(n)
    return counts


def unfinished_count(session: Session, campaign_id: int) -> int:
    """Drafts still pending, generated or ready."""
    return int(
        session.scalar(select(func.count()).where(Draft.campaign_id == campaign_id, Draft.status.in_(UNFINISHED))) or 0
    )


def maybe_complete(session: Session, campaign_id: int) -> bool:
    """Mark a running campaign completed when no draft is unfinished; True if it is completed now.

    The campaign row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite's write transaction already
    serialises): two workers finishing the last batches at once would otherwise each count the other's
    uncommitted drafts as unfinished, and neither would complete the campaign.
    """
    row = session.get(Campaign, campaign_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound(f"campaign {campaign_id} does not exist (see `marketing-gen campaign list`)")
    if row.state != CampaignState.RUNNING.value or unfinished_count(session, campaign_id):
        return row.state == CampaignState.COMPLETED.value
    return transition(session, row, CampaignState.COMPLETED)


def campaign_status(campaign_id: int, *, url: str | None = None, verdicts: bool = True) -> dict[str, Any]:
    """The status report: state, counts by draft status (overall and per channel), rates: fallback, first-try
    pass (hard checks) and sendable (hard checks + quality gate), sendable delivered copy (``copy_verdicts``).
    ``verdicts=False`` leaves the per-draft verdicts out (they read every written draft's findings, fields and
    facts): what a progress poll needs is the counts."""
    with session_scope(url) as s:
        row = load_campaign(s, campaign_id)
        counts = draft_counts(s, campaign_id)
        by_channel: dict[str, dict[str, int]] = {c: dict.fromkeys(STATUS_NAMES, 0) for c in row.channels}
        for channel, status, n in s.execute(
            select(Draft.channel, Draft.status, func.count())
            .where(Draft.campaign_id == campaign_id)
            .group_by(Draft.channel, Draft.status)
        ):
            by_channel.setdefault(channel, dict.fromkeys(STATUS_NAMES, 0))[status] = int(n)
        written = Draft.status.in_(("generated", "ready", "queued"))
        agg = s.execute(
            select(
                func.count(),
                func.sum(case((Draft.fallback.is_(True), 1), else_=0)),
            ).where(Draft.campaign_id == campaign_id, written)
        ).one()
        n_written, n_fallback = int(agg[0] or 0), int(agg[1] or 0)
        rates = copy_verdicts(s, campaign_id) if verdicts else {}
        outbox = int(s.scalar(select(func.count()).where(OutboxMessage.campaign_id == campaign_id)) or 0)
        versions = sorted(
            v
            for v in s.scalars(select(Draft.model_version).where(Draft.campaign_id == campaign_id, written).distinct())
            if v
        )
        total = sum(counts.values())
        return {
            "id": row.id,
            "name": row.name,
            "state": row.state,
            "channels": list(row.channels),
            "segment": row.segment,
            "variants": row.variants,
            "offer": row.offer,
            "counts": counts,
            "total": total,
            "done": total - sum(counts[s_] for s_ in UNFINISHED),
            "by_channel": by_channel,
            "outbox": outbox,
            "fallback_rate": round(n_fallback / n_written, 4) if n_written else None,
            **rates.pop("*", {}),
            "verdicts_by_channel": rates,
            "model_versions": versions,
            "created_at": row.created_at,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
        }


def copy_verdicts(session: Session, campaign_id: int) -> dict[str, dict[str, float | None]]:
    """Per channel and overall (``*``) over written drafts: ``first_try_pass_rate`` (the first try passed the hard
    checks), ``first_try_sendable_rate`` (… and the quality gate), ``sendable_rate`` (the delivered copy is
    sendable), from the findings stored per attempt; ``fallback_rate``; and ``duplicate_headline_rate``: the share
    of drafts whose headline (``ChannelSpec.headline_field``) another draft of the channel shares although its items or
    offer differ (copy that is not about the user)."""
    from marketing_gen.guardrails import passes, sendable

    tally: dict[str, list[int]] = {}
    heads: dict[tuple[str, str], set[str]] = {}
    per_draft: list[tuple[str, str, str]] = []
    rows = session.execute(
        select(Draft.channel, Draft.violations, Draft.fallback, Draft.fields, Draft.facts)
        .where(Draft.campaign_id == campaign_id, Draft.status.in_(("generated", "ready", "queued")))
        .execution_options(yield_per=1000)
    )
    for channel, violations, fallback, fields, facts in rows:
        attempts = violations or [[]]
        verdict = (passes(attempts[0]), sendable(attempts[0]), sendable(attempts[-1]), bool(fallback))
        for key in (channel, "*"):
            t = tally.setdefault(key, [0, 0, 0, 0, 0, 0])
            t[0] += 1
            for i, ok in enumerate(verdict, start=1):
                t[i] += ok
        head = (fields or {}).get(_headline_field(channel))
        if head:
            head = " | ".join(map(str, head)) if isinstance(head, list) else str(head)
            about = json.dumps([(facts or {}).get("items"), (facts or {}).get("offer")], sort_keys=True, default=str)
            heads.setdefault((channel, head.strip().lower()), set()).add(about)
            per_draft.append((channel, head.strip().lower(), about))
    for channel, head, about in per_draft:
        if heads[(channel, head)] - {about}:  # the same words about other items or another offer
            tally[channel][5] += 1
            tally["*"][5] += 1
    names = ("first_try_pass_rate", "first_try_sendable_rate", "sendable_rate", "fallback_rate")
    out = {
        key: {
            **{name: round(t[i + 1] / t[0], 4) for i, name in enumerate(names)},
            "duplicate_headline_rate": round(t[5] / t[0], 4),
        }
        for key, t in tally.items()
    }
    out.setdefault("*", dict.fromkeys([*names, "duplicate_headline_rate"]))
    return out


def list_campaigns(*, url: str | None = None) -> list[dict[str, Any]]:
    """Every campaign with its state and draft total, newest first."""
    with session_scope(url) as s:
        totals = dict(s.execute(select(Draft.campaign_id, func.count()).group_by(Draft.campaign_id)).all())
        return [
            {
                "id": c.id,
                "name": c.name,
                "state": c.state,
                "channels": list(c.channels),
                "segment": c.segment,
                "drafts": int(totals.get(c.id, 0)),
                "created_at": c.created_at,
            }
            for c in s.scalars(select(Campaign).order_by(Campaign.id.desc()))
        ]


def _headline_field(channel: str) -> str:
    spec = all_channels().get(channel)
    return spec.headline_field if spec is not None else ""
