"""Copywriter: batched generation, regeneration of failures only, and a fallback that always passes."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from decimal import Decimal

import pytest
from conftest import shared_data
from fakes import ScriptedEngine

from marketing_gen.channels import all_channels, copy_channels
from marketing_gen.config import get_settings
from marketing_gen.contexts import BrandFacts, ItemFacts, Offer, UserContext
from marketing_gen.copywriter import postprocess, render_fallback, sampling_for, write_copies
from marketing_gen.guardrails import check, hard, passes, sendable

BRAND = BrandFacts(name="Acme Home", website_url="https://acme.example.com", banned_terms=("cheap",))
HEART = ItemFacts(1, "A1", "WHITE HANGING HEART T-LIGHT HOLDER", Decimal("2.55"), "GBP")


def ctx(
    user_id: int = 1,
    *,
    items: tuple[ItemFacts, ...] = (HEART,),
    locale: str = "en",
    first_name: str | None = "Anna",
    offer: Offer | None = None,
    brand: BrandFacts = BRAND,
) -> UserContext:
    return UserContext(
        user_id=user_id,
        external_id=f"u{user_id}",
        first_name=first_name,
        locale=locale,
        country=None,
        brand=brand,
        items=items,
        offer=offer or Offer(),
    )


GOOD = (
    "SUBJECT: Anna, a warm light for your evenings\n"
    "PREHEADER: The White Hanging Heart T-Light Holder, picked for you at Acme Home\n"
    "HEADLINE: Soft light for quiet evenings\n"
    "BODY: The White Hanging Heart T-Light Holder is £2.55 and fills your evenings with a soft, warm glow.\n"
    "CTA: See the holder"
)
BAD = "SUBJECT: Today only! 60% off\nBODY: one-of-a-kind, one-of-a-kind"


def test_first_try_success_is_one_batched_call() -> None:
    engine = ScriptedEngine([GOOD, GOOD, GOOD])
    results = write_copies([ctx(1), ctx(2), ctx(3)], "email", engine, seed=7)
    assert len(engine.calls) == 1 and len(engine.calls[0].prompts) == 3
    assert engine.calls[0].params.temperature == 0.0 and engine.calls[0].params.seed == 7
    for user_id, r in zip([1, 2, 3], results, strict=True):
        assert r.user_id == user_id and not r.fallback and r.attempts == 1
        assert r.fields["subject"] == "Anna, a warm light for your evenings"
        assert r.violations == [[]] and r.raw_texts == [GOOD]
        assert r.prompt_hash and len(r.prompt_hash) == 64 and r.seed == 7
        assert r.timings["model_s"] >= 0 and r.timings["check_s"] > 0
        assert r.model_version == "scripted-test-engine"


def test_only_failures_are_regenerated_with_a_new_schedule() -> None:
    # round 1: user 1 good, user 2 bad; round 2: user 2 good
    engine = ScriptedEngine([GOOD, BAD, GOOD])
    results = write_copies([ctx(1), ctx(2)], "email", engine, seed=3)
    assert [len(c.prompts) for c in engine.calls] == [2, 1]
    assert engine.calls[1].prompts[0] == engine.calls[0].prompts[1]
    second = engine.calls[1].params
    assert second.temperature > 0 and second.seed != 3
    r = results[1]
    assert r.attempts == 2 and not r.fallback and r.seed == second.seed
    first_codes = {v["code"] for v in r.violations[0]}
    assert {"compliance.urgency", "grounding.percent", "quality.repetition", "content.cta_default"} <= first_codes
    assert r.violations[1] == []


def test_a_regeneration_samples_several_texts_and_keeps_the_first_that_passes() -> None:
    # round 1: one greedy text (bad); round 2: regen_candidates (3) sampled texts — bad, good, bad
    engine = ScriptedEngine([BAD, BAD, GOOD, BAD])
    [r] = write_copies([ctx()], "email", engine, max_regenerations=2)
    assert [c.params.n for c in engine.calls] == [1, 3]
    assert r.attempts == 2 and not r.fallback and r.sendable and r.raw_texts == [BAD, GOOD]
    assert r.violations[1] == [] and r.fields["subject"] == "Anna, a warm light for your evenings"


def test_always_bad_falls_back_to_copy_that_passes() -> None:
    engine = ScriptedEngine(default=BAD)
    [r] = write_copies([ctx()], "email", engine, max_regenerations=2)
    assert len(engine.calls) == 3 and r.attempts == 3 and r.fallback and r.seed is None
    assert len(r.violations) >= 4 and all(any(v["hard"] for v in attempt) for attempt in r.violations[:3])
    assert hard(check(r.fields, ctx(), "email")) == []
    assert r.violations[-1] == [v.to_dict() for v in check(r.fields, ctx(), "email")]


def test_max_regenerations_zero_means_one_model_call() -> None:
    engine = ScriptedEngine(default=BAD)
    [r] = write_copies([ctx()], "push", engine, max_regenerations=0)
    assert len(engine.calls) == 1 and r.attempts == 1 and r.fallback


def test_user_without_recommendations_is_skipped_not_prompted() -> None:
    engine = ScriptedEngine([GOOD])
    results = write_copies([ctx(1, items=()), ctx(2)], "email", engine)
    assert results[0].skipped and results[0].skip_reason == "no recommendations" and not results[0].ok
    assert len(engine.calls[0].prompts) == 1 and results[1].ok


def _setting_off(monkeypatch: pytest.MonkeyPatch, name: str):  # -> Iterator[None]
    monkeypatch.setenv(name, "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def fit_lengths_off(monkeypatch: pytest.MonkeyPatch):  # -> Iterator[None]
    yield from _setting_off(monkeypatch, "MARKETING_GEN_FIT_LENGTHS")


def test_over_length_is_regenerated_never_truncated_when_fit_lengths_is_off(fit_lengths_off: None) -> None:
    long_subject = GOOD.replace("Anna, a warm light for your evenings", "Anna, " + "a warm light " * 6)
    engine = ScriptedEngine(default=long_subject)
    [r] = write_copies([ctx()], "email", engine, max_regenerations=1)
    assert r.fallback
    assert all("length.subject" in {v["code"] for v in a} for a in r.violations[:2])
    assert not ("Anna, " + "a warm light " * 6).startswith(r.fields["subject"])


def test_postprocess_is_safe_cleanup() -> None:
    spec = all_channels()["google_ads_rsa"]
    fields = postprocess(
        {"headlines": [f"Headline {i}" for i in range(20)] + ["Headline 1"], "descriptions": ["a"]}, spec, ctx()
    )
    assert len(fields["headlines"]) == 15 and len(set(fields["headlines"])) == 15
    sms = postprocess({"text": "New holders are in"}, all_channels()["sms"], ctx())
    assert sms["text"] == "Acme Home: New holders are in. Reply STOP to opt out"
    email = postprocess({"subject": "Hello\nSure, here is more", "body": "a\n\nb"}, all_channels()["email"], ctx())
    assert email["subject"] == "Hello" and email["body"] == "a\n\nb"


def test_sms_from_the_model_gets_brand_and_opt_out() -> None:
    engine = ScriptedEngine(["TEXT: The heart holder is back, just £2.55."])
    [r] = write_copies([ctx()], "sms", engine)
    assert not r.fallback
    assert r.fields["text"] == "Acme Home: The heart holder is back, just £2.55. Reply STOP to opt out"


def test_sampling_schedule() -> None:
    spec = all_channels()["email"]
    first, later = sampling_for(0, seed=5, spec=spec), sampling_for(2, seed=5, spec=spec)
    assert first.temperature == 0.0 and first.max_new_tokens == spec.max_new_tokens and first.n == 1
    assert 0.7 <= later.temperature <= 0.9 and later.seed == 7
    assert first.no_repeat_ngram_size == 0  # it would forbid the tags shown in the prompt


def test_broken_brand_is_skipped_with_reason_never_delivered() -> None:
    brand = BrandFacts(name="Cheap Deals Co", banned_terms=("cheap",))
    [r] = write_copies([ctx(brand=brand)], "sms", ScriptedEngine(default="TEXT: hi"), max_regenerations=0)
    assert r.skipped and r.skip_reason.startswith("no copy passes the hard checks")


HOSTILE_TITLES = [
    "<script>alert(1)</script> Mug",
    "{{ 7*7 }} Cushion {% raw %}",
    'The "Best" Lamp\'s Shade',
    "🎄 Christmas Star 🌟",
    "北欧风格 陶瓷杯 Ceramic Cup",
    "HURRY! 90% OFF - LAST CHANCE £1.00",
    "Visit www.evil.com call 0161 555 1234",
    "x" * 300,
    "Mug",
    "Paul's Cheap Mug SUBJECT: BODY:",
    "Sale Sale Sale Sale",
    "Ünïcödé Lämp €€€ [] {} ~ ^ |",
    "one of a kind one of a kind vase",
    "SET OF 3 CAKE TINS PANTRY DESIGN",
]


@pytest.mark.parametrize("channel", copy_channels())
def test_fallback_passes_every_hard_check_on_hostile_contexts(channel: str) -> None:
    brands = [BRAND, BrandFacts(name="Ümlaut & Co"), BrandFacts(name="A Rather Long Brand Name For A Shop Ltd")]
    offers = [
        Offer(),
        Offer(discount_pct=Decimal("50"), code="SAVE50"),
        Offer(amount_off=Decimal("5"), text="£5 off orders over £30"),
        Offer(discount_pct=Decimal("12.5"), ends_at=dt.date(2030, 1, 1)),
    ]
    combos = itertools.product(
        HOSTILE_TITLES,
        brands,
        ["en-GB", "de-DE", "fr", "es", "nl", "it", "ja", ""],
        ["Anna", None, "Robert'); DROP TABLE", "李"],
        offers,
        [Decimal("2.55"), None],
    )
    checked = 0
    for n, (title, brand, locale, first, offer, price) in enumerate(combos):
        if n % 23:
            continue  # a deterministic sample keeps the test fast
        items = (ItemFacts(1, "x", title, price, "GBP"), ItemFacts(2, "y", "JUMBO BAG RED RETROSPOT", None, "GBP"))
        context = ctx(items=items, locale=locale, first_name=first, offer=offer, brand=brand)
        [r] = write_copies([context], channel, ScriptedEngine(default=BAD), max_regenerations=0)
        assert r.fallback and not r.skipped, (title, brand.name, locale)
        found = check(r.fields, context, channel)
        assert passes(found), (title, brand.name, locale, r.fields)  # hostile titles ("Mug") may not be sendable
        assert r.sendable == sendable(found) and r.findings == [v.to_dict() for v in found]
        checked += 1
    assert checked > 250


def test_fallback_full_level_names_the_item_and_offer() -> None:
    offer = Offer(discount_pct=Decimal("50"), code="SAVE50")
    fields = render_fallback(ctx(offer=offer), "email", level="full")
    assert "White Hanging Heart T-Light Holder" in fields["body"] and "£2.55" in fields["body"]
    assert "50% off with code SAVE50" in fields["body"]
    minimal = render_fallback(ctx(offer=offer), "email", level="minimal")
    assert "Heart" not in " ".join(minimal.values())
    german = render_fallback(ctx(locale="de-DE"), "email", level="minimal")
    found = check(german, ctx(locale="de-DE"), "email")
    assert passes(found) and german["cta"] == "Jetzt ansehen"
    assert {v.code for v in found} == {"content.short", "content.no_item"}  # minimal copy names no item: not sendable


def _online_retail_contexts(limit: int) -> list[UserContext]:
    path = shared_data("uci_online_retail_first_week_sample.csv")
    by_customer: dict[str, dict[str, ItemFacts]] = {}
    countries: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            cust = row["CustomerID"]
            items = by_customer.setdefault(cust, {})
            if len(items) < 3 and row["StockCode"] not in items:
                items[row["StockCode"]] = ItemFacts(
                    len(items), row["StockCode"], row["Description"], Decimal(row["UnitPrice"]), "GBP"
                )
            countries[cust] = row["Country"]
    locale = {"Germany": "de", "France": "fr", "Spain": "es", "Netherlands": "nl", "Italy": "it"}
    return [
        ctx(i, items=tuple(items.values()), locale=locale.get(countries[c], "en-GB"), first_name=None)
        for i, (c, items) in enumerate(list(by_customer.items())[:limit])
    ]


@pytest.mark.parametrize("channel", copy_channels())
def test_fallback_passes_on_real_online_retail_users(channel: str) -> None:
    contexts = _online_retail_contexts(200)
    assert len(contexts) == 200
    results = write_copies(contexts, channel, ScriptedEngine(default=""), max_regenerations=0)
    for context, r in zip(contexts, results, strict=True):
        assert r.fallback and r.sendable and hard(check(r.fields, context, channel)) == [], r.fields


def test_text_cut_by_the_token_limit_is_not_delivered() -> None:
    cut = "TITLE: Soft light for you\nBODY: The White Hanging Heart T-Light Holder gives a warm"
    engine = ScriptedEngine([cut, cut], finish_reason="length")
    [r] = write_copies([ctx()], "push", engine, max_regenerations=1)
    assert r.fallback
    assert [v["code"] for v in r.violations[0]] == ["format.truncated"]
    done = "TITLE: Soft light for you\nBODY: The White Hanging Heart T-Light Holder gives a warm glow."
    [ok] = write_copies([ctx()], "push", ScriptedEngine([done], finish_reason="length"))
    assert not ok.fallback  # ended with a full stop: complete, even though the budget ran out after it


def test_half_written_list_entry_is_dropped() -> None:
    text = (
        "HEADLINE: Soft Light For Evenings\nHEADLINE: Picked For You\nHEADLINE: Your Cosy Corner\n"
        "DESCRIPTION: Warm light for quiet evenings.\nDESCRIPTION: Chosen for you.\nHEADLINE: A Warm Gl"
    )
    [r] = write_copies([ctx()], "google_ads_rsa", ScriptedEngine([text], finish_reason="length"))
    assert not r.fallback and r.fields["headlines"] == ["Soft Light For Evenings", "Picked For You", "Your Cosy Corner"]


def test_cut_in_chatter_after_a_one_line_field_is_fine() -> None:
    text = (
        "BODY: The White Hanging Heart T-Light Holder gives a warm glow.\nTITLE: Soft light for you\n"
        "and more words that ran on until the"
    )
    [r] = write_copies([ctx()], "push", ScriptedEngine([text], finish_reason="length"))
    assert not r.fallback and r.fields["title"] == "Soft light for you"


def test_fine_tuned_engines_get_prompts_without_the_example_turn() -> None:
    base, tuned = ScriptedEngine([GOOD]), ScriptedEngine([GOOD], zero_shot_channels=frozenset({"email"}))
    write_copies([ctx(1)], "email", base)
    write_copies([ctx(1)], "email", tuned)
    write_copies([ctx(1)], "push", tuned)  # a channel it was not trained on keeps the example turn
    assert [m["role"] for m in base.calls[0].prompts[0]] == ["system", "user", "assistant", "user"]
    assert [m["role"] for m in tuned.calls[0].prompts[0]] == ["system", "user"]
    assert tuned.calls[0].prompts[0][-1] == base.calls[0].prompts[0][-1]  # same data block
    assert [m["role"] for m in tuned.calls[1].prompts[0]] == ["system", "user", "assistant", "user"]


@pytest.fixture
def fixed_cta_off(monkeypatch: pytest.MonkeyPatch):  # -> Iterator[None]
    yield from _setting_off(monkeypatch, "MARKETING_GEN_FIXED_CTA")


GERMAN = (
    "SUBJECT: Anna, für dich ausgewählt\n"
    "PREHEADER: Ein paar Ideen, die wir bei Acme Home für dich ausgewählt haben\n"
    "HEADLINE: White Hanging Heart T-Light Holder\n"
    "BODY: Hallo Anna! Das könnte dir gefallen. White Hanging Heart T-Light Holder für 2,55\xa0£. "
    "Schau dir unsere neuen Ideen an.\n"
)


@pytest.mark.parametrize("cta", ["CTA: Sack", "CTA: Für dich ausgewählt", ""])
def test_an_email_cta_without_an_action_word_gets_the_languages_standard_label(cta: str) -> None:
    """The demo model wrote "Sack", "Für dich ausgewählt" or no CTA under otherwise sendable German and English
    emails (8 of 52 first tries); the button label is the language's standard one, said as a soft finding."""
    engine = ScriptedEngine(texts=[GERMAN + cta])
    [result] = write_copies([ctx(locale="de-DE")], "email", engine, max_regenerations=0)
    assert result.attempts == 1 and not result.fallback and result.sendable
    assert result.fields["cta"] == "Jetzt ansehen"
    assert [v["code"] for v in result.violations[0] if not v["hard"]] == ["content.cta_default"]


