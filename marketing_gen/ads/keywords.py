"""Search keywords for themed ad groups, and the campaign's negative keywords.

Owns which phrases an ad group bids on: each of its items' titles (as written, then without sizes and counts:
``cast iron skillet 26 cm`` → ``cast iron skillet``) and its theme, each in
phrase and exact match. A phrase belongs to one ad group only (the first, i.e. largest, that has it): two ad
groups bidding on one query compete with each other. Out-of-stock items become campaign negatives (phrase), so
no ad shows for a product the shop cannot sell, unless the negative would block one of the campaign's own
keywords. Keyword text follows Google Ads' rules: at most 80 characters and 10 words, none of the characters
Google rejects. Does not write files (``editor_csv``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from marketing_gen.prompts import display_title

MAX_CHARS = 80
"""Google Ads: a keyword has at most 80 characters."""
MAX_WORDS = 10
"""Google Ads: a keyword has at most 10 words."""
MATCH_TYPES: tuple[str, ...] = ("Phrase", "Exact")
"""Match types each phrase is bid on (Google Ads Editor's ``Criterion Type`` values)."""

_NOT_ALLOWED = re.compile(r"[^\w\s&'.\-+]", re.UNICODE)
"""Google rejects ! @ % , * ( ) = { } ; ~ ` < > ? \\ | ^ in keywords; everything but letters, digits and a few
marks becomes a space."""
_DEGREES = re.compile(r"[-–]?\d+\s?°\s?[cf]\b", re.IGNORECASE)
_MEASURE = re.compile(
    r"\b(?:set of \d+|pair|\d+(?:[.,]\d+)?\s?(?:cm|mm|m|kg|g|ml|l|litres?|liters?|oz|in|x)?)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Keyword:
    """One keyword row: the text and its match type."""

    text: str
    match: str
    """``Phrase`` or ``Exact``."""


def normalize(text: str) -> str:
    """Keyword text: lower case, disallowed characters as spaces, whitespace collapsed, trimmed marks."""
    text = _DEGREES.sub(" ", text.lower().replace("–", " ").replace("—", " "))
    words = [w.strip(".-+'") for w in _NOT_ALLOWED.sub(" ", text).split()]
    return " ".join(w for w in words if w)


def _fits(phrase: str) -> bool:
    return bool(phrase) and len(phrase) <= MAX_CHARS and len(phrase.split()) <= MAX_WORDS


def phrases_for(titles: Iterable[str], theme: str) -> list[str]:
    """Candidate phrases of one ad group, most specific first, without duplicates."""
    out: list[str] = []
    for title in titles:
        shown = display_title(title)
        full = normalize(shown)
        bare = normalize(_MEASURE.sub(" ", _DEGREES.sub(" ", shown)))
        for phrase in (full, bare):
            if _fits(phrase) and (len(phrase.split()) >= 2 or phrase == full) and phrase not in out:
                out.append(phrase)
    topic = normalize(theme) if theme else ""
    if _fits(topic) and topic not in out:
        out.append(topic)
    return out


def assign_keywords(groups: Sequence[tuple[str, Sequence[str]]]) -> dict[str, list[Keyword]]:
    """Ad group name → its keywords; a phrase goes to the first group that has it (give groups largest first)."""
    taken: set[str] = set()
    out: dict[str, list[Keyword]] = {}
    for name, phrases in groups:
        mine = [p for p in dict.fromkeys(phrases) if p not in taken]
        taken.update(mine)
        out[name] = [Keyword(p, m) for p in mine for m in MATCH_TYPES]
    return out


def _contains(words: list[str], part: list[str]) -> bool:
    n = len(part)
    return any(words[i : i + n] == part for i in range(len(words) - n + 1))


def negative_keywords(out_of_stock_titles: Iterable[str], positives: Iterable[str]) -> list[str]:
    """Phrase negatives for out-of-stock items, minus any that would block one of the campaign's keywords."""
    kept = [p.split() for p in positives]
    out: list[str] = []
    for title in out_of_stock_titles:
        phrase = normalize(display_title(title))
        if not _fits(phrase) or phrase in out:
            continue
        if any(_contains(words, phrase.split()) for words in kept):
            continue  # every query matching that keyword would contain the negative: it would never serve
        out.append(phrase)
    return out
