"""Copywriter: contexts → checked copy. Generate in one batch, check, regenerate only failures, then fall back.

1. build one prompt per context (``prompts``), skip contexts without recommendations;
2. one batched ``engine.generate`` per round; parse the tagged fields (``llm.parse``) and apply safe,
   deterministic clean-up (``postprocess``): one-line fields keep their first line, list fields drop empty
   and duplicate entries and keep at most the channel's maximum count, SMS gets the brand prefix and the
   STOP line (``channels.sms.finalize_text``). Over-length text is never cut: it fails and is regenerated;
3. check (``guardrails``: the hard checks and the quality gate), then — for copies with no hard finding so far
   and when a reference model is given — fluency (``guardrails.fluency``, one batched scoring call per round);
   copies with a hard finding of either kind go to the next round with a new seed and a warmer sampling
   schedule (``sampling_for``), at most ``max_regenerations`` extra rounds, each sampling
   ``settings.regen_candidates`` texts per copy and keeping the first that passes. Model copy is delivered only
   when it is ``sendable``;
4. whatever still fails gets the deterministic fallback ``templates/fallback/<channel>.j2`` — first its
   ``full`` level (names the top item, price, offer), then ``minimal`` (brand and generic words only) —
   and that copy is checked too: the first level that passes the hard checks is delivered, its gate findings
   (if any) kept in ``findings`` and ``sendable`` False. Every delivered copy passes every hard check; a copy
   that cannot (a broken brand configuration) is returned skipped with the reason, never delivered.
Does not store anything (``campaigns`` / workers do) or render (``render``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from marketing_gen.channels import sms
from marketing_gen.channels.base import ChannelSpec, get_channel
from marketing_gen.channels.google_ads_rsa import display_paths
from marketing_gen.config import Settings, get_settings
from marketing_gen.contexts import ItemFacts, UserContext
from marketing_gen.errors import InvalidRequest
from marketing_gen.guardrails import Facts, Violation, build_facts, check_with_facts, hard, passes, sendable
from marketing_gen.guardrails.content import is_call_to_action
from marketing_gen.guardrails.fluency import Scorer, check_fluency, fluency_texts, shared_scorer
from marketing_gen.guardrails.format import SINGLE_LINE
from marketing_gen.guardrails.money import format_pct, format_price
from marketing_gen.llm.parse import parse_fields
from marketing_gen.llm.protocol import GenerationEngine
from marketing_gen.llm.sampling import SamplingParams
from marketing_gen.prompts import (
    build_prompt,
    for_channel,
    language_of,
    prompt_hash,
    sms_budget,
    template_environment,
)
from marketing_gen.run_on import repair_run_on
from marketing_gen.slots import fill as fill_slots
from marketing_gen.slots import unfilled
from marketing_gen.titles import display_title, short_names, trim_sentences, trim_words


@dataclass
class CopyResult:
    """The delivered copy for one context, with the history of how it got there."""

    user_id: int
    channel: str
    variant: int
    fields: dict[str, Any] = field(default_factory=dict)
    violations: list[list[dict[str, Any]]] = field(default_factory=list)
    """One list per attempt (model attempts, then fallback levels tried), each violation a plain dict."""
    attempts: int = 0
    """Model attempts made (the fallback is not counted)."""
    fallback: bool = False
    prompt_hash: str | None = None
    seed: int | None = None
    """Seed of the attempt whose copy was delivered (None for the fallback)."""
    timings: dict[str, float] = field(default_factory=lambda: {"model_s": 0.0, "check_s": 0.0})
    model_version: str | None = None
    skipped: bool = False
    skip_reason: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    """Findings on the delivered copy: soft ones (advice), and for fallback copy the quality gate's, if any."""
    sendable: bool = False
    """The delivered copy passes the hard checks and the quality gate (model copy always; fallback copy may not)."""
    raw_texts: list[str] = field(default_factory=list)
    """The model's raw text per attempt (for debugging and training data)."""

    @property
    def ok(self) -> bool:
        """True when there is deliverable copy."""
        return not self.skipped

    @property
    def first_try_hard(self) -> list[dict[str, Any]]:
        """The hard findings on the model's first try (empty when it passed, or when there was no try)."""
        return [v for v in (self.violations[0] if self.violations else []) if v["hard"]]

    @property
    def first_try_sendable(self) -> bool:
        """The model's first try passed every hard check and the quality gate."""
        return self.attempts >= 1 and sendable(self.first_try_hard)


