"""Content (quality gate): each field carries information a customer can use.

- ``content.short``: an email body of fewer than ``BODY_MIN_WORDS`` words ("Geschmack", "Je vous pour vous");
  a description / ad text / push body that is a lone word ("Mugs.");
- ``content.no_item``: an email body that names none of the customer's items (exact title or a ≥ 2-word prefix);
- ``content.cta``: a call to action without an action word of the user's language (``lexicon.CTA_WORDS``):
  "Vous vous pour vous", or "Découvrir" to an English customer;
- ``content.repeat``: a word said twice in a row ("merino merino"), or a function word back after one other
  function word ("vous pour vous");
- ``content.unfinished``: a gap ("the … team"), or a text that ends on a dangling word ("I'm here to.");
- ``content.no_words``: a text without one real word of three letters or more ("M.A.S.").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marketing_gen.channels.base import ChannelSpec
from marketing_gen.guardrails.facts import Facts, Violation, words
from marketing_gen.guardrails.format import texts_of
from marketing_gen.guardrails.lexicon import CTA_WORDS, REPEAT_OK, STOPWORDS

BODY_MIN_WORDS = 12
"""An email body shorter than this says nothing (the shortest fallback body has 17 words)."""
DESCRIPTION_FIELDS = frozenset({"descriptions", "primary_text"})
"""Fields that must hold more than one word (push ``body`` too; Meta's 30-character ``description`` may not)."""

_FUNCTION_WORDS = frozenset().union(*STOPWORDS.values()) | frozenset(
    "a an i je tu il du ich er es wir ik jij u yo él io".split()
)
_DANGLING_END: dict[str, frozenset[str]] = {
    "en": frozenset("a an the and or to your our my their its".split()),
    "de": frozenset("der die das ein eine und oder mit für von zu zum zur dein deine".split()),
    "fr": frozenset("le la les un une des de du au aux et ou pour avec votre vos notre".split()),
    "es": frozenset("el los las una y o con para por tu su de".split()),
    "nl": frozenset("het een en of met voor van jouw de".split()),
    "it": frozenset("il lo gli una e di per con tuo".split()),
}
"""Words a finished sentence does not end on, per language (English prepositions may: "what you were looking
for."; German separable particles may: "Schau dir … an.")."""
_LAST_WORD_RE = re.compile(r"([^\W\d_]+)[\s.!?…,;:)\]\"'»”’]*$")
_GAP_RE = re.compile(r"(?:…|\.\.\.)(?=\s*\w)")


def check_content(fields: Mapping[str, Any], facts: Facts, spec: ChannelSpec) -> list[Violation]:
    """Short or empty fields, bodies without an item, CTAs without an action, repeated words, unfinished text."""
    if not facts.has_context:
        return []
    out: list[Violation] = []
    lang = facts.language or "en"
    for name, value in fields.items():
        for text in texts_of(value):
            if not text.strip():
                continue
            masked = facts.mask_re.sub(" item ", text) if facts.mask_re is not None else text  # titles are not copy
            out.extend(_check_text(name, masked, lang))
            if spec.name == "email" and name == "body":
                out.extend(_check_body(text, facts))
            elif (name in DESCRIPTION_FIELDS or (spec.name == "push" and name == "body")) and len(words(text)) < 2:
                out.append(Violation("content.short", name, f"{text.strip()!r} is a lone word, not a {name}"))
            elif name == "cta":
                out.extend(_check_cta(text, lang))
    return out


def _check_text(field: str, text: str, lang: str) -> list[Violation]:
    out: list[Violation] = []
    toks = [w.lower() for w in words(text)]
    if not any(len(t) >= 3 for t in toks) and field not in ("path1", "path2"):
        out.append(Violation("content.no_words", field, f"{text.strip()!r} holds no word"))
        return out
    for i in range(len(toks) - 1):
        if toks[i] == toks[i + 1]:
            out.append(Violation("content.repeat", field, f"{toks[i]!r} twice in a row"))
            break
        if (
            i + 2 < len(toks)
            and toks[i] == toks[i + 2]
            and toks[i] in _FUNCTION_WORDS
            and toks[i + 1] in _FUNCTION_WORDS
            and toks[i + 1] not in REPEAT_OK
        ):
            out.append(Violation("content.repeat", field, f"{' '.join(toks[i : i + 3])!r} repeats a word"))
            break
    if _GAP_RE.search(text):
        out.append(Violation("content.unfinished", field, f"{text.strip()!r} has a gap (…)"))
    elif len(toks) >= 2 and (m := _LAST_WORD_RE.search(text)) and m.group(1).lower() in _DANGLING_END.get(lang, ()):
        out.append(Violation("content.unfinished", field, f"{text.strip()!r} ends on {m.group(1)!r}"))
    return out


def _check_body(text: str, facts: Facts) -> list[Violation]:
    out: list[Violation] = []
    n = len(text.split())
    if n < BODY_MIN_WORDS:
        out.append(Violation("content.short", "body", f"the body has {n} words; it needs ≥ {BODY_MIN_WORDS}"))
    if facts.mask_re is not None and not _names_item(text, facts):
        out.append(Violation("content.no_item", "body", "the body names none of the customer's items"))
    return out


def _names_item(text: str, facts: Facts) -> bool:
    lowered = " ".join(text.split()).lower()
    for title in facts.titles:
        parts = title.lower().split()
        if len(parts) == 1 and re.search(rf"(?<!\w){re.escape(parts[0])}(?!\w)", lowered):
            return True
        if len(parts) >= 2 and re.search(rf"(?<!\w){re.escape(' '.join(parts[:2]))}", lowered):
            return True
    return False


def _check_cta(text: str, lang: str) -> list[Violation]:
    verbs = CTA_WORDS.get(lang)
    if verbs is None:
        return []
    toks = [w.lower() for w in words(text)]
    if any(t in verbs or t.split("'")[-1] in verbs for t in toks):
        return []
    return [Violation("content.cta", "cta", f"{text.strip()!r} is not a call to action in the customer's language")]
