"""Simulated outcomes: write sent/open/click/convert events for a campaign's drafts from planted true rates.

For tests and demos of the A/B report (the report is about outcomes, so no model has to run). Events go
through ``ingest_events`` like real ones, with timestamps derived from the campaign (not the clock), so
simulating twice with the same seed records nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
from sqlalchemy import insert, select

from marketing_gen.db import session_scope
from marketing_gen.db.models import Campaign, Draft, User
from marketing_gen.errors import InvalidRequest, NotFound
from marketing_gen.feedback.events import IngestReport, ingest_events

SKIPPED_STATUSES = ("failed", "skipped")


def simulate_campaign_events(
    campaign_id: int,
    rates: Mapping[int, float] | None = None,
    *,
    open_rate: float = 0.25,
    convert_rate: float = 0.1,
    seed: int = 0,
    sent_at: dt.datetime | None = None,
    url: str | None = None,
) -> IngestReport:
    """Record one send per deliverable draft; click with the variant's true rate; opens and conversions around it.

    Sends fall in the hour after ``sent_at`` (default: the campaign's start, else creation time).
    """
    rates = dict(rates if rates is not None else {0: 0.03, 1: 0.04})
    checks = [("open_rate", open_rate), ("convert_rate", convert_rate), *[(f"rate {k}", v) for k, v in rates.items()]]
    for name, p in checks:
        if not 0.0 <= p <= 1.0:
            raise InvalidRequest(f"{name}={p} must be a probability between 0 and 1")
    with session_scope(url) as s:
        camp = s.get(Campaign, campaign_id)
        if camp is None:
            raise NotFound(f"campaign {campaign_id} does not exist")
        base = sent_at or camp.started_at or camp.created_at
        drafts = s.execute(
            select(Draft.id, Draft.variant)
            .where(Draft.campaign_id == campaign_id, Draft.status.not_in(SKIPPED_STATUSES))
            .order_by(Draft.id)
        ).all()
    missing = sorted({v for _, v in drafts} - set(rates))
    if missing:
        raise InvalidRequest(
            f"no true rate given for variant(s) {missing}: pass one rate per variant, e.g. --rates 0.03,0.04"
        )
    if base.tzinfo is None:
        base = base.replace(tzinfo=dt.timezone.utc)
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    for draft_id, variant in drafts:
        sent_at = base + dt.timedelta(seconds=int(rng.integers(0, 3600)))
        clicked = rng.random() < rates[variant]
        # A click implies the message was seen; otherwise opens follow the base open rate.
        opened = clicked or rng.random() < open_rate
        rows.append({"draft_id": draft_id, "event": "sent", "timestamp": sent_at})
        if opened:
            rows.append({"draft_id": draft_id, "event": "open", "timestamp": sent_at + dt.timedelta(minutes=30)})
        if clicked:
            rows.append({"draft_id": draft_id, "event": "click", "timestamp": sent_at + dt.timedelta(minutes=31)})
            if rng.random() < convert_rate:
                value = round(float(rng.lognormal(3.5, 0.6)), 2)
                rows.append(
                    {
                        "draft_id": draft_id,
                        "event": "convert",
                        "timestamp": sent_at + dt.timedelta(hours=2),
                        "value": value,
                    }
                )
    return ingest_events(rows, url=url)


def seed_simulated_campaign(
    n_users: int,
    *,
    variants: int = 2,
    channel: str = "email",
    name: str | None = None,
    url: str | None = None,
) -> int:
    """Create synthetic consenting users and a campaign with one queued draft per user (variant = index mod n)."""
    if n_users < 1 or variants < 1:
        raise InvalidRequest("n_users and variants must be at least 1")
    with session_scope(url) as s:
        camp = Campaign(
            name=name or f"simulated {n_users} users × {variants} variants",
            channels=[channel],
            segment="",
            variants=variants,
            state="done",
            options={"simulated": True},
        )
        s.add(camp)
        s.flush()
        cid = camp.id
        prefix = f"sim-c{cid}-"
        s.execute(
            insert(User),
            [
                {
                    "external_id": f"{prefix}{i:07d}",
                    "email": f"user{i}@sim.invalid",
                    "first_name": f"Sim{i}",
                    "consent_email": True,
                    "consent_sms": True,
                    "consent_push": True,
                    "consent_ads": True,
                    "attributes": {"simulated": True},
                    "unsubscribed_channels": [],
                }
                for i in range(n_users)
            ],
        )
        user_ids = s.scalars(
            select(User.id).where(User.external_id.startswith(prefix)).order_by(User.external_id)
        ).all()
        s.execute(
            insert(Draft),
            [
                {
                    "campaign_id": cid,
                    "user_id": uid,
                    "channel": channel,
                    "variant": i % variants,
                    "idempotency_key": f"sim:{cid}:{uid}:{channel}:{i % variants}",
                    "status": "queued",
                    "fields": {},
                    "violations": [],
                    "timings": {},
                }
                for i, uid in enumerate(user_ids)
            ],
        )
    return cid
