"""Every model on planted structure; EASE against its closed form; consumed items; determinism; size limit."""

from __future__ import annotations

import numpy as np
import pytest

from marketing_gen.errors import InvalidRequest
from marketing_gen.recommend.interactions import EVENTS, PURCHASE, RATING, build_interactions
from marketing_gen.recommend.models import CANDIDATES, GRIDS, EaseParams, ModelTooLarge, fit_ease, fit_model

VIEW, CART = EVENTS.index("view"), EVENTS.index("cart")


def two_groups(seed: int = 0):
    """70 users of taste A (items 0-9, category 0) and 30 of taste B (items 10-19, category 1), 5 items each.

    A's items are the most popular overall, so a model that ignores the user would offer them to B users too.
    """
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(100):
        first = 0 if u < 70 else 10
        weights = 1.0 / np.arange(1, 11)  # a popularity gradient inside each group
        picks = rng.choice(10, 5, replace=False, p=weights / weights.sum())
        users += [u] * 5
        items += (first + picks).tolist()
    cats = np.array([0] * 10 + [1] * 10)
    ts = np.arange(len(users))
    data = build_interactions(
        100, 20, np.array(users), np.array(items), np.full(len(users), PURCHASE), ts=ts, item_category=cats
    )
    return data


@pytest.mark.parametrize("name", CANDIDATES)
def test_every_model_keeps_each_taste_group_in_its_group(name):
    data = two_groups()
    model = fit_model(name, GRIDS[name][0], data)
    recs = model.recommend(k=3, max_per_category=None)
    assert recs.counts["skipped"] == 0 and recs.item.size == 300
    group_of_user = np.where(recs.user < 70, 0, 1)
    group_of_item = recs.item // 10
    assert np.array_equal(group_of_user, group_of_item), f"{name} crossed groups"
    bought = set(zip(*data.consumed.nonzero(), strict=True))
    assert not bought & set(zip(recs.user.tolist(), recs.item.tolist(), strict=True))


def test_ease_matches_its_closed_form():
    rng = np.random.default_rng(1)
    x = (rng.random((12, 6)) < 0.5).astype(float)
    x[:, 5] = 0  # an item without interactions: not part of B
    users, items = np.nonzero(x)
    data = build_interactions(12, 6, users, items, np.full(users.size, PURCHASE), ts=np.zeros(users.size))
    lam = 3.0
    model = fit_ease(data, EaseParams(lam=lam))
    w = data.matrix.toarray()[:, :5].astype(np.float64)
    p = np.linalg.inv(w.T @ w + lam * np.eye(5))
    expected = np.eye(5) - p @ np.diag(1.0 / np.diag(p))
    assert model.active.tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(model.weights, expected, atol=1e-5)
    assert np.all(np.diag(model.weights) == 0)
    # The ranking follows x·B: the best unseen item of user 0 is the arg-max of its score row.
    scores = w[0] @ expected
    unseen = [i for i in range(5) if w[0, i] == 0]
    if unseen:
        best = max(unseen, key=lambda i: (scores[i], -i))
        assert model.recommend(np.array([0]), k=1, max_per_category=None).item.tolist() == [best]


def test_ease_refuses_a_catalog_over_its_limit_and_says_why():
    data = two_groups()
    with pytest.raises(ModelTooLarge, match="20 items with interactions > its limit of 10.*GB"):
        fit_ease(data, max_items=10)


@pytest.mark.parametrize("name", CANDIDATES)
def test_purchased_and_rated_items_are_excluded_viewed_and_carted_are_not(name):
    data0 = two_groups()
    rows, cols = data0.matrix.nonzero()
    # User 100 (taste A) viewed 0, carted 1, rated 2 and bought 3: the four most popular A items.
    users = np.r_[rows, [100, 100, 100, 100, 100]]
    items = np.r_[cols, [0, 1, 2, 3, 4]]
    events = np.r_[np.full(rows.size, PURCHASE), [VIEW, CART, RATING, PURCHASE, PURCHASE]]
    data = build_interactions(
        101, 20, users, items, events, ts=np.arange(users.size), item_category=data0.item_category
    )
    model = fit_model(name, GRIDS[name][0], data)
    default = set(model.recommend(np.array([100]), k=15, max_per_category=None).item.tolist())
    assert not default & {2, 3, 4}
    assert {0, 1} <= default
    allowed = set(model.recommend(np.array([100]), k=15, max_per_category=None, exclude_consumed=False).item.tolist())
    assert {2, 3} <= allowed


@pytest.mark.parametrize("name", CANDIDATES)
def test_every_model_is_deterministic_and_respects_eligibility(name):
    data = two_groups(seed=3)
    data.item_eligible[[0, 10]] = False  # the most popular item of each group is out of stock
    a = fit_model(name, GRIDS[name][0], data).recommend(k=4)
    b = fit_model(name, GRIDS[name][0], data).recommend(k=4)
    assert np.array_equal(a.user, b.user) and np.array_equal(a.item, b.item) and np.array_equal(a.score, b.score)
    assert not set(a.item.tolist()) & {0, 10}


def test_category_cap_applies_after_scoring_for_dense_models():
    data = two_groups()
    recs = fit_model("ease", {}, data).recommend(k=4, max_per_category=2)
    per_user_cat: dict[tuple[int, int], int] = {}
    for u, i in zip(recs.user.tolist(), recs.item.tolist(), strict=True):
        key = (u, int(data.item_category[i]))
        per_user_cat[key] = per_user_cat.get(key, 0) + 1
    assert max(per_user_cat.values()) == 2 and recs.counts["skipped"] == 0
    assert (np.bincount(recs.user) == 4).all()  # the cap forced the other group's items in, never fewer items


def test_unknown_model_and_bad_params_are_client_errors():
    data = two_groups()
    with pytest.raises(InvalidRequest, match="not one of auto"):
        fit_model("magic", {}, data)
    with pytest.raises(InvalidRequest, match="bad parameters for ease"):
        fit_model("ease", {"lambda": 1}, data)


@pytest.mark.parametrize("cap", [None, 2])
def test_vectorised_popularity_gives_the_per_user_fill_order(cap):
    import scipy.sparse as sp

    from marketing_gen.recommend.cf import CFParams, ItemItemModel, popularity_model

    rng = np.random.default_rng(11)
    n_users, n_items = 300, 60
    users = rng.integers(0, n_users, 2500)
    items = (rng.pareto(1.2, 2500) * 6).astype(int) % n_items
    events = rng.choice([PURCHASE, RATING, VIEW, CART], 2500)
    cats = rng.integers(-1, 6, n_items)  # some items without a category
    eligible = rng.random(n_items) > 0.1
    data = build_interactions(
        n_users, n_items, users, items, events, ts=np.arange(2500), item_category=cats, item_eligible=eligible
    )
    fast = popularity_model(data).recommend(k=8, max_per_category=cap)
    # The reference: no candidates at all, so every user goes through the per-user fill.
    slow = ItemItemModel(data, sp.csr_matrix((n_items, n_items), dtype=np.float32), CFParams(neighbours=0))
    reference = slow.recommend(k=8, max_per_category=cap)
    assert fast.lists() == reference.lists()
    assert fast.counts["with_cf"] > 0 and reference.counts["with_cf"] == 0
