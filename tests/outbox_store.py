"""A small store taken through the real pipeline steps (plan → generate with ``ScriptedEngine`` → render →
outbox) so delivery tests send real rendered messages."""

from __future__ import annotations

from collections.abc import Sequence

from fakes import ScriptedEngine
from sqlalchemy import select

from marketing_gen.campaigns.pipeline import deliver_drafts, generate_drafts, plan_campaign, render_drafts
from marketing_gen.campaigns.state import create_campaign
from marketing_gen.config import Settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Device, Draft, Item, OutboxMessage, Recommendation, User


def seed_users(url: str, n: int, *, timezone: str | None = None) -> None:
    """A brand, two items and ``n`` users with email, SMS and push consent, a push device and recommendations."""
    with session_scope(url) as s:
        s.add(Brand(name="Acme", postal_address="1 High St, Leeds LS1 1AA, UK", website_url="https://shop.example"))
        items = [
            Item(
                external_id=f"sku{j}",
                title=f"Enamel Pan {j}",
                category="Kitchen > Cookware",
                price=25 + j,
                currency="GBP",
                url=f"https://shop.example/p/sku{j}",
                description="Cast iron. Oven safe.",
            )
            for j in range(2)
        ]
        users = [
            User(
                external_id=f"u{i}",
                email=f"u{i}@example.com",
                phone=f"+4477009000{i:02d}",
                first_name="Ann",
                locale="en",
                country="United Kingdom",
                timezone=timezone,
                consent_email=True,
                consent_sms=True,
                consent_push=True,
                consent_ads=True,
            )
            for i in range(n)
        ]
        s.add_all([*items, *users])
        s.flush()
        s.add_all([Recommendation(user_id=u.id, item_id=items[0].id, rank=1, score=1.0) for u in users])
        s.add_all([Device(user_id=u.id, platform="fcm", token=f"fcm-{u.external_id}-" + "t" * 32) for u in users])


def run_to_outbox(
    url: str, settings: Settings, channels: Sequence[str] = ("email",), *, approval: str = "none"
) -> tuple[int, list[int]]:
    """Create a campaign and run every step in-process; returns (campaign id, outbox ids) — no outbox rows when
    approval is required (the drafts wait in ``in_review``)."""
    cid = create_campaign(
        name="Spring", channels=list(channels), url=url, options={"max_regenerations": 0}, approval=approval
    )
    _, work = plan_campaign(cid, settings=settings)
    engine = ScriptedEngine(default="")  # empty answers: the template fallback writes checked copy
    generated = generate_drafts([i for b in work.generate for i in b], engine, settings=settings)
    ready = render_drafts(generated, settings=settings)
    deliver_drafts(ready, settings=settings)
    with session_scope(url) as s:
        q = select(OutboxMessage.id).where(OutboxMessage.campaign_id == cid).order_by(OutboxMessage.id)
        ids = list(s.scalars(q))
    return cid, ids


def draft_ids(url: str, campaign_id: int, status: str | None = None) -> list[int]:
    """The campaign's drafts (optionally in one status), by id."""
    with session_scope(url) as s:
        q = select(Draft.id).where(Draft.campaign_id == campaign_id).order_by(Draft.id)
        if status:
            q = q.where(Draft.status == status)
        return list(s.scalars(q))
