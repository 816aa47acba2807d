"""Frozen context dataclasses: what prompts, guardrails and renderers know about a user.

Built by ``recommend.build_contexts`` from the database (one query per batch). Plain data: no ORM objects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class ItemFacts:
    """A recommended catalog item, as the copy may mention it."""

    item_id: int
    external_id: str
    title: str
    price: Decimal | None
    currency: str
    category: str | None = None
    features: tuple[str, ...] = ()
    """Key features, trimmed (from the description / seller copy)."""
    url: str | None = None
    image_url: str | None = None
    rank: int = 0
    score: float = 0.0


@dataclass(frozen=True)
class Offer:
    """The campaign's offer. Copy may only mention discounts that are here."""

    text: str = ""
    discount_pct: Decimal | None = None
    amount_off: Decimal | None = None
    code: str | None = None
    ends_at: dt.date | None = None

    @property
    def has_discount(self) -> bool:
        """True when the offer grants a percentage or an amount off."""
        return bool(self.discount_pct or self.amount_off)


@dataclass(frozen=True)
class BrandFacts:
    """The brand's voice and the rules it imposes on copy."""

    name: str
    voice: str = "friendly, concise, honest"
    banned_terms: tuple[str, ...] = ()
    postal_address: str = ""
    website_url: str | None = None
    unsubscribe_url_template: str = "{base_url}/u/{token}"
    max_discount_pct: Decimal | None = None
    """Most a community manager's reply may promise; None = no discounts in replies."""
    refund_policy: str | None = None
    allowed_domains: tuple[str, ...] = ()
    """Domains links may point to (besides item URLs)."""
    open_tracking: bool = True
    """Embed the open pixel in HTML emails; False: no pixel, so no open events for this brand's emails."""


@dataclass(frozen=True)
class PushDevice:
    """Where a push goes: an APNs or FCM token, and the topic (APNs ``apns-topic`` header / FCM topic)."""

    platform: str
    """``apns`` or ``fcm``."""
    token: str = ""
    topic: str = ""


@dataclass(frozen=True)
class UserContext:
    """Everything a prompt may say about one user, joined in one query per batch."""

    user_id: int
    external_id: str
    first_name: str | None
    locale: str
    country: str | None
    brand: BrandFacts
    items: tuple[ItemFacts, ...] = ()
    """Top-k recommended items: in stock, priced, best first."""
    interests: tuple[str, ...] = ()
    """Top categories from the user's interactions."""
    last_purchase: str | None = None
    """Title of the last purchased item."""
    last_purchase_at: dt.datetime | None = None
    value_band: str = "new"
    """new | low | mid | high — from purchase value."""
    consent: frozenset[str] = field(default_factory=frozenset)
    """Consent flags granted: subset of {email, sms, push, ads}."""
    offer: Offer = field(default_factory=Offer)
    email: str | None = None
    phone: str | None = None
    """E.164 (``+447400123001``): the importer normalises every number."""
    devices: tuple[PushDevice, ...] = ()
    """Push targets (loaded for the push channel only)."""