def fluency_scorer(settings: Settings) -> Scorer | None:
    """The reference model for the fluency check, from ``settings.fluency_model``: ``auto`` — the base model
    (SmolLM2-135M-Instruct) in the models dir when it is there; ``off``; or a model dir. Loaded on first use."""
    from pathlib import Path

    from marketing_gen.versions.base_model import DEFAULT_NAME

    choice = settings.fluency_model.strip()
    if choice == "off":
        return None
    path = Path(settings.models_dir) / DEFAULT_NAME if choice == "auto" else Path(choice)
    if not (path / "config.json").is_file():
        if choice == "auto":
            return None
        raise InvalidRequest(f"fluency_model={choice!r}: no model dir there; set it to auto, off or a HF model dir")
    return shared_scorer(path)


def read_completion(
    text: str,
    spec: ChannelSpec,
    context: UserContext,
    *,
    slots: bool = False,
    finish_reason: str = "stop",
    fit_lengths: bool = False,
    fixed_cta: bool = False,
    drop_run_on: bool = False,
    fixed_paths: bool = False,
) -> tuple[dict[str, Any], list[Violation]]:
    """A completion as it is served: parsed fields (a field cut by the token limit handled by ``cut_off`` when
    ``finish_reason`` is ``length``), slots filled (``slots``), cleaned up (``postprocess``); plus a hard
    ``format.slot`` finding per slot left in the text (one the context cannot fill, or any slot written by a
    model that was not trained with them): such copy is regenerated, never sent. ``fit_lengths``: a field past
    its hard length ends at the last whole word that fits (``fit_to_limits``). ``fixed_cta``: a missing CTA or one
    without an action word becomes the language's standard label (``standard_cta``), with a soft finding.
    ``drop_run_on``: a sentence a text repeats, or one of only prices, is dropped (``run_on``), with a soft finding.
    ``fixed_paths``: an RSA's display paths are its item's (``display_paths``), a soft finding when they differ."""
    fields = parse_fields(text, spec.parse_spec(), aliases=spec.parse_aliases()).fields
    found = cut_off(text, fields, spec) if finish_reason == "length" else []
    if slots:
        fields = fill_slots(fields, context)
    if drop_run_on:
        fields, dropped = repair_run_on(fields, frozenset(f.name for f in spec.fields if f.kind != "list"))
        found += dropped
    if fit_lengths:  # on the cleaned-up text (first line of one-line fields), before the SMS gets brand and STOP
        fields = fit_to_limits(postprocess(fields, spec, context, finalize_sms=False), spec, context)
    fields = postprocess(fields, spec, context)
    found += [Violation("format.slot", name, f"{slot} cannot be filled here") for name, slot in unfilled(fields)]
    if fixed_cta and "cta" in spec.field_names and not is_call_to_action(str(fields.get("cta") or ""), context.locale):
        wrote = str(fields.get("cta") or "").strip()
        fields["cta"] = standard_cta(context)
        found.append(Violation("content.cta_default", "cta", f"the standard label replaced {wrote!r}", hard=False))
    if fixed_paths and "path1" in spec.field_names and context.items:
        found += _fix_paths(fields, context.items[0])
    return fields, found


def _fix_paths(fields: dict[str, Any], item: ItemFacts) -> list[Violation]:
    """Set ``fields``' display paths to the item's; a soft finding per path the model wrote otherwise."""
    found = []
    for name, path in zip(("path1", "path2"), display_paths(item.title, item.category), strict=True):
        wrote = str(fields.get(name) or "").strip()
        if wrote.lower() != path.lower():
            said = f"the item's path {path!r} replaced {wrote!r}"
            found.append(Violation("content.path_default", name, said, hard=False))
        fields[name] = path
    return found


