"""Built-in recommender: implicit-feedback item-item collaborative filtering with a popularity fallback.

Owns the in-memory part (numpy + scipy.sparse, rows and columns are dense 0-based indices):
1. ``build_interactions`` turns event arrays into the user × item matrix (duplicates and unknown ids dropped
   and counted),
2. ``fit`` weights it (BM25, TF-IDF or cosine) and keeps the top neighbours of every item,
3. ``ItemItemModel.recommend`` scores users in chunks of sparse products and picks the top k with the
   filters (in stock and priced, not already purchased, at most N per category), filling short lists from
   the popular items of the user's categories, then from the globally popular ones.
Does not own the database (``store.py``) nor the offline evaluation (``evaluate.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

EVENTS: tuple[str, ...] = ("view", "cart", "purchase", "rating")
"""Event kinds, in code order (``event`` arrays hold indices into this tuple; -1 = unknown)."""

EVENT_WEIGHTS: dict[str, float] = {"view": 0.25, "cart": 0.5, "purchase": 1.0, "rating": 0.5}
"""Implicit-feedback strength of one event; a user's weight for an item is log1p(sum of its events)."""

PURCHASE = EVENTS.index("purchase")

Weighting = Literal["bm25", "tfidf", "cosine", "conditional", "none"]


@dataclass(frozen=True)
class CFParams:
    """How the item-item model is fitted and used."""

    weighting: Weighting = "tfidf"
    """Weighting of the user × item matrix before the item-item dot products (``none`` = raw co-occurrence)."""
    neighbours: int = 50
    """Most similar items kept per item (the rest of the similarity row is dropped)."""
    alpha: float = 1.0
    """``conditional`` only: sim(j→i) = cooc(i, j) / (n_j^alpha · n_i^(1-alpha)); 1 = P(i | j), 0.5 = cosine."""
    bm25_k1: float = 100.0
    """BM25 saturation (large = almost linear in the interaction weight)."""
    bm25_b: float = 0.8
    """BM25 length normalisation by item popularity (0 = none, 1 = full)."""
    popularity_weight: float = 1.0
    """Blend: score = CF score / the user's best CF score + popularity_weight · popularity / top popularity."""
    repeat_weight: float = 1.0
    """When purchased items are allowed: bonus for the user's own items (their weight / the user's top weight)."""


@dataclass
class Interactions:
    """The implicit-feedback data of a store, as index arrays and sparse matrices."""

    matrix: sp.csr_matrix
    """users × items, float32: log1p of the summed event weights."""
    purchased: sp.csr_matrix
    """users × items, 1.0 where the user purchased the item."""
    item_category: np.ndarray
    """int32 category code per item (-1 = no category)."""
    item_eligible: np.ndarray
    """bool per item: may be recommended (in stock and priced)."""
    report: dict[str, int] = field(default_factory=dict)
    """Counts of what was dropped or is cold: duplicates, unknown ids, users/items without interactions."""

    @property
    def n_users(self) -> int:
        """Number of user rows."""
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        """Number of item columns."""
        return int(self.matrix.shape[1])


