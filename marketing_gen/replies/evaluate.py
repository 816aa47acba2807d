"""Offline evaluation of reply suggestions on real threads: Twitter customer → brand pairs and Amazon QA.

Owns the data loaders (``twcs`` pairs via ``in_response_to_tweet_id``; Amazon QA lines as JSON or Python
literals), the FIXED held-out split (seeded shuffle of pairs sorted by tweet id; the seed and a hash of the
held-out ids are in the report so later models compare on the same threads) and the metrics:

- best-of-k similarity of the suggestions to the real brand reply / community answer;
- diversity among the k (mean pairwise 1 − similarity);
- guardrail pass rate of the model's candidates (after cleaning), and how many slots needed a template;
- the same best-of-k for four response sets, under MiniLM and lexical similarity (``baselines``): the model's
  suggestions alone (model + templates, no retrieval), the nearest-thread retrieval baseline (the replies of the
  k nearest training threads; the index excludes the held-out threads), the canned templates, and the served
  path (model + retrieved replies ranked together), plus the served path's guardrail pass on its output;
- escalation rate on complaint threads vs praise threads. The complaint / praise label comes from the REAL
  brand reply (apology words vs thanks words), not from our triage, so the comparison is not circular.
"""

from __future__ import annotations

import ast
import csv
import functools
import hashlib
import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from marketing_gen.config import REPO_ROOT
from marketing_gen.contexts import BrandFacts
from marketing_gen.llm.protocol import GenerationEngine
from marketing_gen.replies.candidates import fallback_reply
from marketing_gen.replies.similarity import Similarity, get_similarity
from marketing_gen.replies.suggest import (
    DEDUP_SIMILARITY,
    DEFAULT_MAX_NEW_TOKENS,
    ReplySuggestions,
    check_candidate,
    finish_replies,
    generate_for_plans,
    plan_replies,
)
from marketing_gen.replies.triage import triage

if TYPE_CHECKING:
    from marketing_gen.replies.retrieval import ReplyIndex

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
TWCS_FILE = "twcs_customer_support_twitter_sample_5000.csv"
QA_FILE = "amazon_qa_appliances.jsonl"
SPLIT_SEED = 20261128
"""Seed of the fixed held-out split. Never change it: results of different models compare on the same threads."""

_MENTION = re.compile(r"(^|\s)@\w+")
_URL = re.compile(r"https?://\S+")
_SIGNATURE = re.compile(r"\s*(\^|-|–|/|\*|=)\s?[A-Za-z]{1,12}\s*$")
_APOLOGY = re.compile(r"\b(sorry|apolog\w*|frustrat\w*|inconvenience|not the experience|disappoint\w*)\b", re.I)
_THANKS = re.compile(
    r"\b(glad|kind words|appreciate|happy to hear|love (that|this|it|hearing)|you're welcome|enjoy)\b", re.I
)


@dataclass(frozen=True)
class Pair:
    """A customer message and the reference reply written by a person."""

    key: str
    """Brand tweet id (Twitter) or ``asin:n`` (Amazon QA)."""
    text: str
    reference: str
    brand: str
    label: str | None = None
    """Weak label from the reference reply: ``complaint`` (apology), ``praise`` (thanks) or None."""


def clean_tweet(text: str) -> str:
    """Tweet text without @mentions, links and a trailing agent signature (``^JP``, ``-Becky``)."""
    text = _URL.sub(" ", _MENTION.sub(" ", text))
    text = re.sub(r"\s+", " ", text).strip()
    return _SIGNATURE.sub("", text).strip()


def weak_label(reference: str) -> str | None:
    """``complaint`` when the real reply apologises, ``praise`` when it only thanks, else None."""
    if _APOLOGY.search(reference):
        return "complaint"
    if _THANKS.search(reference):
        return "praise"
    return None


