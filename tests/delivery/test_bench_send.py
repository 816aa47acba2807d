"""``bench send`` and ``bench review`` run end to end on small sizes (figures are printed, not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from marketing_gen.cli import main
from marketing_gen.config import get_settings


@pytest.fixture
def bench_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("DATABASE_URL", "BROKER_URL", "BROKER_NAMESPACE", "SECRET_KEY", "SECRET_KEYS"):
        monkeypatch.delenv(f"MARKETING_GEN_{key}", raising=False)
    monkeypatch.setenv("MARKETING_GEN_MODELS_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()


def test_bench_send_delivers_every_message_exactly_once(bench_env: None) -> None:
    result = CliRunner().invoke(main, ["bench", "send", "--messages", "40", "--workers", "1,2", "--batch-size", "10",
                                       "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [r["workers"] for r in out["rounds"]] == [1, 2]
    for r in out["rounds"]:
        assert r["received_by_smtp_server"] == r["messages"] == 40 and r["messages_per_s"] > 0
        assert r["peak_rss_per_worker_mib"] > 10


def test_bench_review_times_every_page(bench_env: None) -> None:
    result = CliRunner().invoke(main, ["bench", "review", "--drafts", "45", "--repeat", "1", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [t["what"] for t in out["requests"]] == ["campaign list", "campaign page 1", "campaign page 1",
                                                    "campaign page 3 (last)"]  # fmt: skip
    assert all(t["median_ms"] > 0 and t["bytes"] > 1000 for t in out["requests"])