def build_interactions(
    n_users: int,
    n_items: int,
    user: np.ndarray,
    item: np.ndarray,
    event: np.ndarray,
    *,
    ts: np.ndarray | None = None,
    item_category: np.ndarray | None = None,
    item_eligible: np.ndarray | None = None,
) -> Interactions:
    """Aggregate event arrays (row index, column index, event code, optional timestamp) into ``Interactions``.

    Rows with an index of -1 or out of range (unknown user / item) or an unknown event code are dropped and
    counted; with ``ts`` given, exact duplicates (same user, item, event, ts) are dropped and counted.
    """
    user = np.asarray(user, dtype=np.int64)
    item = np.asarray(item, dtype=np.int64)
    event = np.asarray(event, dtype=np.int64)
    report = {"events": int(user.size)}
    bad_user = (user < 0) | (user >= n_users)
    bad_item = (item < 0) | (item >= n_items)
    bad_event = (event < 0) | (event >= len(EVENTS))
    report["unknown_user"] = int(bad_user.sum())
    report["unknown_item"] = int((bad_item & ~bad_user).sum())
    report["unknown_event"] = int((bad_event & ~bad_user & ~bad_item).sum())
    keep = ~(bad_user | bad_item | bad_event)
    user, item, event = user[keep], item[keep], event[keep]
    report["duplicates"] = 0
    if ts is not None and user.size:
        t = np.asarray(ts, dtype=np.int64)[keep]
        order = np.lexsort((t, event, item, user))
        u, i, e, t = user[order], item[order], event[order], t[order]
        dup = np.zeros(u.size, dtype=bool)
        dup[1:] = (u[1:] == u[:-1]) & (i[1:] == i[:-1]) & (e[1:] == e[:-1]) & (t[1:] == t[:-1])
        report["duplicates"] = int(dup.sum())
        user, item, event = u[~dup], i[~dup], e[~dup]
    weights = np.array([EVENT_WEIGHTS[name] for name in EVENTS], dtype=np.float32)[event]
    shape = (n_users, n_items)
    matrix = sp.csr_matrix((weights, (user, item)), shape=shape, dtype=np.float32)
    matrix.sum_duplicates()
    matrix.data = np.log1p(matrix.data).astype(np.float32)
    is_buy = event == PURCHASE
    purchased = sp.csr_matrix(
        (np.ones(int(is_buy.sum()), dtype=np.float32), (user[is_buy], item[is_buy])), shape=shape
    )
    purchased.sum_duplicates()
    purchased.data[:] = 1.0
    if item_category is None:
        item_category = np.full(n_items, -1, dtype=np.int32)
    if item_eligible is None:
        item_eligible = np.ones(n_items, dtype=bool)
    item_category = np.asarray(item_category, dtype=np.int32)
    item_eligible = np.asarray(item_eligible, dtype=bool)
    report["events_used"] = int(user.size)
    report["users_without_interactions"] = int((np.diff(matrix.indptr) == 0).sum())
    report["items_without_interactions"] = int((np.bincount(matrix.indices, minlength=n_items) == 0).sum())
    report["items_not_recommendable"] = int((~item_eligible).sum())
    return Interactions(matrix, purchased, item_category, item_eligible, report)


def _weighted(x: sp.csr_matrix, params: CFParams) -> sp.csr_matrix:
    """The matrix whose item columns are dotted together (documents = items, terms = users)."""
    x = x.tocsr(copy=True).astype(np.float32)
    n_items = x.shape[1]
    if params.weighting in ("none", "conditional"):
        return x
    if params.weighting == "cosine":
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
        inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return (x @ sp.diags(inv.astype(np.float32))).tocsr()
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    items_per_user = np.diff(x.indptr).astype(np.float64)
    if params.weighting == "tfidf":
        idf = np.log(n_items / (1.0 + items_per_user))
        x.data = (np.sqrt(x.data) * idf[rows]).astype(np.float32)
        return x
    if params.weighting == "bm25":
        idf = np.log(max(n_items, 1)) - np.log1p(items_per_user)
        item_len = np.asarray(x.sum(axis=0)).ravel()
        avg = item_len[item_len > 0].mean() if (item_len > 0).any() else 1.0
        length_norm = (1.0 - params.bm25_b) + params.bm25_b * item_len / avg
        k1 = params.bm25_k1
        x.data = (x.data * (k1 + 1.0) / (k1 * length_norm[x.indices] + x.data) * idf[rows]).astype(np.float32)
        return x
    raise ValueError(f"unknown weighting {params.weighting!r}")


