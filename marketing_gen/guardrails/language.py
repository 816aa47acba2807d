"""One language per piece (quality gate): every field, line by line, is in the user's language.

``language.field``: a line of a field whose words mark another language (``lexicon.LANGUAGE_MARKERS``) more
than the user's own — "Découvrir" under an English push body, "SUBSTITUTE: Découvrez." in an English SMS.
Item titles, the customer's facts and the SMS opt-out line (added by code) are masked first (a French product
name is not French copy). Users whose language has no marker list get no finding. ``quality.language`` (the
whole piece) stays beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marketing_gen.channels.sms import OPT_OUT_LINES
from marketing_gen.guardrails.facts import Facts, Violation, words
from marketing_gen.guardrails.format import texts_of
from marketing_gen.guardrails.lexicon import LANGUAGE_MARKERS, SHARED_WORDS

NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "nl": "Dutch", "it": "Italian"}
_LINE_RE = re.compile(r"[\n.!?:;|]+")
OPT_OUT_RE = re.compile("|".join(re.escape(line) for line in OPT_OUT_LINES.values()), re.IGNORECASE)
"""The SMS opt-out lines code adds (every language's): not the copywriter's words, never judged by the gate."""


def foreign_language(text: str, expected: str, known: frozenset[str] = frozenset()) -> str | None:
    """The other language a line reads as, or None (no markers, or the user's language leads)."""
    own = LANGUAGE_MARKERS[expected] | SHARED_WORDS.get(expected, frozenset())
    # acronyms and signatures ("ET", "DM") are no evidence of a language
    toks = [w.lower() for w in words(text) if w.lower() not in known and not (w.isupper() and len(w) <= 3)]
    mine = sum(t in LANGUAGE_MARKERS[expected] for t in toks)
    hits: dict[str, int] = {}
    for lang, markers in LANGUAGE_MARKERS.items():
        if lang != expected:
            hits[lang] = sum(t in markers and t not in own for t in toks)
    best = max(hits, key=lambda lang: hits[lang])
    if hits[best] > mine:
        return best
    return None


def check_language(fields: Mapping[str, Any], facts: Facts) -> list[Violation]:
    """Each line of each field against the user's language."""
    expected = facts.language
    if not facts.has_context or expected not in LANGUAGE_MARKERS:
        return []
    known = frozenset(w for w in facts.known_words if w not in LANGUAGE_MARKERS[expected])
    out: list[Violation] = []
    for name, value in fields.items():
        for text in texts_of(value):
            masked = OPT_OUT_RE.sub(" ", facts.mask(text))
            for line in _LINE_RE.split(masked):
                found = foreign_language(line, expected, known)
                if found:
                    out.append(
                        Violation(
                            "language.field",
                            name,
                            f"{line.strip()!r} reads as {NAMES[found]}; the customer's language is {NAMES[expected]}",
                        )
                    )
                    break
    return out
