"""The approval workflow: drafts of a campaign with ``approval: required`` wait in ``in_review`` until a reviewer
approves (one, a variant, a channel, or all), rejects (with a reason) or edits them.

- approve: ``in_review → ready``, then straight into the outbox (``pipeline.deliver_drafts``) — only approved
  drafts ever reach it;
- reject: ``in_review → rejected``, the reason kept (it becomes a negative preference row, ``review.training``);
- edit: the new copy is re-checked by every guardrail (``guardrails.check``) against the facts the model's copy
  was checked against (stored on the draft, ``campaigns.draft_facts``) and re-rendered from them; a hard finding
  refuses the edit and nothing changes; an accepted edit stays ``in_review``.
Every action writes a ``review_actions`` row: who, when, what, the copy before and after.
Does not own sessions or HTML (``review.accounts``, ``api.review_pages``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update

from marketing_gen.campaigns.draft_facts import draft_contexts
from marketing_gen.campaigns.pipeline import deliver_drafts, items_per_draft, offer_from, stored_artifact
from marketing_gen.campaigns.state import DraftStatus, load_campaign
from marketing_gen.channels.base import get_channel
from marketing_gen.config import Settings, get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Draft, ReviewAction, User, as_utc, utcnow
from marketing_gen.errors import ClientError, InvalidRequest, NotFound

CHUNK = 500


@dataclass
class EditOutcome:
    """The result of an edit: accepted or refused, with every finding (hard ones explain a refusal)."""

    draft_id: int
    accepted: bool
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def hard(self) -> list[dict[str, Any]]:
        """The blocking findings (the hard checks'; the quality gate's are advice on a reviewer's edit)."""
        from marketing_gen.guardrails import is_gate

        return [f for f in self.findings if f.get("hard") and not is_gate(str(f.get("code", "")))]


def _audit(actor: str, action: str, rows: Sequence[tuple[int, int]], **values: Any) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {"draft_id": d, "campaign_id": c, "actor": actor, "action": action, "created_at": now, **values}
        for d, c in rows
    ]


def approve_drafts(
    campaign_id: int,
    *,
    actor: str,
    channel: str | None = None,
    variant: int | None = None,
    draft_ids: Sequence[int] | None = None,
    settings: Settings | None = None,
) -> dict[str, int]:
    """Approve the campaign's drafts in review (all, or one channel / variant / the given ids) and queue them in
    the outbox; returns ``{"approved": n, "queued": m}``."""
    settings = settings or get_settings()
    url = settings.database_url
    with session_scope(url) as s:
        campaign = load_campaign(s, campaign_id)
        if channel is not None and channel not in (campaign.channels or []):
            raise InvalidRequest(f"--channel {channel!r}: campaign {campaign_id} has {', '.join(campaign.channels)}")
        if variant is not None and not 0 <= variant < campaign.variants:
            raise InvalidRequest(f"--variant {variant}: campaign {campaign_id} has variants 0..{campaign.variants - 1}")
        q = select(Draft.id).where(Draft.campaign_id == campaign_id, Draft.status == DraftStatus.IN_REVIEW.value)
        if channel is not None:
            q = q.where(Draft.channel == channel)
        if variant is not None:
            q = q.where(Draft.variant == variant)
        if draft_ids is not None:
            q = q.where(Draft.id.in_(list(draft_ids)))
        candidates = list(s.scalars(q.order_by(Draft.id)))
    approved: list[int] = []
    for start in range(0, len(candidates), CHUNK):
        chunk = candidates[start : start + CHUNK]
        with session_scope(url) as s:
            moved = list(
                s.scalars(
                    update(Draft)
                    .where(Draft.id.in_(chunk), Draft.status == DraftStatus.IN_REVIEW.value)
                    .values(status=DraftStatus.READY.value, updated_at=utcnow())
                    .returning(Draft.id)
                )
            )
            if moved:
                s.execute(insert(ReviewAction), _audit(actor, "approve", [(d, campaign_id) for d in moved]))
        approved += moved
    queued = 0
    for start in range(0, len(approved), CHUNK):
        queued += len(deliver_drafts(approved[start : start + CHUNK], settings=settings))
    return {"approved": len(approved), "queued": queued}


