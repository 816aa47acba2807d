"""Automatic model selection per store: temporal hold-out, a small grid per candidate, best recall@k wins.

Owns ``build_holdout`` (each evaluated user's last interaction is held out — one item of their latest
timestamp, or with ``basket`` all of them; users need earlier history), the full-ranking metrics (recall@k, NDCG@k with
bootstrap 95 % intervals) and ``select_model``: fit every candidate of ``models.CANDIDATES`` with each point of
its grid on the training part, score the held-out users over the whole catalog (their training items
excluded, no category cap), keep each candidate's best point, and pick the best recall@k (exact ties → the
cheaper model, i.e. the earlier one in ``CANDIDATES``). A store with fewer than ``MIN_EVAL_USERS`` evaluable
users gets popularity by category, and the result says so.
To stay affordable at scale, the selection runs on a seeded sample of at most ``sample_users`` users, holds
out at most ``max_eval_users`` of them, and tries only each candidate's default point when the training
matrix has more than ``full_grid_max_events`` entries or more than ``full_grid_max_items`` items with
interactions (an EASE inversion is O(n³): one at 20,000 items already takes minutes).
Does not own the models nor the database.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from marketing_gen.errors import InvalidRequest
from marketing_gen.recommend.interactions import Interactions
from marketing_gen.recommend.models import CANDIDATES, GRIDS, ModelTooLarge, active_items, fit_model
from marketing_gen.recommend.ranking import Recommender

MIN_EVAL_USERS = 20
"""Fewer evaluable users than this: too little data to choose, popularity by category is used."""


@dataclass
class Holdout:
    """Training data plus, per evaluated user, the held-out item columns."""

    train: Interactions
    """The data without the held-out entries; ``consumed`` = every remaining entry (all of them are excluded)."""
    users: np.ndarray
    """Evaluated user rows (sorted)."""
    targets: list[np.ndarray]
    """Held-out recommendable items of each evaluated user (same order as ``users``)."""


def build_holdout(data: Interactions, *, max_users: int | None = None, seed: int = 0, basket: bool = False) -> Holdout:
    """Hold out each user's last interaction: one item of their latest timestamp (seeded pick among equal times).

    With ``basket`` every item of the latest timestamp is held out (the last basket). A user is evaluated when
    something earlier stays in training and a held-out item is recommendable; ``max_users`` samples them.
    """
    if data.last_ts is None:
        raise InvalidRequest("a temporal hold-out needs event times: build the interactions with ts=…")
    m = data.matrix
    lengths = np.diff(m.indptr)
    entry_row = np.repeat(np.arange(data.n_users), lengths)
    user_last = np.full(data.n_users, np.iinfo(np.int64).min, dtype=np.int64)
    nonempty = lengths > 0
    if m.nnz:
        user_last[nonempty] = np.maximum.reduceat(data.last_ts, m.indptr[:-1][nonempty])
    held = data.last_ts == user_last[entry_row]
    rng = np.random.default_rng(seed)
    if not basket:
        # One entry per user among the latest ones: the highest seeded random key (recommendable items first).
        key = np.where(held, rng.random(m.nnz) + data.item_eligible[m.indices], -1.0)
        order = np.lexsort((key, entry_row))
        last_of_row = np.r_[entry_row[order][1:] != entry_row[order][:-1], True] if m.nnz else np.zeros(0, bool)
        held = np.zeros(m.nnz, dtype=bool)
        held[order[last_of_row]] = True
    n_held = np.bincount(entry_row[held], minlength=data.n_users)
    n_target = np.bincount(entry_row[held & data.item_eligible[m.indices]], minlength=data.n_users)
    qualifies = (n_held < lengths) & (n_target > 0)
    users = np.flatnonzero(qualifies)
    if max_users is not None and users.size > max_users:
        users = np.sort(rng.choice(users, max_users, replace=False))
    is_eval = np.zeros(data.n_users, dtype=bool)
    is_eval[users] = True
    out = held & is_eval[entry_row]
    keep = ~out
    kept_len = np.bincount(entry_row[keep], minlength=data.n_users)
    indptr = np.r_[0, np.cumsum(kept_len)]
    train_matrix = sp.csr_matrix((m.data[keep], m.indices[keep], indptr), shape=m.shape)
    seen = train_matrix.copy()
    seen.data = np.ones_like(seen.data)
    train = replace(data, matrix=train_matrix, consumed=seen, last_ts=data.last_ts[keep], report={})
    target_entries = out & data.item_eligible[m.indices]
    rows, cols = entry_row[target_entries], m.indices[target_entries]
    bounds = np.searchsorted(rows, users), np.searchsorted(rows, users, side="right")
    targets = [cols[a:b].astype(np.int64) for a, b in zip(*bounds, strict=True)]
    return Holdout(train, users, targets)


def score_lists(lists: dict[int, list[int]], holdout: Holdout, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per evaluated user: recall@k = hits / min(k, |held out|) and binary-relevance NDCG@k."""
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    recall = np.zeros(holdout.users.size)
    ndcg = np.zeros(holdout.users.size)
    for n, (user, target) in enumerate(zip(holdout.users.tolist(), holdout.targets, strict=True)):
        got = np.asarray(lists.get(user, [])[:k], dtype=np.int64)
        hit = np.isin(got, target)
        ideal = min(k, target.size)
        recall[n] = hit.sum() / ideal
        ndcg[n] = float(discount[: got.size][hit].sum() / discount[:ideal].sum())
    return recall, ndcg


