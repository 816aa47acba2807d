"""Adding a channel is its spec, its two templates and one registry line: a WhatsApp-like channel, added here at
test time, goes through planning, the copywriter, render, the outbox, sending and the unsubscribe page with no
other module changed (``ScriptedEngine`` at the model boundary).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import ScriptedEngine
from fastapi.testclient import TestClient
from sqlalchemy import select

from marketing_gen import channels
from marketing_gen.api import create_app
from marketing_gen.campaigns.pipeline import deliver_drafts, generate_drafts, plan_campaign, render_drafts
from marketing_gen.campaigns.state import create_campaign
from marketing_gen.channels import ChannelSpec, FieldSpec
from marketing_gen.config import get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Draft, Item, OutboxMessage, Recommendation, User
from marketing_gen.delivery.send import send_outbox
from marketing_gen.tokens import sign_token

WHATSAPP = ChannelSpec(
    name="whatsapp",
    fields=(FieldSpec("text", max_len=300, hint="the message, two short sentences"),),
    prompt_template="prompts/whatsapp.j2",
    fallback_template="fallback/whatsapp.j2",
    render_target="whatsapp",
    description="a WhatsApp message to a customer who opted in",
    consent_flag="sms",  # shares the text-message opt-in: no migration needed
    address="phone",
    label="marketing WhatsApp messages",
)
PROMPT = """{% extends "prompts/_base.j2" %}
{% block fields %}
TEXT: two short sentences about one product
{% endblock %}
{% block example %}
TEXT: The Glass Lantern gives a soft, warm light. Yours for £8.50.
{% endblock %}
"""
FALLBACK = """TEXT: {{ item_title }} is waiting for you at {{ brand.name }}.
"""
MODEL_TEXT = "TEXT: The Enamel Pan goes from hob to oven. It is cast iron and made to last."


@pytest.fixture
def whatsapp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings_env: None) -> Iterator[ChannelSpec]:
    """The channel's templates in a user templates dir and its line in the registry."""
    own = tmp_path / "own_templates"
    for path, text in (("prompts/whatsapp.j2", PROMPT), ("fallback/whatsapp.j2", FALLBACK)):
        (own / path).parent.mkdir(parents=True, exist_ok=True)
        (own / path).write_text(text, encoding="utf-8")
    monkeypatch.setenv("MARKETING_GEN_USER_TEMPLATES_DIR", str(own))
    monkeypatch.setenv("MARKETING_GEN_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    monkeypatch.setitem(channels.REGISTRY, WHATSAPP.name, WHATSAPP)
    yield WHATSAPP
    get_settings.cache_clear()


def _seed(url: str) -> dict[str, int]:
    with session_scope(url) as s:
        s.add(Brand(name="Acme", postal_address="1 High St, Leeds LS1 1AA, UK", website_url="https://shop.example"))
        pan = Item(external_id="pan", title="Enamel Pan", category="Kitchen", price=25, currency="GBP")
        people = {
            "ann": User(external_id="ann", phone="+447700900001", consent_sms=True, locale="en"),
            "bob": User(external_id="bob", phone="+447700900002", consent_sms=True, locale="en"),
            "cat": User(external_id="cat", phone="+447700900003", consent_email=True, locale="en"),  # no opt-in
            "dan": User(external_id="dan", email="dan@example.com", consent_sms=True, locale="en"),  # no phone
        }
        s.add_all([pan, *people.values()])
        s.flush()
        s.add_all([Recommendation(user_id=u.id, item_id=pan.id, rank=1, score=1.0) for u in people.values()])
        return {name: u.id for name, u in people.items()}


def test_a_channel_added_at_test_time_goes_end_to_end(whatsapp: ChannelSpec, db_url: str) -> None:
    users = _seed(db_url)
    settings = get_settings()
    cid = create_campaign(name="Pans", channels=["whatsapp"], url=db_url, options={"max_regenerations": 0})

    # planning: the channel's consent flag and address decide who gets a draft
    result, work = plan_campaign(cid, settings=settings)
    assert result is not None and result.audience == {"whatsapp": 2}
    assert {k: v for k, v in result.excluded["whatsapp"].items() if v} == {"no_consent": 1, "no_address": 1}

    # copywriter: the channel's prompt template; an empty answer falls back to the channel's fallback template
    engine = ScriptedEngine(texts=[MODEL_TEXT], default="")
    ids = [i for batch in work.generate for i in batch]
    generated = generate_drafts(ids, engine, settings=settings)
    assert len(generated) == 2
    system = engine.calls[0].prompts[0][0]["content"]
    assert "You write a WhatsApp message to a customer who opted in for Acme" in system
    with session_scope(db_url) as s:
        drafts = {d.user_id: d for d in s.scalars(select(Draft).where(Draft.campaign_id == cid))}
        texts = sorted((d.fallback, d.fields["text"]) for d in drafts.values())
    assert texts == [
        (False, MODEL_TEXT.removeprefix("TEXT: ")),
        (True, "Enamel Pan is waiting for you at Acme."),
    ]

    # render, outbox, send: the text goes to the user's phone
    ready = render_drafts(generated, settings=settings)
    assert sorted(ready) == sorted(generated)
    assert sorted(deliver_drafts(ready, settings=settings)) == sorted(ready)
    with session_scope(db_url) as s:
        outbox = [o.id for o in s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "whatsapp"))]
    assert len(outbox) == 2
    assert send_outbox(outbox, adapter="file", settings=settings).sent == 2
    sent = [json.loads(p.read_text()) for p in sorted((Path(settings.outbox_dir) / f"campaign_{cid}").rglob("*.json"))]
    assert sorted(m["to"] for m in sent) == ["+447700900001", "+447700900002"]
    assert {m["text"] for m in sent} == {t for _, t in texts}

    # unsubscribe: the page names the channel in words and masks the phone; the opt-out covers this channel only
    token = sign_token({"purpose": "unsubscribe", "user_id": users["ann"], "channel": "whatsapp"}, settings)
    with TestClient(create_app(settings)) as client:
        page = client.get(f"/u/{token}")
        assert page.status_code == 200 and "marketing WhatsApp messages" in page.text
        assert "+447700900001" not in page.text
        assert client.post(f"/u/{token}").status_code == 200
    with session_scope(db_url) as s:
        assert s.get(User, users["ann"]).unsubscribed_channels == ["whatsapp"]


def test_the_registry_is_the_one_list(whatsapp: ChannelSpec) -> None:
    """Every per-channel lookup sees the new line: campaign channels, consent flags, unsubscribe scope."""
    from marketing_gen.campaigns.eligibility import Recipient, covered_channels, exclusion
    from marketing_gen.campaigns.state import check_channels
    from marketing_gen.importers.suppressions import channel_values

    assert check_channels(["whatsapp", "sms"]) == ["whatsapp", "sms"]
    assert "whatsapp" in covered_channels("all") and "whatsapp" in covered_channels("sms")
    assert covered_channels("whatsapp") == ["whatsapp"] and "whatsapp" in channel_values()
    opted_in = Recipient(1, False, frozenset(), frozenset({"sms"}), email=None, phone="+447700900001")
    assert exclusion(opted_in, "whatsapp") is None and opted_in.address_for("whatsapp") == "+447700900001"
    assert exclusion(Recipient(1, False, frozenset({"sms"}), frozenset({"sms"}), None, "+1"), "whatsapp") == (
        "unsubscribed:whatsapp"
    )
