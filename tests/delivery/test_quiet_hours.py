"""Quiet-hour arithmetic: windows across midnight, time zones, DST, bad settings."""

from __future__ import annotations

import datetime as dt

import pytest

from marketing_gen.delivery.quiet import in_window, next_allowed, parse_quiet_hours, zone
from marketing_gen.errors import InvalidRequest

UTC = dt.timezone.utc


def test_parse_and_window() -> None:
    assert parse_quiet_hours("21-8") == (21, 8) and parse_quiet_hours("none") is None and parse_quiet_hours("") is None
    assert [h for h in range(24) if in_window(h, (21, 8))] == [0, 1, 2, 3, 4, 5, 6, 7, 21, 22, 23]
    assert [h for h in range(24) if in_window(h, (1, 5))] == [1, 2, 3, 4]
    for bad in ("21", "25-8", "8-8", "a-b"):
        with pytest.raises(InvalidRequest, match="quiet_hours"):
            parse_quiet_hours(bad)


def test_next_allowed_in_the_users_zone() -> None:
    tokyo = zone("Asia/Tokyo", "UTC")
    # 12:00 UTC = 21:00 Tokyo: quiet until 08:00 Tokyo next day = 23:00 UTC
    assert next_allowed(dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tokyo, (21, 8)) == dt.datetime(
        2026, 3, 1, 23, 0, tzinfo=UTC
    )
    # 01:00 Tokyo (16:00 UTC previous day) opens the same local morning
    assert next_allowed(dt.datetime(2026, 3, 1, 16, 0, tzinfo=UTC), tokyo, (21, 8)) == dt.datetime(
        2026, 3, 1, 23, 0, tzinfo=UTC
    )
    assert next_allowed(dt.datetime(2026, 3, 1, 3, 0, tzinfo=UTC), tokyo, (21, 8)) is None  # 12:00 Tokyo
    assert next_allowed(dt.datetime(2026, 3, 1, 3, 0, tzinfo=UTC), tokyo, None) is None


def test_dst_night_and_unknown_zone() -> None:
    ny = zone("America/New_York", "UTC")
    # night of 7→8 March 2026 (DST starts 02:00): 23:00 EST = 04:00 UTC; opens 08:00 EDT = 12:00 UTC
    assert next_allowed(dt.datetime(2026, 3, 8, 4, 0, tzinfo=UTC), ny, (21, 8)) == dt.datetime(
        2026, 3, 8, 12, 0, tzinfo=UTC
    )
    assert zone("Mars/Olympus", "Europe/Paris").key == "Europe/Paris" and zone(None, "nope").key == "UTC"


def test_next_send_hour() -> None:
    from marketing_gen.delivery.send_time import next_send_at

    paris = zone("Europe/Paris", "UTC")
    noon_utc = dt.datetime(2026, 6, 1, 12, 30, tzinfo=UTC)  # 14:30 in Paris (CEST)
    assert next_send_at(noon_utc, paris, 14) is None and next_send_at(noon_utc, paris, None) is None
    assert next_send_at(noon_utc, paris, 18) == dt.datetime(2026, 6, 1, 16, 0, tzinfo=UTC)  # today 18:00 Paris
    assert next_send_at(noon_utc, paris, 9) == dt.datetime(2026, 6, 2, 7, 0, tzinfo=UTC)  # tomorrow 09:00 Paris
