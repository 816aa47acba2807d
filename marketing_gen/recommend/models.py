"""The dense-scoring models (EASE, iALS) and the one table of every candidate: name, params, fit, grid.

- EASE (Steck 2019): B = I − P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, zero diagonal; a dense items × items
  matrix, so only for catalogs up to ``EASE_MAX_ITEMS`` items with interactions (memory: 4·n² bytes per dense
  float32 matrix, two alive while inverting: 20,000 items ≈ 3.2 GB; time O(n³)).
- iALS (Hu, Koren & Volinsky 2008; tuned as in Rendle et al. 2021): the ``implicit`` package's conjugate-gradient
  ALS on confidence 1 + α·weight; scores are user factors · item factors.
Both score chunks of users densely and keep the best columns with ``ranking.dense_candidates``.
``fit_model(name, params, data)`` fits any candidate (``popularity``, ``item-knn``, ``rp3beta``, ``ials``,
``ease``), ``GRIDS`` lists the hyper-parameters the automatic selection tries.
Does not own the selection (``select.py``) nor the ranking (``ranking.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from marketing_gen.errors import InvalidRequest
from marketing_gen.recommend.cf import CFParams, RP3Params, fit, fit_rp3beta, popularity_model
from marketing_gen.recommend.interactions import Interactions
from marketing_gen.recommend.ranking import Recommender, dense_candidates

EASE_MAX_ITEMS = 20_000
"""Largest number of items (with interactions) EASE is fitted for: its dense item × item float32 matrices take
4·n² bytes each (1.6 GB at 20,000 items, two at once while inverting) and the inversion O(n³) time."""

DENSE_BLOCK = 20_000_000
"""Scores per dense chunk (rows × items float32 = 80 MB)."""


class ModelTooLarge(InvalidRequest):
    """A model cannot be fitted on this data within its size limit (the message says why and what to use)."""


@dataclass(frozen=True)
class EaseParams:
    """How EASE is fitted."""

    lam: float = 200.0
    """L2 penalty λ added to the diagonal of the Gram matrix XᵀX (larger = smoother, closer to popularity)."""


@dataclass(frozen=True)
class IALSParams:
    """How iALS is fitted (``implicit``'s conjugate-gradient ALS)."""

    factors: int = 64
    """Latent dimensions."""
    regularization: float = 5.0
    """L2 penalty on the factors (small values overfit: 0.05 let two disjoint taste groups leak into each other)."""
    alpha: float = 10.0
    """Confidence of an observed entry: 1 + alpha · weight."""
    iterations: int = 12
    """Alternating sweeps (users, then items)."""
    seed: int = 0
    """Seed of the factor initialisation: same data and seed → same factors."""


class _DenseModel(Recommender):
    """Common part of the dense models: chunk size and the consumed / not-recommendable mask."""

    def chunk_rows(self) -> int:
        """Users per chunk so the dense chunk stays around ``DENSE_BLOCK`` scores."""
        return int(max(16, min(max(self.data.n_users, 1), DENSE_BLOCK // max(self.data.n_items, 1))))

    def _blocked(self, rows: np.ndarray, exclude_consumed: bool) -> sp.coo_matrix:
        """Per-row entries never offered to these users: their consumed items (when excluded)."""
        if exclude_consumed:
            return self.data.consumed[rows].tocoo()
        return sp.coo_matrix((rows.size, self.data.n_items), dtype=np.float32)

    def _has_history(self, rows: np.ndarray) -> np.ndarray:
        return np.diff(self.data.matrix.indptr)[rows] > 0


@dataclass
class EaseModel(_DenseModel):
    """A fitted EASE model: the dense item-item weights over the items that have interactions."""

    active: np.ndarray
    """Item columns with at least one interaction (the rows / columns of ``weights``)."""
    weights: np.ndarray
    """len(active) × len(active) float32, zero diagonal."""
    params: EaseParams = field(default_factory=EaseParams)

    name: ClassVar[str] = "ease"

    @property
    def _ineligible_active(self) -> np.ndarray:
        """Positions in ``active`` of the items that cannot be recommended."""
        return np.flatnonzero(~self.data.item_eligible[self.active])

    def candidates(
        self, rows: np.ndarray, *, k: int, exclude_consumed: bool, max_per_category: int | None = None
    ) -> sp.csr_matrix:
        """x_u · B for a chunk of users, best ``3k`` per user among recommendable (and unconsumed) items."""
        x = self.data.matrix[rows][:, self.active]
        dense = np.asarray(x @ self.weights, dtype=np.float32)
        blocked = self._blocked(rows, exclude_consumed).tocsc()[:, self.active].tocoo()
        top = dense_candidates(dense, self._ineligible_active, blocked, 3 * k, self._has_history(rows))
        return sp.csr_matrix((top.data, self.active[top.indices], top.indptr), shape=(rows.size, self.data.n_items))


def active_items(data: Interactions) -> np.ndarray:
    """Item columns with at least one interaction."""
    return np.flatnonzero(np.bincount(data.matrix.indices, minlength=data.n_items) > 0)


def fit_ease(data: Interactions, params: EaseParams | None = None, *, max_items: int | None = None) -> EaseModel:
    """Closed-form EASE on the items with interactions; raises ``ModelTooLarge`` above ``max_items`` of them
    (default ``EASE_MAX_ITEMS``)."""
    params = params or EaseParams()
    max_items = EASE_MAX_ITEMS if max_items is None else max_items
    active = active_items(data)
    n = int(active.size)
    if n > max_items:
        raise ModelTooLarge(
            f"EASE skipped: {n:,} items with interactions > its limit of {max_items:,} "
            f"(a dense {n:,}² float32 matrix is {4 * n * n / 1e9:.1f} GB, two while inverting); "
            "use rp3beta, item-knn or ials"
        )
    x = data.matrix[:, active]
    dtype = np.float64 if n <= 5_000 else np.float32  # float32 halves the memory of large catalogs
    gram = (x.T @ x).toarray().astype(dtype)
    gram[np.diag_indices(n)] += params.lam
    p = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
    del gram
    p /= -np.diag(p)[None, :]  # B = -P / diag(P) column-wise (P is symmetric)
    p[np.diag_indices(n)] = 0.0
    return EaseModel(data, active, p.astype(np.float32, copy=False), params)


@dataclass
class IALSModel(_DenseModel):
    """A fitted iALS model: user and item factors."""

    user_factors: np.ndarray
    item_factors: np.ndarray
    params: IALSParams = field(default_factory=IALSParams)

    name: ClassVar[str] = "ials"

    def candidates(
        self, rows: np.ndarray, *, k: int, exclude_consumed: bool, max_per_category: int | None = None
    ) -> sp.csr_matrix:
        """User factors · item factors for a chunk of users, best ``3k`` per user among allowed items."""
        dense = self.user_factors[rows] @ self.item_factors.T
        blocked = self._blocked(rows, exclude_consumed)
        ineligible = np.flatnonzero(~self.data.item_eligible)
        return dense_candidates(dense, ineligible, blocked, 3 * k, self._has_history(rows))


def fit_ials(data: Interactions, params: IALSParams | None = None) -> IALSModel:
    """Fit iALS with ``implicit`` (CPU, conjugate gradient; BLAS kept to one thread as ``implicit`` asks)."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    params = params or IALSParams()
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=params.factors,
            regularization=params.regularization,
            alpha=params.alpha,
            iterations=params.iterations,
            calculate_training_loss=False,
            random_state=params.seed,
        )
        model.fit(data.matrix.astype(np.float32).tocsr(), show_progress=False)
    users = np.asarray(model.user_factors, dtype=np.float32)
    items = np.asarray(model.item_factors, dtype=np.float32)
    items[~data.item_eligible] = 0.0  # never scored: also blocked, this only keeps the factors honest in reports
    return IALSModel(data, users, items, params)


CANDIDATES: tuple[str, ...] = ("popularity", "item-knn", "rp3beta", "ials", "ease")
"""Every model, cheapest first: on equal hold-out recall the automatic selection takes the earlier one."""

PARAMS: dict[str, type] = {
    "popularity": dict,
    "item-knn": CFParams,
    "rp3beta": RP3Params,
    "ials": IALSParams,
    "ease": EaseParams,
}

GRIDS: dict[str, tuple[dict[str, Any], ...]] = {
    "popularity": ({},),
    "item-knn": (
        {},
        {"weighting": "cosine", "neighbours": 100, "popularity_weight": 0.0, "history_idf": 0.0},
        {"popularity_weight": 1.0},
    ),
    "rp3beta": ({"alpha": 1.0, "beta": 0.5}, {"alpha": 1.0, "beta": 0.3}, {"alpha": 0.8, "beta": 0.7}),
    "ials": (
        {"factors": 64, "regularization": 5.0, "alpha": 10.0},
        {"factors": 64, "regularization": 20.0, "alpha": 10.0},
        {"factors": 64, "regularization": 5.0, "alpha": 30.0},
    ),
    "ease": ({"lam": 200.0}, {"lam": 50.0}, {"lam": 10.0}, {"lam": 2.0}),
}
"""Hyper-parameters tried per candidate, the first being the default (the only one tried on large data)."""


def fit_model(name: str, params: dict[str, Any] | None, data: Interactions) -> Recommender:
    """Fit candidate ``name`` with ``params`` (field → value; missing fields take their defaults)."""
    params = dict(params or {})
    if name not in PARAMS:
        raise InvalidRequest(f"model={name!r} is not one of auto, {', '.join(CANDIDATES)}")
    if name == "popularity":
        return popularity_model(data, repeat_weight=float(params.get("repeat_weight", 0.0)))
    try:
        typed = PARAMS[name](**params)
    except TypeError as exc:
        raise InvalidRequest(f"bad parameters for {name}: {params} ({exc})") from exc
    if name == "item-knn":
        return fit(data, typed)
    if name == "rp3beta":
        return fit_rp3beta(data, typed)
    if name == "ials":
        return fit_ials(data, typed)
    return fit_ease(data, typed)
