"""The fine-tuning loop end to end: build a dataset → SFT → evaluate before/after → gate → promote.

``ensure_finetuned_model`` is what the README demo calls on its first run: it bootstraps a small dataset,
fine-tunes the active base model for a few minutes on the CPU, prints the before/after table and promotes the
result through the gate; later runs find the fine-tuned version active and return at once (cached).
``build_training_rows`` is what ``marketing-gen train bootstrap`` / ``train sft`` use.

Contexts come from two places, both split by user and by item (held-out users and items never train):
the store's own database (users with recommendations, its brand) and the real corpora in ``../shared/data``
(Amazon listings, Online Retail) when present. Owns the order of the steps; the steps live in their modules.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from marketing_gen.config import Settings
from marketing_gen.contexts import UserContext
from marketing_gen.errors import ClientError
from marketing_gen.llm.protocol import GenerationEngine
from marketing_gen.training.catalog_contexts import OFFERS, ContextSplit, default_data_dir, is_held_out
from marketing_gen.training.datasets import BuildReport, Row
from marketing_gen.training.evaluate import DEFAULT_CHANNELS
from marketing_gen.training.sft import SFTParams

FINETUNED_KINDS = ("sft", "dpo", "kto")

DEMO_PARAMS = SFTParams(max_steps=90, batch_size=4, train_layers=10, logging_steps=10, save_steps=40)
"""The demo's few-minute CPU fine-tune: 90 steps × 4 rows (one pass over ``DEMO_ROWS``), top 10 of 30 layers,
lr 1e-3 cosine; sized so that a fresh clone's `make demo` stays near 20 minutes on 2 CPU cores. The full recipe
is 1.5 passes: `train sft --max-steps 135 --batch-size 4 --train-layers 10` (docs/fine-tuning.md)."""
DEMO_ROWS = 360
"""Rows the demo trains on: teacher copy for the five campaign channels (localized for other languages) and real
support replies (``social_reply``) — one model for all six outputs."""
DEMO_SLOTS = True
"""Whether the store's fine-tune writes names, titles, prices and the code as slots (``marketing_gen.slots``)."""
DEMO_EVAL_N = 10
"""Held-out contexts per channel in the demo's before/after table (the full figure uses ``eval copy --n 50``)."""


FOREIGN_SHARE = 0.3
"""Share of the training contexts (and so of the copy rows) given to users who read another language than
English, when the store has such users. With ~8 % of the rows the model wrote English to the demo store's
French, German and Spanish users."""
CHANNEL_SHARES = {"email": 2, "google_ads_rsa": 2, "meta_ad": 2}
"""Rows per interleaving turn, by channel (others 1): the email is the longest copy and the main channel; an RSA
and a Meta ad are several lines of different jobs (with one share each, 20 of 40 held-out ads failed, SMS and push
none)."""


def foreign_contexts(contexts: Sequence[UserContext], n: int) -> list[UserContext]:
    """``n`` contexts of users whose language is not English, each language in turn: the store's own users
    first, then other training contexts given one of those users' locales (the same catalog facts, read by a
    customer of that language) when the store has too few. None when every user reads English."""
    from marketing_gen.prompts import language_of

    by_language: dict[str, list[UserContext]] = {}
    for c in contexts:
        language = language_of(c.locale)
        if language != "English":
            by_language.setdefault(language, []).append(c)
    out: list[UserContext] = []
    for k in range(max((len(v) for v in by_language.values()), default=0)):
        out.extend(v[k] for _, v in sorted(by_language.items()) if k < len(v))
    if len(out) < n and by_language:
        locales = [v[0].locale for _, v in sorted(by_language.items())]
        english = [c for c in reversed(contexts) if language_of(c.locale) == "English"]  # the unused end first
        out += [replace(c, locale=locales[k % len(locales)]) for k, c in enumerate(english[: n - len(out)])]
    return out[:n]


def spread(major: Sequence[UserContext], minor: Sequence[UserContext]) -> list[UserContext]:
    """``major`` with ``minor`` spread evenly through it (so every prefix holds both in proportion)."""
    out: list[UserContext] = []
    total = len(major) + len(minor)
    taken = 0
    for k in range(total):
        if taken < len(minor) and (taken + 0.5) * total <= (k + 1) * len(minor):
            out.append(minor[taken])
            taken += 1
        else:
            out.append(major[k - taken])
    return out


