"""Is anyone consuming a campaign's queues? So ``campaign run --wait`` can say so instead of waiting forever.

RabbitMQ counts the consumers of a queue itself (``queue_consumers``: a passive declare, immediate, right even while
a solo-pool GPU worker is busy). Redis and the SQLite broker do not, and a busy solo worker cannot answer a
broadcast (``inspect``), so there the evidence is a message: the plan task still waiting in the prepare queue some
seconds after it was sent (``waiting_messages``), unless a worker holds other messages unacknowledged, i.e. is
busy (``messages_in_progress``, Redis only).
Owns only these questions; the waiting loop is the CLI's (``cli.campaign_cmds.wait_for``).
"""

from __future__ import annotations

from collections.abc import Sequence

from amqp.exceptions import NotFound as AmqpNotFound
from celery import Celery

from marketing_gen.config import Settings
from workers.app import Queue, queue_name

CAMPAIGN_QUEUES: tuple[Queue, ...] = (Queue.PREPARE, Queue.GENERATE, Queue.RENDER, Queue.DELIVER)
"""The queues a campaign run needs consumed."""

START_HINT = (
    "start one with `marketing-gen worker` (all queues), or `marketing-gen worker -Q generate` per GPU plus "
    "`marketing-gen worker -Q prepare,render,deliver` on CPU machines"
)
"""How to start a worker, for messages about a queue nobody consumes."""


def _is_amqp(settings: Settings) -> bool:
    return settings.effective_broker_url.startswith(("amqp://", "amqps://", "pyamqp://"))


def _is_redis(settings: Settings) -> bool:
    return settings.effective_broker_url.startswith(("redis://", "rediss://"))


def queue_consumers(
    app: Celery, settings: Settings, queues: Sequence[Queue] = CAMPAIGN_QUEUES
) -> dict[str, int] | None:
    """Consumers per queue (by the queue's short name) as RabbitMQ counts them; None for brokers that do not count
    consumers (Redis, SQLite). A queue no worker ever declared has 0."""
    if not _is_amqp(settings):
        return None
    counts: dict[str, int] = {}
    with app.connection_for_read() as conn:
        for q in queues:
            channel = conn.channel()
            try:
                counts[q.value] = int(channel.queue_declare(queue=queue_name(q, settings), passive=True).consumer_count)
            except AmqpNotFound:  # never declared: nobody consumes it (the error closed this channel)
                counts[q.value] = 0
            else:
                channel.close()
    return counts


def waiting_messages(app: Celery, settings: Settings, queue: Queue = Queue.PREPARE) -> int:
    """Messages in ``queue`` that no worker has taken yet (the broker's own count)."""
    with app.connection_for_read() as conn:
        return int(conn.default_channel.queue_declare(queue=queue_name(queue, settings)).message_count)


def messages_in_progress(app: Celery, settings: Settings) -> int | None:
    """Redis: messages a worker has taken and not acknowledged yet (a live, busy worker holds them); None where the
    broker cannot tell (SQLite keeps delivered messages as invisible rows, acknowledged or not)."""
    if not _is_redis(settings):
        return None
    with app.connection_for_read() as conn:
        channel = conn.default_channel
        return int(channel.client.hlen(channel.unacked_key))