def standard_cta(context: UserContext, settings: Settings | None = None) -> str:
    """The customer's language's standard button label (``templates/fallback/_phrases.j2``: "Take a look")."""
    label = _cta_template(template_environment(settings)).render(lang=language_of(context.locale))
    return label.strip() or "Take a look"


@lru_cache(maxsize=8)
def _cta_template(env: Any) -> Any:
    return env.from_string(
        '{% from "fallback/_phrases.j2" import phrases %}'
        '{{ (phrases[lang] if lang in phrases else phrases["English"]).cta }}'
    )


def fit_to_limits(fields: Mapping[str, Any], spec: ChannelSpec, context: UserContext) -> dict[str, Any]:
    """Lengths by construction: each text past its field's hard length (list entries one by one; an SMS past the
    budget the prompt gives, ``prompts.sms_budget``) cut as if decoding had stopped there: to its longest run of
    whole sentences that fits and holds at least ``MIN_CUT_WORDS`` words (``titles.trim_sentences``), else to its
    longest run of whole words, without a dangling "and"/"of" (``titles.trim_words``).

    Sentences first: cut on a word, "We picked the {ITEM1} for you at Northwind Goods. 10% off your next order
    with code {CODE}." became "… with code" once the title was filled in (2 of 50 held-out push bodies of the
    demo model refused as ``content.unfinished``); its first sentence alone is copy a marketer would send.

    A product's name is never cut: before cutting, a text is tried with each display title written as its short
    name and without its leading "Name, " (``_shorter_wordings``); a cut that would still end inside a name the
    text wrote whole is not made, and the text stays too long, a hard finding that regenerates it ("Harry, meet
    the Two-Person Backpacking Tent" was sent as "Harry, meet the Two-Person Backpacking"; now "Meet the Two-Person
    Backpacking Tent")."""
    names = _item_names(context)
    out = dict(fields)
    for f in spec.fields:
        limit = sms_budget(context, spec) if spec.render_target == "sms" and f.name == "text" else f.max_len
        value = out.get(f.name)
        if not limit or value is None:
            continue
        if isinstance(value, list):
            out[f.name] = [_cut(str(v), limit, names, context) if len(str(v)) > limit else v for v in value]
        elif len(str(value).strip()) > limit:
            out[f.name] = _cut(str(value), limit, names, context)
    return out


MIN_CUT_WORDS = 4
"""Fewest words a text cut back to whole sentences keeps; shorter, it is cut on words instead ("Hi Ben." says
less than the words of the sentence after it)."""


def _cut(text: str, limit: int, names: Mapping[str, str], context: UserContext) -> str:
    for wording in _shorter_wordings(text, names, context.first_name):
        if len(wording) <= limit:
            return wording
    whole = trim_sentences(text, limit)
    cut = whole if len(whole.split()) >= MIN_CUT_WORDS else trim_words(text, limit)
    return text if _splits_a_name(" ".join(text.split()), cut, names) else cut


def _item_names(context: UserContext) -> dict[str, str]:
    """Each of the context's item display titles → its short name (the name copy may call it by)."""
    shorts = short_names([i.title for i in context.items])
    return {display_title(i.title): s or display_title(i.title) for i, s in zip(context.items, shorts, strict=True)}


_ADDRESS = r"^\s*{name}\s*[,!:]\s*(?=\w)"


def _shorter_wordings(text: str, names: Mapping[str, str], first_name: str | None) -> list[str]:
    """The same copy in fewer characters, fewest changes first: titles written as short names, then also without
    the leading "Name, " (the sentence after it capitalised)."""
    text = re.sub(r"\s+", " ", text).strip()
    short = text
    for title, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        short = short.replace(title, name)
    out = [short]
    name = (first_name or "").strip()
    if name:
        bare = re.sub(_ADDRESS.format(name=re.escape(name)), "", short, count=1)
        if bare != short:
            out.append(bare[:1].upper() + bare[1:])
    return list(dict.fromkeys(out))


def _splits_a_name(text: str, cut: str, names: Mapping[str, str]) -> bool:
    """Whether ``cut`` ends inside an item name (title or short name) that ``text`` wrote whole at that place."""
    for name in {*names, *names.values()}:
        for m in re.finditer(re.escape(name), text):
            if m.start() < len(cut) < m.end():
                return True
    return False


