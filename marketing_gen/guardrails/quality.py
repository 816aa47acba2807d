"""Quality: repetition (the base model's "one-of-a-kind, one-of-a-kind"), duplicate list entries, the model
talking about the task, and language vs the user's locale (a light stopword detector for en/de/fr/es/nl/it;
short or unclear text and other locales give no finding).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from marketing_gen.guardrails.facts import Facts, Violation
from marketing_gen.guardrails.format import texts_of
from marketing_gen.guardrails.lexicon import META_PATTERNS, STOPWORDS

_TOKEN_RE = re.compile(r"[^\W_]+", re.UNICODE)
_META_RE = re.compile(rf"(?:{'|'.join(META_PATTERNS)})", re.IGNORECASE)
_LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "nl": "Dutch", "it": "Italian"}


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (hyphenated words split: "one-of-a-kind" → one, of, a, kind)."""
    return [t.lower() for t in _TOKEN_RE.findall(text)]


def repeated_phrase(text: str) -> str | None:
    """A phrase repeated back to back (≥ 2 words, or one word three times), or a ≥ 4-word phrase said twice."""
    toks = tokens(text)
    n_toks = len(toks)
    for i in range(n_toks - 2):
        if toks[i] == toks[i + 1] == toks[i + 2]:
            return toks[i]
    for size in range(2, min(8, n_toks // 2) + 1):
        for i in range(n_toks - 2 * size + 1):
            if toks[i : i + size] == toks[i + size : i + 2 * size]:
                return " ".join(toks[i : i + size])
    grams = Counter(tuple(toks[i : i + 4]) for i in range(n_toks - 3))
    for gram, count in grams.items():
        if count >= 2:
            return " ".join(gram)
    return None


def detect_language(text: str) -> str | None:
    """The most likely language among en/de/fr/es/nl/it by stopword hits (None when unclear)."""
    toks = tokens(text)
    scores = {lang: sum(1 for t in toks if t in words) for lang, words in STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0] < 3 or ranked[0] < 2 * ranked[1]:
        return None
    return best


def check_quality(fields: Mapping[str, Any], facts: Facts) -> list[Violation]:
    """Repetition per text, duplicates in list fields, meta talk, and language against the locale."""
    out: list[Violation] = []
    for name, value in fields.items():
        texts = texts_of(value)
        for text in texts:
            phrase = repeated_phrase(facts.mask(text))
            if phrase:
                out.append(Violation("quality.repetition", name, f"repeats {phrase!r}"))
            if m := _META_RE.search(text):
                out.append(Violation("quality.meta", name, f"{m.group(0)!r} talks about the task, not to the customer"))
        if isinstance(value, (list, tuple)):
            normalized = [" ".join(tokens(t)) for t in texts]
            dupes = sorted({t for t, c in Counter(normalized).items() if c > 1 and t})
            if dupes:
                out.append(Violation("quality.duplicate", name, f"{name} repeat: {dupes[0]!r}"))
    out.extend(_check_language(fields, facts))
    return out


def _check_language(fields: Mapping[str, Any], facts: Facts) -> list[Violation]:
    expected = facts.language
    if expected not in STOPWORDS:
        return []
    text = " ".join(facts.mask(t) for v in fields.values() for t in texts_of(v))
    found = detect_language(text)
    if found is None or found == expected:
        return []
    scores = {lang: sum(1 for t in tokens(text) if t in words) for lang, words in STOPWORDS.items()}
    if scores[expected] * 2 >= scores[found]:
        return []
    return [
        Violation(
            "quality.language",
            "*",
            f"copy reads as {_LANGUAGE_NAMES[found]}, the user's locale is {_LANGUAGE_NAMES[expected]}",
        )
    ]
