"""Two campaigns planned at the same moment by two real worker processes never break the frequency cap.

Planning counts a user's live messages per channel, then inserts; without a lock two plans both count "under the
cap" and both insert. Each worker here consumes only the prepare queue, so the test sees planning alone.
"""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy import select
from worker_stack import CHANNELS, Stack, create_test_campaign, seed_store, wait_until

from marketing_gen.campaigns.planning import CAPPED_STATUSES
from marketing_gen.config import Settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Campaign, Draft
from workers.app import create_app

N_USERS = 1500
CAP = 1


def _planned(url: str, ids: list[int]) -> bool:
    with session_scope(url) as s:
        states = list(s.scalars(select(Campaign.state).where(Campaign.id.in_(ids))))
        return len(states) == len(ids) and all(st not in ("created", "planned") for st in states)


def test_concurrent_plans_hold_the_frequency_cap(stack: Stack) -> None:
    stack.env["MARKETING_GEN_FREQUENCY_CAP"] = str(CAP)
    specs = seed_store(stack.db_url, N_USERS)
    campaigns = [create_test_campaign(stack.db_url) for _ in range(2)]
    for name in ("plan-a", "plan-b"):
        stack.start_worker(name, queues="prepare")
    app = create_app(
        Settings(
            database_url=stack.db_url,
            broker_url=stack.env["MARKETING_GEN_BROKER_URL"],
            broker_namespace=stack.env["MARKETING_GEN_BROKER_NAMESPACE"],
        )
    )
    started = time.monotonic()
    for cid in campaigns:  # back to back: one plan per worker, at the same moment
        app.send_task("workers.tasks.plan_campaign", args=[cid])
    wait_until(lambda: _planned(stack.db_url, campaigns), timeout=300, stack=stack, what="both plans")
    elapsed = time.monotonic() - started
    logs = [(stack.tmp / f"worker-{name}.log").read_text(errors="replace") for name in ("plan-a", "plan-b")]
    assert sum(log.count(" planned: ") for log in logs) == 2, "both campaigns planned, once each"

    with session_scope(stack.db_url) as s:
        rows = s.execute(
            select(Draft.user_id, Draft.channel, Draft.campaign_id).where(
                Draft.campaign_id.in_(campaigns), Draft.status.in_(CAPPED_STATUSES)
            )
        ).all()
    per_user = Counter((uid, ch) for uid, ch, _ in rows)
    over = {k: n for k, n in per_user.items() if n > CAP}
    assert not over, (
        f"{len(over)} user/channel pairs over the cap of {CAP} after {elapsed:.1f} s, e.g. {list(over)[:5]}"
    )
    # every eligible user still got exactly one message per channel: the cap moved them, it did not drop them
    eligible = sum(1 for u in specs for ch in CHANNELS if u.gets(ch))
    assert len(per_user) == eligible
    by_campaign = Counter(cid for _, _, cid in rows)
    assert set(by_campaign) <= set(campaigns)
