"""What a reply may know, loaded from the database: brand rules, the item in question, the user's recent orders.

Owns the small read-only queries behind ``--item`` / ``--user`` (CLI), ``item_id`` / ``user_id`` (API) and the
batch task, and ``load_reply_plan``: load those facts, then plan the reply — the one path all three faces take.
ORM rows never leave this module: callers get frozen ``BrandFacts`` / ``ItemFacts`` and a plain mapping of order
facts. Does not convert the brand row (``recommend.contexts.build_brand_facts``) nor plan replies
(``suggest.plan_replies``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select

from marketing_gen.contexts import BrandFacts, ItemFacts
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Interaction, Item, User
from marketing_gen.errors import NotFound
from marketing_gen.recommend.contexts import DEFAULT_BRAND, build_brand_facts
from marketing_gen.replies.suggest import ReplyPlan, plan_replies


def load_brand_facts(url: str | None = None, name: str | None = None) -> BrandFacts:
    """The named brand (or the first one) from the database; ``DEFAULT_BRAND`` when there is none."""
    with session_scope(url) as session:
        stmt = select(Brand).order_by(Brand.id)
        if name is not None:
            stmt = stmt.where(Brand.name == name)
        row = session.scalars(stmt.limit(1)).first()
        if row is None:
            if name is not None:
                raise NotFound(f"brand {name!r} not found: add it to the brands table")
            return DEFAULT_BRAND
        return build_brand_facts(row)


def _item_facts(item: Item) -> ItemFacts:
    attrs = item.attributes or {}
    features = attrs.get("features") or ()
    return ItemFacts(
        item_id=item.id,
        external_id=item.external_id,
        title=item.title,
        price=item.price,
        currency=item.currency,
        category=item.category,
        features=tuple(str(f)[:120] for f in features)[:5] if isinstance(features, (list, tuple)) else (),
        url=item.url,
        image_url=item.image_url,
    )


def load_item_facts(ref: str, url: str | None = None) -> ItemFacts:
    """An item by database id, external id or product URL."""
    with session_scope(url) as session:
        conditions = [Item.external_id == ref, Item.url == ref]
        if ref.isdigit():
            conditions.append(Item.id == int(ref))
        item = session.scalars(select(Item).where(or_(*conditions)).limit(1)).first()
        if item is None:
            raise NotFound(f"item {ref!r} not found (give a database id, an external id or the product URL)")
        return _item_facts(item)


def load_order_facts(user_ref: str, url: str | None = None, limit: int = 3) -> dict[str, str]:
    """The user's most recent purchases (title and date), as facts a reply may mention."""
    with session_scope(url) as session:
        conditions = [User.external_id == user_ref]
        if user_ref.isdigit():
            conditions.append(User.id == int(user_ref))
        user = session.scalars(select(User).where(or_(*conditions)).limit(1)).first()
        if user is None:
            raise NotFound(f"user {user_ref!r} not found (give a database id or an external id)")
        rows = session.execute(
            select(Item.title, Interaction.ts)
            .join(Item, Item.id == Interaction.item_id)
            .where(Interaction.user_id == user.id, Interaction.event == "purchase")
            .order_by(Interaction.ts.desc())
            .limit(limit)
        ).all()
        facts: dict[str, str] = {}
        for i, (title, ts) in enumerate(rows, start=1):
            facts[f"purchase {i}"] = f"{title[:80]} on {ts:%Y-%m-%d}"
        if not facts:
            facts["purchases"] = "none on record"
        return facts


def load_reply_plan(
    text: str,
    *,
    brand: BrandFacts,
    url: str | None = None,
    item_ref: str | None = None,
    user_ref: str | None = None,
    history: Sequence[tuple[str, str]] = (),
    k: int = 3,
    m: int = 8,
    seed: int = 0,
) -> ReplyPlan:
    """Load the item in question and the user's recent orders (when referred to), then plan the reply.

    NotFound when a reference matches nothing; InvalidRequest for a bad text, k or m. The API, the batch task and
    ``replies suggest`` all call this, so a reply is planned from the same facts whichever face asked.
    """
    item = load_item_facts(item_ref, url) if item_ref else None
    orders = load_order_facts(user_ref, url) if user_ref else None
    return plan_replies(text, brand=brand, item=item, order_facts=orders, history=history, k=k, m=m, seed=seed)
