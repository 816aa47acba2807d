"""The plain functions the Celery tasks call: plan, generate, render, deliver a batch of draft ids.

Owns draft status changes. Every step only touches drafts in the status it expects (``pending`` for
generate, ``generated`` for render, ``ready`` for deliver) and writes with a compare-and-set on that status,
so a redelivered, re-enqueued or concurrently duplicated batch is a no-op and never writes twice. Outbox
rows are unique per draft. Generate, render and deliver re-check each batch's consent (``eligibility``, one query
per batch): a draft whose user opted out since planning ends ``skipped`` with the reason.
Steps return the ids they advanced; the task enqueues the next step with them.
Does not own Celery (``workers/``), the model (``copywriter`` gets an engine), templates (``render``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel
from sqlalchemy import Table, select, update

from marketing_gen.campaigns.draft_facts import build_draft_facts, draft_contexts
from marketing_gen.campaigns.eligibility import blocked_drafts
from marketing_gen.campaigns.planning import PlanResult, plan_drafts
from marketing_gen.campaigns.state import (
    CampaignState,
    DraftStatus,
    load_campaign,
    maybe_complete,
    needs_approval,
    transition,
    unfinished_count,
)
from marketing_gen.config import Settings, get_settings
from marketing_gen.contexts import Offer, UserContext
from marketing_gen.db import insert_ignore, serial_scope, session_scope
from marketing_gen.db.models import Campaign, Draft, OutboxMessage, utcnow
from marketing_gen.errors import ClientError, InvalidRequest

if TYPE_CHECKING:
    from marketing_gen.copywriter import CopyResult
    from marketing_gen.llm.protocol import GenerationEngine
    from marketing_gen.llm.sampling import Completion, Prompt, SamplingParams
    from marketing_gen.render import RenderedArtifact

log = logging.getLogger(__name__)

STOPPED = (CampaignState.PAUSED.value, CampaignState.CANCELLED.value)
"""Campaign states in which tasks leave drafts untouched."""


@dataclass
class Work:
    """Batches of draft ids to enqueue, per pipeline step."""

    generate: list[list[int]] = field(default_factory=list)
    render: list[list[int]] = field(default_factory=list)
    deliver: list[list[int]] = field(default_factory=list)

    @property
    def batches(self) -> int:
        """Total number of batches."""
        return len(self.generate) + len(self.render) + len(self.deliver)


def _chunks(ids: Sequence[int], size: int) -> list[list[int]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def batch_size_for(campaign: Campaign, settings: Settings) -> int:
    """Drafts per batch: the campaign's ``batch_size`` option, else ``settings.generate_batch_size``."""
    size = int((campaign.options or {}).get("batch_size") or settings.generate_batch_size)
    return max(1, size)


def unfinished_work(campaign_id: int, *, settings: Settings | None = None) -> Work:
    """Every unfinished draft of the campaign, batched by the step it needs next (ordered by id)."""
    settings = settings or get_settings()
    with session_scope(settings.database_url) as s:
        campaign = load_campaign(s, campaign_id)
        size = batch_size_for(campaign, settings)
        # Batches never mix channels or A/B arms: one generate task = one batched engine call.
        groups: dict[tuple[str, str, int], list[int]] = defaultdict(list)
        for draft_id, status, channel, variant in s.execute(
            select(Draft.id, Draft.status, Draft.channel, Draft.variant)
            .where(
                Draft.campaign_id == campaign_id,
                Draft.status.in_((DraftStatus.PENDING.value, DraftStatus.GENERATED.value, DraftStatus.READY.value)),
            )
            .order_by(Draft.channel, Draft.variant, Draft.id)
        ):
            groups[(status, channel, variant)].append(draft_id)
    work = Work()
    steps = {
        DraftStatus.PENDING.value: work.generate,
        DraftStatus.GENERATED.value: work.render,
        DraftStatus.READY.value: work.deliver,
    }
    for (status, _channel, _variant), ids in groups.items():
        steps[status].extend(_chunks(ids, size))
    return work


