"""Segment expression language: parsing, evaluation, clear errors (no eval)."""

from __future__ import annotations

import pytest

from marketing_gen.campaigns.segments import Profile, parse_segment
from marketing_gen.errors import InvalidRequest

UK_VIP = Profile(
    country="United Kingdom",
    locale="en-GB",
    attributes={"vip": True, "tier": 3, "city": "Leeds"},
    interests=("Home & Kitchen | Kitchen & Dining | Cookware",),
    days_since_purchase=12.0,
    purchases=2,
)
FR_NEW = Profile(country="France", locale="fr", attributes={}, interests=(), days_since_purchase=None, purchases=0)
DE = Profile(
    country="Germany",
    locale="de-DE",
    attributes={"vip": False},
    interests=("Toys & Games",),
    days_since_purchase=200.0,
    purchases=5,
)


def _match(expr: str) -> list[str]:
    seg = parse_segment(expr)
    return [p.country or "" for p in (UK_VIP, FR_NEW, DE) if seg.matches(p)]


def test_example_from_the_docs() -> None:
    expr = (
        "country in (United Kingdom, France) and interests has Kitchen and purchased_within_days < 30 "
        "and attributes.vip = true and locale = en"
    )
    assert _match(expr) == ["United Kingdom"]
    assert parse_segment(expr).needs == {"interests", "days_since_purchase", "purchases"}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("", ["United Kingdom", "France", "Germany"]),
        ("country = france", ["France"]),
        ("country != France", ["United Kingdom", "Germany"]),
        ("country not in (France, 'Germany')", ["United Kingdom"]),
        ("locale = en", ["United Kingdom"]),
        ("locale = en-gb or locale = de_DE", ["United Kingdom", "Germany"]),
        ("interests has kitchen", ["United Kingdom"]),
        ("interests has (Toys, Cookware)", ["United Kingdom", "Germany"]),
        ("interests has Kit", []),  # whole words only
        ("purchased_within_days > 90", ["Germany"]),  # never purchased matches no comparison
        ("not purchased_within_days < 30", ["France", "Germany"]),
        ("purchases >= 2", ["United Kingdom", "Germany"]),
        ("attributes.vip = false", ["Germany"]),
        ("attributes.vip != true", ["France", "Germany"]),  # missing attribute counts as different
        ("attributes.tier > 2", ["United Kingdom"]),
        ("attributes.city in (leeds, York)", ["United Kingdom"]),
        ("(country = France or country = Germany) and not purchases = 0", ["Germany"]),
        ('country = "United Kingdom" AND attributes.vip = TRUE', ["United Kingdom"]),
    ],
)
def test_conditions(expr: str, expected: list[str]) -> None:
    assert _match(expr) == expected


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("country =", "expected a value"),
        ("country in (France", "expected ')'"),
        ("bogus = 1", "unknown field 'bogus'"),
        ("purchases < lots", "needs a number"),
        ("country has France", "'has' works only on 'interests'"),
        ("country < France", "supports =, != and in"),
        ("country = France and", "expected a field name"),
        ("country = France)", "expected 'and', 'or' or the end"),
        ("__import__('os') = 1", "expected an operator"),
        ('country = "France', "unexpected character"),
        ("(country = France", "expected ')'"),
        ("interests = Kitchen", "use 'interests has VALUE'"),
    ],
)
def test_syntax_errors_are_client_errors(expr: str, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        parse_segment(expr)
    assert fragment in str(exc.value)
    assert "segment:" in str(exc.value)
