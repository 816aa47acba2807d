"""The Celery app, built from Settings: queues, routing, reliability and time limits.

Owns broker configuration only. Tasks live in ``workers/tasks.py`` (and ``reply_tasks`` /
``feedback_tasks``); what they do lives in the library (``marketing_gen.campaigns.pipeline`` …).

Reliability choices (docs/operations.md, "Celery rules for an LLM worker"): ``task_acks_late`` +
``task_reject_on_worker_lost`` so a message is only acknowledged after its batch is stored; prefetch 1 so a
long GPU batch never holds a second message hostage; results in SQL, never in the broker (``ignore_result``);
ids in, ids out (JSON). Every write is idempotent (draft keys, status compare-and-set, outbox unique on draft),
so a redelivered or re-enqueued message is a no-op.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from celery import Celery
from celery.signals import celeryd_init
from kombu import Queue as KombuQueue

from marketing_gen.config import Settings, get_settings, worker_problems
from marketing_gen.errors import TransientError

RETRY = {
    "autoretry_for": (TransientError,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
}
"""Retry options of every task that touches the database or the model: transient errors back off and retry."""


class Queue(str, Enum):
    """Work queues. ``generate`` is the GPU/model queue (``-P solo``); the others are CPU work."""

    PREPARE = "prepare"
    GENERATE = "generate"
    RENDER = "render"
    DELIVER = "deliver"
    REPLIES = "replies"


TASK_QUEUES: dict[str, Queue] = {
    "workers.tasks.plan_campaign": Queue.PREPARE,
    "workers.tasks.generate_batch": Queue.GENERATE,
    "workers.tasks.render_batch": Queue.RENDER,
    "workers.tasks.deliver_batch": Queue.DELIVER,
    "workers.tasks.send_batch": Queue.DELIVER,
    "workers.reply_tasks.*": Queue.REPLIES,
    "workers.feedback_tasks.*": Queue.PREPARE,
}

INCLUDE = ["workers.tasks", "workers.reply_tasks", "workers.feedback_tasks"]

RABBITMQ_CONSUMER_TIMEOUT_S = 30 * 60
"""RabbitMQ's default consumer_timeout: an unacked message held longer kills the channel."""

CPU_TASK_LIMIT_S = 300
"""Hard limit for planning / render / deliver batches (cheap SQL + templates)."""


def generate_time_limit(settings: Settings) -> int:
    """Hard time limit of a ``generate_batch`` task, sized to the batch.

    Budget ~6 s per draft (all attempts, slow CPU), at least 5 min, and below RabbitMQ's consumer timeout and
    the Redis visibility timeout so a live task is never redelivered under a worker that still runs it.
    """
    return int(min(max(300, 6 * settings.generate_batch_size), RABBITMQ_CONSUMER_TIMEOUT_S - 120))


def queue_name(queue: Queue | str, settings: Settings | None = None) -> str:
    """The broker-side name of a queue, with the settings' namespace prefix."""
    settings = settings or get_settings()
    name = queue.value if isinstance(queue, Queue) else queue
    return f"{settings.broker_namespace}{name}"


def is_sqlite_broker(settings: Settings | None = None) -> bool:
    """True for the embedded SQLite broker (kombu's SQLAlchemy transport)."""
    url = (settings or get_settings()).effective_broker_url
    return url.startswith(("sqla+", "sqlalchemy+"))


def build_config(settings: Settings) -> dict[str, Any]:
    """The Celery configuration mapping for ``settings`` (pure; the app and tests use it)."""
    hard = generate_time_limit(settings)
    broker = settings.effective_broker_url
    transport: dict[str, Any] = {}
    if broker.startswith(("redis://", "rediss://")):
        # Longer than any task's hard limit (×2) so a running task is never handed to a second worker.
        transport["visibility_timeout"] = max(3600, 2 * hard)
        if settings.broker_namespace:
            transport["global_keyprefix"] = settings.broker_namespace
    elif broker.startswith(("sqla+", "sqlalchemy+")):
        transport["connect_args"] = {"timeout": 30}  # passed to create_engine: wait on SQLite locks
    sqlite_broker = broker.startswith(("sqla+", "sqlalchemy+"))
    routes = {task: {"queue": queue_name(q, settings)} for task, q in TASK_QUEUES.items()}
    return {
        "broker_url": broker,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "task_queues": [KombuQueue(queue_name(q, settings)) for q in Queue],
        "task_default_queue": queue_name(Queue.PREPARE, settings),
        "task_routes": routes,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        "task_store_errors_even_if_ignored": False,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_proc_alive_timeout": 30.0,  # a slow worker_process_init must not get children killed in a loop
        "worker_max_memory_per_child": None,
        "task_time_limit": CPU_TASK_LIMIT_S,
        "task_soft_time_limit": CPU_TASK_LIMIT_S - 30,
        "task_annotations": {
            "workers.tasks.generate_batch": {"time_limit": hard, "soft_time_limit": hard - 60},
        },
        # Flower needs events; the SQLite transport has no fanout (remote control) and nobody to read events.
        "worker_send_task_events": not sqlite_broker,
        "task_send_sent_event": not sqlite_broker,
        "worker_enable_remote_control": not sqlite_broker,
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        "enable_utc": True,
    }


def create_app(settings: Settings | None = None) -> Celery:
    """A Celery app configured from ``settings`` (default: the process settings)."""
    settings = settings or get_settings()
    app = Celery("marketing_gen", include=list(INCLUDE))
    app.conf.update(build_config(settings))
    return app


def app_for(settings: Settings | None = None) -> Celery:
    """The process app when it matches ``settings`` (broker and queue namespace), else one built for them."""
    settings = settings or get_settings()
    same = app.conf.broker_url == settings.effective_broker_url and app.conf.task_default_queue == queue_name(
        Queue.PREPARE, settings
    )
    return app if same else create_app(settings)


app = create_app()
"""The process-wide app: ``celery -A workers.app worker`` and ``marketing-gen worker`` use it."""


@celeryd_init.connect
def refuse_unsafe_settings(sender: str, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """A worker started any way (``celery -A workers.app worker`` as well as ``marketing-gen worker``) exits before
    it consumes anything when its settings are unsafe for its queues (``config.worker_problems``; no ``-Q``: every
    queue)."""
    settings = get_settings()
    prefix = settings.broker_namespace
    given = (options or {}).get("queues") or [queue_name(q, settings) for q in Queue]
    names = given.split(",") if isinstance(given, str) else list(given)
    consumed = [q[len(prefix) :] if prefix and q.startswith(prefix) else q for q in names]
    problems = worker_problems(settings, consumed)
    if problems:
        # SystemExit, not an exception: Celery logs and swallows exceptions raised by signal receivers.
        raise SystemExit("marketing_gen: the worker will not start: " + "; ".join(problems))
