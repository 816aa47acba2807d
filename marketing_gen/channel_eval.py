"""Channel check report: how a model's copy fares against every hard check, per channel, on real store users.

``marketing-gen eval channels`` writes copy for the store's first N users with recommendations through the
production path (``copywriter.write_copies``: first try → regenerations → deterministic fallback) and reports
per channel:
- first-try ``pass`` rate of all hard checks and first-try ``sendable`` rate (hard checks + the quality gate:
  fidelity, content, language, fluency), and per check family (``missing``, ``format``, ``grounding``,
  ``compliance``, ``quality`` and the gate's four): the share of first tries with no hard finding of that family;
- the most frequent hard finding codes on first tries;
- final pass rate: every delivered piece is checked again here, independently of the copywriter (must be 100%),
  and the share of delivered pieces that are sendable (model copy always is; fallback copy may not be);
- fallback rate, and pass rate after the regenerations (before the fallback).
``social_reply`` goes through the serving path instead (``replies.suggest``: triage → one reply prompt per intent
→ candidates → guardrails + reply policy → dedup → k suggestions, templates filling missing intents), one real
customer message from the Twitter support corpus per user, k and m as the HTTP API serves them. Its columns:
first try = the model's candidates (share passing every check; family columns: share with no finding of that
family), after regen = messages whose top suggestion is model text, fallback = share of template suggestions,
final / sendable = served suggestions re-checked.

Owns measuring and the text table. Does not write copy (``copywriter``) nor define checks (``guardrails``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketing_gen.config import Settings
from marketing_gen.contexts import UserContext
from marketing_gen.errors import ClientError
from marketing_gen.guardrails import GATE_FAMILIES, passes, sendable
from marketing_gen.guardrails.fluency import Scorer
from marketing_gen.llm.protocol import GenerationEngine
from marketing_gen.replies.suggest import (
    ReplySuggestions,
    check_candidate,
    finish_replies,
    generate_for_plans,
    plan_replies,
)

HARD_FAMILIES = ("missing", "format", "grounding", "compliance", "quality")
"""Hard check families, by the prefix of a violation code."""
FAMILIES = HARD_FAMILIES + GATE_FAMILIES
"""Every family a report counts: the hard checks', then the quality gate's."""
REPLY_CHANNEL = "social_reply"
"""Measured through the reply serving path, not the copywriter."""
REPLY_K, REPLY_M = 3, 4
"""Suggestions and candidates per message, as the HTTP API serves them."""


@dataclass
class ChannelReport:
    """One channel over n users."""

    channel: str
    n: int
    first_try_pass: float
    """Share of first tries with no hard finding of the hard checks (the quality gate not counted)."""
    first_try_sendable: float
    """Share of first tries that are sendable: hard checks and quality gate."""
    family_pass: dict[str, float]
    """Share of first tries with no hard finding of the family."""
    pass_before_fallback: float
    final_pass: float
    sendable: float
    """Share of delivered pieces that are sendable (re-checked here; fluency as the copywriter scored it)."""
    fallback_rate: float
    skipped: int
    seconds: float
    top_codes: dict[str, int] = field(default_factory=dict)


def summarize(
    channel: str,
    contexts: Sequence[UserContext],
    results: Sequence[Any],
    *,
    seconds: float = 0.0,
    tracking_base_url: str | None = None,
) -> ChannelReport:
    """Figures for one channel from ``write_copies`` results; delivered copy is re-checked here."""
    from marketing_gen import guardrails

    written = [(k, r) for k, r in enumerate(results) if not r.skipped]
    n = len(written)
    family_ok: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    first_ok = first_sendable = final_ok = final_sendable = fallback = before_fallback = 0
    for k, result in written:
        first = result.first_try_hard
        first_ok += result.attempts >= 1 and passes(first)
        first_sendable += result.first_try_sendable
        codes.update(v["code"] for v in first)
        for family in FAMILIES:
            family_ok[family] += not any(v["code"].split(".")[0] == family for v in first)
        fallback += result.fallback
        before_fallback += not result.fallback
        context = contexts[k]
        fields = dict(result.fields)
        found = guardrails.check(fields, context, channel, tracking_base_url=tracking_base_url)
        final_ok += passes(found)
        final_sendable += result.sendable and sendable(found)
    div = max(n, 1)
    return ChannelReport(
        channel=channel,
        n=n,
        first_try_pass=round(first_ok / div, 4),
        first_try_sendable=round(first_sendable / div, 4),
        family_pass={f: round(family_ok[f] / div, 4) for f in FAMILIES},
        pass_before_fallback=round(before_fallback / div, 4),
        final_pass=round(final_ok / div, 4),
        sendable=round(final_sendable / div, 4),
        fallback_rate=round(fallback / div, 4),
        skipped=len(results) - n,
        seconds=round(seconds, 1),
        top_codes=dict(codes.most_common(5)),
    )


def store_users(settings: Settings, channel: str, users: int) -> list[UserContext]:
    """The store's first ``users`` users with recommendations, as contexts (offers rotate as in training)."""
    from sqlalchemy import select

    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Recommendation
    from marketing_gen.recommend import build_contexts
    from marketing_gen.training.catalog_contexts import OFFERS

    with session_scope(settings.database_url) as session:
        ids = sorted(session.scalars(select(Recommendation.user_id).distinct()))[:users]
    if not ids:
        raise ClientError("no users with recommendations: import a store and run `marketing-gen recommend` first")
    contexts: list[UserContext] = []
    for k, offer in enumerate(OFFERS):
        part = ids[k :: len(OFFERS)]
        if part:
            contexts.extend(build_contexts(part, channel, url=settings.database_url, offer=offer))
    order = {uid: i for i, uid in enumerate(ids)}
    return sorted(contexts, key=lambda c: order[c.user_id])


