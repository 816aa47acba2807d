"""The quality gate (issue 15): each rule catches the failures quoted in the issue and lets real human copy pass.

Quoted failures come from a real demo campaign's export and a campaign on a catalog the demo model never saw;
human copy is the Amazon catalog's seller copy and real brand replies of the Twitter support sample.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import shared_data
from fakes import ScriptedEngine

from marketing_gen import guardrails
from marketing_gen.channels.base import get_channel
from marketing_gen.contexts import BrandFacts, ItemFacts, UserContext
from marketing_gen.copywriter import write_copies
from marketing_gen.guardrails import check, is_gate, passes, sendable
from marketing_gen.guardrails.content import _check_text
from marketing_gen.guardrails.dictionary import is_word
from marketing_gen.guardrails.fluency import FluencyScorer, check_fluency, fluency_texts, prepare
from marketing_gen.guardrails.language import check_language
from marketing_gen.training.corpora import load_twitter_pairs


def ctx(
    first_name: str | None,
    locale: str,
    titles: list[str],
    brand: str = "Hearth & Hook",
    last_purchase: str | None = None,
) -> UserContext:
    items = tuple(
        ItemFacts(i, f"i{i}", t, Decimal("19.99"), "GBP", category="Home") for i, t in enumerate(titles, start=1)
    )
    return UserContext(
        user_id=1,
        external_id="u1",
        first_name=first_name,
        locale=locale,
        country=None,
        brand=BrandFacts(name=brand),
        items=items,
        last_purchase=last_purchase,
    )


def gate_codes(fields: dict, context: UserContext, channel: str) -> set[str]:
    return {v.code for v in check(fields, context, channel) if is_gate(v.code)}


EN_EMAIL = {
    "subject": "Tom, picked for you",
    "preheader": "A few ideas we picked for you at Hearth & Hook",
    "headline": "Sherpa Fleece Blanket",
    "body": "Hello Tom! The Sherpa Fleece Blanket is soft and warm, made for slow evenings on the sofa at home.",
    "cta": "Shop now",
}
EN_CONTEXT = ctx("Tom", "en-GB", ["Sherpa Fleece Blanket", "Merino Wool Socks"])


def test_clean_copy_is_sendable() -> None:
    found = check(EN_EMAIL, EN_CONTEXT, "email")
    assert found == [] and passes(found) and sendable(found)


# --- the failures quoted in the issue: each must be caught, by the rule named ------------------------------


@pytest.mark.parametrize(
    ("channel", "context", "fields", "expected"),
    [
        # email (fr): body "Je vous pour vous", CTA "Vous vous pour vous"
        (
            "email",
            ctx("Manon", "fr-FR", ["Sherpa Fleece Blanket"]),
            {**EN_EMAIL, "subject": "Manon, choisi pour vous", "preheader": "Quelques idées choisies pour vous",
             "body": "Je vous pour vous", "cta": "Vous vous pour vous"},
            {"content.short", "content.no_item", "content.repeat", "content.cta"},
        ),
        # email (de): body "Geschmack" (one word)
        (
            "email",
            ctx("Lena", "de-DE", ["Sherpa Fleece Blanket"]),
            {**EN_EMAIL, "subject": "Für dich ausgewählt", "preheader": "Ein paar Ideen für dich",
             "body": "Geschmack", "cta": "Jetzt ansehen"},
            {"content.short", "content.no_item"},
        ),
        # "the Knisole is for you" (the item is a Kneeling Pad)
        (
            "email",
            ctx("Tom", "en-GB", ["Kneeling Pad"]),
            {**EN_EMAIL, "headline": "Kneeling Pad",
             "body": "Hello Tom! Your Kneeling Pad is here: the Knisole is for you, soft on the knees all season."},
            {"fidelity.word"},
        ),
        # subject "Hearthstone Fleece Blanket" while the item is the Sherpa Fleece Blanket; "merino merino"
        (
            "email",
            EN_CONTEXT,
            {**EN_EMAIL, "subject": "Hearthstone Fleece Blanket",
             "body": "Hello Tom! A soft, itch-free merino merino pair of Merino Wool Socks for the Sherpa Fleece "
             "Blanket evenings."},
            {"fidelity.product", "content.repeat"},
        ),
        # "Gardening Gloeskin gloves"
        (
            "email",
            ctx("Tom", "en-GB", ["Gardening Gloves"]),
            {**EN_EMAIL, "subject": "Gardening Gloeskin gloves", "headline": "Gardening Gloves",
             "body": "Hello Tom! Our Gardening Gloves keep your hands dry and warm in the garden all spring."},
            {"fidelity.word", "fidelity.product"},
        ),
        # Google Ads: headline "Picked For Hearth", descriptions "Mugs.", "Picked for us by the … team."
        (
            "google_ads_rsa",
            ctx("Tom", "en-GB", ["Ceramic Coffee Mug"]),
            {"headlines": ["Picked For Hearth", "Ceramic Coffee Mug", "Shop New Picks"],
             "descriptions": ["Mugs.", "Picked for us by the … team."]},
            {"fidelity.product", "content.short", "content.unfinished"},
        ),
        # push: "Warm core layer for cold mornings.\nDécouvrir" to an English customer
        (
            "push",
            ctx("Tom", "en-GB", ["Merino Base Layer"]),
            {"title": "Merino Base Layer", "body": "Warm core layer for cold mornings.\nDécouvrir"},
            {"language.field"},
        ),
        # "Kofi Annan, this MacBook Air is for you" to Kwame
        (
            "email",
            ctx("Kwame", "en-US", ["Apple MacBook Air 13-inch Laptop"], brand="Northwind Goods"),
            {**EN_EMAIL, "subject": "Kofi Annan, this MacBook Air is for you", "headline": "Apple MacBook Air",
             "preheader": "A few ideas picked for you at Northwind Goods",
             "body": "Hello Kwame! The Apple MacBook Air is light, fast and ready for work and play all day."},
            {"fidelity.name", "fidelity.word"},
        ),
        # "Kylie, meet the Blink Whole Home Security" to Kwame
        (
            "email",
            ctx("Kwame", "en-US", ["Blink Whole Home Security Camera"], brand="Northwind Goods"),
            {**EN_EMAIL, "subject": "Kylie, meet the Blink Whole Home Security", "headline": "Blink cameras",
             "preheader": "A few ideas picked for you at Northwind Goods",
             "body": "Hi Kwame, the Blink Whole Home Security Camera keeps an eye on your home while you are out."},
            {"fidelity.name"},
        ),
        # "Hello Mohmams" (the customer is Mohammed); "Philips Hue Découvement"; subject "M.A.S."
        (
            "email",
            ctx("Mohammed", "en-US", ["Philips Hue White Smart Bulb"], brand="Northwind Goods"),
            {**EN_EMAIL, "subject": "M.A.S.", "headline": "Philips Hue Découvement",
             "preheader": "A few ideas picked for you at Northwind Goods",
             "body": "Hello Mohmams! The Philips Hue White Smart Bulb gives a warm glow you can set from your phone."},
            {"fidelity.name", "fidelity.word", "content.no_words"},
        ),
        # subject "Picked for you: I'm here to."
        (
            "email",
            ctx("Mohammed", "en-US", ["Philips Hue White Smart Bulb"], brand="Northwind Goods"),
            {**EN_EMAIL, "subject": "Picked for you: I'm here to.", "headline": "Philips Hue White Smart Bulb",
             "preheader": "A few ideas picked for you at Northwind Goods",
             "body": "Hello Mohammed! The Philips Hue White Smart Bulb gives a warm glow you can set from your phone."},
            {"content.unfinished"},
        ),
        # SMS "… 10% off with code. Reply STOP": the demo model left the code out (this session's demo)
        (
            "sms",
            ctx("Sean", "en-GB", ["Galvanised Watering Can 5 L"], brand="Northwind Goods"),
            {"text": "Northwind Goods: the Galvanised Watering Can 5 L. 10% off with code. Reply STOP to opt out"},
            {"content.unfinished"},
        ),
        # SMS "Spring picks SUBSTITUTE: Découvrez." to an English-speaking customer
        (
            "sms",
            ctx("Tom", "en-GB", ["Philips Hue White Smart Bulb"], brand="Northwind Goods"),
            {"text": "Northwind Goods: Spring picks SUBSTITUTE: Découvrez. Reply STOP to opt out"},
            {"language.field"},
        ),
    ],
)  # fmt: skip
def test_quoted_failures_are_caught(channel: str, context: UserContext, fields: dict, expected: set[str]) -> None:
    found = check(fields, context, channel)
    codes = {v.code for v in found if is_gate(v.code)}
    assert expected <= codes, (expected - codes, [v.message for v in found])
    assert not sendable(found)


def test_each_quoted_rule_stays_quiet_on_the_corrected_copy() -> None:
    # the same pieces, written as a marketer would: no gate finding
    assert gate_codes(EN_EMAIL, EN_CONTEXT, "email") == set()
    fr = ctx("Manon", "fr-FR", ["Sherpa Fleece Blanket"])
    fr_email = {
        "subject": "Manon, choisi pour vous",
        "preheader": "Quelques idées choisies pour vous chez Hearth & Hook",
        "headline": "Sherpa Fleece Blanket",
        "body": "Bonjour Manon ! Le Sherpa Fleece Blanket est doux et chaud, parfait pour vos soirées d'hiver.",
        "cta": "Découvrir",
    }
    assert gate_codes(fr_email, fr, "email") == set()
    sms = {
        "text": "Northwind Goods: the Galvanised Watering Can 5 L. 10% off with code SPRING10. Reply STOP to opt out"
    }
    assert (
        gate_codes(sms, ctx("Sean", "en-GB", ["Galvanised Watering Can 5 L"], brand="Northwind Goods"), "sms") == set()
    )
    push = {"title": "Merino Base Layer", "body": "Warm core layer for cold mornings."}
    assert gate_codes(push, ctx("Tom", "en-GB", ["Merino Base Layer"]), "push") == set()
    ads = {
        "headlines": ["Picked For Hearth & Hook", "Ceramic Coffee Mug", "Shop New Picks"],
        "descriptions": ["A sturdy stoneware mug for slow mornings.", "Picked for you by the Hearth & Hook team."],
    }
    assert gate_codes(ads, ctx("Tom", "en-GB", ["Ceramic Coffee Mug"]), "google_ads_rsa") == set()
    # the recipient's own name, the last purchase and title prefixes are facts, not inventions
    mine = {**EN_EMAIL, "subject": "Tom, more like your Wool Throw", "headline": "Sherpa Fleece"}
    assert (
        gate_codes(mine, ctx("Tom", "en-GB", ["Sherpa Fleece Blanket"], last_purchase="Wool Throw"), "email") == set()
    )


def test_replies_are_left_to_the_other_checks() -> None:
    spec = get_channel("social_reply")
    facts = guardrails.build_facts(EN_CONTEXT)
    assert guardrails.check_gate({"text": "Je vous pour vous"}, facts, spec) == []


def test_dictionary_is_lenient_where_real_copy_needs_it() -> None:
    assert all(is_word(w, "en") for w in ("colour", "favourites", "cosy", "personalised", "jewellery"))
    assert all(is_word(w, "de") for w in ("Frühlingsangebote", "Lieblingsstücke"))
    assert all(is_word(w, "es") for w in ("Descubre", "elegimos", "puede"))
    assert not any(is_word(w, "en") for w in ("Knisole", "Gloeskin", "Mohmams", "Découvement"))


# --- real human copy passes ------------------------------------------------------------------------------


def _seller_bullets(limit_products: int = 400) -> list[tuple[ItemFacts, str]]:
    out: list[tuple[ItemFacts, str]] = []
    with shared_data("amazon_products_2020_sample_1000.csv").open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh)):
            if n >= limit_products:
                break
            bullets = [
                b.strip()
                for b in (row.get("About Product") or "").split("|")
                if len(b.split()) >= 4 and not b.strip().lower().startswith("make sure")
            ]
            item = ItemFacts(n, f"a{n}", row["Product Name"], Decimal("9.99"), "USD", features=tuple(bullets))
            out.extend((item, b) for b in bullets[:3])
    return out


def test_seller_copy_passes_the_gate() -> None:
    spec = get_channel("google_ads_rsa")
    pairs = _seller_bullets()
    flagged = []
    for item, bullet in pairs:
        context = UserContext(1, "u", "Alice", "en-US", None, BrandFacts(name="Northwind Goods"), items=(item,))
        found = guardrails.check_gate({"descriptions": [bullet]}, guardrails.build_facts(context), spec)
        if found:
            flagged.append((bullet, [v.code for v in found]))
    assert len(pairs) > 800
    assert len(flagged) / len(pairs) <= 0.01, flagged[:10]


def test_brand_replies_pass_the_content_and_language_rules() -> None:
    pairs, _ = load_twitter_pairs(shared_data("twcs_customer_support_twitter_sample_5000.csv"))
    facts = guardrails.build_facts(ctx("Alice", "en-US", ["Gift Card"], brand="Acme"))
    replies = [p.reply for p in pairs if len(p.reply.split()) >= 4]
    content = [r for r in replies if _check_text("text", r, "en")]
    language = [r for r in replies if check_language({"text": r}, facts)]
    assert len(replies) > 1500
    assert len(content) / len(replies) <= 0.01, content[:10]
    # the sample holds some German, Spanish and Japanese replies (to customers who wrote in those languages)
    assert len(language) / len(replies) <= 0.02, language[:10]


# --- fluency ---------------------------------------------------------------------------------------------


class FixedScorer:
    """A reference model stand-in (test-only, at the model boundary): scores by a lookup, records calls."""

    def __init__(self, low: set[str]) -> None:
        self.low = low
        self.calls: list[list[str]] = []

    def score(self, texts):  # noqa: ANN001, ANN201
        self.calls.append(list(texts))
        return [-20.0 if any(bad in t for bad in self.low) else -2.0 for t in texts]


def test_fluency_rule_flags_low_scores_with_titles_replaced() -> None:
    facts = guardrails.build_facts(EN_CONTEXT)
    pairs = fluency_texts(EN_EMAIL, facts)
    assert [name for name, _ in pairs] == ["subject", "preheader", "body"]  # ≥ 4 words; the CTA is not scored
    assert "Sherpa Fleece Blanket" not in pairs[2][1] and "the item" in pairs[2][1]
    found = check_fluency(pairs, [-2.0, -9.0, -2.0], threshold=-5.0)
    assert [(v.code, v.field) for v in found] == [("fluency.low", "preheader")] and found[0].hard


def test_fluency_scores_the_shops_name_as_the_shop() -> None:
    """ "Only at Northwind Goods" scored -10.23 per token under the base model (a proper noun it cannot know) and
    refused 5 of 50 held-out Meta ads; "Only at the shop" scores -7.01."""
    facts = guardrails.build_facts(EN_CONTEXT)
    brand = EN_CONTEXT.brand.name
    [(_, text)] = fluency_texts({"description": f"Only at {brand} today"}, facts)
    assert text == "Only at the shop today"
    assert prepare(f"{brand}'s pick", facts) == "the shop's pick"


def test_copywriter_regenerates_copy_that_fails_fluency_in_one_scoring_call() -> None:
    good = (
        "SUBJECT: Tom, picked for you\nPREHEADER: A few ideas we picked for you at Hearth & Hook\n"
        "HEADLINE: Sherpa Fleece Blanket\nBODY: Hello Tom! The Sherpa Fleece Blanket is soft and warm, made for "
        "slow evenings on the sofa at home.\nCTA: Shop now"
    )
    garbled = good.replace("soft and warm, made for slow evenings", "warm soft for the slow of evenings made")
    engine = ScriptedEngine([garbled, good, good])
    scorer = FixedScorer(low={"slow of evenings"})
    results = write_copies([EN_CONTEXT, EN_CONTEXT], "email", engine, fluency=scorer, max_regenerations=1)
    assert [len(c) for c in scorer.calls] == [6, 3]  # one call per round: every scored text of the round
    first, second = results
    assert first.attempts == 2 and not first.fallback and first.sendable
    assert [v["code"] for v in first.violations[0]] == ["fluency.low"]
    assert second.attempts == 1 and second.sendable and second.timings["fluency_s"] >= 0


def test_fluency_scorer_scores_in_batches_in_input_order(tiny_model_dir: Path) -> None:
    scorer = FluencyScorer(tiny_model_dir, batch_size=2)
    texts = ["a warm light for your evenings", "hello", "the the the the the the", "soft light for quiet evenings"]
    batched = scorer.score(texts)
    alone = [scorer.score([t])[0] for t in texts]
    assert len(batched) == 4 and all(s < 0 for s in batched)
    assert batched == pytest.approx(alone, abs=1e-4)  # padding and length-sorting change nothing
    assert scorer.score([]) == []


def test_copy_that_echoes_the_prompts_example_is_caught() -> None:
    # the base model's most common failure: the example's lamp copy for a money bank (real output, held-out user)
    lamp = (
        "SUBJECT: A warm light for your evenings\nPREHEADER: The Glass Lantern gives a soft glow to any shelf, just "
        "£1.45\nHEADLINE: Soft light for quiet evenings\nBODY: The Glass Lantern gives a soft, warm light for £1.45. "
        "It suits a shelf or a windowsill.\nCTA: See the glass lantern"
    )
    bank = ctx("Tom", "en-GB", ["Ceramic Cherry Cake Money Bank"])
    [r] = write_copies([bank], "email", ScriptedEngine([lamp]), max_regenerations=0)  # few-shot: example in prompt
    echoed = {v["field"] for v in r.violations[0] if v["code"] == "content.echo"}
    assert {"preheader", "headline", "body"} <= echoed and r.fallback
    # the same words about a product they fit are not an echo (and a zero-shot prompt has no example)
    holder = ctx("Tom", "en-GB", ["Glass Lantern With Soft Warm Light"])
    [ok] = write_copies([holder], "email", ScriptedEngine([lamp]), max_regenerations=0)
    assert "content.echo" not in {v["code"] for v in ok.violations[0]}
    zero_shot = ScriptedEngine([lamp], zero_shot_channels=frozenset({"email"}))
    [z] = write_copies([bank], "email", zero_shot, max_regenerations=0)
    assert "content.echo" not in {v["code"] for v in z.violations[0]}


FIXTURE = Path(__file__).parent / "fixtures" / "gate_labelled.jsonl"


def test_labelled_set_precision_and_recall_without_the_reference_model() -> None:
    # 260 pieces: real base-model output (held-out users) and the demo-model failures quoted in issue 15, labelled
    # by a person; real human copy (Amazon seller copy, Twitter brand replies) as the good half
    from marketing_gen.training.gate_eval import evaluate_labelled, load_labelled

    pieces = load_labelled(FIXTURE)
    assert len(pieces) >= 200 and sum(p.label == "bad" for p in pieces) == sum(p.label == "good" for p in pieces)
    sendable_all, gate = evaluate_labelled(pieces, None, threshold=-9.2)
    assert gate.fp == 0 and gate.precision == 1.0  # the gate's rules never flag a good piece of this set
    assert gate.recall >= 0.55  # 75 of 130 bad pieces (fluency adds more: docs/quality.md)
    assert sendable_all.recall >= 0.8  # with the hard checks (grounding.product catches the invented lantern)


def test_fallback_copy_is_scored_in_one_call_for_the_batch() -> None:
    scorer = FixedScorer(low=set())
    results = write_copies(
        [EN_CONTEXT, EN_CONTEXT, EN_CONTEXT], "email", ScriptedEngine(default="SUBJECT: x"), fluency=scorer,
        max_regenerations=0,
    )  # fmt: skip
    assert len(scorer.calls) == 1 and len(scorer.calls[0]) >= 3  # model copy with hard findings is not scored
    assert all(r.fallback and r.sendable for r in results)


@pytest.mark.parametrize("locale", ["en-GB", "de-DE", "fr-FR", "es-ES", "it-IT", "nl-NL", "pt-PT", "sv-SE"])
@pytest.mark.parametrize("channel", ["email", "sms", "push", "meta_ad", "google_ads_rsa"])
def test_localized_fallback_copy_is_sendable(locale: str, channel: str) -> None:
    # Spanish writes "22,00 GBP": the currency code of the customer's own items is a known word, not an invented one.
    from marketing_gen.copywriter import postprocess, render_fallback

    context = ctx("Lucía", locale, ["Merino Beanie", "Waxed Canvas Tote"])
    spec = get_channel(channel)
    fields = postprocess(render_fallback(context, spec, level="full"), spec, context)
    hard = [v for v in check(fields, context, channel) if v.hard]
    assert sendable(hard), (fields, hard)


def test_a_price_or_sentence_said_twice_is_caught() -> None:
    """From the demo's first slot model: "Hi Isla, the Merino Beanie is £22.00. It is £22.00 at Northwind …"."""
    context = ctx("Isla", "en-GB", ["Merino Beanie"])
    twice = {
        **EN_EMAIL,
        "headline": "Merino Beanie",
        "body": "Hi Isla, the Merino Beanie is £19.99. It is £19.99 at Hearth & Hook, picked for you today.",
    }
    assert "content.repeat" in gate_codes(twice, context, "email")
    again = {
        **EN_EMAIL,
        "body": "Hello Tom! The Sherpa Fleece Blanket is soft and warm. The Sherpa Fleece Blanket is soft and warm.",
    }
    assert "content.repeat" in gate_codes(again, EN_CONTEXT, "email")
    once = {
        **EN_EMAIL,
        "headline": "Merino Beanie",
        "body": "Hi Isla, the Merino Beanie is £19.99. A soft, warm beanie for cold mornings on the hill.",
    }
    assert "content.repeat" not in gate_codes(once, context, "email")


