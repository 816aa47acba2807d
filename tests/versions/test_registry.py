"""Model versions registry on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from marketing_gen.errors import InvalidRequest, NotFound
from marketing_gen.versions.registry import (
    ModelVersionInfo,
    active_version,
    find_version,
    get_version,
    list_versions,
    register_version,
    set_active,
)


def test_register_get_list_and_activate(any_db_url: str) -> None:
    url = any_db_url
    assert active_version(url=url) is None and list_versions(url=url) == []
    base = register_version("base", "/models/base", base="hub/id", activate=True, url=url)
    assert isinstance(base, ModelVersionInfo) and base.is_active and base.promoted_at is not None
    sft = register_version(
        "sft-1",
        "/models/sft-1",
        base="base",
        kind="sft",
        dataset_hash="abc123",
        hyperparameters={"lr": 1e-3, "epochs": 2},
        metrics={"pass_rate": 0.91},
        url=url,
    )
    assert not sft.is_active
    got = get_version("sft-1", url=url)
    assert (got.kind, got.dataset_hash, got.hyperparameters, got.metrics) == (
        "sft",
        "abc123",
        {"lr": 1e-3, "epochs": 2},
        {"pass_rate": 0.91},
    )
    assert [v.name for v in list_versions(url=url)] == ["base", "sft-1"]
    assert active_version(url=url).name == "base"

    set_active("sft-1", url=url)
    assert active_version(url=url).name == "sft-1"
    assert [v.is_active for v in list_versions(url=url)] == [False, True]  # exactly one active

    # activate on register also deactivates the others
    register_version("sft-2", "/models/sft-2", kind="sft", activate=True, url=url)
    assert [v.name for v in list_versions(url=url) if v.is_active] == ["sft-2"]


def test_errors_name_what_to_do(any_db_url: str) -> None:
    register_version("base", "/m", url=any_db_url)
    with pytest.raises(InvalidRequest, match="already exists"):
        register_version("base", "/m2", url=any_db_url)
    with pytest.raises(InvalidRequest, match="kind"):
        register_version("x", "/m", kind="rlhf", url=any_db_url)
    with pytest.raises(NotFound, match="model list"):
        get_version("nope", url=any_db_url)
    with pytest.raises(NotFound):
        set_active("nope", url=any_db_url)
    assert find_version("nope", url=any_db_url) is None
