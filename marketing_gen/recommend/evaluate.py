"""Offline evaluation of the built-in recommender against a popularity baseline.

Owns the splits (leave-last-basket-out, temporal), the metrics (recall@k, NDCG@k, catalog coverage) and a
reader for the UCI Online Retail sample (read straight from the CSV: evaluation does not need the database).
Does not own the recommender itself (``cf.py``).

recall@k is hits / min(k, |held-out items|) (so a perfect list scores 1 even when the basket is larger than
k); NDCG@k uses binary relevance with the same ideal length.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from marketing_gen.errors import InvalidRequest
from marketing_gen.recommend.cf import (
    PURCHASE,
    CFParams,
    Interactions,
    ItemItemModel,
    build_interactions,
    fit,
    popularity_model,
)

ONLINE_RETAIL_FILE = "uci_online_retail_first_week_sample.csv"


@dataclass(frozen=True)
class Purchase:
    """One purchased line: who, what, in which basket, when."""

    user: str
    item: str
    basket: str
    ts: dt.datetime


@dataclass
class RetailData:
    """Purchases plus what the reader dropped."""

    purchases: list[Purchase]
    report: dict[str, int] = field(default_factory=dict)


def load_online_retail(path: str | Path) -> RetailData:
    """Read the Online Retail CSV (InvoiceNo, StockCode, Quantity, InvoiceDate, CustomerID …) into purchases.

    Rows without a customer, with a non-positive quantity (returns) or an unparsable date are skipped and counted.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidRequest(
            f"no Online Retail CSV at {path}: pass --data PATH (e.g. ../shared/data/{ONLINE_RETAIL_FILE})"
        )
    purchases: list[Purchase] = []
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
                ts = dt.datetime.fromisoformat(row["InvoiceDate"].strip())
            except ValueError:
                report["bad_date"] += 1
                continue
            user = customer[:-2] if customer.endswith(".0") else customer
            purchases.append(Purchase(user, row["StockCode"].strip(), row["InvoiceNo"].strip(), ts))
    report["purchases"] = len(purchases)
    return RetailData(purchases, report)


@dataclass(frozen=True)
class Split:
    """Training purchases and, per test user, the held-out items."""

    name: str
    train: list[Purchase]
    test: dict[str, set[str]]


def split_last_basket(purchases: Sequence[Purchase]) -> Split:
    """Hold out each user's last basket (users with ≥ 2 baskets); everything else is training data."""
    baskets: dict[str, dict[str, dt.datetime]] = {}
    for p in purchases:
        seen = baskets.setdefault(p.user, {})
        seen[p.basket] = min(seen.get(p.basket, p.ts), p.ts)
    last = {user: max(b.items(), key=lambda kv: (kv[1], kv[0]))[0] for user, b in baskets.items() if len(b) >= 2}
    train: list[Purchase] = []
    test: dict[str, set[str]] = {}
    for p in purchases:
        if last.get(p.user) == p.basket:
            test.setdefault(p.user, set()).add(p.item)
        else:
            train.append(p)
    return Split("leave-last-basket-out", train, test)


def split_temporal(purchases: Sequence[Purchase], test_days: float = 2.0) -> Split:
    """Train on purchases before (last timestamp − ``test_days``), test on the rest; test users need history."""
    if not purchases:
        return Split("temporal", [], {})
    end = max(p.ts for p in purchases)
    cutoff = dt.datetime.combine((end - dt.timedelta(days=test_days)).date(), dt.time()) + dt.timedelta(days=1)
    train = [p for p in purchases if p.ts < cutoff]
    known = {p.user for p in train}
    test: dict[str, set[str]] = {}
    for p in purchases:
        if p.ts >= cutoff and p.user in known:
            test.setdefault(p.user, set()).add(p.item)
    return Split(f"temporal (test from {cutoff:%Y-%m-%d})", train, test)


def recall_at_k(recommended: Sequence[str], relevant: set[str], k: int) -> float:
    """hits in the first k / min(k, |relevant|)."""
    if not relevant:
        return 0.0
    hits = sum(1 for item in recommended[:k] if item in relevant)
    return hits / min(k, len(relevant))


