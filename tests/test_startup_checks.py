"""Commands that sign or verify tokens refuse unsafe settings; the embedded demo makes its own private key."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from marketing_gen.cli import main
from marketing_gen.cli.demo_cmds import demo_secret_key, demo_settings, worker_env
from marketing_gen.config import OLD_DEFAULT_SECRET_KEY, get_settings, link_settings_problems
from marketing_gen.tokens import sign_token, verify_token

GOOD_KEY = "startup-test-key-0123456789abcdefghijklmn"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("MARKETING_GEN_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("MARKETING_GEN_BROKER_URL", f"sqla+sqlite:///{tmp_path / 'broker.db'}")
    monkeypatch.delenv("MARKETING_GEN_SECRET_KEYS", raising=False)
    monkeypatch.setenv("MARKETING_GEN_PUBLIC_BASE_URL", "https://links.shop.example")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize("key", [None, OLD_DEFAULT_SECRET_KEY, "too-short"])
@pytest.mark.parametrize("command", [["worker", "-Q", "generate"], ["serve", "--port", "1"]])
def test_worker_and_serve_refuse_a_missing_default_or_short_key(
    env: pytest.MonkeyPatch, key: str | None, command: list[str]
) -> None:
    if key is None:
        env.delenv("MARKETING_GEN_SECRET_KEY", raising=False)
    else:
        env.setenv("MARKETING_GEN_SECRET_KEY", key)
    get_settings.cache_clear()
    result = CliRunner().invoke(main, command)
    assert result.exit_code != 0
    assert "will not start" in result.output and "MARKETING_GEN_SECRET_KEY" in result.output
    assert "token_urlsafe" in result.output  # the message says how to make a key


def test_render_worker_refuses_localhost_links(env: pytest.MonkeyPatch) -> None:
    env.setenv("MARKETING_GEN_SECRET_KEY", GOOD_KEY)
    env.setenv("MARKETING_GEN_PUBLIC_BASE_URL", "http://localhost:8000")
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["worker", "-Q", "render"])
    assert result.exit_code != 0 and "MARKETING_GEN_PUBLIC_BASE_URL" in result.output


def test_demo_key_is_made_once_private_and_reaches_the_worker(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.delenv("MARKETING_GEN_SECRET_KEY", raising=False)
    env.setenv("MARKETING_GEN_PUBLIC_BASE_URL", "http://localhost:8000")
    get_settings.cache_clear()
    key = demo_secret_key(tmp_path)
    path = tmp_path / "secret_key"
    assert len(key) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert demo_secret_key(tmp_path) == key  # stored: links from earlier demo runs still verify
    settings = demo_settings(tmp_path)
    assert settings.secret_key == key and settings.embedded_demo and link_settings_problems(settings) == []
    assert verify_token(sign_token({"purpose": "open", "draft_id": 1}, settings), settings)["draft_id"] == 1
    child = worker_env(settings)
    assert child["MARKETING_GEN_SECRET_KEY"] == key and child["MARKETING_GEN_EMBEDDED_DEMO"] == "true"
    assert child["MARKETING_GEN_SECRET_KEYS"] == ""


def test_the_demo_database_stays_private_after_sqlite_writes_it(tmp_path: Path) -> None:
    import os

    from marketing_gen.db import get_engine, upgrade
    from marketing_gen.private_files import make_private_dir, touch_private

    old = os.umask(0o022)
    try:
        work = make_private_dir(tmp_path / "demo_out" / "work")
        db = touch_private(work / "marketing_gen.db")
        upgrade(f"sqlite:///{db}")
        get_engine.cache_clear()
    finally:
        os.umask(old)
    assert db.stat().st_size > 0  # SQLite wrote the schema into the file we created …
    assert stat.S_IMODE(db.stat().st_mode) == 0o600  # … and kept its mode
    assert stat.S_IMODE(work.stat().st_mode) == 0o700 and stat.S_IMODE(work.parent.stat().st_mode) == 0o700
    extra = [p for p in work.iterdir() if p.name.startswith("marketing_gen.db-")]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in extra)  # -wal / -shm copy the database's mode