def answer_messages(
    engine: GenerationEngine, contexts: Sequence[UserContext], messages: Sequence[str], *, seed: int = 0
) -> list[ReplySuggestions]:
    """Each message answered for the store's brand through the serving path, one batched generate for all."""
    pairs = zip(contexts, messages, strict=True)
    plans = [plan_replies(text, brand=c.brand, k=REPLY_K, m=REPLY_M, seed=seed) for c, text in pairs]
    completions = generate_for_plans(engine, plans)
    return [
        finish_replies(plan, comps, model_version=engine.version)
        for plan, comps in zip(plans, completions, strict=True)
    ]


def summarize_replies(
    results: Sequence[ReplySuggestions], contexts: Sequence[UserContext], *, seconds: float = 0.0
) -> ChannelReport:
    """Figures for ``social_reply`` from served suggestions (see the module docstring); escalated / spam messages
    get no suggestions and count as skipped."""
    answered = [(k, r) for k, r in enumerate(results) if r.suggestions]
    generated = sum(r.stats.generated for _, r in answered)
    passed = sum(r.stats.passed for _, r in answered)
    family_hits: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for _, r in answered:
        family_hits.update(r.stats.rejected_families)
        codes.update(r.stats.rejected)
    served = [(k, s, r.flagged_injection) for k, r in answered for s in r.suggestions]
    final_ok = sum(
        not check_candidate(s.text, brand=contexts[k].brand, item=None, flagged_injection=flagged)
        for k, s, flagged in served
    )
    div, per_text, per_served = max(len(answered), 1), max(generated, 1), max(len(served), 1)
    return ChannelReport(
        channel=REPLY_CHANNEL,
        n=len(answered),
        first_try_pass=round(passed / per_text, 4),
        first_try_sendable=round(passed / per_text, 4),
        family_pass={f: round(1 - family_hits[f] / per_text, 4) for f in FAMILIES},
        pass_before_fallback=round(sum(not r.suggestions[0].fallback for _, r in answered) / div, 4),
        final_pass=round(final_ok / per_served, 4),
        sendable=round(final_ok / per_served, 4),
        fallback_rate=round(sum(s.fallback for _, s, _ in served) / per_served, 4),
        skipped=len(results) - len(answered),
        seconds=round(seconds, 1),
        top_codes=dict(codes.most_common(5)),
    )


