"""SMS: GSM-7 vs UCS-2 detection, segment counting, and the brand + opt-out line carriers require.

GSM-7 (GSM 03.38): 160 septets in one segment, 153 per segment when concatenated; the extension table
characters ``^{}[]~\\|€`` (and form feed) take two septets. Any other character forces UCS-2: 70 UTF-16
code units in one segment, 67 per segment (characters outside the BMP, e.g. emoji, take two units).

Opt-out approach (one rule, applied by the copywriter after generation, never by the model): the model
writes only the message; ``finalize_text`` prefixes ``"<Brand>: "`` when the brand name is missing and
appends ``" Reply STOP to opt out"`` when that phrase is missing. The guardrails then count segments on
the final text, and ``marketing-gen lint`` requires both in hand-written copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from marketing_gen.channels.base import ChannelSpec, FieldSpec

SPEC = ChannelSpec(
    name="sms",
    fields=(FieldSpec("text", hint="the message, one or two short sentences, at most 100 characters"),),
    prompt_template="prompts/sms.j2",
    fallback_template="fallback/sms.j2",
    render_target="sms",
    description="a marketing text message (SMS)",
    max_new_tokens=64,
    max_segments=1,
)

OPT_OUT = "Reply STOP to opt out"
"""The opt-out phrase every marketing SMS carries."""

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


def has_opt_out(text: str) -> bool:
    """True when the text carries the STOP opt-out phrase (case-insensitive)."""
    return OPT_OUT.lower() in text.lower()


def has_brand(text: str, brand_name: str) -> bool:
    """True when the brand name appears in the text (case-insensitive)."""
    return bool(brand_name.strip()) and brand_name.strip().lower() in text.lower()


def finalize_text(text: str, brand_name: str) -> str:
    """Add ``"<Brand>: "`` in front when the brand is missing and the opt-out line when it is missing."""
    text = " ".join(text.split())
    if brand_name.strip() and not has_brand(text, brand_name):
        text = f"{brand_name.strip()}: {text}"
    if not has_opt_out(text):
        sep = "" if text.endswith((".", "!", "?")) else "."
        text = f"{text}{sep} {OPT_OUT}"
    return text
