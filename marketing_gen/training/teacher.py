"""Deterministic "teacher" copy composed from a context's real catalog facts, for bootstrapping SFT data.

A 135M base model rarely writes copy that passes every hard check, so rejection sampling alone yields too
few rows. The teacher writes varied, grounded copy by slotting the user's real facts (item titles, seller-copy
features, category, price, the campaign's offer, the first name) into a few phrasings per field, within each
channel's limits. Rows made this way are marked ``source="teacher"``; they are still run through the same
guardrails as model output before they are kept (``training.datasets``).

Owns wording only. Does not check (``guardrails``) nor build rows.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from marketing_gen.channels.google_ads_rsa import display_paths
from marketing_gen.contexts import ItemFacts, UserContext
from marketing_gen.guardrails.money import format_pct, format_price
from marketing_gen.prompts import language_of
from marketing_gen.titles import short_name, short_names, shorten, trim_words


def feature_sentence(feature: str, max_len: int) -> str:
    """A seller-copy feature as one sentence (label dropped when a clause follows it), ending with a full stop."""
    label, sep, rest = feature.partition(":")
    text = rest.strip() if sep and len(rest.strip()) >= 15 else feature.strip()
    text = trim_words(text, max_len - 1)
    if not text:
        return ""
    return text[0].upper() + text[1:] + "."


def shown_features(item: ItemFacts) -> list[str]:
    """The item's features as the prompt's data block shows them (first two, cut to 60 characters on a word),
    without the ellipsis: teacher copy may only use words the model can see."""
    return [trim_words(shorten(f, 60).rstrip("…"), 60) for f in item.features[:2]]


def _rng(context: UserContext, channel: str, variant: int) -> random.Random:
    key = f"{context.external_id}\x1f{channel}\x1f{variant}"
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


def _offer_line(context: UserContext, max_len: int) -> str:
    text = context.offer.text.strip().rstrip(".")
    if not text:
        return ""
    line = text[0].upper() + text[1:] + "."
    return line if len(line) <= max_len else ""


def _first(items: tuple[ItemFacts, ...]) -> ItemFacts | None:
    return items[0] if items else None


def _pick(rng: random.Random, options: list[str], max_len: int, min_len: int = 1) -> str:
    fitting = [o for o in options if o and min_len <= len(o) <= max_len]
    return rng.choice(fitting) if fitting else ""


def email_copy(context: UserContext, rng: random.Random, variant: int = 0) -> dict[str, Any]:
    """Subject, preheader, headline, body and CTA about the user's first recommended item."""
    item = _first(context.items)
    if item is None:
        return {}
    brand = context.brand.name
    name = context.first_name
    short = short_name(item.title)  # the data block's "short" name: copied, never re-cut by the model
    features = [feature_sentence(f, 110) for f in shown_features(item)]
    features = [f for f in features if f]
    price = format_price(item.price, item.currency)
    interest = context.interests[0].lower() if context.interests else ""
    # With a first name, every subject carries it: greedy decoding writes the commonest phrasing, and a subject
    # without the name was the same for every user of an item ("Picked for you: Folding Camp Chair" × 5).
    named = [
        f"{name}, meet the {short}",
        f"{name}, a new idea from {brand}: {short}",
        f"{name}, the {short} is for you",  # not "this {short}": "this Pruning Secateurs" (a demo subject)
    ]
    subject = _pick(
        rng,
        named
        if name
        else [
            f"Picked for you: {short}",
            f"{short} from {brand}",
            f"For your {interest} shelf: {short}" if interest else "",
        ],
        50,
    ) or _pick(rng, [f"Picked for you: {short}", f"{short} from {brand}"], 50)
    preheader = _pick(
        rng,
        [
            *(f for f in features[:2] if 40 <= len(f) <= 90),
            f"A closer look at the {short}, picked for you by {brand}.",
            f"We picked the {short} with you in mind at {brand}.",
            f"Something new for your love of {interest}, picked by {brand}." if interest else "",
        ],
        90,
        min_len=40,
    )
    headline = _pick(
        rng,
        [
            short,
            f"Say hello to the {short}",
            f"{name}, this one is for you" if name else "",
            f"Meet the {short}",
        ],
        60,
    )
    # "Hello", not "Hi": after "BODY: Hi" the demo model went on with "king" for a customer into hiking ("BODY:
    # Hiking", three one-word bodies in a campaign)
    greeting = f"Hello {name}," if name else rng.choice(["Hello there,", "Hello,"])
    topic = interest or (item.category or "").lower()
    if variant % 2 == 1 and topic:  # the prompt's second angle: open with a question or a curious detail
        first = rng.choice(
            [
                f"{greeting} looking for something new in {topic}? The {short} might be it.",
                f"{greeting} have you met the {short} yet?",
            ]
        )
    else:
        first = f"{greeting} " + rng.choice(
            [
                f"we think you will like the {short}.",
                f"the {short} caught our eye for you.",
                f"meet the {short}, picked for you.",
            ]
        )
    sentences = [first, *features[:1]]
    offer = _offer_line(context, 120)
    extras = [offer] if offer else []
    if price:
        extras.append(rng.choice([f"It is {price}.", f"Yours for {price}.", f"It costs {price}."]))
    if len(context.items) > 1:
        extras.append(f"You might also like the {short_names([i.title for i in context.items[:2]])[1]}.")
    room = 3 - len(sentences)  # the prompt asks for two or three short sentences
    sentences.extend(extras[:room] if offer else rng.sample(extras, min(len(extras), room)))
    body = " ".join(s for s in sentences if s)
    cta = rng.choice(["Shop now", "See the details", "Take a look", "Discover more", "View the item"])
    return {"subject": subject, "preheader": preheader, "headline": headline, "body": body, "cta": cta}


