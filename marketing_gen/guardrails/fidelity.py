"""Product and name fidelity (quality gate): every name in the copy is exactly one we hold for this user.

Three findings, each a ``Violation`` like the hard checks:
- ``fidelity.word``: a word that is neither in a dictionary of the user's language or English
  (``guardrails.dictionary``), nor a word of this user's facts (item titles, categories, features,
  interests, last purchase, brand, offer, first name) — "Knisole", "Gloeskin", "Mohmams", "Découvement";
- ``fidelity.product``: a capitalised phrase that borrows words of a catalog title but is not that title (or
  a ≥ 2-word prefix or tail of it, or its short name): "Hearthstone Fleece Blanket" when the item is the Sherpa Fleece
  Blanket; a piece of the brand's name without the rest ("Picked For Hearth" for Hearth & Hook);
- ``fidelity.name``: the name in a salutation ("Hello X", "X, this … is for you") is not exactly the
  recipient's first name ("Kofi Annan" or "Kylie" to Kwame); a salutation word found in a dictionary ("Steel,
  …", "Hello there") is not read as a name unless it is a common first name.
Exact item titles, their word prefixes and tails, the brand and the recipient's name are masked before looking.
Only for copy about items (contexts with recommendations); replies are left to the other checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from marketing_gen.guardrails.dictionary import is_word
from marketing_gen.guardrails.facts import Facts, Violation, capitalised_runs, words
from marketing_gen.guardrails.format import texts_of
from marketing_gen.guardrails.language import OPT_OUT_RE
from marketing_gen.guardrails.lexicon import FIRST_NAMES, GENERIC_WORDS, GREETINGS, STOPWORDS

SKIP_FIELDS = frozenset({"path1", "path2"})
"""Display-URL paths: one word each, checked by the format rules."""

_ALL_STOPWORDS = frozenset().union(*STOPWORDS.values())
_CONNECTORS = frozenset({"of", "and", "&", "with", "for", "de", "du", "la", "le", "von", "und", "van", "di", "the"})
_NAME = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ’']+(?:\s+[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ’']+)?"
_VOCATIVE_RE = re.compile(rf"^\W*({_NAME})\s*[,!]")
_GREETING_RE = re.compile(rf"(?<!\w)(?:{'|'.join(sorted(GREETINGS))})[\s,]+({_NAME})(?=\s*[,!.?]|\s*$)", re.IGNORECASE)


def check_fidelity(fields: Mapping[str, Any], facts: Facts) -> list[Violation]:
    """Invented words, altered product names and other people's names, field by field."""
    if not facts.has_context or not facts.titles:
        return []
    out: list[Violation] = []
    for name, value in fields.items():
        if name in SKIP_FIELDS:
            continue
        for text in texts_of(value):
            out.extend(_check_text(name, text, facts))
    return out


def _check_text(field: str, text: str, facts: Facts) -> list[Violation]:
    out: list[Violation] = []
    recipient = (facts.first_name or "").strip().lower()
    for m in (_VOCATIVE_RE.match(text), *_GREETING_RE.finditer(text)):
        if m is None:
            continue
        called = m.group(1).strip()
        first = called.split()[0].lower()
        if first in _ALL_STOPWORDS or first in GENERIC_WORDS or first in GREETINGS:
            continue
        if first not in FIRST_NAMES and all(is_word(w, facts.language) for w in called.split()):
            continue  # "Steel, …", "Hello there": a word, not a name
        if called.lower() != recipient and not _is_item_phrase(called, facts):
            out.append(
                Violation(
                    "fidelity.name",
                    field,
                    f"{called!r} is not the recipient's first name ({facts.first_name or 'unknown'})",
                )
            )
    masked = _allowed_re(facts).sub(" ¶ ", OPT_OUT_RE.sub(" ", text))
    seen: set[str] = set()
    for w in words(masked):
        lw = w.lower()
        if lw in seen or lw in facts.known_words or lw in GENERIC_WORDS or _known_part(lw, facts.known_words):
            continue
        seen.add(lw)
        if not is_word(w, facts.language):
            out.append(
                Violation(
                    "fidelity.word", field, f"{w!r} is not a word, nor a name or product of this customer's facts"
                )
            )
    out.extend(_check_runs(field, masked, facts))
    return out


def _known_part(word: str, known: frozenset[str]) -> bool:
    """A hyphen/apostrophe compound of known words, or a plural of one."""
    parts = [p for p in re.split(r"['’-]", word) if p]
    if len(parts) > 1:
        return all(p in known or len(p) <= 2 for p in parts)
    return word.endswith("s") and word[:-1] in known


def _is_item_phrase(phrase: str, facts: Facts) -> bool:
    return any(phrase.lower() in title.lower() for title in facts.titles)


def _check_runs(field: str, masked: str, facts: Facts) -> list[Violation]:
    """Capitalised runs that mix catalog-title words with other words, and brand fragments."""
    out: list[Violation] = []
    title_words = [{w.lower() for w in words(t)} for t in facts.titles]
    all_title = set().union(*title_words) if title_words else set()
    brand_words = {w.lower() for w in words(facts.brand.name)} - _ALL_STOPWORDS - _CONNECTORS
    for run in _capitalised_runs(masked):
        lower = [w.lower() for w in run]
        content = [w for w in lower if w not in _CONNECTORS and w not in _ALL_STOPWORDS and w not in GENERIC_WORDS]
        if len(brand_words) > 1 and any(w in brand_words and w not in all_title for w in content):
            out.append(
                Violation(
                    "fidelity.product",
                    field,
                    f"{' '.join(run)!r} holds part of the brand name {facts.brand.name!r}, not all of it",
                )
            )
            continue
        borrowed = [w for w in content if w in all_title]
        if not borrowed or len(content) < 2:
            continue
        if not any(all(w in tw or w in facts.known_words for w in content) for tw in title_words):
            foreign = [w for w in content if not any(w in tw for tw in title_words)]
            if any(w not in facts.known_words for w in foreign):
                out.append(
                    Violation(
                        "fidelity.product",
                        field,
                        f"{' '.join(run)!r} is not the name of an item recommended to this customer "
                        f"(their items: {'; '.join(facts.titles[:3])})",
                    )
                )
    return out


def _capitalised_runs(text: str) -> list[list[str]]:
    """Runs of ≥ 2 Capitalised words, sentence by sentence; ¶ (a masked name) and commas end one."""
    return capitalised_runs(text, connectors=_CONNECTORS, breaks=r"[.!?:;\n|•·—–¶,]+")


def _allowed_re(facts: Facts) -> re.Pattern[str]:
    """Exact titles and their ≥ 2-word prefixes and tails (``Facts.mask``), the brand, the recipient's name, the
    offer code."""
    return _compile_allowed(facts.titles, facts.brand.name, facts.first_name or "", facts.offer_code or "")


@lru_cache(maxsize=4096)
def _compile_allowed(titles: tuple[str, ...], brand: str, first_name: str, code: str) -> re.Pattern[str]:
    variants: set[str] = {v for v in (brand.strip(), first_name.strip(), code.strip()) if v}
    for title in titles:
        parts = title.split()
        variants.update(" ".join(parts[:n]) for n in range(1, len(parts) + 1) if n >= 2 or len(parts) == 1)
    ordered = sorted(variants, key=len, reverse=True)
    alternatives = "|".join(r"\s+".join(re.escape(p) for p in v.split()) for v in ordered) or r"(?!x)x"
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
