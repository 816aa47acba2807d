"""Content (quality gate): each field carries information a customer can use.

- ``content.short``: an email body of fewer than ``BODY_MIN_WORDS`` words ("Geschmack", "Je vous pour vous");
  a description / ad text / push body that is a lone word ("Mugs.");
- ``content.no_item``: an email body that names none of the customer's items (exact title, a ≥ 2-word prefix, or
  a ≥ 2-word tail of its name: the short name);
- ``content.cta``: a call to action without an action word of the user's language (``lexicon.CTA_WORDS``):
  "Vous vous pour vous", or "Découvrir" to an English customer;
- ``content.repeat``: a word said twice in a row ("merino merino", or with another ending: "choisies choisi"), or
  a pronoun back after a preposition
  ("vous pour vous"), or a price or sentence said twice in one text ("the Merino Beanie is £22.00. It is £22.00
  at …");
- ``content.unfinished``: a gap after an article or connector ("the … team"), or a text that ends on one
  ("I'm here to.");
- ``content.personal``: an ad (a channel written for an audience) that names the customer;
- ``content.no_words``: a text without one real word of three letters or more ("M.A.S.");
- ``content.echo``: a text that repeats four words in a row of a line of the prompt's example answer when none of
  that line's content words is in the customer's facts ("The Glass Lantern gives a soft glow" for a money bank)
  — the base model's most common failure; only when the copywriter passes the example (few-shot prompts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marketing_gen.channels.base import ChannelSpec
from marketing_gen.guardrails.facts import Facts, Violation, words
from marketing_gen.guardrails.format import texts_of
from marketing_gen.guardrails.lexicon import CTA_WORDS, STOPWORDS
from marketing_gen.titles import short_name

BODY_MIN_WORDS = 12
"""An email body shorter than this says nothing (the shortest fallback body has 17 words)."""
DESCRIPTION_FIELDS = frozenset({"descriptions", "primary_text"})
"""Fields that must hold more than one word (push ``body`` too; Meta's 30-character ``description`` may not)."""

_CLAUSE_RE = re.compile(r"\s+[-–|(]\s*|\s*[,(|:]\s*")
_TOKEN_RE = re.compile(r"[^\W_]+", re.UNICODE)
_PRONOUNS = frozenset("you your vous votre vos du dich dir dein deine tu te ti tuo jij je jou jouw u".split())
_PREPOSITIONS = frozenset("for pour für para voor per to à with avec mit con met de di van von by par".split())
_DANGLING_END: dict[str, frozenset[str]] = {
    "en": frozenset("a an the and or your our my their its next every".split()),
    "de": frozenset("der die das ein eine und oder mit für von zu zum zur dein deine".split()),
    "fr": frozenset("le la les un une des de du au aux et ou pour avec votre vos notre".split()),
    "es": frozenset("el los las una y o con para por tu su de".split()),
    "nl": frozenset("het een en of met voor van jouw de".split()),
    "it": frozenset("il lo gli una e di per con tuo".split()),
}
"""Words a finished sentence does not end on, per language (English prepositions may: "what you were looking
for."; German separable particles may: "Schau dir … an."). English "to" counts too, unless after "up"."""
_LAST_WORD_RE = re.compile(r"([^\W\d_]+)[\s.!?…,;:)\]\"'»”’]*$")
_GAP_RE = re.compile(r"(\w+)\s*(?:…|\.\.\.)(?=\s*\w)")
"""A gap: an ellipsis right after an article or connector, with text going on ("by the … team")."""
_CODE_GAP_RE = re.compile(
    r"\b(?:code|código|codice|gutscheincode|rabattcode|kortingscode)\s*(?:[.!?;,]|$)", re.IGNORECASE
)
""""code" with no code after it: "10% off with code. Reply STOP …" (an SMS of the demo model, marked sendable)."""


def check_content(fields: Mapping[str, Any], facts: Facts, spec: ChannelSpec) -> list[Violation]:
    """Short or empty fields, bodies without an item, CTAs without an action, repeated words, unfinished text."""
    if not facts.has_context:
        return []
    out: list[Violation] = []
    lang = facts.language or "en"
    if not spec.per_user:
        out.extend(_check_audience(fields, facts, spec))
    for name, value in fields.items():
        for text in texts_of(value):
            if not text.strip():
                continue
            masked = facts.mask_re.sub(" item ", text) if facts.mask_re is not None else text  # titles are not copy
            out.extend(_check_text(name, masked, lang))
            out.extend(_said_twice(name, text))
            if spec.name == "email" and name == "body":
                out.extend(_check_body(text, facts))
            elif (name in DESCRIPTION_FIELDS or (spec.name == "push" and name == "body")) and len(words(text)) < 2:
                out.append(Violation("content.short", name, f"{text.strip()!r} is a lone word, not a {name}"))
            elif name == "cta":
                out.extend(_check_cta(text, lang))
    return out


def _check_text(field: str, text: str, lang: str) -> list[Violation]:
    out: list[Violation] = []
    toks = [t.lower() for t in _TOKEN_RE.findall(text)]
    if not any(len(t) >= 3 and not t.isdigit() for t in toks) and field not in ("path1", "path2"):
        out.append(Violation("content.no_words", field, f"{text.strip()!r} holds no word"))
        return out
    # words as written between spaces: "Go! Go!", "Dimensions: Dimensions", "Plus-Plus" are not stutters
    plain = [t.lower() if re.fullmatch(r"[^\W\d_]+(?:['’][^\W\d_]+)?", t) else None for t in text.split()]
    for i in range(len(plain) - 1):
        a, b = plain[i], plain[i + 1]
        if a is not None and a == b and len(a) > 1:
            out.append(Violation("content.repeat", field, f"{a!r} twice in a row"))
            break
        if (
            a
            and b
            and min(len(a), len(b)) >= 5
            and 0 < abs(len(a) - len(b)) <= 2
            and (b[: len(a)] == a or a[: len(b)] == b)
        ):
            # one word written twice with another ending: "idées choisies choisi pour vous" (a demo email preheader)
            out.append(Violation("content.repeat", field, f"{a} {b!r} says one word twice"))
            break
        if i + 2 < len(plain) and a is not None and a == plain[i + 2] and a in _PRONOUNS and b in _PREPOSITIONS:
            out.append(Violation("content.repeat", field, f"{a} {b} {a!r} repeats a word"))
            break
    dangling = _DANGLING_END.get(lang, frozenset())
    gap = _GAP_RE.search(text)
    if _CODE_GAP_RE.search(text):
        out.append(Violation("content.unfinished", field, f"{text.strip()!r} says 'code' without one"))
    elif gap and gap.group(1).lower() in dangling:
        out.append(Violation("content.unfinished", field, f"{text.strip()!r} has a gap (…)"))
    elif len(toks) >= 2 and (m := _LAST_WORD_RE.search(text)):
        last = m.group(1).lower()
        if last in dangling or (lang == "en" and last == "to" and toks[-2] != "up"):
            out.append(Violation("content.unfinished", field, f"{text.strip()!r} ends on {m.group(1)!r}"))
    return out


def _check_audience(fields: Mapping[str, Any], facts: Facts, spec: ChannelSpec) -> list[Violation]:
    """An ad is seen by an audience: no customer's first name in it, and no field that only repeats another."""
    out: list[Violation] = []
    name = (facts.first_name or "").strip()
    named = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE) if name else None
    seen: dict[str, str] = {}
    for field, value in fields.items():
        for text in texts_of(value):
            if named is not None and named.search(text):
                out.append(
                    Violation("content.personal", field, f"an ad names a customer ({name!r}): it is seen by many")
                )
            key = " ".join(text.lower().split()).rstrip(".")
            if key and field not in ("path1", "path2") and seen.setdefault(key, field) != field:
                out.append(Violation("content.repeat", field, f"{text.strip()!r} only repeats the {seen[key]}"))
    return out