def sampling_for(
    attempt: int, *, seed: int, spec: ChannelSpec, params: SamplingParams | None = None, candidates: int = 1
) -> SamplingParams:
    """The sampling schedule: attempt 0 greedy, later attempts sample ``candidates`` texts each, warmer, with a
    mild repetition penalty.

    Penalties count generated tokens only (``llm.engine``), but the first try still has none: copy repeats
    the field tags (four ``HEADLINE:`` lines) and the product's name by design.
    """
    base = params or SamplingParams(max_new_tokens=spec.max_new_tokens)
    if attempt == 0:
        return base.model_copy(update={"n": 1, "seed": seed})
    temperature = min(0.9, 0.6 + 0.1 * attempt)
    return base.model_copy(
        update={
            "n": candidates,
            "seed": seed + attempt,
            "temperature": max(base.temperature, temperature),
            "top_p": min(base.top_p, 0.95),
            "repetition_penalty": 1.1,
        }
    )


def postprocess(
    fields: Mapping[str, Any], spec: ChannelSpec, context: UserContext, *, finalize_sms: bool = True
) -> dict[str, Any]:
    """Safe, deterministic clean-up of parsed fields (never shortens a text to make it fit). ``finalize_sms``
    False leaves an SMS as the model writes it (training rows), without the brand prefix and opt-out line."""
    out: dict[str, Any] = {}
    for f in spec.fields:
        value = fields.get(f.name)
        if f.kind == "list":
            items = [" ".join(str(v).split()) for v in (value or []) if str(v).strip()]
            out[f.name] = list(dict.fromkeys(items))[: f.max_count]
        else:
            text = str(value or "").strip()
            if f.name in SINGLE_LINE:
                text = next((line.strip() for line in text.splitlines() if line.strip()), "")
            else:
                text = re.sub(r"[ \t]+", " ", text).strip()
            out[f.name] = text
    if finalize_sms and spec.render_target == "sms" and out.get("text"):
        out["text"] = sms.finalize_text(out["text"], context.brand.name, context.locale)
    return out


_SENTENCE_END = (".", "!", "?", "…", ")", '"', "'", "»", "”", "’", "。", "！", "？")


def cut_off(raw: str, fields: dict[str, Any], spec: ChannelSpec) -> list[Violation]:
    """Handle output that hit the token limit inside a field (the raw text ends mid-value, no closing mark).

    A cut list entry (a half-written headline) is dropped from ``fields``; a cut text field is a
    ``format.truncated`` finding, never delivered. Output that ran past its last field into chatter is fine.
    """
    tail = raw.rstrip()
    for f in spec.fields:
        value = fields.get(f.name)
        last = (value[-1] if value else "") if isinstance(value, list) else str(value or "")
        last = last.rstrip()
        if not last or not tail.endswith(last) or last.endswith(_SENTENCE_END):
            continue
        if f.name in SINGLE_LINE and not isinstance(value, list) and "\n" in last.strip():
            continue  # the cut is in chatter after the first line, which postprocess drops
        if isinstance(value, list):
            fields[f.name] = value[:-1]
            return []
        return [
            Violation(
                "format.truncated", f.name, f"{f.name} was cut off by the token limit ({spec.max_new_tokens} tokens)"
            )
        ]
    return []


@dataclass
class _Job:
    index: int
    context: UserContext
    prompt: list[dict[str, str]]
    facts: Facts
    result: CopyResult


