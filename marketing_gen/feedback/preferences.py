"""Outcomes → preference rows for TRL: DPO pairs (same user, same send) and KTO rows (unpaired, binary).

Exposure bias is handled by comparing only within one send (one campaign × channel, same audience, same time):
- only drafts that were sent count, and for email sends that record opens, only opened messages (a body never
  seen had no chance to be clicked);
- a send with no positive outcome at all (tracking broken, or too early) gives no rows;
- drafts younger than ``settle_hours`` are left out (their clicks may still come);
- KTO negatives are sub-sampled per send to at most ``negatives_per_positive`` per positive, so a 3% click rate
  does not drown the positives; unsubscribes and complaints are always kept as negatives.

DPO needs two completions for one prompt, so pairs come only from users who received several variants in the
same send (e.g. rotating ads); the pair's prompt is the *rejected* draft's serving prompt — the model wrote
``rejected`` for exactly that prompt and it lost to ``chosen`` in the same send. With one variant per user
(the planner's default) outcomes become KTO rows. Prompts are rebuilt with the serving prompt builder and
completions are the tagged field text (``training.datasets``), so rows match what the engine sees.
Template fallbacks are not the model's copy and are left out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from marketing_gen.channels.base import marketing_channels
from marketing_gen.db import session_scope
from marketing_gen.db.models import Campaign, Draft, FeedbackEvent

SENT = ("sent", "delivered")
NEGATIVE = ("unsubscribe", "complaint")


@dataclass
class PreferenceData:
    """DPO pairs and KTO rows in TRL's conversational formats, with counts of what was used and why not."""

    dpo: list[dict[str, Any]] = field(default_factory=list)
    """``{"prompt": [msgs], "chosen": [assistant msg], "rejected": [assistant msg], "meta": {...}}``."""
    kto: list[dict[str, Any]] = field(default_factory=list)
    """``{"prompt": [msgs], "completion": [assistant msg], "label": bool, "meta": {...}}``."""
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def kto_weights(self) -> tuple[float, float]:
        """(desirable_weight, undesirable_weight) keeping TRL's recommended ratio (1 to 4/3) for these rows."""
        pos = sum(1 for r in self.kto if r["label"])
        neg = len(self.kto) - pos
        if not pos or not neg:
            return 1.0, 1.0
        return (round(max(1.0, neg / pos), 3), 1.0)

    def summary(self) -> dict[str, Any]:
        """Counts as a plain dict."""
        d, u = self.kto_weights
        return {
            "dpo_pairs": len(self.dpo),
            "kto_rows": len(self.kto),
            "kto_desirable_weight": d,
            "kto_undesirable_weight": u,
            **dict(self.counts),
        }


@dataclass
class _Outcome:
    draft_id: int
    campaign_id: int
    user_id: int
    channel: str
    variant: int
    fields: dict[str, Any]
    sent_at: dt.datetime | None = None
    events: set[str] = field(default_factory=set)
    last_event_at: dt.datetime | None = None


def _aware(ts: dt.datetime | None) -> dt.datetime | None:
    if ts is None:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)


