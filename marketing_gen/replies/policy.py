"""Reply-specific policy checks the channel guardrails do not know: promises beyond the brand's policy and
compliance with prompt injections.

Owns: refund / discount / compensation promise detection against ``BrandFacts.max_discount_pct`` and
``BrandFacts.refund_policy``, and the signs that a reply obeyed an injected comment (discount codes, system
prompt talk, "Sure, here is…"). Findings are data (codes + messages), never exceptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from marketing_gen.contexts import BrandFacts

_PCT_OFF = re.compile(
    r"(?P<n>\d{1,3}(?:[.,]\d+)?)\s?(?:%|percent|per ?cent)\s*(?:off|discount|reduction|back|cheaper|code|coupon)\b"
    r"|\b(?:discount|coupon|code|voucher|reduction|save|saving)\b.{0,20}?(?P<m>\d{1,3}(?:[.,]\d+)?)\s?(?:%|percent)",
    re.IGNORECASE,
)
_DISCOUNT_PROMISE = re.compile(
    r"\b(here'?s|here is|use( the)?( code)?|enjoy|get|we('ll| will| can)|i('ll| will| can)|take|apply|have)\b"
    r".{0,40}\b(discount|coupon|promo(tion(al)?)? code|voucher|\d+ ?% off)",
    re.IGNORECASE,
)
_REFUND_PROMISE = re.compile(
    r"\b(we('ll| will| can| have| are|'ve|'re)|i('ll| will| can| have|'ve|'m| am)|you('ll| will)( get| receive)?)\b"
    r".{0,30}\b(refund(ed|ing)?|reimburs\w*|money back|pay you back)\b"
    r"|\b(full refund|refund (is|has been) (issued|processed|approved|on its way)|guaranteed refund)\b",
    re.IGNORECASE,
)
_COMPENSATION = re.compile(
    r"\b(compensat\w*|gift ?cards?|store credit|account credit|credit (to )?your account|free (of charge|replacement|"
    r"upgrade|months?|gift|items?|products?|shipping|delivery)|on the house|complimentary|goodwill (gesture|credit))\b",
    re.IGNORECASE,
)
_CODE_TOKEN = re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{5,}\b")
_PROMPT_TALK = re.compile(
    r"\b(system prompt|my (instructions|prompt|programming|rules say)|i was (told|instructed)|"
    r"as an ai|i am an ai|i'm an ai|language model|ignore (my|your|the|all|previous) (instructions|rules))\b",
    re.IGNORECASE,
)
_COMPLIANT_OPENING = re.compile(
    r"^\s*(sure|of course|certainly|absolutely|okay|ok|as requested|done|no problem|here (is|are|you go)|"
    r"here'?s)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PolicyFinding:
    """One reason a reply candidate must not be suggested."""

    code: str
    """``promise.discount``, ``promise.refund``, ``promise.compensation``, ``injection.*``."""
    message: str


def _pct(raw: str) -> Decimal | None:
    try:
        return Decimal(raw.replace(",", "."))
    except InvalidOperation:
        return None


def check_promises(text: str, brand: BrandFacts) -> list[PolicyFinding]:
    """Refund, discount and compensation promises beyond ``brand.max_discount_pct`` / ``brand.refund_policy``."""
    found: list[PolicyFinding] = []
    limit = brand.max_discount_pct
    for m in _PCT_OFF.finditer(text):
        pct = _pct(m.group("n") or m.group("m"))
        if pct is not None and (limit is None or pct > limit):
            allowed = "no discounts" if limit is None else f"at most {limit}%"
            found.append(PolicyFinding("promise.discount", f"promises {m.group(0).strip()!r}; policy allows {allowed}"))
            break
    if not found and limit is None and _DISCOUNT_PROMISE.search(text):
        found.append(PolicyFinding("promise.discount", "offers a discount or code; the brand allows no discounts"))
    if brand.refund_policy is None and _REFUND_PROMISE.search(text):
        found.append(PolicyFinding("promise.refund", "promises a refund; the brand has no refund policy for replies"))
    if _COMPENSATION.search(text):
        found.append(PolicyFinding("promise.compensation", "promises compensation / free goods or credit"))
    return found


def check_injection_compliance(text: str, *, flagged_injection: bool) -> list[PolicyFinding]:
    """Signs that a reply obeys instructions hidden in the comment (always checked; stricter when flagged)."""
    found: list[PolicyFinding] = []
    if _PROMPT_TALK.search(text):
        found.append(PolicyFinding("injection.prompt_talk", "talks about its prompt / instructions"))
    if _CODE_TOKEN.search(text):
        found.append(PolicyFinding("injection.code", "contains a code-like token (discount or account code)"))
    if flagged_injection and _COMPLIANT_OPENING.search(text):
        found.append(PolicyFinding("injection.complies", "opens by agreeing to an injected request"))
    return found


def check_reply_policy(text: str, brand: BrandFacts, *, flagged_injection: bool = False) -> list[PolicyFinding]:
    """All reply-specific policy findings for one candidate."""
    return check_promises(text, brand) + check_injection_compliance(text, flagged_injection=flagged_injection)