def _prune_rows(block: sp.csr_matrix, first_row: int, keep: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``block`` (items first_row…), drop the diagonal and non-positive values, keep the top ``keep``."""
    block.sum_duplicates()
    lengths = np.diff(block.indptr)
    rows = np.repeat(np.arange(block.shape[0]), lengths)
    ok = (block.indices != rows + first_row) & (block.data > 0)
    rows, cols, vals = rows[ok], block.indices[ok], block.data[ok]
    counts = np.bincount(rows, minlength=block.shape[0])
    if counts.max(initial=0) <= keep:
        return rows + first_row, cols, vals
    # Sort each row's entries by value (desc), then column (asc, deterministic ties), keep the first ``keep``.
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    pos = np.arange(rows.size) - np.repeat(starts, counts)
    sel = pos < keep
    return rows[sel] + first_row, cols[sel], vals[sel]


def _chunk_size(n: int, nnz_per_row: float, budget: int = 20_000_000) -> int:
    """Rows per chunk so that a chunk's sparse product stays around ``budget`` non-zeros."""
    return int(max(64, min(n, budget // max(nnz_per_row, 1.0))))


@dataclass
class ItemItemModel:
    """A fitted item-item model: pruned similarity rows, item popularity and the fallback orders."""

    similarity: sp.csr_matrix
    """items × items: row j holds item j's top neighbours (columns not recommendable already removed)."""
    popularity: np.ndarray
    """Distinct users per item."""
    data: Interactions
    params: CFParams
    _global_order: np.ndarray = field(init=False, repr=False)
    _category_order: dict[int, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        eligible = np.flatnonzero(self.data.item_eligible)
        # Popular first, then lower index: a deterministic order for ties and for cold items (popularity 0).
        order = eligible[np.lexsort((eligible, -self.popularity[eligible]))]
        self._global_order = order
        cats = self.data.item_category[order]
        self._category_order = {}
        if order.size:
            by_cat = np.argsort(cats, kind="stable")
            cats_sorted = cats[by_cat]
            bounds = np.flatnonzero(np.diff(cats_sorted)) + 1
            for part in np.split(by_cat, bounds):
                code = int(cats[part[0]])
                if code >= 0:
                    self._category_order[code] = order[part]

    def recommend(
        self,
        users: np.ndarray | None = None,
        *,
        k: int = 10,
        exclude_purchased: bool = True,
        max_per_category: int | None = 3,
        fallback: bool = True,
    ) -> Recommendations:
        """Top-k items for each user row in ``users`` (default: all), best first, with the filters applied."""
        data = self.data
        users = np.arange(data.n_users) if users is None else np.asarray(users, dtype=np.int64)
        cap = max_per_category if max_per_category and max_per_category > 0 else None
        out_u: list[np.ndarray] = []
        out_i: list[np.ndarray] = []
        out_s: list[np.ndarray] = []
        out_cf: list[np.ndarray] = []
        counts = {"users": int(users.size), "with_cf": 0, "cold_start": 0, "filled": 0, "skipped": 0}
        sim = self.similarity
        nnz_per_user = max(1.0, data.matrix.nnz / max(data.n_users, 1)) * max(1.0, sim.nnz / max(sim.shape[0], 1))
        step = _chunk_size(users.size, nnz_per_user)
        cats = data.item_category
        eligible = sp.diags(data.item_eligible.astype(np.float32))
        beta = self.params.popularity_weight
        pop_norm = self.popularity / max(float(self.popularity.max(initial=0.0)), 1.0)
        for start in range(0, users.size, step):
            rows = users[start : start + step]
            x = data.matrix[rows]
            scores = (x @ sim).tocsr()
            bought = data.purchased[rows]
            if exclude_purchased and bought.nnz:
                scores = (scores - scores.multiply(bought)).tocsr()
            scores.eliminate_zeros()
            if beta > 0 or (self.params.repeat_weight > 0 and not exclude_purchased):
                scores = _row_normalized(scores)
            if self.params.repeat_weight > 0 and not exclude_purchased:
                scores = (scores + self.params.repeat_weight * _row_normalized((x @ eligible).tocsr())).tocsr()
            for local, user in enumerate(rows.tolist()):
                s, e = scores.indptr[local], scores.indptr[local + 1]
                bought_items = bought.indices[bought.indptr[local] : bought.indptr[local + 1]]
                cand_i, cand_s = scores.indices[s:e], scores.data[s:e]
                if beta > 0 and e > s:
                    cand_s = cand_s + beta * pop_norm[cand_i].astype(np.float32)
                    extra = self._global_order[: 3 * k + (bought_items.size if exclude_purchased else 0)]
                    drop = np.isin(extra, cand_i)
                    if exclude_purchased:
                        drop |= np.isin(extra, bought_items)
                    extra = extra[~drop]
                    cand_i = np.concatenate([cand_i, extra])
                    cand_s = np.concatenate([cand_s, (beta * pop_norm[extra]).astype(np.float32)])
                picked_i, picked_s = _pick(cand_i, cand_s, k, cap, cats)
                n_cf = len(picked_i)
                if fallback and n_cf < k:
                    xs, xe = x.indptr[local], x.indptr[local + 1]
                    excluded = set(picked_i)
                    if exclude_purchased:
                        excluded.update(bought_items.tolist())
                    self._fill(picked_i, picked_s, excluded, x.indices[xs:xe], x.data[xs:xe], k, cap)
                n = len(picked_i)
                if n == 0:
                    counts["skipped"] += 1
                    continue
                if n_cf:
                    counts["with_cf"] += 1
                    if n > n_cf:
                        counts["filled"] += 1
                else:
                    counts["cold_start"] += 1
                out_u.append(np.full(n, user, dtype=np.int64))
                out_i.append(np.asarray(picked_i, dtype=np.int64))
                out_s.append(np.asarray(picked_s, dtype=np.float32))
                flags = np.zeros(n, dtype=bool)
                flags[:n_cf] = True
                out_cf.append(flags)
        return Recommendations.from_parts(out_u, out_i, out_s, out_cf, counts)

    def _fill(
        self,
        picked_i: list[int],
        picked_s: list[float],
        excluded: set[int],
        user_items: np.ndarray,
        user_weights: np.ndarray,
        k: int,
        cap: int | None,
    ) -> None:
        """Append popular items of the user's categories (most interacted first), then globally popular ones."""
        cats = self.data.item_category
        per_cat: dict[int, int] = {}
        for item in picked_i:
            per_cat[int(cats[item])] = per_cat.get(int(cats[item]), 0) + 1
        orders: list[np.ndarray] = []
        if user_items.size:
            user_cats = cats[user_items]
            known = user_cats >= 0
            if known.any():
                weight = np.bincount(user_cats[known], weights=user_weights[known])
                present = np.flatnonzero(weight > 0)
                for code in present[np.lexsort((present, -weight[present]))]:
                    if int(code) in self._category_order:
                        orders.append(self._category_order[int(code)])
        orders.append(self._global_order)
        n_users = max(self.data.n_users, 1)
        for order in orders:
            for item in order.tolist():
                if len(picked_i) >= k:
                    return
                if item in excluded:
                    continue
                c = int(cats[item])
                if cap is not None and c >= 0 and per_cat.get(c, 0) >= cap:
                    continue
                excluded.add(item)
                per_cat[c] = per_cat.get(c, 0) + 1
                picked_i.append(item)
                picked_s.append(float(self.popularity[item]) / n_users)


def _row_normalized(m: sp.csr_matrix) -> sp.csr_matrix:
    """Each row divided by its maximum (empty rows stay empty)."""
    top = np.asarray(m.max(axis=1).todense()).ravel() if m.nnz else np.zeros(m.shape[0])
    inv = np.divide(1.0, top, out=np.zeros_like(top, dtype=np.float64), where=top > 0)
    return (sp.diags(inv.astype(np.float32)) @ m).tocsr()


def _pick(
    items: np.ndarray, scores: np.ndarray, k: int, cap: int | None, cats: np.ndarray
) -> tuple[list[int], list[float]]:
    """Best ``k`` of one user's candidates: score desc, item index asc on ties, at most ``cap`` per category."""
    if items.size == 0:
        return [], []
    want = k if cap is None else k * 3
    if items.size > want:
        part = np.argpartition(-scores, want - 1)[:want]
        threshold = scores[part].min()
        part = np.flatnonzero(scores >= threshold)  # keep every tie at the boundary: deterministic
        picked = _pick_sorted(items[part], scores[part], k, cap, cats)
        if len(picked[0]) >= k or part.size == items.size:
            return picked
    return _pick_sorted(items, scores, k, cap, cats)


def _pick_sorted(
    items: np.ndarray, scores: np.ndarray, k: int, cap: int | None, cats: np.ndarray
) -> tuple[list[int], list[float]]:
    """Walk candidates by score desc / item asc, skipping items over the category cap."""
    order = np.lexsort((items, -scores))
    picked_i: list[int] = []
    picked_s: list[float] = []
    per_cat: dict[int, int] = {}
    for item, score in zip(items[order].tolist(), scores[order].tolist(), strict=True):
        c = int(cats[item])
        if cap is not None and c >= 0:
            if per_cat.get(c, 0) >= cap:
                continue
            per_cat[c] = per_cat.get(c, 0) + 1
        picked_i.append(item)
        picked_s.append(score)
        if len(picked_i) >= k:
            break
    return picked_i, picked_s


@dataclass
class Recommendations:
    """Flat arrays, grouped by user in input order, best first: user row, item column, rank (1-based), score."""

    user: np.ndarray
    item: np.ndarray
    rank: np.ndarray
    score: np.ndarray
    from_cf: np.ndarray
    """True for collaborative-filtering picks, False for popularity fallback."""
    counts: dict[str, int]
    """users, with_cf (≥1 CF item), cold_start (fallback only), filled (CF + fallback), skipped (nothing)."""

    @classmethod
    def from_parts(
        cls,
        users: list[np.ndarray],
        items: list[np.ndarray],
        scores: list[np.ndarray],
        from_cf: list[np.ndarray],
        counts: dict[str, int],
    ) -> Recommendations:
        """Concatenate per-user pieces (ranks are positions within each piece)."""
        if not users:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty.copy(), empty.copy(), np.zeros(0, np.float32), np.zeros(0, bool), counts)
        rank = np.concatenate([np.arange(1, len(u) + 1, dtype=np.int64) for u in users])
        return cls(
            np.concatenate(users), np.concatenate(items), rank, np.concatenate(scores), np.concatenate(from_cf), counts
        )

    def lists(self) -> dict[int, list[int]]:
        """user row → recommended item columns, best first."""
        result: dict[int, list[int]] = {}
        for u, i in zip(self.user.tolist(), self.item.tolist(), strict=True):
            result.setdefault(u, []).append(i)
        return result


def fit(data: Interactions, params: CFParams | None = None) -> ItemItemModel:
    """Fit the item-item model: weighted item-item dot products, top ``params.neighbours`` per item."""
    params = params or CFParams()
    n_items = data.n_items
    w = _weighted(data.matrix, params)
    wt = w.T.tocsr()
    w_csc = w.tocsc()
    # Average non-zeros of a row of W^T W ≈ sum over an item's users of their item counts.
    per_user = np.diff(w.indptr).astype(np.float64)
    est = float((per_user**2).sum() / max(n_items, 1)) if per_user.size else 1.0
    step = _chunk_size(n_items, est)
    parts_r, parts_c, parts_v = [], [], []
    norm = None
    if params.weighting == "conditional":
        n = np.asarray(w.sum(axis=0)).ravel().astype(np.float64)
        norm = np.where(n > 0, n, 1.0)
    for start in range(0, n_items, step):
        block = (wt[start : start + step] @ w_csc).tocsr()
        if norm is not None:
            row_norm = norm[start : start + block.shape[0]] ** params.alpha
            block = (sp.diags((1.0 / row_norm).astype(np.float32)) @ block).tocsr()
            if params.alpha < 1.0:
                block.data *= (norm[block.indices] ** (params.alpha - 1.0)).astype(np.float32)
        r, c, v = _prune_rows(block, start, params.neighbours)
        parts_r.append(r)
        parts_c.append(c)
        parts_v.append(v)
    rows = np.concatenate(parts_r) if parts_r else np.zeros(0, np.int64)
    cols = np.concatenate(parts_c) if parts_c else np.zeros(0, np.int64)
    vals = np.concatenate(parts_v) if parts_v else np.zeros(0, np.float32)
    ok = data.item_eligible[cols]  # never score an item that cannot be recommended
    sim = sp.csr_matrix((vals[ok].astype(np.float32), (rows[ok], cols[ok])), shape=(n_items, n_items))
    popularity = np.bincount(data.matrix.indices, minlength=n_items).astype(np.float64)
    return ItemItemModel(similarity=sim, popularity=popularity, data=data, params=params)


def popularity_model(data: Interactions, *, repeat_weight: float = 0.0) -> ItemItemModel:
    """The baseline: no similarity, so users get the popularity(-by-category) fallback.

    With ``repeat_weight`` > 0 and purchased items allowed, the user's own items come first ("buy again").
    """
    n = data.n_items
    popularity = np.bincount(data.matrix.indices, minlength=n).astype(np.float64)
    params = CFParams(neighbours=0, popularity_weight=1.0 if repeat_weight else 0.0, repeat_weight=repeat_weight)
    return ItemItemModel(sp.csr_matrix((n, n), dtype=np.float32), popularity, data, params)

