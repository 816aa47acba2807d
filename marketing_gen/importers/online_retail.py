"""UCI Online Retail adapter: invoice lines → users (customers), items (stock codes), purchase interactions.

Columns: InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice (GBP), CustomerID (a float such
as ``17850.0``), Country. Owns the mapping of that format (country → locale, description → title and coarse
category, returns); the writing is ``writes.write_rows`` like every other import.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.exc import DBAPIError

from marketing_gen.db import session_scope
from marketing_gen.errors import ServerError
from marketing_gen.importers.canonical import INTERACTIONS, ITEMS, USERS
from marketing_gen.importers.readers import open_source
from marketing_gen.importers.report import ImportReport
from marketing_gen.importers.rows import (
    MAX_QUANTITY,
    blank_to_none,
    describe_validation_error,
    parse_price,
    parse_timestamp,
)
from marketing_gen.importers.writes import resolve_ids, write_rows

REQUIRED = ("invoiceno", "stockcode", "quantity", "invoicedate", "unitprice", "customerid")
STORE_TZ = zoneinfo.ZoneInfo("Europe/London")
"""InvoiceDate is the UK store's local time."""

COUNTRIES: dict[str, tuple[str, str, str]] = {
    # file value: (country name, locale, IANA time zone)
    "United Kingdom": ("United Kingdom", "en", "Europe/London"),
    "EIRE": ("Ireland", "en", "Europe/Dublin"),
    "Germany": ("Germany", "de", "Europe/Berlin"),
    "France": ("France", "fr", "Europe/Paris"),
    "Norway": ("Norway", "nb", "Europe/Oslo"),
    "Lithuania": ("Lithuania", "lt", "Europe/Vilnius"),
    "Italy": ("Italy", "it", "Europe/Rome"),
    "Japan": ("Japan", "ja", "Asia/Tokyo"),
    "Australia": ("Australia", "en", "Australia/Sydney"),
    "Portugal": ("Portugal", "pt", "Europe/Lisbon"),
    "Belgium": ("Belgium", "nl", "Europe/Brussels"),
    "Poland": ("Poland", "pl", "Europe/Warsaw"),
    "Switzerland": ("Switzerland", "de", "Europe/Zurich"),
    "Spain": ("Spain", "es", "Europe/Madrid"),
    "Netherlands": ("Netherlands", "nl", "Europe/Amsterdam"),
    "Austria": ("Austria", "de", "Europe/Vienna"),
    "Denmark": ("Denmark", "da", "Europe/Copenhagen"),
    "Sweden": ("Sweden", "sv", "Europe/Stockholm"),
    "Finland": ("Finland", "fi", "Europe/Helsinki"),
    "Greece": ("Greece", "el", "Europe/Athens"),
    "Cyprus": ("Cyprus", "el", "Asia/Nicosia"),
    "Iceland": ("Iceland", "is", "Atlantic/Reykjavik"),
    "Czech Republic": ("Czech Republic", "cs", "Europe/Prague"),
    "USA": ("United States", "en", "America/New_York"),
    "Canada": ("Canada", "en", "America/Toronto"),
    "Brazil": ("Brazil", "pt", "America/Sao_Paulo"),
    "Israel": ("Israel", "he", "Asia/Jerusalem"),
    "Singapore": ("Singapore", "en", "Asia/Singapore"),
    "RSA": ("South Africa", "en", "Africa/Johannesburg"),
    "Channel Islands": ("Channel Islands", "en", "Europe/London"),
}
"""Countries of the full UCI data set (the one-week sample has the first 15); others: locale ``en``."""

FEE_CODES = frozenset({"POST", "DOT", "C2", "M", "BANK CHARGES", "AMAZONFEE", "CRUK", "D", "S", "B", "PADS"})
"""Stock codes that are charges, not products: imported out of stock so nothing recommends them."""

