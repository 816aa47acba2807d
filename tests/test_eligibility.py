"""Consent at every step: opt-outs between plan → generate → render → deliver, through each entry point.

The pipeline steps run in-process (the functions the Celery tasks call, ``ScriptedEngine`` at the model boundary)
on SQLite and on PostgreSQL. Opt-outs come through the real HTTP route, ``import events``, ``import suppressions``
and ``import users`` (consent withdrawn); concurrent plans through real workers are in ``tests/workers/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from fakes import ScriptedEngine
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from marketing_gen.api import create_app
from marketing_gen.campaigns.pipeline import deliver_drafts, generate_drafts, plan_campaign, render_drafts
from marketing_gen.campaigns.state import campaign_status, create_campaign
from marketing_gen.cli import main
from marketing_gen.config import get_settings
from marketing_gen.db import get_engine, session_scope
from marketing_gen.db.models import Brand, Device, Draft, Item, OutboxMessage, Recommendation, User
from marketing_gen.feedback.events import ingest_events
from marketing_gen.importers import import_file
from marketing_gen.tokens import unsubscribe_url

USERS = ("ann", "bob", "cat", "dan")


@pytest.fixture
def url(any_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A fresh database (SQLite, then PostgreSQL) that the settings point at, with a small consenting store."""
    monkeypatch.setenv("MARKETING_GEN_DATABASE_URL", any_db_url)
    monkeypatch.setenv("MARKETING_GEN_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("MARKETING_GEN_SECRET_KEY", "test-secret-key-of-at-least-32-bytes-0123")
    monkeypatch.setenv("MARKETING_GEN_PUBLIC_BASE_URL", "https://links.shop.example")
    get_settings.cache_clear()
    with session_scope(any_db_url) as s:
        s.add(Brand(name="Acme", postal_address="1 High St, Leeds LS1 1AA, UK", website_url="https://shop.example"))
        item = Item(external_id="sku1", title="Enamel Pan", price=25, currency="GBP", url="https://shop.example/p/1")
        users = [
            User(
                external_id=name,
                email=f"{name.title()}@Example.com",
                phone=f"+44 7911 123{i:03d}",
                first_name=name.title(),
                country="United Kingdom",
                consent_email=True,
                consent_sms=True,
                consent_push=True,
            )
            for i, name in enumerate(USERS)
        ]
        s.add_all([item, *users])
        s.flush()
        s.add_all([Recommendation(user_id=u.id, item_id=item.id, rank=1, score=1.0) for u in users])
        s.add_all([Device(user_id=u.id, platform="fcm", token=f"fcm-{u.external_id}-" + "t" * 32) for u in users])
    yield any_db_url
    get_settings.cache_clear()


def _campaign(url: str, channels: tuple[str, ...] = ("email", "sms")) -> int:
    return create_campaign(name="Spring", channels=list(channels), url=url, options={"max_regenerations": 0})


def _ids(url: str) -> dict[str, int]:
    with session_scope(url) as s:
        return dict(s.execute(select(User.external_id, User.id)).all())


def _drafts(url: str, campaign_id: int) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(user, channel) → (status, skip_reason)."""
    with session_scope(url) as s:
        rows = s.execute(
            select(User.external_id, Draft.channel, Draft.status, Draft.skip_reason)
            .join(User, User.id == Draft.user_id)
            .where(Draft.campaign_id == campaign_id)
        )
        return {(u, ch): (st, why) for u, ch, st, why in rows}


def _outbox(url: str) -> dict[tuple[int, str, str], str]:
    """(campaign, user, channel) → outbox state."""
    with session_scope(url) as s:
        rows = s.execute(
            select(OutboxMessage.campaign_id, User.external_id, OutboxMessage.channel, OutboxMessage.state).join(
                User, User.id == OutboxMessage.user_id
            )
        )
        return {(c, u, ch): st for c, u, ch, st in rows}


def _ids_of(url: str, campaign_id: int) -> list[int]:
    with session_scope(url) as s:
        return list(s.scalars(select(Draft.id).where(Draft.campaign_id == campaign_id).order_by(Draft.id)))


def _generated(url: str, channels: tuple[str, ...] = ("email", "sms")) -> tuple[int, list[int]]:
    """A planned campaign whose drafts are all generated (nothing rendered yet)."""
    cid = _campaign(url, channels)
    plan_campaign(cid, settings=get_settings())
    ids = _ids_of(url, cid)
    assert len(generate_drafts(ids, ScriptedEngine(default=""), settings=get_settings())) == len(ids)
    return cid, ids


def _delivered(url: str, channels: tuple[str, ...] = ("email", "sms")) -> int:
    cid, ids = _generated(url, channels)
    settings = get_settings()
    assert sorted(deliver_drafts(render_drafts(ids, settings=settings), settings=settings)) == ids
    return cid


# --- the rule ------------------------------------------------------------------------------------------------


def test_exclusion_reasons_name_the_channel_and_what_is_missing() -> None:
    from marketing_gen.campaigns.eligibility import Recipient, covered_channels, exclusion

    base: dict[str, Any] = {
        "user_id": 1,
        "suppressed": False,
        "unsubscribed": frozenset(),
        "consent": frozenset({"email", "ads"}),
        "email": "a@example.com",
        "phone": None,
    }
    assert exclusion(Recipient(**base), "email") is None
    assert exclusion(Recipient(**{**base, "suppressed": True}), "email") == "suppressed"
    assert exclusion(Recipient(**{**base, "unsubscribed": frozenset({"email"})}), "email") == "unsubscribed:email"
    assert exclusion(Recipient(**base), "sms") == "consent:sms"
    assert exclusion(Recipient(**{**base, "consent": frozenset({"sms"})}), "sms") == "address:sms"
    ads = Recipient(**{**base, "unsubscribed": frozenset({"ads"})})
    assert exclusion(ads, "meta_ad") == "unsubscribed:meta_ad" and exclusion(ads, "email") is None
    assert exclusion(Recipient(**{**base, "unsubscribed": frozenset({"all"})}), "email") == "unsubscribed:email"
    assert covered_channels("ads") == ["google_ads_rsa", "meta_ad"] and len(covered_channels("all")) == 5


# --- re-checks in the steps ----------------------------------------------------------------------------------


def test_consent_withdrawn_between_plan_and_render_skips_at_render(url: str, tmp_path: Path) -> None:
    cid, ids = _generated(url)
    users = tmp_path / "users.csv"
    users.write_text("user_id,email_consent\nann,false\n")  # another system's export: no cancellation, only data
    assert import_file("users", users, url=url).updated == 1
    with session_scope(url) as s:  # and one user suppressed straight in the database
        s.execute(update(User).where(User.external_id == "bob").values(suppressed=True))

    ready = render_drafts(ids, settings=get_settings())
    drafts = _drafts(url, cid)
    assert drafts[("ann", "email")] == ("skipped", "consent:email")
    assert drafts[("ann", "sms")][0] == "ready"  # other channels go on
    assert drafts[("bob", "email")] == drafts[("bob", "sms")] == ("skipped", "suppressed")
    assert len(ready) == 5 and deliver_drafts(ready, settings=get_settings()) == ready
    assert {k[1:] for k in _outbox(url)} == {(u, ch) for u in ("cat", "dan") for ch in ("email", "sms")} | {
        ("ann", "sms")
    }
    assert campaign_status(cid, url=url)["state"] == "completed"


def test_opt_out_between_render_and_deliver_skips_at_deliver(url: str) -> None:
    cid, ids = _generated(url)
    ready = render_drafts(ids, settings=get_settings())
    assert len(ready) == 8
    with session_scope(url) as s:
        s.execute(update(User).where(User.external_id == "cat").values(unsubscribed_channels=["sms"]))
        s.execute(update(User).where(User.external_id == "dan").values(consent_email=False))

    queued = deliver_drafts(ready, settings=get_settings())
    drafts = _drafts(url, cid)
    assert drafts[("cat", "sms")] == ("skipped", "unsubscribed:sms")
    assert drafts[("dan", "email")] == ("skipped", "consent:email")
    assert len(queued) == 6 and ("cat", "sms") not in {k[1:] for k in _outbox(url)}
    assert ("dan", "email") not in {k[1:] for k in _outbox(url)}


def test_opt_out_before_generate_spends_no_model_time(url: str) -> None:
    cid = _campaign(url, ("email",))
    plan_campaign(cid, settings=get_settings())
    with session_scope(url) as s:
        s.execute(update(User).where(User.external_id.in_(["ann", "bob"])).values(suppressed=True))
    engine = ScriptedEngine(default="")
    assert len(generate_drafts(_ids_of(url, cid), engine, settings=get_settings())) == 2
    assert sum(len(c.prompts) for c in engine.calls) == 2  # only cat and dan reached the model
    assert _drafts(url, cid)[("ann", "email")] == ("skipped", "suppressed")


def _users_queries(url: str, fn: Any) -> int:
    """How many SQL statements reading ``users`` ran during ``fn()``."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "users" in statement.lower().split("where")[0]:
            seen.append(statement)

    engine = get_engine(url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_recheck_is_one_query_per_batch_not_per_draft(url: str) -> None:
    settings = get_settings()
    cid, ids = _generated(url, ("email",))
    one, rest = ids[:1], ids[1:]
    render_one = _users_queries(url, lambda: render_drafts(one, settings=settings))
    render_rest = _users_queries(url, lambda: render_drafts(rest, settings=settings))
    assert render_one == render_rest  # 1 draft or 3: the same number of reads of users
    deliver_one = _users_queries(url, lambda: deliver_drafts(one, settings=settings))
    deliver_rest = _users_queries(url, lambda: deliver_drafts(rest, settings=settings))
    assert deliver_one == deliver_rest == 1
    assert campaign_status(cid, url=url)["counts"]["queued"] == 4


# --- opt-outs cancel open work at once -----------------------------------------------------------------------


def test_one_click_unsubscribe_cancels_open_drafts_and_unsent_outbox(url: str) -> None:
    sent = _delivered(url)  # campaign 1: every message in the outbox
    open_cid, open_ids = _generated(url)  # campaign 2: generated, not rendered
    users = _ids(url)
    with session_scope(url) as s:  # one of ann's messages has left already: it stays as it is
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.user_id == users["ann"], OutboxMessage.channel == "sms")
            .values(state="sent")
        )
    client = TestClient(create_app(get_settings()))
    link = unsubscribe_url(get_settings(), user_id=users["ann"], channel="email")
    resp = client.post(urlsplit(link).path, data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200 and "unsubscribed" in resp.text

    assert _drafts(url, open_cid)[("ann", "email")] == ("skipped", "unsubscribed:email")
    assert _drafts(url, sent)[("ann", "email")] == ("skipped", "unsubscribed:email")
    outbox = _outbox(url)
    assert outbox[(sent, "ann", "email")] == "skipped" and outbox[(sent, "ann", "sms")] == "sent"
    assert outbox[(sent, "bob", "email")] == "queued"
    assert _drafts(url, open_cid)[("ann", "sms")][0] == "generated"  # another channel: untouched
    settings = get_settings()
    queued = deliver_drafts(render_drafts(open_ids, settings=settings), settings=settings)
    assert len(queued) == 7 and (open_cid, "ann", "email") not in _outbox(url)


def test_import_events_unsubscribe_and_complaint_cancel_open_work(url: str) -> None:
    sent = _delivered(url, ("email",))
    open_cid, _ = _generated(url)
    with session_scope(url) as s:
        draft = {
            u: d for u, d in s.execute(select(User.external_id, Draft.id).join(User).where(Draft.campaign_id == sent))
        }
    report = ingest_events(
        [
            {"draft_id": draft["bob"], "event": "unsubscribe", "timestamp": "2026-11-29T10:00:00Z"},
            {"draft_id": draft["cat"], "event": "complaint", "timestamp": "2026-11-29T10:00:00Z"},
            {"draft_id": draft["dan"], "event": "open", "timestamp": "2026-11-29T10:00:00Z"},
        ],
        url=url,
    )
    assert report.recorded == 3
    assert report.cancelled.to_dict() == {"drafts": 3, "outbox": 2}  # bob email; cat email + sms; 2 outbox rows
    drafts = _drafts(url, open_cid)
    assert drafts[("bob", "email")] == ("skipped", "unsubscribed:email") and drafts[("bob", "sms")][0] == "generated"
    assert drafts[("cat", "email")] == drafts[("cat", "sms")] == ("skipped", "suppressed")
    outbox = _outbox(url)
    assert outbox[(sent, "bob", "email")] == outbox[(sent, "cat", "email")] == "skipped"
    assert outbox[(sent, "dan", "email")] == "queued"
    with session_scope(url) as s:
        assert s.scalar(select(User.unsubscribed_channels).where(User.external_id == "bob")) == ["email"]
        assert s.scalar(select(User.suppressed).where(User.external_id == "cat")) is True


def test_import_suppressions_by_email_phone_and_user_id(url: str, tmp_path: Path) -> None:
    sent = _delivered(url, ("email", "sms", "push"))
    path = tmp_path / "suppressions.csv"
    path.write_text(
        "email,phone,user_id,channel\n"
        "ANN@example.com,,,\n"  # an address stops email (case-insensitive)
        ",+44-7911-123001,,\n"  # a phone number stops SMS (separators ignored)
        ",,cat,\n"  # a user id stops everything
        ",,dan,push\n"  # an explicit channel
        "Eve@Example.com,,,\n"  # no such user yet: kept, applied when she is imported
        ",,,\n"  # names nobody: rejected
        "x@example.com,,,fax\n"  # unknown channel: rejected
    )
    env = {"MARKETING_GEN_DATABASE_URL": url}
    result = CliRunner().invoke(main, ["import", "suppressions", str(path), "--json"], env=env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["imported"], out["updated"], out["rejected"]) == (5, 0, 2)  # suppression entries stored
    assert [w["row"] for w in out["warnings"]] == [6]
    assert out["tables"]["users_opted_out"] == {"imported": 4, "updated": 0, "unmatched_entries": 1}
    assert out["tables"]["cancelled"] == {"drafts": 0, "outbox": 6}

    outbox = _outbox(url)
    cancelled = {k[1:] for k, st in outbox.items() if st == "skipped"}
    assert cancelled == {("ann", "email"), ("bob", "sms"), ("cat", "email"), ("cat", "sms"), ("cat", "push"),
                         ("dan", "push")}  # fmt: skip
    drafts = _drafts(url, sent)
    assert drafts[("ann", "email")] == ("skipped", "unsubscribed:email")
    assert drafts[("cat", "push")] == ("skipped", "suppressed") and drafts[("ann", "sms")][0] == "queued"

    again = json.loads(CliRunner().invoke(main, ["import", "suppressions", str(path), "--json"], env=env).output)
    assert (again["imported"], again["updated"]) == (0, 5)  # re-import: nothing new
    assert again["tables"]["users_opted_out"] == {"imported": 0, "updated": 4, "unmatched_entries": 1}
    # the next plan leaves them out too
    cid = _campaign(url, ("email", "sms", "push"))
    plan_campaign(cid, settings=get_settings())
    assert set(_drafts(url, cid)) == {("ann", "sms"), ("ann", "push"), ("bob", "email"), ("bob", "push"),
                                      ("dan", "email"), ("dan", "sms")}  # fmt: skip


def test_a_user_imported_after_the_suppression_list_is_opted_out_on_arrival(url: str, tmp_path: Path) -> None:
    entries = tmp_path / "suppressions.csv"
    entries.write_text("email,phone,user_id,country\neve@example.com,,,\n,07911 123999,,UK\n,,fay,\n")
    env = {"MARKETING_GEN_DATABASE_URL": url}
    out = json.loads(CliRunner().invoke(main, ["import", "suppressions", str(entries), "--json"], env=env).output)
    assert out["imported"] == 3 and out["tables"]["users_opted_out"]["unmatched_entries"] == 3
    users = tmp_path / "users.csv"
    users.write_text(
        "user_id,email,phone,email_consent,sms_consent,push_consent\n"
        "eve,EVE@example.com,+447911123111,true,true,true\n"  # matches the email entry
        "fay,fay@example.com,+447911123112,true,true,true\n"  # matches the user id entry
        "gus,gus@example.com,+44-7911-123999,true,true,true\n"  # matches the phone entry
        "hal,hal@example.com,+447911123113,true,true,true\n"  # on no list
    )
    result = CliRunner().invoke(main, ["import", "users", str(users), "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tables"]["suppression_list"]["opted_out"] == 3
    cid = _campaign(url, ("email", "sms"))
    plan_campaign(cid, settings=get_settings())
    planned = {k for k in _drafts(url, cid) if k[0] in ("eve", "fay", "gus", "hal")}
    assert planned == {("eve", "sms"), ("gus", "email"), ("hal", "email"), ("hal", "sms")}
    text_out = CliRunner().invoke(main, ["import", "suppressions", str(entries)], env=env)
    assert text_out.exit_code == 0 and "suppression_entries: 0 imported, 3 updated" in text_out.output
    assert "cancelled: 0 drafts, 0 outbox" in text_out.output


def test_import_suppressions_needs_a_key_column(url: str, tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("name\nann\n")
    result = CliRunner().invoke(main, ["import", "suppressions", str(path)], env={"MARKETING_GEN_DATABASE_URL": url})
    assert result.exit_code != 0 and "needs a user_id, email or phone column" in result.output
