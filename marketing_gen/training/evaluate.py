"""Offline copy evaluation on held-out contexts: what ``marketing-gen eval copy`` measures and stores.

Runs the production path (``copywriter.write_copies`` with no regeneration) on held-out contexts — users and
items never seen in training (``training.catalog_contexts``) — and measures per channel:
- ``pass_rate``: share of first tries that pass every hard check (the promotion gate's main metric);
- ``sendable_rate``: share of first tries that pass the hard checks and the quality gate (fidelity, content,
  language and — with a reference model — fluency): copy a marketer would send;
- ``grounding_error_rate``: share of first tries with a hard ``grounding.*`` finding (prices, discounts,
  offer claims, codes, products the user was not recommended);
- ``parse_fail_rate``: share of first tries missing a required field;
- ``distinct_2``: distinct word bigrams over all first-try texts (low = the same copy for everyone);
- ``length_fit``: share of texts in the field's comfortable length range; ``quality``: mean quality score.
Results are stored on the model version (``metrics["eval"]``) for the promotion gate.
Owns measuring and reporting. Does not train nor promote.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from marketing_gen.channels.base import get_channel
from marketing_gen.config import Settings, get_settings
from marketing_gen.contexts import UserContext
from marketing_gen.errors import InvalidRequest
from marketing_gen.guardrails.fluency import Scorer
from marketing_gen.llm.protocol import GenerationEngine
from marketing_gen.training.quality import distinct_n, field_texts, length_fit, quality_score

DEFAULT_CHANNELS = ("email", "google_ads_rsa", "meta_ad", "sms", "push")
"""The campaign channels the store's model learns and is evaluated on (``social_reply`` rows come from real support
pairs, so one model learns all six outputs)."""
GATED_METRICS: dict[str, str] = {"sendable_rate": "higher"}
"""What the promotion gate compares, and which direction is better: the share of first tries that could be sent
(every hard check — parse, grounding, compliance, lengths — and the quality gate). Pass rate alone is not: the
base model's SMS passed the hard checks 83 % of the time and was sendable 42 %, a fine-tune 58 % and 58 %."""
HARD_METRICS: dict[str, str] = {"pass_rate": "higher", "grounding_error_rate": "lower", "parse_fail_rate": "lower"}
"""What the gate compares for versions evaluated before ``sendable_rate`` existed."""


@dataclass
class ChannelEval:
    """One model on one channel."""

    channel: str
    n: int
    pass_rate: float
    sendable_rate: float
    """First tries that pass the hard checks and the quality gate."""
    grounding_error_rate: float
    parse_fail_rate: float
    distinct_2: float
    length_fit: float
    quality: float
    seconds: float
    top_violations: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ModelEval:
    """One model on the held-out set."""

    model: str
    eval_set: str
    """Hash of the held-out contexts used (metrics compare only on the same set)."""
    n: int
    channels: dict[str, ChannelEval]

    def metrics(self) -> dict[str, Any]:
        """The JSON stored on the model version (``metrics["eval"]``); examples left out."""
        return {
            "eval_set": self.eval_set,
            "n": self.n,
            "channels": {
                c: {k: v for k, v in asdict(e).items() if k not in ("examples", "channel")}
                for c, e in self.channels.items()
            },
        }


def held_out_contexts(
    n: int, *, data_dir: Path | None = None, settings: Settings | None = None, seed: int = 0
) -> list[UserContext]:
    """The first ``n`` held-out contexts: the real corpora's when present, else the store's own (deterministic)."""
    from marketing_gen.training.catalog_contexts import build_context_split, default_data_dir

    data_dir = data_dir or default_data_dir()
    if data_dir.is_dir():
        contexts = build_context_split(data_dir, seed=seed).held_out
    elif settings is not None:
        from marketing_gen.training.pipeline import store_context_split

        contexts = store_context_split(settings.database_url, seed=seed).held_out
    else:
        raise InvalidRequest(f"no corpora in {data_dir}: pass --data-dir")
    if not contexts:
        raise InvalidRequest("no held-out contexts: import a store and run `marketing-gen recommend`, or add corpora")
    if n > len(contexts):
        raise InvalidRequest(f"n={n}: only {len(contexts)} held-out contexts exist; pass --n {len(contexts)} or less")
    return contexts[:n]


