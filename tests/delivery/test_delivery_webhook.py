"""The ``webhook`` adapter against a real local HTTP server that checks the HMAC signature; quiet hours."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from outbox_store import run_to_outbox, seed_users
from sqlalchemy import select, update

from marketing_gen.config import Settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import OutboxMessage
from marketing_gen.delivery.send import send_outbox
from marketing_gen.delivery.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

SECRET = "hook-secret"


@dataclass
class Provider:
    """What the fake provider saw and how it answers (a queue of status codes, then 200)."""

    statuses: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if not verify(SECRET, self.headers[TIMESTAMP_HEADER], body, self.headers[SIGNATURE_HEADER]):
                state.bad_signatures += 1
                self.send_response(401)
                self.end_headers()
                return
            doc = json.loads(body)
            state.requests.append({"body": doc, "idempotency_key": self.headers["Idempotency-Key"]})
            status = state.statuses.pop(0) if state.statuses else 200
            out = json.dumps({"id": f"prov-{doc['outbox_id']}"} if status == 200 else {"error": "x"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _states(url: str) -> dict[int, tuple[str, str | None, str | None]]:
    with session_scope(url) as s:
        return {
            r.id: (r.state, r.provider_message_id, r.error)
            for r in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        }


def test_signed_posts_retries_and_permanent_failures(send_settings: Settings, db_url: str, provider: Provider) -> None:
    seed_users(db_url, 3)
    _, ids = run_to_outbox(db_url, send_settings, channels=("sms",))
    settings = send_settings.model_copy(update={"webhook_url": provider.url, "webhook_secret": SECRET})
    provider.statuses = [503, 200, 422]  # row 1: 503 then accepted on retry; row 2: 422 → failed; row 3: 200
    report = send_outbox(ids, adapter="webhook", settings=settings)
    assert (report.sent, report.failed) == (2, 1) and provider.bad_signatures == 0
    first, second, third = (_states(db_url)[i] for i in ids)
    assert first[:2] == ("sent", f"prov-{ids[0]}") and third[:2] == ("sent", f"prov-{ids[2]}")
    assert second[0] == "failed" and "HTTP 422" in (second[2] or "")
    bodies = [r["body"] for r in provider.requests]
    assert [b["outbox_id"] for b in bodies] == [ids[0], ids[0], ids[1], ids[2]]
    # the retry of row 1 carries the same Idempotency-Key, so the provider can drop a duplicate
    assert provider.requests[0]["idempotency_key"] == provider.requests[1]["idempotency_key"]
    sms = bodies[1]
    assert sms["channel"] == "sms" and sms["to"] == "+447700900000" and "STOP" in sms["data"]["text"]
    assert sms["data"]["segments"] >= 1


def test_wrong_secret_is_refused_by_the_provider(send_settings: Settings, db_url: str, provider: Provider) -> None:
    seed_users(db_url, 1)
    _, ids = run_to_outbox(db_url, send_settings, channels=("push",))
    settings = send_settings.model_copy(update={"webhook_url": provider.url, "webhook_secret": "wrong"})
    report = send_outbox(ids, adapter="webhook", settings=settings)
    assert report.failed == 1 and provider.bad_signatures == 1 and not provider.requests


def test_quiet_hours_hold_sms_and_push_until_morning(send_settings: Settings, db_url: str, provider: Provider) -> None:
    seed_users(db_url, 2, timezone="America/New_York")
    _, ids = run_to_outbox(db_url, send_settings, channels=("push", "email"))
    settings = send_settings.model_copy(
        update={"webhook_url": provider.url, "webhook_secret": SECRET, "quiet_hours": "21-8"}
    )
    late = dt.datetime(2026, 1, 10, 3, 30, tzinfo=dt.timezone.utc)  # 22:30 in New York
    report = send_outbox(ids, adapter="webhook", settings=settings, now=late)
    # email is not a quiet channel; push waits for 08:00 New York = 13:00 UTC
    assert (report.sent, report.waiting) == (2, 2) and len(provider.requests) == 2
    assert {r["body"]["channel"] for r in provider.requests} == {"email"}
    with session_scope(db_url) as s:
        waiting = s.scalars(select(OutboxMessage).where(OutboxMessage.state == "queued")).all()
        assert {w.channel for w in waiting} == {"push"}
        assert {w.not_before.astimezone(dt.timezone.utc) for w in waiting} == {  # type: ignore[union-attr]
            dt.datetime(2026, 1, 10, 13, 0, tzinfo=dt.timezone.utc)
        }
    morning = dt.datetime(2026, 1, 10, 13, 5, tzinfo=dt.timezone.utc)
    again = send_outbox(ids, adapter="webhook", settings=settings, now=morning)
    assert again.sent == 2 and {r["body"]["channel"] for r in provider.requests[2:]} == {"push"}


def test_send_time_per_user_from_past_clicks_else_the_campaigns_hour(
    send_settings: Settings, db_url: str, provider: Provider
) -> None:
    from marketing_gen.db.models import Campaign, FeedbackEvent, User

    seed_users(db_url, 2, timezone="Europe/Paris")
    cid, ids = run_to_outbox(db_url, send_settings, channels=("email",))
    with session_scope(db_url) as s:
        s.execute(update(Campaign).values(options={"approval": "none", "send_time": "user", "send_hour": 10}))
        u0 = s.scalar(select(User.id).where(User.external_id == "u0"))
        for day in (1, 2, 3):  # u0 clicks around 19:xx Paris time (17:xx UTC in summer)
            s.add(FeedbackEvent(user_id=u0, channel="email", event="click", dedup_key=f"k{day}",
                                ts=dt.datetime(2026, 6, day, 17, 10, tzinfo=dt.timezone.utc)))  # fmt: skip
    settings = send_settings.model_copy(update={"webhook_url": provider.url, "webhook_secret": SECRET})
    morning = dt.datetime(2026, 6, 10, 8, 15, tzinfo=dt.timezone.utc)  # 10:15 Paris: u1's (campaign) hour
    first = send_outbox(ids, adapter="webhook", settings=settings, now=morning)
    assert (first.sent, first.waiting) == (1, 1) and provider.requests[0]["body"]["user"] == "u1"
    with session_scope(db_url) as s:
        (waiting,) = s.scalars(select(OutboxMessage).where(OutboxMessage.state == "queued")).all()
        assert waiting.not_before.astimezone(dt.timezone.utc) == dt.datetime(  # type: ignore[union-attr]
            2026, 6, 10, 17, 0, tzinfo=dt.timezone.utc
        )  # 19:00 Paris, u0's usual hour
    evening = dt.datetime(2026, 6, 10, 17, 5, tzinfo=dt.timezone.utc)
    assert send_outbox(ids, adapter="webhook", settings=settings, now=evening).sent == 1
    assert provider.requests[1]["body"]["user"] == "u0"
