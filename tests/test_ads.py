"""Ads by theme: ad groups, keywords, the Google Ads Editor CSV, Meta audiences and bulk CSV, on the demo store."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fakes import ScriptedEngine

from marketing_gen.ads.build import build_ads, parse_groups
from marketing_gen.ads.editor_csv import EDITOR_COLUMNS, pin_brand
from marketing_gen.ads.keywords import Keyword, assign_keywords, negative_keywords, normalize, phrases_for
from marketing_gen.ads.meta import BULK_COLUMNS, audience_row, normalize_email, normalize_phone, sha256_hex
from marketing_gen.ads.themes import group_by_theme, theme_of
from marketing_gen.campaigns.state import create_campaign
from marketing_gen.config import Settings
from marketing_gen.contexts import BrandFacts, ItemFacts, UserContext
from marketing_gen.devtools.demo_store import OUT_OF_STOCK, write_demo_store
from marketing_gen.errors import InvalidRequest
from marketing_gen.importers import import_file
from marketing_gen.prompts import ROLE_MARKER

BRAND = "Northwind Outfitters"


def _item(i: int, category: str, rank: int = 1) -> ItemFacts:
    return ItemFacts(
        i, f"sku{i}", f"Item {i}", Decimal("10"), "GBP", category=category, rank=rank, url=f"https://s/p{i}"
    )


def _ctx(uid: int, cats: list[str], locale: str = "en") -> UserContext:
    items = tuple(_item(10 * uid + n, c, n + 1) for n, c in enumerate(cats))
    return UserContext(uid, f"u{uid}", None, locale, None, BrandFacts(name=BRAND), items=items)


def test_theme_is_the_top_category_ties_go_to_the_best_ranked_item() -> None:
    assert theme_of(_ctx(1, ["Mugs", "Candles", "Candles"])) == "Candles"
    assert theme_of(_ctx(1, ["Mugs", "Candles"])) == "Mugs"
    assert theme_of(_ctx(1, [])) is None


def test_groups_are_per_theme_and_language_never_per_user() -> None:
    contexts = [_ctx(i, ["Mugs"]) for i in range(5)] + [_ctx(i, ["Candles"], "de-DE") for i in range(5, 8)]
    contexts.append(_ctx(9, []))  # no items: in no group
    plans = group_by_theme(contexts)
    assert [(p.theme, p.language, len(p.members)) for p in plans] == [("Mugs", "en", 5), ("Candles", "de", 3)]
    assert len(plans[0].items) == 3 and [i.rank for i in plans[0].items] == [1, 2, 3]


def test_keyword_phrases_rules_and_no_duplicates_across_groups() -> None:
    assert normalize("Cedar & Pine Soy Candle!") == "cedar & pine soy candle"
    phrases = phrases_for(["Cast Iron Skillet 26 cm", "Down Sleeping Bag -5 °C"], "Cookware")
    assert phrases == ["cast iron skillet 26 cm", "cast iron skillet", "down sleeping bag", "cookware"]
    assert all(len(p) <= 80 and len(p.split()) <= 10 and not re.search(r"[!@%,*()={};~`<>?\\|^]", p) for p in phrases)
    got = assign_keywords([("A", ["enamel mug", "mugs"]), ("B", ["mugs", "tea tin"])])
    assert got["A"] == [Keyword("enamel mug", "Phrase"), Keyword("enamel mug", "Exact"), Keyword("mugs", "Phrase"),
                        Keyword("mugs", "Exact")]  # fmt: skip
    assert {k.text for k in got["B"]} == {"tea tin"}  # "mugs" stays with the first (largest) group only


def test_negatives_for_out_of_stock_items_never_block_own_keywords() -> None:
    negatives = negative_keywords(["Rechargeable Camp Lantern", "Camp Mug"], ["enamel camp mug set", "camp lantern"])
    assert negatives == ["rechargeable camp lantern"]  # "camp mug" is inside "enamel camp mug set": dropped


def test_brand_headline_is_pinned_first() -> None:
    headlines, positions = pin_brand(["Warm Mugs", "Northwind Outfitters picks", "Tea Time"], BRAND)
    assert headlines[0] == "Northwind Outfitters picks" and positions == ["1", "", ""]
    headlines, positions = pin_brand(["Warm Mugs", "Tea Time", "Hot Cocoa"], BRAND)
    assert headlines == [BRAND, "Warm Mugs", "Tea Time", "Hot Cocoa"] and positions[0] == "1"
    too_long = "A Brand Name Longer Than Thirty Characters"
    assert pin_brand(["a", "b", "c"], too_long) == (["a", "b", "c"], ["", "", ""])


def test_meta_hashing_matches_known_sha256_values() -> None:
    # reference digests from coreutils `printf '…' | sha256sum`, not from Python
    assert normalize_email("  John.Doe@Example.COM ") == "john.doe@example.com"
    assert sha256_hex("john.doe@example.com") == "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f"
    assert normalize_phone("+44 7400 123001") == "447400123001"
    assert sha256_hex("447400123001") == "571b011307f7e3504bca7cd3f8b6d9f338fc217b1676976e6554f80068451109"
    assert normalize_phone("+1 (650) 555-1234") == "16505551234"
    row = audience_row(" John.Doe@Example.COM", "+1 650-555-1234")
    assert row == {
        "email": "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f",
        "phone": "6069d14bf122fdfd931dc7beb58e5dfbba395b1faf05bdcd42d12358d63d8599",
    }
    assert audience_row(None, "") is None


# --- end to end on the demo store ----------------------------------------------------------------------------


@pytest.fixture
def demo_campaign(db_url: str, tmp_path: Path) -> tuple[int, Settings]:
    from marketing_gen.recommend.store import run_recommend

    paths = write_demo_store(tmp_path / "store", users=60, seed=0)
    for kind in ("brand", "items", "users", "interactions"):
        assert import_file(kind, paths[kind], url=db_url).rejected == 0
    run_recommend(db_url, k=5)
    cid = create_campaign(name="Spring picks", channels=["email", "google_ads_rsa", "meta_ad"], url=db_url)
    return cid, Settings(database_url=db_url, public_base_url="https://mg.example.com", secret_key="s" * 32)


def _editor(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _check_editor_csv(rows: list[dict[str, str]], result: Any) -> None:
    assert list(rows[0]) == list(EDITOR_COLUMNS)
    kinds = Counter(
        "campaign" if r["Campaign Type"] else "ad" if r["Ad type"] else "keyword" if r["Keyword"] else "ad group"
        for r in rows
    )
    campaigns = [r for r in rows if r["Campaign Type"]]
    assert all(r["Campaign Type"] == "Search" and r["Campaign Status"] == "Paused" for r in campaigns)
    groups = {(r["Campaign"], r["Ad Group"]) for r in rows if r["Ad Group Status"]}
    assert kinds["ad group"] == len(groups) == kinds["ad"] == len(result.groups) >= 3
    assert len(groups) < result.audience / 3  # themes, not people
    assert not any(re.search(r"C\d{5}", g) for _, g in groups)  # no user id in any ad group name
    keywords = [r for r in rows if r["Keyword"] and r["Ad Group"]]
    assert {r["Criterion Type"] for r in keywords} == {"Phrase", "Exact"}
    per_group = Counter((r["Campaign"], r["Ad Group"]) for r in keywords)
    assert set(per_group) == groups and min(per_group.values()) >= 1
    texts = Counter((r["Campaign"], r["Keyword"], r["Criterion Type"]) for r in keywords)
    assert max(texts.values()) == 1  # no keyword in two ad groups of one campaign
    negatives = [r for r in rows if r["Criterion Type"] == "Campaign Negative Phrase"]
    assert {r["Keyword"] for r in negatives} == {"rechargeable camp lantern", "waxed cotton field jacket"}
    assert len(OUT_OF_STOCK) == 2 and all(not r["Ad Group"] for r in negatives)
    for ad in (r for r in rows if r["Ad type"]):
        assert ad["Ad type"] == "Responsive search ad" and ad["Final URL"].startswith("https://shop.example.com/p/")
        headlines = [ad[f"Headline {i}"] for i in range(1, 16) if ad[f"Headline {i}"]]
        descriptions = [ad[f"Description {i}"] for i in range(1, 5) if ad[f"Description {i}"]]
        assert 3 <= len(headlines) <= 15 and 2 <= len(descriptions) <= 4
        assert all(len(h) <= 30 for h in headlines) and all(len(d) <= 90 for d in descriptions)
        assert BRAND in headlines[0] and ad["Headline 1 position"] == "1"
        assert len(ad["Path 1"]) <= 15 and len(ad["Path 2"]) <= 15


def test_template_copy_writes_editor_and_meta_files(demo_campaign: tuple[int, Settings], tmp_path: Path) -> None:
    cid, settings = demo_campaign
    result = build_ads(cid, tmp_path / "ads", settings=settings)
    names = sorted(p.name for p in result.files)
    assert "google_ads_editor.csv" in names and "meta_ads_bulk.csv" in names
    _check_editor_csv(_editor(tmp_path / "ads" / "google_ads_editor.csv"), result)
    assert all(g.fallback == {"google_ads_rsa": True, "meta_ad": True} and not g.skipped for g in result.groups)

    bulk = list(csv.DictReader(io.StringIO((tmp_path / "ads" / "meta_ads_bulk.csv").read_text(encoding="utf-8"))))
    assert list(bulk[0]) == list(BULK_COLUMNS) and len(bulk) == len(result.groups)
    for row in bulk:
        assert row["Title"] and row["Body"] and len(row["Title"]) <= 40 and len(row["Body"]) <= 125
        assert row["Campaign Status"] == row["Ad Status"] == "PAUSED" and row["Call to Action"] == "SHOP_NOW"
        audience = tmp_path / "ads" / f"{row['Custom Audiences']}.csv"
        lines = list(csv.DictReader(audience.open(encoding="utf-8")))
        assert lines and all(re.fullmatch(r"[0-9a-f]{64}", line["email"]) for line in lines)
        assert all(line["phone"] == "" or re.fullmatch(r"[0-9a-f]{64}", line["phone"]) for line in lines)
        assert "@" not in audience.read_text()  # hashed: no address in clear
    members = sum(g.members for g in result.groups)
    audiences = sum(1 for p in result.files if p.name.startswith("meta_audience_") for _ in csv.DictReader(p.open()))
    assert audiences == members == result.audience - result.ungrouped


def _grounded_rsa(prompt: Any, params: Any, call: int) -> str:
    """A copywriter stand-in that writes from the prompt's data block, as a fine-tuned model would."""
    data = json.loads(re.search(r"<data>(.*)</data>", prompt[-1]["content"], re.S).group(1))
    product = data["products"][0]
    name = product.get("short") or product["name"]
    if "HEADLINE 1" in prompt[0]["content"] and "DESCRIPTION 2:" in prompt[0]["content"]:
        return (
            f"HEADLINE: {name[:30]}\nHEADLINE: Northwind Outfitters picks\nHEADLINE: Made for slow mornings\n"
            f"DESCRIPTION: The {name} is ready for your next trip.\nDESCRIPTION: Simple things that last.\n"
            "PATH1: picks\nPATH2: spring"
        )
    return f"TEXT: The {name} is ready for your next trip.\nHEADLINE: {name[:40]}\nDESCRIPTION: Simple things"


