"""Training rows: conversational prompt-completion rows built with the serving prompts (train = serve).

A row's ``prompt`` is exactly what the engine is given at serving time — ``prompts.build_prompt(context,
channel, variant)`` for marketing channels, ``replies.candidates.build_reply_prompt`` for social replies — and
its ``completion`` is one assistant message in the format the serving parser reads (tagged fields, one per
line; a plain reply for ``social_reply``). ``format_row`` renders a row the way TRL tokenizes it, so a test can
prove the training prompt text equals ``Engine.render`` of the serving prompt byte for byte.

Sources, each row marked honestly in ``source``:
- ``draft``: approved or delivered drafts from the database, weighted by their outcomes (clicks, conversions);
- ``bootstrap``: best-of-n samples of the current model that pass every hard guardrail, best quality first;
- ``teacher``: deterministic copy composed from the context's real catalog facts (``training.teacher``), kept
  only when it passes every hard guardrail too;
- ``twitter`` / ``bitext``: real customer → brand support pairs for ``social_reply``.

Owns building, dedup, hashing and storing rows. Does not train (``training.sft``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marketing_gen.channels.base import get_channel
from marketing_gen.contexts import BrandFacts, UserContext
from marketing_gen.errors import InvalidRequest
from marketing_gen.llm.protocol import GenerationEngine
from marketing_gen.training.quality import quality_score

if TYPE_CHECKING:
    from marketing_gen.llm.sampling import SamplingParams
    from marketing_gen.training.corpora import SupportPair

log = logging.getLogger(__name__)

Row = dict[str, Any]
"""``{"prompt": [messages], "completion": [assistant message], "channel", "variant", "source", "weight",
"user", "items", "score"}`` — JSON-able; TRL reads ``prompt`` and ``completion``."""


# -- formats ---------------------------------------------------------------------------------------------------


def format_fields(fields: dict[str, Any], channel: str) -> str:
    """Fields → the tagged text the serving parser reads: ``TAG: value`` per line, list fields one line each
    (``TAG 1: …``, ``TAG 2: …`` when the field is ``numbered``)."""
    spec = get_channel(channel)
    lines: list[str] = []
    for f in spec.fields:
        value = fields.get(f.name)
        values = [value] if isinstance(value, str) else list(value or [])
        values = [re.sub(r"\s*\n\s*", " ", str(v)).strip() for v in values]
        for k, v in enumerate((v for v in values if v), start=1):
            lines.append(f"{f.prompt_tag} {k}: {v}" if f.numbered else f"{f.prompt_tag}: {v}")
    return "\n".join(lines)


def serving_prompt(
    context: UserContext, channel: str, variant: int = 0, *, few_shot: bool = False, slots: bool = False
) -> list[dict[str, str]]:
    """The chat messages the engine is given for this context and channel (``prompts.build_prompt``).

    Training rows use ``few_shot=False``: that is how fine-tuned models are served (``Engine.few_shot_for``);
    ``slots``: the prompt of a model that writes slots (``Engine.uses_slots``).
    """
    from marketing_gen.prompts import build_prompt

    return [dict(m) for m in build_prompt(context, channel, variant=variant, few_shot=few_shot, slots=slots)]


def build_row(
    prompt: Sequence[dict[str, str]],
    completion_text: str,
    *,
    channel: str,
    source: str,
    variant: int = 0,
    weight: float = 1.0,
    user: str = "",
    items: Sequence[str] = (),
    score: float | None = None,
) -> Row:
    """One conversational prompt-completion row with its provenance."""
    return {
        "prompt": [{"role": m["role"], "content": m["content"]} for m in prompt],
        "completion": [{"role": "assistant", "content": completion_text}],
        "channel": channel,
        "variant": variant,
        "source": source,
        "weight": weight,
        "user": user,
        "items": list(items),
        "score": score,
    }


def copy_row(
    context: UserContext,
    channel: str,
    fields: dict[str, Any],
    *,
    source: str,
    variant: int = 0,
    weight: float = 1.0,
    score: float | None = None,
    slots: bool = False,
) -> Row:
    """A marketing-copy row: the serving prompt for ``context`` and the fields as tagged text. ``slots``: the
    prompt of a slot model and the fields with every exact fact replaced by its slot (``slots.slotify``), which
    is what such a model writes (``row["slots"]`` True; the version file records the channel)."""
    from marketing_gen.slots import slotify

    row = build_row(
        serving_prompt(context, channel, variant, slots=slots),
        format_fields(slotify(fields, context) if slots else fields, channel),
        channel=channel,
        source=source,
        variant=variant,
        weight=weight,
        user=context.external_id,
        items=[i.external_id for i in context.items],
        score=score if score is not None else quality_score(fields, context, channel),
    )
    if slots:
        row["slots"] = True
    return row


@dataclass(frozen=True)
class RenderedRow:
    """A row as the trainer sees it: the chat-template text of the prompt and of prompt + completion."""

    prompt_text: str
    text: str

    @property
    def completion_text(self) -> str:
        """What the loss is computed on (the rendered text after the prompt)."""
        return self.text[len(self.prompt_text) :]


def format_row(row: Row, tokenizer: Any) -> RenderedRow:
    """Render a row with the tokenizer's chat template exactly as TRL's SFTTrainer does for prompt-completion rows."""
    prompt_text = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=False)
    text = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=False)
    if not text.startswith(prompt_text):
        raise InvalidRequest("the chat template renders the prompt differently inside the full conversation")
    return RenderedRow(prompt_text=prompt_text, text=text)


# -- sources ---------------------------------------------------------------------------------------------------


@dataclass
class BuildReport:
    """What a dataset build did, per source: candidates tried, rows kept, and why others were dropped."""

    tried: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {"tried": dict(self.tried), "kept": dict(self.kept), "dropped": dict(self.dropped)}


def served_findings(fields: Mapping[str, Any], context: UserContext, channel: str) -> list[str]:
    """Blocking findings of copy as the model writes it, checked the way it is served: after the copywriter's
    clean-up (an SMS gets its brand prefix and opt-out line from code, not from the model)."""
    from marketing_gen import guardrails
    from marketing_gen.copywriter import postprocess

    served = postprocess(fields, get_channel(channel), context)
    return [v.code for v in guardrails.hard(guardrails.check(served, context, channel))]


def teacher_rows(
    contexts: Iterable[UserContext],
    channels: Sequence[str],
    *,
    variants: Sequence[int] = (0,),
    report: BuildReport | None = None,
    slots: bool = False,
) -> list[Row]:
    """Teacher copy for each context × channel × variant, kept only when it passes every hard guardrail
    (``slots``: rows written with slots, see ``copy_row``)."""
    from marketing_gen.training.teacher import teacher_fields

    report = report if report is not None else BuildReport()
    rows: list[Row] = []
    for context in contexts:
        for channel in channels:
            for variant in variants:
                fields = teacher_fields(context, channel, variant)
                if not fields:
                    continue
                report.tried["teacher"] += 1
                codes = served_findings(fields, context, channel)
                if codes:
                    report.dropped.update(f"teacher:{c}" for c in codes)
                    continue
                rows.append(copy_row(context, channel, fields, source="teacher", variant=variant, slots=slots))
                report.kept["teacher"] += 1
    return rows


def bootstrap_rows(
    engine: GenerationEngine,
    contexts: Sequence[UserContext],
    channels: Sequence[str],
    *,
    n: int = 4,
    seed: int = 0,
    variant: int = 0,
    report: BuildReport | None = None,
    params_for: Callable[[str, int, int], SamplingParams] | None = None,
    slots: bool = False,
) -> list[Row]:
    """Rejection sampling: ``n`` samples per context; keep the best-scoring one that passes every hard check.
    The engine is prompted the way it is served (its example turn and slots); ``slots``: how the rows are written."""
    from marketing_gen.llm.parse import parse_fields
    from marketing_gen.llm.sampling import SamplingParams
    from marketing_gen.slots import fill, unfilled

    report = report if report is not None else BuildReport()
    rows: list[Row] = []
    for channel in channels:
        spec = get_channel(channel)
        params = (
            params_for(channel, n, seed)
            if params_for
            else SamplingParams(
                max_new_tokens=spec.max_new_tokens, temperature=0.8, top_p=0.95, repetition_penalty=1.1, n=n, seed=seed
            )
        )
        few_shot = engine.few_shot_for(channel)  # generate the way this model is served; rows are zero-shot
        served_slots = engine.uses_slots(channel)
        prompts = [serving_prompt(c, channel, variant, few_shot=few_shot, slots=served_slots) for c in contexts]
        completions = engine.generate(prompts, params)
        for context, completion in zip(contexts, completions, strict=True):
            best: tuple[float, dict[str, Any]] | None = None
            for text in completion.texts:
                report.tried["bootstrap"] += 1
                fields = parse_fields(text, spec.parse_spec(), aliases=spec.parse_aliases()).fields
                fields = fill(fields, context) if served_slots else fields
                codes = ["format.slot"] * bool(unfilled(fields)) or served_findings(fields, context, channel)
                if codes:
                    report.dropped.update(f"bootstrap:{c}" for c in codes)
                    continue
                score = quality_score(fields, context, channel)
                if best is None or score > best[0]:
                    best = (score, fields)
            if best is not None:
                rows.append(
                    copy_row(context, channel, best[1], source="bootstrap", variant=variant, score=best[0], slots=slots)
                )
                report.kept["bootstrap"] += 1
    return rows


_ASK = re.compile(r"\b(dm|direct message|private message|send us|details|order number|follow|reach out)\b", re.I)
_SORRY = re.compile(r"\b(sorry|apolog)", re.I)
_THANKS = re.compile(r"\b(thank|thanks|glad|love)\b", re.I)


def reply_intent(reply: str) -> str:
    """Which serving intent a real brand reply fulfils (so the row's prompt asks for what the reply does)."""
    if _SORRY.search(reply):
        return "apologize"
    if _ASK.search(reply):
        return "ask_details"
    if _THANKS.search(reply):
        return "thank"
    return "answer"


def reply_rows(
    pairs: Iterable[SupportPair],
    *,
    brand_for: Callable[[SupportPair], BrandFacts],
    limit: int | None = None,
    max_same_reply: int = 2,
    report: BuildReport | None = None,
) -> list[Row]:
    """``social_reply`` rows from real support pairs, prompt = the serving reply prompt for the reply's intent.

    Replies that fail the serving reply checks (links, phone numbers, discounts, …) are dropped; a reply text
    used verbatim for many customers ("Please DM us") is kept at most ``max_same_reply`` times.
    """
    from marketing_gen.replies.candidates import build_reply_prompt
    from marketing_gen.replies.suggest import check_candidate

    report = report if report is not None else BuildReport()
    seen: Counter[str] = Counter()
    rows: list[Row] = []
    for pair in pairs:
        if limit is not None and len(rows) >= limit:
            break
        report.tried[pair.source] += 1
        key = " ".join(pair.reply.lower().split())
        if seen[key] >= max_same_reply:
            report.dropped[f"{pair.source}:duplicate_reply"] += 1
            continue
        brand = brand_for(pair)
        codes = check_candidate(pair.reply, brand=brand, item=None, flagged_injection=False)
        if codes:
            report.dropped.update(f"{pair.source}:{c}" for c in codes)
            continue
        seen[key] += 1
        intent = reply_intent(pair.reply)
        prompt = build_reply_prompt(pair.customer, intent, brand=brand)
        if isinstance(prompt, str):  # the reply prompt is chat messages; a plain string would not train = serve
            raise InvalidRequest("build_reply_prompt returned a plain string; training rows need chat messages")
        rows.append(
            build_row(
                prompt,
                pair.reply,
                channel="social_reply",
                source=pair.source,
                variant=0,
                user=f"{pair.source}:{hashlib.sha1(pair.customer.encode()).hexdigest()[:10]}",
            )
        )
        report.kept[pair.source] += 1
    return rows


OUTCOME_WEIGHTS: dict[str, float] = {"open": 0.25, "click": 1.0, "convert": 2.0, "reply_picked": 1.0}
"""Extra weight an approved draft earns per outcome event (a draft without feedback weighs 1)."""
NEGATIVE_EVENTS = frozenset({"unsubscribe", "complaint"})
"""Outcomes that exclude a draft from SFT data."""


def draft_rows(url: str, *, limit: int = 2000, report: BuildReport | None = None, slots: bool = False) -> list[Row]:
    """Approved / delivered drafts (not fallbacks) as rows, weighted by outcomes; complaints excluded.

    The context is rebuilt from the database now (``recommend.build_contexts``), so a draft whose user's
    recommendations changed since is trained with today's prompt: acceptable for copy that was approved.
    """
    from sqlalchemy import func, or_, select

    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Draft, FeedbackEvent, ReviewAction

    report = report if report is not None else BuildReport()
    with session_scope(url) as session:
        drafts = session.execute(
            select(Draft.id, Draft.user_id, Draft.channel, Draft.variant, Draft.fields, Draft.campaign_id)
            .where(
                Draft.status.in_(("ready", "queued")),
                # a template fallback is not the model's copy, unless a reviewer rewrote it (human-written copy)
                or_(
                    Draft.fallback.is_(False),
                    Draft.id.in_(select(ReviewAction.draft_id).where(ReviewAction.action == "edit")),
                ),
                Draft.fields.is_not(None),
                Draft.channel != "social_reply",
            )
            .order_by(Draft.id.desc())
            .limit(limit)
        ).all()
        if not drafts:
            return []
        ids = [d.id for d in drafts]
        events: dict[int, Counter[str]] = {}
        for draft_id, event, count in session.execute(
            select(FeedbackEvent.draft_id, FeedbackEvent.event, func.count())
            .where(FeedbackEvent.draft_id.in_(ids))
            .group_by(FeedbackEvent.draft_id, FeedbackEvent.event)
        ):
            if draft_id is not None:
                events.setdefault(draft_id, Counter())[event] += count
    contexts = _contexts_for(url, drafts)
    rows: list[Row] = []
    for d in drafts:
        report.tried["draft"] += 1
        outcome = events.get(d.id, Counter())
        if NEGATIVE_EVENTS & set(outcome):
            report.dropped["draft:negative_outcome"] += 1
            continue
        context = contexts.get((d.campaign_id, d.user_id))
        if context is None:
            report.dropped["draft:no_context"] += 1
            continue
        weight = 1.0 + sum(OUTCOME_WEIGHTS.get(e, 0.0) * min(c, 3) for e, c in outcome.items())
        rows.append(
            copy_row(context, d.channel, dict(d.fields), source="draft", variant=d.variant, weight=weight, slots=slots)
        )
        report.kept["draft"] += 1
    return rows


def _contexts_for(url: str, drafts: Sequence[Any]) -> dict[tuple[int, int], UserContext]:
    """Serving contexts per (campaign, user) with the campaign's offer (one join per campaign × channel)."""
    from marketing_gen.campaigns.pipeline import offer_from
    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Campaign
    from marketing_gen.recommend import build_contexts

    wanted: dict[tuple[int, str], set[int]] = {}
    for d in drafts:
        wanted.setdefault((d.campaign_id, d.channel), set()).add(d.user_id)
    out: dict[tuple[int, int], UserContext] = {}
    for (campaign_id, channel), users in wanted.items():
        with session_scope(url) as session:
            campaign = session.get(Campaign, campaign_id)
            offer = offer_from(campaign) if campaign else None
            k = int(((campaign.options if campaign else None) or {}).get("items", 3))
        for context in build_contexts(sorted(users), channel, url=url, offer=offer, k=k):
            out[(campaign_id, context.user_id)] = context
    return out


# -- dedup, weights, hash, storage -----------------------------------------------------------------------------


def row_key(row: Row) -> str:
    """Identity of a row for dedup: its prompt and completion."""
    payload = json.dumps([row["prompt"], row["completion"]], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def dedup(rows: Iterable[Row]) -> list[Row]:
    """Drop exact duplicate (prompt, completion) rows, keeping the first (highest-priority source first)."""
    seen: set[str] = set()
    out: list[Row] = []
    for row in rows:
        key = row_key(row)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def expand_weights(rows: Iterable[Row], max_copies: int = 3) -> list[Row]:
    """Rows repeated ``round(weight)`` times (≤ ``max_copies``): SFTTrainer has no per-row loss weights."""
    out: list[Row] = []
    for row in rows:
        out.extend([row] * max(1, min(max_copies, round(float(row.get("weight") or 1.0)))))
    return out


def dataset_hash(rows: Iterable[Row]) -> str:
    """SHA-256 over the rows' canonical JSON (order matters: it is the training order before shuffling)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def save_rows(rows: Sequence[Row], directory: Path, *, meta: dict[str, Any] | None = None) -> Path:
    """Write ``<directory>/<hash12>.jsonl`` (+ ``.meta.json``) and return the jsonl path."""
    digest = dataset_hash(rows)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{digest[:12]}.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    info = {
        "hash": digest,
        "rows": len(rows),
        "by_source": dict(Counter(r["source"] for r in rows)),
        "by_channel": dict(Counter(r["channel"] for r in rows)),
        **(meta or {}),
    }
    path.with_suffix(".meta.json").write_text(json.dumps(info, indent=2, default=str))
    return path


def load_rows(path: Path) -> list[Row]:
    """Read a jsonl dataset written by ``save_rows`` (InvalidRequest names the bad line)."""
    if not path.is_file():
        raise InvalidRequest(f"no dataset at {path}; build one with `marketing-gen train bootstrap`")
    rows: list[Row] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise InvalidRequest(f"{path}:{n} is not JSON: {exc}") from exc
            if not isinstance(row, dict) or "prompt" not in row or "completion" not in row:
                raise InvalidRequest(f"{path}:{n} needs 'prompt' and 'completion'")
            rows.append(row)
    return rows
