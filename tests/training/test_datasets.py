"""Training rows are the serving prompts byte for byte (train = serve); sources, dedup, hash, storage."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from marketing_gen import guardrails
from marketing_gen.channels.base import get_channel
from marketing_gen.contexts import BrandFacts, Offer
from marketing_gen.copywriter import postprocess
from marketing_gen.guardrails.money import format_price
from marketing_gen.llm.parse import parse_fields
from marketing_gen.prompts import build_prompt
from marketing_gen.slots import fill
from marketing_gen.titles import short_name
from marketing_gen.training import datasets as D
from marketing_gen.training.corpora import SupportPair
from marketing_gen.training.teacher import teacher_fields

CHANNELS = ("email", "google_ads_rsa", "meta_ad", "sms", "push")
"""Every campaign channel has teacher copy (one model learns all of them)."""


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("variant", [0, 1])
def test_rows_render_exactly_like_the_serving_prompt(tiny_engine, make_context, channel: str, variant: int) -> None:
    offer = Offer(text="10% off with code SAVE10", discount_pct=Decimal("10"), code="SAVE10")
    context = make_context(variant, offer=offer)
    fields = teacher_fields(context, channel, variant)
    row = D.copy_row(context, channel, fields, source="teacher", variant=variant)

    rendered = D.format_row(row, tiny_engine.tokenizer)

    # fine-tuned models are served without the template's example turn (Engine.few_shot is False for them)
    serving = tiny_engine.render(build_prompt(context, channel, variant=variant, few_shot=False))
    assert rendered.prompt_text == serving
    assert [m["role"] for m in row["prompt"]] == ["system", "user"]
    assert rendered.completion_text == D.format_fields(fields, channel) + tiny_engine.tokenizer.eos_token + "\n"


@pytest.mark.parametrize("channel", CHANNELS)
def test_slot_rows_render_like_the_slot_prompt_and_fill_back_to_the_teacher_copy(
    tiny_engine, make_context, channel: str
) -> None:
    """Train = serve with slots: the row's prompt is the serving prompt of a slot model, its completion holds
    slots instead of the facts, and filling them gives back the teacher's copy exactly."""
    offer = Offer(text="10% off with code SAVE10", discount_pct=Decimal("10"), code="SAVE10")
    context = make_context(1, offer=offer)
    fields = teacher_fields(context, channel, 0)
    row = D.copy_row(context, channel, fields, source="teacher", slots=True)

    rendered = D.format_row(row, tiny_engine.tokenizer)
    serving = tiny_engine.render(build_prompt(context, channel, few_shot=False, slots=True))
    assert rendered.prompt_text == serving and "Rules:" not in serving and row["slots"] is True
    written = row["completion"][0]["content"]
    assert "{ITEM1}" in written and context.items[0].title not in written
    spec = get_channel(channel)
    parsed = parse_fields(written, spec.parse_spec(), aliases=spec.parse_aliases()).fields
    assert fill(parsed, context) == {k: v for k, v in fields.items() if k in parsed}


def test_trl_tokenizes_the_prompt_as_the_engine_does_and_masks_it(
    tiny_engine, tiny_model_dir, make_context, tmp_path: Path
) -> None:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    context = make_context()
    rows = [D.copy_row(context, ch, teacher_fields(context, ch), source="teacher") for ch in CHANNELS]
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_model_dir),
        args=SFTConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, max_length=None, report_to="none"),
        train_dataset=Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows]),
        processing_class=tiny_engine.tokenizer,
    )
    tok = tiny_engine.tokenizer
    for row, example in zip(rows, trainer.train_dataset, strict=True):
        serving_ids = tok(tiny_engine.render(row["prompt"]), add_special_tokens=False)["input_ids"]
        ids, labels = example["input_ids"], example["labels"]
        assert ids[: len(serving_ids)] == serving_ids
        assert labels == [-100] * len(serving_ids) + ids[len(serving_ids) :]  # loss on the completion only
        completion = tok.decode(ids[len(serving_ids) :])
        assert completion == row["completion"][0]["content"] + tok.eos_token + "\n"


