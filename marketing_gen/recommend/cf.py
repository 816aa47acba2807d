"""Built-in recommender: implicit-feedback item-item collaborative filtering with a popularity fallback.

Owns the in-memory part (numpy + scipy.sparse, rows and columns are dense 0-based indices):
1. ``build_interactions`` turns event arrays into the user × item matrix (duplicates and unknown ids dropped
   and counted),
2. ``fit`` weights it (TF-IDF, BM25, cosine, conditional probability or raw co-occurrence) and keeps the top
   neighbours of every item,
3. ``ItemItemModel.recommend`` scores users in chunks of sparse products (blended with item popularity, plus
   a repeat bonus when purchased items are allowed) and picks the top k with the filters (in stock and
   priced, not already purchased, at most N per category) in vectorised padded blocks, filling short lists
   from the popular items of the user's categories, then from the globally popular ones.
The defaults (TF-IDF, 50 neighbours, popularity weight 1) were chosen with ``marketing-gen eval recs --sweep``
on the Online Retail sample.
Does not own the database (``store.py``) nor the offline evaluation (``evaluate.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

from marketing_gen.errors import InvalidRequest

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
    history_idf: float = 1.0
    """Scale each history item's neighbours by idf^history_idf (idf = log(users / (1 + its users))): a rare item
    in a user's history says more about their taste than a best seller. 0 = off."""
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
    purchased = sp.csr_matrix((np.ones(int(is_buy.sum()), dtype=np.float32), (user[is_buy], item[is_buy])), shape=shape)
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
    raise InvalidRequest(f"weighting={params.weighting!r} is not one of tfidf, bm25, cosine, conditional, none")


