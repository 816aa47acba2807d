"""build_contexts: field values, one SELECT per batch, upstream precedence, no ORM objects out."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from marketing_gen.contexts import BrandFacts, ItemFacts, Offer, UserContext
from marketing_gen.db import get_engine, session_scope
from marketing_gen.db.models import Base, Brand, Interaction, Item, Recommendation, User
from marketing_gen.errors import InvalidRequest
from marketing_gen.recommend import build_contexts
from marketing_gen.recommend.contexts import DEFAULT_BRAND, build_features, category_leaf, load_brand, value_band
from marketing_gen.replies.context import load_brand_facts

T0 = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.timezone.utc)
AMAZON = (
    "Make sure this fits by entering your model number. | Durable stainless steel body; dishwasher safe | "
    "Keeps drinks cold for 24 hours and hot for twelve hours, even on the longest and most demanding hikes outside"
    " | Lifetime warranty"
)


def seed(url: str, *, brand: bool = True) -> dict[str, int]:
    """Three users with history, one without; items with and without stock / price; builtin + upstream recs."""
    with session_scope(url) as s:
        if brand:
            s.add(
                Brand(
                    name="Acme Outdoors",
                    voice="warm",
                    banned_terms=["cheap"],
                    postal_address="1 Main St",
                    offer_policy={"max_discount_pct": 10, "refunds": "30 days", "allowed_domains": ["acme.example"]},
                )
            )
        s.add_all(
            [
                User(
                    external_id="ann",
                    first_name="Ann",
                    locale="en-GB",
                    country="United Kingdom",
                    email="ann@example.com",
                    consent_email=True,
                    consent_sms=True,
                    consent_ads=True,
                    unsubscribed_channels=["sms"],
                ),
                User(external_id="bob", first_name="Bob", consent_push=True),
                User(external_id="cat", first_name=None, locale="fr", consent_email=True, suppressed=True),
                User(external_id="dan", first_name="Dan"),
            ]
        )
        items = [
            Item(
                external_id="bottle",
                title="Steel Bottle",
                description=AMAZON,
                category="Sports > Outdoors > Bottles",
                price=Decimal("24.99"),
                currency="USD",
            ),
            Item(
                external_id="tent",
                title="Tent",
                description="Two-person. Waterproof; light",
                category="Sports > Camping",
                price=Decimal("120.00"),
                currency="USD",
            ),
            Item(
                external_id="stove", title="Stove", category="Sports > Camping", price=Decimal("40.00"), in_stock=False
            ),
            Item(external_id="map", title="Map", category="Books > Maps", price=None),
            Item(external_id="lamp", title="Lamp", category="Sports > Camping", price=Decimal("15.50"), currency="USD"),
            Item(external_id="mug", title="Mug", category="Home > Kitchen", price=Decimal("8.00"), currency="USD"),
        ]
        s.add_all(items)
        s.flush()
        u = {x.external_id: x.id for x in s.scalars(select(User))}
        i = {x.external_id: x.id for x in s.scalars(select(Item))}

        def buy(user: str, item: str, days: int, value: float | None = None, quantity: int = 1) -> Interaction:
            return Interaction(
                user_id=u[user],
                item_id=i[item],
                event="purchase",
                value=value,
                quantity=quantity,
                ts=T0 + dt.timedelta(days=days),
            )

        s.add_all(
            [
                buy("ann", "tent", 0, value=120.0),
                buy("ann", "lamp", 1, quantity=4),  # no value: price × quantity = 62.00
                buy("ann", "mug", 2, value=8.0),  # last purchase of an in-stock item
                buy("ann", "stove", 3, value=0.0),  # later, but out of stock (the way fee lines are imported)
                Interaction(user_id=u["ann"], item_id=i["stove"], event="view", ts=T0),
                Interaction(user_id=u["ann"], item_id=i["bottle"], event="view", ts=T0),
                Interaction(user_id=u["ann"], item_id=i["map"], event="view", ts=T0),
                buy("bob", "bottle", 0, value=24.99),
                buy("cat", "tent", 0, value=600.0),
            ]
        )

        def rec(user: str, item: str, rank: int, source: str) -> Recommendation:
            return Recommendation(user_id=u[user], item_id=i[item], rank=rank, score=1.0 / rank, source=source)

        s.add_all(
            [
                rec("ann", "stove", 1, "builtin"),  # out of stock: skipped
                rec("ann", "bottle", 2, "builtin"),
                rec("ann", "map", 3, "builtin"),  # no price: skipped
                rec("ann", "tent", 4, "builtin"),
                rec("ann", "lamp", 5, "builtin"),
                rec("ann", "mug", 6, "builtin"),
                rec("bob", "lamp", 1, "builtin"),
                rec("bob", "tent", 2, "builtin"),
                rec("bob", "mug", 1, "upstream"),
                rec("bob", "stove", 2, "upstream"),  # out of stock: skipped, upstream still wins for bob
                rec("cat", "stove", 1, "upstream"),  # only unusable upstream rows: builtin used instead
                rec("cat", "lamp", 1, "builtin"),
            ]
        )
    return u


def test_fields(any_db_url):
    u = seed(any_db_url)
    offer = Offer(text="10% off tents", discount_pct=Decimal("10"))
    ann, bob, cat = build_contexts([u["ann"], u["bob"], u["cat"]], "email", url=any_db_url, offer=offer)
    assert (ann.external_id, ann.first_name, ann.locale, ann.country) == ("ann", "Ann", "en-GB", "United Kingdom")
    assert ann.email == "ann@example.com"
    assert ann.consent == frozenset({"email", "ads"})  # sms granted but unsubscribed
    assert bob.consent == frozenset({"push"}) and cat.consent == frozenset()  # cat is suppressed
    assert [i.external_id for i in ann.items] == ["bottle", "tent", "lamp"]  # k=3 of the in-stock, priced rows
    bottle = ann.items[0]
    assert bottle == ItemFacts(
        item_id=bottle.item_id,
        external_id="bottle",
        title="Steel Bottle",
        price=Decimal("24.99"),
        currency="USD",
        category="Bottles",
        features=(
            "Durable stainless steel body",
            "dishwasher safe",
            "Keeps drinks cold for 24 hours and hot for twelve hours, even on the longest and",
        ),
        rank=1,
        score=0.5,
    )
    assert [i.rank for i in ann.items] == [1, 2, 3]
    # Camping ×2 (tent, lamp; the stove is out of stock), then ties of one broken by category path.
    assert ann.interests == ("Camping", "Maps", "Kitchen")
    assert ann.last_purchase == "Mug" and ann.last_purchase_at == T0 + dt.timedelta(days=2)
    assert ann.value_band == "mid"  # 120 + 4 × 15.50 + 8 = 190
    assert bob.value_band == "low" and cat.value_band == "high"
    assert ann.offer is offer
    assert ann.brand == BrandFacts(
        name="Acme Outdoors",
        voice="warm",
        banned_terms=("cheap",),
        postal_address="1 Main St",
        max_discount_pct=Decimal("10"),
        refund_policy="30 days",
        allowed_domains=("acme.example",),
    )


def test_user_without_history_and_missing_users(db_url):
    u = seed(db_url, brand=False)
    contexts = build_contexts([999, u["dan"], u["ann"], 998], "sms", url=db_url)
    assert [c.external_id for c in contexts] == ["dan", "ann"]  # unknown ids absent, order kept
    dan = contexts[0]
    assert (dan.items, dan.interests, dan.last_purchase, dan.value_band) == ((), (), None, "new")
    assert dan.brand == BrandFacts(name="Our store") and dan.offer == Offer()


@pytest.mark.parametrize(
    ("policy", "max_pct", "refunds", "domains"),
    [
        ({"refund_policy": "14 days", "refunds": "30 days", "max_discount_pct": "ten"}, None, "30 days", ()),
        ({"refund_policy": " 14 days ", "max_discount_pct": 150, "allowed_domains": None}, None, "14 days", ()),
        ({"refunds": "", "max_discount_pct": "NaN", "allowed_domains": "acme.example"}, None, None, ("acme.example",)),
        ({"max_discount_pct": True, "allowed_domains": ["acme.example", ""]}, None, None, ("acme.example",)),
        ({"max_discount_pct": " 12.5 "}, Decimal("12.5"), None, ()),
    ],
)
def test_campaigns_and_replies_read_one_brand_the_same_way(db_url, policy, max_pct, refunds, domains):
    """One converter: the campaign join and the reply loaders give equal facts, odd policy values included."""
    with session_scope(db_url) as s:
        s.add(Brand(name="Acme", voice="", banned_terms=["cheap", " "], offer_policy=policy))
    with session_scope(db_url) as s:
        campaign_side = load_brand(s)
    assert campaign_side == load_brand_facts(db_url)
    assert campaign_side.max_discount_pct == max_pct  # unusable discounts promise nothing
    assert campaign_side.refund_policy == refunds  # `refunds` wins over the older `refund_policy`
    assert campaign_side.allowed_domains == domains
    assert campaign_side.voice == DEFAULT_BRAND.voice and campaign_side.banned_terms == ("cheap",)


def test_no_brand_row_gives_the_same_default_on_both_sides(db_url):
    with session_scope(db_url) as s:
        assert load_brand(s) == load_brand_facts(db_url) == DEFAULT_BRAND


def test_upstream_precedence(db_url):
    u = seed(db_url)
    bob, cat = build_contexts([u["bob"], u["cat"]], "push", url=db_url)
    assert [i.external_id for i in bob.items] == ["mug"]  # upstream wins, even with fewer items
    assert [i.external_id for i in cat.items] == ["lamp"]  # upstream rows unusable: builtin
    (bob,) = build_contexts([u["bob"]], "push", url=db_url, prefer_source="builtin")
    assert [i.external_id for i in bob.items] == ["lamp", "tent"]


def test_one_select_per_batch_and_no_orm_objects(any_db_url):
    u = seed(any_db_url)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(statement)

    engine = get_engine(any_db_url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        contexts = build_contexts(list(u.values()), "email", url=any_db_url, k=5)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(contexts) == 4
    assert len(statements) == 2  # the brand row + the join
    for ctx in contexts:
        assert isinstance(ctx, UserContext)
        for value in _walk(ctx):
            assert not isinstance(value, Base)
        with pytest.raises(dataclasses.FrozenInstanceError):
            ctx.first_name = "x"  # type: ignore[misc]


def _walk(obj):
    yield obj
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from _walk(getattr(obj, f.name))
    elif isinstance(obj, (tuple, frozenset, list)):
        for x in obj:
            yield from _walk(x)


def test_bad_channel_is_a_client_error(db_url):
    with pytest.raises(InvalidRequest, match="channel"):
        build_contexts([1], "fax", url=db_url)


def test_session_argument_reuses_the_callers_transaction(db_url):
    u = seed(db_url)
    with session_scope(db_url) as s:
        (ann,) = build_contexts([u["ann"]], "email", session=s, k=1)
    assert [i.external_id for i in ann.items] == ["bottle"]


def test_helpers():
    assert build_features(None) == ()
    assert build_features("Make sure this fits by entering your model number.") == ()
    assert build_features("Waterproof. Light; Warm | Packs small") == ("Waterproof", "Light", "Warm")
    assert build_features("Fits 2.5 inch drives. Silent") == ("Fits 2.5 inch drives", "Silent")
    assert all(len(f) <= 80 for f in build_features("word " * 50))
    assert category_leaf("Home & Kitchen > Kitchen > Mugs") == "Mugs"
    assert category_leaf("Toys | Games") == "Games" and category_leaf(None) is None
    assert value_band(None, 0, (100, 500)) == "new"
    assert [value_band(t, 1, (100, 500)) for t in (50, 100, 499, 500)] == ["low", "mid", "mid", "high"]
