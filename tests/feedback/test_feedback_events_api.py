"""POST /v1/events through the real app: auth, batch report, duplicates counted once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from marketing_gen.api import create_app
from marketing_gen.config import get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Draft, FeedbackEvent
from marketing_gen.feedback.simulate import seed_simulated_campaign

AUTH = {"Authorization": "Bearer test-token"}


def test_post_events_batch_reports_and_dedups(settings_env: None) -> None:
    url = get_settings().database_url
    cid = seed_simulated_campaign(2, url=url)
    with session_scope(url) as s:
        d1, d2 = s.scalars(select(Draft.id).where(Draft.campaign_id == cid).order_by(Draft.id)).all()
    batch = [
        {"draft_id": d1, "event": "sent", "timestamp": "2026-11-01T09:00:00Z"},
        {"draft_id": d1, "event": "click", "timestamp": "2026-11-01T09:05:00Z"},
        {"draft_id": d2, "event": "open", "timestamp": "2026-11-01T09:06:00Z", "esp": "acme"},
        {"draft_id": 987654, "event": "open", "timestamp": "2026-11-01T09:06:00Z"},
        {"draft_id": d2, "event": "teleport", "timestamp": "2026-11-01T09:06:00Z"},
    ]
    client = TestClient(create_app())
    assert client.post("/v1/events", json=batch).status_code == 401
    assert client.post("/v1/events", json=batch, headers={"Authorization": "Bearer wrong"}).status_code == 401
    res = client.post("/v1/events", json=batch, headers=AUTH)
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["recorded"], body["duplicates"], body["unknown_drafts"], body["rejected"]) == (3, 0, 1, 1)
    again = client.post("/v1/events", json=batch[:3], headers=AUTH).json()
    assert (again["recorded"], again["duplicates"]) == (0, 3)
    with session_scope(url) as s:
        assert s.scalar(select(func.count()).select_from(FeedbackEvent)) == 3
        extra = s.scalar(select(FeedbackEvent.payload).where(FeedbackEvent.event == "open"))
        assert extra == {"esp": "acme"}
    assert client.post("/v1/events", json={"draft_id": d1}, headers=AUTH).status_code == 422
