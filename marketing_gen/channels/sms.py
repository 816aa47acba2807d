"""SMS: GSM-7 vs UCS-2 detection, segment counting, and the brand + opt-out line carriers require.

GSM-7 (GSM 03.38): 160 septets in one segment, 153 per segment when concatenated; the extension table
characters ``^{}[]~\\|€`` (and form feed) take two septets. Any other character forces UCS-2: 70 UTF-16
code units in one segment, 67 per segment (characters outside the BMP, e.g. emoji, take two units).

Opt-out approach (one rule, applied by the copywriter after generation, never by the model): the model
writes only the message; ``finalize_text`` replaces typographic characters by their GSM-7 equivalents
(``to_gsm7``: one en dash or curly quote would otherwise switch the whole message to UCS-2 and halve its
length), prefixes ``"<Brand>: "`` when the brand name is missing and appends the opt-out line of the
recipient's language (``OPT_OUT_LINES``, with the keyword carriers there expect: STOP, ARRET, BAJA, SAIR,
STOPP …) when it is missing. The guardrails then count segments on the final text, localized line included,
and ``marketing-gen lint`` requires both in hand-written copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from marketing_gen.channels.base import ChannelSpec, FieldSpec

SPEC = ChannelSpec(
    headline_field="text",
    name="sms",
    fields=(FieldSpec("text", hint="the message, one or two short sentences, at most 100 characters"),),
    prompt_template="prompts/sms.j2",
    fallback_template="fallback/sms.j2",
    render_target="sms",
    description="a marketing text message (SMS)",
    max_new_tokens=64,
    max_segments=1,
    consent_flag="sms",
    address="phone",
)

OPT_OUT = "Reply STOP to opt out"
"""The English opt-out phrase (the fallback for languages without their own line)."""

OPT_OUT_LINES: dict[str, str] = {
    "en": OPT_OUT,
    "de": "STOP antworten zum Abmelden",
    "fr": "STOP ou ARRET pour vous désinscrire",
    "es": "Responde BAJA para darte de baja",
    "nl": "Antwoord STOP om af te melden",
    "it": "Rispondi STOP per annullare",
    "pt": "Responda SAIR para cancelar",
    "pl": "Odpowiedz STOP, aby zrezygnowac",
    "sv": "Svara STOPP för att avsluta",
    "ja": "STOPで配信停止",
}
"""Opt-out line per language, with the keyword carriers there act on (French carriers: STOP and ARRET; Spain:
BAJA; Brazil: SAIR; Sweden: STOPP). Every Latin-script line is GSM-7 (the Polish one drops its diacritics on
purpose: ``ć`` would make the whole message UCS-2); Japanese SMS is UCS-2 anyway."""

GSM7_EQUIVALENTS: dict[str, str] = {
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2012": "-",  # figure dash
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2212": "-",  # minus sign
    "\u2018": "'",  # left single quote
    "\u2019": "'",  # right single quote / apostrophe
    "\u201a": "'",  # single low-9 quote
    "\u2032": "'",  # prime
    "\u201c": '"',  # left double quote
    "\u201d": '"',  # right double quote
    "\u201e": '"',  # double low-9 quote (German)
    "\u00ab": '"',  # « (French)
    "\u00bb": '"',  # »
    "\u2033": '"',  # double prime
    "\u2026": "...",  # ellipsis
    "\u00a0": " ",  # no-break space
    "\u202f": " ",  # narrow no-break space (French before ! ? : ;)
    "\u2009": " ",  # thin space
    "\u2007": " ",  # figure space
    "\u200b": "",  # zero-width space
    "\u2022": "-",  # bullet
    "\u00b4": "'",  # acute accent used as apostrophe
    "`": "'",
    "\u00d7": "x",  # multiplication sign in dimensions ("130 × 180 cm", seller copy)
}
"""Typographic characters outside GSM 03.38 and the GSM-7 text that reads the same."""

_GSM7_TABLE = str.maketrans(GSM7_EQUIVALENTS)

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""GSM 03.38 basic character set (one septet each)."""

GSM7_EXTENDED = frozenset("^{}[]~\\|€\f")
"""GSM 03.38 extension table (escape + character: two septets each)."""


@dataclass(frozen=True)
class SmsInfo:
    """How a text travels: encoding, length in the encoding's units, segments."""

    encoding: str
    """``GSM-7`` or ``UCS-2``."""
    units: int
    """Septets (GSM-7) or UTF-16 code units (UCS-2)."""
    segments: int
    chars: int
    """Code points."""


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 basic or extension table."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def septets(text: str) -> int:
    """GSM-7 length: extension-table characters count double."""
    return sum(2 if c in GSM7_EXTENDED else 1 for c in text)


def ucs2_units(text: str) -> int:
    """UTF-16 code units (characters outside the BMP take two)."""
    return len(text.encode("utf-16-le")) // 2


def sms_info(text: str) -> SmsInfo:
    """Encoding, units and segment count of a text (an empty text is one segment)."""
    if is_gsm7(text):
        units, single, multi, encoding = septets(text), 160, 153, "GSM-7"
    else:
        units, single, multi, encoding = ucs2_units(text), 70, 67, "UCS-2"
    segments = 1 if units <= single else math.ceil(units / multi)
    return SmsInfo(encoding=encoding, units=units, segments=segments, chars=len(text))


def non_gsm_chars(text: str) -> list[str]:
    """The characters that force UCS-2, in order of appearance, once each."""
    seen: list[str] = []
    for c in text:
        if c not in GSM7_BASIC and c not in GSM7_EXTENDED and c not in seen:
            seen.append(c)
    return seen


def to_gsm7(text: str) -> str:
    """Typographic dashes, quotes, ellipses and special spaces replaced by their GSM-7 equivalents."""
    return text.translate(_GSM7_TABLE)


def language_code(locale: str | None) -> str:
    """``de-DE`` / ``de_AT`` / ``DE`` → ``de``; empty → ``en``."""
    return (locale or "en").replace("_", "-").split("-")[0].lower() or "en"


def opt_out_line(locale: str | None = None) -> str:
    """The opt-out line for a locale's language (English when the language has none)."""
    return OPT_OUT_LINES.get(language_code(locale), OPT_OUT)


def has_opt_out(text: str, locale: str | None = None) -> bool:
    """True when the text carries the opt-out line of the locale's language (case-insensitive)."""
    return opt_out_line(locale).lower() in text.lower()


def has_brand(text: str, brand_name: str) -> bool:
    """True when the brand name appears in the text (case-insensitive)."""
    name = to_gsm7(brand_name.strip()).lower()
    return bool(name) and name in to_gsm7(text).lower()


def finalize_text(text: str, brand_name: str, locale: str | None = None) -> str:
    """GSM-7 equivalents for typographic characters, ``"<Brand>: "`` in front when the brand is missing and
    the locale's opt-out line at the end when it is missing."""
    text = " ".join(to_gsm7(text).split())
    if brand_name.strip() and not has_brand(text, brand_name):
        text = f"{to_gsm7(brand_name.strip())}: {text}"
    if not has_opt_out(text, locale):
        line = opt_out_line(locale)
        sep = "" if text.endswith((".", "!", "?", "。", "！", "？")) else "." if text[-1:].isascii() else "。"
        text = f"{text}{sep} {line}"
    return text