def load_twitter_pairs(path: str | Path | None = None) -> list[Pair]:
    """Customer → brand reply pairs (brand tweet answering an inbound customer tweet), sorted by brand tweet id."""
    path = Path(path) if path else SHARED_DATA / TWCS_FILE
    with path.open(newline="", encoding="utf-8") as fh:  # csv handles the quoted embedded newline
        rows = list(csv.DictReader(fh))
    by_id = {r["tweet_id"]: r for r in rows}
    pairs: list[Pair] = []
    for r in rows:
        parent_id = (r.get("in_response_to_tweet_id") or "").strip()
        if r["inbound"] != "False" or not parent_id:
            continue
        parent = by_id.get(str(int(float(parent_id))))
        if parent is None or parent["inbound"] != "True":
            continue
        customer, reference = clean_tweet(parent["text"]), clean_tweet(r["text"])
        if customer and reference:
            pairs.append(Pair(r["tweet_id"], customer, reference, r["author_id"], weak_label(reference)))
    return sorted(pairs, key=lambda p: int(p.key))


def heldout_split(pairs: Sequence[Pair], n: int, seed: int = SPLIT_SEED) -> tuple[list[Pair], list[Pair]]:
    """(held-out, rest): a seeded shuffle of the id-sorted pairs; the first ``n`` are held out."""
    order = list(pairs)
    random.Random(seed).shuffle(order)
    return order[:n], order[n:]


def load_amazon_qa(path: str | Path | None = None) -> tuple[list[Pair], dict[str, int]]:
    """Question → answer pairs; lines are JSON or Python literals; unparseable lines are counted, not fatal."""
    path = Path(path) if path else SHARED_DATA / QA_FILE
    counts = Counter({"json": 0, "python_literal": 0, "unparseable": 0})
    pairs: list[Pair] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            counts["json"] += 1
        except json.JSONDecodeError:
            try:
                record = ast.literal_eval(line)
                counts["python_literal"] += 1
            except (ValueError, SyntaxError):
                counts["unparseable"] += 1
                continue
        if not isinstance(record, dict):
            counts["unparseable"] += 1
            continue
        question, answer = str(record.get("question") or "").strip(), str(record.get("answer") or "").strip()
        if question and answer:
            pairs.append(Pair(f"{record.get('asin', '?')}:{n}", question, answer, "amazon"))
    return pairs, dict(counts)


def _pairwise_diversity(vectors_sim: np.ndarray) -> float | None:
    k = vectors_sim.shape[0]
    if k < 2:
        return None
    upper = vectors_sim[np.triu_indices(k, 1)]
    return float(np.mean(1.0 - upper))


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def score_set(
    pairs: Sequence[Pair], results: Sequence[ReplySuggestions], similarity: Similarity, brand: BrandFacts
) -> dict[str, Any]:
    """Metrics for one data set of (pair, suggestions) plus a template-only baseline on the same messages."""
    best, best_model, diversity, baseline = [], [], [], []
    generated = checked = passed = unusable = fallbacks = slots = 0
    rejected: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    escalated: Counter[str] = Counter()
    labelled: Counter[str] = Counter()
    injections = 0
    for pair, result in zip(pairs, results, strict=True):
        categories[result.category] += 1
        injections += result.flagged_injection
        if pair.label:
            labelled[pair.label] += 1
            escalated[pair.label] += result.escalate
        escalated["all"] += result.escalate
        stats = result.stats
        generated += stats.generated
        checked += stats.checked
        passed += stats.passed
        unusable += stats.unusable
        rejected.update(stats.rejected)
        if not result.suggestions:
            continue
        texts = [s.text for s in result.suggestions]
        slots += len(texts)
        fallbacks += sum(s.fallback for s in result.suggestions)
        sims = similarity.pairwise(texts, [pair.reference])[:, 0]
        best.append(float(sims.max()))
        model_sims = [float(s) for s, sug in zip(sims, result.suggestions, strict=True) if not sug.fallback]
        if model_sims:
            best_model.append(max(model_sims))
        div = _pairwise_diversity(similarity.pairwise(texts, texts))
        if div is not None:
            diversity.append(div)
        pair_brand = _brand_for(pair, brand)
        templates = [fallback_reply(s.intent, category=result.category, brand=pair_brand) for s in result.suggestions]
        baseline.append(float(similarity.pairwise(templates, [pair.reference])[:, 0].max()))
    return {
        "messages": len(pairs),
        "answered": len(best),
        "best_of_k_similarity": _mean(best),
        "best_of_k_similarity_model_only": _mean(best_model),
        "template_baseline_best_of_k": _mean(baseline),
        "diversity": _mean(diversity),
        "guardrail_pass_rate": _rate(passed, checked),
        "unusable_rate": _rate(unusable, generated),
        "candidates_generated": generated,
        "template_slot_rate": _rate(fallbacks, slots),
        "rejections": dict(rejected.most_common(8)),
        "escalation_rate": _rate(escalated["all"], len(pairs)),
        "escalation_rate_complaint": _rate(escalated["complaint"], labelled["complaint"]),
        "escalation_rate_praise": _rate(escalated["praise"], labelled["praise"]),
        "labelled": {"complaint": labelled["complaint"], "praise": labelled["praise"]},
        "flagged_injection": injections,
        "categories": dict(categories.most_common()),
    }


