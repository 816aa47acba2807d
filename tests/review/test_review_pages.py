"""The review page through the real FastAPI app (TestClient): login, CSRF, every channel's preview, edit refused
and accepted, bulk approve, pagination, roles. The browser run of the same flow is ``test_review_browser``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from outbox_store import draft_ids, run_to_outbox, seed_users

from marketing_gen.api import create_app
from marketing_gen.config import get_settings
from marketing_gen.review.accounts import add_account


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def _login(client: TestClient, user: str, password: str) -> str:
    form = client.get("/review/login")
    res = client.post(
        "/review/login", data={"username": user, "password": password, "csrf": _csrf(form.text)}, follow_redirects=True
    )
    assert res.status_code == 200 and "Campaigns" in res.text, res.text[:300]
    return _csrf(res.text)


@pytest.fixture
def campaign(settings_env: None, db_url: str) -> int:
    seed_users(db_url, 25)
    cid, _ = run_to_outbox(
        db_url, get_settings(), channels=("email", "google_ads_rsa", "sms", "push"), approval="required"
    )
    add_account("rev", "reviewer-pass-1", role="reviewer", url=db_url)
    add_account("boss", "admin-pass-123", role="admin", url=db_url)
    return cid


def test_login_required_and_csrf_enforced(campaign: int) -> None:
    client = TestClient(create_app())
    assert client.get("/review/", follow_redirects=False).headers["location"] == "/review/login"
    form = client.get("/review/login")
    bad = client.post("/review/login", data={"username": "rev", "password": "nope-nope-1", "csrf": _csrf(form.text)})
    assert bad.status_code == 401 and "Wrong username or password" in bad.text
    no_csrf = {"username": "rev", "password": "reviewer-pass-1", "csrf": "x"}
    assert client.post("/review/login", data=no_csrf).status_code == 403
    csrf = _login(client, "rev", "reviewer-pass-1")
    first = draft_ids(get_settings().database_url, campaign, "in_review")[0]
    assert client.post(f"/review/drafts/{first}/approve", data={"csrf": "forged"}).status_code == 403
    assert client.post(f"/review/campaigns/{campaign}/send", data={"csrf": csrf}).status_code == 403  # reviewers
    assert client.post("/review/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/review/", follow_redirects=False).status_code == 303


def test_pages_show_each_channel_and_the_workflow_works(campaign: int) -> None:
    url = get_settings().database_url
    client = TestClient(create_app())
    csrf = _login(client, "boss", "admin-pass-123")
    listing = client.get("/review/").text
    # 25 users × 3: google_ads_rsa plans no per-user drafts (ads are written per theme by `campaign ads`)
    assert f'href="/review/campaigns/{campaign}"' in listing and "<td>75</td>" in listing

    email_page = client.get(f"/review/campaigns/{campaign}?channel=email")
    assert email_page.status_code == 200 and email_page.text.count('class="card draft"') == 20
    assert '<iframe class="email" sandbox srcdoc=' in email_page.text and "page 1 of 2" in email_page.text
    assert "Text part" in email_page.text and "Grounded on" in email_page.text and "Enamel Pan 0" in email_page.text
    assert "page 2 of 2" in client.get(f"/review/campaigns/{campaign}?channel=email&page=2").text
    rsa = client.get(f"/review/campaigns/{campaign}?channel=google_ads_rsa").text
    assert 'class="card draft"' not in rsa
    sms = client.get(f"/review/campaigns/{campaign}?channel=sms").text
    assert re.search(r"\d segment\(s\)", sms) and "GSM" in sms.upper()
    assert 'class="phone"' in client.get(f"/review/campaigns/{campaign}?channel=push").text

    target = draft_ids(url, campaign, "in_review")[0]  # an email draft (email drafts come first)
    refused = client.post(
        f"/review/drafts/{target}/edit",
        data={"csrf": csrf, "field_subject": "70% off everything, today only!", "back": "channel=email"},
    )
    assert refused.status_code == 422 and f'id="refused-{target}"' in refused.text and "HARD" in refused.text
    assert "70% off everything" in refused.text  # the reviewer's text is kept in the form to fix
    fixed = client.post(
        f"/review/drafts/{target}/edit",
        data={"csrf": csrf, "field_subject": "Enamel pans we picked for you", "back": "channel=email"},
        follow_redirects=True,
    )
    assert fixed.status_code == 200 and "every guardrail passed" in fixed.text and "human-edited" in fixed.text

    bulk = client.post(
        f"/review/campaigns/{campaign}/approve", data={"csrf": csrf, "channel": "email"}, follow_redirects=True
    )
    assert "Approved 25 drafts (email); 25 queued in the outbox." in bulk.text and 'id="outbox-queued"' in bulk.text
    rejected = client.post(
        f"/review/drafts/{draft_ids(url, campaign, 'in_review')[0]}/reject",
        data={"csrf": csrf, "reason": "too pushy", "back": "channel=sms"},
        follow_redirects=True,
    )
    assert "rejected." in rejected.text
    audit = client.get(f"/review/campaigns/{campaign}?status=all").text
    assert "too pushy" in audit and "edit_refused" in audit and "<ins>Enamel pans we picked for you</ins>" in audit


def test_grounding_panel_shows_the_items_the_copy_was_checked_against(campaign: int) -> None:
    """Recommendations change after generate: the panel still shows the stored item, not today's."""
    from sqlalchemy import select, update

    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Item, Recommendation

    url = get_settings().database_url
    with session_scope(url) as s:
        sku0, sku1 = (s.scalar(select(Item.id).where(Item.external_id == e)) for e in ("sku0", "sku1"))
        s.execute(update(Recommendation).where(Recommendation.item_id == sku0).values(item_id=sku1))
    client = TestClient(create_app())
    _login(client, "rev", "reviewer-pass-1")
    page = client.get(f"/review/campaigns/{campaign}?channel=email").text
    assert page.count("<small>(sku0)</small>") == 20 and "(sku1)" not in page
    assert 'href="https://shop.example/p/sku0"' in page and "No stored facts" not in page


def test_sent_campaign_shows_the_ab_chart(settings_env: None, db_url: str, tmp_path: Path) -> None:
    from marketing_gen.delivery.send import send_outbox

    seed_users(db_url, 3)
    cid, ids = run_to_outbox(db_url, get_settings(), channels=("email",))  # email: no quiet hours
    settings = get_settings().model_copy(update={"outbox_dir": tmp_path / "outbox"})
    assert send_outbox(ids, adapter="file", settings=settings).sent == 3
    add_account("rev", "reviewer-pass-1", url=db_url)
    client = TestClient(create_app())
    _login(client, "rev", "reviewer-pass-1")
    page = client.get(f"/review/campaigns/{cid}?status=all").text
    assert f'src="/review/campaigns/{cid}/report.png"' in page and 'id="outbox-sent"' in page
    png = client.get(f"/review/campaigns/{cid}/report.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