def _draft_in_review(s: Any, draft_id: int) -> Draft:
    draft = s.get(Draft, draft_id)
    if draft is None:
        raise NotFound(f"draft {draft_id} does not exist")
    if draft.status != DraftStatus.IN_REVIEW.value:
        raise InvalidRequest(
            f"draft {draft_id} is {draft.status}: only drafts in review can be approved, rejected or edited"
        )
    return draft


def reject_draft(draft_id: int, *, actor: str, reason: str, settings: Settings | None = None) -> None:
    """Reject one draft in review; the reason is kept on the draft and in the audit trail."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest("a rejection needs a reason (it teaches the model what not to write)")
    settings = settings or get_settings()
    with session_scope(settings.database_url) as s:
        draft = _draft_in_review(s, draft_id)
        draft.status = DraftStatus.REJECTED.value
        draft.skip_reason = f"rejected by {actor}: {reason}"[:256]
        s.execute(
            insert(ReviewAction),
            _audit(actor, "reject", [(draft.id, draft.campaign_id)], reason=reason, before=draft.fields, after=None),
        )


def _normalise(channel: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    spec = get_channel(channel)
    out: dict[str, Any] = {}
    for name, value in fields.items():
        kind = spec.field(name).kind  # InvalidRequest names the channel's fields
        if kind == "list":
            items = value if isinstance(value, (list, tuple)) else str(value).replace("\r", "").split("\n")
            out[name] = [str(v).strip() for v in items if str(v).strip()]
        else:
            out[name] = str(value).replace("\r\n", "\n").strip()
    return out


def edit_draft(
    draft_id: int, fields: Mapping[str, Any], *, actor: str, settings: Settings | None = None
) -> EditOutcome:
    """Replace some fields of a draft in review; accepted only if every hard check passes and it renders (the
    quality gate's findings are returned as advice: a person wrote it)."""
    from marketing_gen.guardrails import check, passes
    from marketing_gen.render import render

    settings = settings or get_settings()
    url = settings.database_url
    with session_scope(url) as s:
        draft = _draft_in_review(s, draft_id)
        campaign = load_campaign(s, draft.campaign_id)
        before = dict(draft.fields or {})
        channel, user_id, campaign_id = draft.channel, draft.user_id, draft.campaign_id
        k, offer, name, facts = items_per_draft(campaign), offer_from(campaign), campaign.name, draft.facts
    after = {**before, **_normalise(channel, fields)}
    # the edit is checked and rendered against what the model's copy was checked against (its stored facts)
    stored = draft_contexts([(draft_id, user_id, facts)], channel, offer=offer, k=k, url=url, step="edit")
    context = stored.get(draft_id)
    if context is None:
        raise InvalidRequest(f"draft {draft_id}: its user has no context any more (no recommended items)")
    if isinstance(context, str):
        raise InvalidRequest(f"draft {draft_id}: {context}")
    found = [v.to_dict() for v in check(after, context, channel, tracking_base_url=settings.public_base_url)]
    # a reviewer's words are judged by the reviewer: the quality gate's findings are shown, the hard checks block
    outcome = EditOutcome(draft_id, accepted=passes(found), findings=found)
    rendered = None
    if outcome.accepted:
        try:
            rendered = stored_artifact(
                render(
                    channel,
                    after,
                    context,
                    draft_id=draft_id,
                    campaign_name=name,
                    settings=settings,
                    ai_mark="human",
                )
            )
        except (ClientError, ValueError) as exc:
            outcome.accepted = False
            outcome.findings.append({"code": "render.failed", "field": "*", "message": str(exc), "hard": True})
    with session_scope(url) as s:
        if outcome.accepted:
            res = s.execute(
                update(Draft)
                .where(Draft.id == draft_id, Draft.status == DraftStatus.IN_REVIEW.value)
                .values(fields=after, rendered=rendered, ai_mark="human", updated_at=utcnow())
            )
            if not res.rowcount:  # type: ignore[attr-defined]
                raise InvalidRequest(f"draft {draft_id} left review while it was being edited; reload it")
        action = "edit" if outcome.accepted else "edit_refused"
        codes = ", ".join(f["code"] for f in outcome.hard) or None
        s.execute(
            insert(ReviewAction),
            _audit(actor, action, [(draft_id, campaign_id)], reason=codes, before=before, after=after),
        )
    return outcome


def edited_draft_ids(session: Any, draft_ids: Sequence[int]) -> set[int]:
    """Which of ``draft_ids`` carry an accepted human edit."""
    if not draft_ids:
        return set()
    q = select(ReviewAction.draft_id).where(ReviewAction.draft_id.in_(list(draft_ids)), ReviewAction.action == "edit")
    return set(session.scalars(q))


def review_counts(campaign_id: int, *, url: str | None = None) -> dict[str, Any]:
    """Drafts per channel → variant → status, and totals by status."""
    with session_scope(url) as s:
        campaign = load_campaign(s, campaign_id)
        rows = s.execute(
            select(Draft.channel, Draft.variant, Draft.status, func.count())
            .where(Draft.campaign_id == campaign_id)
            .group_by(Draft.channel, Draft.variant, Draft.status)
        ).all()
        approval = (campaign.options or {}).get("approval", "none")
        name, state = campaign.name, campaign.state
    groups: dict[str, dict[int, dict[str, int]]] = {}
    totals: dict[str, int] = {}
    for channel, variant, status, n in rows:
        groups.setdefault(channel, {}).setdefault(int(variant), {})[status] = int(n)
        totals[status] = totals.get(status, 0) + int(n)
    return {"id": campaign_id, "name": name, "state": state, "approval": approval, "totals": totals, "groups": groups}


def list_drafts(
    campaign_id: int,
    *,
    channel: str | None = None,
    variant: int | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 20,
    url: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the campaign's drafts (keyed by id) with what the reviewer needs; and the total matching."""
    page, per_page = max(1, page), max(1, min(per_page, 200))
    with session_scope(url) as s:
        where = [Draft.campaign_id == campaign_id]
        if channel:
            where.append(Draft.channel == channel)
        if variant is not None:
            where.append(Draft.variant == variant)
        if status:
            where.append(Draft.status == status)
        total = int(s.scalar(select(func.count()).select_from(Draft).where(*where)) or 0)
        rows = s.execute(
            select(Draft, User.external_id)
            .join(User, User.id == Draft.user_id)
            .where(*where)
            .order_by(Draft.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        edited = edited_draft_ids(s, [d.id for d, _ in rows])
        out = [
            {
                "id": d.id,
                "user": ext,
                "user_id": d.user_id,
                "channel": d.channel,
                "variant": d.variant,
                "status": d.status,
                "fields": d.fields or {},
                "rendered": d.rendered or {},
                "facts": d.facts,
                "findings": (d.violations or [[]])[-1] if d.violations else [],
                "fallback": d.fallback,
                "human_edited": d.id in edited,
                "skip_reason": d.skip_reason,
            }
            for d, ext in rows
        ]
    return out, total


def audit_trail(campaign_id: int, *, limit: int = 50, url: str | None = None) -> list[dict[str, Any]]:
    """The newest review actions of a campaign."""
    with session_scope(url) as s:
        return [
            {
                "draft_id": a.draft_id,
                "actor": a.actor,
                "action": a.action,
                "reason": a.reason,
                "before": a.before,
                "after": a.after,
                "at": as_utc(a.created_at).isoformat(),
            }
            for a in s.scalars(
                select(ReviewAction)
                .where(ReviewAction.campaign_id == campaign_id)
                .order_by(ReviewAction.id.desc())
                .limit(limit)
            )
        ]