def test_reply_rows_use_the_serving_reply_prompt(tiny_engine) -> None:
    from marketing_gen.replies.candidates import build_reply_prompt

    brand = BrandFacts(name="Northwind Goods")
    pairs = [
        SupportPair(
            "my parcel never arrived, order 1234",
            "Sorry about that! Please send us a DM with the details.",
            "twitter",
            brand="NorthwindHelp",
        ),
        SupportPair("love the new mugs", "Thank you so much, we are glad you like them!", "bitext"),
        SupportPair("call me", "Call us on 0800 123 4567 any time.", "twitter"),
    ]
    report = D.BuildReport()
    rows = D.reply_rows(pairs, brand_for=lambda p: brand, report=report)

    assert [r["source"] for r in rows] == ["twitter", "bitext"]  # the phone number reply fails the reply checks
    assert report.dropped, "the dropped reply is counted with its reason"
    first = rows[0]
    intent = D.reply_intent(pairs[0].reply)
    assert intent == "apologize"
    assert first["prompt"] == build_reply_prompt(pairs[0].customer, intent, brand=brand)
    rendered = D.format_row(first, tiny_engine.tokenizer)
    assert rendered.prompt_text == tiny_engine.render(build_reply_prompt(pairs[0].customer, intent, brand=brand))
    assert first["completion"][0]["content"] == pairs[0].reply


@pytest.mark.parametrize("channel", CHANNELS)
def test_teacher_rows_pass_every_hard_check_and_parse_back(make_context, channel: str) -> None:
    contexts = [make_context(i, first_name=name) for i, name in enumerate(["Alice", None, "Ben"])]
    report = D.BuildReport()
    rows = D.teacher_rows(contexts, [channel], variants=(0, 1), report=report)
    assert len(rows) == report.kept["teacher"] == 6
    spec = get_channel(channel)
    for context, row in zip([c for c in contexts for _ in (0, 1)], rows, strict=True):
        fields = parse_fields(row["completion"][0]["content"], spec.parse_spec(), aliases=spec.parse_aliases()).fields
        served = postprocess(fields, spec, context)  # an SMS gets its brand prefix and STOP line from code
        assert not guardrails.hard(guardrails.check(served, context, channel))
        if channel == "sms":  # ... so the model learns to write only the middle
            assert context.brand.name not in fields["text"] and "STOP" not in fields["text"]
            assert context.items[0].title.split()[0] in fields["text"]
        assert row["source"] == "teacher" and row["user"] == context.external_id
        assert row["items"] == [i.external_id for i in context.items]


def test_teacher_never_mentions_a_discount_the_offer_lacks(make_context) -> None:
    plain = make_context(0, offer=Offer())
    for channel in CHANNELS:
        for variant in range(4):
            text = D.format_fields(teacher_fields(plain, channel, variant), channel).lower()
            assert "%" not in text and "code" not in text


def test_dedup_hash_and_storage_round_trip(make_context, tmp_path: Path) -> None:
    rows = D.teacher_rows([make_context(0), make_context(1)], ["email"])
    doubled = rows + [dict(rows[0])]
    unique = D.dedup(doubled)
    assert len(unique) == len(rows)
    digest = D.dataset_hash(unique)
    assert digest == D.dataset_hash([dict(r) for r in unique])
    assert digest != D.dataset_hash(list(reversed(unique)))

    path = D.save_rows(unique, tmp_path / "datasets", meta={"note": "test"})
    assert path.name == f"{digest[:12]}.jsonl"
    assert D.load_rows(path) == unique
    assert '"note": "test"' in path.with_suffix(".meta.json").read_text()


def test_expand_weights_repeats_rows_by_outcome_weight(make_context) -> None:
    row = D.teacher_rows([make_context()], ["email"])[0]
    heavy = {**row, "weight": 2.6}
    assert len(D.expand_weights([row, heavy])) == 1 + 3
    assert len(D.expand_weights([{**row, "weight": 9}], max_copies=3)) == 3


