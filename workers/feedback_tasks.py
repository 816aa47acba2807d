"""Feedback tasks: the nightly retrain (Celery beat) — outcomes → train → gate → promote or refuse.

The work is ``marketing_gen.feedback.retrain.run_retrain``. A training run can outlast the broker's
redelivery timeouts (RabbitMQ consumer timeout 30 min, Redis visibility timeout), so this task is acknowledged
on receipt (``acks_late=False``): a worker lost mid-run skips one night instead of training twice at once.
Run beat with ``celery -A workers.app beat`` (the schedule is added when this module is imported).
"""

from __future__ import annotations

import logging
from typing import Any

from celery.schedules import crontab

from marketing_gen.config import get_settings
from workers.app import app

log = logging.getLogger(__name__)

RETRAIN_TIME_LIMIT_S = 4 * 3600
"""Hard limit of one retrain run (a CPU fine-tune of the small model takes minutes to ~30 min)."""

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "nightly-retrain": {
        "task": "workers.feedback_tasks.retrain_task",
        "schedule": crontab(hour=3, minute=15),
        "kwargs": {"dry_run": False},
        "options": {"expires": 6 * 3600},  # a run missed by more than 6 h waits for the next night
    },
}
"""Celery beat entries this module adds (03:15 UTC every night)."""

app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}


@app.task(
    name="workers.feedback_tasks.retrain_task",
    acks_late=False,
    time_limit=RETRAIN_TIME_LIMIT_S,
    soft_time_limit=RETRAIN_TIME_LIMIT_S - 120,
    ignore_result=True,
)
def retrain_task(dry_run: bool = False) -> dict[str, Any]:
    """Run the learning loop once and log the gate decision."""
    from marketing_gen.feedback.retrain import run_retrain

    outcome = run_retrain(get_settings(), dry_run=dry_run)
    log.warning("retrain: %s — %s", outcome.decision, outcome.reason)
    return outcome.to_dict()
