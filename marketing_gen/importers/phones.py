"""Phone numbers at import: any national or international format → E.164, read in the user's country.

Owns the country → region lookup (ISO codes and country names in the supported languages, from CLDR through
Babel) and the parse/validate rule (``phonenumbers``, Google's libphonenumber data). A number without ``+`` is
read as a national number of the user's country (the ``country`` column, else the region of the ``locale``);
a number that is not valid there (wrong length, unassigned range, fictional ranges such as Ofcom's
``07700 900xxx``) is a row error naming the value and the region it was read in. Does not read files.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from babel import Locale

NAME_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "nl", "it", "pt", "pl", "sv", "ja")
"""Languages whose CLDR country names the ``country`` column may use (``Germany``, ``Deutschland``, ``Allemagne``)."""

ALIASES: dict[str, str] = {"uk": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
                           "usa": "US", "u.s.a.": "US", "u.s.": "US", "america": "US", "holland": "NL"}  # fmt: skip
"""Common country spellings CLDR does not list."""


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for language in NAME_LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if len(code) == 2 and code.isalpha():
                names.setdefault(name.casefold(), code)
    names.update(ALIASES)
    return names


def region_of(country: str | None, locale: str | None = None) -> str | None:
    """ISO 3166 region for a country code or name (``GB``, ``United Kingdom``, ``Deutschland``), else the
    locale's region (``de-AT`` → ``AT``), else None."""
    if country and country.strip():
        text = country.strip()
        if text.casefold() in ALIASES:
            return ALIASES[text.casefold()]
        if len(text) == 2 and text.isascii() and text.isalpha():
            return text.upper()
        code = _country_names().get(text.casefold())
        if code:
            return code
    if locale:
        parts = locale.replace("_", "-").split("-")
        if len(parts) >= 2 and len(parts[1]) == 2 and parts[1].isalpha():
            return parts[1].upper()
    return None


def to_e164(raw: str, region: str | None) -> str:
    """``(030) 1234567`` in DE → ``+49301234567``; ValueError (saying why and how to fix it) when not valid."""
    text = raw.strip()
    where = f" in {region}" if region else ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if not region and not text.startswith("+"):
            raise ValueError(
                f"phone {raw!r} has no country code and the user has no country: write it as +<country code>… "
                "or give the user a country"
            ) from None
        raise ValueError(f"not a phone number: {raw!r}{where} ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(
            f"phone {raw!r} is not a valid number{where}: check the digits, or write it as +<country code>…"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
