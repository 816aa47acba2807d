"""Demo store files: deterministic, realistic enough for the pipeline, and they import without a rejected row."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import func, select

from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Interaction, Item, User
from marketing_gen.devtools.demo_store import CATALOG, write_demo_store
from marketing_gen.importers import import_file


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = write_demo_store(tmp_path / "a", users=30, seed=3)
    b = write_demo_store(tmp_path / "b", users=30, seed=3)
    c = write_demo_store(tmp_path / "c", users=30, seed=4)
    assert set(a) == {"users", "items", "interactions", "brand"}
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name
    assert a["interactions"].read_bytes() != c["interactions"].read_bytes()


def test_demo_data_shape(tmp_path: Path) -> None:
    paths = write_demo_store(tmp_path, users=120)
    users = read_csv(paths["users"])
    items = read_csv(paths["items"])
    interactions = read_csv(paths["interactions"])
    assert len(users) == 120 and 50 <= len(items) <= 70
    assert all(u["email"].endswith("@example.com") for u in users)
    locales = Counter(u["locale"] for u in users)
    assert locales.most_common(1)[0][0] == "en" and {"de", "fr", "es"} <= set(locales)
    consent = {ch: sum(u[f"{ch}_consent"] == "yes" for u in users) for ch in ("email", "sms", "push", "ads")}
    assert consent["email"] > consent["ads"] > consent["sms"] > 0
    assert sum(i["in_stock"] == "no" for i in items) == 2
    assert all(i["url"] == f"https://shop.example.com/p/{i['item_id'].lower()}" for i in items)
    assert all(" > " in i["category"] and i["price"].count(".") == 1 for i in items)
    assert all(len(i["price"].split(".")[1]) == 2 for i in items)
    brand = json.loads(paths["brand"].read_text())
    assert brand["name"] == "Northwind Outfitters" and "guaranteed" in brand["banned_terms"]
    assert brand["offer_policy"]["max_discount_pct"] == 10

    category = {i["item_id"]: i["category"] for i in items}
    per_user: dict[str, Counter[str]] = defaultdict(Counter)
    for row in interactions:
        per_user[row["user_id"]][category[row["item_id"]]] += 1
    assert len(per_user) == 120
    assert all(15 <= sum(c.values()) <= 40 for c in per_user.values())
    # A preferred category per user: its share is far above the 1/12 a uniform choice gives.
    top_share = [c.most_common(1)[0][1] / sum(c.values()) for c in per_user.values()]
    assert sum(s >= 0.4 for s in top_share) >= 0.9 * len(top_share)


def test_demo_store_imports_cleanly(tmp_path: Path, any_db_url: str) -> None:
    paths = write_demo_store(tmp_path, users=40)
    for kind in ("brand", "users", "items", "interactions"):
        report = import_file(kind, paths[kind], url=any_db_url)
        assert report.rejected == 0 and report.error_count == 0 and report.warning_count == 0, kind
    with session_scope(any_db_url) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 40
        assert s.scalar(select(func.count()).select_from(Item)) == len(CATALOG)
        n_interactions = s.scalar(select(func.count()).select_from(Interaction))
        brand = s.scalars(select(Brand)).one()
        item = s.scalars(select(Item).where(Item.external_id == CATALOG[0][0])).one()
    assert n_interactions == len(read_csv(paths["interactions"]))
    assert brand.website_url == "https://shop.example.com"
    assert item.currency == "GBP" and str(item.price) == CATALOG[0][3]
    assert item.attributes == {} or "material" in item.attributes
