"""Quiet hours: channels such as SMS and push never go out at night in the recipient's time zone.

``parse_quiet_hours("21-8")`` → (21, 8); ``next_allowed(now, tz, window)`` → None when sending is allowed now,
else the UTC instant the window opens (the row waits in ``queued`` with ``not_before`` set to it).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marketing_gen.errors import InvalidRequest


def parse_quiet_hours(text: str) -> tuple[int, int] | None:
    """``"START-END"`` in whole local hours (``21-8``: 21:00 to 08:00); empty or ``none``: no quiet hours."""
    text = (text or "").strip().lower()
    if text in ("", "none", "off"):
        return None
    try:
        start_s, end_s = text.split("-")
        start, end = int(start_s), int(end_s)
    except ValueError as exc:
        raise InvalidRequest(f"quiet_hours={text!r}: use START-END in hours, e.g. 21-8, or 'none'") from exc
    if not (0 <= start <= 23 and 0 <= end <= 23) or start == end:
        raise InvalidRequest(f"quiet_hours={text!r}: hours must be 0..23 and differ, e.g. 21-8")
    return start, end


def zone(name: str | None, default: str) -> ZoneInfo:
    """The user's time zone, else the default (an unknown name falls back to the default too)."""
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def in_window(hour: int, window: tuple[int, int]) -> bool:
    """Whether a local ``hour`` falls in the quiet ``window`` (which may wrap midnight)."""
    start, end = window
    return start <= hour < end if start < end else hour >= start or hour < end


def next_allowed(now: dt.datetime, tz: ZoneInfo, window: tuple[int, int] | None) -> dt.datetime | None:
    """None if a message may go out at ``now`` (aware) in ``tz``; else the UTC time the quiet window ends."""
    if window is None:
        return None
    local = now.astimezone(tz)
    if not in_window(local.hour, window):
        return None
    end = window[1]
    opens = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if opens <= local:
        opens += dt.timedelta(days=1)
    # Rebuild from the wall clock so a DST change between now and the opening is handled by the zone.
    opens = dt.datetime(opens.year, opens.month, opens.day, end, tzinfo=tz)
    return opens.astimezone(dt.timezone.utc)
