"""Money, numbers, percentages and dates: how they are written into copy (CLDR, through Babel) and how to find
amounts in any copy.

``format_price`` is the one way prompts, fallbacks and renderers print a price, in the reader's locale
(``£1,299.00`` en-GB, ``1.299,00 €`` de-DE, ``￥1,299`` ja-JP: JPY has no minor unit, ``1 299,00 CHF`` fr-CH);
``format_day`` prints dates the same way. ``find_amounts`` and ``find_percentages`` read amounts back out of copy
written by anyone (``£12.50``, ``12,50 €``, ``1.299,00 €``, ``CHF 1’299.00``, ``USD 1,299.99``, ``9.99`` …), with
every currency symbol CLDR uses in the supported locales, so grounding can compare them with the catalog and
the offer whatever the locale.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, get_currency_symbol

CURRENCY_CODES: tuple[str, ...] = (
    "GBP", "USD", "EUR", "CHF", "CAD", "AUD", "JPY", "SEK", "NOK", "DKK", "PLN", "INR", "NZD", "SGD", "HKD",
    "MXN", "CNY", "BRL", "CZK",
)  # fmt: skip
"""Currencies whose codes and CLDR symbols the amount finder knows."""

SYMBOL_LOCALES: tuple[str, ...] = (
    "en", "en_GB", "en_US", "en_CA", "en_AU", "de", "de_CH", "de_AT", "fr", "fr_CH", "fr_CA", "es", "es_MX", "nl",
    "it", "pt", "pt_BR", "pl", "sv", "ja", "da", "nb", "cs",
)  # fmt: skip
"""Locales whose CLDR currency symbols (``£GB``, ``kr``, ``zł``, ``R$``, ``￥`` …) the amount finder reads."""

_BASE_SYMBOLS: dict[str, frozenset[str]] = {
    "£": frozenset({"GBP"}),
    "$": frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"}),
    "€": frozenset({"EUR"}),
    "¥": frozenset({"JPY", "CNY"}),
    "₹": frozenset({"INR"}),
}


def _symbol_currencies() -> dict[str, frozenset[str]]:
    """Symbol → the currencies it may stand for: the common ones plus CLDR's in ``SYMBOL_LOCALES``."""
    found: dict[str, set[str]] = {k: set(v) for k, v in _BASE_SYMBOLS.items()}
    for locale in SYMBOL_LOCALES:
        for code in CURRENCY_CODES:
            symbol = get_currency_symbol(code, locale=locale)
            if symbol != code:
                found.setdefault(symbol, set()).add(code)
    for symbol in list(found):  # "12 kr." at the end of a sentence may be SEK too, not only DKK's "kr."
        if symbol.endswith(".") and symbol[:-1] in found:
            found[symbol] |= found[symbol[:-1]]
    return {k: frozenset(v) for k, v in found.items()}


_SYMBOL_CURRENCIES: dict[str, frozenset[str]] = _symbol_currencies()
_WORD_CURRENCIES: dict[str, frozenset[str]] = {
    "pound": frozenset({"GBP"}),
    "pounds": frozenset({"GBP"}),
    "dollar": frozenset(_SYMBOL_CURRENCIES["$"]),
    "dollars": frozenset(_SYMBOL_CURRENCIES["$"]),
    "euro": frozenset({"EUR"}),
    "euros": frozenset({"EUR"}),
}
_CODES = "|".join(CURRENCY_CODES)
_GROUP = "[.,\u00a0\u202f '’]"
"""Thousands separators CLDR uses: ``,`` en, ``.`` de, NBSP sv/pl, narrow NBSP fr, ``’`` de-CH."""
_NUM = rf"\d+(?:{_GROUP}\d{{3}})*(?:[.,]\d{{1,2}})?|\d+(?:[.,]\d{{1,2}})?"
_SYM_PRE = "|".join(
    (re.escape(s) if not s[0].isalpha() else rf"(?<!\w){re.escape(s)}")
    for s in sorted(_SYMBOL_CURRENCIES, key=len, reverse=True)
)
_SYM_POST = "|".join(
    (re.escape(s) if not s[-1].isalpha() else rf"{re.escape(s)}(?!\w)")
    for s in sorted(_SYMBOL_CURRENCIES, key=len, reverse=True)
)
_MONEY_RE = re.compile(
    rf"(?P<pre>{_SYM_PRE}|\b(?:{_CODES}))\s?(?P<n1>{_NUM})"
    rf"|(?P<n2>{_NUM})\s?(?P<post>{_SYM_POST}|(?:{_CODES}|pounds?|dollars?|euros?)\b)"
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
    s = re.sub("[\u00a0\u202f '’]", "", raw)
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


@lru_cache(maxsize=256)
def cldr_locale(locale: str | None) -> Locale:
    """The Babel locale for a user locale (``de-DE``, ``pt_BR``, ``ja``); English when unknown or empty."""
    tag = (locale or "en").strip().replace("-", "_") or "en"
    try:
        return Locale.parse(tag)
    except (UnknownLocaleError, ValueError):
        try:
            return Locale.parse(tag.split("_")[0])
        except (UnknownLocaleError, ValueError):
            return Locale.parse("en")


def format_price(amount: Decimal | None, currency: str, locale: str | None = None) -> str:
    """The price as the locale writes it (CLDR: symbol, separators, the currency's digits); ``""`` without one.

    ``format_price(Decimal("1299"), "EUR", "de-DE")`` → ``1.299,00 €`` (no-break space before ``€``).
    """
    if amount is None:
        return ""
    return format_currency(Decimal(amount), currency.upper(), locale=cldr_locale(locale))


def format_day(day: dt.date, locale: str | None = None) -> str:
    """A date as the locale writes it in running text (CLDR medium: ``1 Dec 2026``, ``01.12.2026``)."""
    return format_date(day, format="medium", locale=cldr_locale(locale))


def format_pct(value: Decimal) -> str:
    """``Decimal('50.00')`` → ``50%``."""
    normalized = value.normalize()
    text = format(normalized, "f")
    return f"{text}%"