def _load(url: str | None, since: dt.datetime | None, campaign_id: int | None) -> dict[int, _Outcome]:
    with session_scope(url) as s:
        q = (
            select(Draft.id, Draft.campaign_id, Draft.user_id, Draft.channel, Draft.variant, Draft.fields)
            .where(Draft.fallback.is_(False), Draft.fields.is_not(None), Draft.channel.in_(marketing_channels()))
            .where(Draft.id.in_(select(FeedbackEvent.draft_id).where(FeedbackEvent.event.in_(SENT))))
        )
        if campaign_id is not None:
            q = q.where(Draft.campaign_id == campaign_id)
        drafts = {
            r.id: _Outcome(r.id, r.campaign_id, r.user_id, r.channel, r.variant, dict(r.fields or {}))
            for r in s.execute(q)
        }
        ids = list(drafts)
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            ev = s.execute(
                select(
                    FeedbackEvent.draft_id,
                    FeedbackEvent.event,
                    func.min(FeedbackEvent.ts),
                    func.max(FeedbackEvent.created_at),
                )
                .where(FeedbackEvent.draft_id.in_(chunk))
                .group_by(FeedbackEvent.draft_id, FeedbackEvent.event)
            )
            for draft_id, event, first_ts, last_created in ev:
                o = drafts[draft_id]
                o.events.add(event)
                if event in SENT:
                    first = _aware(first_ts)
                    o.sent_at = first if o.sent_at is None or (first and first < o.sent_at) else o.sent_at
                last = _aware(last_created)
                if last and (o.last_event_at is None or last > o.last_event_at):
                    o.last_event_at = last
    if since is not None:
        since = _aware(since)
        drafts = {k: o for k, o in drafts.items() if o.last_event_at and o.last_event_at >= since}
    return drafts


def _rank(seed: int, draft_id: int) -> str:
    return hashlib.sha256(f"{seed}:{draft_id}".encode()).hexdigest()


def _contexts(url: str | None, outcomes: list[_Outcome]) -> dict[tuple[int, int, str], Any]:
    """Serving contexts per (campaign, user, channel): one build_contexts call per campaign × channel."""
    from marketing_gen.campaigns.pipeline import offer_from
    from marketing_gen.recommend import build_contexts

    wanted: dict[tuple[int, str], set[int]] = defaultdict(set)
    for o in outcomes:
        wanted[(o.campaign_id, o.channel)].add(o.user_id)
    out: dict[tuple[int, int, str], Any] = {}
    for (campaign_id, channel), users in wanted.items():
        with session_scope(url) as s:
            campaign = s.get(Campaign, campaign_id)
            offer = offer_from(campaign) if campaign else None
            k = int(((campaign.options if campaign else None) or {}).get("items", 3))
        for context in build_contexts(sorted(users), channel, url=url, offer=offer, k=k):
            out[(campaign_id, context.user_id, channel)] = context
    return out


