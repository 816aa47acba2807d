"""Preflight: ``campaign create`` / ``campaign run`` refuse, with the fix, what rendering would fail on later.

Through the real CLI in-process on the embedded database (SQLite + the SQLite broker file; ``run`` only enqueues).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, func, select, text, update

from marketing_gen.cli import main
from marketing_gen.config import get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Campaign, Item, Recommendation, User
from marketing_gen.versions.registry import register_version

ADDRESS = "1 High St, Leeds LS1 1AA, UK"


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    """Six users: u0–u3 email + push consent with a recommended in-stock priced item; u4 no consent; u5 a phone
    but no SMS consent. A brand with a postal address. Valid link settings."""
    monkeypatch.setenv("MARKETING_GEN_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MARKETING_GEN_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("MARKETING_GEN_SECRET_KEY", "test-secret-key-of-at-least-32-bytes-0123")
    monkeypatch.setenv("MARKETING_GEN_PUBLIC_BASE_URL", "https://links.shop.example")
    monkeypatch.delenv("MARKETING_GEN_BROKER_URL", raising=False)
    monkeypatch.delenv("MARKETING_GEN_BROKER_NAMESPACE", raising=False)
    get_settings.cache_clear()
    with session_scope(sqlite_url) as s:
        s.add(Brand(name="Acme", postal_address=ADDRESS, website_url="https://shop.example"))
        pan = Item(external_id="pan", title="Enamel Pan", price=25, currency="GBP", in_stock=True)
        gone = Item(external_id="gone", title="Old Kettle", price=9, currency="GBP", in_stock=False)
        users = [
            User(external_id=f"u{i}", email=f"u{i}@example.com", country="UK", consent_email=i < 4, consent_push=i < 4)
            for i in range(5)
        ]
        users.append(User(external_id="u5", email="u5@example.com", phone="+447700900005", country="UK"))
        s.add_all([pan, gone, *users])
        s.flush()
        s.add_all([Recommendation(user_id=u.id, item_id=pan.id, rank=1) for u in users[:4]])
    register_version("m", str(tmp_path), activate=True, url=sqlite_url)
    yield sqlite_url
    get_settings.cache_clear()


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _campaigns(url: str) -> int:
    with session_scope(url) as s:
        return int(s.scalar(select(func.count()).select_from(Campaign)) or 0)


def _enqueued() -> int:
    broker = get_settings().effective_broker_url.removeprefix("sqla+")
    with create_engine(broker).connect() as conn:
        if not conn.dialect.has_table(conn, "kombu_message"):
            return 0
        return int(conn.scalar(text("SELECT count(*) FROM kombu_message WHERE visible = 1")) or 0)


def test_dry_run_json_prints_audience_per_channel_and_every_finding(store: str) -> None:
    result = _cli("campaign", "create", "--name", "x", "--channels", "email,push,sms", "--dry-run", "--json")
    assert result.exit_code == 1, result.output  # sms reaches nobody: a refusing finding
    out = json.loads(result.stdout)
    assert out["matched"] == 6 and out["audience"] == {"email": 4, "push": 4, "sms": 0}
    assert out["with_items"] == {"email": 4, "push": 4, "sms": 0}
    assert out["excluded"]["email"] == {"consent:email": 2}
    assert out["excluded"]["sms"] == {"consent:sms": 6}
    assert [(f["code"], f["channel"]) for f in out["findings"]] == [("audience.empty", "sms")]
    assert "import users with sms consent" in out["findings"][0]["message"]
    assert not out["ok"] and _campaigns(store) == 0  # a dry run creates nothing

    ok = _cli("campaign", "create", "--name", "x", "--channels", "email,push", "--dry-run", "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["ok"] is True and _campaigns(store) == 0
    text_out = _cli("campaign", "create", "--name", "x", "--channels", "email", "--dry-run")
    assert "audience       4" in text_out.output and "preflight ok" in text_out.output


def test_create_refuses_email_without_postal_address_naming_the_fix(store: str) -> None:
    with session_scope(store) as s:
        s.execute(update(Brand).values(postal_address=""))
    result = _cli("campaign", "create", "--name", "x", "--channels", "email,push")
    assert result.exit_code == 1
    assert "postal_address" in result.output and "marketing-gen import brand" in result.output
    assert _campaigns(store) == 0
    # a channel that needs no postal address is not held back by it
    assert _cli("campaign", "create", "--name", "y", "--channels", "push").exit_code == 0


def test_create_refuses_link_channels_with_unusable_link_settings(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETING_GEN_PUBLIC_BASE_URL", "http://localhost:8000")
    monkeypatch.setenv("MARKETING_GEN_SECRET_KEY", "short")
    get_settings.cache_clear()
    result = _cli("campaign", "create", "--name", "x", "--channels", "email", "--dry-run", "--json")
    codes = [(f["code"], f["message"]) for f in json.loads(result.stdout)["findings"]]
    assert result.exit_code == 1 and len(codes) == 2 and {c for c, _ in codes} == {"links.settings"}
    assert any("MARKETING_GEN_PUBLIC_BASE_URL" in m for _, m in codes)
    assert any("MARKETING_GEN_SECRET_KEY" in m for _, m in codes)
    # Google Ads rows carry the shop's own URLs, no signed links: not refused for the link settings
    assert _cli("campaign", "create", "--name", "ads", "--channels", "google_ads_rsa", "--dry-run").exit_code == 1
    with session_scope(store) as s:
        s.execute(update(User).values(consent_ads=True))
    assert _cli("campaign", "create", "--name", "ads", "--channels", "google_ads_rsa").exit_code == 0


def test_items_none_refuses_and_items_missing_warns(store: str) -> None:
    with session_scope(store) as s:
        s.execute(update(User).where(User.external_id == "u4").values(consent_email=True))
    warned = _cli("campaign", "create", "--name", "x", "--channels", "email", "--json")
    assert warned.exit_code == 0, warned.output
    findings = json.loads(warned.stdout)["preflight"]["findings"]
    assert [(f["code"], f["severity"]) for f in findings] == [("items.missing", "warning")]
    assert "1 of 5 users" in findings[0]["message"]
    with session_scope(store) as s:
        s.execute(update(Item).values(in_stock=False))
    refused = _cli("campaign", "create", "--name", "y", "--channels", "email")
    assert refused.exit_code == 1 and "in stock and has a price" in refused.output
    assert "marketing-gen recommend" in refused.output and _campaigns(store) == 1


def test_run_refuses_before_enqueueing_when_the_store_changed_since_create(store: str) -> None:
    cid = _cli("campaign", "create", "--name", "x", "--channels", "email").output.strip()
    with session_scope(store) as s:
        s.execute(update(Brand).values(postal_address="   "))
    result = _cli("campaign", "run", cid)
    assert result.exit_code == 1 and "postal_address" in result.output and "nothing was generated" in result.output
    assert _enqueued() == 0
    with session_scope(store) as s:
        s.execute(update(Brand).values(postal_address=ADDRESS))
    assert _cli("campaign", "run", cid).exit_code == 0 and _enqueued() == 1