def _prune_rows(block: sp.csr_matrix, first_row: int, keep: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``block`` (items first_row…), drop the diagonal and non-positive values, keep the top ``keep``."""
    block.sum_duplicates()
    lengths = np.diff(block.indptr)
    rows = np.repeat(np.arange(block.shape[0]), lengths)
    ok = (block.indices != rows + first_row) & (block.data > 0)
    if not ok.all():
        block = sp.csr_matrix(
            (block.data[ok], block.indices[ok], np.r_[0, np.cumsum(np.bincount(rows[ok], minlength=block.shape[0]))]),
            shape=block.shape,
        )
        rows = rows[ok]
    sel = _select_top(block, keep)
    return rows[sel] + first_row, block.indices[sel], block.data[sel]


def _tie_key(values: np.ndarray, cols: np.ndarray, n_cols: int) -> np.ndarray:
    """A float64 sort key equal in order to ``values`` (all > 0) with exact ties broken by lower column first.

    The tie term is below half a float32 ulp, so it never reorders distinct float32 values.
    """
    return values.astype(np.float64) * (1.0 - cols * (1e-8 / max(n_cols, 1)))


def _select_top(m: sp.csr_matrix, keep: int, budget: int = 8_000_000) -> np.ndarray:
    """Mask over ``m.data``: the ``keep`` largest entries of each row (values > 0; ties: lower column first)."""
    lengths = np.diff(m.indptr)
    mask = np.ones(m.nnz, dtype=bool)
    long_rows = np.flatnonzero(lengths > keep)
    if long_rows.size == 0 or keep <= 0:
        return mask if keep > 0 else ~mask
    mask[np.repeat(lengths > keep, lengths)] = False
    long_rows = long_rows[np.argsort(lengths[long_rows], kind="stable")]  # similar widths share a padded block
    sorted_len = lengths[long_rows]
    a = 0
    while a < long_rows.size:
        # Largest group from a whose padded block (rows × widest row) stays within the budget.
        padded = (np.arange(1, long_rows.size - a + 1)) * sorted_len[a:]
        b = a + max(1, int(np.searchsorted(padded, budget, side="right")))
        rows = long_rows[a:b]
        width = int(lengths[rows].max())
        ln = lengths[rows]
        starts = m.indptr[rows]
        rr = np.repeat(np.arange(rows.size), ln)
        pos = np.arange(int(ln.sum())) - np.repeat(np.cumsum(ln) - ln, ln)
        flat = np.repeat(starts, ln) + pos
        key = np.full((rows.size, width), -np.inf)
        key[rr, pos] = _tie_key(m.data[flat], m.indices[flat], m.shape[1])
        part = np.argpartition(-key, keep - 1, axis=1)[:, :keep]
        mask[(starts[:, None] + part).ravel()] = True
        a = b
    return mask


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
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # position, item, score, from_cf
        counts = {"users": int(users.size), "with_cf": 0, "cold_start": 0, "filled": 0, "skipped": 0}
        sim = self.similarity
        nnz_per_user = max(1.0, data.matrix.nnz / max(data.n_users, 1)) * max(1.0, sim.nnz / max(sim.shape[0], 1))
        step = _chunk_size(users.size, nnz_per_user)
        cats = data.item_category
        for start in range(0, users.size, step):
            rows = users[start : start + step]
            x = data.matrix[rows]
            bought = data.purchased[rows]
            scores = self._chunk_scores(x, bought, k, exclude_purchased)
            # 1. Vectorised top-k with the category cap, for every row that yields k items that way.
            top_r, top_i, top_s, complete = _top_k_rows(scores, k, cap, cats)
            parts.append((top_r + start, top_i, top_s, np.ones(top_i.size, dtype=bool)))
            counts["with_cf"] += int(complete.sum())
            # 2. The other rows one by one: every candidate (the cap may have cut the best ones), then the fill.
            for local in np.flatnonzero(~complete).tolist():
                s, e = scores.indptr[local], scores.indptr[local + 1]
                picked_i, picked_s = _pick_sorted(scores.indices[s:e], scores.data[s:e], k, cap, cats)
                n_cf = len(picked_i)
                if fallback and n_cf < k:
                    xs, xe = x.indptr[local], x.indptr[local + 1]
                    excluded = set(picked_i)
                    if exclude_purchased:
                        excluded.update(bought.indices[bought.indptr[local] : bought.indptr[local + 1]].tolist())
                    self._fill(picked_i, picked_s, excluded, x.indices[xs:xe], x.data[xs:xe], k, cap)
                n = len(picked_i)
                if n == 0:
                    counts["skipped"] += 1
                    continue
                if n_cf:
                    counts["with_cf"] += 1
                    counts["filled"] += int(n > n_cf)
                else:
                    counts["cold_start"] += 1
                flags = np.zeros(n, dtype=bool)
                flags[:n_cf] = True
                parts.append(
                    (
                        np.full(n, start + local, dtype=np.int64),
                        np.asarray(picked_i, dtype=np.int64),
                        np.asarray(picked_s, dtype=np.float32),
                        flags,
                    )
                )
        return Recommendations.from_parts(users, parts, counts)

    def _chunk_scores(self, x: sp.csr_matrix, bought: sp.csr_matrix, k: int, exclude_purchased: bool) -> sp.csr_matrix:
        """Candidate scores of a chunk of users: CF (+ popularity blend, + repeat bonus), filters applied."""
        params = self.params
        scores = (x @ self.similarity).tocsr()
        if exclude_purchased and bought.nnz:
            scores = (scores - scores.multiply(bought)).tocsr()
        scores.eliminate_zeros()
        repeat = params.repeat_weight > 0 and not exclude_purchased
        if params.popularity_weight > 0 or repeat:
            scores = _row_normalized(scores)
        if repeat:
            eligible = sp.diags(self.data.item_eligible.astype(np.float32))
            scores = (scores + params.repeat_weight * _row_normalized((x @ eligible).tocsr())).tocsr()
        if params.popularity_weight > 0 and scores.nnz:
            # score + β·popularity for CF candidates, β·popularity alone for the top popular items, so a
            # popular item can outrank a weak neighbour. Rows without any CF candidate are left to the fallback.
            pop = params.popularity_weight * self.popularity / max(float(self.popularity.max(initial=0.0)), 1.0)
            scores.data += pop[scores.indices].astype(np.float32)
            has = np.flatnonzero(np.diff(scores.indptr) > 0)
            top = self._global_order[: 3 * k]
            indptr = np.zeros(scores.shape[0] + 1, dtype=np.int64)
            indptr[has + 1] = top.size
            indptr = np.cumsum(indptr)
            popular = sp.csr_matrix(
                (np.tile(pop[top].astype(np.float32), has.size), np.tile(top, has.size), indptr), shape=scores.shape
            )
            scores = scores.maximum(popular).tocsr()
            if exclude_purchased and bought.nnz:
                scores = (scores - scores.multiply(bought)).tocsr()
                scores.eliminate_zeros()
        return scores

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
    m = m.tocsr()
    lengths = np.diff(m.indptr)
    top = np.zeros(m.shape[0], dtype=np.float64)
    nonempty = lengths > 0
    if m.nnz:
        top[nonempty] = np.maximum.reduceat(m.data, m.indptr[:-1][nonempty])
    inv = np.divide(1.0, top, out=np.zeros_like(top), where=top > 0)
    out = m.copy()
    out.data = (out.data * np.repeat(inv, lengths)).astype(np.float32)
    return out


def _top_k_rows(
    m: sp.csr_matrix, k: int, cap: int | None, cats: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Best ``k`` per row (score desc, item asc on ties, ≤ ``cap`` per category), vectorised over rows.

    Returns (row, item, score) of the rows that got k items this way, best first, and a bool ``complete`` per
    row; the caller handles incomplete rows (too few candidates, or the cap cut into the top 3k).
    """
    n_rows = m.shape[0]
    complete = np.zeros(n_rows, dtype=bool)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32), complete)
    if m.nnz == 0 or k <= 0:
        return empty
    want = k if cap is None else 3 * k
    sel = _select_top(m, want)
    lengths = np.bincount(np.repeat(np.arange(n_rows), np.diff(m.indptr))[sel], minlength=n_rows)
    width = int(lengths.max())
    rr = np.repeat(np.arange(n_rows), lengths)
    pos = np.arange(rr.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    items = np.full((n_rows, width), -1, dtype=np.int64)
    items[rr, pos] = m.indices[sel]
    values = np.zeros((n_rows, width), dtype=np.float32)
    values[rr, pos] = m.data[sel]
    key = np.full((n_rows, width), -np.inf)
    key[rr, pos] = _tie_key(m.data[sel], m.indices[sel], m.shape[1])
    order = np.argsort(-key, axis=1, kind="stable")
    key = np.take_along_axis(key, order, 1)
    items = np.take_along_axis(items, order, 1)
    values = np.take_along_axis(values, order, 1)
    keep = np.isfinite(key)
    if cap is not None:
        c = np.where(keep, cats[np.maximum(items, 0)], -1)
        idx = np.broadcast_to(np.arange(width), c.shape)
        by_cat = np.lexsort((idx, c), axis=1)
        cs = np.take_along_axis(c, by_cat, 1)
        first = np.ones_like(cs, dtype=bool)
        first[:, 1:] = cs[:, 1:] != cs[:, :-1]
        group_start = np.maximum.accumulate(np.where(first, idx, 0), axis=1)
        occurrence = np.empty_like(group_start)
        np.put_along_axis(occurrence, by_cat, idx - group_start, 1)
        keep &= (c < 0) | (occurrence < cap)
    keep &= np.cumsum(keep, axis=1) <= k
    complete = keep.sum(axis=1) == k
    keep &= complete[:, None]
    r, col = np.nonzero(keep)
    return r, items[r, col], values[r, col], complete


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
        users: np.ndarray,
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
        counts: dict[str, int],
    ) -> Recommendations:
        """Assemble (position in ``users``, item, score, from_cf) pieces, each best first, into user order."""
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty.copy(), empty.copy(), np.zeros(0, np.float32), np.zeros(0, bool), counts)
        pos = np.concatenate([p[0] for p in parts])
        order = np.argsort(pos, kind="stable")  # pieces keep their best-first order within a user
        pos = pos[order]
        item = np.concatenate([p[1] for p in parts])[order]
        score = np.concatenate([p[2] for p in parts])[order]
        from_cf = np.concatenate([p[3] for p in parts])[order]
        starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
        lengths = np.diff(np.r_[starts, pos.size])
        rank = np.arange(pos.size) - np.repeat(starts, lengths) + 1
        return cls(users[pos], item, rank.astype(np.int64), score.astype(np.float32), from_cf, counts)

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
        block = (wt[start : start + step] @ w).tocsr()
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
    rows, cols, vals = rows[ok], cols[ok], vals[ok].astype(np.float64)
    popularity = np.bincount(data.matrix.indices, minlength=n_items).astype(np.float64)
    if params.history_idf > 0:
        idf = np.maximum(np.log(max(data.n_users, 1) / (1.0 + popularity)), 0.0) ** params.history_idf
        vals = vals * idf[rows]
    keep = vals > 0
    sim = sp.csr_matrix(
        (vals[keep].astype(np.float32), (rows[keep], cols[keep])), shape=(n_items, n_items), dtype=np.float32
    )
    return ItemItemModel(similarity=sim, popularity=popularity, data=data, params=params)


def popularity_model(data: Interactions, *, repeat_weight: float = 0.0) -> ItemItemModel:
    """The baseline: no similarity, so users get the popularity(-by-category) fallback.

    With ``repeat_weight`` > 0 and purchased items allowed, the user's own items come first ("buy again").
    """
    n = data.n_items
    popularity = np.bincount(data.matrix.indices, minlength=n).astype(np.float64)
    params = CFParams(
        neighbours=0, history_idf=0.0, popularity_weight=1.0 if repeat_weight else 0.0, repeat_weight=repeat_weight
    )
    return ItemItemModel(sp.csr_matrix((n, n), dtype=np.float32), popularity, data, params)
