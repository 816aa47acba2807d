"""ORM models (SQLAlchemy 2.0 typed). ORM objects stay inside ``db/``, ``recommend`` and ``campaigns``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    """Timezone-aware now, used for defaults."""
    return dt.datetime.now(dt.timezone.utc)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored timestamp with its zone: SQLite hands ``DateTime(timezone=True)`` back naive, and every stored time is
    UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    first_name: Mapped[str | None] = mapped_column(String(128))
    last_name: Mapped[str | None] = mapped_column(String(128))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    country: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Per-channel consent (GDPR): flag, when, and where it came from.
    consent_email: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_email_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    consent_email_source: Mapped[str | None] = mapped_column(String(64))
    consent_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_sms_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    consent_sms_source: Mapped[str | None] = mapped_column(String(64))
    consent_push: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_push_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    consent_push_source: Mapped[str | None] = mapped_column(String(64))
    consent_ads: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_ads_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    consent_ads_source: Mapped[str | None] = mapped_column(String(64))
    # Channels this user unsubscribed from (list of channel names); unsubscribed_at = last time.
    unsubscribed_channels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class SuppressionEntry(Base):
    """One entry of the store's suppression list (``import suppressions``): kept, so users imported later that
    match it are opted out on arrival."""

    __tablename__ = "suppression_entries"
    __table_args__ = (UniqueConstraint("kind", "value", "channel", name="uq_suppression_entry"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # email | phone | user_id
    value: Mapped[str] = mapped_column(String(320))  # lower-case email, phone without separators, external id
    channel: Mapped[str] = mapped_column(String(32))  # email | sms | push | ads | google_ads_rsa | meta_ad | all
    source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Device(Base):
    """A push target of a user: an APNs device token or an FCM registration token / topic.

    ``token`` and ``topic`` are ``""`` when not given (so the unique key works on SQLite and PostgreSQL alike).
    APNs needs a token; its topic is the ``apns-topic`` header (the app's bundle id). FCM sends to the token,
    or to the topic when a row has only a topic.
    """

    __tablename__ = "devices"
    __table_args__ = (
        UniqueConstraint("user_id", "platform", "token", "topic", name="uq_device"),
        Index("ix_devices_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(8))  # apns | fcm
    token: Mapped[str] = mapped_column(String(512), default="")
    topic: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(String(512))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(512))
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    url: Mapped[str | None] = mapped_column(String(1024))
    image_url: Mapped[str | None] = mapped_column(String(1024))
    in_stock: Mapped[bool] = mapped_column(Boolean, default=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("user_id", "item_id", "event", "ts", name="uq_interaction_event"),
        Index("ix_interactions_user_ts", "user_id", "ts"),
        Index("ix_interactions_item", "item_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(16))  # view | cart | purchase | rating
    value: Mapped[float | None] = mapped_column(Float)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    ts: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Recommendation(Base):
    __tablename__ = "recommendations"
    __table_args__ = (
        UniqueConstraint("user_id", "source", "item_id", name="uq_recommendation"),
        Index("ix_recommendations_user_source_rank", "user_id", "source", "rank"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(32), default="builtin")  # builtin | upstream
    generated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RecommenderRun(Base):
    """One ``marketing-gen recommend`` run: the model used, why (the automatic selection's figures), counts."""

    __tablename__ = "recommender_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(32))  # popularity | item-knn | rp3beta | ials | ease
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested: Mapped[str] = mapped_column(String(32), default="auto")  # auto or the model asked for
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # selection: every candidate, reason
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Brand(Base):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    voice: Mapped[str] = mapped_column(Text, default="friendly, concise, honest")
    banned_terms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    postal_address: Mapped[str] = mapped_column(String(512), default="")
    website_url: Mapped[str | None] = mapped_column(String(1024))
    unsubscribe_url_template: Mapped[str] = mapped_column(String(1024), default="{base_url}/u/{token}")
    # e.g. {"max_discount_pct": 10, "refunds": "within 30 days", "allowed_domains": ["shop.example"]}
    offer_policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Embed the open pixel in HTML emails (the A/B report's open rates come from it); False opts the brand out.
    open_tracking: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))
    channels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    segment: Mapped[str] = mapped_column(Text, default="")
    # {"text": "10% off", "discount_pct": 10, "code": "SPRING10", "ends_at": "2026-12-01"} or {}
    offer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    variants: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default="created")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model_version: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Draft(Base):
    __tablename__ = "drafts"
    __table_args__ = (
        Index("ix_drafts_campaign_status", "campaign_id", "status"),
        Index("ix_drafts_user_channel_created", "user_id", "channel", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    variant: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    # pending | generated | in_review | ready | queued | failed | skipped | rejected
    status: Mapped[str] = mapped_column(String(16), default="pending")
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    violations: Mapped[list[Any]] = mapped_column(JSON, default=list)  # one list per attempt
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who wrote the stored copy (EU AI Act Art. 50 machine-readable mark): model | fallback | human; None before
    # generation. Carried into the rendered artifact (X-AI-Generated header) and every export.
    ai_mark: Mapped[str | None] = mapped_column(String(16))
    skip_reason: Mapped[str | None] = mapped_column(String(256))
    model_version: Mapped[str | None] = mapped_column(String(128))
    prompt_hash: Mapped[str | None] = mapped_column(String(64))
    seed: Mapped[int | None] = mapped_column(BigInteger)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rendered: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What the copy was written and checked against (items, offer, brand, user facts, link targets), stored by the
    # generate step; render, review and the click route read it instead of re-joining (campaigns/draft_facts.py).
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_campaign", "campaign_id"),
        Index("ix_outbox_state_not_before", "state", "not_before"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # queued | sending | sent | failed | bounced | skipped | uncertain  (see marketing_gen/delivery/send.py)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    adapter: Mapped[str | None] = mapped_column(String(16))
    attempt_id: Mapped[str | None] = mapped_column(String(64))
    """Written (with state ``sending``) before the adapter is called: the proof a send may have happened."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    not_before: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """Quiet hours / retry backoff: the row is not sent before this time."""
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    provider_message_id: Mapped[str | None] = mapped_column(String(256))
    error: Mapped[str | None] = mapped_column(String(512))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ReviewAction(Base):
    """Audit trail of the approval workflow: who did what to which draft, when, with the copy before/after."""

    __tablename__ = "review_actions"
    __table_args__ = (
        Index("ix_review_actions_campaign_created", "campaign_id", "created_at"),
        Index("ix_review_actions_draft", "draft_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))  # approve | reject | edit | edit_refused
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Account(Base):
    """A person who may use the review page: reviewer (review, approve) or admin (also send)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="reviewer")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A logged-in browser: the cookie holds a random token, the database only its SHA-256 and the CSRF token."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    path: Mapped[str] = mapped_column(String(1024))
    base: Mapped[str | None] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16), default="base")  # base | sft | dpo | kto
    dataset_hash: Mapped[str | None] = mapped_column(String(64))
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    promoted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class FeedbackEvent(Base):
    __tablename__ = "feedback_events"
    __table_args__ = (Index("ix_feedback_draft_event", "draft_id", "event"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    channel: Mapped[str | None] = mapped_column(String(32))
    # sent | delivered | open | click | convert | unsubscribe | complaint | reply_picked
    event: Mapped[str] = mapped_column(String(16))
    ts: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    value: Mapped[float | None] = mapped_column(Float)
    dedup_key: Mapped[str] = mapped_column(String(256), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReplyRequest(Base):
    """A comment / DM for which reply suggestions were asked (batch or API), with the result."""

    __tablename__ = "reply_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    text: Mapped[str] = mapped_column(Text)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
