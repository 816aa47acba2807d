"""EU AI Act Art. 50 marking: every stored draft, rendered email and export says who wrote the copy."""

from __future__ import annotations

import csv
import email
import json
from pathlib import Path

from fakes import ScriptedEngine
from sqlalchemy import select

from marketing_gen.campaigns.export import export_campaign
from marketing_gen.campaigns.pipeline import generate_drafts, plan_campaign, render_drafts
from marketing_gen.campaigns.state import create_campaign
from marketing_gen.config import get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Draft, Item, Recommendation, User

GOOD_EMAIL = (
    "SUBJECT: Ann, the Enamel Pan is ready for you\n"
    "PREHEADER: A cast iron pan for slow weekend cooking, picked for you\n"
    "HEADLINE: Slow cooking, made simple\n"
    "BODY: Hello Ann! The Enamel Pan is cast iron and oven safe, so one pan goes from hob to oven.\n"
    "CTA: See the pan"
)


def _seed(url: str) -> None:
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
            User(external_id=f"u{i}", email=f"u{i}@example.com", first_name="Ann", locale="en", consent_email=True)
            for i in range(2)
        ]
        s.add_all([item, *users])
        s.flush()
        s.add_all([Recommendation(user_id=u.id, item_id=item.id, rank=1, score=1.0) for u in users])


def test_model_and_fallback_copy_are_marked_in_the_record_the_email_and_the_exports(
    settings_env: None, db_url: str, tmp_path: Path
) -> None:
    _seed(db_url)
    settings = get_settings()
    cid = create_campaign(name="Spring", channels=["email"], url=db_url, options={"max_regenerations": 0})
    _, work = plan_campaign(cid, settings=settings)
    ids = [i for batch in work.generate for i in batch]
    # The first user's prompt gets copy that passes every check; the second gets nothing usable → fallback.
    engine = ScriptedEngine(texts=[GOOD_EMAIL], default="")
    generated = generate_drafts(ids, engine, settings=settings)
    assert sorted(render_drafts(generated, settings=settings)) == sorted(generated)
    with session_scope(db_url) as s:
        rows = {d.id: d for d in s.scalars(select(Draft).where(Draft.campaign_id == cid))}
        marks = {i: (d.fallback, d.ai_mark, d.rendered["data"]["ai_mark"], d.rendered["eml"]) for i, d in rows.items()}
    assert sorted(m[1] for m in marks.values()) == ["fallback", "model"], [m[0] for m in marks.values()]
    for fallback, mark, data_mark, eml in marks.values():
        assert mark == ("fallback" if fallback else "model") == data_mark
        msg = email.message_from_string(eml)
        assert msg["X-AI-Generated"] == ("no" if fallback else "yes") and msg["X-AI-Content-Origin"] == mark

    (jsonl,) = export_campaign(cid, "jsonl", tmp_path, url=db_url)
    assert sorted(json.loads(line)["ai_mark"] for line in jsonl.read_text().splitlines()) == ["fallback", "model"]
    (flat,) = export_campaign(cid, "csv", tmp_path, url=db_url)
    assert sorted(r["ai_mark"] for r in csv.DictReader(flat.open(encoding="utf-8"))) == ["fallback", "model"]
    emls = export_campaign(cid, "eml", tmp_path, url=db_url)
    origins = sorted(email.message_from_bytes(p.read_bytes())["X-AI-Content-Origin"] for p in emls)
    assert origins == ["fallback", "model"]
