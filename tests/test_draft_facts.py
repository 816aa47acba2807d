"""Render what was checked: the generate step stores the items, offer and link targets on the draft, and render,
a reviewer's edit and the review page's grounding read them back — a change of recommendations (or of a price)
between generate and render changes nothing in what the user receives."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from fakes import ScriptedEngine
from outbox_store import seed_users
from sqlalchemy import event, select, update

from marketing_gen.campaigns.draft_facts import build_draft_facts, context_from_facts
from marketing_gen.campaigns.pipeline import deliver_drafts, generate_drafts, plan_campaign, render_drafts
from marketing_gen.campaigns.state import create_campaign
from marketing_gen.config import get_settings
from marketing_gen.contexts import BrandFacts, ItemFacts, Offer, PushDevice, UserContext
from marketing_gen.db import get_engine, session_scope
from marketing_gen.db.models import Draft, Item, OutboxMessage, Recommendation
from marketing_gen.review.present import grounding
from marketing_gen.review.workflow import edit_draft, list_drafts
from marketing_gen.tokens import verify_token

OFFER = {"offer_text": "Spring sale", "discount_pct": 10, "offer_code": "SPRING10", "offer_ends": "2026-12-31"}


def _generate(url: str, channels: tuple[str, ...], approval: str = "none") -> tuple[int, list[int]]:
    """A campaign planned and generated (not rendered) for the seeded users; (campaign id, generated draft ids)."""
    cid = create_campaign(
        name="Spring", channels=list(channels), url=url, **OFFER, options={"max_regenerations": 0}, approval=approval
    )
    _, work = plan_campaign(cid, settings=get_settings())
    generated = generate_drafts(
        [i for b in work.generate for i in b], ScriptedEngine(default=""), settings=get_settings()
    )
    assert generated
    return cid, generated


def _swap_recommendations(url: str) -> None:
    """After generate: every user is now recommended sku1 instead of sku0, and sku0's price changed."""
    with session_scope(url) as s:
        sku0, sku1 = (s.scalar(select(Item.id).where(Item.external_id == e)) for e in ("sku0", "sku1"))
        s.execute(update(Recommendation).where(Recommendation.item_id == sku0).values(item_id=sku1))
        s.execute(update(Item).where(Item.id == sku0).values(price=99))