def test_teacher_sms_in_another_language_is_the_middle_too(make_context) -> None:
    context = replace(make_context(0), locale="fr-FR")
    text = D.format_fields(teacher_fields(context, "sms"), "sms")
    assert text.startswith("TEXT: ") and "STOP" not in text and context.brand.name not in text


def test_teacher_headlines_follow_the_item_so_users_rarely_share_one(make_context) -> None:
    """Varied openings: users with different items do not all share one headline/title/subject."""
    titles = ["Glass Hanging Lantern", "Wool Throw Blanket", "Oak Chopping Board", "Copper Watering Can"]
    contexts = []
    for n, title in enumerate(titles * 2):
        base = make_context(n)
        contexts.append(replace(base, items=(replace(base.items[0], title=title), *base.items[1:])))
    for channel, field in (("email", "subject"), ("meta_ad", "headline"), ("push", "title"), ("sms", "text")):
        heads = [teacher_fields(c, channel)[field] for c in contexts]
        assert len(set(heads)) >= 5, (channel, heads)


def test_teacher_email_subjects_carry_the_first_name_so_users_of_one_item_differ(make_context) -> None:
    """Greedy decoding writes the teacher's commonest phrasing; "Picked for you: Folding Camp Chair" went to five
    demo users of that chair. With a first name every subject carries it; without one the subject still names the
    item."""
    for n in range(12):
        context = make_context(n)
        subject = teacher_fields(context, "email", n % 2)["subject"]
        assert context.first_name and subject.startswith(f"{context.first_name}, "), subject
        nameless = teacher_fields(replace(context, first_name=None), "email", n % 2)
        assert not nameless["subject"].startswith(",") and context.first_name not in nameless["subject"]


@pytest.mark.parametrize("locale", ["en-GB", "de-DE", "fr-FR", "es-ES"])
def test_push_titles_name_the_item_so_only_users_of_the_same_item_share_one(make_context, locale: str) -> None:
    """The demo's push titles were all "Picked for you" (duplicate rate 100 %): a title now names the item."""

    titles = ["Glass Hanging Lantern", "Wool Throw Blanket", "Oak Chopping Board", "Copper Watering Can"]
    for n, title in enumerate(titles):
        base = replace(make_context(n), locale=locale)
        context = replace(base, items=(replace(base.items[0], title=title), *base.items[1:]))
        for variant in (0, 1):
            pushed = teacher_fields(context, "push", variant)
            assert short_name(title) in pushed["title"], pushed
            assert not D.served_findings(pushed, context, "push"), pushed


def test_teacher_rsa_lines_each_have_one_job_and_no_generic_line_repeats(make_context) -> None:
    """Sampled generic headlines ("Take A Closer Look") taught greedy decoding to write one four times and again as
    both descriptions (8 of 24 held-out RSA failed that way). Lines now follow the facts, each of another kind."""
    bare = make_context(0)
    no_facts = replace(bare, items=(replace(bare.items[0], category=None, features=()),), offer=Offer())
    offer = Offer(text="10% off your next order with code X10", discount_pct=Decimal(10), code="X10")
    short_offer = make_context(2, offer=replace(offer, text="10% off"))
    for context in (bare, no_facts, make_context(1, offer=offer), short_offer):
        rsa = teacher_fields(context, "google_ads_rsa")
        lines = [h.lower() for h in rsa["headlines"]] + [d.lower() for d in rsa["descriptions"]]
        assert len(rsa["headlines"]) >= 3 and len(rsa["descriptions"]) == 2, rsa
        assert len(set(lines)) == len(lines) and not any("closer look" in line for line in lines), rsa
        assert not D.served_findings(rsa, context, "google_ads_rsa"), rsa
    assert "Yours for £12.50" in teacher_fields(bare, "google_ads_rsa")["headlines"]
    with_offer = teacher_fields(make_context(1, offer=offer), "google_ads_rsa")
    assert "10% Off With Code X10" in with_offer["headlines"] and with_offer["descriptions"][0].startswith("10% off")


