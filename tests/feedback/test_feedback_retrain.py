"""The learning loop on a tiny model: outcomes → candidate → gate decision; nothing promoted without the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from outcome_store import add_events, make_store

from marketing_gen.cli import main
from marketing_gen.config import get_settings
from marketing_gen.feedback.retrain import run_retrain
from marketing_gen.versions.registry import active_version, list_versions, register_version


@pytest.fixture(scope="session")
def long_tiny_model(long_tiny_model_dir: Path) -> Path:
    """The shared tiny model with 4096 positions (real prompts fit)."""
    return long_tiny_model_dir


def _clicks(n_users: int, every: int) -> dict[tuple[int, int], tuple[str, ...]]:
    return {(i, i % 2): ("click",) for i in range(0, n_users, every)}


def test_retrain_dry_run_and_skip_train_nothing(settings_env: None, tiny_model_dir: Path) -> None:
    settings = get_settings()
    url = settings.database_url
    register_version("tiny", str(tiny_model_dir), kind="base", activate=True, url=url)
    runner = CliRunner()
    res = runner.invoke(main, ["retrain", "--dry-run", "--settle-hours", "0"])
    assert res.exit_code == 0, res.output
    assert "gate decision: SKIPPED" in res.output and "not enough outcome data" in res.output

    _, drafts = make_store(url, 40)
    add_events(url, drafts, _clicks(40, 4))  # 10 clicked drafts of 40 sent
    res = runner.invoke(main, ["retrain", "--dry-run", "--settle-hours", "0", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["decision"] == "dry-run" and out["method"] == "kto" and out["data"]["positives"] == 10
    assert [v.name for v in list_versions(url=url)] == ["tiny"]
    # Sends younger than the settle time are not judged yet.
    assert run_retrain(settings, dry_run=True, settle_hours=10**6).decision == "skipped"


def test_retrain_trains_a_candidate_and_the_gate_decides(settings_env: None, long_tiny_model: Path) -> None:
    settings = get_settings()
    url = settings.database_url
    register_version("tiny", str(long_tiny_model), kind="base", activate=True, url=url)
    _, drafts = make_store(url, 40)
    add_events(url, drafts, _clicks(40, 4))
    outcome = run_retrain(settings, method="sft", settle_hours=0, max_steps=2, eval_n=3)
    assert outcome.method == "sft" and outcome.candidate
    assert outcome.decision in ("promoted", "refused")
    names = [v.name for v in list_versions(url=url)]
    assert outcome.candidate in names and len(names) == 2
    active = active_version(url=url)
    assert active is not None
    assert active.name == (outcome.candidate if outcome.decision == "promoted" else "tiny")
    # The gate compared both models on the same held-out set, channel by channel.
    assert outcome.gate["candidate"] == outcome.candidate and outcome.gate["previous"] == "tiny"
    assert outcome.gate["compared"] or outcome.gate["reasons"]
