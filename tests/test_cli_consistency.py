"""One CLI: ``--json`` on every command that reports (one JSON object on stdout), ISO 8601 timestamps with their zone,
exit codes 0 ok / 1 findings / 2 bad input, ``-`` for standard input, and ``campaign run --wait`` saying when no
worker consumes its queue (the embedded SQLite database and broker, no worker)."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import IN_CI

from marketing_gen.cli import main
from marketing_gen.config import get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Brand, Item, Recommendation, User
from marketing_gen.versions.registry import register_version

NO_JSON = {
    "serve": "a server: it reports nothing, it runs",
    "worker": "a worker: it reports nothing, it runs",
    "demo": "an orchestration whose report is its files and the review page",
}
"""Commands that do not report, and why."""


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _leaves(cmd, (*prefix, name))
        else:
            yield " ".join((*prefix, name)), cmd


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    """The embedded default: a SQLite database with the SQLite broker beside it, and no worker."""
    monkeypatch.setenv("MARKETING_GEN_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MARKETING_GEN_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("MARKETING_GEN_BROKER_URL", raising=False)
    monkeypatch.delenv("MARKETING_GEN_BROKER_NAMESPACE", raising=False)
    monkeypatch.setenv("MARKETING_GEN_SECRET_KEY", "test-secret-key-of-at-least-32-bytes-0123")
    monkeypatch.setenv("MARKETING_GEN_PUBLIC_BASE_URL", "https://links.shop.example")
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def _campaign(url: str, tmp_path: Path) -> int:
    """A store preflight accepts, an active model version and an email campaign; the campaign id."""
    with session_scope(url) as s:
        s.add(Brand(name="Acme", postal_address="1 High St, Leeds LS1 1AA, UK"))
        user = User(external_id="u1", email="u1@example.com", consent_email=True)
        item = Item(external_id="sku1", title="Enamel Pan", price=25, currency="GBP", in_stock=True)
        s.add_all([user, item])
        s.flush()
        s.add(Recommendation(user_id=user.id, item_id=item.id, rank=1))
    register_version("m", str(tmp_path), activate=True, url=url)
    res = CliRunner().invoke(main, ["campaign", "create", "--name", "Spring", "--channels", "email", "--json"])
    assert res.exit_code == 0, res.output
    return int(json.loads(res.stdout)["id"])


def test_every_command_that_reports_has_json() -> None:
    missing = [name for name, cmd in _leaves(main) if name not in NO_JSON and "--json" not in _opts(cmd)]
    assert not missing, f"commands without --json: {missing}"


def _opts(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params for o in getattr(p, "opts", [])}


def test_exit_codes_ok_findings_bad_input(embedded: str, tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(main, ["campaign", "status", "424242", "--json"])  # NotFound: the caller's mistake
    assert unknown.exit_code == 2 and "424242" in unknown.output and not unknown.stdout.strip().startswith("{")
    assert runner.invoke(main, ["campaign", "status", "x"]).exit_code == 2  # click's usage error
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps({"text": "Acme: 70% off the Enamel Pan today only! Reply STOP to opt out"}))
    lint = runner.invoke(main, ["lint", "--channel", "sms", "--draft", str(draft), "--json"])
    assert lint.exit_code == 1 and json.loads(lint.stdout)["ok"] is False  # findings
    # a campaign preflight refuses (nobody has push consent): findings, not bad input
    cid = _campaign(embedded, tmp_path)
    refused = runner.invoke(main, ["campaign", "create", "--name", "p", "--channels", "push", "--dry-run"])
    assert refused.exit_code == 1, refused.output
    paused = runner.invoke(main, ["campaign", "pause", str(cid), "--json"])
    assert paused.exit_code == 0 and json.loads(paused.stdout) == {"id": cid, "state": "paused"}
    assert runner.invoke(main, ["campaign", "run", str(cid)]).exit_code == 2  # paused: resume it first


def test_missing_schema_is_bad_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from marketing_gen.db import get_engine

    monkeypatch.setenv("MARKETING_GEN_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    get_engine.cache_clear()  # the engine of the default URL (None) is cached: forget the earlier tests' database
    try:
        res = CliRunner().invoke(main, ["campaign", "list"])
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert res.exit_code == 2 and "db upgrade" in res.output, res.output


def test_timestamps_are_iso_8601_with_a_zone(embedded: str, tmp_path: Path) -> None:
    register_version("v1", str(tmp_path), url=embedded)
    res = CliRunner().invoke(main, ["model", "list", "--json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    created = dt.datetime.fromisoformat(row["created_at"])  # SQLite hands it back naive: the output still has a zone
    assert created.utcoffset() == dt.timedelta(0) and "T" in row["created_at"]
    table = CliRunner().invoke(main, ["model", "list"]).output
    assert created.strftime("%Y-%m-%dT%H:%M:%SZ") in table


def test_dash_reads_standard_input(embedded: str) -> None:
    runner = CliRunner()
    users = "user_id,email,first_name,email_consent\nu1,u1@example.com,Ann,true\nu2,u2@example.com,Bo,false\n"
    res = runner.invoke(main, ["import", "users", "-", "--json"], input=users)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert (out["imported"], out["rejected"]) == (2, 0)
    items = '{"item_id": "sku1", "title": "Enamel Pan", "price": "25", "currency": "GBP"}\n'
    res = runner.invoke(main, ["import", "items", "-", "--json"], input=items)  # JSONL recognised on stdin
    assert res.exit_code == 0 and json.loads(res.stdout)["imported"] == 1, res.output
    lint = runner.invoke(
        main,
        ["lint", "--channel", "sms", "--draft", "-", "--json"],
        input='{"text": "Acme: pans we picked. Reply STOP to opt out"}',
    )
    assert lint.exit_code == 0 and json.loads(lint.stdout)["ok"] is True, lint.output
    both = runner.invoke(main, ["lint", "--channel", "sms", "--draft", "-", "--context", "-"], input="{}")
    assert both.exit_code == 2
    case = {"detector": "injection", "lang": "en", "expect": False, "kind": "benign", "text": "where is my order"}
    safety = ["eval", "reply-safety", "--no-real-data", "--cases", "-", "--json"]
    res = runner.invoke(main, safety, input=json.dumps(case) + "\n")
    assert res.exit_code in (0, 1) and json.loads(res.stdout)["below_thresholds"] is not None, res.output
    assert runner.invoke(main, safety, input='{"detector": "nope"}\n').exit_code == 2


def test_run_wait_says_when_no_worker_consumes(embedded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from marketing_gen.cli import campaign_cmds

    assert campaign_cmds.WORKER_CHECK_S <= 30  # the promise: said within 30 s
    monkeypatch.setattr(campaign_cmds, "WORKER_CHECK_S", 2.0)
    cid = _campaign(embedded, tmp_path)
    started = time.monotonic()
    res = CliRunner().invoke(main, ["campaign", "run", str(cid), "--wait", "--json"])
    assert time.monotonic() - started < 15
    assert res.exit_code == 2, res.output
    assert "is a worker running?" in res.output and "`marketing-gen worker`" in res.output
    assert not res.stdout.strip()  # no half report on stdout


def test_run_wait_on_redis_without_a_worker(embedded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from marketing_gen.cli import campaign_cmds

    if not os.environ.get("MARKETING_GEN_TEST_BROKER_URL"):
        if IN_CI:  # a service-backed test runs or fails under CI, never skips
            pytest.fail("MARKETING_GEN_TEST_BROKER_URL is not set under CI=true")
        pytest.skip("MARKETING_GEN_TEST_BROKER_URL unset")

    monkeypatch.setattr(campaign_cmds, "WORKER_CHECK_S", 2.0)
    monkeypatch.setenv("MARKETING_GEN_BROKER_URL", os.environ["MARKETING_GEN_TEST_BROKER_URL"])
    monkeypatch.setenv("MARKETING_GEN_BROKER_NAMESPACE", f"clitest{os.getpid()}-")  # no live worker consumes these
    get_settings.cache_clear()
    cid = _campaign(embedded, tmp_path)
    res = CliRunner().invoke(main, ["campaign", "run", str(cid), "--wait"])
    assert res.exit_code == 2 and "is a worker running?" in res.output, res.output


def test_run_wait_asks_rabbitmq_for_consumers(embedded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """RabbitMQ counts consumers: the idle queues are named at once (no waiting)."""
    import socket

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 5672)):
            if IN_CI:  # RabbitMQ is one of CI's services: the test runs or fails
                pytest.fail("no RabbitMQ on 127.0.0.1:5672 under CI=true")
            pytest.skip("no RabbitMQ on 127.0.0.1:5672")
    monkeypatch.setenv("MARKETING_GEN_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    monkeypatch.setenv("MARKETING_GEN_BROKER_NAMESPACE", f"clitest{os.getpid()}-")
    get_settings.cache_clear()
    cid = _campaign(embedded, tmp_path)
    started = time.monotonic()
    res = CliRunner().invoke(main, ["campaign", "run", str(cid), "--wait"])
    assert time.monotonic() - started < 15
    assert res.exit_code == 2, res.output
    assert "no worker is consuming the prepare, generate, render, deliver queue(s)" in res.output
    assert "`marketing-gen worker`" in res.output


def test_train_quick_json_is_one_object_on_stdout(embedded: str, tmp_path: Path) -> None:
    """A fine-tuned version is active: nothing to train; the progress line goes to stderr, the report to stdout."""
    register_version("ft", str(tmp_path), kind="sft", activate=True, url=embedded)
    res = CliRunner().invoke(main, ["train", "quick", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {"active_model": "ft"} and "skipping fine-tuning" in res.stderr
    assert CliRunner().invoke(main, ["train", "quick"]).stdout.strip().endswith("active model: ft")


def test_dash_reads_standard_input_for_datasets(embedded: str) -> None:
    """`train sft --dataset -` and `eval recs --data -` read stdin: a bad line is reported as input, exit 2."""
    runner = CliRunner()
    row = {"prompt": [{"role": "user", "content": "x"}], "completion": [{"role": "assistant", "content": "y"}]}
    res = runner.invoke(
        main, ["train", "sft", "--base", "any", "--dataset", "-", "--json"], input=json.dumps(row) + "\nnot json\n"
    )
    assert res.exit_code == 2 and "stdin.jsonl:2" in res.output, res.output
    res = runner.invoke(main, ["eval", "recs", "--data", "-", "--json"], input="nothing,useful\n1,2\n")
    assert res.exit_code == 2, res.output
