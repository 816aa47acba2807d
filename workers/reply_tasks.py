"""Celery task on the ``replies`` queue: answer a batch of ``reply_requests`` rows (ids in, ids out)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from marketing_gen.config import get_settings
from marketing_gen.errors import TransientError
from marketing_gen.replies.batch import answer_reply_requests
from workers import runtime
from workers.app import RETRY, app

log = logging.getLogger(__name__)


@app.task(name="workers.reply_tasks.suggest_replies_batch", **RETRY)
def suggest_replies_batch(reply_request_ids: Sequence[int]) -> list[int]:
    """Suggest replies for the pending requests among the ids (one batched generate); returns the ids done."""
    settings = get_settings()
    engine = runtime.get_engine(settings)
    try:
        done = answer_reply_requests(list(reply_request_ids), engine, url=settings.database_url)
    except OperationalError as exc:
        raise TransientError(f"database: {exc.orig or exc}") from exc
    log.info("answered %d of %d reply requests", len(done), len(reply_request_ids))
    return done
