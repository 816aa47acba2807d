"""``marketing-gen worker``: a real Celery worker with the right queues and pool for the configured broker."""

from __future__ import annotations

import os

import click

from marketing_gen.cli.groups import main

QUEUE_NAMES = ("prepare", "generate", "render", "deliver", "replies")


def choose_pool(queues: list[str], sqlite_broker: bool, pool: str) -> str:
    """``solo`` for the model queue (never fork after CUDA; one model per process) and on the SQLite broker;
    ``prefork`` for CPU-only queues on Redis / RabbitMQ. An explicit ``--pool`` wins."""
    if pool != "auto":
        return pool
    if "generate" in queues or sqlite_broker:
        return "solo"
    return "prefork"


def require_worker_settings(queues: list[str]) -> None:
    """ConfigError unless the settings are safe for a worker on ``queues`` (``config.worker_problems``); Celery's
    worker-setup signal runs the same check for a worker started with ``celery -A workers.app worker``."""
    from marketing_gen.config import get_settings, worker_problems
    from marketing_gen.errors import ConfigError

    problems = worker_problems(get_settings(), queues)
    if problems:
        raise ConfigError("the worker will not start: " + "; ".join(problems))


@main.command()
@click.option(
    "-Q",
    "--queues",
    default=",".join(QUEUE_NAMES),
    show_default=True,
    help="Comma-separated queues to consume. GPU machines: `-Q generate`, one worker per GPU.",
)
@click.option(
    "-c",
    "--concurrency",
    type=int,
    default=None,
    help="Processes for the prefork pool (default: CPU count). Ignored by the solo pool.",
)
@click.option(
    "-P",
    "--pool",
    type=click.Choice(["auto", "solo", "prefork", "threads"]),
    default="auto",
    show_default=True,
    help="auto: solo for the generate queue or the SQLite broker, else prefork.",
)
@click.option("-n", "--hostname", default=None, help="Worker node name (default: mg-<queues>-<pid>@%h).")
@click.option("-l", "--loglevel", default="INFO", show_default=True, help="Celery log level.")
def worker(queues: str, concurrency: int | None, pool: str, hostname: str | None, loglevel: str) -> None:
    """Start a Celery worker consuming the campaign (and reply) queues.

    Scale-out: `marketing-gen worker -Q generate` per GPU (with CUDA_VISIBLE_DEVICES=i) and
    `marketing-gen worker -Q prepare,render,deliver -c 8` on CPU machines, all on the same Redis/RabbitMQ.
    """
    from marketing_gen.errors import InvalidRequest
    from workers.app import app, is_sqlite_broker, queue_name

    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in wanted if q not in QUEUE_NAMES]
    if not wanted or unknown:
        raise InvalidRequest(f"--queues: unknown {unknown or queues!r}; choose from {', '.join(QUEUE_NAMES)}")
    require_worker_settings(wanted)
    sqlite = is_sqlite_broker()
    chosen = choose_pool(wanted, sqlite, pool)
    argv = [
        "worker",
        "-Q",
        ",".join(queue_name(q) for q in wanted),
        "-P",
        chosen,
        "--loglevel",
        loglevel,
        "-n",
        hostname or f"mg-{'-'.join(wanted)}-{os.getpid()}@%h",
    ]
    if chosen != "solo" and concurrency:
        argv += ["-c", str(concurrency)]
    if sqlite:
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]  # no fanout on the SQL transport
    app.worker_main(argv)
