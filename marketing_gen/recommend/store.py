"""The recommender's database side: read users / items / interactions into arrays, write recommendation rows.

Owns the mapping between database ids and the dense indices of the models, ``run_recommend`` (automatic
selection or a named model, refit on every interaction, top-k for the users) and the replace-per-user write of
the ``recommendations`` table (source ``builtin``) together with its ``recommender_runs`` row (the model used
and the selection's figures). Does not own the math (``cf.py``, ``models.py``, ``select.py``) nor the join for
prompts (``contexts.py``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from marketing_gen.db import session_scope, upsert
from marketing_gen.db.models import Interaction, Item, Recommendation, RecommenderRun, User, utcnow
from marketing_gen.errors import InvalidRequest
from marketing_gen.recommend.interactions import EVENTS, Interactions, build_interactions
from marketing_gen.recommend.models import CANDIDATES, fit_model
from marketing_gen.recommend.select import Selection, select_model

BUILTIN = "builtin"
"""``recommendations.source`` of the rows this module writes."""

_CHUNK = 500  # ids per IN (...) list and rows per write statement stay well inside SQLite's variable limit


@dataclass
class StoreData:
    """Everything the recommender needs from the database, as arrays indexed like the matrix."""

    user_ids: np.ndarray
    """Database id of each user row (sorted)."""
    user_external: list[str]
    item_ids: np.ndarray
    """Database id of each item column (sorted)."""
    item_external: list[str]
    categories: list[str]
    """Category names; ``interactions.item_category`` holds indices into this list."""
    interactions: Interactions


def load_store_data(session: Session) -> StoreData:
    """Read users, items and interactions; interactions with unknown users, items or events are counted, not used."""
    users = session.execute(select(User.id, User.external_id).order_by(User.id)).all()
    items = session.execute(
        select(Item.id, Item.external_id, Item.category, Item.price, Item.in_stock).order_by(Item.id)
    ).all()
    user_ids = np.array([u.id for u in users], dtype=np.int64)
    item_ids = np.array([i.id for i in items], dtype=np.int64)
    categories = sorted({i.category for i in items if i.category})
    cat_index = {c: n for n, c in enumerate(categories)}
    item_category = np.array([cat_index.get(i.category, -1) for i in items], dtype=np.int32)
    item_eligible = np.array([bool(i.in_stock) and i.price is not None and i.price > 0 for i in items], dtype=bool)

    ev_u, ev_i, ev_e, ev_t = [], [], [], []
    event_code = {name: n for n, name in enumerate(EVENTS)}
    rows = session.execute(select(Interaction.user_id, Interaction.item_id, Interaction.event, Interaction.ts))
    for user_id, item_id, event, ts in rows:
        ev_u.append(user_id)
        ev_i.append(item_id)
        ev_e.append(event_code.get(event, -1))
        ev_t.append(_epoch(ts))
    data = build_interactions(
        len(user_ids),
        len(item_ids),
        _index_of(user_ids, np.array(ev_u, dtype=np.int64)),
        _index_of(item_ids, np.array(ev_i, dtype=np.int64)),
        np.array(ev_e, dtype=np.int64),
        ts=np.array(ev_t, dtype=np.int64),
        item_category=item_category,
        item_eligible=item_eligible,
    )
    data.report["items_without_price"] = sum(1 for i in items if i.price is None or i.price <= 0)
    data.report["items_out_of_stock"] = sum(1 for i in items if not i.in_stock)
    user_external = [u.external_id for u in users]
    return StoreData(user_ids, user_external, item_ids, [i.external_id for i in items], categories, data)


def _epoch(ts: dt.datetime | None) -> int:
    if ts is None:
        return 0
    if ts.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        ts = ts.replace(tzinfo=dt.timezone.utc)
    return int(ts.timestamp())


def _index_of(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position of each id in ``sorted_ids``, -1 when absent."""
    if sorted_ids.size == 0 or ids.size == 0:
        return np.full(ids.size, -1, dtype=np.int64)
    pos = np.searchsorted(sorted_ids, ids)
    pos = np.minimum(pos, sorted_ids.size - 1)
    return np.where(sorted_ids[pos] == ids, pos, -1).astype(np.int64)


