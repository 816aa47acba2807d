"""The campaign pipeline through real Celery worker processes (SQLite broker + SQLite; Redis + PostgreSQL).

The tiny random model is the active version, loaded by the workers through the real engine path; its
output fails the checks, so every copy exercises the template fallback. Never eager mode.
"""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from worker_stack import CHANNELS, SeedUser, Stack, create_test_campaign, seed_store, wait_until

from marketing_gen.campaigns.state import campaign_status
from marketing_gen.db import session_scope
from marketing_gen.db.models import Campaign, Draft, OutboxMessage, User

N_USERS = 200
TIMEOUT = 300


def _expected(specs: list[SeedUser]) -> dict[tuple[str, str], str]:
    """(user, channel) → final draft status, derived from how the users were seeded."""
    return {(u.external_id, ch): "queued" if u.has_recs else "skipped" for u in specs for ch in CHANNELS if u.gets(ch)}


def _drafts(url: str, cid: int) -> list[tuple[Any, ...]]:
    with session_scope(url) as s:
        return [
            tuple(r)
            for r in s.execute(
                select(
                    User.external_id,
                    Draft.channel,
                    Draft.status,
                    Draft.id,
                    Draft.variant,
                    Draft.fields,
                    Draft.fallback,
                    Draft.updated_at,
                    Draft.timings,
                )
                .join(User, User.id == Draft.user_id)
                .where(Draft.campaign_id == cid)
                .order_by(Draft.id)
            )
        ]


def _outbox(url: str, cid: int) -> list[tuple[int, int]]:
    with session_scope(url) as s:
        return [
            tuple(r)
            for r in s.execute(  # type: ignore[misc]
                select(OutboxMessage.id, OutboxMessage.draft_id)
                .where(OutboxMessage.campaign_id == cid)
                .order_by(OutboxMessage.id)
            )
        ]


def _completed(url: str, cid: int) -> bool:
    return campaign_status(cid, url=url)["state"] == "completed"


def _assert_exact(url: str, cid: int, specs: list[SeedUser]) -> list[tuple[Any, ...]]:
    """Exactly the expected drafts (no duplicates, none lost) and one outbox row per queued draft."""
    drafts = _drafts(url, cid)
    keys = Counter((d[0], d[1]) for d in drafts)
    assert max(keys.values()) == 1, "duplicate drafts"
    assert {(d[0], d[1]): d[2] for d in drafts} == _expected(specs)
    outbox = _outbox(url, cid)
    assert len(outbox) == len({draft_id for _, draft_id in outbox}), "duplicate outbox rows"
    assert {draft_id for _, draft_id in outbox} == {d[3] for d in drafts if d[2] == "queued"}
    queued = [d for d in drafts if d[2] == "queued"]
    assert all(d[5] for d in queued), "queued drafts carry their copy"
    return drafts


def test_campaign_completes_with_exact_drafts_and_rerun_changes_nothing(stack: Stack) -> None:
    specs = seed_store(stack.db_url, N_USERS)
    cid = create_test_campaign(stack.db_url)
    stack.start_worker("w1")
    # --wait with a worker consuming: no "no worker" false alarm (SQLite: the plan message is taken; Redis: the
    # worker answers the broadcast), one JSON object at the end
    ran = stack.cli("campaign", "run", str(cid), "--wait", "--json", timeout=TIMEOUT)
    assert json.loads(ran.stdout)["state"] == "completed", ran.stderr
    wait_until(lambda: _completed(stack.db_url, cid), timeout=TIMEOUT, stack=stack, what="the campaign")
    drafts = _assert_exact(stack.db_url, cid, specs)
    assert len({d[0] for d in drafts if d[2] == "queued"}) >= 150

    by_user = {(d[0], d[1]) for d in drafts}
    no_email_consent = [u for u in specs if not u.consent_email and not u.suppressed]
    assert no_email_consent and all((u.external_id, "email") not in by_user for u in no_email_consent)
    assert all((u.external_id, "push") in by_user for u in no_email_consent if u.gets("push"))
    unsubscribed_email = [u for u in specs if u.unsubscribed == ("email",)]
    assert unsubscribed_email and all((u.external_id, "email") not in by_user for u in unsubscribed_email)
    suppressed = {u.external_id for u in specs if u.suppressed}
    assert suppressed and not suppressed & {d[0] for d in drafts}
    status = campaign_status(cid, url=stack.db_url)
    assert status["counts"]["queued"] == status["outbox"] == sum(1 for d in drafts if d[2] == "queued")
    assert status["fallback_rate"] == 1.0  # the random model never passes the checks: templates stepped in
    with session_scope(stack.db_url) as s:  # and the copy says so (EU AI Act Art. 50 mark)
        marks = s.execute(
            select(Draft.ai_mark, Draft.rendered).where(Draft.campaign_id == cid, Draft.status == "queued")
        )
        for mark, rendered in marks:
            assert mark == "fallback" == rendered["data"]["ai_mark"]
            assert "eml" not in rendered or "X-AI-Generated: no" in rendered["eml"]

    # `campaign run` again: re-plans (nothing new), re-enqueues nothing unfinished → no row changes.
    with session_scope(stack.db_url) as s:
        finished = s.scalar(select(Campaign.finished_at).where(Campaign.id == cid))
    outbox_before = _outbox(stack.db_url, cid)
    stack.cli("campaign", "run", str(cid))

    def replanned() -> bool:
        with session_scope(stack.db_url) as s:
            row = s.get(Campaign, cid)
            return row is not None and row.state == "completed" and row.finished_at != finished

    wait_until(replanned, timeout=120, stack=stack, what="the re-run to be planned")
    assert _drafts(stack.db_url, cid) == drafts
    assert _outbox(stack.db_url, cid) == outbox_before


def test_kill9_mid_run_then_another_worker_completes_without_duplicates(stack: Stack) -> None:
    specs = seed_store(stack.db_url, N_USERS)
    cid = create_test_campaign(stack.db_url, batch_size=16)
    first = stack.start_worker("doomed")
    stack.cli("campaign", "run", str(cid))

    def mid_run() -> bool:
        counts = campaign_status(cid, url=stack.db_url)["counts"]
        return counts["pending"] > 0 and counts["generated"] + counts["ready"] + counts["queued"] > 0

    wait_until(mid_run, timeout=TIMEOUT, stack=stack, what="the first batches", poll=0.2)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    assert campaign_status(cid, url=stack.db_url)["counts"]["pending"] > 0

    stack.start_worker("rescuer")
    stack.cli("campaign", "run", str(cid))  # resume: re-enqueues exactly the unfinished drafts
    wait_until(lambda: _completed(stack.db_url, cid), timeout=TIMEOUT, stack=stack, what="the resumed campaign")
    _assert_exact(stack.db_url, cid, specs)


def test_two_workers_share_one_campaign_without_duplicates(stack: Stack) -> None:
    specs = seed_store(stack.db_url, N_USERS)
    cid = create_test_campaign(stack.db_url, batch_size=16)
    workers = [stack.start_worker("a"), stack.start_worker("b")]
    stack.cli("campaign", "run", str(cid))
    wait_until(lambda: _completed(stack.db_url, cid), timeout=TIMEOUT, stack=stack, what="the campaign")
    drafts = _assert_exact(stack.db_url, cid, specs)
    generated_by = Counter(d[8].get("worker", "").rsplit(":", 1)[-1] for d in drafts if d[2] == "queued")
    assert set(generated_by) == {str(w.pid) for w in workers}, f"both workers should generate: {generated_by}"
    with session_scope(stack.db_url) as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == sum(1 for d in drafts if d[2] == "queued")
