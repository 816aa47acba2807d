"""The profile join: users ⋈ recommendations ⋈ items ⋈ interaction aggregates → frozen ``UserContext``s.

Owns ``build_contexts``: one SELECT per batch of users (plus one for the brand, and one for push devices on a
channel addressed to devices), plain dataclasses out, no ORM objects; and ``build_brand_facts``, the one
``Brand`` row → ``BrandFacts`` conversion. Which recommendation source wins (``upstream`` imported rows over
``builtin`` ones by default) is decided in SQL, per user. Interests count in-stock items only and the last purchase
prefers an in-stock item: importers mark fee lines (postage, bank charges) out of stock. Does not own the context
dataclasses themselves (``marketing_gen/contexts.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from marketing_gen.channels.base import all_channels, consent_flags, get_channel
from marketing_gen.contexts import BrandFacts, ItemFacts, Offer, PushDevice, UserContext
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Device, Interaction, Item, Recommendation, User
from marketing_gen.errors import InvalidRequest

BATCH = 1000
"""Users per SELECT: a batch of up to this many users costs exactly one query."""

BOILERPLATE = ("make sure this fits by entering your model number",)
"""Seller-copy phrases that say nothing about the item (lower case, compared without trailing dots)."""

_PHRASE_SPLIT = re.compile(r"\s*\|\s*|;\s*|\.(?=\s|$)")
_CATEGORY_SPLIT = re.compile(r"\s*(?:>|\|)\s*")


def build_features(description: str | None, limit: int = 3, max_chars: int = 80) -> tuple[str, ...]:
    """First ``limit`` phrases of a description split on ' | ', '.', ';' — trimmed, boilerplate dropped."""
    if not description:
        return ()
    out: list[str] = []
    for raw in _PHRASE_SPLIT.split(description):
        phrase = " ".join(raw.split()).strip(" .;,-")
        if not phrase or phrase.lower().rstrip(".") in BOILERPLATE:
            continue
        if len(phrase) > max_chars:
            cut = phrase[: max_chars + 1].rsplit(" ", 1)[0]
            phrase = (cut if len(cut) >= max_chars // 2 else phrase[:max_chars]).rstrip(" ,;:-")
        out.append(phrase)
        if len(out) == limit:
            break
    return tuple(out)


def category_leaf(category: str | None) -> str | None:
    """Last segment of a category path ('Home > Kitchen > Mugs' → 'Mugs')."""
    if not category:
        return None
    parts = [p for p in _CATEGORY_SPLIT.split(category.strip()) if p]
    return parts[-1] if parts else None


def value_band(total: float | Decimal | None, purchases: int, bands: tuple[float, float]) -> str:
    """new (no purchase) | low | mid | high by purchase total against ``bands`` (low < bands[0] ≤ mid < bands[1])."""
    if not purchases or total is None:
        return "new"
    if float(total) < bands[0]:
        return "low"
    return "mid" if float(total) < bands[1] else "high"


def _utc(ts: dt.datetime | None) -> dt.datetime | None:
    if ts is not None and ts.tzinfo is None:  # SQLite returns naive datetimes; they are stored as UTC
        return ts.replace(tzinfo=dt.timezone.utc)
    return ts


def _join_query(ids: list[int], k: int, prefer_source: str) -> Select[Any]:
    """users ⋈ purchase aggregates ⋈ last purchase ⋈ top-3 categories ⋈ top-k recommendations ⋈ items."""
    u, x, it, r = User.__table__, Interaction.__table__, Item.__table__, Recommendation.__table__
    is_buy = x.c.event == "purchase"
    amount = func.coalesce(x.c.value, it.c.price * x.c.quantity)
    agg = (
        select(x.c.user_id, func.sum(amount).label("total"), func.count().label("n"))
        .select_from(x.join(it, it.c.id == x.c.item_id))
        .where(is_buy, x.c.user_id.in_(ids))
        .group_by(x.c.user_id)
        .subquery("agg")
    )
    last_ranked = (
        select(
            x.c.user_id,
            it.c.title,
            x.c.ts,
            # In-stock items first: importers mark fee lines (postage) out of stock, and copy should not
            # thank someone for their "Postage".
            func.row_number()
            .over(partition_by=x.c.user_id, order_by=(it.c.in_stock.desc(), x.c.ts.desc(), x.c.id.desc()))
            .label("rn"),
        )
        .select_from(x.join(it, it.c.id == x.c.item_id))
        .where(is_buy, x.c.user_id.in_(ids))
        .subquery("last_ranked")
    )
    last = (
        select(last_ranked.c.user_id, last_ranked.c.title, last_ranked.c.ts)
        .where(last_ranked.c.rn == 1)
        .subquery("lastp")
    )
    cat_counts = (
        select(x.c.user_id, it.c.category, func.count().label("cnt"))
        .select_from(x.join(it, it.c.id == x.c.item_id))
        .where(x.c.user_id.in_(ids), it.c.category.is_not(None), it.c.in_stock.is_(True))
        .group_by(x.c.user_id, it.c.category)
        .subquery("cat_counts")
    )
    cats = select(
        cat_counts.c.user_id,
        cat_counts.c.category,
        func.row_number()
        .over(partition_by=cat_counts.c.user_id, order_by=(cat_counts.c.cnt.desc(), cat_counts.c.category))
        .label("rn"),
    ).cte("cats")
    c1, c2, c3 = cats.alias("c1"), cats.alias("c2"), cats.alias("c3")
    # One source per user: the preferred one when it has a usable row, else the first other source by name.
    usable = (
        select(
            r.c.user_id,
            r.c.item_id,
            r.c.rank,
            r.c.score,
            func.dense_rank()
            .over(partition_by=r.c.user_id, order_by=(case((r.c.source == prefer_source, 0), else_=1), r.c.source))
            .label("src_rank"),
        )
        .select_from(r.join(it, it.c.id == r.c.item_id))
        .where(r.c.user_id.in_(ids), it.c.in_stock.is_(True), it.c.price.is_not(None), it.c.price > 0)
        .subquery("usable")
    )
    ranked = (
        select(
            usable.c.user_id,
            usable.c.item_id,
            usable.c.score,
            func.row_number()
            .over(partition_by=usable.c.user_id, order_by=(usable.c.rank, usable.c.item_id))
            .label("pos"),
        )
        .where(usable.c.src_rank == 1)
        .subquery("ranked")
    )
    recs = select(ranked).where(ranked.c.pos <= k).subquery("recs")
    ri = it.alias("ri")
    return (
        select(
            u.c.id,
            u.c.external_id,
            u.c.first_name,
            u.c.locale,
            u.c.country,
            u.c.email,
            u.c.phone,
            *(u.c[f"consent_{flag}"] for flag in consent_flags()),
            u.c.unsubscribed_channels,
            u.c.suppressed,
            agg.c.total,
            agg.c.n,
            last.c.title.label("last_title"),
            last.c.ts.label("last_ts"),
            c1.c.category.label("cat1"),
            c2.c.category.label("cat2"),
            c3.c.category.label("cat3"),
            recs.c.pos,
            recs.c.score,
            ri.c.id.label("item_id"),
            ri.c.external_id.label("item_external_id"),
            ri.c.title.label("item_title"),
            ri.c.description.label("item_description"),
            ri.c.category.label("item_category"),
            ri.c.price.label("item_price"),
            ri.c.currency.label("item_currency"),
            ri.c.url.label("item_url"),
            ri.c.image_url.label("item_image_url"),
        )
        .select_from(
            u.outerjoin(agg, agg.c.user_id == u.c.id)
            .outerjoin(last, last.c.user_id == u.c.id)
            .outerjoin(c1, and_(c1.c.user_id == u.c.id, c1.c.rn == 1))
            .outerjoin(c2, and_(c2.c.user_id == u.c.id, c2.c.rn == 2))
            .outerjoin(c3, and_(c3.c.user_id == u.c.id, c3.c.rn == 3))
            .outerjoin(recs, recs.c.user_id == u.c.id)
            .outerjoin(ri, ri.c.id == recs.c.item_id)
        )
        .where(u.c.id.in_(ids))
        .order_by(u.c.id, recs.c.pos)
    )


DEFAULT_BRAND = BrandFacts(name="Our store")
"""The brand when the database has none: a neutral name, no discounts and no refunds promised."""


def build_brand_facts(row: Brand) -> BrandFacts:
    """A ``brands`` row → ``BrandFacts``: the one conversion campaign copy and replies both use.

    ``offer_policy`` keys: ``refunds`` (``refund_policy`` is read when ``refunds`` is empty), ``max_discount_pct``
    (anything but a number in 0–100 counts as none, so nothing may be promised), ``allowed_domains``. Empty
    columns get ``DEFAULT_BRAND``'s values.
    """
    policy = row.offer_policy if isinstance(row.offer_policy, dict) else {}
    refunds = str(policy.get("refunds") or policy.get("refund_policy") or "").strip()
    return BrandFacts(
        name=row.name,
        voice=row.voice or DEFAULT_BRAND.voice,
        banned_terms=_strings(row.banned_terms),
        postal_address=row.postal_address or DEFAULT_BRAND.postal_address,
        website_url=row.website_url or None,
        unsubscribe_url_template=row.unsubscribe_url_template or DEFAULT_BRAND.unsubscribe_url_template,
        max_discount_pct=_percent(policy.get("max_discount_pct")),
        refund_policy=refunds or None,
        allowed_domains=_strings(policy.get("allowed_domains")),
        open_tracking=row.open_tracking is not False,
    )


def _strings(value: Any) -> tuple[str, ...]:
    """A JSON list of strings (a lone string counts as one) → a tuple without empty entries."""
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return tuple(str(v).strip() for v in values if str(v).strip())


def _percent(value: Any) -> Decimal | None:
    """A percentage in 0–100, or None for a missing or unusable value (``"ten"``, ``NaN``, ``150``, ``true``)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        pct = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return pct if pct.is_finite() and 0 <= pct <= 100 else None


