"""Reply suggestions for one comment: triage → m candidates (one batched generate) → checks → dedup → top k.

Owns the pipeline and its result types. Split in two halves around the model call (``plan_replies`` builds the
prompts, ``finish_replies`` turns completions into suggestions) so the API's micro-batcher can put the prompts
of many requests into one ``engine.generate``; ``suggest_replies`` runs both halves with one engine call.
Does not own the triage rules (``triage``), the prompts and templates (``candidates``), the channel checks
(``guardrails``) nor the similarity measure (``similarity``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from marketing_gen.contexts import BrandFacts, ItemFacts, Offer, UserContext
from marketing_gen.errors import InvalidRequest
from marketing_gen.llm.protocol import GenerationEngine
from marketing_gen.llm.sampling import Completion, Prompt, SamplingParams
from marketing_gen.replies.candidates import (
    INTENTS,
    build_reply_prompt,
    clean_candidate,
    fallback_reply,
    intent_plan,
)
from marketing_gen.replies.policy import check_reply_policy
from marketing_gen.replies.similarity import Similarity, get_similarity
from marketing_gen.replies.triage import Triage, triage
from marketing_gen.slots import SLOT

if TYPE_CHECKING:
    from marketing_gen.replies.retrieval import ReplyIndex, Retrieved

MAX_TEXT_CHARS = 2000
"""Longest comment accepted."""
MAX_K = 5
"""Most suggestions per request (there are five intents)."""
MAX_M = 32
"""Most candidates per request."""
DEFAULT_MAX_NEW_TOKENS = 32
"""Token cap per candidate. Real brand replies in the Twitter support sample run 21 tokens at the median and 32
at p90 (SmolLM2 tokenizer); a longer candidate is cut back to its whole sentences. Each request waits for its
longest candidate, so the cap sets the latency: 40 → 32 took serial p50 from 1.44 s to 1.18 s."""

DEDUP_SIMILARITY = "lexical"
"""Default measure for near-duplicate removal. Lexical: ~1 ms per request, no model. MiniLM embeddings
(``similarity=get_similarity("embedding")``) cost ~10 ms on an idle CPU but seconds on a saturated one."""

DUPLICATE_THRESHOLD: dict[str, float] = {"embedding": 0.88, "lexical": 0.72}
"""Cosine above which two candidates count as near-duplicates, per measure kind."""

_WORDS = re.compile(r"\w+")
_INTENT_CUE: dict[str, re.Pattern[str]] = {
    "answer": re.compile(r"\b(is|are|can|will|yes|no|you can|it)\b", re.IGNORECASE),
    "ask_details": re.compile(r"\?|\b(dm|direct message|message us|send us|details|order number)\b", re.IGNORECASE),
    "thank": re.compile(r"\b(thank|thanks|appreciate|glad)\b", re.IGNORECASE),
    "recommend": re.compile(r"\b(recommend|try|check out|perfect for|great (pick|choice)|suggest)\b", re.IGNORECASE),
    "apologize": re.compile(r"\b(sorry|apolog\w*|understand|frustrat\w*)\b", re.IGNORECASE),
}

RETRIEVED_PER_REQUEST = 10
"""Replies of the nearest resolved threads offered as candidates per comment (``retrieval.ReplyIndex``; those of
threads below the index's ``floor`` are not)."""
RETRIEVAL_WEIGHT = 0.5
"""Rank bonus of a retrieved reply per unit of its thread's similarity to the comment."""
CONSENSUS_THREADS = 20
"""Nearest threads (any similarity) whose real replies vote on every candidate: Smart Reply's idea that a good
reply is one brands gave to messages like this one. Candidates, weight and votes were chosen on 200 Twitter threads
of the training side (never the evaluation split): 10 / 0.5 / 20 beat 3 / 1.0 / 10 and 15 / 1.0 / 40."""
ANSWERS_PER_QUESTION: dict[str, int] = {"answer": 3}
"""How many served suggestions of one intent a question may get (others: one per intent). A product question's useful
suggestions are answers; the near-duplicate rule keeps them apart. With two, the third suggestion of an Amazon QA
question was mostly the model's "recommend" candidate, which came closest to the real answer in 2 of 40 training-side
questions: three answers took best-of-3 MiniLM there from 0.428 to 0.435 (Twitter unchanged, 0.395; diversity
0.80 → 0.73). Dev split: 60 Twitter threads and 40 Amazon QA questions of the training side, never the evaluation
split, with an index that holds neither."""

SERVED_DISTINCT: dict[str, float] = {"embedding": 0.75, "lexical": 0.4}
"""Similarity above which a lower-ranked text is left out of the served set (replies of near threads resemble each
other more than the model's intents do). On the 200 training-side threads, lexical 0.72 → 0.4 took the set's
MiniLM diversity from 0.58 to 0.68 for 0.002 of best-of-3."""
_RETRIEVED_INTENT_ORDER: tuple[str, ...] = ("apologize", "thank", "ask_details", "recommend")

_CUE_REQUIRED = frozenset({"thank", "apologize"})
"""Intents whose candidates must show their cue word, or they are not that intent."""


AI_LABEL = "AI suggestion"
TEMPLATE_LABEL = "Template suggestion"
RETRIEVED_LABEL = "From a similar resolved thread"
AI_NOTICE = "Suggestions marked 'AI suggestion' were written by an AI model: read and edit before you send."
LABELS = {"model": AI_LABEL, "template": TEMPLATE_LABEL, "retrieved": RETRIEVED_LABEL}
"""What a face shows next to a suggestion, by its source."""
AI_MARKS = {"model": "model", "template": "fallback", "retrieved": "retrieved"}
"""The ``ai_mark`` of a suggestion, by its source (the API's enum)."""


@dataclass(frozen=True)
class Suggestion:
    """One reply a community manager can pick."""

    text: str
    intent: str
    """One of ``candidates.INTENTS``."""
    fallback: bool = False
    """True: a deterministic template, not model text (too few model candidates survived)."""
    score: float = 0.0
    retrieved: bool = False
    """True: the (de-personalised) reply of a near resolved thread, not model text."""

    @property
    def source(self) -> str:
        """``model``, ``retrieved`` or ``template``."""
        return "template" if self.fallback else "retrieved" if self.retrieved else "model"


@dataclass
class CandidateStats:
    """What happened to the candidates of one request (for evaluation and logs)."""

    generated: int = 0
    unusable: int = 0
    """Empty, prompt echo, no complete sentence within 280 characters, or not showing its intent."""
    checked: int = 0
    """Candidates that reached the guardrails / policy checks."""
    passed: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    """Violation code → candidates it removed."""
    rejected_families: Counter[str] = field(default_factory=Counter)
    """Check family (``grounding``, ``compliance``, ``policy`` …) → candidates it removed (each counted once)."""
    duplicates: int = 0
    fallbacks: int = 0
    retrieved: int = 0
    """Replies of near threads considered (they go through the same checks, not counted in ``checked``)."""
    retrieved_rejected: int = 0


@dataclass(frozen=True)
class ReplySuggestions:
    """The answer for one comment."""

    escalate: bool
    reason: str | None
    category: str
    flagged_injection: bool
    suggestions: tuple[Suggestion, ...] = ()
    stats: CandidateStats = field(default_factory=CandidateStats)
    model_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape (API, `replies suggest --json`, stored batch results): escalate, reason, category,
        suggestions [{text, intent, fallback, ai_mark, label}], ai_generated and the notice to show: every face
        labels AI-written text the same way."""
        return {
            "escalate": self.escalate,
            "reason": self.reason,
            "category": self.category,
            "suggestions": [
                {
                    "text": s.text,
                    "intent": s.intent,
                    "fallback": s.fallback,
                    "ai_mark": AI_MARKS[s.source],
                    "label": LABELS[s.source],
                }
                for s in self.suggestions
            ],
            "ai_generated": any(s.source == "model" for s in self.suggestions),
            "notice": AI_NOTICE,
        }


@dataclass(frozen=True)
class ReplyPlan:
    """Everything decided before the model call: triage, prompts (one per intent), sampling parameters."""

    text: str
    triage: Triage
    brand: BrandFacts
    item: ItemFacts | None
    k: int
    intents: tuple[str, ...]
    """Intents in priority order (the prompts' intents come first)."""
    prompts: tuple[Prompt, ...]
    prompt_intents: tuple[str, ...]
    params: SamplingParams | None
    """None when no model call is needed (escalate, spam)."""


def validate_request(text: str, k: int, m: int) -> None:
    """Raise ``InvalidRequest`` for an empty or over-long comment, or k / m out of range."""
    if not text or not text.strip():
        raise InvalidRequest("text is empty: pass the comment or DM to answer")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidRequest(f"text has {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
    if not 1 <= k <= MAX_K:
        raise InvalidRequest(f"k={k} is out of range: ask for 1 to {MAX_K} suggestions")
    if not k <= m <= MAX_M:
        raise InvalidRequest(f"m={m} is out of range: generate between k ({k}) and {MAX_M} candidates")


def plan_replies(
    text: str,
    *,
    brand: BrandFacts,
    item: ItemFacts | None = None,
    order_facts: Mapping[str, str] | None = None,
    history: Sequence[tuple[str, str]] = (),
    k: int = 3,
    m: int = 8,
    seed: int = 0,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
) -> ReplyPlan:
    """Triage the comment and, when it deserves suggestions, build one prompt per intent (n texts each)."""
    validate_request(text, k, m)
    verdict = triage(text)
    if not verdict.wants_suggestions:
        return ReplyPlan(text, verdict, brand, item, k, (), (), (), None)
    plan = intent_plan(verdict.category, flagged_injection=verdict.flagged_injection)
    prompt_intents = plan[: min(len(plan), m)]
    n = math.ceil(m / len(prompt_intents))
    prompts = tuple(
        build_reply_prompt(text, intent, brand=brand, item=item, order_facts=order_facts, history=history)
        for intent in prompt_intents
    )
    params = SamplingParams(
        max_new_tokens=max_new_tokens,
        temperature=0.8,
        top_p=0.95,
        repetition_penalty=1.15,
        n=n,
        seed=seed,
        stop=("\n\n", "Customer comment:"),
    )
    intents = plan + tuple(i for i in INTENTS if i not in plan)
    return ReplyPlan(text, verdict, brand, item, k, intents, prompts, prompt_intents, params)


def _reply_context(brand: BrandFacts, item: ItemFacts | None) -> UserContext:
    """The facts a reply may state: the item in question (price, title) and the brand's discount ceiling.

    Locale is left empty: a reply answers in the comment's language, so the language check does not apply.
    """
    offer = Offer()
    if brand.max_discount_pct is not None:
        offer = Offer(text=f"up to {brand.max_discount_pct}% off", discount_pct=brand.max_discount_pct)
    items = (item,) if item is not None else ()
    return UserContext(
        user_id=0, external_id="", first_name=None, locale="", country=None, brand=brand, items=items, offer=offer
    )


def _guardrail_codes(text: str, brand: BrandFacts, item: ItemFacts | None) -> list[str]:
    """Hard findings of the ``social_reply`` channel guardrails (length, PII, links, grounded prices)."""
    from marketing_gen.guardrails import check

    return [v.code for v in check({"text": text}, _reply_context(brand, item), "social_reply", brand) if v.hard]


def check_candidate(text: str, *, brand: BrandFacts, item: ItemFacts | None, flagged_injection: bool) -> list[str]:
    """Every reason (violation code) this candidate may not be suggested; empty when it passes."""
    codes = _guardrail_codes(text, brand, item)
    if SLOT.search(text):  # the one model writes copy with slots; a reply has no code to fill them
        codes.append("format.slot")
    codes += [f.code for f in check_reply_policy(text, brand, flagged_injection=flagged_injection)]
    return codes


def _score(text: str, intent: str, comment_sim: float) -> float:
    """Heuristic quality: sensible length, no word loops, shows its intent, relevant but not parroting."""
    score = 1.0
    if len(text) < 30:
        score -= 0.3
    elif len(text) > 220:
        score -= 0.2
    words = _WORDS.findall(text.lower())
    if words and len(set(words)) / len(words) < 0.6:
        score -= 0.5
    if _INTENT_CUE[intent].search(text):
        score += 0.2
    score += 0.3 * min(comment_sim, 0.6)
    if comment_sim > 0.85:
        score -= 0.5
    return score


def _without_duplicates(
    ranked: Sequence[Suggestion], similarity: Similarity, threshold: float, stats: CandidateStats
) -> list[Suggestion]:
    """``ranked`` without any text too close (``threshold``) to a higher-ranked one kept."""
    if not ranked:
        return []
    sims = similarity.pairwise([s.text for s in ranked], [s.text for s in ranked])
    kept_idx: list[int] = []
    for a in range(len(ranked)):
        if any(sims[a, b] > threshold for b in kept_idx):
            stats.duplicates += 1
            continue
        kept_idx.append(a)
    return [ranked[a] for a in kept_idx]


def _with_retrieved(
    plan: ReplyPlan,
    chosen: Sequence[Suggestion],
    retriever: ReplyIndex,
    similarity: Similarity,
    threshold: float,
    stats: CandidateStats,
) -> list[Suggestion]:
    """Smart Reply-style ranking of the model's suggestions and the replies of the ``RETRIEVED_PER_REQUEST``
    nearest resolved threads (those that pass the checks): each scores its consensus with the replies of the
    ``CONSENSUS_THREADS`` nearest threads, a retrieved reply ``RETRIEVAL_WEIGHT`` × its thread's similarity more;
    the best k without near-duplicates, best first."""
    votes = retriever.nearest(plan.text, max(CONSENSUS_THREADS, RETRIEVED_PER_REQUEST), min_similarity=-1.0)
    pool = [s for s in chosen if not s.fallback]  # templates only fill intents nothing else covers
    near: dict[str, float] = {}
    for hit in [h for h in votes[:RETRIEVED_PER_REQUEST] if h.thread_similarity >= retriever.floor]:
        stats.retrieved += 1
        if check_candidate(hit.text, brand=plan.brand, item=plan.item, flagged_injection=False):
            stats.retrieved_rejected += 1
            continue
        if hit.text not in near and all(hit.text != s.text for s in pool):
            near[hit.text] = hit.thread_similarity
            pool.append(Suggestion(hit.text, retrieved_intent(hit.text), retrieved=True))
    if not near:
        return list(chosen)
    # Consensus and the served set's near-duplicates by the index's own measure when it is MiniLM: ranked by
    # character overlap, the served set followed the lexical measure and stayed below the nearest threads' replies
    # under MiniLM on Amazon QA (dev split of 60 training-side questions: best-of-3 MiniLM 0.417 → 0.434, lexical
    # 0.317 → 0.303, retrieval baseline 0.393 / 0.287). The voters' replies are embedded once and cached.
    similarity = retriever.similarity or similarity
    kind = "embedding" if "embedding" in similarity.name else "lexical"
    threshold = DUPLICATE_THRESHOLD[kind]
    agree = consensus([s.text for s in pool], votes, similarity)
    scored = [
        replace(s, score=round(c + RETRIEVAL_WEIGHT * near.get(s.text, 0.0), 4))
        for s, c in zip(pool, agree, strict=True)
    ]
    ranked = sorted(scored, key=lambda s: -s.score)
    distinct = SERVED_DISTINCT[kind]
    kept = _without_duplicates(ranked, similarity, min(threshold, distinct), stats)
    # k suggestions that differ in intent, best first: the best of each intent, then the model's own choices. A
    # question may get more answers when the ranking puts them there (they differ by the near-duplicate rule):
    # an agent picks the answer that fits the product, and retrieved answers of near threads can be wrong for it.
    room = ANSWERS_PER_QUESTION if asks_a_question(plan) else {}
    served: list[Suggestion] = []
    for s in kept:
        if len(served) < plan.k and sum(s.intent == t.intent for t in served) < room.get(s.intent, 1):
            served.append(s)
    for s in chosen:
        if len(served) < plan.k and all(s.intent != t.intent and s.text != t.text for t in served):
            served.append(s)
    return served


def asks_a_question(plan: ReplyPlan) -> bool:
    """A product question: triaged ``question``, or ``purchase_intent`` asked as a question ("Are there six filters
    for the price shown?", "does this come in a set of 4 or is this price just for one?")."""
    category = plan.triage.category
    return category == "question" or (category == "purchase_intent" and "?" in plan.text)


def consensus(texts: Sequence[str], votes: Sequence[Retrieved], similarity: Similarity) -> list[float]:
    """Each text's mean similarity to the voting replies, weighted by their threads' similarity to the comment
    (a voter is left out of its own score); 0 for every text without votes."""
    if not votes or not texts:
        return [0.0] * len(texts)
    weights = [max(v.thread_similarity, 0.0) for v in votes]
    sims = similarity.pairwise(list(texts), [v.text for v in votes])
    out: list[float] = []
    for row, text in zip(sims, texts, strict=True):
        pairs = [(float(s), w) for s, w, v in zip(row, weights, votes, strict=True) if v.text != text]
        total = sum(w for _, w in pairs)
        out.append(sum(s * w for s, w in pairs) / total if total > 0 else 0.0)
    return out


def retrieved_intent(text: str) -> str:
    """The intent a retrieved reply shows (its strongest cue; ``answer`` when none)."""
    return next((i for i in _RETRIEVED_INTENT_ORDER if _INTENT_CUE[i].search(text)), "answer")


def finish_replies(
    plan: ReplyPlan,
    completions: Sequence[Completion],
    *,
    similarity: Similarity | None = None,
    model_version: str | None = None,
    retriever: ReplyIndex | None = None,
) -> ReplySuggestions:
    """Completions of ``plan.prompts`` (+ the replies of ``retriever``'s nearest threads) → checked, de-duplicated,
    ranked suggestions (k, differing in intent; a question may get several answers)."""
    verdict = plan.triage
    stats = CandidateStats()
    if plan.params is None:
        return ReplySuggestions(verdict.escalate, verdict.reason, verdict.category, verdict.flagged_injection)
    similarity = similarity or get_similarity(DEDUP_SIMILARITY)
    kind = "embedding" if "embedding" in similarity.name else "lexical"
    threshold = DUPLICATE_THRESHOLD[kind]

    # 1. clean and check every text
    passed: list[tuple[str, str]] = []
    for completion, intent in zip(completions, plan.prompt_intents, strict=True):
        reasons = completion.finish_reasons or ["stop"] * len(completion.texts)
        for raw, finish in zip(completion.texts, reasons, strict=True):
            stats.generated += 1
            text = clean_candidate(raw, finish_reason=finish)
            if text is None:
                stats.unusable += 1
                continue
            if intent in _CUE_REQUIRED and not _INTENT_CUE[intent].search(text):
                stats.unusable += 1  # a "thank" that does not thank is mislabelled, not unsafe
                stats.rejected["intent.mismatch"] += 1
                continue
            stats.checked += 1
            codes = check_candidate(text, brand=plan.brand, item=plan.item, flagged_injection=verdict.flagged_injection)
            if codes:
                stats.rejected.update(set(codes))
                stats.rejected_families.update({c.split(".")[0] for c in codes})
                continue
            stats.passed += 1
            passed.append((text, intent))
    # 2. rank the model's candidates, then drop near-duplicates (a lower-ranked text too close to a kept one)
    kept: list[Suggestion] = []
    if passed:
        texts = [t for t, _ in passed]
        to_comment = similarity.pairwise(texts, [plan.text])[:, 0]
        scored = [
            Suggestion(t, i, score=round(_score(t, i, float(s)), 4))
            for (t, i), s in zip(passed, to_comment, strict=True)
        ]
        kept = _without_duplicates(sorted(scored, key=lambda s: -s.score), similarity, threshold, stats)

    # 3. best candidate per intent, in the plan's priority order; templates fill the missing intents
    chosen: list[Suggestion] = []
    for intent in plan.intents:
        if len(chosen) == plan.k:
            break
        best = next((s for s in kept if s.intent == intent), None)
        if best is not None and all(c.intent != intent for c in chosen):
            chosen.append(best)
    for intent in plan.intents:
        if len(chosen) == plan.k:
            break
        if all(s.intent != intent for s in chosen):
            text = fallback_reply(intent, category=verdict.category, brand=plan.brand, item=plan.item)
            chosen.append(Suggestion(text, intent, fallback=True))
            stats.fallbacks += 1
    order = {intent: i for i, intent in enumerate(plan.intents)}
    chosen.sort(key=lambda s: (s.fallback, order[s.intent]))

    # 4. the served response set: these k and the replies of the near resolved threads, ranked together
    if retriever is not None and not verdict.flagged_injection:
        chosen = _with_retrieved(plan, chosen, retriever, similarity, threshold, stats)
    return ReplySuggestions(
        escalate=False,
        reason=None,
        category=verdict.category,
        flagged_injection=verdict.flagged_injection,
        suggestions=tuple(chosen),
        stats=stats,
        model_version=model_version,
    )


def generate_for_plans(engine: GenerationEngine, plans: Sequence[ReplyPlan]) -> list[list[Completion]]:
    """Completions for every plan's prompts: one ``generate`` per distinct ``SamplingParams`` (usually one)."""
    groups: dict[SamplingParams, list[int]] = {}
    for i, plan in enumerate(plans):
        if plan.params is not None:
            groups.setdefault(plan.params, []).append(i)
    completions: list[list[Completion]] = [[] for _ in plans]
    for params, members in groups.items():
        out = engine.generate([prompt for i in members for prompt in plans[i].prompts], params)
        start = 0
        for i in members:
            completions[i] = out[start : start + len(plans[i].prompts)]
            start += len(plans[i].prompts)
    return completions


def suggest_replies(
    text: str,
    *,
    engine: GenerationEngine,
    item: ItemFacts | None = None,
    order_facts: Mapping[str, str] | None = None,
    brand: BrandFacts,
    history: Sequence[tuple[str, str]] = (),
    k: int = 3,
    m: int = 8,
    seed: int = 0,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    similarity: Similarity | None = None,
    retriever: ReplyIndex | None = None,
) -> ReplySuggestions:
    """Suggest k replies differing in intent (a question may get several answers); none + ``escalate`` for abusive /
    legal / safety; none for spam."""
    plan = plan_replies(
        text,
        brand=brand,
        item=item,
        order_facts=order_facts,
        history=history,
        k=k,
        m=m,
        seed=seed,
        max_new_tokens=max_new_tokens,
    )
    return answer_plan(plan, engine, similarity=similarity, retriever=retriever)


def answer_plan(
    plan: ReplyPlan,
    engine: GenerationEngine,
    *,
    similarity: Similarity | None = None,
    retriever: ReplyIndex | None = None,
) -> ReplySuggestions:
    """Generate ``plan``'s candidates (none when triage escalated or dropped it) and finish them into suggestions."""
    completions: list[Completion] = []
    if plan.params is not None:
        completions = engine.generate(list(plan.prompts), plan.params)
    return finish_replies(plan, completions, similarity=similarity, model_version=engine.version, retriever=retriever)