def ndcg_at_k(recommended: Sequence[str], relevant: set[str], k: int) -> float:
    """Binary-relevance NDCG@k."""
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(pos + 2) for pos, item in enumerate(recommended[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(pos + 2) for pos in range(min(k, len(relevant))))
    return dcg / ideal


@dataclass(frozen=True)
class EvalRow:
    """One line of the evaluation table."""

    split: str
    setting: str
    method: str
    users: int
    recall: float
    ndcg: float
    coverage: float
    gain: float | None = None
    """Relative recall gain over the popularity baseline (0.2 = +20 %); None for the baseline itself."""
    gain_ci: tuple[float, float] | None = None
    """95 % paired-bootstrap interval of ``gain`` (users resampled)."""


def bootstrap_gain(
    method: Sequence[float], baseline: Sequence[float], *, samples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """95 % interval of mean(method) / mean(baseline) − 1, resampling users (paired)."""
    a, b = np.asarray(method, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    if a.size == 0:
        return (0.0, 0.0)
    idx = np.random.default_rng(seed).integers(0, a.size, (samples, a.size))
    num, den = a[idx].mean(axis=1), b[idx].mean(axis=1)
    ratio = np.divide(num, den, out=np.full(samples, np.inf), where=den > 0) - 1.0
    low, high = np.percentile(ratio, [2.5, 97.5])
    return float(low), float(high)


def _encode(split: Split, catalog: Sequence[str]) -> tuple[list[str], dict[str, int], dict[str, int], Interactions]:
    users = sorted({p.user for p in split.train} | set(split.test))
    u_index = {u: i for i, u in enumerate(users)}
    i_index = {it: i for i, it in enumerate(catalog)}
    data = build_interactions(
        len(users),
        len(catalog),
        np.array([u_index[p.user] for p in split.train], dtype=np.int64),
        np.array([i_index.get(p.item, -1) for p in split.train], dtype=np.int64),
        np.full(len(split.train), PURCHASE, dtype=np.int64),
        ts=np.array([int(p.ts.timestamp()) for p in split.train], dtype=np.int64),
    )
    return users, u_index, i_index, data


def evaluate_split(
    split: Split,
    catalog: Sequence[str],
    *,
    params: CFParams | None = None,
    k: int = 10,
    exclude_purchased: bool = True,
    max_per_category: int | None = None,
) -> list[EvalRow]:
    """Score the CF model and the popularity baseline on one split.

    With ``exclude_purchased`` the recommender never repeats a training purchase, so the held-out items are the
    user's *new* items only (users whose held-out basket holds none are left out); without it every held-out
    item counts (repeat purchases are common in retail).
    """
    users, u_index, _i_index, data = _encode(split, catalog)
    targets: dict[str, set[str]] = {}
    for user, items in split.test.items():
        if exclude_purchased:
            row = data.purchased[u_index[user]]
            before = {catalog[c] for c in row.indices.tolist()}
            items = items - before
        if items:
            targets[user] = items
    rows = np.array(sorted(u_index[u] for u in targets), dtype=np.int64)
    setting = "new items only (exclude purchased)" if exclude_purchased else "repeats allowed (include purchased)"
    result = []
    models: list[tuple[str, ItemItemModel]] = [("popularity", popularity_model(data))]
    if not exclude_purchased:
        # Separates what the CF adds from what merely re-offering the user's own items adds.
        models.append(("pop+repeats", popularity_model(data, repeat_weight=(params or CFParams()).repeat_weight)))
    models.append(("item-item CF", fit(data, params)))
    per_user: dict[str, list[float]] = {}
    for name, model in models:
        recs = model.recommend(rows, k=k, exclude_purchased=exclude_purchased, max_per_category=max_per_category)
        lists = recs.lists()
        recall, ndcg, seen = [], [], set()
        for r in rows.tolist():
            names = [catalog[c] for c in lists.get(r, [])]
            seen.update(names)
            relevant = targets[users[r]]
            recall.append(recall_at_k(names, relevant, k))
            ndcg.append(ndcg_at_k(names, relevant, k))
        per_user[name] = recall
        gain = gain_ci = None
        if name != "popularity" and recall:
            base = float(np.mean(per_user["popularity"]))
            gain = float(np.mean(recall)) / base - 1.0 if base > 0 else float("inf")
            gain_ci = bootstrap_gain(recall, per_user["popularity"])
        result.append(
            EvalRow(
                split=split.name,
                setting=setting,
                method=name,
                users=len(rows),
                recall=float(np.mean(recall)) if recall else 0.0,
                ndcg=float(np.mean(ndcg)) if ndcg else 0.0,
                coverage=len(seen) / max(1, len(catalog)),
                gain=gain,
                gain_ci=gain_ci,
            )
        )
    return result


def evaluate_online_retail(
    path: str | Path,
    *,
    params: CFParams | None = None,
    k: int = 10,
    settings: Iterable[bool] = (True, False),
) -> tuple[list[EvalRow], dict[str, int]]:
    """Both splits × both purchase settings on the Online Retail CSV; returns the rows and the reader's counts."""
    data = load_online_retail(path)
    return evaluate_purchases(data.purchases, params=params, k=k, settings=settings), data.report


def evaluate_purchases(
    purchases: Sequence[Purchase],
    *,
    params: CFParams | None = None,
    k: int = 10,
    settings: Iterable[bool] = (True, False),
) -> list[EvalRow]:
    """Both splits × the given purchase settings (True = exclude purchased) on any purchase list."""
    catalog = sorted({p.item for p in purchases})
    rows: list[EvalRow] = []
    for split in (split_last_basket(purchases), split_temporal(purchases)):
        for exclude in settings:
            rows.extend(evaluate_split(split, catalog, params=params, k=k, exclude_purchased=exclude))
    return rows


SWEEP: dict[str, tuple[Any, ...]] = {
    "weighting": ("tfidf", "bm25", "cosine", "conditional", "none"),
    "neighbours": (20, 50, 100, 300),
    "popularity_weight": (0.0, 0.3, 1.0),
    "history_idf": (0.0, 1.0),
}
"""The grid ``eval recs --sweep`` measures."""


def sweep(purchases: Sequence[Purchase], *, k: int = 10) -> list[tuple[CFParams, list[EvalRow]]]:
    """Evaluate every combination of ``SWEEP`` (other parameters at their defaults)."""
    out = []
    for weighting, neighbours, beta, idf in itertools.product(*SWEEP.values()):
        params = CFParams(weighting=weighting, neighbours=neighbours, popularity_weight=beta, history_idf=idf)
        out.append((params, evaluate_purchases(purchases, params=params, k=k)))
    return out


def relative_gain(rows: Sequence[EvalRow], method: str = "item-item CF") -> dict[tuple[str, str], float]:
    """(split, setting) → relative recall gain of ``method`` over popularity (0.25 = +25 %)."""
    return {(r.split, r.setting): r.gain for r in rows if r.method == method and r.gain is not None}
