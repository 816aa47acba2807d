"""The ``smtp`` adapter and the send step against a real local SMTP server (aiosmtpd) that parses every message."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ssl
import subprocess
from email.message import EmailMessage
from email.policy import SMTPUTF8
from pathlib import Path

import pytest
from outbox_store import run_to_outbox, seed_users
from sqlalchemy import select, update

from marketing_gen.config import Settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import FeedbackEvent, OutboxMessage, User
from marketing_gen.delivery.base import OutboundMessage, PermanentSendError
from marketing_gen.delivery.send import outbox_status, send_outbox, sendable_ids
from marketing_gen.delivery.smtp import SmtpAdapter
from marketing_gen.devtools.smtp_sink import SmtpSink


def _rows(url: str) -> dict[int, OutboxMessage]:
    with session_scope(url) as s:
        rows = {r.id: r for r in s.scalars(select(OutboxMessage))}
        for r in rows.values():
            s.expunge(r)
        return rows


def test_sends_every_message_once_with_the_relays_ids(send_settings: Settings, db_url: str, sink: SmtpSink) -> None:
    seed_users(db_url, 5)
    cid, ids = run_to_outbox(db_url, send_settings)
    assert len(ids) == 5 and sendable_ids(cid, "smtp", settings=send_settings) == ids

    report = send_outbox(ids, adapter="smtp", settings=send_settings)
    assert report.to_dict()["sent"] == 5 and not report.errors
    received = sink.received
    assert sorted(r.rcpt_tos[0] for r in received) == [f"u{i}@example.com" for i in range(5)]
    rows = _rows(db_url)
    by_attempt = {r.attempt_id: r for r in rows.values()}
    for got in received:
        msg = got.message
        assert msg.is_multipart() and {p.get_content_type() for p in msg.iter_parts()} == {"text/plain", "text/html"}
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and msg["List-Unsubscribe"].startswith("<")
        row = by_attempt[msg["X-MG-Attempt"]]
        assert row.state == "sent" and row.provider_message_id == got.queue_id and int(msg["X-MG-Outbox-Id"]) == row.id
        assert got.mail_from == "no-reply@shop.example"
    with session_scope(db_url) as s:
        events = s.scalars(select(FeedbackEvent.draft_id).where(FeedbackEvent.event == "sent")).all()
    assert sorted(events) == sorted(r.draft_id for r in rows.values())

    again = send_outbox(ids, adapter="smtp", settings=send_settings)  # a redelivered task: nothing goes out twice
    assert again.sent == 0 and sink.count == 5 and sendable_ids(cid, "smtp", settings=send_settings) == []
    status = outbox_status(campaign_id=cid, settings=send_settings)
    assert status["states"]["sent"] == 5 and status["total"] == 5


def test_permanent_refusal_fails_the_row_and_transient_is_retried(
    send_settings: Settings, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_users(db_url, 3)
    _, ids = run_to_outbox(db_url, send_settings)
    with SmtpSink(reject={"u1@example.com": "550 5.1.1 no such user"}, transient_failures=2) as sink:
        settings = send_settings.model_copy(update={"smtp_port": sink.port})
        report = send_outbox(ids, adapter="smtp", settings=settings)
        assert (report.sent, report.failed, report.retry_later) == (2, 1, 0)
        assert sorted(r.rcpt_tos[0] for r in sink.received) == ["u0@example.com", "u2@example.com"]
    rows = _rows(db_url)
    failed = [r for r in rows.values() if r.state == "failed"]
    assert len(failed) == 1 and "550" in (failed[0].error or "") and "no such user" in (failed[0].error or "")


def test_transient_errors_beyond_the_retries_wait_with_backoff(send_settings: Settings, db_url: str) -> None:
    seed_users(db_url, 1)
    cid, ids = run_to_outbox(db_url, send_settings)
    with SmtpSink(transient_failures=10) as sink:
        settings = send_settings.model_copy(update={"smtp_port": sink.port, "send_max_attempts": 2})
        report = send_outbox(ids, adapter="smtp", settings=settings)
        assert report.retry_later == 1 and sink.count == 0
    (row,) = _rows(db_url).values()
    assert row.state == "queued" and row.not_before is not None and "451" in (row.error or "")
    # backoff: not before not_before (checked at fixed instants: the 40 ms window of these fast test settings could
    # pass on a loaded machine before a wall-clock check ran)
    just_before = row.not_before - dt.timedelta(milliseconds=1)
    assert sendable_ids(cid, "smtp", settings=send_settings, now=just_before) == []
    assert sendable_ids(cid, "smtp", settings=send_settings, now=row.not_before) == [row.id]


def test_a_user_who_opted_out_after_queueing_is_skipped(send_settings: Settings, db_url: str, sink: SmtpSink) -> None:
    seed_users(db_url, 2)
    _, ids = run_to_outbox(db_url, send_settings)
    with session_scope(db_url) as s:
        s.execute(update(User).where(User.external_id == "u0").values(unsubscribed_channels=["email"]))
    report = send_outbox(ids, adapter="smtp", settings=send_settings)
    assert (report.sent, report.skipped) == (1, 1) and [r.rcpt_tos for r in sink.received] == [["u1@example.com"]]
    states = sorted((r.state, r.error or "") for r in _rows(db_url).values())
    assert states == [("sent", ""), ("skipped", "not sent: unsubscribed:email")]


def _utf8_message(to: str) -> OutboundMessage:
    msg = EmailMessage(policy=SMTPUTF8)
    msg["From"] = "Acme <no-reply@shop.example>"
    msg["To"] = to
    msg["Subject"] = "Crêpe pans for José"
    msg["Message-ID"] = "<mg-1.1@shop.example>"
    msg.set_content("Bonjour José")
    return OutboundMessage(1, 1, 1, 1, "u1", "email", "attempt-1", to, {"eml": msg.as_bytes().decode("utf-8")})


def test_internationalised_address_uses_smtputf8(sink: SmtpSink) -> None:
    settings = Settings(smtp_host=sink.host, smtp_port=sink.port, smtp_security="none")
    with SmtpAdapter(settings) as adapter:
        queue_id = adapter.send(_utf8_message("josé@exämple.com"))
    (got,) = sink.received
    assert got.smtputf8 and got.rcpt_tos == ["josé@exämple.com"] and got.queue_id == queue_id
    assert got.message["Subject"] == "Crêpe pans for José" and got.message["X-MG-Attempt"] == "attempt-1"


def test_smtputf8_refused_by_a_relay_without_it() -> None:
    with SmtpSink(smtputf8=False) as sink:
        settings = Settings(smtp_host=sink.host, smtp_port=sink.port, smtp_security="none")
        with SmtpAdapter(settings) as adapter, pytest.raises(PermanentSendError, match="SMTPUTF8"):
            adapter.send(_utf8_message("josé@exämple.com"))
        assert sink.count == 0


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_starttls_with_auth(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    with SmtpSink(tls_context=ctx, credentials={"mailer": "s3cret"}) as sink:
        base = Settings(
            smtp_host=sink.host, smtp_port=sink.port, smtp_security="starttls", smtp_ca_file=cert,
            smtp_username="mailer", smtp_password="s3cret",
        )  # fmt: skip
        with SmtpAdapter(base) as adapter:
            adapter.send(_utf8_message("ann@example.com"))
        assert sink.count == 1
        wrong = dataclasses.replace(_utf8_message("bob@example.com"))
        with SmtpAdapter(base.model_copy(update={"smtp_password": "nope"})) as adapter:
            with pytest.raises(PermanentSendError, match="AUTH refused"):
                adapter.send(wrong)
        with SmtpAdapter(base.model_copy(update={"smtp_security": "none"})) as adapter:  # no TLS: AUTH refused
            with pytest.raises(PermanentSendError):
                adapter.send(wrong)
        assert sink.count == 1