@contextmanager
def _statements(url: str) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()).lower())

    engine = get_engine(url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _click_targets(text: str) -> set[str]:
    import re

    settings = get_settings()
    prefix = settings.public_base_url.rstrip("/") + "/c/"
    tokens = re.findall(re.escape(prefix) + r"([A-Za-z0-9_.\-]+)", text)
    return {verify_token(t, settings, purpose="click")["url"] for t in tokens}


def test_facts_round_trip_to_the_same_context() -> None:
    ctx = UserContext(
        user_id=7,
        external_id="u7",
        first_name="Zoë",
        locale="de-DE",
        country="Germany",
        brand=BrandFacts(name="Acme", max_discount_pct=Decimal("15"), allowed_domains=("cdn.example",)),
        items=(
            ItemFacts(
                1,
                "sku1",
                "Pan",
                Decimal("24.90"),
                "EUR",
                "Cookware",
                ("Cast iron",),
                "https://s/p/1",
                "https://s/i/1",
                1,
                0.5,
            ),
        ),
        interests=("Cookware",),
        last_purchase="Lid",
        last_purchase_at=dt.datetime(2026, 5, 1, 12, tzinfo=dt.timezone.utc),
        value_band="mid",
        consent=frozenset({"email", "push"}),
        offer=Offer(text="Sale", discount_pct=Decimal("10"), code="X", ends_at=dt.date(2026, 12, 31)),
        email="zoe@example.de",
        phone="+4915100000000",
        devices=(PushDevice("fcm", "tok"),),
    )
    facts = build_draft_facts(ctx, get_settings())
    assert context_from_facts(facts) == ctx
    assert facts["links"]["landing"] == "https://s/p/1" and facts["items"][0]["price"] == "24.90"


def test_render_uses_the_items_the_copy_was_checked_against(settings_env: None, db_url: str) -> None:
    seed_users(db_url, 3)
    cid, generated = _generate(db_url, ("email", "push"))
    with session_scope(db_url) as s:
        facts = list(s.scalars(select(Draft.facts).where(Draft.id.in_(generated))))
    assert len(facts) == len(generated)
    assert all([i["external_id"] for i in f["items"]] == ["sku0"] and f["items"][0]["price"] == "25.00" for f in facts)
    assert all(
        f["offer"]["code"] == "SPRING10" and f["links"]["landing"] == "https://shop.example/p/sku0" for f in facts
    )

    _swap_recommendations(db_url)
    with _statements(db_url) as seen:
        ready = render_drafts(generated, settings=get_settings())
    assert sorted(ready) == sorted(generated)
    # one read of the drafts' rows for the whole batch (the campaign's completion count aside), and no join of
    # today's recommendations or catalog
    reads = [q for q in seen if q.startswith("select") and " from drafts" in q and "count(" not in q]
    assert len(reads) == 1 and "drafts.facts" in reads[0], reads
    assert not [q for q in seen if "recommendations" in q or " items" in q], seen

    with session_scope(db_url) as s:
        rendered = dict(s.execute(select(Draft.channel, Draft.rendered).where(Draft.id.in_(generated))).all())
    email = rendered["email"]["data"]
    assert "Enamel Pan 0" in email["html"] and "Enamel Pan 1" not in email["html"]
    assert "£25.00" in email["text"] and "£99.00" not in email["text"]  # the price the copy was checked on
    assert _click_targets(email["html"]) == {"https://shop.example/p/sku0"}
    push = rendered["push"]["data"]
    assert _click_targets(str(push["fcm"])) == {"https://shop.example/p/sku0"}

    with _statements(db_url) as seen:  # deliver, too, reads the drafts (and their artifacts) once per batch
        assert sorted(deliver_drafts(ready, settings=get_settings())) == sorted(ready)
    reads = [q for q in seen if q.startswith("select") and " from drafts" in q and "count(" not in q]
    assert len(reads) == 1 and "drafts.rendered" in reads[0], reads
    with session_scope(db_url) as s:
        payloads = dict(s.execute(select(OutboxMessage.channel, OutboxMessage.payload)).all())
    assert payloads["email"] == rendered["email"] and payloads["push"] == rendered["push"]


def test_draft_without_stored_facts_renders_from_todays_data_with_a_warning(
    settings_env: None, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    seed_users(db_url, 2)
    _, generated = _generate(db_url, ("email",))
    with session_scope(db_url) as s:  # drafts generated before migration 0007 stored no facts
        s.execute(update(Draft).where(Draft.id.in_(generated)).values(facts=None))
    _swap_recommendations(db_url)
    with caplog.at_level(logging.WARNING, logger="marketing_gen.campaigns.draft_facts"):
        assert sorted(render_drafts(generated, settings=get_settings())) == sorted(generated)
    assert "carry no stored facts" in caplog.text and "regenerate them" in caplog.text
    with session_scope(db_url) as s:
        html = s.scalars(select(Draft.rendered).where(Draft.id == generated[0])).one()["data"]["html"]
    assert "Enamel Pan 1" in html  # rebuilt: today's recommendation, as the warning says


def test_review_grounding_and_edits_use_the_stored_facts(settings_env: None, db_url: str) -> None:
    seed_users(db_url, 2)
    cid, generated = _generate(db_url, ("email",), approval="required")
    render_drafts(generated, settings=get_settings())
    _swap_recommendations(db_url)

    rows, _ = list_drafts(cid, url=db_url)
    ground = grounding(cid, rows, url=db_url)
    for d in rows:
        g = ground[d["id"]]
        assert g["source"] == "stored" and [(i["id"], i["title"], i["price"]) for i in g["items"]] == [
            ("sku0", "Enamel Pan 0", "25.00 GBP")
        ]
        assert g["offer"]["code"] == "SPRING10"

    # a reviewer's edit is checked and rendered against the stored facts: naming the item the copy was written
    # about (no longer recommended today) passes, and the re-render still links to it
    target = rows[0]["id"]
    outcome = edit_draft(target, {"subject": "Enamel Pan 0, picked for you"}, actor="rev", settings=get_settings())
    assert outcome.accepted, outcome.findings
    with session_scope(db_url) as s:
        html = s.get(Draft, target).rendered["data"]["html"]
    assert _click_targets(html) == {"https://shop.example/p/sku0"}

    # a draft from before facts were stored: today's items, labelled as rebuilt
    with session_scope(db_url) as s:
        s.get(Draft, rows[1]["id"]).facts = None
    rows, _ = list_drafts(cid, url=db_url)
    legacy = grounding(cid, rows, url=db_url)[rows[1]["id"]]
    assert legacy["source"] == "rebuilt" and [i["id"] for i in legacy["items"]] == ["sku1"]
