"""``marketing-gen replies suggest|batch``, ``marketing-gen serve``, ``eval replies``, ``bench replies``."""

from __future__ import annotations

import click

from marketing_gen.cli.groups import bench, echo_json, eval_, input_file, json_option, main, replies

EVAL_M = 4
"""``eval replies``' candidates per message: the reply API's (``api.replies.API_CANDIDATES``; a test holds them
equal). It was 8, twice the API's, so the served rows measured more candidates than the API ranks."""


@replies.command("suggest")
@click.option("--text", required=True, help="The comment or DM to answer.")
@click.option("--item", "item_ref", default=None, help="Item in question: database id, external id or product URL.")
@click.option("--user", "user_ref", default=None, help="User who wrote it: database id or external id (orders).")
@click.option("--k", type=click.IntRange(1, 5), default=3, show_default=True, help="Suggestions wanted.")
@click.option("--m", type=click.IntRange(1, 32), default=8, show_default=True, help="Candidates generated.")
@click.option("--seed", type=int, default=0, show_default=True, help="Sampling seed (same seed → same output).")
@click.option("--json", "as_json", is_flag=True, help="Print {escalate, reason, category, suggestions}.")
def suggest_cmd(
    text: str, item_ref: str | None, user_ref: str | None, k: int, m: int, seed: int, as_json: bool
) -> None:
    """Triage a comment and suggest k short replies that differ in intent (or escalate)."""
    from marketing_gen.config import get_settings
    from marketing_gen.replies.context import load_brand_facts, load_reply_plan
    from marketing_gen.replies.suggest import AI_NOTICE, LABELS, answer_plan, finish_replies

    settings = get_settings()
    url = settings.database_url
    brand = load_brand_facts(url)
    plan = load_reply_plan(
        text, brand=brand, url=url, item_ref=item_ref, user_ref=user_ref, k=k, m=max(m, k), seed=seed
    )
    if plan.params is None:  # escalate / spam: no model needed
        result = finish_replies(plan, [])
    else:
        from marketing_gen.replies.retrieval import default_index
        from marketing_gen.versions.active import load_active_engine

        engine = load_active_engine(settings, int8_decode=settings.reply_int8_decode)
        result = answer_plan(plan, engine, retriever=default_index())
    if as_json:
        echo_json(result.to_dict())
        return
    flagged = "  (prompt injection flagged)" if result.flagged_injection else ""
    click.echo(f"category: {result.category}{flagged}")
    if result.escalate:
        click.echo(f"ESCALATE: {result.reason}")
    elif not result.suggestions:
        click.echo(f"no suggestions: {result.reason}")
    for i, s in enumerate(result.suggestions, start=1):
        click.echo(f"{i}. [{LABELS[s.source]}] ({s.intent}) {s.text}")
    if any(s.source == "model" for s in result.suggestions):
        click.echo(AI_NOTICE)


@replies.command("batch")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--chunk",
    type=click.IntRange(1, 1024),
    default=32,
    show_default=True,
    help="Requests per Celery task (one batched generate each).",
)
@click.option("--inline", is_flag=True, help="Answer in this process instead of enqueuing (no worker needed).")
@json_option
def batch_cmd(path: str, chunk: int, inline: bool, as_json: bool) -> None:
    """Insert a CSV/JSONL file of comments (column `text`; `-` reads standard input) as reply requests and enqueue
    them on `replies`."""
    from marketing_gen.config import get_settings
    from marketing_gen.replies.batch import answer_reply_requests, chunked, insert_reply_requests, load_comments

    settings = get_settings()
    with input_file(path) as readable:
        comments = load_comments(readable)
    ids = insert_reply_requests(comments, url=settings.database_url)
    chunks = chunked(ids, chunk)
    if inline:
        from marketing_gen.versions.active import load_active_engine

        engine = load_active_engine(settings)
        done = sum(len(answer_reply_requests(c, engine, url=settings.database_url)) for c in chunks)
        if as_json:
            echo_json({"requests": len(ids), "answered": done, "tasks": 0})
        else:
            click.echo(f"{len(ids)} reply requests, {done} answered now (see table reply_requests)")
        return
    from workers.reply_tasks import suggest_replies_batch

    for c in chunks:
        suggest_replies_batch.delay(c)
    if as_json:
        echo_json({"requests": len(ids), "answered": 0, "tasks": len(chunks), "queue": "replies"})
        return
    click.echo(
        f"{len(ids)} reply requests in {len(chunks)} tasks on the `replies` queue "
        f"(run `marketing-gen worker -Q replies`; results in table reply_requests)"
    )


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=8000, show_default=True, help="TCP port.")
def serve_cmd(host: str, port: int) -> None:
    """Run the HTTP API (FastAPI + uvicorn); OpenAPI docs at /docs.

    Refuses to start without a signing key of 32+ bytes (MARKETING_GEN_SECRET_KEY or _KEYS): tracking and
    unsubscribe links are verified with it.
    """
    import uvicorn

    from marketing_gen.api import create_app
    from marketing_gen.config import get_settings, secret_problems
    from marketing_gen.errors import ConfigError

    problems = secret_problems(get_settings())
    if problems:
        raise ConfigError("serve will not start: " + "; ".join(problems))
    uvicorn.run(create_app(), host=host, port=port)


