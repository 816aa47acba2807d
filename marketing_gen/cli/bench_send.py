"""``marketing-gen bench send`` (messages/s and peak RSS through real deliver workers to a local SMTP server) and
``marketing-gen bench review`` (review-page response times on a campaign of N drafts)."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click

from marketing_gen.cli.groups import bench, echo_json


def _bench_settings(work: Path, database_url: str | None, broker_url: str | None) -> Any:
    from marketing_gen.cli.demo_cmds import demo_settings
    from marketing_gen.db import get_engine, upgrade

    settings = demo_settings(work)
    update: dict[str, Any] = {}
    if database_url:
        update["database_url"] = database_url
    if broker_url:
        update.update(broker_url=broker_url, broker_namespace=f"bench-{work.name}-")
    settings = settings.model_copy(update=update)
    get_engine.cache_clear()
    upgrade(settings.database_url)
    return settings


@bench.command("send")
@click.option("--messages", type=int, default=10000, show_default=True, help="Queued email messages to send.")
@click.option("--adapter", type=click.Choice(["smtp", "file"]), default="smtp", show_default=True,
              help="smtp: to a local aiosmtpd server in this process; file: to a temporary directory.")  # fmt: skip
@click.option("--workers", "worker_counts", default="1,4", show_default=True,
              help="Comma-separated numbers of worker processes to measure, one round each.")  # fmt: skip
@click.option("--batch-size", type=int, default=200, show_default=True, help="Messages per send_batch task.")
@click.option("--database-url", default=None, help="Database to use (default: a fresh SQLite file).")
@click.option("--broker-url", default=None, help="Broker to use (default: a fresh SQLite broker).")
@click.option("--timeout", type=float, default=1800, show_default=True, help="Give up a round after seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_send(
    messages: int, adapter: str, worker_counts: str, batch_size: int, database_url: str | None,
    broker_url: str | None, timeout: float, as_json: bool,
) -> None:  # fmt: skip
    """Messages/s and peak worker RSS sending N queued emails through real `worker -Q deliver` processes."""
    from tqdm import tqdm

    from marketing_gen.cli.bench_campaign import _RssSampler
    from marketing_gen.cli.campaign_cmds import celery_app
    from marketing_gen.cli.demo_cmds import stop_worker, worker_env
    from marketing_gen.delivery.send import plan_send
    from marketing_gen.devtools.send_bench import count_sent, reset_outbox, seed_store, start_deliver_worker
    from marketing_gen.devtools.smtp_sink import SmtpSink

    counts = [int(c) for c in worker_counts.split(",") if c.strip()]
    say = (lambda m: None) if as_json else (lambda m: click.echo(m, err=True))
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mg-bench-send-") as tmp, SmtpSink(keep_messages=False) as sink:
        work = Path(tmp)
        settings = _bench_settings(work, database_url, broker_url)
        url = settings.database_url
        say(f"seeding {messages} queued emails …")
        cid = seed_store(settings, messages, status="queued", name=f"BenchSend{int(time.time())}")
        env = worker_env(settings)
        env.update(
            {
                "MARKETING_GEN_SMTP_HOST": sink.host,
                "MARKETING_GEN_SMTP_PORT": str(sink.port),
                "MARKETING_GEN_SMTP_SECURITY": "none",
                "MARKETING_GEN_OUTBOX_DIR": str(work / "outbox"),
                "MARKETING_GEN_SEND_BATCH_SIZE": str(batch_size),
            }
        )
        app = celery_app(settings)
        for n_workers in counts:
            reset_outbox(url, cid)
            received_before = sink.count
            say(f"{n_workers} worker(s): starting …")
            procs = [
                start_deliver_worker(env, work / f"w{n_workers}-{i}.log", f"bench{n_workers}-{i}")
                for i in range(n_workers)
            ]
            samplers = [_RssSampler(p.pid) for p in procs]
            for smp in samplers:
                smp.start()
            try:
                batches = plan_send(cid, adapter, settings=settings.model_copy(update={"send_batch_size": batch_size}))
                started = time.perf_counter()
                for ids in batches:
                    app.send_task("workers.tasks.send_batch", args=[ids, adapter])
                sent = 0
                with tqdm(total=messages, unit="msg", disable=as_json, desc=f"{n_workers} worker(s)") as bar:
                    while sent < messages:
                        if time.perf_counter() - started > timeout:
                            raise click.ClickException(
                                f"{n_workers} worker(s): only {sent}/{messages} sent in {timeout:.0f} s"
                            )
                        time.sleep(0.25)
                        now = count_sent(url, cid)
                        bar.update(now - sent)
                        sent = now
                wall = time.perf_counter() - started
            finally:
                peaks = [smp.stop() for smp in samplers]
                for p in procs:
                    stop_worker(p)
            received = sink.count - received_before if adapter == "smtp" else None
            rounds.append(
                {
                    "workers": n_workers,
                    "messages": messages,
                    "received_by_smtp_server": received,
                    "wall_s": round(wall, 2),
                    "messages_per_s": round(messages / wall, 1),
                    "peak_rss_per_worker_mib": round(max(peaks) / 2**20, 1),
                    "peak_rss_all_workers_mib": round(sum(peaks) / 2**20, 1),
                }
            )
    result = {
        "adapter": adapter,
        "database": settings.database_url.split(":", 1)[0],
        "broker": settings.effective_broker_url.split(":", 1)[0],
        "batch_size": batch_size,
        "rounds": rounds,
    }
    if as_json:
        echo_json(result)
        return
    click.echo(f"adapter {adapter}, database {result['database']}, broker {result['broker']}, batch {batch_size}")
    click.echo("| workers | messages | received | wall s | messages/s | peak RSS/worker MiB | peak RSS all MiB |")
    click.echo("|---|---|---|---|---|---|---|")
    for r in rounds:
        click.echo(
            f"| {r['workers']} | {r['messages']} | {r['received_by_smtp_server']} | {r['wall_s']} | "
            f"{r['messages_per_s']} | {r['peak_rss_per_worker_mib']} | {r['peak_rss_all_workers_mib']} |"
        )


@bench.command("review")
@click.option("--drafts", type=int, default=10000, show_default=True, help="Email drafts in review in the campaign.")
@click.option("--repeat", type=int, default=7, show_default=True, help="Requests per page (median and max).")
@click.option("--database-url", default=None, help="Database to use (default: a fresh SQLite file).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_review(drafts: int, repeat: int, database_url: str | None, as_json: bool) -> None:
    """Review-page response times (real HTTP server) for a campaign of N drafts: list, first/middle/last page."""
    import httpx
    import uvicorn

    from marketing_gen.api import create_app
    from marketing_gen.devtools.send_bench import seed_store, time_requests
    from marketing_gen.devtools.smtp_sink import free_port
    from marketing_gen.review.accounts import add_account

    say = (lambda m: None) if as_json else (lambda m: click.echo(m, err=True))
    with tempfile.TemporaryDirectory(prefix="mg-bench-review-") as tmp:
        settings = _bench_settings(Path(tmp), database_url, None)
        say(f"seeding {drafts} email drafts in review …")
        cid = seed_store(settings, drafts, status="in_review", name=f"BenchReview{int(time.time())}")
        add_account("bench", "bench-password-1", role="admin", url=settings.database_url)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=120) as client:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        client.get("/healthz")
                        break
                    except httpx.TransportError:
                        time.sleep(0.2)
                form = client.get("/review/login").text
                csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
                client.post("/review/login", data={"username": "bench", "password": "bench-password-1", "csrf": csrf})
                pages = -(-drafts // 20)
                timings = [
                    time_requests("campaign list", lambda: client.get("/review/"), repeat),
                    time_requests(
                        "campaign page 1", lambda: client.get(f"/review/campaigns/{cid}?channel=email"), repeat
                    ),
                    time_requests(
                        f"campaign page {pages // 2}",
                        lambda: client.get(f"/review/campaigns/{cid}?channel=email&page={pages // 2}"),
                        repeat,
                    ),
                    time_requests(
                        f"campaign page {pages} (last)",
                        lambda: client.get(f"/review/campaigns/{cid}?channel=email&page={pages}"),
                        repeat,
                    ),
                ]
                page_csrf = (
                    client.get(f"/review/campaigns/{cid}").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
                )
                started = time.perf_counter()
                resp = client.post(f"/review/campaigns/{cid}/approve", data={"csrf": page_csrf, "channel": "email"})
                approve_s = time.perf_counter() - started
                if resp.status_code >= 400:
                    raise click.ClickException(f"bulk approve: HTTP {resp.status_code}")
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    result = {
        "drafts": drafts,
        "database": settings.database_url.split(":", 1)[0],
        "per_page": 20,
        "requests": [t.__dict__ for t in timings],
        "bulk_approve_all_s": round(approve_s, 2),
    }
    if as_json:
        echo_json(result)
        return
    click.echo(f"review page, campaign of {drafts} email drafts, 20 per page, database {result['database']}")
    click.echo("| request | n | median ms | max ms | KiB |")
    click.echo("|---|---|---|---|---|")
    for t in timings:
        click.echo(f"| {t.what} | {t.n} | {t.median_ms} | {t.max_ms} | {t.bytes / 1024:.0f} |")
    click.echo(f"| bulk approve all {drafts} (→ outbox) | 1 | {approve_s * 1000:.0f} | | |")