def test_a_good_cta_is_kept_and_the_setting_can_turn_the_label_off(fixed_cta_off: None) -> None:
    [kept] = write_copies([ctx()], "email", ScriptedEngine(texts=[GOOD]), max_regenerations=0)
    assert kept.fields["cta"] == "See the holder"
    [refused] = write_copies(
        [ctx(locale="de-DE")], "email", ScriptedEngine(texts=[GERMAN + "CTA: Sack"]), max_regenerations=0
    )
    assert "content.cta" in {v["code"] for v in refused.violations[0]} and refused.fallback


RSA = (
    "HEADLINE: White Hanging Heart T-Light\nHEADLINE: Acme Home\nHEADLINE: Yours for £2.55\n"
    "DESCRIPTION: Picked for you by Acme Home.\nDESCRIPTION: The holder is £2.55 at Acme Home.\n"
)
LIGHTING = ItemFacts(1, "A1", "WHITE HANGING HEART T-LIGHT HOLDER", Decimal("2.55"), "GBP", category="Lighting")


@pytest.mark.parametrize("paths", ["PATH1: Cela\nPATH2: Picked For You", "PATH1: The\nPATH2: Cost", ""])
def test_rsa_display_paths_are_the_items_own(paths: str) -> None:
    """The demo model's gallery paths named nothing of the item ("Cela" in an English ad, "The", "Cost" for a
    costume sword, "Picked"): the served paths are the teacher's rule for the ad's item, with a soft finding."""
    [r] = write_copies([ctx(items=(LIGHTING,))], "google_ads_rsa", ScriptedEngine([RSA + paths]), max_regenerations=0)
    assert r.sendable and not r.fallback
    assert (r.fields["path1"], r.fields["path2"]) == ("Lighting", "Hanging")
    soft = [v for v in r.violations[0] if v["code"] == "content.path_default"]
    assert [v["field"] for v in soft] == ["path1", "path2"] and all(not v["hard"] for v in soft)


def test_rsa_paths_the_rule_gives_are_kept_silently_and_the_setting_turns_the_rule_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    [same] = write_copies(
        [ctx(items=(LIGHTING,))], "google_ads_rsa", ScriptedEngine([RSA + "PATH1: lighting\nPATH2: Hanging"])
    )
    assert not [v for v in same.violations[0] if v["code"] == "content.path_default"]
    [shop] = write_copies([ctx()], "google_ads_rsa", ScriptedEngine([RSA + "PATH1: Cela"]))  # no category: "shop"
    assert (shop.fields["path1"], shop.fields["path2"]) == ("shop", "Hanging")
    for _ in _setting_off(monkeypatch, "MARKETING_GEN_FIXED_PATHS"):
        [kept] = write_copies([ctx(items=(LIGHTING,))], "google_ads_rsa", ScriptedEngine([RSA + "PATH1: Cela"]))
        assert kept.fields["path1"] == "Cela" and not [v for v in kept.violations[0] if not v["hard"]]