@eval_.command("replies")
@click.option(
    "--holdout",
    type=click.IntRange(300, 2000),
    default=300,
    show_default=True,
    help="Held-out customer → brand pairs (fixed seeded split).",
)
@click.option(
    "--qa",
    "qa_count",
    type=click.IntRange(0, 2000),
    default=100,
    show_default=True,
    help="Amazon QA questions to evaluate.",
)
@click.option("--k", type=click.IntRange(1, 5), default=3, show_default=True, help="Suggestions per message.")
@click.option(
    "--m",
    type=click.IntRange(1, 32),
    default=EVAL_M,
    show_default=True,
    help="Candidates per message (default: the reply API's, so the served rows are what the API serves).",
)
@click.option(
    "--similarity",
    type=click.Choice(["auto", "embedding", "lexical"]),
    default="auto",
    show_default=True,
    help="Measure for best-of-k and diversity (auto: embedding when installed).",
)
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    help="Messages per batched generate call.",
)
@click.option(
    "--max-new-tokens",
    type=click.IntRange(8, 96),
    default=None,
    help="Token cap per candidate.  [default: 32, the API's cap]",
)
@click.option(
    "--int8-decode/--no-int8-decode",
    default=None,
    help="Decode steps of ≤ 8 rows with int8 weight copies, as the reply API does "
    "(default: setting reply_int8_decode). Only calls that small use them: pair with --batch 1 --m 4.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 2000),
    default=None,
    help="Run the model on only the first N messages of each held-out set (the split is unchanged).",
)
@click.option(
    "--retrieval/--no-retrieval",
    default=True,
    show_default=True,
    help="Build the nearest-thread index (held-out threads excluded) for the retrieval baseline and served rows.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def eval_cmd(
    holdout: int,
    qa_count: int,
    k: int,
    m: int,
    similarity: str,
    batch_size: int,
    max_new_tokens: int | None,
    int8_decode: bool | None,
    limit: int | None,
    retrieval: bool,
    as_json: bool,
) -> None:
    """Evaluate suggestions on held-out real Twitter support threads and Amazon QA questions."""
    from marketing_gen.config import get_settings
    from marketing_gen.replies.evaluate import evaluate_replies, format_table
    from marketing_gen.replies.suggest import DEFAULT_MAX_NEW_TOKENS

    settings = get_settings()
    from marketing_gen.versions.active import load_active_engine

    engine = load_active_engine(
        settings, int8_decode=settings.reply_int8_decode if int8_decode is None else int8_decode
    )
    report = evaluate_replies(
        engine,
        holdout=holdout,
        qa_count=qa_count,
        k=k,
        m=m,
        similarity=similarity,
        batch_size=batch_size,
        max_new_tokens=max_new_tokens or DEFAULT_MAX_NEW_TOKENS,
        progress=lambda msg: click.echo(msg, err=True),
        retrieval=retrieval,
        models_dir=settings.models_dir,
        limit=limit,
    )
    if as_json:
        echo_json(report)
    else:
        click.echo(format_table(report))


@bench.command("replies")
@click.option(
    "--requests",
    "n_requests",
    type=click.IntRange(1, 10_000),
    default=40,
    show_default=True,
    help="Requests per phase.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Concurrent HTTP clients in the throughput phase.",
)
@click.option("--k", type=click.IntRange(1, 5), default=3, show_default=True, help="Suggestions per request.")
@click.option("--m", type=click.IntRange(1, 32), default=4, show_default=True, help="Candidates per request.")
@click.option("--max-wait-ms", type=float, default=5.0, show_default=True, help="Micro-batcher collection window.")
@click.option(
    "--busy-wait-ms",
    type=float,
    default=50.0,
    show_default=True,
    help="Collection window after a batch with several callers.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def bench_cmd(
    n_requests: int, concurrency: int, k: int, m: int, max_wait_ms: float, busy_wait_ms: float, as_json: bool
) -> None:
    """Latency (serial) and throughput (concurrent clients) of POST /v1/replies/suggest on a real HTTP server."""
    from marketing_gen.devtools.reply_bench import format_bench, run_bench

    figures = run_bench(
        n_requests=n_requests,
        concurrency=concurrency,
        k=k,
        m=m,
        max_wait_ms=max_wait_ms,
        busy_wait_ms=busy_wait_ms,
        progress=lambda msg: click.echo(msg, err=True),
    )
    if as_json:
        echo_json(figures)
    else:
        click.echo(format_bench(figures))
