"""Audience planning and the campaign state machine on a real database (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from marketing_gen.campaigns.planning import assign_variant, plan_drafts
from marketing_gen.campaigns.state import (
    CampaignState,
    campaign_status,
    create_campaign,
    list_campaigns,
    load_campaign,
    maybe_complete,
    set_state,
    transition,
)
from marketing_gen.db import session_scope
from marketing_gen.db.models import Device, Draft, Interaction, Item, User, utcnow
from marketing_gen.errors import InvalidRequest, NotFound

ALL = {"consent_email": True, "consent_sms": True, "consent_push": True, "consent_ads": True}


def _user(i: int, **kw: object) -> User:
    base: dict[str, object] = {
        "external_id": f"u{i}",
        "email": f"u{i}@example.com",
        "phone": f"+4470000{i:05d}",
        "country": "France",
        "locale": "fr",
        **ALL,
    }
    base.update(kw)
    return User(**base)


def _give_devices(url: str, *, skip: frozenset[str] = frozenset()) -> None:
    """An FCM token for every user (push drafts need a device), except the external ids in ``skip``."""
    with session_scope(url) as s:
        for u in s.scalars(select(User)):
            if u.external_id not in skip:
                s.add(Device(user_id=u.id, platform="fcm", token=f"fcm-token-{u.external_id}-" + "x" * 24))


def _plan(url: str, campaign_id: int, **kw: object) -> object:
    with session_scope(url) as s:
        return plan_drafts(
            s,
            load_campaign(s, campaign_id),
            frequency_cap=kw.pop("cap", 3),  # type: ignore[arg-type]
            frequency_window_days=7,
            **kw,
        )  # type: ignore[arg-type]


def _drafts(url: str, campaign_id: int) -> set[tuple[str, str, int]]:
    with session_scope(url) as s:
        rows = s.execute(
            select(User.external_id, Draft.channel, Draft.variant)
            .join(User, User.id == Draft.user_id)
            .where(Draft.campaign_id == campaign_id)
        )
        return {tuple(r) for r in rows}  # type: ignore[misc]


def test_consent_unsubscribe_suppression_and_address(db_url: str) -> None:
    with session_scope(db_url) as s:
        s.add_all(
            [
                _user(1),
                _user(2, consent_email=False),
                _user(3, unsubscribed_channels=["email"]),
                _user(4, unsubscribed_channels=["all"]),
                _user(5, suppressed=True),
                _user(6, email=None),
                _user(7, country="Germany"),
            ]
        )
    cid = create_campaign(name="c", channels=["email", "sms"], segment="country = France", url=db_url)
    result = _plan(db_url, cid)
    assert _drafts(db_url, cid) == {
        ("u1", "email", 0),
        ("u1", "sms", 0),
        ("u2", "sms", 0),
        ("u3", "sms", 0),
        ("u6", "sms", 0),
    }
    assert result.matched == 6  # type: ignore[attr-defined]
    assert result.excluded["email"] == {  # type: ignore[attr-defined]
        "no_consent": 1,
        "unsubscribed": 2,
        "suppressed": 1,
        "no_address": 1,
        "frequency_cap": 0,
    }
    assert result.inserted == 5  # type: ignore[attr-defined]


def test_replanning_inserts_nothing(db_url: str) -> None:
    with session_scope(db_url) as s:
        s.add_all([_user(i) for i in range(30)])
    _give_devices(db_url)
    cid = create_campaign(name="c", channels=["push", "google_ads_rsa"], url=db_url)
    first = _plan(db_url, cid)
    before = _drafts(db_url, cid)
    second = _plan(db_url, cid)
    assert first.inserted == 30 and second.inserted == 0  # type: ignore[attr-defined]  # push only: ads are per theme
    assert _drafts(db_url, cid) == before
    assert second.audience == {"push": 30, "google_ads_rsa": 30}  # type: ignore[attr-defined]


def test_variants_split_the_audience_deterministically(db_url: str) -> None:
    with session_scope(db_url) as s:
        s.add_all([_user(i) for i in range(200)])
    _give_devices(db_url)
    cid = create_campaign(name="ab", channels=["email", "push"], variants=2, url=db_url)
    _plan(db_url, cid)
    drafts = _drafts(db_url, cid)
    assert len(drafts) == 400  # one arm per user and channel, not n copies
    arms = {}
    for ext, _channel, variant in drafts:
        assert arms.setdefault(ext, variant) == variant  # same arm on every channel
    split = Counter(arms.values())
    assert set(split) == {0, 1} and min(split.values()) > 60
    assert [assign_variant(cid, u, 3) for u in range(50)] == [assign_variant(cid, u, 3) for u in range(50)]


def test_frequency_cap_counts_other_live_campaigns_in_window(db_url: str) -> None:
    with session_scope(db_url) as s:
        s.add_all([_user(i) for i in range(3)])
    users = {}
    with session_scope(db_url) as s:
        users = {u.external_id: u.id for u in s.scalars(select(User))}
    old = utcnow() - dt.timedelta(days=30)
    # u0: two live drafts this week; u1: two drafts but one is a month old; u2: two in a cancelled campaign.
    c1 = create_campaign(name="a", channels=["email"], url=db_url)
    c2 = create_campaign(name="b", channels=["email"], url=db_url)
    c3 = create_campaign(name="x", channels=["email"], url=db_url)
    with session_scope(db_url) as s:
        transition(s, load_campaign(s, c3), CampaignState.CANCELLED)
        for cid, ext, created in [
            (c1, "u0", None),
            (c2, "u0", None),
            (c1, "u1", None),
            (c2, "u1", old),
            (c3, "u2", None),
            (c1, "u2", None),
        ]:
            s.add(
                Draft(
                    campaign_id=cid,
                    user_id=users[ext],
                    channel="email",
                    variant=0,
                    status="queued",
                    idempotency_key=f"{cid}:{users[ext]}:email:0",
                    created_at=created or utcnow(),
                )
            )
    target = create_campaign(name="t", channels=["email", "sms"], url=db_url)
    result = _plan(db_url, target, cap=2)
    assert _drafts(db_url, target) == {
        ("u1", "email", 0),
        ("u2", "email", 0),
        ("u0", "sms", 0),
        ("u1", "sms", 0),
        ("u2", "sms", 0),
    }
    assert result.excluded["email"]["frequency_cap"] == 1  # type: ignore[attr-defined]


def test_segment_uses_interests_and_purchase_recency(db_url: str) -> None:
    now = utcnow()
    with session_scope(db_url) as s:
        kitchen = Item(external_id="i1", title="Pan", category="Home & Kitchen | Cookware")
        toy = Item(external_id="i2", title="Ball", category="Toys & Games")
        u1, u2, u3 = _user(1, attributes={"vip": True}), _user(2), _user(3, attributes={"vip": True})
        s.add_all([kitchen, toy, u1, u2, u3])
        s.flush()
        s.add_all(
            [
                Interaction(user_id=u1.id, item_id=kitchen.id, event="purchase", ts=now - dt.timedelta(days=3)),
                Interaction(user_id=u2.id, item_id=kitchen.id, event="view", ts=now - dt.timedelta(days=3)),
                Interaction(user_id=u3.id, item_id=kitchen.id, event="purchase", ts=now - dt.timedelta(days=90)),
                Interaction(user_id=u3.id, item_id=toy.id, event="view", ts=now),
            ]
        )
    _give_devices(db_url)
    cid = create_campaign(
        name="k",
        channels=["push"],
        url=db_url,
        segment="interests has Kitchen and purchased_within_days < 30 and attributes.vip = true",
    )
    _plan(db_url, cid)
    assert _drafts(db_url, cid) == {("u1", "push", 0)}


def test_state_machine_and_status(db_url: str) -> None:
    with session_scope(db_url) as s:
        s.add_all([_user(i) for i in range(4)])
    _give_devices(db_url)
    cid = create_campaign(name="s", channels=["push"], offer_text="Spring sale", discount_pct=10, url=db_url)
    status = campaign_status(cid, url=db_url)
    assert status["state"] == "created" and status["offer"] == {"text": "Spring sale", "discount_pct": "10"}
    assert set(status["counts"]) == {
        "pending", "generated", "in_review", "ready", "queued", "failed", "skipped", "rejected"
    }  # fmt: skip
    with session_scope(db_url) as s:
        row = load_campaign(s, cid)
        transition(s, row, CampaignState.PLANNED)
        plan_drafts(s, row, frequency_cap=3, frequency_window_days=7)
        transition(s, row, CampaignState.RUNNING)
        assert not maybe_complete(s, cid)  # four drafts still pending
    assert set_state(cid, CampaignState.PAUSED, url=db_url) == "paused"
    with pytest.raises(InvalidRequest, match="cannot go to completed"):
        set_state(cid, CampaignState.COMPLETED, url=db_url)
    assert set_state(cid, CampaignState.RUNNING, url=db_url) == "running"
    with session_scope(db_url) as s:
        for k, d in enumerate(s.scalars(select(Draft).where(Draft.campaign_id == cid).order_by(Draft.id))):
            d.status, d.attempts, d.fallback = "queued", 1, d.id % 2 == 0
            # two users got the same title for different items (a duplicate each), the other two their own
            d.fields = {"title": "Picked for you" if k < 2 else f"Meet lantern {k}", "body": "…"}
            d.facts = {"items": [{"id": f"item-{k}"}], "offer": None}
            if d.fallback:  # a first try failing a hard check, then fallback copy that fails the quality gate
                d.violations = [[{"code": "grounding.price", "hard": True}], [{"code": "content.short", "hard": True}]]
            else:  # a first try failing only the gate (fluency), then a sendable regeneration
                d.violations = [[{"code": "fluency.low", "hard": True}, {"code": "length.x_short", "hard": False}], []]
        s.flush()
        assert maybe_complete(s, cid)
    status = campaign_status(cid, url=db_url)
    assert status["state"] == "completed" and status["counts"]["queued"] == 4 and status["done"] == 4
    assert status["fallback_rate"] == 0.5 and status["first_try_pass_rate"] == 0.5
    assert status["first_try_sendable_rate"] == 0.0 and status["sendable_rate"] == 0.5
    assert status["verdicts_by_channel"]["push"]["sendable_rate"] == 0.5
    assert status["verdicts_by_channel"]["push"]["fallback_rate"] == 0.5
    assert status["duplicate_headline_rate"] == status["verdicts_by_channel"]["push"]["duplicate_headline_rate"] == 0.5
    polled = campaign_status(cid, url=db_url, verdicts=False)  # what a progress poll reads: counts, no verdicts
    assert polled["counts"] == status["counts"] and polled["verdicts_by_channel"] == {}
    assert status["by_channel"]["push"]["queued"] == 4 and status["finished_at"] is not None
    assert [c["id"] for c in list_campaigns(url=db_url)] == [cid]
    with pytest.raises(InvalidRequest, match="cannot go to"):
        set_state(cid, CampaignState.CANCELLED, url=db_url)
    with pytest.raises(NotFound, match="campaign list"):
        campaign_status(cid + 100, url=db_url)


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"channels": []}, "at least one"),
        ({"channels": ["fax"]}, "unknown channel"),
        ({"channels": ["social_reply"]}, "unknown channel"),
        ({"channels": ["email"], "variants": 0}, "--variants"),
        ({"channels": ["email"], "segment": "country in (France"}, "segment:"),
        ({"channels": ["email"], "discount_pct": 150}, "--discount-pct"),
        ({"channels": ["email"], "offer_ends": "soon"}, "--offer-ends"),
    ],
)
def test_create_validates(db_url: str, kw: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidRequest, match=fragment):
        create_campaign(name="bad", url=db_url, **kw)  # type: ignore[arg-type]


def test_no_push_draft_without_a_device_and_no_per_user_ad_drafts(db_url: str) -> None:
    with session_scope(db_url) as s:
        s.add_all([_user(i) for i in range(6)])
    _give_devices(db_url, skip=frozenset({"u1", "u4"}))
    cid = create_campaign(name="d", channels=["push", "google_ads_rsa", "meta_ad"], url=db_url)
    result = _plan(db_url, cid)
    assert _drafts(db_url, cid) == {(f"u{i}", "push", 0) for i in (0, 2, 3, 5)}
    assert result.excluded["push"]["no_device"] == 2  # type: ignore[attr-defined]
    assert result.audience == {"push": 4, "google_ads_rsa": 6, "meta_ad": 6}  # type: ignore[attr-defined]
    assert result.inserted == 4  # type: ignore[attr-defined]
