"""Item-item models on sparse similarity rows: the item-kNN, RP3β and the popularity baseline.

Owns ``fit`` (item-kNN: the user × item matrix weighted by TF-IDF, BM25, cosine, conditional probability or raw
co-occurrence, top neighbours per item kept), ``fit_rp3beta`` (random walk item → user → item with popularity
penalty, Paudel et al. 2016 / Dacrema et al. 2019) and ``popularity_model``. Scoring is one sparse product per
chunk of users (``x @ similarity``), blended with item popularity for the kNN, plus a repeat bonus when consumed
items are allowed. The ranking (filters, category cap, fill) is ``ranking.Recommender``'s.
The kNN defaults (TF-IDF, 50 neighbours, history idf 1, no popularity blend) are one point of the grid the
automatic selection (``select.py``) tries; it also tries cosine and the old popularity blend.
Does not own the database (``store.py``), the dense models (``models.py``) nor the evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from marketing_gen.errors import InvalidRequest
from marketing_gen.recommend.interactions import Interactions
from marketing_gen.recommend.ranking import Recommender, chunk_size, row_normalized, select_top

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
    popularity_weight: float = 0.0
    """Blend: score = CF score / the user's best CF score + popularity_weight · popularity / top popularity.
    Off by default: a global blend pulls best sellers of other tastes into personal lists (the automatic
    selection still tries 1.0)."""
    repeat_weight: float = 1.0
    """When consumed items are allowed: bonus for the user's own items (their weight / the user's top weight)."""


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
    sel = select_top(block, keep)
    return rows[sel] + first_row, block.indices[sel], block.data[sel]


@dataclass
class ItemItemModel(Recommender):
    """A fitted item-item model: pruned similarity rows, scored by one sparse product per chunk of users."""

    similarity: sp.csr_matrix
    """items × items: row j holds item j's top neighbours (columns not recommendable already removed)."""
    params: CFParams

    name: ClassVar[str] = "item-knn"

    def chunk_rows(self) -> int:
        """Users per chunk: the chunk's sparse product stays around 20 M non-zeros."""
        data, sim = self.data, self.similarity
        nnz_per_user = max(1.0, data.matrix.nnz / max(data.n_users, 1)) * max(1.0, sim.nnz / max(sim.shape[0], 1))
        return chunk_size(data.n_users, nnz_per_user)

    def candidates(
        self, rows: np.ndarray, *, k: int, exclude_consumed: bool, max_per_category: int | None = None
    ) -> sp.csr_matrix:
        """CF scores of a chunk of users (+ popularity blend, + repeat bonus), consumed items dropped if asked."""
        params = self.params
        x = self.data.matrix[rows]
        bought = self.data.consumed[rows]
        scores = (x @ self.similarity).tocsr()
        if exclude_consumed and bought.nnz:
            scores = (scores - scores.multiply(bought)).tocsr()
        scores.eliminate_zeros()
        repeat = params.repeat_weight > 0 and not exclude_consumed
        if params.popularity_weight > 0 or repeat:
            scores = row_normalized(scores)
        if repeat:
            eligible = sp.diags(self.data.item_eligible.astype(np.float32))
            scores = (scores + params.repeat_weight * row_normalized((x @ eligible).tocsr())).tocsr()
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
            if exclude_consumed and bought.nnz:
                scores = (scores - scores.multiply(bought)).tocsr()
                scores.eliminate_zeros()
        return scores


@dataclass
class RP3BetaModel(ItemItemModel):
    """RP3β: item-item transition probabilities (item → user → item), divided by the target's popularity^β."""

    name: ClassVar[str] = "rp3beta"


