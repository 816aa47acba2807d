"""Feedback test helpers (imported by the tests beside it): a small store with drafts and their outcome events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Campaign, Draft, Item, Recommendation, User
from marketing_gen.feedback.events import ingest_events

SENT_AT = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)
"""When the test campaigns were sent."""


def email_fields(user: int, variant: int) -> dict[str, str]:
    """Email copy that names the recommended item and its real price."""
    return {
        "subject": f"Your mug, user {user} v{variant}",
        "preheader": "A mug for slow mornings, at its usual price",
        "headline": "Meet the Blue Mug",
        "body": "The Blue Mug holds 350 ml and costs £8.50.",
        "cta": "See the mug",
    }


def make_store(
    url: str, n_users: int, variants_of: dict[int, tuple[int, ...]] | None = None
) -> tuple[int, dict[tuple[int, int], int]]:
    """Brand, one item, users recommended it, a campaign and drafts; returns (campaign, (user#, var) → draft)."""
    variants_of = variants_of or {}
    with session_scope(url) as s:
        s.add(Brand(name="Mugs & Co", postal_address="1 High St, London"))
        item = Item(
            external_id="sku-1",
            title="Blue Mug",
            price=Decimal("8.50"),
            currency="GBP",
            description="Holds 350 ml. Dishwasher safe.",
            url="https://shop.example/mug",
        )
        s.add(item)
        camp = Campaign(name="mugs", channels=["email"], variants=2, state="done")
        s.add(camp)
        s.flush()
        drafts: dict[tuple[int, int], int] = {}
        for i in range(n_users):
            u = User(external_id=f"u{i}", first_name=f"Ann{i}", email=f"a{i}@example.com", consent_email=True)
            s.add(u)
            s.flush()
            s.add(Recommendation(user_id=u.id, item_id=item.id, rank=1, score=1.0, source="builtin"))
            for v in variants_of.get(i, (i % 2,)):
                d = Draft(
                    campaign_id=camp.id,
                    user_id=u.id,
                    channel="email",
                    variant=v,
                    status="queued",
                    idempotency_key=f"{camp.id}:{u.id}:email:{v}",
                    fields=email_fields(i, v),
                )
                s.add(d)
                s.flush()
                drafts[(i, v)] = d.id
        return camp.id, drafts


def add_events(url: str, drafts: dict[tuple[int, int], int], spec: dict[tuple[int, int], tuple[str, ...]]) -> None:
    """A 'sent' event for every draft, then the events in ``spec`` a minute apart."""
    rows = []
    for key, draft_id in drafts.items():
        rows.append({"draft_id": draft_id, "event": "sent", "timestamp": SENT_AT})
        for n, ev in enumerate(spec.get(key, ())):
            rows.append({"draft_id": draft_id, "event": ev, "timestamp": SENT_AT + dt.timedelta(minutes=n + 1)})
    assert ingest_events(rows, url=url).rejected == 0
