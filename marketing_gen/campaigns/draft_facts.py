"""What a draft was written and checked against, stored on the draft (``drafts.facts``, JSON) by the generate step.

The facts are the user's ``UserContext`` as the prompt and the guardrails saw it — the exact items (ids, titles,
prices, URLs, image URLs), the campaign's offer, the brand — plus the link targets a rendered piece may point to
(the landing page and the item pages). Render, a reviewer's edit, the review page's grounding panel and the click
redirect read them back instead of joining today's recommendations again: when recommendations change between
generate and render, the email still shows and links to the items its checked copy names.

Drafts generated before the facts were stored (``facts`` is NULL) are handled by the caller: the render step and a
reviewer's edit rebuild the context from the database with a logged warning (``legacy_contexts``); the review page
labels such grounding as rebuilt; the click route allows only the URLs of the rendered artifact.
Owns the JSON shape (``FACTS_VERSION``); does not own the join (``recommend.build_contexts``) or rendering.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from marketing_gen.config import Settings
from marketing_gen.contexts import BrandFacts, ItemFacts, Offer, PushDevice, UserContext
from marketing_gen.errors import InvalidRequest
from marketing_gen.render import landing_url

log = logging.getLogger(__name__)

FACTS_VERSION = 1
"""Version of the stored JSON shape; ``context_from_facts`` refuses any other."""


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _item_json(item: ItemFacts) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "external_id": item.external_id,
        "title": item.title,
        "price": _dec(item.price),
        "currency": item.currency,
        "category": item.category,
        "features": list(item.features),
        "url": item.url,
        "image_url": item.image_url,
        "rank": item.rank,
        "score": item.score,
    }


def _offer_json(offer: Offer) -> dict[str, Any]:
    return {
        "text": offer.text,
        "discount_pct": _dec(offer.discount_pct),
        "amount_off": _dec(offer.amount_off),
        "code": offer.code,
        "ends_at": offer.ends_at.isoformat() if offer.ends_at else None,
    }


def _brand_json(brand: BrandFacts) -> dict[str, Any]:
    return {
        "name": brand.name,
        "voice": brand.voice,
        "banned_terms": list(brand.banned_terms),
        "postal_address": brand.postal_address,
        "website_url": brand.website_url,
        "unsubscribe_url_template": brand.unsubscribe_url_template,
        "max_discount_pct": _dec(brand.max_discount_pct),
        "refund_policy": brand.refund_policy,
        "allowed_domains": list(brand.allowed_domains),
        "open_tracking": brand.open_tracking,
    }


def link_targets(context: UserContext, settings: Settings) -> dict[str, Any]:
    """The pages a piece written for ``context`` may link to: ``landing`` (the first item's page, else the brand's
    site, else ``public_base_url``) and ``items`` (each item's page), as the renderers choose them."""
    return {"landing": landing_url(context, settings), "items": [i.url for i in context.items if i.url]}


def build_draft_facts(context: UserContext, settings: Settings) -> dict[str, Any]:
    """The JSON a draft stores of what its copy was written and checked against (see the module docstring)."""
    return {
        "version": FACTS_VERSION,
        "user": {
            "user_id": context.user_id,
            "external_id": context.external_id,
            "first_name": context.first_name,
            "locale": context.locale,
            "country": context.country,
            "interests": list(context.interests),
            "last_purchase": context.last_purchase,
            "last_purchase_at": context.last_purchase_at.isoformat() if context.last_purchase_at else None,
            "value_band": context.value_band,
            "consent": sorted(context.consent),
            "email": context.email,
            "phone": context.phone,
            "devices": [{"platform": d.platform, "token": d.token, "topic": d.topic} for d in context.devices],
        },
        "brand": _brand_json(context.brand),
        "items": [_item_json(i) for i in context.items],
        "offer": _offer_json(context.offer),
        "links": link_targets(context, settings),
    }


def context_from_facts(facts: Mapping[str, Any]) -> UserContext:
    """The ``UserContext`` a draft's stored facts describe (the inverse of ``build_draft_facts``)."""
    if facts.get("version") != FACTS_VERSION:
        raise InvalidRequest(f"draft facts version {facts.get('version')!r} is not {FACTS_VERSION}")
    user, brand, offer = facts["user"], facts["brand"], facts["offer"]
    last_at = user.get("last_purchase_at")
    return UserContext(
        user_id=int(user["user_id"]),
        external_id=str(user["external_id"]),
        first_name=user.get("first_name"),
        locale=user.get("locale") or "en",
        country=user.get("country"),
        brand=BrandFacts(
            name=brand["name"],
            voice=brand["voice"],
            banned_terms=tuple(brand.get("banned_terms") or ()),
            postal_address=brand.get("postal_address") or "",
            website_url=brand.get("website_url"),
            unsubscribe_url_template=brand["unsubscribe_url_template"],
            max_discount_pct=_undec(brand.get("max_discount_pct")),
            refund_policy=brand.get("refund_policy"),
            allowed_domains=tuple(brand.get("allowed_domains") or ()),
            open_tracking=brand.get("open_tracking") is not False,  # facts stored before the setting: on
        ),
        items=tuple(
            ItemFacts(
                item_id=int(i["item_id"]),
                external_id=str(i["external_id"]),
                title=i["title"],
                price=_undec(i.get("price")),
                currency=i["currency"],
                category=i.get("category"),
                features=tuple(i.get("features") or ()),
                url=i.get("url"),
                image_url=i.get("image_url"),
                rank=int(i.get("rank") or 0),
                score=float(i.get("score") or 0.0),
            )
            for i in facts["items"]
        ),
        interests=tuple(user.get("interests") or ()),
        last_purchase=user.get("last_purchase"),
        last_purchase_at=dt.datetime.fromisoformat(last_at) if last_at else None,
        value_band=user.get("value_band") or "new",
        consent=frozenset(user.get("consent") or ()),
        offer=Offer(
            text=offer.get("text") or "",
            discount_pct=_undec(offer.get("discount_pct")),
            amount_off=_undec(offer.get("amount_off")),
            code=offer.get("code"),
            ends_at=dt.date.fromisoformat(offer["ends_at"]) if offer.get("ends_at") else None,
        ),
        email=user.get("email"),
        phone=user.get("phone"),
        devices=tuple(PushDevice(d["platform"], d.get("token") or "", d.get("topic") or "") for d in user["devices"]),
    )


def stored_link_targets(facts: Mapping[str, Any] | None) -> set[str]:
    """Every page the draft's stored facts allow a link to (empty for a draft without stored facts)."""
    links = (facts or {}).get("links") or {}
    return {u for u in [links.get("landing"), *(links.get("items") or [])] if isinstance(u, str) and u}


def grounding_view(facts: Mapping[str, Any]) -> dict[str, Any]:
    """What the review page shows of stored facts: items (id, title, price, url, image) and the offer."""
    items = [
        {
            "id": i["external_id"],
            "title": i["title"],
            "price": f"{i['price']} {i['currency']}" if i.get("price") is not None else "",
            "url": i.get("url"),
            "image_url": i.get("image_url"),
        }
        for i in facts.get("items") or []
    ]
    offer = {k: v for k, v in (facts.get("offer") or {}).items() if v not in (None, "")}
    return {"items": items, "offer": offer, "links": facts.get("links") or {}, "source": "stored"}


def draft_contexts(
    drafts: Sequence[tuple[int, int, Mapping[str, Any] | None]],
    channel: str,
    *,
    offer: Offer,
    k: int,
    url: str | None,
    step: str,
) -> dict[int, UserContext | str]:
    """draft id → the context its stored facts describe, or a message saying why they cannot be read (``drafts``
    are (draft id, user id, facts) of one channel). Drafts without stored facts get a rebuilt context
    (``legacy_contexts``, with a warning); a draft missing from the result has no context at all."""
    out: dict[int, UserContext | str] = {}
    legacy: list[tuple[int, int]] = []
    for draft_id, user_id, facts in drafts:
        if not facts:
            legacy.append((draft_id, user_id))
            continue
        try:
            out[draft_id] = context_from_facts(facts)
        except (InvalidRequest, KeyError, TypeError, ValueError) as exc:
            out[draft_id] = f"the draft's stored facts are unreadable ({exc!r}); regenerate the draft"
    out.update(legacy_contexts(legacy, channel, offer=offer, k=k, url=url, step=step))
    return out


def legacy_contexts(
    drafts: Sequence[tuple[int, int]], channel: str, *, offer: Offer, k: int, url: str | None, step: str
) -> dict[int, UserContext]:
    """draft id → a context rebuilt from today's data, for drafts stored before their facts were (``drafts`` are
    (draft id, user id) pairs). Logs a warning: such a draft's render may name items its copy was not checked on."""
    from marketing_gen.recommend import build_contexts

    if not drafts:
        return {}
    log.warning(
        "%s: %d %s draft(s) carry no stored facts (generated before migration 0007); rebuilding their context "
        "from today's recommendations — regenerate them to render exactly what was checked (draft ids %s)",
        step,
        len(drafts),
        channel,
        ", ".join(str(d) for d, _ in drafts[:10]) + (" …" if len(drafts) > 10 else ""),
    )
    by_user = {c.user_id: c for c in build_contexts(sorted({u for _, u in drafts}), channel, url=url, offer=offer, k=k)}
    return {d: by_user[u] for d, u in drafts if u in by_user}