@dataclass
class PopularityModel(ItemItemModel):
    """The baseline: the popular items of the user's categories (most interacted first), then the others."""

    name: ClassVar[str] = "popularity"

    def chunk_rows(self) -> int:
        """Users per chunk: about a hundred candidates each, so 50,000 users stay around 5 M entries."""
        return chunk_size(self.data.n_users, 400.0)

    def candidates(
        self, rows: np.ndarray, *, k: int, exclude_consumed: bool, max_per_category: int | None = None
    ) -> sp.csr_matrix:
        """Vectorised popularity by category: the same order as the per-user fill, for a whole chunk at once.

        Score = (number of the user's categories − the category's rank) + popularity / (top popularity + 1), so
        categories come in the user's order and popularity orders items inside each. Each category offers
        ``k`` items (or the category cap's worth) plus the user's consumed items of it, so exclusions never
        starve it.
        """
        if not exclude_consumed and self.params.repeat_weight > 0:
            return super().candidates(rows, k=k, exclude_consumed=exclude_consumed)  # "buy again" blend
        data = self.data
        x = data.matrix[rows]
        consumed = data.consumed[rows] if exclude_consumed else sp.csr_matrix(x.shape, dtype=np.float32)
        cats = data.item_category
        n_cats = int(cats.max(initial=-1)) + 1
        pop = (self.popularity / (float(self.popularity.max(initial=0.0)) + 1.0)).astype(np.float64)
        parts_r: list[np.ndarray] = []
        parts_i: list[np.ndarray] = []
        parts_s: list[np.ndarray] = []
        has_history = np.diff(x.indptr) > 0
        if n_cats and x.nnz:
            known = np.flatnonzero(cats >= 0)
            to_cat = sp.csr_matrix((np.ones(known.size), (known, cats[known])), shape=(data.n_items, n_cats))
            weight = (x @ to_cat).tocoo()
            used = (consumed @ to_cat).tocsr()
            keep = weight.data > 0
            u, c, w = weight.row[keep], weight.col[keep], weight.data[keep]
            order = np.lexsort((c, -w, u))  # per user: heaviest category first, ties to the lower code
            u, c = u[order], c[order]
            starts = np.searchsorted(u, np.arange(rows.size))
            rank = np.arange(u.size) - starts[u]
            n_user_cats = np.bincount(u, minlength=rows.size)
            flat, cat_start, cat_len = self._category_arrays(n_cats)
            extra = np.asarray(used[u, c]).ravel().astype(np.int64) if u.size else np.zeros(0, np.int64)
            per_cat = min(k, max_per_category) if max_per_category else k
            take = np.minimum(cat_len[c], per_cat + extra)
            pos = np.arange(int(take.sum())) - np.repeat(np.cumsum(take) - take, take)
            items = flat[np.repeat(cat_start[c], take) + pos]
            parts_r.append(np.repeat(u, take))
            parts_i.append(items)
            parts_s.append(np.repeat((n_user_cats[u] - rank).astype(np.float64), take) + pop[items])
        # Then the globally popular ones for every user with history (below any category item).
        with_history = np.flatnonzero(has_history)
        extra_global = np.diff(consumed.indptr)[with_history]
        take = np.minimum(self._global_order.size, k + extra_global)
        pos = np.arange(int(take.sum())) - np.repeat(np.cumsum(take) - take, take)
        items = self._global_order[pos]
        parts_r.append(np.repeat(with_history, take))
        parts_i.append(items)
        parts_s.append(pop[items])
        r, i, sc = np.concatenate(parts_r), np.concatenate(parts_i), np.concatenate(parts_s)
        # Keep each (user, item) once, with its best score (a category entry beats its global duplicate).
        order = np.lexsort((-sc, i, r))
        first = np.r_[True, (r[order][1:] != r[order][:-1]) | (i[order][1:] != i[order][:-1])]
        r, i, sc = r[order][first], i[order][first], sc[order][first]
        scores = sp.csr_matrix((sc.astype(np.float32), (r, i)), shape=(rows.size, data.n_items))
        if exclude_consumed and consumed.nnz:
            scores = (scores - scores.multiply(consumed)).tocsr()
            scores.eliminate_zeros()
        return scores

    def _category_arrays(self, n_cats: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The category orders concatenated, each category's start in it and its length."""
        lengths = np.zeros(n_cats, dtype=np.int64)
        chunks = []
        for code in range(n_cats):
            order = self._category_order.get(code)
            if order is not None:
                lengths[code] = order.size
                chunks.append(order)
        flat = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
        return flat.astype(np.int64), np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64), lengths


BlockFn = Callable[[sp.csr_matrix, int], sp.csr_matrix]
"""Rescales one row block of an item-item product (the block and its first row index) before pruning."""


