"""What copy may say about one user: the facts the checks compare copy against, derived once per context.

Also ``Violation`` (a finding: data, never an exception) and ``mask_titles``, which removes quoted catalog
titles before the checks that must not read catalog text as the copywriter's own words.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from marketing_gen.contexts import BrandFacts, UserContext
from marketing_gen.guardrails.money import find_amounts, find_percentages
from marketing_gen.titles import display_title, short_name

WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)


@dataclass(frozen=True)
class Violation:
    """One finding about a piece of copy. ``hard`` findings block delivery; soft ones are advice."""

    code: str
    """Stable code: ``<family>.<what>``, e.g. ``length.subject``, ``grounding.price``, ``compliance.urgency``."""
    field: str
    """The field it is about (``*`` for the copy as a whole)."""
    message: str
    hard: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class Facts:
    """Facts about one user's copy, from the context and brand (None context: only brand-level facts)."""

    brand: BrandFacts
    has_context: bool
    first_name: str | None = None
    language: str | None = None
    titles: tuple[str, ...] = ()
    prices: tuple[tuple[Decimal, str], ...] = ()
    offer_amounts: tuple[tuple[Decimal, str | None], ...] = ()
    offer_pcts: tuple[Decimal, ...] = ()
    catalog_pcts: tuple[Decimal, ...] = ()
    has_discount: bool = False
    offer_text: str = ""
    offer_code: str | None = None
    has_end_date: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    known_words: frozenset[str] = frozenset()
    """Lower-case words of the user's item titles, categories, features, interests, brand and offer."""
    item_prices: tuple[tuple[tuple[str, ...], Decimal | None], ...] = ()
    """Per recommended item: the lower-case names copy calls it by (title, display title, short name) and its price."""
    mask_re: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def mask(self, text: str) -> str:
        """The text with every quoted item title (or a ≥ 2-word prefix or tail of one) blanked out."""
        if self.mask_re is None:
            return text
        return self.mask_re.sub(" ", text)


def _names_of(title: str) -> tuple[str, ...]:
    """The lower-case names copy calls an item by: its title, display title and short name (short name last)."""
    return tuple(dict.fromkeys(n.lower() for n in (title, display_title(title), short_name(title)) if n))


def host_of(url: str) -> str | None:
    """Lower-case host of a URL or bare domain (None when there is none)."""
    candidate = url if "//" in url else f"//{url}"
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        return None
    return host.lower().removeprefix("www.") if host else None


def words(text: str) -> list[str]:
    """The words of a text (letters, inner apostrophes and hyphens), original case."""
    return WORD_RE.findall(text)


def capitalised_runs(
    text: str, *, connectors: frozenset[str], breaks: str, skip_sentence_start: bool = False
) -> list[list[str]]:
    """Runs of ≥ 2 Capitalised/UPPER words, sentence by sentence (``breaks``: a character class that ends one).

    ``connectors`` ("of", "and", …) may sit inside a run but never end it. With ``skip_sentence_start`` the first
    word of each sentence is ignored (in sentence-case text grammar, not a name, capitalises it).
    """
    runs: list[list[str]] = []

    def close(current: list[str]) -> None:
        while current and current[-1].lower() in connectors:
            current.pop()
        if len(current) >= 2:
            runs.append(list(current))

    for sentence in re.split(breaks, text):
        current: list[str] = []
        for j, w in enumerate(words(sentence)):
            if j == 0 and skip_sentence_start:
                continue
            if w[0].isupper():
                current.append(w)
            elif current and w.lower() in connectors:
                current.append(w)
            else:
                close(current)
                current = []
        close(current)
    return runs


def build_facts(
    context: UserContext | None, brand: BrandFacts | None = None, *, tracking_base_url: str | None = None
) -> Facts:
    """Derive the facts once for a context (brand defaults to the context's brand)."""
    brand = brand or (context.brand if context is not None else BrandFacts(name=""))
    hosts = {h for h in (host_of(d) for d in brand.allowed_domains) if h}
    for url in (brand.website_url, tracking_base_url):
        if url and (h := host_of(url)):
            hosts.add(h)
    known = {w.lower() for w in words(brand.name)}
    if context is None:
        return Facts(brand=brand, has_context=False, allowed_hosts=frozenset(hosts), known_words=frozenset(known))

    offer = context.offer
    titles = tuple(i.title for i in context.items if i.title.strip())
    prices = tuple((i.price, i.currency.upper()) for i in context.items if i.price is not None)
    offer_amounts: list[tuple[Decimal, str | None]] = []
    if offer.amount_off:
        offer_amounts.append((offer.amount_off, None))
    for a in find_amounts(offer.text):
        offer_amounts.append((a.value, None))
    offer_pcts = [p for p, _, _ in find_percentages(offer.text)]
    if offer.discount_pct:
        offer_pcts.append(offer.discount_pct)
    catalog_pcts: list[Decimal] = []
    for item in context.items:
        for text in (item.title, *item.features):
            catalog_pcts.extend(p for p, _, _ in find_percentages(text))
        if item.url and (h := host_of(item.url)):
            hosts.add(h)
        for text in (item.title, item.category or "", *item.features):
            known.update(w.lower() for w in words(text))
        if item.currency:  # locales that write the code, not the symbol: "22,00 GBP" (es)
            known.add(item.currency.strip().lower())
    for text in (*context.interests, offer.text, offer.code or ""):
        known.update(w.lower() for w in words(text))
    if context.first_name:
        known.update(w.lower() for w in words(context.first_name))
    # the user's last purchase is theirs to be reminded of ("since you liked …"): named, not a new product
    bought = (context.last_purchase or "").strip()
    if bought:
        known.update(w.lower() for w in words(bought))
    return Facts(
        brand=brand,
        has_context=True,
        first_name=(context.first_name or "").strip() or None,
        language=(context.locale or "").replace("_", "-").split("-")[0].lower() or None,
        titles=titles,
        prices=prices,
        offer_amounts=tuple(offer_amounts),
        offer_pcts=tuple(dict.fromkeys(offer_pcts)),
        catalog_pcts=tuple(catalog_pcts),
        has_discount=offer.has_discount,
        offer_text=offer.text,
        offer_code=offer.code,
        has_end_date=offer.ends_at is not None,
        allowed_hosts=frozenset(hosts),
        known_words=frozenset(known),
        item_prices=tuple((_names_of(i.title), i.price) for i in context.items if i.title.strip()),
        mask_re=_title_mask(titles + ((bought,) if bought else ())),
    )


def _title_mask(titles: tuple[str, ...]) -> re.Pattern[str] | None:
    """A regex matching each title or any prefix or tail of it with at least two words (longest first): the data
    block's short name is one of these (``titles.short_name`` keeps the tail that ends on the product's noun)."""
    variants: set[str] = set()
    for title in titles:
        parts = title.split()
        variants.add(" ".join(parts))
        variants.add(short_name(title))
        for n in range(2, len(parts)):
            variants.add(" ".join(parts[:n]))
            variants.add(" ".join(parts[-n:]).lstrip("(").rstrip(",;:)"))
    variants = {v for v in variants if len(v) >= 4}
    if not variants:
        return None
    ordered = sorted(variants, key=len, reverse=True)
    alternatives = "|".join(r"\s+".join(re.escape(p) for p in v.split()) for v in ordered)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
