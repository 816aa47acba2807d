"""Facts by construction: slots the model writes, filled by code; a slot that cannot be filled is never sent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fakes import ScriptedEngine
from training.conftest import build_context

from marketing_gen.channels.base import get_channel
from marketing_gen.config import get_settings
from marketing_gen.contexts import Offer
from marketing_gen.copywriter import read_completion, write_copies
from marketing_gen.prompts import build_prompt
from marketing_gen.slots import fill_text, slot_values, slotify_text, unfilled


def test_values_are_the_exact_strings_of_the_context() -> None:
    context = build_context(0, offer=Offer(text="10% off", discount_pct=Decimal("10"), code="SAVE10"))
    values = slot_values(context)
    assert values["NAME"] == "Alice" and values["ITEM1"] == "Glass Hanging Lantern"
    assert values["ITEM2"] == "Enamel Camping Mug" and values["PRICE1"] == "£12.50" and values["CODE"] == "SAVE10"
    assert "ITEM3" not in values


def test_slotify_then_fill_is_the_identity_and_leaves_other_words_alone() -> None:
    context = build_context(0)
    text = "Hi Alice, the Glass Hanging Lantern is £12.50; a lantern-like Enamel Camping Mug too. Alicetown."
    slotted = slotify_text(text, context)
    assert slotted == "Hi {NAME}, the {ITEM1} is {PRICE1}; a lantern-like {ITEM2} too. Alicetown."
    assert fill_text(slotted, slot_values(context)) == text


def test_unknown_slot_is_a_hard_format_finding() -> None:
    context = build_context(0)
    spec = get_channel("push")
    fields, found = read_completion(
        "TITLE: {NAME}, meet the {ITEM1}\nBODY: Also the {ITEM3}.", spec, context, slots=True
    )
    assert fields["title"] == "Alice, meet the Glass Hanging Lantern"
    assert [(v.code, v.field, v.hard) for v in found] == [("format.slot", "body", True)]
    # a model that was not trained with slots gets nothing filled: the literal slot is a finding too
    _, found = read_completion("TITLE: Hi {NAME}\nBODY: The lantern.", spec, context, slots=False)
    assert [v.code for v in found] == ["format.slot"]
    assert unfilled({"t": "no slot here {not one}"}) == []


def test_copywriter_prompts_a_slot_model_with_the_rule_and_delivers_filled_copy() -> None:
    context = build_context(0)
    engine = ScriptedEngine(
        texts=[
            "TITLE: {NAME}, meet the {ITEM3}\nBODY: The {ITEM1} is {PRICE1}.",  # first try: no third item
            "TITLE: {NAME}, meet the {ITEM1}\nBODY: The {ITEM1} is {PRICE1}. Take a look.",
        ],
        zero_shot_channels=frozenset({"push"}),
        slot_channels=frozenset({"push"}),
    )
    [result] = write_copies([context], "push", engine, max_regenerations=1)
    assert engine.calls[0].prompts[0] == build_prompt(context, "push", few_shot=False, slots=True)  # as trained
    assert result.attempts == 2 and not result.fallback and result.sendable
    assert result.violations[0][0]["code"] == "format.slot"
    assert result.fields == {
        "title": "Alice, meet the Glass Hanging Lantern",
        "body": "The Glass Hanging Lantern is £12.50. Take a look.",
    }


def test_fit_to_limits_ends_an_overlong_field_on_a_whole_word() -> None:
    from marketing_gen.copywriter import fit_to_limits

    context = build_context(0)
    spec = get_channel("google_ads_rsa")
    fields = {"headlines": ["Warm Light For Long And Quiet Evenings", "Glass Lantern"], "descriptions": ["Short."]}
    fitted = fit_to_limits(fields, spec, context)
    assert fitted["headlines"] == ["Warm Light For Long And Quiet", "Glass Lantern"]  # ≤ 30, no dangling "And"
    push = fit_to_limits(
        {"title": "A" * 10 + " and the lantern you asked about", "body": "ok"}, get_channel("push"), context
    )
    assert len(push["title"]) <= 40 and not push["title"].endswith(("and", "the"))


def test_fit_to_limits_keeps_whole_sentences_so_a_filled_code_is_never_cut_off() -> None:
    """The demo model's held-out push bodies: a code sentence past 110 characters once the title was filled in was
    cut to "… with code" and refused as content.unfinished; the sentences that fit are sent instead."""
    from marketing_gen.copywriter import fit_to_limits

    context = build_context(0, offer=Offer(text="10% off your next order", discount_pct=Decimal("10"), code="SAVE10"))
    engine = ScriptedEngine(
        texts=[
            "TITLE: Meet the {ITEM1}\nBODY: We picked the {ITEM1} with you in mind at the shop on the hill. "
            "10% off your next order with code {CODE}."
        ],
        zero_shot_channels=frozenset({"push"}),
        slot_channels=frozenset({"push"}),
    )
    [result] = write_copies([context], "push", engine, max_regenerations=0)
    assert result.first_try_sendable and not result.fallback, result.violations
    assert result.fields["body"] == "We picked the Glass Hanging Lantern with you in mind at the shop on the hill."
    # a first sentence too short to stand alone: cut on whole words as before
    spec = get_channel("push")
    short = fit_to_limits({"title": "Meet the lantern", "body": "Hi Alice. " + "A warm light " * 12}, spec, context)
    assert short["body"].startswith("Hi Alice. A warm light") and len(short["body"]) <= 110
    from marketing_gen.titles import trim_sentences

    assert (
        trim_sentences("A warm light for long evenings… and more words past the limit.", 40) == ""
    )  # a cut, not an end


@pytest.fixture
def clean_settings():  # -> Iterator[None]: the settings cache is cleared before monkeypatch restores the env
    yield
    get_settings.cache_clear()


def test_copywriter_fits_lengths_only_when_the_setting_says_so(monkeypatch, clean_settings: None) -> None:
    context = build_context(0)
    long_title = (
        "TITLE: Alice, the Glass Hanging Lantern is here for your evenings\nBODY: The Glass Hanging Lantern is £12.50."
    )
    for fit, expect_fallback in ((True, False), (False, True)):
        monkeypatch.setenv("MARKETING_GEN_FIT_LENGTHS", "1" if fit else "0")
        get_settings.cache_clear()
        [result] = write_copies([context], "push", ScriptedEngine(default=long_title), max_regenerations=0)
        assert result.fallback is expect_fallback
        if fit:
            assert result.fields["title"] == "Alice, the Glass Hanging Lantern is here"


def test_a_user_without_a_first_name_gets_the_greeting_without_it() -> None:
    from dataclasses import replace

    nameless = slot_values(replace(build_context(0), first_name=None))
    assert "NAME" not in nameless
    assert fill_text("Hi {NAME}, meet the {ITEM1}.", nameless) == "Hi there, meet the Glass Hanging Lantern."
    assert fill_text("{NAME}, meet the {ITEM1}, picked for you.", nameless) == (
        "Meet the Glass Hanging Lantern, picked for you."
    )
    assert (
        fill_text("Good news, {NAME}, the {ITEM1} is {PRICE1}.", nameless)
        == "Good news, the Glass Hanging Lantern is £12.50."
    )
    assert fill_text("Thanks, {NAME}!", nameless) == "Thanks!"
    assert fill_text(" shop", nameless) == " shop"  # no {NAME}: nothing rewritten
    assert fill_text("Picked For {NAME}", nameless) == "Picked For You"
    assert fill_text("A lamp picked for {NAME}.", nameless) == "A lamp picked for you."
    assert unfilled({"t": fill_text("We picked this with {NAME} in mind.", nameless)}) == [("t", "{NAME}")]
    # the demo model greets in the fallback's words of each language, with the slot (Online Retail users have no
    # first names: 3 of the 6 refused first tries of non-English emails were format.slot on "Bonjour {NAME}! Cela …")
    assert fill_text("Bonjour {NAME}! Cela pourrait vous plaire.", nameless) == "Bonjour! Cela pourrait vous plaire."
    assert fill_text("Hallo {NAME}, unsere neuen Ideen.", nameless) == "Hallo, unsere neuen Ideen."
    assert fill_text("Hola {NAME}! Esto te puede gustar.", nameless) == "Hola! Esto te puede gustar."


def test_one_article_before_a_title_that_starts_with_the() -> None:
    context = build_context(0)
    values = {**slot_values(context), "ITEM1": "The Learning Journey ABC"}
    assert fill_text("Meet the {ITEM1}. The {ITEM1} is {PRICE1}.", values) == (
        "Meet The Learning Journey ABC. The Learning Journey ABC is £12.50."
    )
    assert fill_text("Meet the {ITEM2}.", values) == "Meet the Enamel Camping Mug."


def test_title_slot_is_filled_when_the_title_is_the_short_name() -> None:
    """The demo model wrote {TITLE1} for a short title ("Kneeling Pad"): it is the same words, not a finding."""
    context = build_context(0)
    values = slot_values(context)
    assert values["TITLE1"] == values["ITEM1"] == "Glass Hanging Lantern"
    assert slotify_text("Meet the Glass Hanging Lantern.", context) == "Meet the {ITEM1}."  # training keeps ITEM
    fields, found = read_completion(
        "TITLE: Meet the {TITLE1}\nBODY: The {ITEM1} is {PRICE1}.", get_channel("push"), context, slots=True
    )
    assert fields["title"] == "Meet the Glass Hanging Lantern" and found == []


def test_a_localized_price_written_with_a_plain_space_becomes_its_slot() -> None:
    """The German RSA teacher line "… für 12,50 £." kept the price as text (the slot value has a no-break space),
    so the model had to copy it: "27,00 £ für 27,00 £" in a demo email."""
    from dataclasses import replace

    context = replace(build_context(0), locale="de-DE")
    assert slotify_text("Lantern für 12,50 £.", context) == "Lantern für {PRICE1}."
    assert slotify_text("Lantern für 12,50\xa0£.", context) == "Lantern für {PRICE1}."


def test_two_items_cut_to_the_same_short_name_are_told_apart() -> None:
    """Online Retail variants cut to one short name: "Heart Zinc T-Light Holder" of SINGLE HEART ZINC T-LIGHT HOLDER
    and of HANGING HEART ZINC T-LIGHT HOLDER; copy naming both would name two products alike. The later one is called
    by its display title in the slots, the data block and the teacher."""
    from dataclasses import replace

    from marketing_gen.prompts import build_data

    base = build_context(0)
    items = (
        replace(base.items[0], title="SINGLE HEART ZINC T-LIGHT HOLDER"),
        replace(base.items[1], title="HANGING HEART ZINC T-LIGHT HOLDER"),
    )
    context = replace(base, items=items)
    values = slot_values(context)
    assert values["ITEM1"] == "Heart Zinc T-Light Holder"
    assert values["ITEM2"] == "Hanging Heart Zinc T-Light Holder"
    products = build_data(context)["products"]
    assert products[0]["short"] == "Heart Zinc T-Light Holder" and "short" not in products[1]
    text = "The Heart Zinc T-Light Holder and the Hanging Heart Zinc T-Light Holder."
    assert slotify_text(text, context) == "The {ITEM1} and the {ITEM2}."


def test_fit_to_limits_never_cuts_a_product_name() -> None:
    """The demo campaign's push title "Harry, meet the Two-Person Backpacking Tent" (43 characters) was sent cut to
    "Harry, meet the Two-Person Backpacking"; the name is kept whole: shorter wordings first, else no cut at all."""
    from dataclasses import replace

    from marketing_gen.copywriter import fit_to_limits

    base = build_context(0)
    tent = replace(base.items[0], title="Two-Person Backpacking Tent")
    context = replace(base, first_name="Harry", items=(tent, *base.items[1:]))
    spec = get_channel("push")
    fitted = fit_to_limits({"title": "Harry, meet the Two-Person Backpacking Tent", "body": "ok"}, spec, context)
    assert fitted["title"] == "Meet the Two-Person Backpacking Tent"
    # no shorter wording fits: the text is left too long (a hard length finding regenerates it), never cut mid-name
    long_title = "Harry, we picked the Two-Person Backpacking Tent"
    fitted = fit_to_limits({"title": long_title, "body": "ok"}, spec, context)
    assert fitted["title"] == long_title
    # a long display title is written as its short name when that is what fits
    lantern = replace(base.items[0], title="Glass Hanging Lantern with Brass Handle and Candle")
    context = replace(base, items=(lantern, *base.items[1:]))
    fitted = fit_to_limits(
        {"title": "Meet the Glass Hanging Lantern with Brass Handle and Candle", "body": "ok"}, spec, context
    )
    assert fitted["title"] == "Meet the Glass Hanging Lantern"
    # a name the cut does not reach is cut around as before
    fitted = fit_to_limits({"title": "Meet the Glass Hanging Lantern and more words here", "body": "ok"}, spec, context)
    assert fitted["title"] == "Meet the Glass Hanging Lantern and more"