@pytest.mark.parametrize(
    "text", ["10% off with code SPRING10", "Spring picks: 10% off with code SPRING10", "10% off your next order"]
)
def test_teacher_rsa_offer_line_is_never_the_deal_headline_again(make_context, text: str) -> None:
    """The demo model shortened the offer "Spring picks: 10% off with code SPRING10" to "10% off with code {CODE}." as
    DESCRIPTION 1, the words of its deal headline: five of the six ads by theme were refused first (content.repeat). The
    teacher's offer line says where, so no shortening of it is a headline."""
    context = make_context(1, offer=Offer(text=text, discount_pct=Decimal(10), code="SPRING10"))
    rsa = teacher_fields(context, "google_ads_rsa")
    first = rsa["descriptions"][0]
    assert first.endswith(f" at {context.brand.name}.") and first.lower().startswith(text.lower()), rsa
    assert "10% Off With Code SPRING10" in rsa["headlines"], rsa
    assert not D.served_findings(rsa, context, "google_ads_rsa"), rsa


def test_teacher_rsa_product_line_is_always_a_sentence_with_the_name_and_price(make_context) -> None:
    """With the seller's first feature as the product line, the demo model wrote a lone word of an item's copy
    for held-out items ("Imported.", "Weathered", "Bella": 13 of 50 first tries refused as content.short)."""
    for n in range(4):
        context = make_context(n)
        item = context.items[0]
        assert item.features, "the fixture's items carry seller copy"
        rsa = teacher_fields(context, "google_ads_rsa")
        price = format_price(item.price, item.currency)
        assert rsa["descriptions"][1] == f"The {short_name(item.title)} is {price} at {context.brand.name}.", rsa


@pytest.mark.parametrize("locale", ["de-DE", "fr-FR", "es-ES"])
def test_localized_meta_primary_text_opens_on_a_sentence_not_the_items_name(make_context, locale: str) -> None:
    """The localized copy is the teacher for other languages; "Oak Chopping Board für 27,00 £. …" taught the model
    to answer PRIMARY_TEXT with the item's name alone (9 of 24 held-out Meta ads, content.repeat)."""
    context = replace(make_context(0), locale=locale)
    meta = teacher_fields(context, "meta_ad")
    assert not meta["primary_text"].startswith("Glass Hanging Lantern"), meta
    assert "Glass Hanging Lantern" in meta["primary_text"] and not D.served_findings(meta, context, "meta_ad"), meta


def test_teacher_meta_primary_text_goes_on_after_the_items_name(make_context) -> None:
    """ "Meet the {ITEM1}." opened primary texts like a headline; the demo model ended them after the name and wrote
    the same words as the headline (15 of 20 held-out Meta ads). The name is now followed by what it costs."""
    from marketing_gen.slots import slotify

    for n in range(6):
        context = make_context(n)
        for variant in (0, 1):
            meta = slotify(teacher_fields(context, "meta_ad", variant), context)
            assert "{ITEM1} is " in meta["primary_text"] and not meta["primary_text"].startswith("Meet"), meta
            assert not D.served_findings(teacher_fields(context, "meta_ad", variant), context, "meta_ad"), meta


def test_teacher_email_names_the_item_with_an_article_and_never_as_this(make_context) -> None:
    """A demo campaign's model emails: "Priya, this Pruning Secateurs is for you" (a plural name) and "A closer look
    at Tealight Lantern Set of 3" (no article): both were teacher phrasings."""
    for n in range(40):
        context = make_context(n % 4)
        for variant in (0, 1):
            email = teacher_fields(replace(context, external_id=f"u{n}"), "email", variant)
            assert ", this " not in email["subject"], email
            assert not re.search(r"closer look at (?!the )", email["preheader"]), email
