"""Reviewers' decisions as training data: a rejection is a KTO negative (the model's copy, label False); an
accepted edit is a DPO pair (chosen = the human's copy, rejected = the model's) for the same serving prompt.
Edited drafts that were approved also become SFT rows (``training.datasets.draft_rows`` keeps them even when
the original was a template fallback). Template fallbacks are never used as the *rejected* side: the model did
not write them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from marketing_gen.db import session_scope
from marketing_gen.db.models import Campaign, Draft, ReviewAction


def review_preference_rows(
    *, url: str | None = None, campaign_id: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """``{"kto": [...], "dpo": [...]}`` in TRL's conversational formats, with ``meta`` naming the review action."""
    from marketing_gen.campaigns.pipeline import offer_from
    from marketing_gen.recommend import build_contexts
    from marketing_gen.training.datasets import format_fields, serving_prompt

    with session_scope(url) as s:
        q = (
            select(ReviewAction, Draft.user_id, Draft.channel, Draft.variant, Draft.fallback)
            .join(Draft, Draft.id == ReviewAction.draft_id)
            .where(ReviewAction.action.in_(("reject", "edit")), Draft.channel != "social_reply")
            .order_by(ReviewAction.id)
        )
        if campaign_id is not None:
            q = q.where(ReviewAction.campaign_id == campaign_id)
        actions = [(a, uid, ch, var, fb) for a, uid, ch, var, fb in s.execute(q)]
        s.expunge_all()
        campaigns = {
            c.id: c for c in s.scalars(select(Campaign).where(Campaign.id.in_({a.campaign_id for a, *_ in actions})))
        }
        s.expunge_all()
    first_edit: dict[int, Any] = {}
    for a, *_ in actions:
        if a.action == "edit":
            first_edit.setdefault(a.draft_id, a)
    wanted: dict[tuple[int, str], set[int]] = {}
    for a, uid, ch, _var, _fb in actions:
        wanted.setdefault((a.campaign_id, ch), set()).add(uid)
    contexts: dict[tuple[int, int, str], Any] = {}
    for (cid, ch), users in wanted.items():
        campaign = campaigns[cid]
        k = int((campaign.options or {}).get("items", 3))
        for ctx in build_contexts(sorted(users), ch, url=url, offer=offer_from(campaign), k=k):
            contexts[(cid, ctx.user_id, ch)] = ctx
    out: dict[str, list[dict[str, Any]]] = {"kto": [], "dpo": []}
    for a, uid, ch, var, fallback in actions:
        ctx = contexts.get((a.campaign_id, uid, ch))
        if ctx is None:
            continue
        prompt = serving_prompt(ctx, ch, var)
        meta = {"draft_id": a.draft_id, "campaign_id": a.campaign_id, "channel": ch, "review": a.action}
        if a.action == "reject" and not fallback and a.before:
            text = format_fields(dict(a.before), ch)
            if text:
                meta["reason"] = a.reason
                out["kto"].append(
                    {"prompt": prompt, "completion": [{"role": "assistant", "content": text}], "label": False,
                     "meta": meta}
                )  # fmt: skip
        elif a.action == "edit" and first_edit.get(a.draft_id) is a and not fallback and a.before and a.after:
            chosen, rejected = format_fields(dict(a.after), ch), format_fields(dict(a.before), ch)
            if chosen and rejected and chosen != rejected:
                out["dpo"].append(
                    {"prompt": prompt, "chosen": [{"role": "assistant", "content": chosen}],
                     "rejected": [{"role": "assistant", "content": rejected}], "meta": meta}
                )  # fmt: skip
    return out
