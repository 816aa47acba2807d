"""POST /v1/events: batched outcome events from an ESP / ad platform webhook relay (bearer-token auth).

The body is a JSON list of event objects (the same fields as ``marketing-gen import events``). Bad rows do not
fail the batch: the answer is the ingestion report, with duplicates, unknown drafts and rejected rows counted.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from marketing_gen.api.auth import require_token
from marketing_gen.feedback.events import ingest_events

MAX_EVENTS = 5000
"""Events per request; send larger batches in several requests."""

router = APIRouter(prefix="/v1", tags=["feedback"], dependencies=[Depends(require_token)])


@router.post("/events")
def post_events(
    request: Request,
    events: list[dict[str, Any]] = Body(  # noqa: B008
        ...,
        max_length=MAX_EVENTS,
        examples=[[{"draft_id": 42, "event": "click", "timestamp": "2026-11-01T10:00:00Z"}]],
    ),
) -> dict[str, Any]:
    """Record a batch of events: draft_id (or campaign_id + user_id + channel + variant), event, timestamp, value."""
    return ingest_events(events, url=request.app.state.settings.database_url).to_dict()
