"""`train bootstrap|sft|preference|quick`, `eval copy`, `model promote`: fine-tuning, evaluation and the gate."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import click

from marketing_gen.cli.groups import echo_json, eval_, input_file, model, train

ROWS = 360
"""Rows `train bootstrap` / `train sft` build by default: the demo's recipe (``training.pipeline.DEMO_ROWS``, kept
equal by a test; imported lazily because the training modules load torch)."""


def _settings():  # -> Settings
    from marketing_gen.config import get_settings

    return get_settings()


def _channels(value: str) -> tuple[str, ...]:
    from marketing_gen.channels.base import get_channel

    names = tuple(c.strip() for c in value.split(",") if c.strip())
    for name in names:
        get_channel(name)  # InvalidRequest lists the valid names
    return names


def _active_name(settings) -> str:  # type: ignore[no-untyped-def]
    from marketing_gen.errors import NotFound
    from marketing_gen.versions.registry import active_version

    active = active_version(url=settings.database_url)
    if active is None:
        raise NotFound("no model version: run `marketing-gen model import-base`")
    return active.name


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Real corpora dir (default: ../shared/data beside the checkout).",
)


slots_option = click.option(
    "--slots/--no-slots",
    default=True,
    show_default=True,
    help="Write names, titles, prices and the offer code as slots ({NAME}, {ITEM1} …) that code fills after "
    "generation, so the model cannot misspell or invent them (docs/quality.md).",
)


@contextmanager
def _stdout_to_stderr(active: bool) -> Iterator[None]:
    """While ``active``: everything printed to stdout (trainer logs) goes to stderr instead."""
    if not active:
        yield
        return
    with redirect_stdout(sys.stderr):
        yield


@train.command(name="bootstrap")
@click.option("--rows", type=int, default=ROWS, show_default=True, help="Rows to build (copy + replies).")
@click.option(
    "--channels",
    default="email,google_ads_rsa,meta_ad,sms,push",
    show_default=True,
    help="Copy channels, comma-separated.",
)
@click.option(
    "--best-of",
    type=int,
    default=0,
    show_default=True,
    help="Sample N candidates per context with the active model and keep the best one passing every "
    "hard check (0: teacher copy only).",
)
@click.option(
    "--replies",
    "reply_share",
    type=float,
    default=0.1,
    show_default=True,
    help="Share of social_reply rows from the Twitter / Bitext support pairs.",
)
@data_dir_option
@slots_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bootstrap_cmd(
    rows: int, channels: str, best_of: int, reply_share: float, data_dir: Path | None, slots: bool, as_json: bool
) -> None:
    """Build an SFT dataset (jsonl under MODELS_DIR/datasets) from drafts, bootstrap samples, teacher copy, replies."""
    from marketing_gen.training import datasets as D
    from marketing_gen.training.pipeline import build_training_rows

    settings = _settings()
    engine = None
    if best_of:
        from marketing_gen.versions.active import load_active_engine

        engine = load_active_engine(settings)
    data = build_training_rows(
        settings,
        rows=rows,
        channels=_channels(channels),
        reply_share=reply_share,
        engine=engine,
        best_of=best_of,
        data_dir=data_dir,
        slots=slots,
    )
    path = D.save_rows(
        data.rows,
        Path(settings.models_dir) / "datasets",
        meta={"sources": data.sources, "report": data.report.as_dict()},
    )
    out = {
        "path": str(path),
        "rows": len(data.rows),
        "hash": D.dataset_hash(data.rows),
        "sources": data.sources,
        **data.report.as_dict(),
    }
    if as_json:
        echo_json(out)
        return
    click.echo(f"{len(data.rows)} rows → {path}")
    click.echo(f"sources: {data.sources}")
    dropped = sorted(data.report.dropped.items(), key=lambda kv: -kv[1])[:8]
    if dropped:
        click.echo("dropped (failed hard checks / duplicates): " + ", ".join(f"{k} {v}" for k, v in dropped))


@train.command(name="sft")
@click.option("--base", help="Model version to start from (default: the active one).")
@click.option(
    "--dataset",
    type=click.Path(dir_okay=False, exists=True, allow_dash=True, path_type=Path),
    help="A jsonl from `train bootstrap`, or - for standard input (default: build one now).",
)
@click.option("--rows", type=int, default=ROWS, show_default=True, help="Rows to build when --dataset is not given.")
@click.option("--lora", is_flag=True, help="Train LoRA adapters (merged into a plain model dir afterwards).")
@click.option("--max-steps", type=int, default=80, show_default=True, help="Optimizer steps.")
@click.option("--batch-size", type=int, default=8, show_default=True, help="Rows per step.")
@click.option("--lr", "learning_rate", type=float, help="Peak learning rate (default: 1e-3 full, 5e-4 LoRA).")
@click.option("--train-layers", type=int, help="Full fine-tune of only the top N decoder layers (faster on CPU).")
@click.option("--max-length", type=int, default=1024, show_default=True, help="Longest row in tokens.")
@click.option("--name", help="Version name (default: <base>-sft-<timestamp>).")
@click.option("--activate", is_flag=True, help="Make it active right away, skipping the gate (prefer `model promote`).")
@click.option("--no-resume", is_flag=True, help="Start over even if a checkpoint of --name exists.")
@data_dir_option
@slots_option
@click.option("--json", "as_json", is_flag=True, help="Print the registered version as JSON.")
def sft_cmd(
    base: str | None,
    dataset: Path | None,
    rows: int,
    lora: bool,
    max_steps: int,
    batch_size: int,
    learning_rate: float | None,
    train_layers: int | None,
    max_length: int,
    name: str | None,
    activate: bool,
    no_resume: bool,
    data_dir: Path | None,
    slots: bool,
    as_json: bool,
) -> None:
    """Supervised fine-tuning with TRL on conversational prompt-completion rows; registers the new version."""
    from dataclasses import asdict

    from marketing_gen.training import datasets as D
    from marketing_gen.training.pipeline import build_training_rows, describe_store
    from marketing_gen.training.sft import SFTParams, train_sft

    settings = _settings()
    base = base or _active_name(settings)
    if dataset is not None:
        with input_file(dataset) as path:
            train_rows = D.load_rows(path)
    else:
        train_rows = build_training_rows(settings, rows=rows, data_dir=data_dir, slots=slots).rows
    params = SFTParams(
        max_steps=max_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        lora=lora,
        train_layers=train_layers,
        max_length=max_length,
    )
    info = train_sft(
        base,
        D.expand_weights(train_rows),
        settings=settings,
        params=params,
        output_name=name,
        dataset_hash=D.dataset_hash(train_rows),
        resume=not no_resume,
        activate=activate,
        trained_on={"store": describe_store(settings.database_url), "dataset": str(dataset) if dataset else None},
    )
    if as_json:
        echo_json(asdict(info))
        return
    t = info.metrics["train"]
    click.echo(f"registered {info.name} (base {info.base}) at {info.path}")
    click.echo(f"steps {t['steps']}, loss {t['first_loss']:.3f} → {t['last_loss']:.3f}, {t['runtime_s']:.0f} s")
    click.echo(f"next: marketing-gen eval copy --model {info.name} --baseline {base}")


@train.command(name="preference")
@click.option(
    "--method",
    type=click.Choice(["dpo", "kto"]),
    default="dpo",
    show_default=True,
    help="DPO on pairs, KTO on unpaired binary rows.",
)
@click.option("--base", help="Model version to start from (default: the active one).")
@click.option(
    "--source",
    type=click.Choice(["feedback", "guardrails"]),
    default="feedback",
    show_default=True,
    help="feedback: clicked vs not (campaign outcomes); guardrails (DPO only): the model's copy that "
    "fails a hard check vs passing copy for the same prompt.",
)
@click.option("--contexts", type=int, default=32, show_default=True, help="Training contexts for --source guardrails.")
@click.option("--max-steps", type=int, default=40, show_default=True, help="Optimizer steps.")
@click.option("--lr", "learning_rate", type=float, default=5e-6, show_default=True, help="Learning rate.")
@click.option("--beta", type=float, default=0.1, show_default=True, help="Strength of the pull to the base model.")
@click.option("--name", help="Version name (default: <base>-<method>-<timestamp>).")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the registered version as one JSON object.")
def preference_cmd(
    method: str,
    base: str | None,
    source: str,
    contexts: int,
    max_steps: int,
    learning_rate: float,
    beta: float,
    name: str | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Preference tuning with TRL's DPOTrainer / KTOTrainer; registers the new version (not active)."""
    from marketing_gen.errors import InvalidRequest
    from marketing_gen.training import datasets as D
    from marketing_gen.training.preference import guardrail_pairs, train_preference

    settings = _settings()
    base = base or _active_name(settings)
    weights = (1.0, 1.0)
    if source == "guardrails":
        if method != "dpo":
            raise InvalidRequest("--source guardrails builds DPO pairs; use --method dpo")
        from marketing_gen.llm.engine import Engine
        from marketing_gen.training.pipeline import training_contexts
        from marketing_gen.versions.registry import get_version

        info = get_version(base, url=settings.database_url)
        engine = Engine.from_path(info.path, settings=settings, version=info.name)
        rows = guardrail_pairs(engine, training_contexts(settings, data_dir=data_dir).train[:contexts])
    else:
        from marketing_gen.feedback.preferences import build_preference_rows

        data = build_preference_rows(url=settings.database_url)
        rows = data.dpo if method == "dpo" else data.kto
        weights = data.kto_weights
    click.echo(f"{len(rows)} {method.upper()} rows from {source}", err=as_json)
    trl_rows = [{k: v for k, v in r.items() if k != "meta"} for r in rows]
    with _stdout_to_stderr(as_json):  # the trainer's log lines must not mix with the one JSON object
        result = train_preference(
            base,
            trl_rows,
            method=method,
            settings=settings,
            max_steps=max_steps,
            learning_rate=learning_rate,
            beta=beta,
            output_name=name,
            dataset_hash=D.dataset_hash(trl_rows),
            desirable_weight=weights[0],
            undesirable_weight=weights[1],
        )
    if as_json:
        from dataclasses import asdict

        echo_json({**asdict(result), "method": method, "source": source, "rows": len(rows)})
        return
    click.echo(f"registered {result.name} ({method}) at {result.path}")
    click.echo(f"next: marketing-gen eval copy --model {result.name} --baseline {base}")