def _similarity(
    left: sp.csr_matrix, right: sp.csr_matrix, neighbours: int, block_fn: BlockFn | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top ``neighbours`` of each row of ``left @ right`` (items × items, diagonal dropped), in row chunks."""
    n_items = left.shape[0]
    # Average non-zeros of a row of the product ≈ sum over an item's users of their item counts.
    per_user = np.diff(right.indptr).astype(np.float64)
    est = float((per_user**2).sum() / max(n_items, 1)) if per_user.size else 1.0
    step = chunk_size(n_items, est)
    parts_r, parts_c, parts_v = [], [], []
    for start in range(0, n_items, step):
        block = (left[start : start + step] @ right).tocsr()
        if block_fn is not None:
            block = block_fn(block, start)
        r, c, v = _prune_rows(block, start, neighbours)
        parts_r.append(r)
        parts_c.append(c)
        parts_v.append(v)
    rows = np.concatenate(parts_r) if parts_r else np.zeros(0, np.int64)
    cols = np.concatenate(parts_c) if parts_c else np.zeros(0, np.int64)
    vals = np.concatenate(parts_v) if parts_v else np.zeros(0, np.float32)
    return rows, cols, vals.astype(np.float64)


def _matrix(data: Interactions, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> sp.csr_matrix:
    """items × items similarity from triplets: columns that cannot be recommended and non-positive values dropped."""
    keep = data.item_eligible[cols] & (vals > 0)  # never score an item that cannot be recommended
    n = data.n_items
    return sp.csr_matrix((vals[keep].astype(np.float32), (rows[keep], cols[keep])), shape=(n, n), dtype=np.float32)


def fit(data: Interactions, params: CFParams | None = None) -> ItemItemModel:
    """Fit the item-kNN: weighted item-item dot products, top ``params.neighbours`` per item."""
    params = params or CFParams()
    w = _weighted(data.matrix, params)
    block_fn: BlockFn | None = None
    if params.weighting == "conditional":
        n = np.asarray(w.sum(axis=0)).ravel().astype(np.float64)
        norm = np.where(n > 0, n, 1.0)

        def conditional(block: sp.csr_matrix, start: int) -> sp.csr_matrix:
            row_norm = norm[start : start + block.shape[0]] ** params.alpha
            block = (sp.diags((1.0 / row_norm).astype(np.float32)) @ block).tocsr()
            if params.alpha < 1.0:
                block.data *= (norm[block.indices] ** (params.alpha - 1.0)).astype(np.float32)
            return block

        block_fn = conditional

    rows, cols, vals = _similarity(w.T.tocsr(), w, params.neighbours, block_fn)
    popularity = np.bincount(data.matrix.indices, minlength=data.n_items).astype(np.float64)
    if params.history_idf > 0:
        idf = np.maximum(np.log(max(data.n_users, 1) / (1.0 + popularity)), 0.0) ** params.history_idf
        vals = vals * idf[rows]
    return ItemItemModel(data, _matrix(data, rows, cols, vals), params)


@dataclass(frozen=True)
class RP3Params:
    """How RP3β is fitted."""

    alpha: float = 1.0
    """Power of every transition probability (1 = the plain random walk; < 1 flattens strong links)."""
    beta: float = 0.5
    """Popularity penalty: the walk's arrival probability at item j is divided by popularity(j)^beta."""
    neighbours: int = 100
    """Most similar items kept per item."""


def fit_rp3beta(data: Interactions, params: RP3Params | None = None) -> RP3BetaModel:
    """Fit RP3β: W = (P_iu · P_ui)^α-walk with columns scaled by popularity^-β, top ``neighbours`` per row."""
    params = params or RP3Params()
    x = data.matrix.astype(np.float32)
    p_ui = _row_stochastic(x)
    p_iu = _row_stochastic(x.T.tocsr())
    if params.alpha != 1.0:
        p_ui.data **= params.alpha
        p_iu.data **= params.alpha
    degree = np.bincount(x.indices, minlength=data.n_items).astype(np.float64)
    penalty = np.divide(1.0, degree**params.beta, out=np.zeros_like(degree), where=degree > 0).astype(np.float32)

    def block_fn(block: sp.csr_matrix, start: int) -> sp.csr_matrix:
        block.data *= penalty[block.indices]
        return block

    rows, cols, vals = _similarity(p_iu, p_ui, params.neighbours, block_fn)
    walk = CFParams(neighbours=params.neighbours, history_idf=0.0, popularity_weight=0.0)
    return RP3BetaModel(data, _matrix(data, rows, cols, vals), walk)


def _row_stochastic(m: sp.csr_matrix) -> sp.csr_matrix:
    """Each row divided by its sum (empty rows stay empty)."""
    m = m.tocsr(copy=True)
    sums = np.asarray(m.sum(axis=1)).ravel()
    inv = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    m.data = (m.data * np.repeat(inv, np.diff(m.indptr))).astype(np.float32)
    return m


def popularity_model(data: Interactions, *, repeat_weight: float = 0.0) -> PopularityModel:
    """The baseline: no similarity, so users get the popularity(-by-category) fallback.

    With ``repeat_weight`` > 0 and consumed items allowed, the user's own items come first ("buy again").
    """
    n = data.n_items
    params = CFParams(
        neighbours=0, history_idf=0.0, popularity_weight=1.0 if repeat_weight else 0.0, repeat_weight=repeat_weight
    )
    return PopularityModel(data, sp.csr_matrix((n, n), dtype=np.float32), params)
