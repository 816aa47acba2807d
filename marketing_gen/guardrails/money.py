"""Money and percentages: how prices are written into copy, and how to find them in any copy.

``format_price`` is the one way prompts, fallbacks and renderers print a price; ``find_amounts`` and
``find_percentages`` read amounts back out of copy written by anyone (``£12.50``, ``12,50 €``,
``USD 1,299.99``, ``9.99`` …) so grounding can compare them with the catalog and the offer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

CURRENCY_SYMBOLS: dict[str, str] = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "INR": "₹"}
"""Currencies printed with a symbol in front; others print as ``12.50 CHF``."""

_SYMBOL_CURRENCIES: dict[str, frozenset[str]] = {
    "£": frozenset({"GBP"}),
    "$": frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"}),
    "€": frozenset({"EUR"}),
    "¥": frozenset({"JPY", "CNY"}),
    "₹": frozenset({"INR"}),
}
_WORD_CURRENCIES: dict[str, frozenset[str]] = {
    "pound": frozenset({"GBP"}),
    "pounds": frozenset({"GBP"}),
    "dollar": frozenset(_SYMBOL_CURRENCIES["$"]),
    "dollars": frozenset(_SYMBOL_CURRENCIES["$"]),
    "euro": frozenset({"EUR"}),
    "euros": frozenset({"EUR"}),
}
_CODES = r"GBP|USD|EUR|CHF|CAD|AUD|JPY|SEK|NOK|DKK|PLN|INR|NZD|SGD|HKD|MXN|CNY"
_NUM = r"\d+(?:[.,\u00a0 ]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_SYM = "|".join(re.escape(s) for s in _SYMBOL_CURRENCIES)
_MONEY_RE = re.compile(
    rf"(?P<pre>{_SYM}|\b(?:{_CODES}))\s?(?P<n1>{_NUM})"
    rf"|(?P<n2>{_NUM})\s?(?P<post>{_SYM}|(?:{_CODES}|pounds?|dollars?|euros?)\b)"
    rf"|(?<![\w.,])(?P<n3>\d+[.,]\d{{2}})(?![\w%]|[.,]\d|\s?(?:cm|mm|m|kg|g|ml|l|in|ft|oz|lb|x)\b)",
    re.IGNORECASE,
)
_PCT_RE = re.compile(
    r"(?<![\w.,])(?P<n>\d+(?:[.,]\d+)?)\s?(?:%|percent\b|per\s?cent\b|prozent\b|pour\s?cent\b|por\s?ciento\b"
    r"|procent\b|per\s?cento\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Amount:
    """A money amount found in copy."""

    value: Decimal
    currencies: frozenset[str]
    """Currencies the written form may stand for (empty: no symbol or code, e.g. ``9.99``)."""
    text: str


def parse_number(raw: str) -> Decimal | None:
    """``1,299.99`` / ``1.299,99`` / ``12,50`` / ``1 299`` → Decimal (None when not a number)."""
    s = raw.replace("\u00a0", "").replace(" ", "")
    if "," in s and "." in s:
        dec = "," if s.rfind(",") > s.rfind(".") else "."
        s = s.replace("." if dec == "," else ",", "").replace(dec, ".")
    elif "," in s or "." in s:
        sep = "," if "," in s else "."
        parts = s.split(sep)
        if len(parts) > 2 or (len(parts) == 2 and len(parts[1]) == 3):
            s = "".join(parts)  # thousands separators
        else:
            s = s.replace(",", ".")
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def find_amounts(text: str) -> list[Amount]:
    """Every money amount in the text, in order."""
    out: list[Amount] = []
    for m in _MONEY_RE.finditer(text):
        raw = m.group("n1") or m.group("n2") or m.group("n3")
        value = parse_number(raw)
        if value is None:
            continue
        marker = (m.group("pre") or m.group("post") or "").strip()
        currencies = _currencies_for(marker)
        out.append(Amount(value=value, currencies=currencies, text=m.group(0).strip()))
    return out


def _currencies_for(marker: str) -> frozenset[str]:
    if not marker:
        return frozenset()
    if marker in _SYMBOL_CURRENCIES:
        return _SYMBOL_CURRENCIES[marker]
    low = marker.lower()
    if low in _WORD_CURRENCIES:
        return _WORD_CURRENCIES[low]
    return frozenset({marker.upper()})


def find_percentages(text: str) -> list[tuple[Decimal, int, int]]:
    """Every percentage in the text as (value, start, end)."""
    out: list[tuple[Decimal, int, int]] = []
    for m in _PCT_RE.finditer(text):
        value = parse_number(m.group("n"))
        if value is not None:
            out.append((value, m.start(), m.end()))
    return out


def format_price(amount: Decimal | None, currency: str) -> str:
    """``£12.50`` for symbol currencies, ``12.50 CHF`` otherwise, ``""`` without a price."""
    if amount is None:
        return ""
    value = f"{Decimal(amount).quantize(Decimal('0.01')):,}"
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"


def format_pct(value: Decimal) -> str:
    """``Decimal('50.00')`` → ``50%``."""
    normalized = value.normalize()
    text = format(normalized, "f")
    return f"{text}%"
