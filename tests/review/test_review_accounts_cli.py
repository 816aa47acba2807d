"""Reviewer accounts (scrypt hashes, sessions) and the review CLI commands."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner
from outbox_store import draft_ids, run_to_outbox, seed_users
from sqlalchemy import select, update

from marketing_gen.cli import main
from marketing_gen.config import get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Account, WebSession
from marketing_gen.review.accounts import (
    authenticate,
    end_session,
    hash_password,
    load_session,
    start_session,
    verify_password,
)


def test_password_hashes_are_salted_scrypt() -> None:
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and a.startswith("scrypt$32768$8$1$")
    assert verify_password("correct horse", a) and not verify_password("correct horsf", a)
    assert not verify_password("x", "md5$abc") and not verify_password("x", "garbage")


def test_user_add_login_session_and_logout(settings_env: None, db_url: str) -> None:
    runner = CliRunner()
    short = runner.invoke(main, ["user", "add", "ann", "--role", "admin"], input="short\nshort\n")
    assert short.exit_code == 2 and "at least 10" in short.output
    ok = runner.invoke(main, ["user", "add", "ann", "--role", "admin"], input="a long pass\na long pass\n")
    assert ok.exit_code == 0, ok.output
    with session_scope(db_url) as s:
        stored = s.scalar(select(Account.password_hash).where(Account.username == "ann"))
    assert stored and "a long pass" not in stored
    assert authenticate("ann", "wrong password", url=db_url) is None and authenticate("bob", "x", url=db_url) is None
    ann = authenticate("ann", "a long pass", url=db_url)
    assert ann is not None and ann.can_send
    token, csrf = start_session(ann, url=db_url)
    loaded = load_session(token, url=db_url)
    assert loaded == (ann, csrf) and load_session("forged", url=db_url) is None
    with session_scope(db_url) as s:
        assert s.scalar(select(WebSession.token_hash)) != token  # only the hash is stored
        s.execute(update(WebSession).values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    assert load_session(token, url=db_url) is None
    token2, _ = start_session(ann, url=db_url)
    end_session(token2, url=db_url)
    assert load_session(token2, url=db_url) is None


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_review_approve_reject_edit_commands(settings_env: None, db_url: str) -> None:
    seed_users(db_url, 3)
    cid, _ = run_to_outbox(db_url, get_settings(), channels=("email", "sms"), approval="required")
    summary = json.loads(_run("campaign", "review", str(cid), "--json"))
    assert summary["totals"] == {"in_review": 6} and len(summary["samples"]["email"]) == 3
    assert "approve" in _run("campaign", "review", str(cid))
    first = draft_ids(db_url, cid, "in_review")[0]
    refused = json.loads(
        _run("campaign", "edit", str(first), "--set", "subject=90% off, last chance!", "--json", code=1)
    )
    assert refused["accepted"] is False and any(f["hard"] for f in refused["findings"])
    assert "edit accepted" in _run("campaign", "edit", str(first), "--set", "subject=Pans for you", "--as", "ann")
    assert "rejected" in _run("campaign", "reject", str(first), "--reason", "off-brand")
    out = json.loads(_run("campaign", "approve", str(cid), "--channel", "sms", "--json"))
    assert out == {"approved": 3, "queued": 3}
    assert "approved 2" in _run("campaign", "approve", str(cid))
    assert "has variants 0..0" in _run("campaign", "approve", str(cid), "--variant", "3", code=2)
    with session_scope(db_url) as s:
        assert s.scalar(select(Account).limit(1)) is None
    trail = json.loads(_run("campaign", "review", str(cid), "--json"))["recent_actions"]
    assert {a["actor"] for a in trail} >= {"cli:ann"} and trail[-1]["action"] == "edit_refused"
