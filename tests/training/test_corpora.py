"""Corpus loaders on the real files (../shared/data) and the held-out split by user and item."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import shared_data

from marketing_gen.training import corpora as C
from marketing_gen.training.catalog_contexts import build_context_split


def test_twitter_pairs_join_brand_replies_to_customer_tweets() -> None:
    pairs, report = C.load_twitter_pairs(shared_data("twcs_customer_support_twitter_sample_5000.csv"))
    assert 1800 <= len(pairs) <= 2188  # 2,188 complete pairs; a few drop as too short/long after cleaning
    assert report.kept == len(pairs) and report.skipped["not a brand tweet"] > 2000
    assert all(p.source == "twitter" and p.brand and not p.brand.isdigit() for p in pairs)
    assert not any(p.reply.startswith("@") or p.customer.startswith("@") for p in pairs)
    assert not any("http" in p.reply for p in pairs)
    assert all(len(p.reply) <= 280 for p in pairs)


def test_bitext_placeholders_are_filled_or_the_pair_dropped() -> None:
    pairs, report = C.load_bitext_pairs(shared_data("bitext_customer_support_training.csv"))
    assert len(pairs) > 4000
    assert report.skipped["placeholder without a neutral wording"] > 0
    assert not any("{{" in p.reply or "}}" in p.reply or "{{" in p.customer for p in pairs)
    assert not any(p.reply.endswith(":") for p in pairs)
    assert {p.intent for p in pairs} >= {"cancel_order", "track_order", "get_refund"}


def test_amazon_items_have_clean_features_and_honest_prices() -> None:
    items, report = C.load_amazon_items(shared_data("amazon_products_2020_sample_1000.csv"))
    assert report.read == 1000 and len(items) == report.kept >= 950
    assert not any(f.lower().startswith("make sure this fits") for i in items for f in i.features)
    assert all(1 <= len(i.features) <= 4 and all(len(f) <= 70 for f in i.features) for i in items)
    first = items[0]
    assert first.price == Decimal("237.68") and first.currency == "USD" and first.category == "Longboards"
    assert 10 <= sum(i.price is None for i in items) <= 40  # ranges, "Total price:" and empty prices


def test_online_retail_users_and_items() -> None:
    items, users, report = C.load_online_retail(shared_data("uci_online_retail_first_week_sample.csv"))
    assert len(items) == 1822 and all(i.currency == "GBP" and i.price and i.price > 0 for i in items)
    assert not any(i.title.isupper() for i in items)
    assert 380 <= len(users) <= 390
    assert all(u.stock_codes for u in users)


@pytest.mark.parametrize(
    ("raw", "price"),
    [
        ("$237.68", Decimal("237.68")),
        ("$1,299.00", Decimal("1299.00")),
        ("$74.99 - $249.99", None),
        ("Total price:", None),
        ("", None),
    ],
)
def test_parse_price(raw: str, price: Decimal | None) -> None:
    assert C.parse_price(raw) == price


def test_placeholders_and_features_helpers() -> None:
    assert C.fill_placeholders("Call {{Customer Support Phone Number}} or use {{Live Chat}}.") == (
        "Call our support line or use live chat."
    )
    assert C.fill_placeholders("See {{Order History}}") == "See Order History"
    assert C.fill_placeholders("Order {{Order Number Anonymized}} is late") is None
    feature = C.short_feature(
        "RESPONSIVE FLEX: The Crossbow features a bamboo core encased in triaxial fiberglass "
        "and HD plastic for a responsive flex pattern"
    )
    assert feature.startswith("Responsive flex: The Crossbow") and len(feature) <= 70
    assert feature.split()[-1].lower() not in {"in", "and", "a", "the", "of"}


def test_held_out_split_shares_no_user_and_no_item_with_training() -> None:
    data_dir = shared_data("amazon_products_2020_sample_1000.csv").parent
    shared_data("uci_online_retail_first_week_sample.csv")
    split = build_context_split(data_dir)
    assert len(split.train) > 1000 and len(split.held_out) >= 60
    train_users = {c.external_id for c in split.train}
    train_items = {i.external_id for c in split.train for i in c.items}
    assert not train_users & {c.external_id for c in split.held_out}
    assert not train_items & {i.external_id for c in split.held_out for i in c.items}
    assert split.held_out == build_context_split(data_dir).held_out  # deterministic