def customer_messages(n: int, data_dir: Path) -> list[str]:
    """``n`` real customer messages (Twitter support corpus), for the social_reply channel."""
    from marketing_gen.training.corpora import load_twitter_pairs

    path = data_dir / "twcs_customer_support_twitter_sample_5000.csv"
    if not path.is_file():
        raise ClientError(f"social_reply needs customer messages: {path} is missing (pass --data-dir)")
    pairs, _ = load_twitter_pairs(path)
    if not pairs:
        raise ClientError(f"no customer messages in {path}")
    return [pairs[k % len(pairs)].customer for k in range(n)]


def run(
    engine: GenerationEngine,
    settings: Settings,
    channels: Sequence[str],
    *,
    users: int = 200,
    max_regenerations: int = 2,
    data_dir: Path | None = None,
    seed: int = 0,
    echo: Callable[[str], None] | None = None,
    fluency: Scorer | None = None,
) -> list[ChannelReport]:
    """Write copy for ``users`` store users on each channel and summarize (see the module docstring).

    ``echo`` gets a line as each channel starts and ends (the CLI prints them to stderr); ``fluency``: the quality
    gate's reference model (``copywriter.fluency_scorer``), None to leave fluency out."""
    from marketing_gen.copywriter import write_copies
    from marketing_gen.training.catalog_contexts import default_data_dir

    reports: list[ChannelReport] = []
    for channel in channels:
        contexts = store_users(settings, channel, users)
        if echo:
            echo(f"{channel}: writing copy for {len(contexts)} users …")
        started = time.perf_counter()
        if channel == REPLY_CHANNEL:
            messages = customer_messages(len(contexts), data_dir or default_data_dir())
            replies = answer_messages(engine, contexts, messages, seed=seed)
            reports.append(summarize_replies(replies, contexts, seconds=time.perf_counter() - started))
        else:
            results = write_copies(
                contexts, channel, engine, seed=seed, max_regenerations=max_regenerations, settings=settings,
                fluency=fluency,
            )  # fmt: skip
            reports.append(
                summarize(
                    channel,
                    contexts,
                    results,
                    seconds=time.perf_counter() - started,
                    tracking_base_url=settings.public_base_url,
                )
            )
        if echo:
            r = reports[-1]
            echo(
                f"{channel}: done in {r.seconds:.0f} s; first try pass {r.first_try_pass:.0%}, sendable "
                f"{r.first_try_sendable:.0%}; fallback {r.fallback_rate:.0%}, final {r.final_pass:.0%}"
            )
    return reports


def table(reports: Sequence[ChannelReport], *, model: str, max_regenerations: int, fluency: bool = True) -> str:
    """The text table ``eval channels`` prints."""
    short = {"compliance": "complian.", "grounding": "grounding", "fidelity": "fidelity"}
    head = (
        f"{'channel':<15}{'n':>5}{'pass 1st':>10}{'send 1st':>10}"
        + "".join(f"{short.get(f, f):>10}" for f in FAMILIES)
        + f"{'after regen':>12}{'fallback':>10}{'final':>8}{'sendable':>10}{'s':>7}"
    )
    lines = [head]
    for r in reports:
        lines.append(
            f"{r.channel:<15}{r.n:>5}{r.first_try_pass:>10.1%}{r.first_try_sendable:>10.1%}"
            + "".join(f"{r.family_pass[f]:>10.1%}" for f in FAMILIES)
            + f"{r.pass_before_fallback:>12.1%}{r.fallback_rate:>10.1%}{r.final_pass:>8.1%}{r.sendable:>10.1%}"
            + f"{r.seconds:>7.0f}"
        )
    lines.append(
        f"model {model}; first try greedy, then up to {max_regenerations} regenerations, then the fallback. "
        "pass: every hard check; sendable: hard checks + quality gate (fidelity, content, language, "
        f"fluency{'' if fluency else ' — off: no reference model'}); family columns: first tries with no hard "
        "finding of that family; final / sendable: delivered copy"
    )
    for r in reports:
        if r.top_codes:
            found = ", ".join(f"{c} {k}" for c, k in r.top_codes.items())
            lines.append(f"  {r.channel}: top first-try findings {found}")
    return "\n".join(lines)
