"""``marketing-gen campaign …`` commands in-process (no worker: `run` only enqueues)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from marketing_gen.cli import main
from marketing_gen.config import get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Item, Recommendation, User
from marketing_gen.versions.registry import register_version


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    """The embedded default: a SQLite database with the SQLite broker file beside it."""
    monkeypatch.setenv("MARKETING_GEN_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MARKETING_GEN_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("MARKETING_GEN_BROKER_URL", raising=False)
    monkeypatch.delenv("MARKETING_GEN_BROKER_NAMESPACE", raising=False)
    monkeypatch.setenv("MARKETING_GEN_SECRET_KEY", "test-secret-key-of-at-least-32-bytes-0123")
    monkeypatch.setenv("MARKETING_GEN_PUBLIC_BASE_URL", "https://links.shop.example")
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def test_create_status_pause_resume_cancel(embedded: str, tmp_path: Path) -> None:
    db_url = embedded
    with session_scope(db_url) as s:  # what preflight needs: a brand with an address, a user, a recommended item
        s.add(Brand(name="Acme", postal_address="1 High St, Leeds LS1 1AA, UK"))
        user = User(external_id="u1", email="u1@example.com", consent_email=True, consent_push=True)
        item = Item(external_id="sku1", title="Enamel Pan", price=25, currency="GBP", in_stock=True)
        s.add_all([user, item])
        s.flush()
        s.add(Recommendation(user_id=user.id, item_id=item.id, rank=1))
    cid = int(
        _invoke(
            "campaign",
            "create",
            "--name",
            "Spring",
            "--channels",
            "email,push",
            "--segment",
            "country != France",
            "--discount-pct",
            "10",
            "--max-new-tokens",
            "24",
        ).strip()
    )
    status = json.loads(_invoke("campaign", "status", str(cid), "--json"))
    assert status["id"] == cid and status["state"] == "created" and status["channels"] == ["email", "push"]
    assert set(status["counts"]) == {
        "pending", "generated", "in_review", "ready", "queued", "failed", "skipped", "rejected"
    }  # fmt: skip
    assert "fallback_rate" in status

    no_model = CliRunner().invoke(main, ["campaign", "run", str(cid)])
    assert no_model.exit_code != 0 and "model import-base" in no_model.output
    register_version("m", str(tmp_path), activate=True, url=db_url)
    assert "enqueued" in _invoke("campaign", "run", str(cid))
    broker = get_settings().effective_broker_url.removeprefix("sqla+")
    with create_engine(broker).connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM kombu_message WHERE visible = 1")) == 1

    assert "paused" in _invoke("campaign", "pause", str(cid))
    refused = CliRunner().invoke(main, ["campaign", "run", str(cid)])
    assert refused.exit_code != 0 and "resume" in refused.output
    assert "running" in _invoke("campaign", "resume", str(cid))
    assert "cancelled" in _invoke("campaign", "cancel", str(cid))
    assert f"{cid}" in _invoke("campaign", "list")
    bad = CliRunner().invoke(
        main, ["campaign", "create", "--name", "x", "--channels", "email", "--segment", "country ="]
    )
    assert bad.exit_code != 0 and "segment:" in bad.output


def test_every_campaign_command_has_help() -> None:
    for cmd in ("create", "run", "status", "pause", "resume", "cancel", "export", "list"):
        assert "Usage:" in _invoke("campaign", cmd, "--help")
    assert "-P, --pool" in _invoke("worker", "--help")
    assert "--data" in _invoke("demo", "--help")
    assert "--batch-size" in _invoke("bench", "campaign", "--help")
