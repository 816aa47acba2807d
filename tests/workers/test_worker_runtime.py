"""The worker's engine: loaded lazily once per process, reloaded when the active version changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketing_gen.config import get_settings
from marketing_gen.errors import ClientError
from marketing_gen.versions.registry import register_version, set_active
from workers import runtime


@pytest.fixture(autouse=True)
def _fresh_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "_engine", None)
    monkeypatch.setenv("MARKETING_GEN_DEVICE", "cpu")
    monkeypatch.setenv("MARKETING_GEN_DTYPE", "fp32")


def test_engine_loads_once_and_reloads_on_promotion(settings_env: None, db_url: str, tiny_model_dir: Path) -> None:
    get_settings.cache_clear()
    with pytest.raises(ClientError, match="import-base"):
        runtime.get_engine()
    assert runtime.loaded_version() is None
    register_version("v1", str(tiny_model_dir), activate=True, url=db_url)
    first = runtime.get_engine()
    assert first.version == "v1" and runtime.get_engine() is first
    register_version("v2", str(tiny_model_dir), kind="sft", url=db_url)
    assert runtime.get_engine() is first  # registered, not promoted
    set_active("v2", url=db_url)
    second = runtime.get_engine()
    assert second is not first and second.version == "v2" and runtime.loaded_version() == "v2"