def _whole_feature(item: ItemFacts, max_len: int) -> str:
    """The first seller-copy feature as a headline when it fits whole ("" otherwise: a feature cut to 30 characters
    ended mid-phrase, "Soft warm light for quiet")."""
    if not item.features:
        return ""
    feature = shown_features(item)[0].strip().rstrip(".")
    return feature if len(feature) <= max_len and feature == item.features[0].strip().rstrip(".") else ""


def rsa_copy(context: UserContext, rng: random.Random) -> dict[str, Any]:
    """4 headlines (≤ 30), 2 descriptions (≤ 90) and two display paths for the user's first item.

    Each line has one job in a fixed order (name, shop, price or category, offer or category), so the same facts
    always give the same kind of line: with generic lines sampled in ("Take A Closer Look", "Picked For You"),
    greedy decoding wrote the generic line four times and again as both descriptions."""
    item = _first(context.items)
    if item is None:
        return {}
    brand = context.brand.name
    price = format_price(item.price, item.currency)
    offer = context.offer
    shop = f"Shop {item.category}" if item.category and len(item.category) <= 25 else ""
    if offer.discount_pct and offer.code:
        deal = f"{format_pct(offer.discount_pct)} Off With Code {offer.code}"
    elif "free delivery" in offer.text.lower():
        deal = "Free Delivery On Next Order"
    else:
        deal = ""
    candidates = [
        short_name(item.title),
        brand if len(brand) <= 30 else "",
        f"Yours for {price}" if price else shop,
        deal or "Picked For You",
        shop,  # only when a line above was empty or the same: Google needs three
    ]
    seen: set[str] = set()
    headlines: list[str] = []
    for h in candidates:
        if h and 6 <= len(h) <= 30 and h.lower() not in seen:
            seen.add(h.lower())
            headlines.append(h)
    short = short_name(item.title)
    # Two descriptions of different kinds, in a fixed order, so greedy decoding never writes the same line twice:
    # 1. about the offer or the brand; 2. the product's name and price. The offer/brand line first: the model writes
    # the line it is sure of, then the product line. The other order taught it to skip to the offer line and stop
    # (one description, below Google's two). The product line is always the same sentence: when it was the
    # seller's first feature where there was one, the demo model wrote a lone word of the item's copy for held-out
    # items ("Imported.", "Weathered", "Bella": 13 of 50 first tries refused as content.short).
    # The offer line says where ("… at {brand}."): alone, a short offer ("10% off with code SPRING10.") is the deal
    # headline again, and the demo model shortened "Spring picks: 10% off with code SPRING10" to just that in five of
    # the six ads by theme (content.repeat: a description that only repeats a headline).
    first = _offer_line(context, 90) if len(offer.text.split()) >= 4 else ""  # "10% off." says too little alone
    if first and len(where := f"{first[:-1]} at {brand}.") <= 90:
        first = where
    elif first.rstrip(".").lower() == deal.lower():
        first = ""
    first = first or f"Picked for you by {brand}."
    priced = f"The {short} is {price} at {brand}." if price else f"Discover the {short} at {brand}."
    second = priced if len(priced) <= 90 else (f"Yours for {price} at {brand}." if price else f"New at {brand}.")
    descriptions = [d for d in (first, second) if d and len(d) <= 90]
    path1, path2 = display_paths(item.title, item.category)
    return {
        "headlines": headlines[:4],  # the prompt asks for 4
        "descriptions": descriptions,  # the prompt asks for 2
        "path1": path1,
        "path2": path2,
    }


def _facts(context: UserContext) -> tuple[ItemFacts, str, str, list[str], str] | None:
    """The first item, its short name, its price, its seller-copy feature sentences and the user's topic."""
    item = _first(context.items)
    if item is None:
        return None
    features = [f for f in (feature_sentence(f, 110) for f in shown_features(item)) if f]
    topic = (context.interests[0] if context.interests else item.category or "").strip().lower()
    return item, short_name(item.title), format_price(item.price, item.currency), features, topic


def _fit_sentences(sentences: list[str], max_len: int) -> str:
    """The longest prefix of the sentences (first one required) that fits in ``max_len`` characters."""
    out = ""
    for sentence in sentences:
        if not sentence:
            continue
        joined = f"{out} {sentence}".strip()
        if len(joined) > max_len:
            break
        out = joined
    return out


