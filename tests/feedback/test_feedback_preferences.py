"""Outcomes → DPO pairs and KTO rows: same-send comparison, exposure, serving prompts, tagged completions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Campaign, Draft, Item, Recommendation, User
from marketing_gen.feedback.events import ingest_events
from marketing_gen.feedback.preferences import build_preference_rows, trl_columns
from marketing_gen.prompts import build_prompt
from marketing_gen.recommend import build_contexts
from marketing_gen.training.datasets import format_fields

SENT_AT = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)
NOW = SENT_AT + dt.timedelta(days=3)


def _fields(user: int, variant: int) -> dict[str, str]:
    return {"subject": f"Your mug, user {user} v{variant}", "preheader": "A mug for slow mornings, at its usual price",
            "headline": "Meet the Blue Mug", "body": "The Blue Mug holds 350 ml and costs £8.50.", "cta": "See the mug"}


def _store(url: str, n_users: int, variants_of: dict[int, tuple[int, ...]]) -> tuple[int, dict[tuple[int, int], int]]:
    """Brand, one item, users recommended that item, a campaign and drafts; returns (campaign, (user#, var) → draft)."""
    with session_scope(url) as s:
        s.add(Brand(name="Mugs & Co", postal_address="1 High St, London"))
        item = Item(external_id="sku-1", title="Blue Mug", price=Decimal("8.50"), currency="GBP",
                    description="Holds 350 ml. Dishwasher safe.", url="https://shop.example/mug")
        s.add(item)
        camp = Campaign(name="mugs", channels=["email"], variants=2, state="done")
        s.add(camp)
        s.flush()
        drafts: dict[tuple[int, int], int] = {}
        for i in range(n_users):
            u = User(external_id=f"u{i}", first_name=f"Ann{i}", email=f"a{i}@example.com", consent_email=True)
            s.add(u)
            s.flush()
            s.add(Recommendation(user_id=u.id, item_id=item.id, rank=1, score=1.0, source="builtin"))
            for v in variants_of.get(i, (i % 2,)):
                d = Draft(campaign_id=camp.id, user_id=u.id, channel="email", variant=v, status="queued",
                          idempotency_key=f"{camp.id}:{u.id}:email:{v}", fields=_fields(i, v))
                s.add(d)
                s.flush()
                drafts[(i, v)] = d.id
        return camp.id, drafts


def _events(url: str, drafts: dict[tuple[int, int], int], spec: dict[tuple[int, int], tuple[str, ...]]) -> None:
    rows = []
    for key, draft_id in drafts.items():
        rows.append({"draft_id": draft_id, "event": "sent", "timestamp": SENT_AT})
        for n, ev in enumerate(spec.get(key, ())):
            rows.append({"draft_id": draft_id, "event": ev, "timestamp": SENT_AT + dt.timedelta(minutes=n + 1)})
    assert ingest_events(rows, url=url).rejected == 0


def test_kto_rows_compare_within_the_send_and_respect_exposure(any_db_url: str) -> None:
    cid, drafts = _store(any_db_url, 12, {})
    spec = {(0, 0): ("open", "click"), (1, 1): ("open", "click"), (2, 0): ("open",), (3, 1): ("open",),
            (4, 0): ("open", "unsubscribe")}  # users 5..11: sent, never opened → not exposed to the body
    _events(any_db_url, drafts, spec)
    data = build_preference_rows(url=any_db_url, now=NOW, negatives_per_positive=3)
    labels = {r["meta"]["draft_id"]: r["label"] for r in data.kto}
    assert labels == {drafts[(0, 0)]: True, drafts[(1, 1)]: True, drafts[(2, 0)]: False, drafts[(3, 1)]: False,
                      drafts[(4, 0)]: False}
    assert data.counts["not_exposed"] == 7 and data.dpo == []

    # Rows carry the serving prompt of the draft's own variant and the tagged field text, byte for byte.
    row = next(r for r in data.kto if r["meta"]["draft_id"] == drafts[(1, 1)])
    with session_scope(any_db_url) as s:
        user_id = s.get(Draft, drafts[(1, 1)]).user_id
    (context,) = build_contexts([user_id], "email", url=any_db_url)
    assert row["prompt"] == [dict(m) for m in build_prompt(context, "email", variant=1)]
    assert row["completion"] == [{"role": "assistant", "content": format_fields(_fields(1, 1), "email")}]
    assert "SUBJECT: Your mug, user 1 v1" in row["completion"][0]["content"]
    assert set(trl_columns(data.kto)[0]) == {"prompt", "completion", "label"}


def test_negatives_are_subsampled_and_unsettled_or_clickless_sends_give_nothing(db_url: str) -> None:
    cid, drafts = _store(db_url, 20, {})
    _events(db_url, drafts, {(0, 0): ("click",)})  # no opens tracked → every sent draft is exposed
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
    cid, drafts = _store(any_db_url, 4, {0: (0, 1), 1: (0, 1)})
    _events(any_db_url, drafts, {(0, 1): ("click",), (2, 0): ("click",)})
    data = build_preference_rows(url=any_db_url, now=NOW)
    (pair,) = data.dpo
    assert (pair["meta"]["chosen_draft_id"], pair["meta"]["rejected_draft_id"]) == (drafts[(0, 1)], drafts[(0, 0)])
    assert pair["chosen"][0]["content"] == format_fields(_fields(0, 1), "email")
    assert pair["rejected"][0]["content"] == format_fields(_fields(0, 0), "email")
    with session_scope(any_db_url) as s:
        user_id = s.get(Draft, drafts[(0, 0)]).user_id
    (context,) = build_contexts([user_id], "email", url=any_db_url)
    # The rejected draft's prompt: the model wrote `rejected` for it and lost to `chosen` in the same send.
    assert pair["prompt"] == [dict(m) for m in build_prompt(context, "email", variant=0)]
    assert set(trl_columns(data.dpo)[0]) == {"prompt", "chosen", "rejected"}


def test_fallback_drafts_are_not_preference_data(db_url: str) -> None:
    cid, drafts = _store(db_url, 2, {})
    with session_scope(db_url) as s:
        s.get(Draft, drafts[(0, 0)]).fallback = True
    _events(db_url, drafts, {(0, 0): ("click",), (1, 1): ("click",)})
    data = build_preference_rows(url=db_url, now=NOW)
    assert [r["meta"]["draft_id"] for r in data.kto] == [drafts[(1, 1)]]


@pytest.mark.parametrize("metric", ["open"])
def test_unknown_metric_is_refused(db_url: str, metric: str) -> None:
    with pytest.raises(ValueError):
        build_preference_rows(url=db_url, metric=metric)