CATEGORY_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Christmas", ("christmas", "xmas", "advent", "santa", "reindeer", "snowflake", "snowman", "bauble", "nativity")),
    (
        "Candles & Lights",
        ("candle", "t-light", "tealight", "lantern", "light", "lamp", "lampshade", "incense", "nightlight"),
    ),
    ("Bags", ("bag", "washbag", "tote", "purse", "shopper", "backpack", "rucksack")),
    ("Textiles", ("hot water bottle", "cushion", "blanket", "throw", "quilt", "towel", "apron", "doormat", "flannel")),
    (
        "Kitchen & Dining",
        (
            "mug",
            "cup",
            "saucer",
            "teacup",
            "teapot",
            "jug",
            "bowl",
            "plate",
            "cake",
            "cutlery",
            "lunch",
            "napkin",
            "tray",
            "dish",
            "tin",
            "jar",
            "bottle",
            "coffee",
            "tea",
            "kitchen",
            "baking",
            "egg",
            "dinner",
            "breakfast",
            "spoon",
            "doily",
            "doilies",
            "jam",
            "pantry",
            "chopping",
            "glass",
            "recipe",
            "cutter",
            "container",
            "platter",
            "food cover",
            "place setting",
            "petit four",
            "biscuit",
            "cookie",
        ),
    ),
    (
        "Cards & Stationery",
        (
            "card",
            "wrap",
            "paper",
            "envelope",
            "notebook",
            "pencil",
            "pen",
            "sticker",
            "tape",
            "tissue",
            "notepad",
            "journal",
            "chalk",
            "eraser",
            "ruler",
            "crayon",
            "gift tag",
            "stamp",
            "calendar",
            "stationery",
            "memo",
            "postcard",
            "badge",
        ),
    ),
    (
        "Toys & Crafts",
        (
            "toy",
            "game",
            "puzzle",
            "jigsaw",
            "doll",
            "spaceboy",
            "childrens",
            "baby",
            "playhouse",
            "dinosaur",
            "skipping",
            "kit",
            "feltcraft",
            "craft",
            "sewing",
            "sew",
            "crochet",
            "knitting",
            "colouring",
            "soldier",
            "marbles",
            "ribbon",
            "canvas",
            "paint",
        ),
    ),
    (
        "Jewellery & Accessories",
        (
            "necklace",
            "bracelet",
            "earrings",
            "ring",
            "hair",
            "clip",
            "brooch",
            "charm",
            "diamante",
            "umbrella",
            "scarf",
            "gloves",
            "keyring",
            "hairclip",
            "hand warmer",
            "slipper",
            "sock",
            "ear muff",
            "parasol",
        ),
    ),
    ("Garden", ("garden", "plant", "planter", "flower pot", "bird", "watering", "herb", "seed", "hammock")),
    ("Party", ("party", "birthday", "balloon", "confetti", "bunting", "garland", "pennant", "flag")),
    (
        "Home Decor",
        (
            "frame",
            "clock",
            "sign",
            "mirror",
            "doorstop",
            "hook",
            "hanger",
            "vase",
            "ornament",
            "decoration",
            "cabinet",
            "drawer",
            "knob",
            "box",
            "storage",
            "basket",
            "magnet",
            "wall",
            "plaque",
            "wreath",
            "chime",
            "holder",
            "rack",
            "coat",
            "bell",
            "letters",
            "photo",
            "doorsign",
            "drawerknob",
            "peg",
            "bin",
        ),
    ),
    ("Hearts & Love", ("heart", "love", "sweetheart", "valentine")),
)
"""Ordered keyword → coarse category rules (first match wins; a keyword also matches its plural)."""

_CATEGORY_RES = tuple(
    (name, re.compile(r"\b(" + "|".join(re.escape(k) for k in keys) + r")(e?s)?\b", re.IGNORECASE))
    for name, keys in CATEGORY_RULES
)
_ACRONYMS = frozenset({"tv", "uk", "usa", "led", "diy", "abc", "xl", "ny"})
_SMALL_WORDS = frozenset({"of", "and", "the", "in", "with", "for", "a", "an", "on", "to", "or", "by"})


def build_category(description: str) -> str:
    """A coarse category from keywords in an item description; ``other`` when none match."""
    for name, pattern in _CATEGORY_RES:
        if pattern.search(description):
            return name
    return "other"


def build_title(description: str) -> str:
    """``WHITE HANGING HEART T-LIGHT HOLDER`` → ``White Hanging Heart T-Light Holder`` (small words lower)."""
    words = description.split()
    out = []
    for i, word in enumerate(words):
        lower = word.lower()
        if i > 0 and lower in _SMALL_WORDS:
            out.append(lower)
        elif lower in _ACRONYMS:
            out.append(lower.upper())
        elif any(ch.isdigit() for ch in word):
            # SET/4 → Set/4; 3D, 12PC stay as written.
            out.append(re.sub(r"[A-Za-z]{3,}", lambda m: m.group(0).capitalize(), word).replace("'S", "'s"))
        else:
            # Capitalize each hyphen / slash part; keep the letter after an apostrophe lower (GIRL'S → Girl's).
            out.append(re.sub(r"[A-Za-z]+", lambda m: m.group(0).capitalize(), lower).replace("'S", "'s"))
    return " ".join(out)


