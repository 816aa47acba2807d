"""``campaign send`` (dry run, inline through the real SMTP sink, enqueue on the broker) and ``outbox …``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from outbox_store import run_to_outbox, seed_users
from sqlalchemy import update

from marketing_gen.cli import main
from marketing_gen.config import Settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import OutboxMessage
from marketing_gen.devtools.smtp_sink import SmtpSink


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_dry_run_then_inline_smtp_send_then_status(send_settings: Settings, db_url: str, sink: SmtpSink) -> None:
    seed_users(db_url, 4)
    cid, ids = run_to_outbox(db_url, send_settings, channels=("email", "sms"))
    dry = json.loads(_run("campaign", "send", str(cid), "--adapter", "smtp", "--dry-run", "--json"))
    assert dry["messages"] == 4 and dry["dry_run"]["sent"] == 4 and sink.count == 0  # smtp: the 4 emails only
    out = _run("campaign", "send", str(cid), "--adapter", "smtp", "--inline")
    assert "sent 4 message(s) via smtp" in out and sink.count == 4
    status = json.loads(_run("outbox", "status", "--campaign", str(cid), "--json"))
    assert status["states"]["sent"] == 4 and status["states"]["queued"] == 4
    assert status["by_channel"] == {"email": {"sent": 4}, "sms": {"queued": 4}}
    assert json.loads(_run("outbox", "reconcile", "--json")) == {}


def test_send_enqueues_batches_on_the_deliver_queue(
    send_settings: Settings, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_users(db_url, 3)
    cid, _ = run_to_outbox(db_url, send_settings)
    sent: list[tuple[str, list[object]]] = []

    class App:
        def send_task(self, name: str, args: list[object]) -> None:
            sent.append((name, args))

    monkeypatch.setattr("marketing_gen.cli.campaign_cmds.celery_app", lambda settings=None: App())
    monkeypatch.setenv("MARKETING_GEN_SEND_BATCH_SIZE", "2")
    from marketing_gen.config import get_settings

    get_settings.cache_clear()
    out = json.loads(_run("campaign", "send", str(cid), "--json"))
    assert out["adapter"] == "file" and out["batches"] == 2 and out["messages"] == 3
    assert [(n, len(a[0]), a[1]) for n, a in sent] == [
        ("workers.tasks.send_batch", 2, "file"),
        ("workers.tasks.send_batch", 1, "file"),
    ]


def test_resolve_needs_an_uncertain_row_and_a_verdict(send_settings: Settings, db_url: str) -> None:
    seed_users(db_url, 1)
    _, (oid,) = run_to_outbox(db_url, send_settings)
    assert "give --sent or --resend" in _run("outbox", "resolve", str(oid), code=2)
    assert "not uncertain" in _run("outbox", "resolve", str(oid), "--sent", code=2)
    with session_scope(db_url) as s:
        s.execute(update(OutboxMessage).values(state="uncertain"))
    assert f"outbox {oid} sent" in _run("outbox", "resolve", str(oid), "--sent")
    assert "does not exist" in _run("campaign", "send", "999", code=2)
