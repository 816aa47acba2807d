"""Tracking routes through the real HTTP app: unsubscribe → suppressed in the next planning; clicks; open pixel."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from marketing_gen.api import create_app
from marketing_gen.campaigns.pipeline import plan_campaign
from marketing_gen.config import get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Campaign, Draft, FeedbackEvent, Item, Recommendation, User
from marketing_gen.tokens import click_url, sign_token, unsubscribe_url

PRODUCT = "https://shop.example/p/blue-mug?utm_source=email&utm_campaign=spring-sale-2026"
OTHER_ITEM = "https://shop.example/p/red-teapot"


def _eml(draft_id: int, user_id: int) -> str:
    """A rendered email whose HTML body is transfer-encoded (URLs not greppable in the raw text)."""
    s = get_settings()
    msg = EmailMessage()
    msg["Subject"] = "Your mug"
    msg["List-Unsubscribe"] = f"<{unsubscribe_url(s, user_id=user_id, channel='email', draft_id=draft_id)}>"
    tracked = click_url(s, draft_id=draft_id, url=PRODUCT)
    msg.set_content(f"See the Blue Mug: {tracked}\n")
    msg.add_alternative(f'<p>Hi Ann — café ☕ <a href="{tracked}">See the Blue Mug</a></p>' + " " * 10, subtype="html")
    return msg.as_string()


@pytest.fixture
def store(settings_env: None) -> dict[str, int]:
    """Two consenting users, a brand with a hostile name, items, a sent campaign with one rendered email draft."""
    url = get_settings().database_url
    with session_scope(url) as s:
        s.add(Brand(name="<script>alert(1)</script> Mugs & Co", postal_address="1 High St"))
        ann = User(
            external_id="ann",
            email="ann@example.com",
            phone="+447700900001",
            first_name="Ann",
            consent_email=True,
            consent_sms=True,
        )
        bob = User(external_id="bob", email="bob@example.com", first_name="Bob", consent_email=True)
        mug = Item(external_id="mug", title="Blue Mug", url=PRODUCT)
        pot = Item(external_id="pot", title="Red Teapot", url=OTHER_ITEM)
        sent = Campaign(name="first", channels=["email"], state="done")
        s.add_all([ann, bob, mug, pot, sent])
        s.flush()
        s.add(Recommendation(user_id=bob.id, item_id=pot.id, rank=1))
        draft = Draft(
            campaign_id=sent.id,
            user_id=ann.id,
            channel="email",
            variant=0,
            status="queued",
            idempotency_key=f"{sent.id}:{ann.id}:email:0",
            fields={"subject": "Your mug"},
        )
        bare = Draft(
            campaign_id=sent.id,
            user_id=bob.id,
            channel="email",
            variant=0,
            status="queued",
            idempotency_key=f"{sent.id}:{bob.id}:email:0",
            fields={"subject": "Hi"},
        )
        s.add_all([draft, bare])
        s.flush()
        draft.rendered = {"eml": _eml(draft.id, ann.id)}
        return {"ann": ann.id, "bob": bob.id, "draft": draft.id, "bare": bare.id}


def _events(event: str | None = None) -> int:
    with session_scope(get_settings().database_url) as s:
        q = select(func.count()).select_from(FeedbackEvent)
        return s.scalar(q.where(FeedbackEvent.event == event) if event else q) or 0


def _unsubscribed(user_id: int) -> list[str]:
    with session_scope(get_settings().database_url) as s:
        return list(s.get(User, user_id).unsubscribed_channels or [])


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_one_click_unsubscribe_suppresses_the_user_in_the_next_campaign(store: dict[str, int]) -> None:
    settings = get_settings()
    client = TestClient(create_app())
    path = f"/u/{_token(unsubscribe_url(settings, user_id=store['ann'], channel='email', draft_id=store['draft']))}"

    page = client.get(path)  # GET only asks: link scanners prefetch GETs
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert "&lt;script&gt;" in page.text and "<script>alert" not in page.text  # autoescaped
    assert _unsubscribed(store["ann"]) == [] and _events() == 0

    res = client.post(
        path, content="List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert res.status_code == 200 and "unsubscribed" in res.text
    assert _unsubscribed(store["ann"]) == ["email"]
    again = client.post(path, content="List-Unsubscribe=One-Click")  # mail clients retry
    assert again.status_code == 200 and _unsubscribed(store["ann"]) == ["email"]
    assert _events("unsubscribe") == 1
    with session_scope(settings.database_url) as s:
        ev = s.scalars(select(FeedbackEvent)).one()
        assert (ev.draft_id, ev.user_id, ev.channel) == (store["draft"], store["ann"], "email")
        assert s.get(User, store["ann"]).unsubscribed_at is not None
        nxt = Campaign(name="next", channels=["email", "sms"], segment="")
        s.add(nxt)
        s.flush()
        next_id = nxt.id
    assert "You are unsubscribed" in client.get(path).text

    plan_campaign(next_id, settings=settings)
    with session_scope(settings.database_url) as s:
        planned = set(s.execute(select(Draft.user_id, Draft.channel).where(Draft.campaign_id == next_id)).all())
    assert (store["ann"], "email") not in planned  # unsubscribed from email …
    assert (store["ann"], "sms") in planned  # … but not from SMS
    assert (store["bob"], "email") in planned


@pytest.mark.parametrize("kind", ["tampered", "retired_key", "wrong_purpose", "garbage"])
def test_bad_unsubscribe_token_is_400_and_changes_nothing(store: dict[str, int], kind: str) -> None:
    settings = get_settings()
    payload = {"purpose": "unsubscribe", "user_id": store["ann"], "channel": "email", "draft_id": store["draft"]}
    token = sign_token(payload, settings)
    if kind == "tampered":  # same signature, payload edited to another user
        kid, body, mac = token.split(".")
        other = _token(unsubscribe_url(settings, user_id=store["bob"], channel="email")).split(".")[1]
        token = f"{kid}.{other}.{mac}"
        assert body != other
    elif kind == "retired_key":  # unsubscribe tokens never expire; a key taken out of rotation ends them
        token = sign_token(payload, settings.model_copy(update={"secret_key": "a-retired-key-0123456789abcdefghijklm"}))
    elif kind == "wrong_purpose":
        token = _token(click_url(settings, draft_id=store["draft"], url=PRODUCT))
    else:
        token = "not-a-token"
    client = TestClient(create_app())
    for method in (client.get, client.post):
        assert method(f"/u/{token}").status_code == 400
    assert _unsubscribed(store["ann"]) == [] and _unsubscribed(store["bob"]) == []
    assert _events() == 0


def test_click_redirects_only_to_urls_the_draft_was_rendered_with(store: dict[str, int]) -> None:
    settings = get_settings()
    client = TestClient(create_app(), follow_redirects=False)
    res = client.get(f"/c/{_token(click_url(settings, draft_id=store['draft'], url=PRODUCT))}")
    assert res.status_code == 302 and res.headers["location"] == PRODUCT
    assert res.headers["referrer-policy"] == "no-referrer"
    assert _events("click") == 1
    for target in ("https://evil.example/login", OTHER_ITEM, "javascript:alert(1)", PRODUCT + "&x=1"):
        bad = client.get(f"/c/{_token(click_url(settings, draft_id=store['draft'], url=target))}")
        assert bad.status_code == 400 and "location" not in bad.headers, target
    forged = _token(click_url(settings, draft_id=store["draft"], url=PRODUCT))[:-3] + "AAA"
    assert client.get(f"/c/{forged}").status_code == 400
    assert client.get(f"/c/{_token(click_url(settings, draft_id=999999, url=PRODUCT))}").status_code == 400
    assert _events("click") == 1
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(FeedbackEvent.payload).where(FeedbackEvent.event == "click")) == {"url": PRODUCT}


def test_click_on_a_draft_without_urls_uses_its_stored_link_targets_not_todays_recs(store: dict[str, int]) -> None:
    """An artifact that shows no URL: the click route allows the link targets stored with the draft's facts at
    generate time — never today's recommendations — and nothing at all for a draft that stored none."""
    from marketing_gen.campaigns.draft_facts import build_draft_facts
    from marketing_gen.contexts import BrandFacts, ItemFacts, UserContext

    settings = get_settings()
    client = TestClient(create_app(), follow_redirects=False)
    teapot = ItemFacts(item_id=2, external_id="pot", title="Red Teapot", price=None, currency="GBP", url=OTHER_ITEM)
    bob = UserContext(store["bob"], "bob", "Bob", "en", None, BrandFacts(name="Mugs & Co"), items=(teapot,))
    with session_scope(settings.database_url) as s:
        s.get(Draft, store["bare"]).facts = build_draft_facts(bob, settings)  # written about the teapot
        # bob's recommendations change after generate: today he would be shown the mug
        s.execute(Recommendation.__table__.delete().where(Recommendation.user_id == store["bob"]))
        mug = s.scalar(select(Item.id).where(Item.external_id == "mug"))
        s.add(Recommendation(user_id=store["bob"], item_id=mug, rank=1))
    ok = client.get(f"/c/{_token(click_url(settings, draft_id=store['bare'], url=OTHER_ITEM))}")
    assert ok.status_code == 302 and ok.headers["location"] == OTHER_ITEM
    # PRODUCT is bob's item today, but not what his draft was written about: refused.
    assert client.get(f"/c/{_token(click_url(settings, draft_id=store['bare'], url=PRODUCT))}").status_code == 400
    with session_scope(settings.database_url) as s:
        s.get(Draft, store["bare"]).facts = None  # a draft from before facts were stored: no fallback join
    assert client.get(f"/c/{_token(click_url(settings, draft_id=store['bare'], url=OTHER_ITEM))}").status_code == 400
    assert client.get(f"/c/{_token(click_url(settings, draft_id=store['bare'], url=PRODUCT))}").status_code == 400
    assert _events("click") == 1