def test_one_word_said_twice_with_another_ending_is_caught() -> None:
    """A demo email's preheader (model copy, marked sendable): "Quelques idées choisies choisi pour vous chez …"."""
    context = ctx("Manon", "fr-FR", ["Wool Throw Blanket"])
    email = {
        "subject": "Manon, choisi pour vous",
        "preheader": "Quelques idées choisies choisi pour vous chez Northwind Outfitters",
        "headline": "Wool Throw Blanket",
        "body": "Bonjour Manon! Cela pourrait vous plaire. Wool Throw Blanket à 69,00 £. Découvrez nos nouveautés.",
        "cta": "Découvrir",
    }
    assert "content.repeat" in gate_codes(email, context, "email")
    for fine in ("Quelques idées choisies pour vous chez Northwind Outfitters", "Des gants garden gardening pour vous"):
        assert "content.repeat" not in gate_codes({**email, "preheader": fine}, context, "email"), fine


def test_an_ad_that_names_the_customer_or_repeats_a_field_is_caught() -> None:
    """Read in the gallery: Meta ads "Chloe, meet the Retrospot Padded Seat" (an ad is seen by an audience) and a
    description that only repeats the headline."""
    context = ctx("Chloe", "en-GB", ["Retrospot Padded Seat"])
    named = {
        "primary_text": "Chloe, meet the Retrospot Padded Seat, a soft seat pad for a wooden chair.",
        "headline": "Retrospot Padded Seat",
        "description": "£19.99 at Hearth & Hook",
    }
    assert "content.personal" in gate_codes(named, context, "meta_ad")
    echoed = {
        **named,
        "primary_text": "Meet the Retrospot Padded Seat, a soft seat pad for a wooden chair.",
        "description": "Retrospot Padded Seat",
    }
    assert gate_codes(echoed, context, "meta_ad") == {"content.repeat"}
    clean = {**echoed, "description": "£19.99 at Hearth & Hook"}
    assert gate_codes(clean, context, "meta_ad") == set()
    # an email is written to that customer: the name is welcome there
    assert "content.personal" not in gate_codes(
        {**EN_EMAIL, "body": EN_EMAIL["body"].replace("Tom", "Chloe")}, context, "email"
    )