def _customer_id(value: Any) -> Any:
    value = blank_to_none(value)
    if value is None:
        raise ValueError("missing CustomerID: a purchase without a customer cannot be imported")
    text = str(value).strip()
    return text[:-2] if text.endswith(".0") else text


class OnlineRetailRow(BaseModel):
    """One invoice line of the UCI Online Retail file (normalized column names)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    invoiceno: Annotated[str, BeforeValidator(lambda v: str(v).strip()), Field(min_length=1)]
    stockcode: Annotated[str, BeforeValidator(lambda v: str(v).strip()), Field(min_length=1, max_length=128)]
    description: Annotated[str | None, BeforeValidator(blank_to_none)] = None
    quantity: Annotated[int, Field(le=MAX_QUANTITY)]
    invoicedate: Annotated[dt.datetime, BeforeValidator(lambda v: parse_timestamp(v, STORE_TZ))]
    unitprice: Annotated[Decimal, BeforeValidator(lambda v: _price(v))]
    customerid: Annotated[str, BeforeValidator(_customer_id), Field(min_length=1, max_length=128)]
    country: Annotated[str | None, BeforeValidator(blank_to_none)] = None

    @field_validator("quantity")
    @classmethod
    def _quantity(cls, v: int) -> int:
        if v < 0:
            raise ValueError(f"negative quantity {v}: a return, not imported")
        if v == 0:
            raise ValueError("quantity 0")
        return v

    @field_validator("invoiceno")
    @classmethod
    def _invoice(cls, v: str) -> str:
        if v.upper().startswith("C"):
            raise ValueError(f"cancelled invoice {v}: not imported")
        return v


def _price(value: Any) -> Decimal:
    price, _ = parse_price(value)
    if price is None:
        raise ValueError("missing UnitPrice")
    return price


@dataclass
class _ItemFacts:
    description: str
    price: Decimal | None
    seen_at: dt.datetime


def import_online_retail(
    path: str | Path, *, url: str | None = None, batch_size: int = 5000, progress: bool = False
) -> ImportReport:
    """Import a UCI Online Retail invoice file; ``imported``/``updated`` count purchase interactions.

    Users get country, locale and time zone from Country and no email (so no consent); items take the most
    recent UnitPrice (GBP) and description; invoice lines of the same customer, item and minute are summed.
    """
    from tqdm import tqdm

    from marketing_gen.importers.writes import check_schema

    source = open_source(path, required=REQUIRED)
    check_schema(url)
    report = ImportReport(kind="online-retail", path=str(source.path))
    users: dict[str, tuple[dt.datetime, str | None]] = {}
    items: dict[str, _ItemFacts] = {}
    lines: dict[tuple[str, str, dt.datetime], dict[str, Any]] = {}
    first_row: dict[tuple[str, str, dt.datetime], int] = {}
    records = tqdm(
        source.records(), total=source.estimated_rows or None, unit="row", file=sys.stderr, disable=not progress
    )
    for rec in records:
        if rec.error is not None or rec.values is None:
            report.reject(rec.row, [("row", rec.error or "unreadable row")])
            continue
        try:
            m = OnlineRetailRow.model_validate(rec.values)
        except ValidationError as exc:
            report.reject(rec.row, [(_column(f), r) for f, r in describe_validation_error(exc)])
            continue
        ts = m.invoicedate
        if m.customerid not in users or ts >= users[m.customerid][0]:
            users[m.customerid] = (ts, m.country or users.get(m.customerid, (ts, None))[1])
        facts = items.get(m.stockcode)
        if facts is None or ts >= facts.seen_at:
            price = m.unitprice if m.unitprice > 0 else (facts.price if facts else None)
            items[m.stockcode] = _ItemFacts(m.description or (facts.description if facts else m.stockcode), price, ts)
        key = (m.customerid, m.stockcode, ts)
        line = lines.get(key)
        revenue = float(m.unitprice * m.quantity)
        if line is None:
            lines[key] = {"quantity": m.quantity, "value": revenue}
            first_row[key] = rec.row
        else:
            line["quantity"] += m.quantity
            line["value"] += revenue
            report.duplicates += 1
            report.warn(
                rec.row, "StockCode", f"same customer, item and time as row {first_row[key]}: quantities summed"
            )

    now = dt.datetime.now(dt.timezone.utc)
    user_rows = [_user_row(cid, country) for cid, (_, country) in users.items()]
    item_rows = [_item_row(code, facts, now) for code, facts in items.items()]
    _write_batches(report, url, batch_size, "users", user_rows)
    _write_batches(report, url, batch_size, "items", item_rows)
    user_ids: dict[str, int] = {}
    item_ids: dict[str, int] = {}
    keys = list(lines)
    for start in range(0, len(keys), batch_size):
        chunk = keys[start : start + batch_size]
        try:
            with session_scope(url) as session:
                resolve_ids(session, USERS, {k[0] for k in chunk}, user_ids)
                resolve_ids(session, ITEMS, {k[1] for k in chunk}, item_ids)
                rows = [
                    {
                        "user_id": user_ids[cid],
                        "item_id": item_ids[code],
                        "event": "purchase",
                        "ts": ts,
                        "quantity": lines[(cid, code, ts)]["quantity"],
                        "value": round(lines[(cid, code, ts)]["value"], 2),
                    }
                    for cid, code, ts in chunk
                ]
                inserted, updated = write_rows(session, INTERACTIONS, rows, ["user_id", "item_id", "event", "ts"])
        except DBAPIError as exc:
            raise _batch_failed(report, source.path, "interactions", exc) from exc
        report.batches += 1
        report.imported += inserted
        report.updated += updated
        report.count_table("interactions", inserted, updated)
    report.tables.setdefault("interactions", {"imported": 0, "updated": 0})
    return report


def _column(field: str) -> str:
    names = {
        "invoiceno": "InvoiceNo", "stockcode": "StockCode", "description": "Description", "quantity": "Quantity",
        "invoicedate": "InvoiceDate", "unitprice": "UnitPrice", "customerid": "CustomerID", "country": "Country",
    }  # fmt: skip
    return names.get(field, field)


def _user_row(customer_id: str, country: str | None) -> dict[str, Any]:
    name, locale, tz = COUNTRIES.get(country or "", (country, "en", None))
    if country == "Unspecified":
        name = None
    # Consent columns are left out on purpose: new users default to no consent, and a re-import must not
    # revoke consent given later through a users file.
    return {"external_id": customer_id, "country": name, "locale": locale, "timezone": tz}


def _item_row(code: str, facts: _ItemFacts, now: dt.datetime) -> dict[str, Any]:
    is_fee = code.upper() in FEE_CODES
    return {
        "external_id": code,
        "title": build_title(facts.description)[:512],
        "category": "Fees & Services" if is_fee else build_category(facts.description),
        "price": facts.price,
        "currency": "GBP",
        "in_stock": not is_fee,
        "attributes": {
            "stock_code": code,
            "source_description": facts.description,
            "kind": "fee" if is_fee else "product",
        },
        "updated_at": now,
    }


def _write_batches(report: ImportReport, url: str | None, batch_size: int, table: str, rows: list[dict]) -> None:
    target = USERS if table == "users" else ITEMS
    for start in range(0, len(rows), batch_size):
        try:
            with session_scope(url) as session:
                batch = rows[start : start + batch_size]
                counts = write_rows(session, target, batch, ["external_id"], touch="updated_at")
        except DBAPIError as exc:
            raise _batch_failed(report, Path(report.path), table, exc) from exc
        report.batches += 1
        report.count_table(table, *counts)
    report.tables.setdefault(table, {"imported": 0, "updated": 0})


def _batch_failed(report: ImportReport, path: Path, table: str, exc: DBAPIError) -> ServerError:
    done = {t: c["imported"] + c["updated"] for t, c in report.tables.items()}
    return ServerError(
        f"{path}: a batch of {table} failed and was rolled back ({type(exc.orig).__name__}: "
        f"{str(exc.orig).strip().splitlines()[0]}); committed so far: {done}. Re-run the import after fixing: "
        "it updates, never duplicates."
    )