def load_brand(session: Session) -> BrandFacts:
    """The store's brand (the first ``brands`` row), or ``DEFAULT_BRAND`` when none is configured."""
    row = session.execute(select(Brand).order_by(Brand.id).limit(1)).scalar_one_or_none()
    return DEFAULT_BRAND if row is None else build_brand_facts(row)


def _consent(row: Any) -> frozenset[str]:
    """Granted flags minus the channels the user unsubscribed from; suppressed users have none."""
    if row.suppressed:
        return frozenset()
    granted = {flag for flag in consent_flags() if getattr(row, f"consent_{flag}")}
    specs = all_channels()
    for channel in row.unsubscribed_channels or ():
        if channel == "all":
            return frozenset()
        spec = specs.get(channel)
        granted.discard(spec.consent_flag if spec is not None and spec.consent_flag else channel)
    return frozenset(granted)


def _interests(row: Any) -> tuple[str, ...]:
    leaves = [category_leaf(c) for c in (row.cat1, row.cat2, row.cat3)]
    return tuple(dict.fromkeys(leaf for leaf in leaves if leaf))


def build_contexts(
    user_ids: Sequence[int],
    channel: str,
    *,
    url: str | None = None,
    session: Session | None = None,
    offer: Offer | None = None,
    k: int = 3,
    prefer_source: str = "upstream",
    value_bands: tuple[float, float] = (100.0, 500.0),
) -> list[UserContext]:
    """Contexts for ``user_ids`` (database ids) in their order; unknown ids are left out. One SELECT per batch.

    Items are the top ``k`` recommendations of one source per user — ``prefer_source`` when that user has any
    in-stock priced item from it, else the other source — restricted to in-stock, priced items.
    """
    with_devices = get_channel(channel).address == "device"  # InvalidRequest names the valid channels
    if k < 0:
        raise InvalidRequest(f"k={k} must be ≥ 0")
    ids = list(dict.fromkeys(int(u) for u in user_ids))
    if session is None:
        with session_scope(url) as own:
            return _build(own, ids, offer or Offer(), k, prefer_source, value_bands, with_devices)
    return _build(session, ids, offer or Offer(), k, prefer_source, value_bands, with_devices)