def eval_set_id(contexts: Sequence[UserContext]) -> str:
    """A short stable id of a list of contexts."""
    digest = hashlib.sha256("\n".join(repr(c) for c in contexts).encode()).hexdigest()
    return digest[:16]


def evaluate_engine(
    engine: GenerationEngine,
    contexts: Sequence[UserContext],
    channels: Sequence[str] = DEFAULT_CHANNELS,
    *,
    settings: Settings | None = None,
    examples: int = 3,
    fluency: Scorer | None = None,
    progress: Callable[[str], None] | None = None,
) -> ModelEval:
    """First-try metrics of ``engine`` per channel, through the copywriter's production path (``fluency``: the
    quality gate's reference model, None to leave the fluency rule out; ``progress``: told each channel's result
    as it is done)."""
    from marketing_gen.copywriter import read_completion, write_copies
    from marketing_gen.guardrails import passes

    per_channel: dict[str, ChannelEval] = {}
    for channel in channels:
        spec = get_channel(channel)
        started = time.perf_counter()
        results = write_copies(contexts, spec, engine, max_regenerations=0, settings=settings, fluency=fluency)
        seconds = time.perf_counter() - started
        scored = [(c, r) for c, r in zip(contexts, results, strict=True) if not r.skipped or r.attempts]
        n = len(scored)
        if n == 0:
            raise InvalidRequest(f"no held-out context can be written for {channel}")
        n_pass = n_sendable = grounding = parse_fail = 0
        fits: list[float] = []
        quality: list[float] = []
        raw: list[str] = []
        codes: Counter[str] = Counter()
        shown: list[dict[str, Any]] = []
        for context, result in scored:
            first = result.violations[0] if result.violations else []
            hard_first = result.first_try_hard
            tried = result.attempts >= 1
            ok = tried and passes(hard_first)
            n_pass += ok
            n_sendable += result.first_try_sendable
            grounding += any(v["code"].startswith("grounding.") for v in hard_first)
            parse_fail += any(v["code"].startswith("missing.") for v in hard_first)
            codes.update(v["code"] for v in hard_first)
            text = result.raw_texts[0] if result.raw_texts else ""
            raw.append(text)
            # what was checked and would be served; a failing first try re-read for display (a field the token
            # limit cut off shows here, it was dropped before the checks)
            fields = (
                dict(result.fields)
                if ok and not result.fallback
                else read_completion(
                    text,
                    spec,
                    context,
                    slots=engine.uses_slots(channel),
                    fit_lengths=(settings or get_settings()).fit_lengths,
                    fixed_cta=(settings or get_settings()).fixed_cta,
                    drop_run_on=(settings or get_settings()).drop_run_on,
                    fixed_paths=(settings or get_settings()).fixed_paths,
                )[0]
            )
            fits.append(length_fit(fields, spec))
            if ok:
                quality.append(quality_score(fields, context, spec))
            if len(shown) < examples:
                shown.append(
                    {
                        "user": context.external_id,
                        "passed": ok,
                        "sendable": result.first_try_sendable,
                        "fields": fields,
                        "violations": [v["code"] for v in hard_first],
                        "findings": [f"{v['code']} ({v.get('field') or '-'}): {v.get('message', '')}" for v in first],
                        "fallback_fields": result.fields if result.fallback else None,
                    }
                )
        texts = [t for r in raw for t in field_texts({"t": r})]
        per_channel[channel] = ChannelEval(
            channel=channel,
            n=n,
            pass_rate=round(n_pass / n, 4),
            sendable_rate=round(n_sendable / n, 4),
            grounding_error_rate=round(grounding / n, 4),
            parse_fail_rate=round(parse_fail / n, 4),
            distinct_2=round(distinct_n(texts, 2), 4),
            length_fit=round(sum(fits) / n, 4),
            quality=round(sum(quality) / len(quality), 4) if quality else 0.0,
            seconds=round(seconds, 1),
            top_violations=dict(codes.most_common(6)),
            examples=shown,
        )
        if progress is not None:
            done = per_channel[channel]
            progress(
                f"{engine.version} {channel}: n {n}, pass {done.pass_rate:.0%}, sendable {done.sendable_rate:.0%} "
                f"({seconds:.0f} s; {len(per_channel)}/{len(channels)} channels)"
            )
    return ModelEval(model=engine.version, eval_set=eval_set_id(contexts), n=len(contexts), channels=per_channel)


