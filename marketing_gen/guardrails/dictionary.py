"""Is this a word? Word lists per language for the quality gate, from ``pyspellchecker``'s frequency dictionaries.

Owns the question "is ``word`` a real word of language ``lang`` (or English)", with the lenience real copy needs:
British spellings (``colour``, ``favourite``), common suffixes, German and Dutch compounds
(``Frühlingsangebote`` = ``Frühling`` + ``Angebote``), hyphenated and apostrophe parts. The lists load lazily,
once per process and language (~0.2 s each). Does not know copy, facts or names (``guardrails.fidelity``).
"""

from __future__ import annotations

import re
from functools import lru_cache

LANGUAGES = ("en", "de", "fr", "es", "nl", "it")
"""Languages with a word list (the user's language is checked with English loanwords allowed)."""

_BRITISH = (
    (re.compile(r"our(s?)$"), r"or\1"),
    (re.compile(r"ourite(s?)$"), r"orite\1"),
    (re.compile(r"is(e|es|ed|ing|ation|ations)$"), r"iz\1"),
    (re.compile(r"ys(e|es|ed|ing)$"), r"yz\1"),
    (re.compile(r"tre(s?)$"), r"ter\1"),
    (re.compile(r"ogue(s?)$"), r"og\1"),
    (re.compile(r"ll(ed|ing|er|ers)$"), r"l\1"),
    (re.compile(r"ence$"), "ense"),
    (re.compile(r"^jewell"), "jewel"),
)
_SUFFIXES = ("'s", "’s", "s", "es", "ed", "d", "ing", "ly", "er", "ers", "est", "ness", "ful", "less", "able", "y")


@lru_cache(maxsize=len(LANGUAGES))
def word_set(lang: str) -> frozenset[str]:
    """Lower-case words of ``lang``'s list (empty for a language without one)."""
    if lang not in LANGUAGES:
        return frozenset()
    from spellchecker import SpellChecker

    return frozenset(SpellChecker(language=lang, distance=1).word_frequency.dictionary)


def is_word(word: str, lang: str | None) -> bool:
    """True when ``word`` (any case) is a word of ``lang`` or of English, leniently (see the module docstring)."""
    w = word.lower().strip("'’-")
    if len(w) <= 2 or not any(c.isalpha() for c in w):
        return True
    langs = [lang] if lang in LANGUAGES and lang != "en" else []
    langs.append("en")
    return any(_known(w, code) for code in langs)


def _known(w: str, lang: str) -> bool:
    words = word_set(lang)
    if w in words:
        return True
    parts = [p for p in re.split(r"['’-]", w) if p]
    if len(parts) > 1:
        return all(len(p) <= 2 or _known(p, lang) for p in parts)
    if lang == "en":
        for pattern, repl in _BRITISH:
            alt = pattern.sub(repl, w)
            if alt != w and alt in words:
                return True
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            stem = w[: -len(suffix)]
            if stem in words or stem + "e" in words:
                return True
    if lang in ("de", "nl") and len(w) >= 7:
        return _compound(w, words)
    if lang == "es":
        return w in _SPANISH_EXTRA or _spanish_verb(w, words)
    return False


_SPANISH_EXTRA = frozenset(
    """según puede pueden puedes podemos quiere quieren quieres tiene tienen tienes viene vienen encuentra
    encuentras prueba pruebas vuelve vuelven muestra piensa siente sientes""".split()
)
"""Spanish forms the list lacks (its verbs are mostly infinitives; stem-changing verbs are not found by rule)."""
_SPANISH_ENDINGS = sorted(
    """o as a amos áis an es e emos éis en imos ís é aste ó asteis aron í iste ió ieron ando iendo ado ada ados adas
    ido ida idos idas ará arán ería aría nos los las le les lo la se te me""".split(),
    key=len,
    reverse=True,
)


def _spanish_verb(w: str, words: frozenset[str]) -> bool:
    """A conjugated or clitic-bearing form of a listed Spanish infinitive (``descubre`` → ``descubrir``)."""
    for ending in _SPANISH_ENDINGS:
        if w.endswith(ending) and len(w) - len(ending) >= 3:
            stem = w[: -len(ending)]
            if any(stem + inf in words for inf in ("ar", "er", "ir")) or stem in words:
                return True
    return False


def _compound(w: str, words: frozenset[str]) -> bool:
    """German / Dutch compounds: two (or three) known parts, with an optional linking ``s``/``n``/``e``."""
    for i in range(3, len(w) - 2):
        head, tail = w[:i], w[i:]
        if head in words or (head[-1] in "sne" and head[:-1] in words and len(head) > 3):
            if tail in words or (len(tail) >= 7 and _compound(tail, words)):
                return True
    return False