def _devices(session: Session, ids: list[int]) -> dict[int, tuple[PushDevice, ...]]:
    """Each user's push targets, one query for the batch."""
    out: dict[int, list[PushDevice]] = {}
    rows = session.execute(
        select(Device.user_id, Device.platform, Device.token, Device.topic)
        .where(Device.user_id.in_(ids))
        .order_by(Device.user_id, Device.id)
    )
    for uid, platform, token, topic in rows:
        out.setdefault(uid, []).append(PushDevice(platform=platform, token=token, topic=topic))
    return {uid: tuple(d) for uid, d in out.items()}


def _build(
    session: Session,
    ids: list[int],
    offer: Offer,
    k: int,
    prefer_source: str,
    bands: tuple[float, float],
    with_devices: bool = False,
) -> list[UserContext]:
    if not ids:
        return []
    brand = load_brand(session)
    found: dict[int, UserContext] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        rows = session.execute(_join_query(chunk, k, prefer_source)).all()
        devices = _devices(session, chunk) if with_devices else {}
        by_user: dict[int, list[Any]] = {}
        for row in rows:
            by_user.setdefault(row.id, []).append(row)
        for user_id, user_rows in by_user.items():
            head = user_rows[0]
            items = tuple(
                ItemFacts(
                    item_id=row.item_id,
                    external_id=row.item_external_id,
                    title=row.item_title,
                    price=row.item_price,
                    currency=row.item_currency,
                    category=category_leaf(row.item_category),
                    features=build_features(row.item_description),
                    url=row.item_url,
                    image_url=row.item_image_url,
                    rank=int(row.pos),
                    score=float(row.score or 0.0),
                )
                for row in user_rows
                if row.item_id is not None
            )
            found[user_id] = UserContext(
                user_id=user_id,
                external_id=head.external_id,
                first_name=head.first_name,
                locale=head.locale or "en",
                country=head.country,
                brand=brand,
                items=items,
                interests=_interests(head),
                last_purchase=head.last_title,
                last_purchase_at=_utc(head.last_ts),
                value_band=value_band(head.total, int(head.n or 0), bands),
                consent=_consent(head),
                offer=offer,
                email=head.email,
                phone=head.phone,
                devices=devices.get(user_id, ()),
            )
    return [found[i] for i in ids if i in found]
