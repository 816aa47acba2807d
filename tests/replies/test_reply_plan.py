"""``load_reply_plan``: the one "load facts → plan replies" path; the API and the batch task prompt the same."""

from __future__ import annotations

import datetime as dt

import pytest
from fakes import ScriptedEngine
from fastapi.testclient import TestClient

from marketing_gen.api import create_app
from marketing_gen.config import get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Interaction, Item, User
from marketing_gen.errors import NotFound
from marketing_gen.replies.batch import answer_reply_requests, insert_reply_requests
from marketing_gen.replies.context import load_brand_facts, load_reply_plan

TEXT = "Does the kettle come in black?"
REPLY = "Thanks for asking! Send us a DM and we will check the colours for you."


def _seed(url: str) -> None:
    with session_scope(url) as s:
        s.add(Brand(name="Acme", offer_policy={"refunds": "30 days"}))
        kettle = Item(external_id="kettle-1", title="Copper Kettle", price=40, currency="GBP")
        mug = Item(external_id="mug-1", title="Stoneware Mug", price=9, currency="GBP")
        ann = User(external_id="ann", email="ann@example.com")
        s.add_all([kettle, mug, ann])
        s.flush()
        ts = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
        s.add(Interaction(user_id=ann.id, item_id=mug.id, event="purchase", ts=ts))


def test_plan_uses_the_item_and_the_orders(settings_env: None, db_url: str) -> None:
    _seed(db_url)
    brand = load_brand_facts(db_url)
    plan = load_reply_plan(TEXT, brand=brand, url=db_url, item_ref="kettle-1", user_ref="ann", k=3, m=4)
    prompts = repr(plan.prompts)
    assert plan.params is not None and "Copper Kettle" in prompts and "Stoneware Mug" in prompts
    bare = load_reply_plan(TEXT, brand=brand, url=db_url, k=3, m=4)
    assert "Copper Kettle" not in repr(bare.prompts) and "Stoneware Mug" not in repr(bare.prompts)
    with pytest.raises(NotFound, match="nope"):
        load_reply_plan(TEXT, brand=brand, url=db_url, item_ref="nope")


def test_api_and_batch_send_the_planned_prompts(settings_env: None, db_url: str) -> None:
    _seed(db_url)
    plan = load_reply_plan(
        TEXT, brand=load_brand_facts(db_url), url=db_url, item_ref="kettle-1", user_ref="ann", k=3, m=4
    )

    api_engine = ScriptedEngine(default=REPLY)
    app = create_app(get_settings())
    app.state.reply_engine, app.state.reply_max_wait_ms, app.state.reply_m = api_engine, 20, 4
    with TestClient(app) as client:
        body = {"text": TEXT, "item_id": "kettle-1", "user_id": "ann", "k": 3}
        r = client.post("/v1/replies/suggest", json=body, headers={"Authorization": "Bearer test-token"})
    assert r.status_code == 200, r.text

    batch_engine = ScriptedEngine(default=REPLY)
    ids = insert_reply_requests(
        [{"external_id": "c1", "text": TEXT, "item_ref": "kettle-1", "user_ref": "ann"}], url=db_url
    )
    assert answer_reply_requests(ids, batch_engine, url=db_url, k=3, m=4) == ids

    assert [p for c in api_engine.calls for p in c.prompts] == list(plan.prompts)
    assert [p for c in batch_engine.calls for p in c.prompts] == list(plan.prompts)