def write_copies(
    contexts: Sequence[UserContext],
    channel: str | ChannelSpec,
    engine: GenerationEngine,
    *,
    variant: int = 0,
    seed: int = 0,
    max_regenerations: int = 2,
    params: SamplingParams | None = None,
    settings: Settings | None = None,
    extra: Sequence[Mapping[str, Any] | None] | None = None,
    fluency: Scorer | None = None,
) -> list[CopyResult]:
    """Checked copy for each context, in input order (see the module docstring for the steps).

    ``fluency``: the reference model for the gate's fluency rule (``fluency_scorer(settings)``); None skips it."""
    spec = get_channel(channel)
    settings = settings or get_settings()
    contexts = [for_channel(c, spec) for c in contexts]  # an ad is not told (nor filled with) a customer's name
    results: list[CopyResult] = []
    pending: list[_Job] = []
    few_shot = engine.few_shot_for(spec.name)  # fine-tuned channels are served without the example turn
    slots = engine.uses_slots(spec.name)  # models trained with slots write {NAME}, {ITEM1} … and code fills them
    # 1. prompts (skip users the channel cannot write about)
    for i, ctx in enumerate(contexts):
        result = CopyResult(user_id=ctx.user_id, channel=spec.name, variant=variant, model_version=engine.version)
        results.append(result)
        if not ctx.items and spec.name != "social_reply":
            result.skipped, result.skip_reason = True, "no recommendations"
            continue
        prompt = build_prompt(
            ctx,
            spec,
            variant=variant,
            settings=settings,
            extra=extra[i] if extra else None,
            few_shot=few_shot,
            slots=slots,
        )
        result.prompt_hash = prompt_hash(prompt)
        facts = build_facts(ctx, tracking_base_url=settings.public_base_url)
        pending.append(_Job(i, ctx, prompt, facts, result))

    # 2–3. generate in one batch per round, check, keep the failures for the next round
    for attempt in range(max_regenerations + 1):
        if not pending:
            break
        params_k = sampling_for(attempt, seed=seed, spec=spec, params=params, candidates=settings.regen_candidates)
        started = time.perf_counter()
        completions = engine.generate([job.prompt for job in pending], params_k)
        model_s = (time.perf_counter() - started) / len(pending)
        checked: list[tuple[_Job, list[tuple[str, dict[str, Any], list[Violation]]]]] = []
        for job, completion in zip(pending, completions, strict=True):
            res = job.result
            res.timings["model_s"] += model_s
            res.attempts += 1
            texts = list(completion.texts) or [""]
            reasons = list(completion.finish_reasons or []) or ["stop"] * len(texts)
            started = time.perf_counter()
            candidates = []
            for text, reason in zip(texts, reasons, strict=False):
                fields, read_findings = read_completion(
                    text,
                    spec,
                    job.context,
                    slots=slots,
                    finish_reason=reason,
                    fit_lengths=settings.fit_lengths,
                    fixed_cta=settings.fixed_cta,
                    drop_run_on=settings.drop_run_on,
                    fixed_paths=settings.fixed_paths,
                )
                found = check_with_facts(fields, job.facts, spec, example=example_answer(job.prompt)) + read_findings
                candidates.append((text, fields, found))
            res.timings["check_s"] += time.perf_counter() - started
            checked.append((job, candidates))
        if fluency is not None:
            _add_fluency(
                [(job, f, found) for job, cands in checked for _, f, found in cands if not hard(found)], fluency
            )
        still: list[_Job] = []
        for job, candidates in checked:
            res = job.result
            # the first candidate that passes everything, else the first one (its findings explain the retry)
            text, fields, found = next((c for c in candidates if not hard(c[2])), candidates[0])
            res.raw_texts.append(text)
            res.violations.append([v.to_dict() for v in found])
            if hard(found):
                still.append(job)
            else:
                res.fields, res.seed, res.sendable = fields, params_k.seed, True
                res.findings = [v.to_dict() for v in found]
        pending = still

    # 4. deterministic fallback for what is left (fluency scored in one call per level)
    _apply_fallback(pending, spec, settings, variant, fluency)
    return results


def write_template_copies(
    contexts: Sequence[UserContext],
    channel: str | ChannelSpec,
    *,
    variant: int = 0,
    settings: Settings | None = None,
    model_version: str = "template",
) -> list[CopyResult]:
    """The deterministic fallback copy for each context, checked like model copy (no model needed)."""
    spec = get_channel(channel)
    settings = settings or get_settings()
    results = []
    jobs: list[_Job] = []
    for i, ctx in enumerate(contexts):
        result = CopyResult(user_id=ctx.user_id, channel=spec.name, variant=variant, model_version=model_version)
        results.append(result)
        if not ctx.items and spec.name != "social_reply":
            result.skipped, result.skip_reason = True, "no recommendations"
            continue
        facts = build_facts(ctx, tracking_base_url=settings.public_base_url)
        jobs.append(_Job(i, ctx, [], facts, result))
    _apply_fallback(jobs, spec, settings, variant, None)
    return results