def meta_ad_copy(context: UserContext, rng: random.Random, variant: int = 0) -> dict[str, Any]:
    """Primary text (≤ 125), headline (≤ 40) and description (≤ 30) about the first item; no personal name (an
    ad is seen by an audience, not one person).

    The primary text is sentences that go on after the item's name ("The {ITEM1} is £12.50 at …"): when it opened
    like a headline ("Meet the {ITEM1}."), the demo model ended the primary text after the name and wrote the same
    words again as the headline (15 of 20 held-out Meta ads, ``content.repeat``)."""
    facts = _facts(context)
    if facts is None:
        return {}
    item, short, price, features, topic = facts
    brand = context.brand.name
    offer = _offer_line(context, 125)
    priced = f"The {short} is {price} at {brand}." if price else f"The {short} is new at {brand}."
    if variant % 2 == 1 and topic:
        first = rng.choice([f"New ideas for {topic}? {priced}", f"Into {topic}? {priced}"])
    else:
        first = priced
    rest = [offer] if offer else []
    rest += [f for f in features[:1] if f]
    primary = _fit_sentences([first, *rest], 125) or _fit_sentences([priced, *rest], 125)
    headline = _pick(
        rng,
        [short, f"{short}, {price}" if price else "", f"New in {topic}" if topic else ""],
        40,
        min_len=6,
    )
    description = _pick(
        rng,
        [
            f"{price} at {brand}" if price else "",
            f"Only at {brand}",
            f"Code {context.offer.code}" if context.offer.code else "",
            f"Shop {item.category}" if item.category else "",
        ],
        30,
        min_len=6,
    )
    return {"primary_text": primary, "headline": headline, "description": description or brand[:30]}


def push_copy(context: UserContext, rng: random.Random, variant: int = 0) -> dict[str, Any]:
    """Title (≤ 40, three to five words) and body (≤ 110, one sentence) about the first item."""
    facts = _facts(context)
    if facts is None:
        return {}
    _item, short, price, features, topic = facts
    name = context.first_name or ""
    title = _pick(
        rng,
        [
            f"{name}, meet the {short}" if name else "",
            f"Meet the {short}",
            f"{short}, picked for you",
            f"New in {topic}: {short}" if topic else "",
            f"Say hello to the {short}",
        ],
        40,
    ) or trim_words(short, 40)
    offer = _offer_line(context, 110)
    # The title names the item, so the body tells something about it: a seller-copy feature, the price, the offer.
    feature = features[0] if features else ""
    body = (
        _pick(
            rng,
            [
                f"{feature} It is {price}." if feature and price else "",
                f"{feature} Take a look." if feature else "",
                f"It is {price}, picked for you." if price else "",
                f"{offer} Take a look." if offer else "",
                f"Curious? {feature}" if feature and variant % 2 == 1 else "",
            ],
            110,
        )
        or f"The {short} is waiting for you."
    )
    return {"title": title, "body": body}


def sms_copy(context: UserContext, rng: random.Random, variant: int = 0) -> dict[str, Any]:
    """The message's middle (the brand prefix and the opt-out line are code: ``channels.sms.finalize_text``)."""
    from marketing_gen.channels.base import get_channel
    from marketing_gen.prompts import sms_budget

    facts = _facts(context)
    if facts is None:
        return {}
    _item, short, price, features, topic = facts
    name = context.first_name or ""
    budget = sms_budget(context, get_channel("sms"))
    offer = _offer_line(context, budget)
    hello = f"{name}, " if name and rng.random() < 0.6 else ""
    if variant % 2 == 1 and topic:
        first = f"{hello}new in {topic}: the {short}." if hello else f"New in {topic}: the {short}."
    else:
        first = rng.choice(
            [
                f"{hello}the {short} is {price}." if price else f"{hello}meet the {short}.",
                f"{hello}meet the {short}, picked for you.",
                f"{hello}we picked the {short} for you.",
            ]
        )
    first = first[0].upper() + first[1:]
    text = _fit_sentences([first, offer or (rng.choice(features) if features else "")], budget)
    return {"text": text}


def teacher_fields(context: UserContext, channel: str, variant: int = 0) -> dict[str, Any]:
    """Teacher copy for a campaign channel; empty dict when the context has no items."""
    if language_of(context.locale) != "English" and context.items:
        # Other languages: the localized deterministic copy (templates/fallback), so the model learns to answer
        # in the user's language rather than in English.
        from marketing_gen.copywriter import render_fallback

        return render_fallback(context, channel, level="full", variant=variant, finalize_sms=False)
    rng = _rng(context, channel, variant)
    if channel == "email":
        return email_copy(context, rng, variant)
    if channel == "google_ads_rsa":
        return rsa_copy(context, rng)
    if channel == "meta_ad":
        return meta_ad_copy(context, rng, variant)
    if channel == "push":
        return push_copy(context, rng, variant)
    if channel == "sms":
        return sms_copy(context, rng, variant)
    return {}
