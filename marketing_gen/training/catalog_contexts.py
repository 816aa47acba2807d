"""Training and held-out ``UserContext``s built from the real catalogs (Amazon listings, Online Retail).

Owns the split: users AND items are assigned to train or held-out by a stable hash of their id, and a context
only combines users and items of the same side, so held-out contexts share neither a user nor an item with
training. Does not write copy (``training.teacher``) nor rows (``training.datasets``).

What is real and what is made up, honestly: items (titles, prices, categories, seller-copy features) and
Online Retail customers (country, purchases) are real. First names, brands and offers are drawn from small
fixed lists, because the corpora have none; Amazon "users" are synthetic shoppers of one category.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from marketing_gen.channels.base import consent_flags
from marketing_gen.config import REPO_ROOT
from marketing_gen.contexts import BrandFacts, ItemFacts, Offer, UserContext
from marketing_gen.training.corpora import load_amazon_items, load_online_retail

AMAZON_FILE = "amazon_products_2020_sample_1000.csv"
RETAIL_FILE = "uci_online_retail_first_week_sample.csv"

FIRST_NAMES = (
    "Alice", "Ben", "Chloe", "Daniel", "Emma", "Finn", "Grace", "Hugo", "Isla", "Jack", "Lena", "Marco",
    "Nina", "Oscar", "Priya", "Ravi", "Sofia", "Tom", "Yara", "Zoe",
)  # fmt: skip

BRANDS = (
    BrandFacts(name="Northwind Goods", voice="friendly, concise, honest",
               postal_address="12 Harbour Street, Bristol BS1 4QA, UK", website_url="https://northwind.example"),
    BrandFacts(name="Playful Pines", voice="warm, playful, clear",
               postal_address="400 Pine Ave, Portland, OR 97204, USA", website_url="https://playfulpines.example"),
    BrandFacts(name="Hearth & Hook", voice="calm, cosy, to the point",
               postal_address="7 Mill Lane, York YO1 7HH, UK", website_url="https://hearthandhook.example"),
)  # fmt: skip
"""Made-up brands (the corpora have none); a context's brand is drawn from these."""

OFFERS = (
    Offer(),
    Offer(),
    Offer(text="10% off your next order with code SAVE10", discount_pct=Decimal("10"), code="SAVE10"),
    Offer(text="15% off selected items with code HELLO15", discount_pct=Decimal("15"), code="HELLO15"),
    Offer(text="Free delivery on your next order"),
    Offer(),
    Offer(text="Weekend sale: 20% off with code WEEKEND20", discount_pct=Decimal("20"), code="WEEKEND20"),
)
"""Offer mix: three in seven none, so the model learns to mention discounts only when the campaign grants one;
offers written as a sentence ("… on your next order …") and as a label and the deal ("Weekend sale: 20% off with
code …", the shape a store's campaign names take)."""