def example_answer(prompt: Sequence[Mapping[str, str]]) -> str:
    """The example answer of a few-shot prompt (assistant turns before the last user turn), tags removed."""
    answers = [m["content"] for m in prompt[:-1] if m.get("role") == "assistant"]
    return re.sub(r"(?m)^[A-Z0-9_]+:\s*", "", "\n".join(answers))


def _add_fluency(checked: Sequence[tuple[_Job, dict[str, Any], list[Violation]]], fluency: Scorer) -> None:
    """Score every text of ``checked`` in one call and append ``fluency.low`` findings to each piece's list."""
    pairs = [fluency_texts(fields, job.facts) for job, fields, _ in checked]
    flat = [text for piece in pairs for _, text in piece]
    if not flat:
        return
    started = time.perf_counter()
    scores = fluency.score(flat)
    share = (time.perf_counter() - started) / len(checked)
    k = 0
    for (job, _, found), piece in zip(checked, pairs, strict=True):
        found.extend(check_fluency(piece, scores[k : k + len(piece)]))
        k += len(piece)
        job.result.timings["check_s"] += share
        job.result.timings["fluency_s"] = job.result.timings.get("fluency_s", 0.0) + share


def _apply_fallback(
    jobs: Sequence[_Job], spec: ChannelSpec, settings: Settings, variant: int, fluency: Scorer | None
) -> None:
    left = list(jobs)
    for level in ("full", "minimal"):
        checked: list[tuple[_Job, dict[str, Any], list[Violation]]] = []
        for job in left:
            started = time.perf_counter()
            fields = render_fallback(job.context, spec, level=level, variant=variant, settings=settings)
            found = check_with_facts(fields, job.facts, spec)
            job.result.timings["check_s"] += time.perf_counter() - started
            checked.append((job, fields, found))
        if fluency is not None:
            _add_fluency([c for c in checked if passes(c[2])], fluency)
        left = []
        for job, fields, found in checked:
            res = job.result
            res.violations.append([v.to_dict() for v in found])
            if passes(found):
                res.fields, res.fallback, res.seed = fields, True, None
                res.findings = [v.to_dict() for v in found]
                res.sendable = sendable(found)
            else:
                left.append(job)
    for job in left:
        res = job.result
        codes = ", ".join(sorted({v["code"] for v in res.violations[-1] if v["hard"]}))
        res.skipped, res.skip_reason = True, f"no copy passes the hard checks, fallback included ({codes})"


def render_fallback(
    context: UserContext,
    channel: str | ChannelSpec,
    *,
    level: str = "full",
    variant: int = 0,
    settings: Settings | None = None,
    finalize_sms: bool = True,
) -> dict[str, Any]:
    """The deterministic copy from ``templates/fallback/<channel>.j2`` (``full`` or ``minimal`` level);
    ``finalize_sms`` as in ``postprocess``."""
    spec = get_channel(channel)
    env = template_environment(settings)
    item = context.items[0] if context.items else None
    offer = context.offer
    offer_line = ""
    if offer.discount_pct:
        offer_line = format_pct(offer.discount_pct)
    elif offer.amount_off and item is not None:
        offer_line = format_price(offer.amount_off, item.currency, context.locale)
    name = (context.first_name or "").strip()
    text = env.get_template(spec.fallback_template).render(
        level=level,
        variant=variant,
        lang=language_of(context.locale),
        brand=context.brand,
        first_name=name if re.fullmatch(r"[^\W\d_]{2,20}", name) else "",
        item_title=display_title(item.title) if item else "",
        item_price=format_price(item.price, item.currency, context.locale) if item else "",
        offer_off=offer_line,
        offer_code=offer.code if offer.code and re.fullmatch(r"[A-Z0-9][A-Z0-9-]{3,}", offer.code) else "",
        channel=spec,
    )
    parsed = parse_fields(text, spec.parse_spec(), aliases=spec.parse_aliases())
    return postprocess(parsed.fields, spec, context, finalize_sms=finalize_sms)