@dataclass
class TrainingData:
    """Rows, their provenance counts, and the contexts they came from."""

    rows: list[Row]
    report: BuildReport
    contexts: ContextSplit
    sources: dict[str, int] = field(default_factory=dict)


def store_context_split(url: str, *, channel: str = "email", seed: int = 0, item_fraction: float = 0.2) -> ContextSplit:
    """The store's own users with recommendations, split by user and by item (items of the other side removed)."""
    from sqlalchemy import select

    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Recommendation
    from marketing_gen.recommend import build_contexts

    with session_scope(url) as session:
        user_ids = sorted(session.scalars(select(Recommendation.user_id).distinct()))
    if not user_ids:
        return ContextSplit(train=[], held_out=[])
    rng = random.Random(f"store-{seed}")
    by_offer: dict[int, list[int]] = {}
    for uid in user_ids:
        by_offer.setdefault(rng.randrange(len(OFFERS)), []).append(uid)
    contexts: list[UserContext] = []
    for k, ids in sorted(by_offer.items()):
        contexts.extend(build_contexts(ids, channel, url=url, offer=OFFERS[k]))
    sides: dict[bool, list[UserContext]] = {False: [], True: []}
    for context in sorted(contexts, key=lambda c: c.user_id):
        held = is_held_out(context.external_id, salt="user")
        items = tuple(
            i for i in context.items if is_held_out(i.external_id, salt="item", fraction=item_fraction) == held
        )
        if items:
            sides[held].append(replace(context, items=items))
    return ContextSplit(train=sides[False], held_out=sides[True])


def training_contexts(settings: Settings, *, data_dir: Path | None = None) -> ContextSplit:
    """Store contexts first (in-distribution), then the real corpora's, each side interleaved."""
    from marketing_gen.training.catalog_contexts import build_context_split

    store = store_context_split(settings.database_url)
    data_dir = data_dir or default_data_dir()
    corpora = build_context_split(data_dir) if data_dir.is_dir() else ContextSplit(train=[], held_out=[])

    def mix(a: list[UserContext], b: list[UserContext]) -> list[UserContext]:
        out: list[UserContext] = []
        for k in range(max(len(a), len(b))):
            out.extend(x[k] for x in (a, b) if k < len(x))
        return out

    split = ContextSplit(train=mix(store.train, corpora.train), held_out=mix(store.held_out, corpora.held_out))
    if not split.train:
        raise ClientError(
            f"no training contexts: import a store and run `marketing-gen recommend`, or put the corpora in {data_dir}"
        )
    return split


