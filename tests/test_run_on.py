"""Run-on repair: sentences the demo model added after a complete text (the campaign's email fallbacks)."""

from __future__ import annotations

import pytest
from fakes import ScriptedEngine
from test_copywriter import GERMAN, GOOD, _setting_off, ctx

from marketing_gen.copywriter import write_copies
from marketing_gen.run_on import drop_run_on


@pytest.mark.parametrize(
    ("text", "kept", "dropped"),
    [
        (  # French demo email: the price again, with the second item's price, after the closing line
            "Bonjour Manon! Cela pourrait vous plaire. Wool Throw Blanket à 69,00\xa0£GB. Découvrez nos nouveautés. "
            "69,00\xa0£GB à 16,50\xa0£GB.",
            "Bonjour Manon! Cela pourrait vous plaire. Wool Throw Blanket à 69,00\xa0£GB. Découvrez nos nouveautés.",
            ["69,00\xa0£GB à 16,50\xa0£GB."],
        ),
        (  # English demo email: the feature sentence twice
            "Hello Ann, we think you will like the Kneeling Pad. Thick foam pad that saves your knees. "
            "Thick foam pad that saves your knees.",
            "Hello Ann, we think you will like the Kneeling Pad. Thick foam pad that saves your knees.",
            ["Thick foam pad that saves your knees."],
        ),
        ("The Pad is £5. It is £5.", "The Pad is £5.", ["It is £5."]),
        (  # full-recipe model, held-out customer with one recommended item: a slot nothing can fill
            "Hello Ann, looking for something new in musical toys? The Melody Maker might be it. "
            "You might also like the {ITEM2}.",
            "Hello Ann, looking for something new in musical toys? The Melody Maker might be it.",
            ["You might also like the {ITEM2}."],
        ),
    ],
)
def test_a_repeated_sentence_or_a_price_said_again_alone_is_dropped(text: str, kept: str, dropped: list[str]) -> None:
    assert drop_run_on(text) == (kept, dropped)


@pytest.mark.parametrize(
    "text",
    [
        "The Pad is soft. It is £5.",  # the price said once, in its own sentence
        "Only £5! Shop now. Shop now.",  # short lines may repeat ("Shop now." under two offers)
        "Thick foam pad. Thick foam pad that saves your knees.",  # not the same sentence
        "69,00\xa0£GB for the Wool Throw Blanket.",  # one sentence: never dropped
        "You might like the {ITEM2}. It is soft.",  # a slot in the first sentence: refused, never cut to the rest
    ],
)
def test_real_sentences_stay(text: str) -> None:
    assert drop_run_on(text) == (text, [])


RUN_ON = GOOD.replace(
    "with a soft, warm glow.",
    "with a soft, warm glow. It suits any shelf in your home. It suits any shelf in your home.",
)


def test_the_copywriter_sends_the_text_without_its_run_on_and_says_so() -> None:
    [result] = write_copies([ctx()], "email", ScriptedEngine(texts=[RUN_ON]), max_regenerations=0)
    assert result.attempts == 1 and not result.fallback and result.sendable
    assert result.fields["body"].endswith("warm glow. It suits any shelf in your home.")
    soft = [v for v in result.violations[0] if not v["hard"]]
    assert [v["code"] for v in soft] == ["content.run_on"] and "It suits any shelf" in soft[0]["message"]


def test_a_sentence_about_an_item_the_customer_was_not_recommended_is_dropped_and_the_rest_sent() -> None:
    # a slot model writing about a second item for a customer with one: {ITEM2} cannot be filled
    text = (
        "SUBJECT: {NAME}, a warm light for your evenings\n"
        "PREHEADER: The {ITEM1}, picked for you at Acme Home\n"
        "HEADLINE: Soft light for quiet evenings\n"
        "BODY: The {ITEM1} is {PRICE1} and fills your evenings with a soft, warm glow. "
        "You might also like the {ITEM2}.\n"
        "CTA: See the holder"
    )
    engine = ScriptedEngine(texts=[text], slot_channels=frozenset({"email"}))
    [result] = write_copies([ctx()], "email", engine, max_regenerations=0)
    assert result.attempts == 1 and not result.fallback and result.sendable
    assert result.fields["body"].endswith("with a soft, warm glow.") and "{" not in result.fields["body"]
    soft = [v for v in result.violations[0] if not v["hard"]]
    assert [v["code"] for v in soft] == ["content.run_on"] and "{ITEM2}" in soft[0]["message"]


def test_a_price_said_again_alone_is_dropped_from_a_german_body() -> None:
    text = GERMAN.replace("Schau dir unsere neuen Ideen an.", "Schau dir unsere neuen Ideen an. 2,55\xa0£ à 3,10\xa0£.")
    [result] = write_copies([ctx(locale="de-DE")], "email", ScriptedEngine(texts=[text + "CTA: Jetzt ansehen"]))
    assert result.attempts == 1 and result.sendable
    assert result.fields["body"].endswith("Schau dir unsere neuen Ideen an.")


@pytest.fixture
def run_on_kept(monkeypatch: pytest.MonkeyPatch):  # -> Iterator[None]
    yield from _setting_off(monkeypatch, "MARKETING_GEN_DROP_RUN_ON")


def test_with_the_setting_off_a_run_on_is_refused(run_on_kept: None) -> None:
    [result] = write_copies([ctx()], "email", ScriptedEngine(texts=[RUN_ON]), max_regenerations=0)
    assert result.fallback and "content.repeat" in {v["code"] for v in result.violations[0]}