def evaluate_version(
    name: str,
    *,
    settings: Settings,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    n: int = 50,
    store: bool = True,
    data_dir: Path | None = None,
    fluency: bool = True,
    examples: int = 3,
    progress: Callable[[str], None] | None = None,
) -> ModelEval:
    """Load a registered version, evaluate it on ``n`` held-out contexts, store the metrics on it (``fluency``:
    score fluency with ``settings.fluency_model`` as part of the quality gate; ``progress``: see
    ``evaluate_engine``)."""
    from marketing_gen.copywriter import fluency_scorer
    from marketing_gen.llm.engine import Engine
    from marketing_gen.versions.registry import get_version

    version = get_version(name, url=settings.database_url)
    engine = Engine.from_path(version.path, settings=settings, version=version.name)
    contexts = held_out_contexts(n, data_dir=data_dir, settings=settings)
    scorer = fluency_scorer(settings) if fluency else None
    result = evaluate_engine(
        engine, contexts, channels, settings=settings, fluency=scorer, examples=examples, progress=progress
    )
    if store:
        store_eval(name, result, settings=settings)
    return result


def store_eval(name: str, result: ModelEval, *, settings: Settings) -> None:
    """Merge ``result`` into the version's ``metrics["eval"]`` (channels evaluated before on the same set stay)."""
    from marketing_gen.versions.registry import get_version, store_metrics

    metrics = dict(get_version(name, url=settings.database_url).metrics)
    new = result.metrics()
    old = metrics.get("eval") or {}
    if old.get("eval_set") == new["eval_set"]:
        new["channels"] = {**old.get("channels", {}), **new["channels"]}
    metrics["eval"] = new
    store_metrics(name, metrics, url=settings.database_url)


def comparison_table(evals: Sequence[ModelEval]) -> str:
    """Side-by-side text table: one row per channel × metric, one column per model."""
    metrics = (
        "pass_rate",
        "sendable_rate",
        "grounding_error_rate",
        "parse_fail_rate",
        "distinct_2",
        "length_fit",
        "quality",
        "seconds",
    )
    names = [e.model for e in evals]
    width = max(12, *(len(n) for n in names))
    lines = [f"{'channel':<15} {'metric':<21} " + " ".join(f"{n:>{width}}" for n in names)]
    channels = list(dict.fromkeys(c for e in evals for c in e.channels))
    for channel in channels:
        for metric in metrics:
            cells = []
            for e in evals:
                ce = e.channels.get(channel)
                value = getattr(ce, metric) if ce else None
                if value is None:
                    cells.append(f"{'-':>{width}}")
                elif metric.endswith("rate"):
                    cells.append(f"{value:>{width}.0%}")
                else:
                    cells.append(f"{value:>{width}.2f}" if metric != "seconds" else f"{value:>{width}.0f}")
            lines.append(f"{channel:<15} {metric:<21} " + " ".join(cells))
    lines.append(f"(n = {evals[0].n} held-out contexts per channel, first try, no regeneration)" if evals else "")
    return "\n".join(lines)


def render_png(evals: Sequence[ModelEval], path: Path) -> Path:
    """Grouped bar chart of pass rate, grounding error rate and distinct-2 per channel and model (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = (
        ("pass_rate", "first-try pass rate"),
        ("grounding_error_rate", "grounding error rate"),
        ("distinct_2", "distinct-2"),
    )
    channels = list(dict.fromkeys(c for e in evals for c in e.channels))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    width = 0.8 / max(1, len(evals))
    for ax, (metric, title) in zip(axes[0], metrics, strict=True):
        for k, e in enumerate(evals):
            values = [getattr(e.channels[c], metric) if c in e.channels else 0.0 for c in channels]
            xs = [i + k * width for i in range(len(channels))]
            bars = ax.bar(xs, values, width=width, label=e.model)
            ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7)
        ax.set_xticks([i + width * (len(evals) - 1) / 2 for i in range(len(channels))], channels, fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.set_title(title, fontsize=10)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"held-out copy evaluation (n = {evals[0].n if evals else 0} per channel)", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