def build_training_rows(
    settings: Settings,
    *,
    rows: int = DEMO_ROWS,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    reply_share: float = 0.1,
    engine: GenerationEngine | None = None,
    best_of: int = 0,
    include_drafts: bool = True,
    data_dir: Path | None = None,
    slots: bool = DEMO_SLOTS,
) -> TrainingData:
    """Dataset for SFT: approved drafts, then best-of-n bootstrap (when an engine is given), then teacher copy,
    then real support replies; deduplicated and cut to ``rows``. ``slots``: copy rows written with slots
    (``marketing_gen.slots``: the model writes ``{NAME}``, ``{ITEM1}`` … and code fills them)."""
    from marketing_gen.training import datasets as D
    from marketing_gen.training.corpora import load_bitext_pairs, load_twitter_pairs

    report = BuildReport()
    split = training_contexts(settings, data_dir=data_dir)
    n_replies = int(round(rows * reply_share))
    n_copy = rows - n_replies
    out: list[Row] = []
    if include_drafts:
        out += D.draft_rows(settings.database_url, report=report, slots=slots)[:n_copy]
    need_contexts = max(1, (n_copy - len(out)) // max(1, len(channels)))
    contexts = split.train[: need_contexts * 2]
    # Users in other languages: FOREIGN_SHARE of the contexts, every language an equal turn, so the model learns
    # to answer in each language the store speaks (their teacher copy is the localized template copy).
    foreign = foreign_contexts(split.train, round(len(contexts) * FOREIGN_SHARE))
    english = [c for c in contexts if c not in foreign][: max(0, need_contexts * 2 - len(foreign))]
    contexts = spread(english, foreign)  # any prefix (the cut below) keeps the share
    if engine is not None and best_of > 0 and len(out) < n_copy:
        out += D.bootstrap_rows(engine, contexts[:need_contexts], channels, n=best_of, report=report, slots=slots)
    if len(out) < n_copy:
        out += D.teacher_rows(contexts, channels, variants=(0, 1), report=report, slots=slots)
    copy_rows = D.dedup(out)
    # Interleave channels so any prefix holds both, then cut.
    names = dict.fromkeys(r["channel"] for r in copy_rows)
    by_channel = {c: [r for r in copy_rows if r["channel"] == c] for c in names}
    mixed: list[Row] = []
    for k in range(max((len(v) for v in by_channel.values()), default=0)):
        for name, v in by_channel.items():
            share = CHANNEL_SHARES.get(name, 1)
            mixed.extend(v[k * share : (k + 1) * share])
    copy_rows = mixed[:n_copy]
    reply: list[Row] = []
    data_dir = data_dir or default_data_dir()
    if n_replies and data_dir.is_dir():
        from marketing_gen.contexts import BrandFacts

        twitter, _ = load_twitter_pairs(data_dir / "twcs_customer_support_twitter_sample_5000.csv")
        bitext, _ = load_bitext_pairs(data_dir / "bitext_customer_support_training.csv")
        rng = random.Random(0)
        rng.shuffle(twitter)
        rng.shuffle(bitext)
        store_brand = split.train[0].brand

        def brand_for(pair: Any) -> BrandFacts:
            return BrandFacts(name=pair.brand) if pair.source == "twitter" and pair.brand else store_brand

        half = n_replies // 2
        reply = D.reply_rows(twitter, brand_for=brand_for, limit=n_replies - half, report=report)
        reply += D.reply_rows(bitext, brand_for=brand_for, limit=half, report=report)
    all_rows = D.dedup(copy_rows + reply)
    random.Random(0).shuffle(all_rows)
    sources: dict[str, int] = {}
    for r in all_rows:
        sources[r["source"]] = sources.get(r["source"], 0) + 1
    return TrainingData(rows=all_rows, report=report, contexts=split, sources=sources)


BEFORE_AFTER_FILE = "before_after.txt"
"""The demo's before/after table, saved in the fine-tuned model dir and shown again on cached runs."""


REFUSED_FILE = "gate_refused.txt"
"""Written when the gate kept the base model, so cached runs keep it too."""


def register_trained_dir(path: Path, *, settings: Settings) -> str | None:
    """Register a model dir trained earlier (with another database) from its saved metadata; None if not one.

    Already registered: returns the name. The demo uses a fresh database per run; this keeps its fine-tune cached.
    """
    from marketing_gen.llm.model_dir import read_version_file
    from marketing_gen.versions.registry import find_version, register_version

    info = read_version_file(path)
    if info is None:
        return None
    if find_version(path.name, url=settings.database_url) is None:
        register_version(
            path.name,
            str(path),
            base=info.get("base"),
            kind=info.get("kind", "sft"),
            dataset_hash=info.get("dataset_hash"),
            hyperparameters=info.get("hyperparameters") or {},
            metrics=info.get("metrics") or {},
            url=settings.database_url,
        )
    return path.name


def finetune_name(base: str, digest: str) -> str:
    """The quick fine-tune's version name: the base model and the first 10 hex digits of its dataset's hash."""
    return f"{base}-demo-sft-{digest[:10]}"


def describe_store(url: str) -> str:
    """A short label of the store in the database: its brand and how many users and items it holds."""
    from sqlalchemy import func, select

    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Brand, Item, User

    with session_scope(url) as s:
        brand = s.scalar(select(Brand.name).order_by(Brand.id).limit(1))
        users = int(s.scalar(select(func.count()).select_from(User)) or 0)
        items = int(s.scalar(select(func.count()).select_from(Item)) or 0)
    return f"{brand or 'no brand'}: {users} users, {items} items"


def _echo_default(message: str) -> None:
    print(message, flush=True)


def ensure_finetuned_model(
    settings: Settings,
    *,
    progress: bool = True,
    echo: Callable[[str], None] = _echo_default,
    params: SFTParams = DEMO_PARAMS,
    rows: int = DEMO_ROWS,
    eval_n: int = DEMO_EVAL_N,
    data_dir: Path | None = None,
) -> str:
    """The active model's name, fine-tuning the active base model first when no fine-tuned version is active.

    First run: dataset (teacher copy grounded in the store's and the corpora's real catalogs, real support
    replies) → SFT (``params``: a few minutes on 2 CPU cores) → before/after table on held-out contexts →
    promotion through the gate. Later runs: the fine-tuned version is active, nothing to do; with a fresh
    database (the demo's), the model dir of the same dataset is found by name (``finetune_name``: keyed by the
    dataset hash, so another store's data trains its own model instead of reusing this one).
    """
    from marketing_gen.training import datasets as D
    from marketing_gen.training.evaluate import comparison_table, evaluate_engine, store_eval
    from marketing_gen.training.gate import promote
    from marketing_gen.training.sft import train_sft
    from marketing_gen.versions.registry import active_version, find_version, set_active

    url = settings.database_url
    active = active_version(url=url)
    if active is None:
        raise ClientError("No model: run `marketing-gen model import-base`")
    if active.kind in FINETUNED_KINDS:
        echo(f"fine-tuned model {active.name} is active (cached); skipping fine-tuning")
        return active.name
    started = time.perf_counter()
    # The cache key is the dataset: another store (or other corpora) gives other rows, so another fine-tune.
    data = build_training_rows(settings, rows=rows, data_dir=data_dir)
    digest = D.dataset_hash(data.rows)
    name = finetune_name(active.name, digest)
    cached = register_trained_dir(Path(settings.models_dir) / name, settings=settings)
    model_dir = Path(settings.models_dir) / name
    if cached is not None and (model_dir / BEFORE_AFTER_FILE).is_file():
        echo(f"dataset {digest[:12]} ({describe_store(url)}) was learnt before:")
        echo("before / after (from the first run):\n" + (model_dir / BEFORE_AFTER_FILE).read_text())
        if (model_dir / REFUSED_FILE).is_file():
            echo(f"kept {active.name}: {(model_dir / REFUSED_FILE).read_text().strip()}")
            return active.name
        set_active(name, url=url)
        echo(f"fine-tuned model {name} found in {settings.models_dir} (cached); now active")
        return name
    if find_version(name, url=url) is None:
        path = D.save_rows(
            data.rows,
            Path(settings.models_dir) / "datasets",
            meta={"sources": data.sources, "report": data.report.as_dict()},
        )
        echo(f"training rows: {len(data.rows)} {data.sources} → {path}")
        echo(
            f"fine-tuning {active.name} on the CPU: {params.max_steps} steps × {params.batch_size} rows "
            f"(top {params.train_layers or 'all'} layers, lr {params.effective_lr:g}) …"
        )
        info = train_sft(
            active.name,
            data.rows,
            settings=settings,
            output_name=name,
            params=params,
            dataset_hash=digest,
            progress=progress,
            trained_on={"store": describe_store(url), "dataset": str(path), "sources": data.sources},
        )
        t = info.metrics["train"]
        echo(f"trained {info.name} in {t['runtime_s']:.0f} s (loss {t['first_loss']} → {t['last_loss']})")
    held_out = data.contexts.held_out[:eval_n]
    evals = []
    for version in (active.name, name):
        evals.append(_evaluate(version, held_out, settings, evaluate_engine))
        store_eval(version, evals[-1], settings=settings)
    table = comparison_table(evals)
    echo("before / after on held-out users and items:\n" + table)
    (Path(settings.models_dir) / name / BEFORE_AFTER_FILE).write_text(table + "\n")
    decision = promote(name, url=url)
    if decision.promoted:
        echo(f"promoted {name} (fine-tuning took {time.perf_counter() - started:.0f} s in all)")
        return name
    why = "the fine-tuned model is worse on " + "; ".join(decision.reasons)
    (model_dir / REFUSED_FILE).write_text(why + "\n")
    echo(f"kept {active.name}: {why}")
    return active.name


def _evaluate(version: str, contexts: list[UserContext], settings: Settings, evaluate_engine: Any) -> Any:
    from marketing_gen.copywriter import fluency_scorer
    from marketing_gen.llm.engine import Engine
    from marketing_gen.versions.registry import get_version

    info = get_version(version, url=settings.database_url)
    engine = Engine.from_path(info.path, settings=settings, version=info.name)
    return evaluate_engine(engine, contexts, settings=settings, fluency=fluency_scorer(settings))


__all__ = ["DEMO_PARAMS", "build_training_rows", "ensure_finetuned_model", "store_context_split", "training_contexts"]