def test_model_copy_goes_through_the_copywriter(demo_campaign: tuple[int, Settings], tmp_path: Path) -> None:
    cid, settings = demo_campaign
    engine = ScriptedEngine(responder=_grounded_rsa)
    result = build_ads(cid, tmp_path / "ads", engine=engine, settings=settings)
    assert engine.calls and len(engine.calls[0].prompts) == len(result.groups)  # one batched call per channel
    assert not ROLE_MARKER.search(engine.calls[0].prompts[0][-1]["content"])
    model_written = [g for g in result.groups if not g.fallback["google_ads_rsa"]]
    assert model_written  # grounded copy passes the guardrails as is
    assert all(g.first_try["google_ads_rsa"] for g in model_written)  # the demo reports it per channel
    assert not any(g.first_try["meta_ad"] for g in result.groups if g.fallback["meta_ad"])
    rows = _editor(tmp_path / "ads" / "google_ads_editor.csv")
    _check_editor_csv(rows, result)
    assert any(r["Headline 1"] == "Northwind Outfitters picks" for r in rows if r["Ad type"])  # moved first, pinned


def test_segment_groups_and_bad_input(demo_campaign: tuple[int, Settings], tmp_path: Path) -> None:
    cid, settings = demo_campaign
    groups = parse_groups(["Cooks=interests has Kitchen", "Campers=interests has Outdoor"])
    result = build_ads(cid, tmp_path / "ads", groups=groups, settings=settings)
    assert {g.name.split(" (")[0] for g in result.groups} == {"Cooks", "Campers"}
    with pytest.raises(InvalidRequest, match="NAME=SEGMENT"):
        parse_groups(["no equals sign"])
    email_only = create_campaign(name="mail", channels=["email"], url=settings.database_url)
    with pytest.raises(InvalidRequest, match="no ads channel"):
        build_ads(email_only, tmp_path / "x", settings=settings)