def _brand_for(pair: Pair, default: BrandFacts) -> BrandFacts:
    """The brand that really answered (its handle as the name), with the default's rules."""
    return default if pair.brand == "amazon" else BrandFacts(name=pair.brand, voice=default.voice)


def run_suggestions(
    pairs: Sequence[Pair],
    engine: GenerationEngine,
    *,
    brand: BrandFacts,
    k: int,
    m: int,
    batch_size: int,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    progress: Callable[[str], None] | None = None,
    retriever: ReplyIndex | None = None,
) -> tuple[list[ReplySuggestions], list[ReplySuggestions]]:
    """(model only, served) suggestions for every pair from the same completions, ``batch_size`` messages per
    batched generate (seed = position). Served = model + ``retriever``'s near-thread replies ranked together."""
    out: list[ReplySuggestions] = []
    served: list[ReplySuggestions] = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        plans = [
            plan_replies(p.text[:2000], brand=_brand_for(p, brand), k=k, m=m, seed=0, max_new_tokens=max_new_tokens)
            for p in chunk
        ]
        completions = generate_for_plans(engine, plans)
        for plan, comps in zip(plans, completions, strict=True):  # dedup as served (lexical)
            out.append(finish_replies(plan, comps, model_version=engine.version))
            served.append(finish_replies(plan, comps, model_version=engine.version, retriever=retriever))
        if progress:
            progress(f"{len(out)}/{len(pairs)} messages")
    return out, served


def _best(similarity: Similarity, texts: Sequence[str], reference: str) -> float | None:
    return float(similarity.pairwise(list(texts), [reference])[:, 0].max()) if texts else None


def response_set_rows(
    pairs: Sequence[Pair],
    model_only: Sequence[ReplySuggestions],
    served: Sequence[ReplySuggestions],
    retriever: ReplyIndex | None,
    similarity: Similarity,
    brand: BrandFacts,
    k: int,
) -> dict[str, Any]:
    """Best-of-k to the real reply for each response set, on the messages the model path answered.

    ``retrieval``: the replies of the k nearest training threads (no similarity floor, de-personalised);
    ``templates``: the canned template of each of the model path's intents.
    """
    sets: dict[str, list[float]] = {"model_only": [], "retrieval": [], "templates": [], "served": []}
    for pair, alone, both in zip(pairs, model_only, served, strict=True):
        if not alone.suggestions:
            continue
        pair_brand = _brand_for(pair, brand)
        texts = {
            "model_only": [s.text for s in alone.suggestions],
            "templates": [
                fallback_reply(s.intent, category=alone.category, brand=pair_brand) for s in alone.suggestions
            ],
            "served": [s.text for s in both.suggestions],
            "retrieval": [h.text for h in retriever.nearest(pair.text, k, min_similarity=-1.0)] if retriever else [],
        }
        for name, candidates in texts.items():
            best = _best(similarity, candidates, pair.reference)
            if best is not None:
                sets[name].append(best)
    return {name: _mean(values) for name, values in sets.items()} | {"messages": len(sets["model_only"])}


def served_guardrail_pass(
    pairs: Sequence[Pair], results: Sequence[ReplySuggestions], brand: BrandFacts
) -> float | None:
    """Share of served suggestions (model, retrieved and template) that pass the guardrails and reply policy, each
    checked for the brand it was written for (a thread's own brand: a template thanks "the AppleSupport team")."""
    checked = passed = 0
    for pair, result in zip(pairs, results, strict=True):
        pair_brand = _brand_for(pair, brand)
        for s in result.suggestions:
            checked += 1
            found = check_candidate(s.text, brand=pair_brand, item=None, flagged_injection=result.flagged_injection)
            passed += not found
    return _rate(passed, checked)


