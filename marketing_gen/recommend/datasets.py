"""Public data sets for the offline evaluation, read straight from files into ``Interactions``.

Owns two readers: the UCI Online Retail CSV (invoices → purchases; rows without a customer, returns and bad
dates skipped and counted) and ratings files in the MovieLens-100k shapes — RecBole's ``ml-100k.inter``
(tab-separated, typed header) or GroupLens' ``u.data`` (no header) — where every rating is an interaction
(event ``rating``). ``find_movielens_100k`` locates the copy that the ``recbole`` wheel ships
(``pip install --no-deps recbole==1.2.1``; nothing of it is imported). Evaluation does not need the database.
Does not own the evaluation (``evaluate.py``).
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from marketing_gen.errors import InvalidRequest
from marketing_gen.recommend.interactions import EVENTS, PURCHASE, Interactions, build_interactions

ONLINE_RETAIL_FILE = "uci_online_retail_first_week_sample.csv"
RATING = EVENTS.index("rating")


@dataclass
class Dataset:
    """Interactions plus the external ids of the rows / columns and what the reader skipped."""

    name: str
    interactions: Interactions
    users: list[str]
    items: list[str]
    report: dict[str, int] = field(default_factory=dict)


def _encode(name: str, users: list[str], items: list[str], ts: list[int], event: int, report: dict) -> Dataset:
    user_ids = sorted(set(users))
    item_ids = sorted(set(items))
    u_index = {u: n for n, u in enumerate(user_ids)}
    i_index = {i: n for n, i in enumerate(item_ids)}
    data = build_interactions(
        len(user_ids),
        len(item_ids),
        np.array([u_index[u] for u in users], dtype=np.int64),
        np.array([i_index[i] for i in items], dtype=np.int64),
        np.full(len(users), event, dtype=np.int64),
        ts=np.array(ts, dtype=np.int64),
    )
    report = dict(report, users=len(user_ids), items=len(item_ids), interactions=int(data.matrix.nnz))
    return Dataset(name, data, user_ids, item_ids, report)


def load_online_retail(path: str | Path) -> Dataset:
    """Read the Online Retail CSV (InvoiceNo, StockCode, Quantity, InvoiceDate, CustomerID …) as purchases."""
    path = Path(path)
    if not path.exists():
        raise InvalidRequest(
            f"no Online Retail CSV at {path}: pass --data PATH (e.g. ../shared/data/{ONLINE_RETAIL_FILE})"
        )
    users: list[str] = []
    items: list[str] = []
    ts: list[int] = []
    report = {"rows": 0, "no_customer": 0, "returns": 0, "bad_date": 0}
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.DictReader(fh)
        missing = {"InvoiceNo", "StockCode", "InvoiceDate", "CustomerID"} - set(reader.fieldnames or [])
        if missing:
            raise InvalidRequest(f"{path} is not the Online Retail CSV: missing columns {sorted(missing)}")
        for row in reader:
            report["rows"] += 1
            customer = (row.get("CustomerID") or "").strip()
            if not customer or customer.lower() == "nan":
                report["no_customer"] += 1
                continue
            try:
                if float(row.get("Quantity") or 0) <= 0:
                    report["returns"] += 1
                    continue
                when = dt.datetime.fromisoformat(row["InvoiceDate"].strip())
            except ValueError:
                report["bad_date"] += 1
                continue
            users.append(customer[:-2] if customer.endswith(".0") else customer)
            items.append(row["StockCode"].strip())
            ts.append(int(when.replace(tzinfo=dt.timezone.utc).timestamp()))
    report["purchases"] = len(users)
    return _encode("online-retail", users, items, ts, PURCHASE, report)


def find_movielens_100k() -> Path:
    """The ``ml-100k.inter`` file inside an installed ``recbole`` wheel (the package itself is not imported)."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise InvalidRequest(
            "MovieLens-100k not found: `pip install --no-deps recbole==1.2.1` (its wheel ships ml-100k) "
            "or pass --data PATH to an ml-100k.inter / u.data file"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset_example" / "ml-100k" / "ml-100k.inter"
    if not path.exists():
        raise InvalidRequest(f"the installed recbole has no {path}: pass --data PATH to an ml-100k.inter file")
    return path


def load_ratings(path: str | Path, *, min_rating: float = 0.0) -> Dataset:
    """Read a MovieLens-style ratings file (user, item, rating, unix time; tab-separated) as ``rating`` events.

    Ratings below ``min_rating`` are skipped and counted; malformed lines are counted, not fatal.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidRequest(f"no ratings file at {path}: pass --data PATH (ml-100k.inter or u.data)")
    users: list[str] = []
    items: list[str] = []
    ts: list[int] = []
    report = {"rows": 0, "malformed": 0, "below_min_rating": 0}
    with path.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh):
            parts = line.rstrip("\n").split("\t")
            if n == 0 and parts and ":" in parts[0]:  # RecBole's typed header (user_id:token …)
                continue
            report["rows"] += 1
            try:
                user, item, rating, when = parts[0], parts[1], float(parts[2]), int(float(parts[3]))
            except (IndexError, ValueError):
                report["malformed"] += 1
                continue
            if rating < min_rating:
                report["below_min_rating"] += 1
                continue
            users.append(user)
            items.append(item)
            ts.append(when)
    if not users:
        raise InvalidRequest(f"{path} holds no ratings (expected: user<TAB>item<TAB>rating<TAB>unix time)")
    return _encode("movielens-100k", users, items, ts, RATING, report)
