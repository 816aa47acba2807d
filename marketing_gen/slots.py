"""Facts by construction: slots the model writes in place of names, titles, prices and the offer code.

A model trained with slots writes ``{NAME}``, ``{ITEM1}`` (the first product's short name), ``{TITLE1}`` (its
display title), ``{PRICE1}`` and ``{CODE}``; code fills each slot with the exact string after generation (``fill``),
so a customer's name or a product's title can never be misspelt or invented. Training rows are made the other way
round (``slotify``: every exact occurrence of a fact becomes its slot), so train = serve holds: the same prompt
(``prompts.build_prompt(..., slots=True)``, a system message without rule lines) and completions with slots. A slot
the context cannot fill (``{ITEM3}`` for a user with two items, a typo like ``{ITM1}``) stays in the text and is a
hard finding (``format.slot``): the copy is regenerated, never sent (in a later sentence, ``run_on`` drops the
sentence instead).

Owns the slot names, their values for a context, filling and slotifying. Does not prompt nor check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marketing_gen.contexts import UserContext
from marketing_gen.guardrails.money import format_price
from marketing_gen.prompts import MAX_ITEMS
from marketing_gen.titles import display_title, short_names

SLOT = re.compile(r"\{([A-Z]+[0-9]?)\}")
"""A slot as the model writes it: ``{NAME}``, ``{ITEM1}`` …"""


def slot_values(context: UserContext) -> dict[str, str]:
    """Slot → the exact string code writes for it (the prices as the prompt's data block shows them)."""
    values: dict[str, str] = {}
    name = (context.first_name or "").strip()
    if name:
        values["NAME"] = name
    shorts = short_names([i.title for i in context.items[:MAX_ITEMS]])
    for n, (item, short) in enumerate(zip(context.items[:MAX_ITEMS], shorts, strict=True), start=1):
        title = display_title(item.title)
        if short:
            values[f"ITEM{n}"] = short
        if title:  # also when it is the short name: then {TITLE1} and {ITEM1} are the same words
            values[f"TITLE{n}"] = title
        price = format_price(item.price, item.currency, context.locale)
        if price:
            values[f"PRICE{n}"] = price
    if context.offer.code:
        values["CODE"] = context.offer.code
    return values


def _spellings(context: UserContext) -> list[tuple[str, str]]:
    """(text, slot) pairs to replace when slotifying, longest text first: each slot's value, and for prices also
    the locale-free form (teacher copy prints prices without the locale) and the locale's with a plain space."""
    pairs = [(value, key) for key, value in slot_values(context).items()]
    for n, item in enumerate(context.items[:MAX_ITEMS], start=1):
        plain = format_price(item.price, item.currency)
        if plain:
            pairs.append((plain, f"PRICE{n}"))
        spaced = format_price(item.price, item.currency, context.locale).replace("\xa0", " ")
        if spaced:  # a channel that writes plain spaces (RSA): "12,50 £", not "12,50\xa0£"
            pairs.append((spaced, f"PRICE{n}"))
    return sorted(set(pairs), key=lambda p: (-len(p[0]), p[1]))


def slotify_text(text: str, context: UserContext) -> str:
    """Every exact, whole-word occurrence of a fact in ``text`` replaced by its slot (longest facts first)."""
    for value, key in _spellings(context):
        pattern = rf"(?<![\w{{]){re.escape(value)}(?![\w}}])"
        text = re.sub(pattern, "{" + key + "}", text)
    return text


def slotify(fields: Mapping[str, Any], context: UserContext) -> dict[str, Any]:
    """``slotify_text`` over every field (list fields item by item)."""
    return {k: _map(v, lambda t: slotify_text(t, context)) for k, v in fields.items()}


_NAMELESS = (
    (re.compile(r"\b(Hi|Hello|Hey)\s+\{NAME\}"), r"\1 there"),  # "Hi {NAME}," → "Hi there,"
    (re.compile(r"\bDear\s+\{NAME\}"), "Dear customer"),
    # the other languages' greetings (templates/fallback/_phrases.j2 "hello") stand alone, as their fallback's do:
    # "Bonjour {NAME}!" → "Bonjour!" (Online Retail customers have no first names: 8 of 18 tries, 3 of 6 refused first)
    (re.compile(r"\b(Hallo|Bonjour|Hola|Ciao|Salut|Hoi)\s+\{NAME\}"), r"\1"),
    (re.compile(r"\bFor \{NAME\}"), "For You"),  # an RSA headline in title case: "Picked For {NAME}"
    (re.compile(r"\bfor \{NAME\}"), "for you"),
    (re.compile(r"^\{NAME\}\s*[,:!–—-]\s*"), ""),  # "{NAME}, meet the …" → "Meet the …"
    (re.compile(r",\s*\{NAME\}\s*(?=[,.!?])"), ""),  # "Thanks, {NAME}!" → "Thanks!"; "Good news, {NAME}, …"
)
"""How a piece reads for a user without a first name: the greeting without it (mail-merge defaults)."""

_ARTICLE_BEFORE = re.compile(r"\b([Tt]he) \{((?:ITEM|TITLE)[0-9])\}")


def fill_text(text: str, values: Mapping[str, str]) -> str:
    """Each known slot replaced by its value; unknown slots are left as written (``unfilled`` finds them).

    Two mail-merge rules keep the text readable: for a user without a first name the greeting drops it
    (``_NAMELESS``: "Hi {NAME}," → "Hi there,", "{NAME}, meet …" → "Meet …"), and "the {ITEM1}" before a title
    that starts with "The" keeps one article ("meet The Learning Journey", not "meet the The …")."""
    if "NAME" not in values and "{NAME}" in text:  # text without the slot stays exactly as written
        for pattern, repl in _NAMELESS:
            text = pattern.sub(repl, text.strip())
        text = text[:1].upper() + text[1:]

    def one_article(m: re.Match[str]) -> str:
        value = values.get(m.group(2), "")
        return m.group(0) if not value.lower().startswith("the ") else "{" + m.group(2) + "}"

    text = _ARTICLE_BEFORE.sub(one_article, text)
    return SLOT.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def fill(fields: Mapping[str, Any], context: UserContext) -> dict[str, Any]:
    """The model's fields with every slot it can fill filled (list fields item by item)."""
    values = slot_values(context)
    return {k: _map(v, lambda t: fill_text(t, values)) for k, v in fields.items()}


def unfilled(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, slot) for each slot still in the text after ``fill``."""
    out: list[tuple[str, str]] = []
    for name, value in fields.items():
        for text in value if isinstance(value, list) else [value]:
            out += [(name, m.group(0)) for m in SLOT.finditer(str(text or ""))]
    return out


def _map(value: Any, fn: Any) -> Any:
    if isinstance(value, list):
        return [fn(str(v)) for v in value]
    return fn(value) if isinstance(value, str) else value


__all__ = ["SLOT", "fill", "fill_text", "slot_values", "slotify", "slotify_text", "unfilled"]
