"""Sending through real Celery worker processes and a real SMTP server: kill -9 mid-send never sends twice.

The sink keeps each message *before* answering 250 and then waits, so killing the worker right after a message
arrives leaves exactly the dangerous case: the relay has the message, the worker never recorded it. On restart
that row must be reconciled to ``uncertain`` (not resent) and every other row sent exactly once.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

from outbox_store import run_to_outbox
from sqlalchemy import select
from worker_stack import Stack, seed_store, wait_until

from marketing_gen.config import Settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import OutboxMessage
from marketing_gen.devtools.smtp_sink import SmtpSink

N_USERS = 40
TIMEOUT = 240


def _states(url: str, cid: int) -> dict[int, str]:
    with session_scope(url) as s:
        return dict(
            s.execute(select(OutboxMessage.id, OutboxMessage.state).where(OutboxMessage.campaign_id == cid)).all()
        )


def test_kill9_mid_send_then_restart_sends_each_message_at_most_once(stack: Stack) -> None:
    seed_store(stack.db_url, N_USERS)
    env = stack.env
    settings = Settings(
        database_url=stack.db_url,
        secret_key=env["MARKETING_GEN_SECRET_KEY"],
        public_base_url=env["MARKETING_GEN_PUBLIC_BASE_URL"],
    )
    cid, ids = run_to_outbox(stack.db_url, settings)
    assert len(ids) >= 20
    with SmtpSink(delay_s=0.4) as sink:
        stack.env.update(
            {
                "MARKETING_GEN_SMTP_HOST": sink.host,
                "MARKETING_GEN_SMTP_PORT": str(sink.port),
                "MARKETING_GEN_SMTP_SECURITY": "none",
                "MARKETING_GEN_SEND_BATCH_SIZE": "8",
                "MARKETING_GEN_SENDING_TIMEOUT_S": "3",
            }
        )
        first = stack.start_worker("doomed-sender")
        stack.cli("campaign", "send", str(cid), "--adapter", "smtp")
        wait_until(lambda: sink.count >= 5, timeout=TIMEOUT, stack=stack, what="the first messages", poll=0.05)
        seen = sink.count
        wait_until(lambda: sink.count > seen, timeout=30, stack=stack, what="one more message", poll=0.01)
        os.killpg(first.pid, signal.SIGKILL)  # the worker and any pool child: mid-DATA-reply
        first.wait(timeout=10)
        after_kill = _states(stack.db_url, cid)
        assert "sending" in after_kill.values() and "queued" in after_kill.values()

        time.sleep(3.5)  # past MARKETING_GEN_SENDING_TIMEOUT_S
        stack.start_worker("rescuer")
        stack.cli(
            "campaign", "send", str(cid), "--adapter", "smtp", "--wait", "--timeout", str(TIMEOUT), timeout=TIMEOUT
        )
        final = _states(stack.db_url, cid)
        received = Counter(int(r.message["X-MG-Outbox-Id"]) for r in sink.received)

    assert max(received.values()) == 1, f"a message went out twice: {received.most_common(3)}"
    uncertain = {i for i, st in final.items() if st == "uncertain"}
    sent = {i for i, st in final.items() if st == "sent"}
    assert uncertain and uncertain == {i for i, st in after_kill.items() if st == "sending"}
    assert uncertain <= set(received), "the killed attempt had reached the relay: it stays uncertain, not resent"
    assert sent | uncertain == set(ids) and sent <= set(received) and set(received) == set(ids)