def test_ads_are_written_without_the_customers_name_in_training_and_serving() -> None:
    """Per-theme ads never had a name; per-user evaluation and training rows gave the model one, and it wrote
    "Chloe, meet …" into Meta ads. The prompt of an audience channel carries no name, and a {NAME} slot in an ad
    is never filled with one (the nameless mail-merge rules apply)."""
    from marketing_gen.prompts import build_prompt

    context = ctx("Chloe", "en-GB", ["Retrospot Padded Seat"])
    for channel in ("meta_ad", "google_ads_rsa"):
        assert "Chloe" not in json.dumps(build_prompt(context, channel), ensure_ascii=False)
    assert "Chloe" in json.dumps(build_prompt(context, "email"), ensure_ascii=False)
    answer = "PRIMARY_TEXT: {NAME}, meet the {ITEM1}, a soft seat pad.\nHEADLINE: {ITEM1}\nDESCRIPTION: Soft seat pad"
    engine = ScriptedEngine(default=answer, slot_channels=frozenset({"meta_ad"}))
    [r] = write_copies([context], "meta_ad", engine, max_regenerations=0)
    assert not r.fallback and r.fields["primary_text"] == "Meet the Retrospot Padded Seat, a soft seat pad."


def test_a_body_that_names_its_item_by_the_short_name_names_an_item() -> None:
    """The short name is the tail of a marketplace title; 11 of 20 held-out emails of the demo model ("meet the Bella
    Butterfly Net, picked for you") were refused as naming no item before the gate knew it."""
    context = ctx("Tom", "en-GB", ["Melissa & Doug Bella Butterfly Net"])
    body = "Hello Tom, meet the Bella Butterfly Net, picked for you. 15% off selected items with code HELLO15."
    assert "content.no_item" not in {v.code for v in check({**EN_EMAIL, "body": body}, context, "email")}
    other = "Hello Tom, meet the Garden Kneeling Pad, picked for you. 15% off selected items with code HELLO15."
    assert "content.no_item" in {v.code for v in check({**EN_EMAIL, "body": other}, context, "email")}