def test_open_pixel_records_one_open(store: dict[str, int]) -> None:
    from marketing_gen.tokens import open_pixel_url

    settings = get_settings()
    client = TestClient(create_app())
    path = "/o/" + open_pixel_url(settings, draft_id=store["draft"]).rsplit("/o/", 1)[1]
    for _ in range(2):
        res = client.get(path)
        assert res.status_code == 200 and res.headers["content-type"] == "image/gif"
        assert res.content.startswith(b"GIF89a")
    assert _events("open") == 1
    bad = path.replace(".gif", "x.gif")
    assert client.get(bad).status_code == 400 and _events("open") == 1


def test_links_of_a_really_rendered_email_work(settings_env: None) -> None:
    """render_email → stored artifact on the draft → its item link redirects and its unsubscribe link works."""
    import re

    from marketing_gen.campaigns.pipeline import stored_artifact
    from marketing_gen.recommend import build_contexts
    from marketing_gen.render import render_email

    settings = get_settings()
    url = settings.database_url
    with session_scope(url) as s:
        s.add(Brand(name="Mugs & Co", postal_address="1 High St, London", website_url="https://shop.example"))
        ann = User(external_id="ann", email="ann@example.com", first_name="Ann", consent_email=True)
        mug = Item(external_id="mug", title="Blue Mug", price=8.5, currency="GBP", url=PRODUCT)
        camp = Campaign(name="spring", channels=["email"], state="running")
        s.add_all([ann, mug, camp])
        s.flush()
        s.add(Recommendation(user_id=ann.id, item_id=mug.id, rank=1))
        draft = Draft(
            campaign_id=camp.id,
            user_id=ann.id,
            channel="email",
            status="generated",
            idempotency_key=f"{camp.id}:{ann.id}:email:0",
            fields={},
        )
        s.add(draft)
        s.flush()
        ids = {"ann": ann.id, "draft": draft.id}
    (context,) = build_contexts([ids["ann"]], "email", url=url)
    fields = {
        "subject": "Your mug",
        "preheader": "Tea tastes better from a Blue Mug, at £8.50",
        "headline": "Meet the Blue Mug",
        "body": "It holds 350 ml.",
        "cta": "See it",
    }
    artifact = render_email(fields, context, draft_id=ids["draft"], campaign_name="spring", settings=settings)
    with session_scope(url) as s:
        s.get(Draft, ids["draft"]).rendered = stored_artifact(artifact)
    base = re.escape(settings.public_base_url.rstrip("/"))
    links = {m.group(1) for m in re.finditer(rf'href="{base}(/c/[^"]+)"', artifact.data["html"])}
    assert links, "the rendered email has tracked links"
    client = TestClient(create_app(), follow_redirects=False)
    targets = {client.get(path).headers.get("location") for path in links}
    assert PRODUCT in targets and targets <= {PRODUCT, "https://shop.example"}
    unsubscribe = artifact.data["headers"]["List-Unsubscribe"].strip("<>")
    res = client.post(
        unsubscribe.removeprefix(settings.public_base_url.rstrip("/")), content="List-Unsubscribe=One-Click"
    )
    assert res.status_code == 200 and _unsubscribed(ids["ann"]) == ["email"]


