"""Compliance: false urgency, brand banned terms, links to unknown hosts, PII (emails, phones, other names).

Urgency phrases are allowed only when the campaign's offer has an end date. Links may point only at the
user's item URLs, the brand website, the brand's allowed domains and the tracking base URL. The recipient's
own first name is the only personal data copy may carry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marketing_gen.guardrails.facts import Facts, Violation, host_of, words
from marketing_gen.guardrails.format import texts_of
from marketing_gen.guardrails.lexicon import FIRST_NAMES, URGENCY_PATTERNS

_URGENCY_RE = re.compile(rf"(?<!\w)(?:{'|'.join(URGENCY_PATTERNS)})(?!\w)", re.IGNORECASE)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_RE = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"')\]]+"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|net|org|io|co|uk|de|fr|es|nl|it|eu|us|shop|store|info|biz|app|online|xyz|ly|me)"
    r"\b(?:/[^\s<>\"')\]]*)?",
    re.IGNORECASE,
)
_PHONE_RE = re.compile(r"(?<![\w£$€.,])(?:\+|00)?\d[\d\s().-]{6,}\d(?![\w%])")


def check_compliance(fields: Mapping[str, Any], facts: Facts) -> list[Violation]:
    """Urgency, banned terms, URLs, emails, phone numbers and other people's names, field by field."""
    banned = [t for t in facts.brand.banned_terms if t.strip()]
    banned_re = (
        re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(t.strip()) for t in banned)})(?!\w)", re.IGNORECASE)
        if banned
        else None
    )
    out: list[Violation] = []
    for name, value in fields.items():
        for text in texts_of(value):
            if not facts.has_end_date and (m := _URGENCY_RE.search(text)):
                out.append(
                    Violation(
                        "compliance.urgency", name, f"{m.group(0)!r} is urgency the offer does not back (no end date)"
                    )
                )
            if banned_re is not None and (m := banned_re.search(text)):
                out.append(Violation("compliance.banned_term", name, f"{m.group(0)!r} is banned by the brand"))
            out.extend(_check_links_and_pii(name, text, facts))
    return out


def _check_links_and_pii(name: str, text: str, facts: Facts) -> list[Violation]:
    out: list[Violation] = []
    emails = _EMAIL_RE.findall(text)
    for email in emails:
        out.append(Violation("compliance.pii_email", name, f"email address {email!r} in copy"))
    without_emails = _EMAIL_RE.sub(" ", text)
    for m in _URL_RE.finditer(without_emails):
        host = host_of(m.group(0))
        if host is None or not any(host == h or host.endswith("." + h) for h in facts.allowed_hosts):
            out.append(Violation("compliance.url", name, f"link {m.group(0)!r} is not an item, brand or tracking URL"))
    for m in _PHONE_RE.finditer(without_emails):
        if sum(c.isdigit() for c in m.group(0)) >= 8:
            out.append(Violation("compliance.pii_phone", name, f"phone number {m.group(0).strip()!r} in copy"))
    allowed = {w.lower() for w in words(facts.first_name or "")} | {w.lower() for w in words(facts.brand.name)}
    for title in facts.titles:
        allowed.update(w.lower() for w in words(title))
    for w in words(text):
        low = w.lower()
        if w[:1].isupper() and w[1:] == w[1:].lower() and low in FIRST_NAMES and low not in allowed:
            out.append(Violation("compliance.pii_name", name, f"{w!r} looks like another person's name"))
    return out