def replace_recommendations(
    session: Session,
    user_ids: Sequence[int] | None,
    rows: Sequence[dict[str, Any]],
    *,
    source: str = BUILTIN,
) -> int:
    """Replace the ``source`` rows of ``user_ids`` (None = every user) by ``rows`` (user_id, item_id, rank, score).

    Runs in the caller's transaction: readers see the old lists or the new ones, never a mix.
    """
    if user_ids is None:
        session.execute(delete(Recommendation).where(Recommendation.source == source))
    else:
        ids = sorted(set(int(u) for u in user_ids))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            session.execute(
                delete(Recommendation).where(Recommendation.source == source, Recommendation.user_id.in_(chunk))
            )
    now = utcnow()
    payload = [
        {
            "user_id": int(r["user_id"]),
            "item_id": int(r["item_id"]),
            "rank": int(r["rank"]),
            "score": float(r["score"]),
            "source": source,
            "generated_at": now,
        }
        for r in rows
    ]
    table = Recommendation.__table__
    for start in range(0, len(payload), _CHUNK):
        upsert(
            session,
            table,  # type: ignore[arg-type]
            payload[start : start + _CHUNK],
            conflict=["user_id", "source", "item_id"],
            update=["rank", "score", "generated_at"],
        )
    return len(payload)


@dataclass
class RecommendRun:
    """What ``run_recommend`` did."""

    model: str
    """The model whose lists were written."""
    params: dict[str, Any]
    counts: dict[str, int]
    """users, with_cf, cold_start, filled, skipped, unknown_users, rows_written."""
    report: dict[str, int]
    """Data counts: events, duplicates, unknown ids, cold users and items, items without price / out of stock."""
    selection: Selection | None = None
    """The automatic selection's figures (``model="auto"`` only)."""
    fit_s: float = 0.0
    """Seconds of the final fit on every interaction."""
    export: list[dict[str, Any]] = field(default_factory=list)
    """user_id, item_id (external ids), rank, score — one per written row."""


def run_recommend(
    url: str | None = None,
    *,
    k: int = 10,
    users: Sequence[str] | None = None,
    exclude_consumed: bool = True,
    max_per_category: int | None = 3,
    model: str = "auto",
    params: dict[str, Any] | None = None,
    export: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RecommendRun:
    """Choose (``model="auto"``) or take a model, fit it on every interaction, write top-k source-builtin rows.

    ``users`` are external ids (default: all). ``exclude_consumed`` drops items the user purchased or rated;
    without it they compete on their score (item-kNN and popularity add a repeat bonus: "buy again").
    ``params`` override the named model's defaults (ignored by ``auto``, which picks its own). The run and its
    figures are recorded in ``recommender_runs`` in the same transaction as the rows. With ``export`` the result
    carries every written row with external ids (for --json / --out).
    """
    if model != "auto" and model not in CANDIDATES:
        raise InvalidRequest(f"--model {model!r} is not one of auto, {', '.join(CANDIDATES)}")
    with session_scope(url) as session:
        store = load_store_data(session)
    data = store.interactions
    unknown = 0
    if users is None:
        rows = np.arange(data.n_users, dtype=np.int64)
    else:
        index = {ext: n for n, ext in enumerate(store.user_external)}
        wanted = list(dict.fromkeys(users))
        rows = np.array([index[u] for u in wanted if u in index], dtype=np.int64)
        unknown = len(wanted) - rows.size
    selection = None
    chosen, chosen_params = model, dict(params or {})
    if model == "auto":
        selection = select_model(data, k=k, progress=progress)
        chosen, chosen_params = selection.model, dict(selection.params)
    if chosen == "popularity" and not exclude_consumed:
        chosen_params.setdefault("repeat_weight", 1.0)  # "buy again": the user's own items first
    if progress:
        progress(f"fitting {chosen} on every interaction")
    t0 = time.perf_counter()
    fitted = fit_model(chosen, chosen_params, data)
    fit_s = time.perf_counter() - t0
    recs = fitted.recommend(rows, k=k, exclude_consumed=exclude_consumed, max_per_category=max_per_category)
    out_rows = [
        {"user_id": store.user_ids[u], "item_id": store.item_ids[i], "rank": r, "score": s}
        for u, i, r, s in zip(
            recs.user.tolist(), recs.item.tolist(), recs.rank.tolist(), recs.score.tolist(), strict=True
        )
    ]
    counts = dict(recs.counts, unknown_users=unknown)
    with session_scope(url) as session:
        written = replace_recommendations(session, None if users is None else store.user_ids[rows].tolist(), out_rows)
        counts["rows_written"] = written
        session.add(
            RecommenderRun(
                model=chosen,
                params=chosen_params,
                requested=model,
                figures=selection.to_json() if selection else {},
                counts=dict(counts, fit_s=round(fit_s, 3), exclude_consumed=exclude_consumed),
            )
        )
    exported = []
    if export:
        exported = [
            {"user_id": store.user_external[u], "item_id": store.item_external[i], "rank": r, "score": round(s, 6)}
            for u, i, r, s in zip(
                recs.user.tolist(), recs.item.tolist(), recs.rank.tolist(), recs.score.tolist(), strict=True
            )
        ]
    return RecommendRun(chosen, chosen_params, counts, dict(data.report), selection, round(fit_s, 3), exported)
