"""Offline comparison of every candidate model and of ``auto`` on a data set, with 95 % intervals.

Owns ``evaluate_candidates``: an outer temporal hold-out (each user's last interactions, see
``select.build_holdout``) is the test set; ``select_model`` runs on the outer training part exactly as
``recommend --model auto`` would on a store (its own inner hold-out picks each candidate's grid point and the
winner); then every candidate, at its chosen point, is refitted on the whole training part and scored on the
test users over the full catalog (recall@k = hits / min(k, held-out items), binary NDCG@k). ``auto`` is the
candidate the inner selection picked — measured on data it never saw. Does not own the models, the metrics or
the readers (``select.py``, ``datasets.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from marketing_gen.recommend.interactions import Interactions
from marketing_gen.recommend.models import CANDIDATES, GRIDS, ModelTooLarge, fit_model
from marketing_gen.recommend.select import Selection, build_holdout, evaluate_model, mean_ci, select_model


@dataclass
class EvalRow:
    """One model's test figures."""

    model: str
    params: dict[str, Any] = field(default_factory=dict)
    recall: float = 0.0
    ndcg: float = 0.0
    recall_ci: tuple[float, float] = (0.0, 0.0)
    ndcg_ci: tuple[float, float] = (0.0, 0.0)
    fit_s: float = 0.0
    skipped: str | None = None


@dataclass
class EvalReport:
    """Test rows of every candidate and of ``auto``, plus the inner selection that chose ``auto``."""

    dataset: str
    k: int
    test_users: int
    train_events: int
    rows: list[EvalRow]
    auto: EvalRow
    selection: Selection
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)


def evaluate_candidates(
    data: Interactions,
    *,
    name: str = "data",
    k: int = 10,
    candidates: Sequence[str] = CANDIDATES,
    seed: int = 0,
    max_test_users: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvalReport:
    """Outer hold-out → inner selection on the training part → every candidate and ``auto`` on the test users."""
    start = time.perf_counter()
    outer = build_holdout(data, max_users=max_test_users, seed=seed)
    selection = select_model(outer.train, k=k, candidates=candidates, seed=seed, progress=progress)
    chosen_params = {c.model: c.params for c in selection.candidates if c.skipped is None}
    rows: list[EvalRow] = []
    for model_name in [c for c in CANDIDATES if c in candidates]:
        params = chosen_params.get(model_name, GRIDS[model_name][0])
        if progress:
            progress(f"testing {model_name}")
        t0 = time.perf_counter()
        try:
            model = fit_model(model_name, params, outer.train)
        except ModelTooLarge as exc:
            rows.append(EvalRow(model_name, dict(params), skipped=str(exc)))
            continue
        fit_s = time.perf_counter() - t0
        recall, ndcg = evaluate_model(model, outer, k)
        rows.append(
            EvalRow(
                model_name,
                dict(params),
                float(recall.mean()) if recall.size else 0.0,
                float(ndcg.mean()) if ndcg.size else 0.0,
                mean_ci(recall, seed=seed),
                mean_ci(ndcg, seed=seed),
                round(fit_s, 3),
            )
        )
    picked = next(r for r in rows if r.model == selection.model)
    auto = EvalRow(
        f"auto → {picked.model}",
        picked.params,
        picked.recall,
        picked.ndcg,
        picked.recall_ci,
        picked.ndcg_ci,
        round(selection.seconds + picked.fit_s, 3),  # what auto costs: the selection plus the refit
    )
    return EvalReport(
        dataset=name,
        k=k,
        test_users=int(outer.users.size),
        train_events=int(outer.train.matrix.nnz),
        rows=rows,
        auto=auto,
        selection=selection,
        seconds=round(time.perf_counter() - start, 2),
    )