@train.command(name="quick")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help='Print {"active_model": NAME}; progress goes to stderr.')
def quick_cmd(data_dir: Path | None, as_json: bool) -> None:
    """Fine-tune the active base model for a few minutes unless a fine-tuned model is active (what the demo runs)."""
    from marketing_gen.training.pipeline import ensure_finetuned_model

    def say(line: str) -> None:
        click.echo(line, err=as_json)

    with _stdout_to_stderr(as_json):  # the trainer's log lines must not mix with the one JSON object
        name = ensure_finetuned_model(_settings(), echo=say, data_dir=data_dir)
    if as_json:
        echo_json({"active_model": name})
    else:
        click.echo(f"active model: {name}")


@eval_.command(name="copy")
@click.option("--model", "model_name", required=True, help="Model version to evaluate.")
@click.option("--baseline", help="Another version to evaluate on the same held-out contexts, side by side.")
@click.option(
    "--channels", default="email,google_ads_rsa,meta_ad,sms,push", show_default=True, help="Channels, comma-separated."
)
@click.option("--n", type=int, default=50, show_default=True, help="Held-out contexts per channel.")
@click.option("--no-store", is_flag=True, help="Do not store the metrics on the versions (the gate reads them).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), help="Write a bar chart here.")
@click.option(
    "--gallery",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write an HTML page here: the first 10 held-out users × every channel, each piece as the model wrote it on "
    "the first try with its findings, beside the --baseline (default: the version it was fine-tuned from).",
)
@data_dir_option
def eval_copy_cmd(
    model_name: str,
    baseline: str | None,
    channels: str,
    n: int,
    no_store: bool,
    as_json: bool,
    png: Path | None,
    gallery: Path | None,
    data_dir: Path | None,
) -> None:
    """First-try pass rate of all hard checks, grounding errors, distinct-2 and length fit on held-out contexts."""
    from dataclasses import asdict

    from marketing_gen.training.evaluate import comparison_table, evaluate_version, render_png
    from marketing_gen.training.gallery import GALLERY_USERS, write_gallery
    from marketing_gen.versions.registry import get_version

    settings = _settings()
    chans = _channels(channels)
    if gallery is not None and baseline is None:
        baseline = get_version(model_name, url=settings.database_url).base
    names = [baseline, model_name] if baseline else [model_name]
    examples = max(3, GALLERY_USERS) if gallery is not None else 3
    evals = [
        evaluate_version(
            m,
            settings=settings,
            channels=chans,
            n=n,
            store=not no_store,
            data_dir=data_dir,
            examples=examples,
            progress=lambda line: click.echo(line, err=True),  # minutes per model on a CPU: say where it is
        )
        for m in names
    ]
    if png is not None:
        render_png(evals, png)
    if gallery is not None:
        write_gallery(evals, gallery, settings=settings)
    if as_json:
        echo_json(
            {"models": [asdict(e) for e in evals], "png": str(png) if png else None, "gallery": str(gallery or "")}
        )
        return
    click.echo(comparison_table(evals))
    if png is not None:
        click.echo(f"chart: {png}")
    if gallery is not None:
        click.echo(f"gallery: {gallery}")


@model.command(name="promote")
@click.argument("version")
@click.option("--force", is_flag=True, help="Promote even if it is worse than the active model on a hard metric.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
def promote_cmd(version: str, force: bool, as_json: bool) -> None:
    """Make VERSION active unless it is worse than the active model on a hard metric (stored by `eval copy`)."""
    from marketing_gen.training.gate import promote

    decision = promote(version, force=force, url=_settings().database_url)
    if as_json:
        echo_json(decision.to_dict())
    elif decision.promoted:
        extra = " (forced past: " + "; ".join(decision.reasons) + ")" if decision.forced else ""
        click.echo(f"promoted {version} (was {decision.previous}){extra}; workers load it at their next batch")
    if not decision.promoted:
        raise click.ClickException(
            f"refused to promote {version}: " + "; ".join(decision.reasons) + " (use --force to override)"
        )


@eval_.command(name="channels")
@click.option("--model", "model_name", help="Model version (default: the active one).")
@click.option(
    "--channels",
    default="email,google_ads_rsa,meta_ad,sms,push,social_reply",
    show_default=True,
    help="Channels, comma-separated.",
)
@click.option(
    "--users",
    type=click.IntRange(1, 100_000),
    default=200,
    show_default=True,
    help="The store's first N users with recommendations.",
)
@click.option(
    "--max-regenerations",
    type=click.IntRange(0, 10),
    default=2,
    show_default=True,
    help="Regenerations of failing copy before the deterministic fallback.",
)
@click.option(
    "--fluency/--no-fluency",
    default=True,
    show_default=True,
    help="Score fluency with the reference model (settings.fluency_model) as part of the quality gate.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@data_dir_option
def eval_channels_cmd(
    model_name: str | None,
    channels: str,
    users: int,
    max_regenerations: int,
    fluency: bool,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Per channel on real store users: first-try pass rate of the hard checks and sendable rate (hard checks +
    quality gate) with every check family, fallback rate, final pass rate (delivered copy re-checked; must be
    100%) and sendable share of delivered copy. Needs `import …` and `recommend` first."""
    from dataclasses import asdict

    from marketing_gen import channel_eval
    from marketing_gen.copywriter import fluency_scorer
    from marketing_gen.llm.engine import Engine
    from marketing_gen.versions.registry import get_version

    settings = _settings()
    chans = _channels(channels)
    info = get_version(model_name or _active_name(settings), url=settings.database_url)
    engine = Engine.from_path(info.path, settings=settings, version=info.name)
    scorer = fluency_scorer(settings) if fluency else None
    reports = channel_eval.run(
        engine,
        settings,
        chans,
        users=users,
        max_regenerations=max_regenerations,
        data_dir=data_dir,
        echo=lambda line: click.echo(line, err=True),
        fluency=scorer,
    )
    if as_json:
        echo_json(
            {
                "model": info.name,
                "max_regenerations": max_regenerations,
                "fluency": scorer is not None,
                "channels": [asdict(r) for r in reports],
            }
        )
        return
    click.echo(
        channel_eval.table(reports, model=info.name, max_regenerations=max_regenerations, fluency=scorer is not None)
    )
