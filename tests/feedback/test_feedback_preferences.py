"""Outcomes → DPO pairs and KTO rows: same-send comparison, exposure, serving prompts, tagged completions."""

from __future__ import annotations

import datetime as dt

import pytest
from outcome_store import SENT_AT, add_events, email_fields, make_store

from marketing_gen.db import session_scope
from marketing_gen.db.models import Draft
from marketing_gen.feedback.preferences import build_preference_rows, trl_columns
from marketing_gen.prompts import build_prompt
from marketing_gen.recommend import build_contexts
from marketing_gen.training.datasets import format_fields

NOW = SENT_AT + dt.timedelta(days=3)


def test_kto_rows_compare_within_the_send_and_respect_exposure(any_db_url: str) -> None:
    cid, drafts = make_store(any_db_url, 12, {})
    spec = {
        (0, 0): ("open", "click"),
        (1, 1): ("open", "click"),
        (2, 0): ("open",),
        (3, 1): ("open",),
        (4, 0): ("open", "unsubscribe"),
    }  # users 5..11: sent, never opened → not exposed to the body
    add_events(any_db_url, drafts, spec)
    data = build_preference_rows(url=any_db_url, now=NOW, negatives_per_positive=3)
    labels = {r["meta"]["draft_id"]: r["label"] for r in data.kto}
    assert labels == {
        drafts[(0, 0)]: True,
        drafts[(1, 1)]: True,
        drafts[(2, 0)]: False,
        drafts[(3, 1)]: False,
        drafts[(4, 0)]: False,
    }
    assert data.counts["not_exposed"] == 7 and data.dpo == []

    # Rows carry the serving prompt of the draft's own variant and the tagged field text, byte for byte.
    row = next(r for r in data.kto if r["meta"]["draft_id"] == drafts[(1, 1)])
    with session_scope(any_db_url) as s:
        user_id = s.get(Draft, drafts[(1, 1)]).user_id
    (context,) = build_contexts([user_id], "email", url=any_db_url)
    assert row["prompt"] == [dict(m) for m in build_prompt(context, "email", variant=1, few_shot=False)]
    assert row["completion"] == [{"role": "assistant", "content": format_fields(email_fields(1, 1), "email")}]
    assert "SUBJECT: Your mug, user 1 v1" in row["completion"][0]["content"]
    assert set(trl_columns(data.kto)[0]) == {"prompt", "completion", "label"}


def test_negatives_are_subsampled_and_unsettled_or_clickless_sends_give_nothing(db_url: str) -> None:
    cid, drafts = make_store(db_url, 20, {})
    add_events(db_url, drafts, {(0, 0): ("click",)})  # no opens tracked → every sent draft is exposed
    data = build_preference_rows(url=db_url, now=NOW, negatives_per_positive=2)
    assert sum(r["label"] for r in data.kto) == 1
    assert sum(not r["label"] for r in data.kto) == 2
    assert data.counts["negatives_subsampled_out"] == 17
    assert build_preference_rows(url=db_url, now=SENT_AT + dt.timedelta(hours=2)).kto == []  # clicks may still come
    assert build_preference_rows(url=db_url, now=NOW, metric="convert").counts["sends_without_positive"] == 1
    # `since` is about when outcomes were recorded: nothing recorded after "later", everything after "earlier".
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1)
    assert build_preference_rows(url=db_url, now=NOW, since=later).kto == []
    earlier = later - dt.timedelta(hours=1)
    assert len(build_preference_rows(url=db_url, now=NOW, since=earlier, negatives_per_positive=2).kto) == 3


def test_dpo_pairs_need_the_same_user_and_send(any_db_url: str) -> None:
    # User 0 got both variants (e.g. rotating ads) and clicked variant 1 only; user 1 too but clicked neither.
    cid, drafts = make_store(any_db_url, 4, {0: (0, 1), 1: (0, 1)})
    add_events(any_db_url, drafts, {(0, 1): ("click",), (2, 0): ("click",)})
    data = build_preference_rows(url=any_db_url, now=NOW)
    (pair,) = data.dpo
    assert (pair["meta"]["chosen_draft_id"], pair["meta"]["rejected_draft_id"]) == (drafts[(0, 1)], drafts[(0, 0)])
    assert pair["chosen"][0]["content"] == format_fields(email_fields(0, 1), "email")
    assert pair["rejected"][0]["content"] == format_fields(email_fields(0, 0), "email")
    with session_scope(any_db_url) as s:
        user_id = s.get(Draft, drafts[(0, 0)]).user_id
    (context,) = build_contexts([user_id], "email", url=any_db_url)
    # The rejected draft's prompt: the model wrote `rejected` for it and lost to `chosen` in the same send.
    assert pair["prompt"] == [dict(m) for m in build_prompt(context, "email", variant=0, few_shot=False)]
    assert set(trl_columns(data.dpo)[0]) == {"prompt", "chosen", "rejected"}


def test_fallback_drafts_are_not_preference_data(db_url: str) -> None:
    cid, drafts = make_store(db_url, 2, {})
    with session_scope(db_url) as s:
        s.get(Draft, drafts[(0, 0)]).fallback = True
    add_events(db_url, drafts, {(0, 0): ("click",), (1, 1): ("click",)})
    data = build_preference_rows(url=db_url, now=NOW)
    assert [r["meta"]["draft_id"] for r in data.kto] == [drafts[(1, 1)]]


@pytest.mark.parametrize("metric", ["open"])
def test_unknown_metric_is_refused(db_url: str, metric: str) -> None:
    with pytest.raises(ValueError):
        build_preference_rows(url=db_url, metric=metric)
