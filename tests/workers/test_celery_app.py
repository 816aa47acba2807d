"""Celery app configuration from settings, and the worker command's pool choice (no broker needed)."""

from __future__ import annotations

import pytest

from marketing_gen.cli.worker_cmds import choose_pool
from marketing_gen.config import Settings
from workers.app import INCLUDE, TASK_QUEUES, Queue, build_config, generate_time_limit, is_sqlite_broker


def test_reliability_settings() -> None:
    conf = build_config(Settings(database_url="sqlite:///x.db"))
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1 and conf["task_ignore_result"]
    assert conf["task_serializer"] == "json" and conf["accept_content"] == ["json"]
    assert conf["worker_proc_alive_timeout"] >= 30
    assert conf["broker_url"] == "sqla+sqlite:///x_broker.db"
    assert not conf["worker_enable_remote_control"]  # the SQL transport has no fanout


def test_routes_cover_every_queue_and_namespace_prefixes_them() -> None:
    conf = build_config(Settings(broker_url="redis://localhost:6379/3", broker_namespace="staging-"))
    assert {q.name for q in conf["task_queues"]} == {f"staging-{q.value}" for q in Queue}
    assert conf["task_routes"]["workers.tasks.generate_batch"] == {"queue": "staging-generate"}
    assert conf["task_routes"]["workers.reply_tasks.*"] == {"queue": "staging-replies"}
    assert conf["broker_transport_options"]["global_keyprefix"] == "staging-"
    assert set(TASK_QUEUES.values()) >= {Queue.PREPARE, Queue.GENERATE, Queue.RENDER, Queue.DELIVER, Queue.REPLIES}
    assert "workers.tasks" in INCLUDE


@pytest.mark.parametrize("batch", [1, 64, 512, 4096])
def test_time_limits_fit_redis_and_rabbitmq_timeouts(batch: int) -> None:
    settings = Settings(broker_url="redis://localhost:6379/0", generate_batch_size=batch)
    conf = build_config(settings)
    limit = generate_time_limit(settings)
    assert 300 <= limit < 30 * 60  # RabbitMQ consumer timeout
    assert conf["broker_transport_options"]["visibility_timeout"] >= 2 * limit
    assert conf["task_annotations"]["workers.tasks.generate_batch"]["time_limit"] == limit


def test_pool_choice() -> None:
    assert choose_pool(["generate"], sqlite_broker=False, pool="auto") == "solo"
    assert choose_pool(["prepare", "render", "deliver"], sqlite_broker=False, pool="auto") == "prefork"
    assert choose_pool(["render"], sqlite_broker=True, pool="auto") == "solo"
    assert choose_pool(["generate"], sqlite_broker=False, pool="threads") == "threads"
    assert is_sqlite_broker(Settings(database_url="sqlite:///a.db"))
    assert not is_sqlite_broker(Settings(broker_url="amqp://guest:guest@localhost//"))