@pytest.mark.parametrize("open_tracking", [True, False])
def test_a_rendered_html_email_carries_the_open_pixel_unless_the_brand_opts_out(
    settings_env: None, open_tracking: bool
) -> None:
    """brands.open_tracking → facts stored on the draft → render_email: the pixel the route counts, or none."""
    import re

    from marketing_gen.campaigns.draft_facts import build_draft_facts, context_from_facts
    from marketing_gen.recommend import build_contexts
    from marketing_gen.render import render_email

    settings = get_settings()
    url = settings.database_url
    with session_scope(url) as s:
        s.add(Brand(name="Mugs & Co", postal_address="1 High St, London", open_tracking=open_tracking))
        ann = User(external_id="ann", email="ann@example.com", first_name="Ann", consent_email=True)
        mug = Item(external_id="mug", title="Blue Mug", price=8.5, currency="GBP", url=PRODUCT)
        camp = Campaign(name="spring", channels=["email"], state="running")
        s.add_all([ann, mug, camp])
        s.flush()
        s.add(Recommendation(user_id=ann.id, item_id=mug.id, rank=1))
        draft = Draft(
            campaign_id=camp.id,
            user_id=ann.id,
            channel="email",
            status="generated",
            idempotency_key=f"{camp.id}:{ann.id}:email:0",
            fields={},
        )
        s.add(draft)
        s.flush()
        ids = {"ann": ann.id, "draft": draft.id}
    (fresh,) = build_contexts([ids["ann"]], "email", url=url)
    context = context_from_facts(build_draft_facts(fresh, settings))  # what render reads: the stored facts
    fields = {
        "subject": "Your mug",
        "preheader": "A Blue Mug at £8.50",
        "headline": "Blue Mug",
        "body": "Hi.",
        "cta": "See",
    }
    artifact = render_email(fields, context, draft_id=ids["draft"], campaign_name="spring", settings=settings)
    base = re.escape(settings.public_base_url.rstrip("/"))
    pixels = re.findall(rf'<img src="{base}(/o/[^"]+\.gif)"', artifact.data["html"])
    assert "/o/" not in artifact.data["text"]  # the plain-text part never carries it
    if not open_tracking:
        assert pixels == [] and "/o/" not in artifact.data["html"]
        return
    assert len(pixels) == 1
    res = TestClient(create_app()).get(pixels[0])
    assert res.status_code == 200 and res.headers["content-type"] == "image/gif"
    with session_scope(url) as s:
        ev = s.scalars(select(FeedbackEvent).where(FeedbackEvent.event == "open")).one()
        assert (ev.draft_id, ev.user_id, ev.channel) == (ids["draft"], ids["ann"], "email")