def plan_campaign(campaign_id: int, *, settings: Settings | None = None) -> tuple[PlanResult | None, Work]:
    """(Re-)plan the audience (idempotent), mark the campaign running, and return the unfinished work.

    A paused or cancelled campaign is left alone (returns no work).
    """
    settings = settings or get_settings()
    with serial_scope(settings.database_url) as s:  # the frequency cap holds against concurrent plans
        campaign = load_campaign(s, campaign_id)
        if campaign.state in STOPPED:
            log.info("campaign %s is %s: not planning", campaign_id, campaign.state)
            return None, Work()
        transition(s, campaign, CampaignState.PLANNED)
        result = plan_drafts(
            s, campaign, frequency_cap=settings.frequency_cap, frequency_window_days=settings.frequency_window_days
        )
        transition(s, campaign, CampaignState.RUNNING)
    with session_scope(settings.database_url) as s:
        maybe_complete(s, campaign_id)
    return result, unfinished_work(campaign_id, settings=settings)


# --- generate -------------------------------------------------------------------------------------------


class TimedEngine:
    """Wraps an engine and adds up the seconds spent inside ``generate`` (model time, for the overhead figure)."""

    def __init__(self, engine: GenerationEngine) -> None:
        self.engine = engine
        self.version = engine.version
        self.int8_decode_layers = engine.int8_decode_layers
        self.seconds = 0.0

    def few_shot_for(self, channel: str) -> bool:
        """The wrapped engine's answer."""
        return self.engine.few_shot_for(channel)

    def uses_slots(self, channel: str) -> bool:
        """The wrapped engine's answer."""
        return self.engine.uses_slots(channel)

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams | None = None) -> list[Completion]:
        """The wrapped engine's ``generate``, timed."""
        started = time.perf_counter()
        try:
            return self.engine.generate(prompts, params)
        finally:
            self.seconds += time.perf_counter() - started


def offer_from(campaign: Campaign) -> Offer:
    """The campaign's offer JSON as the frozen ``Offer`` copy may use."""
    raw = campaign.offer or {}
    ends = raw.get("ends_at")
    return Offer(
        text=raw.get("text") or "",
        discount_pct=Decimal(str(raw["discount_pct"])) if raw.get("discount_pct") is not None else None,
        amount_off=Decimal(str(raw["amount_off"])) if raw.get("amount_off") is not None else None,
        code=raw.get("code"),
        ends_at=dt.date.fromisoformat(ends) if ends else None,
    )


def sampling_params_for(campaign: Campaign) -> SamplingParams | None:
    """Per-campaign sampling overrides (``options.sampling``, e.g. ``{"max_new_tokens": 24}``), else None."""
    from marketing_gen.llm.sampling import SamplingParams

    sampling = dict((campaign.options or {}).get("sampling") or {})
    if not sampling:
        return None
    try:
        # the copywriter's own default adds a mild repetition penalty; keep it unless the campaign sets one
        return SamplingParams(**{"repetition_penalty": 1.15, **sampling})
    except ValueError as exc:
        raise InvalidRequest(f"campaign {campaign.id} options.sampling is invalid: {exc}") from exc


@dataclass(frozen=True)
class _DraftRef:
    id: int
    campaign_id: int
    user_id: int
    channel: str
    variant: int
    extra: tuple[Any, ...] = ()
    """The values of the ``extra`` columns ``_load`` was asked for, in order."""


def _load(
    draft_ids: Sequence[int], status: DraftStatus, url: str, extra: Sequence[Any] = ()
) -> tuple[list[_DraftRef], dict[int, Campaign]]:
    """Drafts among ``draft_ids`` still in ``status`` whose campaign is not paused/cancelled, and their campaigns.

    ``extra``: more ``Draft`` columns read in the same query (a step reads each draft once)."""
    with session_scope(url) as s:
        rows = s.execute(
            select(Draft.id, Draft.campaign_id, Draft.user_id, Draft.channel, Draft.variant, *extra)
            .join(Campaign, Campaign.id == Draft.campaign_id)
            .where(Draft.id.in_(list(draft_ids)), Draft.status == status.value, Campaign.state.not_in(STOPPED))
            .order_by(Draft.id)
        ).all()
        refs = [_DraftRef(r[0], r[1], r[2], r[3], r[4], extra=tuple(r[5:])) for r in rows]
        campaigns = {c.id: c for c in s.scalars(select(Campaign).where(Campaign.id.in_({r.campaign_id for r in refs})))}
        for c in campaigns.values():
            s.expunge(c)
    return refs, campaigns


