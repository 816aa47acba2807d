"""Guardrails: each family finds what it should and stays quiet on clean copy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from marketing_gen.contexts import BrandFacts, ItemFacts, Offer, UserContext
from marketing_gen.guardrails import Violation, check, hard, is_gate
from marketing_gen.guardrails.money import find_amounts, find_percentages, format_price, parse_number
from marketing_gen.guardrails.quality import detect_language, repeated_phrase

BRAND = BrandFacts(
    name="Acme Home",
    banned_terms=("cheap", "best ever"),
    website_url="https://acme.example.com",
    allowed_domains=("cdn.acme.example.com",),
)
ITEMS = (
    ItemFacts(
        1,
        "A1",
        "WHITE HANGING HEART T-LIGHT HOLDER",
        Decimal("2.55"),
        "GBP",
        category="Candle holders",
        url="https://shop.acme.example.com/p/1",
    ),
    ItemFacts(2, "A2", "Organic Cotton Tote Bag", Decimal("12.00"), "GBP", features=("100% cotton",)),
)


def ctx(
    *,
    offer: Offer | None = None,
    locale: str = "en-GB",
    first_name: str | None = "Anna",
    items: tuple[ItemFacts, ...] = ITEMS,
) -> UserContext:
    return UserContext(
        user_id=1,
        external_id="u1",
        first_name=first_name,
        locale=locale,
        country="GB",
        brand=BRAND,
        items=items,
        offer=offer or Offer(),
    )


def codes(violations: list[Violation]) -> list[str]:
    """Codes of the hard-check families (the quality gate has its own tests, tests/test_quality_gate.py)."""
    return sorted(v.code for v in violations if not is_gate(v.code))


CLEAN_EMAIL = {
    "subject": "Anna, a warm light for your evenings",
    "preheader": "The White Hanging Heart T-Light Holder is back in stock for you",
    "headline": "Soft light for quiet evenings",
    "body": "Hello Anna! The White Hanging Heart T-Light Holder is £2.55 and the Organic Cotton Tote Bag is £12.00.",
    "cta": "See the holder",
}


def test_clean_copy_has_no_findings() -> None:
    assert check(CLEAN_EMAIL, ctx(), "email") == []


# --- format ---------------------------------------------------------------------------------------------


def test_missing_lengths_counts_and_soft_preheader() -> None:
    fields = {**CLEAN_EMAIL, "subject": "s" * 61, "preheader": "Short one", "cta": ""}
    found = check(fields, ctx(), "email")
    assert codes(hard(found)) == ["length.subject", "missing.cta"]
    soft = [v for v in found if not v.hard]
    assert [v.code for v in soft] == ["length.preheader_short"]
    assert check({**CLEAN_EMAIL, "preheader": "y" * 101}, ctx(), "email")[0].code == "length.preheader"


def test_lengths_are_code_points_not_bytes() -> None:
    ok = {"title": "é" * 40, "body": "Hello."}
    assert "length.title" not in codes(check(ok, ctx(), "push"))
    assert "length.title" in codes(check({**ok, "title": "é" * 41}, ctx(), "push"))


def test_rsa_counts_and_per_asset_limits() -> None:
    fields = {"headlines": ["Soft light", "Warm evenings"], "descriptions": ["d" * 91, "ok", "a", "b", "c"]}
    found = codes(check(fields, ctx(), "google_ads_rsa"))
    assert {"count.headlines", "count.descriptions", "length.descriptions"} <= set(found)
    assert "missing.path1" not in found  # paths are optional


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_copy_beginning_with_a_formula_character_is_a_hard_finding(start: str) -> None:
    found = check({**CLEAN_EMAIL, "subject": start + "1+1 Candle Set"}, ctx(), "email")
    assert "format.formula.subject" in codes(hard(found))
    rsa = {"headlines": ["Soft light", start + "HYPERLINK(x)", "Warm evenings"], "descriptions": ["Cosy.", "Warm."]}
    assert "format.formula.headlines" in codes(check(rsa, ctx(), "google_ads_rsa"))
    assert "format.formula.subject" not in codes(check({**CLEAN_EMAIL, "subject": "Save 1+1 today"}, ctx(), "email"))


def test_placeholders_tags_and_newlines() -> None:
    fields = {**CLEAN_EMAIL, "body": "Hi [Your Name], thanks", "subject": "Line one\nline two"}
    found = codes(check(fields, ctx(), "email"))
    assert "format.placeholder" in found and "format.newline.subject" in found
    assert "format.placeholder" in codes(check({**CLEAN_EMAIL, "body": "Nice. CTA: Shop now"}, ctx(), "email"))
    cut_tag = "Spring picks HEAD: Take a look at more ideas like this."
    assert "format.placeholder" in codes(check({**CLEAN_EMAIL, "body": cut_tag}, ctx(), "email"))
    numbered = "Warm light for quiet evenings. DESCRIPTION 2: The lantern."  # a numbered RSA tag run on
    assert "format.placeholder" in codes(check({**CLEAN_EMAIL, "body": numbered}, ctx(), "email"))
    assert codes(check({**CLEAN_EMAIL, "body": "Note: the Head of our team picked it."}, ctx(), "email")) == []


def test_sms_segments_optout_brand() -> None:
    good = {"text": "Acme Home: the heart holder is £2.55. Reply STOP to opt out"}
    assert check(good, ctx(), "sms") == []
    long = {"text": "Acme Home: " + "a" * 150 + " Reply STOP to opt out"}
    assert codes(check(long, ctx(), "sms")) == ["sms.segments"]
    emoji = {"text": "Acme Home: heart holder 😀 " + "a" * 30 + " Reply STOP to opt out"}
    assert "sms.segments" in codes(check(emoji, ctx(), "sms"))
    assert {"sms.optout", "sms.brand"} <= set(codes(check({"text": "New holders"}, ctx(), "sms")))


def test_push_payload_limit() -> None:
    from dataclasses import replace

    from marketing_gen.channels import get_channel

    spec = replace(get_channel("push"), max_payload_bytes=300)
    assert "push.payload" in codes(check({"title": "Hi", "body": "é" * 100}, ctx(), spec))
    assert "push.payload" not in codes(check({"title": "Hi", "body": "é" * 100}, ctx(), "push"))


# --- grounding ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Only £2.55 today", []),
        ("Just £12 for the tote", []),
        ("Now 2.55 GBP", []),
        ("Only £3.99", ["grounding.price"]),
        ("Just $2.55", ["grounding.price"]),
        ("from 9.99", ["grounding.price"]),
        ("12,00 £ each", []),
    ],
)
def test_money_must_be_a_recommended_price(text: str, expected: list[str]) -> None:
    assert codes(check({"text": text}, ctx(), "social_reply")) == expected


def test_a_price_belongs_to_the_item_it_is_said_of() -> None:
    """Each price is a recommended item's, but "the tote is £2.55" gives it the holder's price (and an ad whose only
    item is the tote may not say "Yours for £2.55": the gallery passed such a 4th RSA headline)."""
    swapped = "Hello Anna! The Organic Cotton Tote Bag is £2.55 and the White Hanging Heart T-Light Holder is £12.00."
    assert codes(check({"text": swapped}, ctx(), "social_reply")) == ["grounding.price", "grounding.price"]
    assert check(dict(CLEAN_EMAIL), ctx(), "email") == []
    ad = {
        "headlines": ["Organic Cotton Tote Bag", "Yours for £2.55", "Carry It Every Day"],
        "descriptions": ["Picked for you by Acme.", "The Organic Cotton Tote Bag is £12.00 at Acme."],
    }
    assert codes(check(ad, ctx(), "google_ads_rsa")) == ["grounding.price"]
    ad["headlines"][1] = "Yours for £12.00"
    assert check(ad, ctx(), "google_ads_rsa") == []
    # a piece naming both items: a sentence that names none is not judged
    both = "The White Hanging Heart T-Light Holder and the Organic Cotton Tote Bag. Yours from £2.55."
    assert check({"text": both}, ctx(), "social_reply") == []


def test_offer_50_vs_copy_60_percent() -> None:
    offer = Offer(text="50% off candle holders", discount_pct=Decimal("50"))
    assert codes(check({"text": "Get 60% off the holder"}, ctx(offer=offer), "social_reply")) == ["grounding.percent"]
    assert codes(check({"text": "Get 50% off the holder"}, ctx(offer=offer), "social_reply")) == []
    assert codes(check({"text": "Get 50 percent off"}, ctx(), "social_reply")) == ["grounding.percent"]


def test_catalog_percent_is_fine_unless_sold_as_discount() -> None:
    assert check({"text": "The tote is 100% cotton."}, ctx(), "social_reply") == []
    assert "grounding.percent" in codes(check({"text": "100% off the tote"}, ctx(), "social_reply"))


def test_offer_amount_off_code_and_freebies() -> None:
    offer = Offer(text="£5 off orders over £30, free delivery", amount_off=Decimal("5"), code="SAVE5")
    assert check({"text": "£5 off over £30 with code SAVE5, free delivery too"}, ctx(offer=offer), "social_reply") == []
    found = codes(check({"text": "Use code SAVE50 for free shipping"}, ctx(), "social_reply"))
    assert found == ["grounding.code", "grounding.offer"]


def test_no_discount_words_without_an_offer() -> None:
    for text in ("Big sale on holders", "A discount for you", "Save on the tote", "Jetzt mit Rabatt"):
        assert "grounding.discount" in codes(check({"text": text}, ctx(), "social_reply")), text
    assert check({"text": "Big sale on holders"}, ctx(offer=Offer(discount_pct=Decimal("10"))), "social_reply") == []


def test_products_must_be_this_users_items() -> None:
    invented = "We think you will love the Vintage Doormat Set."
    assert codes(check({"text": invented}, ctx(), "social_reply")) == ["grounding.product"]
    own = "We think you will love the White Hanging Heart T-Light Holder and the Cotton Tote."
    assert check({"text": own}, ctx(), "social_reply") == []
    # Title Case headlines without a product noun are not product names
    fields = {
        "headlines": ["Soft Light For Evenings", "Picked For You", "Your Cosy Corner"],
        "descriptions": ["Warm light for quiet evenings.", "Chosen for you."],
    }
    assert check(fields, ctx(), "google_ads_rsa") == []
    fields["headlines"][0] = "Retro Alarm Clocks"
    assert codes(check(fields, ctx(), "google_ads_rsa")) == ["grounding.product"]


def test_the_users_last_purchase_may_be_named() -> None:
    from dataclasses import replace

    text = "Since you liked the Vintage Doormat Set, we think you will love the Cotton Tote."
    assert codes(check({"text": text}, ctx(), "social_reply")) == ["grounding.product"]
    bought = replace(ctx(), last_purchase="VINTAGE DOORMAT SET")
    assert check({"text": text}, bought, "social_reply") == []


def test_grounding_is_skipped_without_context() -> None:
    assert check({"text": "Only £99, 80% off!"}, None, "social_reply") == []


# --- compliance -----------------------------------------------------------------------------------------


def test_urgency_only_with_an_end_date() -> None:
    for text in ("Today only!", "Last chance for the holder", "Act now", "Hurry, only 3 left", "Nur heute"):
        assert "compliance.urgency" in codes(check({"text": text}, ctx(), "social_reply")), text
    dated = Offer(text="10% off", discount_pct=Decimal("10"), ends_at=dt.date(2030, 1, 1))
    assert check({"text": "Last chance: 10% off"}, ctx(offer=dated), "social_reply") == []


def test_banned_terms_whole_words_case_insensitive() -> None:
    assert codes(check({"text": "A CHEAP holder"}, ctx(), "social_reply")) == ["compliance.banned_term"]
    assert codes(check({"text": "our Best Ever tote"}, ctx(), "social_reply")) == ["compliance.banned_term"]
    assert check({"text": "A cheapskate's dream"}, ctx(), "social_reply") == []


def test_urls_only_items_brand_allowed_and_tracking() -> None:
    for ok in ("See https://shop.acme.example.com/p/1", "Visit acme.example.com", "img https://cdn.acme.example.com/x"):
        assert check({"text": ok}, ctx(), "social_reply") == [], ok
    for bad in ("See https://evil.example.net/x", "Go to www.other-shop.com", "bit.ly/abc"):
        assert codes(check({"text": bad}, ctx(), "social_reply")) == ["compliance.url"], bad


def test_pii_emails_phones_and_other_names() -> None:
    found = codes(check({"text": "Mail bob@example.org or call +44 161 555 1234, says Paul"}, ctx(), "social_reply"))
    assert found == ["compliance.pii_email", "compliance.pii_name", "compliance.pii_phone"]
    assert check({"text": "Hello Anna, the holder is £2.55."}, ctx(), "social_reply") == []
    assert "compliance.pii_name" in codes(check({"text": "Hello Anna"}, ctx(first_name="Maria"), "social_reply"))


# --- quality --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("It is one-of-a-kind, one-of-a-kind.", "one of a kind"),
        ("great great great", "great"),
        ("so soft and warm and so soft and warm", "so soft and warm"),
        ("A calm, warm light for you.", None),
        ("very very nice", None),
    ],
)
def test_repetition(text: str, phrase: str | None) -> None:
    assert repeated_phrase(text) == phrase


def test_duplicate_list_entries() -> None:
    fields = {"headlines": ["Soft light", "soft light!", "Warm evenings"], "descriptions": ["One.", "Two."]}
    assert codes(check(fields, ctx(), "google_ads_rsa")) == ["quality.duplicate"]


def test_meta_talk() -> None:
    assert codes(check({"text": "Sure! Here is your ad: nice holder"}, ctx(), "social_reply")) == ["quality.meta"]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("This is the light for your home and you will love it", "en"),
        ("Das ist die Lampe für dein Zuhause und sie ist nicht teuer", "de"),
        ("Voici la lampe pour votre maison, elle est dans nos vos rayons", "fr"),
        ("Esta es la lámpara para tu casa y es para que tus noches", "es"),
        ("Dit is de lamp voor je huis en het is een mooie", "nl"),
        ("Questa è la lampada per la tua casa e il tuo salotto che", "it"),
        ("Heart holder", None),
    ],
)
def test_language_detector(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang


def test_language_must_match_locale() -> None:
    english = {"text": "This is the light for your home and you will love it."}
    assert codes(check(english, ctx(locale="de-DE"), "social_reply")) == ["quality.language"]
    assert check(english, ctx(locale="en-US"), "social_reply") == []
    assert check(english, ctx(locale="pt-BR"), "social_reply") == []  # unknown to the detector: no finding
    german = {"text": "Das ist die Lampe für dein Zuhause und sie ist nicht teuer."}
    assert check(german, ctx(locale="de"), "social_reply") == []


# --- money helpers ---------------------------------------------------------------------------------------


def test_money_parsing_formats() -> None:
    assert parse_number("1,299.99") == Decimal("1299.99")
    assert parse_number("1.299,99") == Decimal("1299.99")
    assert parse_number("12,50") == Decimal("12.50")
    assert [a.value for a in find_amounts("£1,299 or 12,50 € or USD 3")] == [
        Decimal("1299"),
        Decimal("12.50"),
        Decimal("3"),
    ]
    assert find_amounts("2.50 cm wide") == []
    assert [p for p, _, _ in find_percentages("50% or 12.5 percent")] == [Decimal("50"), Decimal("12.5")]
    assert format_price(Decimal("1299.9"), "GBP") == "£1,299.90"
    assert format_price(Decimal("3"), "CHF") == "CHF3.00"  # CLDR en
    assert format_price(None, "GBP") == ""


def test_violation_is_frozen_plain_data() -> None:
    v = Violation("length.subject", "subject", "too long")
    assert v.hard is True
    assert v.to_dict() == {"code": "length.subject", "field": "subject", "message": "too long", "hard": True}
    with pytest.raises(AttributeError):
        v.code = "x"  # type: ignore[misc]


def test_a_price_owner_is_a_whole_word_name_and_each_price_is_judged_where_it_stands() -> None:
    """An item's name inside a longer word is not a mention, and a price said twice is judged at each place."""
    items = (
        ItemFacts(1, "A1", "Tote", Decimal("2.55"), "GBP"),
        ItemFacts(2, "A2", "Organic Cotton Tote Bag", Decimal("12.00"), "GBP"),
    )
    inside = "The Organic Cotton Tote Bag for Totebag lovers, £12.00."
    assert check({"text": inside}, ctx(items=items), "social_reply") == []
    twice = "The Tote is £2.55 and the Organic Cotton Tote Bag is £12.00, not £2.55."
    assert codes(check({"text": twice}, ctx(items=items), "social_reply")) == ["grounding.price"]
