"""Pipeline steps in-process (the functions the Celery tasks call), with ``ScriptedEngine`` at the model boundary.

Idempotency of each step, statuses, outbox rows, exports. The same steps through real workers are in
``tests/workers/``.
"""

from __future__ import annotations

import csv
import email
import json
from pathlib import Path
from typing import Any

import pytest
from fakes import ScriptedEngine
from sqlalchemy import func, select

from marketing_gen.campaigns.export import export_campaign
from marketing_gen.campaigns.pipeline import (
    deliver_drafts,
    generate_drafts,
    plan_campaign,
    render_drafts,
    unfinished_work,
)
from marketing_gen.campaigns.state import CampaignState, campaign_status, create_campaign, set_state
from marketing_gen.config import get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Device, Draft, Item, OutboxMessage, Recommendation, User
from marketing_gen.errors import InvalidRequest


def _seed(url: str, n: int = 6) -> None:
    with session_scope(url) as s:
        s.add(Brand(name="Acme", postal_address="1 High St, Leeds LS1 1AA, UK", website_url="https://shop.example"))
        item = Item(
            external_id="sku1",
            title="Enamel Pan",
            category="Kitchen > Cookware",
            price=25,
            currency="GBP",
            url="https://shop.example/p/sku1",
            description="Cast iron. Oven safe.",
        )
        users = [
            User(
                external_id=f"u{i}",
                email=f"u{i}@example.com",
                first_name="Ann",
                locale="en",
                country="United Kingdom",
                consent_email=True,
                consent_ads=True,
                consent_push=True,
            )
            for i in range(n)
        ]
        s.add_all([item, *users])
        s.flush()
        s.add_all([Device(user_id=u.id, platform="fcm", token=f"fcm-{u.external_id}-" + "t" * 32) for u in users])
        # the last user has no recommendations: the copywriter skips them
        s.add_all([Recommendation(user_id=u.id, item_id=item.id, rank=1, score=1.0) for u in users[:-1]])


def _statuses(url: str, cid: int) -> dict[int, str]:
    with session_scope(url) as s:
        return dict(s.execute(select(Draft.id, Draft.status).where(Draft.campaign_id == cid)).all())


def test_steps_are_idempotent_and_exports_work(settings_env: None, db_url: str, tmp_path: Path) -> None:
    _seed(db_url)
    settings = get_settings()
    cid = create_campaign(
        name="Spring",
        channels=["email", "push", "google_ads_rsa"],
        url=db_url,
        options={"batch_size": 4, "max_regenerations": 0},
    )
    result, work = plan_campaign(cid, settings=settings)
    assert result is not None and result.inserted == 12
    assert [len(b) for b in work.generate] == [4, 2, 4, 2] and not work.render and not work.deliver

    engine = ScriptedEngine(default="")
    ids = [i for batch in work.generate for i in batch]
    generated = generate_drafts(ids, engine, settings=settings)
    assert len(generated) == 10 and len(engine.calls) == 2  # one batched call per (channel, variant) group
    assert generate_drafts(ids, engine, settings=settings) == [] and len(engine.calls) == 2  # redelivery: no-op
    statuses = _statuses(db_url, cid)
    assert sorted(statuses.values()).count("skipped") == 2
    assert sorted(map(len, unfinished_work(cid, settings=settings).render)) == [1, 1, 4, 4]

    ready = render_drafts(generated, settings=settings)
    assert sorted(ready) == sorted(generated) and render_drafts(generated, settings=settings) == []
    queued = deliver_drafts(ready, settings=settings)
    assert sorted(queued) == sorted(ready) and deliver_drafts(ready, settings=settings) == []
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 10
    status = campaign_status(cid, url=db_url)
    assert status["state"] == "completed" and status["counts"]["queued"] == 10 and status["outbox"] == 10

    # a second plan (campaign run again) inserts nothing and finds no unfinished work
    again, work2 = plan_campaign(cid, settings=settings)
    assert again is not None and again.inserted == 0 and work2.batches == 0
    assert campaign_status(cid, url=db_url)["state"] == "completed"

    (jsonl,) = export_campaign(cid, "jsonl", tmp_path, url=db_url)
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(rows) == 12 and {r["status"] for r in rows} == {"queued", "skipped"}
    with pytest.raises(InvalidRequest, match="campaign ads"):  # no per-user ad drafts: ads are per theme
        export_campaign(cid, "google-ads-csv", tmp_path, url=db_url)
    with session_scope(db_url) as s:
        assert not s.scalar(select(func.count()).select_from(Draft).where(Draft.channel == "google_ads_rsa"))
    push = [json.loads(line) for line in jsonl.read_text().splitlines()]
    sent = [r["rendered"]["data"]["sends"] for r in push if r["channel"] == "push" and r["rendered"]]
    assert len(sent) == 5 and all(s[0]["message"]["token"].startswith("fcm-u") for s in sent)
    emls = export_campaign(cid, "eml", tmp_path, url=db_url)
    assert len(emls) == 5
    msg = email.message_from_bytes(emls[0].read_bytes())
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and msg.is_multipart()
    (flat,) = export_campaign(cid, "csv", tmp_path, url=db_url)
    assert len(list(csv.DictReader(flat.open(encoding="utf-8")))) == 12


def test_paused_campaign_steps_do_nothing(settings_env: None, db_url: str) -> None:
    _seed(db_url, n=3)
    settings = get_settings()
    cid = create_campaign(name="P", channels=["email"], url=db_url)
    _, work = plan_campaign(cid, settings=settings)
    set_state(cid, CampaignState.PAUSED, url=db_url)
    engine = ScriptedEngine()
    assert generate_drafts(work.generate[0], engine, settings=settings) == [] and not engine.calls
    paused_plan, paused_work = plan_campaign(cid, settings=settings)
    assert paused_plan is None and paused_work.batches == 0
    assert set(_statuses(db_url, cid).values()) == {"pending"}
    set_state(cid, CampaignState.RUNNING, url=db_url)
    assert len(generate_drafts(work.generate[0], engine, settings=settings)) == 2


def test_a_draft_that_cannot_render_fails_alone(
    settings_env: None, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import marketing_gen.render as render_module

    _seed(db_url, n=4)
    settings = get_settings()
    cid = create_campaign(name="R", channels=["email"], url=db_url, options={"max_regenerations": 0})
    _, work = plan_campaign(cid, settings=settings)
    generated = generate_drafts(work.generate[0], ScriptedEngine(), settings=settings)
    real_render = render_module.render

    def flaky(channel: str, fields: dict[str, Any], context: Any, **kw: Any) -> Any:
        if kw["draft_id"] == generated[0]:
            "ünïcode".encode("ascii")  # raises UnicodeEncodeError, as an unencodable address does
        return real_render(channel, fields, context, **kw)

    monkeypatch.setattr(render_module, "render", flaky)
    ready = render_drafts(generated, settings=settings)
    assert sorted(ready) == sorted(generated[1:])
    with session_scope(db_url) as s:
        failed = s.get(Draft, generated[0])
        assert failed is not None and failed.status == "failed" and "render:" in (failed.skip_reason or "")