def is_held_out(key: str, *, salt: str, fraction: float = 0.1) -> bool:
    """Stable assignment of a user or item id to the held-out side (``fraction`` of ids)."""
    digest = hashlib.sha256(f"{salt}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


@dataclass(frozen=True)
class ContextSplit:
    """Training contexts and held-out contexts (disjoint in users and in items)."""

    train: list[UserContext]
    held_out: list[UserContext]


def _user(
    rng: random.Random,
    *,
    user_id: int,
    external_id: str,
    country: str | None,
    items: list[ItemFacts],
    interests: tuple[str, ...],
    last_purchase: str | None,
    brand: BrandFacts | None = None,
) -> UserContext:
    ranked = tuple(
        ItemFacts(**{**i.__dict__, "rank": r, "score": round(1.0 - 0.1 * r, 2)}) for r, i in enumerate(items)
    )
    return UserContext(
        user_id=user_id,
        external_id=external_id,
        first_name=rng.choice(FIRST_NAMES) if rng.random() < 0.75 else None,
        locale="en",
        country=country,
        brand=brand or rng.choice(BRANDS),
        items=ranked,
        interests=interests,
        last_purchase=last_purchase,
        value_band=rng.choice(("new", "low", "mid", "high")),
        consent=frozenset(consent_flags()),
        offer=rng.choice(OFFERS),
    )


def amazon_contexts(items: list[ItemFacts], *, seed: int, held_out: bool) -> list[UserContext]:
    """Synthetic shoppers of one leaf category each, recommended 1–3 real items of that category."""
    rng = random.Random(f"amazon-{seed}-{held_out}")
    side = [i for i in items if is_held_out(i.external_id, salt="item") == held_out]
    by_category: dict[str, list[ItemFacts]] = defaultdict(list)
    for item in side:
        by_category[item.category or "Gifts"].append(item)
    out: list[UserContext] = []
    for n, item in enumerate(side):
        peers = [p for p in by_category[item.category or "Gifts"] if p is not item]
        extra = rng.sample(peers, min(len(peers), rng.choice((0, 1, 1, 2))))
        category = item.category or "Gifts"
        interests = (category,) if rng.random() < 0.8 else ()
        out.append(
            _user(
                rng,
                user_id=3_000_000 + n + (500_000 if held_out else 0),
                external_id=f"amazon-shopper-{'h' if held_out else 't'}{n}",
                country="United States",
                items=[item, *extra],
                interests=interests,
                last_purchase=None,
                brand=BRANDS[1] if rng.random() < 0.6 else None,
            )
        )
    return out


def retail_contexts(path: Path, *, seed: int, held_out: bool) -> list[UserContext]:
    """Online Retail customers on one side of the split, recommended items they bought (same side only)."""
    rng = random.Random(f"retail-{seed}-{held_out}")
    items, users, _ = load_online_retail(path)
    by_code = {i.external_id: i for i in items}
    out: list[UserContext] = []
    for user in users:
        if is_held_out(user.customer_id, salt="user") != held_out:
            continue
        codes = [c for c in user.stock_codes if c in by_code and c.upper() not in {"POST", "DOT", "M", "C2"}]
        codes = [c for c in codes if is_held_out(c, salt="item") == held_out]
        if len(codes) < 2:
            continue
        last, recs = codes[0], codes[1 : 1 + rng.choice((1, 2, 3))]
        out.append(
            _user(
                rng,
                user_id=int(float(user.customer_id)),
                external_id=f"retail-{user.customer_id}",
                country=user.country or None,
                items=[by_code[c] for c in recs],
                interests=(),
                last_purchase=by_code[last].title,
                brand=BRANDS[2] if rng.random() < 0.6 else None,
            )
        )
    return out


def default_data_dir() -> Path:
    """``../shared/data`` beside the checkout (where the real corpora live on dev and CI machines)."""
    return REPO_ROOT.parent / "shared" / "data"


def build_context_split(data_dir: Path | None = None, *, seed: int = 0) -> ContextSplit:
    """All training and held-out contexts from the two real catalogs, interleaved by source."""
    data_dir = data_dir or default_data_dir()
    amazon_items, _ = load_amazon_items(data_dir / AMAZON_FILE)
    sides = {}
    for held_out in (False, True):
        amazon = amazon_contexts(amazon_items, seed=seed, held_out=held_out)
        retail = retail_contexts(data_dir / RETAIL_FILE, seed=seed, held_out=held_out)
        rng = random.Random(f"mix-{seed}-{held_out}")
        rng.shuffle(amazon)
        rng.shuffle(retail)
        # Alternate sources so any prefix of the list has both catalogs' styles (UK gift shop and US listings).
        mixed: list[UserContext] = []
        for k in range(max(len(amazon), len(retail))):
            mixed.extend(
                c
                for c in (amazon[k] if k < len(amazon) else None, retail[k] if k < len(retail) else None)
                if c is not None
            )
        sides[held_out] = mixed
    return ContextSplit(train=sides[False], held_out=sides[True])
