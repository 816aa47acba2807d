"""The nightly retrain task: registered, scheduled by beat, acknowledged on receipt, runs the loop."""

from __future__ import annotations

from pathlib import Path

from celery.schedules import crontab

from marketing_gen.config import get_settings
from marketing_gen.versions.registry import register_version


def test_retrain_task_is_scheduled_nightly_and_runs_the_loop(settings_env: None, tiny_model_dir: Path) -> None:
    from workers.app import app
    from workers.feedback_tasks import retrain_task

    entry = app.conf.beat_schedule["nightly-retrain"]
    assert entry["task"] == retrain_task.name == "workers.feedback_tasks.retrain_task"
    assert isinstance(entry["schedule"], crontab) and entry["schedule"].hour == {3}
    assert retrain_task.acks_late is False  # a run longer than the broker's redelivery timeout must not run twice

    register_version("tiny", str(tiny_model_dir), kind="base", activate=True, url=get_settings().database_url)
    out = retrain_task.run(dry_run=True)  # the task body, in this process (no broker involved)
    assert out["decision"] == "skipped" and out["active"] == "tiny"
