"""Real Celery worker subprocesses for the pipeline tests (never ``task_always_eager``): fixtures and helpers.

Two stacks:
- ``sqlite``: SQLite database + the SQLite broker (kombu's SQLAlchemy transport), as ``make demo`` runs;
- ``redis``: PostgreSQL (``MARKETING_GEN_TEST_DATABASE_URL``) + Redis (``MARKETING_GEN_TEST_BROKER_URL``) with a
  unique queue / key namespace per test so parallel runs never share messages. Under ``CI=true`` it must run.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("MARKETING_GEN_TEST_DATABASE_URL")
BROKER_URL = os.environ.get("MARKETING_GEN_TEST_BROKER_URL")
CHANNELS = ("email", "push")


@dataclass
class Stack:
    """A database + broker pair, the env for subprocesses, and the workers started on it."""

    name: str
    db_url: str
    env: dict[str, str]
    tmp: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``marketing-gen ARGS`` against this stack; fails the test on a non-zero exit."""
        proc = subprocess.run(
            [sys.executable, "-m", "marketing_gen", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert proc.returncode == 0, f"marketing-gen {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def start_worker(self, name: str, queues: str | None = None) -> subprocess.Popen[bytes]:
        """Start ``marketing-gen worker`` (all queues or ``queues``, pool chosen by the command) as a subprocess."""
        log = (self.tmp / f"worker-{name}.log").open("wb")
        only = ["-Q", queues] if queues else []
        proc = subprocess.Popen(
            [sys.executable, "-m", "marketing_gen", "worker", "-l", "INFO", "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"]
            + only,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(proc)
        log_path = self.tmp / f"worker-{name}.log"
        deadline = time.monotonic() + 120
        while b" ready." not in log_path.read_bytes():  # consuming (the model loads lazily, on the first batch)
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker {name} did not start:\n{self.logs()}")
            time.sleep(0.2)
        return proc

    def logs(self) -> str:
        """Tail of every worker log (for failure messages)."""
        logs = sorted(self.tmp.glob("worker-*.log"))
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)

    def stop_all(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL whatever is left."""
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _stack_env(db_url: str, broker: str, namespace: str, tmp: Path) -> dict[str, str]:
    keep = lambda k: not k.startswith("MARKETING_GEN_") or k.startswith("MARKETING_GEN_TEST")  # noqa: E731
    env = {k: v for k, v in os.environ.items() if keep(k)}
    env.update(
        {
            "MARKETING_GEN_DATABASE_URL": db_url,
            "MARKETING_GEN_BROKER_URL": broker,
            "MARKETING_GEN_BROKER_NAMESPACE": namespace,
            "MARKETING_GEN_MODELS_DIR": str(tmp / "models"),
            "MARKETING_GEN_DEVICE": "cpu",
            "MARKETING_GEN_DTYPE": "fp32",
            "MARKETING_GEN_TORCH_THREADS": "1",
            "MARKETING_GEN_SECRET_KEY": "test-secret-key-of-at-least-32-bytes-0123",
            "MARKETING_GEN_PUBLIC_BASE_URL": "https://links.shop.example",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        }
    )
    return env


@pytest.fixture(scope="session")
def worker_model_dir(long_tiny_model_dir: Path) -> Path:
    """The shared tiny model with 4096 positions (real campaign prompts fit)."""
    return long_tiny_model_dir


@pytest.fixture(params=["sqlite", "redis"])
def stack(request: pytest.FixtureRequest, tmp_path: Path, worker_model_dir: Path) -> Iterator[Stack]:
    """A fresh database with the tiny model registered as active, a broker, and a worker launcher."""
    from marketing_gen.versions.registry import register_version

    if request.param == "sqlite":
        db_url = request.getfixturevalue("sqlite_url")
        broker, namespace = f"sqla+sqlite:///{tmp_path / 'broker.db'}", ""
    else:
        if not (PG_URL and BROKER_URL):
            if IN_CI:
                pytest.fail("the Redis + PostgreSQL worker stack must run under CI=true")
            pytest.skip("MARKETING_GEN_TEST_DATABASE_URL / MARKETING_GEN_TEST_BROKER_URL not set")
        db_url = request.getfixturevalue("pg_url")
        broker, namespace = BROKER_URL, f"mgtest-{os.getpid()}-{uuid.uuid4().hex[:8]}-"
    register_version("tiny-test", str(worker_model_dir), kind="base", activate=True, url=db_url)
    st = Stack(request.param, db_url, _stack_env(db_url, broker, namespace, tmp_path), tmp_path)
    try:
        yield st
    finally:
        st.stop_all()
        if request.param == "redis":
            _drop_namespace(broker, namespace)


def _drop_namespace(broker: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(broker)
    keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
    if keys:
        client.delete(*keys)


# --- a small store: users with consent patterns, items, recommendations, a brand ---------------------------


@dataclass(frozen=True)
class SeedUser:
    """How a seeded user is set up (the tests derive the expected drafts from this, not from the code)."""

    external_id: str
    consent_email: bool
    consent_push: bool
    unsubscribed: tuple[str, ...]
    suppressed: bool
    has_recs: bool
    has_device: bool = True

    def gets(self, channel: str) -> bool:
        """Whether planning should give this user a draft on ``channel`` (push also needs a device token)."""
        consent = self.consent_email if channel == "email" else self.consent_push and self.has_device
        return consent and not self.suppressed and channel not in self.unsubscribed


def seed_store(url: str, n_users: int) -> list[SeedUser]:
    """Insert a brand, 12 items, ``n_users`` users (every 10th without email consent, …) and recommendations."""
    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Brand, Device, Item, Recommendation, User

    specs = [
        SeedUser(
            external_id=f"c{i:04d}",
            consent_email=i % 10 != 1,
            consent_push=i % 10 != 4,
            unsubscribed=("email",) if i % 10 == 2 else ("push",) if i % 10 == 6 else (),
            suppressed=i % 10 == 3,
            has_recs=i % 23 != 7,
            has_device=i % 10 != 5,
        )
        for i in range(n_users)
    ]
    now = dt.datetime.now(dt.timezone.utc)
    with session_scope(url) as s:
        s.add(
            Brand(
                name="Acme Home",
                voice="warm, concise, honest",
                postal_address="1 High St, Leeds LS1 1AA, UK",
                website_url="https://shop.example",
                offer_policy={"allowed_domains": ["shop.example"]},
            )
        )
        items = [
            Item(
                external_id=f"sku{j}",
                title=f"Enamel Pan {j} cm",
                description="Cast iron. Oven safe. Even heat.",
                category="Home & Kitchen | Cookware",
                price=Decimal("19.99") + j,
                currency="GBP",
                url=f"https://shop.example/p/sku{j}",
                in_stock=True,
            )
            for j in range(12)
        ]
        users = [
            User(
                external_id=u.external_id,
                email=f"{u.external_id}@example.com",
                first_name=f"Ann{k}",
                locale="en-GB",
                country="United Kingdom",
                consent_email=u.consent_email,
                consent_push=u.consent_push,
                consent_email_at=now,
                consent_push_at=now,
                unsubscribed_channels=list(u.unsubscribed),
                suppressed=u.suppressed,
            )
            for k, u in enumerate(specs)
        ]
        s.add_all(items + users)
        s.flush()
        s.add_all(
            [
                Recommendation(
                    user_id=user.id,
                    item_id=items[(k + r) % len(items)].id,
                    rank=r + 1,
                    score=1.0 / (r + 1),
                    source="builtin",
                    generated_at=now,
                )
                for k, (user, spec) in enumerate(zip(users, specs, strict=True))
                if spec.has_recs
                for r in range(3)
            ]
        )
        s.add_all(
            [
                Device(user_id=user.id, platform="apns" if k % 2 else "fcm", token=f"{k:064x}")
                for k, (user, spec) in enumerate(zip(users, specs, strict=True))
                if spec.has_device
            ]
        )
    return specs


def create_test_campaign(url: str, *, batch_size: int = 32) -> int:
    """An email + push campaign for everyone, small batches and a few new tokens (fast on the tiny model)."""
    from marketing_gen.campaigns.state import create_campaign

    return create_campaign(
        name="Spring test",
        channels=list(CHANNELS),
        segment="country = United Kingdom",
        offer_text="Spring sale",
        discount_pct=10,
        url=url,
        options={"batch_size": batch_size, "sampling": {"max_new_tokens": 8}, "max_regenerations": 0},
    )


def wait_until(pred: Callable[[], Any], *, timeout: float, stack: Stack, what: str, poll: float = 0.5) -> Any:
    """Poll ``pred`` until truthy; on timeout fail with the worker logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(poll)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{stack.logs()}")
