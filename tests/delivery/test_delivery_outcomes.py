"""The file adapter, reconciliation of rows whose worker died, operator resolution, bounce/complaint suppression."""

from __future__ import annotations

import datetime as dt
import email
from pathlib import Path

import pytest
from outbox_store import run_to_outbox, seed_users
from sqlalchemy import select, update

from marketing_gen.config import Settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import OutboxMessage, User
from marketing_gen.delivery.send import reconcile_stale, resolve_uncertain, send_outbox, sendable_ids
from marketing_gen.devtools.smtp_sink import SmtpSink
from marketing_gen.errors import InvalidRequest
from marketing_gen.feedback.events import ingest_events


def _state(url: str) -> dict[int, str]:
    with session_scope(url) as s:
        return dict(s.execute(select(OutboxMessage.id, OutboxMessage.state)).all())


def test_file_adapter_writes_each_message_once(send_settings: Settings, db_url: str, tmp_path: Path) -> None:
    seed_users(db_url, 2)
    cid, ids = run_to_outbox(db_url, send_settings, channels=("email", "sms"))
    report = send_outbox(ids, adapter="file", settings=send_settings)
    assert report.sent == 4
    emls = sorted((tmp_path / "outbox" / f"campaign_{cid}" / "email").glob("*.eml"))
    sms = sorted((tmp_path / "outbox" / f"campaign_{cid}" / "sms").glob("*.json"))
    assert len(emls) == 2 and len(sms) == 2 and not list((tmp_path / "outbox").rglob("*.tmp"))
    assert email.message_from_bytes(emls[0].read_bytes())["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert send_outbox(ids, adapter="file", settings=send_settings).sent == 0


def _die_while_sending(url: str, outbox_id: int, adapter: str, minutes_ago: int = 30) -> None:
    """What a worker killed after the claim leaves behind."""
    with session_scope(url) as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(
                state="sending",
                attempt_id=f"dead-{outbox_id}",
                adapter=adapter,
                claimed_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes_ago),
            )
        )


def test_reconcile_never_resends_what_smtp_may_have_taken(
    send_settings: Settings, db_url: str, sink: SmtpSink, tmp_path: Path
) -> None:
    seed_users(db_url, 3)
    cid, ids = run_to_outbox(db_url, send_settings)
    _die_while_sending(db_url, ids[0], "smtp")
    _die_while_sending(db_url, ids[1], "file")
    _die_while_sending(db_url, ids[2], "smtp", minutes_ago=1)  # younger than the timeout: left alone
    counts = reconcile_stale(settings=send_settings)
    assert counts == {"uncertain": 1, "requeued": 1}  # no file was written for ids[1]: provably not sent
    assert _state(db_url) == {ids[0]: "uncertain", ids[1]: "queued", ids[2]: "sending"}
    assert sendable_ids(cid, "smtp", settings=send_settings) == [ids[1]]
    send_outbox(sendable_ids(cid, "smtp", settings=send_settings), adapter="smtp", settings=send_settings)
    assert sink.count == 1 and _state(db_url)[ids[0]] == "uncertain"

    assert resolve_uncertain(ids[0], sent=False, settings=send_settings) == "queued"
    with pytest.raises(InvalidRequest, match="not uncertain"):
        resolve_uncertain(ids[0], sent=True, settings=send_settings)
    send_outbox([ids[0]], adapter="smtp", settings=send_settings)
    assert sink.count == 2


def test_reconcile_file_adapter_finds_the_written_file(send_settings: Settings, db_url: str, tmp_path: Path) -> None:
    seed_users(db_url, 1)
    cid, (oid,) = run_to_outbox(db_url, send_settings)
    send_outbox([oid], adapter="file", settings=send_settings)
    _die_while_sending(db_url, oid, "file")  # as if the worker died after writing, before recording
    assert reconcile_stale(settings=send_settings) == {"sent": 1}
    assert _state(db_url) == {oid: "sent"}


def test_hard_bounce_and_complaint_suppress_the_address(send_settings: Settings, db_url: str, sink: SmtpSink) -> None:
    seed_users(db_url, 3)
    with session_scope(db_url) as s:  # u2 shares u0's address (a second account)
        s.execute(update(User).where(User.external_id == "u2").values(email="u0@example.com"))
    _, ids = run_to_outbox(db_url, send_settings)
    send_outbox(ids, adapter="smtp", settings=send_settings)
    with session_scope(db_url) as s:
        drafts = dict(s.execute(select(OutboxMessage.id, OutboxMessage.draft_id)).all())
    report = ingest_events(
        [
            {"draft_id": drafts[ids[0]], "event": "bounce", "timestamp": "2026-11-30T10:00:00Z"},
            {"draft_id": drafts[ids[1]], "event": "complaint", "timestamp": "2026-11-30T10:00:00Z"},
        ],
        url=db_url,
    )
    assert report.recorded == 2
    with session_scope(db_url) as s:
        suppressed = dict(s.execute(select(User.external_id, User.suppressed)).all())
    assert suppressed == {"u0": True, "u1": True, "u2": True}
    assert _state(db_url) == {ids[0]: "bounced", ids[1]: "sent", ids[2]: "sent"}
    from marketing_gen.db.models import SuppressionEntry

    with session_scope(db_url) as s:
        listed = set(s.execute(select(SuppressionEntry.kind, SuppressionEntry.value, SuppressionEntry.source)).all())
    assert {("email", "u0@example.com", "bounce"), ("email", "u1@example.com", "complaint")} <= listed


def test_bounce_posted_to_the_events_api_suppresses(send_settings: Settings, db_url: str) -> None:
    from fastapi.testclient import TestClient

    from marketing_gen.api import create_app

    seed_users(db_url, 2)
    _, ids = run_to_outbox(db_url, send_settings)
    send_outbox(ids, adapter="file", settings=send_settings)
    with session_scope(db_url) as s:
        draft_id = s.scalar(select(OutboxMessage.draft_id).where(OutboxMessage.id == ids[1]))
    res = TestClient(create_app()).post(
        "/v1/events",
        json=[{"draft_id": draft_id, "event": "bounce", "timestamp": "2026-11-30T10:00:00Z"}],
        headers={"Authorization": "Bearer test-token"},
    )
    assert res.status_code == 200 and res.json()["recorded"] == 1
    with session_scope(db_url) as s:
        assert dict(s.execute(select(User.external_id, User.suppressed)).all()) == {"u0": False, "u1": True}
    assert _state(db_url) == {ids[0]: "sent", ids[1]: "bounced"}
