"""Benchmark of the built-in recommender on generated data (``marketing-gen bench recs``).

Owns the generator (power-law item popularity, categories, a favourite category per user, a few duplicate and
dangling events) and the timing, in memory, of the automatic selection (each candidate's fit time and hold-out
figures, EASE's size-limit skip), the final fit and top-k for every user, plus an optional smaller run of the
whole database path. Does not assert anything: it prints figures.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from marketing_gen.recommend.interactions import EVENTS, PURCHASE, Interactions, build_interactions
from marketing_gen.recommend.models import fit_model
from marketing_gen.recommend.select import select_model


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def generate_events(
    n_users: int, n_items: int, per_user: int, *, n_categories: int | None = None, seed: int = 0
) -> dict[str, np.ndarray]:
    """Event arrays: ~``per_user`` events per user, Zipf-like item popularity, 70 % in the user's favourite category.

    2 % of the users have no events; about 1 % of the events are exact duplicates and 0.1 % point to unknown
    items (index -1); 5 % of the items cannot be recommended (out of stock or unpriced).
    """
    rng = np.random.default_rng(seed)
    n_categories = max(1, min(n_categories or max(10, n_items // 100), n_items))
    item_category = (np.arange(n_items) * n_categories // max(n_items, 1)).astype(np.int32)
    starts = np.searchsorted(item_category, np.arange(n_categories))
    sizes = np.diff(np.append(starts, n_items))
    weights = 1.0 / (1.0 + rng.permutation(n_items)) ** 0.9  # popularity rank scattered across categories
    global_cdf = np.cumsum(weights) / weights.sum()
    counts = rng.poisson(per_user - 1, n_users) + 1
    counts[rng.random(n_users) < 0.02] = 0  # 2 % cold users: no history at all
    user = np.repeat(np.arange(n_users, dtype=np.int64), counts)
    n = user.size
    favourite = rng.integers(0, n_categories, n_users)[user]
    in_fav = rng.random(n) < 0.7
    item = np.searchsorted(global_cdf, rng.random(n)).clip(max=n_items - 1).astype(np.int64)
    # Inside the favourite category: a power law over the category's items (rank = position in the category).
    pos = (sizes[favourite] * rng.random(n) ** 2.0).astype(np.int64).clip(max=np.maximum(sizes[favourite] - 1, 0))
    item[in_fav] = starts[favourite[in_fav]] + pos[in_fav]
    event = np.where(rng.random(n) < 0.6, PURCHASE, EVENTS.index("view")).astype(np.int64)
    ts = (1_700_000_000 + rng.integers(0, 30 * 86_400, n)).astype(np.int64)
    dup = rng.random(n) < 0.01
    user = np.concatenate([user, user[dup]])
    item = np.concatenate([item, item[dup]])
    event = np.concatenate([event, event[dup]])
    ts = np.concatenate([ts, ts[dup]])
    dangling = rng.random(user.size) < 0.001
    item[dangling] = -1
    eligible = rng.random(n_items) > 0.05  # 5 % out of stock or unpriced
    return {
        "user": user,
        "item": item,
        "event": event,
        "ts": ts,
        "item_category": item_category,
        "item_eligible": eligible,
    }


def _interactions(n_users: int, n_items: int, ev: dict[str, np.ndarray]) -> Interactions:
    return build_interactions(
        n_users,
        n_items,
        ev["user"],
        ev["item"],
        ev["event"],
        ts=ev["ts"],
        item_category=ev["item_category"],
        item_eligible=ev["item_eligible"],
    )


def run_bench(
    *,
    n_users: int,
    n_items: int,
    per_user: int = 20,
    k: int = 10,
    db_users: int = 0,
    seed: int = 0,
    model: str = "auto",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Generate, build the matrix, select (``auto``) or take ``model``, fit, top-k for all users; optional DB run."""
    figures: dict[str, Any] = {"users": n_users, "items": n_items, "k": k, "rss_before_mib": round(_peak_rss_mib())}
    t0 = time.perf_counter()
    ev = generate_events(n_users, n_items, per_user, seed=seed)
    figures["events"] = int(ev["user"].size)
    figures["generate_s"] = round(time.perf_counter() - t0, 2)
    t1, c1 = time.perf_counter(), time.process_time()
    data = _interactions(n_users, n_items, ev)
    t2 = time.perf_counter()
    chosen, params = model, {}
    if model == "auto":
        selection = select_model(data, k=k, seed=seed, progress=progress)
        chosen, params = selection.model, selection.params
        figures["selection"] = {
            "chosen": chosen,
            "reason": selection.reason,
            "sample_users": selection.sample_users,
            "eval_users": selection.eval_users,
            "full_grid": selection.full_grid,
            "candidates": [
                {"model": c.model, "fit_s": c.fit_s, "recall": round(c.recall, 4), "ndcg": round(c.ndcg, 4)}
                if c.skipped is None
                else {"model": c.model, "skipped": c.skipped}
                for c in selection.candidates
            ],
        }
    t3 = time.perf_counter()
    if progress:
        progress(f"fitting {chosen} on every interaction")
    fitted = fit_model(chosen, params, data)
    t4 = time.perf_counter()
    recs = fitted.recommend(k=k)
    t5, c5 = time.perf_counter(), time.process_time()
    figures.update(
        model=chosen,
        params=params,
        matrix_s=round(t2 - t1, 2),
        select_s=round(t3 - t2, 2),
        fit_s=round(t4 - t3, 2),
        recommend_s=round(t5 - t4, 2),
        total_s=round(t5 - t1, 2),
        total_cpu_s=round(c5 - c1, 2),  # CPU time of this process: wall time minus waiting for a shared CPU
        load_average=round(os.getloadavg()[0], 1),
        rows=int(recs.item.size),
        counts=recs.counts,
        dropped={key: data.report[key] for key in ("duplicates", "unknown_item")},
        peak_rss_mib=round(_peak_rss_mib()),
    )
    if db_users > 0:
        figures.update(_bench_db(db_users, max(100, n_items * db_users // max(n_users, 1)), per_user, k, seed))
    return figures


def _bench_db(n_users: int, n_items: int, per_user: int, k: int, seed: int) -> dict[str, Any]:
    """Fill a temporary SQLite store and time ``run_recommend`` (load + select + fit + recommend + replace rows)."""
    from sqlalchemy import insert

    from marketing_gen.db import get_engine, session_scope, upgrade
    from marketing_gen.db.models import Interaction, Item, User
    from marketing_gen.recommend.store import run_recommend

    ev = generate_events(n_users, n_items, per_user, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        epoch = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        ok = ev["item"] >= 0
        with session_scope(url) as s:
            s.execute(insert(User), [{"id": u + 1, "external_id": f"u{u}"} for u in range(n_users)])
            s.execute(
                insert(Item),
                [
                    {
                        "id": i + 1,
                        "external_id": f"i{i}",
                        "title": f"Item {i}",
                        "category": f"Dept > Cat {int(ev['item_category'][i])}",
                        "price": 9.99 if ev["item_eligible"][i] else None,
                    }
                    for i in range(n_items)
                ],
            )
            s.execute(
                insert(Interaction).prefix_with("OR IGNORE"),
                [
                    {
                        "user_id": int(u) + 1,
                        "item_id": int(i) + 1,
                        "event": EVENTS[int(e)],
                        "ts": epoch + dt.timedelta(seconds=int(t) - 1_700_000_000),
                    }
                    for u, i, e, t in zip(ev["user"][ok], ev["item"][ok], ev["event"][ok], ev["ts"][ok], strict=True)
                ],
            )
        t0, c0 = time.perf_counter(), time.process_time()
        run = run_recommend(url, k=k, export=False)
        t1, c1 = time.perf_counter(), time.process_time()
        run_recommend(url, k=k, export=False)  # the rerun replaces every row
        t2, c2 = time.perf_counter(), time.process_time()
        get_engine.cache_clear()
    return {
        "db_users": n_users,
        "db_items": n_items,
        "db_rows_written": run.counts["rows_written"],
        "db_first_run_s": round(t1 - t0, 2),
        "db_first_run_cpu_s": round(c1 - c0, 2),
        "db_rerun_s": round(t2 - t1, 2),
        "db_rerun_cpu_s": round(c2 - c1, 2),
        "peak_rss_mib": round(_peak_rss_mib()),
    }