_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+")


def _said_twice(field: str, text: str) -> list[Violation]:
    """A price (as written) or a whole sentence that appears twice in one text."""
    from marketing_gen.guardrails.money import find_amounts

    shown = [a.text for a in find_amounts(text)]
    again = next((p for i, p in enumerate(shown) if p in shown[:i]), None)
    if again:
        return [Violation("content.repeat", field, f"{again!r} is said twice")]
    sentences = [s.strip().lower() for s in _SENTENCE_SPLIT_RE.split(text) if len(s.split()) >= 3]
    if len(set(sentences)) < len(sentences):
        return [Violation("content.repeat", field, "a sentence is said twice")]
    return []


def _check_body(text: str, facts: Facts) -> list[Violation]:
    out: list[Violation] = []
    n = len(text.split())
    if n < BODY_MIN_WORDS:
        out.append(Violation("content.short", "body", f"the body has {n} words; it needs ≥ {BODY_MIN_WORDS}"))
    if facts.mask_re is not None and not _names_item(text, facts):
        out.append(Violation("content.no_item", "body", "the body names none of the customer's items"))
    return out


def _names_item(text: str, facts: Facts) -> bool:
    """The text holds an item's title, its first two words, its name before the first clause ("Paw Patrol"
    of "Paw Patrol, Mighty Pups …"; "Osmo" of "Osmo - Super Studio …"), or a tail of ≥ 2 words of that name (the
    data block's short name: "Bella Butterfly Net" of "Melissa & Doug Bella Butterfly Net")."""
    lowered = " ".join(text.split()).lower()
    for title in facts.titles:
        head = _CLAUSE_RE.split(title.strip(), maxsplit=1)[0].strip()
        first_two = " ".join(t.strip(",;:") for t in title.split()[:2])
        names = {first_two.lower(), head.lower() if len(head) >= 3 else ""}
        head_words = head.lower().split()
        names.update(" ".join(head_words[-k:]) for k in range(2, len(head_words)))
        names.add(short_name(title).lower())
        if any(n and re.search(rf"(?<!\w){re.escape(n)}(?!\w)", lowered) for n in names):
            return True
    return False


