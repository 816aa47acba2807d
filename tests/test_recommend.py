"""Built-in recommender: item-kNN on planted patterns, filters, fallback, DB writes and runs, CLI."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from marketing_gen.cli import main
from marketing_gen.db import session_scope
from marketing_gen.db.models import Interaction, Item, Recommendation, RecommenderRun, User
from marketing_gen.errors import InvalidRequest
from marketing_gen.recommend.cf import CFParams, fit, popularity_model
from marketing_gen.recommend.interactions import EVENTS, PURCHASE, build_interactions
from marketing_gen.recommend.store import load_store_data, run_recommend

VIEW = EVENTS.index("view")


def planted(n_items: int = 12) -> tuple[list[int], list[int]]:
    """30 users buy items 0 and 1 together; 70 users buy the popular item 2 plus one of items 3..7."""
    users, items = [], []
    for u in range(30):
        users += [u, u]
        items += [0, 1]
    for u in range(30, 100):
        users += [u, u]
        items += [2, 3 + u % 5]
    return users, items


def interactions(users, items, n_users=102, n_items=12, **kw):
    event = kw.pop("event", None)
    event = np.full(len(users), PURCHASE) if event is None else np.asarray(event)
    return build_interactions(n_users, n_items, np.array(users), np.array(items), event, **kw)


def test_cf_recommends_the_co_purchased_item_first():
    users, items = planted()
    data = interactions(users + [100], items + [0])
    recs = fit(data, CFParams(popularity_weight=0.0)).recommend(np.array([100]), k=3).lists()
    baseline = popularity_model(data).recommend(np.array([100]), k=3).lists()
    assert recs[100][0] == 1  # bought with item 0 by everyone who bought 0
    assert baseline[100][0] == 2  # popularity alone offers the most bought item
    assert 0 not in recs[100]  # already purchased


@pytest.mark.parametrize("weighting", ["tfidf", "bm25", "cosine", "conditional", "none"])
def test_every_weighting_finds_the_planted_pair(weighting):
    users, items = planted()
    data = interactions(users + [100], items + [0])
    recs = fit(data, CFParams(weighting=weighting, popularity_weight=0.0)).recommend(np.array([100]), k=1)
    assert recs.item.tolist() == [1]


def test_out_of_stock_and_unpriced_items_are_never_recommended():
    users, items = planted()
    eligible = np.ones(12, dtype=bool)
    eligible[[1, 2]] = False  # 1 = the co-purchased item, 2 = the most popular one
    data = interactions(users + [100], items + [0], item_eligible=eligible)
    recs = fit(data).recommend(k=10)
    assert recs.item.size > 0
    assert not set(recs.item.tolist()) & {1, 2}


def test_purchased_items_excluded_by_default_and_allowed_on_request():
    users, items = planted()
    data = interactions(users, items)
    model = fit(data)
    default = model.recommend(np.arange(100), k=5)
    bought = {(u, i) for u, i in zip(users, items, strict=True)}
    assert not bought & set(zip(default.user.tolist(), default.item.tolist(), strict=True))
    allowed = model.recommend(np.arange(100), k=5, exclude_consumed=False)
    assert bought & set(zip(allowed.user.tolist(), allowed.item.tolist(), strict=True))


def test_category_cap_limits_items_per_category():
    rng = np.random.default_rng(1)
    users = rng.integers(0, 200, 3000)
    items = rng.integers(0, 40, 3000)
    cats = np.arange(40) // 10  # four categories of ten items
    data = interactions(users.tolist(), items.tolist(), n_users=200, n_items=40, item_category=cats)
    recs = fit(data).recommend(k=6, max_per_category=2)
    per_user_cat: dict[tuple[int, int], int] = {}
    for u, i in zip(recs.user.tolist(), recs.item.tolist(), strict=True):
        per_user_cat[(u, int(cats[i]))] = per_user_cat.get((u, int(cats[i])), 0) + 1
    assert max(per_user_cat.values()) == 2
    uncapped = fit(data).recommend(k=6, max_per_category=None)
    counts: dict[tuple[int, int], int] = {}
    for u, i in zip(uncapped.user.tolist(), uncapped.item.tolist(), strict=True):
        counts[(u, int(cats[i]))] = counts.get((u, int(cats[i])), 0) + 1
    assert max(counts.values()) > 2  # the cap is what kept lists diverse


def test_cold_user_gets_popular_items_of_their_category():
    # Items 0-4 "kitchen" (cat 0), 5-9 "garden" (cat 1); item 9 is cold (nobody else touched it).
    cats = np.array([0] * 5 + [1] * 5)
    users, items = [], []
    for u in range(20):
        users += [u, u]
        items += [u % 3, 5 + u % 2]  # kitchen popularity: 0 > 1 > 2; garden: 5 == 6 (ties by index)
    for u in range(20, 40):
        users.append(u)
        items.append(0)
    users.append(40)
    items.append(9)  # the cold user only viewed the cold garden item
    event = [PURCHASE] * (len(users) - 1) + [VIEW]
    data = interactions(users, items, n_users=42, n_items=10, item_category=cats, event=event)
    model = fit(data)
    recs = model.recommend(np.array([40, 41]), k=3)
    lists = recs.lists()
    # Garden first: popular 5 and 6, then 9 (viewed, not bought: still offered) before untouched 7 and 8.
    assert lists[40] == [5, 6, 9]
    assert lists[41][0] == 0  # no history at all: globally popular
    assert recs.counts["cold_start"] == 2
    assert not recs.from_cf.any()


def test_bad_input_is_counted_not_fatal():
    users = [0, 0, 1, -1, 5, 2, 1]
    items = [0, 0, 1, 1, 1, 99, 2]
    ts = [10, 10, 10, 10, 10, 10, 11]
    event = [PURCHASE, PURCHASE, PURCHASE, PURCHASE, PURCHASE, PURCHASE, 9]
    data = build_interactions(4, 3, np.array(users), np.array(items), np.array(event), ts=np.array(ts))
    assert data.report["duplicates"] == 1
    assert data.report["unknown_user"] == 2  # -1 and 5 (out of range)
    assert data.report["unknown_item"] == 1
    assert data.report["unknown_event"] == 1
    assert data.report["users_without_interactions"] == 2
    assert data.report["items_without_interactions"] == 1
    recs = fit(data).recommend(k=2)
    assert recs.counts["users"] == 4 and recs.counts["skipped"] == 0


def test_ties_go_to_the_lower_item_index():
    # Item 0 co-occurs once each with items 5, 3 and 4: equal scores and equal popularity.
    users = [0, 0, 1, 1, 2, 2, 3]
    items = [0, 5, 0, 3, 0, 4, 0]
    data = interactions(users, items, n_users=4, n_items=6)
    recs = fit(data).recommend(np.array([3]), k=3)
    assert recs.item.tolist() == [3, 4, 5]
    assert recs.rank.tolist() == [1, 2, 3]
    assert len(set(recs.score.tolist())) == 1


def test_unknown_weighting_is_a_client_error():
    data = interactions(*planted())
    with pytest.raises(InvalidRequest, match="weighting"):
        fit(data, CFParams(weighting="magic"))  # type: ignore[arg-type]


def test_recommendations_are_deterministic():
    rng = np.random.default_rng(3)
    users, items = rng.integers(0, 300, 4000), rng.integers(0, 80, 4000)
    data = interactions(users.tolist(), items.tolist(), n_users=300, n_items=80)
    a, b = fit(data).recommend(k=10), fit(data).recommend(k=10)
    assert np.array_equal(a.item, b.item) and np.array_equal(a.user, b.user)


# -- database -----------------------------------------------------------------------------------------------


def seed_store(url: str) -> None:
    """Users u0..u9, items i0..i7 (i6 out of stock, i7 unpriced), planted co-purchases, an upstream row."""
    ts = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    with session_scope(url) as s:
        s.add_all([User(external_id=f"u{n}", first_name=f"U{n}") for n in range(10)])
        s.add_all(
            [
                Item(
                    external_id=f"i{n}",
                    title=f"Item {n}",
                    category="Home > Kitchen" if n < 4 else "Garden",
                    price=None if n == 7 else Decimal("5.00"),
                    in_stock=n != 6,
                )
                for n in range(8)
            ]
        )
        s.flush()
        uid = {u.external_id: u.id for u in s.scalars(select(User))}
        iid = {i.external_id: i.id for i in s.scalars(select(Item))}
        pairs = [(f"u{n}", "i0") for n in range(6)] + [(f"u{n}", "i1") for n in range(5)]
        pairs += [(f"u{n}", "i6") for n in range(6)] + [(f"u{n}", "i7") for n in range(6)]
        pairs += [("u6", "i4"), ("u7", "i4"), ("u7", "i5"), ("u5", "i2")]
        s.add_all(
            [Interaction(user_id=uid[u], item_id=iid[i], event="purchase", ts=ts) for u, i in pairs]
            + [Interaction(user_id=uid["u0"], item_id=iid["i0"], event="view", ts=ts)]
        )
        s.add(Recommendation(user_id=uid["u9"], item_id=iid["i3"], rank=1, score=1.0, source="upstream"))


def rows_of(url: str) -> list[tuple[str, str, int, str]]:
    with session_scope(url) as s:
        q = (
            select(User.external_id, Item.external_id, Recommendation.rank, Recommendation.source)
            .join(User, User.id == Recommendation.user_id)
            .join(Item, Item.id == Recommendation.item_id)
            .order_by(User.external_id, Recommendation.source, Recommendation.rank)
        )
        return [tuple(r) for r in s.execute(q)]


def test_db_write_is_idempotent_and_filters_hold(any_db_url):
    seed_store(any_db_url)
    first = run_recommend(any_db_url, k=4, model="item-knn")
    rows = rows_of(any_db_url)
    assert run_recommend(any_db_url, k=4, model="item-knn").export == first.export
    assert rows_of(any_db_url) == rows  # rerun: same rows, no duplicates
    with session_scope(any_db_url) as s:
        n = s.scalar(select(func.count()).select_from(Recommendation))
        dup = s.execute(
            select(Recommendation.user_id, Recommendation.item_id, Recommendation.source)
            .group_by(Recommendation.user_id, Recommendation.item_id, Recommendation.source)
            .having(func.count() > 1)
        ).all()
    assert n == len(rows) and not dup
    builtin = [r for r in rows if r[3] == "builtin"]
    assert {r[1] for r in builtin}.isdisjoint({"i6", "i7"})  # out of stock, unpriced
    assert ("u9", "i3", 1, "upstream") in rows  # upstream rows untouched
    assert {r[0] for r in builtin} == {f"u{n}" for n in range(10)}
    assert ("u5", "i1", 1, "builtin") in builtin  # u5 bought i0 like u0-u4, who also bought i1
    # u8, u9: no interactions; u7: bought i4 and i5, whose only neighbours are each other (excluded as bought).
    assert first.counts["cold_start"] == 3
    assert first.report["items_without_price"] == 1 and first.report["items_out_of_stock"] == 1


def test_recommend_for_some_users_replaces_only_theirs(db_url):
    seed_store(db_url)
    run_recommend(db_url, k=3, model="item-knn")
    before = rows_of(db_url)
    run = run_recommend(db_url, k=1, users=["u5", "nobody"], model="item-knn")
    after = rows_of(db_url)
    assert run.counts["unknown_users"] == 1 and run.counts["users"] == 1
    assert [r for r in after if r[0] == "u5" and r[3] == "builtin"] == [("u5", "i1", 1, "builtin")]
    assert [r for r in after if r[0] != "u5"] == [r for r in before if r[0] != "u5"]


def test_auto_on_a_tiny_store_falls_back_to_popularity_and_records_why(db_url):
    seed_store(db_url)
    run = run_recommend(db_url, k=3)
    assert run.model == "popularity" and run.selection is not None
    assert "too little data" in run.selection.reason and "popularity by category" in run.selection.reason
    with session_scope(db_url) as s:
        recorded = s.scalars(select(RecommenderRun)).one()
        assert (recorded.model, recorded.requested) == ("popularity", "auto")
        assert recorded.figures["reason"] == run.selection.reason
        assert recorded.counts["rows_written"] == run.counts["rows_written"] > 0
    builtin = [r for r in rows_of(db_url) if r[3] == "builtin"]
    assert {r[1] for r in builtin}.isdisjoint({"i6", "i7"})  # out of stock, unpriced
    assert ("u9", "i3", 1, "upstream") in rows_of(db_url)
    # u5 bought i0, i2 (kitchen) and i6, i7 (garden): none comes back; equal category weights, so Garden (the
    # lower category code) first with its popular i4, i5, then the kitchen item it has not bought.
    u5 = [r[1] for r in builtin if r[0] == "u5"]
    assert u5 == ["i4", "i5", "i1"]


def test_load_store_data_maps_ids(db_url):
    seed_store(db_url)
    with session_scope(db_url) as s:
        store = load_store_data(s)
    assert store.user_external == [f"u{n}" for n in range(10)]
    assert store.categories == ["Garden", "Home > Kitchen"]
    assert store.interactions.item_eligible.tolist() == [True] * 6 + [False, False]
    assert store.interactions.report["events_used"] == 28


# -- CLI ----------------------------------------------------------------------------------------------------


def test_recommend_cli_json_and_csv(settings_env, db_url, tmp_path):
    seed_store(db_url)
    out = tmp_path / "recs.csv"
    result = CliRunner().invoke(main, ["recommend", "--k", "2", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["counts"]["users"] == 10
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [{k: str(v) for k, v in r.items()} for r in payload["recommendations"]]
    assert set(rows[0]) == {"user_id", "item_id", "rank", "score"}
    assert payload["model"] == "popularity" and "too little data" in payload["selection"]["reason"]
    text = CliRunner().invoke(main, ["recommend", "--user-ids", "u1,u2"])
    assert text.exit_code == 0 and "users 2" in text.output and "too little data" in text.output
    forced = CliRunner().invoke(main, ["recommend", "--model", "ease", "--k", "2"])
    assert forced.exit_code == 0 and "model: ease" in forced.output
    bad = CliRunner().invoke(main, ["recommend", "--neighbours", "5"])
    assert bad.exit_code == 2 and "--model item-knn" in bad.output


def test_bench_cli_small(tmp_path):
    args = ["bench", "recs", "--users", "300", "--items", "40", "--db-users", "0", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["counts"]["users"] == 300 and figures["rows"] > 0
    assert figures["model"] == figures["selection"]["chosen"]
    fitted = [c for c in figures["selection"]["candidates"] if "fit_s" in c]
    assert {c["model"] for c in fitted} == {"popularity", "item-knn", "rp3beta", "ials", "ease"}


def test_commands_have_help():
    for args in (["recommend"], ["eval", "recs"], ["bench", "recs"]):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and len(result.output) > 100
