"""Run-on repair: a sentence greedy decoding added after a field had said what it had to say.

A small model that has written a complete text sometimes goes on with a sentence it already wrote ("Thick foam
pad that saves your knees." twice) or with a sentence made of nothing but prices ("69,00 £GB à 16,50 £GB.", after
"Wool Throw Blanket à 69,00 £GB. Découvrez nos nouveautés."), or with a sentence holding a slot left after filling,
one this customer has no value for ("You might also like the {ITEM2}." to a customer with one item). Such a
sentence adds nothing a reader could use (or could not be sent at all), so code drops it, as if decoding had
stopped before it, and reports a soft ``content.run_on`` finding naming what was dropped. Only a field's second and
later sentences are ever dropped, never its first, and nothing else in the text changes; the checks then judge what
is left (a body left under its minimum length is still refused; a slot in a first sentence stays a hard finding).

Owns the rule. Does not parse, fill slots nor check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marketing_gen.guardrails.facts import Violation
from marketing_gen.guardrails.lexicon import STOPWORDS
from marketing_gen.guardrails.money import find_amounts
from marketing_gen.slots import SLOT

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_STOP = frozenset().union(*STOPWORDS.values())
MIN_REPEAT_WORDS = 3
"""A repeated sentence is dropped only when it has at least this many words ("Shop now." may open two lines)."""


def _key(sentence: str) -> str:
    return " ".join(w.lower() for w in _WORD.findall(sentence))


def _says_nothing(sentence: str, before: str) -> bool:
    """Only prices, numbers, stopwords and punctuation, with a price the text said ``before``: "69,00 £GB à 16,50
    £GB." after "Wool Throw Blanket à 69,00 £GB." ("It is £5." after "Soft and warm." says the price once: kept)."""
    amounts = [a.text for a in find_amounts(sentence)]
    if not amounts or not any(a in before for a in amounts):
        return False
    rest = sentence
    for amount in amounts:
        rest = rest.replace(amount, " ")
    return all(w.lower() in _STOP or len(w) <= 2 for w in _WORD.findall(rest))


def drop_run_on(text: str) -> tuple[str, list[str]]:
    """``text`` without its run-on sentences, and the sentences dropped (in order)."""
    spans = [m for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    if len(spans) < 2:
        return text, []
    seen: set[str] = {_key(spans[0].group(0))}
    dropped: list[tuple[int, int]] = []
    for m in spans[1:]:
        sentence = m.group(0)
        key = _key(sentence)
        repeated = key in seen and len(key.split()) >= MIN_REPEAT_WORDS
        if repeated or SLOT.search(sentence) or _says_nothing(sentence, text[: m.start()]):
            dropped.append(m.span())
        else:
            seen.add(key)
    if not dropped:
        return text, []
    out, last = [], 0
    for start, end in dropped:
        out.append(text[last:start])
        last = end
    out.append(text[last:])
    kept = re.sub(r"[ \t]{2,}", " ", "".join(out)).strip()
    return kept, [text[s:e].strip() for s, e in dropped]


def repair_run_on(fields: Mapping[str, Any], text_fields: frozenset[str]) -> tuple[dict[str, Any], list[Violation]]:
    """Each of ``text_fields`` (one-string fields) without its run-on sentences, with a soft finding for each
    field that lost one."""
    out = dict(fields)
    found: list[Violation] = []
    for name in text_fields:
        value = out.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        kept, dropped = drop_run_on(value)
        if dropped:
            out[name] = kept
            said = "; ".join(repr(s) for s in dropped)
            why = "said before, says nothing, or holds a slot this customer has no value for"
            found.append(Violation("content.run_on", name, f"dropped {said}: {why}", hard=False))
    return out, found


__all__ = ["drop_run_on", "repair_run_on"]
