"""A worker started straight with Celery (not `marketing-gen worker`) refuses unsafe settings before consuming."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _celery_worker(tmp_path: Path, queues: str = "prepare", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MARKETING_GEN_")}
    clean.update(
        {
            "MARKETING_GEN_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "MARKETING_GEN_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
            "PYTHONPATH": str(REPO),
            **env,
        }
    )
    cmd = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-P", "solo", "-Q", queues]
    return subprocess.run(cmd, env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_celery_worker_without_a_signing_key_exits_naming_the_fix(tmp_path: Path) -> None:
    res = _celery_worker(tmp_path)
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "the worker will not start" in out and "MARKETING_GEN_SECRET_KEY" in out


def test_celery_worker_for_render_refuses_localhost_links(tmp_path: Path) -> None:
    env = {"MARKETING_GEN_SECRET_KEY": "k" * 40, "MARKETING_GEN_PUBLIC_BASE_URL": "http://localhost:8000"}
    res = _celery_worker(tmp_path, "render", **env)
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "the worker will not start" in out and "MARKETING_GEN_PUBLIC_BASE_URL" in out
