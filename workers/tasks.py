"""Thin Celery tasks: ids in, ids out. The work is in ``marketing_gen.campaigns.pipeline``.

Only ``TransientError`` (and database lock / connection errors, converted to it here at the edge) is
retried; client errors and model load errors fail the task, leaving its drafts unfinished so that
``marketing-gen campaign run ID`` resumes them once the cause is fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError

from marketing_gen.campaigns import pipeline
from marketing_gen.config import get_settings
from marketing_gen.delivery import send
from marketing_gen.errors import TransientError
from workers import runtime
from workers.app import RETRY, app

log = logging.getLogger(__name__)

T = TypeVar("T")


def _transient(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn``; a database lock / dropped connection becomes a ``TransientError`` (retried)."""
    try:
        return fn(*args, **kwargs)
    except OperationalError as exc:
        raise TransientError(f"database: {exc.orig or exc}") from exc


def enqueue(work: pipeline.Work) -> int:
    """Send every batch of ``work`` to its queue; returns how many messages were sent."""
    for ids in work.generate:
        generate_batch.delay(ids)
    for ids in work.render:
        render_batch.delay(ids)
    for ids in work.deliver:
        deliver_batch.delay(ids)
    return work.batches


@app.task(name="workers.tasks.plan_campaign", **RETRY)
def plan_campaign(campaign_id: int) -> int:
    """Plan the campaign's audience (idempotent) and enqueue all of its unfinished work; returns batches sent."""
    result, work = _transient(pipeline.plan_campaign, campaign_id, settings=get_settings())
    if result is not None:
        log.info("campaign %s planned: %s new drafts, audience %s", campaign_id, result.inserted, result.audience)
    return enqueue(work)


@app.task(name="workers.tasks.generate_batch", **RETRY)
def generate_batch(draft_ids: Sequence[int]) -> list[int]:
    """Generate copy for a batch of pending drafts (one batched engine call per group); enqueue their render."""
    settings = get_settings()
    engine = runtime.get_engine(settings)
    done = _transient(pipeline.generate_drafts, list(draft_ids), engine, settings=settings)
    if done:
        render_batch.delay(done)
    return done


@app.task(name="workers.tasks.render_batch", **RETRY)
def render_batch(draft_ids: Sequence[int]) -> list[int]:
    """Render a batch of generated drafts; enqueue their delivery."""
    done = _transient(pipeline.render_drafts, list(draft_ids), settings=get_settings())
    if done:
        deliver_batch.delay(done)
    return done


@app.task(name="workers.tasks.deliver_batch", **RETRY)
def deliver_batch(draft_ids: Sequence[int]) -> list[int]:
    """Put a batch of ready drafts in the outbox."""
    return _transient(pipeline.deliver_drafts, list(draft_ids), settings=get_settings())


@app.task(name="workers.tasks.send_batch", **RETRY)
def send_batch(outbox_ids: Sequence[int], adapter: str) -> int:
    """Send a batch of queued outbox rows through ``adapter``; returns how many were sent.

    First reconciles rows a dead worker left in ``sending`` (never resending what the provider may have taken).
    Rows that hit transient errors after every inline retry are back in ``queued`` with a backoff; the task is
    then retried (Celery backoff) and sends only those.
    """
    settings = get_settings()
    _transient(send.reconcile_stale, settings=settings)
    report = _transient(send.send_outbox, list(outbox_ids), adapter=adapter, settings=settings)
    log.info("send_batch %s via %s: %s", len(outbox_ids), adapter, report.to_dict())
    if report.retry_later:
        raise TransientError(f"{report.retry_later} message(s) hit transient errors: {report.errors[:3]}")
    return report.sent
