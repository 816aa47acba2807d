"""Hard bounces and spam complaints → suppression: the user (and every user sharing that address) gets no
further marketing on any channel, the address joins the suppression list (``suppression_entries``, source
``bounce`` / ``complaint``), and a bounced message's outbox row becomes ``bounced``.

Called by event ingestion (``import events`` and ``POST /v1/events``) inside its transaction, for the events
it stores. Soft bounces are not events here: the relay retries them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from marketing_gen.db import insert_ignore
from marketing_gen.db.models import OutboxMessage, SuppressionEntry, User, utcnow

SUPPRESSING_EVENTS = ("bounce", "complaint")
"""Outcomes that stop all marketing to the address (a hard bounce, a spam complaint)."""


def apply_delivery_outcomes(session: Session, events: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Suppress the users (and addresses) of bounce / complaint events; mark bounced outbox rows. Idempotent."""
    user_ids = {int(e["user_id"]) for e in events if e.get("event") in SUPPRESSING_EVENTS and e.get("user_id")}
    bounced = {int(e["draft_id"]) for e in events if e.get("event") == "bounce" and e.get("draft_id")}
    if not user_ids:
        return {"suppressed": 0, "bounced": 0}
    addresses = session.execute(select(User.id, User.email, User.phone).where(User.id.in_(user_ids))).all()
    emails = {a.lower() for _, a, _ in addresses if a}
    phones = {p for _, _, p in addresses if p}
    match = [User.id.in_(user_ids)]
    if emails:
        match.append(User.email.in_(emails))
    if phones:
        match.append(User.phone.in_(phones))
    res = session.execute(
        update(User).where(or_(*match), User.suppressed.is_(False)).values(suppressed=True, updated_at=utcnow())
    )
    # the store's suppression list too: users imported later with the address are opted out on arrival
    source = {
        int(e["user_id"]): str(e["event"]) for e in events if e.get("event") in SUPPRESSING_EVENTS and e.get("user_id")
    }
    entries = []
    for uid, email, phone in addresses:
        for kind, value in (("email", email.lower() if email else None), ("phone", phone)):
            if value:
                entries.append(
                    {"kind": kind, "value": value, "channel": "all", "source": source[uid], "created_at": utcnow()}
                )
    insert_ignore(session, SuppressionEntry.__table__, entries, ["kind", "value", "channel"])  # type: ignore[arg-type]
    n_bounced = 0
    if bounced:
        out = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.draft_id.in_(bounced), OutboxMessage.state.in_(("sent", "uncertain")))
            .values(state="bounced", updated_at=utcnow())
        )
        n_bounced = int(out.rowcount or 0)  # type: ignore[attr-defined]
    return {"suppressed": int(res.rowcount or 0), "bounced": n_bounced}  # type: ignore[attr-defined]
