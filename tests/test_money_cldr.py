"""CLDR money and dates (Babel) in the reader's locale: formatting, prompts, grounding and rendered email."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from marketing_gen.contexts import BrandFacts, ItemFacts, Offer, UserContext
from marketing_gen.guardrails import check, hard
from marketing_gen.guardrails.money import find_amounts, format_day, format_price
from marketing_gen.prompts import build_data

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("1299", "JPY", "ja-JP", "￥1,299"),  # JPY has no minor unit
        ("1299", "JPY", "en", "¥1,299"),
        ("1299", "EUR", "de-DE", f"1.299,00{NBSP}€"),
        ("12.5", "EUR", "de", f"12,50{NBSP}€"),
        ("1299", "GBP", "en-GB", "£1,299.00"),
        ("1299", "GBP", "en_GB", "£1,299.00"),
        # Swiss grouping changed between CLDR releases (Babel 2.18: U+202F / U+2019; 2.19: U+0027): either is CLDR
        ("1299", "CHF", "fr-CH", (f"1{NNBSP}299,00{NBSP}CHF", f"1'299,00{NBSP}CHF")),
        ("1299", "CHF", "de-CH", (f"CHF{NBSP}1’299.00", f"CHF{NBSP}1'299.00")),
        ("1299", "EUR", "xx-ZZ", "€1,299.00"),  # unknown locale: English
    ],
)
def test_format_price_is_cldr(amount: str, currency: str, locale: str, expected: str | tuple[str, ...]) -> None:
    allowed = expected if isinstance(expected, tuple) else (expected,)
    assert format_price(Decimal(amount), currency, locale) in allowed


@pytest.mark.parametrize(
    ("currency", "locale"),
    [("JPY", "ja-JP"), ("EUR", "de-DE"), ("GBP", "en-GB"), ("CHF", "fr-CH"), ("CHF", "de-CH"), ("SEK", "sv"),
     ("PLN", "pl"), ("BRL", "pt-BR"), ("EUR", "fr"), ("EUR", "nl"), ("GBP", "fr")],
)  # fmt: skip
def test_every_formatted_price_is_read_back_with_its_currency(currency: str, locale: str) -> None:
    text = f"Only {format_price(Decimal('1299'), currency, locale)} today"
    [amount] = find_amounts(text)
    assert amount.value == Decimal("1299")
    assert currency in amount.currencies


def test_format_day_is_localized() -> None:
    day = dt.date(2026, 12, 1)
    assert format_day(day, "de-DE") == "01.12.2026"
    assert format_day(day, "ja") == "2026/12/01"
    assert format_day(day, "en-GB") == "1 Dec 2026"


def _ctx(locale: str, currency: str, price: str = "1299", offer: Offer | None = None) -> UserContext:
    item = ItemFacts(1, "sku-1", "Cast Iron Skillet", Decimal(price), currency, category="Cookware")
    return UserContext(
        user_id=1,
        external_id="u1",
        first_name="Anna",
        locale=locale,
        country=None,
        brand=BrandFacts(name="Acme", postal_address="1 Road, Town", website_url="https://shop.example"),
        items=(item,),
        offer=offer or Offer(),
    )


def test_prompt_data_prints_prices_and_dates_in_the_users_locale() -> None:
    offer = Offer(text="Winter", ends_at=dt.date(2026, 12, 1))
    data = build_data(_ctx("de-DE", "EUR", offer=offer))
    assert data["products"][0]["price"] == f"1.299,00{NBSP}€"
    assert "ends 01.12.2026" in data["offer"]
    assert build_data(_ctx("ja-JP", "JPY"))["products"][0]["price"] == "￥1,299"


@pytest.mark.parametrize(
    ("locale", "currency", "text"),
    [
        ("de-DE", "EUR", "Die Pfanne für 1.299,00 € ist da."),
        ("de-DE", "EUR", f"Die Pfanne für 1.299,00{NBSP}€ ist da."),
        ("fr-CH", "CHF", f"La poêle à 1{NNBSP}299,00{NBSP}CHF est là."),
        ("de-CH", "CHF", "Die Pfanne für CHF 1’299.00 ist da."),
        ("de-CH", "CHF", "Die Pfanne für CHF 1'299.00 ist da."),
        ("ja-JP", "JPY", "スキレットが￥1,299で登場。"),
        ("en-GB", "GBP", "The skillet is here for £1,299.00."),
    ],
)
def test_grounding_accepts_the_locales_own_price_format(locale: str, currency: str, text: str) -> None:
    context = _ctx(locale, currency)
    found = [v.code for v in hard(check({"text": text}, context, "social_reply")) if v.code.startswith("grounding")]
    assert found == []
    wrong = text.replace("299", "399")
    assert "grounding.price" in [v.code for v in hard(check({"text": wrong}, context, "social_reply"))]


def test_rendered_email_prints_prices_in_the_readers_locale() -> None:
    from marketing_gen.config import Settings
    from marketing_gen.render import render

    settings = Settings(database_url="sqlite://", public_base_url="https://t.example", secret_key="k" * 32)
    fields = {"subject": "Hallo", "preheader": "p" * 40, "headline": "H", "body": "B", "cta": "Los"}
    for locale, currency, price in (("de-DE", "EUR", "1.299,00\u00a0€"), ("ja-JP", "JPY", "￥1,299")):
        art = render("email", fields, _ctx(locale, currency), draft_id=1, campaign_name="c", settings=settings)
        assert price in art.data["text"] and price in art.data["html"]
