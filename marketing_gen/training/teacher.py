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
import re
from typing import Any

from marketing_gen.contexts import ItemFacts, UserContext
from marketing_gen.guardrails.money import format_pct, format_price
from marketing_gen.prompts import language_of, short_name, shorten, trim_words


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
    subject = _pick(
        rng,
        [
            f"{name}, meet the {short}" if name else "",
            f"Picked for you: {short}",
            f"{short} from {brand}",
            f"{name}, a new idea from {brand}" if name else f"A new idea from {brand}",
            f"For your {interest} shelf: {short}" if interest else "",
            f"{name}, this {short} is for you" if name else "",
        ],
        50,
    )
    preheader = _pick(
        rng,
        [
            *(f for f in features[:2] if 40 <= len(f) <= 90),
            f"A closer look at {short}, picked for you by {brand}.",
            f"We picked {short} with you in mind.",
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
    greeting = rng.choice([f"Hi {name}," if name else "Hi there,", f"Hello {name}," if name else "Hello,"])
    topic = interest or (item.category or "").lower()
    if variant % 2 == 1 and topic:  # the prompt's second angle: open with a question or a curious detail
        first = rng.choice(
            [f"{greeting} looking for something new in {topic}?", f"{greeting} have you met the {short} yet?"]
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
        extras.append(f"You might also like the {short_name(context.items[1].title)}.")
    room = 3 - len(sentences)  # the prompt asks for two or three short sentences
    sentences.extend(extras[:room] if offer else rng.sample(extras, min(len(extras), room)))
    body = " ".join(s for s in sentences if s)
    cta = rng.choice(["Shop now", "See the details", "Take a look", "Discover more", "View the item"])
    return {"subject": subject, "preheader": preheader, "headline": headline, "body": body, "cta": cta}


def _slug(text: str) -> str:
    word = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")
    return word[:15].rstrip("-")


def rsa_copy(context: UserContext, rng: random.Random) -> dict[str, Any]:
    """3–6 headlines (≤ 30), 2–3 descriptions (≤ 90) and two display paths for the user's first item."""
    item = _first(context.items)
    if item is None:
        return {}
    brand = context.brand.name
    price = format_price(item.price, item.currency)
    offer = context.offer
    candidates = [
        short_name(item.title),
        brand if len(brand) <= 30 else "",
        f"Shop {item.category}" if item.category and len(item.category) <= 25 else "",
        trim_words(shown_features(item)[0], 30) if item.features else "",
        f"Yours for {price}" if price else "",
        f"{format_pct(offer.discount_pct)} Off With Code {offer.code}" if offer.discount_pct and offer.code else "",
        "Free Delivery On Next Order" if "free delivery" in offer.text.lower() else "",
        f"Picked For {context.first_name}" if context.first_name else "",
        "Picked For You",
        "Take A Closer Look",
    ]
    seen: set[str] = set()
    headlines: list[str] = []
    for h in candidates:
        if h and len(h) >= 6 and len(h) <= 30 and h.lower() not in seen:
            seen.add(h.lower())
            headlines.append(h)
    keep = headlines[:2] + rng.sample(headlines[2:], min(len(headlines) - 2, 2))  # the prompt asks for 4
    short = short_name(item.title)
    # Two descriptions of different kinds, in a fixed order, so greedy decoding never writes the same line twice:
    # 1. about the product (a seller-copy feature, or its name and price); 2. about the offer or the brand.
    about = [d for d in (feature_sentence(f, 90) for f in shown_features(item)) if d]
    if price:
        about.append(_pick(rng, [f"The {short}, yours for {price}.", f"{short} for {price} at {brand}."], 90))
    about.append(_pick(rng, [f"Discover the {short} at {brand}.", f"Take a closer look at the {short}."], 90))
    second = [_offer_line(context, 90)] if context.offer.text.strip() else []
    second = [d for d in second if d] or [
        _pick(
            rng,
            [
                f"Picked for you by {brand}.",
                f"Chosen for you by the {brand} team.",
                f"Find more ideas like this at {brand}.",
            ],
            90,
        )
    ]
    descriptions = [d for d in (rng.choice([a for a in about if a] or [""]), second[0]) if d]
    path1 = _slug((item.category or "shop").split()[0]) or "shop"
    path2 = _slug(short.split()[0]) if short else ""
    return {
        "headlines": keep,
        "descriptions": descriptions,  # the prompt asks for 2
        "path1": path1,
        "path2": path2 if path2.lower() != path1.lower() else "",
    }


def teacher_fields(context: UserContext, channel: str, variant: int = 0) -> dict[str, Any]:
    """Teacher copy for ``channel`` (email or google_ads_rsa); empty dict when the context has no items."""
    if language_of(context.locale) != "English" and context.items:
        # Other languages: the localized deterministic copy (templates/fallback), so the model learns to answer
        # in the user's language rather than in English.
        from marketing_gen.copywriter import render_fallback

        return render_fallback(context, channel, level="full", variant=variant)
    rng = _rng(context, channel, variant)
    if channel == "email":
        return email_copy(context, rng, variant)
    if channel == "google_ads_rsa":
        return rsa_copy(context, rng)
    return {}