def items_per_draft(campaign: Campaign) -> int:
    """Recommended items a draft's copy may talk about: the campaign's ``items`` option, default 3."""
    return int((campaign.options or {}).get("items", 3))


def _contexts(refs: list[_DraftRef], campaign: Campaign, channel: str, url: str) -> dict[int, UserContext]:
    """One ``build_contexts`` call for these drafts' users (the generate step's join): user id → context."""
    from marketing_gen.recommend import build_contexts

    user_ids = sorted({r.user_id for r in refs})
    k = items_per_draft(campaign)
    return {c.user_id: c for c in build_contexts(user_ids, channel, url=url, offer=offer_from(campaign), k=k)}


def _json_safe(value: Any) -> Any:
    """Make copywriter output JSON-storable (Decimals, dates, tuples, dataclasses)."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _json_safe(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, BaseModel):
        return _json_safe(value.model_dump())
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _skipped(reason: str) -> dict[str, Any]:
    """The draft columns of a draft whose user no longer qualifies (``eligibility.exclusion``'s reason)."""
    return {"status": DraftStatus.SKIPPED.value, "skip_reason": reason[:256]}


def _cas_update(s: Any, draft_id: int, expected: DraftStatus, values: dict[str, Any]) -> bool:
    """UPDATE one draft only if it is still in ``expected`` status; True if this call moved it."""
    res = s.execute(
        update(Draft).where(Draft.id == draft_id, Draft.status == expected.value).values(updated_at=utcnow(), **values)
    )
    return bool(res.rowcount)


def generate_drafts(
    draft_ids: Sequence[int], engine: GenerationEngine, *, settings: Settings | None = None
) -> list[int]:
    """Write copy for the pending drafts among ``draft_ids``; returns the ids now ``generated``.

    One ``build_contexts`` and one ``write_copies`` call per (campaign, channel, variant) group; drafts whose
    user has no context or no recommended items become ``skipped``.
    """
    from marketing_gen.copywriter import fluency_scorer, write_copies

    settings = settings or get_settings()
    url = settings.database_url
    started = time.perf_counter()
    refs, campaigns = _load(draft_ids, DraftStatus.PENDING, url)
    if not refs:
        return []
    timed = TimedEngine(engine)
    groups: dict[tuple[int, str, int], list[_DraftRef]] = defaultdict(list)
    for r in refs:
        groups[(r.campaign_id, r.channel, r.variant)].append(r)
    updates: list[tuple[int, dict[str, Any]]] = []
    batch_id = uuid.uuid4().hex[:12]
    with session_scope(url) as s:  # users who opted out since planning: no model time spent on them
        blocked = blocked_drafts(s, [(r.id, r.user_id, r.channel) for r in refs], lock=False)
    for (campaign_id, channel, variant), group in groups.items():
        campaign = campaigns[campaign_id]
        for r in group:
            if r.id in blocked:
                updates.append((r.id, _skipped(blocked[r.id])))
        group = [r for r in group if r.id not in blocked]
        if not group:
            continue
        contexts = _contexts(group, campaign, channel, url)
        with_ctx = [r for r in group if r.user_id in contexts]
        for r in group:
            if r.user_id not in contexts:
                updates.append((r.id, {"status": DraftStatus.SKIPPED.value, "skip_reason": "user has no context"}))
        if not with_ctx:
            continue
        try:
            results = write_copies(
                [contexts[r.user_id] for r in with_ctx],
                channel,
                timed,
                variant=variant,
                seed=int((campaign.options or {}).get("seed", campaign_id)),
                max_regenerations=int((campaign.options or {}).get("max_regenerations", settings.max_regenerations)),
                params=sampling_params_for(campaign),
                settings=settings,
                fluency=fluency_scorer(settings),
            )
        except ClientError as exc:  # e.g. a prompt longer than the model's context: these drafts fail, visibly
            log.warning("campaign %s %s/%s: %s", campaign_id, channel, variant, exc)
            updates.extend(
                (r.id, {"status": DraftStatus.FAILED.value, "skip_reason": f"generate: {exc}"[:256]}) for r in with_ctx
            )
            continue
        if len(results) != len(with_ctx):
            raise RuntimeError(f"write_copies returned {len(results)} results for {len(with_ctx)} contexts")
        for r, res in zip(with_ctx, results, strict=True):
            values = _copy_values(res, engine.version)
            if values["status"] == DraftStatus.GENERATED.value:  # what render, review and tracking read back
                values["facts"] = build_draft_facts(contexts[r.user_id], settings)
            updates.append((r.id, values))
    wall = time.perf_counter() - started
    batch_timing = {
        "batch": batch_id,
        "batch_size": len(refs),
        "batch_model_s": round(timed.seconds, 4),
        "batch_wall_s": round(wall, 4),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }
    advanced: list[int] = []
    with session_scope(url) as s:
        for draft_id, values in updates:
            values["timings"] = {**values.get("timings", {}), **batch_timing}
            if _cas_update(s, draft_id, DraftStatus.PENDING, values) and values["status"] == DraftStatus.GENERATED:
                advanced.append(draft_id)
        for campaign_id in sorted(campaigns):  # one lock order: no deadlock between workers
            maybe_complete(s, campaign_id)
    return advanced


def _copy_values(res: CopyResult, model_version: str) -> dict[str, Any]:
    """The draft columns for one ``CopyResult``."""
    if res.skipped:
        return {
            "status": DraftStatus.SKIPPED.value,
            "skip_reason": (res.skip_reason or "skipped by the copywriter")[:256],
            "timings": _json_safe(res.timings),
        }
    return {
        "status": DraftStatus.GENERATED.value,
        "fields": _json_safe(res.fields),
        "violations": _json_safe(res.violations),
        "attempts": int(res.attempts),
        "fallback": bool(res.fallback),
        "ai_mark": "fallback" if res.fallback else "model",
        "model_version": model_version,
        "prompt_hash": res.prompt_hash,
        "seed": res.seed,
        "timings": _json_safe(res.timings),
    }


# --- render ---------------------------------------------------------------------------------------------


def render_drafts(draft_ids: Sequence[int], *, settings: Settings | None = None) -> list[int]:
    """Render the generated drafts among ``draft_ids`` into final artifacts; returns the ids now ``ready``.

    Each draft renders from the facts it stored at generate time (``draft_facts``), never from a fresh join: the
    artifact shows and links to the items its checked copy was written about. One read of the drafts per batch."""
    from marketing_gen.render import render

    settings = settings or get_settings()
    url = settings.database_url
    refs, campaigns = _load(draft_ids, DraftStatus.GENERATED, url, extra=(Draft.fields, Draft.ai_mark, Draft.facts))
    if not refs:
        return []
    groups: dict[tuple[int, str], list[_DraftRef]] = defaultdict(list)
    for r in refs:
        groups[(r.campaign_id, r.channel)].append(r)
    updates: list[tuple[int, dict[str, Any]]] = []
    for (campaign_id, channel), group in groups.items():
        campaign = campaigns[campaign_id]
        contexts = draft_contexts(
            [(r.id, r.user_id, r.extra[-1]) for r in group],
            channel,
            offer=offer_from(campaign),
            k=items_per_draft(campaign),
            url=url,
            step="render",
        )
        # campaigns that need approval hold their drafts for a reviewer (marketing_gen.review)
        after_render = DraftStatus.IN_REVIEW.value if needs_approval(campaign) else DraftStatus.READY.value
        for r in group:
            fields, mark, _facts = r.extra
            ctx = contexts.get(r.id)
            if isinstance(ctx, str):
                updates.append((r.id, {"status": DraftStatus.FAILED.value, "skip_reason": f"render: {ctx}"[:256]}))
                continue
            if ctx is None:
                updates.append((r.id, {"status": DraftStatus.FAILED.value, "skip_reason": "user has no context"}))
                continue
            try:
                artifact = render(
                    channel,
                    fields or {},
                    ctx,
                    draft_id=r.id,
                    campaign_name=campaign.name,
                    settings=settings,
                    ai_mark=mark or "model",
                )
            # A template, field or data problem (e.g. an address the email policy cannot encode — ValueError covers
            # UnicodeError): this draft fails with the reason, the rest of the batch goes on.
            except (ClientError, ValueError) as exc:
                updates.append((r.id, {"status": DraftStatus.FAILED.value, "skip_reason": f"render: {exc}"[:256]}))
                continue
            updates.append((r.id, {"status": after_render, "rendered": stored_artifact(artifact)}))
    advanced: list[int] = []
    with serial_scope(url) as s:
        # Consent re-checked where the result is written: an opt-out committed meanwhile is seen here, or it
        # waits for this transaction and then cancels what it wrote.
        blocked = blocked_drafts(s, [(r.id, r.user_id, r.channel) for r in refs])
        for draft_id, values in updates:
            if draft_id in blocked:
                values = _skipped(blocked[draft_id])
            if _cas_update(s, draft_id, DraftStatus.GENERATED, values) and values["status"] == DraftStatus.READY:
                advanced.append(draft_id)
        for campaign_id in sorted(campaigns):  # one lock order: no deadlock between workers
            maybe_complete(s, campaign_id)
    return advanced


def stored_artifact(artifact: RenderedArtifact) -> dict[str, Any]:
    """What a draft keeps of its rendered artifact: target, JSON data, and the .eml text for email."""
    out: dict[str, Any] = {"target": artifact.target, "data": _json_safe(artifact.data)}
    if artifact.message is not None:
        out["eml"] = artifact.as_bytes().decode("utf-8", errors="replace")
    return out


# --- deliver --------------------------------------------------------------------------------------------


def deliver_drafts(draft_ids: Sequence[int], *, settings: Settings | None = None) -> list[int]:
    """Queue the ready drafts among ``draft_ids`` in the outbox (one row per draft); returns the ids now ``queued``.

    Drafts whose user no longer qualifies (``eligibility``) become ``skipped`` with the reason instead.
    """
    settings = settings or get_settings()
    url = settings.database_url
    # the rendered artifact is read with the drafts: a ready draft's artifact no longer changes (render and edits
    # write it only before ``ready``), so one read per batch
    refs, campaigns = _load(draft_ids, DraftStatus.READY, url, extra=(Draft.rendered,))
    if not refs:
        return []
    advanced: list[int] = []
    with serial_scope(url) as s:
        # Consent re-checked in the transaction that queues: see ``render_drafts``.
        blocked = blocked_drafts(s, [(r.id, r.user_id, r.channel) for r in refs])
        for r in refs:
            if r.id in blocked:
                _cas_update(s, r.id, DraftStatus.READY, _skipped(blocked[r.id]))
            elif _cas_update(s, r.id, DraftStatus.READY, {"status": DraftStatus.QUEUED.value}):
                advanced.append(r.id)
        done = set(advanced)
        queued = [r for r in refs if r.id in done]
        insert_ignore(
            s,
            cast(Table, OutboxMessage.__table__),
            [
                {
                    "draft_id": r.id,
                    "campaign_id": r.campaign_id,
                    "user_id": r.user_id,
                    "channel": r.channel,
                    "payload": r.extra[0] or {},
                    "state": "queued",
                    "created_at": utcnow(),
                }
                for r in queued
            ],
            ["draft_id"],
        )
        for campaign_id in sorted(campaigns):  # one lock order: no deadlock between workers
            maybe_complete(s, campaign_id)
    return advanced


def finish_if_done(campaign_id: int, *, settings: Settings | None = None) -> bool:
    """Mark the campaign completed when nothing is unfinished (progress pollers call this); True if completed."""
    settings = settings or get_settings()
    with session_scope(settings.database_url) as s:
        if unfinished_count(s, campaign_id):
            return False
        return maybe_complete(s, campaign_id)
