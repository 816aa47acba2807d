"""Grounding: every price, percentage, discount, offer claim and product name in the copy is a fact we hold.

- money: each amount must equal a recommended item's price (same currency when the copy names one) or the
  offer's amount off / an amount in the offer text;
- percentages: must equal the offer's percentage (or one in the offer text); a percentage that is part of
  a recommended item's title or features (``100% cotton``) is allowed unless it is followed by "off";
- discount words and offer codes only when the offer has them; "free shipping"-style claims only when the
  offer text says "free";
- product names: runs of two or more Capitalised (or UPPER-CASE) words are read as a possible product name
  (quoted item titles are masked first). After dropping generic marketing words, stopwords and first names,
  a run with ≥ 2 content words, most of them absent from this user's items, categories, interests, brand and
  offer, is flagged when one of the unknown words is a product noun (``lexicon.PRODUCT_NOUNS``), or — in
  sentence-case text, where a capitalised run mid-sentence is a name — when ≥ 2 words are unknown. Title Case
  headlines ("Soft Light For Evenings") and German nouns therefore need a product noun to be flagged, which
  keeps false positives low while catching invented or other users' products ("Vintage Doormat Set" for a
  user who was recommended candles).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marketing_gen.guardrails.facts import Facts, Violation, capitalised_runs, words
from marketing_gen.guardrails.format import texts_of
from marketing_gen.guardrails.lexicon import (
    DISCOUNT_PATTERNS,
    FIRST_NAMES,
    FREEBIE_PATTERNS,
    GENERIC_WORDS,
    PRODUCT_NOUNS,
    STOPWORDS,
)
from marketing_gen.guardrails.money import find_amounts, find_percentages, format_pct

_DISCOUNT_RE = re.compile(rf"(?<!\w)(?:{'|'.join(DISCOUNT_PATTERNS)})(?!\w)", re.IGNORECASE)
_FREEBIE_RE = re.compile(rf"(?<!\w)(?:{'|'.join(FREEBIE_PATTERNS)})(?!\w)", re.IGNORECASE)
_CODE_RE = re.compile(r"\bcode\b[:\s]+[\"'“]?([A-Z0-9][A-Z0-9-]{3,})\b")
_OFF_RE = re.compile(r"\s*(?:off|discount|rabatt|de réduction|de descuento|korting|di sconto)\b", re.IGNORECASE)
_ALL_STOPWORDS = frozenset().union(*STOPWORDS.values())
_CONNECTORS = frozenset({"of", "and", "&", "-", "with", "for", "de", "du", "la", "le", "von", "und", "van", "di"})


def check_grounding(fields: Mapping[str, Any], facts: Facts) -> list[Violation]:
    """Money, percentages, discounts, offer claims and product names against the user's facts."""
    if not facts.has_context:
        return []
    out: list[Violation] = []
    for name, value in fields.items():
        for text in texts_of(value):
            out.extend(_check_text(name, text, facts))
    out.extend(_check_price_owner(fields, facts))
    return out


_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")


def _mentions(text: str, facts: Facts) -> list[tuple[int, int, int]]:
    """(end, start, item index) of each place the text names a recommended item, in order of end."""
    low = text.lower()
    found: set[tuple[int, int, int]] = set()
    for i, (names, _) in enumerate(facts.item_prices):
        for n in names:
            found.update((m.end(), m.start(), i) for m in re.finditer(rf"(?<!\w){re.escape(n)}(?!\w)", low))
    return sorted(found)


def _owners(mentions: list[tuple[int, int, int]]) -> set[int]:
    """The items of the longest name among ``mentions`` that all end at the same place (two items can share a short
    name: "Heart Zinc T-Light Holder" of a single and of a hanging one)."""
    if not mentions:
        return set()
    start = min(s for _, s, _ in mentions)
    return {i for _, s, i in mentions if s == start}


def _check_price_owner(fields: Mapping[str, Any], facts: Facts) -> list[Violation]:
    """A price belongs to the item it is said of: "The Tote is £2.55" where £2.55 is the holder's price is a finding,
    though £2.55 is a recommended item's price. A price is said of the item its sentence names last before it (else
    first after it); a sentence that names none takes the one item the whole piece names (an RSA headline "Yours for
    £12.00" in an ad whose only item is the tote). With several items named and none in the sentence, no judgement."""
    if len(facts.item_prices) < 2:
        return []
    texts = [(name, text) for name, value in fields.items() for text in texts_of(value)]
    whole = {i for _, text in texts for _, _, i in _mentions(text, facts)}
    out: list[Violation] = []
    for name, text in texts:
        for sentence in _SENTENCE_RE.split(text):
            mentions = _mentions(sentence, facts)
            at = 0
            for amount in find_amounts(sentence):
                at = max(sentence.find(amount.text, at), 0)  # amounts come in order: a price said twice is two places
                before = [m for m in mentions if m[0] <= at]
                after = [m for m in mentions if m[0] > at]
                if before:
                    owners = _owners([m for m in before if m[0] == before[-1][0]])
                elif after:
                    owners = _owners([m for m in after if m[0] == after[0][0]])
                else:
                    owners = whole if len(whole) == 1 else set()
                if not owners or any(facts.item_prices[i][1] == amount.value for i in owners):
                    continue
                others = [names[-1] for names, price in facts.item_prices if price == amount.value]
                if others and not any(amount.value == v for v, _ in facts.offer_amounts):
                    owner = facts.item_prices[min(owners)][0][-1]
                    out.append(
                        Violation(
                            "grounding.price",
                            name,
                            f"{amount.text!r} is the {others[0]!r}'s price, not the {owner!r}'s",
                        )
                    )
    return out


