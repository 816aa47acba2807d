"""Send time: a campaign may ask for its messages to go out at a local hour (``options.send_hour``), and per user
(``options.send_time = "user"``) at the hour that user usually clicks or buys (the most frequent local hour of
their past clicks / conversions and purchases), else at the campaign's hour.

``next_send_at(now, tz, hour)`` → None when ``now`` is within that local hour, else the UTC start of the next one;
the send step then keeps the row ``queued`` with ``not_before`` (like quiet hours).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketing_gen.db.models import FeedbackEvent, Interaction, User
from marketing_gen.delivery.quiet import zone

ACTIVITY_EVENTS = ("click", "convert")


def next_send_at(now: dt.datetime, tz: ZoneInfo, hour: int | None) -> dt.datetime | None:
    """None if ``now`` falls in local ``hour`` (or no hour is asked), else the UTC time that hour next starts."""
    if hour is None:
        return None
    local = now.astimezone(tz)
    if local.hour == hour:
        return None
    day = local.date() if local.hour < hour else local.date() + dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(dt.timezone.utc)


def preferred_hours(session: Session, user_ids: Iterable[int], default_tz: str) -> dict[int, int]:
    """user id → the most frequent local hour of their clicks, conversions and purchases (users with none: absent)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    zones = {
        uid: zone(tz, default_tz) for uid, tz in session.execute(select(User.id, User.timezone).where(User.id.in_(ids)))
    }
    hours: dict[int, Counter[int]] = {}
    stamps = [
        *session.execute(
            select(FeedbackEvent.user_id, FeedbackEvent.ts).where(
                FeedbackEvent.user_id.in_(ids), FeedbackEvent.event.in_(ACTIVITY_EVENTS)
            )
        ),
        *session.execute(
            select(Interaction.user_id, Interaction.ts).where(
                Interaction.user_id.in_(ids), Interaction.event == "purchase"
            )
        ),
    ]
    for uid, ts in stamps:
        if uid is None or ts is None:
            continue
        aware = ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)
        hours.setdefault(uid, Counter())[aware.astimezone(zones.get(uid, ZoneInfo("UTC"))).hour] += 1
    # most frequent hour; ties go to the earlier hour so the choice is stable
    return {uid: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for uid, c in hours.items()}
