"""The approval workflow on a real database: only approved drafts reach the outbox, edits are re-checked by every
guardrail, everything is audited, and decisions become training rows."""

from __future__ import annotations

import email

import pytest
from outbox_store import draft_ids, run_to_outbox, seed_users
from sqlalchemy import func, select, update

from marketing_gen.campaigns.state import campaign_status
from marketing_gen.config import Settings, get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Draft, OutboxMessage, ReviewAction
from marketing_gen.errors import InvalidRequest
from marketing_gen.review.training import review_preference_rows
from marketing_gen.review.workflow import (
    approve_drafts,
    audit_trail,
    edit_draft,
    list_drafts,
    reject_draft,
    review_counts,
)


@pytest.fixture
def settings(settings_env: None) -> Settings:
    return get_settings()


def _outbox_drafts(url: str) -> set[int]:
    with session_scope(url) as s:
        return set(s.scalars(select(OutboxMessage.draft_id)))


def test_only_approved_drafts_reach_the_outbox(settings: Settings, db_url: str) -> None:
    seed_users(db_url, 4)
    cid, outbox = run_to_outbox(db_url, settings, channels=("email", "sms"), approval="required")
    assert outbox == [] and set(draft_ids(db_url, cid)) == set(draft_ids(db_url, cid, "in_review"))
    assert campaign_status(cid, url=db_url)["state"] == "completed"  # nothing left for the workers
    counts = review_counts(cid, url=db_url)
    assert counts["approval"] == "required" and counts["groups"] == {
        "email": {0: {"in_review": 4}},
        "sms": {0: {"in_review": 4}},
    }

    with pytest.raises(InvalidRequest, match="has email, sms"):
        approve_drafts(cid, actor="ann", channel="push", settings=settings)
    assert approve_drafts(cid, actor="ann", channel="email", settings=settings) == {"approved": 4, "queued": 4}
    emails = set(draft_ids(db_url, cid, "queued"))
    assert _outbox_drafts(db_url) == emails and len(draft_ids(db_url, cid, "in_review")) == 4
    assert approve_drafts(cid, actor="ann", channel="email", settings=settings) == {"approved": 0, "queued": 0}
    one_sms = draft_ids(db_url, cid, "in_review")[0]
    assert approve_drafts(cid, actor="bob", draft_ids=[one_sms], settings=settings)["approved"] == 1
    assert _outbox_drafts(db_url) == emails | {one_sms}
    trail = audit_trail(cid, url=db_url)
    assert len(trail) == 5 and {a["action"] for a in trail} == {"approve"} and trail[0]["actor"] == "bob"


def test_reject_needs_a_reason_and_becomes_a_negative_row(settings: Settings, db_url: str) -> None:
    seed_users(db_url, 2)
    cid, _ = run_to_outbox(db_url, settings, approval="required")
    first, second = draft_ids(db_url, cid)
    with session_scope(db_url) as s:  # as if the model (not the template fallback) wrote them
        s.execute(update(Draft).values(fallback=False))
    with pytest.raises(InvalidRequest, match="needs a reason"):
        reject_draft(first, actor="ann", reason=" ", settings=settings)
    reject_draft(first, actor="ann", reason="tone is off", settings=settings)
    with pytest.raises(InvalidRequest, match="only drafts in review"):
        reject_draft(first, actor="ann", reason="again", settings=settings)
    assert draft_ids(db_url, cid, "rejected") == [first]
    approve_drafts(cid, actor="ann", settings=settings)
    assert _outbox_drafts(db_url) == {second}
    rows = review_preference_rows(url=db_url)
    (kto,) = rows["kto"]
    assert kto["label"] is False and kto["meta"]["draft_id"] == first and kto["meta"]["reason"] == "tone is off"
    assert kto["prompt"][-1]["role"] == "user" and "SUBJECT" in kto["completion"][0]["content"].upper()


def test_edit_is_rechecked_refused_then_accepted_and_audited(settings: Settings, db_url: str) -> None:
    seed_users(db_url, 2)
    cid, _ = run_to_outbox(db_url, settings, approval="required")
    target, other = draft_ids(db_url, cid)
    with session_scope(db_url) as s:
        s.execute(update(Draft).where(Draft.id == target).values(fallback=False))
        before = s.scalar(select(Draft.fields).where(Draft.id == target))

    refused = edit_draft(target, {"subject": "50% off everything, today only!"}, actor="ann", settings=settings)
    assert not refused.accepted and refused.hard
    with session_scope(db_url) as s:
        assert s.scalar(select(Draft.fields).where(Draft.id == target)) == before  # nothing changed
    with pytest.raises(InvalidRequest, match="has no field 'price'"):
        edit_draft(target, {"price": "1"}, actor="ann", settings=settings)

    ok = edit_draft(target, {"subject": "Enamel pans picked for you"}, actor="ann", settings=settings)
    assert ok.accepted and not ok.hard
    (row,) = [d for d in list_drafts(cid, url=db_url)[0] if d["id"] == target]
    assert (
        row["fields"]["subject"] == "Enamel pans picked for you"
        and row["human_edited"]
        and row["status"] == "in_review"
    )
    edited_eml = email.message_from_string(row["rendered"]["eml"])
    assert edited_eml["Subject"] == "Enamel pans picked for you"
    assert edited_eml["X-AI-Content-Origin"] == "human" and edited_eml["X-AI-Generated"] == "no"  # AI Act mark
    with session_scope(db_url) as s:
        assert s.scalar(select(Draft.ai_mark).where(Draft.id == target)) == "human"
    trail = audit_trail(cid, url=db_url)
    assert [a["action"] for a in trail] == ["edit", "edit_refused"]
    assert (
        trail[0]["before"]["subject"] == before["subject"]
        and trail[0]["after"]["subject"] == "Enamel pans picked for you"
    )
    assert trail[1]["reason"]  # the hard finding codes

    (dpo,) = review_preference_rows(url=db_url)["dpo"]
    assert "Enamel pans picked for you" in dpo["chosen"][0]["content"]
    assert before["subject"] in dpo["rejected"][0]["content"]

    # approved human-edited copy becomes an SFT row even where the original was a fallback; plain fallbacks do not
    from marketing_gen.training.datasets import draft_rows

    with session_scope(db_url) as s:
        s.execute(update(Draft).values(fallback=True))
    approve_drafts(cid, actor="ann", settings=settings)
    rows = draft_rows(db_url)
    assert len(rows) == 1 and "Enamel pans picked for you" in str(rows[0])
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count()).select_from(ReviewAction)) == 4  # edit_refused, edit, 2 approvals
    assert other in _outbox_drafts(db_url)
