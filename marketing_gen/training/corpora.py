"""Loaders for the real third-party corpora used to build training contexts and reply pairs.

Owns reading and cleaning the files (Amazon product listings, Online Retail invoices, Twitter support threads,
Bitext support pairs) into plain data: ``ItemFacts`` for catalog items, ``RetailUser`` purchase histories and
``SupportPair`` customer → brand messages. Does not build prompts or rows (``training.datasets`` does).
Every loader skips rows it cannot use and counts them instead of crashing.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from marketing_gen.contexts import ItemFacts

AMAZON_BOILERPLATE = (
    "make sure this fits by entering your model number",
    "see more product details",
)
"""Seller-copy bullets that are Amazon page furniture, not product facts."""

_PRICE = re.compile(r"^\$\s?(\d{1,3}(?:,\d{3})*(?:\.\d{1,2})?)$")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u2705\u2714\u2728\u2b50\u203c\u2049]")
_BRACKETS = re.compile(r"[【】〖〗「」『』《》〔〕]")
_PLACEHOLDER = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")
_HANDLE = re.compile(r"(?:^|\s)@\w+")
_URL = re.compile(r"https?://\S+")
_DANGLING = frozenset(
    "a an the and or of in on to for with by from at as that which is are be your our its their & -".split()
)
_SIGNATURE = re.compile(r"\s*(?:[\^\-–~]\s?[A-Z]{1,4}|\*[A-Z]{1,4})\s*$")


@dataclass
class LoadReport:
    """How many rows a loader read, kept and skipped (with why)."""

    read: int = 0
    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        """Count one skipped row under ``reason``."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass(frozen=True)
class SupportPair:
    """One customer message and the brand's real reply."""

    customer: str
    reply: str
    source: str
    """``twitter`` or ``bitext``."""
    brand: str = ""
    """The answering account (Twitter) or empty."""
    intent: str = ""
    """Bitext intent label, e.g. ``track_order``."""


@dataclass(frozen=True)
class RetailUser:
    """A customer of the Online Retail sample: id, country and the stock codes they bought (most first)."""

    customer_id: str
    country: str
    stock_codes: tuple[str, ...]


def clean_text(text: str) -> str:
    """Drop emoji and CJK brackets, collapse whitespace."""
    text = _BRACKETS.sub(" ", _EMOJI.sub(" ", text))
    return re.sub(r"\s+", " ", text).strip(" |-:;,")


def parse_price(raw: str) -> Decimal | None:
    """``$237.68`` → Decimal; ranges (``$74.99 - $249.99``), empty and garbled prices → None."""
    match = _PRICE.match(raw.strip())
    if not match:
        return None
    try:
        return Decimal(match.group(1).replace(",", ""))
    except InvalidOperation:
        return None


def short_feature(bullet: str, max_len: int = 70) -> str:
    """One seller-copy bullet → a short fact: its label when it has one, else its first clause, cut on a word."""
    text = clean_text(bullet)
    label, sep, rest = text.partition(":")
    if sep and 3 <= len(label) <= 40 and label.upper() == label and any(c.isalpha() for c in label):
        # "RESPONSIVE FLEX: The Crossbow features …" → "Responsive flex: the Crossbow features …"
        text = f"{label.strip().capitalize()}: {rest.strip()}" if rest.strip() else label.strip().capitalize()
    text = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].rstrip(".!? ")
    if len(text) > max_len:
        head = text[:max_len]
        clause = re.split(r"[,;(]| - | – ", head)[0].strip()
        text = clause if 25 <= len(clause) < len(head) else head.rsplit(" ", 1)[0]
        words = text.rstrip(",;:-–( ").split()
        while words and words[-1].lower() in _DANGLING:
            words.pop()
        text = " ".join(words)
    return text


def amazon_features(about: str, limit: int = 4) -> tuple[str, ...]:
    """The "About Product" bullets minus Amazon's boilerplate, shortened, at most ``limit``."""
    out: list[str] = []
    for bullet in about.split(" | "):
        low = bullet.strip().lower()
        if not low or any(low.startswith(b) for b in AMAZON_BOILERPLATE):
            continue
        feature = short_feature(bullet)
        if len(feature) >= 8 and feature.lower() not in {f.lower() for f in out}:
            out.append(feature)
        if len(out) >= limit:
            break
    return tuple(out)


def load_amazon_items(path: Path, *, id_offset: int = 1_000_000) -> tuple[list[ItemFacts], LoadReport]:
    """Amazon product listings → ``ItemFacts`` (name, leaf category, USD price or None, seller-copy features)."""
    report = LoadReport()
    items: list[ItemFacts] = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            report.read += 1
            title = clean_text(row.get("Product Name") or "")
            if not title:
                report.skip("no product name")
                continue
            features = amazon_features(row.get("About Product") or "")
            if not features:
                report.skip("no usable seller copy")
                continue
            path_parts = [p.strip() for p in (row.get("Category") or "").split("|") if p.strip()]
            url = (row.get("Product Url") or "").strip() or None
            items.append(
                ItemFacts(
                    item_id=id_offset + report.read,
                    external_id=(row.get("Uniq Id") or str(report.read)).strip(),
                    title=title,
                    price=parse_price(row.get("Selling Price") or ""),
                    currency="USD",
                    category=path_parts[-1] if path_parts else None,
                    features=features,
                    url=url,
                )
            )
            report.kept += 1
    return items, report


def retail_title(description: str) -> str:
    """``WHITE HANGING HEART T-LIGHT HOLDER`` → ``White Hanging Heart T-Light Holder``."""
    words = []
    for word in description.strip().split():
        words.append(word if any(c.isdigit() for c in word) else "-".join(p.capitalize() for p in word.split("-")))
    return " ".join(words)


