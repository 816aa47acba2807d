"""Fixtures for the training tests: a registered tiny base model and small hand-made contexts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from marketing_gen.config import get_settings
from marketing_gen.contexts import BrandFacts, ItemFacts, Offer, UserContext

BRAND = BrandFacts(
    name="Northwind Goods", postal_address="12 Harbour Street, Bristol", website_url="https://nw.example"
)


def build_context(n: int = 0, *, offer: Offer | None = None, first_name: str | None = "Alice") -> UserContext:
    """A user with two recommended items that have prices and features."""
    items = (
        ItemFacts(
            item_id=10 + n,
            external_id=f"lantern-{n}",
            title="Glass Hanging Lantern",
            price=Decimal("12.50"),
            currency="GBP",
            category="Lanterns",
            features=("Soft warm light for quiet evenings", "Hand blown glass"),
        ),
        ItemFacts(
            item_id=20 + n,
            external_id=f"mug-{n}",
            title="Enamel Camping Mug",
            price=Decimal("8.00"),
            currency="GBP",
            category="Kitchen",
            features=("Holds 350 ml",),
        ),
    )
    return UserContext(
        user_id=100 + n,
        external_id=f"user-{n}",
        first_name=first_name,
        locale="en",
        country="United Kingdom",
        brand=BRAND,
        items=items,
        interests=("Lanterns",),
        consent=frozenset({"email", "ads"}),
        offer=offer or Offer(),
    )


@pytest.fixture
def tiny_base(settings_env: None, tiny_model_dir: Path) -> str:
    """The tiny model registered as the active base version in the test database; returns its name."""
    from marketing_gen.versions.registry import register_version

    register_version("tiny-base", str(tiny_model_dir), kind="base", activate=True, url=get_settings().database_url)
    return "tiny-base"


@pytest.fixture
def make_context():  # -> Callable[..., UserContext]
    """Factory of hand-made contexts: ``make_context(n, offer=…, first_name=…)``."""
    return build_context


@pytest.fixture
def short_rows() -> list[dict]:
    """Short conversational prompt-completion rows (the tiny model has 512 positions)."""
    rows = []
    for i in range(8):
        rows.append(
            {
                "prompt": [
                    {"role": "system", "content": "Write an email subject."},
                    {"role": "user", "content": f"Item: lantern {i}"},
                ],
                "completion": [{"role": "assistant", "content": f"SUBJECT: A lantern for you {i}"}],
                "channel": "email",
            }
        )
    return rows