def split_fingerprint(pairs: Sequence[Pair]) -> str:
    """Short hash of the held-out keys: equal fingerprints mean the same threads."""
    return hashlib.sha256(",".join(p.key for p in pairs).encode()).hexdigest()[:16]


def evaluate_replies(
    engine: GenerationEngine,
    *,
    holdout: int = 300,
    qa_count: int = 100,
    k: int = 3,
    m: int = 8,
    similarity: str = "auto",
    batch_size: int = 16,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    twcs_path: str | Path | None = None,
    qa_path: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    retriever: ReplyIndex | None = None,
    retrieval: bool = True,
    models_dir: str | Path | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """The full evaluation report (JSON-able): split, measure names, per data set metrics, timings.

    ``retriever``: the nearest-thread index (default: built from ``../shared/data`` without the held-out
    threads, cached under ``models_dir``; ``retrieval=False``: none). ``limit``: evaluate only the first
    ``limit`` messages of each held-out set (the split itself is unchanged).
    """
    sim = get_similarity(similarity)
    brand = BrandFacts(name="the store")
    pairs = load_twitter_pairs(twcs_path)
    held, _rest = heldout_split(pairs, holdout)
    qa_pairs, qa_counts = load_amazon_qa(qa_path)
    qa_held = heldout_split(qa_pairs, qa_count)[0] if qa_count else []
    fingerprints = (split_fingerprint(held), split_fingerprint(qa_held))
    if retriever is None and retrieval:
        if progress:
            progress("loading the nearest-thread index (built and cached on first use)")
        retriever = _eval_index(holdout, qa_count, sim, twcs_path, models_dir)
    if retriever is not None:
        leaked = {f"twitter:{p.key}" for p in held} | {f"qa:{p.key}" for p in qa_held}
        if leaked & retriever.keys:
            raise ValueError(f"retrieval index holds {len(leaked & retriever.keys)} held-out threads")
    if limit is not None:
        held, qa_held = held[:limit], qa_held[:limit]
    started = time.perf_counter()
    run = functools.partial(
        run_suggestions,
        engine=engine,
        brand=brand,
        k=k,
        m=m,
        batch_size=batch_size,
        max_new_tokens=max_new_tokens,
        progress=progress,
        retriever=retriever,
    )
    (tw_model, tw_results), (qa_model, qa_results) = run(held), run(qa_held)
    measures = [sim] + [get_similarity(m) for m in ("embedding", "lexical") if m not in sim.name]
    if "embedding" not in sim.name:
        measures = [sim]  # the embedding measure is not installed: lexical rows only
    baselines = {
        m.name: {
            "twitter": response_set_rows(held, tw_model, tw_results, retriever, m, brand, k),
            "amazon_qa": response_set_rows(qa_held, qa_model, qa_results, retriever, m, brand, k),
        }
        for m in measures
    }
    elapsed = time.perf_counter() - started
    # Triage alone is cheap: its escalation rates on ALL pairs, by the weak label from the real reply.
    all_triage = Counter((p.label, triage(p.text).escalate) for p in pairs)
    return {
        "model_version": engine.version,
        "similarity": sim.name,
        "dedup_similarity": DEDUP_SIMILARITY,
        "k": k,
        "m": m,
        "batch_size": batch_size,
        "max_new_tokens": max_new_tokens,
        "int8_decode_layers": engine.int8_decode_layers,
        "split": {
            "seed": SPLIT_SEED,
            "pairs_total": len(pairs),
            "heldout": holdout,
            "heldout_fingerprint": fingerprints[0],
            "qa_heldout": qa_count,
            "qa_fingerprint": fingerprints[1],
            "limit": limit,
        },
        "retrieval": {
            "index": retriever.kind if retriever is not None else None,
            "threads": len(retriever.threads) if retriever is not None else 0,
        },
        "baselines": baselines,
        "served_guardrail_pass": {
            "twitter": served_guardrail_pass(held, tw_results, brand),
            "amazon_qa": served_guardrail_pass(qa_held, qa_results, brand),
        },
        "twitter": score_set(held, tw_results, sim, brand),
        "amazon_qa": score_set(qa_held, qa_results, sim, brand) | {"lines": qa_counts},
        "triage_all_twitter_pairs": {
            "escalation_rate_complaint": _rate(
                all_triage[("complaint", True)], all_triage[("complaint", True)] + all_triage[("complaint", False)]
            ),
            "escalation_rate_praise": _rate(
                all_triage[("praise", True)], all_triage[("praise", True)] + all_triage[("praise", False)]
            ),
        },
        "seconds": round(elapsed, 1),
        "seconds_per_message": round(elapsed / max(len(held) + len(qa_held), 1), 3),
    }


def _eval_index(
    holdout: int, qa_count: int, sim: Similarity, twcs_path: str | Path | None, models_dir: str | Path | None
) -> ReplyIndex:
    """The index without the held-out threads (nested split: excluding the larger default one is also safe)."""
    from marketing_gen.config import get_settings
    from marketing_gen.replies.retrieval import DEFAULT_HOLDOUT, DEFAULT_QA_HOLDOUT, build_from_data, eval_split_keys

    data_dir = Path(twcs_path).parent if twcs_path else SHARED_DATA
    exclude = eval_split_keys(data_dir, holdout=max(holdout, DEFAULT_HOLDOUT), qa=max(qa_count, DEFAULT_QA_HOLDOUT))
    kind = "embedding" if "embedding" in sim.name else "lexical"
    return build_from_data(
        data_dir, models_dir=Path(models_dir or get_settings().models_dir), exclude=exclude, kind=kind
    )


def format_table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    rows = [
        ("best-of-k similarity", "best_of_k_similarity"),
        ("  model suggestions only", "best_of_k_similarity_model_only"),
        ("  template-only baseline", "template_baseline_best_of_k"),
        ("diversity (mean 1-sim)", "diversity"),
        ("guardrail pass rate", "guardrail_pass_rate"),
        ("unusable candidate rate", "unusable_rate"),
        ("template slot rate", "template_slot_rate"),
        ("escalation rate (all)", "escalation_rate"),
        ("escalation rate complaint", "escalation_rate_complaint"),
        ("escalation rate praise", "escalation_rate_praise"),
        ("flagged injections", "flagged_injection"),
        ("messages", "messages"),
    ]
    tw, qa = report["twitter"], report["amazon_qa"]
    lines = [
        f"model {report['model_version']}  k={report['k']} m={report['m']}  similarity: {report['similarity']}  "
        f"max tokens {report['max_new_tokens']}  batch {report['batch_size']}  "
        f"int8 decode {'on' if report['int8_decode_layers'] else 'off'}",
        f"split seed {report['split']['seed']}  twitter held-out {report['split']['heldout']} "
        f"({report['split']['heldout_fingerprint']})  amazon QA {report['split']['qa_heldout']} "
        f"({report['split']['qa_fingerprint']})",
        f"{'metric':<28}{'twitter':>12}{'amazon QA':>12}",
    ]
    for label, key in rows:
        lines.append(f"{label:<28}{_fmt(tw.get(key)):>12}{_fmt(qa.get(key)):>12}")
    lines.append(
        f"served suggestions passing guardrails + policy: twitter {_fmt(report['served_guardrail_pass']['twitter'])}"
        f"  amazon QA {_fmt(report['served_guardrail_pass']['amazon_qa'])}"
    )
    retrieval = report["retrieval"]
    lines.append(
        f"best-of-{report['k']} to the real reply (retrieval index: {retrieval['index']}, "
        f"{retrieval['threads']} threads, held-out threads excluded)"
    )
    lines.append(f"{'response set':<28}{'measure':<12}{'twitter':>12}{'amazon QA':>12}")
    for measure, rows in report["baselines"].items():
        short = "MiniLM" if "embedding" in measure else "lexical"
        for name, label in (
            ("model_only", "model only"),
            ("retrieval", "retrieval baseline"),
            ("templates", "canned templates"),
            ("served", "served (model+retrieval)"),
        ):
            lines.append(
                f"{label:<28}{short:<12}{_fmt(rows['twitter'].get(name)):>12}{_fmt(rows['amazon_qa'].get(name)):>12}"
            )
    lines.append(f"amazon QA lines: {qa.get('lines')}")
    lines.append(f"twitter rejections: {tw['rejections']}")
    lines.append(f"triage on all {report['split']['pairs_total']} twitter pairs: {report['triage_all_twitter_pairs']}")
    lines.append(f"{report['seconds']} s ({report['seconds_per_message']} s/message)")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