def _check_text(name: str, text: str, facts: Facts) -> list[Violation]:
    out: list[Violation] = []
    for amount in find_amounts(text):
        if not _amount_ok(amount.value, amount.currencies, facts):
            allowed = ", ".join(f"{v} {c}" for v, c in facts.prices) or "none"
            out.append(
                Violation(
                    "grounding.price",
                    name,
                    f"{amount.text!r} is not a recommended item's price or the offer (prices: {allowed})",
                )
            )
    for value, _start, end in find_percentages(text):
        if value in facts.offer_pcts:
            continue
        if value in facts.catalog_pcts and not _OFF_RE.match(text, end):
            continue
        offer = ", ".join(format_pct(p) for p in facts.offer_pcts) or "no percentage"
        out.append(Violation("grounding.percent", name, f"{format_pct(value)} is not in the offer ({offer})"))
    if not facts.has_discount:
        m = _DISCOUNT_RE.search(text)
        if m:
            out.append(
                Violation(
                    "grounding.discount", name, f"{m.group(0)!r} promises a discount but the campaign offers none"
                )
            )
    m = _FREEBIE_RE.search(text)
    if m and "free" not in facts.offer_text.lower() and "gratis" not in facts.offer_text.lower():
        out.append(Violation("grounding.offer", name, f"{m.group(0)!r} is not part of the campaign's offer"))
    for code in _CODE_RE.findall(text):
        if not facts.offer_code or code.upper() != facts.offer_code.upper():
            out.append(Violation("grounding.code", name, f"offer code {code!r} is not the campaign's code"))
    for phrase in product_phrases(facts.mask(text), facts):
        out.append(
            Violation(
                "grounding.product",
                name,
                f"{phrase!r} looks like a product that is not among this user's recommended items",
            )
        )
    return out


def _amount_ok(value: Any, currencies: frozenset[str], facts: Facts) -> bool:
    for price, currency in facts.prices:
        if value == price and (not currencies or currency in currencies):
            return True
    return any(value == v for v, _ in facts.offer_amounts)


def product_phrases(text: str, facts: Facts) -> list[str]:
    """Capitalised multi-word runs that look like products this user was not recommended."""
    all_words = words(text)
    # In Title Case / UPPER-CASE text (ad headlines) every phrase is capitalised, and German capitalises every
    # noun: there a run counts only when it holds a product noun (mug, lamp, doormat …) this user lacks.
    title_case = bool(all_words) and sum(w[0].isupper() for w in all_words) > 0.75 * len(all_words)
    weak = title_case or facts.language == "de"
    found: list[str] = []
    for run in _capitalised_runs(text, skip_sentence_start=not title_case):
        content = [
            w.lower()
            for w in run
            if w.lower() not in GENERIC_WORDS
            and w.lower() not in _ALL_STOPWORDS
            and w.lower() not in _CONNECTORS
            and w.lower() not in FIRST_NAMES
        ]
        if len(content) < 2:
            continue
        unknown = [w for w in content if not _known(w, facts.known_words)]
        if len(unknown) * 2 <= len(content):
            continue
        product_noun = any(w in PRODUCT_NOUNS for w in unknown)
        if product_noun or (not weak and len(unknown) >= 2):
            found.append(" ".join(run))
    return found


def _known(word: str, known: frozenset[str]) -> bool:
    if word in known:
        return True
    stem = word.rstrip("s")
    return len(stem) >= 4 and any(k.startswith(stem) or stem.startswith(k.rstrip("s")) for k in known if len(k) >= 4)


def _capitalised_runs(text: str, *, skip_sentence_start: bool) -> list[list[str]]:
    """Runs of ≥ 2 Capitalised/UPPER words (connectors like "of"/"and" may sit inside a run)."""
    return capitalised_runs(
        text, connectors=_CONNECTORS, breaks=r"[.!?:;\n|•·—–]+", skip_sentence_start=skip_sentence_start
    )