def is_call_to_action(text: str, locale: str | None) -> bool:
    """Whether ``text`` holds an action word of the locale's language (``lexicon.CTA_WORDS``; True for languages
    without a list)."""
    lang = (locale or "en").replace("_", "-").split("-")[0].lower()
    return not _check_cta(text, lang)


def _check_cta(text: str, lang: str) -> list[Violation]:
    verbs = CTA_WORDS.get(lang)
    if verbs is None:
        return []
    toks = [w.lower() for w in words(text)]
    if any(t in verbs or t.split("'")[-1] in verbs for t in toks):
        return []
    return [Violation("content.cta", "cta", f"{text.strip()!r} is not a call to action in the customer's language")]


def check_echo(fields: Mapping[str, Any], example: str, facts: Facts) -> list[Violation]:
    """``content.echo``: a field that repeats four words in a row of an example line whose content words none of
    the customer's facts hold (a lamp's line for a money bank; the same line for a T-light holder is fine)."""
    known = facts.known_words | {p for w in facts.known_words for p in re.split(r"['’-]", w) if p}
    grams: set[tuple[str, ...]] = set()
    for line in example.splitlines():
        content = {w.lower() for w in words(line)} - _FUNCTION
        if content and not content & known:
            grams |= _ngrams(line, 4)
    if not grams:
        return []
    out: list[Violation] = []
    for name, value in fields.items():
        for text in texts_of(value):
            shared = sorted(_ngrams(text, 4) & grams)
            if shared:
                out.append(
                    Violation("content.echo", name, f"{' '.join(shared[0])!r} is copied from the prompt's example")
                )
                break
    return out


_FUNCTION = frozenset().union(*STOPWORDS.values()) | frozenset("a an".split())


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    toks = [w.lower() for w in words(text)]
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}