def test_cli_campaign_ads_json(demo_campaign: tuple[int, Settings], tmp_path: Path, monkeypatch: Any) -> None:
    from marketing_gen.cli import main
    from marketing_gen.config import get_settings

    cid, settings = demo_campaign
    monkeypatch.setenv("MARKETING_GEN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MARKETING_GEN_SECRET_KEY", "s" * 32)
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(main, ["campaign", "ads", str(cid), "--out", str(tmp_path / "o"), "--template-copy",
                                        "--json"])  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["groups"] and all(g["keywords"] >= 2 for g in report["groups"])
    assert (tmp_path / "o" / "google_ads_editor.csv").exists()


def test_themes_too_small_are_pooled_per_language() -> None:
    contexts = [_ctx(i, ["Mugs"]) for i in range(4)] + [_ctx(10, ["Candles"]), _ctx(11, ["Decor"]), _ctx(12, ["Tools"])]
    contexts += [_ctx(20, ["Mugs"], "fr"), _ctx(21, ["Decor"], "fr")]  # French: a pool of two, still too small
    plans = group_by_theme(contexts, min_members=3)
    assert [(p.theme, p.language, p.members) for p in plans] == [
        ("Mugs", "en", (0, 1, 2, 3)),
        ("More picks", "en", (10, 11, 12)),
    ]


def test_cli_campaign_ads_loads_the_active_model(
    demo_campaign: tuple[int, Settings], tmp_path: Path, monkeypatch: Any, tiny_model_dir: Path
) -> None:
    from marketing_gen.cli import main
    from marketing_gen.config import get_settings
    from marketing_gen.versions.registry import register_version

    _, settings = demo_campaign
    register_version("tiny", str(tiny_model_dir), activate=True, url=settings.database_url)
    options = {"max_regenerations": 0, "sampling": {"max_new_tokens": 16}}  # a quick model round, then the fallback
    cid = create_campaign(name="Tiny", channels=["google_ads_rsa"], url=settings.database_url, options=options)
    monkeypatch.setenv("MARKETING_GEN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MARKETING_GEN_SECRET_KEY", "s" * 32)
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(main, ["campaign", "ads", str(cid), "--out", str(tmp_path / "m"), "--json"])
    finally:
        get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["groups"] and all(not g["skipped"] for g in report["groups"])  # the tiny model's noise falls back
    _check_editor_csv(_editor(tmp_path / "m" / "google_ads_editor.csv"), _Result(report))


class _Result:
    """The two figures ``_check_editor_csv`` reads, from the CLI's JSON."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.groups, self.audience = report["groups"], report["audience"]
