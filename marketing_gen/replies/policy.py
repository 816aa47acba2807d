"""Reply-specific policy checks the channel guardrails do not know: promises beyond the brand's policy and
compliance with prompt injections.

Owns the verdict on one reply candidate: promises (``safety_promises``: discounts beyond
``BrandFacts.max_discount_pct``, refunds without ``BrandFacts.refund_policy``, free goods and waived costs, in six
languages), talk about its own prompt or instructions, discount or account codes, an echo of the system prompt
(word n-grams shared with the prompt the reply was written from) and, when the comment was flagged as an
injection, a reply that opens by agreeing. Findings are data (codes + messages), never exceptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from marketing_gen.contexts import BrandFacts
from marketing_gen.replies.candidates import INTENTS, build_reply_prompt
from marketing_gen.replies.safety_promises import check_promise_limits
from marketing_gen.replies.safety_text import Patterns, fold, views, word_ngrams

_CODE_TOKEN = re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9][A-Z0-9-]{4,}\b")
_CODE_WORDS = re.compile(
    r"\b(coupon|voucher|promo|discount|gutschein\w*|rabatt\w*|korting\w*|sconto|descuento|cupon|reduction|remise|"
    r"(use|enter|apply|redeem|utilisez|usa|utiliza|gebruik|verwende\w*|inserisci) (the |this |our |de |il |el |le )?"
    r"(code|codice|codigo))\b"
)
_CODE_WINDOW = 25
"""Characters around a code-like token searched for a word that presents it as a code."""

_PROMPT_TALK = Patterns(
    (
        r"\b(system ?prompt|my (instructions|prompt|programming|guidelines|rules) (say|are|tell|state|forbid|prevent|"
        r"don't|do not)|my (prompt|programming)\b|i (was|have been|'ve been|am) (instructed|programmed)|"
        r"i was told (to|not to) (say|tell|reply|respond|answer|never|always)|as an ai|i am an ai|i'm an ai|"
        r"language model|"
        r"ignore (my|your|the|all|previous) (instructions|rules))\b",
        r"\b(systemprompt|meine (anweisungen|instruktionen|vorgaben|regeln) (sagen|lauten|verbieten|besagen|sind)|"
        r"als (ki|ai|sprachmodell)|ich bin (eine ki|ein sprachmodell|ein bot))\b",
        r"\b(prompt systeme|mes (instructions|consignes|regles) (disent|m'interdisent|sont|me demandent)|"
        r"en tant qu'(ia|intelligence artificielle|assistant virtuel)|modele de langage|je suis une ia)\b",
        r"\b(prompt del sistema|mis (instrucciones|reglas) (dicen|me impiden|son)|como (ia|modelo de lenguaje|"
        r"inteligencia artificial)|soy una ia)\b",
        r"\b(systeemprompt|mijn (instructies|regels) (zeggen|verbieden|zijn)|als (ai|taalmodel)|ik ben een ai)\b",
        r"\b(prompt di sistema|le mie (istruzioni|regole) (dicono|mi vietano|sono)|come (ia|intelligenza artificiale|"
        r"modello linguistico)|sono un'ia)\b",
    )
)
_COMPLIANT_OPENING = re.compile(
    r"^\s*(sure|of course|certainly|absolutely|okay|ok|as requested|done|no problem|here (is|are|you go)|here'?s|"
    r"klar|naturlich|selbstverstandlich|gerne|hier (ist|sind)|bien sur|d'accord|voici|certainement|claro|por supuesto|"
    r"aqui (tienes|esta)|natuurlijk|zeker|hier is|certo|certamente|ecco|va bene)\b"
)

ECHO_NGRAM = 4
"""Word n-gram length for the system-prompt echo check."""
ECHO_MIN_SHARED = 3
"""A reply sharing this many distinct n-grams with the prompt's own words echoes it: six words copied in a row, or
several shorter copies. Two also catches ordinary support phrases the prompt happens to use: with two, 10 of 4,352
Bitext agent replies were flagged, all for "such as the order number"; with three, none."""


@dataclass(frozen=True)
class PolicyFinding:
    """One reason a reply candidate must not be suggested."""

    code: str
    """``promise.discount``, ``promise.refund``, ``promise.compensation``, ``injection.*``."""
    message: str


@lru_cache(maxsize=64)
def prompt_ngrams(brand: BrandFacts) -> frozenset[tuple[str, ...]]:
    """Word n-grams of the reply prompt's own words (system message + every intent's task line) for ``brand``.

    The comment is left out (replies may quote it) and so are the brand's name and voice (replies may say them).
    """
    own: set[tuple[str, ...]] = set()
    placeholder = "brandplaceholder"
    named = BrandFacts(name=placeholder, voice=placeholder)
    for intent in INTENTS:
        system, user = (m["content"] for m in build_reply_prompt(placeholder, intent, brand=named))
        task_lines = [line for line in user.splitlines() if placeholder not in line]
        for part in (system, *task_lines):
            own |= {g for g in word_ngrams(part, ECHO_NGRAM) if placeholder not in g}
    return frozenset(own)


def check_prompt_echo(text: str, brand: BrandFacts) -> list[PolicyFinding]:
    """The reply repeats the prompt's own words (``ECHO_MIN_SHARED`` shared word ``ECHO_NGRAM``-grams)."""
    shared = word_ngrams(text, ECHO_NGRAM) & prompt_ngrams(brand)
    if len(shared) >= ECHO_MIN_SHARED:
        quote = " ".join(sorted(shared)[0])
        return [PolicyFinding("injection.prompt_echo", f"repeats the system prompt ({quote!r} …)")]
    return []


def check_promises(text: str, brand: BrandFacts) -> list[PolicyFinding]:
    """Refund, discount and compensation promises beyond ``brand.max_discount_pct`` / ``brand.refund_policy``."""
    return [PolicyFinding(code, message) for code, message in check_promise_limits(text, brand)]


def _presented_codes(text: str) -> list[str]:
    """Code-like tokens (``SAVE20``) that a nearby word presents as a code to use."""
    out: list[str] = []
    for m in _CODE_TOKEN.finditer(text):
        window = fold(text[max(0, m.start() - _CODE_WINDOW) : m.end() + _CODE_WINDOW])
        if _CODE_WORDS.search(window):
            out.append(m.group(0))
    return out


def check_injection_compliance(text: str, *, flagged_injection: bool) -> list[PolicyFinding]:
    """Signs that a reply obeys instructions hidden in the comment (always checked; stricter when flagged).

    A code-like token counts when a word presents it as a code ("use SAVE20"), or at all when the comment was
    an injection; model numbers and flight numbers in ordinary replies pass.
    """
    found: list[PolicyFinding] = []
    if _PROMPT_TALK.search(views(text)):
        found.append(PolicyFinding("injection.prompt_talk", "talks about its prompt / instructions"))
    codes = [m.group(0) for m in _CODE_TOKEN.finditer(text)] if flagged_injection else _presented_codes(text)
    if codes:
        found.append(PolicyFinding("injection.code", f"contains a code-like token ({codes[0]!r})"))
    if flagged_injection and _COMPLIANT_OPENING.search(fold(text)):
        found.append(PolicyFinding("injection.complies", "opens by agreeing to an injected request"))
    return found


def check_reply_policy(text: str, brand: BrandFacts, *, flagged_injection: bool = False) -> list[PolicyFinding]:
    """All reply-specific policy findings for one candidate."""
    return (
        check_promises(text, brand)
        + check_injection_compliance(text, flagged_injection=flagged_injection)
        + check_prompt_echo(text, brand)
    )
