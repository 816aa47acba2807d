"""Loading the active version into an engine (``versions/active.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketing_gen.config import get_settings
from marketing_gen.errors import ClientError
from marketing_gen.llm.sampling import SamplingParams
from marketing_gen.versions.active import load_active_engine
from marketing_gen.versions.registry import register_version


def test_load_active_engine_loads_the_active_version(settings_env: None, db_url: str, tiny_model_dir: Path) -> None:
    with pytest.raises(ClientError, match="No model: run `marketing-gen model import-base`"):
        load_active_engine(get_settings())
    register_version("tiny-v1", str(tiny_model_dir), kind="base", activate=True, url=db_url)
    engine = load_active_engine(get_settings())
    assert engine.version == "tiny-v1"
    assert engine.path == tiny_model_dir
    assert engine.generate(["hello"], SamplingParams(max_new_tokens=3))[0].tokens[0] <= 3


def test_settings_token_budget_reaches_the_engine(
    settings_env: None, db_url: str, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_version("tiny-v1", str(tiny_model_dir), kind="base", activate=True, url=db_url)
    monkeypatch.setenv("MARKETING_GEN_TOKEN_BUDGET", "5000")
    monkeypatch.setenv("MARKETING_GEN_DEVICE", "cpu")
    get_settings.cache_clear()
    assert load_active_engine(get_settings()).token_budget == 5000
    monkeypatch.delenv("MARKETING_GEN_TOKEN_BUDGET")
    get_settings.cache_clear()
    assert load_active_engine(get_settings()).token_budget == 32768  # the CPU default (llm/budget.py)
