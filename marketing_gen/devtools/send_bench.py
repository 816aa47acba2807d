"""Benchmark fixtures for delivery and review: a store with N queued email messages (or N drafts in review),
real worker processes sending through the ``smtp`` adapter to the local sink, and timed review-page requests.

Used by ``marketing-gen bench send`` and ``bench review`` (``cli/bench_send.py``); not by the library.
One real email is rendered through ``render.render`` for the first user; the others get the same message
with their own address and Message-ID, so every message has the size and structure of a real one.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from marketing_gen.config import Settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Campaign, Draft, FeedbackEvent, Item, OutboxMessage, Recommendation, User
from marketing_gen.db.models import utcnow as _now

CHUNK = 1000
FIELDS = {
    "subject": "Ann, picked for you",
    "preheader": "A few ideas we picked for you at Acme Home",
    "headline": "Enamel Pan 24 cm",
    "body": "Hello Ann! We think you will like this. Enamel Pan 24 cm for £44.00. Take a look at our new picks.",
    "cta": "Take a look",
}


def _rendered_email(settings: Settings, user_id: int, campaign_name: str) -> dict[str, Any]:
    from marketing_gen.campaigns.pipeline import stored_artifact
    from marketing_gen.recommend import build_contexts
    from marketing_gen.render import render

    (ctx,) = build_contexts([user_id], "email", url=settings.database_url, k=1)
    return stored_artifact(render("email", FIELDS, ctx, draft_id=1, campaign_name=campaign_name, settings=settings))


def seed_store(settings: Settings, n: int, *, status: str, name: str) -> int:
    """A brand, one item, ``n`` users with email consent and a campaign whose ``n`` email drafts are in
    ``status`` (``queued`` with outbox rows, or ``in_review``); returns the campaign id."""
    url = settings.database_url
    with session_scope(url) as s:
        if s.scalar(select(func.count()).select_from(Brand)) == 0:
            s.add(
                Brand(
                    name="Acme Home",
                    postal_address="1 High St, Leeds LS1 1AA, UK",
                    website_url="https://shop.example",
                )
            )
        item = Item(
            external_id=f"bench-{name}-sku",
            title="Enamel Pan 24 cm",
            price=Decimal("44.00"),
            currency="GBP",
            url="https://shop.example/p/pan",
            description="Cast iron. Oven safe.",
        )
        campaign = Campaign(name=name, channels=["email"], state="completed", options={"approval": "required"})
        s.add_all([item, campaign])
        s.flush()
        item_id, cid = item.id, campaign.id
    ids: list[int] = []
    for start in range(0, n, CHUNK):
        rows = [
            {
                "external_id": f"{name}-{i:06d}",
                "email": f"{name.lower()}-{i:06d}@example.com",
                "first_name": "Ann",
                "locale": "en-GB",
                "consent_email": True,
                "consent_email_at": _now(),
                "unsubscribed_channels": [],
                "attributes": {},
                "suppressed": False,
                "created_at": _now(),
                "updated_at": _now(),
            }
            for i in range(start, min(n, start + CHUNK))
        ]
        with session_scope(url) as s:
            ids += list(s.scalars(insert(User).returning(User.id), rows))
    with session_scope(url) as s:
        s.add(Recommendation(user_id=ids[0], item_id=item_id, rank=1, score=1.0))
    artifact = _rendered_email(settings, ids[0], name)
    first = f"{name.lower()}-000000@example.com"
    eml = artifact["eml"]
    for start in range(0, n, CHUNK):
        chunk = ids[start : start + CHUNK]
        drafts = []
        for k, uid in enumerate(chunk, start=start):
            own = eml.replace(first, f"{name.lower()}-{k:06d}@example.com").replace("<mg-1.", f"<mg-{k + 1}.")
            drafts.append(
                {
                    "campaign_id": cid,
                    "user_id": uid,
                    "channel": "email",
                    "variant": 0,
                    "idempotency_key": f"{cid}:{uid}:email:0",
                    "status": status,
                    "fields": FIELDS,
                    "violations": [],
                    "attempts": 1,
                    "fallback": False,
                    "timings": {},
                    "rendered": {**artifact, "eml": own},
                    "created_at": _now(),
                    "updated_at": _now(),
                }
            )
        with session_scope(url) as s:
            draft_ids = list(s.scalars(insert(Draft).returning(Draft.id), drafts))
            if status == "queued":
                s.execute(
                    insert(OutboxMessage),
                    [
                        {"draft_id": d, "campaign_id": cid, "user_id": row["user_id"], "channel": "email",
                         "payload": row["rendered"], "state": "queued", "attempts": 0, "created_at": _now()}
                        for d, row in zip(draft_ids, drafts, strict=True)
                    ],
                )  # fmt: skip
    return cid


def reset_outbox(url: str, campaign_id: int) -> None:
    """Every row of the campaign back to ``queued`` (and its ``sent`` events gone) for the next round."""
    with session_scope(url) as s:
        drafts = select(OutboxMessage.draft_id).where(OutboxMessage.campaign_id == campaign_id)
        s.execute(delete(FeedbackEvent).where(FeedbackEvent.draft_id.in_(drafts)))
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.campaign_id == campaign_id)
            .values(state="queued", attempt_id=None, claimed_at=None, sent_at=None, provider_message_id=None,
                    error=None, not_before=None, attempts=0)
        )  # fmt: skip


def count_sent(url: str, campaign_id: int) -> int:
    """Outbox rows of the campaign in ``sent``."""
    with session_scope(url) as s:
        return int(
            s.scalar(
                select(func.count()).where(OutboxMessage.campaign_id == campaign_id, OutboxMessage.state == "sent")
            )
            or 0
        )


def start_deliver_worker(env: dict[str, str], log: Path, name: str) -> subprocess.Popen[bytes]:
    """One ``marketing-gen worker -Q deliver`` process (solo pool), waiting until it consumes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "marketing_gen", "worker", "-Q", "deliver", "-P", "solo", "-n", f"{name}@%h"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while b" ready." not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker {name} did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
    return proc


@dataclass
class Timing:
    """Latency of one kind of request over ``n`` repeats."""

    what: str
    n: int
    median_ms: float
    max_ms: float
    bytes: int


def time_requests(what: str, fn: Callable[[], Any], repeat: int) -> Timing:
    """Call ``fn`` (one HTTP request returning a response) ``repeat`` times; median and max wall time."""
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        resp = fn()
        times.append((time.perf_counter() - started) * 1000)
        if resp.status_code >= 400:
            raise RuntimeError(f"{what}: HTTP {resp.status_code} {resp.text[:200]}")
        size = len(resp.content)
    return Timing(what, repeat, round(statistics.median(times), 1), round(max(times), 1), size)