def build_preference_rows(
    *,
    url: str | None = None,
    since: dt.datetime | None = None,
    campaign_id: int | None = None,
    metric: str = "click",
    settle_hours: float = 24.0,
    negatives_per_positive: float = 3.0,
    max_pairs_per_user: int = 2,
    seed: int = 0,
    now: dt.datetime | None = None,
) -> PreferenceData:
    """DPO pairs and KTO rows from sent drafts' outcomes (``metric``: click or convert), compared within sends."""
    from marketing_gen.training.datasets import format_fields, serving_prompt

    if metric not in ("click", "convert"):
        raise ValueError("metric must be 'click' or 'convert'")
    now = now or dt.datetime.now(dt.timezone.utc)
    data = PreferenceData()
    outcomes = _load(url, since, campaign_id)
    data.counts["sent_drafts"] = len(outcomes)
    settled = [o for o in outcomes.values() if o.sent_at and o.sent_at <= now - dt.timedelta(hours=settle_hours)]
    data.counts["too_recent"] = len(outcomes) - len(settled)
    sends: dict[tuple[int, str], list[_Outcome]] = defaultdict(list)
    for o in settled:
        sends[(o.campaign_id, o.channel)].append(o)

    # 1. Per send: who was exposed, who is positive / negative.
    chosen_rows: list[tuple[_Outcome, bool]] = []
    dpo_groups: dict[tuple[int, int, str], list[tuple[_Outcome, bool]]] = defaultdict(list)
    for (_cid, channel), members in sorted(sends.items()):
        tracks_opens = channel == "email" and any("open" in o.events for o in members)
        exposed = [o for o in members if not tracks_opens or o.events & {"open", "click", "convert", *NEGATIVE}]
        data.counts["not_exposed"] += len(members) - len(exposed)
        positives = [o for o in exposed if metric in o.events and not o.events & set(NEGATIVE)]
        if not positives:
            data.counts["sends_without_positive"] += 1
            data.counts["dropped_in_sends_without_positive"] += len(exposed)
            continue
        data.counts["sends_used"] += 1
        explicit_neg = [o for o in exposed if o.events & set(NEGATIVE)]
        plain_neg = [o for o in exposed if metric not in o.events and not o.events & set(NEGATIVE)]
        for o in positives:
            dpo_groups[(o.campaign_id, o.user_id, o.channel)].append((o, True))
        for o in explicit_neg + plain_neg:
            dpo_groups[(o.campaign_id, o.user_id, o.channel)].append((o, False))
        keep = math.ceil(len(positives) * negatives_per_positive)
        sampled = sorted(plain_neg, key=lambda o: _rank(seed, o.draft_id))[:keep]
        data.counts["negatives_subsampled_out"] += len(plain_neg) - len(sampled)
        chosen_rows += [(o, True) for o in positives] + [(o, False) for o in explicit_neg + sampled]

    # 2. Contexts for every draft that will become a row (one join per campaign × channel).
    needed = {o.draft_id: o for o, _ in chosen_rows}
    pairs: list[tuple[_Outcome, _Outcome]] = []
    for group in dpo_groups.values():
        wins = [o for o, label in group if label]
        losses = [o for o, label in group if not label]
        found = [(w, lo) for w in wins for lo in losses if w.variant != lo.variant]
        pairs += found[:max_pairs_per_user]
        for w, lo in found[:max_pairs_per_user]:
            needed[w.draft_id], needed[lo.draft_id] = w, lo
    contexts = _contexts(url, list(needed.values()))

    def prompt_and_completion(o: _Outcome) -> tuple[list[dict[str, str]], list[dict[str, str]]] | None:
        context = contexts.get((o.campaign_id, o.user_id, o.channel))
        if context is None:
            data.counts["no_context"] += 1
            return None
        completion = format_fields(o.fields, o.channel)
        if not completion:
            data.counts["empty_fields"] += 1
            return None
        return serving_prompt(context, o.channel, o.variant), [{"role": "assistant", "content": completion}]

    # 3. Rows.
    for o, label in chosen_rows:
        built = prompt_and_completion(o)
        if built is None:
            continue
        data.kto.append(
            {
                "prompt": built[0],
                "completion": built[1],
                "label": label,
                "meta": {
                    "draft_id": o.draft_id,
                    "campaign_id": o.campaign_id,
                    "channel": o.channel,
                    "variant": o.variant,
                    "events": sorted(o.events),
                },
            }
        )
    for win, loss in pairs:
        w, lo = prompt_and_completion(win), prompt_and_completion(loss)
        if w is None or lo is None:
            continue
        data.dpo.append(
            {
                "prompt": lo[0],
                "chosen": w[1],
                "rejected": lo[1],
                "meta": {
                    "campaign_id": win.campaign_id,
                    "channel": win.channel,
                    "chosen_draft_id": win.draft_id,
                    "rejected_draft_id": loss.draft_id,
                    "chosen_variant": win.variant,
                    "rejected_variant": loss.variant,
                },
            }
        )
    # 4. Reviewers' decisions: rejections (KTO negatives) and human edits (DPO pairs), see review.training.
    from marketing_gen.review.training import review_preference_rows

    review = review_preference_rows(url=url, campaign_id=campaign_id)
    data.kto += review["kto"]
    data.dpo += review["dpo"]
    if review["kto"] or review["dpo"]:
        data.counts["review_rejections"], data.counts["review_edits"] = len(review["kto"]), len(review["dpo"])
    data.counts["positives"] = sum(1 for r in data.kto if r["label"])
    data.counts["negatives"] = sum(1 for r in data.kto if not r["label"])
    return data


def trl_columns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without the ``meta`` key (TRL trainers read only prompt/chosen/rejected or prompt/completion/label)."""
    return [{k: v for k, v in r.items() if k != "meta"} for r in rows]