def load_online_retail(
    path: Path, *, id_offset: int = 2_000_000
) -> tuple[list[ItemFacts], list[RetailUser], LoadReport]:
    """Online Retail invoices → items (title-cased, GBP unit price) and users with their purchased stock codes."""
    report = LoadReport()
    items: dict[str, ItemFacts] = {}
    bought: dict[str, dict[str, int]] = defaultdict(dict)
    country: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            report.read += 1
            code, desc = (row.get("StockCode") or "").strip(), (row.get("Description") or "").strip()
            try:
                price = Decimal(row.get("UnitPrice") or "").quantize(Decimal("0.01"))
                qty = int(float(row.get("Quantity") or 0))
            except (InvalidOperation, ValueError):
                report.skip("bad price or quantity")
                continue
            if not code or not desc or price <= 0 or qty <= 0:
                report.skip("missing code/description or non-positive price/quantity")
                continue
            if code not in items:
                items[code] = ItemFacts(
                    item_id=id_offset + len(items) + 1,
                    external_id=code,
                    title=retail_title(desc),
                    price=price,
                    currency="GBP",
                )
            customer = (row.get("CustomerID") or "").strip().removesuffix(".0")
            if customer:
                bought[customer][code] = bought[customer].get(code, 0) + qty
                country[customer] = (row.get("Country") or "").strip()
            report.kept += 1
    users = [
        RetailUser(cid, country[cid], tuple(sorted(codes, key=lambda c: -codes[c])))
        for cid, codes in sorted(bought.items())
    ]
    return list(items.values()), users, report


def _clean_tweet(text: str) -> str:
    text = _URL.sub("", _HANDLE.sub(" ", text))
    text = _SIGNATURE.sub("", clean_text(text))
    return text.strip()


def load_twitter_pairs(path: Path, *, max_reply_len: int = 280) -> tuple[list[SupportPair], LoadReport]:
    """Customer tweet → brand reply pairs (brand tweet joined to its parent by ``in_response_to_tweet_id``)."""
    report = LoadReport()
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_id = {(r.get("tweet_id") or "").strip(): r for r in rows}
    pairs: list[SupportPair] = []
    for row in rows:
        report.read += 1
        if row.get("inbound") != "False":
            report.skip("not a brand tweet")
            continue
        parent = by_id.get((row.get("in_response_to_tweet_id") or "").strip().removesuffix(".0"))
        if parent is None or parent.get("inbound") != "True":
            report.skip("parent customer tweet not in sample")
            continue
        customer, reply = _clean_tweet(parent.get("text") or ""), _clean_tweet(row.get("text") or "")
        if len(customer) < 10 or len(reply) < 10 or len(reply) > max_reply_len:
            report.skip("too short or too long after cleaning")
            continue
        pairs.append(SupportPair(customer, reply, "twitter", brand=(row.get("author_id") or "").strip()))
        report.kept += 1
    return pairs, report


BITEXT_PHRASES: dict[str, str] = {
    "customer support phone number": "our support line",
    "support phone number": "our support line",
    "customer support email": "our support email",
    "customer support email address": "our support email",
    "live chat": "live chat",
    "website name": "our website",
    "website url": "our website",
    "company name": "our team",
    "customer support availability": "during business hours",
    "customer support hours": "during business hours",
    "customer support": "our support team",
}
"""Neutral wording for Bitext placeholders that stand for contact details the brand must fill in."""


def fill_placeholders(text: str) -> str | None:
    """Bitext ``{{Placeholders}}`` → neutral phrases (contact details) or the UI label itself (``Order History``).

    Anonymized ids and amounts have no honest neutral wording: returns None so the caller drops the text.
    """

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        key = name.lower()
        if "anonymized" in key or "amount" in key or "number" in key and "phone" not in key:
            raise KeyError(name)
        return BITEXT_PHRASES.get(key, name)

    try:
        return _PLACEHOLDER.sub(repl, text)
    except KeyError:
        return None


def first_sentences(text: str, max_len: int) -> str:
    """The longest run of whole leading sentences that fits in ``max_len`` (the first one cut on a word if needed)."""
    text = re.sub(r"\s+", " ", text).strip()
    sentences = re.split(r"(?<=[.!?])\s+", text)
    out = ""
    for sentence in sentences:
        if sentence.endswith(":"):  # introduces a list we do not keep
            break
        candidate = f"{out} {sentence}".strip()
        if len(candidate) > max_len:
            break
        out = candidate
    if not out:
        out = text[:max_len].rsplit(" ", 1)[0].rstrip(",;:") + "."
    return out


def load_bitext_pairs(path: Path, *, max_reply_len: int = 260) -> tuple[list[SupportPair], LoadReport]:
    """Bitext request → response pairs, placeholders filled, responses cut to their first sentences."""
    report = LoadReport()
    pairs: list[SupportPair] = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            report.read += 1
            customer = fill_placeholders(row.get("instruction") or "")
            response = fill_placeholders(row.get("response") or "")
            if not customer or not response:
                report.skip("placeholder without a neutral wording")
                continue
            # Numbered step lists do not fit a public reply: keep the opening sentences only.
            response = response.split("\n\n")[0].split("\n1.")[0]
            reply = first_sentences(response, max_reply_len)
            if len(reply) < 20:
                report.skip("reply too short after cutting")
                continue
            pairs.append(SupportPair(customer.strip(), reply, "bitext", intent=(row.get("intent") or "").strip()))
            report.kept += 1
    return pairs, report