def evaluate_model(model: Recommender, holdout: Holdout, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Full-ranking recall@k and NDCG@k per evaluated user (training items excluded, no category cap)."""
    recs = model.recommend(holdout.users, k=k, exclude_consumed=True, max_per_category=None)
    return score_lists(recs.lists(), holdout, k)


def mean_ci(values: np.ndarray, *, samples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of the mean (users resampled)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    means = np.empty(samples)
    for start in range(0, samples, 100):  # 100 resamples at a time bounds the index array
        idx = rng.integers(0, values.size, (min(100, samples - start), values.size))
        means[start : start + idx.shape[0]] = values[idx].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


@dataclass
class GridPoint:
    """One fitted point of a candidate's grid."""

    params: dict[str, Any]
    recall: float
    ndcg: float
    fit_s: float


@dataclass
class CandidateResult:
    """A candidate's best grid point on the hold-out, with 95 % intervals, or why it was skipped."""

    model: str
    params: dict[str, Any] = field(default_factory=dict)
    recall: float = 0.0
    ndcg: float = 0.0
    recall_ci: tuple[float, float] = (0.0, 0.0)
    ndcg_ci: tuple[float, float] = (0.0, 0.0)
    fit_s: float = 0.0
    """Fit time of the best point (seconds)."""
    grid: list[GridPoint] = field(default_factory=list)
    skipped: str | None = None
    """Why the candidate was not fitted (size limit), else None."""


@dataclass
class Selection:
    """What ``select_model`` chose and every figure behind the choice."""

    model: str
    params: dict[str, Any]
    reason: str
    """One sentence: why this model (best recall, a tie, or too little data)."""
    k: int
    eval_users: int
    sample_users: int
    train_events: int
    full_grid: bool
    candidates: list[CandidateResult]
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict (recorded in ``recommender_runs.figures`` and printed by ``--json``)."""
        return asdict(self)

    def summary(self) -> str:
        """One line per candidate plus the choice, for the CLI."""
        lines = [f"model: {self.model} {_params_text(self.params)} — {self.reason}"]
        for c in self.candidates:
            if c.skipped:
                lines.append(f"  {c.model:<11} skipped: {c.skipped}")
                continue
            lines.append(
                f"  {c.model:<11} recall@{self.k} {c.recall:.4f} [{c.recall_ci[0]:.4f}, {c.recall_ci[1]:.4f}]  "
                f"NDCG@{self.k} {c.ndcg:.4f}  fit {c.fit_s:.2f} s  {_params_text(c.params)}"
            )
        return "\n".join(lines)


def _params_text(params: dict[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")" if params else ""


def select_model(
    data: Interactions,
    *,
    k: int = 10,
    candidates: Sequence[str] = CANDIDATES,
    sample_users: int = 20_000,
    max_eval_users: int = 2_000,
    full_grid_max_events: int = 300_000,
    full_grid_max_items: int = 5_000,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Selection:
    """Pick the best candidate for ``data`` by hold-out recall@k (see the module docstring for the protocol)."""
    unknown = [c for c in candidates if c not in CANDIDATES]
    if unknown:
        raise InvalidRequest(f"unknown candidate(s) {unknown}: choose from {', '.join(CANDIDATES)}")
    start = time.perf_counter()
    sample = data
    if data.n_users > sample_users:
        rows = np.sort(np.random.default_rng(seed).choice(data.n_users, sample_users, replace=False))
        sample = data.take_users(rows)
    holdout = build_holdout(sample, max_users=max_eval_users, seed=seed)
    events = int(holdout.train.matrix.nnz)
    full_grid = events <= full_grid_max_events and active_items(holdout.train).size <= full_grid_max_items

    def done(model: str, params: dict[str, Any], reason: str, results: list[CandidateResult]) -> Selection:
        return Selection(
            model,
            params,
            reason,
            k=k,
            eval_users=int(holdout.users.size),
            sample_users=int(sample.n_users),
            train_events=events,
            full_grid=full_grid,
            candidates=results,
            seconds=time.perf_counter() - start,
        )

    if holdout.users.size < MIN_EVAL_USERS:
        reason = (
            f"too little data to choose: {holdout.users.size} user(s) with earlier history and a later "
            f"interaction (need {MIN_EVAL_USERS}); using popularity by category"
        )
        return done("popularity", {}, reason, [])
    results: list[CandidateResult] = []
    best_values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in [c for c in CANDIDATES if c in candidates]:
        result = CandidateResult(name)
        grid = GRIDS[name] if full_grid else GRIDS[name][:1]
        for n, params in enumerate(grid, 1):
            if progress:
                progress(f"fitting {name} {n}/{len(grid)} {_params_text(params)}")
            t0 = time.perf_counter()
            try:
                model = fit_model(name, params, holdout.train)
            except ModelTooLarge as exc:
                result.skipped = str(exc)
                break
            fit_s = time.perf_counter() - t0
            recall, ndcg = evaluate_model(model, holdout, k)
            del model
            point = GridPoint(dict(params), float(recall.mean()), float(ndcg.mean()), round(fit_s, 3))
            result.grid.append(point)
            if name not in best_values or point.recall > result.recall:
                result.params, result.recall, result.ndcg = point.params, point.recall, point.ndcg
                result.fit_s = point.fit_s
                best_values[name] = (recall, ndcg)
        if name in best_values:
            result.recall_ci = mean_ci(best_values[name][0], seed=seed)
            result.ndcg_ci = mean_ci(best_values[name][1], seed=seed)
        results.append(result)
    fitted = [r for r in results if r.skipped is None]
    top = max(r.recall for r in fitted)
    chosen = next(r for r in fitted if math.isclose(r.recall, top, rel_tol=1e-12, abs_tol=1e-12))
    tied = [r.model for r in fitted if r is not chosen and math.isclose(r.recall, top, rel_tol=1e-12, abs_tol=1e-12)]
    reason = f"best hold-out recall@{k} {top:.4f} over {holdout.users.size} users"
    if tied:
        reason += f" (tied with {', '.join(tied)}: the cheaper model wins)"
    return done(chosen.model, chosen.params, reason, results)
